"""A results folder as the report layer reads it: summary, outcome counts, scenario.

``negsim run`` writes ``summary.json`` and the per-round results into a folder; the
results are either one file ``results.parquet`` or a folder of Parquet parts
(``results/``, one part per chunk). ``load_results`` reads either into one table.

The figures need no table: every outcome they draw is discrete (agreements lie on
their issue's lattice, minutes are whole), so each is kept as exact counts of its
distinct values (``sim.stats.tally.ExactHistogram``, the batch's own). ``load_outcomes``
streams the parts one at a time into those counts, so a batch of millions of rounds
is drawn in constant memory, and the counts of parts add up to those of the whole.
Problems with the folder raise ``ResultsError`` (one line naming the file).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from sim.scenario.events import evaluate
from sim.scenario.spec import Scenario
from sim.stats.summary import quantity_values
from sim.stats.tally import ExactHistogram

SUMMARY = "summary.json"
MANIFEST = "manifest.json"
RESULT_PATHS = ("results.parquet", "results")


class ResultsError(ValueError):
    """A results folder that cannot be reported on; the message names the file."""


def histogram_of(values: np.ndarray) -> ExactHistogram:
    """Exact counts of the distinct values of an array (the tally's histogram)."""
    histogram = ExactHistogram()
    histogram.add(np.asarray(values, dtype=float))
    return histogram


def mean(histogram: ExactHistogram) -> float:
    return float(np.average(histogram.values, weights=histogram.counts))


def variance(histogram: ExactHistogram) -> float:
    """Sample variance (``ddof=1``) of the values counted."""
    deviation = histogram.values - mean(histogram)
    return float((histogram.counts * deviation**2).sum() / (histogram.n - 1))


def count_at_most(histogram: ExactHistogram, thresholds: np.ndarray) -> np.ndarray:
    """How many values counted are <= each threshold (the cumulative count)."""
    cumulative = np.concatenate([[0], np.cumsum(histogram.counts)])
    return cumulative[np.searchsorted(histogram.values, thresholds, side="right")]


def timed_events(scenario: Scenario) -> list:
    """The events that read exactly one issue: each becomes true at the minute that
    issue is agreed, so the round timeline can draw it."""
    return [e for e in scenario.events if len(e.issues) == 1]


def count_outcomes(frame: pd.DataFrame, scenario: Scenario) -> dict[str, ExactHistogram]:
    """The counts the figures draw, from a table of rounds of ``scenario``:

    - ``<column>`` of each quantity (the agreed value of each count and share issue of
      the agenda, over the rounds that agreed it, and the duration);
    - ``agreed_value_<issue>`` and ``agreed_minute_<issue>``: the value agreed and the
      minute it was agreed, over the rounds that agreed the issue;
    - ``event_minute_<event>``: for an event that reads one issue, the minute that
      issue was agreed, over the rounds where the event holds (so the timeline ends
      where the table's probability is).
    """
    counts = {"duration_minutes": histogram_of(quantity_values(frame["duration_minutes"]))}
    for spec in scenario.issues:
        agreed = f"{spec.name}_agreed"
        if agreed not in frame.columns:
            continue
        done = frame[agreed].to_numpy(dtype=bool)
        value = f"{spec.name}_conditions" if spec.compound else f"{spec.name}_value"
        counts[f"agreed_value_{spec.name}"] = histogram_of(frame[value].to_numpy()[done])
        counts[f"agreed_minute_{spec.name}"] = histogram_of(
            frame[f"{spec.name}_minute"].to_numpy()[done])
        if not spec.compound:  # the quantity: the values present (its own histogram)
            counts[value] = histogram_of(quantity_values(frame[value]))
    columns = {name: frame[name].to_numpy() for name in frame.columns}
    for event in timed_events(scenario):
        minute = f"{event.issues[0]}_minute"
        if minute in columns:
            hits = evaluate(event.tree, columns)
            counts[f"event_minute_{event.name}"] = histogram_of(columns[minute][hits])
    return counts


def add_counts(total: dict[str, ExactHistogram], part: dict[str, ExactHistogram]) -> None:
    """Add the counts of a part into ``total`` (in place)."""
    for key, histogram in part.items():
        if key in total:
            total[key].merge(histogram)
        else:
            total[key] = histogram


@dataclass(frozen=True)
class RunResults:
    """One batch: its ``summary.json``, the counts of its outcomes over ``rows`` rounds
    and, where known, its scenario and folder."""

    summary: dict
    outcomes: dict[str, ExactHistogram]
    rows: int
    scenario: Scenario | None = None
    folder: Path | None = None

    @classmethod
    def of_frame(cls, summary: dict, frame: pd.DataFrame, scenario: Scenario,
                 folder: Path | None = None) -> RunResults:
        """From a results table in memory (a notebook, ``negsim compare``, tests)."""
        return cls(summary, count_outcomes(frame, scenario), len(frame), scenario, folder)

    @property
    def name(self) -> str:
        return self.summary["scenario"]

    @property
    def runs(self) -> int:
        return int(self.summary["runs"])

    @property
    def agenda(self) -> tuple[str, ...]:
        """The round's agenda, as the summary records it (else the scenario's)."""
        if "agenda" in self.summary:
            return tuple(self.summary["agenda"])
        return self.scenario.agenda if self.scenario is not None else ()

    def quantity(self, column: str) -> ExactHistogram:
        return self.outcomes.get(column, histogram_of(np.empty(0)))

    def agreed_values(self, issue: str) -> ExactHistogram:
        """The values agreed on ``issue`` (over the rounds that agreed it)."""
        return self.outcomes.get(f"agreed_value_{issue}", histogram_of(np.empty(0)))

    def agreed_share(self, issue: str) -> float:
        """Share of rounds that agreed ``issue``."""
        return self.agreed_values(issue).n / max(self.rows, 1)

    def event_by(self, event: str, minutes: np.ndarray) -> np.ndarray | None:
        """Share of rounds in which ``event`` holds with its issue agreed by the end of
        each minute (None for an event that reads no single issue)."""
        counts = self.outcomes.get(f"event_minute_{event}")
        return None if counts is None else count_at_most(counts, minutes) / max(self.rows, 1)


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


def load_outcomes(folder: str | Path, scenario: Scenario
                  ) -> tuple[dict[str, ExactHistogram], int]:
    """The outcome counts of a folder's results and how many rounds they count, read
    one part at a time."""
    total: dict[str, ExactHistogram] = {}
    rows = 0
    for file in result_files(Path(folder)):
        part = _read(file, None)
        add_counts(total, count_outcomes(part, scenario))
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
