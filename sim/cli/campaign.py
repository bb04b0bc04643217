"""``negsim campaign FILE --until DATE``: rounds, implementation and scheduling, day by
day, many times over; the distribution of what happens by each date.

The results folder is a batch's, as ``negsim run`` writes it (``sim.batch.storage``):
``manifest.json``, ``results/part-*.parquet`` (one row per campaign), the lock while
it runs, ``summary.json`` last, figures in ``figures/``; ``--resume`` continues a
batch that stopped, or reuses a finished one.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from sim.batch.storage import RESULTS, SUMMARY, ResultsFolder
from sim.campaign.batch import (
    CHUNK_SIZE,
    CampaignRoundError,
    campaign_manifest,
    campaign_tasks,
    run_campaign_tasks,
)
from sim.campaign.report import format_campaign, summarise_campaign
from sim.campaign.spec import load_campaign
from sim.cli.batching import add_batch_options, run_batch
from sim.cli.common import UsageError, integer_at_least
from sim.report.output import FIGURES_FOLDER
from sim.viz.campaign import campaign_figures
from sim.viz.style import FORMATS, save_figure


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
    c.add_argument("--chunk-size", type=integer_at_least("--chunk-size", 1), default=CHUNK_SIZE,
                   help=f"campaigns per chunk (default {CHUNK_SIZE}); results depend on it")
    c.add_argument("--no-plots", action="store_true",
                   help=f"skip the figures (PNG and SVG in <out>/{FIGURES_FOLDER})")
    add_batch_options(c)
    c.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    campaign = load_campaign(args.campaign)
    if args.until:
        campaign = campaign.with_until(args.until)
    out = Path(args.out) if args.out else Path("results") / Path(args.campaign).stem
    tasks = campaign_tasks(campaign, args.runs, args.seed, args.chunk_size)
    manifest = campaign_manifest(campaign, str(args.campaign), args.seed, args.runs,
                                 args.chunk_size, len(tasks))
    try:
        tally = run_batch(args, out, manifest, tasks, run=run_campaign_tasks)
    except CampaignRoundError as error:
        raise UsageError(f"{error} (the model fails on this round scenario: rerunning "
                         "will not help)") from None
    summary = summarise_campaign(campaign, tally, args.seed) | {"chunk_size": args.chunk_size}
    ResultsFolder(out).write_json(SUMMARY, summary)
    print(format_campaign(summary))
    plural = "s" if len(tasks) > 1 else ""
    print(f"\nwrote {out / RESULTS} ({len(tasks):,} Parquet part{plural}), {out / SUMMARY}")
    if not args.no_plots:
        figures = campaign_figures(campaign, tally)
        for stem, figure in figures.items():
            save_figure(figure, out / FIGURES_FOLDER, stem)
        print(f"wrote {len(figures)} figures ({' and '.join(f.upper() for f in FORMATS)}) in "
              f"{out / FIGURES_FOLDER}: {', '.join(figures)}")
    return 0
