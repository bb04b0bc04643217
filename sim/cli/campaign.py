"""``negsim campaign FILE --until DATE``: rounds, implementation and scheduling, day by
day, many times over; the distribution of what happens by each date.

The results folder is a batch's, as ``negsim run`` writes it (``sim.batch.storage``):
``manifest.json``, ``results/part-*.parquet`` (one row per campaign), the lock while
it runs, ``summary.json`` last, figures in ``figures/``; ``--resume`` continues a
batch that stopped, or reuses a finished one.

``negsim campaign --fit-rhythm RECORD [--out FILE]`` fits the rhythm of rounds to a
record of rounds (``calibration/meetings.toml``) and writes it (default: ``rhythm.json``
beside the record), for a campaign file's ``[scheduling] rhythm``;
``negsim campaign --backtest RECORD [--out DIR]`` scores it from the state after each
round of the record against an exponential waiting time, writing
``DIR/campaign-backtest.json`` and ``.md`` (``sim.campaign.rhythm``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
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
from sim.campaign.rhythm import backtest_rhythm, dumps, load_meetings, rhythm_document
from sim.campaign.rhythm_report import backtest_document, backtest_markdown
from sim.campaign.spec import load_campaign
from sim.cli.batching import add_batch_options, run_batch
from sim.cli.common import UsageError, integer_at_least
from sim.fileio import make_folder, write_atomically
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
    c.add_argument("campaign", nargs="?",
                   help="campaign file, e.g. scenarios/campaign-after-2025-06-02.toml")
    what = c.add_mutually_exclusive_group()
    what.add_argument("--fit-rhythm", metavar="RECORD",
                      help="fit the rhythm of rounds to a record of rounds (e.g. "
                      "calibration/meetings.toml) and write it to --out (default: "
                      "rhythm.json beside the record); no campaign is run")
    what.add_argument("--backtest", metavar="RECORD",
                      help="score the rhythm from the state after each round of a record "
                      "against an exponential waiting time; writes campaign-backtest.json "
                      "and .md in --out (default: the current folder)")
    c.add_argument("--until", type=_date, help="last day simulated (default: the file's)")
    c.add_argument("--runs", type=integer_at_least("--runs", 1), default=2000,
                   help="campaigns to simulate (default %(default)s)")
    c.add_argument("--seed", type=integer_at_least("--seed", 0), default=0)
    c.add_argument("--out", help="results folder (default results/<campaign file name>); "
                   "with --fit-rhythm, the file written; with --backtest, its folder")
    c.add_argument("--chunk-size", type=integer_at_least("--chunk-size", 1), default=CHUNK_SIZE,
                   help=f"campaigns per chunk (default {CHUNK_SIZE}); results depend on it")
    c.add_argument("--no-plots", action="store_true",
                   help=f"skip the figures (PNG and SVG in <out>/{FIGURES_FOLDER})")
    add_batch_options(c)
    c.set_defaults(handler=main)


def fit_rhythm_command(args: argparse.Namespace) -> int:
    record_path = Path(args.fit_rhythm)
    record = load_meetings(record_path)
    out = Path(args.out) if args.out else record_path.parent / "rhythm.json"
    if out.is_dir():
        raise UsageError(f"--out: {out} is a folder; give the rhythm file's path")
    if not out.parent.is_dir():
        raise UsageError(f"--out: the folder {out.parent} does not exist")
    relative = os.path.relpath(record_path.resolve(), out.parent.resolve())
    document = rhythm_document(record, Path(relative).as_posix())
    write_atomically(out, dumps(document))
    s = document["states"]
    print(f"rhythm of {len(record.rounds)} rounds ({record.rounds[0].date} to "
          f"{record.rounds[-1].date}, open to {record.cutoff}): at least "
          f"{document['min_gap_days']} days between rounds")
    for name, label in (("next_round_agreed", "after a round that agreed a next one"),
                        ("no_next_round", "after a round that did not")):
        mean = s[name]["mean_gap_days"]
        mean = "infinite (none yet)" if mean is None else f"{mean:,.1f} days"
        print(f"  {label}: daily chance Beta({s[name]['a']}, {s[name]['b']}), mean "
              f"{s[name]['daily_chance_mean']:.4f}; {s[name]['gaps']} gaps, "
              f"{s[name]['open']} open, {s[name]['quiet_days']:,} days without a round; "
              f"mean gap {mean}")
    print(f"wrote {out}")
    return 0


def backtest_command(args: argparse.Namespace) -> int:
    record_path = Path(args.backtest)
    record = load_meetings(record_path)
    out = Path(args.out) if args.out else Path(".")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out: {out} is a file; give a folder")
    table, summary = backtest_rhythm(record)
    if not len(table):
        raise UsageError(f"{record_path}: rounds: the backtest needs a gap to fit to and "
                         "one after it to score (two rounds, and a cutoff after the last)")
    make_folder(out)
    document = backtest_document(table, summary, record_path.as_posix(), record.sha256)
    write_atomically(out / "campaign-backtest.json", dumps(document))
    text = backtest_markdown(document)
    write_atomically(out / "campaign-backtest.md", text)
    print(text.split("\n\n", 2)[2])
    print(f"wrote {out / 'campaign-backtest.json'}, {out / 'campaign-backtest.md'}")
    return 0


def main(args: argparse.Namespace) -> int:
    if args.fit_rhythm or args.backtest:
        if args.campaign:
            raise UsageError(f"{'--fit-rhythm' if args.fit_rhythm else '--backtest'} runs "
                             "no campaign: leave out the campaign file")
        return fit_rhythm_command(args) if args.fit_rhythm else backtest_command(args)
    if not args.campaign:
        raise UsageError("campaign: give a campaign file (or --fit-rhythm / --backtest "
                         "RECORD)")
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
