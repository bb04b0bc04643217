"""The committed calibration is what the code makes, and the code makes it the same
every time.

- The committed ``checks.json`` is recomputed from the committed posterior, with the
  seed and settings of its manifest, and compared number by number. Tolerance: a
  probability may differ from the committed one by two Monte Carlo standard errors of
  the committed estimate, ``2 * sqrt(p (1 - p) / draws)``, plus one round in
  ``draws`` (so that a probability of 0 or 1 may move by a round); a log score by the
  same tolerance carried through the logarithm; the identifiability table, which has
  no Monte Carlo error of its own beyond the fixed-seed prior moments, to 1e-9. On
  the machine that made the files the numbers are equal to the bit; the tolerance
  lets another numpy or CPU round differently, not the model change.
- The committed posterior's hash and its inputs' hashes (observations, priors, the
  rounds' scenario files) are those of its manifest: a changed input without a new
  fit is caught.
- The committed figure of the predictive checks, and the table of
  ``calibration/README.md``, show the committed numbers.
- Two runs of the command, in two processes with different hash seeds, write the
  same bytes: posterior, manifest, checks.json and figures.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from sim.calibration.evidence import load_observations, load_priors
from sim.calibration.fit import Settings
from sim.report.calibration import compute_checks
from sim.scenario.posterior import WEIGHT
from sim.stats.numbers import percent

ROOT = Path(__file__).resolve().parent.parent
CALIBRATION = ROOT / "calibration"
REMAKE = "negsim calibrate --report --write-committed"


def committed() -> tuple[dict, dict]:
    manifest = json.loads((CALIBRATION / "posterior-manifest.json").read_text())
    checks = json.loads((CALIBRATION / "checks.json").read_text())
    return manifest, checks


def tolerance(p: float, draws: int) -> float:
    """Two Monte Carlo standard errors of a committed probability, plus one round."""
    return 2 * np.sqrt(p * (1 - p) / draws) + 1 / draws


def log_tolerance(p: float, draws: int) -> float:
    """The tolerance of ``p`` carried through the log score (floored as
    ``checks.log_scores`` floors a probability of 0)."""
    return tolerance(p, draws) / max(p - tolerance(p, draws), 0.5 / draws)


@pytest.fixture(scope="module")
def fresh() -> dict:
    """checks.json recomputed from the committed posterior (its particles and weights
    exactly as written, not renormalised)."""
    manifest, checks = committed()
    rounds, _ = load_observations(CALIBRATION / "observations.toml")
    prior, _ = load_priors(CALIBRATION / "priors.toml", tuple(r.scenario for r in rounds))
    table = pq.read_table(CALIBRATION / "posterior.parquet").to_pandas()
    assert list(table.columns) == [*prior.keys, WEIGHT]
    particles = table[list(prior.keys)].to_numpy(dtype=float)
    weights = table[WEIGHT].to_numpy(dtype=float)
    settings = Settings(**manifest["settings"])
    return compute_checks(rounds, prior, particles, weights, settings, checks["draws"])


def test_committed_inputs_are_those_the_posterior_was_fitted_to():
    manifest, _ = committed()
    rounds, observations_hash = load_observations(CALIBRATION / "observations.toml")
    _, priors_hash = load_priors(CALIBRATION / "priors.toml", tuple(r.scenario for r in rounds))
    now = {"observations": observations_hash, "priors": priors_hash} | {
        f"scenario:{r.name}": r.scenario.sha256 for r in rounds}
    assert manifest["inputs_sha256"] == now, f"inputs changed since the fit: run {REMAKE}"
    digest = hashlib.sha256((CALIBRATION / "posterior.parquet").read_bytes()).hexdigest()
    assert manifest["posterior_sha256"] == digest


@pytest.mark.parametrize("part", ["posterior_predictive", "prior_predictive"])
def test_committed_predictive_checks_are_what_the_code_makes(fresh, part):
    _, checks = committed()
    draws = checks["draws"]
    old, new = checks[part], fresh[part]
    assert [(r["round"], r["fact"]) for r in new] == [(r["round"], r["fact"]) for r in old]
    for was, now in zip(old, new, strict=True):
        assert abs(now["p"] - was["p"]) <= tolerance(was["p"], draws), (
            f"{part} {was['round']} {was['fact']}: committed {was['p']}, code {now['p']}; "
            f"run {REMAKE}")


def test_committed_identifiability_is_what_the_code_makes(fresh):
    _, checks = committed()
    old, new = checks["identifiability"], fresh["identifiability"]
    assert [r["parameter"] for r in new] == [r["parameter"] for r in old]
    for was, now in zip(old, new, strict=True):
        assert now["verdict"] == was["verdict"], was["parameter"]
        for key, value in was.items():
            if key not in ("parameter", "verdict"):
                assert now[key] == pytest.approx(value, rel=1e-9, abs=1e-12), (
                    f"{was['parameter']} {key}; run {REMAKE}")


def test_committed_held_out_forecast_is_what_the_code_makes(fresh):
    _, checks = committed()
    draws = checks["draws"]
    old, new = checks["leave_last_round_out"], fresh["leave_last_round_out"]
    assert (new["fitted_on"], new["held_out"]) == (old["fitted_on"], old["held_out"])
    assert [f["fact"] for f in new["facts"]] == [f["fact"] for f in old["facts"]]
    for which in ("fit", "base"):
        for was, now in zip(old["facts"], new["facts"], strict=True):
            p = was[f"p_{which}"]
            assert abs(now[f"p_{which}"] - p) <= tolerance(p, draws), (was["fact"], which)
        allowed = sum(log_tolerance(f[f"p_{which}"], draws) for f in old["facts"])
        assert abs(new[f"sum_log_score_{which}"] - old[f"sum_log_score_{which}"]) <= allowed


def test_committed_figure_shows_the_committed_numbers():
    """Every bar of the predictive-checks figure is labelled with its probability: the
    labels in the committed SVG are the committed checks' probabilities."""
    _, checks = committed()
    svg = (CALIBRATION / "figures" / "predictive-facts.svg").read_text()
    shown = sorted(re.findall(r">\s*([0-9]+\.[0-9]+%)\s*<", svg))  # not the ticks
    expected = sorted(percent(row["p"]) for part in ("posterior_predictive",
                                                     "prior_predictive")
                      for row in checks[part])
    assert shown == expected


def test_readme_table_shows_the_committed_numbers():
    """The posterior predictive table of calibration/README.md, row by row in the order
    of checks.json: each probability as ``percent`` prints it."""
    _, checks = committed()
    text = (CALIBRATION / "README.md").read_text()
    table = text[text.index("| round | fact | posterior | prior |"):].split("\n\n")[0]
    rows = [[cell.strip().strip("*") for cell in line.strip("|").split("|")]
            for line in table.splitlines()[2:]]
    expected = [[percent(post["p"]), percent(base["p"])] for post, base in
                zip(checks["posterior_predictive"], checks["prior_predictive"], strict=True)]
    assert [row[2:] for row in rows] == expected


def test_the_same_command_twice_writes_the_same_bytes(tmp_path):
    """Two processes (different hash seeds: a set's order would show), same command:
    every file written is identical, byte for byte."""
    outs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"run-{hash_seed}"
        done = subprocess.run(
            [sys.executable, "-m", "sim.cli", "calibrate", "--particles", "50",
             "--generations", "2", "--draws", "100", "--seed", "5", "--report",
             "--out", str(out)],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
            env=os.environ | {"PYTHONHASHSEED": hash_seed})
        assert done.returncode == 0, done.stderr
        outs.append(out)
    files = sorted(p.relative_to(outs[0]) for p in outs[0].rglob("*") if p.is_file())
    assert [str(f) for f in files] == [
        "checks.json", "figures/predictive-facts.png", "figures/predictive-facts.svg",
        "figures/predictive-outcomes.png", "figures/predictive-outcomes.svg",
        "figures/prior-posterior.png", "figures/prior-posterior.svg",
        "posterior-manifest.json", "posterior.parquet"]
    for name in files:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
