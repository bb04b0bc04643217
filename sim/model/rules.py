"""Bargaining rules: small pure functions over numpy arrays.

Every function here works elementwise over a replicate axis (and a party axis where
named), has no state and draws no random numbers. Agents call them; tests call them
directly. Positions are in an issue's own units. ``wants`` is +1 for a party that
prefers more of an issue and -1 for one that prefers less.

Utility is linear between a party's red line (0) and its ideal (1) and satiated past
the ideal: more than a party asked for, in its own direction, is never worse. This is
the piecewise-linear utility of the negotiation-analysis literature (Raiffa, *The Art
and Science of Negotiation*, 1982, ch. 4) with the reservation value at the red line.
"""

from __future__ import annotations

import numpy as np

#: Positions closer than this (in issue units, relative to the scale) count as equal.
EPS = 1e-9


def concession_fraction(elapsed_share: np.ndarray, concession: np.ndarray) -> np.ndarray:
    """Share of the way from ideal to red line a delegation has conceded.

    Faratin, Sierra & Jennings (1998), "Negotiation decision functions for autonomous
    agents", polynomial time-dependent tactic: ``f(t) = (t / T) ** (1 / beta)``.
    ``beta < 1`` is Boulware (holds firm, concedes at the end), ``beta > 1`` Conceder,
    ``beta = 1`` linear. Non-decreasing in time, so concessions never reverse.
    """
    share = np.clip(elapsed_share, 0.0, 1.0)
    return share ** (1.0 / concession)


def aspiration(ideal: np.ndarray, red_line: np.ndarray, fraction: np.ndarray) -> np.ndarray:
    """The position a delegation currently holds out for: ideal moved ``fraction`` of
    the way toward its red line (Faratin et al. 1998). Never past the red line for
    ``fraction`` in [0, 1]."""
    return ideal + (red_line - ideal) * np.clip(fraction, 0.0, 1.0)


def effective_red_line(
    ideal: np.ndarray,
    red_line: np.ndarray,
    wants: np.ndarray,
    exchange_willingness: np.ndarray,
    momentum: np.ndarray,
    exchange: bool,
    contested: bool,
) -> np.ndarray:
    """The furthest a delegation will go in this round: its red line, pulled in.

    - An *exchange* issue (reciprocal release of people): the side that wants *less*
      is the one holding people back, and its exchange willingness ``w`` in [0, 1]
      scales how far it goes toward its red line: ``ideal + w (red_line - ideal)`` --
      readiness for reciprocal humanitarian deals (Axelrod 1984; each Istanbul swap
      built on the last, reported-rounds.md). The side asking for more keeps its red
      line.
    - A *contested* issue (the fighting itself): battlefield momentum ``m`` in [0, 1]
      hardens every side's red line: ``ideal + (1 - m)(red_line - ideal)`` -- a side
      that expects to gain by fighting concedes less (Fearon 1995, "Rationalist
      explanations for war").
    - Any other issue: the red line as declared.

    The result always lies between ideal and red line: the hard limit is never
    loosened.
    """
    if exchange:
        share = np.where(wants < 0, np.clip(exchange_willingness, 0.0, 1.0), 1.0)
    elif contested:
        share = 1.0 - np.clip(momentum, 0.0, 1.0)
    else:
        share = np.ones_like(np.asarray(ideal, dtype=float))
    return ideal + (red_line - ideal) * share


def utility(x: np.ndarray, ideal: np.ndarray, red_line: np.ndarray, wants: np.ndarray):
    """Linear from 0 at the red line to 1 at the ideal, satiated past the ideal,
    negative past the red line (unacceptable)."""
    span = np.maximum(np.abs(ideal - red_line), EPS)
    return np.minimum(wants * (x - red_line) / span, 1.0)


def acceptable(x: np.ndarray, red_line: np.ndarray, wants: np.ndarray, scale: float = 1.0):
    """True where ``x`` is on the ideal's side of the red line (the hard limit)."""
    return wants * (x - red_line) >= -EPS * scale


def zone_of_agreement(red_line: np.ndarray, wants: np.ndarray, minimum, maximum):
    """The zone of possible agreement over a party axis (last axis).

    Parties that want more accept ``[red_line, maximum]``, those that want less
    ``[minimum, red_line]``; the zone is the intersection ``[lo, hi]`` (Raiffa 1982,
    ZOPA). Returns ``(lo, hi)``; there is a zone where ``lo <= hi``.
    """
    red_line, wants = np.broadcast_arrays(red_line, wants)
    lo = np.where(wants[..., 0] > 0, red_line[..., 0], minimum)
    hi = np.where(wants[..., 0] < 0, red_line[..., 0], maximum)
    # a loop over the (few) parties: numpy reduces slowly over a short last axis
    for p in range(1, red_line.shape[-1]):
        lo = np.maximum(lo, np.where(wants[..., p] > 0, red_line[..., p], minimum))
        hi = np.minimum(hi, np.where(wants[..., p] < 0, red_line[..., p], maximum))
    return lo, hi


def lattice_bounds(lo: np.ndarray, hi: np.ndarray, step: float):
    """Integer lattice indices ``k_lo, k_hi`` of the points ``k * step`` in [lo, hi];
    the zone holds a lattice point where ``k_lo <= k_hi``. Agreements are round
    numbers: an issue's lattice."""
    k_lo = np.ceil(lo / step - EPS).astype(np.int64)
    k_hi = np.floor(hi / step + EPS).astype(np.int64)
    return k_lo, k_hi


def round_toward_ideal(x: np.ndarray, wants: np.ndarray, step: float) -> np.ndarray:
    """A stated offer: the aspiration rounded to the lattice on the ideal's side, so
    an offer is never worse for its author than its aspiration."""
    return np.where(wants > 0, np.ceil(x / step - EPS), np.floor(x / step + EPS)) * step


def split_the_difference(offers: np.ndarray, k_lo, k_hi, step: float) -> np.ndarray:
    """Mediator's proposal: the midpoint of the extreme offers (last axis), snapped
    to the nearest lattice point inside the zone. The classic mediator's compromise
    (Raiffa 1982, ch. 9: "split the difference")."""
    middle = 0.5 * (offers.min(axis=-1) + offers.max(axis=-1))
    k = np.clip(np.round(middle / step), k_lo, k_hi)
    return k * step


def nash_point(
    ideal: np.ndarray,
    red_line: np.ndarray,
    wants: np.ndarray,
    power: np.ndarray,
    k_lo: np.ndarray,
    k_hi: np.ndarray,
    step: float,
    grid: int = 256,
) -> np.ndarray:
    """Generalised Nash bargaining point on the zone's lattice.

    Maximises ``sum_p power_p * log u_p(x)`` over the lattice points of the zone, with
    each party's disagreement point at its red line (Nash 1950; Kalai 1977 for the
    asymmetric form). ``ideal, red_line, wants, power`` are ``(..., parties)``;
    ``k_lo, k_hi`` the zone's lattice bounds ``(...)``. On a linear pie with
    disagreement points ``d1, d2`` this is ``x1 = d1 + alpha (1 - d1 - d2)``
    (STYLE.md). Where several points tie (both parties satiated) the middle one is
    taken. Zones wider than ``grid`` points are searched on an evenly thinned
    lattice. Where there is no zone the result is NaN.
    """
    width = np.maximum(k_hi - k_lo, 0)
    points = int(min(grid, width.max(initial=0) + 1))
    offsets = np.arange(points)
    stride = np.maximum(1, np.ceil(width / max(points - 1, 1))).astype(np.int64)
    k = k_lo[..., None] + np.minimum(offsets * stride[..., None], width[..., None])
    x = k * step  # (..., points)
    span = np.maximum(np.abs(ideal - red_line), EPS)[..., None, :]
    gain = wants[..., None, :] * (x[..., :, None] - red_line[..., None, :])
    u = np.minimum(gain / span, 1.0) + EPS
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.sum(power[..., None, :] * np.log(np.maximum(u, 0.0)), axis=-1)
    best = score.max(axis=-1, keepdims=True)
    ties = score >= best - 1e-12
    first = np.argmax(ties, axis=-1)
    last = points - 1 - np.argmax(ties[..., ::-1], axis=-1)
    pick = (first + last) // 2
    chosen = np.take_along_axis(x, pick[..., None], axis=-1)[..., 0]
    return np.where(k_lo <= k_hi, chosen, np.nan)


def accepts(
    proposal: np.ndarray,
    current_aspiration: np.ndarray,
    red_line: np.ndarray,
    wants: np.ndarray,
    tolerance: np.ndarray,
    scale: float = 1.0,
) -> np.ndarray:
    """A delegation accepts a proposal that is inside its red line (always required)
    and no worse than its current aspiration by more than ``tolerance``.

    The tolerance is the mediator's credibility: a concession to a mediator's text is
    not read as weakness, so parties accept a little less from it than they would ask
    for themselves (Pruitt & Johnson 1970; Carnevale & Pruitt 1992).
    """
    inside = acceptable(proposal, red_line, wants, scale)
    good_enough = wants * (proposal - current_aspiration) >= -tolerance - EPS * scale
    return inside & good_enough


def walkout_threshold(patience: np.ndarray, gamma_draw: np.ndarray) -> np.ndarray:
    """Frustration at which a delegation leaves: its patience (minutes of stalled
    talk) times a Gamma(shape, 1/shape) draw of mean 1. Frustration accumulating one
    salient minute at a time against a Gamma threshold is the waiting time of a
    Poisson process of irritations (``shape`` of them to leave); shape -> infinity
    makes patience a fixed deadline."""
    return patience * gamma_draw


def frustration_step(frustration: np.ndarray, salience: np.ndarray, stalled: np.ndarray):
    """One minute: a stalled item adds its salience to the frustration of each side;
    progress (an agreement) clears it (Zartman's "hurting stalemate" in reverse: an
    agreement restores the value of staying at the table)."""
    return np.where(stalled, frustration + salience, 0.0)


def compound_level(
    level_ideal: np.ndarray,
    level_red_line: np.ndarray,
    level_wants: np.ndarray,
    conditions_red_line: np.ndarray,
    conditions_wants: np.ndarray,
    minimum: float,
    maximum: float,
    step: float,
) -> np.ndarray:
    """The level of a compound issue the mediator puts to the parties: the highest
    level (1 .. L-1) that no side asks to exceed (at most the highest ideal), that
    every side's level red line admits, and at which the conditions red lines
    (``conditions_red_line[..., party, level - 1]``) leave a zone of agreement with a
    lattice point; 0 where none does. A mediator aims for the most durable
    arrangement on offer.

    This is the linkage "no general ceasefire without conditions met": the
    conditions a side demands depend on the level (Russia tied a general ceasefire
    to its memorandum's conditions but offered local pauses with few strings:
    reported-rounds.md, round 2).
    """
    chosen = np.zeros(level_red_line.shape[:-1], dtype=np.int64)
    for level in range(1, conditions_red_line.shape[-1] + 1):
        level_ok = np.all(acceptable(np.float64(level), level_red_line, level_wants), axis=-1)
        level_ok &= np.max(level_ideal, axis=-1) >= level
        lo, hi = zone_of_agreement(conditions_red_line[..., level - 1], conditions_wants,
                                   minimum, maximum)
        k_lo, k_hi = lattice_bounds(lo, hi, step)
        chosen = np.where(level_ok & (k_lo <= k_hi), level, chosen)
    return chosen
