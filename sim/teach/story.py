"""What every part of the narrated trace shares: the ``Event`` it tells, and the
``Story`` it tells it from — the recorded round, whether the sides' red lines and
BATNAs are private, and the mediator's picture when the talks open.

With private information (``[information] private`` and a prior wider than nothing)
the narration tells only what the table could know — stated offers and demands, the
mediator's texts, the sides' answers and what they say, the mediator's and the sides'
beliefs — and keeps every side's true red lines, BATNA and bluff for the final
section, "What each side really held" (``sim.teach.trace_minds.held_events``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.model.beliefs import believed
from sim.model.parameters import RoundSetup
from sim.model.round import NegotiationRound
from sim.scenario.spec import Format, IssueSpec
from sim.teach.wording import plain_json


@dataclass(frozen=True)
class Event:
    """Something that happened in minutes ``minute`` .. ``until`` (inclusive).

    ``kind`` names it (``sim.teach.trace`` lists the kinds); ``text`` says it in plain
    language; ``data`` holds the numbers."""

    kind: str
    minute: int
    until: int
    item: str | None
    text: str
    data: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        """The event as plain JSON (NaN as null)."""
        return plain_json({"kind": self.kind, "minute": self.minute, "until": self.until,
                           "item": self.item, "text": self.text} | self.data)


def has_private_information(setup: RoundSetup) -> bool:
    """Whether anyone at the table is unsure of another's red lines or BATNA (replicate
    0): every belief interval of a round with public information is the truth."""
    return bool(np.any(setup.party_lo[0]) or np.any(setup.party_hi[0])
                or np.any(setup.mediator_lo[0]) or np.any(setup.mediator_hi[0])
                or np.any(setup.mediator_batna_lo[0]) or np.any(setup.mediator_batna_hi[0]))


@dataclass(frozen=True)
class Answer:
    """A side's answer to the mediator's text and why, the acceptance rule read
    backwards. ``code``: accepts, outside_red_line (item) or objects (package: the
    text is past its red line on ``issues``), below_batna, below_aspiration (item) or
    short (package: worth less than it still needs), linkage, or no_text."""

    code: str
    accepted: bool
    gap: float = 0.0  # how far the text falls short (issue units, or utility)
    reference: float = float("nan")  # the limit or aspiration it falls short of
    tolerance: float = 0.0  # what it concedes to a mediator's text
    requires: str | None = None
    at_least: float = 0.0
    value: float = float("nan")  # a package's utility to it
    demand: float = float("nan")  # what it says it still needs (package)
    issues: tuple[str, ...] = ()  # where the text is past its red line (package)

    def to_json(self, party: str, private: bool) -> dict:
        """The answer's numbers; with private information none that would tell a red
        line, a BATNA or an aspiration (those are in the final section)."""
        out: dict = {"party": party, "answer": self.code, "accepted": self.accepted}
        if not np.isnan(self.value):
            out["value"] = self.value
        if not np.isnan(self.demand):
            out["demand"] = self.demand
        if self.issues:
            out["issues"] = list(self.issues)
        if self.code == "linkage":
            out |= {"requires": self.requires, "at_least": self.at_least}
        if not private and self.code in ("outside_red_line", "below_batna",
                                         "below_aspiration", "short"):
            out |= {"short_by": self.gap, "of": self.reference}
            if self.code in ("below_aspiration", "short"):
                out["tolerance"] = self.tolerance
        return out


@dataclass(frozen=True)
class Story:
    """The round told: replicate 0 of a recorded ``NegotiationRound``.

    ``picture`` is the mediator's picture when the talks open (after its caucuses and
    the levers it spent: ``sim.model.beliefs.believed``); ``learning`` whether the sides
    learn from one another's offers and accepted texts as the engine lets them (a BATNA
    to weigh, an uninformed table, direct talks)."""

    model: NegotiationRound
    private: bool
    picture: dict
    lever_names: tuple[str, ...]

    @classmethod
    def of(cls, model: NegotiationRound, lever_names: tuple[str, ...] = ()) -> Story:
        setup = model.setup
        picture = believed(setup, model.bonus, model.batna_shift)
        return cls(model, has_private_information(setup), picture, tuple(lever_names))

    @property
    def setup(self) -> RoundSetup:
        return self.model.setup

    @property
    def names(self) -> tuple[str, ...]:
        return self.setup.party_names

    @property
    def mediator(self) -> str:
        return self.setup.mediator_name

    @property
    def learning(self) -> bool:
        setup = self.setup
        return bool(self.model.weighing and not setup.informed
                    and setup.format is Format.DIRECT)

    @property
    def reserve(self) -> np.ndarray:
        """(P,) the least utility each side takes from a deal: its BATNA less what the
        mediator's levers add (``rules.reservation``)."""
        return self.model.reserve[0]

    def spec(self, item: int) -> IssueSpec:
        return self.setup.specs[item]

    def lever_name(self, k: int) -> str:
        return self.lever_names[k] if k < len(self.lever_names) else f"lever {k + 1}"
