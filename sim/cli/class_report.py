"""``negsim class-report DIR``: a classroom session's games against the model's
distribution and each other (``sim.report.classroom``)."""

from __future__ import annotations

import argparse

from sim.report.classroom import load_class, write_class_report


def register(commands: argparse._SubParsersAction) -> None:
    report = commands.add_parser(
        "class-report", help="a class's games against the model's distribution and each "
        "other (report.html, report.md)",
        description="Read the games a `negsim class` session wrote to DIR and write, into "
        "DIR, report.md and a self-contained report.html: the class's median percentile "
        "against the model's agent in the same seats, the games by seat and one by one "
        "(utility, BATNA, percentile, distance to the Pareto frontier and to the Nash "
        "point, outcome per issue), and the class on the utility plane of the two main "
        "sides among the model's rounds (figures/class-plane.png and .svg).")
    report.add_argument("folder", metavar="DIR", help="the --out folder of negsim class")
    report.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    for path in write_class_report(load_class(args.folder)):
        print(f"wrote {path}")
    return 0
