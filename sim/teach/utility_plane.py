"""The utility plane of a round's two main sides: what an outcome is worth to each, the
Pareto frontier of what they could have agreed, and the Nash point (pure functions).

Utilities are the engine's (``sim.model.rules``): on each issue linear from a side's red
line (0) to its ideal (1), satiated past the ideal; a round's outcome is worth the
salience-weighted sum over the agenda (weights summing to 1: ``RoundSetup.weight``) of
each agreed issue's utility, an issue not agreed counting what no agreement is worth,
the side's BATNA — so no deal at all is worth the BATNA and a package is worth what
``rules.mean_utility`` says of it when it covers the whole agenda (additive value,
Raiffa 1982, ch. 10).

The frontier is exact: what two sides can reach is the sum, issue by issue, of the
points each issue offers (each lattice value inside every side's red line, or no
agreement), and the Pareto set of a sum of sets is the Pareto set of the sum of their
Pareto sets, so it is built one issue at a time, pruned after each — no enumeration of
the whole lattice (a product of the issues' lattices, which can run to billions).

The Nash point is the mediator's target rule (``sim.model.package.target``) with the
true red lines and BATNAs and no stakes of its own: the generalised Nash solution of
the sides' gains over their BATNAs (Nash 1950; Kalai 1977).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model import package, rules
from sim.model.parameters import RoundSetup

#: Utilities closer than this count as equal (ties in percentiles, dominance).
TIE = 1e-9


@dataclass(frozen=True)
class Preferences:
    """What the parties of one replicate want (arrays over ``(P, I)``, ``batna`` ``(P,)``)."""

    ideal: np.ndarray
    red_line: np.ndarray
    wants: np.ndarray
    weight: np.ndarray
    batna: np.ndarray

    @classmethod
    def of(cls, setup: RoundSetup, replicate: int = 0) -> Preferences:
        return cls(setup.ideal[replicate], setup.red_line[replicate], setup.wants,
                   setup.weight[replicate], setup.batna[replicate])


def issue_utilities(values: np.ndarray, prefs: Preferences) -> np.ndarray:
    """``(..., P, I)``: each side's utility on each issue of outcomes ``values``
    ``(..., I)`` (NaN where not agreed: the side's BATNA there)."""
    x = values[..., None, :]
    u = rules.utility(np.nan_to_num(x), prefs.ideal, prefs.red_line, prefs.wants)
    return np.where(np.isnan(x), prefs.batna[:, None], u)


def outcome_utility(values: np.ndarray, prefs: Preferences) -> np.ndarray:
    """``(..., P)``: each side's utility of outcomes ``values`` ``(..., I)``."""
    return (issue_utilities(values, prefs) * prefs.weight).sum(axis=-1)


def pareto_set(points: np.ndarray) -> np.ndarray:
    """The points ``(k, 2)`` no other point weakly dominates (ties: one kept), sorted by
    the first coordinate (the second then falls)."""
    if not len(points):
        return points.reshape(0, 2)
    order = np.lexsort((-points[:, 1], -points[:, 0]))  # first falling, then second
    kept, best = [], -np.inf
    for k in order:
        if points[k, 1] > best + TIE:
            kept.append(k)
            best = points[k, 1]
    return points[kept][::-1]


def issue_options(setup: RoundSetup, issue: int, replicate: int = 0) -> np.ndarray:
    """The values an issue can end at: every lattice point inside every side's red
    line, and NaN (not agreed)."""
    lo, hi = int(setup.zone_lo[replicate, issue]), int(setup.zone_hi[replicate, issue])
    values = np.arange(lo, hi + 1) * setup.step[issue] if lo <= hi else np.empty(0)
    return np.concatenate([values, [np.nan]])


def frontier(setup: RoundSetup, sides: tuple[int, int] = (0, 1), replicate: int = 0
             ) -> np.ndarray:
    """``(k, 2)``: the Pareto frontier of the two sides' utilities over every outcome
    of the agenda (each issue agreed on its zone's lattice, or not), exact."""
    prefs = Preferences.of(setup, replicate)
    a, b = sides
    total = np.zeros((1, 2))
    for i in range(len(setup.issues)):
        options = issue_options(setup, i, replicate)
        x = np.full((options.size, len(setup.issues)), np.nan)
        x[:, i] = options
        u = issue_utilities(x, prefs)[:, :, i] * prefs.weight[:, i]  # (k, P)
        part = pareto_set(np.stack([u[:, a], u[:, b]], axis=1))
        total = pareto_set((total[:, None, :] + part[None, :, :]).reshape(-1, 2))
    return total


def nash_point(setup: RoundSetup, replicate: int = 0) -> np.ndarray:
    """``(I,)``: the outcome of the Nash solution over every agenda issue with a zone
    (NaN elsewhere), by the mediator's target rule with the truth."""
    one = setup.select(slice(replicate, replicate + 1))
    n_issues = len(one.issues)
    return package.target(
        one.zone_lo, one.zone_hi, one.step, one.ideal, one.red_line, one.wants, one.weight,
        np.ones((1, n_issues), dtype=bool), one.batna, one.power, np.zeros(1),
        np.zeros(n_issues), np.zeros(n_issues), one.span)[0]


def pareto_distance(point: np.ndarray, front: np.ndarray) -> float:
    """Value left on the table: the distance from ``point`` (two utilities) to the
    nearest frontier point that is at least as good for both (0 on the frontier)."""
    better = front[(front >= point[None, :] - TIE).all(axis=1)]
    if not len(better):
        return 0.0
    return float(np.sqrt(((better - point) ** 2).sum(axis=1)).min())


def percentile(value: float, sample: np.ndarray) -> float:
    """Where ``value`` falls in ``sample``, 0-100: the share below it plus half the
    share tied with it (the mid-rank percentile, so a value equal to every draw is at
    50)."""
    sample = np.asarray(sample, dtype=float)
    below = np.count_nonzero(sample < value - TIE)
    tied = np.count_nonzero(np.abs(sample - value) <= TIE)
    return float(100.0 * (below + 0.5 * tied) / sample.size)
