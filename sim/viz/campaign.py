"""Figures of a campaign batch: fan charts of what was carried out by date, the chance
of a ceasefire or a leaders' meeting by date, the number of rounds held.

Okabe–Ito colours (safe for colour-blind readers); bands also differ in shade and the
lines in style, so the figures read in grey print. Only ``negsim campaign`` imports
this module.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sim.campaign.engine import CampaignTally  # noqa: E402
from sim.campaign.report import histogram  # noqa: E402
from sim.campaign.spec import Campaign  # noqa: E402
from sim.fileio import write_atomically
from sim.stats.intervals import wilson_interval  # noqa: E402

BLUE, ORANGE, GREEN = "#0072B2", "#E69F00", "#009E73"
LABELS = {"pow_exchange": "prisoners carried out (per side)",
          "remains": "remains repatriated"}


def _save(fig, path: Path) -> Path:
    """PNG for screens, SVG for print, beside each other."""
    fig.tight_layout()
    write_atomically(path, partial(fig.savefig, format=path.suffix[1:], dpi=110))
    write_atomically(path.with_suffix(".svg"), partial(fig.savefig, format="svg"))
    plt.close(fig)
    return path


def _dates(campaign: Campaign) -> list[dt.date]:
    return [campaign.start + dt.timedelta(days=d) for d in range(campaign.days)]


def fan_chart(campaign: Campaign, tally: CampaignTally, path: Path) -> Path:
    dates = _dates(campaign)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for ax, (issue, label) in zip(axes, LABELS.items(), strict=True):
        q = np.array([histogram(c).quantiles([0.05, 0.25, 0.5, 0.75, 0.95])
                      for c in tally.implemented[issue]])
        ax.fill_between(dates, q[:, 0], q[:, 4], color=BLUE, alpha=0.2, label="5-95%")
        ax.fill_between(dates, q[:, 1], q[:, 3], color=BLUE, alpha=0.45, label="25-75%")
        ax.plot(dates, q[:, 2], color="black", linewidth=1.5, label="median")
        ax.set_title(f"{label}, cumulative", fontsize=10)
        ax.set_ylabel("people" if issue == "pow_exchange" else "bodies")
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle(f"{campaign.name}: {tally.campaigns:,} simulated campaigns")
    return _save(fig, path)


def by_date_chart(campaign: Campaign, tally: CampaignTally, path: Path) -> Path:
    dates = _dates(campaign)
    n = tally.campaigns
    fig, ax = plt.subplots(figsize=(9, 4.2))
    for counts, label, colour, style in (
            (tally.ceasefire_by_day, "a ceasefire of any kind agreed", ORANGE, "-"),
            (tally.leaders_by_day, "a leaders' meeting agreed", GREEN, "--")):
        lo, hi = wilson_interval(counts, np.full(counts.shape, n))
        ax.fill_between(dates, lo, hi, color=colour, alpha=0.25)
        ax.plot(dates, counts / n, color=colour, linestyle=style, linewidth=2, label=label)
    ax.set_ylim(0, 1)
    ax.set_ylabel("probability by date (95% interval)")
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    ax.set_title(f"{campaign.name}: {n:,} simulated campaigns", fontsize=10)
    return _save(fig, path)


def rounds_chart(campaign: Campaign, tally: CampaignTally, path: Path) -> Path:
    n = tally.campaigns
    ks = np.arange(max(tally.rounds_held, default=0) + 1)
    counts = np.array([tally.rounds_held.get(int(k), 0) for k in ks])
    lo, hi = wilson_interval(counts, np.full(counts.shape, n))
    p = counts / n
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(ks, p, color=BLUE, edgecolor="black")
    ax.errorbar(ks, p, yerr=[p - lo, hi - p], fmt="none", color="black", capsize=4)
    ax.set_xticks(ks)
    ax.set_xlabel(f"rounds held by {campaign.until}")
    ax.set_ylabel("probability (95% interval)")
    ax.set_title(f"{campaign.name}: {n:,} simulated campaigns", fontsize=10)
    return _save(fig, path)
