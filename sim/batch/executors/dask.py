"""Chunks on a Dask distributed cluster (``--scheduler tcp://HOST:8786``).

Imported only when a cluster is asked for (``executors.connect_dask``): Dask is the
optional extra ``negsim[dask]``. The workers need negsim installed, of the same
version as here, and so of numpy (results depend on both: checked on connecting).
Workers return each chunk's encoded Parquet part to this process, which writes it:
the results folder need not be on a file system the workers share. A task's large
read-only arrays (a scenario's posterior) are scattered to the cluster once and
referred to by every chunk after, so a chunk's message is a few kilobytes.
"""

from __future__ import annotations

import itertools
import socket
from collections.abc import Callable, Iterable, Iterator
from importlib.metadata import version
from typing import Any

from distributed import Client, KilledWorker, as_completed

from sim.batch.executors.base import ExecutorError, WorkerLost, dumps_sharing, loads_sharing


def result_versions() -> dict[str, str]:
    """The versions of what a chunk's numbers depend on, in this process."""
    return {"negsim": version("negsim"), "numpy": version("numpy")}


def _check_reachable(address: str, timeout: float) -> None:
    """Fail at once where nothing listens at a ``tcp://HOST:PORT`` address (Dask's
    client would retry until its timeout)."""
    host, _, port = address.removeprefix("tcp://").rpartition(":")
    if not address.startswith("tcp://") or not port.isdigit():
        return  # another protocol: left to Dask
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as error:
        raise ExecutorError(f"--scheduler {address}: cannot reach a Dask scheduler there "
                            f"({error.strerror or error}); start one with `dask scheduler` "
                            "or check the address") from None


def _call_sharing(body: bytes, arrays: dict) -> Any:
    """On a worker: ``function(task)`` of a message of ``dumps_sharing`` (Dask has put
    the scattered arrays in place of their futures)."""
    function, task = loads_sharing(body, arrays)
    return function(task)


class DaskCluster:
    """An executor over a running Dask cluster; ``workers`` counts its threads."""

    def __init__(self, address: str, timeout: float) -> None:
        _check_reachable(address, timeout)
        try:
            self.client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as error:
            raise ExecutorError(f"--scheduler {address}: cannot reach a Dask scheduler there "
                                f"({type(error).__name__}: {error}); start one with "
                                "`dask scheduler` or check the address") from None
        try:
            self.client.wait_for_workers(1, timeout=timeout)
        except TimeoutError:
            self.client.close()
            raise ExecutorError(f"--scheduler {address}: the scheduler has no workers; start "
                                f"some with `dask worker {address}`") from None
        here = result_versions()
        for worker, theirs in self.client.run(result_versions).items():
            if theirs != here:
                self.client.close()
                raise ExecutorError(f"--scheduler {address}: worker {worker} runs {theirs}, "
                                    f"this process {here}: results would differ")
        self.workers = sum(self.client.nthreads().values())
        self.window = 2 * self.workers
        self._scattered: dict[int, tuple[Any, Any]] = {}  # key -> (array, its future)

    def _submit(self, function: Callable[[Any], Any], task: Any) -> Any:
        """Submit ``function(task)``, its shared arrays scattered the first time."""
        body, arrays = dumps_sharing((function, task))
        for key, array in arrays.items():
            if key not in self._scattered:  # kept: the key is the array's id
                self._scattered[key] = (array, self.client.scatter(array, hash=False))
        return self.client.submit(_call_sharing, body,
                                  {key: self._scattered[key][1] for key in arrays},
                                  pure=False)

    def map_unordered(self, function: Callable[[Any], Any],
                      tasks: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        pending = iter(tasks)
        first = [(task, self._submit(function, task))
                 for task in itertools.islice(pending, self.window)]
        if not first:
            return
        owner = {future.key: task for task, future in first}
        futures = as_completed([future for _, future in first], loop=self.client.loop)
        del first
        for future in futures:
            task = owner.pop(future.key)
            try:
                result = future.result()
            except KilledWorker:
                raise WorkerLost(f"Dask workers died too often while running {task} (out "
                                 "of memory? try a smaller --chunk-size in a new folder)"
                                 ) from None
            future.release()
            yield task, result
            following = next(pending, None)
            if following is not None:
                future = self._submit(function, following)
                owner[future.key] = following
                futures.add(future)

    def close(self) -> None:
        self._scattered.clear()
        self.client.close()
