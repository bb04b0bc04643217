"""Batches on a real Dask cluster: a `dask scheduler` and two `dask worker` processes
on 127.0.0.1 (dashboards too), started here and stopped by process id. Workers are
killed mid-batch (one, all, the only one of a cluster of one) and the files are those
of one process; a cluster over TLS gives them too; a dashboard's port given as the
scheduler is one line within the timeout."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from distributed import Client
from distributed.comm.core import CommClosedError
from distributed.security import Security

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


def launch(workers: int, scheme: str = "tcp", security: tuple[str, ...] = (),
           client_security: Security | None = None
           ) -> tuple[str, list[subprocess.Popen], str]:
    """A `dask scheduler` and ``workers`` `dask worker` processes (each with a nanny,
    which starts it again when killed) on 127.0.0.1: the scheduler's address, the
    processes (stop them with ``stop``) and the dashboard's address."""
    port, dashboard = free_port(), f"127.0.0.1:{free_port()}"
    address = f"{scheme}://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": ROOT}
    processes = [subprocess.Popen(
        [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--protocol",
         scheme, "--dashboard-address", dashboard, *security], **quiet)]
    try:
        for k in range(workers):
            processes.append(subprocess.Popen(
                [str(DASK), "worker", address, "--name", f"w{k}", "--nthreads", "1",
                 "--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0", *security],
                **quiet))
        deadline = time.monotonic() + 90
        while True:  # the scheduler takes a moment to listen
            try:
                with Client(address, timeout=5, set_as_default=False,
                            security=client_security) as client:
                    client.wait_for_workers(workers, timeout=60)
                break
            except OSError:
                assert time.monotonic() < deadline, "the Dask cluster did not start"
                time.sleep(0.5)
    except BaseException:
        for process in reversed(processes):
            stop(process)
        raise
    return address, processes, dashboard


@pytest.fixture(scope="module")
def cluster():
    """The scheduler's address; its processes end with the module."""
    address, processes, _ = launch(2)
    yield address
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


def start_batch(out: Path, address: str, env: dict | None = None) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "sim.cli", *batch(out, "--scheduler",
                                                                        address)],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, env=env)
    deadline = time.monotonic() + 120
    while not (out / "results").is_dir() or not list((out / "results").glob("*.parquet")):
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.01)
    return process


def kill_workers(address: str, how_many: int | None = None, security=None) -> None:
    """SIGKILL ``how_many`` of the cluster's workers (all by default); their nannies
    start them again."""
    for attempt in range(5):  # a worker restarting as we ask closes its comm: ask again
        try:
            with Client(address, timeout=10, set_as_default=False,
                        security=security) as client:
                client.wait_for_workers(1, timeout=60)
                pids = list(client.run(os.getpid).values())
            break
        except (OSError, CommClosedError):
            if attempt == 4:
                raise
            time.sleep(1)
    for pid in pids[:how_many]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:  # it died on its own meanwhile
            pass


def test_all_workers_killed_mid_batch_changes_nothing(tmp_path, cluster, serial):
    """Both workers at once: the scattered posterior dies with them (Dask then
    cancels every chunk that needs it: "already forgotten"); the chunks are submitted
    again, the posterior scattered anew once a worker is back."""
    out = tmp_path / "june"
    process = start_batch(out, cluster)
    kill_workers(cluster)
    assert len(list((out / "results").glob("*.parquet"))) < PARTS  # killed mid-batch
    assert process.wait(timeout=300) == 0, process.stderr.read()
    assert "Traceback" not in process.stderr.read()  # (Dask may log that it reschedules)
    assert files_of(out) == serial


def test_the_only_worker_of_a_cluster_killed_twice_changes_nothing(tmp_path, serial):
    address, processes, _ = launch(1)
    try:
        out = tmp_path / "june"
        process = start_batch(out, address)
        kill_workers(address)
        with Client(address, timeout=10, set_as_default=False) as client:
            client.wait_for_workers(1, timeout=60)
        if process.poll() is None:
            kill_workers(address)
        assert process.wait(timeout=300) == 0, process.stderr.read()
    finally:
        for each in reversed(processes):
            stop(each)
    assert files_of(out) == serial


def test_a_chunk_too_large_for_a_workers_memory_is_one_line(tmp_path, cluster, capsys):
    """A real MemoryError on a worker (arrays of 10**15 replicates): one line, exit 2,
    no failure rows."""
    out = tmp_path / "huge"
    code = main(["run", str(JUNE), "--runs", str(10**15), "--chunk-size", str(10**15),
                 "--out", str(out), "--no-plots", "--scheduler", cluster])
    assert code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "MemoryError" in error, error
    assert not (out / "failures").exists()


def test_the_dashboards_port_is_one_line_within_the_timeout(tmp_path):
    """The scheduler's dashboard (HTTP) given as --scheduler used to hang > 300 s."""
    address, processes, dashboard = launch(1)
    try:
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "sim.cli", *batch(
            tmp_path / "june", "--scheduler", f"tcp://{dashboard}")], cwd=ROOT,
            capture_output=True, text=True, timeout=120)
        elapsed = time.monotonic() - started
    finally:
        for each in reversed(processes):
            stop(each)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "no Dask handshake within 10 s" in done.stderr and elapsed < 25
    assert not (tmp_path / "june").exists()


def certificates(folder: Path) -> dict[str, Path]:
    """A CA and a certificate it signed (for 127.0.0.1), made with openssl."""
    run = {"check": True, "capture_output": True, "cwd": folder}
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=negsim test CA", "-keyout", "ca.key", "-out", "ca.pem"], **run)
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj",
                    "/CN=127.0.0.1", "-keyout", "node.key", "-out", "node.csr"], **run)
    (folder / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    subprocess.run(["openssl", "x509", "-req", "-in", "node.csr", "-CA", "ca.pem", "-CAkey",
                    "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "san.cnf", "-out",
                    "node.pem"], **run)
    return {"ca": folder / "ca.pem", "cert": folder / "node.pem", "key": folder / "node.key"}


def tls_env(files: dict[str, Path]) -> dict[str, str]:
    """The environment that gives Dask's configuration these certificates."""
    return os.environ | {"DASK_DISTRIBUTED__COMM__TLS__CA_FILE": str(files["ca"]),
                         "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT": str(files["cert"]),
                         "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY": str(files["key"])}


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl for certificates")
def test_a_cluster_over_tls_writes_the_files_of_one_process(tmp_path, serial, capsys):
    """The README's recipe for untrusted networks: scheduler and workers with
    --tls-ca-file/--tls-cert/--tls-key, negsim given the certificates through Dask's
    configuration. Without them: one line saying what is needed; with certificates of
    another CA: let in neither way, one line."""
    files = certificates(tmp_path)
    (tmp_path / "intruder").mkdir()
    intruder = certificates(tmp_path / "intruder")
    security = ("--tls-ca-file", str(files["ca"]), "--tls-cert", str(files["cert"]),
                "--tls-key", str(files["key"]))
    client_security = Security(tls_ca_file=str(files["ca"]), tls_client_cert=str(files["cert"]),
                               tls_client_key=str(files["key"]), require_encryption=True)
    address, processes, _ = launch(2, "tls", security, client_security)
    try:
        assert main(batch(tmp_path / "plain", "--scheduler", address)) == 2
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and "TLS needs the cluster's certificates" in error
        for key in ("ca", "cert"):  # trusts another CA, or holds another CA's certificate
            other = files | {key: intruder[key]} | ({"key": intruder["key"]} if key == "cert"
                                                    else {})
            refused = subprocess.run([sys.executable, "-m", "sim.cli", *batch(
                tmp_path / f"intruder-{key}", "--scheduler", address)], cwd=ROOT,
                capture_output=True, text=True, env=tls_env(other), timeout=120)
            assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
            assert f"--scheduler {address}: " in refused.stderr
        env = tls_env(files)
        out = tmp_path / "june"
        done = subprocess.run([sys.executable, "-m", "sim.cli", *batch(out, "--scheduler",
                                                                       address)],
                              cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0, done.stderr
    finally:
        for each in reversed(processes):
            stop(each)
    assert files_of(out) == serial


def test_the_readmes_recipe_binds_every_listening_socket_to_the_chosen_interface():
    """The README's cluster recipe (`--host ADDRESS --dashboard-address ADDRESS:PORT` on
    the scheduler and on each worker; ADDRESS here 127.0.0.1): the scheduler, its
    dashboard, each nanny, worker and worker dashboard listen on that address only,
    none on every interface (Dask's default)."""
    address, processes, _ = launch(2)
    try:
        family = [psutil.Process(p.pid) for p in processes]
        family += [child for parent in family for child in parent.children(recursive=True)]
        listening = [c.laddr for member in family for c in member.net_connections("inet")
                     if c.status == psutil.CONN_LISTEN]
    finally:
        for each in reversed(processes):
            stop(each)
    assert len(listening) >= 2 + 2 * 3  # scheduler and dashboard; nanny, worker, dashboard
    assert {laddr.ip for laddr in listening} == {"127.0.0.1"}, listening
