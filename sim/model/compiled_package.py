"""The package protocol's mediator rules for one replicate, compiled (numba): the scalar
twins of ``sim.model.package`` (``target``, ``corner``, ``compromise``) and of
``sim.model.beliefs`` (``learn``, ``reckon``), in the numpy engine's order of
operations (``sim.model.compiled_rules`` says how far that goes).

Each function takes the arrays of one replicate (views of the chunk's arrays, or the
kernel's scratch arrays) and writes its result in place.
"""

from __future__ import annotations

import math

import numpy as np

from sim.model.compiled_rules import (
    EPS,
    INF,
    NAN,
    clip,
    grid,
    inlined,
    kernel,
    maximum,
    mean_utility,
    minimum,
    nan_to_num,
    nash_point,
    pick,
    utility,
    zone_bounds,
)
from sim.model.package import FLOOR, GRID, SWEEPS
from sim.model.rules import LEVEL_TOL


@kernel
def log_gain(gain: float) -> float:
    """``package._log_gain``: ``log(gain)``, continued linearly below ``FLOOR``."""
    return math.log(maximum(gain, FLOOR)) + minimum(gain - FLOOR, 0.0) / FLOOR


@kernel
def _best_on_issue(i: int, k_lo: np.int64, k_hi: np.int64, step: float, ideal, red_line,
                   wants, weight, reserve, power, rest, pull: float, pull_ideal: float,
                   pull_weight: float, span: float, ks, scores) -> float:
    """The coordinate step of ``package.target`` on issue ``i``: the lattice point of
    its zone maximising the Nash objective given the other issues (``rest``: each
    side's gain from them), by ``rules.lattice_argmax``'s zoom (grid of ``GRID``)."""
    parties = rest.shape[0]
    lo, hi = k_lo, k_hi
    while True:
        points, stride = grid(lo, hi, GRID, ks)
        for j in range(points):
            x = ks[j] * step
            score = 0.0
            for p in range(parties):
                g = weight[p, i] * (utility(x, ideal[p, i], red_line[p, i], wants[p, i])
                                    - reserve[p])
                score = score + power[p] * log_gain(rest[p] + g)
            if pull_weight > 0:
                score = score - pull * pull_weight * abs(x - pull_ideal) / span
            scores[j] = score
        chosen = pick(scores, ks, points)
        if stride <= 1:
            return chosen * step
        lo = max(k_lo, chosen - stride)
        hi = min(k_hi, chosen + stride)


@kernel
def target(k_lo, k_hi, step, ideal, red_line, wants, weight, open_, reserve, power,
           pull: float, pull_ideal, pull_weight, span, x, usable, w, gains, total, rest,
           seen, ks, scores) -> None:
    """``package.target`` for one replicate, into ``x`` ``(I,)``: coordinate ascent of
    the Nash product of the sides' gains over the lattice of the zones (NaN on issues
    not open or without a zone). ``usable, w, gains, total, rest, seen, ks, scores``:
    scratch. An issue none of whose fellows has moved since it was last optimised is
    not searched again: its search would read the same numbers (``rest`` is unchanged
    to the bit: an unmoved issue adds exactly 0 to ``total``) and choose the same
    point, which is what the numpy twin, searching it, finds."""
    parties, issues = wants.shape
    for i in range(issues):
        usable[i] = open_[i] and k_lo[i] <= k_hi[i]
        x[i] = (k_lo[i] + k_hi[i]) // 2 * step[i] if usable[i] else NAN
        for p in range(parties):
            w[p, i] = weight[p, i] if usable[i] else 0.0
            if usable[i]:
                u = utility(x[i], ideal[p, i], red_line[p, i], wants[p, i])
                gains[p, i] = w[p, i] * (u - reserve[p])
            else:
                gains[p, i] = 0.0
    for p in range(parties):
        total[p] = gains[p, 0]
        for i in range(1, issues):
            total[p] += gains[p, i]
    moves = 0  # how many times a coordinate has moved; seen[i]: the count at i's search
    for i in range(issues):
        seen[i] = -1
    for _ in range(SWEEPS):
        changed = False
        for i in range(issues):
            if not (usable[i] and k_hi[i] > k_lo[i]):
                continue
            if seen[i] == moves:  # nothing has moved since it was searched
                continue
            for p in range(parties):
                rest[p] = total[p] - gains[p, i]
            chosen = _best_on_issue(i, k_lo[i], k_hi[i], step[i], ideal, red_line, wants, w,
                                    reserve, power, rest, pull, pull_ideal[i], pull_weight[i],
                                    span[i], ks, scores)
            if chosen != x[i]:
                changed = True
                moves += 1
            seen[i] = moves
            x[i] = chosen
            for p in range(parties):
                u = utility(chosen, ideal[p, i], red_line[p, i], wants[p, i])
                new = w[p, i] * (u - reserve[p])
                total[p] += new - gains[p, i]
                gains[p, i] = new
        if not changed:  # a sweep that changes nothing has reached a fixed point
            break


@inlined  # called every package minute: inlined into the minute loop, 3% of its time
def compromise(target_x, k_lo, k_hi, step, span, wants, weight, ideal, red_line,
               target_value, demands, credibility: float, open_, out, corner, mask,
               flat, need, needed, allowed) -> None:
    """``Mediator.revise`` for one replicate, into ``out`` ``(I,)``: the target moved
    toward the corner of the zone that the sides short of their demands favour
    (``package.corner``), as far as they need and the others allow
    (``package.compromise``). ``corner, mask, flat, need, needed, allowed``: scratch."""
    parties, issues = wants.shape
    for p in range(parties):
        need[p] = demands[p] - credibility
    for i in range(issues):
        direction = 0.0
        for p in range(parties):
            own = target_value[p]
            push = 0.0 if own != own else maximum(need[p] - own, 0.0)
            term = push * weight[p, i] * wants[p, i] / span[i]
            direction = term if p == 0 else direction + term
        corner[i] = (k_hi[i] if direction >= 0 else k_lo[i]) * step[i]
        mask[i] = open_[i] and target_x[i] == target_x[i]
        flat[i] = nan_to_num(target_x[i])
    for i in range(issues):  # the corner where in the text, the target elsewhere
        out[i] = corner[i] if mask[i] else flat[i]
    all_short = True
    for p in range(parties):
        own = target_value[p] if target_value[p] == target_value[p] else 1.0
        slope = mean_utility(out, ideal[p], red_line[p], wants[p], weight[p], mask) - own
        if own < need[p]:
            needed[p] = (need[p] - own) / slope if slope > EPS else INF
        else:
            needed[p] = 0.0
            all_short = False
        if own >= need[p] and slope < -EPS:
            allowed[p] = (own - need[p]) / -slope
        else:
            allowed[p] = INF
    most, least = needed[0], allowed[0]
    for p in range(1, parties):
        most = NAN if (most != most or needed[p] != needed[p]) else max(most, needed[p])
        least = NAN if (least != least or allowed[p] != allowed[p]) else min(least, allowed[p])
    lam = minimum(most, least)
    if lam != lam:
        lam = 0.0
    elif lam == INF:
        lam = 1.0
    lam = clip(lam, 0.0, 1.0)
    if all_short:  # every side wants more than the target: the balanced text stands
        lam = 0.0
    for i in range(issues):
        if mask[i]:
            moved = flat[i] + lam * (corner[i] - flat[i])
            out[i] = np.rint(moved / step[i]) * step[i]
        else:
            out[i] = NAN


@kernel
def zones(limit, wants, minimum_, maximum_, step, compound, level, k_lo, k_hi) -> None:
    """``beliefs._zones`` for one replicate: the lattice bounds of each issue's zone of
    the limits ``(P, I)``, none on a compound issue with no level put."""
    for i in range(wants.shape[1]):
        k_lo[i], k_hi[i] = zone_bounds(limit[:, i], wants[:, i], minimum_[i], maximum_[i],
                                       step[i])
        if compound[i] and level[i] == 0:
            k_hi[i] = k_lo[i] - 1


@kernel
def reckon(lo, hi, b_lo, b_hi, true_red, true_batna, ideal, shift, bonus, span, wants,
           minimum_, maximum_, step, compound, levelled, level, power, package_round: bool,
           pull: float, pull_ideal, pull_weight, red_line, batna, reserve, zone_lo, zone_hi,
           nash, limit, ks, scores, column_ideal, column_red, column_wants) -> None:
    """``beliefs.reckon`` for one replicate: the red lines, BATNAs, reservations, zones
    and (item by item) Nash points the mediator's belief intervals imply, written into
    ``red_line, batna, reserve, zone_lo, zone_hi, nash``. ``limit`` ``(P, I)`` and the
    ``column_*`` ``(P,)``: scratch. A levelled issue's red line is the level nearest
    the belief's middle (``np.round`` is ``rint``: halves to even), within the levels
    its bounds allow (``beliefs._level_guess``); in a package round
    the zones are the red lines', item by item the BATNA limits'."""
    parties, issues = wants.shape
    for p in range(parties):
        batna[p] = clip(true_batna[p] + 0.5 * (b_lo[p] + b_hi[p]), 0.0, 0.95)
        reserve[p] = clip(batna[p] + shift[p] - bonus[p], 0.0, 1.0)
        for i in range(issues):
            red_line[p, i] = true_red[p, i] + span[i] * 0.5 * (lo[p, i] + hi[p, i])
            if levelled[i] and hi[p, i] > lo[p, i]:  # beliefs._level_guess
                near = np.rint(red_line[p, i] / step[i]) * step[i]
                if wants[p, i] < 0:
                    top = true_red[p, i] + span[i] * hi[p, i]
                    red_line[p, i] = minimum(
                        near, math.floor(top / step[i] + LEVEL_TOL) * step[i])
                else:
                    bottom = true_red[p, i] + span[i] * lo[p, i]
                    red_line[p, i] = maximum(
                        near, math.ceil(bottom / step[i] - LEVEL_TOL) * step[i])
            limit[p, i] = red_line[p, i] + clip(reserve[p], 0.0, 1.0) * (
                ideal[p, i] - red_line[p, i])
    if package_round:
        zones(red_line, wants, minimum_, maximum_, step, compound, level, zone_lo, zone_hi)
    else:
        zones(limit, wants, minimum_, maximum_, step, compound, level, zone_lo, zone_hi)
    for i in range(issues):
        if package_round:  # no item-by-item targets: the package's own
            nash[i] = NAN
            continue
        for p in range(parties):
            column_ideal[p] = ideal[p, i]
            column_red[p] = limit[p, i]
            column_wants[p] = wants[p, i]
        nash[i] = nash_point(column_ideal, column_red, column_wants, power, zone_lo[i],
                             zone_hi[i], step[i], pull * pull_weight[i], pull_ideal[i],
                             span[i], ks, scores)


@kernel
def narrow(lo: float, hi: float, new_lo: float, new_hi: float) -> tuple:
    """``rules.narrowed``: a uniform belief truncated by evidence, unless emptied."""
    a, b = maximum(lo, new_lo), minimum(hi, new_hi)
    if a <= b:
        return a, b
    return lo, hi
