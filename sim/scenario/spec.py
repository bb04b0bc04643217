"""What a scenario is: frozen dataclasses, validated by the loader (``sim.scenario.load``)
and read by the model. Nothing here reads a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from sim.errors import InputError


class ScenarioError(InputError):
    """A scenario file that cannot be used: says which file, which key, and why."""


class ProposalRule(StrEnum):
    """How the mediator drafts a compromise text (``rules`` names the sources)."""

    NASH = "nash"
    SPLIT_DIFFERENCE = "split_difference"


class AgendaOrder(StrEnum):
    """In what order the mediator takes the items."""

    AS_LISTED = "as_listed"
    EASIEST_FIRST = "easiest_first"  # widest zone of agreement first (incrementalism)


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

    For the ceasefire, ``ideal``/``red_line`` are levels and the ``conditions_*``
    fields the conditions it attaches: ``conditions_red_line`` for a general ceasefire
    (levels 2-3), ``pause_conditions_red_line`` for a local pause (level 1).
    """

    wants: int
    ideal: Range
    red_line: Range
    salience: Range
    conditions_wants: int = 0
    conditions_ideal: Range | None = None
    conditions_red_line: Range | None = None
    pause_conditions_red_line: Range | None = None


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

    def position(self, issue: str) -> Position:
        return dict(self.positions)[issue]


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


@dataclass(frozen=True)
class RoundSettings:
    name: str
    date: str
    deadline_minutes: float
    max_minutes: int
    opening_minutes: Range
    closing_minutes: float


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
    #: every parameter key that can be drawn, with its allowed range
    bounds: tuple[tuple[str, float, float], ...] = ()
    posterior: Posterior | None = None
    shifts: tuple[Shift, ...] = ()

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


@dataclass(frozen=True)
class Posterior:
    path: str
    sha256: str
    keys: tuple[str, ...]
    particles: np.ndarray  # (particles, parameters), read-only
    weights: np.ndarray  # (particles,), sums to 1, read-only

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
        """``n`` draws (with replacement, by weight): their particle ids and values."""
        ids = rng.choice(len(self.weights), size=n, p=self.weights)
        return ids, {key: self.particles[ids, j] for j, key in enumerate(self.keys)}
