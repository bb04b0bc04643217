"""The local process pool: this process computes chunks beside ``workers - 1`` processes
forked from a fork server, each on a pipe of its own (``LocalPool``).

A worker that dies (killed, out of memory) loses only the chunk it held: another is
started in its place and that chunk runs again; a chunk that brings down its worker
``MAX_LOSSES`` times ends the batch with ``WorkerLost``.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import pickle
import queue
import signal
import threading
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.batch.executors.base import (
    WorkerLost,
    _lost,
    dumps_sharing,
    loads_sharing,
)

#: Modules a pool's fork server imports once, so that each worker starts warm: the
#: chunk code, the compiled engine and its machine code (``sim.batch.warm``).
PRELOAD = ("sim.batch.warm",)


#: How long a pool worker has to stop when asked before it is killed.
STOP_SECONDS = 10.0



def _ignore_interrupts() -> None:
    """Pool workers leave Ctrl-C to the parent, which stops them (no tracebacks)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def warm_up() -> None:
    """Start the fork server now, so that it imports ``PRELOAD`` while this process
    is busy with its own imports (about 2 s each, on two cores at once): the pool's
    workers are then forked at once when the batch starts. Without it, they would
    start about 2 s into the batch. A fork server nobody uses ends with this process.
    """
    multiprocessing.get_context("forkserver").set_forkserver_preload(list(PRELOAD))
    multiprocessing.forkserver.ensure_running()


def _serve(connection) -> None:
    """A pool worker: compute each task sent, reply ``(True, result)`` or
    ``(False, error)``; stop at an empty message or when the pool's end closes —
    also half-way through a reply (the pool's process was killed, or ended on
    SIGTERM): nobody is left to tell, so it ends quietly, without a traceback."""
    _ignore_interrupts()
    shared: dict[int, np.ndarray] = {}
    while True:
        try:
            data = connection.recv_bytes()
        except (EOFError, OSError):
            return
        if not data:
            return
        new, body = pickle.loads(data)
        shared.update(new)
        try:
            function, task = loads_sharing(body, shared)
            reply = (True, function(task))
        except Exception as error:  # the caller's error, raised again in the pool's process
            error.add_note("in a pool worker:\n" + traceback.format_exc().rstrip())
            reply = (False, error)
        try:
            connection.send(reply)
        except OSError:  # the pool's end is closed (BrokenPipeError): nobody to tell
            return
        except Exception as error:  # a result or error that does not pickle
            try:
                connection.send((False, RuntimeError(
                    f"a pool worker's reply cannot be sent back ({type(error).__name__}: "
                    f"{error}); it was {reply[1]!r:.300}")))
            except OSError:
                return


class _Feed:
    """The tasks of one map, taken (under the pool's lock) by this process and by the
    workers' threads: those put back first (lost with a worker, or looked at by
    ``left``), then the caller's in order."""

    def __init__(self, function: Callable, tasks: Iterator) -> None:
        self.function = function
        self.tasks = tasks
        self.back: deque = deque()

    def take(self) -> Any:
        return self.back.popleft() if self.back else next(self.tasks, None)

    def left(self) -> bool:
        """Whether a task is left (one taken to see is put back)."""
        if not self.back and (task := next(self.tasks, None)) is not None:
            self.back.append(task)
        return bool(self.back)


@dataclass(eq=False)
class _Slot:
    """One pool worker's place: the process now in it and the tasks it holds, in the
    order it computes them (the first is the one it is computing)."""

    index: int
    generation: int = 0
    thread: threading.Thread | None = None
    process: Any = None
    connection: Any = None
    tasks: deque = field(default_factory=deque)
    has: set = field(default_factory=set)  # keys of the shared arrays it holds


class LocalPool:
    """``workers`` processes on this machine computing tasks: this one, and
    ``workers - 1`` pool processes.

    Written by hand (a hundred-odd lines) rather than on ``ProcessPoolExecutor``, for
    three properties a batch needs and that executor lacks:

    - *This process computes too.* It has little else to do (it stores each finished
      part and adds up tallies: milliseconds a chunk), so whenever no result is
      waiting it takes a task itself. It starts at once, while the pool's processes
      start up, and ``--workers K`` means K processes computing, this one included
      (with ``warm_up``, this is what brings ``--workers 2`` near twice one worker).
    - *A dead worker loses only its own chunks, and only it is started again.* Each
      worker has a pipe of its own that only it and this process hold, so when it
      dies, reading from it ends (``EOFError``), even half-way through a message.
      ``ProcessPoolExecutor`` instead marks the whole pool broken, fails every chunk
      in flight and has to be rebuilt; and its workers share one result queue whose
      writing end every worker and this process hold, so a worker killed half-way
      through writing a result leaves the reader waiting for the rest.
    - *Tasks stay small.* A read-only numpy array of at least ``SHARED_BYTES`` in a
      task (a scenario's posterior: 2,000 particles of 9 parameters, 144 KB) goes to
      each worker once and is referred to by a key after (pickle's
      ``persistent_id``), so a chunk's message is a few kilobytes.

    Workers are forked from a fork server that has imported ``PRELOAD``: each starts
    in milliseconds, and none inherits this process's threads (Arrow's, OpenBLAS's,
    the pool's own), which plain ``fork`` would copy in whatever state they were. One
    thread per worker starts it (``Process.start`` waits for the fork server; this
    process does not) and then receives its replies as they come, handing the worker
    its next task at once: a worker never waits for this process to finish a chunk of
    its own (the compiled engine lets go of Python's lock while it runs, ``nogil``; the
    numpy engine's large array operations do too). A worker holds one task at a time,
    so when the tasks run out none is left waiting behind a busy worker while this
    process has nothing to do.
    """

    def __init__(self, workers: int, compute_here: bool = True) -> None:
        self._feed: _Feed | None = None  # the tasks of the map under way
        if workers < 2:
            raise ValueError("a LocalPool is this process and at least one worker")
        self.workers = workers
        self.compute_here = compute_here  # False: only the pool's processes compute
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(list(PRELOAD))
        self._events: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()  # over slot generations and _closed
        self._closed = False
        self._slots = [_Slot(index) for index in range(workers - 1)]
        self._shared: dict[int, np.ndarray] = {}  # id -> array, kept alive so ids stay
        self.sent_bytes = 0  # sent down the workers' pipes (tested: tasks stay small)
        self._start_idle()

    def _start_idle(self) -> None:
        for slot in self._slots:
            if slot.thread is None:
                self._start(slot)

    # -- the workers' threads -------------------------------------------------------

    def _start(self, slot: _Slot) -> None:
        """Put a new worker in ``slot`` (its thread starts it)."""
        with self._lock:
            slot.generation += 1
            generation = slot.generation
        slot.process = slot.connection = None
        slot.tasks.clear()
        slot.has = set()
        slot.thread = threading.Thread(target=self._tend, args=(slot, generation),
                                       name=f"negsim-pool-{slot.index}", daemon=True)
        slot.thread.start()

    def _current(self, slot: _Slot, generation: int) -> bool:
        return not self._closed and slot.generation == generation

    def _tend(self, slot: _Slot, generation: int) -> None:
        """Start the worker of ``slot``, pass on its replies, then that it ended."""
        events = self._events
        try:
            mine, theirs = self._context.Pipe()
            process = self._context.Process(target=_serve, args=(theirs,), daemon=True,
                                            name=f"negsim-pool-{slot.index}")
            process.start()
            theirs.close()  # the worker's end is now the worker's alone
        except Exception as error:  # no process can be started
            events.put((slot, generation, "failed", error))
            return
        with self._lock:  # a worker started for a pool stopped meanwhile is stopped
            current = self._current(slot, generation)
            if current:
                events.put((slot, generation, "ready", (process, mine)))
        while current:
            try:
                data = mine.recv_bytes()
            except (EOFError, OSError):
                break
            with self._lock:  # the next task, before this process hears of this one
                if slot.generation != generation:
                    break
                task = slot.tasks.popleft()
                self._feed_worker(slot)
            try:
                reply = pickle.loads(data)
            except Exception as error:  # a reply this process cannot rebuild
                reply = (False, RuntimeError(f"a pool worker's reply cannot be read here "
                                             f"({type(error).__name__}: {error})"))
            events.put((slot, generation, "reply", (task, reply)))
        if not current:
            process.kill()
        mine.close()
        process.join()
        events.put((slot, generation, "ended", process.exitcode))

    def _stop_workers(self) -> None:
        """Stop every worker: those with a pipe are killed (their threads then end),
        those still starting stop themselves when they see their generation passed."""
        with self._lock:
            for slot in self._slots:
                slot.generation += 1
        for slot in self._slots:
            if slot.process is not None:
                slot.process.kill()
            slot.process = slot.connection = slot.thread = None
            slot.tasks.clear()
        while True:  # a worker announced but not yet taken in
            try:
                slot, generation, kind, payload = self._events.get_nowait()
            except queue.Empty:
                break
            if kind == "ready":
                payload[0].kill()

    # -- the map ----------------------------------------------------------------------

    def _message(self, slot: _Slot, function: Callable, task: Any) -> bytes:
        """``(function, task)`` pickled, each shared array the worker holds replaced
        by its key, and those it lacks sent with it."""
        body, arrays = dumps_sharing((function, task))
        self._shared.update(arrays)
        new = {key: array for key, array in arrays.items() if key not in slot.has}
        slot.has |= new.keys()
        return pickle.dumps((new, body), protocol=pickle.HIGHEST_PROTOCOL)

    def _feed_worker(self, slot: _Slot) -> None:
        """Under the lock: give an idle, ready worker the next task, if there is one."""
        if self._feed is None or slot.connection is None or slot.tasks:
            return
        task = self._feed.take()
        if task is None:
            return
        slot.tasks.append(task)
        data = self._message(slot, self._feed.function, task)
        self.sent_bytes += len(data)
        try:
            slot.connection.send_bytes(data)
        except OSError:  # it died: its thread will say so, and the task goes back
            slot.connection = None

    def map_unordered(self, function, tasks):
        self._start_idle()  # after an earlier map stopped early
        feed = self._feed = _Feed(function, iter(tasks))
        losses: dict[int, int] = {}
        finished = False
        try:
            while True:
                with self._lock:
                    for slot in self._slots:
                        self._feed_worker(slot)
                    task = None
                    if self._events.empty():
                        task = feed.take() if self.compute_here else None
                        if task is None and not feed.left() and not any(
                                slot.tasks for slot in self._slots):
                            finished = True
                            return
                if task is not None:  # nothing to store yet: compute a task here
                    yield task, function(task)
                    continue
                done = self._handle(*self._events.get(), losses)
                if done is not None:
                    yield done
        finally:
            with self._lock:
                self._feed = None
            if not finished:  # stopped early: what workers hold must not come back later
                self._stop_workers()

    def _handle(self, slot: _Slot, generation: int, kind: str, payload: Any,
                losses: dict[int, int]) -> tuple[Any, Any] | None:
        """Take in one event of a worker's thread; a finished task is returned."""
        if generation != slot.generation:  # from a worker stopped earlier
            if kind == "ready":
                payload[0].kill()
            return None
        if kind == "ready":
            with self._lock:
                slot.process, slot.connection = payload
        elif kind == "reply":
            task, (ok, value) = payload
            if not ok:
                raise value
            return task, value
        elif kind == "failed":
            raise WorkerLost(f"cannot start a worker process ({type(payload).__name__}: "
                             f"{payload})")
        else:  # "ended": the task it was computing is lost with it, and goes back
            with self._lock:
                if slot.tasks:
                    self._feed.back.append(_lost(slot.tasks.popleft(), losses, payload))
            self._start(slot)
        return None

    def close(self) -> None:
        """Stop the workers: each is told to stop, and killed if it has not within
        ``STOP_SECONDS``."""
        with self._lock:
            self._closed = True
        for slot in self._slots:
            if slot.connection is not None:
                try:
                    slot.connection.send_bytes(b"")
                except OSError:
                    pass
        for slot in self._slots:
            if slot.thread is not None:
                slot.thread.join(STOP_SECONDS)
        self._stop_workers()
