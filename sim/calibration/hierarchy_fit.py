"""Fitting the hierarchical prior to the track record, and writing what the fit gives.

``replayer`` is the simulator ABC-SMC calls: every round of the record, each once per
proposed particle (one vectorised ``NegotiationRound`` per round for the whole batch),
its party values at its period and its mediator's parameters
(``HierarchicalPrior.round_values``); it returns each simulated round's discrepancy
from each reported fact (``sim.calibration.fit.discrepancies``, the Istanbul fit's).
``fit_track`` runs ABC-SMC with MCMC moves over it (``sim.calibration.hierarchy_smc``:
the Istanbul fit's sampler weights its particles, and those weights collapse in the
hierarchy's 29 dimensions; the adaptive distance is the same); fitted on no round, it
is the prior itself.

``derived`` turns particles into a scenario posterior: the values a new round of one
period mediated by one mediator takes (scenario keys), with the particles' weights.
``write_track`` stores the particles (``track-posterior.parquet``), one such scenario
posterior per (period, mediator) of the record (``track-posterior-2025-turkey.parquet``
...), each with a manifest that holds nothing that changes between runs.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.calibration.abc import Fit, Generation
from sim.calibration.fit import discrepancies
from sim.calibration.hierarchy import HierarchicalPrior
from sim.calibration.hierarchy_smc import abc_smc_mcmc
from sim.calibration.track_record import TrackRound
from sim.model.parameters import realise
from sim.model.round import NegotiationRound
from sim.scenario.posterior import write_posterior
from sim.scenario.spec import Posterior

#: The files a track fit writes into its folder.
POSTERIOR = "track-posterior.parquet"
CHECKS = "track-checks.json"

METHOD = ("ABC-SMC with MCMC moves (Del Moral, Doucet & Jasra 2012; "
          "sim/calibration/hierarchy_smc.py) on the hierarchical prior of "
          "sim/calibration/hierarchy.py: quantile epsilon schedule, adaptive distance, "
          "random-walk moves in unbounded coordinates, equally weighted particles")


@dataclass(frozen=True)
class TrackSettings:
    """The sampler's settings (``hierarchy_smc.abc_smc_mcmc``). A quantile of 0.6 keeps
    six particles in ten alive each generation: with the ABC tolerance's indicator
    depending mostly on a round's own randomness, halving (0.5) left copies of a few
    particles and contractions that were artefacts (measured: 0.3-0.4 on deviations no
    fact can inform, against under 0.15 with 0.6 and 1,000 particles)."""

    particles: int = 1000
    generations: int = 8
    quantile: float = 0.6
    moves: int = 8
    min_move_rate: float = 0.05
    seed: int = 0


def derived_name(period: str, mediator: str) -> str:
    """The file of the scenario posterior for a round of ``period`` mediated by
    ``mediator``."""
    return f"track-posterior-{period}-{mediator}.parquet"


def simulate_track_round(track_round: TrackRound, prior: HierarchicalPrior,
                         theta: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """One simulated round of ``track_round``'s as-of scenario per particle (rows of
    ``theta``), as outcome columns. On the compiled engine, whose outcomes are the numpy
    engine's (tests/test_compiled.py; every round of the record, tests/test_hierarchy.py):
    the numpy engine steps a round of a thousand particles a minute at a time, where the
    fixed cost of each array operation, not the particles, sets the time (measured: the
    whole ``negsim calibrate --record`` took 186 s on numpy, 40 s compiled)."""
    setup = realise(track_round.scenario, theta.shape[0], rng,
                    values=prior.round_values(theta, track_round.key), compiled=True)
    return pd.DataFrame(NegotiationRound(setup, compiled=True).run().outcomes())


def replayer(rounds: Sequence[TrackRound], prior: HierarchicalPrior
             ) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    """The simulator ABC-SMC calls: all rounds, side by side, for a batch of particles."""

    def replay(theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return np.concatenate([
            discrepancies(r.observed(), simulate_track_round(r, prior, theta, rng))
            for r in rounds], axis=1)

    return replay


def fit_track(rounds: Sequence[TrackRound], prior: HierarchicalPrior,
              settings: TrackSettings,
              progress: Callable[[int, Generation], None] | None = None) -> Fit:
    """ABC-SMC fit of ``prior`` to the facts of ``rounds`` (the same settings, the same
    fit); on no round, ``settings.particles`` draws of the prior, equally weighted."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(settings.seed)))
    if not rounds:
        n = settings.particles
        return Fit(prior.sample(n, rng), np.full(n, 1.0 / n), np.zeros((n, 0)),
                   np.zeros(n), [])
    return abc_smc_mcmc(prior, replayer(tuple(rounds), prior), rng,
                        particles=settings.particles, generations=settings.generations,
                        quantile=settings.quantile, moves=settings.moves,
                        min_move_rate=settings.min_move_rate, progress=progress)


def derived(prior: HierarchicalPrior, particles: np.ndarray, period: str, mediator: str
            ) -> tuple[tuple[str, ...], np.ndarray]:
    """The scenario keys and, per particle, the values of a round of ``period``
    mediated by ``mediator``."""
    values = prior.values_for(particles, period, mediator)
    keys = prior.scenario_keys(mediator)
    return keys, np.column_stack([values[k] for k in keys])


def in_memory(name: str, keys: tuple[str, ...], values: np.ndarray, weights: np.ndarray
              ) -> Posterior:
    """A scenario posterior held in memory, exactly as ``read_posterior`` would give it
    from the file ``write_posterior`` makes of these values (weights normalised the
    same way, so a scenario draws the same particles from either); ``name`` stands for
    its path, its sha256 is of its values and weights."""
    weights = np.asarray(weights, dtype=float)
    weights = weights / weights.max()
    weights = weights / weights.sum()
    values = np.array(values, dtype=float)
    digest = hashlib.sha256(values.tobytes() + weights.tobytes()).hexdigest()
    values.flags.writeable = False
    weights.flags.writeable = False
    return Posterior(name, digest, tuple(keys), values, weights)


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def manifest(fit: Fit, prior: HierarchicalPrior, settings: TrackSettings,
             hashes: dict[str, str], unidentified: list[str], prior_scale: float = 1.0
             ) -> dict:
    """How the particles were made: no time taken, no date (the same fit, the same
    bytes). ``prior_scale``: the factor the priors file's priors were scaled by."""
    groups = {"periods": {}, "mediators": {}}
    for round_key, period in prior.period_of.items():
        groups["periods"].setdefault(period, []).append(round_key)
    for round_key, mediator in prior.mediator_of.items():
        groups["mediators"].setdefault(mediator, []).append(round_key)
    return {
        "method": METHOD,
        "parameters": list(prior.keys),
        "groups": groups,
        "period_scale": {m.key: tau for m, tau in zip(prior.party, prior.period_scale,
                                                      strict=True)},
        "settings": asdict(settings),
        "prior_scale": prior_scale,
        "inputs_sha256": hashes,
        # generation 0 takes every prior draw: its epsilon is infinite (null in JSON)
        "epsilon_schedule": [g.epsilon if np.isfinite(g.epsilon) else None
                             for g in fit.generations],
        "acceptance_rates": [g.acceptance_rate for g in fit.generations],
        "proposed_per_generation": [g.proposed for g in fit.generations],
        "simulations": fit.simulations,
        "effective_sample_size": float(1.0 / np.sum(fit.weights**2)),
        "checks": CHECKS,
        "unidentified": unidentified,
        "versions": {"negsim": _version("negsim"), "mesa": _version("mesa"),
                     "numpy": np.__version__, "python": platform.python_version()},
    }


def write_track(folder: str | Path, fit: Fit, prior: HierarchicalPrior,
                settings: TrackSettings, hashes: dict[str, str],
                unidentified: dict[str, list[str]], prior_scale: float = 1.0
                ) -> dict[str, str]:
    """Write the particles and one scenario posterior per (period, mediator) of the
    record, each with its manifest (atomically); the sha256 of each file written, by
    name. ``unidentified``: the parameters that stay near their prior, by file name."""
    folder = Path(folder)
    main = manifest(fit, prior, settings, hashes, unidentified[POSTERIOR], prior_scale)
    digest = write_posterior(folder / POSTERIOR, prior.keys, fit.particles, fit.weights, main)
    written = {POSTERIOR: digest}
    for period, mediator in prior.groups():
        name = derived_name(period, mediator)
        keys, values = derived(prior, fit.particles, period, mediator)
        about = {
            "method": f"derived from {POSTERIOR}: each particle's values for a new round "
                      f"of the period {period} mediated by {mediator} (the party keys at "
                      "that period, the mediator's own keys), with the particle's weight",
            "derived_from": POSTERIOR, "derived_from_sha256": digest,
            "period": period, "mediator": mediator, "parameters": list(keys),
            "checks": CHECKS, "unidentified": unidentified[name],
        }
        written[name] = write_posterior(folder / name, keys, values, fit.weights, about)
    return written
