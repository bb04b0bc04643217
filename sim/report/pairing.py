"""Are two batches' rounds paired? And, where they are, the paired 2x2 count of every
event.

Two batches run with the same seed and chunk size draw every replicate from the same
random streams (``sim.batch.chunks``): round ``run_id`` of one and round ``run_id``
of the other share their posterior particle (``draw_id``) and every other draw made
in the same order — common random numbers. Their outcomes are then correlated, and
the difference of two event probabilities needs the interval for paired proportions
(``sim.stats.intervals.newcombe_paired_interval``), not the one for independent
samples.

Pairing is read from the data, never assumed: the batches must have the same seed and
the same number of rounds, and, row by row in run order, the same ``run_id``,
``seed``, ``chunk`` and ``draw_id``. The rows are read part by part (a batch may hold
millions of rounds) and only the 2x2 counts are kept: for each event, the rounds in
which both batches had it, only the first, only the second, neither.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from sim.batch.results import ResultsError, result_files
from sim.stats.summary import Measures, event_columns

#: The columns that say which random numbers a round drew.
ID_COLUMNS = ("run_id", "seed", "chunk", "draw_id")

#: Rows read from a Parquet file at a time.
BATCH_ROWS = 65_536

#: A source of a batch's rounds: a fresh iterator over tables of the ``ID_COLUMNS`` and
#: one boolean column per event, in run order.
Rows = Callable[[], Iterator[pd.DataFrame]]


@dataclass(frozen=True)
class Pairing:
    """Whether two batches are paired round by round, why (or why not) in words, and
    where they are, each event's 2x2 count ``(both, first only, second only,
    neither)``."""

    paired: bool
    reason: str
    tables: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)


def event_rows(frame: pd.DataFrame, measures: Measures) -> pd.DataFrame:
    """A results table reduced to what pairing reads: the ids (those present) and each
    of the scenario's events as a boolean column."""
    ids = frame[[c for c in ID_COLUMNS if c in frame.columns]].reset_index(drop=True)
    return pd.concat([ids, pd.DataFrame(event_columns(frame, measures))], axis=1)


def frame_rows(frame: pd.DataFrame, measures: Measures) -> Rows:
    """A table of rounds held in memory (a scenario run by ``negsim compare``)."""
    reduced = event_rows(frame, measures)

    def rows() -> Iterator[pd.DataFrame]:
        yield reduced

    return rows


def folder_rows(folder: Path, measures: Measures) -> Rows:
    """The rounds of a results folder, read part by part, ``BATCH_ROWS`` at a time
    (only the ids and the columns the events read)."""
    files = result_files(folder)
    wanted = (*ID_COLUMNS, *measures.event_inputs)

    def rows() -> Iterator[pd.DataFrame]:
        for file in files:
            try:
                parquet = pq.ParquetFile(file)
                columns = [c for c in wanted if c in parquet.schema_arrow.names]
                for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=columns):
                    yield event_rows(batch.to_pandas(), measures)
            except (OSError, ValueError) as error:
                raise ResultsError(f"{file}: not a readable Parquet file ({error})") from None

    return rows


def aligned(first: Iterator[pd.DataFrame], second: Iterator[pd.DataFrame]
            ) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """Both streams cut into pieces of equal length, in order (their tables may be cut
    differently); the longer stream's rest comes last, against an empty table."""
    a = b = None
    while True:
        if a is None or a.empty:
            a = next(first, None)
        if b is None or b.empty:
            b = next(second, None)
        if a is None or b is None:
            rest = a if a is not None else b
            if rest is not None and not rest.empty:
                yield (rest, rest.iloc[:0]) if b is None else (rest.iloc[:0], rest)
            return
        if a.empty or b.empty:
            continue
        k = min(len(a), len(b))
        yield a.iloc[:k], b.iloc[:k]
        a, b = a.iloc[k:], b.iloc[k:]


def pair(first: dict, second: dict, first_rows: Rows, second_rows: Rows) -> Pairing:
    """Whether the batches of ``first`` and ``second`` (their summaries) are paired
    round by round, and if so every event's paired 2x2 count."""
    if first["seed"] != second["seed"]:
        return Pairing(False, f"not paired: different seeds ({first['seed']} and "
                       f"{second['seed']})")
    if first["runs"] != second["runs"]:
        return Pairing(False, f"not paired: different numbers of rounds "
                       f"({first['runs']:,} and {second['runs']:,})")
    names = [name for name in first["events"] if name in second["events"]]
    counts = {name: np.zeros(4, dtype=np.int64) for name in names}
    rows = 0
    shared_draws = False
    for a, b in aligned(first_rows(), second_rows()):
        if len(a) != len(b):
            return Pairing(False, "not paired: different numbers of rounds in the results")
        for column in ID_COLUMNS:
            if column not in a.columns or column not in b.columns:
                return Pairing(False, f"not paired: the results do not record {column}")
            differ = a[column].to_numpy() != b[column].to_numpy()
            if differ.any():
                at = int(a["run_id"].iloc[int(np.argmax(differ))])
                what = "chunk size" if column == "chunk" else column
                return Pairing(False, f"not paired: {what} differs from run {at:,} on")
        shared_draws |= bool((a["draw_id"].to_numpy() >= 0).any())
        for name in names:
            x, y = a[name].to_numpy(), b[name].to_numpy()
            counts[name] += [np.count_nonzero(x & y), np.count_nonzero(x & ~y),
                             np.count_nonzero(~x & y), np.count_nonzero(~x & ~y)]
        rows += len(a)
    if rows == 0:
        return Pairing(False, "not paired: no rounds in the results")
    for name, (both, first_only, second_only, _) in counts.items():
        if (both + first_only != first["events"][name]["count"]
                or both + second_only != second["events"][name]["count"]):
            return Pairing(False, f"not paired: the results do not give the summary's count "
                           f"of {name}")
    draws = "posterior draw" if shared_draws else "random draws"
    reason = (f"paired: the same seed ({first['seed']}), chunk and {draws} in each of the "
              f"{rows:,} rounds")
    return Pairing(True, reason, {name: tuple(int(v) for v in c) for name, c in counts.items()})
