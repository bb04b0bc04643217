"""The track calibration's figure of parameters: what the record says of each party
key in each period and of each mediator, against the prior.

One panel per party key: the prior of a round's value (grey, filled; the shared
prior with a period deviation) and the posterior of each period (a line each, its own
colour and style); one panel per mediator key: its prior and its posterior. Each panel
is titled with the contraction of each posterior (1 - posterior variance / prior
variance, ``sim.calibration.checks.identifiability``). House style
(``sim.viz.style``); Agg canvas, no ``pyplot``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import NullFormatter

from sim.calibration.hierarchy import HierarchicalPrior
from sim.calibration.hierarchy_fit import derived_name
from sim.viz.style import GREY, house_style, new_figure, series_style

#: Prior draws behind each panel's grey histogram.
PRIOR_DRAWS = 50_000


def _short(key: str) -> str:
    return key.replace("parties.", "").replace("issues.", "")


def _bins(low: float, high: float, log: bool) -> np.ndarray:
    return np.geomspace(low, high, 31) if log else np.linspace(low, high, 31)


def track_parameters_figure(prior: HierarchicalPrior, particles: np.ndarray,
                            weights: np.ndarray, tables: dict[str, pd.DataFrame]) -> Figure:
    """The panels described in the module docstring; ``tables``: the identifiability
    table of each derived posterior, by file name
    (``hierarchy_checks.identifiability_by_file``)."""
    rng = np.random.default_rng(0)
    prior_sample = prior.sample(PRIOR_DRAWS, rng)
    groups = prior.groups()
    first_of_period = {p: next(g for g in groups if g[0] == p) for p in prior.periods}
    panels: list[tuple[str, str, list[tuple[str, str, str]]]] = []
    for m in prior.party:  # (key, kind, [(series label, period, mediator)])
        panels.append((m.key, m.kind, [(p, *first_of_period[p]) for p in prior.periods]))
    for name, marginals in prior.mediators:
        period = next(g[0] for g in groups if g[1] == name)
        panels += [(m.key, m.kind, [(name, period, name)]) for m in marginals]
    cols = 3
    rows = int(np.ceil(len(panels) / cols))
    with house_style():
        figure = new_figure(12, 2.6 * rows + 1.3)
        axes = figure.subplots(rows, cols, squeeze=False)
        for ax, (key, kind, series) in zip(axes.flat, panels, strict=False):
            values = prior.values_for(prior_sample, series[0][1], series[0][2])[key]
            low, high = float(values.min()), float(values.max())
            log = kind == "loguniform"
            bins = _bins(low, high, log)
            ax.hist(values, bins=bins, density=True, color=GREY, alpha=0.35, linewidth=0)
            titles = []
            for k, (label, period, mediator) in enumerate(series):
                drawn = prior.values_for(particles, period, mediator)[key]
                density, _ = np.histogram(np.clip(drawn, low, high), bins=bins,
                                          weights=weights, density=True)
                style = series_style(k if len(series) > 1 else len(prior.periods))
                ax.stairs(density, bins, color=style["color"], linestyle=style["linestyle"],
                          linewidth=2, label=label)
                table = tables[derived_name(period, mediator)].set_index("parameter")
                titles.append(f"{label} {table.loc[key, 'contraction']:.2f}")
            if log:
                ax.set_xscale("log")
                ticks = [t for t in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20) if low <= t <= high]
                ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
                ax.xaxis.set_minor_formatter(NullFormatter())
            owner = "" if len(series) > 1 else f"{series[0][0]}: "
            ax.set_title(f"{owner}{_short(key)}\ncontraction " + ", ".join(titles))
            ax.set_yticks([])
        for ax in list(axes.flat)[len(panels):]:
            ax.set_visible(False)
        handles = [Patch(facecolor=GREY, alpha=0.35, label="prior")] + [
            Line2D([], [], color=series_style(k)["color"],
                   linestyle=series_style(k)["linestyle"], linewidth=2,
                   label=f"posterior, {period}" if len(prior.periods) > 1 else "posterior")
            for k, period in enumerate(prior.periods)] + [
            Line2D([], [], color=series_style(len(prior.periods))["color"],
                   linestyle=series_style(len(prior.periods))["linestyle"], linewidth=2,
                   label="posterior, a mediator's own")]
        figure.legend(handles=handles, loc="outside lower center", ncols=len(handles))
        figure.suptitle("The track record's parameters: each party key in each period, "
                        "each mediator's own\n(prior grey; contraction: 1 \u2212 posterior "
                        "variance / prior variance)")
    return figure
