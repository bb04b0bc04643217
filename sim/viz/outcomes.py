"""The figures of a batch (or of several, side by side): data in, ``Figure`` out.

- ``event_probabilities``: each event's probability with its 95% Wilson interval;
- ``outcome_distributions``: the value agreed on each count and share issue, and the
  duration, with what the scenario reports of real rounds marked;
- ``round_timeline``: the share of rounds in which each event holds by minute t;
- ``zone_of_agreement``: per issue, each side's ideal and red line (their spread over
  a sample of the scenario's parameter draws), the zone between them, and where the
  agreements landed.

Each takes one ``RunResults`` per scenario; given several it draws them side by side
(or overlaid, told apart by colour and marker or line style) for ``negsim compare``.
Every figure's title names the scenarios and their numbers of simulated rounds.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter, StrMethodFormatter

from sim.batch.results import RunResults, count_at_most, timed_events
from sim.model.parameters import RoundSetup
from sim.scenario.spec import IssueSpec, Observed
from sim.stats.numbers import DASH, percent, percent_interval
from sim.stats.tally import ExactHistogram
from sim.viz.style import (
    GREY,
    HATCHES,
    PALETTE,
    house_style,
    legend_columns,
    new_figure,
    note,
    percent_axis,
    run_title,
    series_style,
    typographic,
)

#: How the observed rounds are marked, in the order they first appear: (colour, line
#: style, hatch); kept apart from the first scenarios' colours.
ROUND_MARKS = (("#E69F00", "--", "//"), ("#CC79A7", ":", "\\\\"), ("#009E73", "-.", "xx"),
               ("#56B4E9", (0, (1, 2)), ".."))

_THOUSANDS = "{x:,.0f}"


def event_label(run: RunResults, name: str) -> str:
    """An event's label from the summary, with typographic signs."""
    return typographic(run.summary["events"][name]["label"])


def _spec(runs: Sequence[RunResults], issue: str) -> IssueSpec | None:
    """The definition of ``issue`` in the first scenario that has it."""
    for run in runs:
        if run.scenario is not None:
            for spec in run.scenario.issues:
                if spec.name == issue:
                    return spec
    return None


def _issue_of(column: str) -> str | None:
    return column[: -len("_value")] if column.endswith("_value") else None


def _label(runs: Sequence[RunResults], issue: str) -> str:
    spec = _spec(runs, issue)
    return spec.label if spec is not None else issue.replace("_", " ")


def _title(figure: Figure, runs: Sequence[RunResults], what: str) -> None:
    figure.suptitle(run_title([(r.name, r.runs) for r in runs]) + "\n" + what)


# ----------------------------------------------------------------------------- events
def event_probabilities(runs: Sequence[RunResults]) -> Figure:
    """Each event's probability with its 95% Wilson interval, one row per event and
    (given several runs) one marker per scenario; behind it, where the batch drew from a
    posterior, a pale band from the 10th to the 90th percentile of the probability
    across draws; events off a round's agenda are said so, not drawn as zero."""
    names = list(dict.fromkeys(name for run in runs for name in run.summary["events"]))
    k_runs = len(runs)
    with house_style():
        figure = new_figure(9, 1.4 + len(names) * (0.3 + 0.16 * k_runs))
        ax = figure.add_subplot()
        # the first scenario on top, the others below it, as the legend lists them
        offsets = ((k_runs - 1) / 2 - np.arange(k_runs)) * (0.7 / max(k_runs, 1))
        for row, name in enumerate(names):
            off = [run.name for run in runs
                   if not run.summary["events"].get(name, {}).get("on_agenda", False)]
            if off:
                ax.text(0.5, len(names) - 1 - row, "not on the agenda" + (
                    "" if len(off) == k_runs else " of " + "; ".join(off)), va="center",
                    ha="left", color=GREY, fontsize=8.5, style="italic")
        drawn = False
        for k, run in enumerate(runs):
            style = series_style(k)
            rows, estimates, lows, highs = [], [], [], []
            for row, name in enumerate(names):
                y = len(names) - 1 - row + offsets[k]
                event = run.summary["events"].get(name)
                if event is None or not event["on_agenda"]:
                    continue
                lo, hi = event["ci95"]
                rows.append(y)
                estimates.append(event["p"])
                lows.append(lo)
                highs.append(hi)
                if event.get("parameter_p10") is not None:
                    # the range across posterior draws: a pale band behind the interval
                    drawn = True
                    ax.hlines(y, 100 * event["parameter_p10"], 100 * event["parameter_p90"],
                              color=style["color"], alpha=0.22, linewidth=7,
                              gid=f"across-draws:{name}")
                    lo = min(lo, event["parameter_p10"])
                    hi = max(hi, event["parameter_p90"])
                right = hi < 0.8
                ax.text(100 * hi + 1.5 if right else 100 * lo - 1.5, y,
                        f"{percent(event['p'])} ({percent_interval(*event['ci95'])})",
                        va="center", ha="left" if right else "right", fontsize=8.5,
                        color=style["color"])
            p = 100 * np.array(estimates)
            ax.errorbar(p, rows, xerr=[p - 100 * np.array(lows), 100 * np.array(highs) - p],
                        fmt=style["marker"], color=style["color"], markersize=6, capsize=3,
                        elinewidth=1.4, label=run.name)
        labels = {n: event_label(run, n) for run in reversed(runs) for n in run.summary["events"]}
        ax.set_yticks(range(len(names)), [labels[n] for n in reversed(names)])
        ax.set_ylim(-0.6, len(names) - 0.4)
        ax.set_xlim(0, 100)
        ax.xaxis.set_major_formatter(PercentFormatter())
        ax.set_xlabel("share of simulated rounds (point: estimate; bar: 95% Wilson interval"
                      + (";\npale band: 10-90% of the probability across posterior draws)" if drawn
                         else ")"))
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        if k_runs > 1:
            figure.legend(loc="outside lower center",
                          ncols=legend_columns([run.name for run in runs]))
        _title(figure, runs, "Probability of each outcome")
    return figure


# ----------------------------------------------------------------------- distributions
def _bin_edges(spec: IssueSpec | None, counts: list[ExactHistogram]) -> np.ndarray:
    """Bins on the issue's lattice (one bar per possible agreement, fewer where the
    values spread over more than 60 steps) or, for durations, whole minutes (wider
    where the range is long)."""
    low = min(c.values[0] for c in counts)
    high = max(c.values[-1] for c in counts)
    unit = spec.scale.step if spec is not None else 1.0
    width = unit * max(1.0, float(np.ceil((high - low + unit) / (60 * unit))))
    start = np.floor(low / width) * width
    return np.arange(start - width / 2, high + width, width)


def _bars(ax, edges: np.ndarray, heights: np.ndarray, colour: str) -> None:
    """A histogram's bars, a little narrower than their bins (the values are discrete),
    as one collection: far cheaper to draw than one patch per bar."""
    margin = 0.075 * np.diff(edges)
    left, right = edges[:-1] + margin, edges[1:] - margin
    shown = heights > 0
    verts = [((a, 0), (a, h), (b, h), (b, 0)) for a, b, h in
             zip(left[shown], right[shown], heights[shown], strict=True)]
    ax.add_collection(PolyCollection(verts, facecolors=colour, edgecolors="none"))
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylim(0, 1.05 * heights.max())


def _histograms(ax, runs: Sequence[RunResults], values: list[ExactHistogram],
                edges: np.ndarray) -> list:
    """Each run's values as a share per bin: bars for one run, outlines told apart by
    colour and line style for several. Their legend handles."""
    handles = []
    for k, (run, v) in enumerate(zip(runs, values, strict=True)):
        if not v.n:
            continue
        share = 100 * np.histogram(v.values, edges, weights=v.counts)[0] / v.n
        if len(runs) == 1:
            _bars(ax, edges, share, PALETTE[0])
            handles.append(Patch(color=PALETTE[0], label="simulated"))
            continue
        style = series_style(k)
        handles.append(ax.stairs(share, edges, color=style["color"], linewidth=1.8,
                                 linestyle=style["linestyle"], label=run.name))
    return handles


def _observed(runs: Sequence[RunResults], target: str) -> list[Observed]:
    """What the scenarios report of real rounds for ``target`` (an issue or the
    duration), without repeats."""
    seen = {}
    for run in runs:
        for obs in run.scenario.observed if run.scenario is not None else ():
            if obs.target == target:
                seen.setdefault((obs.round, obs.low, obs.high), obs)
    return list(seen.values())


def _round_names(runs: Sequence[RunResults]) -> list[str]:
    return list(dict.fromkeys(o.round for run in runs if run.scenario is not None
                              for o in run.scenario.observed))


def _shown(value: float, spec: IssueSpec | None) -> str:
    return spec.show(value) if spec is not None else f"{value:,.0f} minutes"


def _mark_observed(ax, runs: Sequence[RunResults], target: str,
                   spec: IssueSpec | None) -> list:
    """Draw what was reported of each round for this quantity; their legend handles."""
    handles = []
    rounds = _round_names(runs)
    for obs in _observed(runs, target):
        colour, linestyle, hatch = ROUND_MARKS[rounds.index(obs.round) % len(ROUND_MARKS)]
        reported = _shown(obs.low, spec) if obs.low == obs.high else (
            f"{_shown(obs.low, spec).split(' ')[0]}{DASH}{_shown(obs.high, spec)}")
        label = f"{obs.round}: {reported}"
        if obs.low == obs.high:
            ax.axvline(obs.low, color=colour, linestyle=linestyle, linewidth=2, zorder=3)
            handles.append(Line2D([], [], color=colour, linestyle=linestyle, linewidth=2,
                                  label=label))
        else:
            ax.axvspan(obs.low, obs.high, facecolor="none", edgecolor=colour, hatch=hatch,
                       linestyle=linestyle, linewidth=1.5, zorder=3)
            handles.append(Patch(facecolor="none", edgecolor=colour, hatch=hatch,
                                 linestyle=linestyle, label=label))
    return handles


def outcome_distributions(runs: Sequence[RunResults]) -> Figure:
    """Histograms of each quantity of the summary — the value agreed on each count and
    share issue (over the rounds that agreed it) and the duration — as a share of the
    rounds counted; what a scenario reports of real rounds (``[[observed]]``) is marked
    (a band where a range was reported)."""
    columns = list(dict.fromkeys(c for run in runs for c in run.summary["quantiles"]))
    labels = {c: q["label"] for run in reversed(runs) for c, q in run.summary["quantiles"].items()}
    with house_style():
        figure = new_figure(max(7.5, 3.7 * len(columns)), 4.4)
        axes = np.atleast_1d(figure.subplots(1, len(columns)))
        for ax, column in zip(axes, columns, strict=True):
            issue = _issue_of(column)
            spec = _spec(runs, issue) if issue else None
            label = labels[column]
            values = [run.quantity(column) for run in runs]
            if not any(v.n for v in values):
                on_agenda = issue is None or any(issue in r.agenda for r in runs)
                note(ax, f"{label}:\n" + ("agreed in no simulated round" if on_agenda
                                          else "not on the agenda"))
                continue
            edges = _bin_edges(spec, [v for v in values if v.n])
            series = _histograms(ax, runs, values, edges)
            target = issue or column
            marks = _mark_observed(ax, runs, target, spec)
            observed = _observed(runs, target)
            low = min([edges[0]] + [o.low for o in observed])
            high = max([edges[-1]] + [o.high for o in observed])
            pad = 0.04 * (high - low)
            ax.set_xlim(low - pad, high + pad)
            if spec is None or spec.scale.step >= 1:
                ax.xaxis.set_major_formatter(StrMethodFormatter(_THOUSANDS))
            percent_axis(ax.yaxis)
            ax.set_ylabel(f"share of {'rounds where agreed' if issue else 'all rounds'}")
            ax.set_xlabel("minutes" if issue is None else (spec.scale.unit or spec.label)
                          if spec is not None else issue)
            ax.set_title(label if len(runs) > 1 else f"{label}\n{values[0].n:,} rounds",
                         fontsize=9.5)
            shown = series + marks if len(runs) == 1 else marks
            if shown:
                ax.legend(handles=shown, loc="upper center", bbox_to_anchor=(0.5, -0.2),
                          fontsize=8.5, frameon=False)
        if len(runs) > 1:  # the scenarios once, for all panels
            figure.legend(handles=[Line2D([], [], linewidth=1.8, label=run.name,
                                          color=series_style(k)["color"],
                                          linestyle=series_style(k)["linestyle"])
                                   for k, run in enumerate(runs)],
                          loc="outside lower center",
                          ncols=legend_columns([run.name for run in runs]))
        rounds = _round_names(runs)
        what = "Distribution of outcomes" + (
            f", with {' and '.join(rounds)} as reported" if rounds else "")
        _title(figure, runs, what)
    return figure


# --------------------------------------------------------------------------- timeline
def round_timeline(runs: Sequence[RunResults]) -> Figure:
    """One panel per scenario: for each event that reads one issue, the share of rounds
    in which it holds with that issue agreed by minute t (so each line ends at the
    event's probability in the table), and the share of rounds already over. Events
    that never happen are named in the panel instead of drawn flat on zero."""
    last = max(run.quantity("duration_minutes").values[-1] for run in runs)
    minutes = np.arange(0, int(np.ceil(last)) + 2)
    with house_style():
        figure = new_figure(max(8.5, 5.2 * len(runs)), 5.4)
        axes = figure.subplots(1, len(runs), sharey=True, squeeze=False)[0]
        handles: dict[str, Line2D] = {}
        names = list(dict.fromkeys(e.name for run in runs if run.scenario is not None
                                   for e in timed_events(run.scenario)))
        for ax, run in zip(axes, runs, strict=True):
            never = []
            for name in names:
                event = run.summary["events"].get(name)
                share = run.event_by(name, minutes)
                if share is None or event is None or not event["on_agenda"]:
                    continue
                label = event_label(run, name)
                if share[-1] == 0:
                    never.append(label)
                    continue
                style = series_style(names.index(name))
                (line,) = ax.step(minutes, 100 * share, where="post", color=style["color"],
                                  linestyle=style["linestyle"], marker=style["marker"],
                                  markevery=10, markersize=5, linewidth=1.8, label=label)
                handles.setdefault(name, line)
            over = count_at_most(run.quantity("duration_minutes"), minutes) / max(run.rows, 1)
            (ended,) = ax.step(minutes, 100 * over, where="post",
                               color=GREY, linewidth=3, alpha=0.6, label="round over")
            handles.setdefault("round over", ended)
            if never:
                ax.text(0.02, 0.97, "never: " + "; ".join(never), transform=ax.transAxes,
                        va="top", ha="left", fontsize=8.5, color=GREY, wrap=True)
            ax.set_xlim(0, minutes[-1])
            ax.set_ylim(0, 102)
            percent_axis(ax.yaxis)
            ax.set_xlabel("minute of the round")
            ax.grid(color="#e5e5e5", linewidth=0.6)
            ax.set_axisbelow(True)
            if len(runs) > 1:
                ax.set_title(f"{run.name}\n({run.runs:,} rounds)", fontsize=9.5)
        axes[0].set_ylabel("share of rounds in which the event holds by minute t")
        figure.legend(handles=list(handles.values()), loc="outside lower center",
                      ncols=min(len(handles), 3))
        _title(figure, runs, "How a round unfolds: each event as its item is agreed")
    return figure


# -------------------------------------------------------------------- zone of agreement
def _spread(values: np.ndarray) -> tuple[float, float, float]:
    """5th percentile, median and 95th percentile over the draws."""
    p05, p50, p95 = np.percentile(values, [5, 50, 95])
    return float(p05), float(p50), float(p95)


def _issue_axis(ax, spec: IssueSpec, extent: list[float]) -> None:
    """The issue's scale: levels named for ordinal and yes/no issues, the conditions
    scale for a compound issue, a window around the positions for counts and shares."""
    scale = spec.scale
    if spec.levelled:
        ax.set_xticks(range(len(spec.levels)),
                      [textwrap.fill(level, 18) for level in spec.levels], fontsize=8)
        ax.set_xlim(-0.35, len(spec.levels) - 0.65)
    elif spec.compound:
        pad = 0.03 * (scale.maximum - scale.minimum)
        ax.set_xlim(scale.minimum - pad, scale.maximum + pad)
        ax.set_xlabel(f"{scale.label}" + (f" ({scale.unit})" if scale.unit else ""),
                      fontsize=8.5)
    else:
        low, high = min(extent), max(extent)
        pad = max(scale.step, 0.06 * (high - low))
        ax.set_xlim(max(scale.minimum, low - pad), min(scale.maximum, high + pad))
        if scale.step >= 1:
            ax.xaxis.set_major_formatter(StrMethodFormatter(_THOUSANDS))


def _zone_rows(setup: RoundSetup, i: int) -> list[tuple[str, int, np.ndarray]]:
    """The rows of an issue's panel: (label, party, which draws). A compound issue's
    conditions differ by the level put, so it gets a row per side for each level
    whose conditions occur (where no level could be put, those of
    ``contested_from_level`` are shown, as ``realise`` holds them)."""
    spec = setup.specs[i]
    everyone = np.ones(setup.replicates, dtype=bool)
    groups = [("", everyone)]
    if spec.compound:
        shown = min(spec.contested_from_level, spec.top_level)
        level = np.where(setup.level[:, i] == 0, shown, setup.level[:, i])
        groups = [(spec.levels[k], level == k) for k in range(spec.top_level, 0, -1)
                  if (level == k).any()]
    return [(f"{party} ({label})" if label else party, p, mask)
            for label, mask in groups for p, party in enumerate(setup.party_names)]


def _panel_title(run: RunResults, setup: RoundSetup, i: int) -> str:
    """What a panel's numbers say: how often a zone exists and an agreement is reached,
    and what else decides the issue (a compound issue's level, a side's linkage)."""
    spec = setup.specs[i]
    share_zone = float((setup.zone_lo[:, i] <= setup.zone_hi[:, i]).mean())
    share_agreed = run.agreed_share(spec.name)
    text = (f"{spec.label}: zone in {percent(share_zone)} of draws; agreed (at any value) in "
            f"{percent(share_agreed)} of rounds")
    if spec.compound:
        levels = np.bincount(setup.level[:, i], minlength=len(spec.levels))
        put = ", ".join(f"{name} {percent(count / setup.replicates)}"
                        for name, count in zip(spec.levels, levels, strict=True) if count)
        text += f"\nlevel the mediator could put: {put}"
    for party, linked, requires, at_least in setup.linkage:
        if linked == i:
            needed = setup.specs[requires]
            shown = needed.level_name(at_least) if needed.compound or needed.levelled else (
                needed.show(at_least))
            text += (f"\n{setup.party_names[party]} agrees only once {needed.label} "
                     f"\u2265 {shown} is agreed")
    return text


def _zone_panel(ax, run: RunResults, setup: RoundSetup, i: int) -> None:
    """One issue of one scenario: each side's range from red line to ideal, the zone
    of agreement and the agreements."""
    spec = setup.specs[i]
    step = setup.step[i]
    rows = _zone_rows(setup, i)
    ys = np.arange(len(rows), 0, -1, dtype=float)
    colours = [PALETTE[p % len(PALETTE)] for _, p, _ in rows]
    ideal = np.array([_spread(setup.ideal[mask, p, i]) for _, p, mask in rows])
    red = np.array([_spread(setup.red_line[mask, p, i]) for _, p, mask in rows])
    bars = ax.barh(ys, ideal[:, 1] - red[:, 1], left=red[:, 1], height=0.5, color=colours,
                   alpha=0.22, edgecolor=colours, linewidth=0.8)
    for bar, (_, p, _) in zip(bars, rows, strict=True):
        bar.set_hatch(HATCHES[(p + 1) % len(HATCHES)])
    # the spread of each: ideal's just above the row's centre, red line's just below,
    # so that overlapping spreads stay apart
    for spread, dy, marker, size, width in ((ideal, 0.09, "o", 36, 1.0),
                                            (red, -0.09, "|", 260, 3.0)):
        y = ys + dy
        ax.hlines(y, spread[:, 0], spread[:, 2], colors=colours, linewidth=1.4, zorder=4)
        ax.scatter(np.r_[spread[:, 0], spread[:, 2]], np.r_[y, y], c=colours + colours,
                   marker="|", s=40, linewidths=1.4, zorder=4)
        ax.scatter(spread[:, 1], y, c=colours, marker=marker, s=size, linewidths=width,
                   zorder=5)
    extent = [*ideal[:, [0, 2]].ravel(), *red[:, [0, 2]].ravel()]
    has_zone = setup.zone_lo[:, i] <= setup.zone_hi[:, i]
    if has_zone.any():
        lo = float(np.median(setup.zone_lo[has_zone, i])) * step
        hi = float(np.median(setup.zone_hi[has_zone, i])) * step
        ax.axvspan(lo - step * 0.25, hi + step * 0.25, color="#999999", alpha=0.25, zorder=0,
                   linewidth=0)
    agreements = run.agreed_values(spec.name)
    if agreements.n:
        levels, counts = agreements.values, agreements.counts
        width = 0.5 if spec.levelled else step * 0.7
        ax.bar(levels, 0.75 * counts / counts.max(), bottom=-0.375, width=width,
               color="#333333", zorder=3)
        extent += [float(levels.min()), float(levels.max())]
    else:
        ax.text(0.5, 0, "none", transform=ax.get_yaxis_transform(), ha="center",
                va="center", color=GREY, style="italic")
    ax.set_title(_panel_title(run, setup, i), fontsize=8.5, loc="left")
    ax.set_yticks([*range(len(rows), 0, -1), 0], [label for label, _, _ in rows] + ["agreed"])
    ax.set_ylim(-0.6, len(rows) + 0.6)
    _issue_axis(ax, spec, extent)


def zone_of_agreement(runs: Sequence[RunResults], setups: Sequence[RoundSetup]) -> Figure:
    """Per issue (rows) and scenario (columns): each side's ideal and red line — the
    median draw as a marker, the 5-95% spread over ``setups`` (a sample of the
    scenario's parameter draws) as a bar — the band between them each side accepts,
    the zone where those bands overlap (grey; the median zone over the draws with one)
    and where the agreements landed (black bars, height: share of the agreements on
    that issue; the panel's title says how often it was agreed at all)."""
    issues = list(dict.fromkeys(issue for run in runs for issue in run.agenda))
    with house_style():
        heights = [max(len(_zone_rows(s, s.issues.index(issue))) + 1 if issue in s.issues
                       else 2 for s in setups) for issue in issues]
        figure = new_figure(max(9.0, 6.0 * len(runs)),
                            1.2 + sum(0.5 * h + 0.95 for h in heights))
        axes = figure.subplots(len(issues), len(runs), squeeze=False,
                               gridspec_kw={"height_ratios": [h + 1.9 for h in heights]})
        for col, (run, setup) in enumerate(zip(runs, setups, strict=True)):
            for row, issue in enumerate(issues):
                ax = axes[row, col]
                if issue not in setup.issues:
                    note(ax, f"{_label(runs, issue)}: not on this round's agenda")
                    continue
                _zone_panel(ax, run, setup, setup.issues.index(issue))
            if len(runs) > 1:
                axes[0, col].annotate(f"{run.name} ({run.runs:,} rounds)", (0.5, 1.0),
                                      xycoords="axes fraction", xytext=(0, 30),
                                      textcoords="offset points", ha="center",
                                      fontweight="bold")
        for row in axes:  # one scale per issue, so the scenarios compare at a glance
            shown = [ax for ax in row if ax.get_xticks().size]
            if len(shown) > 1:
                limits = [ax.get_xlim() for ax in shown]
                for ax in shown:
                    ax.set_xlim(min(lo for lo, _ in limits), max(hi for _, hi in limits))
        draws = min(s.replicates for s in setups)
        legend = [
            Line2D([], [], marker="o", color="black", linestyle="", label="ideal (median)"),
            Line2D([], [], marker="|", color="black", markersize=12, markeredgewidth=3,
                   linestyle="", label="red line (median)"),
            Line2D([], [], color="black", marker="", label=f"5{DASH}95% of {draws:,} draws"),
            Patch(facecolor="#dddddd", edgecolor="#555555", hatch="//",
                  label="what a side accepts"),
            Patch(facecolor="#999999", alpha=0.4, label="zone of agreement"),
            Patch(facecolor="#333333", label="where agreements landed (height: share)"),
        ]
        figure.legend(handles=legend, loc="outside lower center", ncols=3, fontsize=8.5)
        _title(figure, runs, "Zone of agreement per issue: each side's ideal and red line, "
               "and where agreements landed")
    return figure

