"""Rounds never silently lost or different (issue 16): resource errors fail the chunk
and never become failure rows; ``--resume`` verifies every part against the manifest
and refuses stray files; a lock keeps two batches off one folder; tasks are made
lazily; an unwritable folder or a full disk is one line, finished parts intact and
the resumed batch identical; kill -9 and SIGTERM leave no traceback and resume to
the files of an uninterrupted batch."""

from __future__ import annotations

import ast
import errno
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim.batch.chunks
import sim.batch.storage
import sim.fileio
from sim.batch.chunks import chunk_tasks
from sim.cli import main
from sim.model.round import NegotiationRound
from sim.scenario.load import load_scenario

ROOT = Path(__file__).resolve().parent.parent
JUNE = ROOT / "scenarios" / "june-20-30-2025.toml"
CLASSROOM = ROOT / "scenarios" / "classroom-two-party.toml"
RUNS, CHUNK = 2000, 250
PARTS = RUNS // CHUNK


def batch(out: Path, *extra: str, runs: int = RUNS, chunk: int = CHUNK) -> list[str]:
    return ["run", str(JUNE), "--runs", str(runs), "--seed", "4", "--chunk-size", str(chunk),
            "--out", str(out), "--no-plots", *extra]


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def one_error_line(capsys, *needles: str) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("negsim: error: "), err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


@pytest.fixture(scope="module")
def whole(tmp_path_factory) -> Path:
    """The batch run once, uninterrupted, in this process."""
    out = tmp_path_factory.mktemp("whole") / "june"
    assert main(batch(out, "--workers", "1")) == 0
    return out


@pytest.fixture
def done(whole, tmp_path) -> Path:
    """A copy of the finished batch, to tamper with."""
    copy = tmp_path / "june"
    shutil.copytree(whole, copy)
    return copy


# -- the manifest records every part --------------------------------------------------------

def test_the_manifest_records_each_part_its_runs_and_hash(whole):
    manifest = json.loads((whole / "manifest.json").read_text())
    finished = manifest["finished"]
    assert [r["part"] for r in finished] == [f"part-{k:05d}" for k in range(PARTS)]
    for k, record in enumerate(finished):
        data = (whole / "results" / f"{record['part']}.parquet").read_bytes()
        inputs = (whole / "inputs" / f"{record['part']}.parquet").read_bytes()
        assert record == {"part": f"part-{k:05d}", "first_run_id": k * CHUNK, "runs": CHUNK,
                          "sha256": hashlib.sha256(data).hexdigest(), "failures_sha256": None,
                          "inputs_sha256": hashlib.sha256(inputs).hexdigest()}
    assert not (whole / "failures").exists()  # made only when a failure row is written
    assert not (whole / "negsim.lock").exists() and not (whole / "manifest.parts.jsonl").exists()
    assert len(pd.read_parquet(whole / "results")) == RUNS


# -- resource errors --------------------------------------------------------------------------

@pytest.mark.parametrize("error", [MemoryError("cannot allocate"),
                                   OSError(errno.ENOSPC, "No space left on device")])
def test_a_resource_error_fails_the_chunk_and_never_becomes_failure_rows(
        tmp_path, monkeypatch, capsys, whole, error):
    """The model raises a resource error on chunk 4: the batch stops with one line,
    no failure row is written, parts finished are kept, and --resume (with memory
    back) ends with the files of the uninterrupted batch."""
    calls = {"n": 0}

    class Short(NegotiationRound):
        def run(self):
            calls["n"] += 1
            if calls["n"] == 5:  # the fifth chunk run in this process
                raise error
            return super().run()

    monkeypatch.setattr(sim.batch.chunks, "NegotiationRound", Short)
    out = tmp_path / "june"
    assert main(batch(out, "--workers", "1")) == 2
    message = one_error_line(capsys, "chunk 4 (part part-00004, runs 1000-1249) stopped: "
                             f"{type(error).__name__}", "what finished is kept: rerun with "
                             "--resume")
    assert ("smaller --chunk-size" in message) == isinstance(error, MemoryError)
    assert not (out / "failures").exists()
    assert sorted(p.name for p in (out / "results").iterdir()) == [
        f"part-{k:05d}.parquet" for k in range(4)]
    monkeypatch.undo()
    assert main(batch(out, "--workers", "1", "--resume")) == 0
    assert files_of(out) == files_of(whole)


def test_a_resource_error_while_isolating_failures_still_fails_the_chunk(tmp_path, monkeypatch,
                                                                          capsys):
    """A model error sends the chunk into the halving search; a MemoryError there
    must not turn the replicates of that group into failure rows."""
    runs = {"n": 0}

    class Flaky(NegotiationRound):
        def run(self):
            runs["n"] += 1
            if runs["n"] == 1:
                raise FloatingPointError("a model error: isolate it")
            raise MemoryError("out of memory while isolating")

    monkeypatch.setattr(sim.batch.chunks, "NegotiationRound", Flaky)
    out = tmp_path / "june"
    assert main(batch(out, "--workers", "1", runs=CHUNK)) == 2
    one_error_line(capsys, "MemoryError: out of memory while isolating")
    assert not (out / "failures").exists() and not list((out / "results").glob("*.parquet"))


def test_a_resource_error_in_the_draws_is_no_failure_row(tmp_path, monkeypatch, capsys):
    def realise(*args, **kwargs):
        raise MemoryError("drawing the chunk")

    monkeypatch.setattr(sim.batch.chunks, "realise", realise)
    assert main(batch(tmp_path / "june", "--workers", "1", runs=CHUNK)) == 2
    one_error_line(capsys, "MemoryError: drawing the chunk")
    assert not (tmp_path / "june" / "failures").exists()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_chunk_too_large_for_memory_is_one_line_in_process_and_in_the_pool(
        tmp_path, capsys, workers):
    """A real MemoryError (numpy cannot allocate arrays of 10**15 replicates), in this
    process and in a pool worker: one line, exit 2, no failure rows — where it used
    to be a million billion failure rows and exit 0."""
    huge = str(10**15)
    code = main(["run", str(CLASSROOM), "--runs", str(2 * 10**15), "--chunk-size", huge,
                 "--out", str(tmp_path / "out"), "--no-plots", "--workers", workers])
    assert code == 2
    one_error_line(capsys, "MemoryError", "try a smaller --chunk-size")
    assert not (tmp_path / "out" / "failures").exists()
    assert not list((tmp_path / "out" / "results").glob("*.parquet"))


# -- resume verifies the folder -------------------------------------------------------------

def resume(out: Path) -> int:
    return main(batch(out, "--workers", "1", "--resume"))


def test_a_part_from_another_seed_is_refused_and_recovery_works(tmp_path, done, whole, capsys):
    other = tmp_path / "other"
    assert main([*batch(other, "--workers", "1"), "--seed", "5"]) == 0
    shutil.copy(other / "results" / "part-00005.parquet", done / "results")
    (done / "summary.json").unlink()
    before = files_of(done)
    assert resume(done) == 2
    one_error_line(capsys, f"{done / 'results' / 'part-00005.parquet'}: is not the part the "
                   "manifest recorded", "remove it and rerun with --resume")
    assert files_of(done) == before  # nothing written
    (done / "results" / "part-00005.parquet").unlink()  # as the message says
    assert resume(done) == 0
    assert files_of(done) == files_of(whole)


@pytest.mark.parametrize("name", ["part-00008.parquet", "part-10000.parquet", "extra.parquet"])
def test_a_part_the_batch_did_not_record_is_refused(done, capsys, name):
    shutil.copy(done / "results" / "part-00000.parquet", done / "results" / name)
    assert resume(done) == 2
    one_error_line(capsys, f"{done / 'results' / name}: not a part this batch recorded")


@pytest.mark.parametrize("name", ["notes.txt", "sub/part-00000.parquet", "README"])
def test_a_stray_file_or_folder_in_results_is_refused(done, capsys, name):
    """Refused rather than ignored: ``pd.read_parquet(OUT/results)`` reads every file
    there whose name does not start with . or _, so a stray file breaks (or, a
    Parquet file, silently changes) the table."""
    stray = done / "results" / name
    stray.parent.mkdir(exist_ok=True)
    stray.write_text("a note")
    assert resume(done) == 2
    first = done / "results" / name.split("/")[0]
    one_error_line(capsys, f"{first}: not a part of this batch; move it out of results/")


def test_hidden_files_are_ignored_as_parquet_readers_ignore_them(done, whole):
    (done / "results" / ".DS_Store").write_text("x")
    (done / "results" / "_SUCCESS").write_text("")
    assert resume(done) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(done / "results"),
                                  pd.read_parquet(whole / "results"))


def test_a_stray_failures_file_is_refused(done, capsys):
    (done / "failures").mkdir()
    shutil.copy(done / "results" / "part-00002.parquet", done / "failures")
    assert resume(done) == 2
    one_error_line(capsys, f"{done / 'failures' / 'part-00002.parquet'}: not a part this "
                   "batch recorded")


def test_a_changed_record_is_refused(done, capsys):
    manifest = json.loads((done / "manifest.json").read_text())
    manifest["finished"][3]["runs"] = 10
    (done / "manifest.json").write_text(json.dumps(manifest))
    assert resume(done) == 2
    one_error_line(capsys, "manifest.json: records part-00003 as runs 750-759, but this batch's "
                   "part-00003 is runs 750-999")


DAMAGE = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(0, 7)),
    st.tuples(st.just("cut"), st.integers(0, 10**6), st.just(0)))


@settings(max_examples=30)
@given(st.integers(0, PARTS - 1), DAMAGE)
def test_a_damaged_part_is_named_with_how_to_recover(whole, tmp_path_factory, part, damage):
    """Any bit flipped, or the file cut at any length (empty included): one line
    naming the part, how to recover, exit 2, nothing written (hypothesis)."""
    out = tmp_path_factory.mktemp("damaged") / "june"
    shutil.copytree(whole, out)
    path = out / "results" / f"part-{part:05d}.parquet"
    data = bytearray(path.read_bytes())
    kind, where, bit = damage
    where %= len(data)
    if kind == "flip":
        data[where] ^= 1 << bit
    else:
        del data[where:]
    path.write_bytes(bytes(data))
    before = files_of(out)
    err = subprocess_free_resume(out)
    assert err.count("\n") == 1 and f"{path}: is not the part the manifest recorded" in err
    assert "remove it and rerun with --resume" in err
    assert files_of(out) == before


def subprocess_free_resume(out: Path) -> str:
    """Resume in this process; its stderr (exit status 2 checked)."""
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert resume(out) == 2
    return err.getvalue()


def test_a_part_recorded_but_never_written_runs_again(done, whole):
    """Killed between recording a part and writing it: its failures file (if any) is
    cleared and the chunk computed again."""
    (done / "results" / "part-00006.parquet").unlink()
    assert resume(done) == 0
    assert files_of(done) == files_of(whole)


def test_a_journal_cut_mid_line_resumes(done, whole):
    """Killed while appending a record: the torn last line is ignored (its part had
    not been written)."""
    manifest = json.loads((done / "manifest.json").read_text())
    records = manifest.pop("finished")
    manifest["finished"] = records[:2]
    (done / "manifest.json").write_text(json.dumps(manifest))
    lines = [json.dumps(r) for r in records[2:5]]
    (done / "manifest.parts.jsonl").write_text("\n".join(lines) + "\n" + lines[0][:30])
    for record in records[5:]:  # never recorded, so never written (inputs neither)
        (done / "results" / f"{record['part']}.parquet").unlink()
        (done / "inputs" / f"{record['part']}.parquet").unlink()
    assert resume(done) == 0
    assert files_of(done) == files_of(whole)


# -- the lock -----------------------------------------------------------------------------------

def lock_of(pid: int, host: str | None = None) -> str:
    return json.dumps({"pid": pid, "host": host or socket.gethostname()})


def test_a_folder_held_by_a_live_process_is_refused(done, capsys):
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (done / "negsim.lock").write_text(lock_of(holder.pid))
        before = files_of(done)
        assert resume(done) == 2
        one_error_line(capsys, f"in use by negsim process {holder.pid} on "
                       f"{socket.gethostname()}")
        assert files_of(done) == before
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_from_another_host_is_refused(done, capsys):
    (done / "negsim.lock").write_text(lock_of(1, "elsewhere.example"))
    assert resume(done) == 2
    one_error_line(capsys, "in use by negsim process 1 on elsewhere.example")


def test_a_stale_lock_is_taken_over(done, whole):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (done / "negsim.lock").write_text(lock_of(gone.pid))
    (done / "results" / "part-00001.parquet").unlink()
    assert resume(done) == 0
    assert files_of(done) == files_of(whole)  # the lock went with the batch


def test_two_batches_resuming_one_folder_at_once(tmp_path, capsys):
    """A second batch with --resume on a folder a first one is writing (it used to
    delete the other's temporary part: FileNotFoundError) is refused in one line;
    the first ends with the files of the same batch run alone."""
    sizes = {"runs": 8_000, "chunk": 500}
    alone = tmp_path / "alone"
    assert main(batch(alone, "--workers", "1", **sizes)) == 0
    out = tmp_path / "june"
    command = [sys.executable, "-m", "sim.cli", *batch(out, "--workers", "1", "--resume",
                                                       **sizes)]
    first = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    wait_for_parts(out, 1, first)
    capsys.readouterr()
    assert main(batch(out, "--workers", "1", "--resume", **sizes)) == 2  # the second
    one_error_line(capsys, f"in use by negsim process {first.pid} on {socket.gethostname()}")
    assert first.poll() is None  # (refused while the first ran)
    assert first.wait(timeout=300) == 0, first.stderr.read()
    assert first.stderr.read() == ""
    assert files_of(out) == files_of(alone)


# -- lazy tasks ---------------------------------------------------------------------------------

def test_a_trillion_runs_are_tasks_made_when_asked():
    scenario = load_scenario(CLASSROOM)
    tracemalloc.start()
    tasks = chunk_tasks(scenario, 10**12, 7)
    last = tasks[-1]
    some = list(zip(range(3), tasks, strict=False))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(tasks) == 61_035_157 and peak < 200_000
    assert (last.chunk, last.first, last.count, last.part) == (
        61_035_156, 61_035_156 * 16_384, 10**12 - 61_035_156 * 16_384, "part-61035156")
    assert [task.part for _, task in some] == ["part-00000000", "part-00000001",
                                               "part-00000002"]


def rss_after_two_parts(out: Path, runs: int) -> tuple[int, subprocess.Popen]:
    process = subprocess.Popen([sys.executable, "-m", "sim.cli", "run", str(CLASSROOM),
                                "--runs", str(runs), "--chunk-size", "2000", "--workers", "1",
                                "--no-plots", "--out", str(out)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(list((out / "results").glob("*.parquet"))) < 2:
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.02)
    return psutil.Process(process.pid).memory_info().rss, process


def test_memory_is_flat_in_the_number_of_runs_and_sigterm_stops_cleanly(tmp_path):
    """``--runs 1000000000000`` starts as a million-run batch does, in the same memory
    (it used to build every chunk's task first: about 20 GB); SIGTERM then stops it
    with one line, exit 143, its lock let go and its parts kept."""
    small_rss, small = rss_after_two_parts(tmp_path / "small", 10**6)
    small.kill()
    small.wait()
    out = tmp_path / "huge"
    huge_rss, huge = rss_after_two_parts(out, 10**12)
    assert huge_rss < small_rss + 30 * 2**20, (small_rss, huge_rss)
    huge.send_signal(signal.SIGTERM)
    assert huge.wait(timeout=60) == 128 + signal.SIGTERM
    assert huge.stderr.read() == "negsim: terminated\n"
    assert not (out / "negsim.lock").exists()
    parts = sorted((out / "results").glob("*.parquet"))
    assert len(parts) >= 2 and all(len(pd.read_parquet(p)) == 2000 for p in parts)


# -- folders that cannot be written ------------------------------------------------------------

def test_out_under_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    out = tmp_path / "file" / "sub"
    assert main(batch(out, "--workers", "1")) == 2
    one_error_line(capsys, f"--out {out}: cannot write {out}: Not a directory")


def test_out_under_proc_is_one_line(capsys):
    out = Path("/proc/negsim-cannot-be-here/june")
    assert main(batch(out, "--workers", "1")) == 2
    one_error_line(capsys, f"--out {out}: cannot write {out}: ")


def test_out_a_symlink_loop_is_one_line(tmp_path, capsys):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    assert main(batch(loop, "--workers", "1")) == 2
    one_error_line(capsys, f"--out {loop}: a symbolic link that leads nowhere")
    assert main(batch(loop / "inside", "--workers", "1")) == 2
    one_error_line(capsys, "too many levels of symbolic links")


def test_out_without_permission_is_one_line(tmp_path, capsys, monkeypatch):
    """(As root no folder is closed to us: the refusal is simulated where the file
    system would give it, at the temporary file.)"""
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(sim.fileio.tempfile, "mkstemp", refuse)
    out = tmp_path / "june"
    assert main(batch(out, "--workers", "1")) == 2
    one_error_line(capsys, f"--out {out}: cannot write {out / 'negsim.lock'}: Permission "
                   "denied")
    assert not (out / "manifest.json").exists()


def test_disk_full_mid_run_keeps_finished_parts_and_resumes_identically(
        tmp_path, monkeypatch, capsys, whole):
    real = sim.fileio.os.write
    budget = {"parts": 6}  # three chunks: inputs, then results

    def write(handle, data):
        if len(data) > 10_000:  # a part
            budget["parts"] -= 1
            if budget["parts"] < 0:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real(handle, data)

    monkeypatch.setattr(sim.fileio.os, "write", write)
    out = tmp_path / "june"
    assert main(batch(out, "--workers", "1")) == 2
    one_error_line(capsys, f"--out {out}: cannot write {out / 'inputs' / 'part-00003.parquet'}"
                   ": No space left on device; what finished is kept: rerun with --resume")
    for sub in ("results", "inputs"):
        assert sorted(p.name for p in (out / sub).iterdir()) == [
            f"part-{k:05d}.parquet" for k in range(3)]  # no temporary file left
    monkeypatch.undo()
    assert main(batch(out, "--workers", "1", "--resume")) == 0
    assert files_of(out) == files_of(whole)


def test_disk_full_at_the_manifest_writes_nothing(tmp_path, monkeypatch, capsys):
    def write(handle, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sim.fileio.os, "write", write)
    out = tmp_path / "june"
    assert main(batch(out, "--workers", "1")) == 2
    one_error_line(capsys, "No space left on device")
    assert not out.exists() or list(out.iterdir()) == []


def can_mount() -> bool:
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    probe = Path(f"/tmp/negsim-mount-probe-{os.getpid()}")
    probe.mkdir(exist_ok=True)
    try:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs",
                                  str(probe)], capture_output=True).returncode == 0
        if mounted:
            subprocess.run(["umount", str(probe)], check=True)
        return mounted
    finally:
        probe.rmdir()


MOUNT = can_mount()


@pytest.fixture
def tmpfs(tmp_path):
    """A small tmpfs (root only), unmounted after the test."""
    point = tmp_path / "mnt"
    point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(point)], check=True)
    yield point
    subprocess.run(["umount", "-l", str(point)], check=True)


@pytest.mark.skipif(not MOUNT, reason="needs root and mount, for a real tmpfs")
def test_a_read_only_file_system_is_one_line(tmpfs, capsys):
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    out = tmpfs / "june"
    assert main(batch(out, "--workers", "1")) == 2
    one_error_line(capsys, f"--out {out}: cannot write {out}: Read-only file system")


@pytest.mark.skipif(not MOUNT, reason="needs root and mount, for a real tmpfs")
def test_a_real_full_disk_mid_run_resumes_identically(tmpfs, capsys, whole):
    """A 160 KB tmpfs holds the manifest and a few parts (about 30 KB each), then is
    full: one line naming the part and the cause; grown, the batch resumes to the
    uninterrupted files."""
    out = tmpfs / "june"
    assert main(batch(out, "--workers", "1")) == 2
    one_error_line(capsys, "No space left on device; what finished is kept")
    kept = sorted(p.name for p in (out / "results").iterdir())
    assert 0 < len(kept) < PARTS and all(not name.startswith(".") for name in kept)
    for name in kept:  # each part kept is whole
        assert len(pd.read_parquet(out / "results" / name)) == CHUNK
    subprocess.run(["mount", "-o", "remount,size=4m", str(tmpfs)], check=True)
    assert main(batch(out, "--workers", "1", "--resume")) == 0
    assert files_of(out) == files_of(whole)


# -- kill -9 and SIGTERM --------------------------------------------------------------------

def start(out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sim.cli", *batch(out, *extra)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_for_parts(out: Path, count: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while not (out / "results").is_dir() or len(list(
            (out / "results").glob("*.parquet"))) < count:
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.005)


@pytest.mark.parametrize("after_parts", [1, 3, 6])
def test_kill_9_of_the_main_process_leaves_no_traceback_and_resumes_identically(
        tmp_path, whole, after_parts):
    """kill -9 of a pool batch's main process: its pool worker finishes its chunk,
    finds nobody to tell and ends without a word (it used to print a 28-line
    BrokenPipeError traceback); --resume takes over the stale lock and ends with the
    uninterrupted files."""
    out = tmp_path / "june"
    process = start(out, "--workers", "2")
    wait_for_parts(out, after_parts, process)
    pool = psutil.Process(process.pid).children(recursive=True)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    psutil.wait_procs(pool, timeout=60)
    assert process.stderr.read() == ""  # every holder of the pipe has ended, silently
    assert (out / "negsim.lock").exists()  # left by the killed batch
    assert main(batch(out, "--workers", "2", "--resume")) == 0
    assert files_of(out) == files_of(whole)


def test_sigterm_of_a_pool_batch_is_one_line_and_resumes_identically(tmp_path, whole):
    out = tmp_path / "june"
    process = start(out, "--workers", "2")
    wait_for_parts(out, 2, process)
    pool = psutil.Process(process.pid).children(recursive=True)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 128 + signal.SIGTERM
    psutil.wait_procs(pool, timeout=60)
    assert process.stderr.read() == "negsim: terminated\n"
    assert not (out / "negsim.lock").exists()
    assert main(batch(out, "--workers", "2", "--resume")) == 0
    assert files_of(out) == files_of(whole)


def test_kills_at_random_moments_all_resume_identically(tmp_path, whole):
    """Five batches killed -9 at different moments (from start-up to the last part),
    each resumed: every folder ends identical to the uninterrupted one."""
    rng = np.random.default_rng(16)
    for trial, delay in enumerate(sorted(rng.uniform(0.5, 6.0, size=5))):
        out = tmp_path / f"june-{trial}"
        process = start(out, "--workers", "2")
        time.sleep(delay)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        assert main(batch(out, "--workers", "2", "--resume")) == 0, trial
        assert files_of(out) == files_of(whole), trial


# -- one writer ---------------------------------------------------------------------------------

WRITERS = {"write_text", "write_bytes", "savefig", "replace", "rename", "mkstemp",
           "NamedTemporaryFile", "mkdir"}


def test_every_file_is_written_through_the_one_atomic_writer():
    """No module but ``sim/fileio.py`` writes a file, renames one or makes a folder
    itself (``savefig`` and ``to_parquet`` are handed to ``write_atomically``);
    ``open`` is never used for writing."""
    offenders = []
    for path in sorted((ROOT / "sim").rglob("*.py")):
        if path.name == "fileio.py" and path.parent.name == "sim":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(
                node.func, "id", "")
            if name in WRITERS and (name not in ("replace", "rename") or _is_os(node)):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
            if name == "open" and any(isinstance(a, ast.Constant) and isinstance(a.value, str)
                                      and set(a.value) & set("wax+") for a in node.args[1:]):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} open")
    assert offenders == []


def _is_os(node: ast.Call) -> bool:
    return isinstance(node.func, ast.Attribute) and getattr(node.func.value, "id", "") == "os"
