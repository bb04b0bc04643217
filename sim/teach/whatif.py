"""What would it take: the smallest change of one lever that brings an outcome's
probability to a target.

A target is an event of the scenario (its ``[events]``) with a threshold on its
probability ("deal >= 0.5"). Each lever (``sim.teach.levers``) is searched on its
own, in both directions: a grid of shifts out to the edge of its allowed range, then
a finer grid between the last grid point that misses the target and the first that
reaches it, on a finer grid. Every evaluation runs the same batch seed, so all of them share their
random numbers (common random numbers: Law, *Simulation Modeling and Analysis*,
5th ed., 2015, sec. 11.2) and the probability is a deterministic function of the shift
— differences between shifts are the lever's effect, not Monte Carlo noise.

Levers are compared by the size of the shift as a share of their allowed range.
"No single lever reaches it" is a possible, and useful, answer.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.batch.chunks import chunk_bounds, chunk_rng
from sim.model.parameters import RoundSetup, realise
from sim.model.round import NegotiationRound
from sim.scenario.events import evaluate
from sim.scenario.load import build_scenario, read_scenario_data
from sim.scenario.overrides import setting_values
from sim.scenario.spec import Scenario, ScenarioError
from sim.stats.intervals import wilson_interval
from sim.stats.summary import Measures, percent
from sim.teach.levers import Lever, levers
from sim.terminal import printable

_TARGET = re.compile(r"^\s*(?P<event>[A-Za-z_][\w]*)\s*(?P<op>>=|<=)\s*(?P<p>\S+?)\s*$")


@dataclass(frozen=True)
class Target:
    """``event`` probability ``>=`` (``at_least``) or ``<=`` a threshold in [0, 1]."""

    event: str
    at_least: bool
    threshold: float
    label: str = ""

    def met(self, p: float) -> bool:
        return p >= self.threshold if self.at_least else p <= self.threshold

    def to_json(self) -> dict:
        return {"event": self.event, "op": ">=" if self.at_least else "<=",
                "threshold": self.threshold}

    def __str__(self) -> str:
        return f"{self.label or self.event} {'>=' if self.at_least else '<='} " \
               f"{100 * self.threshold:g}%"


def parse_target(text: str, scenario: Scenario) -> Target:
    """``"EVENT >= P"`` or ``"EVENT <= P"`` with P in [0, 1] (or a percentage,
    ``50%``); EVENT one of the scenario's events whose issues are on the agenda.
    Raises ValueError naming what is wrong and what is allowed."""
    measures = Measures.of(scenario)
    named = {e.name: e for e in measures.events}
    events = ", ".join(named)
    match = _TARGET.match(text)
    if not match:
        raise ValueError(f"--target {text!r}: must be 'EVENT >= P' or 'EVENT <= P' with P a "
                         f"probability in [0, 1], e.g. '{next(iter(named), 'walkout')} >= 0.5'. "
                         f"Events: {events}")
    event, op, number = match["event"], match["op"], match["p"]
    if event not in named:
        close = difflib.get_close_matches(event, list(named), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ValueError(f"--target: unknown event '{event}'{hint}. Events: {events}")
    if not measures.on_agenda(named[event]):
        on = [e.name for e in measures.events if measures.on_agenda(e)]
        raise ValueError(f"--target: '{event}' needs {', '.join(named[event].issues)} on the "
                         f"agenda, and this scenario's has not. Events here: {', '.join(on)}")
    try:
        p = float(number[:-1]) / 100 if number.endswith("%") else float(number)
    except ValueError:
        p = float("nan")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"--target: threshold {number!r} is not a probability: must be a "
                         "number in [0, 1] or a percentage such as 50%")
    return Target(event, op == ">=", p, named[event].label)


@dataclass(frozen=True)
class Point:
    """The target event's probability with a lever shifted by ``shift``."""

    shift: float
    value: Any
    p: float


@dataclass(frozen=True)
class LeverResult:
    """A lever's curve (probability against shift, both directions) and the smallest
    shift found that reaches the target (None if none within its allowed range)."""

    lever: Lever
    curve: tuple[Point, ...]
    reached: Point | None

    @property
    def share(self) -> float:
        """The reaching shift as a share of the lever's allowed range."""
        return abs(self.reached.shift) / self.lever.span if self.reached else float("inf")

    def closest(self, target: Target) -> Point:
        """The point of the curve nearest to the target."""
        return max(self.curve, key=lambda pt: pt.p if target.at_least else -pt.p)


@dataclass(frozen=True)
class WhatIf:
    """The search's answer: the probability now and each lever's result."""

    scenario_name: str
    target: Target
    runs: int
    seed: int
    now: float
    results: tuple[LeverResult, ...]  # reaching levers by share, then the others

    @property
    def reaching(self) -> tuple[LeverResult, ...]:
        return tuple(r for r in self.results if r.reached is not None)

    def to_json(self) -> dict:
        """The whole search as plain data (for notebooks): every lever's curve too."""
        def point(pt: Point | None):
            return None if pt is None else {"shift": pt.shift, "value": pt.value, "p": pt.p}
        return {"scenario": self.scenario_name, "target": self.target.to_json(),
                "runs": self.runs, "seed": self.seed, "now": self.now,
                "levers": [{"key": r.lever.key, "label": r.lever.label,
                            "value": r.lever.value, "drawn": r.lever.drawn,
                            "allowed": [r.lever.low, r.lever.high],
                            "reached": point(r.reached),
                            "share_of_range": None if r.reached is None else r.share,
                            "curve": [point(pt) for pt in r.curve]} for r in self.results]}


class ScenarioFile:
    """A scenario file read and parsed once (``extends`` and ``include`` resolved), and
    validated anew with each change: a search evaluates hundreds of changes of one file,
    which ``overrides.scenario_with`` would each read and parse again."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.data, self.sources = read_scenario_data(self.path)
        self.as_filed = build_scenario(copy.deepcopy(self.data), self.path, self.sources)

    def changed(self, settings: Mapping[str, Any], moves: Mapping[str, float] | None = None
                ) -> Scenario:
        """The scenario with keys set and drawn keys moved (``overrides.setting_values``),
        validated like a file: what ``overrides.scenario_with`` gives."""
        values = setting_values(self.as_filed, settings, moves)
        if not values:
            return self.as_filed
        data = copy.deepcopy(self.data)
        for key, value in values.items():
            *tables, last = key.split(".")
            node = data
            for i, name in enumerate(tables):
                if not isinstance(node.get(name), dict):
                    raise ScenarioError(self.path, ".".join(tables[: i + 1]),
                                        "no such table to change")
                node = node[name]
            node[last] = value
        change = json.dumps(dict(values), sort_keys=True, default=str)
        return build_scenario(data, self.path, self.sources + "\n# with " + change)


def batch_setup(scenario: Scenario, runs: int, seed: int) -> RoundSetup:
    """The replicates of ``negsim run --runs runs --seed seed`` as one setup: each
    chunk realised from its own generator (``sim.batch.chunks``), then joined."""
    return RoundSetup.concat([realise(scenario, count, chunk_rng(seed, chunk), compiled=True)
                              for chunk, (_, count) in enumerate(chunk_bounds(runs))])


#: Most replicates run in one model (memory: about 1 kB per replicate and party-issue).
MAX_REPLICATES = 65_536


def probabilities(scenarios: list[Scenario], event: str, runs: int, seed: int) -> list[float]:
    """The event's probability in each scenario, over the same ``runs`` replicates of
    batch seed ``seed`` (common random numbers). They run together, as few models as
    memory allows, on the compiled engine (each replicate to its end: a model's cost is
    its replicates' minutes, and the fewer models the less Python around them)."""
    if not scenarios:  # every change of a stage was out of its key's bounds
        return []
    per_model = max(1, MAX_REPLICATES // runs)
    found: list[float] = []
    tree = next(e.tree for e in scenarios[0].events if e.name == event)
    for start in range(0, len(scenarios), per_model):
        group = scenarios[start:start + per_model]
        model = NegotiationRound(RoundSetup.concat([batch_setup(s, runs, seed) for s in group]),
                                 compiled=True)
        hits = evaluate(tree, model.run().outcomes())
        found += [float(p) for p in hits.reshape(len(group), runs).mean(axis=1)]
    return found


Evaluate = Callable[[list[tuple[Lever, float]]], list[float | None]]


def search(chosen: tuple[Lever, ...], evaluate: Evaluate, target: Target, now: float,
           steps: int = 8) -> list[LeverResult]:
    """Each lever in both directions: a grid of ``steps`` shifts out to the edge of
    its allowed range, then ``steps - 1`` between the last shift that misses the
    target and the first that reaches it (resolution: room to the edge / steps^2).

    ``evaluate(moves)`` gives the probability for each ``(lever, shift)``, or None
    where the scenario refuses the value (a red line past the ideal): the search in
    that direction stops there. All levers' points of a stage go to one call, so they
    can run together."""
    lines = [(lever, sign, [sign * lever.room(sign) * k / steps for k in range(1, steps + 1)])
             for lever in chosen for sign in (1, -1) if lever.room(sign) > 0]
    coarse = _walk(evaluate, lines)
    finer_lines, hits = [], {}
    for (lever, sign, _), points in zip(lines, coarse, strict=True):
        hit = next((i for i, pt in enumerate(points) if target.met(pt.p)), None)
        if hit is not None:
            miss = points[hit - 1].shift if hit else 0.0
            width = points[hit].shift - miss
            finer_lines.append((lever, sign, [miss + width * j / steps for j in range(1, steps)]))
            hits[(lever.key, sign)] = points[hit]
    finer = dict(zip([(lever.key, sign) for lever, sign, _ in finer_lines],
                     _walk(evaluate, finer_lines), strict=True))
    results = []
    for lever in chosen:
        curve = [Point(0.0, lever.value, now)]
        best = None
        for (other, sign, _), points in zip(lines, coarse, strict=True):
            if other is not lever:
                continue
            curve += points + finer.get((lever.key, sign), [])
            if (lever.key, sign) in hits:
                found = next((pt for pt in finer[(lever.key, sign)] if target.met(pt.p)),
                             hits[(lever.key, sign)])
                if best is None or abs(found.shift) < abs(best.shift):
                    best = found
        results.append(LeverResult(lever, tuple(sorted(curve, key=lambda pt: pt.shift)), best))
    return results


def _walk(evaluate: Evaluate, lines: list[tuple[Lever, int, list[float]]]
          ) -> list[list[Point]]:
    """The points of each line (lever, direction, shifts), each up to the first value
    the scenario refuses; one call to ``evaluate`` for all."""
    moves = [(lever, shift) for lever, _, shifts in lines for shift in shifts]
    found = iter(evaluate(moves))
    walked = []
    for lever, _, shifts in lines:
        points, refused = [], False
        for shift in shifts:
            p = next(found)
            refused = refused or p is None
            if not refused:
                points.append(Point(shift, lever.moved(shift), p))
        walked.append(points)
    return walked


def what_would_it_take(path: str | Path, settings: dict[str, Any], target: Target,
                       runs: int = 1000, seed: int = 0, keys: tuple[str, ...] = (),
                       steps: int = 8, scenario_file: ScenarioFile | None = None) -> WhatIf:
    """Search every lever of the scenario (or those named in ``keys``) for the
    smallest shift that reaches ``target``; ``settings`` are scenario keys set first
    (the base the levers move from). ``scenario_file``: the file at ``path`` already
    parsed (else it is parsed here, once)."""
    scenario_file = scenario_file or ScenarioFile(path)
    base = scenario_file.changed(settings)
    chosen = select_levers(base, keys)
    now = probabilities([base], target.event, runs, seed)[0]

    def evaluate(moves: list[tuple[Lever, float]]) -> list[float | None]:
        scenarios: list[Scenario | None] = []
        for lever, shift in moves:
            setting, moved = lever.change(shift)
            try:
                scenarios.append(scenario_file.changed(settings | setting, moved))
            except ScenarioError:
                scenarios.append(None)
        found = iter(probabilities([s for s in scenarios if s is not None], target.event,
                                   runs, seed))
        return [None if s is None else next(found) for s in scenarios]

    results = search(chosen, evaluate, target, now, steps)
    reached = sorted((r for r in results if r.reached), key=lambda r: r.share)
    missed = sorted((r for r in results if not r.reached),
                    key=lambda r: abs(r.closest(target).p - target.threshold))
    return WhatIf(base.round.name, target, runs, seed, now, tuple(reached + missed))


def select_levers(scenario: Scenario, keys: tuple[str, ...]) -> tuple[Lever, ...]:
    """The scenario's levers, or those named (ValueError for an unknown one)."""
    every = levers(scenario)
    if not keys:
        return every
    by_key = {lever.key: lever for lever in every}
    for key in keys:
        if key not in by_key:
            close = difflib.get_close_matches(key, by_key, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ValueError(f"--lever: unknown lever '{key}'{hint} Levers of this scenario: "
                             + ", ".join(by_key))
    return tuple(by_key[key] for key in dict.fromkeys(keys))


# --------------------------------------------------------------------------- output
def _value(value: Any, lever: Lever | None = None) -> str:
    """A lever's value; on a red line over levels, with the level it admits
    ('1.12 (local pause)'; a range, 'from' one 'to' another)."""
    if value is None:
        return "drawn"
    if isinstance(value, list):
        shown = "[" + ", ".join(f"{v:.3g}" for v in value) + "]"
        admits = [lever.admits(v) for v in value] if lever is not None else [None]
        if admits[0] is None:
            return shown
        return f"{shown} ({admits[0]})" if len(set(admits)) == 1 else \
            f"{shown} ({admits[0]} to {admits[-1]})"
    admits = lever.admits(value) if lever is not None else None
    return f"{value:.3g}" if admits is None else f"{value:.3g} ({admits})"


def _at(point: Point, lever: Lever | None = None) -> str:
    """Where a lever was moved to: its value, or the shift of a drawn value."""
    return f"drawn {point.shift:+.3g}" if point.value is None else _value(point.value, lever)


def format_whatif(result: WhatIf) -> str:
    """The ranking as a table, and a plain sentence when no lever reaches the target."""
    target = result.target
    lo, hi = wilson_interval(round(result.now * result.runs), result.runs)
    lines = [f"What would it take: {target}",
             f"{printable(result.scenario_name)}: {result.runs:,} rounds per evaluation, seed "
             f"{result.seed}, the same draws for every evaluation",
             f"now: {percent(result.now)} (95% interval {percent(lo)} - {percent(hi)})", ""]
    if target.met(result.now):
        lines.append("The target is already met: no change is needed.")
        return "\n".join(lines)
    width = max(len(printable(r.lever.label)) for r in result.results)
    if result.reaching:
        shown = [(printable(_value(r.lever.value, r.lever)), printable(_at(r.reached, r.lever)))
                 for r in result.reaching]
        now_width = max(12, *(len(now) for now, _ in shown))
        to_width = max(12, *(len(to) for _, to in shown))
        lines.append(f"{'rank':>4}  {'lever':<{width}}  {'now':>{now_width}}  {'change':>18}  "
                     f"{'to':>{to_width}}  {'of range':>8}  {'p then':>7}")
        for rank, (r, (now, to)) in enumerate(zip(result.reaching, shown, strict=True), 1):
            pt, lever = r.reached, r.lever
            change = f"{pt.shift:+.3g} {lever.direction(1 if pt.shift > 0 else -1)}"
            lines.append(f"{rank:>4}  {printable(lever.label):<{width}}  {now:>{now_width}}  "
                         f"{change:>18}  {to:>{to_width}}  {100 * r.share:>7.0f}%  "
                         f"{percent(pt.p):>7}")
    else:
        lines.append(f"No single lever reaches {target} within its allowed range.")
        if result.results:
            best = result.results[0]
            pt = best.closest(target)
            lines.append(f"Closest: {printable(best.lever.label)} at "
                         f"{printable(_at(pt, best.lever))} gives "
                         f"{percent(pt.p)}.")
    missed = [r for r in result.results if r.reached is None]
    if missed and result.reaching:
        lines += ["", "Not reached within the allowed range (best probability found, and where):"]
        for r in missed:
            pt = r.closest(target)
            lines.append(f"      {printable(r.lever.label):<{width}}  {percent(pt.p):>7} at "
                         f"{printable(_at(pt, r.lever))}")
    if any(r.lever.drawn for r in result.results):
        lines += ["", "'drawn': the scenario draws this parameter (from its posterior, or "
                  "shifts it); a change moves every draw by that much, within the allowed "
                  "range."]
    return "\n".join(lines)
