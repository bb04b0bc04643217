"""The lattice search behind every Nash point and package target searches each replicate
on its own lattice: a replicate's point does not depend on the replicates run with it."""

from __future__ import annotations

import numpy as np

from sim.model import rules


def plateau_scores(centre: np.ndarray, flat: np.ndarray, kind: np.ndarray):
    """Scores with plateaus of ties, steps, NaN and -inf spots: every branch of the
    search's tie-breaking."""

    def score_of(x: np.ndarray) -> np.ndarray:
        c, f, k = centre[:, None], flat[:, None], kind[:, None]
        s = -np.maximum(np.abs(x - c) - f, 0.0)
        s = np.where(k == 1, np.round(s / 50), s)
        s = np.where((k == 2) & (np.abs(x - c) < 3), np.nan, s)
        return np.where((k == 3) & (x > c), -np.inf, s)

    return score_of


def test_each_replicate_is_searched_as_if_alone():
    rng = np.random.default_rng(0)
    n = 600
    k_lo = rng.integers(-50, 50, n)
    k_hi = k_lo + rng.choice([0, 1, 2, 5, 30, 63, 64, 65, 254, 255, 256, 300, 1000, 5000], n)
    k_hi[rng.random(n) < 0.05] -= 6000  # no zone
    centre, flat, kind = rng.uniform(-100, 5100, n), rng.uniform(0, 300, n), rng.integers(0, 4, n)
    for grid in (64, 256):
        together = rules.lattice_argmax(plateau_scores(centre, flat, kind), k_lo, k_hi, 0.5, grid)
        alone = np.array([rules.lattice_argmax(
            plateau_scores(centre[r:r + 1], flat[r:r + 1], kind[r:r + 1]), k_lo[r:r + 1],
            k_hi[r:r + 1], 0.5, grid)[0] for r in range(n)])
        np.testing.assert_array_equal(together, alone)
        assert np.isnan(together).sum() == (k_lo > k_hi).sum()


def test_a_narrow_zone_s_nash_point_ignores_a_wide_zone_beside_it():
    """Both sides satiated on [100, 200] (a plateau of ties, whose middle is 150): with
    a zone 10,000 points wide in the same chunk the shared grid once padded the narrow
    zone with copies of its end and took 200."""
    ideal = np.array([[100.0, 200.0], [10000.0, 0.0]])
    red = np.array([[0.0, 300.0], [0.0, 10000.0]])
    wants = np.array([1, -1])
    power = np.ones((2, 2))
    k_lo, k_hi = np.array([100, 0]), np.array([200, 10000])
    together = rules.nash_point(ideal, red, wants, power, k_lo, k_hi, 1.0)
    alone = rules.nash_point(ideal[:1], red[:1], wants, power[:1], k_lo[:1], k_hi[:1], 1.0)
    assert alone[0] == 150.0 and together[0] == 150.0 and together[1] == 5000.0
