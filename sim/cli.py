"""The ``negsim`` command: a parser assembled from ``sim.commands``.

User mistakes (a bad scenario file, a bad option) print one line naming the file, the
key and what is allowed, and exit with status 2 — never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys

from sim.commands import (
    calibrate,
    campaign,
    compare,
    dashboard,
    report,
    run,
    sensitivity,
    sweep,
    trace,
    whatif,
)
from sim.commands.common import UsageError
from sim.errors import InputError

#: Each module adds its subcommand with ``register(subparsers)``.
COMMANDS = (run, calibrate, sweep, sensitivity, trace, compare, report, whatif, campaign,
            dashboard)



def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="negsim", description="Simulate mediated negotiation rounds and report the "
        "distribution of their outcomes.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (InputError, UsageError) as error:
        print(f"negsim: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("negsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
