"""The distribution of campaign outcomes: rounds held (every one) and when, the chance
that each event of the round scenario has held in a round by each date, and what
was carried out of each exchange by each date.

Everything is computed from a ``CampaignTally`` (exact counts, summed over chunks);
quantiles use ``ExactHistogram`` (the same numbers ``numpy.quantile`` would give on
the whole sample). Labels and units come from the round scenario, and
``summary.json`` carries them, so the printed table needs nothing else.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from sim.campaign.spec import Campaign
from sim.campaign.tally import CampaignTally
from sim.stats.intervals import wilson_interval
from sim.stats.tally import ExactHistogram
from sim.terminal import printable

QUANTILES = {"p05": 0.05, "p10": 0.10, "p25": 0.25, "p50": 0.50, "p75": 0.75, "p90": 0.90,
             "p95": 0.95}


def histogram(tallied: dict[int, int]) -> ExactHistogram:
    """An ``ExactHistogram`` from ``{value: count}``."""
    h = ExactHistogram()
    if tallied:
        values = np.array(sorted(tallied), dtype=float)
        h.add(np.repeat(values, [tallied[int(v)] for v in values]))
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


def exchange_labels(campaign: Campaign) -> dict[str, dict]:
    """Label and unit of each exchange issue, from the round scenario."""
    scenario = campaign.round_scenario
    return {issue: {"label": scenario.issue(issue).label,
                    "unit": scenario.issue(issue).scale.unit} for issue in campaign.exchanges}


def scheduling(campaign: Campaign) -> dict:
    """How the campaign convenes rounds: the fitted rhythm (its file, threshold and the
    two states' Beta posteriors) or the hand-set random-utility model (its keys)."""
    rhythm = campaign.rhythm
    if rhythm is None:
        return {"model": "hand-set", "min_gap_days": campaign.min_gap_days,
                "lead_days": list(campaign.lead_days), "value": list(campaign.value),
                "cost": list(campaign.cost), "mediator_push": campaign.mediator_push,
                "noise": campaign.noise}
    return {"model": "fitted rhythm", "rhythm": campaign.rhythm_path,
            "rhythm_sha256": rhythm.sha256, "min_gap_days": rhythm.min_gap_days,
            "last_round": str(campaign.last_round),
            "next_round_agreed": campaign.next_round_agreed,
            "daily_chance": {
                name: {"a": post.a, "b": post.b, "mean": post.mean}
                for name, post in (("next_round_agreed", rhythm.agreed),
                                   ("no_next_round", rhythm.none))}}


def summarise_campaign(campaign: Campaign, tally: CampaignTally, seed: int) -> dict:
    """The ``summary.json`` structure (``docs/campaigns.md``, "Outputs")."""
    n = tally.campaigns
    rounds = {str(k): _probability(tally.rounds_held.get(k, 0), n)
              for k in range(max(tally.rounds_held, default=0) + 1)}
    round_dates = []
    for k, met in enumerate(tally.round_day):
        held = sum(met.values())
        entry = {"round": k + 1, "held": _probability(held, n)}
        if held:
            qs = histogram(met).quantiles([0.1, 0.5, 0.9])
            entry |= {name: str(campaign.start + dt.timedelta(days=round(q)))
                      for name, q in zip(("p10", "p50", "p90"), qs, strict=True)}
        round_dates.append(entry)
    by_date = []
    for day in checkpoints(campaign):
        i = (day - campaign.start).days
        events = {name: _probability(int(hits[i]), n)
                  for name, hits in tally.events_by_day.items()}
        implemented = {}
        for issue in campaign.exchanges:
            qs = histogram(tally.implemented[issue][i]).quantiles(list(QUANTILES.values()))
            implemented[issue] = dict(zip(QUANTILES, qs, strict=True))
        by_date.append({"date": str(day), "events": events, "implemented": implemented})
    timing = campaign.timing
    return {
        "campaign": campaign.name, "campaign_file": campaign.path,
        "campaign_sha256": campaign.sha256, "start": str(campaign.start),
        "until": str(campaign.until), "campaigns": n, "seed": seed,
        "round_scenario": campaign.round_scenario.path,
        "parameters": campaign.round_scenario.parameter_sources(),
        "stage_timing": None if timing is None else {
            name: chance.__dict__ | {"kind": type(chance).__name__}
            for name, chance in (("start_chance", timing.start), ("slip_chance", timing.slip))},
        "exchanges": exchange_labels(campaign),
        "events": {e.name: {"label": e.label, "when": e.when, "tracked": e.name in campaign.track}
                   for e in campaign.round_scenario.events},
        "track": list(campaign.track),
        "next_round_event": campaign.next_round_event,
        "scheduling": scheduling(campaign),
        "rounds_held": rounds, "round_dates": round_dates, "by_date": by_date,
    }


def _pct(entry: dict) -> str:
    lo, hi = entry["ci95"]
    return f"{100 * entry['p']:5.1f}% ({100 * lo:.1f}-{100 * hi:.1f})"


def _quantiles(q: dict) -> str:
    return f"{q['p10']:,.0f} / {q['p50']:,.0f} / {q['p90']:,.0f}"


def _by_date(title: str, dates: list[str], lines: list[tuple[str, list[str]]]) -> list[str]:
    """A table with a line per event (or exchange) and a column per date."""
    width = max([len(label) for label, _ in lines] + [len(title)]) + 2
    cell = max([len(c) for _, cells in lines for c in cells] + [10]) + 3
    out = ["", title.ljust(width) + "".join(d.rjust(cell) for d in dates)]
    out += ["  " + label.ljust(width - 2) + "".join(c.rjust(cell) for c in cells)
            for label, cells in lines]
    return out


def _scheduling_line(s: dict | None) -> str:
    if not s:
        return ""
    if s["model"] == "hand-set":
        return (f"rounds convened by the hand-set scheduling (at least {s['min_gap_days']} "
                "days apart, unless agreed at the table)")
    c = s["daily_chance"]
    return (f"rounds convened by the fitted rhythm ({printable(s['rhythm'])}): at least "
            f"{s['min_gap_days']} days apart, then a daily chance of "
            f"{c['next_round_agreed']['mean']:.4f} after a round that agreed a next one, "
            f"{c['no_next_round']['mean']:.4f} after one that did not")


def format_campaign(summary: dict) -> str:
    """The printed table: every round held, then by date the tracked events and what
    was carried out of each exchange."""
    lines = [f"{printable(summary['campaign'])}: {summary['campaigns']:,} simulated campaigns, "
             f"{summary['start']} to {summary['until']}, seed {summary['seed']}",
             _scheduling_line(summary.get("scheduling")), "",
             "rounds held      probability (95% interval)"]
    for k, entry in summary["rounds_held"].items():
        lines.append(f"  {k:>2}             {_pct(entry)}")
    lines += ["", "round   held                     p10          p50          p90"]
    for r in summary["round_dates"]:
        dates = "".join(f"{r.get(k, '-'):>13}" for k in ("p10", "p50", "p90"))
        lines.append(f"  {r['round']:<5} {_pct(r['held']):<22}{dates}")
    dates = [e["date"] for e in summary["by_date"]]
    if summary["track"]:
        lines += _by_date("held in a round by (95% interval)", dates, [
            (printable(summary["events"][name]["label"]),
             [_pct(e["events"][name]) for e in summary["by_date"]])
            for name in summary["track"]])
    if summary["exchanges"]:
        lines += _by_date("carried out by (p10 / p50 / p90)", dates, [
            (printable(f"{x['label']} ({x['unit']})" if x["unit"] else x["label"]),
             [_quantiles(e["implemented"][issue]) for e in summary["by_date"]])
            for issue, x in summary["exchanges"].items()])
    return "\n".join(lines)
