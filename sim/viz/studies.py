"""Figures of sweeps and sensitivity analyses, from plain DataFrames.

``negsim sweep`` and ``negsim sensitivity`` hand these functions tables; the columns
are the contract between them:

Sweep table — one row per design point (``points.csv`` of ``negsim sweep``):
    ``<knob>``                 the knob's coordinate at that point, one column per
                               knob, named by its scenario key — ``KEY (scale)`` or
                               ``KEY (add)`` where the coordinate is a factor of, or
                               an amount added to, the scenario's value
                               (``studies.design.Knob.column``; the x axis; a second
                               knob may split the lines)
    ``runs``                   simulated rounds at that point
    ``<event>.p``              probability of an event of ``summary.EVENTS`` (e.g.
                               ``ceasefire_any.p``); events off the agenda are absent
    ``<event>.ci95_low``, ``<event>.ci95_high``   its 95% interval

Sensitivity table — one row per (outcome, parameter) (``sobol.csv`` of
``negsim sensitivity``):
    ``outcome``, ``parameter``  an event name (or any outcome name) and a scenario key
    ``S1``, ``S1_ci95``         first-order Sobol index and the half-width of its 95%
                                interval (SALib's ``S1_conf``)
    ``ST``, ``ST_ci95``         total-order index and its half-width
    ``resolved``                optional: whether both are resolved
                                (``studies.sensitivity.resolved``); a title line
                                counts the rows that are not
    ``output``, ``S1_conf``, ``ST_conf`` are accepted for ``outcome``, ``S1_ci95``,
    ``ST_ci95``. Rows without indices (NaN: an outcome that does not vary over the
    design) are named in the panel instead of drawn.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.studies.labels import axis_label, coordinate_label
from sim.viz.style import (
    HATCHES,
    PALETTE,
    house_style,
    new_figure,
    note,
    percent_axis,
    series_style,
    typographic,
)

SENSITIVITY_COLUMNS = ("outcome", "parameter", "S1", "S1_ci95", "ST", "ST_ci95")
_SALIB_NAMES = {"output": "outcome", "S1_conf": "S1_ci95", "ST_conf": "ST_ci95"}


def sweep_events(frame: pd.DataFrame) -> list[str]:
    """The events a sweep table carries (with both interval bounds), in its order."""
    names = [c[: -len(".p")] for c in frame.columns if c.endswith(".p")]
    return [name for name in names
            if {f"{name}.ci95_low", f"{name}.ci95_high"} <= set(frame.columns)]


def output_label(name: str, labels: Mapping[str, str]) -> str:
    """An event's label, or a quantity's with its quantile (``duration, minutes:
    p50``), from ``labels`` (by event name and quantity column); other names as they
    are."""
    if name in labels:
        return typographic(labels[name])
    column, _, quantile = name.rpartition(".")
    return f"{labels[column]}: {quantile}" if column in labels else name


def _series_label(column: str, value) -> str:
    """``parties.russia.patience ×0.5`` for a scale knob, ``KEY +0.1`` for an add knob,
    ``KEY = 0.3`` for a value."""
    shown = coordinate_label(column, value)
    key = column.rsplit(" (", 1)[0] if column.endswith((" (scale)", " (add)")) else column
    return f"{key} {shown}" if key != column else f"{key} = {shown}"


def sweep_figure(frame: pd.DataFrame, knob: str, scenario_name: str,
                 by: str | None = None, events: list[str] | None = None,
                 connect: bool = True, labels: Mapping[str, str] | None = None) -> Figure:
    """One panel per event: its probability against ``knob`` with a band for the 95%
    interval at each design point; given ``by``, one line (colour, marker and line
    style) per value of that second knob. ``connect=False`` (designs whose other knobs
    vary from point to point, e.g. a Latin hypercube) draws each point with its
    interval as a bar, unjoined."""
    missing = [c for c in (knob, "runs", by) if c and c not in frame.columns]
    if missing:
        raise ValueError(f"sweep table lacks column(s) {', '.join(missing)}")
    events = events or sweep_events(frame)
    if not events:
        raise ValueError("sweep table has no event columns (<event>.p, <event>.ci95_low, "
                         "<event>.ci95_high)")
    groups = [(None, frame)] if by is None else list(frame.groupby(by, sort=True))
    cols = min(3, len(events))
    rows = int(np.ceil(len(events) / cols))
    with house_style():
        figure = new_figure(4.2 * cols, 0.6 + 3.1 * rows)
        axes = figure.subplots(rows, cols, squeeze=False, sharex=True)
        for ax, name in zip(axes.flat, events, strict=False):
            for k, (value, group) in enumerate(groups):
                group = group.sort_values(knob)
                x = group[knob].to_numpy(dtype=float)
                p = 100 * group[f"{name}.p"].to_numpy(dtype=float)
                low = 100 * group[f"{name}.ci95_low"].to_numpy(dtype=float)
                high = 100 * group[f"{name}.ci95_high"].to_numpy(dtype=float)
                style = series_style(k)
                label = None if by is None else _series_label(by, value)
                if not connect:
                    ax.errorbar(x, p, yerr=[p - low, high - p], fmt=style["marker"],
                                color=style["color"], markersize=4, capsize=2, label=label)
                    continue
                ax.fill_between(x, low, high, color=style["color"], alpha=0.12, linewidth=0)
                ax.plot(x, p, color=style["color"], marker=style["marker"],
                        linestyle=style["linestyle"], markersize=5, label=label)
            ax.set_title(output_label(name, labels or {}), fontsize=9.5)
            percent_axis(ax.yaxis)
            ax.set_ylim(bottom=0)
            ax.grid(color="#e5e5e5", linewidth=0.6)
        for ax in axes.flat[len(events):]:
            ax.set_visible(False)
        for ax in axes[-1]:
            ax.set_xlabel(axis_label(knob))
        for ax in axes[:, 0]:
            ax.set_ylabel("share of rounds")
        if by is not None:
            figure.legend(*axes.flat[0].get_legend_handles_labels(),
                          loc="outside lower center", ncols=min(len(groups), 4))
        points, runs = len(frame), int(frame["runs"].sum())
        figure.suptitle(f"{scenario_name}: {runs:,} simulated rounds ({points} design points)"
                        f"\nOutcome against {axis_label(knob)} (band: 95% interval)")
    return figure


def sensitivity_figure(frame: pd.DataFrame, scenario_name: str, runs: int,
                       labels: Mapping[str, str] | None = None) -> Figure:
    """One panel per output: each parameter's first-order (S1) and total (ST) Sobol
    index as bars with their 95% intervals, parameters by ST, largest on top."""
    frame = frame.rename(columns={k: v for k, v in _SALIB_NAMES.items()
                                  if k in frame.columns and v not in frame.columns})
    missing = [c for c in SENSITIVITY_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"sensitivity table lacks column(s) {', '.join(missing)}")
    outputs = list(dict.fromkeys(frame["outcome"]))
    parameters = frame["parameter"].nunique()
    cols = min(2, len(outputs))
    rows = int(np.ceil(len(outputs) / cols))
    with house_style():
        figure = new_figure(6.2 * cols, 0.9 + rows * (0.9 + 0.42 * parameters))
        axes = figure.subplots(rows, cols, squeeze=False)
        for ax, output in zip(axes.flat, outputs, strict=False):
            rows = frame[frame["outcome"] == output]
            table = rows.dropna(subset=["S1", "ST"]).sort_values("ST")
            ax.set_title(output_label(output, labels or {}), fontsize=9.5)
            if table.empty:
                note(ax, "no indices: " + str(rows["note"].iloc[0] if "note" in rows else
                                              "not computed"))
                continue
            y = np.arange(len(table))
            for j, (index, shift) in enumerate((("S1", 0.2), ("ST", -0.2))):
                ax.barh(y + shift, table[index], height=0.38, xerr=table[f"{index}_ci95"],
                        color=PALETTE[j], alpha=0.85 if j == 0 else 0.45,
                        hatch=HATCHES[j], edgecolor=PALETTE[j],
                        error_kw={"ecolor": "black", "capsize": 3, "elinewidth": 1},
                        label={"S1": "first order (S1)", "ST": "total (ST)"}[index])
            ax.set_yticks(y, table["parameter"])
            ax.axvline(0, color="black", linewidth=0.8)
            ax.set_xlabel("Sobol index (bar: 95% interval)")
        for ax in axes.flat[len(outputs):]:
            ax.set_visible(False)
        handles = [h for ax in axes.flat for h in [ax.get_legend_handles_labels()]
                   if h[0]][:1]
        if handles:
            figure.legend(*handles[0], loc="outside lower center", ncols=2)
        title = (f"{scenario_name}: {runs:,} simulated rounds\n"
                 "Sensitivity of outcomes to the parameters (Sobol indices)")
        if "resolved" in frame.columns:
            flags = frame["resolved"].dropna().astype(bool)
            if not flags.all():
                title += (f"\n{int((~flags).sum())} of {len(flags)} rows not resolved "
                          "(an interval wider than ±0.1, or outside [0, 1]): do not rank "
                          "by them")
        figure.suptitle(title)
    return figure
