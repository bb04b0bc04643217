"""Confidence intervals for Monte Carlo proportions: Wilson's for one, Newcombe's hybrid
score interval for the difference of two, independent or paired; and the spread of a
probability across parameter draws (``parameter_interval``)."""

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


def newcombe_paired_interval(both: int, first_only: int, second_only: int, neither: int,
                             z: float = Z95) -> tuple[float, float, float]:
    """``p2 - p1`` of two proportions measured on the same ``n`` pairs, and its
    interval: Newcombe (1998), "Improved confidence intervals for the difference between
    binomial proportions based on paired data", Statistics in Medicine 17:2635-2650,
    method 10 — the two Wilson intervals combined with the correlation of the pairs.

    The counts are the paired 2x2 table: pairs where both had the event, only the
    first, only the second, neither. The correlation is Newcombe's corrected phi:
    with ``A = both * neither - first_only * second_only``, ``A - n/2`` where
    ``A > n/2``, 0 where ``0 <= A <= n/2``, ``A`` where ``A < 0``, over the square root
    of the product of the four margins (0 where a margin is empty). With no
    correlation it is the independent-samples interval of ``newcombe_interval``.
    """
    n = both + first_only + second_only + neither
    x1, x2 = both + first_only, both + second_only
    p1, p2 = x1 / n, x2 / n
    l1, u1 = (float(b) for b in wilson_interval(x1, n, z))
    l2, u2 = (float(b) for b in wilson_interval(x2, n, z))
    margins = float(x1) * float(n - x1) * float(x2) * float(n - x2)
    phi = 0.0
    if margins > 0:
        a = float(both) * float(neither) - float(first_only) * float(second_only)
        corrected = a - n / 2 if a > n / 2 else (0.0 if a >= 0 else a)
        phi = corrected / np.sqrt(margins)
    d = p2 - p1
    # the lower limit of p2 - p1 pairs p2's lower error with p1's upper error
    low = d - np.sqrt(max((p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2,
                          0.0))
    high = d + np.sqrt(max((u2 - p2) ** 2 - 2 * phi * (u2 - p2) * (p1 - l1) + (p1 - l1) ** 2,
                           0.0))
    return d, float(max(low, -1.0)), float(min(high, 1.0))


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


def parameter_interval(hits: np.ndarray, runs: np.ndarray,
                       quantiles: tuple[float, float] = (0.1, 0.9)
                       ) -> tuple[float, float] | None:
    """How much an event's probability varies across parameter draws: the
    ``quantiles`` of the distribution of per-draw probabilities, estimated from the
    rounds of each draw (``hits[j]`` of ``runs[j]`` rounds of draw ``j``).

    Per-draw shares from a few rounds each mix the draws' spread with binomial noise;
    the noise is taken out with the ANOVA estimator of the intraclass correlation for
    binary data (Fleiss 1981, ch. 13): ``rho = (MSB - MSW) / (MSB + (n0 - 1) MSW)``, the
    between-draw variance being ``rho p (1 - p)`` as in the beta-binomial model
    (Williams 1975), whose beta distribution of per-draw probabilities (matched to that
    mean and variance) gives the quantiles. ``None`` with fewer than two draws of at
    least one round."""
    runs = np.asarray(runs, dtype=float)
    hits = np.asarray(hits, dtype=float)
    used = runs > 0
    runs, hits = runs[used], hits[used]
    groups, total = runs.size, runs.sum()
    if groups < 2 or total <= groups:
        return None
    p = hits.sum() / total
    if p <= 0.0 or p >= 1.0:
        return (float(p), float(p))
    share = hits / runs
    between = float((runs * (share - p) ** 2).sum() / (groups - 1))
    within = float((runs * share * (1 - share)).sum() / (total - groups))
    n0 = (total - (runs**2).sum() / total) / (groups - 1)
    denominator = between + (n0 - 1) * within
    rho = (between - within) / denominator if denominator > 0 else 0.0
    if rho <= 0.0:
        return (float(p), float(p))
    if rho < 1.0:
        concentration = (1 - rho) / rho  # alpha + beta of the matched beta distribution
        # the beta's quantiles: ``betaincinv`` is what ``scipy.stats.beta.ppf`` computes,
        # without importing scipy.stats (half a second of every run's start); imported
        # here, where it is needed, as scipy.special itself takes 0.2 s to import and a
        # batch of one draw (``negsim run --runs 1``) never gets here
        from scipy.special import betaincinv

        low, high = betaincinv(p * concentration, (1 - p) * concentration,
                               np.asarray(quantiles, dtype=float))
        if np.isfinite(low) and np.isfinite(high):
            return (float(low), float(high))
    # rho at 1 (the estimator can pass it with about one round a draw), or a beta too
    # concentrated at 0 and 1 for its quantiles to be computed: the limit of the beta
    # as rho -> 1, each draw's probability 0 or 1, 1 with probability p
    low, high = (float(q > 1 - p) for q in quantiles)
    return (low, high)
