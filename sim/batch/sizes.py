"""The batch's chunk size, in a module of its own: the command line reads it before it
imports the engine (``sim.cli._pooled``: a run of one chunk needs no pool); and the
size from which a chunk runs on the compiled engine."""

from __future__ import annotations

#: Replicates per chunk: one model, one Parquet part, one task.
CHUNK_SIZE = 16_384

#: ``negsim run``'s default number of replicates.
DEFAULT_RUNS = 10_000

#: Chunks of fewer replicates run on the numpy engine: its outcomes are the compiled
#: engine's (tests/test_compiled.py, every shipped scenario), and it needs no numba.
#: Importing numba and loading the cached machine code costs a process about 0.45 s,
#: the time the numpy engine takes for some 20,000 June rounds, so below this size
#: the numpy engine finishes first; it is what lets ``negsim run --runs 1`` start in
#: half a second. The default batch (10,000 rounds) and every pool stay compiled.
COMPILED_FROM = 1_000


def compiled_for(count: int) -> bool:
    """Whether a chunk of ``count`` replicates runs on the compiled engine."""
    return count >= COMPILED_FROM
