"""``negsim campaign`` end to end: a results folder as ``negsim run`` writes one
(manifest, parts, summary, figures in figures/); the same bytes in one process and in
a pool; killed with SIGKILL and resumed, the files of an uninterrupted batch; resume
refused where the batch would differ; the fictional river-basin campaign with its own
labels; bad input in one line."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent
CAMPAIGN = ROOT / "scenarios" / "campaign-after-2025-06-02.toml"
RIVER = ROOT / "scenarios" / "campaign-river-basin.toml"
FIGURES = ("implemented-by-date", "events-by-date", "rounds-held")


def batch(out: Path, *extra: str, runs: int = 240, chunk: int = 40) -> list[str]:
    return ["campaign", str(CAMPAIGN), "--runs", str(runs), "--chunk-size", str(chunk),
            "--until", "2025-07-15", "--seed", "2", "--out", str(out), *extra]


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_serial_and_pool_write_the_same_bytes(tmp_path, capsys):
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / workers
        assert main(batch(out, "--workers", workers)) == 0
        outs.append(out)
    printed = capsys.readouterr().out
    a, b = (files_of(o) for o in outs)
    assert a == b
    assert sorted(a) == ["figures/" + f"{stem}.{fmt}" for stem in sorted(FIGURES)
                         for fmt in ("png", "svg")] + ["manifest.json"] + [
        f"results/part-{k:05d}.parquet" for k in range(6)] + ["summary.json"]
    manifest = json.loads(a["manifest.json"])
    assert manifest["kind"] == "campaign" and manifest["runs"] == 240
    assert manifest["depends_on"]["until"] == "2025-07-15"
    assert [p["part"] for p in manifest["finished"]] == [f"part-{k:05d}" for k in range(6)]
    rows = pd.read_parquet(outs[0] / "results")
    assert sorted(rows["run_id"]) == list(range(240))
    schemas = [pq.read_schema(p) for p in sorted((outs[0] / "results").glob("*.parquet"))]
    assert all(schema.equals(schemas[0]) for schema in schemas)  # one table
    assert schemas[0].field("round_dates").type == pa.list_(pa.date32())
    summary = json.loads(a["summary.json"])
    assert summary["until"] == "2025-07-15" and summary["campaigns"] == 240
    # every round held appears in summary.json, and in the printed table
    assert len(summary["round_dates"]) == rows["rounds_held"].max() >= 2
    for entry in summary["round_dates"]:
        assert entry["held"]["count"] == (rows["rounds_held"] >= entry["round"]).sum()
        assert f"\n  {entry['round']:<5} " in printed
    # the by-date table shows the tracked events and the exchanges, with the scenario's
    # labels; summary.json dates every event
    assert "ceasefire of any kind (level >= 1)" in printed
    assert "leaders' meeting agreed" in printed
    assert "prisoner exchange (prisoners per side)" in printed
    assert "a delegation walked out" not in printed  # an event not tracked
    assert set(summary["by_date"][-1]["events"]) == {
        "ceasefire_any", "ceasefire_general", "pow_exchange_agreed", "remains_agreed",
        "children_return_agreed", "memorandum_exchanged", "next_round_agreed",
        "leaders_meeting_agreed", "walkout"}
    last = summary["by_date"][-1]
    assert last["events"]["walkout"]["count"] == rows["walkout_date"].notna().sum()
    assert last["implemented"]["remains"]["p50"] == rows["remains_implemented"].median()


def start(out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sim.cli", *batch(
        out, "--workers", "1", "--no-plots", runs=600)], cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def test_a_campaign_killed_with_sigkill_resumes_to_the_uninterrupted_files(tmp_path):
    whole = tmp_path / "whole"
    assert main(batch(whole, "--workers", "2", "--no-plots", runs=600)) == 0
    out = tmp_path / "killed"
    process = start(out)
    deadline = time.monotonic() + 180
    while len(list((out / "results").glob("*.parquet"))) < 2:
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, "no parts in three minutes"
        time.sleep(0.01)
    assert json.loads((out / "negsim.lock").read_text())["pid"] == process.pid
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    parts = len(list((out / "results").glob("*.parquet")))
    assert 2 <= parts < 15 and not (out / "summary.json").exists()
    assert main(batch(out, "--workers", "2", "--no-plots", runs=600)) == 2  # not without
    assert main(batch(out, "--workers", "2", "--no-plots", "--resume", runs=600)) == 0
    assert files_of(out) == files_of(whole)


def test_resume_reuses_a_finished_batch_and_refuses_a_different_one(tmp_path, capsys):
    out = tmp_path / "c"
    assert main(batch(out, "--workers", "1", runs=80)) == 0
    before = files_of(out)
    assert main(batch(out, "--workers", "1", "--resume", runs=80)) == 0
    assert files_of(out) == before
    capsys.readouterr()
    changed = batch(out, "--workers", "1", "--resume", runs=80)
    changed[changed.index("2025-07-15")] = "2025-07-20"
    assert main(changed) == 2
    assert 'cannot resume: depends_on.until was "2025-07-15", now "2025-07-20"' in \
        capsys.readouterr().err
    assert main(batch(out, "--workers", "1", "--resume", runs=120)) == 2
    assert "cannot resume: runs was 80, now 120" in capsys.readouterr().err
    reseeded = batch(out, "--workers", "1", "--resume", runs=80)
    reseeded[reseeded.index("--seed") + 1] = "3"
    assert main(reseeded) == 2
    assert "cannot resume: seed was 2, now 3" in capsys.readouterr().err
    edited = tmp_path / "edited.toml"
    edited.write_text(CAMPAIGN.read_text().replace(
        "patience_per_trust = 0.5", "patience_per_trust = 0.6").replace(
        '\nround = "', f'\nround = "{CAMPAIGN.parent}/').replace(
        '"../calibration', f'"{CAMPAIGN.parent}/../calibration'))
    other = batch(out, "--workers", "1", "--resume", runs=80)
    other[1] = str(edited)
    assert main(other) == 2
    assert "cannot resume: depends_on.campaign_sha256 was" in capsys.readouterr().err
    assert files_of(out) == before


def test_the_river_basin_campaign_runs_end_to_end_with_its_own_labels(tmp_path):
    out = tmp_path / "river"
    done = subprocess.run([sys.executable, "-m", "sim.cli", "campaign", str(RIVER), "--runs",
                           "120", "--chunk-size", "60", "--until", "2031-07-31", "--out",
                           str(out), "--workers", "1"], cwd=ROOT, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["exchanges"] == {
        "emergency_release": {"label": "emergency water release", "unit": "million m3"},
        "herders": {"label": "detained herders released", "unit": "people per side"}}
    assert summary["next_round_event"] == "next_session_agreed"
    for label in ("an emergency release agreed", "the disputed strip divided",
                  "emergency water release (million m3)",
                  "detained herders released (people per side)"):
        assert label in done.stdout
    for istanbul in ("prisoner", "remains", "ceasefire", "leaders"):
        assert istanbul not in done.stdout.lower()
    svg = (out / "figures" / "events-by-date.svg").read_text()
    assert "a next session agreed" in svg and "ceasefire" not in svg
    fan = (out / "figures" / "implemented-by-date.svg").read_text()
    assert "detained herders released: carried out, cumulative" in fan
    rows = pd.read_parquet(out / "results")
    assert len(rows) == 120 and (rows["herders_implemented"] <= rows["herders_agreed"]).all()
    assert (rows["draw_id"] == -1).all()  # no posterior: the scenario's ranges


def test_labels_from_a_file_are_text_in_the_figures(tmp_path):
    """A ``$`` in an event's label is shown as typed, not read as mathematics."""
    round_file = tmp_path / "round.toml"
    text = (ROOT / "scenarios" / "river-basin-releases.toml").read_text()
    round_file.write_text(text.replace('extends = "river-basin.toml"', 'extends = "' + str(
        ROOT / "scenarios" / "river-basin.toml") + '"').replace(
        'label = "an emergency release agreed"', 'label = "a release worth $\\\\alpha$"'))
    campaign = tmp_path / "c.toml"
    campaign.write_text(RIVER.read_text().replace('round = "river-basin-releases.toml"',
                                                  f'round = "{round_file}"'))
    out = tmp_path / "out"
    assert main(["campaign", str(campaign), "--runs", "30", "--until", "2031-06-25",
                 "--workers", "1", "--out", str(out)]) == 0
    assert "a release worth $\\alpha$" in (out / "figures" / "events-by-date.svg").read_text()


@pytest.mark.parametrize("extra, message", [
    (["--until", "soon"], "--until must be a date"),
    (["--until", "2025-01-01"], "before the campaign's start"),
    (["--until", "2040-01-01"], "ten years"),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "exclude each other"),
])
def test_bad_campaign_input_on_the_command_line(tmp_path, extra, message):
    done = subprocess.run([sys.executable, "-m", "sim.cli", "campaign", str(CAMPAIGN),
                           "--runs", "10", "--out", str(tmp_path / "x"), *extra],
                          capture_output=True, text=True)
    assert done.returncode == 2 and message in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert message in done.stderr.strip().splitlines()[-1]  # one line (after any usage)
    assert not (tmp_path / "x").exists()


def test_a_round_that_raises_stops_the_campaign_in_one_line(tmp_path, capsys, monkeypatch):
    """A campaign cannot leave one round out (its later days depend on it): an error
    of the model stops the batch with one line naming the chunk, not a traceback."""
    import sim.campaign.engine

    class Broken:
        def __init__(self, setup, compiled=False):
            pass

        def run(self):
            raise ValueError("no zone of agreement\nsecond line")

    monkeypatch.setattr(sim.campaign.engine, "NegotiationRound", Broken)
    assert main(batch(tmp_path / "c", "--workers", "1", runs=40)) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [
        "negsim: error: chunk 0 (part part-00000, campaigns 0-39) stopped: a round raised "
        "ValueError: no zone of agreement (the model fails on this round scenario: "
        "rerunning will not help)"]
    assert not list((tmp_path / "c").glob("results/*.parquet"))
