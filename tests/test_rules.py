"""Each bargaining rule directly: hand-solved cases and properties."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.model import rules
from sim.stats.intervals import wilson_interval

unit = st.floats(0.0, 1.0, allow_nan=False)
beta = st.floats(0.05, 20.0, allow_nan=False)
position = st.floats(0.0, 1000.0, allow_nan=False)


def test_concession_curve_shapes():
    t = np.array([0.0, 0.25, 0.5, 1.0])
    assert np.allclose(rules.concession_fraction(t, np.ones(4)), t)  # linear
    assert np.allclose(rules.concession_fraction(t, np.full(4, 0.5)), t**2)  # Boulware
    assert np.allclose(rules.concession_fraction(t, np.full(4, 2.0)), np.sqrt(t))  # Conceder
    assert rules.concession_fraction(np.array(1.7), np.array(0.3)) == 1.0  # past the deadline


@given(st.lists(st.floats(-1, 3, allow_nan=False), min_size=2, max_size=30), beta)
def test_concessions_never_reverse(times, concession):
    fractions = rules.concession_fraction(np.sort(times), np.full(len(times), concession))
    assert np.all(np.diff(fractions) >= 0)
    assert np.all((fractions >= 0) & (fractions <= 1))


@given(position, position, st.floats(-0.5, 1.5, allow_nan=False))
def test_aspiration_stays_between_ideal_and_red_line(ideal, red_line, fraction):
    a = rules.aspiration(np.array(ideal), np.array(red_line), np.array(fraction))
    assert min(ideal, red_line) - 1e-9 <= a <= max(ideal, red_line) + 1e-9


def test_effective_red_line_by_mechanism():
    ideal, red = np.array([0.0, 10.0]), np.array([10.0, 2.0])
    wants = np.array([-1, 1])
    w, m = np.array([0.3, 0.3]), np.array([0.5, 0.5])
    # an exchange issue: only the side that wants less (the holder) is scaled by willingness
    assert np.allclose(rules.effective_red_line(ideal, red, wants, w, m, True, False),
                       [3.0, 2.0])
    # a contested issue: momentum hardens both
    assert np.allclose(rules.effective_red_line(ideal, red, wants, w, m, False, True),
                       [5.0, 6.0])
    assert np.allclose(rules.effective_red_line(ideal, red, wants, w, m, False, False), red)


MECHANISMS = st.sampled_from([(False, False), (True, False), (False, True)])


@given(position, position, unit, unit, MECHANISMS)
def test_effective_red_line_never_loosens(ideal, red, willingness, momentum, mechanism):
    wants = np.array(1 if ideal >= red else -1)
    eff = rules.effective_red_line(np.array(ideal), np.array(red), wants,
                                   np.array(willingness), np.array(momentum), *mechanism)
    assert rules.acceptable(eff, np.array(red), wants, 1000.0)


def test_zone_of_agreement_and_lattice():
    red = np.array([[400.0, 1000.0], [900.0, 300.0]])
    wants = np.array([1, -1])
    lo, hi = rules.zone_of_agreement(red, wants, 0.0, 20_000)
    assert lo.tolist() == [400.0, 900.0] and hi.tolist() == [1000.0, 300.0]
    k_lo, k_hi = rules.lattice_bounds(lo, hi, 100.0)
    assert k_lo.tolist() == [4, 9] and k_hi.tolist() == [10, 3]  # second: no zone
    # a zone strictly between lattice points holds no agreement
    k_lo, k_hi = rules.lattice_bounds(np.array(0.81), np.array(0.84), 0.05)
    assert k_lo > k_hi
    # both sides wanting more: the zone runs to the top of the scale
    lo, hi = rules.zone_of_agreement(np.array([1.0, 2.0]), np.array([1, 1]), 0.0, 2)
    assert (lo, hi) == (2.0, 2)


def test_offers_round_toward_the_ideal():
    assert rules.round_toward_ideal(np.array(1234.0), np.array(1), 100.0) == 1300.0
    assert rules.round_toward_ideal(np.array(1234.0), np.array(-1), 100.0) == 1200.0
    assert rules.round_toward_ideal(np.array(0.3), np.array(1), 0.05) == pytest.approx(0.3)


def test_split_the_difference_snaps_into_the_zone():
    offers = np.array([[200.0, 900.0], [0.0, 2000.0]])
    k_lo, k_hi = np.array([4, 4]), np.array([10, 8])
    assert rules.split_the_difference(offers, k_lo, k_hi, 100.0).tolist() == [600.0, 800.0]


@settings(max_examples=200)
@given(st.floats(0.0, 0.45), st.floats(0.0, 0.45), st.floats(0.05, 0.95))
def test_nash_point_on_a_linear_pie_matches_the_closed_form(d1, d2, alpha):
    """Party 1 gets x, party 2 gets 1 - x, disagreement points d1, d2:
    x1 = d1 + alpha (1 - d1 - d2) (STYLE.md)."""
    step = 1e-4
    ideal = np.array([1.0, 0.0])
    red = np.array([d1, 1.0 - d2])
    wants = np.array([1, -1])
    k_lo, k_hi = rules.lattice_bounds(*rules.zone_of_agreement(red, wants, 0.0, 1.0), step)
    x = rules.nash_point(ideal, red, wants, np.array([alpha, 1 - alpha]), k_lo, k_hi, step,
                         grid=20_001)
    assert x == pytest.approx(d1 + alpha * (1 - d1 - d2), abs=step)


def test_nash_point_with_a_satiated_side_and_no_zone():
    # Southland is satiated at 600; the Nash point of [400, 1000] is 700 (docs/scenarios.md)
    ideal, red = np.array([2000.0, 600.0]), np.array([400.0, 1000.0])
    x = rules.nash_point(ideal, red, np.array([1, -1]), np.ones(2), np.array(4), np.array(10),
                         100.0)
    assert x == 700.0
    none = rules.nash_point(ideal, red, np.array([1, -1]), np.ones(2), np.array(5),
                            np.array(4), 100.0)
    assert np.isnan(none)


@given(position, position, position, st.floats(0, 1000), st.sampled_from([1, -1]))
def test_nothing_is_accepted_past_a_red_line(proposal, aspiration, red, tolerance, wants):
    yes = rules.accepts(np.array(proposal), np.array(aspiration), np.array(red),
                        np.array(wants), np.array(tolerance), 1000.0)
    if wants * (proposal - red) < -1e-6:
        assert not yes


def test_acceptance_tolerance():
    args = np.array(700.0), np.array(800.0), np.array(400.0), np.array(1)
    assert not rules.accepts(*args, np.array(50.0))
    assert rules.accepts(*args, np.array(100.0))


def test_frustration_and_walkout():
    f = rules.frustration_step(np.array([3.0, 3.0]), np.array([0.5, 0.5]),
                               np.array([True, False]))
    assert f.tolist() == [3.5, 0.0]  # a stall adds salience; an agreement clears it
    assert rules.walkout_threshold(np.array(60.0), np.array(1.5)) == 90.0


def test_compound_level_takes_the_highest_level_with_a_zone():
    level_ideal = np.array([[3.0, 1.0]])
    level_wants = np.array([1, -1])
    cond_wants = np.array([-1, 1])
    # Ukraine accepts levels >= 1 with conditions <= 0.3 (pause) / 0.2 (general);
    # Russia any level, with conditions >= 0.1 (pause) / 0.8 (general)
    cond_red = np.array([[[0.3, 0.2, 0.2], [0.1, 0.8, 0.8]]])
    level = rules.compound_level(level_ideal, np.array([[1.0, 3.0]]), level_wants, cond_red,
                                cond_wants, 0.0, 1.0, 0.05)
    assert level.tolist() == [1]
    # if Ukraine insists on a general ceasefire there is none
    level = rules.compound_level(level_ideal, np.array([[2.0, 3.0]]), level_wants, cond_red,
                                cond_wants, 0.0, 1.0, 0.05)
    assert level.tolist() == [0]
    # with Russia's general conditions within reach, the full ceasefire (the highest ideal)
    cond_red[0, 1] = [0.1, 0.15, 0.15]
    level = rules.compound_level(level_ideal, np.array([[2.0, 3.0]]), level_wants, cond_red,
                                cond_wants, 0.0, 1.0, 0.05)
    assert level.tolist() == [3]


def test_wilson_interval_known_values():
    lo, hi = wilson_interval(np.array(5), np.array(10))
    assert (lo, hi) == (pytest.approx(0.23659, abs=1e-5), pytest.approx(0.76341, abs=1e-5))
    lo, hi = wilson_interval(np.array(0), np.array(10))
    assert lo == 0 and hi == pytest.approx(0.27753, abs=1e-5)


@given(st.integers(1, 10**7), st.data())
def test_wilson_interval_is_a_probability_interval(n, data):
    k = data.draw(st.integers(0, n))
    lo, hi = wilson_interval(np.array(k), np.array(n))
    assert 0 <= lo <= k / n <= hi <= 1


def test_nan_to_zero_is_nan_to_num_on_values_that_are_never_infinite():
    x = np.array([[np.nan, -0.0, 1.5], [2.0, np.nan, -3.25]])
    assert np.array_equal(rules.nan_to_zero(x), np.nan_to_num(x))


def test_utility_s_shortcut_without_a_red_line_at_its_ideal_gives_the_general_rule():
    """``utility`` skips its case for a red line at the ideal where there is none; the
    values are those of the general rule (with one such side present)."""
    rng = np.random.default_rng(3)
    x, ideal, red = rng.uniform(0, 10, (3, 50))
    wants = np.where(rng.uniform(size=50) < 0.5, -1.0, 1.0)
    fast = rules.utility(x, ideal, red, wants)
    ideal_at = np.append(ideal, 4.0)
    general = rules.utility(np.append(x, 4.0), ideal_at, np.append(red, 4.0),
                            np.append(wants, 1.0))
    assert np.array_equal(fast, general[:-1]) and general[-1] == 1.0
