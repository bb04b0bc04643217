"""A campaign's row: everything a report needs of it, so that the tally of a chunk is a
function of its rows (``sim.campaign.tally``) and a resumed batch recomputes the
tally of a part done before from the part itself.

One row per campaign, typed by an explicit Arrow schema (so that every part has the
same schema, even one in which no campaign held an event, or none carried out a
stage): ``run_id, seed, chunk, draw_id, rounds_held``, ``round_dates`` (the date of
every round held, in order: a list), then per exchange issue ``X``: ``X_agreed``
(the starting queue and every round's agreement), ``X_implemented`` (carried out by
the last day), ``X_stage_dates`` and ``X_stage_amounts`` (every stage carried out:
lists of equal length); per compound issue on the agenda ``X_level`` (the highest
level agreed in any round); per event of the round scenario ``E_date`` (the first day
it held in a round; missing where it never did); ``walkouts`` (rounds with a
walk-out) and ``trust_P`` per party (at the end).
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sim.campaign.spec import Campaign

EPOCH = dt.date(1970, 1, 1)


class Ended(Protocol):
    """What a chunk's campaigns ended with (``sim.campaign.engine.World``): by
    campaign unless said otherwise."""

    n: int
    parties: tuple[str, ...]
    draw_id: np.ndarray
    rounds: np.ndarray
    held: list[tuple[int, np.ndarray]]  # (day, campaigns) of each day's rounds
    agreed: dict[str, np.ndarray]  # by exchange issue
    done: dict[str, np.ndarray]
    stages: dict[str, list[tuple[int, np.ndarray, np.ndarray]]]  # (day, campaigns, amounts)
    level: dict[str, np.ndarray]  # by compound issue
    event_day: dict[str, np.ndarray]  # by event: first day it held, -1 where none
    walkouts: np.ndarray
    trust: np.ndarray  # (campaigns, parties)


def _origin(campaign: Campaign) -> int:
    """The start date as days since 1970-01-01 (Arrow's date32)."""
    return (campaign.start - EPOCH).days


def _dates(days: np.ndarray, origin: int) -> pa.Array:
    """Day offsets from the start as dates; -1 is missing."""
    return pa.array((days + origin).astype(np.int32), type=pa.date32(), mask=days < 0)


def _lists(rows: np.ndarray, values: pa.Array, n: int) -> pa.ListArray:
    """A list per campaign of ``values`` (sorted by campaign, each campaign's in order),
    ``rows`` the campaign of each."""
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=n), out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), values)


def _by_campaign(events: list[tuple[int, np.ndarray, np.ndarray | None]]
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(day, campaigns, amounts)`` records in day order, as flat arrays (campaign,
    day, amount) sorted by campaign (stably: each campaign's stay in day order)."""
    if not events:
        return (np.zeros(0, dtype=np.int64),) * 3
    rows = np.concatenate([r for _, r, _ in events])
    days = np.concatenate([np.full(r.size, d) for d, r, _ in events])
    amounts = np.concatenate([np.zeros(r.size) if a is None else a for _, r, a in events])
    order = np.argsort(rows, kind="stable")
    return rows[order], days[order], amounts[order]


def campaign_table(campaign: Campaign, world: Ended, seed: int, chunk: int,
                   first: int) -> pa.Table:
    """The rows of a chunk's campaigns, from the state its world ended in."""
    n, origin = world.n, _origin(campaign)
    columns: dict[str, pa.Array] = {
        "run_id": pa.array(np.arange(first, first + n, dtype=np.int64)),
        "seed": pa.array(np.full(n, seed, dtype=np.int64)),
        "chunk": pa.array(np.full(n, chunk, dtype=np.int64)),
        "draw_id": pa.array(np.asarray(world.draw_id, dtype=np.int64)),
        "rounds_held": pa.array(world.rounds.astype(np.int64)),
    }
    rows, days, _ = _by_campaign([(d, r, None) for d, r in world.held])
    columns["round_dates"] = _lists(rows, _dates(days, origin), n)
    for issue in campaign.exchanges:
        columns[f"{issue}_agreed"] = pa.array(world.agreed[issue].astype(np.int64))
        columns[f"{issue}_implemented"] = pa.array(world.done[issue].astype(np.int64))
        rows, days, amounts = _by_campaign(world.stages[issue])
        columns[f"{issue}_stage_dates"] = _lists(rows, _dates(days, origin), n)
        columns[f"{issue}_stage_amounts"] = _lists(rows, pa.array(amounts.astype(np.int64)),
                                                   n)
    for issue, level in world.level.items():
        columns[f"{issue}_level"] = pa.array(level.astype(np.int64))
    for name, day in world.event_day.items():
        columns[f"{name}_date"] = _dates(day, origin)
    columns["walkouts"] = pa.array(world.walkouts.astype(np.int64))
    for p, party in enumerate(world.parties):
        columns[f"trust_{party}"] = pa.array(world.trust[:, p].astype(np.float64))
    return pa.table(columns)  # in the order of Campaign.columns (tested)


def day_offsets(dates: pa.Array | pa.ChunkedArray, campaign: Campaign) -> np.ndarray:
    """Dates of a campaign's columns as days from its start; missing as -1."""
    days = pc.subtract(pc.cast(dates, pa.int32()), _origin(campaign))
    return np.asarray(pc.fill_null(days, -1).to_numpy(zero_copy_only=False), dtype=np.int64)


def list_parts(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, pa.Array]:
    """A list column as (campaign of each value, its place in the campaign's list,
    the values)."""
    lists = column.combine_chunks()
    offsets = lists.offsets.to_numpy()
    counts = np.diff(offsets)
    rows = np.repeat(np.arange(counts.size), counts)
    place = np.arange(rows.size) - np.repeat(offsets[:-1], counts)
    return rows, place, lists.flatten()
