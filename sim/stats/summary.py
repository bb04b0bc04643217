"""The outcome distribution of a batch: event probabilities and quantiles.

What a summary reports comes from the scenario (``Measures``): its events (conditions
over outcomes, ``sim.scenario.events``) and its quantities — the value agreed on each
count and share issue of the agenda (over the rounds that agreed it) and the round's
duration. ``summarise`` turns a per-replicate table into the ``summary.json``
structure, which carries every label, so that reports, comparisons and tables read it
without the scenario; ``format_table`` prints it for people. Intervals are Wilson's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.scenario.events import columns_read, evaluate
from sim.scenario.spec import EventSpec, IssueKind, Scenario
from sim.stats.intervals import parameter_interval, wilson_interval

if TYPE_CHECKING:  # pandas is imported where a table is made (sim.model.mesa_core)
    import pandas as pd


QUANTILES = {"p05": 0.05, "p10": 0.10, "p50": 0.50, "p90": 0.90, "p95": 0.95}

#: The round's own quantity.
DURATION = "duration_minutes"


@dataclass(frozen=True)
class Quantity:
    """A results column whose distribution the summary reports; ``issue`` is the issue
    whose agreed value it is (counted over the rounds that agreed it), or None."""

    column: str
    label: str
    issue: str | None


@dataclass(frozen=True)
class Measures:
    """What a scenario's summary reports: its events and quantities, and its agenda
    (an event none of whose issues is on it is marked, not hidden)."""

    events: tuple[EventSpec, ...]
    quantities: tuple[Quantity, ...]
    agenda: tuple[str, ...]

    @classmethod
    def of(cls, scenario: Scenario) -> Measures:
        quantities = []
        for spec in scenario.agenda_issues:
            if spec.kind in (IssueKind.COUNT, IssueKind.SHARE):
                unit = f"{spec.scale.unit}, " if spec.scale.unit else ""
                quantities.append(Quantity(f"{spec.name}_value",
                                           f"{spec.label} ({unit}where agreed)", spec.name))
        quantities.append(Quantity(DURATION, "duration, minutes", None))
        return cls(scenario.events, tuple(quantities), scenario.agenda)

    def on_agenda(self, event: EventSpec) -> bool:
        return not event.issues or any(issue in self.agenda for issue in event.issues)

    @property
    def event_inputs(self) -> tuple[str, ...]:
        """The results columns the events read."""
        needed: dict[str, None] = {}
        for event in self.events:
            needed |= dict.fromkeys(sorted(columns_read(event.tree)))
        return tuple(needed)

    @property
    def columns(self) -> tuple[str, ...]:
        """The results columns the summary reads."""
        needed = dict.fromkeys([q.column for q in self.quantities] + list(self.event_inputs))
        return tuple(needed | {"walkout": None, "walkout_party": None})


def study_labels(scenario: Scenario) -> dict[str, str]:
    """Labels of a scenario's events (by name) and quantities (by column), for studies
    whose tables carry only names."""
    measures = Measures.of(scenario)
    return {e.name: e.label for e in measures.events} | {
        q.column: q.label for q in measures.quantities}


def event_columns(results: pd.DataFrame | dict, measures: Measures) -> dict[str, np.ndarray]:
    """Each event as a boolean array over replicates."""
    columns = {name: np.asarray(results[name]) for name in measures.event_inputs}
    return {event.name: evaluate(event.tree, columns) for event in measures.events}


def quantity_values(values: np.ndarray) -> np.ndarray:
    """The values a quantity counts: those present (a value is missing where its issue
    was not agreed)."""
    values = np.asarray(values, dtype=float)
    return values[~np.isnan(values)]


def draws_of(results: pd.DataFrame | dict) -> np.ndarray:
    """Each replicate's posterior draw (``draw_id``; -1 where it was drawn from the
    scenario's ranges, and for all of a table without the column)."""
    if "draw_id" in results:
        return np.asarray(results["draw_id"], dtype=np.int64)
    return np.full(len(next(iter(results.values())) if isinstance(results, dict)
                       else results), -1, dtype=np.int64)


def event_entry(event: EventSpec, count: int, runs: int, on_agenda: bool,
                parameter_range: tuple[float, float] | None = None) -> dict:
    """An event's line of ``summary.json``. ``ci95`` is the Monte Carlo interval of the
    probability (how sure the number is, given the parameters' distribution);
    ``parameter_p10``/``parameter_p90`` how much the probability itself varies across
    the posterior's draws (how sure one can be, given what the calibration left open:
    ``sim.stats.intervals.parameter_interval``), null without a posterior."""
    lo, hi = wilson_interval(count, runs) if runs else (0.0, 1.0)
    low, high = parameter_range if parameter_range is not None else (None, None)
    return {"label": event.label, "when": event.when,
            "p": count / runs if runs else None, "ci95": [float(lo), float(hi)],
            "parameter_p10": low, "parameter_p90": high,
            "count": count, "on_agenda": on_agenda}


def parameter_range(hits: np.ndarray, draws: np.ndarray) -> tuple[float, float] | None:
    """``parameter_interval`` of an event over a table's rounds grouped by draw."""
    drawn = draws >= 0
    if not drawn.any():
        return None
    runs = np.bincount(draws[drawn])
    return parameter_interval(np.bincount(draws[drawn & hits], minlength=runs.size), runs)


def summarise(results: pd.DataFrame, scenario: Scenario, seed: int) -> dict:
    """The ``summary.json`` structure of a results table of ``scenario``."""
    measures = Measures.of(scenario)
    runs = len(results)
    draws = draws_of(results)
    events = {name: event_entry(event, int(hits.sum()), runs, measures.on_agenda(event),
                                parameter_range(hits, draws))
              for (name, hits), event in zip(event_columns(results, measures).items(),
                                             measures.events, strict=True)}
    quantiles = {}
    for quantity in measures.quantities:
        values = quantity_values(results[quantity.column].to_numpy(dtype=float))
        qs = np.quantile(values, list(QUANTILES.values())) if values.size else [None] * 5
        quantiles[quantity.column] = {"label": quantity.label, "n": int(values.size)} | {
            key: None if q is None else float(q) for key, q in zip(QUANTILES, qs, strict=True)}
    walkers = results.loc[results["walkout"].astype(bool), "walkout_party"].value_counts()
    return {
        "scenario": scenario.round.name,
        "runs": runs,
        "seed": seed,
        "agenda": list(measures.agenda),
        "events": events,
        "quantiles": quantiles,
        "walkout_by_party": {str(k): int(v) for k, v in sorted(walkers.items())},
    }


def percent(p: float) -> str:
    """One decimal, or two below 1% so that a small upper bound is not shown as 0."""
    return f"{100 * p:.2f}%" if 0 < p < 0.01 else f"{100 * p:.1f}%"


def format_table(summary: dict) -> str:
    """The outcome distribution as a plain-text table (labels from the summary)."""
    lines = [f"{summary['scenario']}: {summary['runs']:,} simulated rounds, "
             f"seed {summary['seed']}", ""]
    events, quantiles = summary["events"], summary["quantiles"]
    width = max(len(e["label"]) for e in [*events.values(), *quantiles.values()])
    # the spread across posterior draws, where the batch drew from a posterior
    drawn = any(e.get("parameter_p10") is not None for e in events.values())
    spread = "  across draws, 10-90%" if drawn else ""
    lines.append(f"{'event':<{width}}  {'p':>6}  {'95% interval':<17}{spread}".rstrip())
    for e in events.values():
        lo, hi = e["ci95"]
        p = "-" if e["p"] is None else percent(e["p"])
        interval = f"{percent(lo)} - {percent(hi)}" if e["on_agenda"] else "not on the agenda"
        across = ""
        if drawn and e["on_agenda"] and e.get("parameter_p10") is not None:
            across = f"{percent(e['parameter_p10'])} - {percent(e['parameter_p90'])}"
        lines.append(f"{e['label']:<{width}}  {p:>6}  {interval:<17}  {across}".rstrip())
    lines.append("")
    header = "".join(f"{k:>8}" for k in QUANTILES)
    lines.append(f"{'quantity':<{width}}  {'n':>6}{header}")
    for q in quantiles.values():
        cells = "".join(f"{_number(q[k]):>8}" for k in QUANTILES)
        lines.append(f"{q['label']:<{width}}  {q['n']:>6,}{cells}")
    return "\n".join(lines)


def _number(value: float | None) -> str:
    """A quantile for people: whole numbers with thousands separators, a share with
    two decimals."""
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 10 or float(value).is_integer() else f"{value:.2f}"
