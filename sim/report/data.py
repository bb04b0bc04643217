"""A results folder as the report layer reads it: summary, outcome counts, scenario.

``negsim run`` writes ``summary.json`` and the per-round results into a folder; the
results are either one file ``results.parquet`` or a folder of Parquet parts
(``results/``, one part per chunk). ``load_results`` reads either into one table.

The figures need no table: every outcome they draw is discrete (agreements lie on
their issue's lattice, minutes are whole), so each is kept as exact counts of its
distinct values (``Counts``). ``load_outcomes`` streams the parts one at a time into
those counts, so a batch of millions of rounds is drawn in constant memory, and the
counts of parts add up to the counts of the whole.
Problems with the folder raise ``ResultsError`` (one line naming the file).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from sim.agenda import ISSUE_NAMES
from sim.scenario import Scenario
from sim.summary import EVENTS, QUANTITIES

SUMMARY = "summary.json"
MANIFEST = "manifest.json"
RESULT_PATHS = ("results.parquet", "results")

#: Issue -> the results column holding the value agreed on it.
AGREED_VALUE_COLUMN = {
    "ceasefire": "ceasefire_conditions",
    "pow_exchange": "pow_exchange_per_side",
    "remains": "remains_transferred",
    "children": "children_commitment",
    "memorandum": "memorandum",
    "next_round": "next_round_agreed",
    "leaders_meeting": "leaders_meeting_agreed",
}

#: The results columns the figures read (the rest stay on disk).
FIGURE_COLUMNS = tuple(dict.fromkeys(
    (*AGREED_VALUE_COLUMN.values(), *QUANTITIES,
     *(f"agreed_minute_{issue}" for issue in ISSUE_NAMES))))


class ResultsError(ValueError):
    """A results folder that cannot be reported on; the message names the file."""


@dataclass(frozen=True)
class Counts:
    """How often each distinct value occurred: sorted ``values``, their ``counts``."""

    values: np.ndarray
    counts: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray) -> Counts:
        distinct, counts = np.unique(np.asarray(values, dtype=float), return_counts=True)
        return cls(distinct, counts.astype(np.int64))

    def __add__(self, other: Counts) -> Counts:
        values = np.concatenate([self.values, other.values])
        distinct, where = np.unique(values, return_inverse=True)
        counts = np.zeros(distinct.size, dtype=np.int64)
        np.add.at(counts, where, np.concatenate([self.counts, other.counts]))
        return Counts(distinct, counts)

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    def mean(self) -> float:
        return float(np.average(self.values, weights=self.counts))

    def var(self) -> float:
        """Sample variance (``ddof=1``)."""
        deviation = self.values - self.mean()
        return float((self.counts * deviation**2).sum() / (self.n - 1))

    def at_most(self, thresholds: np.ndarray) -> np.ndarray:
        """How many values are <= each threshold (the cumulative count)."""
        cumulative = np.concatenate([[0], np.cumsum(self.counts)])
        return cumulative[np.searchsorted(self.values, thresholds, side="right")]


def _agreed_mask(frame: pd.DataFrame, issue: str) -> np.ndarray:
    """Rounds that agreed ``issue``: from ``agreed_minute_<issue>``, or, in results
    that predate that column, from a value above zero."""
    minute = f"agreed_minute_{issue}"
    if minute in frame.columns:
        return frame[minute].notna().to_numpy()
    return np.nan_to_num(frame[AGREED_VALUE_COLUMN[issue]].to_numpy(dtype=float)) > 0


def count_outcomes(frame: pd.DataFrame) -> dict[str, Counts]:
    """The counts the figures draw, from a table of rounds:

    - ``<quantity>`` for each of ``summary.QUANTITIES``, counted as the summary counts
      it (counts of people only where agreed);
    - ``agreed_value_<issue>`` and ``agreed_minute_<issue>``: the value agreed and the
      minute it was agreed, over the rounds that agreed the issue.
    """
    counts = {}
    for column, (_, only_agreed) in QUANTITIES.items():
        values = frame[column].to_numpy(dtype=float)
        counts[column] = Counts.of(values[values > 0] if only_agreed else
                                   values[~np.isnan(values)])
    for issue, column in AGREED_VALUE_COLUMN.items():
        if column not in frame.columns:
            continue
        agreed = _agreed_mask(frame, issue)
        counts[f"agreed_value_{issue}"] = Counts.of(frame.loc[agreed, column])
        minute = f"agreed_minute_{issue}"
        if minute in frame.columns:
            counts[minute] = Counts.of(frame.loc[agreed, minute])
    return counts


def add_counts(a: dict[str, Counts], b: dict[str, Counts]) -> dict[str, Counts]:
    return {key: a[key] + b[key] if key in a and key in b else a.get(key, b.get(key))
            for key in a | b}


@dataclass(frozen=True)
class RunResults:
    """One batch: its ``summary.json``, the counts of its outcomes over ``rows`` rounds
    and, where known, its scenario and folder."""

    summary: dict
    outcomes: dict[str, Counts]
    rows: int
    scenario: Scenario | None = None
    folder: Path | None = None

    @classmethod
    def of_frame(cls, summary: dict, frame: pd.DataFrame, scenario: Scenario | None = None,
                 folder: Path | None = None) -> RunResults:
        """From a results table in memory (a notebook, ``negsim compare``, tests)."""
        return cls(summary, count_outcomes(frame), len(frame), scenario, folder)

    @property
    def name(self) -> str:
        return self.summary["scenario"]

    @property
    def runs(self) -> int:
        return int(self.summary["runs"])

    @property
    def agenda(self) -> tuple[str, ...]:
        """The round's agenda: the scenario's, else the issues whose events the summary
        marks as on the agenda."""
        if self.scenario is not None:
            return self.scenario.agenda
        return agenda_from_summary(self.summary)

    def quantity(self, column: str) -> Counts:
        return self.outcomes[column]

    def agreed_values(self, issue: str) -> Counts:
        """The values agreed on ``issue`` (over the rounds that agreed it)."""
        return self.outcomes.get(f"agreed_value_{issue}", Counts.of(np.empty(0)))

    def agreed_share(self, issue: str) -> float:
        """Share of rounds that agreed ``issue``."""
        return self.agreed_values(issue).n / max(self.rows, 1)

    def agreed_by(self, issue: str, minutes: np.ndarray) -> np.ndarray | None:
        """Share of rounds with ``issue`` agreed by the end of each minute (None where
        the results do not record when)."""
        counts = self.outcomes.get(f"agreed_minute_{issue}")
        return None if counts is None else counts.at_most(minutes) / max(self.rows, 1)


def agenda_from_summary(summary: dict) -> tuple[str, ...]:
    """Issues on the agenda, as far as ``summary.json`` tells (in the agenda module's
    order: the summary does not record the mediator's order)."""
    on = {EVENTS[name][2] for name, event in summary["events"].items()
          if name in EVENTS and event.get("on_agenda") and EVENTS[name][2]}
    return tuple(issue for issue in ISSUE_NAMES if issue in on)


def load_summary(folder: Path) -> dict:
    """``folder/summary.json``, checked to have what the report reads."""
    path = folder / SUMMARY
    if not folder.is_dir():
        raise ResultsError(f"{folder}: no such results folder")
    try:
        summary = json.loads(path.read_text())
    except FileNotFoundError:
        raise ResultsError(f"{path}: missing; make it with `negsim run SCENARIO --out "
                           f"{folder}`") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ResultsError(f"{path}: not a readable summary ({error})") from None
    missing = [key for key in ("scenario", "runs", "seed", "events", "quantiles")
               if not isinstance(summary, dict) or key not in summary]
    if missing:
        raise ResultsError(f"{path}: not the summary of a negsim run (no "
                           f"{', '.join(missing)})")
    return summary


def result_files(folder: Path) -> list[Path]:
    """The Parquet files of a folder's results: ``results.parquet``, or the parts in
    ``results/`` (in name order, which is chunk order)."""
    for name in RESULT_PATHS:
        path = Path(folder) / name
        if path.is_file():
            return [path]
        if path.is_dir():
            files = sorted(f for f in path.rglob("*.parquet")
                           if not f.name.startswith((".", "_")))
            if not files:
                raise ResultsError(f"{path}: a results folder with no Parquet parts")
            return files
    raise ResultsError(f"{folder}: no results.parquet (nor a results/ folder of Parquet "
                       "parts) beside summary.json")


def _read(file: Path, columns: tuple[str, ...] | None) -> pd.DataFrame:
    """One Parquet file, only ``columns`` where given (those it lacks are left out)."""
    try:
        present = pq.read_schema(file).names
        wanted = present if columns is None else [c for c in columns if c in present]
        return pq.read_table(file, columns=wanted).to_pandas()
    except (OSError, ValueError) as error:
        raise ResultsError(f"{file}: not a readable Parquet file ({error})") from None


def load_results(folder: str | Path, columns: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The per-round results of a folder as one table in run-id order, from a single
    ``results.parquet`` or a folder of parts."""
    wanted = None if columns is None else tuple(dict.fromkeys(("run_id", *columns)))
    parts = [_read(file, wanted) for file in result_files(Path(folder))]
    results = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    if "run_id" in results.columns and len(parts) > 1:
        results = results.sort_values("run_id", kind="stable", ignore_index=True)
    return results


def load_outcomes(folder: str | Path) -> tuple[dict[str, Counts], int]:
    """The outcome counts of a folder's results and how many rounds they count, read
    one part at a time."""
    total: dict[str, Counts] = {}
    rows = 0
    for file in result_files(Path(folder)):
        part = _read(file, FIGURE_COLUMNS)
        total = add_counts(total, count_outcomes(part))
        rows += len(part)
    return total, rows


def read_manifest(folder: Path | None) -> dict:
    """``manifest.json`` of a results folder (what the batch was: seed, hashes of the
    scenario and posterior, versions); empty where there is none or it is unreadable
    (the report then says less, it does not fail)."""
    if folder is None or not (folder / MANIFEST).is_file():
        return {}
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return manifest if isinstance(manifest, dict) else {}
