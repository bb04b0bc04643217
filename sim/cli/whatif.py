"""``negsim whatif SCENARIO --target "EVENT >= P"``: the smallest change of one lever
that brings an outcome's probability to a target."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sim.cli.common import UsageError, integer_at_least
from sim.cli.scenario_args import add_set_option, load_scenario_arg, settings_of
from sim.scenario.spec import Scenario
from sim.teach.whatif import ScenarioFile, format_whatif, parse_target, what_would_it_take
from sim.viz.teaching import save, whatif_figure

DESCRIPTION = """\
What would it take for an outcome to reach a target probability? For each lever on
its own — a party's red line on an issue, its exchange willingness or patience, the
mediator's pressure or credibility — search its allowed range in both directions
(a grid, then a finer grid where the target is first reached) for the smallest
change that reaches the target, every evaluation with the same seed (common random
numbers). Prints the levers ranked by the size of that change (as a share of the
lever's allowed range) and draws the probability against each lever's shift.
"No single lever reaches it" is a possible answer.

EVENT is one of the scenario's events (its [events] table; `negsim validate SCENARIO`
lists them)."""


def register(commands: argparse._SubParsersAction) -> None:
    whatif = commands.add_parser(
        "whatif", help="the smallest change of one lever that reaches a target",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    whatif.add_argument("scenario", help="scenario file (TOML)")
    whatif.add_argument("--target", required=True, metavar='"EVENT >= P"',
                        help="an event and a probability, with >= or <=, e.g. "
                        '"deal >= 0.5" or "walkout <= 5%%" (EVENT: an event of the scenario)')
    whatif.add_argument("--runs", type=integer_at_least("--runs", 10), default=1000,
                        help="rounds per evaluation (default 1000)")
    whatif.add_argument("--seed", type=integer_at_least("--seed", 0), default=0,
                        help="batch seed, the same for every evaluation (default 0)")
    whatif.add_argument("--steps", type=integer_at_least("--steps", 2), default=8,
                        help="grid points per direction per lever (default 8)")
    whatif.add_argument("--lever", action="append", default=[], metavar="KEY",
                        help="search only this lever, a scenario key such as "
                        "mediator.pressure (repeatable; default: all)")
    add_set_option(whatif)
    whatif.add_argument("--figure", metavar="PNG", help="where to draw the figure (default "
                        "results/<scenario file name>/whatif-<event>.png)")
    whatif.add_argument("--json", action="store_true",
                        help="print the search (every lever's curve) as JSON instead")
    whatif.set_defaults(handler=main)


def parsed(path: str, settings: dict) -> tuple[ScenarioFile, Scenario]:
    """The scenario file parsed once for the whole search, and the scenario with
    ``settings``; where that fails, the error a user gets for it elsewhere
    (``load_scenario_arg``: a campaign file named as such, a bad ``--set``)."""
    try:
        scenario_file = ScenarioFile(path)
        return scenario_file, scenario_file.changed(settings)
    except ValueError:
        load_scenario_arg(path, settings)  # raises it, worded for the command line
        raise


def main(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    scenario_file, scenario = parsed(args.scenario, settings)
    try:
        target = parse_target(args.target, scenario)
        result = what_would_it_take(args.scenario, settings, target, args.runs, args.seed,
                                    tuple(args.lever), args.steps, scenario_file)
    except ValueError as error:  # a scenario error, a bad target or lever
        raise UsageError(str(error)) from None
    figure = Path(args.figure) if args.figure else (
        Path("results") / Path(args.scenario).stem / f"whatif-{target.event}.png")
    save(whatif_figure(result), figure)
    if args.json:
        print(json.dumps(result.to_json() | {"figure": str(figure)}))
    else:
        print(format_whatif(result))
        print(f"\nwrote {figure}")
    return 0
