"""The backtest: what happened read from the facts (decided, undecided, not observed),
scores computed by hand on a made-up forecast, a round's forecast resting on the rounds
before it alone, the command's files as the issue specifies them, and bad input."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scoringrules

from sim.calibration.backtest import (
    BacktestSettings,
    _event_rows,
    _quantity_rows,
    rolling_origin,
    summary,
)
from sim.calibration.backtest_truth import event_truths, quantities, truth
from sim.calibration.evidence import Fact
from sim.calibration.hierarchy_priors import load_track_priors
from sim.calibration.track_record import load_track_record
from sim.cli import main
from sim.scenario.events import parse_event
from sim.scenario.spec import EventSpec
from sim.stats.summary import Measures

ROOT = Path(__file__).resolve().parent.parent
CALIBRATION = ROOT / "calibration"
QUICK = ["--particles", "30", "--generations", "1", "--runs", "120"]
#: The command's own runs score the first four rounds (fits on up to three): the whole
#: record's backtest is the committed one, checked below from its files.
UNTIL = ["--until", "a04"]


@pytest.fixture(scope="module")
def record():
    return load_track_record(CALIBRATION / "track-record.toml")


@pytest.fixture(scope="module")
def rounds(record):
    return {r.key: r for r in record.rounds}


def event(scenario, when: str) -> EventSpec:
    issues = {spec.name: spec for spec in scenario.issues}
    tree, read = parse_event(when, issues)
    return EventSpec("test", when, when, tree, read)


def fact(column, low, high=None, missing=0.0):
    return Fact(column, low, low if high is None else high, 1.0, "test", missing)


# ---------------------------------------------------------------- what happened
def test_a_range_decides_what_it_decides(rounds):
    """Istanbul 2025, 2: the ceasefire was 0-1 (local pauses disputed), so 'any
    ceasefire' is undecided but 'partial or more' did not happen; the exchange was
    1,000-20,000, so 'more than 500' happened and 'at least 5,000' is undecided."""
    a23 = rounds["a23"]
    found = {t.event: t for t in event_truths(a23)}
    assert found["ceasefire_any"].happened is None
    assert "undecided" in found["ceasefire_any"].reason
    assert found["ceasefire_partial"].happened is False
    facts = {f.column: f for f in a23.facts}
    assert truth(event(a23.scenario, "pow_exchange.value > 500"), a23.scenario,
                 facts).happened is True
    assert truth(event(a23.scenario, "pow_exchange.value >= 5000"), a23.scenario,
                 facts).happened is None


def test_nothing_may_be_unagreed_or_agreed_at_nothing(rounds):
    """Riyadh: no new exchange (0). 'An exchange agreed at more than 0' did not happen
    either way; 'the exchange issue settled' is undecided (0 may be a deal at 0 or no
    deal); a minute, or an issue not found, is not observed."""
    a18 = rounds["a18"]
    facts = {f.column: f for f in a18.facts}
    scenario = a18.scenario
    assert truth(event(scenario, "pow_exchange.value > 0"), scenario, facts).happened is False
    assert truth(event(scenario, "not pow_exchange.value > 0"), scenario,
                 facts).happened is True
    settled = truth(event(scenario, "pow_exchange.agreed"), scenario, facts)
    assert settled.happened is None and "undecided" in settled.reason
    minute = truth(event(scenario, "pow_exchange.minute < 30"), scenario, facts)
    assert minute.happened is None and minute.reason == "pow_exchange_minute is not observed"
    remains = truth(event(scenario, "remains.value > 0"), scenario, facts)
    assert remains.reason == "remains_value is not observed"
    assert truth(event(scenario, "walkout or duration_minutes > 600"), scenario,
                 facts).reason == "duration_minutes is not observed"


def test_a_fact_on_agreement_decides_events_on_agreement(rounds):
    scenario = rounds["a18"].scenario
    facts = {"children_agreed": fact("children_agreed", 0)}
    assert truth(event(scenario, "children.agreed"), scenario, facts).happened is False
    assert truth(event(scenario, "children.value >= 1"), scenario, facts).happened is False
    facts = {"children_agreed": fact("children_agreed", 1)}
    assert truth(event(scenario, "children.agreed"), scenario, facts).happened is True
    assert truth(event(scenario, "children.value >= 1"), scenario, facts).happened is None


def test_the_record_scores_72_events_and_10_quantities(record):
    """Per round, the events the facts decide, and the quantities observed (the
    record's facts; a change of the record changes these and the backtest)."""
    decided = {r.key: sum(t.happened is not None for t in event_truths(r))
               for r in record.rounds}
    assert decided == {"a01": 7, "a02": 6, "a03": 8, "a04": 8, "a06": 8, "a09": 3,
                       "a17": 5, "a18": 8, "a22": 9, "a23": 10}
    assert sum(len(r.scenario.events) for r in record.rounds) - sum(decided.values()) == 48
    assert [(r.key, q.column) for r in record.rounds for q in quantities(r)] == [
        ("a01", "duration_minutes"), ("a03", "duration_minutes"), ("a04", "duration_minutes"),
        ("a17", "pow_exchange_value"), ("a18", "pow_exchange_value"),
        ("a22", "pow_exchange_value"), ("a22", "duration_minutes"),
        ("a23", "pow_exchange_value"), ("a23", "remains_value"), ("a23", "duration_minutes")]


# ---------------------------------------------------------------- scores by hand
def made_up_results(scenario, n: int = 4) -> pd.DataFrame:
    """Four rounds: one with a local ceasefire, all with the next round agreed, the
    exchange agreed at 100 and 300 in two and not in the others, lasting 60-90."""
    columns = {c: np.full(n, np.nan) for c in Measures.of(scenario).event_inputs}
    columns |= {"ceasefire_level": np.array([1, 0, 0, 0]), "next_round_value": np.ones(n),
                "pow_exchange_value": np.array([100, 300, np.nan, np.nan]),
                "walkout": np.zeros(n, dtype=bool),
                "duration_minutes": np.array([60.0, 70, 80, 90])}
    return pd.DataFrame(columns)


def test_event_scores_by_hand(rounds):
    """a01: 'any ceasefire' forecast 1/4, did not happen: Brier 1/16, log -ln(3/4); the
    baselines with no round before: 1/2 each (Brier 1/4, log ln 2). Then, with a
    ceasefire at one round before: persistence 1, base rate (1 + 1)/(1 + 2)."""
    a01 = rounds["a01"]
    rows = _event_rows(a01, event_truths(a01), made_up_results(a01.scenario), {})
    by = {(r["target"], r["forecaster"]): r for r in rows}
    model = by[("ceasefire_any", "model")]
    assert (model["p"], model["brier"]) == (0.25, 0.0625)
    assert model["log"] == pytest.approx(-np.log(0.75))
    assert by[("next_round_agreed", "model")]["brier"] == 0.0  # forecast 1, happened
    for name in ("persistence", "base_rate", "uniform"):
        assert by[("ceasefire_any", name)]["brier"] == 0.25
        assert by[("ceasefire_any", name)]["log"] == pytest.approx(np.log(2))
    rows = _event_rows(a01, event_truths(a01), made_up_results(a01.scenario),
                       {"ceasefire_any": [True]})
    by = {(r["target"], r["forecaster"]): r for r in rows}
    assert by[("ceasefire_any", "persistence")]["p"] == 1.0
    assert by[("ceasefire_any", "persistence")]["log"] == pytest.approx(-np.log(0.01))
    assert by[("ceasefire_any", "base_rate")]["p"] == pytest.approx(2 / 3)


def test_quantity_scores_by_hand(rounds):
    """a17: 175 exchanged. The model's sample: 100, 300, and 0 twice (not agreed is 0);
    its CRPS is the ensemble CRPS of that sample; by numpy's quantiles its central 50%
    is 0-150 (175 outside), its 80% 0-240 (inside), its median 50. With no round
    before, the baselines are flat on 0-20,000."""
    a17 = rounds["a17"]
    rows = _quantity_rows(a17, made_up_results(a17.scenario), {})
    by = {r["forecaster"]: r for r in rows if r["target"] == "pow_exchange_value"}
    assert by["model"]["crps"] == pytest.approx(float(scoringrules.crps_ensemble(
        175.0, np.array([100.0, 300, 0, 0]))))
    assert not by["model"]["covered_50"] and by["model"]["covered_80"]
    assert by["model"]["median"] == 50
    assert by["uniform"]["crps"] == pytest.approx(float(scoringrules.crps_uniform(
        175.0, 0, 20000)))
    assert by["persistence"]["crps"] == by["uniform"]["crps"]


# ---------------------------------------------------------------- the rolling origin
@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("backtest")
    code = main(["backtest", *QUICK, *UNTIL, "--out", str(out)])
    assert code == 0
    return out


def test_backtest_writes_what_the_issue_specifies(quick_run):
    """backtest.json: the rounds scored and, for each of the four forecasters, the mean
    Brier and log score over every event scored and the mean CRPS over every quantity
    — the means of scores.parquet, one row per round, target and forecaster (a01-a04:
    7 + 6 + 8 + 8 events decided and 3 durations observed)."""
    result = json.loads((quick_run / "backtest.json").read_text())
    assert list(result) == ["rounds", "forecasters", "campaign"]  # campaign: test_rhythm
    assert result["rounds"] == ["a01", "a02", "a03", "a04"]
    scores = pd.read_parquet(quick_run / "scores.parquet")
    assert not scores.duplicated(["round", "target", "forecaster"]).any()
    assert len(scores) == 4 * (7 + 6 + 8 + 8 + 3)
    assert list(result["forecasters"]) == ["model", "persistence", "base_rate", "uniform"]
    for name, values in result["forecasters"].items():
        assert list(values) == ["brier", "log", "crps"]
        mine = scores[scores["forecaster"] == name]
        assert values["brier"] == pytest.approx(mine["brier"].mean(), rel=1e-12)
        assert values["log"] == pytest.approx(mine["log"].mean(), rel=1e-12)
        assert values["crps"] == pytest.approx(mine["crps"].mean(), rel=1e-12)
    assert result["forecasters"]["uniform"]["brier"] == 0.25
    text = (quick_run / "backtest.md").read_text()
    assert "## Verdict" in text and "Where it fails most" in text
    assert (quick_run / "figures" / "backtest-reliability.png").stat().st_size > 10_000


def test_a_round_is_forecast_from_the_rounds_before_it_alone(record, quick_run):
    """Backtesting the first three rounds alone gives exactly the rows of those rounds
    in the whole run: nothing of a later round reaches an earlier forecast; the fit
    before round i is on rounds 0 .. i-1."""
    prior, _ = load_track_priors(CALIBRATION / "track-priors.toml", record)
    settings = BacktestSettings(particles=30, generations=1, runs=120)
    three = rolling_origin(record.rounds[:3], prior, settings)
    assert [f["fitted_on"] for f in three.fits] == [[], ["a01"], ["a01", "a02"]]
    whole = pd.read_parquet(quick_run / "scores.parquet")
    pd.testing.assert_frame_equal(three.scores.reset_index(drop=True),
                                  whole[whole["round"].isin(["a01", "a02", "a03"])]
                                  .reset_index(drop=True))


def test_the_same_backtest_writes_the_same_bytes(tmp_path, quick_run):
    assert main(["backtest", *QUICK, *UNTIL, "--out", str(tmp_path)]) == 0
    for name in ("backtest.json", "scores.parquet", "backtest.md",
                 "figures/backtest-reliability.svg"):
        assert (tmp_path / name).read_bytes() == (quick_run / name).read_bytes(), name


# ---------------------------------------------------------------- bad input
@pytest.fixture()
def copy(tmp_path):
    """The record, its sources and priors, and the scenarios, in a folder of one's own."""
    (tmp_path / "calibration").mkdir()
    for name in ("track-record.toml", "sources.toml", "track-priors.toml"):
        shutil.copy(CALIBRATION / name, tmp_path / "calibration" / name)
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("file, old, new, says", [
    ("calibration/track-record.toml", 'scenario = "../scenarios/track/2022-03-10-antalya.toml"',
     'scenario = "../scenarios/track/2022-03-10-antalia.toml"', "2022-03-10-antalia.toml"),
    ("calibration/track-record.toml", "column = \"pow_exchange_value\"\nvalue = 175",
     "column = \"pow_exchange_value\"\nvalue = 30000", "rounds.a17.observed[1].value"),
    ("calibration/sources.toml", 'date = 2022-02-28', 'dated_on = 2022-02-28',
     "sources.SA"),
])
def test_bad_input_is_one_line_and_exit_2(copy, capsys, file, old, new, says):
    edit(copy / file, old, new)
    out = copy / "out"
    code = main(["backtest", *QUICK, "--record", str(copy / "calibration/track-record.toml"),
                 "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("negsim: error:") and len(err.splitlines()) == 1
    assert says in err and "Traceback" not in err
    assert not out.exists()  # nothing half-written


def test_a_round_without_an_as_of_scenario(copy, capsys):
    edit(copy / "calibration/track-record.toml",
         'scenario = "../scenarios/track/2022-07-22-grain-deal.toml"\n', "")
    code = main(["backtest", "--record", str(copy / "calibration/track-record.toml"),
                 "--out", str(copy / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "rounds.a09" in err and "scenario" in err


@pytest.mark.parametrize("args, says", [
    (["--out", "x", "--write-committed"], "give one"),
    (["--out", str(CALIBRATION)], "--write-committed"),
    (["--runs", "3"], "--runs must be >= 50"),
    (["--until", "a05"], "--until a05: not a round of the record (its rounds: a01, a02"),
    (["--until", "a02", "--write-committed"], "the committed backtest scores every round"),
])
def test_bad_options(capsys, args, says):
    try:
        code = main(["backtest", *args])
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    assert code == 2 and says in capsys.readouterr().err


# ---------------------------------------------------------------- the committed backtest
def tolerance(p: float, runs: int) -> float:
    """Two Monte Carlo standard errors of a probability from ``runs`` rounds, plus one
    round (as tests/test_calibration_committed.py)."""
    return 2 * np.sqrt(p * (1 - p) / runs) + 1 / runs


def committed_scores() -> pd.DataFrame:
    return pd.read_parquet(CALIBRATION / "backtest-scores.parquet")


def test_committed_json_and_markdown_are_what_the_scores_give(record):
    """backtest.json is the summary of the committed scores, exactly; backtest.md is
    their rendering with the default settings (the command's, as its first note says),
    exactly."""
    from sim.calibration.backtest_truth import event_truths as truths
    from sim.cli.backtest import DEFAULTS
    from sim.report.backtest import render

    scores = committed_scores()
    assert list(dict.fromkeys(scores["round"])) == [r.key for r in record.rounds]
    assert len(scores) == 4 * (72 + 10)  # every event decided and quantity observed
    committed = json.loads((CALIBRATION / "backtest.json").read_text())
    committed.pop("campaign")  # the rhythm of rounds' (tests/test_rhythm.py)
    assert committed == json.loads(json.dumps(summary(scores)))
    text = (CALIBRATION / "backtest.md").read_text()
    assert "Made by negsim backtest --write-committed:" in text
    skipped = [(r.key, t.event, t.reason) for r in record.rounds for t in truths(r)
               if t.happened is None]
    about = {"command": "negsim backtest --write-committed", "particles": DEFAULTS.particles,
             "generations": DEFAULTS.generations, "runs": DEFAULTS.runs,
             "seed": DEFAULTS.seed,
             "rounds": {r.key: (r.name, r.date.isoformat(), [b.key for b in
                                                            record.rounds[:i]])
                        for i, r in enumerate(record.rounds)}}
    figure = (CALIBRATION / "figures" / "backtest-reliability.png",
              CALIBRATION / "figures" / "backtest-reliability.svg")
    assert render(scores, skipped, about, CALIBRATION, figure,
                  "backtest-scores.parquet") == text


def test_committed_rows_are_what_a_fresh_backtest_gives(record):
    """The first two rounds backtested afresh with the default settings (a01 from the
    prior, a02 from a fit on a01; a round's rows rest on the rounds before it alone):
    the baselines' rows equal the committed ones; the model's probabilities within two
    Monte Carlo standard errors plus one round, its CRPS within 5% (on the machine that
    made them, all equal to the bit: another CPU may round differently, and an ABC fit
    then takes other particles)."""
    prior, _ = load_track_priors(CALIBRATION / "track-priors.toml", record)
    settings = BacktestSettings()
    fresh = rolling_origin(record.rounds[:2], prior, settings).scores
    old = committed_scores()
    old = old[old["round"].isin(["a01", "a02"])].reset_index(drop=True)
    assert list(fresh[["round", "target", "forecaster"]].itertuples(index=False)) == list(
        old[["round", "target", "forecaster"]].itertuples(index=False))
    baselines = fresh["forecaster"] != "model"
    pd.testing.assert_frame_equal(fresh[baselines].reset_index(drop=True),
                                  old[baselines].reset_index(drop=True))
    for now, was in zip(fresh[~baselines].itertuples(), old[~baselines].itertuples(),
                        strict=True):
        if now.kind == "event":
            assert abs(now.p - was.p) <= tolerance(was.p, settings.runs), now
        else:
            assert now.crps == pytest.approx(was.crps, rel=0.05, abs=1.0), now


def test_readme_backtest_table_is_the_committed_json():
    result = json.loads((CALIBRATION / "backtest.json").read_text())
    text = (CALIBRATION / "README.md").read_text()
    block = text[text.index("| forecaster | Brier | log score | CRPS |"):].split("\n\n")[0]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in block.splitlines()[2:]]
    names = {"model": "model", "persistence": "persistence", "base_rate": "base rate",
             "uniform": "uniform"}
    assert rows == [[names[n], f"{v['brier']:.3f}", f"{v['log']:.3f}", f"{v['crps']:,.1f}"]
                    for n, v in result["forecasters"].items()]


def test_readme_backtest_reading_is_the_committed_scores():
    """What calibration/README.md says of the backtest: on the Brier score better than
    persistence and uniform, on the log score than persistence only, the base rate best
    on both; better than all three on the CRPS; Belarus 2 and 3's ceasefires under 6%,
    the partial ones (a09, a17, a18) under 9%; 14 of the 24 forecasts on the wrong side
    of 1/2 miss by more than 0.9 (the counts read from the README); 48 events not scored."""
    result = json.loads((CALIBRATION / "backtest.json").read_text())["forecasters"]
    model = result["model"]
    assert model["brier"] < result["persistence"]["brier"]
    assert model["brier"] < result["uniform"]["brier"] < model["brier"] + 0.01  # barely
    assert result["uniform"]["log"] < model["log"] < result["persistence"]["log"]
    for score in ("brier", "log"):
        assert min(result, key=lambda name: result[name][score]) == "base_rate"
    assert all(model["crps"] < result[b]["crps"]
               for b in ("persistence", "base_rate", "uniform"))
    scores = committed_scores()
    events = scores[(scores["forecaster"] == "model") & (scores["kind"] == "event")]
    by = events.set_index(["round", "target"])
    assert all(by.loc[(r, "ceasefire_any"), "happened"] and by.loc[(r, "ceasefire_any"), "p"]
               < 0.06 for r in ("a02", "a03"))
    assert all(by.loc[(r, "ceasefire_partial"), "happened"]
               and by.loc[(r, "ceasefire_partial"), "p"] < 0.09 for r in ("a09", "a17", "a18"))
    miss = (events["p"] - events["happened"].astype(float)).abs()
    text = " ".join((CALIBRATION / "README.md").read_text().split())
    assert (f"of its {(miss > 0.5).sum()} forecasts on the wrong side of 1/2, "
            f"{(miss > 0.9).sum()} miss by more than 0.9") in text
    assert "the 48 events not scored" in text
    from sim.cli.backtest import DEFAULTS
    assert (f"default settings: fits of {DEFAULTS.particles} particles and up to "
            f"{DEFAULTS.generations} generations, {DEFAULTS.runs:,} simulated rounds per "
            f"forecast, seed {DEFAULTS.seed}") in text
    listed = (CALIBRATION / "backtest.md").read_text().split("## Not scored")[1]
    assert sum(line.startswith("| a") for line in listed.splitlines()) == 48
