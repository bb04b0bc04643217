"""Realise a scenario for a chunk of replicates: every parameter as an array.

``realise(scenario, n, rng)`` draws each ``[low, high]`` range uniformly per replicate
(the analyst's uncertainty about a parameter) and the round's own randomness (each
delegation's temperament that day and its walk-out threshold, the length of the
opening statements), then derives what the round needs: effective red lines, zones
of agreement, the ceasefire level, the mediator's Nash points and agenda order.
Everything is an array with a leading replicate axis, so ``select`` can cut out any
replicates and run them alone with exactly the same inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

import numpy as np

from sim.model import rules
from sim.model.issues import ISSUES, IssueKind
from sim.scenario.spec import AgendaOrder, ProposalRule, Range, Scenario, Shift


class _Drawer:
    """Draws each parameter for ``n`` replicates, by its scenario key.

    A key with given values (a posterior's particles, or a calibration's proposals)
    takes them; otherwise a fixed value costs no random number and a range is drawn
    uniformly. Then the scenario's shifts of that key apply (``Shift``)."""

    def __init__(self, n: int, rng: np.random.Generator, values: Mapping[str, np.ndarray],
                 shifts: tuple[Shift, ...]) -> None:
        self.n, self.rng, self.values = n, rng, values
        self.shifts = {s.key: s for s in shifts}
        self.drawn: dict[str, np.ndarray] = {}  # by key, before shifts

    def __call__(self, value: Range, key: str) -> np.ndarray:
        if key in self.values:
            drawn = np.asarray(self.values[key], dtype=float)
        elif value.fixed:
            drawn = np.full(self.n, value.low)
        else:
            drawn = self.rng.uniform(value.low, value.high, self.n)
        self.drawn[key] = drawn
        shift = self.shifts.get(key)
        if shift is not None:
            drawn = np.clip(drawn * shift.scale + shift.add, shift.low, shift.high)
        return drawn


def _same_side(red_line: np.ndarray, ideal: np.ndarray, wants: int) -> np.ndarray:
    """A red line drawn (or shifted) past the ideal is held at the ideal: a side never
    accepts less than its own red line, nor demands less than it would accept."""
    return np.where(wants * (ideal - red_line) < 0, ideal, red_line)


def _level(value: np.ndarray, kind: IssueKind) -> np.ndarray:
    """Positions on an ordinal or yes/no issue are levels: a drawn value rounds to the
    nearest one, so a range such as ``[0, 0.8]`` says how likely each level is."""
    return np.round(value) if kind in (IssueKind.ORDINAL, IssueKind.BINARY) else value


@dataclass(frozen=True)
class RoundSetup:
    """All inputs of a chunk of ``n`` replicates, ``P`` parties, ``I`` agenda items.

    Arrays with a leading ``n`` axis vary by replicate; the rest are shared.
    """

    # shared
    issues: tuple[str, ...]
    party_names: tuple[str, ...]
    mediator_name: str
    step: np.ndarray  # (I,)
    maximum: np.ndarray  # (I,)
    wants: np.ndarray  # (P, I) +1 more / -1 less
    deadline_minutes: float
    max_minutes: int
    closing_minutes: float
    exploration_minutes: int
    item_minutes: int
    proposal_rule: ProposalRule
    linkage: tuple[tuple[int, int, int, float], ...]  # (party, issue, requires, at_least)
    # per replicate
    draw_id: np.ndarray  # (n,) posterior draw used, -1 where drawn from the scenario's ranges
    #: every parameter as drawn, by scenario key, before shifts: ``realise(...,
    #: values=setup.drawn)`` gives the same parameters with fresh round randomness
    drawn: Mapping[str, np.ndarray]
    ideal: np.ndarray  # (n, P, I)
    red_line: np.ndarray  # (n, P, I) effective: the hard limit in this round
    salience: np.ndarray  # (n, P, I)
    tolerance: np.ndarray  # (n, P, I) acceptance tolerance, issue units
    concession: np.ndarray  # (n, P) Faratin beta, with the day's temperament
    walkout_threshold: np.ndarray  # (n, P)
    pressure: np.ndarray  # (n, I)
    opening_minutes: np.ndarray  # (n,)
    ceasefire_level: np.ndarray  # (n,) level put to the parties, 0 if none
    zone_lo: np.ndarray  # (n, I) lattice index
    zone_hi: np.ndarray  # (n, I)
    nash: np.ndarray  # (n, I) NaN where no zone
    order: np.ndarray  # (n, I) agenda order (issue indices)

    @property
    def replicates(self) -> int:
        return self.ideal.shape[0]

    def select(self, index) -> RoundSetup:
        """The same setup restricted to some replicates (a slice or index array)."""
        changes = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray) and f.name not in SHARED_ARRAYS:
                changes[f.name] = value[index]
            elif f.name == "drawn":
                changes[f.name] = {key: v[index] for key, v in value.items()}
        return replace(self, **changes)

    @staticmethod
    def concat(setups: list[RoundSetup]) -> RoundSetup:
        """Setups of the same agenda and parties as one, their replicates one after the
        other (the inverse of ``select``). Replicates never interact, so running them
        together gives each the result it has alone."""
        first = setups[0]
        joined = {}
        for f in fields(RoundSetup):
            value = getattr(first, f.name)
            if isinstance(value, np.ndarray) and f.name not in SHARED_ARRAYS:
                joined[f.name] = np.concatenate([getattr(s, f.name) for s in setups])
            elif f.name == "drawn":
                keys = set.intersection(*(set(s.drawn) for s in setups))
                joined[f.name] = {k: np.concatenate([s.drawn[k] for s in setups])
                                  for k in sorted(keys)}
        return replace(first, **joined)


#: Array fields of ``RoundSetup`` that hold no replicate axis.
SHARED_ARRAYS = ("step", "maximum", "wants")


def realise(scenario: Scenario, n: int, rng: np.random.Generator,
            values: Mapping[str, np.ndarray] | None = None) -> RoundSetup:
    """Draw ``n`` replicates of a scenario's round from ``rng`` (in a fixed order).

    Parameters come from ``values`` where given (arrays of length ``n`` by scenario
    key), else from the scenario's posterior (one particle per replicate, recorded as
    ``draw_id``), else from the scenario's own values and ranges."""
    draw_id = np.full(n, -1, dtype=np.int64)
    if values is None and scenario.posterior is not None:
        draw_id, values = scenario.posterior.sample(n, rng)
    draw = _Drawer(n, rng, values or {}, scenario.shifts)
    issues = scenario.agenda
    parties = scenario.parties
    n_parties, n_issues = len(parties), len(issues)
    specs = [ISSUES[name] for name in issues]
    step = np.array([s.step for s in specs])
    maximum = np.array([s.maximum for s in specs])
    mediator, context = scenario.mediator, scenario.context

    pressure_all = draw(mediator.pressure, "mediator.pressure") + draw(
        context.third_party_pressure, "context.third_party_pressure")
    credibility = draw(mediator.credibility, "mediator.credibility")

    ideal = np.empty((n, n_parties, n_issues))
    red = np.empty_like(ideal)
    salience = np.empty_like(ideal)
    wants = np.empty((n_parties, n_issues), dtype=np.int64)
    concession = np.empty((n, n_parties))
    patience = np.empty_like(concession)
    power = np.empty_like(concession)
    cond_red = np.zeros((n, n_parties, 3))  # ceasefire conditions red line per level
    level_red = np.zeros((n, n_parties))
    level_ideal = np.zeros((n, n_parties))
    level_wants = np.zeros(n_parties)
    for p, party in enumerate(parties):
        key = f"parties.{party.key}"
        concession[:, p] = draw(party.concession, f"{key}.concession")
        patience[:, p] = draw(party.patience, f"{key}.patience")
        power[:, p] = draw(party.bargaining_power, f"{key}.bargaining_power")
        willingness = draw(party.exchange_willingness, f"{key}.exchange_willingness")
        momentum = draw(party.momentum, f"{key}.momentum")
        for i, (name, spec) in enumerate(zip(issues, specs, strict=True)):
            pos = party.position(name)
            at = f"{key}.issues.{name}"
            salience[:, p, i] = draw(pos.salience, f"{at}.salience")
            if spec.kind is IssueKind.CEASEFIRE:
                level_wants[p] = pos.wants
                level_ideal[:, p] = np.round(draw(pos.ideal, f"{at}.ideal"))
                level_red[:, p] = _same_side(np.round(draw(pos.red_line, f"{at}.red_line")),
                                             level_ideal[:, p], pos.wants)
                wants[p, i] = pos.conditions_wants
                ideal[:, p, i] = draw(pos.conditions_ideal, f"{at}.conditions_ideal")
                cond_red_line = _same_side(draw(pos.conditions_red_line,
                                                f"{at}.conditions_red_line"),
                                           ideal[:, p, i], pos.conditions_wants)
                general = rules.effective_red_line(
                    ideal[:, p, i], cond_red_line,
                    pos.conditions_wants, willingness, momentum, spec.domain)
                # A local pause to collect the dead does not change the front line, so
                # momentum does not harden its conditions: they stand as declared.
                pause = _same_side(draw(pos.pause_conditions_red_line,
                                        f"{at}.pause_conditions_red_line"),
                                   ideal[:, p, i], pos.conditions_wants)
                cond_red[:, p] = np.stack([pause, general, general], axis=1)
            else:
                wants[p, i] = pos.wants
                ideal[:, p, i] = _level(draw(pos.ideal, f"{at}.ideal"), spec.kind)
                nominal = _same_side(_level(draw(pos.red_line, f"{at}.red_line"), spec.kind),
                                     ideal[:, p, i], pos.wants)
                red[:, p, i] = rules.effective_red_line(
                    ideal[:, p, i], nominal,
                    pos.wants, willingness, momentum, spec.domain)

    level = np.zeros(n, dtype=np.int64)
    if "ceasefire" in issues:
        c = issues.index("ceasefire")
        level = rules.ceasefire_level(level_ideal, level_red, level_wants, cond_red,
                                      wants[:, c], step[c])
        # conditions at the chosen level; where there is none, those of a general one
        column = np.where(level == 0, 2, level) - 1
        at_level = np.take_along_axis(cond_red, column[:, None, None], 2)
        red[:, :, c] = at_level[:, :, 0]

    # The round's own randomness: temperament of the day, walk-out thresholds, openings.
    temperament = rng.lognormal(0.0, context.concession_noise, (n, n_parties))
    gamma = rng.gamma(context.walkout_shape, 1.0 / context.walkout_shape, (n, n_parties))
    opening = np.round(draw(scenario.round.opening_minutes, "round.opening_minutes"))

    lo, hi = rules.zone_of_agreement(np.moveaxis(red, 2, 1), wants.T, maximum)
    k_lo, k_hi = rules.lattice_bounds(lo, hi, step)
    if "ceasefire" in issues:
        no_level = level == 0
        k_hi[no_level, issues.index("ceasefire")] = k_lo[no_level, issues.index("ceasefire")] - 1
    nash = np.stack([
        rules.nash_point(ideal[:, :, i], red[:, :, i], wants[:, i], power, k_lo[:, i],
                         k_hi[:, i], step[i]) for i in range(n_issues)], axis=1)

    pressure = np.repeat(pressure_all[:, None], n_issues, axis=1)
    for i, name in enumerate(issues):
        if name in mediator.own_items:  # the mediator pushes its own items twice as hard
            pressure[:, i] *= 2.0
    span = np.abs(ideal - red)
    tolerance = credibility[:, None, None] * span

    order = np.broadcast_to(np.arange(n_issues), (n, n_issues))
    if mediator.agenda_order is AgendaOrder.EASIEST_FIRST:
        width = np.where(k_lo <= k_hi, (k_hi - k_lo + 1) * step / maximum, -1.0)
        order = np.argsort(-width, axis=1, kind="stable")
    linkage = tuple(
        (p, issues.index(link.issue), issues.index(link.requires), link.at_least)
        for p, party in enumerate(parties) for link in party.linkage if link.issue in issues)

    return RoundSetup(
        issues=issues,
        party_names=tuple(p.name for p in parties),
        mediator_name=mediator.name,
        step=step,
        maximum=maximum,
        wants=wants,
        deadline_minutes=scenario.round.deadline_minutes,
        max_minutes=scenario.round.max_minutes,
        closing_minutes=scenario.round.closing_minutes,
        exploration_minutes=mediator.exploration_minutes,
        item_minutes=mediator.item_minutes,
        proposal_rule=mediator.proposal_rule,
        linkage=linkage,
        draw_id=draw_id,
        drawn=draw.drawn,
        ideal=ideal,
        red_line=red,
        salience=salience,
        tolerance=tolerance,
        concession=concession * temperament,
        walkout_threshold=rules.walkout_threshold(
            patience * (1.0 + pressure_all[:, None]), gamma),
        pressure=pressure,
        opening_minutes=opening,
        ceasefire_level=level,
        zone_lo=k_lo,
        zone_hi=k_hi,
        nash=nash,
        order=np.ascontiguousarray(order),
        )
