"""The compiled engine against the numpy engine, its oracle: on every scenario file (as it
is, and under both protocols with private and public information), on the hand-solvable
cases of tests/test_bargaining.py and on random scenarios, both engines give the same
outcomes, every column bit for bit, and leave the agents in the same state."""

from __future__ import annotations

import threading
import time
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_bargaining import (
    A_RANGE,
    B_RANGE,
    CLOSED_A,
    CLOSED_B,
    LEVER,
    ONE_ISSUE,
    PIE,
    logroll_text,
    two_sides,
)

from sim.batch.chunks import chunk_rng
from sim.model import compiled_round, compiled_rules, rules
from sim.model.agents import ItemStatus
from sim.model.parameters import realise
from sim.model.round import NegotiationRound
from sim.scenario.load import load_scenario, parse_scenario
from sim.scenario.overrides import with_values

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted(p for p in (ROOT / "scenarios").glob("*.toml")
                   if not p.name.startswith("campaign-"))
#: the as-of scenarios of the track record (each a past round on one base of priors)
TRACK = sorted((ROOT / "scenarios" / "track").glob("*.toml"))


def both_engines(setup):
    """The numpy and the compiled model of a setup, each run to its end."""
    return NegotiationRound(setup).run(), NegotiationRound(setup, compiled=True).run()


def assert_same(setup) -> pd.DataFrame:
    """Identical outcome columns (NaN where NaN, text where text) and the same final
    state of the model and its agents. Returns the outcomes."""
    numpy_model, compiled_model = both_engines(setup)
    ours, theirs = numpy_model.outcomes(), compiled_model.outcomes()
    assert list(ours) == list(theirs)
    for column, values in ours.items():
        assert values.dtype == theirs[column].dtype, column
        np.testing.assert_array_equal(theirs[column], values, err_msg=column, strict=True)
    for name in ("status", "value", "settled", "agreed_minute", "duration", "walkout_party",
                 "walk_reason", "text", "open_", "package_pressure", "minute"):
        np.testing.assert_array_equal(getattr(compiled_model, name),
                                      getattr(numpy_model, name), err_msg=name)
    for ours_d, theirs_d in zip(numpy_model.delegations, compiled_model.delegations,
                                strict=True):
        for name in ("frustration", "belief_lo", "belief_hi"):
            np.testing.assert_array_equal(getattr(theirs_d, name), getattr(ours_d, name),
                                          err_msg=name)
    ours_m, theirs_m = numpy_model.mediator, compiled_model.mediator
    for key in ("lo", "hi", "red_line", "reserve", "zone_lo", "zone_hi", "nash"):
        np.testing.assert_array_equal(theirs_m.believed[key], ours_m.believed[key],
                                      err_msg=key)
    np.testing.assert_array_equal(theirs_m.target, ours_m.target)
    np.testing.assert_array_equal(theirs_m.target_value, ours_m.target_value)
    # what each side says it needs: a utility in [0, 1], its aspiration, through the
    # concession curve's power: numpy's ``**``, the kernel's ``concession_power``, within
    # (5e-15 * inverse + 4e-16) of it relatively, so of a fraction at most 1 absolutely
    # (test_the_concession_power_is_the_power_within_its_rounding); numpy's SIMD pow
    # adds its last bit, 1.1e-16 of a fraction near 1 (a demand near 0: a side conceded
    # to its reservation)
    inverse = 1.0 / np.min(setup.concession) if setup.concession.size else 1.0
    np.testing.assert_allclose(compiled_model.demands, numpy_model.demands, rtol=0.0,
                               atol=5e-15 * inverse + 1e-15)
    return pd.DataFrame(ours)


# ------------------------------------------------------------------ scenario files
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_scenario_file_gives_the_same_outcomes(path):
    frame = assert_same(realise(load_scenario(path), 3000, chunk_rng(7, 0)))
    assert frame["duration_minutes"].notna().all()


@pytest.mark.parametrize("path", TRACK, ids=lambda p: p.stem)
def test_every_track_record_scenario_gives_the_same_outcomes(path):
    frame = assert_same(realise(load_scenario(path), 400, chunk_rng(5, 0)))
    assert frame["duration_minutes"].notna().all()


@pytest.mark.parametrize("protocol", ["package", "sequential"])
@pytest.mark.parametrize("private", [False, True])
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_scenario_under_both_protocols_and_informations(path, protocol, private):
    """The shipped files are sequential with public information: here each runs under
    every protocol and information, with caucuses and BATNAs that make sides weigh
    leaving (so that every rule of the round is used)."""
    values = {"round.protocol": protocol, "mediator.caucuses": 1,
              "information": {"private": private, "prior_width": 0.5, "caucus_noise": 0.2}}
    scenario = with_values(path, values)
    names = [p.key for p in scenario.parties]
    values |= {f"parties.{names[0]}.batna": [0.0, 0.3],
               f"parties.{names[0]}.discount_per_hour": 0.2,
               f"parties.{names[-1]}.bluff": [0.0, 0.1]}
    setup = realise(with_values(path, values), 800, chunk_rng(3, 1))
    assert_same(setup)


# ------------------------------------------------------------------ the bargaining cases
def logroll_cut_text(protocol: str, private: bool) -> str:
    """The logroll with 7 minutes an issue: a package parks its hardest issue after 14
    (item_minutes for each issue of the text), then the last after 7 more."""
    return logroll_text(protocol, private, item_minutes=7)


def pie_text(protocol: str, private: bool) -> str:
    a = "discount_per_hour = 0.1\n[parties.a.issues.pie]\nwants = \"more\"\n" \
        "ideal = 10000\nred_line = 0\n"
    b = "discount_per_hour = 0.3\n[parties.b.issues.pie]\nwants = \"less\"\nideal = 0\n" \
        "red_line = 10000\n"
    return two_sides(protocol, PIE, a, b, private=private, deadline=1e6, patience=1440)


def private_text(protocol: str, private: bool) -> str:
    return two_sides(protocol, ONE_ISSUE, "bluff = [0.0, 0.1]\n" + A_RANGE,
                     "bluff = [0.0, 0.1]\n" + B_RANGE, private=private, noise=0.2,
                     patience=90, mediator="credibility = 0.05\ncaucuses = 2")


def batna_text(protocol: str, private: bool) -> str:
    return two_sides(protocol, ONE_ISSUE, "batna = 0.2\ndiscount_per_hour = 0.2\n" + A_RANGE,
                     B_RANGE, private=private, noise=0.2, patience=90,
                     mediator="credibility = 0.05")


def lever_text(protocol: str, private: bool) -> str:
    return two_sides(protocol, ONE_ISSUE, CLOSED_A, CLOSED_B, private=private,
                     mediator=LEVER.format(budget=1))


@pytest.mark.parametrize("protocol", ["package", "sequential"])
@pytest.mark.parametrize("private", [False, True])
@pytest.mark.parametrize("case", [logroll_text, logroll_cut_text, pie_text, private_text,
                                  batna_text, lever_text], ids=lambda f: f.__name__)
def test_the_bargaining_cases_give_the_same_outcomes(case, protocol, private):
    scenario = parse_scenario(case(protocol, private), "case.toml")
    assert_same(realise(scenario, 400, chunk_rng(0, 0)))


def test_quiet_stretches_end_where_a_minute_would_differ():
    """The compiled engine skips the minutes of an item in which only frustration moves
    (``compiled_round._quiet_until``); each way such a stretch must end is exercised
    here and gives the numpy engine's outcomes: a walk-out when frustration passes a
    side's patience while the other accepts, an item timed out, one parked (no zone;
    a linkage unmet), offers crossing, and a side coming round to the text. With a
    deadline of 20 minutes every side has conceded fully before the second item, whose
    stretches are then found without a probe (``_conceded``), with the offers apart
    (no zone) and crossed (a linkage unmet)."""
    statuses = set()  # ItemStatus values
    for deadline in (60, 20):
        text = two_sides("sequential", TWO_ITEMS, A_RANGE + A_Y, B_RANGE + B_Y,
                         noise=0.3, patience=120, item_minutes=40, deadline=deadline)
        text = text.replace("opening_minutes = 0", "opening_minutes = [0, 12]")
        setup = realise(parse_scenario(text, "quiet.toml"), 3000, chunk_rng(0, 0))
        frame = assert_same(setup)
        assert (frame["walkout_party"] == "a").any() and (frame["walkout_party"] == "b").any()
        model = NegotiationRound(setup, compiled=True).run()
        statuses |= set(np.unique(model.status).tolist())
    assert {ItemStatus.AGREED, ItemStatus.PARKED, ItemStatus.TIMED_OUT} <= statuses


TWO_ITEMS = """
[issues.x]
kind = "count"
max = 1000
step = 10
[issues.y]
kind = "share"
step = 0.05
[agenda]
items = ["x", "y"]
"""
A_Y = """[parties.a.issues.y]
wants = "more"
ideal = 1.0
red_line = [0.3, 0.9]
[[parties.a.linkage]]
issue = "y"
requires = "x"
at_least = 500
"""
B_Y = """[parties.b.issues.y]
wants = "less"
ideal = 0.0
red_line = [0.2, 0.7]
"""


# ------------------------------------------------------------------ random scenarios
KINDS = {
    "count": ('kind = "count"\nmax = 1000\nstep = {step}', 1000.0),
    "share": ('kind = "share"\nstep = 0.05', 1.0),
    "ordinal": ('kind = "ordinal"\nlevels = ["none", "some", "much", "all"]', 3.0),
    "yes_no": ('kind = "yes_no"', 1.0),
}


@st.composite
def random_scenario(draw) -> str:
    """A scenario of 2 or 3 sides over 1 to 4 issues, with every mechanism drawn: the
    protocol, information and caucuses, format, proposal rule, agenda order, BATNAs,
    costs of delay, bluffs, linkage, a mediator's stakes and levers."""
    issues = draw(st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=4))
    names = [f"i{k}" for k in range(len(issues))]
    parties = ["a", "b", "c"][:draw(st.integers(2, 3))]
    lines = ["[round]", 'name = "random"', f"deadline_minutes = {draw(st.integers(20, 120))}",
             f"max_minutes = {draw(st.integers(30, 200))}",
             f"opening_minutes = [0, {draw(st.integers(0, 15))}]",
             f"closing_minutes = {draw(st.integers(0, 5))}",
             f'protocol = "{draw(st.sampled_from(["package", "sequential"]))}"',
             "[information]", f"private = {str(draw(st.booleans())).lower()}",
             f"prior_width = {draw(st.sampled_from([0.2, 0.5, 1.0]))}",
             f"caucus_noise = {draw(st.sampled_from([0.0, 0.1, 0.3]))}",
             "[context]", f"third_party_pressure = [0, {draw(st.sampled_from([0, 0.3]))}]",
             f"concession_noise = {draw(st.sampled_from([0.0, 0.3]))}",
             f"walkout_shape = {draw(st.sampled_from([2, 1000]))}"]
    for name, kind in zip(names, issues, strict=True):
        body, _ = KINDS[kind]
        lines += [f"[issues.{name}]", body.format(step=draw(st.sampled_from([1, 10, 50])))]
    lines += ["[agenda]", f"items = {names}"]
    lines += ["[mediator]", 'name = "M"',
              f'proposal_rule = "{draw(st.sampled_from(["nash", "split_difference"]))}"',
              f'agenda_order = "{draw(st.sampled_from(["as_listed", "easiest_first"]))}"',
              f"pressure = [0, {draw(st.sampled_from([0, 0.3]))}]",
              f"credibility = [0, {draw(st.sampled_from([0.0, 0.1]))}]",
              f"exploration_minutes = {draw(st.integers(1, 10))}",
              f"item_minutes = {draw(st.integers(5, 60))}",
              f"informed = {str(draw(st.booleans())).lower()}",
              f'format = "{draw(st.sampled_from(["direct", "proximity"]))}"',
              f"caucuses = {draw(st.integers(0, 3))}",
              f"caucus_minutes = {draw(st.integers(1, 5))}",
              f"shuttle_minutes = {draw(st.integers(1, 4))}"]
    if draw(st.booleans()):  # a mediator with stakes of its own
        stake = draw(st.sampled_from(names))
        top = KINDS[issues[names.index(stake)]][1]
        lines += [f"bias = {draw(st.sampled_from([0.5, 2.0]))}",
                  f"[mediator.stakes.{stake}]", f"ideal = {top / 2}", "salience = 1"]
    if draw(st.booleans()):  # levers and a budget
        lines.insert(lines.index('name = "M"') + 1, f"budget = {draw(st.integers(0, 2))}")
        for k in range(draw(st.integers(1, 2))):
            lines += ["[[mediator.levers]]", f'name = "lever {k}"',
                      f'party = "{draw(st.sampled_from(parties))}"',
                      f"utility = {draw(st.sampled_from([0.1, 0.3]))}",
                      f"batna = {draw(st.sampled_from([-0.2, 0.0, 0.1]))}", "cost = 1"]
    for n, party in enumerate(parties):
        lines += [f"[parties.{party}]", f"concession = [{draw(st.sampled_from([0.3, 1]))}, 2]",
                  f"patience = [{draw(st.integers(10, 60))}, 120]",
                  f"bargaining_power = {draw(st.sampled_from([0.5, 1, 2]))}",
                  f"batna = [0, {draw(st.sampled_from([0, 0.2, 0.5]))}]",
                  f"discount_per_hour = {draw(st.sampled_from([0, 0.1, 0.5]))}",
                  f"bluff = [0, {draw(st.sampled_from([0, 0.2]))}]"]
        for name, kind in zip(names, issues, strict=True):
            top = KINDS[kind][1]
            wants = "more" if (n + draw(st.integers(0, 3)) // 3) % 2 == 0 else "less"
            ideal, far = (top, 0.0) if wants == "more" else (0.0, top)
            a, b = sorted(draw(st.floats(0, 1)) for _ in range(2))
            red = [far + (ideal - far) * a, far + (ideal - far) * b]
            if kind in ("ordinal", "yes_no"):
                red = [round(v) for v in red]
            lines += [f"[parties.{party}.issues.{name}]", f'wants = "{wants}"',
                      f"ideal = {ideal}", f"red_line = {sorted(red)}",
                      f"salience = [0.2, {draw(st.sampled_from([0.2, 2]))}]"]
        if len(names) > 1 and draw(st.booleans()):  # tie one issue to another
            issue, requires = draw(st.permutations(names))[:2]
            top = KINDS[issues[names.index(requires)]][1]
            lines += [f"[[parties.{party}.linkage]]", f'issue = "{issue}"',
                      f'requires = "{requires}"', f"at_least = {top / 3}"]
    return "\n".join(lines) + "\n"


@settings(max_examples=60)
@given(random_scenario(), st.integers(0, 2**31))
def test_random_scenarios_give_the_same_outcomes(text, seed):
    scenario = parse_scenario(text, "random.toml")
    assert_same(realise(scenario, 64, np.random.default_rng(seed)))
    assert_same_setup(scenario, 64, seed)


# ------------------------------------------------------------------ realise's kernels
def assert_same_setup(scenario, n: int, seed: int) -> None:
    """``realise(..., compiled=True)`` (plain issues' positions, compound levels, zones
    and Nash points by the compiled kernels) gives the numpy ``realise``'s setup, every
    array bit for bit."""
    ours = realise(scenario, n, chunk_rng(seed, 0))
    theirs = realise(scenario, n, chunk_rng(seed, 0), compiled=True)
    for field in fields(ours):
        a, b = getattr(ours, field.name), getattr(theirs, field.name)
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(b, a, err_msg=field.name, strict=True)
        elif isinstance(a, dict):
            assert list(a) == list(b), field.name
            for key in a:
                np.testing.assert_array_equal(b[key], a[key], err_msg=key, strict=True)
        else:
            assert a == b, field.name


@pytest.mark.parametrize("path", SCENARIOS + TRACK, ids=lambda p: p.name)
def test_realise_s_compiled_kernels_give_the_numpy_setup(path):
    """On every scenario file and every round of the track record, as filed and under
    the other protocol with private information (an uninformed mediator: no Nash
    points drawn up front)."""
    scenario = load_scenario(path)
    assert_same_setup(scenario, 2000, 1)
    other = "package" if scenario.round.protocol.value == "sequential" else "sequential"
    assert_same_setup(with_values(path, {"round.protocol": other,
                                         "information.private": True}), 500, 2)


@pytest.mark.parametrize("levelled", [False, True])
@pytest.mark.parametrize("rule", ["plain", "exchange", "contested"])
@pytest.mark.parametrize("wants", [1, -1])
def test_plain_positions_are_the_numpy_chain_s(levelled, rule, wants):
    """``compiled.plain_positions`` against ``_level``, ``_same_side`` and
    ``rules.effective_red_line`` as ``parameters._draw_party`` chains them, bit for bit,
    for every rule and direction: red lines past the ideal, levels at a half (rounded
    to even), willingness and momentum outside [0, 1], NaN."""
    from sim.model.compiled import plain_positions
    from sim.model.parameters import _same_side

    rng = np.random.default_rng(4)
    n, parties, issues, p, i = 4000, 2, 3, 1, 2
    ideal_drawn = rng.choice([0.5, 1.5, 2.5, -0.5], n) if levelled else rng.uniform(-2, 2, n)
    red_drawn = np.where(rng.random(n) < 0.5, rng.uniform(-2, 2, n), rng.choice(
        [0.5, 2.5, -1.5], n))
    willingness, momentum = rng.uniform(-0.5, 1.5, n), rng.uniform(-0.5, 1.5, n)
    for a in (ideal_drawn, red_drawn, willingness, momentum):
        a[rng.random(n) < 0.02] = np.nan
    ideal, red = np.full((n, parties, issues), 7.0), np.full((n, parties, issues), 7.0)
    plain_positions(ideal_drawn, red_drawn, willingness, momentum, wants, levelled,
                    rule == "exchange", rule == "contested", p, i, ideal, red)
    expected_ideal = np.round(ideal_drawn) if levelled else ideal_drawn
    nominal = _same_side(np.round(red_drawn) if levelled else red_drawn, expected_ideal,
                         wants)
    expected_red = rules.effective_red_line(expected_ideal, nominal, wants, willingness,
                                            momentum, rule == "exchange",
                                            rule == "contested")
    np.testing.assert_array_equal(ideal[:, p, i], expected_ideal, strict=True)
    np.testing.assert_array_equal(red[:, p, i], expected_red, strict=True)
    others = np.ones((n, parties, issues), bool)
    others[:, p, i] = False
    assert np.all(ideal[others] == 7.0) and np.all(red[others] == 7.0)  # its cell alone


def test_the_concession_power_is_the_power_within_its_rounding():
    """``concession_power`` (the concession curve's power as the exp of a table's log
    plus the rate's) against 40-digit arithmetic of ``(since * (1 + pressure) /
    horizon) ** inverse`` on random clocks over the loader's ranges: within
    ``(5e-15 * inverse + 4e-16)`` relatively, as its docstring says; exactly 0 and 1
    where the clock is 0 or has run out, and C's ``pow`` past the table's minutes; and
    non-decreasing minute by minute once clipped, which the quiet stretches' search
    relies on."""
    from decimal import Decimal, localcontext

    rng = np.random.default_rng(11)
    table = compiled_rules.LOG_MINUTES.size
    worst = 0.0
    with localcontext() as exact:
        exact.prec = 40
        for _ in range(3000):
            since = float(rng.integers(0, table + 200))
            pressure = float(rng.choice([0.0, rng.uniform(0.0, 3.0)]))
            horizon = float(np.exp(rng.uniform(0.0, np.log(1e6))))
            inverse = 1.0 / (rng.uniform(0.05, 20.0) * rng.lognormal(0.0, 0.5))
            log_rate = np.log((1.0 + pressure) / horizon)
            share = min(max(since / horizon * (1.0 + pressure), 0.0), 1.0)
            ours = compiled_rules.concession_power(share, since, log_rate, inverse)
            if share in (0.0, 1.0) or since >= table:
                assert ours == compiled_rules.power(share, inverse), (since, share)
                assert share != 1.0 or ours == 1.0
                continue
            truth = (Decimal(since) * (1 + Decimal(pressure)) / Decimal(horizon))
            truth = (truth.ln() * Decimal(inverse)).exp()
            if truth < Decimal("1e-300"):  # the double's range: both underflow alike
                continue
            error = abs(Decimal(ours) / truth - 1)
            assert error <= Decimal(5e-15 * inverse + 4e-16), (since, share, inverse, error)
            worst = max(worst, float(error) / (5e-15 * inverse + 4e-16))
    assert worst > 0.01  # the bound is of the rounding's size, not of no error at all
    for trial in range(40):  # minute by minute, one rate and one exponent
        horizon = float(rng.uniform(1.0, 4000.0))
        pressure, inverse = float(rng.uniform(0.0, 2.0)), float(1.0 / rng.uniform(0.05, 20.0))
        log_rate = np.log((1.0 + pressure) / horizon)
        fractions = [min(max(compiled_rules.concession_power(
            min(max(t / horizon * (1.0 + pressure), 0.0), 1.0), t, log_rate, inverse),
            0.0), 1.0) for t in np.arange(0.0, min(horizon / (1.0 + pressure) + 3, table))]
        assert fractions[0] == 0.0 and np.all(np.diff(fractions) >= 0.0), trial


def test_the_compiled_nash_point_is_the_scan_s_on_random_zones():
    """``compiled_rules.nash_point`` climbs from an estimate instead of scoring every
    grid point; on random zones (two and three sides, the sides' wants either way,
    zones wider than the grid so that it zooms, bounds a point or two past a red line
    where a score is -inf, zones of one point, a mediator's own stakes, a side with no
    power, satiated sides tying over a run of points) it picks ``rules.nash_point``'s
    point."""
    rng = np.random.default_rng(5)
    ks, scores = np.empty(256, np.int64), np.empty(256)
    n = 400
    for trial in range(60):
        parties = 3 if trial % 4 == 3 else 2
        step = float(rng.choice([1.0, 0.05, 0.25, 10.0]))
        scale = 40.0 if trial % 3 == 0 else 1.0  # wider than the grid of 256: a zoom
        ideal = rng.uniform(-50, 50, (n, parties)) * step * scale
        red = rng.uniform(-50, 50, (n, parties)) * step * scale
        power = rng.uniform(0.05, 3.0, (n, parties))
        kind = rng.random(n)
        power[kind < 0.05, 0] = 0.0  # a NaN score (0 * -inf): the scan's middle
        ties = (kind > 0.05) & (kind < 0.25)  # ideals inside the zone: satiated sides tie
        ideal[ties] = 0.5 * (red[ties, :1] + red[ties, 1:2])
        wants = np.where(ideal > red, 1.0, -1.0)
        lo = np.max(np.where(wants > 0, red, -np.inf), axis=1)
        hi = np.min(np.where(wants < 0, red, np.inf), axis=1)
        lo = np.where(np.isfinite(lo), lo, ideal.min(axis=1))
        hi = np.where(np.isfinite(hi), hi, ideal.max(axis=1))
        k_lo = np.ceil(lo / step - rules.EPS).astype(np.int64) - rng.integers(0, 3, n)
        k_hi = np.floor(hi / step + rules.EPS).astype(np.int64) + rng.integers(0, 3, n)
        k_hi = np.where(rng.random(n) < 0.1, k_lo, k_hi)  # zones of one point, taken unscored
        pull = float(rng.uniform(0.0, 2.0)) if trial % 2 else 0.0
        pull_ideal, pull_span = float(rng.uniform(-50, 50) * step), 100.0 * step
        expected = rules.nash_point(ideal, red, wants, power, k_lo, k_hi, step,
                                    pull=np.full(n, pull), pull_ideal=pull_ideal,
                                    pull_span=pull_span)
        got = np.array([compiled_rules.nash_point(
            ideal[r], red[r], wants[r], power[r], k_lo[r], k_hi[r], step, pull, pull_ideal,
            pull_span, ks, scores) for r in range(n)])
        np.testing.assert_array_equal(got, expected, err_msg=f"trial {trial}")


def test_a_recorded_round_runs_on_numpy():
    setup = realise(load_scenario(SCENARIOS[0]), 1, chunk_rng(0, 0))
    with pytest.raises(ValueError, match="numpy engine"):
        NegotiationRound(setup, record=True, compiled=True)


def test_the_minute_loop_lets_other_threads_run(monkeypatch):
    """The kernel lets go of Python's lock while it runs (``nogil``): a batch's pool
    threads hand the workers their chunks meanwhile (``sim.batch.executors.local``).
    A thread taking the time as often as it can leaves no gap as long as half the
    kernel's run; holding the lock, the kernel would leave one as long as its run."""
    june = load_scenario(ROOT / "scenarios" / "june-20-30-2025.toml")
    NegotiationRound(realise(june, 100, chunk_rng(0, 0), compiled=True), compiled=True).run()
    setup = realise(june, 65_536, chunk_rng(0, 1), compiled=True)
    window = []
    real = compiled_round.run_replicates

    def timed(*args):
        window.append(time.perf_counter())
        minute = real(*args)
        window.append(time.perf_counter())
        return minute

    monkeypatch.setattr(compiled_round, "run_replicates", timed)
    ticks, done = [], threading.Event()

    def tick():
        while not done.is_set():
            ticks.append(time.perf_counter())

    thread = threading.Thread(target=tick)
    thread.start()
    try:
        NegotiationRound(setup, compiled=True).run()
    finally:
        done.set()
        thread.join()
    start, end = window
    inside = [start, *(t for t in ticks if start < t < end), end]
    assert end - start > 0.02  # the kernel ran long enough to tell
    assert max(np.diff(inside)) < (end - start) / 2
