"""The debrief's figure: a played outcome on the utility plane of the two main sides,
with the Pareto frontier of what they could reach, the Nash point, each side's BATNA
and the cloud of the model's own rounds (the agents in every seat); and the class's
games on the same plane (``negsim class-report``).

The numbers come from ``sim.teach.utility_plane`` (via the debrief); this module only
draws them, in the house style (``sim.viz.style``).
"""

from __future__ import annotations

import textwrap

import numpy as np
from matplotlib.figure import Figure

from sim.viz.style import GREY, PALETTE, new_figure


def _plane(ax, sides: list[str], frontier: np.ndarray, batnas: list[float] | None,
           cloud: np.ndarray, nash: list[float] | None) -> None:
    """What every utility plane shows: the model's cloud, the frontier, BATNAs, Nash."""
    if len(cloud):
        ax.scatter(cloud[:, 0], cloud[:, 1], s=14, color=PALETTE[5], alpha=0.35,
                   marker="o", linewidths=0, label="the model's rounds (agents in every seat)")
    if len(frontier):
        # the points reached and, between them, the edge of what they dominate
        ax.step(frontier[:, 0], frontier[:, 1], where="pre", color=PALETTE[0],
                linestyle="-", linewidth=1.4, marker="o", markersize=3,
                label="Pareto frontier (what they could reach)")
    if batnas is not None:
        ax.axvline(batnas[0], color=GREY, linestyle="--", linewidth=1.0,
                   label=f"BATNAs ({sides[0]} {batnas[0]:.2f}, {sides[1]} {batnas[1]:.2f})")
        ax.axhline(batnas[1], color=GREY, linestyle="--", linewidth=1.0)
    if nash is not None:
        ax.plot([nash[0]], [nash[1]], marker="D", color=PALETTE[2], linestyle="none",
                markersize=8, label="Nash point")
    ax.set_xlabel(f"{sides[0]}: utility (0 every red line, 1 every ideal)")
    ax.set_ylabel(f"{sides[1]}: utility")


def debrief_figure(title: str, sides: list[str], frontier: np.ndarray, batnas: list[float],
                   cloud: np.ndarray, nash: list[float], point: list[float],
                   seat: str) -> Figure:
    """One game: its outcome (a star) among the model's rounds."""
    fig = new_figure(7.0, 5.2)
    ax = fig.add_subplot()
    _plane(ax, sides, frontier, batnas, cloud, nash)
    ax.plot([point[0]], [point[1]], marker="*", color=PALETTE[1], markersize=16,
            linestyle="none", label=f"your outcome ({seat})")
    ax.set_title(textwrap.fill(title, 70))
    fig.legend(loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    return fig


def class_figure(title: str, sides: list[str], frontier: np.ndarray,
                 batnas: list[float] | None, cloud: np.ndarray, games: dict[str, np.ndarray]
                 ) -> Figure:
    """A class's games (``games``: seat -> ``(k, 2)`` points) among the model's rounds,
    each seat with its own colour and marker (games of different seeds hold different
    parameters: no one frontier or BATNA fits them all, so pass none)."""
    fig = new_figure(7.0, 5.2)
    ax = fig.add_subplot()
    _plane(ax, sides, frontier, batnas, cloud, None)
    for k, (seat, points) in enumerate(sorted(games.items())):
        ax.plot(points[:, 0], points[:, 1], marker=("*", "P", "X", "v")[k % 4],
                color=PALETTE[(1 + k) % len(PALETTE)], markersize=11, linestyle="none",
                label=f"students as {seat}")
    ax.set_title(textwrap.fill(title, 70))
    fig.legend(loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    return fig
