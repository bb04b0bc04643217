"""``negsim class SCENARIO --seats N --out DIR``: a classroom session on one server —
each student's browser session gets a seat and a seed, each finished game is written
to DIR (``sim.teach.classroom``)."""

from __future__ import annotations

import argparse

from sim.cli.common import UsageError, integer_at_least
from sim.cli.play import serve_page
from sim.cli.scenario_args import load_scenario_arg
from sim.teach.classroom import Classroom
from sim.teach.play import COMPARISON_RUNS, role_of

DESCRIPTION = f"""\
Serve one page for a whole class. The first N browser sessions to open it each get a
seat — round-robin over the scenario's parties, or the one --as names (a party or
mediator) — and a seed, SEED + k for the k-th session: every student plays a variant
of the same case against the model's agents, as `negsim play` does. Each finished
game is written to DIR: games/game-K.parquet (one row a game: seat, seed, moves,
outcome per issue, utility, BATNA, percentile against the model's agent in the seat
over the {COMPARISON_RUNS:,} rounds of its seed, distance to the Pareto frontier and
to the Nash point), debriefs/game-K.json (its debrief) and figures/game-K.png and
.svg.
Then `negsim class-report DIR`. Ctrl-C (or SIGTERM) stops the server."""


def register(commands: argparse._SubParsersAction) -> None:
    session = commands.add_parser(
        "class", help="serve a classroom session: a seat and a seed for each student",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    session.add_argument("scenario", help="scenario file (TOML)")
    session.add_argument("--seats", type=integer_at_least("--seats", 1), required=True,
                         help="how many students (browser sessions) play")
    session.add_argument("--out", required=True, metavar="DIR",
                         help="the class folder the games are written to")
    session.add_argument("--as", dest="seat", metavar="PARTY|mediator",
                         help="give every student this seat (default: round-robin over "
                         "the parties)")
    session.add_argument("--seed", type=integer_at_least("--seed", 0), default=0,
                         help="the first student's seed (default 0)")
    session.add_argument("--host", default="127.0.0.1",
                         help="address to listen on (default 127.0.0.1: this machine only; "
                         "give 0.0.0.0 for a classroom's network)")
    session.add_argument("--port", type=integer_at_least("--port", 1), default=8767,
                         help="port (default 8767)")
    session.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    scenario = load_scenario_arg(args.scenario)
    if args.seat is not None:
        try:
            role_of(scenario, args.seat)
        except ValueError as error:
            raise UsageError(str(error)) from None
    room = Classroom(scenario, args.out, args.seats, args.seed, args.seat)
    room.start()
    return serve_page(args, None, {"NEGSIM_CLASS_OUT": str(room.out.resolve()),
                                   "NEGSIM_CLASS_SEATS": str(args.seats)})
