"""``negsim dashboard [SCENARIO]``: a browser dashboard to move the levers and watch a
round (a Solara page over a Mesa model, served by Solara on this machine).

The server is a child process (``solara run``). Stopping the command stops it:
Ctrl-C, SIGTERM or SIGHUP send it SIGTERM and wait ``STOP_SECONDS`` for it to close
(then SIGKILL); on Linux it also gets SIGTERM if the command dies without a chance to
(``prctl(PR_SET_PDEATHSIG)``, kill -9), so no server is left serving on the port.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path

from sim.cli.common import UsageError, integer_at_least
from sim.scenario.load import load_scenario
from sim.teach.dashboard import BATCH_RUNS, DISTRIBUTION_RUNS  # Mesa's model only: no Solara

APP = Path(__file__).resolve().parent.parent / "teach" / "dashboard_app.py"
DEFAULT = Path(__file__).resolve().parents[2] / "scenarios" / "classroom-two-party.toml"
#: Solara counts page views by default and shows a "runs on Solara" banner over the
#: page's bottom right corner: a teaching tool keeps to itself and to its page.
QUIET = {"SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False", "SOLARA_THEME_SHOW_BANNER": "False"}
#: Seconds the server has to close after SIGTERM before it is killed.
STOP_SECONDS = 10
#: Linux's prctl option: a signal for the child when its parent dies (prctl(2)).
PR_SET_PDEATHSIG = 1

DESCRIPTION = f"""\
Serve a browser dashboard of one round, laid out for a 1280x720 projector: a slider
for each side's red lines, exchange willingness, patience and concession beta and the
mediator's pressure and credibility, each with its value shown (the file's until
moved); Reset applies the sliders moved, and only those; Step and play run the round a
minute at a time. Charts of the item under discussion (offers against red lines, the
mediator's texts), the round so far in words, the agenda over time, the outcome
distribution under the same settings, and every item reached.

Round R with --seed S is replicate R of `negsim run SCENARIO --seed S` (its default
--runs, {BATCH_RUNS:,}): the round `negsim trace SCENARIO --seed S --run R` tells, a
moved slider being its --set KEY=VALUE (the page shows the command). The distribution
panel is the first --runs rounds of that batch.

Works offline and asks nothing of another machine (its JavaScript ships with the
'viz' extra: pip install 'negsim[viz]'). Listens on 127.0.0.1 unless told otherwise
with --host. Ctrl-C (or SIGTERM) stops the server."""


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
    dashboard.add_argument("--seed", type=integer_at_least("--seed", 0), default=0,
                           help="seed of the batch the rounds come from, as for negsim run "
                           "and negsim trace (default 0)")
    dashboard.add_argument("--runs", type=integer_at_least("--runs", 10),
                           default=DISTRIBUTION_RUNS, help="rounds in the outcome-distribution "
                           f"panel: the first rows of the batch (default {DISTRIBUTION_RUNS}, "
                           f"at most {BATCH_RUNS})")
    dashboard.set_defaults(handler=main)


def _die_with_parent() -> None:
    """In the server's process, before it starts: SIGTERM when negsim dies (Linux)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # no prctl: Ctrl-C and SIGTERM still stop it
        pass


class _Stopped(Exception):
    """SIGTERM or SIGHUP reached the command."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_stopped(signum: int, frame) -> None:
    raise _Stopped(signum)


def serve(command: list[str], env: dict[str, str], name: str = "dashboard") -> int:
    """Run the server until it exits or the command is stopped; then stop it too. The
    exit status: the server's, or 128 + the signal that stopped the command. ``name``:
    the negsim command serving, in its last line."""
    stopping = (signal.SIGTERM, signal.SIGHUP)
    previous = {signum: signal.getsignal(signum) for signum in (*stopping, signal.SIGINT)}
    for signum in stopping:
        signal.signal(signum, _raise_stopped)
    try:
        process = subprocess.Popen(command, env=env, preexec_fn=_die_with_parent
                                   if sys.platform == "linux" else None)
        try:
            return process.wait()
        except KeyboardInterrupt:
            status = 128 + signal.SIGINT
        except _Stopped as stop:
            status = 128 + stop.signum
        for signum in previous:  # the server is being stopped: one more signal waits
            signal.signal(signum, signal.SIG_IGN)
        process.terminate()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        print(f"negsim {name}: stopped", file=sys.stderr)
        return status
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(args: argparse.Namespace) -> int:
    load_scenario(args.scenario)  # a broken file: one line, before a server starts
    if args.port > 65535:
        raise UsageError(f"--port must be <= 65535, got {args.port}")
    if args.runs > BATCH_RUNS:
        raise UsageError(f"--runs must be <= {BATCH_RUNS} (the rounds of the batch), "
                         f"got {args.runs}")
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
        "NEGSIM_DASHBOARD_SEED": str(args.seed),
        "NEGSIM_DASHBOARD_RUNS": str(args.runs)}
    print(f"negsim dashboard: http://{args.host}:{args.port}/ (Ctrl-C stops it)", flush=True)
    command = [sys.executable, "-m", "solara", "run", str(APP), "--host", args.host,
               "--port", str(args.port), "--no-open", "--production"]
    return serve(command, env)
