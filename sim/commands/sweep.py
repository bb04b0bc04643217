"""``negsim sweep SWEEP.toml``: a scenario at every point of a design over its knobs."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.commands.batching import add_batch_options, run_batch
from sim.storage import RESULTS, SUMMARY, ResultsFolder, make_manifest
from sim.sweep import design_table, load_sweep

#: Columns of the per-point table printed (all of them are in points.csv).
SHOWN = ("runs", "walkout.p", "pow_exchange_agreed.p", "ceasefire_any.p",
         "next_round_agreed.p", "duration_minutes.p50")


def register(commands: argparse._SubParsersAction) -> None:
    sweep = commands.add_parser("sweep", help="run a scenario over a grid or Latin "
                                "hypercube of its knobs")
    sweep.add_argument("sweep", help="sweep file (TOML), e.g. "
                       "experiments/june-20-30-2025-sweep.toml")
    sweep.add_argument("--out", help="results folder (default results/<sweep file name>)")
    add_batch_options(sweep)
    sweep.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    sweep = load_sweep(args.sweep)
    out = Path(args.out) if args.out else Path("results") / Path(args.sweep).stem
    tasks = sweep.tasks()
    base = sweep.scenarios[0]
    manifest = make_manifest("sweep", base, str(sweep.experiment.scenario_path), sweep.seed,
                             sweep.replicates * len(sweep.points), sweep.chunk_size,
                             len(tasks), experiment_sha256=sweep.experiment.sha256)
    tallies = run_batch(args, out, manifest, tasks)
    labels = list(tallies)
    summaries = [tallies[label].summary(base.round.name, sweep.seed, base.agenda)
                 for label in labels]
    table = design_table(labels, summaries)
    folder = ResultsFolder(out)
    folder.write_csv("points.csv", table)
    folder.write_json(SUMMARY, {
        "sweep": str(args.sweep), "experiment_sha256": sweep.experiment.sha256,
        "scenario": base.round.name, "design": sweep.design, "seed": sweep.seed,
        "replicates": sweep.replicates,
        "points": [dict(label) | {"summary": summary}
                   for label, summary in zip(labels, summaries, strict=True)]})
    knobs = [knob.key for knob in sweep.experiment.knobs]
    shown = [c for c in ("point", *knobs, *SHOWN) if c in table.columns]
    print(f"{base.round.name}: {sweep.design} sweep, {len(sweep.points):,} design points x "
          f"{sweep.replicates:,} rounds, seed {sweep.seed}\n")
    print(table[shown].to_string(index=False, float_format=_short))
    print(f"\nwrote {out / RESULTS} (one row per round), {out / 'points.csv'} (the outcome "
          f"distribution per design point), {out / SUMMARY}")
    return 0


def _short(value: float) -> str:
    return f"{value:.4g}"
