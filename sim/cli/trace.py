"""``negsim trace SCENARIO``: one simulated round, told minute by minute."""

from __future__ import annotations

import argparse
import json
import os
import sys

from sim.batch.chunks import CHUNK_SIZE
from sim.cli.common import UsageError, integer_at_least
from sim.cli.scenario_args import add_set_option, load_scenario_arg, settings_of
from sim.teach.trace import lever_names, narrate, play, render, replicate_setup, use_colour
from sim.viz.teaching import round_figure, save

DESCRIPTION = """\
Tell one simulated round minute by minute: the item the mediator opens, each side's
offer, the zone of agreement (or which red lines cross, and by how much), each text
the mediator proposes and each side's answer with its reason, deadlocks, time-outs, a
walk-out, the agreements and the duration.

The round is replicate RUN of `negsim run SCENARIO --seed SEED --runs RUNS
--chunk-size CHUNK_SIZE` (same defaults): its outcome is row RUN of that batch's
results. Replicate R is row R mod CHUNK_SIZE of chunk R // CHUNK_SIZE, and a chunk's
draws depend on its size, so give the batch's --runs when R is in its last chunk."""


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
                       help="also draw the round: offers against red lines per item, and "
                       "the agenda over time")
    trace.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    scenario = load_scenario_arg(args.scenario, settings_of(args))
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
    if args.figure:
        path = save(round_figure(model, scenario.round.name), args.figure)
        print(f"wrote {path}", file=sys.stderr if args.json else sys.stdout)
    return 0
