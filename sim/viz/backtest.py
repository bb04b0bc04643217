"""The backtest's figure: the reliability diagram of the forecasts of events.

Each point is one bin of forecast probability (``sim.stats.scoring.reliability``): the
mean probability forecast in it (x) against the share of those events that happened
(y), its size the number of forecasts in it, which is also written beside it. A
calibrated forecaster's points lie on the diagonal (Murphy & Winkler 1977). The model
and the base rate (the best-informed baseline) are drawn; persistence forecasts only
0 or 1 and the uniform forecast only 1/2, whose points say nothing a table does not.

On the house style (``sim.viz.style``): Okabe-Ito colours and a marker per series,
Agg canvas, no ``pyplot``.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import PercentFormatter

from sim.viz.style import GREY, house_style, new_figure, series_style

#: Forecasters drawn, and their legend labels.
DRAWN = {"model": "model (fit on the rounds before)",
         "base_rate": "base rate (Laplace, rounds before)"}


def reliability_figure(points: dict[str, list[dict]], rounds: int, events: int) -> Figure:
    """The reliability diagram of ``points`` (forecaster -> its bins), for ``events``
    events scored over ``rounds`` rounds."""
    with house_style():
        figure = new_figure(6.4, 5.6)
        ax = figure.add_subplot()
        ax.plot([0, 1], [0, 1], color=GREY, linestyle="--", linewidth=1)
        handles = [Line2D([], [], color=GREY, linestyle="--", linewidth=1,
                          label="perfectly calibrated")]
        most = max((b["count"] for bins in points.values() for b in bins), default=1)
        for k, (name, label) in enumerate(DRAWN.items()):
            bins = points.get(name, [])
            if not bins:
                continue
            style = series_style(k)
            x = np.array([b["forecast"] for b in bins])
            y = np.array([b["observed"] for b in bins])
            n = np.array([b["count"] for b in bins])
            ax.plot(x, y, color=style["color"], linestyle=style["linestyle"], linewidth=1.2,
                    zorder=2)
            ax.scatter(x, y, s=25 + 275 * n / most, color=style["color"],
                       marker=style["marker"], edgecolor="white", linewidth=0.8, zorder=3)
            handles.append(Line2D([], [], color=style["color"], marker=style["marker"],
                                  linestyle=style["linestyle"], markersize=7, label=label))
            for xx, yy, count in zip(x, y, n, strict=True):
                ax.annotate(f"{count}", (xx, yy), textcoords="offset points",
                            xytext=(8, -10 if k else 6), fontsize=8,
                            color=style["color"])
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_aspect("equal")
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
        ax.set_xlabel("forecast probability (mean in the bin)")
        ax.set_ylabel("share of those events that happened")
        ax.grid(color="#e5e5e5", linewidth=0.6)
        ax.set_axisbelow(True)
        figure.legend(handles=handles, loc="outside lower center", ncols=2, frameon=False)
        figure.suptitle(f"Reliability of the event forecasts: {events} events over "
                        f"{rounds} rounds\n(bins of width 20%; the number beside a point "
                        "counts its forecasts,\nits area grows with them)")
    return figure
