"""The Pareto frontier of a package round, in the utility plane of two sides.

A side's utility of a package is the salience-weighted mean of its issue utilities
(``rules.mean_utility``: linear from its red line, 0, to its ideal, 1): additive over
issues, so the achievable set of the lattice of the open issues is the Minkowski sum of
each issue's set of utility pairs, and its upper-right boundary — the Pareto frontier
(Raiffa 1982, ch. 10: the efficient frontier of integrative bargaining) — is found
issue by issue: the frontier of a sum lies in the sum of the frontiers, so each step
adds one issue's undominated pairs to the frontier so far and prunes what is dominated.
That is exact on the lattice (``Frontier.exact``). Where the candidates grow past
``LIMIT``, the frontier is instead traced by a sweep of weights: each weighted sum of
the two utilities is maximised issue by issue (separable), which finds the supported
points, the vertices of the frontier's concave hull, and the figure says so.

``frontier_figure`` draws the frontier with the package protocol's agreement, the Nash
point (``package.target`` on the true red lines and reservations, with no mediator's
pull: Nash 1950, Kalai 1977), each side's BATNA as a line, and the sequential protocol's
deal for the same replicate: the comparison of issue 12's logrolling test.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from sim.fileio import make_folder, write_atomically
from sim.model import package, rules
from sim.model.agents import ItemStatus
from sim.model.round import NegotiationRound
from sim.viz.style import DPI, GREY, MARKERS, PALETTE, house_style, new_figure

#: Most candidate pairs (frontier so far x one issue's pairs) for the exact frontier.
LIMIT = 2_000_000
#: Weights of the sweep where the exact frontier would be too large.
SWEEP = 1001
#: Largest lattice drawn point by point beneath the frontier (the achievable set).
DRAWN = 40_000
#: Characters of a title line at 11 points across the 7.2-inch figure.
TITLE_WIDTH = 80
TOLERANCE = 1e-12


@dataclass(frozen=True)
class Frontier:
    """The frontier of the lattice of ``issues`` in the plane of ``sides``: ``points``
    ``(k, 2)`` sorted by the first side's utility; ``exact`` (every lattice point
    considered) or traced by a sweep of weights; ``size``, the number of lattice points."""

    sides: tuple[int, int]
    issues: tuple[int, ...]
    points: np.ndarray
    exact: bool
    size: int


def undominated(points: np.ndarray) -> np.ndarray:
    """The points ``(n, 2)`` no other point weakly beats on both coordinates (and
    beats on one), once each, sorted by the first coordinate."""
    if not len(points):
        return points.reshape(0, 2)
    order = np.lexsort((-points[:, 1], -points[:, 0]))  # first desc, then second desc
    ordered = points[order]
    best = np.maximum.accumulate(ordered[:, 1])
    keep = np.ones(len(ordered), dtype=bool)
    keep[1:] = ordered[1:, 1] > best[:-1] + TOLERANCE
    return ordered[keep][::-1]


def lattice(model: NegotiationRound, issue: int) -> np.ndarray:
    """The values an agreement can take on ``issue``: its lattice inside every side's
    true red line (the zone of agreement; empty where there is none)."""
    setup = model.setup
    k_lo, k_hi = int(setup.zone_lo[0, issue]), int(setup.zone_hi[0, issue])
    return np.arange(k_lo, k_hi + 1) * setup.step[issue]


def shares(model: NegotiationRound, side: int, issues: tuple[int, ...], issue: int,
           values: np.ndarray) -> np.ndarray:
    """Side ``side``'s utility from ``values`` of ``issue``, as its share of a package
    over ``issues`` (its weight on the issue over its weight on the package)."""
    setup = model.setup
    weights = setup.weight[0, side, list(issues)]
    u = rules.utility(values, setup.ideal[0, side, issue], setup.red_line[0, side, issue],
                      setup.wants[side, issue])
    return setup.weight[0, side, issue] * u / max(weights.sum(), rules.EPS)


def utilities(model: NegotiationRound, sides: tuple[int, int], issues: tuple[int, ...],
              text: np.ndarray) -> tuple[float, float]:
    """The two sides' utilities of a package ``text`` ``(I,)`` over ``issues``
    (``rules.mean_utility``, as ``Delegation.package_value`` judges it)."""
    setup = model.setup
    mask = np.zeros(len(setup.issues), dtype=bool)
    mask[list(issues)] = True
    return tuple(float(rules.mean_utility(np.asarray(text, dtype=float), setup.ideal[0, s],
                                          setup.red_line[0, s], setup.wants[s],
                                          setup.weight[0, s], mask)) for s in sides)


def pareto_frontier(model: NegotiationRound, sides: tuple[int, int], issues: tuple[int, ...],
                    limit: int | None = None) -> Frontier:
    """The Pareto frontier of the lattice of ``issues`` for ``sides``: exact, issue by
    issue, while the candidates stay within ``limit`` (``LIMIT``); else by a sweep of
    weights."""
    limit = LIMIT if limit is None else limit
    pairs = [np.stack([shares(model, s, issues, i, lattice(model, i)) for s in sides], axis=1)
             for i in issues]
    size = int(np.prod([len(p) for p in pairs])) if pairs else 0
    if not size:
        return Frontier(sides, issues, np.zeros((0, 2)), True, 0)
    frontier = np.zeros((1, 2))
    for p in pairs:
        own = undominated(p)
        if len(frontier) * len(own) > limit:
            return Frontier(sides, issues, _sweep(pairs), False, size)
        frontier = undominated((frontier[:, None, :] + own[None, :, :]).reshape(-1, 2))
    return Frontier(sides, issues, frontier, True, size)


def _sweep(pairs: list[np.ndarray]) -> np.ndarray:
    """The supported points: for each weight ``w`` in [0, 1], the lattice point that
    maximises ``w u_1 + (1 - w) u_2``, issue by issue (a weight of exactly 0 or 1 keeps
    a sliver of the other side's utility, so that ties go to the undominated point)."""
    weights = np.clip(np.linspace(0.0, 1.0, SWEEP), 1e-9, 1 - 1e-9)
    total = np.zeros((SWEEP, 2))
    for p in pairs:
        score = weights[:, None] * p[None, :, 0] + (1 - weights[:, None]) * p[None, :, 1]
        total += p[np.argmax(score, axis=1)]
    return undominated(total)


def achievable(model: NegotiationRound, sides: tuple[int, int], issues: tuple[int, ...]
               ) -> np.ndarray | None:
    """Every lattice point's utility pair, where there are at most ``DRAWN``."""
    pairs = [np.stack([shares(model, s, issues, i, lattice(model, i)) for s in sides], axis=1)
             for i in issues]
    if not pairs or np.prod([len(p) for p in pairs]) > DRAWN:
        return None
    total = np.zeros((1, 2))
    for p in pairs:
        total = (total[:, None, :] + p[None, :, :]).reshape(-1, 2)
    return total


def nash_text(model: NegotiationRound, issues: tuple[int, ...]) -> np.ndarray:
    """The Nash point of the package over ``issues`` (``package.target``) on the true
    red lines and reservations, with no mediator's pull: ``(I,)``, NaN elsewhere."""
    setup = model.setup
    open_ = np.zeros((1, len(setup.issues)), dtype=bool)
    open_[0, list(issues)] = True
    return package.target(
        setup.zone_lo[:1], setup.zone_hi[:1], setup.step, setup.ideal[:1], setup.red_line[:1],
        setup.wants, setup.weight[:1], open_, model.reserve[:1], setup.power[:1],
        np.zeros(1), setup.pull_ideal, setup.pull_weight, setup.span)[0]


def plane_issues(model: NegotiationRound) -> tuple[int, ...]:
    """The issues of the plane: those of the package agreed; failing an agreement, those
    of the first text that have a zone by the true red lines (else every such issue)."""
    setup = model.setup
    agreed = np.flatnonzero(model.status[0] == ItemStatus.AGREED)
    if agreed.size:
        return tuple(int(i) for i in agreed)
    zone = setup.zone_lo[0] <= setup.zone_hi[0]
    first = model.history[0].open_issues if model.history and model.history[0].open_issues \
        else setup.issues
    chosen = tuple(i for i, name in enumerate(setup.issues) if name in first and zone[i])
    return chosen or tuple(int(i) for i in np.flatnonzero(zone))


@dataclass(frozen=True)
class Deal:
    """A protocol's deal in the plane, or why it is not a point of it."""

    label: str
    point: tuple[float, float] | None
    note: str = ""


def deal_of(model: NegotiationRound, sides: tuple[int, int], issues: tuple[int, ...],
            label: str) -> Deal:
    """``model``'s agreement on ``issues`` as a point of the plane (None where it did
    not agree all of them)."""
    setup = model.setup
    agreed = [i for i in issues if model.status[0, i] == ItemStatus.AGREED]
    if len(agreed) < len(issues):
        note = (f"{label}: agreed {len(agreed)} of these {len(issues)} issues "
                "(not a point of this plane)")
        return Deal(label, None, note)
    minute = int(np.nanmax(model.agreed_minute[0, list(issues)]))
    text = np.where(np.isin(np.arange(len(setup.issues)), issues), model.value[0], np.nan)
    return Deal(f"{label} (minute {minute})", utilities(model, sides, issues, text))


def frontier_figure(package_round: NegotiationRound, sequential_round: NegotiationRound,
                    sides: tuple[int, int], title: str = "") -> Figure:
    """The frontier of ``package_round``'s plane with its agreement, the Nash point,
    the sides' BATNAs and ``sequential_round``'s deal (the same replicate, item by
    item). Both rounds are one recorded replicate."""
    model = package_round
    setup = model.setup
    names = [setup.party_names[s] for s in sides]
    issues = plane_issues(model)
    with house_style():
        fig = new_figure(7.2, 6.4)
        ax = fig.add_subplot()
        if not issues:
            ax.text(0.5, 0.5, "No issue has a zone of agreement by the true red lines:\n"
                    "there is no frontier to draw.", ha="center", va="center",
                    transform=ax.transAxes, color=GREY)
            ax.set_axis_off()
            fig.suptitle(title or "Pareto frontier")
            return fig
        _draw(ax, model, sequential_round, sides, issues, names)
        labels = ", ".join(setup.specs[i].label for i in issues)
        left = [setup.specs[i].label for i in range(len(setup.issues)) if i not in issues]
        what = "the package agreed" if (model.status[0] == ItemStatus.AGREED).any() else \
            "the open issues"
        lines = ([title] if title else []) + [f"Pareto frontier of {what}: {labels}"] + (
            [f"(not in the plane: {', '.join(left)})"] if left else [])
        # issue labels come from the scenario: wrapped to the figure's width
        fig.suptitle("\n".join(textwrap.fill(line, TITLE_WIDTH) for line in lines),
                     fontsize=11)
    return fig


def _draw(ax, model, sequential_round, sides, issues, names) -> None:
    setup = model.setup
    frontier = pareto_frontier(model, sides, issues)
    cloud = achievable(model, sides, issues)
    if cloud is not None:
        ax.scatter(cloud[:, 0], cloud[:, 1], s=4, color="#cccccc", linewidths=0,
                   label=f"every agreement on the lattice ({len(cloud):,})", rasterized=True)
    how = (f"exact: every one of the {frontier.size:,} lattice points" if frontier.exact else
           f"supported points: a sweep of {SWEEP:,} weights ({frontier.size:,} lattice points)")
    points = frontier.points
    ax.plot(points[:, 0], points[:, 1], color=PALETTE[0], marker=MARKERS[0], markersize=3,
            linewidth=1.4, label=f"Pareto frontier ({how})")
    deals = [deal_of(model, sides, issues, f"{setup.protocol.value} deal"),
             deal_of(sequential_round, sides, issues,
                     f"{sequential_round.setup.protocol.value} deal")]
    # drawn smallest last, the Nash point as a ring: where they coincide all show
    for k, deal in enumerate(deals):
        if deal.point is not None:
            ax.plot(*deal.point, linestyle="none", marker=("*", MARKERS[1])[k],
                    markersize=(17, 9)[k], color=PALETTE[1 + 2 * k], markeredgecolor="black",
                    label=deal.label, zorder=4 + k)
        else:
            ax.plot([], [], " ", label=deal.note)
    nash = utilities(model, sides, issues, nash_text(model, issues))
    ax.plot(*nash, linestyle="none", marker=MARKERS[3], markersize=20, markerfacecolor="none",
            markeredgecolor=PALETTE[2], markeredgewidth=2.2, label="Nash point (true red lines)",
            zorder=6)
    for axis, (side, name) in enumerate(zip(sides, names, strict=True)):
        batna, reserve = float(setup.batna[0, side]), float(model.reserve[0, side])
        label = f"{name}'s BATNA {batna:.2f}" + (
            f" ({reserve:.2f} with the levers)" if abs(batna - reserve) > 1e-12 else "")
        line = ax.axvline if axis == 0 else ax.axhline
        line(reserve, color=GREY, linestyle=("--", ":")[axis], linewidth=1.2, label=label)
    ax.set_xlabel(f"utility to {names[0]} (0 at its red lines, 1 at its ideals)")
    ax.set_ylabel(f"utility to {names[1]}")
    low = min(0.0, float(points[:, 0].min()), float(points[:, 1].min()))
    ax.set_xlim(low - 0.03, 1.03)
    ax.set_ylim(low - 0.03, 1.03)
    ax.set_aspect("equal")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=1, frameon=False,
              fontsize=8.5, markerscale=0.6)


def save(fig: Figure, path: str | Path) -> Path:
    """Write the figure (PNG or SVG, by the file's suffix) atomically."""
    path = Path(path)
    make_folder(path.parent)
    fmt = path.suffix[1:].lower() or "png"
    options = {"pil_kwargs": {"compress_level": 1}} if fmt == "png" else {
        "metadata": {"Date": None}}
    with house_style():
        write_atomically(path, partial(fig.savefig, format=fmt, dpi=DPI, facecolor="white",
                                       **options))
    return path
