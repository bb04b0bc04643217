"""What a scenario is: frozen dataclasses, validated by the loader (``sim.scenario.load``)
and read by the model. Nothing here reads a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

import numpy as np

from sim.errors import InputError


class ScenarioError(InputError):
    """A scenario file that cannot be used: says which file, which key, and why."""


class ProposalRule(StrEnum):
    """How the mediator drafts a compromise text (``rules`` names the sources)."""

    NASH = "nash"
    SPLIT_DIFFERENCE = "split_difference"


class Protocol(StrEnum):
    """How a round's agenda is negotiated (``docs/scenarios.md``, "Protocols")."""

    PACKAGE = "package"  # one text over every open issue, revised (single negotiating text)
    SEQUENTIAL = "sequential"  # one item at a time, in the mediator's order


class Format(StrEnum):
    """Whether the sides meet: in the room with the mediator, or only through it."""

    DIRECT = "direct"
    PROXIMITY = "proximity"  # the mediator caucuses and carries texts (shuttle)


class AgendaOrder(StrEnum):
    """In what order the mediator takes the items."""

    AS_LISTED = "as_listed"
    EASIEST_FIRST = "easiest_first"  # widest zone of agreement first (incrementalism)


class IssueKind(StrEnum):
    """How an issue's number is read (``docs/scenarios.md``, "Issues")."""

    COUNT = "count"  # people, bodies, cubic metres: a whole number on a lattice
    SHARE = "share"  # a fraction, e.g. of a territory or of a list of demands
    ORDINAL = "ordinal"  # named levels, in order
    YES_NO = "yes_no"  # two levels: no, yes
    COMPOUND = "compound"  # a level (ordinal) with conditions attached (a share)


#: Kinds whose values are level indices (positions round to a level).
LEVELLED = (IssueKind.ORDINAL, IssueKind.YES_NO, IssueKind.COMPOUND)


@dataclass(frozen=True)
class Scale:
    """The number bargained over: ``[minimum, maximum]`` on a lattice of ``step``
    (agreements are round numbers: 100 prisoners, 1,000 remains, whole levels)."""

    minimum: float
    maximum: float
    step: float
    unit: str
    label: str


@dataclass(frozen=True)
class IssueSpec:
    """One issue a round can negotiate, as the scenario defines it.

    ``scale`` is the number the parties bargain over: the issue's own for count, share,
    ordinal and yes/no issues (level indices for the last two), the conditions for a
    compound issue, whose level (``levels``, index 0 the level that holds without
    agreement) the mediator chooses (``rules.compound_level``). Mechanisms, each a
    rule of ``sim.model.rules``: ``exchange`` (reciprocal release: the holder's red line
    is pulled in by its exchange willingness), ``contested`` (battlefield momentum
    hardens every side's red line; on a compound issue at levels from
    ``contested_from_level`` on).
    """

    name: str
    kind: IssueKind
    label: str
    scale: Scale
    levels: tuple[str, ...] = ()
    exchange: bool = False
    contested: bool = False
    contested_from_level: int = 1

    @property
    def compound(self) -> bool:
        return self.kind is IssueKind.COMPOUND

    @property
    def levelled(self) -> bool:
        """Values are level indices (ordinal, yes/no)."""
        return self.kind in (IssueKind.ORDINAL, IssueKind.YES_NO)

    @property
    def top_level(self) -> int:
        return len(self.levels) - 1

    def level_name(self, level: float) -> str:
        """The name of a level (a value of a levelled issue, or a compound's level)."""
        k = int(round(level))
        return self.levels[k] if 0 <= k < len(self.levels) else f"level {k}"

    def show(self, value: float) -> str:
        """A value of the bargained number as people read it: "1,200 prisoners per
        side", "return agreed", "conditions 0.35"."""
        if self.levelled:
            return self.level_name(value)
        scale = self.scale
        if scale.step >= 1 and float(value).is_integer():
            number = f"{value:,.0f}"
        else:
            decimals = max(0, -int(np.floor(np.log10(scale.step)))) if scale.step < 1 else 0
            number = f"{value:,.{decimals}f}"
        if self.compound:
            return f"{scale.label} {number}"
        return f"{number} {scale.unit}".strip()


@dataclass(frozen=True)
class EventSpec:
    """An event of the outcome distribution: a condition over a round's outcomes,
    written in the scenario (``sim.scenario.events`` parses and evaluates it)."""

    name: str
    label: str
    when: str  # the expression as written
    tree: object  # its parsed form (sim.scenario.events)
    issues: tuple[str, ...]  # the issues it reads


@dataclass(frozen=True)
class Observed:
    """Something reported of a real round, drawn on the outcome figures: ``target`` is
    a quantity (an issue name or ``duration_minutes``), ``low``-``high`` the reported
    value or range."""

    round: str
    target: str
    low: float
    high: float
    source: str


@dataclass(frozen=True)
class Range:
    """A parameter: a value (``low == high``) or a uniform range drawn per replicate."""

    low: float
    high: float

    @property
    def fixed(self) -> bool:
        return self.low == self.high


@dataclass(frozen=True)
class Position:
    """A delegation's stance on one issue. ``wants`` is +1 (more) or -1 (less).

    On a compound issue ``ideal``/``red_line`` are levels and the ``conditions_*``
    fields the conditions it attaches: ``conditions_red_line`` at every level but
    those given their own in ``conditions_red_line_at`` (level -> range).
    """

    wants: int
    ideal: Range
    red_line: Range
    salience: Range
    conditions_wants: int = 0
    conditions_ideal: Range | None = None
    conditions_red_line: Range | None = None
    conditions_red_line_at: tuple[tuple[int, Range], ...] = ()


@dataclass(frozen=True)
class Linkage:
    """The party agrees ``issue`` only once ``requires`` is agreed at ``at_least``."""

    issue: str
    requires: str
    at_least: float


@dataclass(frozen=True)
class Party:
    key: str
    name: str
    concession: Range
    patience: Range
    exchange_willingness: Range
    bargaining_power: Range
    momentum: Range
    positions: tuple[tuple[str, Position], ...]
    linkage: tuple[Linkage, ...]
    batna: Range = Range(0.0, 0.0)  # what leaving with nothing is worth (0..1 utility)
    discount_per_hour: Range = Range(0.0, 0.0)  # share of a deal's value lost per hour
    bluff: Range = Range(0.0, 0.0)  # how far its stated positions overstate its own

    def position(self, issue: str) -> Position:
        return dict(self.positions)[issue]


@dataclass(frozen=True)
class Stake:
    """A mediator's own preference on an issue: it prefers values near ``ideal``."""

    issue: str
    ideal: float
    salience: float


@dataclass(frozen=True)
class Lever:
    """A resource the mediator may spend (Touval & Zartman 1985, manipulative
    mediation): ``utility`` added to ``party``'s value of any agreement (a guarantee, a
    side payment, sanctions relief) and ``batna`` added to its value of no agreement (a
    threat: negative), at ``cost`` from the mediator's budget."""

    name: str
    party: int
    utility: float
    batna: float
    cost: float


@dataclass(frozen=True)
class Mediator:
    name: str
    proposal_rule: ProposalRule
    agenda_order: AgendaOrder
    pressure: Range
    credibility: Range
    exploration_minutes: int
    item_minutes: int
    own_items: tuple[str, ...]
    informed: bool = True  # knows every side's red lines and BATNA
    format: Format = Format.DIRECT
    caucuses: int = 0  # rounds of private caucuses with each side after the openings
    caucus_minutes: int = 5
    shuttle_minutes: int = 5  # proximity talks: minutes a revised text takes to carry
    bias: float = 0.0  # weight of its own stakes in its texts
    stakes: tuple[Stake, ...] = ()
    budget: float = 0.0
    levers: tuple[Lever, ...] = ()


@dataclass(frozen=True)
class Information:
    """What each side knows of the others (``docs/scenarios.md``, "Information").

    With ``private`` information each side knows its own red lines and BATNA and holds
    a uniform belief about the others', ``prior_width`` of the issue's span wide (or of
    the utility scale, for a BATNA) and containing the truth; caucus readings carry
    uniform noise of half-width ``caucus_noise`` (same units)."""

    private: bool = False
    prior_width: float = 0.5
    caucus_noise: float = 0.2


@dataclass(frozen=True)
class RoundSettings:
    name: str
    date: str
    deadline_minutes: float
    max_minutes: int
    opening_minutes: Range
    closing_minutes: float
    protocol: Protocol = Protocol.SEQUENTIAL


@dataclass(frozen=True)
class Context:
    third_party_pressure: Range
    concession_noise: float
    walkout_shape: float


@dataclass(frozen=True)
class Shift:
    """A change applied to a parameter after it is drawn (from the scenario's range or
    the posterior): ``value * scale + add``, clipped to the key's allowed range."""

    key: str
    scale: float
    add: float
    why: str
    low: float  # the key's allowed range
    high: float


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: the round, its context, agenda, mediator and parties;
    optionally the posterior its parameters are drawn from and shifts applied to them."""

    path: str
    sha256: str
    round: RoundSettings
    context: Context
    agenda: tuple[str, ...]  # the items the mediator takes, own items included
    mediator: Mediator
    parties: tuple[Party, ...]
    #: every issue the scenario defines (the agenda's and any others), by name
    issues: tuple[IssueSpec, ...] = ()
    events: tuple[EventSpec, ...] = ()
    observed: tuple[Observed, ...] = ()
    information: Information = Information()
    #: every parameter key that can be drawn, with its allowed range
    bounds: tuple[tuple[str, float, float], ...] = ()
    posterior: Posterior | None = None
    shifts: tuple[Shift, ...] = ()

    def issue(self, name: str) -> IssueSpec:
        for spec in self.issues:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def agenda_issues(self) -> tuple[IssueSpec, ...]:
        return tuple(self.issue(name) for name in self.agenda)

    def parameter_sources(self) -> dict:
        """Where this scenario's parameters come from, for manifests and summaries:
        the posterior (if any) and the shifts applied to drawn values."""
        posterior = None if self.posterior is None else {
            "file": self.posterior.path, "sha256": self.posterior.sha256,
            "parameters": list(self.posterior.keys), "particles": len(self.posterior.weights),
            "draws": "one particle per replicate, by weight (draw_id in results)"}
        return {
            "posterior": posterior,
            "shifts": [{"key": s.key, "scale": s.scale, "add": s.add, "why": s.why}
                       for s in self.shifts],
            "other_parameters": "the scenario file's values; [low, high] ranges drawn "
                                "uniformly per replicate",
        }


#: Steps up from a guide table's entry before the searches left bisect
#: (``Posterior.sample``): on the committed posteriors 99.1-100% of searches end within 3.
GUIDED_STEPS = 3


@dataclass(frozen=True)
class Posterior:
    path: str
    sha256: str
    keys: tuple[str, ...]
    particles: np.ndarray  # (particles, parameters), read-only
    weights: np.ndarray  # (particles,), sums to 1, read-only

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
        """``n`` draws (with replacement, by weight): their particle ids and values.

        The ids are ``rng.choice(len(weights), n, p=weights)``'s, bit for bit: numpy
        draws ``rng.random(n)`` and finds each in the weights' cumulative sum
        (``searchsorted``, side right); so does this, but it starts each search where a
        guide table says (Chen and Asau 1974; Devroye 1986, III.2.4) instead of
        bisecting 2,000 particles, a mispredicted branch a step: 0.08 -> 0.02 µs a
        replicate, 2% of the compiled engine's June round (tests/test_posterior_sample.py)."""
        u = rng.random(n)
        cdf, cells, guide, crowd = self._guide
        # the cell of u holds guide[m] <= answer <= guide[m + 1]: step up while the
        # cumulative sum is still <= u (never past the answer, < len(cdf) as u < 1);
        # the few left after GUIDED_STEPS (a cell crowded with light particles) bisect
        ids = guide[(u * cells).astype(np.int64)]
        for _ in range(min(crowd, GUIDED_STEPS)):
            ids += cdf[ids] <= u
        if crowd > GUIDED_STEPS:
            left = np.flatnonzero(cdf[ids] <= u)
            ids[left] = cdf.searchsorted(u[left], side="right")
        return ids, {key: self.particles[ids, j] for j, key in enumerate(self.keys)}

    @cached_property
    def _guide(self) -> tuple[np.ndarray, int, np.ndarray, int]:
        """``(cdf, cells, guide, crowd)``: the cumulative sum as ``Generator.choice``
        makes it (``cumsum``, then divided by its last); ``cells``, a power of two at
        least four times the particles (so that ``u * cells`` and ``m / cells`` are
        exact); ``guide[m]``, how many sums are at most ``m / cells``; ``crowd``, the
        most sums in one cell: the steps a search can take from its guide."""
        cdf = self.weights.cumsum()
        cdf /= cdf[-1]
        cells = 1 << (4 * len(cdf) - 1).bit_length()
        guide = cdf.searchsorted(np.arange(cells + 1) / cells, side="right")
        return cdf, cells, guide, int(np.diff(guide).max())
