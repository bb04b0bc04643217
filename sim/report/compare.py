"""Comparing batches: differences, and whether each exceeds Monte Carlo noise.

Every scenario is compared with the first (the baseline). For an event the
difference of two proportions gets Newcombe's hybrid score interval (Newcombe 1998,
"Interval estimation for the difference between independent proportions: comparison
of eleven methods", Statistics in Medicine 17:873-890, method 10): it combines the
two Wilson intervals, stays inside [-1, 1] and keeps its coverage near 0 and 1 where
the Wald interval fails. For a quantity (exchange size, remains, duration) the
difference of means gets the normal interval with Welch's standard error. A
difference *exceeds Monte Carlo noise* when its 95% interval excludes zero: more
rounds would not make it vanish. That says nothing of whether the model is right.
Batches run with the same seed share their random numbers, which correlates them
positively; intervals for independent samples are then conservative (too wide).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from sim.batch.results import RunResults, mean, variance
from sim.stats.intervals import Z95, newcombe_interval
from sim.stats.numbers import percent, signed_points, whole
from sim.stats.tally import ExactHistogram
from sim.terminal import printable
from sim.viz.style import (
    GREY,
    house_style,
    legend_columns,
    new_figure,
    run_title,
    series_style,
    typographic,
)


def mean_difference(a: ExactHistogram, b: ExactHistogram,
                    z: float = Z95) -> tuple[float, float, float]:
    """``mean(b) - mean(a)`` and its normal interval with Welch's standard error
    (NaN where either side has fewer than two values)."""
    if a.n < 2 or b.n < 2:
        return float("nan"), float("nan"), float("nan")
    d = mean(b) - mean(a)
    se = float(np.sqrt(variance(a) / a.n + variance(b) / b.n))
    return d, d - z * se, d + z * se


def compare_events(baseline: dict, other: dict) -> list[dict]:
    """Per event: both probabilities, the difference and its interval, and whether it
    exceeds Monte Carlo noise. An event off either agenda is not compared."""
    rows = []
    for name in dict.fromkeys([*baseline["events"], *other["events"]]):
        a, b = baseline["events"].get(name), other["events"].get(name)
        row = {"event": name, "label": (a or b)["label"],
               "baseline_p": a and a["p"], "p": b and b["p"],
               "comparable": bool(a and b and a["on_agenda"] and b["on_agenda"])}
        if row["comparable"]:
            d, low, high = newcombe_interval(a["count"], baseline["runs"], b["count"],
                                             other["runs"])
            row |= {"difference": d, "ci95": [low, high], "exceeds_noise": low > 0 or high < 0}
        rows.append(row)
    return rows


def compare_quantities(baseline: RunResults, other: RunResults) -> list[dict]:
    """Per quantity: both means (where agreed, for counts), the difference and its
    interval, and whether it exceeds Monte Carlo noise."""
    rows = []
    labels = {c: q["label"] for run in (other, baseline)
              for c, q in run.summary["quantiles"].items()}
    for column in labels:
        a, b = baseline.quantity(column), other.quantity(column)
        d, low, high = mean_difference(a, b)
        rows.append({"quantity": column, "label": labels[column],
                     "baseline_mean": mean(a) if a.n else None,
                     "mean": mean(b) if b.n else None, "n": b.n, "baseline_n": a.n,
                     "difference": None if np.isnan(d) else d,
                     "ci95": None if np.isnan(d) else [low, high],
                     "exceeds_noise": bool(not np.isnan(d) and (low > 0 or high < 0))})
    return rows


def comparison(runs: Sequence[RunResults]) -> dict:
    """Every scenario against the first: the ``comparison.json`` structure."""
    baseline = runs[0]
    return {
        "baseline": {"scenario": baseline.name, "runs": baseline.runs},
        "method": "events: Newcombe (1998) hybrid Wilson score interval on the difference "
                  "of two proportions; quantities: normal interval on the difference of "
                  "means, Welch standard error; 95%",
        "comparisons": [{"scenario": run.name, "runs": run.runs,
                         "events": compare_events(baseline.summary, run.summary),
                         "quantities": compare_quantities(baseline, run)}
                        for run in runs[1:]],
    }


def _signed(x: float) -> str:
    """A difference of means: whole numbers where large, one decimal where small (so
    that -0.3 is not shown as -0)."""
    return f"{x:+,.0f}" if abs(x) >= 100 else f"{x:+.1f}"


def format_comparison(result: dict) -> str:
    """The comparison as plain-text tables, one per scenario against the baseline."""
    lines = []
    base = printable(result["baseline"]["scenario"])
    for comp in result["comparisons"]:
        lines += [f"{printable(comp['scenario'])} ({comp['runs']:,} rounds) against {base} "
                  f"({result['baseline']['runs']:,} rounds)", ""]
        width = max(len(row["label"]) for row in comp["events"] + comp["quantities"])
        lines.append(f"{'event':<{width}}  {'baseline':>8}  {'this':>7}  {'difference':>10}"
                     f"  {'95% interval':<21}  beyond noise")
        for row in comp["events"]:
            label = row["label"]
            if not row["comparable"]:
                lines.append(f"{label:<{width}}  {'':>8}  {'':>7}  not on both agendas")
                continue
            low, high = row["ci95"]
            lines.append(f"{label:<{width}}  {percent(row['baseline_p']):>8}  "
                         f"{percent(row['p']):>7}  {signed_points(row['difference']):>10}"
                         f"  {signed_points(low) + ' to ' + signed_points(high):<21}  "
                         f"{'yes' if row['exceeds_noise'] else 'no'}")
        lines.append("")
        lines.append(f"{'mean':<{width}}  {'baseline':>8}  {'this':>7}  {'difference':>10}"
                     f"  {'95% interval':<21}  beyond noise")
        for row in comp["quantities"]:
            label = row["label"]
            if row["difference"] is None:
                lines.append(f"{label:<{width}}  too few rounds to compare")
                continue
            low, high = row["ci95"]
            lines.append(f"{label:<{width}}  {whole(row['baseline_mean']):>8}  "
                         f"{whole(row['mean']):>7}  {_signed(row['difference']):>10}  "
                         f"{_signed(low) + ' to ' + _signed(high):<21}  "
                         f"{'yes' if row['exceeds_noise'] else 'no'}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _points_tick(x: float, _position: int) -> str:
    """A tick of a difference in percentage points: ``+5 pp``, ``0``, ``-5 pp``."""
    return "0" if round(x, 9) == 0 else f"{x:+.0f} pp"


def differences_figure(runs: Sequence[RunResults], result: dict) -> Figure:
    """Each event's difference from the baseline with its 95% Newcombe interval: a
    filled marker where it exceeds Monte Carlo noise, an open one where it does not."""
    others = result["comparisons"]
    names = list(dict.fromkeys(row["event"] for comp in others for row in comp["events"]))
    labels = {row["event"]: typographic(row["label"]) for comp in others
              for row in comp["events"]}
    with house_style():
        figure = new_figure(9, 1.8 + len(names) * (0.36 + 0.14 * len(others)))
        ax = figure.add_subplot()
        offsets = ((len(others) - 1) / 2 - np.arange(len(others))) * (0.6 / len(others))
        for row_index, name in enumerate(names):
            if not all(row["comparable"] for comp in others
                       for row in comp["events"] if row["event"] == name):
                ax.text(0, len(names) - 1 - row_index, "not on both agendas", color=GREY,
                        fontsize=8.5, style="italic", va="center", ha="center")
        for k, comp in enumerate(others):
            style = series_style(k + 1)
            for row in comp["events"]:
                if not row["comparable"]:
                    continue
                y = len(names) - 1 - names.index(row["event"]) + offsets[k]
                d, (low, high) = 100 * row["difference"], (100 * b for b in row["ci95"])
                ax.errorbar(d, y, xerr=[[d - low], [high - d]], fmt=style["marker"],
                            color=style["color"], markersize=7, capsize=3,
                            markerfacecolor=style["color"] if row["exceeds_noise"] else "white")
        ax.axvline(0, color="black", linewidth=0.9)
        ax.set_yticks(range(len(names)), [labels[n] for n in reversed(names)])
        ax.set_ylim(-0.6, len(names) - 0.4)
        span = max([5.0] + [abs(100 * b) for comp in others for row in comp["events"]
                            if row["comparable"] for b in row["ci95"]])
        ax.set_xlim(-1.1 * span, 1.1 * span)
        ax.xaxis.set_major_formatter(FuncFormatter(_points_tick))
        ax.set_xlabel("difference from the first scenario, percentage points")
        ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
        handles = [Line2D([], [], marker=series_style(k + 1)["marker"], linestyle="",
                          color=series_style(k + 1)["color"], label=comp["scenario"])
                   for k, comp in enumerate(others)]
        handles += [Line2D([], [], marker="s", color="black", linestyle="",
                           label="beyond Monte Carlo noise"),
                    Line2D([], [], marker="s", color="black", markerfacecolor="white",
                           linestyle="", label="within Monte Carlo noise")]
        figure.legend(handles=handles, loc="outside lower center",
                      ncols=legend_columns([h.get_label() for h in handles]))
        figure.suptitle(run_title([(r.name, r.runs) for r in runs]) +
                        "\nDifference from the first, with 95% intervals (Newcombe)")
    return figure
