"""`negsim whatif`: targets, the search over one lever, common random numbers, and the
classroom answer worked out by hand."""

import json
from pathlib import Path

import numpy as np
import pytest

from sim.batch.chunks import run_scenario
from sim.cli import main
from sim.scenario.load import load_scenario
from sim.teach.levers import Lever, levers, scenario_with
from sim.teach.whatif import Target, parse_target, probabilities, search, what_would_it_take

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
CLASSROOM = SCENARIOS / "classroom-two-party.toml"
JUNE = SCENARIOS / "june-20-30-2025.toml"
JUNE_CASE = load_scenario(JUNE)
CLASSROOM_CASE = load_scenario(CLASSROOM)
NORTH = "parties.northland.issues.ceasefire.conditions_red_line"
SOUTH = "parties.southland.issues.ceasefire.conditions_red_line"


@pytest.mark.parametrize("text, target", [
    ("ceasefire_general >= 0.5", Target("ceasefire_general", True, 0.5,
                                        "general ceasefire (level >= 2)")),
    ("walkout<=5%", Target("walkout", False, 0.05, "a delegation walked out")),
    ("  pow_exchange_agreed >= 1 ", Target("pow_exchange_agreed", True, 1.0,
                                           "prisoner exchange agreed")),
])
def test_targets(text, target):
    """A target names one of the scenario's own events (its [events] table)."""
    assert parse_target(text, JUNE_CASE) == target


@pytest.mark.parametrize("text, message", [
    ("ceasefire >= 2", "unknown event 'ceasefire'; did you mean 'ceasefire_any'?"),
    ("foo >= 0.5", "unknown event 'foo'. Events: ceasefire_any"),
    ("walkout >= 2", "threshold '2' is not a probability"),
    ("walkout >= -0.1", "is not a probability"),
    ("walkout > 0.5", "must be 'EVENT >= P' or 'EVENT <= P'"),
    ("memorandum_exchanged >= 0.5", "needs memorandum on the agenda"),
])
def test_malformed_targets_say_what_is_allowed(text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("?", r"\?")):
        parse_target(text, JUNE_CASE)


def test_a_fictional_case_s_targets_are_its_own_events():
    assert parse_target("big_exchange >= 0.5", CLASSROOM_CASE).label == (
        "800 or more prisoners per side")
    with pytest.raises(ValueError, match="unknown event 'ceasefire_any'"):
        parse_target("ceasefire_any >= 0.5", CLASSROOM_CASE)


def willingness(value=0.2) -> Lever:
    return Lever("parties.a.exchange_willingness", "A: exchange willingness", value, 0, 1, 1)


def test_search_finds_the_threshold_to_the_grid_resolution():
    """p is a step at willingness 0.55: from 0.2 the smallest shift is +0.35, found to
    within room / steps^2 (0.8 / 64); downwards nothing reaches it."""
    lever = willingness()

    def evaluate(moves):
        return [float(m.moved(s) >= 0.55) for m, s in moves]

    [result] = search((lever,), evaluate, Target("x", True, 0.5), now=0.0, steps=8)
    assert 0.35 <= result.reached.shift < 0.35 + 0.8 / 64
    assert result.reached.p == 1.0
    assert [pt.shift for pt in result.curve] == sorted(pt.shift for pt in result.curve)
    assert min(pt.shift for pt in result.curve) == pytest.approx(-0.2)


def test_search_stops_where_the_scenario_refuses_a_value():
    """A red line cannot pass the ideal: beyond the first refused value the lever is
    not reached, however good the values beyond would have been."""
    lever = willingness()

    def evaluate(moves):
        return [None if m.moved(s) > 0.5 else float(m.moved(s) >= 0.55) for m, s in moves]

    [result] = search((lever,), evaluate, Target("x", True, 0.5), now=0.0, steps=8)
    assert result.reached is None
    assert max(pt.shift for pt in result.curve) <= 0.3 + 1e-12


def test_classroom_answer_worked_out_by_hand():
    """The ceasefire has no zone because Southland demands at least 0.6 conditions
    and Northland accepts at most 0.2: either side must give 0.4 (the whole gap), and
    nothing else helps. Every classroom replicate is the same, so few runs do."""
    target = parse_target("ceasefire_agreed >= 0.5", CLASSROOM_CASE)
    result = what_would_it_take(CLASSROOM, {}, target, runs=20,
                                keys=(NORTH, SOUTH, "mediator.pressure"))
    assert result.now == 0.0
    ranked = {r.lever.key: r for r in result.results}
    north, south = ranked[NORTH].reached, ranked[SOUTH].reached
    assert north.shift == pytest.approx(0.4) and north.value == pytest.approx(0.6)
    assert -0.4 - 0.6 / 64 < south.shift <= -0.4
    assert ranked["mediator.pressure"].reached is None
    assert [r.lever.key for r in result.reaching] == [NORTH, SOUTH]


def test_probabilities_share_their_draws_with_negsim_run():
    """Several scenarios run as one model give each the probability `negsim run`
    gives it alone (common random numbers: the same seed, the same draws)."""
    base = load_scenario(JUNE)
    softer = scenario_with(JUNE, {}, {"parties.ukraine.issues.ceasefire.conditions_red_line":
                                      0.3})
    together = probabilities([base, softer, base], "ceasefire_any", 300, 4)
    alone = [run_scenario(s, 300, 4).eval("ceasefire_level >= 1").mean() for s in (base, softer)]
    assert together == [alone[0], alone[1], alone[0]]
    assert together[1] > together[0]  # Ukraine accepting more conditions: more ceasefires


def test_drawn_keys_move_through_the_scenarios_shift():
    """Keys the June scenario draws from its posterior are moved by a [[shift]]: setting
    them in the file would be overridden by the draw."""
    june = load_scenario(JUNE)
    by_key = {lever.key: lever for lever in levers(june)}
    drawn = by_key["parties.russia.patience"]
    assert drawn.drawn and drawn.value is None and (drawn.low, drawn.high) == (1, 1440)
    assert not by_key["parties.russia.issues.pow_exchange.red_line"].drawn
    moved = scenario_with(JUNE, {}, {"parties.russia.exchange_willingness": 0.05})
    shift = {s.key: s for s in moved.shifts}["parties.russia.exchange_willingness"]
    assert shift.add == pytest.approx(0.15)  # the file's own +0.1, and the move
    fixed = scenario_with(JUNE, {"parties.russia.patience": 30})
    shift = {s.key: s for s in fixed.shifts}["parties.russia.patience"]
    assert (shift.scale, shift.add) == (0.0, 30.0)
    with pytest.raises(ValueError, match="can only be set to a number"):
        scenario_with(JUNE, {"parties.russia.patience": [20, 40]})


def test_cli_table_figure_and_json(tmp_path, capsys):
    figure = tmp_path / "w.png"
    argv = ["whatif", str(CLASSROOM), "--target", "ceasefire_agreed >= 0.5", "--runs", "20",
            "--lever", NORTH, "--lever", "mediator.pressure", "--figure", str(figure)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Northland: red line on ceasefire (conditions)" in out
    assert "+0.4 softer" in out and f"wrote {figure}" in out
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(argv + ["--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["target"] == {"event": "ceasefire_agreed", "op": ">=", "threshold": 0.5}
    assert data["levers"][0]["reached"]["shift"] == pytest.approx(0.4)


def test_cli_says_plainly_when_no_single_lever_reaches_it(tmp_path, capsys):
    assert main(["whatif", str(CLASSROOM), "--target", "exchange_agreed <= 0.5",
                 "--runs", "20", "--lever", "mediator.pressure",
                 "--figure", str(tmp_path / "w.png")]) == 0
    out = capsys.readouterr().out
    assert "No single lever reaches prisoner exchange agreed <= 50% within its allowed " \
           "range." in out


def test_cli_already_met(tmp_path, capsys):
    assert main(["whatif", str(CLASSROOM), "--target", "walkout <= 0.5", "--runs", "20",
                 "--lever", "mediator.pressure", "--figure", str(tmp_path / "w.png")]) == 0
    assert "already met" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--target", "ceasefire >= 2"], "unknown event 'ceasefire'"),
    (["--target", "foo >= 0.5"], "unknown event 'foo'"),
    (["--target", "walkout <= 0.5", "--lever", "mediator.pressur"],
     "unknown lever 'mediator.pressur'; did you mean 'mediator.pressure'?"),
    (["--target", "walkout <= 0.5", "--set", "mediator.pressure=7"], "is out of range"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    assert main(["whatif", str(CLASSROOM), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_every_lever_is_a_valid_key():
    """Each lever of every scenario can be set to its current value (or moved by 0)
    and the scenario stays valid: the keys and bounds are the loader's."""
    for name in ("classroom-two-party", "istanbul-2025-05-16", "istanbul-2025-06-02",
                 "june-20-30-2025", "june-20-30-2025-us-pressure",
                 "june-20-30-2025-leaders-meeting"):
        path = SCENARIOS / f"{name}.toml"
        scenario = load_scenario(path)
        for lever in levers(scenario):
            setting, moves = lever.change(0.0)
            changed = scenario_with(path, setting, moves)
            assert changed.agenda == scenario.agenda, (path, lever.key)
            assert np.isfinite(lever.span) and lever.span > 0


def test_a_red_line_on_levels_is_shown_with_the_level_it_admits(capsys, tmp_path):
    """A red line between two levels admits the next level its side accepts: Southland,
    which wants the ceasefire's level low, at most the level below (1.12: a local pause);
    Northland, which wants it high, at least the level above. The command prints the
    level beside the number; other levers are numbers alone."""
    from sim.teach.whatif import _value

    found = {lever.key: lever for lever in levers(CLASSROOM_CASE)}
    south = found["parties.southland.issues.ceasefire.red_line"]
    north = found["parties.northland.issues.ceasefire.red_line"]
    assert (south.admits(1.12), south.admits(2.0)) == ("local pause", "general ceasefire")
    assert (north.admits(1.12), north.admits(1.0)) == ("general ceasefire", "local pause")
    assert found["parties.southland.exchange_willingness"].admits(0.5) is None
    assert _value(1.12, south) == "1.12 (local pause)"
    assert _value([0.0, 1.5], north) == "[0, 1.5] (none to general ceasefire)"
    assert _value(0.5, found["mediator.pressure"]) == "0.5"
    assert main(["whatif", str(CLASSROOM), "--target", "ceasefire_agreed >= 0.5", "--runs",
                 "20", "--figure", str(tmp_path / "whatif.png")]) == 0
    out = capsys.readouterr().out
    assert "Southland: red line on ceasefire (level)" in out
    line = next(x for x in out.splitlines() if "Southland: red line on ceasefire (level)" in x)
    assert line.rstrip().endswith("(local pause)")
