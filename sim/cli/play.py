"""``negsim play SCENARIO --as PARTY|mediator``: hold one seat of a round against the
model's agents, on a page (a Solara server on this machine) or from a file of moves."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path

from sim.cli.common import UsageError, integer_at_least
from sim.cli.dashboard import QUIET, serve
from sim.cli.scenario_args import load_scenario_arg
from sim.errors import InputError
from sim.fileio import make_folder
from sim.teach.play import COMPARISON_RUNS, BadMove, new_game, read_moves, replay
from sim.teach.play_debrief import debrief, transcript_text, write_debrief

APP = Path(__file__).resolve().parent.parent / "teach" / "play_app.py"

DESCRIPTION = f"""\
Hold one seat of a round — a delegation (--as PARTY: its key or name) or the mediator
(--as mediator) — against the model's agents in every other seat, with the same rules
and private information as in `negsim run`. The round is replicate 0 of `negsim run
SCENARIO --seed SEED --runs {COMPARISON_RUNS}`; the clock runs in simulated minutes.

On a page (the default): served on 127.0.0.1 (Ctrl-C or SIGTERM stops it), laid out
for a 1280x720 projector: your role card (your red lines, ideals, saliences and BATNA,
private; what you believe of the others), each turn's controls, the transcript and the
clock. After the round: the debrief (with --debrief OUT.json, also written there).

From a file (--moves FILE): one JSON object a line, one at each of your turns:
  a delegation  {{"offer": {{"ISSUE": VALUE, ...}}}}  {{"accept": true}}  {{"reject": true}}
                {{"hold": true}}  {{"caucus": true}}  {{"walk_out": true}}
  the mediator  {{"text": {{"ISSUE": VALUE, ...}}}}  {{"item": "ISSUE"}}  {{"park": "ISSUE"}}
                {{"lever": "NAME"}}  {{"caucus": "PARTY"}}  {{"hold": true}}
When the moves run out you hold your last offer. Prints the transcript; --debrief
OUT.json writes the debrief (outcome, utility, BATNA, percentile against the model's
agent in your seat over the {COMPARISON_RUNS:,} rounds of the batch, distance to the
Pareto frontier and to the Nash point, what the others really held, the transcript)
and its figure (OUT.png, OUT.svg). A bad move: one line naming the file and line,
exit 2, nothing written."""


def register(commands: argparse._SubParsersAction) -> None:
    play = commands.add_parser(
        "play", help="hold one seat of a round against the model's agents",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    play.add_argument("scenario", help="scenario file (TOML)")
    play.add_argument("--as", dest="seat", required=True, metavar="PARTY|mediator",
                      help="the seat you hold: a party's key or name, or mediator")
    play.add_argument("--seed", type=integer_at_least("--seed", 0), default=0,
                      help="seed of the batch the round is replicate 0 of (default 0)")
    play.add_argument("--moves", metavar="FILE",
                      help="play the moves of a JSON-lines file instead of a page")
    play.add_argument("--debrief", metavar="OUT.json",
                      help="write the debrief here (and its figure beside it)")
    play.add_argument("--host", default="127.0.0.1",
                      help="address the page listens on (default 127.0.0.1)")
    play.add_argument("--port", type=integer_at_least("--port", 1), default=8766,
                      help="port of the page (default 8766)")
    play.set_defaults(handler=main)


def game_of(args: argparse.Namespace):
    """The scenario and game the arguments name (a bad seat: one line)."""
    scenario = load_scenario_arg(args.scenario)
    try:
        return new_game(scenario, args.seat, args.seed)
    except ValueError as error:
        raise UsageError(str(error)) from None


def debrief_path(text: str | None) -> Path | None:
    """``--debrief``'s path, its folder made; it must end in .json."""
    if text is None:
        return None
    path = Path(text)
    if path.suffix != ".json":
        raise UsageError(f"--debrief {text}: name a .json file (the figure goes beside it)")
    make_folder(path.parent if str(path.parent) else Path("."))
    return path


def main(args: argparse.Namespace) -> int:
    game = game_of(args)
    out = debrief_path(args.debrief)
    if args.moves is None:
        return serve_page(args, out)
    moves = read_moves(args.moves)
    try:
        played = replay(game, moves)
    except BadMove as bad:
        raise InputError(args.moves, f"line {bad.line}", bad.message) from None
    print(transcript_text(played))
    if out is not None:
        for path in write_debrief(played, out):
            print(f"wrote {path}")
    else:
        data = debrief(played)
        print(f"\nYour utility {data['utility']:.3f} (BATNA {data['batna']:.3f}): "
              f"percentile {data['percentile']['utility']:.1f} of the model's agent in "
              f"your seat; value left on the table {data['pareto_distance']:.3f}.")
    return 0


def serve_page(args: argparse.Namespace, out: Path | None, extra: dict | None = None) -> int:
    """The page, served by Solara until Ctrl-C or SIGTERM (``sim.cli.dashboard.serve``)."""
    if args.port > 65535:
        raise UsageError(f"--port must be <= 65535, got {args.port}")
    if importlib.util.find_spec("solara") is None:
        raise UsageError("negsim play needs the 'viz' extra: pip install 'negsim[viz]'")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"negsim: serving on {args.host}: other machines that reach it can play",
              file=sys.stderr)
    env = dict(os.environ) | QUIET | {
        "NEGSIM_PLAY_SCENARIO": str(Path(args.scenario).resolve()),
        "NEGSIM_PLAY_SEAT": args.seat or "",
        "NEGSIM_PLAY_SEED": str(args.seed),
        "NEGSIM_PLAY_DEBRIEF": "" if out is None else str(out.resolve())} | (extra or {})
    print(f"negsim {args.command}: http://{args.host}:{args.port}/ (Ctrl-C stops it)",
          flush=True)
    command = [sys.executable, "-m", "solara", "run", str(APP), "--host", args.host,
               "--port", str(args.port), "--no-open", "--production"]
    return serve(command, env, args.command)
