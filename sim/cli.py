"""The ``negsim`` command.

User mistakes (a bad scenario file, a bad option) print one line naming the file, the
key and what is allowed, and exit with status 2 — never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from sim.batch import CHUNK_SIZE, run_scenario
from sim.scenario import ScenarioError, load_scenario
from sim.summary import format_table, summarise


class UsageError(Exception):
    """A command-line mistake: reported in one line, exit status 2."""


def _positive(name: str, low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{name} must be >= {low}, got {value}")
        return value
    return parse


def _write_atomically(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename: a reader (or a
    killed run) never sees half a file."""
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(Path(temp))
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def cmd_run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    out = Path(args.out) if args.out else Path("results") / Path(args.scenario).stem
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    results = run_scenario(scenario, args.runs, args.seed, args.chunk_size)
    summary = summarise(results, scenario.round.name, args.seed, scenario.agenda)
    summary |= {"scenario_file": str(args.scenario), "scenario_sha256": scenario.sha256,
                "chunk_size": args.chunk_size}
    out.mkdir(parents=True, exist_ok=True)
    _write_atomically(out / "results.parquet",
                      lambda p: results.to_parquet(p, index=False, compression="zstd"))
    _write_atomically(out / "summary.json",
                      lambda p: p.write_text(json.dumps(summary, indent=2) + "\n"))
    print(format_table(summary))
    print(f"\nwrote {out / 'results.parquet'} and {out / 'summary.json'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="negsim", description="Simulate mediated negotiation rounds and report the "
        "distribution of their outcomes.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="run a scenario and report its outcome distribution")
    run.add_argument("scenario", help="scenario file (TOML), e.g. scenarios/june-20-30-2025.toml")
    run.add_argument("--runs", type=_positive("--runs", 1), default=10_000,
                     help="replicates to simulate (default 10000)")
    run.add_argument("--seed", type=_positive("--seed", 0), default=0,
                     help="seed of the batch (default 0)")
    run.add_argument("--out", help="results folder (default results/<scenario name>)")
    run.add_argument("--chunk-size", type=_positive("--chunk-size", 1), default=CHUNK_SIZE,
                     help=f"replicates per chunk (default {CHUNK_SIZE}); results depend on it")
    run.set_defaults(handler=cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (ScenarioError, UsageError) as error:
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
