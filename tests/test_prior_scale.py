"""Prior sensitivity and unidentified parameters: priors scaled around their centres
within their keys' bounds (solved by hand), the scale recorded with the fit, the
study of a forecast across scales (and the README's table of it), and the flag on
parameters the data do not pin down in negsim run's table, summary.json and report."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from sim.calibration.evidence import load_observations, load_priors
from sim.cli import main
from sim.scenario.posterior import write_posterior
from sim.stats.summary import percent

ROOT = Path(__file__).resolve().parent.parent
CALIBRATION = ROOT / "calibration"
JUNE = ROOT / "scenarios" / "june-20-30-2025.toml"
JUNE_TRACK = ROOT / "scenarios" / "june-20-30-2025-track.toml"
QUICK = ["--particles", "60", "--generations", "1"]


def test_istanbul_priors_scaled_by_hand():
    """K = 2: Russia's exchange willingness, uniform on [0.1, 1], becomes [-0.35, 1.45]
    clipped to its key's [0, 1]; its concession, log-uniform on [0.2, 3] around the
    geometric centre sqrt(0.6), becomes sqrt(0.6) / 15 to sqrt(0.6) * 15. K = 1 changes
    nothing; K = 0.5 halves a uniform's width around its centre."""
    rounds, _ = load_observations(CALIBRATION / "observations.toml")
    prior, _ = load_priors(CALIBRATION / "priors.toml", tuple(r.scenario for r in rounds))
    bounds = {k: (lo, hi) for k, lo, hi in rounds[0].scenario.bounds}
    wide = prior.scaled(2.0, bounds)
    assert (wide.low[0], wide.high[0]) == (0.0, 1.0)
    assert (wide.low[1], wide.high[1]) == pytest.approx((np.sqrt(0.6) / 15, np.sqrt(0.6) * 15))
    same = prior.scaled(1.0, bounds)
    assert np.allclose(same.low, prior.low) and np.allclose(same.high, prior.high)
    narrow = prior.scaled(0.5, bounds)
    assert (narrow.low[3], narrow.high[3]) == (56.25, 138.75)  # patience [15, 180]
    assert wide.kinds == prior.kinds and np.array_equal(wide.shape_a, prior.shape_a)


def test_a_scaled_fit_says_so_in_its_manifest(tmp_path):
    assert main(["calibrate", *QUICK, "--prior-scale", "0.5", "--out", str(tmp_path)]) == 0
    made = json.loads((tmp_path / "posterior-manifest.json").read_text())
    assert made["prior_scale"] == 0.5
    # the particles lie in the narrowed support: Russia's patience in [56.25, 138.75]
    import pyarrow.parquet as pq
    table = pq.read_table(tmp_path / "posterior.parquet").to_pandas()
    patience = table["parties.russia.patience"]
    assert patience.min() >= 56.25 and patience.max() <= 138.75


@pytest.mark.parametrize("args, says", [
    (["--prior-scale", "0"], "--prior-scale 0: must be a number > 0"),
    (["--prior-scale", "0.5", "2"], "give --forecast SCENARIO"),
    (["--prior-scale", "2", "--forecast", "scenarios/classroom-two-party.toml"],
     "draws from no posterior"),
    (["--record", "calibration/track-record.toml", "--prior-scale", "2", "--forecast",
      "scenarios/june-20-30-2025.toml", *QUICK],
     "draws from posterior.parquet, which this calibration does not make"),
])
def test_bad_study_options(capsys, monkeypatch, args, says):
    monkeypatch.chdir(ROOT)
    code = main(["calibrate", *args, "--out", "/nonexistent/never-made"])
    err = capsys.readouterr().err
    assert code == 2 and says in err and len(err.splitlines()) == 1, err


def test_a_study_forecasts_the_scenario_at_each_scale(tmp_path, capsys, monkeypatch):
    """Two scales, the Istanbul fit, the June round: prior-sensitivity.json holds each
    event's probability at each scale, the same seed and runs; the printed table shows
    them as the README's table does. The folder is made where it is new."""
    monkeypatch.chdir(ROOT)
    out = tmp_path / "new" / "study"
    assert main(["calibrate", *QUICK, "--prior-scale", "0.5", "2", "--forecast",
                 str(JUNE), "--runs", "300", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    study = json.loads((out / "prior-sensitivity.json").read_text())
    assert study["scales"] == [0.5, 2.0] and study["runs"] == 300
    assert study["posterior"] == "posterior.parquet"
    assert not (out / "posterior.parquet").exists()  # a study writes no posterior
    for event in study["events"].values():
        assert len(event["p"]) == 2
        if event["on_agenda"]:
            assert f"| {event['label']} | {percent(event['p'][0])} | " \
                   f"{percent(event['p'][1])} |" in printed
    assert set(study["unidentified"]) == {"0.5", "2.0"}


def test_readme_prior_sensitivity_table_is_the_committed_study():
    study = json.loads((CALIBRATION / "prior-sensitivity.json").read_text())
    assert study["scales"] == [0.5, 1.0, 2.0]
    assert study["scenario_file"] == "scenarios/june-20-30-2025-track.toml"
    text = (CALIBRATION / "README.md").read_text()
    block = text[text.index("| event | K = 0.5 | K = 1 | K = 2 |"):].split("\n\n")[0]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in block.splitlines()[2:]]
    expected = [[e["label"], *(percent(p) for p in e["p"])]
                for e in study["events"].values() if e["on_agenda"]]
    assert rows == expected
    said = re.search(r"fits of ([\d,]+) particles and (\d+) generations, ([\d,]+) "
                     r"simulated rounds per scale, seed (\d+)", " ".join(text.split()))
    assert said is not None
    assert [int(g.replace(",", "")) for g in said.groups()] == [
        study["particles"], study["generations"], study["runs"], study["seed"]]


def test_readme_prior_sensitivity_at_k_1_is_the_june_table_s_track_column():
    """'the committed fit's settings, so the K = 1 column is the June table's track
    column': the study's fits at K = 1 are the committed fit's (its manifest's settings),
    and its column, row by row, is the README's June table's."""
    study = json.loads((CALIBRATION / "prior-sensitivity.json").read_text())
    settings = json.loads((CALIBRATION / "track-posterior-manifest.json").read_text())[
        "settings"]
    assert (study["particles"], study["generations"], study["seed"]) == (
        settings["particles"], settings["generations"], settings["seed"])
    text = (CALIBRATION / "README.md").read_text()
    block = text[text.index("| June 20-30 event | Istanbul posterior |"):].split("\n\n")[0]
    june = [[c.strip() for c in line.strip("|").split("|")] for line in block.splitlines()[2:]]
    at_one = [[e["label"], percent(e["p"][1])] for e in study["events"].values()
              if e["on_agenda"]]
    assert [[row[0], row[2]] for row in june] == at_one


# ---------------------------------------------------------------- unidentified flag
def last_table_line(printed: str) -> str:
    return printed.split("\n\nwrote")[0].splitlines()[-1]


@pytest.mark.parametrize("scenario, record", [
    (JUNE, CALIBRATION / "checks.json"),
    (JUNE_TRACK, CALIBRATION / "track-posterior-2025-turkey-manifest.json"),
])
def test_run_and_report_name_the_parameters_left_at_their_prior(tmp_path, capsys,
                                                                scenario, record):
    """The Istanbul posterior's from its checks.json, the track posterior's from its
    manifest: the last line of negsim run's table names them, summary.json records
    them, and report.md says them."""
    data = json.loads(record.read_text())
    rows = data["identifiability"] if "identifiability" in data else None
    left = (data["unidentified"] if rows is None else
            [r["parameter"] for r in rows if r["verdict"] == "stays near its prior"])
    assert left, "the test needs a posterior with parameters left at their prior"
    out = tmp_path / "run"
    assert main(["run", str(scenario), "--runs", "200", "--workers", "1", "--no-plots",
                 "--out", str(out)]) == 0
    line = last_table_line(capsys.readouterr().out)
    assert line.startswith("Not pinned down by the data") and line.endswith(", ".join(left))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["parameters"]["unidentified"]["parameters"] == left
    assert main(["report", str(out)]) == 0
    report = (out / "report.md").read_text()
    assert "Not pinned down by the data" in report
    assert ", ".join(left) in report


def test_no_record_no_claim(tmp_path, capsys):
    """A posterior with neither a list nor checks beside it: nothing is said."""
    keys = ("parties.russia.patience",)
    write_posterior(tmp_path / "mine.parquet", keys, np.array([[90.0], [100.0]]),
                    np.array([0.5, 0.5]), {"method": "test"})
    scenario = tmp_path / "s.toml"
    scenario.write_text(f'extends = "{JUNE}"\n\n[posterior]\nfile = "mine.parquet"\n')
    out = tmp_path / "run"
    assert main(["run", str(scenario), "--runs", "100", "--workers", "1", "--no-plots",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "pinned down" not in printed and "informed" not in printed
    assert json.loads((out / "summary.json").read_text())["parameters"]["unidentified"] is None


def test_readme_prior_sensitivity_reading_is_the_committed_study():
    """What the README says of the table: a ceasefire of any kind and a next round
    move by under 2 points across K; the exchange and the children move more from
    K = 1 to K = 0.5 (over 5 points) than to K = 2; at K = 0.5 the exchange is 99%
    and the children 0; walk-outs grow with K; remains move by under 3 points."""
    events = json.loads((CALIBRATION / "prior-sensitivity.json").read_text())["events"]
    for name in ("ceasefire_any", "next_round_agreed"):
        assert max(events[name]["p"]) - min(events[name]["p"]) < 0.02, name
    for name in ("pow_exchange_agreed", "children_return_agreed"):
        narrow, same, wide = events[name]["p"]
        assert abs(narrow - same) > 0.05 and abs(wide - same) < abs(narrow - same), name
    assert round(events["pow_exchange_agreed"]["p"][0], 2) == 0.99  # "99 rounds in 100"
    assert events["children_return_agreed"]["p"][0] == 0
    walkout = events["walkout"]["p"]
    assert walkout[0] < walkout[1] < walkout[2]
    assert max(events["remains_agreed"]["p"]) - min(events["remains_agreed"]["p"]) < 0.03
