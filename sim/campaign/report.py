"""The distribution of campaign outcomes: rounds held and when, what was carried out
by each date, and the chance of a ceasefire or a leaders' meeting by each date.

Everything is computed from a ``CampaignTally`` (exact counts, summed over chunks);
quantiles use ``ExactHistogram`` (the same numbers ``numpy.quantile`` would give on
the whole sample).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from sim.campaign.engine import EXCHANGES, CampaignTally
from sim.campaign.spec import Campaign
from sim.stats.intervals import wilson_interval
from sim.stats.tally import ExactHistogram
from sim.terminal import printable

QUANTILES = {"p05": 0.05, "p10": 0.10, "p25": 0.25, "p50": 0.50, "p75": 0.75, "p90": 0.90,
             "p95": 0.95}


def histogram(counts: dict[int, int]) -> ExactHistogram:
    """An ``ExactHistogram`` from ``{value: count}``."""
    h = ExactHistogram()
    if counts:
        values = np.array(sorted(counts), dtype=float)
        h.add(np.repeat(values, [counts[int(v)] for v in values]))
    return h


def _probability(count: int, n: int) -> dict:
    lo, hi = wilson_interval(count, n)
    return {"p": count / n, "ci95": [float(lo), float(hi)], "count": int(count)}


def checkpoints(campaign: Campaign) -> list[dt.date]:
    """The last day of each month in the horizon, and the horizon's last day."""
    days, day = [], campaign.start
    while day <= campaign.until:
        following = day + dt.timedelta(days=1)
        if following.month != day.month or day == campaign.until:
            days.append(day)
        day = following
    return days


def summarise_campaign(campaign: Campaign, tally: CampaignTally, seed: int) -> dict:
    n = tally.campaigns
    rounds = {str(k): _probability(tally.rounds_held.get(k, 0), n)
              for k in range(max(tally.rounds_held, default=0) + 1)}
    round_dates = []
    for k, counts in enumerate(tally.round_day[:4]):
        held = sum(counts.values())
        entry = {"round": k + 1, "held": _probability(held, n)}
        if held:
            qs = histogram(counts).quantiles([0.1, 0.5, 0.9])
            entry |= {name: str(campaign.start + dt.timedelta(days=round(q)))
                      for name, q in zip(("p10", "p50", "p90"), qs, strict=True)}
        round_dates.append(entry)
    by_date = []
    for day in checkpoints(campaign):
        i = (day - campaign.start).days
        entry = {"date": str(day),
                 "ceasefire_any": _probability(int(tally.ceasefire_by_day[i]), n),
                 "leaders_meeting": _probability(int(tally.leaders_by_day[i]), n)}
        for issue in EXCHANGES:
            qs = histogram(tally.implemented[issue][i]).quantiles(list(QUANTILES.values()))
            entry[f"{issue}_implemented"] = dict(zip(QUANTILES, qs, strict=True))
        by_date.append(entry)
    return {
        "campaign": campaign.name, "campaign_file": campaign.path,
        "campaign_sha256": campaign.sha256, "start": str(campaign.start),
        "until": str(campaign.until), "campaigns": n, "seed": seed,
        "round_scenario": campaign.round_scenario.path,
        "parameters": campaign.round_scenario.parameter_sources(),
        "stage_timing": {name: chance.__dict__ | {"kind": type(chance).__name__}
                         for name, chance in (("start_chance", campaign.timing.start),
                                              ("slip_chance", campaign.timing.slip))},
        "rounds_held": rounds, "round_dates": round_dates, "by_date": by_date,
    }


def _pct(entry: dict) -> str:
    lo, hi = entry["ci95"]
    return f"{100 * entry['p']:5.1f}% ({100 * lo:.1f}-{100 * hi:.1f})"


def format_campaign(summary: dict) -> str:
    lines = [f"{printable(summary['campaign'])}: {summary['campaigns']:,} simulated campaigns, "
             f"{summary['start']} to {summary['until']}, seed {summary['seed']}", "",
             "rounds held      probability (95% interval)"]
    for k, entry in summary["rounds_held"].items():
        lines.append(f"  {k:>2}             {_pct(entry)}")
    lines += ["", "round   held                     p10          p50          p90"]
    for r in summary["round_dates"]:
        dates = "".join(f"{r.get(k, '-'):>13}" for k in ("p10", "p50", "p90"))
        lines.append(f"  {printable(r['round'])}     {_pct(r['held']):<22}{dates}")
    lines += ["", "by date       any ceasefire           leaders' meeting        "
              "prisoners carried out (p10/p50/p90)   remains (p10/p50/p90)"]
    for e in summary["by_date"]:
        pw, rm = e["pow_exchange_implemented"], e["remains_implemented"]
        lines.append(f"  {e['date']}  {_pct(e['ceasefire_any']):<23} "
                     f"{_pct(e['leaders_meeting']):<23} "
                     f"{pw['p10']:>7,.0f} {pw['p50']:>7,.0f} {pw['p90']:>7,.0f}"
                     f"               {rm['p10']:>7,.0f} {rm['p50']:>7,.0f} {rm['p90']:>7,.0f}")
    return "\n".join(lines)
