"""Batches on a real Dask cluster: a `dask scheduler` and two `dask worker` processes
on 127.0.0.1 (dashboards too), started here and stopped by process id."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from distributed import Client

from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent
JUNE = ROOT / "scenarios" / "june-20-30-2025.toml"
DASK = Path(sys.executable).parent / "dask"
RUNS, CHUNK = 4_000, 500
PARTS = RUNS // CHUNK


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop(process: subprocess.Popen) -> None:
    """End a process we started, by its id: politely, then for sure."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def cluster():
    """The scheduler's address; its processes end with the module."""
    address = f"tcp://127.0.0.1:{free_port()}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": ROOT}
    processes = [subprocess.Popen(
        [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
         "--dashboard-address", f"127.0.0.1:{free_port()}"], **quiet)]
    try:
        for name in ("w0", "w1"):
            processes.append(subprocess.Popen(
                [str(DASK), "worker", address, "--name", name, "--nthreads", "1", "--host",
                 "127.0.0.1", "--dashboard-address", "127.0.0.1:0"], **quiet))
        deadline = time.monotonic() + 90
        while True:  # the scheduler takes a moment to listen
            try:
                with Client(address, timeout=5, set_as_default=False) as client:
                    client.wait_for_workers(2, timeout=60)
                break
            except OSError:
                assert time.monotonic() < deadline, "the Dask cluster did not start"
                time.sleep(0.5)
        yield address
    finally:
        for process in reversed(processes):
            stop(process)


def batch(out: Path, *extra: str) -> list[str]:
    return ["run", str(JUNE), "--runs", str(RUNS), "--seed", "8", "--chunk-size", str(CHUNK),
            "--out", str(out), "--no-plots", *extra]


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture(scope="module")
def serial(tmp_path_factory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("serial") / "june"
    assert main(batch(out, "--workers", "1")) == 0
    return files_of(out)


def test_dask_writes_the_files_of_one_process(tmp_path, cluster, serial):
    out = tmp_path / "june"
    assert main(batch(out, "--scheduler", cluster)) == 0
    assert len([name for name in serial if name.startswith("results/")]) == PARTS
    assert files_of(out) == serial


def test_a_dask_worker_killed_mid_batch_changes_nothing(tmp_path, cluster, serial):
    out = tmp_path / "june"
    process = subprocess.Popen([sys.executable, "-m", "sim.cli", *batch(out, "--scheduler",
                                                                        cluster)],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    deadline = time.monotonic() + 120
    while not (out / "results").is_dir() or not list((out / "results").glob("*.parquet")):
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.01)
    with Client(cluster, timeout=10, set_as_default=False) as client:
        pids = list(client.run(os.getpid).values())
    os.kill(pids[0], signal.SIGKILL)  # its nanny starts a new one
    assert len(list((out / "results").glob("*.parquet"))) < PARTS  # killed mid-batch
    assert process.wait(timeout=300) == 0, process.stderr.read()
    assert files_of(out) == serial


def test_an_unreachable_scheduler_is_a_one_line_error(tmp_path, capsys):
    out = tmp_path / "june"
    assert main(batch(out, "--scheduler", f"tcp://127.0.0.1:{free_port()}")) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "cannot reach a Dask scheduler there" in error
    assert not out.exists()
