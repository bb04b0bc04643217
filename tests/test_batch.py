"""The batch engine: exact incremental summaries, executors that give the same files,
failure rows, a results folder that refuses to be overwritten and resumes exactly."""

import json
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim.batch.chunks
from sim.batch.chunks import chunk_rng, chunk_tasks, compute_chunk, run_scenario
from sim.cli import main
from sim.model.parameters import realise
from sim.model.round import NegotiationRound
from sim.scenario.load import load_scenario
from sim.stats.summary import Measures, event_columns, summarise
from sim.stats.tally import ExactHistogram, Tally

ROOT = Path(__file__).resolve().parent.parent
JUNE = ROOT / "scenarios" / "june-20-30-2025.toml"


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file of a results folder (relative name -> bytes)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def run_cli(out: Path, *extra: str, runs: int = 1500, chunk: int = 400) -> int:
    return main(["run", str(JUNE), "--runs", str(runs), "--seed", "3", "--chunk-size",
                 str(chunk), "--out", str(out), "--no-plots", *extra])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([0.0, 1.0, 2.5, 74.0, 77.5, 900.0, 1e4]), min_size=1,
                max_size=60), st.integers(1, 5))
def test_histogram_quantiles_are_numpys_bit_for_bit(values, pieces):
    """Quantiles from counts of distinct values, merged from pieces in any order,
    equal numpy.quantile on the whole sample, exactly."""
    histogram = ExactHistogram()
    for piece in np.array_split(np.array(values), pieces)[::-1]:
        part = ExactHistogram()
        part.add(piece)
        histogram.merge(part)
    qs = [0.05, 0.1, 0.5, 0.9, 0.95, 0.37]
    assert histogram.quantiles(qs) == np.quantile(np.array(values), qs).tolist()
    assert histogram.n == len(values)


def test_tally_of_chunks_equals_the_summary_of_the_whole_table():
    scenario = load_scenario(JUNE)
    chunks = [sim.batch.chunks.run_chunk(scenario, 5, k, 600 * k, 600) for k in range(4)]
    whole = pd.concat(chunks, ignore_index=True)
    measures = Measures.of(scenario)
    tally = Tally(measures)
    for chunk in (chunks[2], chunks[0], chunks[3], chunks[1]):
        tally.merge(Tally.of(chunk, measures))
    summary = tally.summary(scenario.round.name, 5)
    assert summary.pop("failures") == {"count": 0, "by_error": {}}
    assert summary == summarise(whole, scenario, 5)
    # the events, evaluated on plain numpy columns, are what pandas' own eval gives
    hits = event_columns({c: whole[c].to_numpy() for c in whole.columns}, measures)
    assert np.array_equal(hits["ceasefire_any"], whole.eval("ceasefire_level >= 1"))
    assert np.array_equal(hits["pow_exchange_agreed"],
                          whole.eval("pow_exchange_value > 0").to_numpy())
    assert np.array_equal(hits["next_round_agreed"], whole["next_round_value"] == 1)
    assert hits["children_return_agreed"].sum() == (whole["children_value"] >= 2).sum() > 0


def test_local_pool_gives_the_table_of_one_process():
    scenario = load_scenario(JUNE)
    serial = run_scenario(scenario, 1000, seed=2, chunk_size=300)
    pooled = run_scenario(scenario, 1000, seed=2, chunk_size=300, workers=2)
    pd.testing.assert_frame_equal(serial, pooled)


def test_serial_and_pool_write_identical_files_that_read_as_one_table(tmp_path):
    assert run_cli(tmp_path / "serial", "--workers", "1") == 0
    assert run_cli(tmp_path / "pool", "--workers", "2") == 0
    serial = files_of(tmp_path / "serial")
    assert [name for name in serial if name.startswith("results/")] == [
        f"results/part-0000{k}.parquet" for k in range(4)]
    assert serial == files_of(tmp_path / "pool")
    expected = run_scenario(load_scenario(JUNE), 1500, seed=3, chunk_size=400)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "pool" / "results"), expected)
    counted = duckdb.sql(f"SELECT count(*), sum(pow_exchange_value) FROM read_parquet("
                         f"'{tmp_path / 'pool' / 'results'}/*.parquet')").fetchall()[0]
    assert counted == (1500, expected["pow_exchange_value"].sum())
    manifest = json.loads((tmp_path / "pool" / "manifest.json").read_text())
    assert (manifest["seed"], manifest["runs"], manifest["chunk_size"], manifest["parts"]) == (
        3, 1500, 400, 4)
    assert manifest["scenario_sha256"] == load_scenario(JUNE).sha256
    assert {"negsim", "numpy", "pyarrow"} <= set(manifest["versions"])


def test_an_existing_folder_is_not_overwritten_without_resume(tmp_path, capsys):
    out = tmp_path / "june"
    assert run_cli(out, "--workers", "1", runs=400) == 0
    before = files_of(out)
    capsys.readouterr()
    assert run_cli(out, "--workers", "1", runs=400) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "earlier batch; pass --resume" in error
    assert files_of(out) == before
    assert run_cli(out, "--workers", "1", "--resume", runs=500) == 2  # another batch
    assert "cannot resume: runs was 400, now 500" in capsys.readouterr().err
    assert files_of(out) == before
    assert run_cli(out, "--workers", "1", "--resume", runs=400) == 0  # done: same files
    assert files_of(out) == before


def test_resume_runs_only_missing_chunks_and_ends_with_identical_files(tmp_path):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert run_cli(whole, "--workers", "1") == 0
    assert run_cli(cut, "--workers", "1") == 0
    (cut / "results" / "part-00001.parquet").unlink()  # as if killed before these
    (cut / "results" / "part-00003.parquet").unlink()
    (cut / "summary.json").unlink()
    (cut / "results" / ".part-00003.parquet.99.tmp").write_bytes(b"half a part")
    assert run_cli(cut, "--workers", "1", "--resume") == 0
    assert files_of(cut) == files_of(whole)


THRESHOLD = 10.0


class Exploding(NegotiationRound):
    """A model that raises for replicates whose first delegation is quick to leave:
    a stand-in for a model error that strikes some replicates."""

    def run(self):
        if np.any(self.setup.walkout_threshold[:, 0] < THRESHOLD):
            raise FloatingPointError("the round blew up")
        return super().run()


def test_a_replicate_that_raises_becomes_a_failure_row(tmp_path, monkeypatch, capsys):
    scenario = load_scenario(JUNE)
    bad = np.concatenate([
        first + np.flatnonzero(realise(scenario, count, chunk_rng(3, k))
                               .walkout_threshold[:, 0] < THRESHOLD)
        for k, (first, count) in enumerate(sim.batch.chunks.chunk_bounds(800, 200))])
    assert bad.tolist() == [311, 345, 412, 539, 604, 606, 629, 715]  # the draws of seed 3
    monkeypatch.setattr(sim.batch.chunks, "NegotiationRound", Exploding)
    out = tmp_path / "june"
    assert run_cli(out, "--workers", "1", runs=800, chunk=200) == 0
    assert f"{bad.size} rounds raised an error" in capsys.readouterr().out
    failures = pd.read_parquet(out / "failures")
    assert failures["run_id"].tolist() == bad.tolist()
    assert set(failures["error"]) == {"FloatingPointError: the round blew up"}
    assert (failures["seed"] == 3).all()
    assert failures["chunk"].tolist() == (bad // 200).tolist()
    results = pd.read_parquet(out / "results")
    monkeypatch.undo()
    everything = run_scenario(scenario, 800, seed=3, chunk_size=200)
    kept = everything[~everything["run_id"].isin(bad)].reset_index(drop=True)
    pd.testing.assert_frame_equal(results, kept)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["failures"] == {"count": int(bad.size), "by_error": {
        "FloatingPointError: the round blew up": int(bad.size)}}
    assert summary["runs"] == 800 - bad.size
    monkeypatch.setattr(sim.batch.chunks, "NegotiationRound", Exploding)
    (out / "summary.json").unlink()
    # tallied again from the parts written before
    assert run_cli(out, "--workers", "1", "--resume", runs=800, chunk=200) == 0
    assert json.loads((out / "summary.json").read_text()) == summary


def test_failing_replicates_are_isolated_from_the_rest_of_their_chunk(monkeypatch):
    """Four replicates of a chunk of 32 raise (walk-out thresholds 16.1, 29.5, 38.8 and
    39.1 under 40; the next is 48.9): the halving search finds exactly them, and the
    other 28 rows are those of the chunk run whole."""
    scenario = load_scenario(JUNE)
    clean = sim.batch.chunks.run_chunk(scenario, 1, 9, 0, 32)
    monkeypatch.setattr(sys.modules[__name__], "THRESHOLD", 40.0)
    monkeypatch.setattr(sim.batch.chunks, "NegotiationRound", Exploding)
    rows, failures = sim.batch.chunks.run_chunk_safely(scenario, 1, 9, 0, 32)
    assert failures["run_id"].tolist() == [18, 20, 21, 28]
    pd.testing.assert_frame_equal(rows, clean.drop(index=[18, 20, 21, 28])
                                  .reset_index(drop=True))
    monkeypatch.setattr(sim.batch.chunks, "ISOLATION_RUNS", 3)  # whole, first half, second half
    rows, failures = sim.batch.chunks.run_chunk_safely(scenario, 1, 9, 0, 32)
    assert rows["run_id"].tolist() == list(range(16))
    assert failures["run_id"].tolist() == list(range(16, 32))
    assert failures["error"].str.endswith("(one of 8 replicates not isolated further)").all()


def test_a_chunk_whose_draws_raise_is_failure_rows_and_a_part_of_the_same_schema(
        tmp_path, monkeypatch, capsys):
    """The last chunk (100 rounds) cannot draw its parameters: its 100 rounds are
    failure rows, its part has no rows but every column, typed as the others, and the
    folder still reads as one table of the other chunks' rows."""
    real_realise = sim.batch.chunks.realise

    def realise(scenario, n, rng, *args, **kwargs):
        if n == 100:
            raise ValueError("a drawn value is out of its bounds")
        return real_realise(scenario, n, rng, *args, **kwargs)

    monkeypatch.setattr(sim.batch.chunks, "realise", realise)
    out = tmp_path / "june"
    assert run_cli(out, "--workers", "1", runs=700, chunk=300) == 0
    assert "100 rounds raised an error" in capsys.readouterr().out
    schemas = [pq.read_schema(part) for part in sorted((out / "results").glob("*.parquet"))]
    assert len(schemas) == 3 and schemas[2] == schemas[0]
    assert pq.read_metadata(out / "results" / "part-00002.parquet").num_rows == 0
    failures = pd.read_parquet(out / "failures")
    assert failures["run_id"].tolist() == list(range(600, 700))
    assert (failures["draw_id"] == -1).all()
    results = pd.read_parquet(out / "results")
    monkeypatch.undo()
    pd.testing.assert_frame_equal(results, run_scenario(load_scenario(JUNE), 600, seed=3,
                                                        chunk_size=300))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["runs"] == 600 and summary["failures"]["count"] == 100


def test_chunk_outcome_is_the_chunk_encoded():
    task = chunk_tasks(load_scenario(JUNE), 700, 9, 300)[2]
    outcome = compute_chunk(task)
    assert (task.part, task.first, task.count, outcome.failures) == ("part-00002", 600, 100,
                                                                      None)
    pd.testing.assert_frame_equal(sim.batch.chunks.decode_part(outcome.results),
                                  sim.batch.chunks.run_chunk(task.scenario, 9, 2, 600, 100))
    assert outcome.tally.runs == 100


def test_bad_batch_options_are_one_line_errors(tmp_path, capsys):
    (tmp_path / "file").write_text("not a folder")
    new = ["--out", str(tmp_path / "new")]
    assert main(["run", str(JUNE), "--runs", "10", "--out", str(tmp_path / "file")]) == 2
    assert "file: exists and is not a folder" in capsys.readouterr().err
    assert main(["run", str(JUNE), "--runs", "10", "--workers", "2", "--scheduler",
                 "tcp://127.0.0.1:1", *new]) == 2
    assert "--workers and --scheduler exclude each other" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        main(["run", str(JUNE), "--runs", "10", "--workers", "0", *new])
    assert stopped.value.code == 2
    assert "--workers must be >= 1, got 0" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("grouped", [False, True])
def test_a_chunk_s_rounds_are_freed_when_it_is_done(grouped):
    """A round's Mesa model and agents refer to each other, so only the cyclic
    collector frees them (and the chunk's arrays): a worker frees them as each chunk
    ends (``free_finished_models``), whether or not the collector would have run."""
    import gc

    from sim.batch.grouped import compute_group, groups

    def rounds() -> set[int]:  # type(), not isinstance: a dead weak proxy raises on it
        return {id(o) for o in gc.get_objects() if type(o) is NegotiationRound}

    tasks = chunk_tasks(load_scenario(JUNE), 1200, 4, 600)
    gc.collect()
    before = rounds()  # those another test keeps
    gc.disable()
    try:
        if grouped:
            for group in groups(tasks):
                compute_group(group)
        else:
            compute_chunk(tasks[0])
        alive = rounds() - before
    finally:
        gc.enable()
    assert alive == set()
