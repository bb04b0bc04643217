"""``negsim dashboard [SCENARIO]``: a browser dashboard to move red lines and pressure
and watch a round (Mesa's SolaraViz, served by Solara on this machine)."""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from sim.cli.common import UsageError, integer_at_least
from sim.scenario.load import load_scenario
from sim.teach.dashboard import DISTRIBUTION_RUNS  # Mesa's model only: no Solara

APP = Path(__file__).resolve().parent.parent / "teach" / "dashboard_app.py"
DEFAULT = Path(__file__).resolve().parents[2] / "scenarios" / "classroom-two-party.toml"
#: Solara counts page views by default; a teaching tool keeps to itself.
QUIET = {"SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}

DESCRIPTION = """\
Serve a browser dashboard of one round: sliders for each side's red lines, exchange
willingness and patience and the mediator's pressure (Reset applies them); Step and
Play run the round a minute at a time; charts of the offers against the red lines on
each item with the mediator's texts, the agenda over time, the outcome distribution
of a quick batch under the same settings, and the round so far in words.

Works offline (its JavaScript ships with the 'viz' extra: pip install 'negsim[viz]').
Listens on 127.0.0.1 unless told otherwise with --host."""


def register(commands: argparse._SubParsersAction) -> None:
    dashboard = commands.add_parser(
        "dashboard", help="serve a browser dashboard to move parameters and watch a round",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    dashboard.add_argument("scenario", nargs="?", default=str(DEFAULT),
                           help="scenario file (default: the classroom round)")
    dashboard.add_argument("--host", default="127.0.0.1",
                           help="address to listen on (default 127.0.0.1: this machine only)")
    dashboard.add_argument("--port", type=integer_at_least("--port", 1), default=8765,
                           help="port (default 8765)")
    dashboard.add_argument("--runs", type=integer_at_least("--runs", 10),
                           default=DISTRIBUTION_RUNS, help="rounds in the outcome-distribution "
                           f"panel's quick batch (default {DISTRIBUTION_RUNS})")
    dashboard.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    load_scenario(args.scenario)  # a broken file: one line, before a server starts
    if args.port > 65535:
        raise UsageError(f"--port must be <= 65535, got {args.port}")
    missing = [name for name in ("solara", "mesa.visualization")
               if importlib.util.find_spec(name.split(".")[0]) is None]
    if missing:
        raise UsageError("negsim dashboard needs the 'viz' extra: pip install 'negsim[viz]' "
                         f"(missing: {', '.join(missing)})")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"negsim: serving on {args.host}: other machines that reach it can use the "
              "dashboard", file=sys.stderr)
    env = dict(os.environ) | QUIET | {
        "NEGSIM_DASHBOARD_SCENARIO": str(Path(args.scenario).resolve()),
        "NEGSIM_DASHBOARD_RUNS": str(args.runs)}
    print(f"negsim dashboard: http://{args.host}:{args.port}/ (Ctrl-C stops it)", flush=True)
    command = [sys.executable, "-m", "solara", "run", str(APP), "--host", args.host,
               "--port", str(args.port), "--no-open", "--production"]
    return subprocess.run(command, env=env).returncode
