"""The batch's chunk size, in a module of its own: the command line reads it before it
imports the engine (``sim.cli._pooled``: a run of one chunk needs no pool)."""

from __future__ import annotations

#: Replicates per chunk: one model, one Parquet part, one task.
CHUNK_SIZE = 16_384

#: ``negsim run``'s default number of replicates.
DEFAULT_RUNS = 10_000
