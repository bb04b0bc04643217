"""Freed memory kept for the next chunk, where the C library allows; and a chunk's
finished rounds freed at once (``free_finished_models``).

A chunk allocates a few hundred arrays of 16,384 replicates (megabytes each) and frees
them at its end. glibc hands blocks that large back to the operating system at once:
each is mapped on its own above the mmap threshold (128 kB), and the free top of its
heap is trimmed above the trim threshold (128 kB). So the next chunk's arrays fault
their pages in anew. Two settings keep the memory of one chunk for the next:
- the mmap threshold at glibc's largest (32 MiB), so that a chunk's arrays come from
  the heap (measured: 9.7 against 8.5 µs a round);
- the trim threshold at 1 GiB, so that the heap's free top stays. At 32 MiB whether
  a chunk's memory stayed depended on how the heap happened to be laid out: in some
  processes a June chunk faulted some 6,350 to 8,650 pages (25 to 34 MB) back in,
  chunk after chunk (measured in one: 7.2 against 5.5 µs a round, on this virtual
  machine), in others none. With 1 GiB no process trims its heap between chunks
  (tests/test_startup.py counts the faults).
A process's peak is what it was: the memory kept is what its chunks use again.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc

#: ``mallopt`` parameters (malloc.h) and glibc's largest mmap threshold on 64 bits.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
LARGEST = 32 * 1024 * 1024
#: The free top of the heap kept (the trim threshold has no largest value but the
#: ``int`` mallopt takes): far above a chunk's few hundred MB.
KEPT = 1024 * 1024 * 1024


@functools.cache
def keep_freed_memory() -> bool:
    """Set once per process; True where the C library took it (glibc), False elsewhere
    (another C library, another system: nothing changes)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, LARGEST)) and bool(mallopt(M_TRIM_THRESHOLD, KEPT))


def free_finished_models() -> None:
    """Free the rounds a chunk has finished with. A round's Mesa model and its agents
    refer to each other (``agent.model``, the model's agent set), so only Python's
    cyclic collector frees them and the chunk's arrays they hold (about 200 MB). The
    collector runs when enough Python objects have been made, and a chunk makes few:
    measured, a worker grew from 260 to 600 MB over 40 chunks of the June round, and
    stayed at 275 MB with this after each. The models are in the young generations
    at the chunk's end, so collecting those is enough, and takes 0.2 ms (a full
    collection, 70 ms)."""
    gc.collect(1)
