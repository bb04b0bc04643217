"""``negsim sweep SWEEP.toml``: a scenario at every point of a design over its knobs."""

from __future__ import annotations

import argparse

from sim.batch.storage import RESULTS, SUMMARY, ResultsFolder
from sim.cli.batching import add_experiment_command, run_experiment
from sim.cli.scenario_args import settings_of
from sim.stats.summary import study_labels
from sim.studies.labels import for_people
from sim.studies.sweep import design_table, format_points, load_sweep
from sim.terminal import printable

#: Columns of the per-point table printed after the knobs (all of them are in
#: points.csv), those the sweep has: the scenario's events follow.
SHOWN = ("runs",)


def register(commands: argparse._SubParsersAction) -> None:
    add_experiment_command(commands, "sweep", "run a scenario over a grid or Latin "
                           "hypercube of its knobs",
                           "experiments/june-20-30-2025-sweep.toml", main)


def main(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    sweep = load_sweep(args.sweep, settings)
    out, tallies = run_experiment(args, "sweep", sweep, settings)
    base = sweep.scenarios[0]
    labels = list(tallies)
    summaries = [tallies[label].summary(base.round.name, sweep.seed)
                 for label in labels]
    table = design_table(labels, summaries)
    folder = ResultsFolder(out)
    folder.write_csv("points.csv", for_people(table))
    folder.write_json(SUMMARY, {
        "sweep": str(args.sweep), "experiment_sha256": sweep.experiment.sha256,
        "settings": settings,
        "scenario": base.round.name, "labels": study_labels(base), "design": sweep.design,
        "seed": sweep.seed,
        "replicates": sweep.replicates,
        "knobs": [{"key": k.key, "move": k.move, "column": k.column}
                  for k in sweep.experiment.knobs],
        "points": [dict(label) | {"summary": summary}
                   for label, summary in zip(labels, summaries, strict=True)]})
    knobs = [knob.column for knob in sweep.experiment.knobs]
    shown = [c for c in (*SHOWN, *(f"{e.name}.p" for e in base.events), "duration_minutes.p50")
             if c in table.columns]
    print(f"{printable(base.round.name)}: {sweep.design} sweep, {len(sweep.points):,} design "
          f"points x {sweep.replicates:,} rounds, seed {sweep.seed}\n")
    print(format_points(table.rename(columns=printable), [printable(k) for k in knobs],
                        [printable(c) for c in shown]))
    print(f"\nwrote {out / RESULTS} (one row per round), {out / 'points.csv'} (the outcome "
          f"distribution per design point), {out / SUMMARY}")
    return 0
