"""The outcome distribution of a batch, tallied chunk by chunk in constant memory.

``summary.summarise`` needs the whole results table; a batch of millions of rounds
must never hold it. A ``Tally`` keeps only what the summary needs — exact counts of
events, of walk-outs by party and of failures, and exact histograms of the quantities —
and tallies of chunks add up in any order to the same summary (integer sums).

The histograms are exact, not binned: each quantity takes few distinct values
(prisoners and remains lie on their issue's lattice; a duration is a whole minute, or
a whole minute plus the round's closing minutes), so counting each distinct value
costs little and every quantile is the one ``numpy.quantile`` gives on the full
column — bit for bit (``ExactHistogram.quantiles``, tested against it).

What is tallied is the scenario's ``Measures``: its events (each evaluated on the
chunk's columns by ``sim.scenario.events``) and its quantities.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import numpy as np

from sim.stats.intervals import parameter_interval
from sim.stats.summary import (
    QUANTILES,
    Measures,
    draws_of,
    event_columns,
    event_entry,
    quantity_values,
)

if TYPE_CHECKING:  # pandas is imported where a table is made (sim.model.mesa_core)
    import pandas as pd


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two per-draw count arrays summed (the shorter one padded with zeros)."""
    total = np.zeros(max(a.size, b.size), dtype=np.int64)
    total[:a.size] += a
    total[:b.size] += b
    return total


class ExactHistogram:
    """How often each distinct value occurred: sorted ``values`` with their ``counts``."""

    def __init__(self) -> None:
        self.values = np.empty(0)
        self.counts = np.empty(0, dtype=np.int64)

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    def add(self, sample: np.ndarray) -> None:
        """Count the values of ``sample``."""
        values, counts = np.unique(np.asarray(sample, dtype=float), return_counts=True)
        self._merge(values, counts.astype(np.int64))

    def merge(self, other: ExactHistogram) -> None:
        self._merge(other.values, other.counts)

    def _merge(self, values: np.ndarray, counts: np.ndarray) -> None:
        every = np.concatenate([self.values, values])
        merged, where = np.unique(every, return_inverse=True)
        total = np.zeros(merged.size, dtype=np.int64)
        np.add.at(total, where, np.concatenate([self.counts, counts]))
        self.counts = total
        self.values = merged

    def order_statistic(self, rank: int) -> float:
        """The ``rank``-th smallest value (0-based), as in the sorted sample."""
        return float(self.values[np.searchsorted(np.cumsum(self.counts), rank, side="right")])

    def quantiles(self, qs: list[float]) -> list[float]:
        """``numpy.quantile(sample, qs)`` (its default, linear method) without the
        sample: the virtual index ``(n - 1) q``, the two order statistics around it,
        and numpy's interpolation formula, operation for operation."""
        n = self.n
        result = []
        for q in np.asarray(qs, dtype=np.float64):
            index = np.float64(n - 1) * q
            below = np.floor(index)
            gamma = index - below
            a = np.float64(self.order_statistic(int(below)))
            b = np.float64(self.order_statistic(min(int(below) + 1, n - 1)))
            diff = b - a
            value = b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma
            result.append(float(value))
        return result


class Tally:
    """What the summary of a batch needs, over the chunks added so far."""

    def __init__(self, measures: Measures) -> None:
        self.measures = measures
        self.runs = 0
        self.events: Counter[str] = Counter({e.name: 0 for e in measures.events})
        self.histograms = {q.column: ExactHistogram() for q in measures.quantities}
        self.walkouts: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        # rounds and event hits by posterior draw (index = draw_id; empty without one)
        self.draw_runs = np.zeros(0, dtype=np.int64)
        self.draw_hits = {e.name: np.zeros(0, dtype=np.int64) for e in measures.events}

    @classmethod
    def of(cls, results, measures: Measures, failures=None) -> Tally:
        """The tally of one chunk's results (and its failure rows, if any): DataFrames,
        or a worker's ``sim.batch.chunks.Rows``."""
        tally = cls(measures)
        columns = {name: np.asarray(results[name]) for name in measures.columns}
        tally.runs = len(results)
        draw = draws_of(results)
        drawn = draw >= 0
        tally.draw_runs = np.bincount(draw[drawn])
        for name, hits in event_columns(columns, measures).items():
            tally.events[name] = int(hits.sum())
            tally.draw_hits[name] = np.bincount(draw[drawn & hits],
                                                minlength=tally.draw_runs.size)
        for quantity in measures.quantities:
            tally.histograms[quantity.column].add(quantity_values(columns[quantity.column]))
        walked = columns["walkout"].astype(bool)
        tally.walkouts.update(Counter(str(p) for p in columns["walkout_party"][walked]))
        if failures is not None:
            tally.failures.update(Counter(str(e) for e in failures["error"]))
        return tally

    @classmethod
    def of_failures(cls, failures: pd.DataFrame, measures: Measures) -> Tally:
        """The tally of a chunk none of whose replicates ran."""
        tally = cls(measures)
        tally.failures.update(Counter(str(e) for e in failures["error"]))
        return tally

    def merge(self, other: Tally) -> None:
        """Add another tally (of other chunks of the same scenario)."""
        self.runs += other.runs
        self.events.update(other.events)
        for column, histogram in self.histograms.items():
            histogram.merge(other.histograms[column])
        self.walkouts.update(other.walkouts)
        self.failures.update(other.failures)
        self.draw_runs = _add(self.draw_runs, other.draw_runs)
        for name in self.draw_hits:
            self.draw_hits[name] = _add(self.draw_hits[name], other.draw_hits[name])

    def _parameter_range(self, name: str) -> tuple[float, float] | None:
        if not self.draw_runs.size:
            return None
        hits = np.zeros(self.draw_runs.size, dtype=np.int64)
        hits[:self.draw_hits[name].size] = self.draw_hits[name]
        return parameter_interval(hits, self.draw_runs)

    def summary(self, scenario_name: str, seed: int) -> dict:
        """The ``summary.json`` structure: what ``summary.summarise`` gives on the whole
        table of the rounds that ran, plus ``failures`` (rounds that raised, by error).
        With no round run (all failed) nothing is known: p unknown, interval [0, 1]."""
        measures = self.measures
        events = {e.name: event_entry(e, self.events[e.name], self.runs, measures.on_agenda(e),
                                      self._parameter_range(e.name))
                  for e in measures.events}
        quantiles = {}
        for quantity in measures.quantities:
            histogram = self.histograms[quantity.column]
            n = histogram.n
            qs = histogram.quantiles(list(QUANTILES.values())) if n else [None] * len(QUANTILES)
            quantiles[quantity.column] = {"label": quantity.label, "n": n} | dict(
                zip(QUANTILES, qs, strict=True))
        return {
            "scenario": scenario_name,
            "runs": self.runs,
            "seed": seed,
            "agenda": list(measures.agenda),
            "events": events,
            "quantiles": quantiles,
            "walkout_by_party": dict(sorted(self.walkouts.items())),
            "failures": {"count": sum(self.failures.values()),
                         "by_error": dict(sorted(self.failures.items()))},
        }
