"""``negsim report RESULTS_DIR``: (re)make a batch's figures and write its report (a
run's, or a sweep's or sensitivity analysis's)."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.batch.results import ResultsError
from sim.cli.common import UsageError
from sim.report.content import write_report
from sim.report.output import load_run
from sim.report.study_report import study_kind, write_sensitivity_report, write_sweep_report


def register(commands: argparse._SubParsersAction) -> None:
    report = commands.add_parser(
        "report", help="(re)make the figures of a results folder and write report.html "
        "(self-contained) and report.md into it")
    report.add_argument("results", help="results folder of negsim run (or of negsim sweep "
                        "or sensitivity), e.g. results/june-20-30-2025")
    report.add_argument("--scenario", help="scenario file, where not the one summary.json "
                        "names (e.g. the results folder was moved)")
    report.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    folder = Path(args.results)
    kind = study_kind(folder)
    try:
        if kind == "sweep":
            paths = write_sweep_report(folder)
        elif kind == "sensitivity":
            paths = write_sensitivity_report(folder)
        else:
            paths = write_report(load_run(folder, args.scenario), folder)
    except ResultsError as error:
        raise UsageError(str(error)) from None
    figures = [p for p in paths if p.parent.name == "figures"]
    print(f"wrote {folder / 'report.html'} (self-contained), {folder / 'report.md'} and "
          f"{len(figures)} figures in {folder / 'figures'}")
    return 0
