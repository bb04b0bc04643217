"""The scoring rules of the backtest (``sim.stats.scoring``) on cases solved by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.stats.scoring import (
    CLIP,
    Observed,
    QuantityForecast,
    brier,
    central_interval,
    covered,
    crps,
    event_baselines,
    log_score,
    quantity_baselines,
    reliability,
    skill,
)


def test_event_scores():
    assert brier(0.7, True) == pytest.approx(0.09) and brier(0.7, False) == pytest.approx(0.49)
    assert log_score(0.7, True) == pytest.approx(-math.log(0.7))
    assert log_score(0.7, False) == pytest.approx(-math.log(0.3))
    # a certain forecast that fails is read at the clip, not scored infinite
    assert log_score(0.0, True) == pytest.approx(-math.log(CLIP))
    assert log_score(1.0, False) == pytest.approx(-math.log(CLIP))


def test_crps_by_hand():
    """CRPS = E|X - y| - E|X - X'|/2. Sample {1, 2, 3, 4} at 3: 4/4 - 20/16/2 = 0.375;
    one value: |x - y|; uniform on [0, 1] at 1/2: 1/4 - 1/6 = 1/12; a weighted sample
    is the sample with its members repeated by weight."""
    assert crps(QuantityForecast(sample=np.array([1.0, 2, 3, 4])), Observed(3, 3)) == 0.375
    assert crps(QuantityForecast(sample=np.array([1000.0])), Observed(1200, 1200)) == 200
    assert crps(QuantityForecast(support=(0.0, 1.0)), Observed(0.5, 0.5)) == pytest.approx(1 / 12)
    weighted = QuantityForecast(sample=np.array([1.0, 2.0]), weights=np.array([2.0, 1.0]))
    repeated = QuantityForecast(sample=np.array([1.0, 1.0, 2.0]))
    assert crps(weighted, Observed(1.5, 1.5)) == pytest.approx(crps(repeated, Observed(1.5, 1.5)))
    # a range is scored at its midpoint
    assert crps(QuantityForecast(sample=np.array([300.0])), Observed(300, 360)) == 30


def test_crps_of_a_large_uniform_sample_is_the_closed_form():
    """200,000 draws of U(0, 100) at 30: the closed form is 100 (0.3^2 + 0.7^2)/2 - 100/6
    = 12.33; the sample's CRPS differs by Monte Carlo error of order 100/sqrt(n) = 0.22."""
    sample = np.random.default_rng(1).uniform(0, 100, 200_000)
    closed = crps(QuantityForecast(support=(0.0, 100.0)), Observed(30, 30))
    assert closed == pytest.approx(100 * (0.3**2 + 0.7**2) / 2 - 100 / 6)
    assert crps(QuantityForecast(sample=sample), Observed(30, 30)) == pytest.approx(closed, abs=0.5)


def test_central_intervals_and_coverage():
    flat = QuantityForecast(support=(0.0, 100.0))
    assert central_interval(flat, 0.5) == (25.0, 75.0)
    assert central_interval(flat, 0.8) == pytest.approx((10.0, 90.0))
    assert covered(flat, Observed(20, 20)) == {0.5: False, 0.8: True, 0.95: True}
    assert covered(flat, Observed(20, 30)) == {0.5: True, 0.8: True, 0.95: True}  # overlap
    weighted = QuantityForecast(sample=np.array([1.0, 2.0, 3.0]), weights=np.array([0.1, 0.8, 0.1]))
    assert central_interval(weighted, 0.5) == (2.0, 2.0)


def test_baselines():
    assert event_baselines([]) == {"persistence": 0.5, "base_rate": 0.5, "uniform": 0.5}
    assert event_baselines([True, False, False]) == {"persistence": 0.0, "base_rate": 0.4,
                                                     "uniform": 0.5}
    none = quantity_baselines([], (0.0, 10.0))
    assert all(f.support == (0.0, 10.0) for f in none.values())
    some = quantity_baselines([390.0, 1000.0], (0.0, 6000.0))
    assert some["persistence"].sample.tolist() == [1000.0]
    assert some["base_rate"].sample.tolist() == [390.0, 1000.0]
    assert some["uniform"].support == (0.0, 6000.0)


def test_skill_and_reliability():
    assert skill(0.1, 0.2) == 0.5 and skill(0.3, 0.2) == pytest.approx(-0.5)
    assert skill(0.0, 0.0) is None
    points = reliability(np.array([0.05, 0.1, 0.5, 0.55, 0.95]),
                         np.array([0, 0, 1, 0, 1]), bins=5)
    assert [(p["low"], p["count"]) for p in points] == [(0.0, 2), (0.4, 2), (0.8, 1)]
    assert points[1]["forecast"] == pytest.approx(0.525) and points[1]["observed"] == 0.5
    assert points[2]["observed"] == 1.0
