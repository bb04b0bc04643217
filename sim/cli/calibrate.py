"""``negsim calibrate``: fit the Istanbul parties to the reported rounds (ABC-SMC)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from sim.calibration import checks
from sim.calibration.abc import Generation
from sim.calibration.evidence import load_observations, load_priors
from sim.calibration.fit import Settings, calibrate, write
from sim.cli.common import integer_at_least
from sim.report.calibration import make_report
from sim.terminal import printable


def register(commands: argparse._SubParsersAction) -> None:
    c = commands.add_parser(
        "calibrate", help="fit parameters to the reported rounds (ABC-SMC) and write the "
        "posterior the scenarios draw from")
    c.add_argument("--observations", default="calibration/observations.toml",
                   help="reported facts of each round (default %(default)s)")
    c.add_argument("--priors", default="calibration/priors.toml",
                   help="free parameters and their priors (default %(default)s)")
    c.add_argument("--out", default="calibration/posterior.parquet",
                   help="posterior to write, with <name>-manifest.json (default %(default)s)")
    c.add_argument("--seed", type=integer_at_least("--seed", 0), default=0)
    c.add_argument("--particles", type=integer_at_least("--particles", 50), default=2000)
    c.add_argument("--generations", type=integer_at_least("--generations", 1), default=8)
    c.add_argument("--draws", type=integer_at_least("--draws", 100), default=20_000,
                   help="replicates for the predictive checks (default %(default)s)")
    c.add_argument("--report", action="store_true",
                   help="also fit on all rounds but the last to forecast it, and write "
                   "checks.json and figures beside the posterior")
    c.set_defaults(handler=main)


def _progress(start: float):
    def show(t: int, generation: Generation) -> None:
        epsilon = "-" if not np.isfinite(generation.epsilon) else f"{generation.epsilon:.3f}"
        print(f"generation {t}: epsilon {epsilon}, kept {generation.accepted:,} of "
              f"{generation.proposed:,} simulated ({generation.acceptance_rate:.1%}), "
              f"{time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return show


def main(args: argparse.Namespace) -> int:
    rounds, observations_hash = load_observations(args.observations)
    prior, priors_hash = load_priors(args.priors, tuple(r.scenario for r in rounds))
    settings = Settings(particles=args.particles, generations=args.generations,
                        seed=args.seed)
    start = time.perf_counter()
    fit = calibrate(rounds, prior, settings, progress=_progress(start))
    seconds = time.perf_counter() - start
    hashes = {"observations": observations_hash, "priors": priors_hash} | {
        f"scenario:{r.name}": r.scenario.sha256 for r in rounds}
    digest = write(args.out, fit, prior, settings, hashes, seconds)
    print(f"wrote {args.out} ({len(fit.weights):,} particles, {fit.simulations:,} simulated "
          f"replays, {seconds:.0f} s; sha256 {digest[:12]})")
    table = checks.identifiability(prior, fit.particles, fit.weights)
    print("\nparameter                                           prior mean  posterior "
          "mean [5%-95%]   contraction")
    for row in table.itertuples():
        print(f"{printable(row.parameter):<52}{row.prior_mean:>10.3g}  {row.posterior_mean:>9.3g} "
              f"[{row.posterior_q05:.3g}-{row.posterior_q95:.3g}]  {row.contraction:>6.2f} "
              f"{row.verdict}")
    if args.report:
        result = make_report(rounds, prior, fit, settings, Path(args.out).parent, args.draws)
        print("\nP(reported fact reproduced): posterior predictive vs prior")
        for post, base in zip(result["posterior_predictive"], result["prior_predictive"],
                              strict=True):
            print(f"  {printable(post['round']):<14}{printable(post['fact']):<34}"
                  f"{post['p']:>7.1%}  {base['p']:>7.1%}")
        held = result.get("leave_last_round_out")
        if held:
            print(f"\nfit on {printable(', '.join(held['fitted_on']))}, forecast "
                  f"{printable(held['held_out'])}: "
                  f"sum of log scores {held['sum_log_score_fit']:.2f} vs base rate "
                  f"{held['sum_log_score_base']:.2f}")
        print(f"wrote {Path(args.out).parent / 'checks.json'} and figures")
    return 0
