"""``negsim sensitivity SENS.toml``: Sobol indices of a round's outcomes with respect
to chosen parameters."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from sim.batch.storage import SUMMARY, ResultsFolder
from sim.cli.batching import add_experiment_command, run_experiment
from sim.cli.scenario_args import settings_of
from sim.stats.summary import study_labels
from sim.studies.labels import for_people
from sim.studies.sensitivity import (
    RESOLUTION,
    analyze,
    load_sensitivity,
    outcome_value,
    resolution,
)
from sim.terminal import printable


def register(commands: argparse._SubParsersAction) -> None:
    add_experiment_command(commands, "sensitivity", "Sobol indices of outcomes with "
                           "respect to chosen parameters (SALib)",
                           "experiments/june-20-30-2025-sensitivity.toml", main)


def main(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    study = load_sensitivity(args.sensitivity, settings)
    out, tallies = run_experiment(args, "sensitivity", study, settings)
    base = study.scenarios[0]
    points = len(study.scenarios)
    summaries = [tally.summary(base.round.name, study.seed)
                 for tally in tallies.values()]
    outcomes = pd.DataFrame([{o: outcome_value(s, o) for o in study.outcomes}
                             for s in summaries])
    names = study.problem["names"]
    design = pd.DataFrame(study.design, columns=[k.column for k in study.experiment.knobs])
    design.insert(0, "point", range(points))
    indices = analyze(study.problem, outcomes, study.resamples, study.seed)
    resolved = resolution(indices)
    folder = ResultsFolder(out)
    folder.write_csv("points.csv", for_people(pd.concat([design, outcomes], axis=1)))
    folder.write_csv("sobol.csv", for_people(indices))
    folder.write_json(SUMMARY, {
        "sensitivity": str(args.sensitivity), "experiment_sha256": study.experiment.sha256,
        "settings": settings,
        "scenario": base.round.name, "labels": study_labels(base), "seed": study.seed,
        "points": points,
        "replicates": study.replicates, "base_samples": study.base_samples,
        "parameters": names, "resolution": resolved,
        "indices": indices.replace({float("nan"): None}).to_dict(orient="records")})
    print(f"{printable(base.round.name)}: Sobol indices over {points:,} design points x "
          f"{study.replicates:,} rounds, seed {study.seed} (95% intervals)\n")
    print(format_indices(indices))
    print("\n" + format_resolution(resolved))
    if resolved["unresolved"]:
        print(f"negsim: warning: {resolved['unresolved']} of {resolved['rows']} rows of "
              f"indices are not resolved (an interval wider than ±{RESOLUTION:g}, or an "
              "index outside [0, 1] by more than its interval): do not rank parameters "
              f"by them; raise base_samples (now {study.base_samples}) in "
              f"{args.sensitivity}", file=sys.stderr)
    print(f"\nwrote {out / 'sobol.csv'}, {out / 'points.csv'} (outcomes per design point), "
          f"{out / 'results'} (one row per round)")
    return 0


def format_resolution(resolved: dict) -> str:
    """What "resolved" means, how many rows are, and the widest interval."""
    widest = resolved["widest"]
    lines = [f"resolved: {resolved['rule']}; {resolved['rows'] - resolved['unresolved']} "
             f"of {resolved['rows']} rows are"]
    if widest:
        lines.append(f"widest interval: ±{widest['half_width']:.2f} ({widest['index']} of "
                     f"{widest['outcome']} for {widest['parameter']})")
    return "\n".join(lines)


def format_indices(indices: pd.DataFrame) -> str:
    """One line per (outcome, parameter): S1 and ST with their intervals, and "not
    resolved" where they are not (``sensitivity.resolved``)."""
    width = max(len(printable(p)) for p in indices["parameter"])
    lines = [f"{'outcome':<28} {'parameter':<{width}}  {'S1':>14}  {'ST':>14}"]
    for row in indices.itertuples(index=False):
        row = row._replace(outcome=printable(row.outcome), parameter=printable(row.parameter))
        if row.note:
            lines.append(f"{row.outcome:<28} {row.parameter:<{width}}  ({row.note})")
            continue
        lines.append(f"{row.outcome:<28} {row.parameter:<{width}}  "
                     f"{row.S1:6.2f} ± {row.S1_ci95:5.2f}  {row.ST:6.2f} ± {row.ST_ci95:5.2f}"
                     + ("" if row.resolved else "  not resolved"))
    return "\n".join(lines)
