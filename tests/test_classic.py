"""Limiting cases against closed forms (STYLE.md)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.teach.classic import alternating_offers, zeuthen

discount = st.floats(0.05, 0.98)


@given(discount, st.integers(1, 40))
def test_finite_horizon_alternating_offers(d, horizon):
    settlement = alternating_offers(d, d, horizon)
    assert settlement.share == pytest.approx((1 - (-d) ** horizon) / (1 + d))
    assert settlement.period == 1  # the first offer is accepted


@given(discount, discount)
def test_alternating_offers_reach_the_rubinstein_split(d1, d2):
    settlement = alternating_offers(d1, d2, 2000)
    assert settlement.share == pytest.approx((1 - d2) / (1 - d1 * d2), abs=1e-9)


def test_alternating_offers_vectorised():
    d1, d2 = np.array([0.9, 0.5, 0.99]), np.array([0.9, 0.8, 0.5])
    shares = alternating_offers(d1, d2, 2000).share
    assert np.allclose(shares, (1 - d2) / (1 - d1 * d2))
    assert shares[0] == pytest.approx(1 / 1.9)  # equal patience: a first-mover edge


@pytest.mark.parametrize("d1, d2", [(0.0, 0.0), (0.1, 0.3), (0.4, 0.05)])
def test_zeuthen_converges_to_the_nash_point(d1, d2):
    assert zeuthen(d1, d2, step=1e-4) == pytest.approx(d1 + (1 - d1 - d2) / 2, abs=2e-4)
