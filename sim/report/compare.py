"""Comparing batches: differences, and whether each exceeds Monte Carlo noise.

Every scenario is compared with the first (the baseline). For an event the
difference of two proportions gets one of Newcombe's two method-10 intervals, which
combine the two Wilson intervals, stay inside [-1, 1] and keep their coverage near 0
and 1 where the Wald interval fails:

- where the two batches' rounds are paired (same seed, chunks and posterior draws,
  round by round: common random numbers, ``sim.report.pairing``), the interval for
  paired data (Newcombe 1998, "Improved confidence intervals for the difference
  between binomial proportions based on paired data", Statistics in Medicine
  17:2635-2650), from each event's 2x2 count of rounds;
- otherwise the interval for independent samples (Newcombe 1998, "Interval estimation
  for the difference between independent proportions: comparison of eleven methods",
  Statistics in Medicine 17:873-890).

Paired rounds are correlated (usually positively), so the independent interval would
be too wide for them, and, where a change turns outcomes around, too narrow. Each
comparison says which interval it used and why. For a quantity (exchange size,
remains, duration) the difference of means gets the normal interval with Welch's
standard error, which treats the batches as independent (conservative for positively
correlated paired rounds). A difference *exceeds Monte Carlo noise* when its 95%
interval excludes zero: more rounds would not make it vanish. That says nothing of
whether the model is right.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from sim.batch.results import RunResults, mean, variance
from sim.report.pairing import Pairing
from sim.stats.intervals import Z95, newcombe_interval, newcombe_paired_interval
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


#: The interval each kind of comparison uses, as said in ``comparison.json``.
PAIRED_METHOD = ("Newcombe (1998) method 10 for paired data: the rounds of the two batches "
                 "share their random numbers and posterior draws, round by round")
INDEPENDENT_METHOD = ("Newcombe (1998) method 10 for independent samples (hybrid Wilson "
                      "score interval)")


def compare_events(baseline: dict, other: dict, pairing: Pairing | None = None) -> list[dict]:
    """Per event: both probabilities, the difference and its interval (paired where
    ``pairing`` says the rounds are), and whether it exceeds Monte Carlo noise. An
    event off either agenda is not compared."""
    paired = pairing is not None and pairing.paired
    rows = []
    for name in dict.fromkeys([*baseline["events"], *other["events"]]):
        a, b = baseline["events"].get(name), other["events"].get(name)
        row = {"event": name, "label": (a or b)["label"],
               "baseline_p": a and a["p"], "p": b and b["p"],
               "comparable": bool(a and b and a["on_agenda"] and b["on_agenda"])}
        if row["comparable"]:
            if paired:
                both, first_only, second_only, neither = pairing.tables[name]
                d, low, high = newcombe_paired_interval(both, first_only, second_only,
                                                        neither)
                row["paired_counts"] = {"both": both, "baseline_only": first_only,
                                        "this_only": second_only, "neither": neither}
            else:
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


def comparison(runs: Sequence[RunResults], pairings: Sequence[Pairing] | None = None) -> dict:
    """Every scenario against the first: the ``comparison.json`` structure.
    ``pairings[k]`` says whether ``runs[k + 1]``'s rounds are paired with the
    baseline's (none given: every comparison treats the batches as independent)."""
    baseline = runs[0]
    if pairings is None:
        pairings = [Pairing(False, "not checked: treated as independent")] * (len(runs) - 1)
    return {
        "baseline": {"scenario": baseline.name, "runs": baseline.runs},
        "method": "events: Newcombe (1998) method 10 on the difference of two proportions, "
                  "for paired data where the rounds are paired (each comparison says which), "
                  "else for independent samples; quantities: normal interval on the "
                  "difference of means, Welch standard error (independent samples); 95%",
        "comparisons": [{"scenario": run.name, "runs": run.runs,
                         "paired": pairing.paired, "pairing": pairing.reason,
                         "event_interval": PAIRED_METHOD if pairing.paired
                         else INDEPENDENT_METHOD,
                         "events": compare_events(baseline.summary, run.summary, pairing),
                         "quantities": compare_quantities(baseline, run)}
                        for run, pairing in zip(runs[1:], pairings, strict=True)],
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
                  f"({result['baseline']['runs']:,} rounds)"]
        if "paired" in comp:
            kind = "paired data" if comp["paired"] else "independent samples"
            lines += [f"rounds {comp['pairing']}",
                      f"event intervals: Newcombe (1998) method 10 for {kind}; "
                      "means: Welch (independent samples)"]
        lines.append("")
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
    """Each event's difference from the baseline with its 95% Newcombe interval (for
    paired data where the rounds are paired): a filled marker where it exceeds Monte
    Carlo noise, an open one where it does not."""
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
        kinds = {comp.get("paired") for comp in others}
        kind = {frozenset({True}): ", paired rounds",
                frozenset({False}): ", independent rounds"}.get(frozenset(kinds), "")
        figure.suptitle(run_title([(r.name, r.runs) for r in runs]) +
                        f"\nDifference from the first, with 95% intervals (Newcombe{kind})")
    return figure
