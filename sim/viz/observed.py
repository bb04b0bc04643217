"""What was reported of the Istanbul rounds, to mark on the outcome distributions.

From ``../shared/reference/reported-rounds.md``, which names a source for each line.
Only outcomes of the rounds themselves are listed: the 909/34 bodies repatriated on
16 May were handed over outside the talks, so no remains are marked for round 1.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Observation:
    """One reported outcome: a value (``low == high``) or a reported range."""

    round: str
    column: str  # the results column it is comparable with
    low: float
    high: float
    reported: str
    source: str


ROUNDS = ("16 May", "2 June")

OBSERVED: tuple[Observation, ...] = (
    Observation("16 May", "pow_exchange_per_side", 1000, 1000, "1,000 for 1,000",
                "both heads of delegation"),
    Observation("16 May", "duration_minutes", 90, 120, "90-120 minutes",
                "Daily Sabah; Al Jazeera; Xinhua, 16 May 2025"),
    Observation("2 June", "pow_exchange_per_side", 1000, 1200,
                "at least 1,000 per side, about 1,200", "UNN; Medinsky's report (RU-state)"),
    Observation("2 June", "remains_transferred", 6000, 6000, "6,000 for 6,000",
                "seed article; euromaidanpress, 16 June 2025"),
    Observation("2 June", "duration_minutes", 60, 70, "about an hour",
                "seed article ('barely an hour'); UNN ('just over an hour')"),
)


def observed_for(column: str) -> tuple[Observation, ...]:
    """The reported outcomes comparable with a results column."""
    return tuple(o for o in OBSERVED if o.column == column)
