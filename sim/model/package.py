"""The package protocol's rules: the mediator's single negotiating text over every open
issue, and how it is revised (pure functions over arrays with a leading replicate axis).

A party judges a package by the salience-weighted mean of its issue utilities (linear
from red line, 0, to ideal, 1: ``rules.mean_utility``); what it gains from it is that
mean less its reservation (``rules.reservation``: BATNA less what a mediator's
guarantee adds). Because the utility is additive across issues, a side can give on
what it cares little about to gain on what it cares much about: logrolling, the centre
of integrative bargaining (Raiffa 1982, ch. 10-11; Lax & Sebenius 1986).

- ``target``: the text the mediator aims for — the generalised Nash point of the
  parties' gains over the lattice of the believed zones (Nash 1950; Kalai 1977), with
  powers ``rules.nash_powers`` (patience as power) and a biased mediator's pull toward
  its own ideal (Kydd 2003). Fisher's single negotiating text (Raiffa 1982, ch. 14).
- ``compromise``: the revision when some side says the text falls short of what it
  still needs: the text moves from the target toward those sides' corner of the zone,
  as far as their stated demands need and no further than the others' allow (the SNT
  revised against criticism; a concession race decides where it ends: firmness pays,
  Conceders give up more, as Faratin et al. 1998's curves meet).
"""

from __future__ import annotations

import numpy as np

from sim.model.rules import EPS, lattice_argmax, mean_utility, nan_to_zero, utility

#: Below this gain the Nash objective continues linearly (concave and smooth), so that
#: the ascent is pushed toward packages every side gains from even where none does yet.
FLOOR = 1e-6

#: Lattice points examined per issue in one coordinate step (wider zones are thinned).
GRID = 64

#: Most sweeps of coordinate ascent over the issues (a replicate stops once a sweep
#: changes nothing).
SWEEPS = 4


def _log_gain(gain: np.ndarray) -> np.ndarray:
    """``log(gain)``, continued linearly below ``FLOOR`` (value and slope match)."""
    return np.log(np.maximum(gain, FLOOR)) + np.minimum(gain - FLOOR, 0.0) / FLOOR


def _sum_last(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=-1)`` for a short last axis, as a loop of additions (faster)."""
    total = a[..., 0].copy()
    for k in range(1, a.shape[-1]):
        total += a[..., k]
    return total


def issue_gains(x: np.ndarray, ideal: np.ndarray, red_line: np.ndarray, wants: np.ndarray,
                weight: np.ndarray, reserve: np.ndarray) -> np.ndarray:
    """Each side's weighted gain on each issue at value ``x``: ``w (u(x) - reserve)``.
    ``x`` is ``(n, ..., issues)``; the others ``(n, parties, issues)`` (``reserve``
    ``(n, parties, 1)``); the result ``(n, ..., parties, issues)``."""
    u = utility(x[..., None, :], ideal, red_line, wants)
    return weight * (u - reserve)


def target(k_lo: np.ndarray, k_hi: np.ndarray, step: np.ndarray, ideal: np.ndarray,
           red_line: np.ndarray, wants: np.ndarray, weight: np.ndarray, open_: np.ndarray,
           reserve: np.ndarray, power: np.ndarray, pull: np.ndarray, pull_ideal: np.ndarray,
           pull_weight: np.ndarray, span: np.ndarray) -> np.ndarray:
    """The mediator's target text: the lattice point of the (believed) zones of the open
    issues maximising ``sum_p power_p log(gain_p) - pull * sum_i m_i |x_i - m*_i| / span_i``,
    where ``gain_p = sum_i w_pi (u_pi(x_i) - reserve_p)`` over the open issues.

    Coordinate ascent, issue by issue (``SWEEPS`` times), each step the best of the
    issue's lattice points in the zone given the others (``rules.lattice_argmax``: a
    grid of ``GRID`` points, refined around the best until the lattice itself): the
    objective is concave and separable inside the log, so the ascent ends at (or within
    a lattice step of) the maximum. Ties: the middle one. Arrays: ``k_lo, k_hi``
    ``(n, I)`` lattice bounds (no zone: ``k_lo > k_hi``), ``step, span`` ``(I,)``,
    ``ideal, red_line, weight`` ``(n, P, I)``, ``wants`` ``(P, I)``, ``open_`` ``(n, I)``,
    ``reserve, power`` ``(n, P)``, ``pull`` ``(n,)``, ``pull_ideal, pull_weight`` ``(I,)``.
    Returns ``(n, I)``, NaN on issues not open or without a zone.
    """
    n, n_issues = k_lo.shape
    usable = open_ & (k_lo <= k_hi)
    k = np.where(usable, (k_lo + k_hi) // 2, 0)
    x = np.where(usable, k * step, np.nan)
    res = reserve[:, :, None]
    weight = np.where(usable[:, None, :], weight, 0.0)
    gains = np.where(usable[:, None, :], issue_gains(nan_to_zero(x), ideal, red_line, wants,
                                                     weight, res), 0.0)  # (n, P, I)
    total = _sum_last(gains)  # (n, P): each side's gain over the text, kept up to date
    moving = np.ones(n, dtype=bool)  # replicates whose last sweep changed a coordinate
    for _ in range(SWEEPS):
        changed = np.zeros(n, dtype=bool)
        for i in range(n_issues):
            # an issue whose zone is one lattice point has nothing to choose
            rows = np.flatnonzero(usable[:, i] & moving & (k_hi[:, i] > k_lo[:, i]))
            if not rows.size:
                continue
            rest = total[rows] - gains[rows, :, i]  # (r, P)
            sides = [(ideal[rows, p, i, None], red_line[rows, p, i, None], wants[p, i],
                      weight[rows, p, i, None], reserve[rows, p, None], power[rows, p, None],
                      rest[:, p, None]) for p in range(wants.shape[0])]

            def score_of(cand: np.ndarray, rows=rows, i=i, sides=sides) -> np.ndarray:
                score = 0.0  # a loop over the (few) sides: numpy sums a short axis slowly
                for ideal_p, red_p, wants_p, w_p, res_p, power_p, rest_p in sides:
                    g = w_p * (utility(cand, ideal_p, red_p, wants_p) - res_p)
                    score = score + power_p * _log_gain(rest_p + g)
                if pull_weight[i] > 0:
                    score = score - (pull[rows, None] * pull_weight[i]
                                     * np.abs(cand - pull_ideal[i]) / span[i])
                return score

            chosen = lattice_argmax(score_of, k_lo[rows, i], k_hi[rows, i], step[i], GRID)
            changed[rows] |= chosen != x[rows, i]
            x[rows, i] = chosen
            u = utility(chosen[:, None], ideal[rows, :, i], red_line[rows, :, i], wants[:, i])
            new = weight[rows, :, i] * (u - reserve[rows])
            total[rows] += new - gains[rows, :, i]
            gains[rows, :, i] = new
        moving = changed  # a sweep that changes nothing has reached a fixed point
        if not moving.any():
            break
    return x


def corner(k_lo: np.ndarray, k_hi: np.ndarray, step: np.ndarray, wants: np.ndarray,
           weight: np.ndarray, span: np.ndarray, push: np.ndarray) -> np.ndarray:
    """The end of each issue's zone that the sides pushing (``push`` ``(n, P)``,
    non-negative weights) favour together: per issue, the bound in the direction of
    ``sum_p push_p w_pi wants_pi / span_pi`` (the gradient of their weighted gains)."""
    direction = push[:, 0, None] * weight[:, 0] * wants[0] / span  # (n, I)
    for p in range(1, push.shape[1]):
        direction += push[:, p, None] * weight[:, p] * wants[p] / span
    return np.where(direction >= 0, k_hi, k_lo) * step


def compromise(target_x: np.ndarray, corner_x: np.ndarray, own: np.ndarray,
               demand: np.ndarray, open_: np.ndarray, step: np.ndarray,
               ideal: np.ndarray, red_line: np.ndarray, wants: np.ndarray,
               weight: np.ndarray) -> np.ndarray:
    """The revised text: ``target + lam (corner - target)`` on the lattice, with ``lam``
    the least that brings every side short of its stated demand up to it (by the
    mediator's reckoning of their utilities) and no more than keeps the others at
    theirs — once at least one side can live with the target (before that, the target
    itself) (``own``: each side's believed mean utility of the target, ``(n, P)``;
    ``demand``: what each says it needs, less the tolerance). Along the segment each
    side's utility is linear (between its red line and ideal), so each bound is one
    division."""
    mask = open_ & ~np.isnan(target_x)
    t = nan_to_zero(target_x)
    c = np.where(mask, corner_x, t)
    at_corner = np.stack([mean_utility(c, ideal[:, p], red_line[:, p], wants[p], weight[:, p],
                                       mask) for p in range(wants.shape[0])], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = at_corner - own  # utility change from target to corner
        needed = np.where(own < demand,
                          np.where(slope > EPS, (demand - own) / slope, np.inf), 0.0)
        allowed = np.where((own >= demand) & (slope < -EPS), (own - demand) / -slope, np.inf)
    lam = np.minimum(np.max(needed, axis=1), np.min(allowed, axis=1))
    lam = np.clip(np.nan_to_num(lam, posinf=1.0), 0.0, 1.0)
    # where every side still wants more than the target gives it, the target is the
    # balanced text: it stands until someone can live with it
    lam = np.where((own < demand).all(axis=1), 0.0, lam)
    moved = t + lam[:, None] * (c - t)
    return np.where(mask, np.round(moved / step) * step, np.nan)
