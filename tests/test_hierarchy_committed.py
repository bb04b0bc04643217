"""The committed track calibration is what the code makes, and the code makes it the
same every time.

- The committed particles were fitted to the committed inputs (their hashes in the
  manifest), a fit rerun today gives them to the bit, and each derived scenario
  posterior is exactly what ``derived`` makes of them (to the bit: no randomness).
- ``track-checks.json`` recomputed from the committed particles with the manifest's
  seed and the checks' draws (the predictive checks of the first round; the
  identifiability of every file): each probability within two Monte Carlo standard
  errors of the committed one plus one round in ``draws``
  (``test_calibration_committed.tolerance``), the identifiability tables to 1e-9.
  On the machine that made them they are equal to the bit.
- The tables of calibration/README.md ("The track record") show the committed numbers,
  and the June 20-30 table is what ``negsim run`` gives with both posteriors.
- Two runs of the command, in two processes with different hash seeds, write the
  same bytes.
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

from sim.batch.chunks import run_scenario
from sim.calibration.hierarchy_checks import compute_track_checks
from sim.calibration.hierarchy_fit import (
    POSTERIOR,
    TrackSettings,
    derived,
    derived_name,
    fit_track,
)
from sim.cli.calibrate_track import load
from sim.scenario.load import load_scenario
from sim.scenario.posterior import WEIGHT, read_posterior
from sim.stats.summary import percent, summarise

ROOT = Path(__file__).resolve().parent.parent
CALIBRATION = ROOT / "calibration"
README = CALIBRATION / "README.md"
REMAKE = "negsim calibrate --record calibration/track-record.toml --write-committed"
#: The June 20-30 table of README.md: simulated rounds and seed of each column.
JUNE_RUNS, JUNE_SEED = 20_000, 0


def tolerance(p: float, draws: int) -> float:
    """Two Monte Carlo standard errors of a committed probability, plus one round."""
    return 2 * np.sqrt(p * (1 - p) / draws) + 1 / draws


def manifest() -> dict:
    return json.loads((CALIBRATION / "track-posterior-manifest.json").read_text())


def committed_checks() -> dict:
    return json.loads((CALIBRATION / "track-checks.json").read_text())


@pytest.fixture(scope="module")
def committed():
    """The record, prior and inputs' hashes as the command loads them, and the
    committed particles exactly as written."""

    class Args:
        record = str(CALIBRATION / "track-record.toml")
        priors = None

    record, prior, hashes = load(Args)
    table = pq.read_table(CALIBRATION / POSTERIOR).to_pandas()
    assert list(table.columns) == [*prior.keys, WEIGHT]
    return (record, prior, hashes, table[list(prior.keys)].to_numpy(dtype=float),
            table[WEIGHT].to_numpy(dtype=float))


def test_committed_inputs_are_those_the_particles_were_fitted_to(committed):
    _, _, hashes, _, _ = committed
    made = manifest()
    assert made["inputs_sha256"] == hashes, f"inputs changed since the fit: run {REMAKE}"
    digest = hashlib.sha256((CALIBRATION / POSTERIOR).read_bytes()).hexdigest()
    assert made["posterior_sha256"] == digest
    assert made["prior_scale"] == 1.0


#: The CPU the committed fit was made on (``cpu_signature``): numba compiles for the CPU
#: it runs on and numpy picks its vector code by the CPU's instruction sets, so another
#: CPU may round differently, and an ABC fit then keeps other particles.
MADE_ON = "086a7b35d3a9"


def cpu_signature() -> str | None:
    """The first CPU's model name and instruction-set flags, hashed (Linux); None where
    ``/proc/cpuinfo`` cannot be read."""
    try:
        first = Path("/proc/cpuinfo").read_text().split("\n\n")[0]
    except OSError:
        return None
    fields = dict((k.strip(), v.strip()) for k, _, v in (line.partition(":")
                                                          for line in first.splitlines()))
    text = fields.get("model name", "") + " " + " ".join(sorted(fields.get("flags", "").split()))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def test_the_committed_particles_are_what_the_command_fits_today(committed):
    """The fit, rerun with the manifest's settings on today's engine, gives the
    committed particles to the bit on a CPU like the one that made them: a change to
    the engine that moves the fit fails here until the committed files are remade
    (REMAKE; about 30 s). On another CPU, each column's mean within 8 standard errors
    of the committed one (a gross change only: the particles are correlated)."""
    record, prior, _, particles, _ = committed
    fit = fit_track(record.rounds, prior, TrackSettings(**manifest()["settings"]))
    if cpu_signature() == MADE_ON:
        assert np.array_equal(fit.particles, particles), f"stale: remake with {REMAKE}"
        return
    error = np.sqrt((fit.particles.var(axis=0) + particles.var(axis=0)) / len(particles))
    z = np.abs(fit.particles.mean(axis=0) - particles.mean(axis=0)) / error
    moved = {key: float(v) for key, v in zip(prior.keys, z, strict=True) if v >= 8}
    assert not moved, f"stale: remake with {REMAKE} (z of the means: {moved})"


def test_each_derived_posterior_is_what_the_particles_give(committed):
    _, prior, _, particles, weights = committed
    digest = manifest()["posterior_sha256"]
    for period, mediator in prior.groups():
        name = derived_name(period, mediator)
        keys, values = derived(prior, particles, period, mediator)
        table = pq.read_table(CALIBRATION / name).to_pandas()
        assert list(table.columns) == [*keys, WEIGHT]
        assert np.array_equal(table[list(keys)].to_numpy(dtype=float), values), name
        assert np.array_equal(table[WEIGHT].to_numpy(dtype=float), weights)
        about = json.loads((CALIBRATION / name.replace(".parquet", "-manifest.json"))
                           .read_text())
        assert about["derived_from_sha256"] == digest
        assert (about["period"], about["mediator"]) == (period, mediator)


@pytest.fixture(scope="module")
def fresh(committed) -> dict:
    """The checks recomputed on the record's first round: the replays run round after
    round on one generator, so the first round's are those of the whole computation
    (the whole takes minutes; its rows are read from the committed file)."""
    record, prior, _, particles, weights = committed
    return compute_track_checks(record.rounds[:1], prior, particles, weights,
                                manifest()["settings"]["seed"], committed_checks()["draws"],
                                POSTERIOR)


@pytest.mark.parametrize("part", ["posterior_predictive", "prior_predictive"])
def test_committed_predictive_checks_are_what_the_code_makes(fresh, part):
    checks = committed_checks()
    draws = checks["draws"]
    new = [r for r in fresh[part] if r["round"] != "(every round)"]  # the whole: a01's
    first = {r["round"] for r in new}
    assert first == {"a01"}
    old = [r for r in checks[part] if r["round"] in first]
    assert [(r["round"], r["fact"]) for r in new] == [(r["round"], r["fact"]) for r in old]
    for was, now in zip(old, new, strict=True):
        assert abs(now["p"] - was["p"]) <= tolerance(was["p"], draws), (
            f"{part} {was['round']} {was['fact']}: committed {was['p']}, code {now['p']}; "
            f"run {REMAKE}")


def test_committed_identifiability_is_what_the_code_makes(fresh):
    old, new = committed_checks()["identifiability"], fresh["identifiability"]
    assert list(new) == list(old)
    for name in old:
        assert [r["parameter"] for r in new[name]] == [r["parameter"] for r in old[name]]
        for was, now in zip(old[name], new[name], strict=True):
            assert now["verdict"] == was["verdict"], (name, was["parameter"])
            for key, value in was.items():
                if key not in ("parameter", "verdict"):
                    assert now[key] == pytest.approx(value, rel=1e-9, abs=1e-12), (
                        f"{name} {was['parameter']} {key}; run {REMAKE}")


def test_manifests_name_what_stays_near_its_prior():
    checks = committed_checks()["identifiability"]
    for name, rows in checks.items():
        about = json.loads((CALIBRATION / name.replace(".parquet", "-manifest.json"))
                           .read_text())
        assert about["unidentified"] == [r["parameter"] for r in rows
                                         if r["verdict"] == "stays near its prior"], name


# ---------------------------------------------------------------- README.md
def section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


def table_rows(text: str, header: str) -> list[list[str]]:
    block = text[text.index(header):].split("\n\n")[0]
    return [[cell.strip().strip("*") for cell in line.strip("|").split("|")]
            for line in block.splitlines()[2:]]


def test_readme_identifiability_table_shows_the_committed_numbers():
    """The table of the 2025/Turkey values (what the June variant draws)."""
    rows = table_rows(section("The track record"),
                      "| parameter (2025, Turkey) | prior mean |")
    table = committed_checks()["identifiability"][derived_name("2025", "turkey")]
    assert [r[0] for r in rows] == [t["parameter"] for t in table]
    for row, t in zip(rows, table, strict=True):
        assert row[1:] == [f"{t['prior_mean']:.3g}",
                           f"{t['posterior_mean']:.3g} [{t['posterior_q05']:.3g}"
                           f"\u2013{t['posterior_q95']:.3g}]",
                           f"{t['contraction']:.2f}", t["verdict"]]


def test_readme_predictive_table_shows_the_committed_numbers():
    """Per round, the probability that every fact is reproduced, and the facts never
    reproduced (0 under the posterior and the prior)."""
    rows = table_rows(section("The track record"), "| round | facts | all reproduced")
    checks = committed_checks()
    post, base = checks["posterior_predictive"], checks["prior_predictive"]
    expected = []
    for key in dict.fromkeys(r["round"] for r in post if r["fact"] != "ALL"):
        mine = [(p, b) for p, b in zip(post, base, strict=True) if p["round"] == key]
        whole = next(p for p, _ in mine if p["fact"] == "ALL")
        whole_base = next(b for _, b in mine if b["fact"] == "ALL")
        never = [p["fact"] for p, b in mine if p["fact"] != "ALL" and p["p"] == 0
                 and b["p"] == 0]
        expected.append([key, str(len(mine) - 1), percent(whole["p"]),
                         percent(whole_base["p"]), "; ".join(never) or "none"])
    assert rows == expected


def test_readme_run_numbers_are_the_manifests():
    text = section("The track record")
    made = manifest()
    said = re.search(r"Default run \(seed 0\): (\d+) generations, epsilon ([\d.]+) "
                     r"\u2192 ([\d.]+), ([\d,]+) simulated replays of the record", text)
    assert said is not None
    generations, first, last, replays = said.groups()
    assert int(generations) == len(made["epsilon_schedule"]) - 1
    assert first == f"{made['epsilon_schedule'][1]:.2f}"
    assert last == f"{made['epsilon_schedule'][-1]:.2f}"
    assert int(replays.replace(",", "")) == made["simulations"]


def test_readme_june_table_is_what_both_posteriors_give():
    """The June 20-30 round, 20,000 simulated rounds at seed 0, drawing from the
    Istanbul posterior and from the track posterior (the two scenario files)."""
    rows = table_rows(section("The track record"),
                      "| June 20-30 event | Istanbul posterior |")
    columns = []
    for name in ("june-20-30-2025.toml", "june-20-30-2025-track.toml"):
        scenario = load_scenario(ROOT / "scenarios" / name)
        results = run_scenario(scenario, JUNE_RUNS, seed=JUNE_SEED)
        columns.append(summarise(results, scenario, JUNE_SEED)["events"])
    expected = [[columns[0][e]["label"], percent(columns[0][e]["p"]),
                 percent(columns[1][e]["p"])]
                for e in columns[0] if columns[0][e]["on_agenda"]]
    assert [row[:3] for row in rows] == expected


def test_the_june_variant_draws_the_2025_turkey_values():
    scenario = load_scenario(ROOT / "scenarios" / "june-20-30-2025-track.toml")
    posterior = read_posterior(CALIBRATION / derived_name("2025", "turkey"))
    assert scenario.posterior.sha256 == posterior.sha256
    assert "mediator.credibility" in scenario.posterior.keys


def test_the_same_command_twice_writes_the_same_bytes(tmp_path):
    """Two processes (different hash seeds), the same command: every file written is
    identical, byte for byte."""
    outs, running = [], []
    for hash_seed in ("1", "2"):  # side by side: one core each
        out = tmp_path / f"run-{hash_seed}"
        running.append(subprocess.Popen(
            [sys.executable, "-m", "sim.cli", "calibrate", "--record",
             "calibration/track-record.toml", "--particles", "50", "--generations", "1",
             "--draws", "100", "--seed", "5", "--out", str(out)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=os.environ | {"PYTHONHASHSEED": hash_seed}))
        outs.append(out)
    for process in running:
        _, err = process.communicate(timeout=900)
        assert process.returncode == 0, err
    files = sorted(p.relative_to(outs[0]) for p in outs[0].rglob("*") if p.is_file())
    assert len(files) == 2 + 2 * 5 + 1 + 4  # particles, 5 derived, checks, 2 figures
    for name in files:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name


def test_readme_reading_of_the_predictive_checks():
    """'every fact of a round at once in under 2% of replays, each round'; the
    ceasefires agreed (a02, a03 local; a09, a17, a18 partial) reproduced in under 10%;
    a01's duration and a06's written positions never; of the 2025/Turkey keys
    Ukraine's concession, Russia's patience and Turkey's credibility partly informed."""
    checks = committed_checks()
    post = checks["posterior_predictive"]
    assert all(r["p"] < 0.02 for r in post if r["fact"] == "ALL")
    ceasefires = [r for r in post if r["round"] in ("a02", "a03", "a09", "a17", "a18")
                  and r["fact"].startswith("ceasefire_level")]
    assert len(ceasefires) == 5 and all(r["p"] < 0.10 for r in ceasefires)
    never = {(r["round"], r["fact"]) for r in post if r["p"] == 0}
    assert {("a01", "duration_minutes = 300-360"), ("a06", "memorandum_value = 1")} <= never
    table = checks["identifiability"][derived_name("2025", "turkey")]
    assert [r["parameter"] for r in table if r["verdict"] != "stays near its prior"] == [
        "parties.ukraine.concession", "parties.russia.patience", "mediator.credibility"]
    said = " ".join(section("The track record").split())
    assert ("Ukraine's concession, Russia's patience and Turkey's credibility are "
            "\"partly informed\"") in said


def test_readme_june_reading_of_the_two_posteriors():
    """'its Russian concession (1.45 on average) is well above the Istanbul fit's
    Boulware value, and its exchange willingness lower': the 2025/Turkey means against
    the Istanbul posterior's (checks.json)."""
    track = {r["parameter"]: r["posterior_mean"] for r in
             committed_checks()["identifiability"][derived_name("2025", "turkey")]}
    istanbul = {r["parameter"]: r["posterior_mean"] for r in json.loads(
        (CALIBRATION / "checks.json").read_text())["identifiability"]}
    said = " ".join(section("The track record").split())
    concession = track["parties.russia.concession"]
    assert f"concession ({concession:.3g} on average, the table above)" in said
    assert istanbul["parties.russia.concession"] < 1 < concession
    willingness = "parties.russia.exchange_willingness"
    assert track[willingness] < istanbul[willingness]
