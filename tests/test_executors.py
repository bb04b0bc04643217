"""The local pool on its own: every task once, whoever computes it; a worker that
dies loses only its task, and one that keeps dying stops the batch; errors come back
with their type; tasks stay small; a map stopped early leaves nothing behind."""

import json
import multiprocessing
import os
import signal
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from sim.batch.executors import InProcess, LocalPool
from sim.batch.executors.base import MAX_LOSSES, WorkerLost

PARENT = os.getpid()


def in_worker() -> bool:
    """In a pool worker (whose import of this module sets its own ``PARENT``)."""
    return multiprocessing.parent_process() is not None


def square(task: int) -> tuple[int, int]:
    return task * task, os.getpid()


def meet(task: tuple[int, str]) -> tuple[int, int]:
    """Slow in this process until a worker has left its mark: both compute."""
    value, mark = task
    if in_worker():
        Path(mark).touch()
    elif not Path(mark).exists():
        time.sleep(0.3)
    return value * value, os.getpid()


def die_once(task: tuple[int, str]) -> int:
    """The first worker to take a task is killed while computing it."""
    value, mark = task
    if in_worker() and not Path(mark).exists():
        Path(mark).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return value * value


def die_on_three(task: int) -> int:
    if task == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    return task


def exit_three(task: int) -> int:
    os._exit(3)


def fail_on_five(task: int) -> int:
    if task == 5:
        raise ValueError(f"task {task} is bad")
    return task


class Odd(Exception):
    """Pickles, but does not unpickle (its ``__init__`` wants two arguments)."""

    def __init__(self, first, second):
        super().__init__(f"{first} {second}")


def raise_odd(task: int) -> int:
    raise Odd(task, "odd")


def array_sum(task: tuple[int, np.ndarray]) -> float:
    return float(task[1].sum()) + task[0]


@pytest.fixture
def pool():
    pool = LocalPool(2)
    yield pool
    pool.close()


@pytest.fixture
def workers_only():
    """A pool whose tasks all go to its worker (none computed in this process)."""
    pool = LocalPool(2, compute_here=False)
    yield pool
    pool.close()


def test_this_process_and_a_worker_both_compute_and_every_task_comes_back_once(
        pool, tmp_path):
    mark = str(tmp_path / "worker-started")
    results = list(pool.map_unordered(meet, [(k, mark) for k in range(40)]))
    assert sorted(task[0] for task, _ in results) == list(range(40))
    assert all(value == task[0] ** 2 for task, (value, _) in results)
    pids = {pid for _, (_, pid) in results}
    assert PARENT in pids and len(pids) == 2


def test_the_pool_gives_what_one_process_gives(pool):
    tasks = list(range(50))
    assert (sorted(r for _, (r, _) in pool.map_unordered(square, tasks))
            == sorted(r for _, (r, _) in InProcess().map_unordered(square, tasks)))


def test_a_worker_killed_mid_task_loses_only_that_task(workers_only, tmp_path):
    mark = tmp_path / "killed"
    results = dict(workers_only.map_unordered(die_once, [(k, str(mark)) for k in range(10)]))
    assert mark.exists()  # a worker was killed ...
    assert results == {(k, str(mark)): k * k for k in range(10)}  # ... and nothing lost
    assert dict(workers_only.map_unordered(die_once, [(11, str(mark))])) == {(11, str(mark)): 121}


def test_a_task_that_kills_its_worker_every_time_stops_the_batch(workers_only):
    with pytest.raises(WorkerLost, match=f"died {MAX_LOSSES} times while running 3 "
                       r"\(killed by signal 9; out of memory\?"):
        list(workers_only.map_unordered(die_on_three, range(6)))


def test_a_worker_that_exits_with_an_error_is_said_to_have_failed(workers_only):
    with pytest.raises(WorkerLost, match="running 0 \\(exit code 3: the worker failed"):
        list(workers_only.map_unordered(exit_three, range(1)))


def test_an_error_in_a_worker_is_raised_here_with_the_workers_traceback(workers_only):
    with pytest.raises(ValueError, match="task 5 is bad") as raised:
        list(workers_only.map_unordered(fail_on_five, range(8)))
    assert "in a pool worker" in "\n".join(raised.value.__notes__)
    assert "fail_on_five" in "\n".join(raised.value.__notes__)


def test_a_reply_that_cannot_be_read_here_is_an_error_not_a_hang(workers_only):
    with pytest.raises(RuntimeError, match="reply cannot be read here"):
        list(workers_only.map_unordered(raise_odd, range(3)))


def test_a_large_read_only_array_goes_to_a_worker_once(workers_only):
    big = np.arange(125_000, dtype=np.float64)  # 1 MB
    big.flags.writeable = False
    results = {task[0]: total for task, total
               in workers_only.map_unordered(array_sum, [(k, big) for k in range(20)])}
    assert results == {k: float(big.sum()) + k for k in range(20)}
    assert big.nbytes < workers_only.sent_bytes < big.nbytes + 20 * 1_000


def test_a_map_stopped_early_leaves_no_results_for_the_next(workers_only):
    first = workers_only.map_unordered(square, range(100, 108))
    next(first)
    first.close()  # the caller stopped: the rest is dropped
    assert sorted(t for t, _ in workers_only.map_unordered(square, range(5))) == list(range(5))


def test_closing_the_pool_ends_its_processes():
    pool = LocalPool(3, compute_here=False)
    pids = {pid for _, (_, pid) in pool.map_unordered(square, range(10))}
    assert len(pids) >= 1 and PARENT not in pids
    pool.close()
    for pid in pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"


@pytest.mark.parametrize(("argv", "pooled"), [
    (["run", "june.toml"], False),  # the default 10,000 runs: one chunk, in this process
    (["run", "june.toml", "--runs", "100000"], True),
    (["sweep", "sweep.toml", "--workers", "2"], True),
    (["run", "june.toml", "--workers", "1"], False),
    (["campaign", "c.toml", "--workers=1"], False),
    (["run", "june.toml", "--scheduler", "tcp://10.0.0.1:8786"], False),
    (["report", "results/june"], False),
])
def test_the_fork_server_is_started_early_only_for_a_local_pool(argv, pooled, monkeypatch):
    import sim.batch.executors.base
    import sim.cli
    monkeypatch.setattr(sim.batch.executors.base, "default_workers", lambda: 4)
    assert sim.cli._pooled(argv[0], argv) is pooled
    monkeypatch.setattr(sim.batch.executors.base, "default_workers", lambda: 1)
    assert sim.cli._pooled(argv[0], argv) is False


def test_a_batch_of_one_chunk_runs_in_this_process_unless_workers_are_asked_for():
    """A pool costs about two seconds to start: the default (all cores) is capped at the
    number of tasks, so one task runs here; ``--workers 2`` is taken as asked."""
    from sim.batch.executors import make_executor

    assert isinstance(make_executor(None, None, 1), InProcess)
    pool = make_executor(2, None, 1)
    try:
        assert isinstance(pool, LocalPool)
    finally:
        pool.close()


def test_the_command_line_starts_no_fork_server_for_a_run_of_one_chunk():
    from sim.batch.executors import default_workers
    from sim.batch.sizes import CHUNK_SIZE
    from sim.cli import _pooled

    cores = default_workers()
    for runs in ("1", str(CHUNK_SIZE)):
        assert not _pooled("run", ["run", "x.toml", "--runs", runs])
        assert not _pooled("run", ["run", "x.toml", f"--runs={runs}"])
    assert _pooled("run", ["run", "x.toml", "--runs", str(CHUNK_SIZE + 1)]) is (cores > 1)
    assert not _pooled("run", ["run", "x.toml"])  # the default 10,000 runs: one chunk
    assert _pooled("sweep", ["sweep", "x.toml"]) is (cores > 1)


def test_the_default_run_is_one_chunk_in_the_command_s_process(monkeypatch, tmp_path):
    """README: a batch of one chunk, such as the default 10,000 runs, runs in the
    command's process (no pool is started)."""
    import sim.batch.executors
    from sim.cli import main

    def no_pool(workers):
        raise AssertionError(f"a pool of {workers} was started")

    monkeypatch.setattr(sim.batch.executors, "LocalPool", no_pool)
    june = Path(__file__).resolve().parent.parent / "scenarios" / "june-20-30-2025.toml"
    assert main(["run", str(june), "--no-plots", "--no-inputs",
                 "--out", str(tmp_path / "out")]) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["runs"] == 10_000
