"""Where chunks run: in this process (``base.InProcess``), in a local process pool
(``local.LocalPool``), or on a Dask cluster (``dask.DaskCluster``).

Only a few tasks are in flight at once (one a local worker, two a Dask thread), so
finished results never pile up: the caller stores each one and lets it go, and memory
stays flat however long the batch. A worker that dies (killed, out of memory) loses
only the chunks it held: the local pool starts another in its place and those chunks
run again; Dask reschedules them itself. A chunk that brings down its worker again and
again ends the batch with ``WorkerLost`` (what finished before is kept, and
``--resume`` goes on from there).
"""

from __future__ import annotations

from sim.batch.executors.base import Executor, ExecutorError, InProcess, default_workers
from sim.batch.executors.local import LocalPool

__all__ = ["Executor", "ExecutorError", "InProcess", "LocalPool", "connect_dask",
           "default_workers", "make_executor"]


def connect_dask(address: str, timeout: float = 10.0) -> Executor:
    """An executor on the Dask cluster whose scheduler is at ``address``.

    Dask is an optional extra (``negsim[dask]``), so it is imported here, when a
    cluster is asked for, and not by every ``negsim`` command.
    """
    try:
        from sim.batch.executors.dask import DaskCluster
    except ImportError:
        raise ExecutorError(f"--scheduler {address}: Dask is not installed; install it with "
                            "pip install 'negsim[dask]'") from None
    return DaskCluster(address, timeout)


def make_executor(workers: int | None, scheduler: str | None,
                  tasks: int | None = None) -> Executor:
    """In-process for one worker, a local pool for more (default: all cores, but no
    more than there are ``tasks``: a batch of one chunk runs in this process, without
    a pool's start-up of about two seconds), Dask when a scheduler address is given."""
    if scheduler:
        return connect_dask(scheduler)
    if not workers:
        workers = default_workers() if tasks is None else max(1, min(default_workers(),
                                                                     tasks))
    return InProcess() if workers == 1 else LocalPool(workers)
