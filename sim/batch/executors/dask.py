"""Chunks on a Dask distributed cluster (``--scheduler tcp://HOST:8786``).

Imported only when a cluster is asked for (``executors.connect_dask``): Dask is the
optional extra ``negsim[dask]``. The workers need negsim installed, of the same
version as here, and so of numpy (results depend on both: checked on connecting).
Workers return each chunk's encoded Parquet part to this process, which writes it:
the results folder need not be on a file system the workers share. A task's large
read-only arrays (a scenario's posterior) are scattered to the cluster once and
referred to by every chunk after, so a chunk's message is a few kilobytes.

Losing workers loses nothing while the scheduler stays up: Dask runs a lost worker's
chunks again elsewhere, and where the scattered arrays died with their workers (all
of them at once, or a cluster of one), the chunks that needed them are cancelled by
Dask and submitted again here, the arrays scattered anew once a worker is back
(waiting up to ``WORKER_WAIT`` seconds).

Before a client is made, the address is checked to be a Dask scheduler (``probe``):
something else listening there (a dashboard's HTTP port, SSH, anything) is one line
within the timeout, not a hang or a misread message.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import socket
import ssl
import struct
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError
from importlib.metadata import version
from typing import Any

from distributed import Client, KilledWorker, as_completed
from distributed.security import Security

from sim.batch.executors.base import ExecutorError, WorkerLost, dumps_sharing, loads_sharing

#: How long a batch waits for a worker to come back when the cluster has none.
WORKER_WAIT = 120.0

#: How many times a chunk may be cancelled (its scattered arrays lost with their
#: workers) and submitted again before the batch gives up.
MAX_RESUBMITS = 10

#: The largest first message a Dask scheduler sends (its handshake: a few hundred
#: bytes). Anything claiming more is not Dask talking.
HANDSHAKE_BYTES = 1 << 20

_SCHEMES = ("tcp://", "tls://")
_USAGE = "give tcp://HOST:PORT (or tls://HOST:PORT), e.g. tcp://10.0.0.1:8786"


def result_versions() -> dict[str, str]:
    """The versions of what a chunk's numbers depend on, in this process."""
    return {"negsim": version("negsim"), "numpy": version("numpy")}


def _host_port(address: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of a scheduler address (a bare ``HOST:PORT`` is TCP)."""
    scheme = next((s for s in _SCHEMES if address.startswith(s)), None)
    if scheme is None and "://" in address:
        raise ExecutorError(f"--scheduler {address}: protocol "
                            f"{address.split('://')[0]!r} is not supported: {_USAGE}")
    rest = address.removeprefix(scheme or "")
    host, _, port = rest.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ExecutorError(f"--scheduler {address}: not an address: {_USAGE}")
    return scheme or "tcp://", host, int(port)


def _security(address: str, scheme: str) -> Security | None:
    """Dask's TLS settings for a ``tls://`` address (from its configuration:
    ``distributed.comm.tls.*``), checked to name the certificates."""
    if scheme != "tls://":
        return None
    security = Security()
    if not (security.tls_ca_file and security.tls_client_cert):
        raise ExecutorError(
            f"--scheduler {address}: TLS needs the cluster's certificates in Dask's "
            "configuration: distributed.comm.tls.ca-file, .client.cert and .client.key "
            "(e.g. DASK_DISTRIBUTED__COMM__TLS__CA_FILE=ca.pem, "
            "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT=..., ...__CLIENT__KEY=...)")
    return security


def _read(connection: socket.socket, count: int, deadline: float) -> bytes:
    data = b""
    while len(data) < count:
        connection.settimeout(max(deadline - time.monotonic(), 0.001))
        piece = connection.recv(count - len(data))
        if not piece:
            raise ConnectionError("the connection was closed")
        data += piece
    return data


def probe(address: str, timeout: float, security: Security | None = None) -> None:
    """Check that a Dask scheduler listens at ``address``, within ``timeout``
    seconds: connect (with TLS for ``tls://``) and read the handshake a Dask
    listener sends first (distributed's TCP comm: an 8-byte length, then frames
    that start with their 8-byte count). Else ``ExecutorError``, one line."""
    scheme, host, port = _host_port(address)
    deadline = time.monotonic() + timeout
    where = f"--scheduler {address}"
    try:
        connection = socket.create_connection((host, port), timeout=timeout)
    except OSError as error:
        raise ExecutorError(f"{where}: cannot reach a Dask scheduler there "
                            f"({error.strerror or error}); start one with `dask scheduler` "
                            "or check the address") from None
    try:
        if security is not None:
            context = security.get_connection_args("client")["ssl_context"]
            connection = context.wrap_socket(connection, server_hostname=host)
        (size,) = struct.unpack("Q", _read(connection, 8, deadline))
        body = _read(connection, size, deadline) if 8 <= size <= HANDSHAKE_BYTES else b""
        frames = struct.unpack_from("Q", body)[0] if body else 0
    except TimeoutError:
        raise ExecutorError(f"{where}: no Dask handshake within {timeout:g} s: not a Dask "
                            "scheduler's port (a dashboard's? the scheduler's default port is "
                            "8786)") from None
    except ssl.SSLError as error:
        raise ExecutorError(f"{where}: the TLS handshake failed ({error.reason or error}); "
                            "check the certificates in Dask's configuration") from None
    except OSError as error:  # closed or reset before the handshake
        raise ExecutorError(f"{where}: not a Dask scheduler ({error.strerror or error} before "
                            "Dask's handshake); check the address") from None
    finally:
        connection.close()
    if not 1 <= frames <= 64:
        raise ExecutorError(f"{where}: something answers there, but not a Dask scheduler "
                            "(its first bytes are no Dask handshake); check the address")


def _call_sharing(body: bytes, arrays: dict) -> Any:
    """On a worker: ``function(task)`` of a message of ``dumps_sharing`` (Dask has put
    the scattered arrays in place of their futures)."""
    function, task = loads_sharing(body, arrays)
    return function(task)


@contextlib.contextmanager
def _quiet(name: str) -> Iterator[None]:
    """Silence the logger ``name`` (and its children) while inside."""
    logger = logging.getLogger(name)
    before = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(before)


class _Client(Client):
    """Dask's client, except that one that never connected does not try to close its
    connection when collected (Dask's would, for twice its timeout, then print a
    traceback: long after the command said its one line)."""

    def __del__(self) -> None:
        if getattr(self, "status", None) in ("running", "closing"):
            super().__del__()


class DaskCluster:
    """An executor over a running Dask cluster; ``workers`` counts its threads."""

    def __init__(self, address: str, timeout: float) -> None:
        scheme, _, _ = _host_port(address)
        security = _security(address, scheme)
        probe(address, timeout, security)
        try:
            with _quiet("distributed"):  # its failure is our one line, not Dask's log
                self.client = _Client(address, timeout=timeout, set_as_default=False,
                                      security=security)
        except (OSError, TimeoutError, ValueError, TypeError) as error:
            reason = (str(error).strip().splitlines() or [""])[0]
            raise ExecutorError(f"--scheduler {address}: cannot reach a Dask scheduler there "
                                f"({type(error).__name__}: {reason}); start one with "
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

    def _scatter(self, array: Any) -> Any:
        """The array scattered to the cluster (after waiting for a worker, if none).

        A worker killed a moment ago may still be on the scheduler's list: scattering to
        it fails at once (``CommClosedError``), so the scatter is tried again, as long
        as ``WORKER_WAIT`` allows, until a live worker takes it."""
        deadline = time.monotonic() + WORKER_WAIT
        while True:
            try:
                self.client.wait_for_workers(1, timeout=max(deadline - time.monotonic(), 1))
                return self.client.scatter(array, hash=False)
            except (TimeoutError, OSError) as error:
                if time.monotonic() >= deadline:
                    raise WorkerLost(f"the Dask cluster has had no worker for "
                                     f"{WORKER_WAIT:g} s ({type(error).__name__})") from None
                time.sleep(0.5)

    def _submit(self, function: Callable[[Any], Any], task: Any) -> Any:
        """Submit ``function(task)``, its shared arrays scattered the first time (and
        again where they were lost with their workers)."""
        body, arrays = dumps_sharing((function, task))
        for key, array in arrays.items():
            held = self._scattered.get(key)
            if held is None or held[1].status != "finished":  # kept: the key is its id
                self._scattered[key] = (array, self._scatter(array))
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
        resubmits: dict[int, int] = {}
        for future in futures:
            task = owner.pop(future.key)
            try:
                result = future.result()
            except KilledWorker:
                raise WorkerLost(f"Dask workers died too often while running {task} (out "
                                 "of memory? try a smaller --chunk-size in a new folder)"
                                 ) from None
            except CancelledError:  # its scattered arrays died with their workers
                resubmits[id(task)] = resubmits.get(id(task), 0) + 1
                if resubmits[id(task)] > MAX_RESUBMITS:
                    raise WorkerLost(f"{task} was cancelled {MAX_RESUBMITS} times, its "
                                     "workers lost each time") from None
                following = task
            else:
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
