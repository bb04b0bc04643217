"""Bad input, one clear line (issue 16): seeds out of range, tampered posteriors,
device and special files, an ``extends`` chain a thousand deep, control characters in
names and keys, ``--scheduler`` addresses that are no Dask scheduler. Each is one
line on stderr naming the file (or option) and what is wrong, exit 2, nothing
written, within the timeout; and names from a file never reach a terminal raw.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.batch.executors.base import ExecutorError
from sim.cli import main
from sim.errors import InputError
from sim.scenario import checks
from sim.scenario.load import MAX_EXTENDS, load_scenario
from sim.scenario.posterior import read_posterior
from sim.scenario.spec import ScenarioError
from sim.terminal import BIDI_CONTROLS, printable

ROOT = Path(__file__).resolve().parent.parent
CLASSROOM = ROOT / "scenarios" / "classroom-two-party.toml"

#: Characters a terminal acts on: none may reach it from a file's names.
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029" + BIDI_CONTROLS + "]")


def one_error_line(capsys, *needles: str) -> str:
    """The one line a refused command printed on stderr, checked to hold ``needles``."""
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith("negsim: error: ") and "Traceback" not in captured.err
    assert not UNSAFE.search(captured.err), captured.err
    for needle in needles:
        assert needle in captured.err, (needle, captured.err)
    return captured.err


def run(scenario: Path, out: Path, *extra: str) -> int:
    return main(["run", str(scenario), "--runs", "20", "--workers", "1", "--no-plots",
                 "--out", str(out), *extra])


# -- terminal output ---------------------------------------------------------------------

@given(st.text(st.characters(exclude_categories=("Cs",)), max_size=40))
def test_printable_leaves_no_control_character_and_changes_nothing_else(text):
    shown = printable(text)
    assert not re.search("[\x00-\x1f\x7f-\x9f\u2028\u2029" + BIDI_CONTROLS + "]", shown)
    if not UNSAFE.search(text) and "\n" not in text:
        assert shown == text
    # every unsafe character is its Python escape, in place
    assert shown == "".join(ascii(ch)[1:-1] if re.match(
        "[\x00-\x1f\x7f-\x9f\u2028\u2029" + BIDI_CONTROLS + "]", ch) else ch for ch in text)


def test_printable_shows_escapes_as_python_writes_them():
    assert printable("North\x1b[31m\x00\n\u202eX") == "North\\x1b[31m\\x00\\n\\u202eX"


HOSTILE = st.lists(st.sampled_from(["a", "Z", " ", "<b>", "é", "\x1b", "[2J", "\x00", "\n",
                                    "\r", "\x07", "\x9b", "\u202e", "\u2028", "\t"]),
                   min_size=1, max_size=12).map("".join).filter(
                       lambda s: s.strip() and UNSAFE.search(s))


def with_names(round_name: str, mediator: str, party: str) -> str:
    """The classroom scenario, its round, mediator and first party renamed (TOML
    strings escaped as JSON escapes them, which TOML reads the same)."""
    text = CLASSROOM.read_text()
    for old, new in (('name = "Classroom: Northland and Southland"', round_name),
                     ('name = "Midland"', mediator), ('name = "Northland"', party)):
        assert text.count(old) == 1
        text = text.replace(old, f"name = {json.dumps(new)}")
    return text


def command_output(*argv: str) -> tuple[int, str]:
    """Exit status and standard output of ``negsim ARGV`` run in this process."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(argv))
    return code, out.getvalue()


@settings(max_examples=12)
@given(HOSTILE, HOSTILE, HOSTILE)
def test_names_from_a_file_reach_the_terminal_escaped(tmp_path_factory, round_name, mediator,
                                                      party):
    """``negsim run`` (its table's title) and ``negsim trace`` (its narration) print
    the names escaped: no control character, no forged line."""
    folder = tmp_path_factory.mktemp("names")
    scenario = folder / "hostile.toml"
    scenario.write_text(with_names(round_name, mediator, party))
    assert load_scenario(scenario).round.name == round_name  # the data keeps them raw
    out = folder / "out"
    code, printed = command_output("run", str(scenario), "--runs", "10", "--workers", "1",
                                   "--no-plots", "--out", str(out))
    assert code == 0 and not UNSAFE.search(printed)
    assert printed.splitlines()[0] == f"{printable(round_name)}: 10 simulated rounds, seed 0"
    assert json.loads((out / "summary.json").read_text())["scenario"] == round_name
    code, traced = command_output("trace", str(scenario))
    assert code == 0 and not UNSAFE.search(traced)
    assert re.sub(r"\s", "", printable(mediator)) in re.sub(r"\s", "", traced)
    assert re.sub(r"\s", "", printable(party)) in re.sub(r"\s", "", traced)


@pytest.mark.parametrize("key", ['"a\\nnegsim: error: forged"', '"\\u001b[2J"',
                                 '"x\\u0000y"', '"\\u202egnp.exe"'])
def test_a_control_character_in_a_key_is_one_escaped_line(tmp_path, capsys, key):
    scenario = tmp_path / "key.toml"
    scenario.write_text(CLASSROOM.read_text().replace("[context]", f"[context]\n{key} = 1"))
    assert run(scenario, tmp_path / "out") == 2
    shown = printable(json.loads(key))
    one_error_line(capsys, f"context.{shown}: unknown key")
    assert not (tmp_path / "out").exists()


# -- seeds ----------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [str(2**63), str(2**64 + 5), "-1", "10" * 30])
def test_a_seed_out_of_range_is_refused_before_anything_is_written(tmp_path, capsys, seed):
    with pytest.raises(SystemExit) as stopped:
        run(CLASSROOM, tmp_path / "out", "--seed", seed)
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert "--seed must be" in error and "Traceback" not in error
    assert not (tmp_path / "out").exists()


def test_the_largest_seed_runs_and_is_recorded(tmp_path):
    out = tmp_path / "out"
    assert run(CLASSROOM, out, "--seed", str(2**63 - 1)) == 0
    assert set(pd.read_parquet(out / "results")["seed"]) == {2**63 - 1}
    assert json.loads((out / "manifest.json").read_text())["seed"] == 2**63 - 1


def test_a_sweep_seed_out_of_range_is_one_line(tmp_path, capsys):
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(f'[sweep]\nscenario = "{CLASSROOM}"\nreplicates = 10\nseed = {2**63}\n'
                     '[[knobs]]\nkey = "mediator.pressure"\nset = [0.0, 0.5]\nlevels = 2\n')
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "out"), "--workers", "1"]) == 2
    one_error_line(capsys, "sweep.seed: must be an integer within [0, 9223372036854775807]")
    assert not (tmp_path / "out").exists()


# -- posterior files ---------------------------------------------------------------------

KEYS = ("parties.northland.patience", "parties.northland.concession", "mediator.pressure")


def posterior_file(tmp_path: Path, table: pa.Table) -> Path:
    path = tmp_path / "posterior.parquet"
    pq.write_table(table, path)
    return path


def good_columns() -> dict[str, list]:
    return {"parties.northland.patience": [100.0, 200.0], "parties.northland.concession":
            [0.5, 2.0], "mediator.pressure": [0.1, 0.3], "weight": [1.0, 3.0]}


def scenario_with_posterior(tmp_path: Path, posterior: Path) -> Path:
    path = tmp_path / "with-posterior.toml"
    path.write_text(CLASSROOM.read_text() + f'\n[posterior]\nfile = "{posterior}"\n')
    return path


def test_a_sound_posterior_is_read_and_its_weights_normalised(tmp_path):
    path = posterior_file(tmp_path, pa.table(good_columns()))
    posterior = load_scenario(scenario_with_posterior(tmp_path, path)).posterior
    assert posterior.keys == KEYS and posterior.weights.tolist() == [0.25, 0.75]


def test_weights_that_overflow_when_summed_are_normalised_exactly(tmp_path):
    columns = good_columns() | {"weight": [1e308, 1e308]}
    posterior = read_posterior(posterior_file(tmp_path, pa.table(columns)))
    assert posterior.weights.tolist() == [0.5, 0.5]


TAMPERED = {
    "a string column": (lambda c: c | {"mediator.pressure": ["0.1", "0.3"]},
                        "mediator.pressure: column holds string"),
    "a bool column": (lambda c: c | {"mediator.pressure": [True, False]},
                      "mediator.pressure: column holds bool"),
    "a NaN weight": (lambda c: c | {"weight": [1.0, float("nan")]}, "weight: column holds nan"),
    "an infinite value": (lambda c: c | {"mediator.pressure": [0.1, float("inf")]},
                          "mediator.pressure: column holds inf"),
    "a zero weight": (lambda c: c | {"weight": [0.0, 1.0]}, "weight: column holds 0"),
    "a negative weight": (lambda c: c | {"weight": [-1.0, 2.0]}, "weight: column holds -1"),
    "a missing value": (lambda c: c | {"mediator.pressure": [0.1, None]},
                        "mediator.pressure: column has 1 missing values"),
    "no weight column": (lambda c: {k: v for k, v in c.items() if k != "weight"},
                         "weight: column is missing"),
    "no parameter column": (lambda c: {"weight": c["weight"]}, "has no parameter columns"),
    "no rows": (lambda c: {k: [] for k in c}, "has no particles"),
}


@pytest.mark.parametrize("case", TAMPERED)
def test_a_tampered_posterior_is_one_line_naming_file_and_column(tmp_path, capsys, case):
    change, message = TAMPERED[case]
    columns = change(good_columns())
    table = pa.table({k: pa.array(v, type=pa.float64() if not v else None)
                      for k, v in columns.items()})
    path = posterior_file(tmp_path, table)
    assert run(scenario_with_posterior(tmp_path, path), tmp_path / "out") == 2
    one_error_line(capsys, f"{path}: {message}", "posterior.file")
    assert not (tmp_path / "out").exists()


def test_duplicate_columns_are_refused(tmp_path):
    table = pa.Table.from_arrays([pa.array([0.1, 0.2]), pa.array([0.3, 0.4]),
                                  pa.array([1.0, 1.0])],
                                 names=["mediator.pressure", "mediator.pressure", "weight"])
    with pytest.raises(InputError, match="mediator.pressure: column appears twice"):
        read_posterior(posterior_file(tmp_path, table))


@pytest.mark.parametrize("content", [b"", b"PAR1", b"not parquet at all" * 10])
def test_a_file_that_is_no_parquet_is_one_line(tmp_path, content):
    path = tmp_path / "posterior.parquet"
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        read_posterior(path)
    assert str(caught.value).startswith(f"{path}: is not a readable Parquet posterior")
    assert "\n" not in str(caught.value)


def test_a_truncated_posterior_is_one_line(tmp_path):
    path = posterior_file(tmp_path, pa.table(good_columns()))
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(InputError, match="is not a readable Parquet posterior"):
        read_posterior(path)


BOUNDS = {key: (low, high) for key, low, high in load_scenario(CLASSROOM).bounds}


@pytest.mark.parametrize("key, value", [
    ("parties.northland.patience", -5.0), ("parties.northland.patience", 1e308),
    ("parties.northland.concession", 0.0), ("parties.northland.concession", -1.0),
    ("mediator.pressure", -1.0)])
def test_values_outside_the_keys_range_are_refused(tmp_path, capsys, key, value):
    columns = good_columns() | {key: [good_columns()[key][0], value]}
    path = posterior_file(tmp_path, pa.table(columns))
    assert run(scenario_with_posterior(tmp_path, path), tmp_path / "out") == 2
    low, high = BOUNDS[key]
    one_error_line(capsys, f"posterior.file: {path}: column '{key}' holds {value:g}, outside "
                   f"[{low:g}, {high:g}]")


@settings(max_examples=40)
@given(st.sampled_from(sorted(BOUNDS)), st.floats(allow_nan=False, allow_infinity=False),
       st.booleans())
def test_every_drawable_key_is_held_to_its_bounds(tmp_path_factory, key, value, inside):
    """For any key a posterior may name: a value inside its bounds is accepted, one
    outside is refused naming the column (hypothesis over keys and values)."""
    low, high = BOUNDS[key]
    if inside:
        value = min(max(value, low), high)
    elif low <= value <= high:
        value = high + 1 + abs(value)
    folder = tmp_path_factory.mktemp("posterior")
    path = posterior_file(folder, pa.table({key: [value], "weight": [1.0]}))
    scenario = scenario_with_posterior(folder, path)
    if low <= value <= high:
        assert load_scenario(scenario).posterior.particles[0, 0] == value
    else:
        with pytest.raises(ScenarioError, match=re.escape(f"column '{key}' holds")):
            load_scenario(scenario)


# -- devices, pipes and sizes ------------------------------------------------------------------

def in_thread(function, seconds: float = 20.0):
    """``function()``'s result or error; fails if it takes longer than ``seconds``."""
    outcome: list = []

    def call():
        try:
            outcome.append(("ok", function()))
        except Exception as error:  # noqa: BLE001 (the error is the result here)
            outcome.append(("error", error))

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    worker.join(seconds)
    assert outcome, f"still reading after {seconds} s"
    return outcome[0]


SPECIAL = ["/dev/zero", "/dev/urandom", "fifo", "link-to-zero", "folder"]


def special(tmp_path: Path, name: str) -> Path:
    if name == "fifo":
        os.mkfifo(tmp_path / "fifo")
        return tmp_path / "fifo"
    if name == "link-to-zero":
        (tmp_path / "link").symlink_to("/dev/zero")
        return tmp_path / "link"
    if name == "folder":
        (tmp_path / "folder").mkdir()
        return tmp_path / "folder"
    return Path(name)


@pytest.mark.parametrize("name", SPECIAL)
def test_extends_naming_a_special_file_is_refused_at_once(tmp_path, name):
    target = special(tmp_path, name)
    variant = tmp_path / "variant.toml"
    variant.write_text(f'extends = "{target}"\n')
    kind, error = in_thread(lambda: load_scenario(variant))
    assert kind == "error" and isinstance(error, ScenarioError), error
    assert "extends" in str(error) and (
        "only regular files are read" in str(error) or "is a directory" in str(error))


@pytest.mark.parametrize("name", SPECIAL)
def test_a_posterior_naming_a_special_file_is_refused_at_once(tmp_path, name):
    target = special(tmp_path, name)
    kind, error = in_thread(lambda: load_scenario(scenario_with_posterior(tmp_path, target)))
    assert kind == "error" and isinstance(error, ScenarioError), error
    assert "posterior.file" in str(error)


@pytest.mark.parametrize("name", SPECIAL[:4])
def test_the_scenario_itself_as_a_special_file_is_one_line(tmp_path, capsys, name):
    target = special(tmp_path, name)
    kind, code = in_thread(lambda: run(target, tmp_path / "out"))
    assert (kind, code) == ("ok", 2)
    one_error_line(capsys, f"{target}: is ", "only regular files are read")


def test_a_file_over_the_size_limit_is_refused(tmp_path):
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * (checks.TEXT_LIMIT + 1))
    with pytest.raises(ScenarioError, match="is larger than 1 MiB"):
        load_scenario(big)
    big.write_bytes(b"#" * checks.TEXT_LIMIT)  # at the limit: read (and found wanting)
    with pytest.raises(ScenarioError, match="round: is required"):
        load_scenario(big)


def test_the_posterior_limit_is_the_documented_one_and_is_applied(tmp_path, monkeypatch):
    assert (checks.TEXT_LIMIT, checks.POSTERIOR_LIMIT) == (1 << 20, 256 << 20)  # docs
    path = posterior_file(tmp_path, pa.table(good_columns()))
    monkeypatch.setattr("sim.scenario.posterior.POSTERIOR_LIMIT", path.stat().st_size - 1)
    with pytest.raises(InputError, match="is larger than"):
        read_posterior(path)


def test_a_file_that_grows_past_its_size_is_cut_at_the_limit(tmp_path, monkeypatch):
    """A file whose size says little (under /proc, or growing while read) is read
    to ``limit + 1`` bytes at most, then refused."""
    path = tmp_path / "growing.toml"
    path.write_bytes(b"#" * 100)
    real_fstat = os.fstat

    def small(handle):
        status = real_fstat(handle)
        return os.stat_result((*status[:6], 0, *status[7:]))  # st_size 0, as /proc says

    monkeypatch.setattr(checks.os, "fstat", small)
    with pytest.raises(InputError, match="is larger than 50 bytes"):
        checks.read_file(path, limit=50)
    assert checks.read_file(path, limit=100) == b"#" * 100


def test_a_proc_file_reads_as_the_small_text_it_is():
    kind, error = in_thread(lambda: load_scenario("/proc/self/status"))
    assert kind == "error" and "is not valid TOML" in str(error)


# -- extends chains -------------------------------------------------------------------------

def chain(tmp_path: Path, depth: int) -> Path:
    """A scenario that is the base followed by ``depth`` variants, each extending the
    one before; the last one's path."""
    (tmp_path / "v0.toml").write_text(CLASSROOM.read_text())
    for k in range(1, depth + 1):
        (tmp_path / f"v{k}.toml").write_text(f'extends = "v{k - 1}.toml"\n'
                                             f"[mediator]\npressure = {k % 10 / 10}\n")
    return tmp_path / f"v{depth}.toml"


def test_a_chain_of_max_extends_bases_loads(tmp_path):
    scenario = load_scenario(chain(tmp_path, MAX_EXTENDS))
    assert scenario.mediator.pressure.low == MAX_EXTENDS % 10 / 10  # the last file wins


@pytest.mark.parametrize("depth", [MAX_EXTENDS + 1, 1000])
def test_a_deeper_chain_is_one_line(tmp_path, capsys, depth):
    top = chain(tmp_path, depth)
    assert run(top, tmp_path / "out") == 2
    one_error_line(capsys, f"extends: 'v{depth - MAX_EXTENDS - 1}.toml' would be base number "
                   f"{MAX_EXTENDS + 1} of v{depth}.toml: at most {MAX_EXTENDS} bases")


# -- --scheduler addresses that are no Dask scheduler -----------------------------------------

class FakeServer:
    """A TCP server on 127.0.0.1 that sends ``greeting`` to each connection (and then
    waits), or closes at once (``close=True``); stopped by the test."""

    def __init__(self, greeting: bytes = b"", close: bool = False) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"tcp://127.0.0.1:{self.listener.getsockname()[1]}"
        self.greeting, self.close_at_once, self.open = greeting, close, []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            if self.greeting:
                connection.sendall(self.greeting)
            if self.close_at_once:
                connection.close()
            else:
                self.open.append(connection)

    def stop(self) -> None:
        self.listener.close()
        for connection in self.open:
            connection.close()


@pytest.fixture
def server(request):
    fake = FakeServer(*request.param)
    yield fake
    fake.stop()


SERVERS = {
    "silent (an HTTP dashboard: it waits for a request)": ((), "no Dask handshake within 1 s"),
    "SSH": ((b"SSH-2.0-OpenSSH_9.6\r\n",), "not a Dask scheduler"),
    "a huge frame length (the 3.07 EiB misread)": ((b"HTTP/1.1 400 Bad Request\r\n\r\n",),
                                                   "not a Dask scheduler"),
    "closes at once": ((b"", True), "not a Dask scheduler"),
    "a frame count of nonsense": ((struct.pack("Q", 16) + struct.pack("Q", 10**6) + b"x" * 8,),
                                  "not a Dask scheduler"),
}


@pytest.mark.parametrize("server, message", SERVERS.values(), ids=SERVERS, indirect=["server"])
def test_the_probe_tells_a_dask_scheduler_from_anything_else(server, message):
    from sim.batch.executors.dask import probe

    started = time.monotonic()
    with pytest.raises(ExecutorError) as caught:
        probe(server.address, timeout=1.0)
    assert time.monotonic() - started < 3
    assert message in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("address, message", [
    ("nonsense", "not an address"), ("tcp://127.0.0.1:notaport", "not an address"),
    ("tcp://127.0.0.1:99999", "not an address"), ("ucx://127.0.0.1:8786", "protocol 'ucx'"),
    ("tls://127.0.0.1:8786", "TLS needs the cluster's certificates"),
    ("tcp://127.0.0.1:1", "cannot reach a Dask scheduler there")])
def test_a_bad_scheduler_address_is_one_line(tmp_path, capsys, address, message):
    code = main(["run", str(CLASSROOM), "--runs", "10", "--no-plots", "--out",
                 str(tmp_path / "out"), "--scheduler", address])
    assert code == 2
    one_error_line(capsys, f"--scheduler {address}: ", message)
    assert not (tmp_path / "out").exists()


def test_a_dashboard_like_port_fails_within_the_timeout_and_leaves_no_traceback(tmp_path):
    """Through the command, as a user meets it: a port that accepts and says nothing
    (as a dashboard's HTTP port does) is one line within the 10 s timeout, and the
    process ends without a late traceback (Dask's client, had it been made, would
    print one from its ``__del__`` 20 s later)."""
    fake = FakeServer()
    try:
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(CLASSROOM),
                               "--runs", "10", "--no-plots", "--out", str(tmp_path / "out"),
                               "--scheduler", fake.address], capture_output=True, text=True,
                              cwd=ROOT, timeout=60)
        elapsed = time.monotonic() - started
    finally:
        fake.stop()
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "no Dask handshake within 10 s" in done.stderr
    assert elapsed < 25  # 10 s, plus start-up on a busy machine
    assert not (tmp_path / "out").exists()


def test_a_client_that_fails_after_the_probe_ends_quietly(tmp_path):
    """Something that passes the probe (a Dask-like first message) but then is no
    scheduler: Dask's client fails; one line, and no ``Client.__del__`` traceback."""
    handshake = struct.pack("Q", 16) + struct.pack("Q", 1) + struct.pack("Q", 0)
    fake = FakeServer(handshake, close=True)
    try:
        done = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(CLASSROOM),
                               "--runs", "10", "--no-plots", "--out", str(tmp_path / "out"),
                               "--scheduler", fake.address], capture_output=True, text=True,
                              cwd=ROOT, timeout=120)
    finally:
        fake.stop()
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert "cannot reach a Dask scheduler there" in done.stderr

