"""The compiled engine: ``NegotiationRound(setup, compiled=True).run()``.

The Mesa model and its agents are built as for the numpy engine — they hold the round's
arrays — and ``run_compiled`` hands those arrays to ``compiled_round.run_replicates``,
which runs each replicate from its opening to its end (a finished replicate costs
nothing more) and writes the outcomes and the agents' state back into the same arrays.
The outcomes equal the numpy engine's (tests/test_compiled.py). For ``realise``:
``zones_and_nash_points``, the zones and ``rules.nash_point`` over a chunk, one replicate
at a time on its own lattice; ``compound_levels``, the level of a compound issue.

Numba caches the machine code on disk (``cache=True``): the first run on a machine
compiles for about a minute, every later process loads it (``compiled()`` says which).
"""

from __future__ import annotations

import os
from collections import namedtuple

import numpy as np

from sim.model import compiled_round
from sim.model.compiled_package import zones
from sim.model.compiled_rules import (
    MAX_ISSUES,
    NAN,
    acceptable,
    clip,
    kernel,
    maximum,
    nash_point,
    zone_bounds,
)
from sim.scenario.spec import Format, ProposalRule

#: What every replicate of the chunk shares (scalars and per-issue arrays).
Shared = namedtuple("Shared", [
    "wants", "step", "minimum", "maximum", "span", "compound", "levelled", "pull", "pull_ideal",
    "pull_weight", "link", "link_at", "max_minutes", "closing_minutes",
    "exploration_minutes", "item_minutes", "shuttle_minutes", "package", "proximity",
    "informed", "split", "weighing"])

#: The replicates' inputs, read only.
Replicates = namedtuple("Replicates", [
    "ideal", "red_line", "limit", "salience", "tolerance", "weight", "concession",
    "horizon", "discount", "bluff", "walkout_threshold", "reserve", "power", "credibility",
    "opening_minutes", "plenary_start", "pressure", "level", "order", "batna", "shift",
    "bonus"])

#: The mediator's picture (``Mediator.believed``) and its package target.
Picture = namedtuple("Picture", [
    "lo", "hi", "b_lo", "b_hi", "red_line", "batna", "reserve", "zone_lo", "zone_hi", "nash",
    "target", "target_value"])

#: The delegations' beliefs about each other's red lines, ``(n, observer, P, I)``.
Beliefs = namedtuple("Beliefs", ["lo", "hi"])

#: The round's state and outcomes (the model's own arrays).
State = namedtuple("State", [
    "status", "value", "settled", "agreed_minute", "duration", "walkout_party", "walk_reason",
    "frustration", "text", "demands", "open_", "package_pressure"])


def cached_on_disk() -> bool:
    """Whether numba's disk cache holds the minute loop's machine code for this source
    (else the first run compiles it: about a minute). Reads numba's own record of the
    cache (``Dispatcher._cache``); a numba that keeps it otherwise is taken to have it."""
    try:
        index = compiled_round.run_replicates._cache._cache_file._index_path
    except AttributeError:
        return True
    return os.path.isfile(index)


def load_machine_code() -> int:
    """Load the machine code numba's disk cache holds for the kernels Python calls
    (``run_replicates``, ``_zones_and_nash``, ``_compound_levels``), every signature it
    holds; return how many.
    A pool's fork server does this before forking its workers (``sim.batch.warm``), so
    that each worker starts with it instead of loading it at its first chunk (0.3-0.4 s
    a worker). Reads numba's own index of its cache (``Dispatcher._cache``), as
    ``cached_on_disk`` does; a numba that keeps it otherwise loads nothing here, and
    each worker loads its code at its first call, as before."""
    loaded = 0
    for dispatcher in (compiled_round.run_replicates, _zones_and_nash, _compound_levels,
                       _plain_positions):
        try:
            index = dispatcher._cache._cache_file._load_index()
        except (AttributeError, OSError, TypeError, ValueError):
            continue
        for key in index:
            dispatcher.compile(key[0])  # a cached signature: loaded, not compiled
            loaded += 1
    return loaded


def _floats(a) -> np.ndarray:
    """``a`` as the kernels take it: C-contiguous float64, writeable (numba types a
    read-only array apart, and would compile the kernel again for it)."""
    return np.require(a, np.float64, ("C", "W"))


def _ints(a) -> np.ndarray:
    return np.require(a, np.int64, ("C", "W"))


def run_compiled(model) -> None:
    """Run a ``NegotiationRound`` (built, not yet stepped) to its end with the compiled
    kernel: the same outcomes and final state as ``model.run()`` on numpy."""
    setup, mediator, delegations = model.setup, model.mediator, model.delegations
    if len(setup.issues) > MAX_ISSUES:  # sums as numpy's beyond: the numpy engine
        while model.running:
            model.step()
        return
    links = setup.linkage
    shared = Shared(
        wants=_floats(setup.wants), step=_floats(setup.step), minimum=_floats(setup.minimum),
        maximum=_floats(setup.maximum), span=_floats(setup.span),
        compound=np.require(setup.compound, np.bool_, ("C", "W")),
        levelled=np.array([spec.levelled for spec in setup.specs], dtype=np.bool_),
        pull=float(setup.pull), pull_ideal=_floats(setup.pull_ideal),
        pull_weight=_floats(setup.pull_weight),
        link=_ints(np.array([link[:3] for link in links]).reshape(len(links), 3)),
        link_at=_floats([link[3] for link in links]),
        max_minutes=int(setup.max_minutes), closing_minutes=float(setup.closing_minutes),
        exploration_minutes=int(setup.exploration_minutes),
        item_minutes=int(setup.item_minutes), shuttle_minutes=int(setup.shuttle_minutes),
        package=bool(model.package_round), proximity=setup.format is Format.PROXIMITY,
        informed=bool(setup.informed), split=setup.proposal_rule is not ProposalRule.NASH,
        weighing=bool(model.weighing))
    replicates = Replicates(
        ideal=_floats(setup.ideal), red_line=_floats(setup.red_line),
        limit=_floats(np.stack([d.limit for d in delegations], axis=1)),
        salience=_floats(setup.salience), tolerance=_floats(setup.tolerance),
        weight=_floats(setup.weight), concession=_floats(setup.concession),
        horizon=_floats(setup.horizon), discount=_floats(setup.discount),
        bluff=_floats(setup.bluff), walkout_threshold=_floats(setup.walkout_threshold),
        reserve=_floats(model.reserve), power=_floats(setup.power),
        credibility=_floats(setup.credibility), opening_minutes=_floats(setup.opening_minutes),
        plenary_start=_floats(model.plenary_start), pressure=_floats(mediator.pressure),
        level=_ints(setup.level), order=_ints(setup.order), batna=_floats(setup.batna),
        shift=_floats(model.batna_shift), bonus=_floats(model.bonus))
    b = mediator.believed
    for key in ("lo", "hi", "b_lo", "b_hi", "red_line", "batna", "reserve", "nash"):
        b[key] = _floats(b[key])
    for key in ("zone_lo", "zone_hi"):
        b[key] = _ints(b[key])
    picture = Picture(lo=b["lo"], hi=b["hi"], b_lo=b["b_lo"], b_hi=b["b_hi"],
                      red_line=b["red_line"], batna=b["batna"], reserve=b["reserve"],
                      zone_lo=b["zone_lo"], zone_hi=b["zone_hi"], nash=b["nash"],
                      target=mediator.target, target_value=mediator.target_value)
    if setup.informed:  # nobody learns from offers: the setup's beliefs, read only
        beliefs = Beliefs(lo=_floats(setup.party_lo), hi=_floats(setup.party_hi))
    else:
        beliefs = Beliefs(lo=_floats(np.stack([d.belief_lo for d in delegations], axis=1)),
                          hi=_floats(np.stack([d.belief_hi for d in delegations], axis=1)))
    frustration = _floats(np.stack([d.frustration for d in delegations], axis=1))
    state = State(status=model.status, value=model.value, settled=model.settled,
                  agreed_minute=model.agreed_minute, duration=model.duration,
                  walkout_party=model.walkout_party, walk_reason=model.walk_reason,
                  frustration=frustration, text=model.text, demands=model.demands,
                  open_=model.open_, package_pressure=model.package_pressure)
    work = compiled_round.scratch(*setup.wants.shape)
    minute = compiled_round.run_replicates(shared, replicates, picture, beliefs, state, work)
    for p, d in enumerate(delegations):  # the agents' state, as the numpy engine leaves it
        d.frustration = frustration[:, p].copy()
        d.belief_lo, d.belief_hi = beliefs.lo[:, p], beliefs.hi[:, p]
    model.minute = int(minute)
    model.started[:] = model.plenary_start < minute
    model.active[:] = False
    model.running = False


@kernel
def _zones_and_nash(ideal, red_line, wants, power, minimum_, maximum_, step, compound, level,
                    with_nash: bool, k_lo, k_hi, out, ks, scores, column_ideal, column_red,
                    column_wants) -> None:
    n, parties, issues = ideal.shape
    for r in range(n):
        zones(red_line[r], wants, minimum_, maximum_, step, compound, level[r], k_lo[r],
              k_hi[r])
        for i in range(issues):
            if not with_nash:
                out[r, i] = NAN
                continue
            for p in range(parties):
                column_ideal[p] = ideal[r, p, i]
                column_red[p] = red_line[r, p, i]
                column_wants[p] = wants[p, i]
            out[r, i] = nash_point(column_ideal, column_red, column_wants, power[r], k_lo[r, i],
                                   k_hi[r, i], step[i], 0.0, 0.0, 1.0, ks, scores)


def zones_and_nash_points(ideal: np.ndarray, red_line: np.ndarray, wants: np.ndarray,
                          power: np.ndarray, minimum: np.ndarray, maximum: np.ndarray,
                          step: np.ndarray, compound: np.ndarray, level: np.ndarray,
                          with_nash: bool = True) -> tuple:
    """``realise``'s zones (``parameters._zones``: lattice bounds ``(n, I)`` of each
    item's zone, none on a compound issue with no level) and, with ``with_nash``, the
    ``rules.nash_point`` of every replicate ``(n, P, I)`` on every issue, each on its
    own lattice (``(n, I)``, NaN where there is no zone; all NaN without
    ``with_nash``): ``(k_lo, k_hi, nash)``."""
    n, parties, issues = ideal.shape
    k_lo, k_hi, out = (np.empty((n, issues), np.int64), np.empty((n, issues), np.int64),
                       np.empty((n, issues)))
    _zones_and_nash(_floats(ideal), _floats(red_line), _floats(wants), _floats(power),
                    _floats(minimum), _floats(maximum), _floats(step),
                    np.require(compound, np.bool_, ("C", "W")), _ints(level), bool(with_nash),
                    k_lo, k_hi, out, np.empty(256, np.int64), np.empty(256), np.empty(parties),
                    np.empty(parties), np.empty(parties))
    return k_lo, k_hi, out


@kernel
def _compound_levels(level_ideal, level_red, level_wants, cond_red, cond_wants, minimum_: float,
                     maximum_: float, step: float, shown: int, level, red) -> None:
    n, parties, levels = cond_red.shape
    for r in range(n):
        chosen = 0
        for at in range(1, levels + 1):
            ok = True
            top = level_ideal[r, 0]
            for p in range(parties):
                ok = ok and acceptable(float(at), level_red[r, p], level_wants[p], 1.0)
                top = maximum(top, level_ideal[r, p])
            k_lo, k_hi = zone_bounds(cond_red[r, :, at - 1], cond_wants, minimum_, maximum_,
                                     step)
            if ok and top >= at and k_lo <= k_hi:
                chosen = at
        level[r] = chosen
        column = (shown if chosen == 0 else chosen) - 1
        for p in range(parties):
            red[r, p] = cond_red[r, p, column]


def compile_compound_levels() -> None:
    """Compile (or load) ``compound_levels``'s kernel, on one replicate of two sides and
    one level: the types it always takes (``compile_engine``)."""
    compound_levels(np.zeros((1, 2)), np.zeros((1, 2)), np.ones(2), np.zeros((1, 2, 1)),
                    np.ones(2), 0.0, 1.0, 1.0, 1)


@kernel
def _plain_positions(ideal_drawn, red_drawn, willingness, momentum, wants: float,
                     levelled: bool, exchange: bool, contested: bool, p: int, i: int, ideal,
                     red) -> None:
    for r in range(ideal_drawn.shape[0]):
        x, y = ideal_drawn[r], red_drawn[r]
        if levelled:  # np.round: half to even, as rint
            x, y = np.rint(x), np.rint(y)
        if wants * (x - y) < 0:  # _same_side
            y = x
        share = 1.0  # rules.effective_red_line (a product with 1.0 is exact)
        if exchange:
            share = clip(willingness[r], 0.0, 1.0) if wants < 0 else 1.0
        elif contested:
            share = 1.0 - clip(momentum[r], 0.0, 1.0)
        ideal[r, p, i] = x
        red[r, p, i] = x + (y - x) * share


def plain_positions(ideal_drawn: np.ndarray, red_drawn: np.ndarray,
                    willingness: np.ndarray, momentum: np.ndarray, wants: int,
                    levelled: bool, exchange: bool, contested: bool, p: int, i: int,
                    ideal: np.ndarray, red: np.ndarray) -> None:
    """Side ``p``'s ideal and effective red line on a plain issue ``i``, written into
    ``ideal[:, p, i]`` and ``red[:, p, i]`` (``(n, P, I)``, C-contiguous) from the drawn
    values: ``parameters._draw_party``'s ``_level``, ``_same_side`` and
    ``rules.effective_red_line`` in one pass over the replicates, where numpy makes
    nine passes and as many temporaries (``_draw_party`` 0.25 -> 0.20 µs a June
    replicate, line profile over 20 chunks); the same numbers (tests/test_compiled.py)."""
    _plain_positions(_floats(ideal_drawn), _floats(red_drawn), _floats(willingness),
                     _floats(momentum), float(wants), bool(levelled), bool(exchange),
                     bool(contested), int(p), int(i), ideal, red)


def compile_plain_positions() -> None:
    """Compile (or load) ``plain_positions``'s kernel on one replicate (``compile_engine``)."""
    ideal, red = np.zeros((1, 1, 1)), np.zeros((1, 1, 1))
    plain_positions(np.zeros(1), np.zeros(1), np.ones(1), np.zeros(1), 1, False, False,
                    False, 0, 0, ideal, red)


def compound_levels(level_ideal: np.ndarray, level_red_line: np.ndarray,
                    level_wants: np.ndarray, conditions_red_line: np.ndarray,
                    conditions_wants: np.ndarray, minimum: float, maximum: float, step: float,
                    shown: int) -> tuple:
    """``rules.compound_level`` of every replicate and, at the level chosen (``shown``
    where none is), the conditions red lines ``(n, P)``: ``(level, red)``, as
    ``parameters._choose_levels`` sets them."""
    n, parties = level_red_line.shape
    level, red = np.empty(n, np.int64), np.empty((n, parties))
    _compound_levels(_floats(level_ideal), _floats(level_red_line), _floats(level_wants),
                     _floats(conditions_red_line), _floats(conditions_wants), float(minimum),
                     float(maximum), float(step), int(shown), level, red)
    return level, red
