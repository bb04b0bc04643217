"""``negsim run SCENARIO``: simulate a round many times, report its outcome distribution."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sim.batch import CHUNK_SIZE, run_scenario
from sim.commands.common import UsageError, integer_at_least, write_atomically
from sim.scenario import load_scenario
from sim.summary import format_table, summarise


def register(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser("run", help="run a scenario and report its outcome distribution")
    run.add_argument("scenario", help="scenario file (TOML), e.g. scenarios/june-20-30-2025.toml")
    run.add_argument("--runs", type=integer_at_least("--runs", 1), default=10_000,
                     help="replicates to simulate (default 10000)")
    run.add_argument("--seed", type=integer_at_least("--seed", 0), default=0,
                     help="seed of the batch (default 0)")
    run.add_argument("--out", help="results folder (default results/<scenario file name>)")
    run.add_argument("--chunk-size", type=integer_at_least("--chunk-size", 1),
                     default=CHUNK_SIZE,
                     help=f"replicates per chunk (default {CHUNK_SIZE}); results depend on it")
    run.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    out = Path(args.out) if args.out else Path("results") / Path(args.scenario).stem
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    results = run_scenario(scenario, args.runs, args.seed, args.chunk_size)
    summary = summarise(results, scenario.round.name, args.seed, scenario.agenda)
    summary |= {"scenario_file": str(args.scenario), "scenario_sha256": scenario.sha256,
                "chunk_size": args.chunk_size}
    out.mkdir(parents=True, exist_ok=True)
    write_atomically(out / "results.parquet",
                     lambda p: results.to_parquet(p, index=False, compression="zstd"))
    write_atomically(out / "summary.json",
                     lambda p: p.write_text(json.dumps(summary, indent=2) + "\n"))
    print(format_table(summary))
    print(f"\nwrote {out / 'results.parquet'} and {out / 'summary.json'}")
    return 0
