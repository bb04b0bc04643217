"""``negsim run SCENARIO``: simulate a round many times, report its outcome distribution."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.batch.chunks import CHUNK_SIZE, chunk_tasks
from sim.batch.storage import INPUTS, RESULTS, SUMMARY, ResultsFolder, make_manifest
from sim.cli.batching import add_batch_options, run_batch
from sim.cli.common import integer_at_least
from sim.report.output import FIGURES_FOLDER, write_run_figures
from sim.scenario.load import load_scenario
from sim.stats.summary import format_table
from sim.terminal import printable


def register(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser("run", help="run a scenario and report its outcome distribution")
    run.add_argument("scenario", help="scenario file (TOML), e.g. scenarios/june-20-30-2025.toml")
    run.add_argument("--runs", type=integer_at_least("--runs", 1), default=10_000,
                     help="replicates to simulate (default 10000)")
    run.add_argument("--seed", type=integer_at_least("--seed", 0), default=0,
                     help="seed of the batch (default 0)")
    run.add_argument("--out", help="results folder (default results/<scenario file name>)")
    run.add_argument("--chunk-size", type=integer_at_least("--chunk-size", 1),
                     default=CHUNK_SIZE,
                     help=f"replicates per chunk (default {CHUNK_SIZE}); results depend on it")
    run.add_argument("--no-plots", action="store_true",
                     help=f"skip the figures (PNG and SVG in <out>/{FIGURES_FOLDER})")
    add_batch_options(run)
    run.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    out = Path(args.out) if args.out else Path("results") / Path(args.scenario).stem
    tasks = chunk_tasks(scenario, args.runs, args.seed, args.chunk_size, inputs=args.inputs)
    manifest = make_manifest("run", scenario, str(args.scenario), args.seed, args.runs,
                             args.chunk_size, len(tasks), inputs=args.inputs)
    tally = run_batch(args, out, manifest, tasks)[()]
    summary = tally.summary(scenario.round.name, args.seed)
    summary |= {"scenario_file": str(args.scenario), "scenario_sha256": scenario.sha256,
                "chunk_size": args.chunk_size, "parameters": scenario.parameter_sources()}
    ResultsFolder(out).write_json(SUMMARY, summary)
    print(format_table(summary | {"scenario": printable(summary["scenario"])}))
    failed = summary["failures"]["count"]
    if failed:
        print(f"\n{failed:,} rounds raised an error and are left out above: see "
              f"{out / 'failures'}")
    plural = "s" if len(tasks) > 1 else ""
    inputs = f", {out / INPUTS} (the parameters drawn for each round)" if args.inputs else ""
    print(f"\nwrote {out / RESULTS} ({len(tasks):,} Parquet part{plural}){inputs}, "
          f"{out / SUMMARY}")
    if not args.no_plots:
        figures = write_run_figures(out, scenario)
        print(f"wrote {len(figures)} figures (PNG and SVG) in {out / FIGURES_FOLDER}")
    return 0
