"""`negsim trace`: the narrated round is the batch's replicate, its reasons are the
model's, and it reads as the hand-solved classroom round."""

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from sim.batch.chunks import run_scenario
from sim.cli import main
from sim.model.outcomes import outcome_dtypes
from sim.scenario.load import load_scenario
from sim.teach.story import Story
from sim.teach.trace import (
    answer,
    minute_covered,
    narrate,
    play,
    render,
    replicate_setup,
    use_colour,
)
from sim.teach.wording import amount, amounts, figures, pair, show, the

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
CLASSROOM = SCENARIOS / "classroom-two-party.toml"
JUNE = SCENARIOS / "june-20-30-2025.toml"


def classroom_events():
    scenario = load_scenario(CLASSROOM)
    return narrate(play(replicate_setup(scenario, 0, 0, 1)), scenario.round.name)


def test_classroom_round_reads_as_worked_out_by_hand():
    """The classroom file's comment: the ceasefire is parked (Southland's least
    conditions, 0.6, exceed the most Northland accepts, 0.2), the exchange is agreed
    at 800 in minute 70 inside the zone [400, 1000], and the round lasts 76 minutes."""
    events = classroom_events()
    kinds = [e.kind for e in events]
    assert kinds == ["round", "opening", "item", "talks", "parked", "item", "talks", "talks",
                     "agreed", "end"]
    opening, ceasefire, parked = events[1], events[2], events[4]
    assert (opening.minute, opening.until) == (0, 9)
    assert ceasefire.data["zone"] is None
    assert ceasefire.data["red_lines_cross_by"] == pytest.approx(0.4)
    assert "Southland accepts no less than 0.60, Northland no more than 0.20: they cross " \
           "by 0.40" in ceasefire.text
    assert (parked.minute, parked.item) == (14, "ceasefire")
    exchange = events[5]
    assert exchange.data["zone"] == [400.0, 1000.0] and exchange.data["nash_point"] == 700.0
    first, second = events[6], events[7]
    assert (first.minute, first.until, second.minute, second.until) == (15, 29, 30, 69)
    assert [a["answer"] for a in second.data["answers"]] == ["below_aspiration", "accepts"]
    agreed, end = events[8], events[9]
    assert (agreed.minute, agreed.data["value"]) == (70, 800.0)
    assert agreed.data["offers"] == [800.0, 900.0]
    assert end.data["duration_minutes"] == 76.0 and end.minute == 76
    assert end.data["status"] == {"ceasefire": "parked", "pow_exchange": "agreed"}


def outcome_row(model) -> dict:
    return {k: v[0] for k, v in model.outcomes().items()}


def missing(a) -> bool:
    return a is None or (isinstance(a, float) and math.isnan(a))


def same(a, b) -> bool:
    if missing(a) or missing(b):  # a missing value: None in the model, NaN in a table
        return missing(a) and missing(b)
    return a == b


def test_trace_is_replicate_run_of_the_batch():
    """--seed S --run R reproduces row R of `negsim run --seed S`, in any chunk,
    the last partial one included."""
    scenario = load_scenario(JUNE)
    results = run_scenario(scenario, runs=40, seed=5, chunk_size=16)
    for run in (0, 17, 39):
        model = play(replicate_setup(scenario, 5, run, runs=40, chunk_size=16))
        row = results.iloc[run]
        traced = outcome_row(model)
        for column in outcome_dtypes(model.setup.defined):
            assert same(traced[column], row[column]), (run, column, traced[column], row[column])


def test_a_replicate_outside_the_batch_is_refused():
    with pytest.raises(ValueError, match="must be in 0..39"):
        replicate_setup(load_scenario(JUNE), 0, 40, runs=40)


@pytest.mark.parametrize("name", ["june-20-30-2025-leaders-meeting", "istanbul-2025-05-16"])
def test_every_reason_agrees_with_the_model(name):
    """The answer read backwards from the rules (red line, aspiration and tolerance,
    linkage) says 'accepts' exactly where the model's delegation accepted; and the
    stretches and events cover every minute of the record once."""
    scenario = load_scenario(SCENARIOS / f"{name}.toml")
    for run in range(0, 60, 6):
        model = play(replicate_setup(scenario, 1, run, runs=60, chunk_size=60))
        setup, agreed, story = model.setup, {}, Story.of(model)
        for record in model.history:
            item = setup.issues.index(record.item)
            for party in range(len(setup.party_names)):
                a = answer(story, party, item, record, agreed)
                assert a.accepted == (a.code == "accepts") or a.code == "no_text", (run, record)
            if record.status == 1:
                agreed[item] = record.proposal
        assert minute_covered(narrate(model)) == [r.minute for r in model.history]


def test_walkout_is_told_with_its_cause():
    scenario = load_scenario(JUNE)
    results = run_scenario(scenario, runs=300, seed=2, chunk_size=300)
    run = int(np.flatnonzero(results["walkout"].to_numpy())[0])
    events = narrate(play(replicate_setup(scenario, 2, run, runs=300, chunk_size=300)))
    walkout = [e for e in events if e.kind == "walkout"]
    assert len(walkout) == 1 and events[-1].kind == "end"
    assert walkout[0].data["party"] == results.loc[run, "walkout_party"]
    assert walkout[0].data["frustration"] >= walkout[0].data["threshold"]
    assert f"{walkout[0].data['party']} walked out" in events[-1].text


def test_colour_only_on_a_terminal_without_no_color():
    assert use_colour(True, {})
    assert not use_colour(False, {})
    assert not use_colour(True, {"NO_COLOR": "1"})
    events = classroom_events()
    assert "\033[" in render(events, colour=True)
    assert "\033[" not in render(events, colour=False)


def test_cli_text_json_and_figure(tmp_path, capsys):
    figure = tmp_path / "round.png"
    assert main(["trace", str(CLASSROOM), "--figure", str(figure)]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "\033[" not in text  # captured output is not a terminal
    assert "prisoner exchange agreed at 800 prisoners per side" in text
    assert "The round ends after 76 minutes" in text
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["trace", str(CLASSROOM), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[-1]["kind"] == "end"
    assert lines[-1]["outcomes"]["pow_exchange_value"] == 800


def test_cli_set_changes_the_round(capsys):
    """A Boulware Northland (beta 0.3) holds out longer and gets more."""
    assert main(["trace", str(CLASSROOM), "--json", "--set",
                 "parties.northland.concession=0.3"]) == 0
    end = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert end["outcomes"]["pow_exchange_value"] == 900
    assert end["duration_minutes"] == 88


@pytest.mark.parametrize("argv, message", [
    (["--run", "5", "--runs", "5"], "--run 5 is not a replicate of a batch of 5"),
    (["--set", "nonsense"], "--set 'nonsense': must be KEY=VALUE"),
    (["--set", "mediator.pressure=2"], "mediator.pressure: 2 is out of range"),
    (["--set", "mediator.pressur=0.2"], "did you mean 'pressure'"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    assert main(["trace", str(CLASSROOM), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_broken_scenario_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[round]\nname = 'x'\n")
    assert main(["trace", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.toml" in err and err.count("\n") == 1


def test_time_out_and_the_round_limit_are_told(capsys):
    """Twenty minutes for the exchange (15-34) are not enough: it times out; a
    40-minute limit stops the round while the exchange is still under discussion."""
    assert main(["trace", str(CLASSROOM), "--json", "--set", "mediator.item_minutes=20"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    timed_out = [e for e in events if e["kind"] == "timed_out"]
    assert [(e["minute"], e["item"], e["minutes_on_item"]) for e in timed_out] == [
        (34, "pow_exchange", 20)]
    assert events[-1]["status"]["pow_exchange"] == "timed_out"
    assert main(["trace", str(CLASSROOM), "--json", "--set", "round.max_minutes=40"]) == 0
    end = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert end["duration_minutes"] == 40.0
    assert "stopped at its limit of 40 minutes" in end["text"]
    assert "Under discussion when it ended: prisoner exchange" in end["text"]


# --------------------------------------------------------------------------- glitches
GLITCHES = {
    "a gap told as nothing": re.compile(r"is 0(\.0+)? (below|above)"),
    "fractional levels": re.compile(r"\d\.\d+ levels?"),
    "a zone from a point to itself": re.compile(r"from (\S+) to \1\b"),
    "equal frustration and threshold": re.compile(
        r"frustration \(([\d.]+)\) (passed|reached) its threshold \(\1[:)]"),
}


@pytest.mark.parametrize("name, run", [
    ("june-20-30-2025", 0),  # children: red lines cross by "0.55 levels"; "from yes to yes"
    ("june-20-30-2025", 30),  # Russia's frustration 16.0 and threshold 15.6 ("16" and "16")
    ("june-20-30-2025", 69),  # "0.05 is 0.00 above the 0.05" on the ceasefire's conditions
    ("istanbul-2025-06-02", 0),  # "1.13 levels" short of an aspiration on the children
])
def test_the_narration_glitches_of_issue_12_are_gone(name, run):
    """Rounds that showed each glitch (with --runs 200 --chunk-size 200) read cleanly."""
    scenario = load_scenario(SCENARIOS / f"{name}.toml")
    text = render(narrate(play(replicate_setup(scenario, 0, run, 200, 200))))
    flat = " ".join(text.split())
    for glitch, pattern in GLITCHES.items():
        assert not pattern.search(flat), (glitch, pattern.search(flat).group(0))
    assert "NaN" not in flat and "nan" not in flat.split()


def test_numbers_that_differ_never_read_the_same():
    assert figures([0.8, 0.80004], 2) == ["0.80000", "0.80004"]
    assert figures([1645.0, 1300.0], 0, separators=True) == ["1,645", "1,300"]
    assert pair(23.4, 22.6) == ("23.4", "22.6") and pair(23.0, 23.0) == ("23", "23")
    spec = load_scenario(JUNE).issue("ceasefire")
    assert amounts(spec, [0.0024, 0.0022]) == ["0.0024", "0.0022"]
    assert amount(spec, 0.0004) == "0.0004"
    children = load_scenario(JUNE).issue("children")
    assert amount(children, 0.55) == "1 level" and amount(children, 2) == "2 levels"
    exchange = load_scenario(JUNE).issue("pow_exchange")
    assert show(exchange, 2006.37) == "2,006" and show(exchange, 800, unit=True) == \
        "800 prisoners per side"


def test_a_possessive_label_takes_no_article():
    """Labels come from the scenario: 'the fishing quota', but never 'the Eastland's
    share of the fishing quota' (classroom-package's first issue)."""
    assert the("fishing quota") == "the fishing quota"
    assert the("Eastland's share of the fishing quota") == "Eastland's share of the fishing quota"
    scenario = load_scenario(SCENARIOS / "classroom-package.toml")
    flat = " ".join(render(narrate(play(replicate_setup(scenario, 0, 0, 1)))).split())
    assert "Eastland's share" in flat and "the Eastland's" not in flat


ROUND_FILES = sorted(p for p in SCENARIOS.glob("*.toml") if not p.name.startswith("campaign"))


def reject(constant: str):
    raise ValueError(f"{constant} is not JSON")


@pytest.mark.parametrize("path", ROUND_FILES, ids=lambda p: p.stem)
def test_json_is_json_on_every_shipped_scenario(path, capsys):
    """No NaN (a missing outcome, an answer with no reference) in --json: null."""
    for run in (0, 1):
        assert main(["trace", str(path), "--json", "--run", str(run)]) == 0
        lines = capsys.readouterr().out.splitlines()
        events = [json.loads(line, parse_constant=reject) for line in lines]
        assert events[0]["kind"] == "round" and "end" in [e["kind"] for e in events]
        end = next(e for e in events if e["kind"] == "end")
        assert all(v is None or v == v for v in end["outcomes"].values())
