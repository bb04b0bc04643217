"""What every executor is: the ``Executor`` protocol, the in-process one, its errors,
and the pickling that sends large read-only arrays to a worker once.

An executor maps a module-level function (named, so that it pickles) over tasks and
yields ``(task, result)`` as results arrive, in any order: which is why a chunk's
result may depend only on the chunk (``sim.batch.chunks``). Backends (``local``,
``dask``) import this module, never the reverse. It knows nothing of negotiations.
"""

from __future__ import annotations

import io
import os
import pickle
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

import numpy as np

#: Read-only arrays at least this large go to each pool worker once (``LocalPool``).
SHARED_BYTES = 16 * 1024

#: How many times a chunk may be lost with its worker before the batch gives up.
MAX_LOSSES = 3

class ExecutorError(Exception):
    """An executor cannot be had (Dask missing, scheduler unreachable): one line."""


class WorkerLost(Exception):
    """A chunk's worker died ``MAX_LOSSES`` times while running it."""


class Executor(Protocol):
    workers: int

    def map_unordered(self, function: Callable[[Any], Any],
                      tasks: Iterable[Any]) -> Iterator[tuple[Any, Any]]: ...

    def close(self) -> None: ...


class InProcess:
    """One chunk after another in this process (``--workers 1``): no start-up cost,
    and a debugger sees everything."""

    workers = 1

    def map_unordered(self, function, tasks):
        for task in tasks:
            yield task, function(task)

    def close(self) -> None:
        pass


def default_workers() -> int:
    """All the cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)

def dumps_sharing(obj: Any) -> tuple[bytes, dict[int, np.ndarray]]:
    """``obj`` pickled with every read-only numpy array of at least ``SHARED_BYTES``
    left out and replaced by a key (pickle's ``persistent_id``); the arrays by key.
    An executor sends each array to a worker once, and tasks stay small. (Read-only,
    so that an array cannot change after a worker has its copy; the key is the
    array's ``id``, so the caller keeps the arrays while workers may need them.)"""
    arrays: dict[int, np.ndarray] = {}

    def persistent_id(item: object) -> int | None:
        if (isinstance(item, np.ndarray) and item.nbytes >= SHARED_BYTES
                and not item.flags.writeable):
            arrays[id(item)] = item
            return id(item)
        return None

    body = io.BytesIO()
    pickler = pickle.Pickler(body, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.persistent_id = persistent_id
    pickler.dump(obj)
    return body.getvalue(), arrays


def loads_sharing(body: bytes, arrays: dict[int, np.ndarray]) -> Any:
    """What ``dumps_sharing`` pickled, its arrays put back from ``arrays``."""
    unpickler = pickle.Unpickler(io.BytesIO(body))
    unpickler.persistent_load = arrays.__getitem__
    return unpickler.load()


def _lost(task: Any, losses: dict[int, int], exitcode: int | None) -> Any:
    """Count that ``task``'s worker died while computing it; give up at ``MAX_LOSSES``."""
    key = id(task)
    losses[key] = losses.get(key, 0) + 1
    if losses[key] >= MAX_LOSSES:
        why = (f"killed by signal {-exitcode}; out of memory? try a smaller --chunk-size in "
               "a new folder" if exitcode is not None and exitcode < 0 else
               f"exit code {exitcode}: the worker failed, its error is printed above")
        raise WorkerLost(f"a worker died {MAX_LOSSES} times while running {task} ({why})")
    return task
