"""``negsim compare A B ...``: scenarios (run here) or results folders (read) side by
side, with the differences from the first and whether each exceeds Monte Carlo noise.
Batches whose rounds are paired (same seed, chunks and posterior draws, checked round
by round in the results) get the interval for paired data."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sim.batch.chunks import run_scenario
from sim.batch.results import ResultsError, RunResults
from sim.cli.common import UsageError, integer_at_least
from sim.cli.scenario_args import add_set_option, default_folder, load_scenario_arg, settings_of
from sim.fileio import make_folder, write_atomically
from sim.report.compare import comparison, differences_figure, format_comparison
from sim.report.output import load_run, run_figures, write_figures
from sim.report.pairing import Rows, folder_rows, frame_rows, pair
from sim.scenario.spec import Scenario
from sim.stats.summary import Measures, summarise


def register(commands: argparse._SubParsersAction) -> None:
    compare = commands.add_parser(
        "compare", help="compare scenarios or results folders: the same figures side by "
        "side, differences with intervals")
    compare.add_argument("inputs", nargs="+", metavar="SCENARIO_OR_RESULTS",
                         help="two or more scenario files (run here) or results folders of "
                         "negsim run (read); the first is the baseline")
    compare.add_argument("--runs", type=integer_at_least("--runs", 1), default=10_000,
                         help="replicates per scenario file (default 10000)")
    compare.add_argument("--seed", type=integer_at_least("--seed", 0), default=0,
                         help="seed for scenario files (default 0)")
    compare.add_argument("--out", help="folder for the figures and comparison.json "
                         "(default results/compare-<A>-vs-<B>...)")
    compare.add_argument("--no-plots", action="store_true", help="print and write the "
                         "comparison only")
    add_set_option(compare, "every scenario file (results folders are read as they ran)")
    compare.add_argument("--json", action="store_true", help="print the comparison as JSON "
                         "(what comparison.json holds) instead of the table; what was "
                         "written goes to stderr")
    compare.set_defaults(handler=main)


def resolve(name: str, settings: dict) -> RunResults | Scenario:
    """A results folder read back, or a scenario file loaded with the ``--set``
    changes (to be run): every input is checked before anything runs."""
    path = Path(name)
    if path.is_dir():
        try:
            return load_run(path)
        except ResultsError as error:
            raise UsageError(str(error)) from None
    return load_scenario_arg(path, settings)  # a missing or bad file: one line, exit 2


def run_here(scenario: Scenario, runs: int, seed: int, settings: dict
             ) -> tuple[RunResults, Rows]:
    """Simulate a scenario in this process; count its outcomes and keep its rounds'
    ids and events (for pairing)."""
    results = run_scenario(scenario, runs, seed)
    summary = summarise(results, scenario, seed) | {
        "scenario_file": scenario.path, "scenario_sha256": scenario.sha256,
        "settings": settings}
    return (RunResults.of_frame(summary, results, scenario),
            frame_rows(results, Measures.of(scenario)))


def batch_of(item: RunResults | Scenario, runs: int, seed: int, settings: dict
             ) -> tuple[RunResults, Rows]:
    """A batch to compare and the source of its rounds: read from its results folder,
    part by part, or run here."""
    if isinstance(item, RunResults):
        return item, folder_rows(item.folder, Measures.of(item.scenario))
    return run_here(item, runs, seed, settings)


def main(args: argparse.Namespace) -> int:
    if len(args.inputs) < 2:
        raise UsageError("compare needs at least two scenario files or results folders")
    settings = settings_of(args)
    inputs = [resolve(name, settings) for name in args.inputs]
    batches = [batch_of(item, args.runs, args.seed, settings) for item in inputs]
    runs = [run for run, _ in batches]
    out = Path(args.out) if args.out else default_folder(
        "compare-" + "-vs-".join(Path(name).stem for name in args.inputs), settings=settings)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    try:
        pairings = [pair(runs[0].summary, run.summary, batches[0][1], rows)
                    for run, rows in batches[1:]]
    except ResultsError as error:
        raise UsageError(str(error)) from None
    result = comparison(runs, pairings)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(format_comparison(result))
    make_folder(out)
    write_atomically(out / "comparison.json", json.dumps(result, indent=2) + "\n")
    written = f"wrote {out / 'comparison.json'}"
    if not args.no_plots:
        figures = run_figures(runs) | {"differences": differences_figure(runs, result)}
        paths = write_figures(figures, out)
        written += f" and {len(paths)} figures (PNG and SVG) in {out}"
    print(written, file=sys.stderr if args.json else sys.stdout)
    return 0
