"""`negsim play`: a person's seat in the engine, games from a file of moves, the
debrief (checked by hand on the classroom round and the logrolling case), and bad
moves refused with the file's line."""

from __future__ import annotations

import json
from itertools import pairwise, product
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_bargaining import CLOSED_A, CLOSED_B, LEVER, LOGROLL_ISSUES, ONE_ISSUE, two_sides

from sim.batch.chunks import chunk_rng, run_scenario
from sim.cli import main
from sim.model.parameters import realise
from sim.model.round import WalkReason
from sim.scenario.load import load_scenario, parse_scenario
from sim.teach import utility_plane as plane
from sim.teach.play import (
    COMPARISON_RUNS,
    BadMove,
    new_game,
    parse_move,
    read_moves,
    replay,
    role_of,
)
from sim.teach.play_debrief import debrief, transcript_text

ROOT = Path(__file__).resolve().parent.parent
CLASSROOM = ROOT / "scenarios" / "classroom-two-party.toml"
RIVER = ROOT / "scenarios" / "river-basin.toml"

#: Northland's whole game in the classroom round: conditions 0.1 on the ceasefire
#: (no zone: it is set aside) and 1,000 prisoners per side, Southland's red line.
NORTHLAND = [{"offer": {"ceasefire": 0.1, "pow_exchange": 1000}}]


def moves(*objects: dict) -> list:
    return [parse_move(o, k + 1) for k, o in enumerate(objects)]


def write_moves(path: Path, objects) -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in objects))
    return path


# --------------------------------------------------------------------------- the engine
def test_the_seat_plays_where_the_agent_would():
    """Holding 1,000 (Southland's red line), Northland waits while Southland concedes
    from 600 to it (100 a step, linearly over the 100-minute horizon, the clock 25%
    faster) and agrees there; the model's own Northland agrees at 800."""
    game = new_game(load_scenario(CLASSROOM), "northland", 0)
    played = replay(game, moves(*NORTHLAND))
    model = played.model
    assert model.outcomes()["pow_exchange_value"][0] == 1000.0
    assert not model.outcomes()["ceasefire_agreed"][0]
    offers = [r.offers[1] for r in model.history if r.item == "pow_exchange"]
    assert offers[0] == 600 and offers[-1] == 1000 and offers == sorted(offers)
    assert all(r.offers[0] == 1000 for r in model.history if r.item == "pow_exchange")
    assert run_scenario(game.scenario, 1, 0)["pow_exchange_value"][0] == 800.0


def test_a_game_replays_identically():
    game = new_game(load_scenario(RIVER), "lowland", 3)
    made = moves({"offer": {"water": 550, "border": 0.4, "commission": 2}},
                 {"accept": True}, {"reject": True})
    first, second = replay(game, made), replay(game, made)
    assert repr(first.model.history) == repr(second.model.history)  # NaN != NaN
    assert debrief(first) == debrief(second)


def test_walking_out_is_the_person_s_choice():
    game = new_game(load_scenario(CLASSROOM), "southland", 0)
    played = replay(game, moves({"walk_out": True}))
    assert played.model.walkout_party[0] == 1
    assert played.model.walk_reason[0] == WalkReason.CHOICE
    assert played.model.duration[0] == 11  # the first minute of talks, after 10 of opening
    told = transcript_text(played)
    assert told.count("You walk out.") == 1 and "The round ends: you walked out" in told
    assert "Southland walks out" not in told


def test_the_mediator_drafts_parks_and_takes_items():
    """As Midland: set the ceasefire aside, propose 700 prisoners; Southland accepts
    at once, Northland once its aspiration falls to 700."""
    game = new_game(load_scenario(CLASSROOM), "mediator", 0)
    played = replay(game, moves({"park": "ceasefire"}, {"text": {"pow_exchange": 700}}))
    out = played.model.outcomes()
    assert out["pow_exchange_value"][0] == 700.0 and not out["ceasefire_agreed"][0]
    # taking the prisoner exchange first leaves the ceasefire to come back to (and,
    # with no text on it, to time out)
    played = replay(game, moves({"item": "pow_exchange"}, {"text": {"pow_exchange": 700}}))
    items = [r.item for r in played.model.history]
    assert items[0] == "pow_exchange" and items[-1] == "ceasefire"
    assert played.model.outcomes()["pow_exchange_value"][0] == 700.0


@pytest.mark.parametrize("budget, ok", [(1, True), (0, False)])
def test_the_mediator_spends_a_lever_within_its_budget(budget, ok):
    """The guarantee of tests/test_bargaining.py, spent by the person in the seat:
    with it, a text of 350 is agreed (the zone it opens is [300, 400]); without the
    budget the move is refused."""
    text = two_sides("package", ONE_ISSUE, CLOSED_A, CLOSED_B,
                     mediator=LEVER.format(budget=budget))
    game = new_game(parse_scenario(text, "lever.toml"), "mediator", 0)
    made = moves({"lever": "security guarantee"}, {"text": {"x": 350}})
    if not ok:
        with pytest.raises(BadMove, match="costs 1; 0 of the budget is left"):
            replay(game, made)
        return
    played = replay(game, made)
    assert played.model.levers_used[0, 0] and played.model.budget_left == 0
    assert played.model.outcomes()["x_value"][0] == 350.0
    with pytest.raises(BadMove, match="spent already"):
        replay(game, moves({"lever": "security guarantee"}, {"lever": "security guarantee"}))


def test_a_caucus_stops_the_talks_for_its_minutes():
    scenario = load_scenario(RIVER)
    game = new_game(scenario, "upland", 0)
    played = replay(game, moves({"caucus": True}, {"walk_out": True}))
    turns = [t.minute for t in played.seat.turns]
    minutes = [r.minute for r in played.model.history]
    caucus = scenario.mediator.caucus_minutes
    assert turns[1] == turns[0] + caucus  # asked again when the talks resume
    assert not set(range(turns[0], turns[0] + caucus)) & set(minutes)


# --------------------------------------------------------------------------- the debrief
def test_the_classroom_debrief_by_hand(tmp_path):
    """Northland's utility: weight 0.5 / 1.5 on the exchange, (1000 - 400) / (2000 -
    400) = 0.375 of the way to its ideal: 0.125; the ceasefire not agreed is worth its
    BATNA, 0. Every model round ends at 800 (utility 1/3 x 0.25): percentile 100.
    Southland is at its red line: on the frontier. The Nash point is 700 (utilities
    1/3 x 300/1600 and 1/3 x 300/400)."""
    out = tmp_path / "northland.json"
    assert main(["play", str(CLASSROOM), "--as", "northland", "--moves",
                 str(write_moves(tmp_path / "m.jsonl", NORTHLAND)), "--debrief", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["outcome"] == {"ceasefire": None, "pow_exchange": 1000.0}
    assert data["utility"] == pytest.approx(0.125) and data["batna"] == 0.0
    assert data["percentile"] == {"utility": 100.0,
                                  "issues": {"ceasefire": 50.0, "pow_exchange": 100.0}}
    assert data["model"]["median_utility"] == pytest.approx(0.25 / 3)
    assert data["pareto_distance"] == 0.0
    assert data["nash"]["outcome"]["pow_exchange"] == 700.0
    assert data["nash"]["point"] == pytest.approx([300 / 1600 / 3, 300 / 400 / 3])
    assert data["nash_distance"] == pytest.approx(np.hypot(0.125 - 300 / 4800, 0.25))
    assert data["revealed"]["Southland"]["red_lines"] == {"ceasefire": 0.6,
                                                          "pow_exchange": 1000.0}
    assert data["moves"] == NORTHLAND
    assert [e["kind"] for e in data["transcript"]][-1] == "end"
    assert (tmp_path / "northland.png").stat().st_size > 0
    assert (tmp_path / "northland.svg").stat().st_size > 0


def test_the_percentile_counts_the_batch_below_and_half_the_ties():
    assert plane.percentile(0.2, np.array([0.1, 0.2, 0.2, 0.3])) == 50.0
    assert plane.percentile(0.35, np.array([0.1, 0.2, 0.2, 0.3])) == 100.0
    assert plane.percentile(0.0, np.array([0.1, 0.2])) == 0.0


def test_the_percentile_is_the_seat_s_place_in_its_batch():
    """A classroom round where Southland's exchange willingness is drawn (its red line
    anywhere from 600 to 1400): the debrief's percentile is the share of the batch's
    rounds whose exchange gives Northland less than the game's, plus half the ties,
    counted here from the batch table alone."""
    text = CLASSROOM.read_text().replace("exchange_willingness = 0.5 ",
                                         "exchange_willingness = [0.0, 1.0] ")
    scenario = parse_scenario(text, CLASSROOM)
    game = new_game(scenario, "northland", 5)
    played = replay(game, moves({"offer": {"ceasefire": 0.1, "pow_exchange": 900}}))
    data = debrief(played)
    batch = run_scenario(scenario, COMPARISON_RUNS, 5)
    exchange = batch["pow_exchange_value"].where(batch["pow_exchange_agreed"])
    mine = data["outcome"]["pow_exchange"]
    below = (exchange < mine).sum() + exchange.isna().sum() * (mine is not None)
    tied = (exchange == mine).sum()
    assert data["percentile"]["utility"] == pytest.approx(100 * (below + tied / 2) / len(batch))
    assert 0 < data["percentile"]["utility"] < 100


def logroll_setup():
    a = "\n".join(f"[parties.a.issues.{i}]\nwants = \"more\"\nideal = 100\nred_line = 0\n"
                  f"salience = {s}" for i, s in (("fish", 3), ("land", 1)))
    b = "\n".join(f"[parties.b.issues.{i}]\nwants = \"less\"\nideal = 0\nred_line = 100\n"
                  f"salience = {s}" for i, s in (("fish", 1), ("land", 3)))
    return realise(parse_scenario(two_sides("package", LOGROLL_ISSUES, a, b), "logroll.toml"),
                   1, chunk_rng(0, 0))


def test_the_frontier_is_every_undominated_outcome():
    """The logrolling case (saliences 3:1 and 1:3 over two issues of 21 lattice points):
    the frontier equals the undominated points of every outcome enumerated (each issue
    at a lattice point or not agreed); its corners are (0, 1), (0.75, 0.75) — each side
    its high-salience issue — and (1, 0)."""
    setup = logroll_setup()
    front = plane.frontier(setup)
    grid = [*np.arange(0, 101, 5.0), np.nan]
    prefs = plane.Preferences.of(setup)
    every = np.array([plane.outcome_utility(np.array([f, g]), prefs) for f, g in
                      product(grid, grid)])
    undominated = [p for p in every if not ((every >= p - 1e-12).all(axis=1)
                                            & (every > p + 1e-12).any(axis=1)).any()]
    assert sorted(map(tuple, np.round(front, 9))) == sorted(set(map(tuple, np.round(
        undominated, 9))))
    for corner in ((0, 1), (0.75, 0.75), (1, 0)):
        assert np.isclose(front, corner).all(axis=1).any()


def test_value_left_on_the_table_by_hand():
    """Splitting both issues at 50 gives each side 0.5; the nearest frontier point at
    least as good for both is fish 80, land 0 (0.6, 0.8) or fish 100, land 20 (0.8, 0.6):
    sqrt(0.1) away. The Nash point is the logroll itself (fish 100, land 0)."""
    setup = logroll_setup()
    prefs = plane.Preferences.of(setup)
    point = plane.outcome_utility(np.array([50.0, 50.0]), prefs)
    assert point == pytest.approx([0.5, 0.5])
    assert plane.pareto_distance(point, plane.frontier(setup)) == pytest.approx(np.sqrt(0.1))
    assert plane.pareto_distance(np.array([0.75, 0.75]), plane.frontier(setup)) == 0.0
    assert list(plane.nash_point(setup)) == [100.0, 0.0]


# --------------------------------------------------------------------------- bad moves
BAD = [
    ("not JSON", ['{"offer": '], 1, "is not JSON"),
    ("not a move", [{"bid": 3}], 1, "'bid' is not a move: allowed:"),
    ("two keys", [{"accept": True, "reject": True}], 1, "one JSON object with one key"),
    ("off the lattice", [{"offer": {"ceasefire": 0.1, "pow_exchange": 1050}}], 1,
     "pow_exchange = 1050 is off the lattice: a multiple of 100 from 0 to 20000"),
    ("off the scale", [{"offer": {"ceasefire": 2}}], 1, "off the scale: 0 to 1"),
    ("past the red line", [{"offer": {"ceasefire": 0.5}}], 1, "past your red line"),
    ("not on the agenda", [{"offer": {"water": 5}}], 1, "no issue 'water' on the agenda"),
    ("the item left out", [{"offer": {"pow_exchange": 1000}}], 1, "leaves out ceasefire"),
    ("out of turn: the mediator's form", [{"text": {"ceasefire": 0.1}}], 1,
     '"text" is a move of the mediator'),
    ("nothing to accept", [{"accept": True}], 1, "no text on the table to accept"),
    ("past the end", [{"walk_out": True}, {"accept": True}], 2,
     "the round is over (it ended after 11 minutes)"),
]


@pytest.mark.parametrize("name, lines, line, message", BAD, ids=[b[0] for b in BAD])
def test_a_bad_move_is_one_line_naming_the_file_and_line(name, lines, line, message,
                                                        tmp_path, capsys):
    path = tmp_path / "moves.jsonl"
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n"
                            for x in lines))
    out = tmp_path / "out" / "debrief.json"
    assert main(["play", str(CLASSROOM), "--as", "northland", "--moves", str(path),
                 "--debrief", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{path}: line {line}: " in err and message in err, err
    assert not out.exists() and not list(out.parent.glob("*"))


def test_a_package_counter_demand_names_every_open_issue(tmp_path, capsys):
    path = write_moves(tmp_path / "m.jsonl", [{"offer": {"water": 600}}])
    assert main(["play", str(RIVER), "--as", "lowland", "--moves", str(path)]) == 2
    err = capsys.readouterr().err
    assert "line 1: the offer leaves out border, commission" in err


def test_the_mediator_s_forms_only(tmp_path, capsys):
    path = write_moves(tmp_path / "m.jsonl", [{"offer": {"ceasefire": 0.1}}])
    assert main(["play", str(CLASSROOM), "--as", "mediator", "--moves", str(path)]) == 2
    assert '"offer" is a move of a delegation' in capsys.readouterr().err


def test_an_unknown_seat_is_one_line(capsys, tmp_path):
    path = write_moves(tmp_path / "m.jsonl", NORTHLAND)
    assert main(["play", str(CLASSROOM), "--as", "eastland", "--moves", str(path)]) == 2
    err = capsys.readouterr().err
    assert "allowed: northland, southland, mediator" in err and err.count("\n") == 1


def test_read_moves_skips_blank_lines_and_keeps_line_numbers(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text('\n{"hold": true}\n\n{"reject": true}\n')
    assert [(m.form, m.line) for m in read_moves(path)] == [("hold", 2), ("reject", 4)]


def test_the_transcript_keeps_private_information_out(capsys, tmp_path):
    """Printed while playing: Southland's red lines (0.6, 1,000) appear in no line
    before the round's end, though its offers reach 1,000 there."""
    path = write_moves(tmp_path / "m.jsonl", [{"offer": {"ceasefire": 0.1,
                                                         "pow_exchange": 1200}}])
    assert main(["play", str(CLASSROOM), "--as", "northland", "--moves", str(path)]) == 0
    out = capsys.readouterr().out
    assert "red line" not in out and "BATNA (" not in out
    assert "Time is up on the prisoner exchange" in out


def test_a_counter_demand_is_heard_as_objections():
    """River basin as Lowland: a counter-demand asking more than the text on every
    issue truncates the mediator's belief about Lowland's red lines (beliefs.learn)
    and the text is redrafted; holding tells it nothing."""
    game = new_game(load_scenario(RIVER), "lowland", 3)
    counter = replay(game, moves({"offer": {"water": 900, "border": 0.0,
                                            "commission": 2}}, {"walk_out": True}))
    held = replay(game, moves({"hold": True}, {"walk_out": True}))
    before = held.model.mediator.believed["lo"][0, 1]
    after = counter.model.mediator.believed["lo"][0, 1]
    assert (after != before).any()
    assert counter.model.history[1].text != counter.model.history[0].text


def test_seats_go_round_robin_or_to_the_one_named(tmp_path):
    from sim.teach.classroom import Classroom

    scenario = load_scenario(CLASSROOM)
    room = Classroom(scenario, tmp_path / "a", 3, 10, None)
    room.start()
    tickets = [room.ticket() for _ in range(4)]
    assert [(t.seat, t.seed) for t in tickets[:3]] == [("northland", 10), ("southland", 11),
                                                      ("northland", 12)]
    assert tickets[3] is None
    fixed = Classroom(scenario, tmp_path / "b", 2, 0, "Mediator")
    assert {fixed.seat_of(k) for k in range(2)} == {"mediator"}


# --------------------------------------------------------------------------- docs/classroom.md
# Each test below holds a sentence of docs/classroom.md about what `play` does or shows.
SOUTHLAND_800 = {"offer": {"ceasefire": 0.9, "pow_exchange": 800}}


def drawn_classroom():
    """The classroom round with Southland's exchange willingness drawn (its red line
    anywhere from 600 to 1400), so that replicates differ."""
    text = CLASSROOM.read_text().replace("exchange_willingness = 0.5 ",
                                         "exchange_willingness = [0.0, 1.0] ")
    return parse_scenario(text, CLASSROOM)


def test_the_round_is_replicate_0_of_the_batch():
    """"The round is replicate 0 of `negsim run SCENARIO --seed S --runs 2000`": the
    game's round, played by the model's agents in every seat, ends as row 0 of that
    batch, for a scenario whose replicates differ."""
    from sim.model.round import NegotiationRound

    scenario = drawn_classroom()
    batch = run_scenario(scenario, COMPARISON_RUNS, 7)
    assert COMPARISON_RUNS == 2000 and batch["pow_exchange_value"].nunique() > 3
    game = new_game(scenario, "northland", 7)
    alone = NegotiationRound(game.setup).run().outcomes()
    for column, values in alone.items():
        row = batch[column].iloc[0]
        assert row == values[0] or (pd.isna(row) and pd.isna(values[0])), column


def test_turns_come_when_something_changes_and_every_10_minutes():
    """"you are asked to move when something you can see changes ... and at least every
    10 minutes": as Northland holding 1,000, a turn the minute after each of Southland's
    new offers (every 20 minutes while it concedes), and no two turns more than 10
    minutes apart while the round runs."""
    game = new_game(load_scenario(CLASSROOM), "northland", 0)
    played = replay(game, moves(*NORTHLAND))
    turns = [t.minute for t in played.seat.turns]
    assert all(b - a <= 10 for a, b in pairwise(turns))
    changes = [b.minute for a, b in pairwise(played.model.history)
               if b.item == "pow_exchange" and a.offers[1] != b.offers[1]]
    agreed = played.model.outcomes()["pow_exchange_minute"][0]
    assert changes[-1] + 1 == agreed  # its last offer is 1,000: agreed at once
    assert {c + 1 for c in changes[:-1]} <= set(turns)
    assert turns[-1] >= agreed - 10  # then nothing is left to decide


def test_an_offer_stands_and_a_text_as_good_is_accepted_until_rejected():
    """"an offer stands, and any text at least as good for you on every issue is
    accepted ...; Reject refuses texts until your next move": Southland offers 800
    prisoners per side and holds: Midland's texts of 700 (fewer, as Southland wants) are
    accepted at every minute, and 800 is agreed at minute 70. The same offer, then
    Reject at every turn: no text is accepted and nothing is agreed."""
    game = new_game(load_scenario(CLASSROOM), "southland", 0)
    held = replay(game, moves(SOUTHLAND_800))
    texts = [r for r in held.model.history if r.item == "pow_exchange" and r.proposal]
    assert {r.proposal for r in texts} == {700.0, 800.0}
    assert all(r.accepted[1] for r in texts)
    assert held.model.outcomes()["pow_exchange_value"][0] == 800.0
    with pytest.raises(BadMove, match="the round is over") as over:
        replay(game, moves(SOUTHLAND_800, *[{"reject": True}] * 60))
    rejecting = replay(game, moves(SOUTHLAND_800, *[{"reject": True}] * (over.value.line - 2)))
    texts = [r for r in rejecting.model.history if r.item == "pow_exchange" and r.proposal]
    assert texts and not any(r.accepted[1] for r in texts)
    assert not rejecting.model.outcomes()["pow_exchange_agreed"][0]


def test_a_mediator_s_caucus_stops_the_talks_and_narrows_its_belief():
    """As the River Council: a caucus with Lowland; no minute of talks for the
    scenario's caucus minutes, and the mediator's interval for Lowland's red lines is
    narrower after it (on two of the three issues, wider on none)."""
    scenario = load_scenario(RIVER)
    game = new_game(scenario, "mediator", 0)
    lowland = role_of(scenario, "lowland").party
    before = replay(game, [], wait=True)
    after = replay(game, moves({"caucus": "lowland"}), wait=True)
    start, caucus = before.model.minute, scenario.mediator.caucus_minutes
    assert after.model.minute == start + caucus
    assert not {r.minute for r in after.model.history} & set(range(start, start + caucus))

    def width(played):
        return played.model.mediator.believed["hi"][0, lowland] - \
            played.model.mediator.believed["lo"][0, lowland]
    assert (width(after) <= width(before)).all() and (width(after) < width(before)).sum() >= 2


def test_the_mediator_is_scored_by_the_mean_of_the_sides(tmp_path):
    """"The debrief scores a mediator by the mean of the sides' utilities": 700 agreed,
    Northland (1/3)(300/1600), Southland (1/3)(300/400); mean 0.15625; the Nash point."""
    out = tmp_path / "mediator.json"
    path = write_moves(tmp_path / "m.jsonl", [{"park": "ceasefire"},
                                              {"text": {"pow_exchange": 700}}])
    assert main(["play", str(CLASSROOM), "--as", "mediator", "--moves", str(path),
                 "--debrief", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["point"] == pytest.approx([300 / 1600 / 3, 300 / 400 / 3])
    assert data["utility"] == pytest.approx(np.mean(data["point"])) == 0.15625
    assert data["outcome"]["pow_exchange"] == 700.0 and data["nash_distance"] == 0.0


def test_the_model_s_northland_agrees_at_800_in_every_round():
    """docs: "(the model's Northland agrees at 800 in every round)"; and the debrief
    reveals the others' BATNAs as well as their red lines."""
    batch = run_scenario(load_scenario(CLASSROOM), COMPARISON_RUNS, 0)
    assert (batch["pow_exchange_value"] == 800.0).all()
    game = new_game(load_scenario(CLASSROOM), "northland", 0)
    data = debrief(replay(game, moves(*NORTHLAND)))
    assert data["model"]["runs"] == 2000
    assert data["revealed"]["Southland"]["batna"] == 0.0
    assert set(data["revealed"]) == {"Southland"}


def test_the_debrief_figure_shows_the_plane(tmp_path):
    """"a figure of that plane: the frontier, the Nash point, both BATNAs, the model's
    rounds and your outcome": the legend of the figure written beside the debrief."""
    from sim.teach.play_debrief import figure

    game = new_game(load_scenario(CLASSROOM), "northland", 0)
    played = replay(game, moves(*NORTHLAND))
    fig = figure(played, debrief(played))
    labels = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    for label in ("Pareto frontier", "Nash point", "BATNAs (Northland 0.00, Southland 0.00)",
                  "the model's rounds", "your outcome (Northland)"):
        assert any(label in shown for shown in labels), (label, labels)


def test_play_help_lists_the_forms_and_the_default_page(capsys):
    """"`negsim play --help` lists the forms of a delegation and of the mediator"; the
    page's default address is http://127.0.0.1:8766/."""
    with pytest.raises(SystemExit):
        main(["play", "--help"])
    shown = capsys.readouterr().out
    for form in ('{"offer": {"ISSUE": VALUE, ...}}', '{"accept": true}', '{"reject": true}',
                 '{"hold": true}', '{"caucus": true}', '{"walk_out": true}',
                 '{"text": {"ISSUE": VALUE, ...}}', '{"item": "ISSUE"}', '{"park": "ISSUE"}',
                 '{"lever": "NAME"}', '{"caucus": "PARTY"}'):
        assert form in shown, form
    assert "default 127.0.0.1" in shown and "default 8766" in shown


def test_a_file_game_prints_its_transcript(tmp_path, capsys):
    """"It prints the transcript and writes the debrief and its figure"."""
    path = write_moves(tmp_path / "m.jsonl", NORTHLAND)
    out = tmp_path / "northland.json"
    assert main(["play", str(CLASSROOM), "--as", "northland", "--moves", str(path),
                 "--debrief", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "Agreed: prisoner exchange at 1,000 prisoners per side." in shown
    assert f"wrote {out}" in shown
