"""`negsim sensitivity`: Sobol indices that find the parameter that matters, and
sensitivity files that are wrong."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.studies.sensitivity import analyze, load_sensitivity, resolution, resolved, sample

ROOT = Path(__file__).resolve().parent.parent
JUNE = ROOT / "scenarios" / "june-20-30-2025.toml"

STUDY = f"""
[sensitivity]
scenario = "{JUNE}"
base_samples = 4
replicates = 300
chunk_size = 300
seed = 2
resamples = 100
outcomes = ["walkout", "duration_minutes.p50", "leaders_meeting_agreed"]

[[parameters]]
key = "parties.ukraine.patience"
scale = [0.3, 2.0]

[[parameters]]
key = "parties.russia.issues.memorandum.salience"   # memoranda are off June's agenda
set = [0.0, 5.0]
"""


def test_indices_of_a_function_whose_answer_is_known():
    """y = 3 x1 + x2^2 / 10 with x3 inert: x1 carries nearly all the variance, x3 none."""
    problem = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[0, 1]] * 3}
    design = sample(problem, 256, seed=0)
    assert design.shape == (256 * 5, 3)
    y = 3 * design[:, 0] + design[:, 1] ** 2 / 10
    indices = analyze(problem, pd.DataFrame({"y": y, "flat": np.ones(len(y))}), 200, 0)
    y_rows = indices[indices["outcome"] == "y"].set_index("parameter")
    assert y_rows.loc["x1", "S1"] == pytest.approx(0.997, abs=0.02)
    assert y_rows.loc["x1", "ST"] == pytest.approx(0.997, abs=0.02)
    assert abs(y_rows.loc["x2", "S1"]) < 0.02 and y_rows.loc["x3", "ST"] == 0
    assert (y_rows["S1_ci95"] >= 0).all() and y_rows.loc["x1", "S1_ci95"] < 0.25
    flat = indices[indices["outcome"] == "flat"]
    assert flat["S1"].isna().all() and set(flat["note"]) == {"the same at every design point"}


def test_the_parameter_that_matters_gets_the_index(tmp_path, capsys):
    (tmp_path / "study.toml").write_text(STUDY)
    out = tmp_path / "out"
    assert main(["sensitivity", str(tmp_path / "study.toml"), "--out", str(out),
                 "--workers", "2"]) == 0
    assert "Sobol indices over 16 design points x 300 rounds" in capsys.readouterr().out
    points = pd.read_csv(out / "points.csv")
    assert len(points) == 4 * (2 + 2)
    assert points["parties.ukraine.patience (scale)"].between(0.3, 2.0).all()
    indices = pd.read_csv(out / "sobol.csv").set_index(["outcome", "parameter"])
    patience = indices.loc[("walkout", "parties.ukraine.patience")]
    inert = indices.loc[("walkout", "parties.russia.issues.memorandum.salience")]
    assert patience["ST"] > 0.5
    assert inert["ST"] == 0 and inert["S1"] == 0  # the same rounds (common random numbers)
    assert indices.loc[("leaders_meeting_agreed", "parties.ukraine.patience"), "note"] == (
        "the same at every design point")
    rows = pd.read_parquet(out / "results")
    assert len(rows) == 16 * 300
    # the Parquet rows keep every digit of the design; points.csv rounds to 6
    study = load_sensitivity(tmp_path / "study.toml")
    first = rows.groupby("point")["parties.ukraine.patience (scale)"].first().to_numpy()
    assert (first == study.design[:, 0]).all()
    assert np.allclose(points["parties.ukraine.patience (scale)"], study.design[:, 0],
                       rtol=1e-5, atol=0)


@pytest.mark.parametrize("change, message", [
    (("base_samples = 4", "base_samples = 6"),
     "sensitivity.base_samples: must be a power of two"),
    (('"leaders_meeting_agreed"', '"peace"'), "sensitivity.outcomes: must be a list of "
     "outcomes. Allowed: ceasefire_any"),
    (("scale = [0.3, 2.0]", "values = [0.3, 2.0]"),
     "parameters[0].values: is for grid sweeps: use set = [low, high]"),
    (("set = [0.0, 5.0]", "set = [1.0, 1.0]"), "parameters[1]: "
     "'parties.russia.issues.memorandum.salience': an interval of width zero"),
])
def test_a_broken_sensitivity_file_is_one_line(tmp_path, capsys, change, message):
    path = tmp_path / "broken.toml"
    path.write_text(STUDY.replace(*change))
    assert main(["sensitivity", str(path), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"negsim: error: {path}: ") and error.count("\n") == 1
    assert message in error
    assert not (tmp_path / "out").exists()


def test_resolved_means_narrow_and_inside_zero_one():
    """The rule of sensitivity.RESOLUTION, row by row at its edges."""
    rows = pd.DataFrame([
        # S1, S1 half-width, ST, ST half-width -> resolved?
        (0.50, 0.10, 0.60, 0.05, ""),   # at the limit: resolved
        (0.50, 0.11, 0.60, 0.05, ""),   # S1's interval too wide
        (-0.05, 0.06, 0.20, 0.05, ""),  # below 0 by less than its interval
        (-0.05, 0.04, 0.20, 0.05, ""),  # below 0 by more
        (0.90, 0.05, 1.08, 0.09, ""),   # above 1 by less than its interval
        (0.90, 0.05, 1.12, 0.09, ""),   # above 1 by more
        (np.nan, np.nan, np.nan, np.nan, "the same at every design point"),
    ], columns=["S1", "S1_ci95", "ST", "ST_ci95", "note"])
    rows.insert(0, "outcome", "walkout")
    rows.insert(1, "parameter", [f"p{i}" for i in range(len(rows))])
    rows["resolved"] = resolved(rows)
    assert rows["resolved"].tolist() == [True, False, True, False, True, False, None]
    summary = resolution(rows)
    assert (summary["rows"], summary["unresolved"]) == (6, 3)
    assert summary["widest"] == {"half_width": 0.11, "outcome": "walkout",
                                 "parameter": "p1", "index": "S1"}


def test_a_function_whose_answer_is_known_is_resolved_with_enough_samples():
    """y = 3 x1 + x2^2 / 10: x1's S1 (near 1) has an interval of about ±0.26 from 64
    base samples, ±0.07 from 1,024 (1/sqrt(N))."""
    problem = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[0, 1]] * 3}
    for base_samples, unresolved in ((64, ["x1"]), (1024, [])):
        design = sample(problem, base_samples, seed=0)
        y = 3 * design[:, 0] + design[:, 1] ** 2 / 10
        indices = analyze(problem, pd.DataFrame({"y": y}), 200, 0)
        assert indices.loc[~indices["resolved"].astype(bool), "parameter"].tolist() == (
            unresolved)
        assert resolution(indices)["unresolved"] == len(unresolved)


def test_unresolved_indices_are_flagged_and_warned_about(tmp_path, capsys):
    (tmp_path / "study.toml").write_text(STUDY)
    out = tmp_path / "out"
    assert main(["sensitivity", str(tmp_path / "study.toml"), "--out", str(out),
                 "--workers", "1"]) == 0
    captured = capsys.readouterr()
    summary = json.loads((out / "summary.json").read_text())
    table = pd.read_csv(out / "sobol.csv")
    unresolved = int((table["resolved"] == False).sum())  # noqa: E712 (NaN: no indices)
    assert summary["resolution"]["unresolved"] == unresolved > 0
    assert captured.out.count("not resolved") == unresolved
    assert f"resolved: 95% interval half-width <= 0.1, and S1 and ST within [0, 1] up to " \
        f"it; {summary['resolution']['rows'] - unresolved} of " in captured.out
    widest = summary["resolution"]["widest"]
    assert widest["half_width"] == pytest.approx(table[["S1_ci95", "ST_ci95"]].max().max(),
                                                 rel=1e-5)  # the CSV keeps 6 digits
    assert captured.err.startswith(f"negsim: warning: {unresolved} of ")
    assert "raise base_samples (now 4)" in captured.err and captured.err.count("\n") == 1


def test_the_figure_counts_the_rows_not_resolved():
    from sim.viz.studies import sensitivity_figure
    table = pd.DataFrame([
        {"outcome": "walkout", "parameter": p, "S1": s1, "S1_ci95": h, "ST": s1 + 0.1,
         "ST_ci95": h, "note": ""} for p, s1, h in (("a", 0.2, 0.05), ("b", 0.5, 0.3),
                                                    ("c", -0.3, 0.1))])
    table["resolved"] = resolved(table)
    title = sensitivity_figure(table, "June", runs=100).get_suptitle()
    assert title.endswith("2 of 3 rows not resolved (an interval wider than ±0.1, or "
                          "outside [0, 1]): do not rank by them")
    table["resolved"] = True
    assert "not resolved" not in sensitivity_figure(table, "June", runs=100).get_suptitle()


def test_the_shipped_file_is_the_size_its_header_says():
    """experiments/june-20-30-2025-sensitivity.toml states its design; the measured
    resolution (every index within ±0.1) is for exactly this design and seed."""
    path = ROOT / "experiments" / "june-20-30-2025-sensitivity.toml"
    header = path.read_text()
    study = load_sensitivity(path)
    points, parameters = len(study.scenarios), len(study.experiment.knobs)
    assert (f"{study.base_samples:,} x ({parameters} + 2) = {points:,} design points x "
            f"{study.replicates:,} rounds") in header
    assert points == study.base_samples * (parameters + 2) == 6144
    rounds = points * study.replicates
    assert f"({rounds / 1e6:.1f} million rounds" in header
    assert study.seed == 0 and study.resamples == 500


def test_the_intervals_are_the_same_at_every_run_even_with_seed_zero():
    """SALib seeds its bootstrap only for a non-zero seed: analyze passes seed + 1."""
    problem = {"num_vars": 2, "names": ["x1", "x2"], "bounds": [[0, 1]] * 2}
    design = sample(problem, 64, seed=0)
    y = pd.DataFrame({"y": design[:, 0] + 0.5 * design[:, 1] ** 2})
    first, second = analyze(problem, y, 100, 0), analyze(problem, y, 100, 0)
    pd.testing.assert_frame_equal(first, second)
    other = analyze(problem, y, 100, 1)
    assert (other["S1_ci95"] != first["S1_ci95"]).any()  # the seed does decide them
    assert other["S1"].tolist() == first["S1"].tolist()  # (the estimates themselves not)
