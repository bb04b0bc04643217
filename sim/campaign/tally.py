"""What a campaign report needs, as exact counts summable over chunks.

``CampaignTally.of`` computes a chunk's tally from its rows alone
(``sim.campaign.rows``): a fresh chunk and a part read back on ``--resume`` give the
same tally, and the tallies of any split of a batch into chunks sum to the same
counts (so the summary does not depend on the chunks' order or where they ran).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from sim.campaign.rows import day_offsets, list_parts
from sim.campaign.spec import Campaign


def counts(values: np.ndarray) -> dict[int, int]:
    """``{value: how many}`` of whole numbers."""
    keys, number = np.unique(values, return_counts=True)
    return {int(k): int(c) for k, c in zip(keys, number, strict=True)}


@dataclass
class CampaignTally:
    """Counts over campaigns: rounds held; per round ``k`` (every round held), how many
    met on each day; per event, how many had seen it hold by each day (cumulative);
    per exchange issue and day, how many had carried out each amount by then."""

    days: int
    campaigns: int = 0
    rounds_held: dict[int, int] = field(default_factory=dict)
    round_day: list[dict[int, int]] = field(default_factory=list)  # per round k: day -> n
    events_by_day: dict[str, np.ndarray] = field(default_factory=dict)  # cumulative counts
    implemented: dict[str, list[dict[int, int]]] = field(default_factory=dict)  # day -> value

    @classmethod
    def of(cls, rows: pa.Table, campaign: Campaign) -> CampaignTally:
        """The tally of a chunk's rows."""
        days = campaign.days
        tally = cls(days=days, campaigns=rows.num_rows)
        tally.rounds_held = counts(rows["rounds_held"].to_numpy())
        _, place, dates = list_parts(rows["round_dates"])
        met = day_offsets(dates, campaign)
        tally.round_day = [counts(met[place == k]) for k in range(int(place.max(initial=-1)) + 1)]
        for event in campaign.round_scenario.events:
            first = day_offsets(rows[f"{event.name}_date"], campaign)
            per_day = np.bincount(first[first >= 0], minlength=days)
            tally.events_by_day[event.name] = np.cumsum(per_day)
        for issue in campaign.exchanges:
            stage_rows, _, dates = list_parts(rows[f"{issue}_stage_dates"])
            _, _, amounts = list_parts(rows[f"{issue}_stage_amounts"])
            carried = np.zeros((rows.num_rows, days), dtype=np.int64)
            np.add.at(carried, (stage_rows, day_offsets(dates, campaign)),
                      amounts.to_numpy())
            cumulative = np.cumsum(carried, axis=1)
            tally.implemented[issue] = [counts(cumulative[:, d]) for d in range(days)]
        return tally

    def add(self, other: CampaignTally) -> None:
        self.campaigns += other.campaigns
        for k, v in other.rounds_held.items():
            self.rounds_held[k] = self.rounds_held.get(k, 0) + v
        while len(self.round_day) < len(other.round_day):
            self.round_day.append({})
        for mine, theirs in zip(self.round_day, other.round_day, strict=False):
            for d, v in theirs.items():
                mine[d] = mine.get(d, 0) + v
        for name, theirs in other.events_by_day.items():
            mine = self.events_by_day.get(name)
            self.events_by_day[name] = theirs.copy() if mine is None else mine + theirs
        for issue, per_day in other.implemented.items():
            mine = self.implemented.setdefault(issue, [{} for _ in range(self.days)])
            for day, tallied in enumerate(per_day):
                for value, v in tallied.items():
                    mine[day][value] = mine[day].get(value, 0) + v
