"""The ``negsim`` command: a parser assembled from ``sim.cli``.

User mistakes (a bad scenario file, a bad option) print one line naming the file, the
key and what is allowed, and exit with status 2 — never a traceback; so does a file
that cannot be written (the path and the cause: disk full, read-only, no permission).
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
from importlib.metadata import PackageNotFoundError, version

from sim.cli.common import UsageError
from sim.errors import InputError
from sim.fileio import WriteError
from sim.terminal import printable

#: Each command: its module (which adds the subcommand with ``register(subparsers)``)
#: and a line of help. Only the module of the command being run is imported: the
#: commands pull in different heavy libraries (matplotlib, scipy.stats, SALib, Dask,
#: Solara), so ``negsim run`` does not pay for the others' start-up, and a missing
#: optional extra breaks only the command that needs it.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("sim.cli.run", "run a scenario and report its outcome distribution"),
    "compare": ("sim.cli.compare", "compare scenarios or results folders side by side"),
    "report": ("sim.cli.report", "(re)make a results folder's figures, report.html "
               "and report.md"),
    "sweep": ("sim.cli.sweep", "run a scenario over a grid or Latin hypercube of its "
              "knobs"),
    "sensitivity": ("sim.cli.sensitivity", "Sobol indices of outcomes with respect to "
                    "chosen parameters"),
    "calibrate": ("sim.cli.calibrate", "fit parameters to the reported rounds (ABC-SMC)"),
    "backtest": ("sim.cli.backtest", "forecast each round of the track record from the "
                 "rounds before it, and score it"),
    "campaign": ("sim.cli.campaign", "rounds, implementation and scheduling, day by "
                 "day"),
    "trace": ("sim.cli.trace", "tell one simulated round minute by minute"),
    "whatif": ("sim.cli.whatif", "the smallest change of one lever that reaches a "
               "target"),
    "dashboard": ("sim.cli.dashboard", "serve a browser dashboard to move parameters "
                  "and watch a round"),
    "validate": ("sim.cli.validate", "check a scenario file and print it merged (extends "
                 "resolved) as TOML"),
    "play": ("sim.cli.play", "hold one seat of a round against the model's agents"),
    "class": ("sim.cli.classroom", "serve a classroom session: a seat and a seed for each "
              "student's browser, every game written to a folder"),
    "class-report": ("sim.cli.class_report", "a class's games against the model's "
                     "distribution and each other (report.html, report.md)"),
    "discover": ("sim.cli.discover", "which ranges of the drawn inputs make an event "
                 "likely (PRIM)"),
}


#: Commands that run chunks in a local process pool unless told otherwise.
POOLED = {"run", "sweep", "sensitivity", "campaign"}


def _pooled(command: str | None, argv: list[str]) -> bool:
    """Whether the command will run a local pool: one of ``POOLED``, neither on a
    cluster nor with ``--workers 1`` (a guess from the raw arguments, before they are
    parsed: a wrong one costs an idle process), on a machine of several cores."""
    if command not in POOLED or any(a.startswith("--scheduler") for a in argv):
        return False
    if "--workers=1" in argv or ("--workers", "1") in zip(argv, argv[1:], strict=False):
        return False
    if command == "run":
        from sim.batch.sizes import CHUNK_SIZE, DEFAULT_RUNS
        runs = _runs(argv)
        if (DEFAULT_RUNS if runs is None else runs) <= CHUNK_SIZE:  # one chunk: run here
            return False
    from sim.batch.executors.base import default_workers
    return default_workers() > 1


def _runs(argv: list[str]) -> int | None:
    """``--runs N`` (or ``--runs=N``) as the raw arguments give it, if a whole number."""
    for k, arg in enumerate(argv):
        value = arg.partition("=")[2] if arg.startswith("--runs=") else (
            argv[k + 1] if arg == "--runs" and k + 1 < len(argv) else None)
        if value is not None:
            return int(value) if value.isdigit() else None
    return None


def installed_version() -> str:
    """negsim's version as installed (pyproject.toml's), or "unknown" when run from a
    source tree that was never installed."""
    try:
        return version("negsim")
    except PackageNotFoundError:
        return "unknown"


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    """The parser, with the full options of the command named in ``argv`` (if any)."""
    parser = argparse.ArgumentParser(
        prog="negsim", description="Simulate mediated negotiation rounds and report the "
        "distribution of their outcomes.")
    parser.add_argument("--version", action="version", version=f"negsim {installed_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = next((a for a in argv if not a.startswith("-")), None)
    if _pooled(chosen, argv):
        from sim.batch.executors.local import warm_up
        warm_up()  # the fork server imports while this process imports the command
    for name, (module, summary) in COMMANDS.items():
        if name == chosen:
            importlib.import_module(module).register(commands)
        else:
            commands.add_parser(name, help=summary)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM, taken like Ctrl-C: what is under way stops cleanly (workers stopped,
    the results folder's lock let go, finished parts kept)."""


def _terminate(signum, frame) -> None:
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    here = threading.current_thread() is threading.main_thread()
    before = signal.signal(signal.SIGTERM, _terminate) if here else None
    try:
        return args.handler(args)
    except (InputError, UsageError, WriteError) as error:
        # one line, whatever a file's names hold (sim.terminal)
        print(f"negsim: error: {printable(error)}", file=sys.stderr)
        return 2
    except Terminated:
        print("negsim: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        print("negsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        if here:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if before is None else before)


if __name__ == "__main__":
    sys.exit(main())
