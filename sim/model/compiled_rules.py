"""The bargaining rules of ``sim.model.rules`` for one replicate, compiled (numba).

Each function here is the scalar twin of a rule in ``rules`` (or ``package``): the same
arithmetic in the same order, so that the compiled engine reaches the numpy engine's
decisions (tests/test_compiled.py runs both on every scenario). Where numpy's own
semantics matter they are spelt out: ``maximum``/``minimum`` propagate NaN, ``clip`` is
numpy's ``min(max(x, lo), hi)`` with NaN kept, a float cast to int64 that does not fit
gives numpy's (and the processor's) ``INT64_MIN``, and a sum over a row is numpy's
pairwise summation (``row_sum``).

One difference cannot be removed: numpy computes ``log`` and ``**`` with its own SIMD
routines, the compiled code with the C library's; the two differ in the last bit for
a few inputs in a hundred. And one is chosen: the concession curve's power is taken as
the ``exp`` of a sum of logs (``concession_power``: a sixth faster engine), within
about ``5e-15`` times the power's exponent of it, relatively. No decision of the engine
hinges on such roundings: every comparison of a quantity computed through them has a
margin (``EPS`` on positions, ``1e-9`` on utilities, ``1e-12`` on Nash scores, far above
the rounding of either), so a decision could differ only where a value falls within a
rounding error of such a margin's edge (docs/architecture.md, "The compiled engine").
"""

from __future__ import annotations

import math
import os

import numpy as np
from numba import config as numba_config
from numba import njit

from sim.fileio import files_digest
from sim.model.rules import EPS

#: What numpy gives for a float that does not fit an int64 (NaN, +-inf, huge values).
INT64_MIN = np.int64(-9223372036854775808)

#: numpy's block of pairwise summation (``pairwise_sum`` in numpy's loops): the most
#: agenda issues the compiled engine sums as numpy does.
MAX_ISSUES = 128

NAN = np.nan
INF = np.inf

#: The engine's source files: its machine code is cached under a digest of them all.
#: Numba checks only the cached function's own file, so a change to a rule it calls
#: (in another file) or to a constant it froze at compile time (``package.GRID``,
#: ``beliefs.LEVEL_TOL``) would have run the old machine code.
ENGINE_SOURCES = ("compiled_rules.py", "compiled_package.py", "compiled_round.py",
                  "compiled.py", "package.py", "beliefs.py", "rules.py")


def _cache_dir() -> str:
    """Where numba keeps the engine's machine code: ``negsim-engine-<digest>`` under
    ``NUMBA_CACHE_DIR`` if set, else beside the sources (``__pycache__``, as numba's
    own default); where that cannot be written numba falls back to its own places."""
    here = os.path.dirname(os.path.abspath(__file__))
    digest = files_digest([os.path.join(here, name) for name in ENGINE_SOURCES])
    base = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(here, "__pycache__")
    return os.path.join(base, f"negsim-engine-{digest[:16]}")


CACHE_DIR = _cache_dir()


def _compiled(**options):
    """``njit(cache=True, ...)`` with the cache in ``CACHE_DIR``: numba's locator reads
    ``config.CACHE_DIR`` when a function is decorated, so it is set for that moment
    only (other numba users in the process keep theirs)."""
    def decorate(func):
        saved = numba_config.CACHE_DIR
        numba_config.CACHE_DIR = CACHE_DIR
        try:
            return njit(cache=True, **options)(func)
        finally:
            numba_config.CACHE_DIR = saved
    return decorate


#: Every compiled function: cached on disk (compiled once per machine), with numpy's
#: error model (a division by zero gives inf or NaN, as in the numpy engine, instead of
#: raising as Python does), and without numba's reference counting (``_nrt=False``):
#: the kernels allocate nothing (every array comes from the caller), and counting the
#: references to the arrays each access reads took four fifths of the run time. Python's
#: lock is let go while one runs (``nogil``): a batch's process computes chunks beside
#: its pool's workers, and the threads that hand each worker its next chunk must not wait
#: for its kernel to end (held, a worker idled a quarter of the time: the pool of two
#: was 1.53x one worker, 1.84x with it let go, on this machine's ceiling of 1.86x).
kernel = _compiled(error_model="numpy", _nrt=False, nogil=True)

#: A compiled function inlined into its callers (numba's IR): for the minute loop's
#: parts, which take the chunk's named tuples of arrays (a call would copy them).
inlined = _compiled(error_model="numpy", _nrt=False, inline="always")


@kernel
def maximum(a: float, b: float) -> float:
    """``np.maximum``: NaN if either is NaN."""
    if a != a or b != b:
        return NAN
    return a if a >= b else b


@kernel
def minimum(a: float, b: float) -> float:
    """``np.minimum``: NaN if either is NaN."""
    if a != a or b != b:
        return NAN
    return a if a <= b else b


@kernel
def clip(x: float, lo: float, hi: float) -> float:
    """``np.clip``: ``min(max(x, lo), hi)``, NaN kept."""
    if x != x:
        return x
    m = x if x > lo else lo
    return m if m < hi else hi


@kernel
def nan_to_num(x: float) -> float:
    """``np.nan_to_num`` of a value that is never infinite here: NaN becomes 0."""
    return 0.0 if x != x else x


@kernel
def to_int(x: float) -> np.int64:
    """``x.astype(np.int64)`` for a float already whole: numpy's result where it does not
    fit (``INT64_MIN``)."""
    if x != x or x >= 9.2233720368547758e18 or x < -9.2233720368547758e18:
        return INT64_MIN
    return np.int64(x)


@kernel
def _block(a, start: int, n: int) -> float:
    """numpy's pairwise sum of at most ``MAX_ISSUES`` values: sequential below 8,
    else eight running sums added in pairs."""
    if n < 8:
        res = 0.0
        for i in range(start, start + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[start], a[start + 1], a[start + 2], a[start + 3]
    r4, r5, r6, r7 = a[start + 4], a[start + 5], a[start + 6], a[start + 7]
    i = 8
    while i < n - (n % 8):
        j = start + i
        r0 += a[j]
        r1 += a[j + 1]
        r2 += a[j + 2]
        r3 += a[j + 3]
        r4 += a[j + 4]
        r5 += a[j + 5]
        r6 += a[j + 6]
        r7 += a[j + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[start + i]
        i += 1
    return res


@kernel
def row_sum(a) -> float:
    """``a.sum()`` of a 1-d array of at most ``MAX_ISSUES`` values as numpy sums a row:
    pairwise from 0.0 (numpy halves longer rows; the compiled engine is not used for
    agendas that long: ``compiled.run_compiled``)."""
    return _block(a, 0, a.shape[0])


@kernel
def power(base: float, exponent: float) -> float:
    """``base ** exponent``, without the call where the answer is exact whatever the
    library: a base of 0 or 1 (the clock before the talks and past the horizon), an
    exponent of 0 or 1. (Both libraries return these exactly.)"""
    if base == 1.0 or exponent == 0.0:
        return 1.0
    if exponent == 1.0:
        return base
    if base == 0.0 and exponent > 0.0:
        return 0.0
    return base ** exponent


#: ``log k`` of each whole minute ``k`` below 4,096, the C library's (``math.log``, as the
#: kernels' own); ``log 0`` is kept as 0 and never read. For ``concession_power``.
LOG_MINUTES = np.array([math.log(k) if k else 0.0 for k in range(4096)])


@kernel
def concession_power(share: float, since: float, log_rate: float, inverse: float) -> float:
    """``share ** inverse`` for a concession clock ``share = since * rate`` (clipped to
    ``[0, 1]``; ``log_rate = log(rate)``), as ``exp(inverse * (log since + log rate))``
    with ``log since`` read from ``LOG_MINUTES`` where ``since`` is a whole minute in it
    and the share is strictly inside ``(0, 1)``; else ``power(share, inverse)``.

    Why: the concession curve is the engine's commonest power (about 48 a June
    replicate), and the C library's ``pow`` took a sixth of a batch's time. The clock is
    a whole number of minutes times a rate fixed for an item, so its log is a table
    read plus a constant, and one ``exp`` is left: the June round ran 17-20% more rounds
    a second (docs/architecture.md, "Floating point"). A log of the share itself
    (``exp(inverse * log(share))``) gained 3%.

    The price is rounding. The table's log and ``log_rate`` are each within an ulp of
    numbers below 16 in size (a horizon is under ``1e6`` minutes), and their sum within
    half of one: the exponent's argument is within ``4.7e-15`` of ``log share``, where
    ``pow`` works in extra precision. So the result is within about
    ``(5e-15 * inverse + 4e-16)`` of ``share ** inverse`` relatively (tests/test_compiled.py
    against 40-digit arithmetic), far below the engine's margins (``EPS``, docstring
    above). It stays non-decreasing in ``since`` for a fixed rate, which the quiet
    stretches' search relies on (the table's logs increase, and rounding keeps order);
    it may pass 1 by such a rounding just before the clock runs out, and every caller
    clips it to ``[0, 1]`` as the numpy engine does."""
    if 0.0 < share < 1.0 and since < LOG_MINUTES.shape[0]:
        k = int(since)
        if k == since:
            return math.exp(inverse * (LOG_MINUTES[k] + log_rate))
    return power(share, inverse)


@kernel
def utility(x: float, ideal: float, red_line: float, wants: float) -> float:
    """``rules.utility``: 0 at the red line, 1 at the ideal, satiated past it; where the
    red line is the ideal, 1 on its acceptable side and -1 past it."""
    gap = abs(ideal - red_line)
    side = wants * (x - red_line)
    if gap > EPS:
        return minimum(side / maximum(gap, EPS), 1.0)
    return 1.0 if side >= -EPS else -1.0


@kernel
def acceptable(x: float, red_line: float, wants: float, scale: float) -> bool:
    """``rules.acceptable``: on the ideal's side of the red line."""
    return wants * (x - red_line) >= -EPS * scale


@kernel
def ceil_index(x: float, step: float) -> np.int64:
    """The lower lattice bound of ``rules.lattice_bounds``."""
    return to_int(np.ceil(x / step - EPS))


@kernel
def floor_index(x: float, step: float) -> np.int64:
    """The upper lattice bound of ``rules.lattice_bounds``."""
    return to_int(np.floor(x / step + EPS))


@kernel
def zone_bounds(limit, wants, minimum_: float, maximum_: float, step: float) -> tuple:
    """``rules.zone_of_agreement`` then ``rules.lattice_bounds`` over the sides
    (``limit``, ``wants``: ``(P,)``): the lattice bounds ``(k_lo, k_hi)`` of one issue's
    zone, which holds a point where ``k_lo <= k_hi``."""
    lo = limit[0] if wants[0] > 0 else minimum_
    hi = limit[0] if wants[0] < 0 else maximum_
    for p in range(1, limit.shape[0]):
        lo = maximum(lo, limit[p] if wants[p] > 0 else minimum_)
        hi = minimum(hi, limit[p] if wants[p] < 0 else maximum_)
    return ceil_index(lo, step), floor_index(hi, step)


@kernel
def round_toward_ideal(x: float, wants: float, step: float) -> float:
    """``rules.round_toward_ideal``: a stated offer on the lattice, on the ideal's side."""
    if wants > 0:
        return np.ceil(x / step - EPS) * step
    return np.floor(x / step + EPS) * step


@kernel
def mean_utility(x, ideal, red_line, wants, weight, mask) -> float:
    """``rules.mean_utility`` over one replicate's issues (1-d arrays): the weighted mean
    of the issue utilities in ``mask`` (NaN where it is empty). An issue outside the mask
    adds 0 with weight 0, as numpy's ``0 * u`` does (but for the sign of a zero), without
    computing ``u``."""
    total = 0.0
    weighted = 0.0
    for i in range(x.shape[0]):
        u, w = 0.0, 0.0
        if mask[i]:
            u = utility(nan_to_num(x[i]), ideal[i], red_line[i], wants[i])
            w = weight[i]
        if i == 0:
            total = w
            weighted = w * u
        else:
            total += w
            weighted += w * u
    return weighted / total


@kernel
def zone_probability(own_red: float, own_wants: float, lo: float, hi: float,
                     other_wants: float) -> float:
    """``rules.zone_probability``: the belief that another's red line leaves room."""
    if not own_wants * other_wants < 0:
        return 1.0
    width = maximum(hi - lo, EPS)
    if hi - lo < EPS:  # a belief that is a point: certain
        if own_wants > 0:
            return 1.0 if lo >= own_red - EPS else 0.0
        return 1.0 if hi <= own_red + EPS else 0.0
    if own_wants > 0:
        return clip((hi - own_red) / width, 0.0, 1.0)
    return clip((own_red - lo) / width, 0.0, 1.0)


@kernel
def minutes_to_accept(value: float, reservation: float, beta: float, speed: float,
                      elapsed_share: float) -> float:
    """``rules.minutes_to_accept``."""
    span = maximum(1.0 - reservation, EPS)
    fraction = clip((1.0 - value) / span, 0.0, 1.0)
    needed = power(fraction, beta)
    return maximum(needed - elapsed_share, 0.0) / maximum(speed, EPS)


@kernel
def staying_value(p_deal: float, value: float, reservation: float,
                  discount_per_hour: float, minutes: float) -> float:
    """``rules.staying_value``."""
    later = p_deal * value + (1.0 - p_deal) * reservation
    return later * power(1.0 - clip(discount_per_hour, 0.0, 1.0), minutes / 60.0)


# ------------------------------------------------------------------- lattice search
@kernel
def grid(lo: np.int64, hi: np.int64, size: int, ks) -> tuple:
    """The grid ``rules.lattice_argmax`` searches in ``[lo, hi]`` (one replicate):
    fills ``ks`` with the lattice indices and returns ``(points, stride)``."""
    width = hi - lo if hi > lo else 0
    points = min(size, width + 1)
    stride = to_int(max(1.0, np.ceil(width / max(points - 1, 1))))
    for j in range(points):
        ks[j] = lo + min(j * stride, width)
    return points, stride


@kernel
def pick(scores, ks, points: int) -> np.int64:
    """The grid point ``rules.lattice_argmax`` picks: the middle of the points within
    ``1e-12`` of the best score (NaN anywhere: the middle of the grid)."""
    best = -INF
    for j in range(points):
        s = scores[j]
        if s != s:
            best = NAN
            break
        if s > best:
            best = s
    first, last = -1, -1
    if best == best:
        floor = best - 1e-12
        for j in range(points):
            if scores[j] >= floor:
                if first < 0:
                    first = j
                last = j
    if first < 0:
        first, last = 0, points - 1
    return ks[(first + last) // 2]


#: A side's utility term in the Nash score at or past its ideal, and its log.
SATIATED = 1.0 + EPS
LOG_SATIATED = math.log(SATIATED)


@kernel
def nash_score(x: float, ideal, red_line, wants, power, pull: float, pull_ideal: float,
               pull_span: float) -> float:
    """``rules.nash_point``'s objective at ``x`` (one replicate, one issue)."""
    score = 0.0
    for p in range(ideal.shape[0]):
        span = maximum(abs(ideal[p] - red_line[p]), EPS)
        u = minimum(wants[p] * (x - red_line[p]) / span, 1.0) + EPS
        # at or past its ideal: the log of 1 + EPS, the same number, once
        term = LOG_SATIATED if u == SATIATED else math.log(maximum(u, 0.0))
        score += power[p] * term
    if pull != 0.0:
        score = score - pull * abs(x - pull_ideal) / pull_span
    return score


@kernel
def _regular(ideal, red_line, power, step: float, pull: float, pull_ideal: float,
             pull_span: float) -> bool:
    """Whether no Nash score can be NaN (every power positive and finite, every
    position finite), so that ``climb`` may stand for the scan of the whole grid."""
    for p in range(ideal.shape[0]):
        if not (0.0 < power[p] < INF and abs(ideal[p]) < INF and abs(red_line[p]) < INF):
            return False
    # a mediator's stakes subtract a distance: concave only with a positive weight
    stakes = pull == 0.0 or (0.0 < pull < INF and 0.0 < pull_span < INF
                             and abs(pull_ideal) < INF)
    return abs(step) < INF and stakes


@kernel
def climb(ks, points: int, start: int, step: float, ideal, red_line, wants, power,
          pull: float, pull_ideal: float, pull_span: float) -> np.int64:
    """``pick`` over the grid ``ks[:points]`` without scoring all of it: from the grid
    point ``start``, uphill to the best score, then out to the first and last points
    within ``1e-12`` of it; -1 where ``start`` scores -inf (the caller scans the grid).

    ``start`` is not on a repeat of the grid's last point (``grid``'s tail), whose
    neighbours tie without being the best.

    The same point as the scan, because the score is concave in ``x``: a sum of
    ``power * log`` of concave utilities (each linear, capped at its ideal) and, for a
    mediator with stakes, minus a distance. A concave function sampled at increasing
    points rises to its best and then falls, and is flat only at its best, so a point
    where neither neighbour scores higher is the best, and the points within 1e-12 of
    it are one run around it. Floating point can break a tie of two neighbours only
    within a rounding error (about 1e-15 here), far inside the 1e-12 of a tie, so the
    run found is the scan's but where a score lies within a rounding error of the
    run's edge, as for ``log`` (the module's docstring). A score of -inf lies only
    past a side's red line, at the grid's ends; the walk never steps onto one."""
    def score(j):
        return nash_score(ks[j] * step, ideal, red_line, wants, power, pull, pull_ideal,
                          pull_span)

    j = start
    best = score(j)
    if best == -INF:
        return -1
    # the neighbours' scores are kept: -inf stands for no neighbour
    right = score(j + 1) if j + 1 < points else -INF
    left = -INF
    if right > best:  # uphill to the right
        while True:
            left, best, j = best, right, j + 1
            right = score(j + 1) if j + 1 < points else -INF
            if right <= best:
                break
    else:
        left = score(j - 1) if j > 0 else -INF
        while left > best:  # uphill to the left
            right, best, j = best, left, j - 1
            left = score(j - 1) if j > 0 else -INF
    floor = best - 1e-12
    first = j
    if left >= floor:
        first = j - 1
        while first > 0 and score(first - 1) >= floor:
            first -= 1
    last = j
    if right >= floor:
        last = j + 1
        while last + 1 < points and score(last + 1) >= floor:
            last += 1
    return ks[(first + last) // 2]


@kernel
def _estimate(ideal, red_line, wants, power) -> float:
    """Where to start ``climb``: for two sides wanting opposite ways, the continuous
    Nash point of their linear utilities, ``x = (w1 r2 + w2 r1) / (w1 + w2)`` (the
    weighted log objective's stationary point); else the middle of the red lines.
    Only a starting point: the climb finds the best from anywhere."""
    if ideal.shape[0] == 2 and wants[0] * wants[1] < 0:
        return (power[0] * red_line[1] + power[1] * red_line[0]) / (power[0] + power[1])
    total = 0.0
    for p in range(ideal.shape[0]):
        total += red_line[p]
    return total / ideal.shape[0]


@kernel
def nash_point(ideal, red_line, wants, power, k_lo: np.int64, k_hi: np.int64, step: float,
               pull: float, pull_ideal: float, pull_span: float, ks, scores) -> float:
    """``rules.nash_point`` of one replicate on one issue, on its own lattice (grid of
    256, zoomed): ``ideal, red_line, wants, power`` over the parties; ``ks, scores``
    scratch of 256. Each grid is searched by ``climb`` from the point nearest
    ``_estimate`` (about three scores, where the scan took one a grid point: the June
    round's exchange zone holds some 18 points), or scanned whole where a score could
    be NaN or the climb starts on -inf."""
    if k_lo > k_hi:
        return NAN
    if k_lo == k_hi:  # a zone of one point: the scan's pick whatever it scores (NaN too)
        return k_lo * step
    regular = _regular(ideal, red_line, power, step, pull, pull_ideal, pull_span)
    guess = _estimate(ideal, red_line, wants, power) / step if regular else 0.0
    lo, hi = k_lo, k_hi
    while True:
        points, stride = grid(lo, hi, 256, ks)
        chosen = np.int64(-1)
        if regular:
            # the grid's last points can repeat ``hi`` (``grid``): start at or before
            # its first, where the walk cannot stall on a run of repeats below the best
            width = hi - lo if hi > lo else 0
            distinct = min(points, (width + stride - 1) // stride + 1)
            start = np.rint((guess - lo) / stride)
            start = 0.0 if not start > 0 else (distinct - 1.0 if start > distinct - 1
                                               else start)
            chosen = climb(ks, points, to_int(start), step, ideal, red_line, wants, power,
                           pull, pull_ideal, pull_span)
        if chosen < 0:
            for j in range(points):
                scores[j] = nash_score(ks[j] * step, ideal, red_line, wants, power, pull,
                                       pull_ideal, pull_span)
            chosen = pick(scores, ks, points)
        if stride <= 1:
            return chosen * step
        lo = max(k_lo, chosen - stride)
        hi = min(k_hi, chosen + stride)
