"""``negsim trace SCENARIO``: one simulated round, told minute by minute."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

from sim.batch.chunks import CHUNK_SIZE
from sim.cli.common import UsageError, integer_at_least
from sim.cli.scenario_args import add_set_option, load_scenario_arg, settings_of
from sim.scenario.spec import Protocol, Scenario
from sim.teach.trace import lever_names, narrate, play, render, replicate_setup, use_colour
from sim.viz.frontier import frontier_figure
from sim.viz.frontier import save as save_frontier
from sim.viz.teaching import round_figure, save

DESCRIPTION = """\
Tell one simulated round minute by minute: the mediator's caucuses and what it then
reckons, the levers it spends; item by item, each item it opens with its zone of
agreement, each side's offer, each text and each side's answer with its reason; in a
package round, each text over the open issues, each side's answer (accepts, falls short
of what it still needs, objects that the text is past its red line) and the issues
parked and why; what the sides learn of each other, walk-outs as decisions (staying
weighed against the BATNA, or frustration), the agreements and the duration. With
private information, the sides' true red lines, BATNAs and bluffs are told only in a
final section, "What each side really held".

The round is replicate RUN of `negsim run SCENARIO --seed SEED --runs RUNS
--chunk-size CHUNK_SIZE` (same defaults): its outcome is row RUN of that batch's
results. Replicate R is row R mod CHUNK_SIZE of chunk R // CHUNK_SIZE, and a chunk's
draws depend on its size, so give the batch's --runs when R is in its last chunk."""

FIGURE_SUFFIXES = (".png", ".svg")


def register(commands: argparse._SubParsersAction) -> None:
    trace = commands.add_parser(
        "trace", help="tell one simulated round minute by minute", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    trace.add_argument("scenario", help="scenario file (TOML), e.g. "
                       "scenarios/classroom-two-party.toml")
    trace.add_argument("--seed", type=integer_at_least("--seed", 0), default=0,
                       help="seed of the batch, as for negsim run (default 0)")
    trace.add_argument("--run", type=integer_at_least("--run", 0), default=0,
                       help="which replicate of that batch (its run_id; default 0)")
    trace.add_argument("--runs", type=integer_at_least("--runs", 1), default=10_000,
                       help="size of that batch, as for negsim run (default 10000)")
    trace.add_argument("--chunk-size", type=integer_at_least("--chunk-size", 1),
                       default=CHUNK_SIZE, help=f"as for negsim run (default {CHUNK_SIZE})")
    add_set_option(trace)
    trace.add_argument("--json", action="store_true",
                       help="print the events as JSON lines (one object per event)")
    trace.add_argument("--figure", metavar="PNG",
                       help="also draw the round: offers or texts against red lines per "
                       "issue, and the agenda over time")
    trace.add_argument("--frontier", metavar="PNG",
                       help="also draw the Pareto frontier of the package in two sides' "
                       "utility plane, with the package protocol's agreement, the Nash "
                       "point, each side's BATNA and the sequential protocol's deal for "
                       "the same replicate (.png or .svg)")
    trace.add_argument("--sides", metavar="A,B",
                       help="the two sides of the --frontier plane, by name or key "
                       "(default: the first two parties)")
    trace.set_defaults(handler=main)


def sides_of(scenario: Scenario, text: str | None) -> tuple[int, int]:
    """The two parties ``--sides`` names (by name or key, any case); the first two by
    default."""
    parties = scenario.parties
    if len(parties) < 2:
        raise UsageError("--frontier needs two sides; the scenario has one")
    if text is None:
        return 0, 1
    names = [part.strip().casefold() for part in text.split(",")]
    allowed = ", ".join(p.name for p in parties)
    found = []
    for name in names:
        match = [k for k, p in enumerate(parties) if name in (p.name.casefold(), p.key.casefold())]
        if not match:
            raise UsageError(f"--sides {text!r}: no side {name!r}; allowed: {allowed}")
        found.append(match[0])
    if len(found) != 2 or found[0] == found[1]:
        raise UsageError(f"--sides {text!r}: must name two different sides, e.g. "
                         f"{parties[0].name},{parties[1].name}")
    return found[0], found[1]


def _check_suffix(option: str, path: str | None) -> None:
    if path is not None and Path(path).suffix.lower() not in FIGURE_SUFFIXES:
        raise UsageError(f"{option} {path!r}: the file must end in .png or .svg")


def main(args: argparse.Namespace) -> int:
    scenario = load_scenario_arg(args.scenario, settings_of(args))
    if args.sides is not None and args.frontier is None:
        raise UsageError("--sides chooses the plane of --frontier: give --frontier PNG too")
    _check_suffix("--frontier", args.frontier)
    sides = sides_of(scenario, args.sides) if args.frontier else (0, 1)
    try:
        setup = replicate_setup(scenario, args.seed, args.run, args.runs, args.chunk_size)
    except ValueError as error:
        raise UsageError(str(error)) from None
    model = play(setup)
    events = narrate(model, scenario.round.name, lever_names(scenario))
    if args.json:
        for event in events:
            print(json.dumps(event.to_json(), allow_nan=False))
    else:
        print(render(events, use_colour(sys.stdout.isatty(), dict(os.environ))))
    notes = sys.stderr if args.json else sys.stdout
    if args.figure:
        path = save(round_figure(model, scenario.round.name), args.figure)
        print(f"wrote {path}", file=notes)
    if args.frontier:
        other = Protocol.SEQUENTIAL if setup.protocol is Protocol.PACKAGE else Protocol.PACKAGE
        twin = dataclasses.replace(scenario, round=dataclasses.replace(scenario.round,
                                                                       protocol=other))
        second = play(replicate_setup(twin, args.seed, args.run, args.runs, args.chunk_size))
        package, sequential = ((model, second) if other is Protocol.SEQUENTIAL
                               else (second, model))
        path = save_frontier(frontier_figure(package, sequential, sides, scenario.round.name),
                             args.frontier)
        print(f"wrote {path}", file=notes)
    return 0
