"""The agenda: which issues a round can negotiate, their kinds, scales and lattices.

Every issue is negotiated as one number on a bounded scale. Agreements land on the
issue's lattice (multiples of ``step``): delegations agree round numbers ("1,000 for
1,000", "6,000 for 6,000"), and ordinal issues have only their levels.

The ceasefire is two-dimensional in DESIGN.md (a level 0-3 and the conditions 0-1
attached). The level is chosen by the mediator among the levels both sides' red lines
admit; the conditions at that level are the number bargained over (see
``rules.ceasefire_level``). Its lattice here is the conditions' lattice.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class IssueKind(StrEnum):
    """How an issue's number is read."""

    COUNT = "count"  # people or bodies per side
    ORDINAL = "ordinal"  # ordered levels 0..max
    BINARY = "binary"  # 0 no, 1 yes
    CEASEFIRE = "ceasefire"  # level chosen by the mediator, conditions bargained


class Domain(StrEnum):
    """What kind of stake an issue is; it decides which of a delegation's dispositions
    moves its red line in a round (``rules.effective_red_line``)."""

    HUMANITARIAN = "humanitarian"  # people released: exchange willingness applies
    MILITARY = "military"  # the fighting itself: battlefield momentum applies
    PROCEDURAL = "procedural"  # the process: red lines as declared


@dataclass(frozen=True)
class IssueSpec:
    """One agenda issue: its scale ``[0, maximum]``, lattice ``step``, kind and domain."""

    name: str
    kind: IssueKind
    maximum: float
    step: float
    domain: Domain
    meaning: str


ISSUES: dict[str, IssueSpec] = {
    spec.name: spec
    for spec in (
        IssueSpec(
            "ceasefire",
            IssueKind.CEASEFIRE,
            1.0,
            0.05,
            Domain.MILITARY,
            "level 0 none, 1 local humanitarian pause, 2 time-limited general ceasefire, "
            "3 full ceasefire; bargained over the conditions attached (0 none .. 1 the "
            "full set of one side's demands)",
        ),
        IssueSpec(
            "pow_exchange",
            IssueKind.COUNT,
            20_000,
            100,
            Domain.HUMANITARIAN,
            "prisoners of war per side",
        ),
        IssueSpec(
            "remains", IssueKind.COUNT, 20_000, 1_000, Domain.HUMANITARIAN, "bodies repatriated"
        ),
        IssueSpec(
            "children",
            IssueKind.ORDINAL,
            2,
            1,
            Domain.HUMANITARIAN,
            "0 nothing, 1 list accepted for review, 2 return of named children agreed",
        ),
        IssueSpec(
            "memorandum",
            IssueKind.ORDINAL,
            2,
            1,
            Domain.PROCEDURAL,
            "0 none, 1 one side hands its written conditions, 2 exchanged",
        ),
        IssueSpec(
            "next_round", IssueKind.BINARY, 1, 1, Domain.PROCEDURAL, "a next round agreed"
        ),
        IssueSpec(
            "leaders_meeting",
            IssueKind.BINARY,
            1,
            1,
            Domain.PROCEDURAL,
            "a leaders' meeting agreed",
        ),
    )
}

ISSUE_NAMES: tuple[str, ...] = tuple(ISSUES)

CEASEFIRE_LEVELS = 3  # levels 1..3 can be agreed; 0 is "no ceasefire"

#: Outcome columns of ``results.parquet`` and their types (names fixed: other tools
#: read them); after them come ``agreed_minute_<issue>`` (float) for each issue.
OUTCOME_DTYPES: dict[str, str] = {
    "ceasefire_level": "int8",
    "ceasefire_conditions": "float64",
    "pow_exchange_per_side": "int64",
    "remains_transferred": "int64",
    "children_commitment": "int8",
    "memorandum": "int8",
    "next_round_agreed": "bool",
    "leaders_meeting_agreed": "bool",
    "duration_minutes": "float64",
    "walkout": "bool",
    "walkout_party": "str",
}
OUTCOME_COLUMNS: tuple[str, ...] = tuple(OUTCOME_DTYPES)

#: How an issue is named in sentences.
ISSUE_LABELS = {
    "ceasefire": "ceasefire",
    "pow_exchange": "prisoner exchange",
    "remains": "remains",
    "children": "children",
    "memorandum": "memorandum",
    "next_round": "next round",
    "leaders_meeting": "leaders' meeting",
}


def issue_label(issue: str) -> str:
    return ISSUE_LABELS.get(issue, issue.replace("_", " "))
