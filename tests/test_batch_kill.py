"""Batches that are killed: the whole batch (kill -9, then --resume), or one worker of
the pool mid-batch. Either way the folder ends as an uninterrupted batch leaves it."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent
JUNE = ROOT / "scenarios" / "june-20-30-2025.toml"
RUNS, CHUNK = 4_000, 500
PARTS = RUNS // CHUNK


def batch(out: Path, *extra: str) -> list[str]:
    return ["run", str(JUNE), "--runs", str(RUNS), "--seed", "3", "--chunk-size", str(CHUNK),
            "--out", str(out), "--no-plots", *extra]


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def parts_in(out: Path) -> int:
    return len(list((out / "results").glob("*.parquet")))


def wait_for_parts(out: Path, count: int, process: subprocess.Popen) -> int:
    """Wait until the running batch has written ``count`` parts; return how many."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if (out / "results").is_dir() and parts_in(out) >= count:
            return parts_in(out)
        assert process.poll() is None, process.stderr.read()
        time.sleep(0.01)
    raise AssertionError("the batch wrote no parts in two minutes")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("uninterrupted") / "june"
    assert main(batch(out, "--workers", "2")) == 0
    return files_of(out)


def start(out: Path, workers: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sim.cli", *batch(out, "--workers",
                                                                      str(workers))],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)


def test_a_batch_killed_with_sigkill_resumes_to_the_uninterrupted_result(tmp_path,
                                                                       uninterrupted):
    out = tmp_path / "june"
    process = start(out, workers=1)
    wait_for_parts(out, 2, process)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert 2 <= parts_in(out) < PARTS and not (out / "summary.json").exists()
    assert main(batch(out, "--workers", "2")) == 2  # refuses without --resume
    assert main(batch(out, "--workers", "2", "--resume")) == 0
    assert files_of(out) == uninterrupted


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def pool_workers(batch: psutil.Process) -> list[psutil.Process]:
    """The pool's workers: the children of the batch's children (the fork server forks
    them), still running. Not deeper: a helper a worker's library starts (e.g. to find a
    shared library) is a child of the worker, and is named python until it execs."""
    workers = []
    for child in batch.children():
        try:
            workers += [p for p in child.children() if _alive(p)]
        except psutil.NoSuchProcess:
            pass
    return workers


def test_a_worker_killed_mid_batch_changes_nothing(tmp_path):
    """``--workers 2`` is this process and one pool worker: kill the worker while it
    computes (it has used CPU time) with the batch unfinished; the batch ends with
    the files of the same batch run in one process."""
    # 160 parts: the worker gets some, and the batch lasts long enough (some seconds) to
    # find the worker computing and kill it mid-batch (40 parts ended first once the
    # engine took 3 us a round)
    sizes = ("--runs", "160000", "--chunk-size", "1000")
    whole = tmp_path / "whole"
    assert main([*batch(whole, "--workers", "1"), *sizes]) == 0
    out = tmp_path / "june"
    process = subprocess.Popen([sys.executable, "-m", "sim.cli", *batch(out, "--workers", "2"),
                                *sizes], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=(tmp_path / "stderr").open("w"))
    parent = psutil.Process(process.pid)
    deadline = time.monotonic() + 120
    worker = None
    while worker is None and time.monotonic() < deadline:
        assert process.poll() is None, (tmp_path / "stderr").read_text()
        # pool workers are forked by the fork server, a child of the batch's process
        pool = pool_workers(parent)
        assert len(pool) <= 1
        try:
            if pool and pool[0].cpu_times().user > 0.3:  # it is computing chunks
                worker = pool[0]
        except psutil.NoSuchProcess:
            pass
        time.sleep(0.01)
    assert worker is not None, "the pool's worker computed nothing in two minutes"
    worker.send_signal(signal.SIGKILL)
    assert process.poll() is None and parts_in(out) < 160  # killed mid-batch
    assert process.wait(timeout=300) == 0, (tmp_path / "stderr").read_text()
    assert not worker.is_running() or worker.status() == psutil.STATUS_ZOMBIE
    assert files_of(out) == files_of(whole)
