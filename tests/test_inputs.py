"""Every drawn input recorded (issue 11): ``OUT/inputs/`` holds, for each round that ran,
every parameter drawn for it and the round's own randomness (``RoundSetup.inputs``),
keyed by ``run_id``; its parts are written, recorded and verified on ``--resume`` like
the results parts; ``--no-inputs`` leaves them out and changes nothing else; and a
regression of an outcome on an input finds what the model says it must."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import sim.batch.chunks
from sim.batch.chunks import chunk_bounds, chunk_rng, chunk_tasks, compute_chunk
from sim.cli import main
from sim.model.parameters import realise
from sim.model.round import NegotiationRound
from sim.scenario.load import load_scenario
from sim.studies.sensitivity import load_sensitivity

ROOT = Path(__file__).resolve().parent.parent
JUNE = ROOT / "scenarios" / "june-20-30-2025.toml"  # parameters from a posterior
RIVER = ROOT / "scenarios" / "river-basin.toml"  # parameters from [low, high] ranges
RUNS, CHUNK, SEED = 700, 300, 5


def batch(scenario: Path, out: Path, *extra: str, runs: int = RUNS) -> list[str]:
    return ["run", str(scenario), "--runs", str(runs), "--seed", str(SEED), "--chunk-size",
            str(CHUNK), "--out", str(out), "--no-plots", "--workers", "1", *extra]


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def one_error_line(capsys, *needles: str) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("negsim: error: "), err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


def expected_inputs(scenario_path: Path, runs: int = RUNS) -> list[pd.DataFrame]:
    """Each chunk's inputs, recomputed: ``realise`` of the chunk from its own generator."""
    scenario = load_scenario(scenario_path)
    frames = []
    for k, (first, count) in enumerate(chunk_bounds(runs, CHUNK)):
        setup = realise(scenario, count, chunk_rng(SEED, k))
        frame = pd.DataFrame({"run_id": np.arange(first, first + count, dtype=np.int64)}
                             | {key: np.asarray(v, dtype=np.float64)
                                for key, v in setup.inputs.items()})
        frames.append(frame)
    return frames


@pytest.fixture(scope="module")
def june(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("inputs") / "june"
    assert main(batch(JUNE, out)) == 0
    return out


@pytest.mark.parametrize("scenario", [JUNE, RIVER], ids=["posterior", "ranges"])
def test_inputs_rows_are_realise_of_their_chunk(tmp_path, scenario):
    """Part k of inputs/ is, exactly, ``realise`` of chunk k: every key of
    ``RoundSetup.inputs`` (posterior particles, range draws, the round's own
    randomness), float64, named by its scenario key, in run-id order."""
    out = tmp_path / "out"
    assert main(batch(scenario, out)) == 0
    parts = sorted((out / "inputs").glob("*.parquet"))
    assert [p.name for p in parts] == [f"part-{k:05d}.parquet" for k in range(3)]
    for part, expected in zip(parts, expected_inputs(scenario), strict=True):
        written = pd.read_parquet(part)
        pd.testing.assert_frame_equal(written, expected, check_exact=True)
        assert all(str(t) == "float64" for t in written.dtypes.iloc[1:])
    loaded = load_scenario(scenario)
    columns = set(pd.read_parquet(parts[0]).columns)
    for party in loaded.parties:
        assert {f"round.temperament.{party.key}", f"round.walkout_draw.{party.key}",
                f"parties.{party.key}.concession"} <= columns
    if loaded.posterior is not None:  # every parameter the posterior gives
        assert set(loaded.posterior.keys) <= columns
    else:
        assert {"parties.upland.issues.water.red_line", "mediator.pressure"} <= columns


def test_run_id_joins_results_and_inputs_one_to_one(june):
    results = pd.read_parquet(june / "results")
    inputs = pd.read_parquet(june / "inputs")
    joined = results.merge(inputs, on="run_id", how="outer", validate="one_to_one",
                           indicator=True)
    assert len(joined) == RUNS and (joined["_merge"] == "both").all()
    assert inputs["run_id"].tolist() == list(range(RUNS))


class Exploding(NegotiationRound):
    """Raises for replicates whose first delegation is quick to leave (a model error
    that strikes some replicates)."""

    def run(self):
        if np.any(self.setup.walkout_threshold[:, 0] < 12.0):
            raise FloatingPointError("the round blew up")
        return super().run()


def test_a_failure_row_has_no_inputs_row(tmp_path, monkeypatch):
    monkeypatch.setattr(sim.batch.chunks, "NegotiationRound", Exploding)
    out = tmp_path / "june"
    assert main(batch(JUNE, out)) == 0
    failed = pd.read_parquet(out / "failures")["run_id"].to_numpy()
    assert failed.tolist() == [199, 215, 250, 252, 281, 436, 439]  # in chunks 0 and 1
    results = pd.read_parquet(out / "results")
    inputs = pd.read_parquet(out / "inputs")
    assert inputs["run_id"].tolist() == results["run_id"].tolist()
    assert not set(failed) & set(inputs["run_id"])
    assert len(inputs) + failed.size == RUNS
    everything = pd.concat(expected_inputs(JUNE), ignore_index=True)
    kept = everything[~everything["run_id"].isin(failed)].reset_index(drop=True)
    pd.testing.assert_frame_equal(inputs, kept, check_exact=True)


def test_a_chunk_whose_draws_raise_has_no_inputs_part(tmp_path, monkeypatch):
    """The last chunk (100 rounds) cannot draw: no round ran, so it has no inputs part
    (its record says so) and inputs/ still reads as the other chunks' rows."""
    real_realise = sim.batch.chunks.realise

    def realise_or_fail(scenario, n, rng, *args, **kwargs):
        if n == 100:
            raise ValueError("a drawn value is out of its bounds")
        return real_realise(scenario, n, rng, *args, **kwargs)

    monkeypatch.setattr(sim.batch.chunks, "realise", realise_or_fail)
    out = tmp_path / "june"
    assert main(batch(JUNE, out)) == 0
    assert sorted(p.name for p in (out / "inputs").iterdir()) == [
        "part-00000.parquet", "part-00001.parquet"]
    records = json.loads((out / "manifest.json").read_text())["finished"]
    assert [r["inputs_sha256"] is None for r in records] == [False, False, True]
    assert pd.read_parquet(out / "inputs")["run_id"].tolist() == list(range(600))
    monkeypatch.undo()
    assert main(batch(JUNE, out, "--resume")) == 0  # the folder verifies as it is


def test_serial_and_pool_write_identical_inputs(tmp_path):
    assert main(batch(RIVER, tmp_path / "serial")) == 0
    pool = batch(RIVER, tmp_path / "pool")
    pool[pool.index("--workers") + 1] = "2"
    assert main(pool) == 0
    serial = {k: v for k, v in files_of(tmp_path / "serial").items() if k.startswith("inputs/")}
    assert len(serial) == 3
    assert serial == {k: v for k, v in files_of(tmp_path / "pool").items()
                      if k.startswith("inputs/")}


# -- resume verifies inputs parts -------------------------------------------------------------

@pytest.fixture
def done(june, tmp_path) -> Path:
    copy = tmp_path / "june"
    shutil.copytree(june, copy)
    return copy


def test_the_manifest_records_each_inputs_parts_hash(june):
    manifest = json.loads((june / "manifest.json").read_text())
    assert manifest["inputs"] is True and manifest["format"] == "negsim-batch/3"
    for record in manifest["finished"]:
        data = (june / "inputs" / f"{record['part']}.parquet").read_bytes()
        assert record["inputs_sha256"] == hashlib.sha256(data).hexdigest()


def test_resume_refuses_a_changed_inputs_part(done, capsys):
    part = done / "inputs" / "part-00001.parquet"
    table = pq.read_table(part).to_pandas()
    table.loc[3, "parties.russia.patience"] += 1.0
    table.to_parquet(part)  # a well-formed Parquet file, with another value
    assert main(batch(JUNE, done, "--resume")) == 2
    one_error_line(capsys, f"{part}: is not the part the manifest recorded",
                   "remove it and rerun with --resume")


def test_resume_refuses_a_missing_inputs_part(done, capsys):
    part = done / "inputs" / "part-00002.parquet"
    part.unlink()
    assert main(batch(JUNE, done, "--resume")) == 2
    one_error_line(capsys, f"{part}: missing, but its part is there")


def test_resume_refuses_a_stray_file_in_inputs(done, capsys):
    stray = done / "inputs" / "part-00009.parquet"
    shutil.copy(done / "inputs" / "part-00000.parquet", stray)
    assert main(batch(JUNE, done, "--resume")) == 2
    one_error_line(capsys, f"{stray}: not a part this batch recorded", "move it out of inputs/")


def test_resume_refuses_to_change_whether_inputs_are_kept(done, capsys):
    assert main(batch(JUNE, done, "--resume", "--no-inputs")) == 2
    one_error_line(capsys, "cannot resume: inputs was true, now false")


def test_a_chunk_killed_after_its_inputs_were_written_runs_again(done, june):
    """Killed between writing a chunk's inputs and its results: the inputs part is
    cleared and the chunk computed again, to the files of the uninterrupted batch."""
    (done / "results" / "part-00001.parquet").unlink()
    (done / "inputs" / "part-00001.parquet").write_bytes(b"half")
    assert main(batch(JUNE, done, "--resume")) == 0
    assert files_of(done) == files_of(june)


# -- --no-inputs ----------------------------------------------------------------------------

def test_no_inputs_leaves_them_out_and_changes_nothing_else(june, tmp_path):
    out = tmp_path / "bare"
    assert main(batch(JUNE, out, "--no-inputs")) == 0
    assert not (out / "inputs").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["inputs"] is False
    assert all(r["inputs_sha256"] is None for r in manifest["finished"])
    bare, full = files_of(out), files_of(june)
    assert {k: v for k, v in full.items() if k.startswith("results/")} == {
        k: v for k, v in bare.items() if k.startswith("results/")}
    assert json.loads(bare["summary.json"]) == json.loads(full["summary.json"])


SWEEP = f"""
[sweep]
scenario = "{RIVER}"
design = "grid"
replicates = 300
chunk_size = 200
seed = 2

[[knobs]]
key = "parties.lowland.patience"
scale = [0.5, 1.5]
levels = 2
"""


def test_a_sweep_keys_its_inputs_by_point_and_run_id(tmp_path):
    """Run ids start at 0 at each design point: inputs carry the point, and
    (point, run_id) joins them to the results one to one. The knob moves the drawn
    values it scales: at x0.5 patience is drawn from half the scenario's range."""
    (tmp_path / "sweep.toml").write_text(SWEEP)
    out = tmp_path / "sweep"
    assert main(["sweep", str(tmp_path / "sweep.toml"), "--out", str(out),
                 "--workers", "1"]) == 0
    inputs = pd.read_parquet(out / "inputs")
    assert list(inputs.columns[:3]) == ["run_id", "point", "mediator.pressure"]
    results = pd.read_parquet(out / "results")
    joined = results.merge(inputs, on=["point", "run_id"], validate="one_to_one")
    assert len(joined) == len(results) == len(inputs) == 600
    patience = inputs.groupby("point")["parties.lowland.patience"]
    assert patience.min()[0] >= 20 and patience.max()[0] <= 45  # [40, 90] x 0.5
    assert patience.min()[1] >= 60 and patience.max()[1] <= 135  # [40, 90] x 1.5
    bare = tmp_path / "bare"
    assert main(["sweep", str(tmp_path / "sweep.toml"), "--out", str(bare),
                 "--workers", "1", "--no-inputs"]) == 0
    assert not (bare / "inputs").exists()
    assert files_of(bare / "results") == files_of(out / "results")


STUDY = f"""
[sensitivity]
scenario = "{JUNE}"
base_samples = 2
replicates = 100
chunk_size = 100
seed = 4
resamples = 20
outcomes = ["walkout"]

[[parameters]]
key = "parties.ukraine.patience"
scale = [0.5, 1.5]

[[parameters]]
key = "mediator.credibility"
set = [0.0, 0.6]
"""


def test_a_sensitivity_analysis_keeps_each_points_inputs(tmp_path):
    """Each design point's inputs are ``realise`` of that point's scenario (the knobs
    applied), keyed by (point, run_id)."""
    path = tmp_path / "study.toml"
    path.write_text(STUDY)
    out = tmp_path / "study"
    assert main(["sensitivity", str(path), "--out", str(out), "--workers", "1"]) == 0
    inputs = pd.read_parquet(out / "inputs")
    results = pd.read_parquet(out / "results")
    assert len(results.merge(inputs, on=["point", "run_id"], validate="one_to_one")) == 800
    study = load_sensitivity(path)
    for point in (0, 5):
        setup = realise(study.scenarios[point], 100, chunk_rng(4, 0))
        written = inputs[inputs["point"] == point].drop(columns=["run_id", "point"])
        pd.testing.assert_frame_equal(written.reset_index(drop=True),
                                      pd.DataFrame(dict(setup.inputs)), check_exact=True)


def test_inputs_cost_about_eight_bytes_per_drawn_parameter_per_round():
    """What the README says they cost: float64 draws barely compress (a full chunk of
    the June scenario: 25 inputs, about 143 bytes a round; its results about 11)."""
    task = chunk_tasks(load_scenario(JUNE), 16_384, 0)[0]
    outcome = compute_chunk(task)
    keys = len(pq.read_schema(pa.BufferReader(outcome.inputs)).names) - 1
    per_round = len(outcome.inputs) / task.count
    assert keys == 25
    assert 135 <= per_round <= 150 and 5 <= per_round / keys <= 8.5
    assert 9 <= len(outcome.results) / task.count <= 13


# -- what inputs are for: regressions of outcomes on inputs -----------------------------------

def logistic_fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood logistic regression by Newton's method (iteratively
    reweighted least squares): coefficients and their standard errors."""
    design = np.column_stack([np.ones(len(x)), x])
    beta = np.zeros(design.shape[1])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-design @ beta))
        information = design.T @ (design * (p * (1 - p))[:, None])
        step = np.linalg.solve(information, design.T @ (y - p))
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    return beta, np.sqrt(np.diag(np.linalg.inv(information)))


def test_a_regression_on_inputs_finds_that_walkouts_fall_with_patience(tmp_path):
    """A delegation leaves when its frustration passes patience x a Gamma draw
    (``rules.walkout_threshold``): regressed on its inputs, P(walkout) falls with
    Lowland's patience and with its walk-out draw, each far beyond noise."""
    out = tmp_path / "river"
    assert main(["run", str(RIVER), "--runs", "3000", "--seed", "1", "--out", str(out),
                 "--no-plots", "--workers", "1"]) == 0
    rounds = pd.read_parquet(out / "results").merge(pd.read_parquet(out / "inputs"),
                                                    on="run_id", validate="one_to_one")
    y = rounds["walkout"].to_numpy(dtype=float)
    keys = ["parties.lowland.patience", "round.walkout_draw.lowland"]
    x = rounds[keys].to_numpy()
    beta, se = logistic_fit((x - x.mean(0)) / x.std(0), y)
    z = beta[1:] / se[1:]
    assert (z < -6).all(), dict(zip(keys, z, strict=True))
