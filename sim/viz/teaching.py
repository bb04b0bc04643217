"""Figures of the teaching layer (matplotlib, drawn on ``Figure`` objects without
pyplot, so no global backend or state: safe in a command, a test or the dashboard's
server threads). Nothing in the core imports this module.

- ``round_figure``: one round — per agenda issue, each side's offers (item by item) or
  the package text's value on it (a package round) against each side's red line, the
  zone of agreement and what became of the issue; below, the timeline of the agenda
  (the issues open, agreed and parked over time).
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
from sim.scenario.spec import Protocol

PARTY_COLOURS = ("tab:blue", "tab:red", "tab:green", "tab:purple", "tab:brown")
STATUS_COLOURS = {ItemStatus.AGREED: "tab:green", ItemStatus.PARKED: "tab:orange",
                  ItemStatus.TIMED_OUT: "tab:gray", ItemStatus.PENDING: "tab:blue"}
STATUS_WORDS = {ItemStatus.AGREED: "agreed", ItemStatus.PARKED: "parked",
                ItemStatus.TIMED_OUT: "timed out", ItemStatus.PENDING: "in progress"}


def _package(model: NegotiationRound) -> bool:
    return model.setup.protocol is Protocol.PACKAGE


def issues_reached(model: NegotiationRound) -> list[int]:
    """Issues discussed so far: item by item, in the order taken up; in a package
    round, every issue that has been in the text, in the agenda's order."""
    setup = model.setup
    if _package(model):
        seen = {name for record in model.history for name in record.open_issues}
        return [i for i, name in enumerate(setup.issues) if name in seen]
    reached: list[int] = []
    for record in model.history:
        index = setup.issues.index(record.item)
        if index not in reached:
            reached.append(index)
    return reached


def issue_span(model: NegotiationRound, item: int) -> tuple[int, int, ItemStatus]:
    """When an issue was under discussion (first minute, the minute after its last)
    and what became of it (PENDING while it still is)."""
    name = model.setup.issues[item]
    if _package(model):
        minutes = [r.minute for r in model.history if name in r.open_issues]
        return minutes[0], minutes[-1] + 1, ItemStatus(int(model.status[0, item]))
    records = [r for r in model.history if r.item == name]
    return records[0].minute, records[-1].minute + 1, ItemStatus(records[-1].status)


def blocked_issues(model: NegotiationRound) -> list[int]:
    """Package issues parked before the first text (a linkage no level can meet)."""
    if not _package(model) or not model.history:
        return []
    first = model.history[0].open_issues
    return [i for i, name in enumerate(model.setup.issues)
            if name not in first and model.status[0, i] == ItemStatus.PARKED]


def _status_words(model: NegotiationRound, status: ItemStatus) -> str:
    if status == ItemStatus.PENDING and not model.running:
        return "cut short"
    return STATUS_WORDS[status]


def draw_item(ax: Axes, model: NegotiationRound, item: int) -> None:
    """One issue over the minutes it was discussed, against each side's red line
    (dashed), the zone of agreement shaded: item by item, each side's offers and the
    mediator's texts (black dots); in a package round, the package text's value on the
    issue (black; none where the mediator saw no zone). The end is marked (a star
    where agreed)."""
    setup, issue = model.setup, model.setup.issues[item]
    k_lo, k_hi = setup.zone_lo[0, item], setup.zone_hi[0, item]
    if k_lo <= k_hi:
        ax.axhspan(k_lo * setup.step[item], k_hi * setup.step[item], color="0.88",
                   label="zone of agreement")
    if _package(model):
        records = [r for r in model.history if issue in r.open_issues]
    else:
        records = [r for r in model.history if r.item == issue]
    minutes = np.array([r.minute for r in records])
    first, last = minutes.min(), minutes.max()
    for p, name in enumerate(setup.party_names):
        colour = PARTY_COLOURS[p % len(PARTY_COLOURS)]
        if not _package(model):
            ax.plot(minutes, [r.offers[p] for r in records], drawstyle="steps-post",
                    marker=".", markersize=4, color=colour, label=f"{name}: offer")
        ax.axhline(setup.red_line[0, p, item], color=colour, linestyle="--",
                   label=f"{name}: red line")
    if _package(model):
        values = [r.text[item] for r in records]
        ax.plot(minutes, values, drawstyle="steps-post", marker=".", markersize=4,
                color="black", label=f"{setup.mediator_name}: package text")
        if np.isnan(values).all():
            ax.text(0.5, 0.5, f"no text: {setup.mediator_name} saw no zone", ha="center",
                    va="center", transform=ax.transAxes, fontsize=8, color="0.4")
    else:
        texts = [(r.minute, r.proposal) for r in records if r.proposal is not None]
        if texts:
            ax.plot(*zip(*texts, strict=True), "o", color="black", markersize=3,
                    label=f"{setup.mediator_name}: text")
    _, _, status = issue_span(model, item)
    if status == ItemStatus.AGREED:
        ax.plot([last], [model.value[0, item]], "*", color="tab:green", markersize=14,
                label="agreed")
    words = _status_words(model, status) + ("" if k_lo <= k_hi else " (no zone)")
    spec = setup.specs[item]
    ax.set_title(f"{spec.label}: {words}", fontsize=10)
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
    """The agenda over the round: one bar per issue from when it was opened (item by
    item) or entered the package text to when it was closed, coloured by what became
    of it; the openings and the mediator's caucuses shaded."""
    setup = model.setup
    labels = []
    rows = [(item, *issue_span(model, item)) for item in issues_reached(model)]
    rows += [(item, None, None, ItemStatus.PARKED) for item in blocked_issues(model)]
    for row, (item, start, end, status) in enumerate(rows):
        if start is None:  # parked before the package's first text
            start = end = int(model.plenary_start[0])
            ax.text(start + 0.5, row, "parked at the opening (linkage)", va="center",
                    fontsize=8)
        else:
            ax.barh(row, end - start, left=start, color=STATUS_COLOURS[status], height=0.6)
            ax.text(end + 0.5, row, _status_words(model, status), va="center", fontsize=8)
        labels.append(setup.specs[item].label)
    opening = float(setup.opening_minutes[0])
    plenary = float(model.plenary_start[0])
    top = max(len(labels) - 1, 0)
    if opening:
        ax.axvspan(0, opening, color="0.92")
        ax.text(opening / 2, top, "opening", ha="center", va="center", fontsize=7, color="0.4")
    if plenary > opening:
        ax.axvspan(opening, plenary, color="0.85")
        ax.text((opening + plenary) / 2, top, "caucuses", ha="center", va="center",
                fontsize=7, color="0.3")
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_ylim(len(labels) - 0.4 if labels else 0.6, -1.2)
    limit = model.minute if model.running else float(model.duration[0])
    ax.set_xlim(0, max(limit, plenary + 1) + 8)
    ax.set_xlabel("minute", fontsize=8)
    if not model.running:
        ax.axvline(float(model.duration[0]), color="black", linewidth=0.8)
        if model.walkout_party[0] >= 0:
            name = setup.party_names[model.walkout_party[0]]
            ax.text(float(model.duration[0]), -0.9, f" {name} walks out", fontsize=8,
                    color="tab:red", va="center")
    ax.set_title("the package's issues over time" if _package(model) else "agenda over time",
                 fontsize=10)
    ax.tick_params(labelsize=8)


def round_figure(model: NegotiationRound, title: str = "") -> Figure:
    """Offers (or package texts) against red lines for every issue reached, and the
    agenda's timeline."""
    reached = issues_reached(model)
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
    fig = Figure(figsize=(10, 6.2), layout="constrained")
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
    # the title over the whole figure and the legend under it: neither overlaps the
    # other however long the scenario's name and the levers' labels
    fig.suptitle(f"What would it take: {target}\n{result.scenario_name}, "
                 f"{result.runs:,} rounds per point, common random numbers", fontsize=10)
    rest = len(result.results) - len(drawn)
    if rest:
        ax.plot([], [], " ", label=f"({rest} other levers: less effect, not drawn)")
    fig.legend(fontsize=8, loc="outside lower center", ncols=2, frameon=False)
    return fig
