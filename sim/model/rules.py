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

def nan_to_zero(x: np.ndarray) -> np.ndarray:
    """NaN as 0, for values that are never infinite here (texts, utilities): what
    ``np.nan_to_num`` gives them, without its checks for infinities (a fifth of the
    package protocol's bookkeeping)."""
    return np.where(np.isnan(x), 0.0, x)


#: Rounding slack when a belief's bound is read as a level (``beliefs._level_guess``):
#: far below the 1e-9 of the span by which ``beliefs.learn`` truncates a belief short
#: of a level objected to.
LEVEL_TOL = 1e-12


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
    negative past the red line (unacceptable). A side whose red line is its ideal
    accepts that one point, and has its ideal there: 1 on the acceptable side, -1
    past it (the linear form's 0/0 would give it nothing from its own ideal)."""
    gap = np.abs(ideal - red_line)
    side = wants * (x - red_line)
    wide = gap > EPS
    if wide.all():  # the common case: no red line at its ideal (and no np.where)
        return np.minimum(side / gap, 1.0)
    linear = np.minimum(side / np.maximum(gap, EPS), 1.0)
    return np.where(wide, linear, np.where(side >= -EPS, 1.0, -1.0))


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
    pull: np.ndarray | float = 0.0,
    pull_ideal: np.ndarray | float = 0.0,
    pull_span: float = 1.0,
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

    A mediator with stakes of its own (``pull`` > 0) adds ``pull`` times its own
    utility, linear in the distance from ``pull_ideal`` over ``pull_span``, to the
    objective: its text leans toward its ideal (a biased mediator, Kydd 2003); with no
    pull it is the impartial point.
    """
    span = np.maximum(np.abs(ideal - red_line), EPS)[..., None, :]
    pull = np.asarray(pull, dtype=float)

    def score_of(x: np.ndarray) -> np.ndarray:
        gain = wants[..., None, :] * (x[..., :, None] - red_line[..., None, :])
        u = np.minimum(gain / span, 1.0) + EPS
        with np.errstate(divide="ignore", invalid="ignore"):
            score = np.sum(power[..., None, :] * np.log(np.maximum(u, 0.0)), axis=-1)
        if np.any(pull):
            score = score - pull[..., None] * np.abs(x - np.asarray(pull_ideal)[..., None]) \
                / pull_span
        return score

    chosen = lattice_argmax(score_of, k_lo, k_hi, step, grid)
    return np.where(k_lo <= k_hi, chosen, np.nan)


def lattice_argmax(score_of, k_lo: np.ndarray, k_hi: np.ndarray, step,
                   grid: int) -> np.ndarray:
    """The lattice point ``k * step`` in ``[k_lo, k_hi]`` (per replicate) where
    ``score_of(x)`` (``x`` ``(..., points)`` -> scores of the same shape) is largest: a
    grid of at most ``grid`` points, then finer grids around the best point until the
    lattice itself is searched (a zoom; exact where the score is unimodal, as a concave
    Nash objective is). Ties: the middle one. NaN where the zone is empty.

    Each replicate is searched on its own lattice, as if alone: its grid has
    ``min(grid, width + 1)`` points whatever the others' widths, and it stops zooming
    when its own grid is the lattice. (A grid shared by the replicates of a chunk made a
    replicate's point depend on which others ran with it.)"""
    k_lo, k_hi = np.asarray(k_lo), np.asarray(k_hi)
    empty = k_lo > k_hi
    lo, hi = np.where(empty, 0, k_lo), np.where(empty, 0, k_hi)
    pick = lo.copy()
    zooming = ~empty  # replicates whose grid is still coarser than the lattice
    while True:
        width = np.where(zooming, np.maximum(hi - lo, 0), 0)
        own = np.minimum(grid, width + 1)  # each replicate's own number of grid points
        points = int(own.max(initial=1))
        stride = np.maximum(1, np.ceil(width / np.maximum(own - 1, 1))).astype(np.int64)
        column = np.arange(points)
        k = lo[..., None] + np.minimum(column * stride[..., None], width[..., None])
        score = score_of(k * step)
        valid = column < own[..., None]  # the points past a replicate's own are not its
        best = score.max(axis=-1, keepdims=True, where=valid, initial=-np.inf)
        ties = valid & (score >= best - 1e-12)
        tied = ties.any(axis=-1)
        first = np.argmax(ties, axis=-1)
        last = np.where(tied, points - 1 - np.argmax(ties[..., ::-1], axis=-1), own - 1)
        chosen = np.take_along_axis(k, ((first + last) // 2)[..., None], axis=-1)[..., 0]
        pick = np.where(zooming, chosen, pick)
        zooming &= stride > 1
        if not zooming.any():
            break
        lo = np.where(zooming, np.maximum(k_lo, pick - stride), pick)
        hi = np.where(zooming, np.minimum(k_hi, pick + stride), pick)
    return np.where(empty, np.nan, pick * step)


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


# ---------------------------------------------------------------------- time and BATNA
def discount_rate(discount_per_hour: np.ndarray) -> np.ndarray:
    """The continuous rate (per hour) at which a party's value of a deal decays, from
    the share lost per hour of talks: ``r = -ln(1 - d)`` (Rubinstein 1982's discount
    factor per hour is ``1 - d``)."""
    return -np.log1p(-np.clip(discount_per_hour, 0.0, 0.999999))


def concession_horizon(deadline_minutes: float, rate_per_hour: np.ndarray) -> np.ndarray:
    """The minutes over which a side concedes from ideal to reservation: its speed is
    its planned horizon's (``1 / deadline``) plus its cost of delay (``r / 60``), so
    the horizon is ``deadline / (1 + deadline r / 60)`` (the deadline itself where
    there is no discounting).

    A side that loses value as talks go on concedes faster: with concession speeds
    proportional to discount rates, linear concession curves meet where side 1 gets
    ``r2 / (r1 + r2)`` of a pie — the limit of Rubinstein's (1982) alternating-offers
    split ``(1 - d2) / (1 - d1 d2)`` as the time between offers shrinks (Binmore,
    Rubinstein & Wolinsky 1986). Without discounting every side keeps its deadline.
    """
    return deadline_minutes / (1.0 + deadline_minutes * np.asarray(rate_per_hour) / 60.0)


def nash_powers(bargaining_power: np.ndarray, horizon: np.ndarray,
                deadline_minutes: float) -> np.ndarray:
    """Bargaining powers of the mediator's target: a side's stated power times its
    concession horizon relative to the deadline. Patience is power: in the limit of
    Binmore, Rubinstein & Wolinsky (1986) the asymmetric Nash solution with powers
    ``1 / r_p`` is Rubinstein's split; without discounting the powers are as stated."""
    return bargaining_power * (horizon / deadline_minutes)


def reservation(batna: np.ndarray, bonus: np.ndarray) -> np.ndarray:
    """The least mean utility a side takes from an agreement: its BATNA (what leaving
    with nothing is worth, on the scale where every red line met exactly is 0 and every
    ideal 1) less what a mediator's guarantee or side payment adds to any agreement
    (``bonus``); never below 0, for red lines are hard limits."""
    return np.clip(batna - bonus, 0.0, 1.0)


def batna_red_line(ideal: np.ndarray, red_line: np.ndarray,
                   reservation_utility: np.ndarray) -> np.ndarray:
    """An item's limit once a side needs ``reservation_utility`` from it: the point of
    linear utility ``reservation_utility`` between red line (0) and ideal (1). In an
    item-by-item round a side takes no item worth less than its BATNA (Fisher & Ury
    1981: a BATNA is the measure against which any agreement is judged)."""
    return red_line + np.clip(reservation_utility, 0.0, 1.0) * (ideal - red_line)


def mean_utility(x: np.ndarray, ideal: np.ndarray, red_line: np.ndarray, wants: np.ndarray,
                 weight: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A package's utility to a side: the salience-weighted mean of its issue utilities
    over the issues in the package (``mask``) — additive utility across issues
    (Raiffa 1982, ch. 10: the additive value model of multi-issue negotiation). Arrays
    over ``(..., issues)``; NaN where the package is empty."""
    u = utility(nan_to_zero(x), ideal, red_line, wants)
    w = np.where(mask, weight, 0.0)
    # a loop over the (few) issues: numpy reduces slowly over a short last axis
    total, weighted = w[..., 0].copy(), w[..., 0] * u[..., 0]
    for i in range(1, w.shape[-1]):
        total += w[..., i]
        weighted += w[..., i] * u[..., i]
    with np.errstate(invalid="ignore", divide="ignore"):
        return weighted / total


def utility_aspiration(reservation_utility: np.ndarray, fraction: np.ndarray) -> np.ndarray:
    """The package utility a side holds out for: from 1 (every ideal) down to its
    reservation, ``fraction`` of the way (Faratin et al. 1998 on the utility scale)."""
    return reservation_utility + (1.0 - reservation_utility) * (1.0 - np.clip(fraction, 0, 1))


def minutes_to_accept(value: np.ndarray, reservation_utility: np.ndarray, beta: np.ndarray,
                      speed: np.ndarray, elapsed_share: np.ndarray) -> np.ndarray:
    """How many more minutes a side expects before its own aspiration falls to
    ``value`` (the inverse of its concession curve; 0 if it already has)."""
    span = np.maximum(1.0 - reservation_utility, EPS)
    fraction = np.clip((1.0 - value) / span, 0.0, 1.0)
    needed = fraction ** beta  # the elapsed share at which it concedes that far
    return np.maximum(needed - elapsed_share, 0.0) / np.maximum(speed, EPS)


def staying_value(p_deal: np.ndarray, value: np.ndarray, reservation_utility: np.ndarray,
                  discount_per_hour: np.ndarray, minutes: np.ndarray) -> np.ndarray:
    """What staying at the table is worth to a side: with probability ``p_deal`` a deal
    worth ``value``, otherwise its BATNA later — discounted for the ``minutes`` it
    expects to wait (von Neumann-Morgenstern expected utility, Rubinstein's discount
    per hour). A side walks out when this is less than its BATNA now (``walks_out``):
    leaving is a decision, not a mood."""
    later = p_deal * value + (1.0 - p_deal) * reservation_utility
    return later * (1.0 - np.clip(discount_per_hour, 0.0, 1.0)) ** (minutes / 60.0)


def walks_out(stay: np.ndarray, reservation_utility: np.ndarray) -> np.ndarray:
    """Leave where staying is worth less than the BATNA now (never at a BATNA of 0:
    staying is then never worse than leaving)."""
    return stay < reservation_utility - 1e-9


# ---------------------------------------------------------------------- beliefs
def narrowed(lo: np.ndarray, hi: np.ndarray, new_lo, new_hi) -> tuple[np.ndarray, np.ndarray]:
    """A uniform belief interval updated by evidence that the value lies in
    ``[new_lo, new_hi]``: the posterior of a uniform prior under a uniform-noise or
    truncating likelihood is uniform on the intersection (Bayes' rule with flat
    densities). Evidence that would empty the interval is ignored."""
    a, b = np.maximum(lo, new_lo), np.minimum(hi, new_hi)
    keep = a <= b
    return np.where(keep, a, lo), np.where(keep, b, hi)


def zone_probability(own_red: np.ndarray, own_wants: np.ndarray, lo: np.ndarray,
                     hi: np.ndarray, other_wants: np.ndarray) -> np.ndarray:
    """A side's belief that another's red line leaves room for a deal with its own:
    where the two want opposite things, the probability (under the uniform belief
    ``[lo, hi]`` about the other's red line) that it lies on the far side of its own;
    where they want the same, 1."""
    width = np.maximum(hi - lo, EPS)
    above = np.clip((hi - own_red) / width, 0.0, 1.0)  # P(other's red line >= own)
    below = np.clip((own_red - lo) / width, 0.0, 1.0)
    point = hi - lo < EPS  # a belief that is a point: certain
    above = np.where(point, (lo >= own_red - EPS).astype(float), above)
    below = np.where(point, (hi <= own_red + EPS).astype(float), below)
    opposed = own_wants * other_wants < 0
    return np.where(opposed, np.where(own_wants > 0, above, below), 1.0)
