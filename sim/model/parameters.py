"""Realise a scenario for a chunk of replicates: every parameter as an array.

``realise(scenario, n, rng)`` draws each ``[low, high]`` range uniformly per replicate
(the analyst's uncertainty about a parameter) and the round's own randomness (each
delegation's temperament that day and its walk-out threshold, the length of the
opening statements), then derives what the round needs: effective red lines, zones
of agreement, the level of each compound issue, the mediator's Nash points and agenda
order. Everything is an array with a leading replicate axis, so ``select`` can cut out
any replicates and run them alone with exactly the same inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

import numpy as np

from sim.model import rules
from sim.scenario.spec import (
    AgendaOrder,
    Format,
    IssueSpec,
    Party,
    ProposalRule,
    Protocol,
    Range,
    Scenario,
    Shift,
)


class _Drawer:
    """Draws each parameter for ``n`` replicates, by its scenario key.

    A key with given values (a posterior's particles, or a calibration's proposals)
    takes them; otherwise a fixed value costs no random number and a range is drawn
    uniformly. Then the scenario's shifts of that key apply (``Shift``). ``drawn``
    keeps every value before shifts, ``inputs`` the values used of every key that
    varies by replicate or is shifted (the ``inputs/`` dataset of a batch)."""

    def __init__(self, n: int, rng: np.random.Generator, values: Mapping[str, np.ndarray],
                 shifts: tuple[Shift, ...]) -> None:
        self.n, self.rng, self.values = n, rng, values
        self.shifts = {s.key: s for s in shifts}
        self.drawn: dict[str, np.ndarray] = {}  # by key, before shifts
        self.inputs: dict[str, np.ndarray] = {}  # by key, after shifts

    def __call__(self, value: Range, key: str) -> np.ndarray:
        varies = True
        if key in self.values:
            drawn = np.asarray(self.values[key], dtype=float)
        elif value.fixed:
            drawn = np.full(self.n, value.low)
            varies = False
        else:
            drawn = self.rng.uniform(value.low, value.high, self.n)
        self.drawn[key] = drawn
        shift = self.shifts.get(key)
        if shift is not None:
            drawn = np.clip(drawn * shift.scale + shift.add, shift.low, shift.high)
        if varies or shift is not None:
            self.inputs[key] = drawn
        return drawn


def _same_side(red_line: np.ndarray, ideal: np.ndarray, wants: int) -> np.ndarray:
    """A red line drawn (or shifted) past the ideal is held at the ideal: a side never
    accepts less than its own red line, nor demands less than it would accept."""
    return np.where(wants * (ideal - red_line) < 0, ideal, red_line)


def _level(value: np.ndarray, spec: IssueSpec) -> np.ndarray:
    """Positions on an ordinal or yes/no issue are levels: a drawn value rounds to the
    nearest one, so a range such as ``[0, 0.8]`` says how likely each level is."""
    return np.round(value) if spec.levelled else value


@dataclass(frozen=True)
class RoundSetup:
    """All inputs of a chunk of ``n`` replicates, ``P`` parties, ``I`` agenda items.

    Arrays with a leading ``n`` axis vary by replicate; the rest are shared.
    """

    # shared
    issues: tuple[str, ...]
    specs: tuple[IssueSpec, ...]  # the agenda items' definitions
    defined: tuple[IssueSpec, ...]  # every issue the scenario defines (outcome columns)
    party_names: tuple[str, ...]
    mediator_name: str
    step: np.ndarray  # (I,) lattice of the number bargained
    minimum: np.ndarray  # (I,)
    maximum: np.ndarray  # (I,)
    compound: np.ndarray  # (I,) bool: a level chosen by the mediator, conditions bargained
    wants: np.ndarray  # (P, I) +1 more / -1 less
    deadline_minutes: float
    max_minutes: int
    closing_minutes: float
    exploration_minutes: int
    item_minutes: int
    proposal_rule: ProposalRule
    linkage: tuple[tuple[int, int, int, float], ...]  # (party, issue, requires, at_least)
    protocol: Protocol
    format: Format
    informed: bool  # the mediator knows every red line and BATNA
    caucuses: int  # rounds of caucuses with each side before the plenary (0 if informed)
    caucus_minutes: int
    shuttle_minutes: int
    span: np.ndarray  # (I,) maximum - minimum
    pull: float  # weight of the mediator's own stakes
    pull_ideal: np.ndarray  # (I,) its ideal on each item (0 where it has no stake)
    pull_weight: np.ndarray  # (I,) its saliences, summing to 1 over its stakes
    levers: tuple  # (party, utility, batna, cost) of each lever, in the file's order
    budget: float
    # per replicate
    draw_id: np.ndarray  # (n,) posterior draw used, -1 where drawn from the scenario's ranges
    #: every parameter as drawn, by scenario key, before shifts: ``realise(...,
    #: values=setup.drawn)`` gives the same parameters with fresh round randomness
    drawn: Mapping[str, np.ndarray]
    #: the inputs recorded beside each round's outcomes: every key that varies by
    #: replicate or is shifted (after shifts), and the round's own randomness
    inputs: Mapping[str, np.ndarray]
    ideal: np.ndarray  # (n, P, I)
    red_line: np.ndarray  # (n, P, I) effective: the hard limit in this round
    salience: np.ndarray  # (n, P, I)
    tolerance: np.ndarray  # (n, P, I) acceptance tolerance, issue units
    credibility: np.ndarray  # (n,) the same tolerance on the utility scale
    weight: np.ndarray  # (n, P, I) saliences normalised over the agenda (additive utility)
    batna: np.ndarray  # (n, P) utility of leaving with nothing (0..1)
    discount: np.ndarray  # (n, P) share of a deal's value lost per hour of talks
    horizon: np.ndarray  # (n, P) minutes over which a side concedes fully (deadline, delay)
    power: np.ndarray  # (n, P) Nash powers of the mediator's target (patience is power)
    bluff: np.ndarray  # (n, P) how far stated positions overstate, share of the span
    #: beliefs, in shares of each issue's span relative to the truth (an interval that
    #: holds 0): the mediator's about each side (n, P, I) and each side's about each
    #: other (n, P, P, I); about BATNAs (n, P), in utility
    mediator_lo: np.ndarray
    mediator_hi: np.ndarray
    mediator_batna_lo: np.ndarray
    mediator_batna_hi: np.ndarray
    party_lo: np.ndarray
    party_hi: np.ndarray
    caucus_reading: np.ndarray  # (n, K, P, I) noise of each caucus reading, span shares
    caucus_batna: np.ndarray  # (n, K, P) noise of each BATNA reading
    caucus_noise: float  # half-width of that noise
    concession: np.ndarray  # (n, P) Faratin beta, with the day's temperament
    walkout_threshold: np.ndarray  # (n, P)
    pressure: np.ndarray  # (n, I)
    opening_minutes: np.ndarray  # (n,)
    level: np.ndarray  # (n, I) level put to the parties on compound issues, 0 if none
    zone_lo: np.ndarray  # (n, I) lattice index
    zone_hi: np.ndarray  # (n, I)
    nash: np.ndarray  # (n, I) NaN where no zone, or no mediator drafts by it (realise)
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
            elif f.name in ("drawn", "inputs"):
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
            elif f.name in ("drawn", "inputs"):
                keys = set.intersection(*(set(getattr(s, f.name)) for s in setups))
                joined[f.name] = {k: np.concatenate([getattr(s, f.name)[k] for s in setups])
                                  for k in sorted(keys)}
        return replace(first, **joined)


#: Array fields of ``RoundSetup`` that hold no replicate axis.
SHARED_ARRAYS = ("step", "minimum", "maximum", "compound", "wants", "span", "pull_ideal",
                 "pull_weight")


@dataclass
class _Positions:
    """The parties' positions as they are drawn, before the round's derivations."""

    ideal: np.ndarray  # (n, P, I)
    red: np.ndarray  # (n, P, I) effective red lines (compound: set once the level is known)
    salience: np.ndarray  # (n, P, I)
    wants: np.ndarray  # (P, I)
    concession: np.ndarray  # (n, P)
    patience: np.ndarray  # (n, P)
    power: np.ndarray  # (n, P)
    batna: np.ndarray  # (n, P)
    discount: np.ndarray  # (n, P)
    bluff: np.ndarray  # (n, P)
    #: compound issue index -> (level ideal (n, P), level red line (n, P), level wants (P,),
    #: conditions red line by level (n, P, L - 1))
    compound: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]


def _draw_party(draw: _Drawer, party: Party, p: int, specs: tuple[IssueSpec, ...],
                into: _Positions, compiled: bool = False) -> None:
    """Party ``p``'s dispositions and positions on each item, in the scenario's order.
    ``compiled``: a plain issue's positions by ``sim.model.compiled.plain_positions``."""
    key = f"parties.{party.key}"
    into.concession[:, p] = draw(party.concession, f"{key}.concession")
    into.patience[:, p] = draw(party.patience, f"{key}.patience")
    into.power[:, p] = draw(party.bargaining_power, f"{key}.bargaining_power")
    willingness = draw(party.exchange_willingness, f"{key}.exchange_willingness")
    momentum = draw(party.momentum, f"{key}.momentum")
    into.batna[:, p] = draw(party.batna, f"{key}.batna")
    into.discount[:, p] = draw(party.discount_per_hour, f"{key}.discount_per_hour")
    into.bluff[:, p] = draw(party.bluff, f"{key}.bluff")
    n = draw.n
    for i, spec in enumerate(specs):
        pos = party.position(spec.name)
        at = f"{key}.issues.{spec.name}"
        into.salience[:, p, i] = draw(pos.salience, f"{at}.salience")
        if spec.compound:
            level_ideal, level_red, level_wants, cond_red = into.compound.setdefault(
                i, (np.zeros((n, into.wants.shape[0])), np.zeros((n, into.wants.shape[0])),
                    np.zeros(into.wants.shape[0]),
                    np.zeros((n, into.wants.shape[0], spec.top_level))))
            level_wants[p] = pos.wants
            level_ideal[:, p] = np.round(draw(pos.ideal, f"{at}.ideal"))
            level_red[:, p] = _same_side(np.round(draw(pos.red_line, f"{at}.red_line")),
                                         level_ideal[:, p], pos.wants)
            into.wants[p, i] = pos.conditions_wants
            into.ideal[:, p, i] = draw(pos.conditions_ideal, f"{at}.conditions_ideal")
            general = _same_side(draw(pos.conditions_red_line, f"{at}.conditions_red_line"),
                                 into.ideal[:, p, i], pos.conditions_wants)
            own = {level: _same_side(draw(value, f"{at}.conditions_red_line_at.{level}"),
                                     into.ideal[:, p, i], pos.conditions_wants)
                   for level, value in pos.conditions_red_line_at}
            for level in range(1, spec.top_level + 1):
                declared = own.get(level, general)
                if spec.contested and level >= spec.contested_from_level:
                    declared = rules.effective_red_line(
                        into.ideal[:, p, i], declared, pos.conditions_wants, willingness,
                        momentum, exchange=False, contested=True)
                cond_red[:, p, level - 1] = declared
        elif compiled:  # the same numbers in one pass (sim.model.compiled.plain_positions)
            from sim.model.compiled import plain_positions
            into.wants[p, i] = pos.wants
            ideal = draw(pos.ideal, f"{at}.ideal")
            plain_positions(ideal, draw(pos.red_line, f"{at}.red_line"), willingness,
                            momentum, pos.wants, spec.levelled, spec.exchange, spec.contested,
                            p, i, into.ideal, into.red)
        else:
            into.wants[p, i] = pos.wants
            into.ideal[:, p, i] = _level(draw(pos.ideal, f"{at}.ideal"), spec)
            nominal = _same_side(_level(draw(pos.red_line, f"{at}.red_line"), spec),
                                 into.ideal[:, p, i], pos.wants)
            into.red[:, p, i] = rules.effective_red_line(
                into.ideal[:, p, i], nominal, pos.wants, willingness, momentum,
                spec.exchange, spec.contested)


def _choose_levels(positions: _Positions, specs: tuple[IssueSpec, ...], step: np.ndarray,
                   minimum: np.ndarray, maximum: np.ndarray, n: int, compiled: bool = False
                   ) -> np.ndarray:
    """The level of each compound issue and, at it, the conditions red lines (where no
    level can be agreed: those of ``contested_from_level``, for the figures).
    ``compiled``: by ``sim.model.compiled.compound_levels`` (the same levels and lines)."""
    level = np.zeros((n, len(specs)), dtype=np.int64)
    for c, (level_ideal, level_red, level_wants, cond_red) in positions.compound.items():
        shown = min(specs[c].contested_from_level, specs[c].top_level)
        if compiled:
            from sim.model.compiled import compound_levels
            level[:, c], positions.red[:, :, c] = compound_levels(
                level_ideal, level_red, level_wants, cond_red, positions.wants[:, c],
                minimum[c], maximum[c], step[c], shown)
            continue
        level[:, c] = rules.compound_level(level_ideal, level_red, level_wants, cond_red,
                                           positions.wants[:, c], minimum[c], maximum[c],
                                           step[c])
        column = np.where(level[:, c] == 0, shown, level[:, c]) - 1
        at_level = np.take_along_axis(cond_red, column[:, None, None], 2)
        positions.red[:, :, c] = at_level[:, :, 0]
    return level


def _beliefs(scenario: Scenario, rng: np.random.Generator, ideal: np.ndarray,
             red: np.ndarray, wants: np.ndarray, minimum: np.ndarray, maximum: np.ndarray
             ) -> dict[str, np.ndarray | float]:
    """What each side, and the mediator, believe of the others' red lines and BATNAs,
    and the noise of the mediator's caucus readings.

    With private information (``[information] private``) every observer starts with a
    uniform belief ``prior_width`` wide that holds the truth at a random place (a first
    noisy reading: public statements, intelligence) and narrows it by Bayes' rule as
    evidence comes (``rules.narrowed``); without, every belief is the truth. Beliefs
    are kept relative to the truth, in shares of the issue's span, so that one interval
    serves a compound issue at every level. Drawn after everything else, so a scenario
    without private information draws what it always drew.
    """
    n, n_parties, n_issues = ideal.shape
    information, mediator = scenario.information, scenario.mediator
    informed = mediator.informed or not information.private
    caucuses = 0 if informed else mediator.caucuses
    exact = np.zeros((n, n_parties, n_issues))
    beliefs: dict = {
        "mediator_lo": exact, "mediator_hi": exact,
        "mediator_batna_lo": np.zeros((n, n_parties)),
        "mediator_batna_hi": np.zeros((n, n_parties)),
        "party_lo": np.zeros((n, n_parties, n_parties, n_issues)),
        "party_hi": np.zeros((n, n_parties, n_parties, n_issues)),
        "caucus_reading": np.zeros((n, caucuses, n_parties, n_issues)),
        "caucus_batna": np.zeros((n, caucuses, n_parties)),
        "caucus_noise": information.caucus_noise,
    }
    if not information.private:
        return beliefs
    half = information.prior_width / 2
    span = maximum - minimum
    # where a red line can be, relative to the truth: on the scale, not past the ideal
    room_lo = (minimum - red) / span
    room_hi = (maximum - red) / span
    side = (ideal - red) / span
    room_lo = np.where(wants[None] < 0, np.maximum(room_lo, side), room_lo)
    room_hi = np.where(wants[None] > 0, np.minimum(room_hi, side), room_hi)

    def prior(shape_extra: tuple) -> tuple[np.ndarray, np.ndarray]:
        centre = rng.uniform(-half, half, (n, *shape_extra, n_parties, n_issues))
        lo, hi = centre - half, centre + half
        return (np.maximum(lo, room_lo.reshape((n,) + (1,) * len(shape_extra) + red.shape[1:])),
                np.minimum(hi, room_hi.reshape((n,) + (1,) * len(shape_extra) + red.shape[1:])))

    party_lo, party_hi = prior((n_parties,))  # (n, observer, P, I)
    beliefs["party_lo"], beliefs["party_hi"] = party_lo, party_hi
    if not informed:
        beliefs["mediator_lo"], beliefs["mediator_hi"] = prior(())
        centre = rng.uniform(-half, half, (n, n_parties))
        beliefs["mediator_batna_lo"], beliefs["mediator_batna_hi"] = centre - half, centre + half
        beliefs["caucus_reading"] = rng.uniform(-1.0, 1.0, (n, caucuses, n_parties, n_issues))
        beliefs["caucus_batna"] = rng.uniform(-1.0, 1.0, (n, caucuses, n_parties))
    return beliefs


def _zones(red: np.ndarray, wants: np.ndarray, minimum: np.ndarray, maximum: np.ndarray,
           step: np.ndarray, level: np.ndarray, compound: np.ndarray):
    """Lattice bounds of each item's zone of agreement; none on a compound issue where
    no level can be agreed."""
    lo, hi = rules.zone_of_agreement(np.moveaxis(red, 2, 1), wants.T, minimum, maximum)
    k_lo, k_hi = rules.lattice_bounds(lo, hi, step)
    closed = compound[None, :] & (level == 0)
    k_hi = np.where(closed, k_lo - 1, k_hi)
    return k_lo, k_hi


def realise(scenario: Scenario, n: int, rng: np.random.Generator,
            values: Mapping[str, np.ndarray] | None = None, compiled: bool = False
            ) -> RoundSetup:
    """Draw ``n`` replicates of a scenario's round from ``rng`` (in a fixed order).

    Parameters come from ``values`` where given (arrays of length ``n`` by scenario
    key), else from the scenario's posterior (one particle per replicate, recorded as
    ``draw_id``), else from the scenario's own values and ranges. ``compiled``: the
    compound levels, zones and Nash points by compiled kernels (``sim.model.compiled``:
    the same numbers, tests/test_compiled.py)."""
    draw_id = np.full(n, -1, dtype=np.int64)
    if values is None and scenario.posterior is not None:
        draw_id, values = scenario.posterior.sample(n, rng)
    draw = _Drawer(n, rng, values or {}, scenario.shifts)
    specs = scenario.agenda_issues
    parties = scenario.parties
    n_parties, n_issues = len(parties), len(specs)
    step = np.array([s.scale.step for s in specs])
    minimum = np.array([s.scale.minimum for s in specs])
    maximum = np.array([s.scale.maximum for s in specs])
    compound = np.array([s.compound for s in specs], dtype=bool)
    mediator, context = scenario.mediator, scenario.context

    pressure_all = draw(mediator.pressure, "mediator.pressure") + draw(
        context.third_party_pressure, "context.third_party_pressure")
    credibility = draw(mediator.credibility, "mediator.credibility")

    positions = _Positions(
        ideal=np.empty((n, n_parties, n_issues)), red=np.empty((n, n_parties, n_issues)),
        salience=np.empty((n, n_parties, n_issues)),
        wants=np.empty((n_parties, n_issues), dtype=np.int64),
        concession=np.empty((n, n_parties)), patience=np.empty((n, n_parties)),
        power=np.empty((n, n_parties)), batna=np.empty((n, n_parties)),
        discount=np.empty((n, n_parties)), bluff=np.empty((n, n_parties)), compound={})
    for p, party in enumerate(parties):
        _draw_party(draw, party, p, specs, positions, compiled)
    level = _choose_levels(positions, specs, step, minimum, maximum, n, compiled)
    ideal, red, wants = positions.ideal, positions.red, positions.wants

    # The round's own randomness: temperament of the day, walk-out thresholds, openings.
    temperament = rng.lognormal(0.0, context.concession_noise, (n, n_parties))
    gamma = rng.gamma(context.walkout_shape, 1.0 / context.walkout_shape, (n, n_parties))
    opening = np.round(draw(scenario.round.opening_minutes, "round.opening_minutes"))
    beliefs = _beliefs(scenario, rng, ideal, red, wants, minimum, maximum)

    deadline = scenario.round.deadline_minutes
    horizon = rules.concession_horizon(deadline, rules.discount_rate(positions.discount))
    power = rules.nash_powers(positions.power, horizon, deadline)
    # the Nash point of each item's zone: the text of an informed mediator item by item
    # (an uninformed one reckons its own from its beliefs, ``beliefs.reckon``; a package
    # round drafts the package's, ``package.target``): NaN where no mediator reads it
    informed = scenario.mediator.informed or not scenario.information.private
    by_item = informed and scenario.round.protocol is Protocol.SEQUENTIAL
    if compiled:
        # imported here: numba's start-up is paid only by the runs that use it
        from sim.model.compiled import zones_and_nash_points
        k_lo, k_hi, nash = zones_and_nash_points(ideal, red, wants, power, minimum, maximum,
                                                 step, compound, level, by_item)
    else:
        k_lo, k_hi = _zones(red, wants, minimum, maximum, step, level, compound)
        nash = np.stack([
            rules.nash_point(ideal[:, :, i], red[:, :, i], wants[:, i], power,
                             k_lo[:, i], k_hi[:, i], step[i]) for i in range(n_issues)],
            axis=1) if by_item else np.full(k_lo.shape, np.nan)
    salience = positions.salience
    weight = salience / np.maximum(salience.sum(axis=2, keepdims=True), rules.EPS)

    pressure = np.repeat(pressure_all[:, None], n_issues, axis=1)
    for i, spec in enumerate(specs):
        if spec.name in mediator.own_items:  # the mediator pushes its own items twice as hard
            pressure[:, i] *= 2.0
    tolerance = credibility[:, None, None] * np.abs(ideal - red)

    order = np.broadcast_to(np.arange(n_issues), (n, n_issues))
    if mediator.agenda_order is AgendaOrder.EASIEST_FIRST:
        width = np.where(k_lo <= k_hi, (k_hi - k_lo + 1) * step / (maximum - minimum), -1.0)
        order = np.argsort(-width, axis=1, kind="stable")
    names = tuple(s.name for s in specs)
    stakes = {stake.issue: stake for stake in mediator.stakes if stake.issue in names}
    pull_weight = np.array([stakes[s.name].salience if s.name in stakes else 0.0
                            for s in specs])
    pull_weight = pull_weight / pull_weight.sum() if pull_weight.sum() > 0 else pull_weight
    linkage = tuple(
        (p, names.index(link.issue), names.index(link.requires), link.at_least)
        for p, party in enumerate(parties) for link in party.linkage if link.issue in names)
    inputs = dict(draw.inputs)
    for p, party in enumerate(parties):
        inputs[f"round.temperament.{party.key}"] = temperament[:, p]
        inputs[f"round.walkout_draw.{party.key}"] = gamma[:, p]

    return RoundSetup(
        issues=names,
        specs=specs,
        defined=scenario.issues,
        party_names=tuple(p.name for p in parties),
        mediator_name=mediator.name,
        step=step,
        minimum=minimum,
        maximum=maximum,
        compound=compound,
        wants=wants,
        deadline_minutes=scenario.round.deadline_minutes,
        max_minutes=scenario.round.max_minutes,
        closing_minutes=scenario.round.closing_minutes,
        exploration_minutes=mediator.exploration_minutes,
        item_minutes=mediator.item_minutes,
        proposal_rule=mediator.proposal_rule,
        linkage=linkage,
        protocol=scenario.round.protocol,
        format=mediator.format,
        informed=mediator.informed or not scenario.information.private,
        caucuses=0 if (mediator.informed or not scenario.information.private) else (
            mediator.caucuses),
        caucus_minutes=mediator.caucus_minutes,
        shuttle_minutes=mediator.shuttle_minutes,
        span=maximum - minimum,
        pull=mediator.bias if stakes else 0.0,
        pull_ideal=np.array([stakes[s.name].ideal if s.name in stakes else 0.0
                             for s in specs]),
        pull_weight=pull_weight,
        levers=tuple((lever.party, lever.utility, lever.batna, lever.cost)
                     for lever in mediator.levers),
        budget=mediator.budget,
        draw_id=draw_id,
        drawn=draw.drawn,
        inputs=inputs,
        ideal=ideal,
        red_line=red,
        salience=salience,
        tolerance=tolerance,
        credibility=credibility,
        weight=weight,
        batna=positions.batna,
        discount=positions.discount,
        horizon=horizon,
        power=power,
        bluff=positions.bluff,
        **beliefs,
        concession=positions.concession * temperament,
        walkout_threshold=rules.walkout_threshold(
            positions.patience * (1.0 + pressure_all[:, None]), gamma),
        pressure=pressure,
        opening_minutes=opening,
        level=level,
        zone_lo=k_lo,
        zone_hi=k_hi,
        nash=nash,
        order=np.ascontiguousarray(order),
        )
