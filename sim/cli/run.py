"""``negsim run SCENARIO``: simulate a round many times, report its outcome distribution."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sim.batch.chunks import CHUNK_SIZE, chunk_tasks
from sim.batch.sizes import DEFAULT_RUNS
from sim.batch.storage import INPUTS, RESULTS, SUMMARY, ResultsFolder, make_manifest
from sim.cli.batching import add_batch_options, run_batch
from sim.cli.common import integer_at_least
from sim.cli.scenario_args import add_set_option, default_folder, load_scenario_arg, settings_of
from sim.report.identified import unidentified_line, unidentified_parameters
from sim.stats.summary import format_table
from sim.terminal import printable

RUNS, SEED = DEFAULT_RUNS, 0

#: The figures' folder in a results folder (``sim.report.output.FIGURES_FOLDER``, which
#: is not imported here: matplotlib is loaded only where figures are drawn).
FIGURES_FOLDER = "figures"


def register(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser("run", help="run a scenario and report its outcome distribution")
    run.add_argument("scenario", help="scenario file (TOML), e.g. scenarios/june-20-30-2025.toml")
    run.add_argument("--runs", type=integer_at_least("--runs", 1), default=RUNS,
                     help=f"replicates to simulate (default {RUNS})")
    run.add_argument("--seed", type=integer_at_least("--seed", 0), default=SEED,
                     help=f"seed of the batch (default {SEED})")
    run.add_argument("--out", help="results folder (default results/<scenario file name>, "
                     "followed by the options that differ from their defaults, e.g. "
                     "results/june-20-30-2025-seed1-runs50000)")
    run.add_argument("--chunk-size", type=integer_at_least("--chunk-size", 1),
                     default=CHUNK_SIZE,
                     help=f"replicates per chunk (default {CHUNK_SIZE}); results depend on it")
    run.add_argument("--no-plots", action="store_true",
                     help=f"skip the figures (PNG and SVG in <out>/{FIGURES_FOLDER})")
    add_set_option(run)
    run.add_argument("--json", action="store_true",
                     help="print the table as JSON (the numbers of summary.json) instead; "
                     "what was written goes to stderr")
    add_batch_options(run)
    run.set_defaults(handler=main)


def output_folder(args: argparse.Namespace, settings: dict) -> Path:
    """``--out``, or the default folder: named after the scenario file and whatever
    makes this batch differ from one with the defaults (``default_folder``)."""
    if args.out:
        return Path(args.out)
    changes = {name: value for name, value, default in (
        ("seed", args.seed, SEED), ("runs", args.runs, RUNS),
        ("chunk", args.chunk_size, CHUNK_SIZE)) if value != default}
    return default_folder(Path(args.scenario).stem, changes, settings)


def table_json(summary: dict) -> dict:
    """The printed table as data: the numbers of ``summary.json`` it shows (every
    event's probability, count, 95% interval and whether it was on the agenda; every
    quantity's quantiles) and what heads it."""
    return {key: summary[key] for key in ("scenario", "runs", "seed", "events", "quantiles")} | {
        "failures": summary["failures"]["count"]}


def main(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    scenario = load_scenario_arg(args.scenario, settings)
    out = output_folder(args, settings)
    tasks = chunk_tasks(scenario, args.runs, args.seed, args.chunk_size, inputs=args.inputs)
    manifest = make_manifest("run", scenario, str(args.scenario), args.seed, args.runs,
                             args.chunk_size, len(tasks), inputs=args.inputs) | {
        "settings": settings}
    tally = run_batch(args, out, manifest, tasks)[()]
    summary = tally.summary(scenario.round.name, args.seed)
    summary |= {"scenario_file": str(args.scenario), "scenario_sha256": scenario.sha256,
                "settings": settings, "chunk_size": args.chunk_size,
                "parameters": scenario.parameter_sources()}
    flag = unidentified_parameters(summary["parameters"]["posterior"])
    summary["parameters"]["unidentified"] = flag
    ResultsFolder(out).write_json(SUMMARY, summary)
    notes = sys.stderr if args.json else sys.stdout
    if args.json:
        print(json.dumps(table_json(summary), indent=2))
    else:
        print(format_table(summary | {"scenario": printable(summary["scenario"])}))
        line = unidentified_line(flag, len(scenario.posterior.keys) if scenario.posterior
                                 else 0)
        if line:
            print(printable(line))
    failed = summary["failures"]["count"]
    if failed:
        print(f"\n{failed:,} rounds raised an error and are left out above: see "
              f"{out / 'failures'}", file=notes)
    plural = "s" if len(tasks) > 1 else ""
    inputs = f", {out / INPUTS} (the parameters drawn for each round)" if args.inputs else ""
    print(f"\nwrote {out / RESULTS} ({len(tasks):,} Parquet part{plural}){inputs}, "
          f"{out / SUMMARY}", file=notes)
    if not args.no_plots:
        # imported here: matplotlib's start-up (about 0.3 s) only for runs that draw
        from sim.report.output import write_run_figures
        figures = write_run_figures(out, scenario)
        print(f"wrote {len(figures)} figures (PNG and SVG) in {out / FIGURES_FOLDER}",
              file=notes)
    return 0
