"""The bargaining theory the model carries, each held to a case that can be worked out:
logrolling in a package (Raiffa 1982), patience as power (Rubinstein 1982), private
information (Myerson & Satterthwaite 1983), BATNA (Fisher & Ury 1981), manipulative
mediation (Touval & Zartman 1985), and the invariants every protocol keeps."""

from __future__ import annotations

import math
from itertools import product
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.batch.chunks import chunk_rng, run_scenario
from sim.model import rules
from sim.model.agents import ItemStatus
from sim.model.beliefs import _level_guess
from sim.model.parameters import realise
from sim.model.round import NegotiationRound
from sim.scenario.load import parse_scenario
from sim.scenario.overrides import with_values

PROTOCOLS = ("package", "sequential")
JUNE = Path(__file__).resolve().parent.parent / "scenarios" / "june-20-30-2025.toml"


def two_sides(protocol: str, issues: str, a: str, b: str, *, private: bool = False,
              extra_round: str = "", mediator: str = "", deadline: float = 60,
              noise: float = 0.0, patience: float = 1000, item_minutes: int = 1440) -> str:
    """A scenario of sides ``a`` (wants more) and ``b`` (wants less) over ``issues``."""
    return f"""
[round]
name = "test"
deadline_minutes = {deadline}
max_minutes = 1440
opening_minutes = 0
closing_minutes = 0
protocol = "{protocol}"
{extra_round}
[information]
private = {str(private).lower()}
prior_width = 0.6
caucus_noise = 0.15
[context]
concession_noise = {noise}
walkout_shape = {1000 if not noise else 4}
{issues}
[mediator]
name = "M"
exploration_minutes = 5
item_minutes = {item_minutes}
{mediator}
[parties.a]
patience = {patience}
{a}
[parties.b]
patience = {patience}
{b}
"""


# ------------------------------------------------------------------------- logrolling
LOGROLL_ISSUES = """
[issues.fish]
kind = "count"
max = 100
step = 5
[issues.land]
kind = "count"
max = 100
step = 5
[agenda]
items = ["fish", "land"]
"""


def logroll_text(protocol: str, private: bool = False, item_minutes: int = 1440) -> str:
    """The logrolling case: ``a`` cares 3:1 for fish, ``b`` 3:1 for land (shared with
    tests/test_compiled.py and tests/test_frontier.py)."""
    a = """
[parties.a.issues.fish]
wants = "more"
ideal = 100
red_line = 0
salience = 3
[parties.a.issues.land]
wants = "more"
ideal = 100
red_line = 0
salience = 1
"""
    b = a.replace("parties.a", "parties.b").replace('"more"', '"less"').replace(
        "ideal = 100", "IDEAL").replace("red_line = 0", "red_line = 100").replace(
        "IDEAL", "ideal = 0").replace("salience = 3", "SAL").replace(
        "salience = 1", "salience = 3").replace("SAL", "salience = 1")
    return two_sides(protocol, LOGROLL_ISSUES, a, b, private=private,
                     item_minutes=item_minutes)


def logroll(protocol: str, item_minutes: int = 1440) -> dict:
    scenario = parse_scenario(logroll_text(protocol, item_minutes=item_minutes),
                              "logroll.toml")
    row = run_scenario(scenario, 1, 0).iloc[0]
    x = {"fish": row["fish_value"], "land": row["land_value"]}
    if item_minutes < 1440:
        return {"x": x, "minutes": (row["fish_minute"], row["land_minute"]),
                "duration": row["duration_minutes"]}
    u_a = 0.75 * x["fish"] / 100 + 0.25 * x["land"] / 100
    u_b = 0.25 * (1 - x["fish"] / 100) + 0.75 * (1 - x["land"] / 100)
    return {"x": x, "u": (u_a, u_b)}


def test_a_package_logrolls_where_item_by_item_splits_each_issue():
    """Opposite saliences (3:1 and 1:3): the package gives each side the issue it cares
    most about, a Pareto improvement on splitting each issue in turn."""
    package, sequential = logroll("package"), logroll("sequential")
    assert package["x"] == {"fish": 100.0, "land": 0.0}  # each its high-salience issue
    assert sequential["x"] == {"fish": 50.0, "land": 50.0}
    assert all(p > s for p, s in zip(package["u"], sequential["u"], strict=True))


def test_the_package_lands_within_a_lattice_step_of_the_integrative_nash_solution():
    """The Nash solution over the lattice, found by brute force, against the deal."""
    grid = np.arange(0, 101, 5.0)
    best, best_x = -np.inf, None
    for fish, land in product(grid, grid):
        u_a = 0.75 * fish / 100 + 0.25 * land / 100
        u_b = 0.25 * (1 - fish / 100) + 0.75 * (1 - land / 100)
        if u_a > 0 and u_b > 0 and math.log(u_a) + math.log(u_b) > best:
            best, best_x = math.log(u_a) + math.log(u_b), (fish, land)
    deal = logroll("package")["x"]
    assert abs(deal["fish"] - best_x[0]) <= 5 and abs(deal["land"] - best_x[1]) <= 5


def test_a_package_has_the_time_item_by_item_would_give_its_issues():
    """The text (0.75 to each side) is accepted 15 minutes into the talks (aspirations
    fall linearly from 1 over 60; no opening here). With ``item_minutes = 8`` the
    two-issue text has 2 x 8 = 16 minutes before its hardest issue is parked: agreed
    whole in minute 15 (recorded as minute 16, the round's length). With 7 it has 14:
    the narrowest zone is parked at the end of minute 13 (both zones span the whole
    range, so the first issue, fish); land alone is redrafted at its Nash point, 50
    (0.5 to each), which the sides would take only in minute 30, but the one-issue text
    has 7 minutes: land is parked at the end of minute 20 and the round ends in 21."""
    whole = logroll("package", item_minutes=8)
    assert whole["x"] == {"fish": 100.0, "land": 0.0} and whole["minutes"] == (16.0, 16.0)
    cut = logroll("package", item_minutes=7)
    assert np.isnan(cut["x"]["fish"]) and np.isnan(cut["x"]["land"])
    assert cut["duration"] == 21.0


# ------------------------------------------------------------------------- Rubinstein
PIE = """
[issues.pie]
kind = "count"
max = 10000
step = 1
[agenda]
items = ["pie"]
"""


def pie_split(protocol: str, d_a: float, d_b: float) -> float:
    a = f"""discount_per_hour = {d_a}
[parties.a.issues.pie]
wants = "more"
ideal = 10000
red_line = 0
"""
    b = f"""discount_per_hour = {d_b}
[parties.b.issues.pie]
wants = "less"
ideal = 0
red_line = 10000
"""
    text = two_sides(protocol, PIE, a, b, deadline=1e6, patience=1440)
    return run_scenario(parse_scenario(text, "pie.toml"), 1, 0)["pie_value"][0] / 10000


def rubinstein(d_a: float, d_b: float, minutes: float) -> float:
    """The first proposer's share (Rubinstein 1982) with offers ``minutes`` apart."""
    delta_a = math.exp(rules.discount_rate(d_a) * -minutes / 60)
    delta_b = math.exp(rules.discount_rate(d_b) * -minutes / 60)
    return (1 - delta_b) / (1 - delta_a * delta_b)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(("d_a", "d_b"), [(0.1, 0.1), (0.1, 0.3), (0.3, 0.1), (0.05, 0.5)])
def test_the_split_tends_to_rubinstein_s_as_the_minute_grows_small(protocol, d_a, d_b):
    """Rubinstein's split with offers ``m`` minutes apart tends, as ``m`` shrinks, to
    ``r_b / (r_a + r_b)`` (Binmore, Rubinstein & Wolinsky 1986); the engine's split is
    that limit within a lattice step, and so within a lattice step of the closed form
    at the engine's own minute."""
    split = pie_split(protocol, d_a, d_b)
    r_a, r_b = rules.discount_rate(d_a), rules.discount_rate(d_b)
    limit = r_b / (r_a + r_b)
    gaps = [abs(rubinstein(d_a, d_b, m) - split) for m in (60, 10, 1, 0.1)]
    assert gaps == sorted(gaps, reverse=True) or gaps[-1] <= 2e-4  # closer as m shrinks
    assert abs(split - limit) <= 1e-4 + 1e-9  # a lattice step of the 10,000 pie
    assert abs(split - rubinstein(d_a, d_b, 1)) <= 1e-3


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_the_more_patient_side_gets_more(protocol):
    shares = [pie_split(protocol, d_a, 0.2) for d_a in (0.5, 0.2, 0.05, 0.0)]
    assert shares == sorted(shares) and shares[0] < 0.5 < shares[2]
    assert shares[-1] > 0.999  # a side that loses nothing by waiting takes (nearly) all


# ------------------------------------------------------------------ private information
ONE_ISSUE = """
[issues.x]
kind = "count"
max = 1000
step = 10
[agenda]
items = ["x"]
"""
A_RANGE = """[parties.a.issues.x]
wants = "more"
ideal = 1000
red_line = [200, 600]
"""
B_RANGE = """[parties.b.issues.x]
wants = "less"
ideal = 0
red_line = [400, 800]
"""


def agreement_where_a_zone_exists(protocol: str, private: bool, caucuses: int,
                                  runs: int = 3000) -> tuple[float, int]:
    text = two_sides(protocol, ONE_ISSUE, "bluff = [0.0, 0.1]\n" + A_RANGE,
                     "bluff = [0.0, 0.1]\n" + B_RANGE, private=private, noise=0.2,
                     patience=90, mediator=f"credibility = 0.05\ncaucuses = {caucuses}")
    scenario = parse_scenario(text, "private.toml")
    results = run_scenario(scenario, runs, 0)
    setup = realise(scenario, runs, chunk_rng(0, 0))
    zone = setup.zone_lo[:, 0] <= setup.zone_hi[:, 0]
    return float(results["x_agreed"][zone].mean()), int(zone.sum())


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_private_red_lines_lose_deals_that_exist_and_caucuses_win_them_back(protocol):
    """Myerson & Satterthwaite (1983): with private reservation values no mechanism is
    always efficient. Among the rounds where a zone exists, fewer agree when the red
    lines are private (and the mediator must guess them) than when they are known;
    caucus time (Kressel & Pruitt 1989) wins agreements back."""
    public, n = agreement_where_a_zone_exists(protocol, False, 0)
    guessed, _ = agreement_where_a_zone_exists(protocol, True, 0)
    caucused = [agreement_where_a_zone_exists(protocol, True, k)[0] for k in (1, 3)]
    # differences far beyond the Monte Carlo error of shares of ~2,600 rounds (< 0.01)
    assert n > 2000
    assert guessed < public - 0.1
    assert guessed < caucused[0] < caucused[1]


YES_NO = """
[issues.commit]
kind = "yes_no"
[agenda]
items = ["commit"]
"""


def test_a_level_at_the_end_of_its_range_is_reached_by_a_mediator_who_guesses():
    """A yes/no issue in a package round: ``a`` needs yes, ``b`` would rather not but can
    live with it (red line yes). With private red lines the mediator's belief about
    ``b``'s is clipped at the top of the range, so its middle lies below yes in every
    round; the mediator's guess is the level nearest that middle (red lines are levels),
    so it drafts yes and the deal is made in every round, as with public red lines (the
    middle alone parked the issue in every round). Item by item the mediator also needs
    ``b``'s BATNA met on the item itself, and its belief about a BATNA of 0 (clipped at
    0) has its middle above 0, which closes a one-level zone in about half the rounds:
    the package's reservation is on the whole text, not on each issue."""
    protocol = "package"
    a = '[parties.a.issues.commit]\nwants = "more"\nideal = "yes"\nred_line = "yes"\n'
    b = '[parties.b.issues.commit]\nwants = "less"\nideal = "no"\nred_line = "yes"\n'
    agreed = {}
    for private in (False, True):
        text = two_sides(protocol, YES_NO, a, b, private=private)
        results = run_scenario(parse_scenario(text, "yes_no.toml"), 200, 0)
        agreed[private] = (results["commit_agreed"] & (results["commit_value"] == 1)).mean()
    assert agreed == {False: 1.0, True: 1.0}


# ------------------------------------------------------------------------- BATNA
def batna_round(protocol: str, batna: float, runs: int = 3000):
    text = two_sides(protocol, ONE_ISSUE, f"batna = {batna}\ndiscount_per_hour = 0.2\n"
                     + A_RANGE, B_RANGE, noise=0.2, patience=90,
                     mediator="credibility = 0.05")
    results = run_scenario(parse_scenario(text, "batna.toml"), runs, 0)
    walks = float((results["walkout_party"] == "a").mean())
    share = float(results.loc[results["x_agreed"], "x_value"].mean()) if \
        results["x_agreed"].any() else float("nan")
    return walks, share, float(results["x_agreed"].mean())


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_better_batna_means_more_walk_outs_and_a_larger_share(protocol):
    """Fisher & Ury (1981): the better a side's alternative, the more it asks of a
    deal and the sooner it leaves one that does not give it."""
    low, high = batna_round(protocol, 0.0), batna_round(protocol, 0.2)
    assert high[0] > low[0] + 0.2  # walk-outs (a cost of delay makes waiting costly)
    assert high[1] > low[1] + 30  # its share where a deal is made
    none = batna_round(protocol, 0.9)  # above every package it could get
    assert none[2] == 0.0


# ------------------------------------------------------------------ manipulative mediation
LEVER = """budget = {budget}
[[mediator.levers]]
name = "security guarantee"
party = "a"
utility = 0.3
cost = 1
"""
CLOSED_A = """batna = 0.6
[parties.a.issues.x]
wants = "more"
ideal = 1000
red_line = 0
"""
CLOSED_B = """batna = 0.6
[parties.b.issues.x]
wants = "less"
ideal = 0
red_line = 1000
"""


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_guarantee_opens_a_zone_the_sides_alone_do_not_have(protocol):
    """Red lines leave the whole range open, but each side needs 0.6 of it: no deal.
    A guarantee worth 0.3 to side a (Touval & Zartman 1985, manipulative mediation)
    opens the zone [300, 400]; without the budget to give it, the zone stays closed."""
    outcome = {}
    for budget in (0, 1):
        text = two_sides(protocol, ONE_ISSUE, CLOSED_A, CLOSED_B,
                         mediator=LEVER.format(budget=budget))
        scenario = parse_scenario(text, "lever.toml")
        model = NegotiationRound(realise(scenario, 1, chunk_rng(0, 0))).run()
        outcome[budget] = model.outcomes()["x_value"][0], bool(model.levers_used[0, 0])
    assert np.isnan(outcome[0][0]) and not outcome[0][1]
    assert 300 <= outcome[1][0] <= 400 and outcome[1][1]


# ------------------------------------------------------------------------- invariants
@settings(max_examples=30, deadline=None)
@given(st.sampled_from(PROTOCOLS), st.booleans(), st.floats(0, 0.5), st.floats(0, 0.5),
       st.floats(0, 0.5), st.integers(0, 2**31))
def test_nothing_is_agreed_past_a_red_line_or_below_a_batna(protocol, private, batna_a,
                                                            batna_b, discount, seed):
    issues = """
[issues.x]
kind = "count"
max = 1000
step = 10
[issues.y]
kind = "share"
step = 0.05
[issues.z]
kind = "ordinal"
levels = ["none", "some", "all"]
[agenda]
items = ["x", "y", "z"]
"""
    a = f"""batna = {batna_a}
discount_per_hour = {discount}
bluff = [0, 0.2]
[parties.a.issues.x]
wants = "more"
ideal = 1000
red_line = [100, 700]
salience = [0.2, 2]
[parties.a.issues.y]
wants = "less"
ideal = 0
red_line = [0.3, 0.9]
salience = [0.2, 2]
[parties.a.issues.z]
wants = "more"
ideal = 2
red_line = [0, 2]
"""
    b = f"""batna = {batna_b}
[parties.b.issues.x]
wants = "less"
ideal = 0
red_line = [300, 900]
salience = [0.2, 2]
[parties.b.issues.y]
wants = "more"
ideal = 1
red_line = [0.1, 0.7]
salience = [0.2, 2]
[parties.b.issues.z]
wants = "less"
ideal = 0
red_line = [0, 2]
"""
    scenario = parse_scenario(two_sides(protocol, issues, a, b, private=private, noise=0.3,
                                        patience=60, mediator="credibility = 0.1"), "i.toml")
    setup = realise(scenario, 200, np.random.default_rng(seed))
    model = NegotiationRound(setup).run()
    agreed = model.status == ItemStatus.AGREED
    for d in model.delegations:
        inside = d.wants * (model.value - d.red_line) >= -1e-9
        assert np.all(inside[agreed]), "agreed past a red line"
        if protocol == "sequential":  # item by item: each item worth its BATNA
            u = rules.utility(np.nan_to_num(model.value), d.ideal, d.red_line, d.wants)
            assert np.all(u[agreed] >= d.reserve[:, None].repeat(3, 1)[agreed] - 1e-9)
        else:  # a package: worth its BATNA on the (weighted) whole
            minute = model.agreed_minute
            for r in np.flatnonzero(agreed.any(axis=1)):
                same = agreed[r] & (minute[r] == np.nanmax(minute[r]))
                value = rules.mean_utility(model.value[r], d.ideal[r], d.red_line[r],
                                           d.wants, d.weight[r], same)
                assert value >= d.reserve[r] - 1e-9, "a package below the BATNA"


def test_a_level_guess_stays_within_the_levels_its_belief_allows():
    """``beliefs._level_guess``: the level nearest the belief's middle, but not past the
    belief's bounds read as levels. A side that wants less with its (effective) red line
    at 0.76 between levels 0 and 1, believed within [0.64, 0.998]: the middle (0.82)
    is nearest 1, which the belief rules out, so the guess is 0; the mirror for a side
    that wants more (believed within [1.002, 1.4]: 1, the nearest, ruled out, so 2)."""
    setup = SimpleNamespace(step=np.array([1.0]), span=np.array([2.0]),
                            red_line=np.array([[[0.76], [1.2]]]),
                            wants=np.array([[-1.0], [1.0]]))
    picture = {"lo": np.array([[[-0.06], [-0.099]]]), "hi": np.array([[[0.119], [0.1]]])}
    middle = setup.red_line + setup.span * 0.5 * (picture["lo"] + picture["hi"])
    assert np.round(middle, 3).tolist() == [[[0.819], [1.201]]]
    guess = _level_guess(setup, picture, np.array([0]), middle)
    assert guess.tolist() == [[[0.0], [2.0]]]
    picture["hi"][0, 0, 0] = 0.12  # top exactly at level 1: 1 is allowed, and nearest
    assert _level_guess(setup, picture, np.array([0]), middle)[0, 0, 0] == 1.0


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_mediator_never_drafts_again_what_a_side_said_was_past_its_red_line(protocol):
    """Private information, the June agenda: a side's "past my red line" truncates the
    mediator's belief (``beliefs.learn``), so no side objects twice to the same value of
    the same issue in a round — in a package round and item by item. (The children item
    is an exchange issue: exchange willingness pulls Russia's red line between levels;
    the mediator's guess was the nearest level, which the objection could not move, and
    the same text was drafted and refused every minute until the round timed out; item
    by item the mediator did not listen at all.)"""
    scenario = with_values(JUNE, {"round.protocol": protocol, "information.private": True})
    model = NegotiationRound(realise(scenario, 300, chunk_rng(0, 0)))
    heard: list[tuple] = []
    mediator = model.mediator
    if protocol == "package":
        hear = mediator.hear

        def recording(rows, objections, text, open_, redraft=True):
            at, party, issue = np.nonzero(objections)
            heard.extend(zip(rows[at].tolist(), party.tolist(), issue.tolist(),
                             text[at, issue].tolist(), strict=True))
            return hear(rows, objections, text, open_, redraft)

        mediator.hear = recording
    else:
        hear_item = mediator.hear_item

        def recording(rows, party, issue, text):
            heard.extend(zip(rows.tolist(), party.tolist(), issue.tolist(), text.tolist(),
                             strict=True))
            return hear_item(rows, party, issue, text)

        mediator.hear_item = recording
    model.run()
    assert len(heard) > 20  # objections were made
    assert len(set(heard)) == len(heard)
