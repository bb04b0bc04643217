"""The figure of ``negsim discover``: PRIM's peeling trajectory and the box chosen.

Left, every box of the trajectory as a point: its coverage (the share of the rounds
with the event that it holds) against its density (the event's rate inside it), the
marker and colour saying how many inputs it restricts; the threshold and the event's
rate over all rounds as lines, the chosen box ringed. Right, each input the chosen
box restricts: its full range over the rounds (grey) and the box's range in it
(coloured), both with their numbers.
"""

from __future__ import annotations

import math

from matplotlib.figure import Figure

from sim.studies.discover import Discovery
from sim.viz.style import (
    GREY,
    PALETTE,
    house_style,
    new_figure,
    note,
    percent_axis,
    run_title,
    series_style,
    typographic,
)


def number(value: float, span: float) -> str:
    """An input's value for people, to a thousandth or so of ``span`` (its full
    range): ``0.188`` in [0, 0.2], ``78.6`` in [40, 90], ``1,250`` in [0, 5000]."""
    decimals = max(0, math.ceil(-math.log10(span)) + 2) if span > 0 else 3
    return f"{value:,.{decimals}f}"


def discovery_figure(discovery: Discovery, scenario_name: str, event_label: str,
                     rounds: int) -> Figure:
    """Two panels: the peeling trajectory, and the chosen box's ranges (``rounds``: the
    batch's, of which PRIM saw ``discovery.rounds``)."""
    box = discovery.box
    with house_style():
        figure = new_figure(11.5, 1.6 + max(3.6, 0.7 * len(box.limits) + 1.2))
        trajectory, ranges = figure.subplots(1, 2, width_ratios=[1, 1.25])
        _trajectory(trajectory, discovery)
        _ranges(ranges, discovery)
        seen = "" if discovery.rounds == rounds else f", PRIM on {discovery.rounds:,} of them"
        figure.suptitle(f"{run_title([(scenario_name, rounds)])}{seen}\nWhere "
                        f"\u201c{typographic(event_label)}\u201d is likely (PRIM)")
    return figure


def _trajectory(ax, discovery: Discovery) -> None:
    coverage = [100 * b.coverage for b in discovery.boxes]
    density = [100 * b.density for b in discovery.boxes]
    ax.plot(coverage, density, color=GREY, linewidth=0.8, zorder=1)
    counts = sorted({len(b.limits) for b in discovery.boxes})
    for k, count in enumerate(counts):
        style = series_style(k)
        ax.scatter([100 * b.coverage for b in discovery.boxes if len(b.limits) == count],
                   [100 * b.density for b in discovery.boxes if len(b.limits) == count],
                   color=style["color"], marker=style["marker"], s=22, zorder=2,
                   label=f"{count} input{'s' if count != 1 else ''} restricted")
    chosen = discovery.box
    ax.scatter([100 * chosen.coverage], [100 * chosen.density], s=170, facecolors="none",
               edgecolors="black", linewidths=1.6, zorder=3, label=f"chosen: box {chosen.id}")
    ax.axhline(100 * discovery.threshold, color=PALETTE[1], linestyle="--", linewidth=1,
               label=f"threshold: density {100 * discovery.threshold:g}%")
    ax.axhline(100 * discovery.base_rate, color=GREY, linestyle=":", linewidth=1,
               label=f"rate over all rounds: {100 * discovery.base_rate:.1f}%")
    ax.set_xlabel("coverage: share of the rounds with the event that are in the box")
    ax.set_ylabel("density: the event's rate in the box")
    percent_axis(ax.xaxis)
    percent_axis(ax.yaxis)
    ax.set_ylim(0, 102)
    ax.set_xlim(left=0, right=102)
    ax.grid(color="#e5e5e5", linewidth=0.6)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=3, fontsize=8,
              frameon=False)
    ax.set_title("Peeling trajectory: each box a point", fontsize=9.5)


def _ranges(ax, discovery: Discovery) -> None:
    box = discovery.box
    ax.set_title(f"Box {box.id}: coverage {100 * box.coverage:.1f}%, density "
                 f"{100 * box.density:.1f}%, mass {100 * box.mass:.1f}%", fontsize=9.5)
    if not box.limits:
        note(ax, "the box restricts no input: the event's rate over all rounds reaches "
             "the threshold")
        return
    for row, limit in enumerate(reversed(box.limits)):
        width = limit.full_high - limit.full_low
        low = (limit.low - limit.full_low) / width
        high = (limit.high - limit.full_low) / width
        ax.barh(row, 1.0, left=0.0, height=0.5, color="#e5e5e5", edgecolor=GREY,
                linewidth=0.6)
        ax.barh(row, high - low, left=low, height=0.5, color=PALETTE[0], alpha=0.85,
                hatch="//", edgecolor=PALETTE[0])
        ax.text(low, row + 0.3, number(limit.low, width), ha="center", va="bottom",
                fontsize=8)
        ax.text(high, row + 0.3, number(limit.high, width), ha="center", va="bottom",
                fontsize=8)
        ax.text(0.0, row - 0.3, number(limit.full_low, width), ha="left", va="top",
                fontsize=8, color=GREY)
        ax.text(1.0, row - 0.3, number(limit.full_high, width), ha="right", va="top",
                fontsize=8, color=GREY)
    ax.set_yticks(range(len(box.limits)), [limit.input for limit in reversed(box.limits)])
    ax.set_xlim(-0.06, 1.06)
    ax.set_ylim(-0.8, len(box.limits) - 0.25)
    ax.set_xticks([])
    ax.spines["bottom"].set_visible(False)
    ax.set_xlabel("grey: full range over the rounds; blue: the box")
