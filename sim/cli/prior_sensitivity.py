"""``negsim calibrate ... --prior-scale 0.5 1 2 --forecast SCENARIO``: how a forecast
moves with the priors.

For each scale K the calibration is fitted again with every prior widened (K > 1) or
narrowed around its centre within its key's bounds (``Prior.scaled``,
``HierarchicalPrior.scaled``; K = 1 is the priors file), and the scenario is
forecast from that fit: the scenario's ``[posterior]`` is replaced by the posterior of
the same file name the fit makes (``posterior.parquet`` for the Istanbul fit,
``track-posterior-2025-turkey.parquet`` for the June round on the track posterior),
held in memory. The same seed and number of simulated rounds at every K: what differs
is the priors alone. ``prior-sensitivity.json`` holds each event's probability, its
Monte Carlo interval and its spread across posterior draws at each K, and the
parameters each fit leaves near their prior.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from sim.batch.chunks import run_scenario
from sim.cli.common import UsageError
from sim.fileio import make_folder, write_atomically
from sim.scenario.load import load_scenario
from sim.scenario.spec import Posterior, Scenario
from sim.stats.summary import percent, summarise
from sim.terminal import printable

STUDY = "prior-sensitivity.json"

#: A fit at one prior scale: its scenario posteriors by file name, and the parameters
#: each leaves near their prior (by the same names).
Fitter = Callable[[float], tuple[dict[str, Posterior], dict[str, list[str]]]]


def forecast_scenario(path: str) -> tuple[Scenario, str]:
    """The scenario a study forecasts, and the file name of the posterior it draws from."""
    scenario = load_scenario(path)
    if scenario.posterior is None:
        raise UsageError(f"--forecast {path}: draws from no posterior ([posterior] file = "
                         "...), so the priors cannot move its forecast")
    return scenario, Path(scenario.posterior.path).name


def study(args: argparse.Namespace, out: Path, fit_at: Fitter) -> int:
    """Fit at every ``--prior-scale``, forecast ``--forecast`` from each fit, write
    ``prior-sensitivity.json`` into ``out`` and print the table."""
    scenario, name = forecast_scenario(args.forecast)
    scales = list(args.prior_scale)
    columns: list[dict] = []
    left: dict[str, list[str]] = {}
    for scale in scales:
        made, unidentified = fit_at(scale)
        if name not in made:
            raise UsageError(f"--forecast {args.forecast}: draws from {name}, which this "
                             "calibration does not make (it makes: " + ", ".join(made) + ")")
        results = run_scenario(replace(scenario, posterior=made[name]), args.runs,
                               seed=args.seed)
        columns.append(summarise(results, scenario, args.seed)["events"])
        left[repr(scale)] = unidentified[name]
    events = {event: {"label": columns[0][event]["label"],
                      "on_agenda": columns[0][event]["on_agenda"]} | {
        field: [column[event][field] for column in columns]
        for field in ("p", "ci95", "parameter_p10", "parameter_p90")}
        for event in columns[0]}
    result = {"scenario": scenario.round.name, "scenario_file": str(args.forecast),
              "posterior": name, "particles": args.particles,
              "generations": args.generations, "runs": args.runs, "seed": args.seed,
              "scales": scales,
              "events": events, "unidentified": left}
    write_atomically(make_folder(out) / STUDY, json.dumps(result, indent=2) + "\n")
    print(table(result))
    print(f"\nwrote {out / STUDY}")
    return 0


def table(result: dict) -> str:
    """The study as a Markdown table: each event's probability at each prior scale."""
    header = "| event | " + " | ".join(f"K = {k:g}" for k in result["scales"]) + " |"
    fits = ", ".join(f"{result[k]} {k}" for k in ("particles", "generations")
                     if result.get(k) is not None)
    lines = [f"{result['scenario']}: {result['runs']:,} simulated rounds per prior scale, "
             f"seed {result['seed']}, drawing from {result['posterior']}"
             + (f" (fits of {fits})" if fits else ""), "",
             header, "|---|" + "---:|" * len(result["scales"])]
    for event in result["events"].values():
        if not event["on_agenda"]:
            continue
        cells = [percent(p) for p in event["p"]]
        label = printable(event["label"]).replace("|", "\\|")  # text from a file
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
