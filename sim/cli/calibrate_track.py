"""``negsim calibrate --record calibration/track-record.toml``: the hierarchical fit on
every round of the track record.

Writes into ``--out DIR`` (default ``results/calibration``), or with
``--write-committed`` into the record's folder (``calibration/``):

- ``track-posterior.parquet`` and its manifest: the particles (shared party values,
  period deviations, each mediator's parameters; ``sim.calibration.hierarchy``);
- ``track-posterior-PERIOD-MEDIATOR.parquet`` and manifests: the scenario posterior of
  a new round of each period and mediator of the record (the June 20-30 variant draws
  from ``track-posterior-2025-turkey.parquet``);
- ``track-checks.json``: posterior and prior predictive probability of every fact of
  every round, the identifiability of every parameter and of every derived key;
- ``figures/track-parameters`` and ``figures/track-predictive-facts`` (PNG and SVG).

Everything is made before anything is written; the same command writes the same bytes
(one seeded generator; no time or date in any file). The time taken is printed, with
the machine's load, never written.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.calibration.abc import Fit, Generation
from sim.calibration.hierarchy import HierarchicalPrior
from sim.calibration.hierarchy_checks import compute_track_checks, unidentified
from sim.calibration.hierarchy_fit import (
    CHECKS,
    POSTERIOR,
    TrackSettings,
    derived,
    derived_name,
    fit_track,
    in_memory,
    write_track,
)
from sim.calibration.hierarchy_priors import load_track_priors
from sim.calibration.track_record import TrackRecord, load_track_record
from sim.cli.common import UsageError
from sim.fileio import write_atomically
from sim.report.calibration import checks_json
from sim.scenario.checks import read_toml
from sim.scenario.spec import Posterior
from sim.viz.calibration import predictive_figure
from sim.viz.style import save_figure
from sim.viz.track import track_parameters_figure

#: The defaults of a track fit where the command line gives none.
PARTICLES, GENERATIONS, DRAWS = 1000, 8, 10_000
PRIORS = "track-priors.toml"


@dataclass
class TrackFit:
    record: TrackRecord
    prior: HierarchicalPrior
    settings: TrackSettings
    fit: Fit
    hashes: dict[str, str]
    seconds: float
    cpu_seconds: float


def progress(start: float):
    def show(t: int, generation: Generation) -> None:
        epsilon = "-" if not np.isfinite(generation.epsilon) else f"{generation.epsilon:.3f}"
        print(f"generation {t}: epsilon {epsilon}, {generation.accepted:,} of "
              f"{generation.proposed:,} simulated moves kept "
              f"({generation.acceptance_rate:.1%}), {time.perf_counter() - start:.0f} s",
              file=sys.stderr, flush=True)
    return show


def load(args: argparse.Namespace) -> tuple[TrackRecord, HierarchicalPrior, dict[str, str]]:
    """The record, its priors (scaled by ``--prior-scale``) and the inputs' hashes."""
    path = Path(args.record)
    record = load_track_record(path)
    priors = Path(args.priors) if args.priors else path.parent / PRIORS
    prior, priors_hash = load_track_priors(priors, record)
    _, sources_hash = read_toml(path.parent / "sources.toml")
    hashes = {"track_record": record.sha256, "sources": sources_hash,
              "track_priors": priors_hash} | {
        f"scenario:{r.key}": r.scenario.sha256 for r in record.rounds}
    return record, prior, hashes


def fit(args: argparse.Namespace, scale: float, quiet: bool = False) -> TrackFit:
    """Fit the record at one prior scale (the same arguments, the same fit)."""
    record, prior, hashes = load(args)
    if scale != 1:
        prior = prior.scaled(scale)
    settings = TrackSettings(particles=args.particles or PARTICLES,
                             generations=args.generations or GENERATIONS, seed=args.seed)
    start, cpu = time.perf_counter(), time.process_time()
    made = fit_track(record.rounds, prior, settings,
                     progress=None if quiet else progress(start))
    return TrackFit(record, prior, settings, made, hashes, time.perf_counter() - start,
                    time.process_time() - cpu)


def posteriors(done: TrackFit) -> dict[str, Posterior]:
    """The scenario posteriors of a fit, in memory, by the file name each is written
    under (what a scenario's ``[posterior] file`` names)."""
    made = {}
    for period, mediator in done.prior.groups():
        keys, values = derived(done.prior, done.fit.particles, period, mediator)
        name = derived_name(period, mediator)
        made[name] = in_memory(f"(this fit: {name})", keys, values, done.fit.weights)
    return made


def load_text() -> str:
    """The machine's load (1, 5, 15 minutes) and cores, to print beside a time taken."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "load unknown"
    return f"load {one:.1f} / {five:.1f} / {fifteen:.1f} on {os.cpu_count()} cores"


def main(args: argparse.Namespace, out: Path) -> int:
    """Fit, check, draw, then write (see the module docstring)."""
    (scale,) = args.prior_scale
    done = fit(args, scale)
    draws = args.draws or DRAWS
    start = time.perf_counter()
    result = compute_track_checks(done.record.rounds, done.prior, done.fit.particles,
                                  done.fit.weights, done.settings.seed, draws, POSTERIOR)
    tables = {name: pd.DataFrame(rows) for name, rows in result["identifiability"].items()}
    figures = {
        "track-parameters": track_parameters_figure(done.prior, done.fit.particles,
                                                    done.fit.weights, tables),
        "track-predictive-facts": predictive_figure(
            pd.DataFrame(result["posterior_predictive"]),
            pd.DataFrame(result["prior_predictive"]),
            f"The track record's facts: posterior predictive vs prior ({draws:,} "
            "simulated rounds each)"),
    }
    checked = time.perf_counter() - start
    written = write_track(out, done.fit, done.prior, done.settings, done.hashes,
                          {name: unidentified(table) for name, table in tables.items()},
                          scale)
    write_atomically(out / CHECKS, checks_json(result))
    for stem, figure in figures.items():
        save_figure(figure, out / "figures", stem)
    print(f"fitted {len(done.record.rounds)} rounds, {len(done.prior.keys)} parameters: "
          f"{done.fit.simulations:,} simulated replays of the record in "
          f"{done.seconds:.0f} s ({done.cpu_seconds:.0f} s of CPU; {load_text()}); "
          f"checks and figures {checked:.0f} s")
    print(f"wrote {out / POSTERIOR} (sha256 {written[POSTERIOR][:12]}), "
          f"{len(written) - 1} scenario posteriors, {out / CHECKS} and {len(figures)} "
          f"figures (PNG and SVG) in {out / 'figures'}")
    _print_tables(tables, result)
    return 0


def _print_tables(tables: dict[str, pd.DataFrame], result: dict) -> None:
    main_table = tables[POSTERIOR]
    print("\nparameter                                         prior mean  posterior "
          "mean [5%-95%]   contraction")
    for row in main_table.itertuples():
        print(f"{row.parameter:<50}{row.prior_mean:>10.3g}  {row.posterior_mean:>9.3g} "
              f"[{row.posterior_q05:.3g}-{row.posterior_q95:.3g}]  {row.contraction:>6.2f} "
              f"{row.verdict}")
    for name, table in tables.items():
        if name != POSTERIOR:
            left = unidentified(table)
            print(f"{name}: stay near their prior: {', '.join(left) if left else 'none'}")
    print("\nP(every fact of the round reproduced): posterior predictive vs prior")
    for post, base in zip(result["posterior_predictive"], result["prior_predictive"],
                          strict=True):
        if post["fact"] == "ALL":
            print(f"  {post['round']:<14}{post['p']:>8.1%}  {base['p']:>8.1%}")


def check_scales(scales: list[float]) -> None:
    for scale in scales:
        if not np.isfinite(scale) or scale <= 0:
            raise UsageError(f"--prior-scale {scale:g}: must be a number > 0 (1 leaves the "
                             "priors as they are; 2 doubles their width)")
