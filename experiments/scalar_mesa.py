"""The honest baseline of ``experiments/bench.py``: the same round, written as a Mesa user
would write it — one Mesa model per replicate, agents holding Python floats, the rules
as scalar Python.

It implements what the shipped scenarios use: the sequential protocol (one item at a
time, offers, the mediator's Nash text or split of the offers, answers, parking and
time-outs, linkage, compound issues by their level) with public information and an
informed mediator, frustration and — where a side has a BATNA — the decision to leave.
It takes each replicate's parameters from a ``RoundSetup`` realised for the chunk (drawn
once, vectorised, as every engine does; the mediator's zones and Nash points too, as
``beliefs.believed`` finds them), so that its outcomes can be held to the engines'
(tests/test_scalar_mesa.py: identical on every shipped scenario it implements). A
scenario needing more (packages, private information, levers) raises
``NotImplementedError``.
"""

from __future__ import annotations

import math

import numpy as np
from mesa import Agent, Model

from sim.model.beliefs import believed
from sim.model.outcomes import outcome_dtypes
from sim.model.parameters import RoundSetup
from sim.model.rules import EPS
from sim.scenario.spec import ProposalRule, Protocol

PENDING, AGREED, PARKED, TIMED_OUT = 0, 1, 2, 3


def _clip(x: float, lo: float, hi: float) -> float:
    """numpy's clip: ``min(max(x, lo), hi)``, NaN kept."""
    if math.isnan(x):
        return x
    x = x if x > lo else lo
    return x if x < hi else hi


def _index(x: float) -> int:
    """A whole float as numpy casts it to int64 (NaN and infinities: its minimum)."""
    return int(x) if math.isfinite(x) else -2**63


class Side(Agent):
    """A delegation: its positions and temperament as Python floats."""

    def __init__(self, model: ScalarRound, party: int, setup: RoundSetup, r: int) -> None:
        super().__init__(model)
        self.party = party
        self.ideal = setup.ideal[r, party].tolist()
        self.red_line = setup.red_line[r, party].tolist()
        self.reserve = model.reserve[party]
        self.limit = [red + _clip(self.reserve, 0.0, 1.0) * (ideal - red)
                      for ideal, red in zip(self.ideal, self.red_line, strict=True)]
        self.wants = setup.wants[party].tolist()
        self.salience = setup.salience[r, party].tolist()
        self.tolerance = setup.tolerance[r, party].tolist()
        self.weight = setup.weight[r, party].tolist()
        self.concession = float(setup.concession[r, party])
        self.horizon = float(setup.horizon[r, party])
        self.discount = float(setup.discount[r, party])
        self.bluff = float(setup.bluff[r, party])
        self.threshold = float(setup.walkout_threshold[r, party])
        self.linkage = [(issue, requires, at_least)
                        for p, issue, requires, at_least in setup.linkage if p == party]
        self.frustration = 0.0

    def aspiration(self, item: int, since: float, pressure: float) -> float:
        share = _clip(since / self.horizon * (1.0 + pressure), 0.0, 1.0)
        fraction = share ** (1.0 / self.concession)
        return self.ideal[item] + (self.limit[item] - self.ideal[item]) * _clip(fraction, 0, 1)

    def offer(self, item: int, aspiration: float, span: float, step: float) -> float:
        wants, ideal = self.wants[item], self.ideal[item]
        stated = aspiration + wants * (self.bluff * span)
        stated = min(stated, ideal) if wants > 0 else max(stated, ideal)
        if wants > 0:
            return math.ceil(stated / step - EPS) * step
        return math.floor(stated / step + EPS) * step

    def linkage_met(self, item: int, settled: list) -> bool:
        return all(item != issue or settled[requires] >= at_least
                   for issue, requires, at_least in self.linkage)

    def accepts(self, item: int, proposal: float, aspiration: float, scale: float,
                settled: list) -> bool:
        wants = self.wants[item]
        inside = wants * (proposal - self.limit[item]) >= -EPS * scale
        good = wants * (proposal - aspiration) >= -self.tolerance[item] - EPS * scale
        return inside and good and self.linkage_met(item, settled)

    def feel(self, stalled: bool, salience: float) -> bool:
        self.frustration = self.frustration + salience if stalled else 0.0
        return self.frustration >= self.threshold

    def leaves(self, pending: list, expected: list, others: list, since: float,
               pressure: float, span: list) -> bool:
        """Staying against the BATNA (``rules.staying_value``), public information: a
        zone on an issue is certain where the others' red lines leave one."""
        weights, chances, gains = [], [], []
        for i, e in enumerate(expected):
            chance = 1.0
            for other in others:
                zone = 1.0
                if self.wants[i] * other.wants[i] < 0:
                    if self.wants[i] > 0:
                        zone = 1.0 if other.red_line[i] >= self.limit[i] - EPS else 0.0
                    else:
                        zone = 1.0 if other.red_line[i] <= self.limit[i] + EPS else 0.0
                chance *= zone
            w = self.weight[i] if pending[i] else 0.0
            if math.isnan(e):
                u, chance = 0.0, 0.0
            else:
                spread = max(abs(self.ideal[i] - self.red_line[i]), EPS)
                u = max(min(self.wants[i] * (e - self.red_line[i]) / spread, 1.0), 0.0)
            weights.append(w)
            chances.append(w * chance)
            gains.append(w * chance * u)
        total = max(sum(weights), EPS)
        p_deal = sum(chances) / total
        value = sum(gains) / max(sum(chances), EPS) if p_deal > 0 else 0.0
        elapsed = since / self.horizon * (1.0 + pressure)
        share = max(1.0 - self.reserve, EPS)
        needed = _clip((1.0 - value) / share, 0.0, 1.0) ** self.concession
        minutes = max(needed - elapsed, 0.0) / max((1.0 + pressure) / self.horizon, EPS)
        later = p_deal * value + (1.0 - p_deal) * self.reserve
        stay = later * (1.0 - _clip(self.discount, 0.0, 1.0)) ** (minutes / 60.0)
        return stay < self.reserve - 1e-9


class Chair(Agent):
    """The mediator: the agenda order, the zones and Nash points it knows."""

    def __init__(self, model: ScalarRound, setup: RoundSetup, picture: dict, r: int) -> None:
        super().__init__(model)
        self.order = setup.order[r].tolist()
        self.zone_lo = picture["zone_lo"][r].tolist()
        self.zone_hi = picture["zone_hi"][r].tolist()
        self.nash = picture["nash"][r].tolist()
        self.pressure = setup.pressure[r].tolist()
        self.split = setup.proposal_rule is not ProposalRule.NASH

    def propose(self, item: int, offers: list, wants: list, step: float) -> tuple:
        """The text on the item (NaN where none) and whether the offers crossed."""
        k_lo, k_hi = self.zone_lo[item], self.zone_hi[item]
        believed_zone = k_lo <= k_hi
        if self.split:
            middle = 0.5 * (min(offers) + max(offers))
            target = _clip(round(middle / step), k_lo, k_hi) * step
        else:
            target = self.nash[item]
        low = max([o for o, w in zip(offers, wants, strict=True) if w > 0], default=-math.inf)
        high = min([o for o, w in zip(offers, wants, strict=True) if w < 0], default=math.inf)
        if believed_zone:
            low, high = max(low, k_lo * step), min(high, k_hi * step)
        o_lo = _index(math.ceil(low / step - EPS)) if math.isfinite(low) else _index(low)
        o_hi = _index(math.floor(high / step + EPS)) if math.isfinite(high) else _index(high)
        crossed = o_lo <= o_hi
        if crossed:
            aim = target
            if math.isnan(target):
                middle = 0.5 * (low + high) / step
                aim = (round(middle) if math.isfinite(middle) else middle) * step
            scaled = aim / step
            proposal = _clip(round(scaled) if math.isfinite(scaled) else scaled, o_lo,
                             o_hi) * step
        else:
            proposal = target
        return (proposal if believed_zone or crossed else math.nan), believed_zone or crossed


class ScalarRound(Model):
    """One replicate of a chunk's setup, minute by minute."""

    def __init__(self, setup: RoundSetup, picture: dict, reserve: np.ndarray, r: int) -> None:
        super().__init__(rng=0)
        self.reserve = reserve[r].tolist()
        self.sides = [Side(self, p, setup, r) for p in range(len(setup.party_names))]
        self.chair = Chair(self, setup, picture, r)
        self.issues = len(setup.issues)
        self.step_of, self.span = setup.step.tolist(), setup.span.tolist()
        self.compound, self.level = setup.compound.tolist(), setup.level[r].tolist()
        self.explore, self.item_minutes = setup.exploration_minutes, setup.item_minutes
        self.closing, self.max_minutes = setup.closing_minutes, setup.max_minutes
        self.opening = float(setup.opening_minutes[r])
        self.start = float(setup.opening_minutes[r])  # informed: no caucuses
        self.weighing = any(v > 0 for v in self.reserve)
        self.status = [PENDING] * self.issues
        self.value = [math.nan] * self.issues
        self.settled = [math.nan] * self.issues
        self.minute_of = [math.nan] * self.issues
        self.duration, self.walker = math.nan, -1
        self.position, self.item, self.item_start, self.minute = 0, self.chair.order[0], 0, 0
        self.running = True

    def step(self) -> None:
        t = self.minute
        if t < self.start:
            self._tick(t)
            return
        if t == max(0, math.ceil(self.start)):
            self.item_start = t
        item, step, scale = self.item, self.step_of[self.item], self.span[self.item]
        since, pressure = t - self.opening, self.chair.pressure[item]
        aspirations = [s.aspiration(item, since, pressure) for s in self.sides]
        offers = [s.offer(item, a, scale, step) for s, a in zip(self.sides, aspirations,
                                                                 strict=True)]
        wants = [s.wants[item] for s in self.sides]
        proposal, zone_open = self.chair.propose(item, offers, wants, step)
        zone_open = zone_open and all(s.linkage_met(item, self.settled) for s in self.sides)
        answers = [s.accepts(item, proposal, a, scale, self.settled)
                   for s, a in zip(self.sides, aspirations, strict=True)]
        agreed = zone_open and all(answers)
        spent = t - self.item_start + 1
        status = PENDING
        if spent >= self.item_minutes:
            status = TIMED_OUT
        if not zone_open and spent >= self.explore:
            status = PARKED
        if agreed:
            status = AGREED
        frustrated = [s.feel(not agreed, s.salience[item]) for s in self.sides]
        deciding = [False] * len(self.sides)
        if self.weighing:
            pending = [s == PENDING for s in self.status]
            expected = list(self.chair.nash)
            if not math.isnan(proposal):
                expected[item] = proposal
            deciding = [s.leaves(pending, expected, [o for o in self.sides if o is not s],
                                 since, pressure, self.span) for s in self.sides]
        walks = [(f or d) and not a for f, d, a in zip(frustrated, deciding, answers,
                                                       strict=True)]
        if status != PENDING:
            self.status[item] = status
        if agreed:
            self.value[item] = proposal
            self.settled[item] = float(self.level[item]) if self.compound[item] else proposal
            self.minute_of[item] = t + 1.0
        if any(walks):
            self.walker = walks.index(True)
            self._end(t + 1.0)
        elif status != PENDING:
            self.position += 1
            if self.position >= self.issues:
                self._end(t + 1.0 + self.closing)
            else:
                self.item, self.item_start = self.chair.order[self.position], t + 1
        self._tick(t)

    def _tick(self, t: int) -> None:
        self.minute = t + 1
        if self.running and self.minute >= self.max_minutes:
            self._end(float(self.max_minutes))

    def _end(self, duration: float) -> None:
        self.duration, self.running = duration, False

    def run(self) -> ScalarRound:
        while self.running:
            self.step()
        return self


def supported(setup: RoundSetup) -> None:
    """Raise ``NotImplementedError`` for what the baseline does not implement."""
    if (setup.protocol is not Protocol.SEQUENTIAL or not setup.informed or setup.levers
            or len(setup.issues) > 7):
        raise NotImplementedError("the scalar baseline runs sequential rounds with public "
                                  "information, no levers and at most 7 agenda issues "
                                  "(beyond, numpy sums pairwise)")


def run_scalar(setup: RoundSetup) -> dict[str, np.ndarray]:
    """Every replicate of ``setup`` in a Mesa model of its own: the outcome columns."""
    supported(setup)
    n, parties = setup.batna.shape
    no_levers = np.zeros((n, parties))
    picture = believed(setup, no_levers, no_levers)
    reserve = np.clip(setup.batna, 0.0, 1.0)
    rounds = [ScalarRound(setup, picture, reserve, r).run() for r in range(n)]
    columns: dict[str, np.ndarray] = {}
    for spec in setup.defined:
        here = spec.name in setup.issues
        i = setup.issues.index(spec.name) if here else -1
        done = np.array([here and m.status[i] == AGREED for m in rounds], dtype=bool)
        value = np.round(np.array([m.value[i] if d else math.nan
                                   for m, d in zip(rounds, done, strict=True)]), 9)
        columns[f"{spec.name}_agreed"] = done
        if spec.compound:
            columns[f"{spec.name}_level"] = np.array(
                [m.level[i] if d else 0 for m, d in zip(rounds, done, strict=True)], np.int8)
            columns[f"{spec.name}_conditions"] = value
        else:
            columns[f"{spec.name}_value"] = value
        columns[f"{spec.name}_minute"] = np.array([m.minute_of[i] if here else math.nan
                                                   for m in rounds])
    names = [*setup.party_names, None]
    columns["duration_minutes"] = np.array([m.duration for m in rounds])
    columns["walkout"] = np.array([m.walker >= 0 for m in rounds], dtype=bool)
    columns["walkout_party"] = np.array([names[m.walker] for m in rounds], dtype=object)
    assert list(columns) == list(outcome_dtypes(setup.defined))
    return columns
