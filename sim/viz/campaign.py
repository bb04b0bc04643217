"""Figures of a campaign batch: fan charts of what was carried out of each exchange by
date, the chance that each tracked event has held in a round by date, the number of
rounds held. Data in, ``Figure`` out; labels and units from the round scenario.

On the house style (``sim.viz.style``): Okabe–Ito colours; the bands also differ in
shade and hatch and the lines in style, so the figures read in grey print; figures on
the Agg canvas, never ``pyplot``. Only ``negsim campaign`` draws them. A label from
a file is text, never markup: its ``$`` signs are escaped, so matplotlib does not
read it as mathematics.
"""

from __future__ import annotations

import datetime as dt

import matplotlib.dates as mdates
import numpy as np
from matplotlib.figure import Figure

from sim.campaign.report import histogram
from sim.campaign.spec import Campaign
from sim.campaign.tally import CampaignTally
from sim.stats.intervals import wilson_interval
from sim.viz.style import HATCHES, PALETTE, house_style, new_figure, series_style, typographic

_GRID = {"color": "#e5e5e5", "linewidth": 0.6}


def text(label: str) -> str:
    """A label from a file as matplotlib shows it literally (no mathtext)."""
    return typographic(label).replace("$", r"\$")


def _dates(campaign: Campaign) -> list[dt.date]:
    return [campaign.start + dt.timedelta(days=d) for d in range(campaign.days)]


def _title(campaign: Campaign, tally: CampaignTally) -> str:
    return f"{text(campaign.name)}: {tally.campaigns:,} simulated campaigns"


def _date_axis(ax) -> None:
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=7))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))


def fan_chart(campaign: Campaign, tally: CampaignTally) -> Figure:
    """What was carried out by each date: the median and the 25-75% and 5-95% bands
    over the simulated campaigns, one panel per exchange issue (the campaign must
    have one)."""
    dates = _dates(campaign)
    colour = PALETTE[0]
    scenario = campaign.round_scenario
    panels = len(campaign.exchanges)
    with house_style():
        figure = new_figure(min(6.0 * panels, 18.0), 4.6)
        axes = np.atleast_1d(figure.subplots(1, panels))
        for ax, issue in zip(axes, campaign.exchanges, strict=True):
            spec = scenario.issue(issue)
            q = np.array([histogram(c).quantiles([0.05, 0.25, 0.5, 0.75, 0.95])
                          for c in tally.implemented[issue]])
            ax.fill_between(dates, q[:, 0], q[:, 4], facecolor=colour, alpha=0.18,
                            linewidth=0, label="5\u201395%")
            ax.fill_between(dates, q[:, 1], q[:, 3], facecolor=colour, alpha=0.45,
                            edgecolor="white", hatch=HATCHES[1], linewidth=0,
                            label="25\u201375%")
            ax.plot(dates, q[:, 2], color="black", linewidth=1.6, label="median")
            ax.set_title(f"{text(spec.label)}: carried out, cumulative")
            ax.set_ylabel(text(spec.scale.unit or spec.label))
            ax.yaxis.set_major_formatter("{x:,.0f}")
            _date_axis(ax)
            ax.grid(**_GRID)
            ax.set_axisbelow(True)
        axes[0].legend(loc="upper left", frameon=False)
        figure.suptitle(_title(campaign, tally))
    return figure


def events_chart(campaign: Campaign, tally: CampaignTally) -> Figure:
    """The probability that each tracked event has held in a round of the campaign by
    each date, with its 95% Wilson interval (the campaign must track one)."""
    dates = _dates(campaign)
    n = tally.campaigns
    labels = {e.name: e.label for e in campaign.round_scenario.events}
    with house_style():
        figure = new_figure(9, 4.4 + 0.2 * max(0, len(campaign.track) - 3))
        ax = figure.add_subplot()
        for k, name in enumerate(campaign.track):
            counts = tally.events_by_day[name]
            style = series_style(k + 1)  # blue is the fan chart's
            lo, hi = wilson_interval(counts, np.full(counts.shape, n))
            ax.fill_between(dates, 100 * lo, 100 * hi, facecolor=style["color"], alpha=0.22,
                            linewidth=0)
            ax.plot(dates, 100 * counts / n, color=style["color"],
                    linestyle=style["linestyle"], linewidth=2, label=text(labels[name]))
        ax.set_ylim(0, 100)
        ax.yaxis.set_major_formatter("{x:g}%")
        ax.set_ylabel("held in a round by this date (95% interval)")
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


def campaign_figures(campaign: Campaign, tally: CampaignTally) -> dict[str, Figure]:
    """Every figure of a campaign batch, by file stem: the fan chart where the round
    has exchange issues, the events chart where the campaign tracks events."""
    figures = {}
    if campaign.exchanges:
        figures["implemented-by-date"] = fan_chart(campaign, tally)
    if campaign.track:
        figures["events-by-date"] = events_chart(campaign, tally)
    figures["rounds-held"] = rounds_chart(campaign, tally)
    return figures
