"""The outcome distribution of a batch: event probabilities and quantiles.

``summarise`` turns the per-replicate table into the ``summary.json`` structure;
``format_table`` prints it for people. Intervals are Wilson's (``rules``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.stats.intervals import wilson_interval

#: Event name -> (label, rule over the results table, the agenda issue it needs).
EVENTS: dict[str, tuple[str, str, str | None]] = {
    "ceasefire_any": ("ceasefire of any kind (level >= 1)", "ceasefire_level >= 1", "ceasefire"),
    "ceasefire_general": ("general ceasefire (level >= 2)", "ceasefire_level >= 2",
                          "ceasefire"),
    "pow_exchange_agreed": ("prisoner exchange agreed", "pow_exchange_per_side > 0",
                            "pow_exchange"),
    "remains_agreed": ("remains repatriation agreed", "remains_transferred > 0", "remains"),
    "children_return_agreed": ("return of named children agreed", "children_commitment >= 2",
                               "children"),
    "memorandum_exchanged": ("written positions exchanged", "memorandum >= 2", "memorandum"),
    "next_round_agreed": ("next round agreed", "next_round_agreed", "next_round"),
    "leaders_meeting_agreed": ("leaders' meeting agreed", "leaders_meeting_agreed",
                               "leaders_meeting"),
    "walkout": ("a delegation walked out", "walkout", None),
}

#: Column -> (label, restrict to replicates where it was agreed).
QUANTITIES: dict[str, tuple[str, bool]] = {
    "pow_exchange_per_side": ("prisoners per side (where agreed)", True),
    "remains_transferred": ("remains (where agreed)", True),
    "duration_minutes": ("duration, minutes", False),
}

QUANTILES = {"p05": 0.05, "p10": 0.10, "p50": 0.50, "p90": 0.90, "p95": 0.95}


def event_columns(results: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each event as a boolean array over replicates."""
    return {name: np.asarray(results.eval(rule), dtype=bool)
            for name, (_, rule, _) in EVENTS.items()}


def summarise(results: pd.DataFrame, scenario_name: str, seed: int,
              agenda: tuple[str, ...]) -> dict:
    """The ``summary.json`` structure for a results table of a round whose agenda is
    ``agenda`` (an event whose issue was not on it is marked, not hidden)."""
    runs = len(results)
    events = {}
    for name, hits in event_columns(results).items():
        count = int(hits.sum())
        lo, hi = wilson_interval(count, runs)
        issue = EVENTS[name][2]
        events[name] = {"p": count / runs, "ci95": [float(lo), float(hi)], "count": count,
                        "on_agenda": issue is None or issue in agenda}
    quantiles = {}
    for column, (_, only_agreed) in QUANTITIES.items():
        values = results[column].to_numpy(dtype=float)
        if only_agreed:
            values = values[values > 0]
        qs = np.quantile(values, list(QUANTILES.values())) if values.size else [None] * 5
        quantiles[column] = {"n": int(values.size)} | {
            key: None if q is None else float(q) for key, q in zip(QUANTILES, qs, strict=True)}
    walkers = results.loc[results["walkout"], "walkout_party"].value_counts()
    return {
        "scenario": scenario_name,
        "runs": runs,
        "seed": seed,
        "events": events,
        "quantiles": quantiles,
        "walkout_by_party": {str(k): int(v) for k, v in sorted(walkers.items())},
    }


def percent(p: float) -> str:
    """One decimal, or two below 1% so that a small upper bound is not shown as 0."""
    return f"{100 * p:.2f}%" if 0 < p < 0.01 else f"{100 * p:.1f}%"


def format_table(summary: dict) -> str:
    """The outcome distribution as a plain-text table."""
    lines = [f"{summary['scenario']}: {summary['runs']:,} simulated rounds, "
             f"seed {summary['seed']}", ""]
    width = max(len(label) for label, _, _ in EVENTS.values())
    lines.append(f"{'event':<{width}}  {'p':>6}  95% interval")
    for name, (label, _, _) in EVENTS.items():
        e = summary["events"][name]
        lo, hi = e["ci95"]
        interval = f"{percent(lo)} - {percent(hi)}" if e["on_agenda"] else "not on the agenda"
        lines.append(f"{label:<{width}}  {percent(e['p']):>6}  {interval}")
    lines.append("")
    header = "".join(f"{k:>8}" for k in QUANTILES)
    lines.append(f"{'quantity':<{width}}  {'n':>6}{header}")
    for column, (label, _) in QUANTITIES.items():
        q = summary["quantiles"][column]
        cells = "".join(f"{'-' if q[k] is None else f'{q[k]:,.0f}':>8}" for k in QUANTILES)
        lines.append(f"{label:<{width}}  {q['n']:>6,}{cells}")
    return "\n".join(lines)
