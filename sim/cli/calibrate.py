"""``negsim calibrate``: fit the Istanbul parties to the reported rounds (ABC-SMC).

Writes into ``--out DIR`` (default ``results/calibration``): ``posterior.parquet``,
``posterior-manifest.json`` and, with ``--report``, ``checks.json`` and ``figures/``.
The committed posterior that the scenarios draw from lives beside the observations
(``calibration/``); replacing it takes ``--write-committed``. The same command gives
the same bytes every time on the same machine (one seeded generator, no clock in any
file; ``tests/test_calibration_committed.py``).

The rounds are replayed under the protocol and information their scenario files state,
or under ``--protocol`` and ``--information``. ``--compare-protocols`` fits every model
(both protocols, under each information setting or the one given) and writes
``protocols.json``, each model's posteriors in ``protocols/`` and
``figures/protocols.*`` (``sim.report.protocols``).

``--record FILE`` fits the track record instead (``sim.cli.calibrate_track``);
``--prior-scale K`` widens or narrows every prior, and with ``--forecast SCENARIO``
the fits at each K forecast the scenario (``sim.cli.prior_sensitivity``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from sim.calibration import checks
from sim.calibration.abc import Generation, StalledError
from sim.calibration.evidence import ObservedRound, load_observations, load_priors
from sim.calibration.fit import Settings, calibrate, write
from sim.calibration.hierarchy_checks import UNIDENTIFIED, identifiability_by_file, unidentified
from sim.calibration.hierarchy_fit import in_memory
from sim.calibration.models import INFORMATION, Model, model_of, under
from sim.cli import calibrate_track, prior_sensitivity
from sim.cli.common import UsageError, integer_at_least
from sim.fileio import write_atomically
from sim.report import protocols
from sim.report.calibration import checks_json, compute_checks, figures
from sim.scenario.spec import Protocol
from sim.viz.calibration import protocols_figure
from sim.viz.style import save_figure

#: Where a calibration is written unless told otherwise.
DEFAULT_OUT = Path("results/calibration")
POSTERIOR = "posterior.parquet"
PRIORS = "calibration/priors.toml"
PARTICLES, GENERATIONS, DRAWS = 2000, 8, 20_000


def register(commands: argparse._SubParsersAction) -> None:
    c = commands.add_parser(
        "calibrate", help="fit parameters to the reported rounds (ABC-SMC) and write the "
        "posterior the scenarios draw from")
    c.add_argument("--observations", default="calibration/observations.toml",
                   help="reported facts of each round (default %(default)s)")
    c.add_argument("--priors", help="free parameters and their priors (default "
                   "calibration/priors.toml; with --record, track-priors.toml beside it)")
    c.add_argument("--record", metavar="FILE",
                   help="fit every round of a track record instead (hierarchical: "
                   "party parameters shared across rounds with period deviations, each "
                   "mediator's own), e.g. calibration/track-record.toml")
    c.add_argument("--out", metavar="DIR",
                   help=f"folder to write {POSTERIOR}, its manifest and (--report) checks.json "
                   f"and figures/ into (default {DEFAULT_OUT})")
    c.add_argument("--write-committed", action="store_true",
                   help="write into the folder of the observations file (calibration/), "
                   "replacing the committed posterior the scenarios draw from, its manifest, "
                   "checks and figures")
    c.add_argument("--seed", type=integer_at_least("--seed", 0), default=0)
    c.add_argument("--particles", type=integer_at_least("--particles", 50),
                   help=f"(default {PARTICLES}; {calibrate_track.PARTICLES} with --record)")
    c.add_argument("--generations", type=integer_at_least("--generations", 1),
                   help=f"(default {GENERATIONS})")
    c.add_argument("--draws", type=integer_at_least("--draws", 100),
                   help=f"replicates for the predictive checks (default {DRAWS:,}; "
                   f"{calibrate_track.DRAWS:,} with --record)")
    c.add_argument("--prior-scale", type=float, nargs="+", default=[1.0], metavar="K",
                   help="widen (K > 1) or narrow every prior around its centre, within its "
                   "key's bounds (default 1); several values with --forecast compare the "
                   "forecasts they give")
    c.add_argument("--forecast", metavar="SCENARIO",
                   help="forecast this scenario from each fit (its posterior replaced by "
                   "the fit's of the same file name) and write prior-sensitivity.json, "
                   "instead of the posterior")
    c.add_argument("--runs", type=integer_at_least("--runs", 100), default=20_000,
                   help="simulated rounds of each --forecast (default %(default)s)")
    c.add_argument("--report", action="store_true",
                   help="also fit on all rounds but the last to forecast it, and write "
                   "checks.json and figures beside the posterior")
    c.add_argument("--protocol", choices=[p.value for p in Protocol],
                   help="replay the rounds under this protocol (default: as their "
                   "scenario files say)")
    c.add_argument("--information", choices=list(INFORMATION),
                   help="replay the rounds with public or private red lines (default: as "
                   "their scenario files say; with --compare-protocols: both)")
    c.add_argument("--compare-protocols", action="store_true",
                   help="fit the rounds under each protocol (and information setting) "
                   "and write protocols.json, each model's posteriors (protocols/) and "
                   "figures/protocols.png: posterior predictive, held-out forecast, ABC "
                   "model choice")
    c.add_argument("--choice-draws", type=integer_at_least("--choice-draws", 100),
                   default=protocols.CHOICE_DRAWS,
                   help="prior draws per model for the ABC model choice of "
                   "--compare-protocols (default %(default)s)")
    c.set_defaults(handler=main)


def _progress(start: float):
    def show(t: int, generation: Generation) -> None:
        epsilon = "-" if not np.isfinite(generation.epsilon) else f"{generation.epsilon:.3f}"
        print(f"generation {t}: epsilon {epsilon}, kept {generation.accepted:,} of "
              f"{generation.proposed:,} simulated ({generation.acceptance_rate:.1%}), "
              f"{time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return show


def out_folder(args: argparse.Namespace) -> Path:
    """The folder to write into, checked before anything runs: the committed one (the
    observations file's) only with ``--write-committed``."""
    committed = Path(args.record or args.observations).parent
    if args.write_committed:
        if args.out is not None:
            raise UsageError("--out and --write-committed: give one (--write-committed "
                             f"writes into {committed})")
        return committed
    out = DEFAULT_OUT if args.out is None else Path(args.out)
    if out.suffix == ".parquet":
        raise UsageError(f"--out {out}: give a folder; the posterior is written into it as "
                         f"{POSTERIOR}")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    if out.resolve() == committed.resolve():
        raise UsageError(f"--out {out}: holds the committed posterior the scenarios draw "
                         "from; pass --write-committed (without --out) to replace it")
    return out


def chosen_model(args: argparse.Namespace, rounds: tuple[ObservedRound, ...]) -> Model:
    """The model to fit: the rounds' files' own, or as ``--protocol`` and
    ``--information`` say; the committed posterior only under the files' own."""
    own = model_of(rounds, args.observations)
    model = Model(Protocol(args.protocol or own.protocol),
                  INFORMATION[args.information] if args.information else own.private)
    if args.write_committed and model != own:
        raise UsageError(f"--write-committed: the committed posterior is what the scenarios "
                         f"draw from, fitted as they state ({own.label}); to fit "
                         f"{model.label}, set [round] protocol and [information] private in "
                         "the rounds' files, or use --out")
    return model


def main(args: argparse.Namespace) -> int:
    """The command; a fit that cannot go on (``StalledError``: facts the model cannot
    reproduce) is one line about the observations file, exit 2, nothing written."""
    calibrate_track.check_scales(args.prior_scale)
    if args.forecast or len(args.prior_scale) > 1:
        if not args.forecast:
            raise UsageError("several --prior-scale values compare a forecast: give "
                             "--forecast SCENARIO (e.g. scenarios/june-20-30-2025-track.toml)")
        fitter = _track_fitter(args) if args.record else _fitter(args)
        # the study records the fits' settings as they ran, defaults included
        args.particles = args.particles or (
            calibrate_track.PARTICLES if args.record else PARTICLES)
        args.generations = args.generations or (
            calibrate_track.GENERATIONS if args.record else GENERATIONS)
        return prior_sensitivity.study(args, out_folder(args), fitter)
    if args.record:
        return calibrate_track.main(args, out_folder(args))
    try:
        return fit_and_write(args)
    except StalledError as error:
        raise UsageError(f"{args.observations}: the fit cannot go on: {error}") from None


def fit_and_write(args: argparse.Namespace) -> int:
    (scale,) = args.prior_scale
    rounds, observations_hash = load_observations(args.observations)
    prior, priors_hash = _priors(args, rounds, scale)
    out = out_folder(args)
    settings = _settings(args)
    draws = args.draws or DRAWS
    hashes = {"observations": observations_hash, "priors": priors_hash}
    if args.compare_protocols:
        if args.protocol or args.report:
            raise UsageError("--compare-protocols fits both protocols and writes its own "
                             "checks: drop --protocol and --report")
        return compare_protocols(args, rounds, prior, settings, hashes, out)
    model = chosen_model(args, rounds)
    rounds = under(rounds, model)
    start = time.perf_counter()
    fit = calibrate(rounds, prior, settings, progress=_progress(start))
    seconds = time.perf_counter() - start
    if args.report:  # everything is made before anything is written
        result = compute_checks(rounds, prior, fit.particles, fit.weights, settings, draws)
        made = figures(rounds, prior, fit.particles, fit.weights, settings, draws, result)
    hashes |= {f"scenario:{r.name}": r.scenario.sha256 for r in rounds}
    digest = write(out / POSTERIOR, fit, prior, settings, hashes, model,
                   {"prior_scale": scale} if scale != 1 else None)
    print(f"wrote {out / POSTERIOR} ({model.label}; {len(fit.weights):,} particles, "
          f"{fit.simulations:,} simulated replays, {seconds:.0f} s; sha256 {digest[:12]})")
    table = checks.identifiability(prior, fit.particles, fit.weights)
    print("\nparameter                                           prior mean  posterior "
          "mean [5%-95%]   contraction")
    for row in table.itertuples():
        print(f"{row.parameter:<52}{row.prior_mean:>10.3g}  {row.posterior_mean:>9.3g} "
              f"[{row.posterior_q05:.3g}-{row.posterior_q95:.3g}]  {row.contraction:>6.2f} "
              f"{row.verdict}")
    if args.report:
        for stem, figure in made.items():
            save_figure(figure, out / "figures", stem)
        write_atomically(out / "checks.json", checks_json(result))
        print("\nP(reported fact reproduced): posterior predictive vs prior")
        for post, base in zip(result["posterior_predictive"], result["prior_predictive"],
                              strict=True):
            print(f"  {post['round']:<14}{post['fact']:<34}{post['p']:>7.1%}  {base['p']:>7.1%}")
        held = result.get("leave_last_round_out")
        if held:
            print(f"\nfit on {', '.join(held['fitted_on'])}, forecast {held['held_out']}: "
                  f"sum of log scores {held['sum_log_score_fit']:.2f} vs base rate "
                  f"{held['sum_log_score_base']:.2f}")
        print(f"wrote {out / 'checks.json'} and {len(made)} figures (PNG and SVG) in "
              f"{out / 'figures'}")
    return 0


def _settings(args: argparse.Namespace) -> Settings:
    return Settings(particles=args.particles or PARTICLES,
                    generations=args.generations or GENERATIONS, seed=args.seed)


def _priors(args: argparse.Namespace, rounds, scale: float):
    """The priors file's priors (``--priors``), scaled by ``scale`` within each key's
    bounds (the tightest over the rounds' scenarios), and the file's hash."""
    prior, digest = load_priors(args.priors or PRIORS, tuple(r.scenario for r in rounds))
    if scale == 1:
        return prior, digest
    bounds: dict[str, tuple[float, float]] = {}
    for r in rounds:
        for key, low, high in r.scenario.bounds:
            was = bounds.get(key, (low, high))
            bounds[key] = (max(was[0], low), min(was[1], high))
    return prior.scaled(scale, bounds), digest


def _fitter(args: argparse.Namespace) -> prior_sensitivity.Fitter:
    """The Istanbul fit at a prior scale, as a study uses it."""
    rounds, _ = load_observations(args.observations)
    rounds = under(rounds, chosen_model(args, rounds))

    def fit_at(scale: float):
        prior, _ = _priors(args, rounds, scale)
        fit = calibrate(rounds, prior, _settings(args))
        posterior = in_memory(f"(this fit: {POSTERIOR})", prior.keys, fit.particles,
                              fit.weights)
        table = checks.identifiability(prior, fit.particles, fit.weights)
        left = [str(p) for p in table.loc[table["verdict"] == UNIDENTIFIED, "parameter"]]
        return {POSTERIOR: posterior}, {POSTERIOR: left}

    return fit_at


def _track_fitter(args: argparse.Namespace) -> prior_sensitivity.Fitter:
    """The track fit at a prior scale, as a study uses it."""

    def fit_at(scale: float):
        done = calibrate_track.fit(args, scale, quiet=True)
        made = calibrate_track.posteriors(done)
        tables = identifiability_by_file(done.prior, done.fit.particles, done.fit.weights,
                                         calibrate_track.POSTERIOR)
        return made, {name: unidentified(tables[name]) for name in made}

    return fit_at


def compare_protocols(args: argparse.Namespace, rounds: tuple[ObservedRound, ...], prior,
                      settings: Settings, hashes: dict[str, str], out: Path) -> int:
    """``--compare-protocols``: fit every model, judge them side by side, write
    ``protocols.json``, ``protocols/<model>.parquet`` (all rounds) and
    ``protocols/<model>-held-out.parquet`` (all but the last) and the figure."""
    informations = [INFORMATION[args.information]] if args.information else [False, True]
    models = tuple(Model(protocol, private) for private in informations
                   for protocol in (Protocol.SEQUENTIAL, Protocol.PACKAGE))
    start = time.perf_counter()

    def show(model: Model, t: int, generation: Generation) -> None:
        if t == 0:
            print(f"fitting {model.label} ({time.perf_counter() - start:.0f} s)",
                  file=sys.stderr, flush=True)

    fits = protocols.fit_models(rounds, prior, models, settings, progress=show)
    posteriors = {f.model.key: ((f.fit.particles, f.fit.weights),
                                (f.held_out.particles, f.held_out.weights)) for f in fits}
    result = protocols.compare(rounds, prior, models, posteriors, settings,
                               args.draws or DRAWS,
                               args.choice_draws)
    figure = protocols_figure(result)
    for f, entry in zip(fits, result["models"], strict=True):  # all made: now write
        made = {}
        for name, fit, replayed in ((f.model.key, f.fit, f.rounds),
                                    (f"{f.model.key}-held-out", f.held_out, f.rounds[:-1])):
            inputs = hashes | {f"scenario:{r.name}": r.scenario.sha256 for r in replayed}
            path = out / protocols.FOLDER / f"{name}.parquet"
            made[name] = write(path, fit, prior, settings, inputs, f.model)
        entry["posterior_sha256"] = made[f.model.key]
        entry["held_out_sha256"] = made[f"{f.model.key}-held-out"]
    save_figure(figure, out / "figures", "protocols")
    write_atomically(out / protocols.RESULT, checks_json(result))
    tolerance = result["model_choice"]["by_tolerance"][0]["tolerance"]
    print(f"{'model':<34}{'P(every fact)':>14}{'held-out log score':>20}"
          f"{f'P(model), eps {tolerance:g}':>17}   Bayes factor of the favoured")
    for label, every, held, probability, factor in protocols.summary_rows(result):
        shown = "-" if probability is None else f"{probability:.1%}"
        print(f"{label:<34}{every:>14.2%}{held:>20.2f}{shown:>17}   {factor}")
    print(f"favoured: {result['favoured'] or 'none (no model reproduced the reports)'}; "
          f"wrote {out / protocols.RESULT}, {len(fits) * 2} posteriors in "
          f"{out / protocols.FOLDER} and {out / 'figures'}/protocols.png "
          f"({time.perf_counter() - start:.0f} s)")
    return 0
