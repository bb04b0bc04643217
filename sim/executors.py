"""Where chunks run: in this process, in a local process pool, or on a Dask cluster.

An executor maps a module-level function (named, so that it pickles) over tasks and
yields ``(task, result)`` as results arrive — in any order, which is why a chunk's
result may depend only on the chunk (``sim.batch``). At most ``window`` tasks are in
flight, so finished results never pile up: the caller stores each one and lets it go,
and memory stays flat however long the batch.

A worker that dies (killed, out of memory) loses only the chunks it was running:
the local pool is rebuilt and those chunks run again; Dask reschedules them itself.
A chunk that brings down its worker again and again ends the batch with ``WorkerLost``
(what finished before is kept, and ``--resume`` goes on from there).

This module knows nothing of negotiations; it sits below ``sim.batch``.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

#: Modules a pool's fork server imports once, so that each worker starts warm.
PRELOAD = ("sim.batch",)

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


def _ignore_interrupts() -> None:
    """Pool workers leave Ctrl-C to the parent, which stops them (no tracebacks)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class LocalPool:
    """A pool of ``workers`` processes on this machine.

    Workers are forked from a fork server that has imported ``PRELOAD``: each starts
    in milliseconds, and none inherits the parent's threads (Arrow's, tqdm's), which
    plain ``fork`` would copy in whatever state they were.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.window = 2 * workers
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(list(PRELOAD))
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, mp_context=self._context,
                                   initializer=_ignore_interrupts)

    def map_unordered(self, function, tasks):
        pending = iter(tasks)
        running: dict[Future, Any] = {}
        losses: dict[int, int] = {}
        retry: list[Any] = []
        while True:
            broken = False
            while len(running) < self.window and not broken:
                task = retry.pop() if retry else next(pending, None)
                if task is None:
                    break
                try:
                    running[self._pool.submit(function, task)] = task
                except BrokenProcessPool:  # a worker died since the last results came
                    retry.append(task)
                    broken = True
            if not running and not broken:
                return
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                task = running.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool:
                    retry.append(self._lost(task, losses))
                    broken = True
                    continue
                yield task, result
            if broken:  # every chunk still in the broken pool is lost: start afresh
                for future, task in running.items():
                    future.cancel()
                    retry.append(self._lost(task, losses))
                running.clear()
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = self._start()

    @staticmethod
    def _lost(task: Any, losses: dict[int, int]) -> Any:
        key = id(task)
        losses[key] = losses.get(key, 0) + 1
        if losses[key] >= MAX_LOSSES:
            raise WorkerLost(f"a worker died {MAX_LOSSES} times while running {task} "
                             "(out of memory? try a smaller --chunk-size in a new folder)")
        return task

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def connect_dask(address: str, timeout: float = 10.0) -> Executor:
    """An executor on the Dask cluster whose scheduler is at ``address``.

    Dask is an optional extra (``negsim[dask]``), so it is imported here, when a
    cluster is asked for, and not by every ``negsim`` command.
    """
    try:
        from sim.dask_executor import DaskCluster
    except ImportError:
        raise ExecutorError(f"--scheduler {address}: Dask is not installed; install it with "
                            "pip install 'negsim[dask]'") from None
    return DaskCluster(address, timeout)


def make_executor(workers: int | None, scheduler: str | None) -> Executor:
    """In-process for one worker, a local pool for more (default: all cores), Dask
    when a scheduler address is given."""
    if scheduler:
        return connect_dask(scheduler)
    workers = workers or default_workers()
    return InProcess() if workers == 1 else LocalPool(workers)
