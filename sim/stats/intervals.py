"""Confidence intervals for Monte Carlo proportions: Wilson's for one, Newcombe's hybrid
score interval for the difference of two."""

from __future__ import annotations

import numpy as np

Z95 = 1.959963984540054  # the standard normal's 97.5% quantile


def newcombe_interval(x1: int, n1: int, x2: int, n2: int,
                      z: float = Z95) -> tuple[float, float, float]:
    """``p2 - p1`` and its hybrid Wilson score interval (Newcombe 1998, method 10)."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = (float(b) for b in wilson_interval(x1, n1, z))
    l2, u2 = (float(b) for b in wilson_interval(x2, n2, z))
    d = p2 - p1
    low = d - np.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    high = d + np.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    return d, float(low), float(high)


def wilson_interval(successes: np.ndarray, n: np.ndarray, z: float = Z95):
    """Wilson score interval for a binomial proportion (Wilson 1927): well behaved at
    0 and 1 and for small n, unlike the Wald interval."""
    n = np.asarray(n, dtype=float)
    p = np.asarray(successes, dtype=float) / np.maximum(n, 1)
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    # the interval holds p exactly, also where rounding at p = 0 or 1 would cut it off
    return np.clip(np.minimum(centre - half, p), 0.0, 1.0), np.clip(np.maximum(centre + half, p),
                                                                     0.0, 1.0)
