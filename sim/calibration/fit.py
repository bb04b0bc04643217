"""Calibrating the Istanbul parties: replay the observed rounds under proposed
parameters and keep those that reproduce what was reported.

``replay`` runs every observed round once per parameter vector — one
``NegotiationRound`` per round for the whole batch, on the compiled engine — and returns
the discrepancy of each simulated round from each reported fact. ``calibrate`` runs
ABC-SMC over that and ``write`` stores the posterior with its manifest.
"""

from __future__ import annotations

import importlib.metadata
import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.calibration.abc import Fit, Generation, abc_smc
from sim.calibration.evidence import ObservedRound, Prior
from sim.calibration.models import Model
from sim.model.parameters import realise
from sim.model.round import NegotiationRound
from sim.scenario.posterior import write_posterior


@dataclass(frozen=True)
class Settings:
    particles: int = 2000
    generations: int = 8
    quantile: float = 0.5
    min_acceptance: float = 0.02
    seed: int = 0


def simulate_round(observed: ObservedRound, prior: Prior, theta: np.ndarray,
                   rng: np.random.Generator) -> pd.DataFrame:
    """One simulated round per parameter vector (rows of ``theta``), as outcome columns."""
    values = {key: theta[:, j] for j, key in enumerate(prior.keys)}
    setup = realise(observed.scenario, theta.shape[0], rng, values=values, compiled=True)
    return pd.DataFrame(NegotiationRound(setup, compiled=True).run().outcomes())


def discrepancies(observed: ObservedRound, outcomes: pd.DataFrame) -> np.ndarray:
    """``(n, facts)``: how far each simulated round lies from each reported fact."""
    return np.stack([fact.discrepancy(outcomes[fact.column].to_numpy(dtype=float))
                     for fact in observed.facts], axis=1)


def replayer(rounds: tuple[ObservedRound, ...], prior: Prior):
    """The simulator ABC-SMC calls: all rounds, side by side, for a batch of proposals."""

    def replay(theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return np.concatenate([discrepancies(r, simulate_round(r, prior, theta, rng))
                               for r in rounds], axis=1)

    return replay


def calibrate(rounds: tuple[ObservedRound, ...], prior: Prior, settings: Settings,
              progress: Callable[[int, Generation], None] | None = None) -> Fit:
    """ABC-SMC fit of ``prior`` to the facts of ``rounds``; same settings, same fit."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(settings.seed)))
    return abc_smc(prior, replayer(rounds, prior), rng, particles=settings.particles,
                   generations=settings.generations, quantile=settings.quantile,
                   min_acceptance=settings.min_acceptance, progress=progress)


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def write(path: str | Path, fit: Fit, prior: Prior, settings: Settings,
          hashes: dict[str, str], model: Model, extra: dict | None = None) -> str:
    """Write the posterior and its manifest (atomically); return the posterior's hash.
    The manifest holds nothing that changes from one run to the next (no time taken,
    no date): the same fit gives the same bytes. ``model``: the protocol and
    information the rounds were replayed under; ``extra``: more entries for the
    manifest (e.g. the prior scale of a sensitivity fit)."""
    manifest = {
        "method": "ABC-SMC (sim/calibration/abc.py): quantile epsilon schedule, "
                  "adaptive distance, Gaussian kernel of twice the weighted covariance",
        "model": model.as_dict(),
        "parameters": list(prior.keys),
        "settings": settings.__dict__,
        "inputs_sha256": hashes,
        # generation 0 takes every prior draw: its epsilon is infinite (null in JSON)
        "epsilon_schedule": [g.epsilon if np.isfinite(g.epsilon) else None
                             for g in fit.generations],
        "acceptance_rates": [g.acceptance_rate for g in fit.generations],
        "proposed_per_generation": [g.proposed for g in fit.generations],
        "simulations": fit.simulations,
        "effective_sample_size": float(1.0 / np.sum(fit.weights**2)),
        "versions": {"negsim": _version("negsim"), "mesa": _version("mesa"),
                     "numpy": np.__version__, "python": platform.python_version()},
    }
    return write_posterior(path, prior.keys, fit.particles, fit.weights,
                           manifest | (extra or {}))
