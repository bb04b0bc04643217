"""The round engine end to end: hand-solved rounds, closed forms, invariants,
determinism, and every scenario file."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.batch.chunks import chunk_bounds, run_chunk, run_scenario
from sim.model.agents import ItemStatus
from sim.model.parameters import realise
from sim.model.round import NegotiationRound
from sim.scenario.load import load_scenario, parse_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
CLASSROOM = SCENARIOS / "classroom-two-party.toml"
#: round scenarios (campaign files, which hold a [campaign] table, are tested apart)
ROUNDS = sorted(p for p in SCENARIOS.glob("*.toml") if "\n[campaign]" not in p.read_text())


def run(scenario, n=1, seed=0, record=False):
    setup = realise(scenario, n, np.random.default_rng(seed))
    return NegotiationRound(setup, record=record).run()


def classroom(**mediator) -> str:
    text = CLASSROOM.read_text()
    for key, value in mediator.items():
        text = text.replace(f"\n{key} = ", f"\n{key} = {value!r}\n#", 1)
    return text


def test_classroom_round_worked_out_by_hand():
    """docs/scenarios.md, "Worked example": the ceasefire is parked after five minutes
    of exploration; the offers on the exchange first cross in minute 70 (800 vs 900);
    the mediator's text is the point of the overlap nearest its Nash point (700): 800
    per side; the round lasts 71 + 5 minutes."""
    model = run(load_scenario(CLASSROOM), n=3, record=True)
    out = model.outcomes()
    assert out["pow_exchange_value"].tolist() == [800, 800, 800]
    assert out["duration_minutes"].tolist() == [76.0, 76.0, 76.0]
    assert out["ceasefire_level"].tolist() == [0, 0, 0]
    assert not out["walkout"].any()
    assert model.status[0].tolist() == [ItemStatus.PARKED, ItemStatus.AGREED]
    assert model.agreed_minute[0, 1] == 71  # agreed during minute 70
    parked = [m for m in model.history if m.status == ItemStatus.PARKED]
    assert [(m.minute, m.item) for m in parked] == [(14, "ceasefire")]
    last = model.history[-1]
    assert (last.minute, last.offers, last.proposal) == (70, (800.0, 900.0), 800.0)


@pytest.mark.parametrize("rule, expected", [("nash", 700), ("split_difference", 1000)])
def test_classroom_with_a_fully_credible_mediator(rule, expected):
    """Credibility 1: each side accepts any text inside its red line, so the first text
    is agreed in the item's first minute (15). Nash: 700, the Nash point of [400,
    1000] with Southland satiated at 600. Split: the offers 1900 and 600 split at
    1250, snapped into the zone: 1000."""
    text = classroom(credibility=1.0, proposal_rule=rule)
    model = run(parse_scenario(text, CLASSROOM))
    assert model.outcomes()["pow_exchange_value"].tolist() == [expected]
    assert model.outcomes()["duration_minutes"].tolist() == [21.0]


def pie_scenario(d1: float, d2: float, alpha: float) -> str:
    """A linear pie of 20,000: North gets x, South 20,000 - x; disagreement shares d1,
    d2; a fully credible mediator using the Nash rule."""
    return f"""
[round]
name = "linear pie"
opening_minutes = 0
protocol = "sequential"
[information]
private = false
[context]
concession_noise = 0.0
[issues.pow_exchange]
kind = "count"
max = 20000
step = 100
[agenda]
items = ["pow_exchange"]
[mediator]
name = "M"
credibility = 1.0
[parties.north]
bargaining_power = {alpha}
[parties.north.issues.pow_exchange]
wants = "more"
ideal = 20000
red_line = {d1 * 20000}
[parties.south]
bargaining_power = {1 - alpha}
[parties.south.issues.pow_exchange]
wants = "less"
ideal = 0
red_line = {(1 - d2) * 20000}
"""


@settings(max_examples=30, deadline=None)
@given(st.floats(0.0, 0.4), st.floats(0.0, 0.4), st.floats(0.1, 0.9))
def test_mediator_nash_proposal_on_a_linear_pie(d1, d2, alpha):
    """x1 = d1 + alpha (1 - d1 - d2) (STYLE.md), to within the lattice step."""
    model = run(parse_scenario(pie_scenario(d1, d2, alpha), "pie.toml"))
    share = model.outcomes()["pow_exchange_value"][0] / 20000
    assert share == pytest.approx(d1 + alpha * (1 - d1 - d2), abs=100 / 20000)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(ROUNDS))
def test_nothing_is_agreed_past_a_red_line(seed, path):
    model = run(load_scenario(path), n=200, seed=seed)
    agreed = model.status == ItemStatus.AGREED
    setup = model.setup
    for party in range(len(setup.party_names)):
        gap = setup.wants[party] * (model.value - setup.red_line[:, party])
        assert np.all(gap[agreed] >= -1e-9)
    assert np.all(np.isnan(model.value[~agreed]))


def test_concessions_never_reverse_within_a_round():
    model = run(load_scenario(SCENARIOS / "june-20-30-2025.toml"), seed=3, record=True)
    setup = model.setup
    for item in setup.issues:
        minutes = [m for m in model.history if m.item == item]
        i = setup.issues.index(item)
        for party in range(len(setup.party_names)):
            path = np.array([m.aspirations[party] for m in minutes])
            assert np.all(setup.wants[party, i] * np.diff(path) <= 1e-9), item


def test_walkout_ends_the_round_and_names_the_party():
    text = classroom().replace("patience = 600", "patience = 3", 1)  # Northland only
    model = run(parse_scenario(text, CLASSROOM), n=500, seed=1)
    out = model.outcomes()
    assert out["walkout"].mean() > 0.5
    assert set(out["walkout_party"][out["walkout"]]) == {"Northland"}
    assert np.all(np.isnan(out["pow_exchange_value"][out["walkout"]]))
    assert np.all(out["duration_minutes"][out["walkout"]] < 76)


@pytest.mark.parametrize("path", ROUNDS, ids=lambda p: p.name)
def test_every_scenario_file_loads_and_runs(path):
    scenario = load_scenario(path)
    frame = run_scenario(scenario, runs=300, seed=0)
    assert len(frame) == 300 and frame["run_id"].tolist() == list(range(300))
    assert frame["duration_minutes"].between(0, scenario.round.max_minutes
                                             + scenario.round.closing_minutes).all()
    for spec in scenario.issues:  # every issue's columns, with what they may hold
        done = frame[f"{spec.name}_agreed"]
        if spec.compound:
            assert frame[f"{spec.name}_level"].between(0, spec.top_level).all()
            assert (frame[f"{spec.name}_level"] >= 1).equals(done)
            assert frame.loc[~done, f"{spec.name}_conditions"].isna().all()
        else:
            value = frame[f"{spec.name}_value"]
            assert value.notna().equals(done)
            assert value[done].between(spec.scale.minimum, spec.scale.maximum).all()
        assert frame[f"{spec.name}_minute"].notna().equals(done)


def test_same_seed_same_table_other_seed_other_table():
    scenario = load_scenario(SCENARIOS / "june-20-30-2025.toml")
    a = run_scenario(scenario, runs=2000, seed=7, chunk_size=700)
    b = run_scenario(scenario, runs=2000, seed=7, chunk_size=700)
    pd.testing.assert_frame_equal(a, b)
    c = run_scenario(scenario, runs=2000, seed=8, chunk_size=700)
    assert not a.drop(columns="seed").equals(c.drop(columns="seed"))


def test_one_replicate_at_a_time_equals_the_vectorised_chunk():
    scenario = load_scenario(SCENARIOS / "june-20-30-2025.toml")
    setup = realise(scenario, 150, np.random.default_rng(11))
    together = pd.DataFrame(NegotiationRound(setup).run().outcomes())
    alone = pd.concat([pd.DataFrame(NegotiationRound(setup.select(slice(r, r + 1)))
                                    .run().outcomes()) for r in range(150)], ignore_index=True)
    text = {"walkout_party": "str"}  # as the batch types it (pandas infers none alike)
    pd.testing.assert_frame_equal(together.astype(text), alone.astype(text))
    assert together["walkout"].any() and together["pow_exchange_value"].gt(0).any()


def test_a_chunk_does_not_depend_on_the_others():
    scenario = load_scenario(SCENARIOS / "june-20-30-2025.toml")
    whole = run_scenario(scenario, runs=100, seed=5, chunk_size=40)
    assert list(chunk_bounds(100, 40)) == [(0, 40), (40, 40), (80, 20)]
    second = run_chunk(scenario, seed=5, chunk=1, first=40, count=40)
    pd.testing.assert_frame_equal(whole.iloc[40:80].reset_index(drop=True), second)


def test_linkage_reads_the_ceasefire_level():
    """Russia agrees to a leaders' meeting only once a ceasefire of level >= 1 is agreed
    (the variant's linkage): never without one, and in some rounds with one."""
    scenario = load_scenario(SCENARIOS / "june-20-30-2025-leaders-meeting.toml")
    frame = run_scenario(scenario, runs=4000, seed=2)
    with_ceasefire = frame["ceasefire_level"] >= 1
    leaders = frame["leaders_meeting_value"] == 1
    assert not leaders[~with_ceasefire].any()
    assert leaders[with_ceasefire].mean() > 0.2
