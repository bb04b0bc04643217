"""Figures of a campaign batch: fan charts of what was carried out by date, the chance
of a ceasefire or a leaders' meeting by date, the number of rounds held. Data in,
``Figure`` out.

On the house style (``sim.viz.style``): Okabe–Ito colours; the bands also differ in
shade and hatch and the lines in style, so the figures read in grey print; figures on
the Agg canvas, never ``pyplot``. Only ``negsim campaign`` draws them.
"""

from __future__ import annotations

import datetime as dt

import matplotlib.dates as mdates
import numpy as np
from matplotlib.figure import Figure

from sim.campaign.engine import CampaignTally
from sim.campaign.report import histogram
from sim.campaign.spec import Campaign
from sim.stats.intervals import wilson_interval
from sim.viz.style import HATCHES, PALETTE, house_style, new_figure, series_style

LABELS = {"pow_exchange": "prisoners carried out (per side)",
          "remains": "remains repatriated"}
UNITS = {"pow_exchange": "people", "remains": "bodies"}

_GRID = {"color": "#e5e5e5", "linewidth": 0.6}


def _dates(campaign: Campaign) -> list[dt.date]:
    return [campaign.start + dt.timedelta(days=d) for d in range(campaign.days)]


def _title(campaign: Campaign, tally: CampaignTally) -> str:
    return f"{campaign.name}: {tally.campaigns:,} simulated campaigns"


def _date_axis(ax) -> None:
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=7))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))


def fan_chart(campaign: Campaign, tally: CampaignTally) -> Figure:
    """What was carried out by each date: the median and the 25-75% and 5-95% bands
    over the simulated campaigns, one panel per exchange."""
    dates = _dates(campaign)
    colour = PALETTE[0]
    with house_style():
        figure = new_figure(12, 4.6)
        axes = figure.subplots(1, len(LABELS))
        for ax, (issue, label) in zip(axes, LABELS.items(), strict=True):
            q = np.array([histogram(c).quantiles([0.05, 0.25, 0.5, 0.75, 0.95])
                          for c in tally.implemented[issue]])
            ax.fill_between(dates, q[:, 0], q[:, 4], facecolor=colour, alpha=0.18,
                            linewidth=0, label="5\u201395%")
            ax.fill_between(dates, q[:, 1], q[:, 3], facecolor=colour, alpha=0.45,
                            edgecolor="white", hatch=HATCHES[1], linewidth=0,
                            label="25\u201375%")
            ax.plot(dates, q[:, 2], color="black", linewidth=1.6, label="median")
            ax.set_title(f"{label}, cumulative")
            ax.set_ylabel(UNITS[issue])
            ax.yaxis.set_major_formatter("{x:,.0f}")
            _date_axis(ax)
            ax.grid(**_GRID)
            ax.set_axisbelow(True)
        axes[0].legend(loc="upper left", frameon=False)
        figure.suptitle(_title(campaign, tally))
    return figure


def by_date_chart(campaign: Campaign, tally: CampaignTally) -> Figure:
    """The probability that a ceasefire of any kind, or a leaders' meeting, has been
    agreed by each date, with its 95% Wilson interval."""
    dates = _dates(campaign)
    n = tally.campaigns
    with house_style():
        figure = new_figure(9, 4.4)
        ax = figure.add_subplot()
        for k, (counts, label) in enumerate((
                (tally.ceasefire_by_day, "a ceasefire of any kind agreed"),
                (tally.leaders_by_day, "a leaders' meeting agreed"))):
            style = series_style(k + 1)
            lo, hi = wilson_interval(counts, np.full(counts.shape, n))
            ax.fill_between(dates, 100 * lo, 100 * hi, facecolor=style["color"], alpha=0.22,
                            linewidth=0)
            ax.plot(dates, 100 * counts / n, color=style["color"],
                    linestyle=style["linestyle"], linewidth=2, label=label)
        ax.set_ylim(0, 100)
        ax.yaxis.set_major_formatter("{x:g}%")
        ax.set_ylabel("probability by date (95% interval)")
        _date_axis(ax)
        ax.grid(**_GRID)
        ax.set_axisbelow(True)
        ax.legend(loc="upper left", frameon=False)
        figure.suptitle(_title(campaign, tally))
    return figure


def rounds_chart(campaign: Campaign, tally: CampaignTally) -> Figure:
    """The probability of each number of rounds held by the horizon, with its 95%
    Wilson interval."""
    n = tally.campaigns
    ks = np.arange(max(tally.rounds_held, default=0) + 1)
    counts = np.array([tally.rounds_held.get(int(k), 0) for k in ks])
    lo, hi = wilson_interval(counts, np.full(counts.shape, n))
    p = counts / n
    with house_style():
        figure = new_figure(7.5, 4.4)
        ax = figure.add_subplot()
        ax.bar(ks, 100 * p, color=PALETTE[0], width=0.75)
        ax.errorbar(ks, 100 * p, yerr=[100 * (p - lo), 100 * (hi - p)], fmt="none",
                    color="black", capsize=4, linewidth=1.2)
        ax.set_xticks(ks)
        ax.set_xlabel(f"rounds held by {campaign.until}")
        ax.yaxis.set_major_formatter("{x:g}%")
        ax.set_ylabel("probability (95% interval)")
        ax.grid(axis="y", **_GRID)
        ax.set_axisbelow(True)
        figure.suptitle(_title(campaign, tally))
    return figure
