"""``negsim campaign FILE --until DATE``: rounds, implementation and scheduling, day by
day, many times over; the distribution of what happens by each date."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

from sim.batch.executors import ExecutorError, make_executor
from sim.campaign.batch import CHUNK_SIZE, campaign_tasks, run_campaigns
from sim.campaign.engine import CampaignTally
from sim.campaign.report import format_campaign, summarise_campaign
from sim.campaign.spec import load_campaign
from sim.cli.common import UsageError, integer_at_least
from sim.fileio import write_atomically
from sim.viz.campaign import by_date_chart, fan_chart, rounds_chart
from sim.viz.style import save_figure


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--until must be a date YYYY-MM-DD, got {text!r}")\
            from None


def register(commands: argparse._SubParsersAction) -> None:
    c = commands.add_parser("campaign", help="simulate rounds, their implementation and the "
                            "scheduling of the next, day by day, from a starting state")
    c.add_argument("campaign", help="campaign file, e.g. scenarios/campaign-after-2025-06-02.toml")
    c.add_argument("--until", type=_date, help="last day simulated (default: the file's)")
    c.add_argument("--runs", type=integer_at_least("--runs", 1), default=2000,
                   help="campaigns to simulate (default %(default)s)")
    c.add_argument("--seed", type=integer_at_least("--seed", 0), default=0)
    c.add_argument("--out", help="results folder (default results/<campaign file name>)")
    c.add_argument("--chunk-size", type=integer_at_least("--chunk-size", 1), default=CHUNK_SIZE)
    c.add_argument("--workers", type=integer_at_least("--workers", 1),
                   help="processes on this machine (default: all cores)")
    c.add_argument("--scheduler", metavar="ADDRESS", help="a Dask scheduler, tcp://HOST:8786")
    c.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    campaign = load_campaign(args.campaign)
    if args.until:
        campaign = campaign.with_until(args.until)
    out = Path(args.out) if args.out else Path("results") / Path(args.campaign).stem
    if (out / "summary.json").exists():
        raise UsageError(f"--out {out}: holds a finished campaign batch; choose another "
                         "folder or delete it (nothing is overwritten)")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    try:
        executor = make_executor(args.workers, args.scheduler)
    except ExecutorError as error:
        raise UsageError(str(error)) from None
    tasks = campaign_tasks(campaign, args.runs, args.seed, args.chunk_size)
    parts = out / "campaigns"
    parts.mkdir(parents=True, exist_ok=True)
    tally = CampaignTally(days=campaign.days)
    try:
        for task, rows, chunk_tally in run_campaigns(tasks, executor):
            write_atomically(parts / f"part-{task.chunk:05d}.parquet",
                             lambda p, rows=rows: rows.to_parquet(p, index=False,
                                                                 compression="zstd"))
            tally.add(chunk_tally)
    finally:
        executor.close()
    summary = summarise_campaign(campaign, tally, args.seed)
    figures = {"implemented-by-date": fan_chart(campaign, tally),
               "ceasefire-leaders-by-date": by_date_chart(campaign, tally),
               "rounds-held": rounds_chart(campaign, tally)}
    for stem, figure in figures.items():
        save_figure(figure, out, stem)
    write_atomically(out / "summary.json",
                     lambda p: p.write_text(json.dumps(summary, indent=2) + "\n"))
    print(format_campaign(summary))
    plural = "s" if len(tasks) > 1 else ""
    print(f"\nwrote {parts}/ ({len(tasks)} Parquet part{plural}), {out / 'summary.json'} "
          "and " + ", ".join(f"{stem}.png" for stem in figures) + " (and SVG)")
    return 0
