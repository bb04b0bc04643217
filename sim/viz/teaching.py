"""Figures of the teaching layer (matplotlib, drawn on ``Figure`` objects without
pyplot, so no global backend or state: safe in a command, a test or the dashboard's
server threads). Nothing in the core imports this module.

- ``round_figure``: one round — per agenda item, each side's offers against its red
  line, the zone of agreement, the mediator's texts and what became of the item; below,
  the timeline of the agenda (agreements over time).
- ``whatif_figure``: the probability of a target event against each lever's shift.
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from sim.fileio import make_folder, write_atomically
from sim.model.agents import ItemStatus
from sim.model.round import NegotiationRound

PARTY_COLOURS = ("tab:blue", "tab:red", "tab:green", "tab:purple", "tab:brown")
STATUS_COLOURS = {ItemStatus.AGREED: "tab:green", ItemStatus.PARKED: "tab:orange",
                  ItemStatus.TIMED_OUT: "tab:gray", ItemStatus.PENDING: "tab:blue"}
STATUS_WORDS = {ItemStatus.AGREED: "agreed", ItemStatus.PARKED: "parked",
                ItemStatus.TIMED_OUT: "timed out", ItemStatus.PENDING: "in progress"}


def _items_reached(model: NegotiationRound) -> list[int]:
    """Agenda items discussed so far, in the order taken up."""
    seen: list[int] = []
    for record in model.history:
        index = model.setup.issues.index(record.item)
        if index not in seen:
            seen.append(index)
    return seen


def draw_item(ax: Axes, model: NegotiationRound, item: int) -> None:
    """Offers of each side on one item, minute by minute, against its red line (dashed);
    the zone of agreement shaded; the mediator's texts as black dots; the end of the
    item marked (a star where agreed)."""
    setup, issue = model.setup, model.setup.issues[item]
    records = [r for r in model.history if r.item == issue]
    minutes = np.array([r.minute for r in records])
    first, last = minutes.min(), minutes.max()
    k_lo, k_hi = setup.zone_lo[0, item], setup.zone_hi[0, item]
    if k_lo <= k_hi:
        ax.axhspan(k_lo * setup.step[item], k_hi * setup.step[item], color="0.88",
                   label="zone of agreement")
    for p, name in enumerate(setup.party_names):
        colour = PARTY_COLOURS[p % len(PARTY_COLOURS)]
        ax.plot(minutes, [r.offers[p] for r in records], drawstyle="steps-post",
                marker=".", markersize=4, color=colour, label=f"{name}: offer")
        ax.axhline(setup.red_line[0, p, item], color=colour, linestyle="--",
                   label=f"{name}: red line")
    texts = [(r.minute, r.proposal) for r in records if r.proposal is not None]
    if texts:
        ax.plot(*zip(*texts, strict=True), "o", color="black", markersize=3,
                label=f"{setup.mediator_name}: text")
    end = records[-1]
    if end.status == ItemStatus.AGREED:
        ax.plot([end.minute], [end.proposal], "*", color="tab:green", markersize=14,
                label="agreed")
    status = STATUS_WORDS[ItemStatus(end.status)] + ("" if k_lo <= k_hi else " (no zone)")
    if end.status == ItemStatus.PENDING and not model.running:
        status = "cut short"
    spec = setup.specs[item]
    ax.set_title(f"{spec.label}: {status}", fontsize=10)
    ax.set_xlabel("minute", fontsize=8)
    scale = spec.scale
    if spec.levelled:
        ax.set_yticks(range(len(spec.levels)), spec.levels, fontsize=7)
    else:
        ax.set_ylabel(scale.unit or scale.label, fontsize=8)
    if spec.kind.value != "count":
        span = scale.maximum - scale.minimum
        ax.set_ylim(scale.minimum - 0.08 * span, scale.maximum + 0.08 * span)
    ax.set_xlim(first - 0.5, max(last + 1.5, first + 4.5))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(labelsize=8)


def draw_timeline(ax: Axes, model: NegotiationRound) -> None:
    """The agenda over the round: one bar per item from when it was opened to when it
    was closed, coloured by what became of it (agreements over time)."""
    setup = model.setup
    reached = _items_reached(model)
    labels = []
    for row, item in enumerate(reached):
        records = [r for r in model.history if r.item == setup.issues[item]]
        start, end = records[0].minute, records[-1].minute + 1
        status = ItemStatus(records[-1].status)
        word = STATUS_WORDS[status]
        if status == ItemStatus.PENDING and not model.running:
            word = "cut short"
        ax.barh(row, end - start, left=start, color=STATUS_COLOURS[status], height=0.6)
        ax.text(end + 0.5, row, word, va="center", fontsize=8)
        labels.append(setup.specs[item].label)
    opening = float(setup.opening_minutes[0])
    if opening:
        ax.axvspan(0, opening, color="0.92")
        ax.text(opening / 2, max(len(labels) - 1, 0), "opening", ha="center",
                va="center", fontsize=7, color="0.4")
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_ylim(len(labels) - 0.4 if labels else 0.6, -1.2)
    limit = model.minute if model.running else float(model.duration[0])
    ax.set_xlim(0, max(limit, opening + 1) + 8)
    ax.set_xlabel("minute", fontsize=8)
    if not model.running:
        ax.axvline(float(model.duration[0]), color="black", linewidth=0.8)
        if model.walkout_party[0] >= 0:
            name = setup.party_names[model.walkout_party[0]]
            ax.text(float(model.duration[0]), -0.9, f" {name} walks out", fontsize=8,
                    color="tab:red", va="center")
    ax.set_title("agenda over time", fontsize=10)
    ax.tick_params(labelsize=8)


def round_figure(model: NegotiationRound, title: str = "") -> Figure:
    """Offers against red lines for every item reached, and the agenda's timeline."""
    reached = _items_reached(model)
    columns = 2 if len(reached) > 1 else 1
    rows = max(1, math.ceil(len(reached) / columns))
    fig = Figure(figsize=(5.2 * columns, 2.6 * rows + 2.2), layout="constrained")
    grid = fig.add_gridspec(rows + 1, columns, height_ratios=[2.6] * rows + [1.9])
    for n, item in enumerate(reached):
        ax = fig.add_subplot(grid[n // columns, n % columns])
        draw_item(ax, model, item)
    draw_timeline(fig.add_subplot(grid[rows, :]), model)
    legend(fig, 2 * columns)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def legend(fig: Figure, columns: int = 4) -> None:
    """One legend for the figure, each label once, below the panels."""
    handles: dict = {}
    for ax in fig.axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="outside lower center",
                   ncols=min(len(handles), columns), fontsize=8, frameon=False)


def save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    make_folder(path.parent)
    write_atomically(path, partial(fig.savefig, format=path.suffix[1:] or "png", dpi=110))
    return path


def whatif_figure(result, most: int = 10) -> Figure:
    """Probability of the target event against each lever's shift (as a share of its
    allowed range; negative is down), the target as a dashed line, and a ring where a
    lever first reaches it. The levers that reach the target and those that move the
    probability most are drawn (at most ``most``); the others are counted in a note.
    ``result`` is a ``sim.teach.whatif.WhatIf``."""
    target = result.target

    def spread(r) -> float:
        return max(pt.p for pt in r.curve) - min(pt.p for pt in r.curve)

    ranked = sorted(result.results, key=lambda r: (r.reached is None, -spread(r)))
    drawn = [r for r in ranked if spread(r) > 1e-9][:most]
    fig = Figure(figsize=(10, 5.2), layout="constrained")
    ax = fig.add_subplot()
    for i, r in enumerate(drawn):
        x = [pt.shift / r.lever.span for pt in r.curve]
        y = [100 * pt.p for pt in r.curve]
        ax.plot(x, y, marker=".", markersize=4, color=f"C{i}", label=r.lever.label)
        if r.reached is not None:
            ax.plot([r.reached.shift / r.lever.span], [100 * r.reached.p], "o", markersize=10,
                    markerfacecolor="none", markeredgecolor=f"C{i}")
    ax.axhline(100 * target.threshold, color="black", linestyle="--", linewidth=1,
               label=f"target: {'>=' if target.at_least else '<='} "
                     f"{100 * target.threshold:g}%")
    ax.axvline(0, color="0.6", linewidth=0.8)
    ax.set_xlim(-1.02, 1.02)
    ax.set_ylim(-2, 102)
    ax.set_xlabel("shift of the lever, as a share of its allowed range (0 = the scenario)")
    ax.set_ylabel(f"P({target.event}), %")
    ax.set_title(f"What would it take: {target}\n{result.scenario_name}, "
                 f"{result.runs:,} rounds per point, common random numbers", fontsize=10)
    rest = len(result.results) - len(drawn)
    if rest:
        ax.plot([], [], " ", label=f"({rest} other levers: less effect, not drawn)")
    fig.legend(fontsize=8, loc="outside right upper", frameon=False)
    return fig
