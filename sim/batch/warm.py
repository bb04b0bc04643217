"""What a pool's fork server loads before it forks a worker (``executors.local.PRELOAD``):
the chunk code, the compiled engine and, where numba's disk cache holds it, the
engine's machine code, so that every worker starts with it loaded. Where the cache
is empty, nothing is compiled here: the command compiles once, and says so
(``sim.cli.batching.prepare_engine``), before any worker needs the code."""

from __future__ import annotations

import sim.batch.chunks  # noqa: F401  (the chunk code, imported once for every worker)
from sim.model import compiled

if compiled.cached_on_disk():
    compiled.load_machine_code()
