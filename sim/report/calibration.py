"""The calibration's evidence for itself: the ``checks.json`` structure and its figures.

Posterior predictive and prior predictive (base rate) probabilities of every reported
fact; a leave-one-round-out forecast (fit on every round but the last, score the last
against the base rate); the identifiability table.

Everything is a function of the posterior particles and weights, the settings' seed
and the number of draws: the same inputs give the same ``checks.json``, to the bit, so
``tests/test_calibration_committed.py`` can recompute the committed file from the
committed posterior and compare.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.calibration import checks
from sim.calibration.abc import Fit
from sim.calibration.evidence import ObservedRound, Prior
from sim.calibration.fit import Settings, calibrate, simulate_round
from sim.stats.summary import Measures
from sim.viz import calibration as plots

#: A posterior as particles and their weights.
Posterior = tuple[np.ndarray, np.ndarray]


def predictive_pair(rounds: tuple[ObservedRound, ...], prior: Prior, particles: np.ndarray,
                    weights: np.ndarray, draws: int, seed: int
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Posterior and prior predictive tables over the same rounds, same seed."""
    rng = np.random.default_rng(seed)
    theta = checks.draw_particles(particles, weights, draws, rng)
    posterior = checks.predictive(rounds, prior, theta, np.random.default_rng(seed + 1))
    base = checks.predictive(rounds, prior, prior.sample(draws, rng),
                             np.random.default_rng(seed + 1))
    return posterior, base


def held_out_fit(rounds: tuple[ObservedRound, ...], prior: Prior, settings: Settings) -> Fit:
    """The fit on every round but the last (its own seed: ``settings.seed + 1``)."""
    return calibrate(rounds[:-1], prior, replace(settings, seed=settings.seed + 1))


def leave_last_round_out(rounds: tuple[ObservedRound, ...], prior: Prior, settings: Settings,
                         draws: int, held_out: Posterior | None = None) -> dict:
    """Fit on all rounds but the last (or take that fit, ``held_out``); forecast the
    last; compare log scores with the prior's forecast (the base rate: what the model
    says before seeing any round)."""
    held_out_round = rounds[-1]
    if held_out is None:
        fit = held_out_fit(rounds, prior, settings)
        held_out = fit.particles, fit.weights
    rng = np.random.default_rng(settings.seed + 2)
    theta = checks.draw_particles(*held_out, draws, rng)
    forecast = checks.predictive((held_out_round,), prior, theta, np.random.default_rng(7))
    base = checks.predictive((held_out_round,), prior, prior.sample(draws, rng),
                             np.random.default_rng(7))
    ours = checks.log_scores(forecast, held_out_round.name, draws)
    theirs = checks.log_scores(base, held_out_round.name, draws)
    table = ours.rename(columns={"p": "p_fit", "log_score": "log_score_fit"})
    table["p_base"], table["log_score_base"] = theirs["p"], theirs["log_score"]
    facts = table[table["fact"] != "ALL"]
    whole = table[table["fact"] == "ALL"].iloc[0]
    return {
        "fitted_on": [r.name for r in rounds[:-1]],
        "held_out": held_out_round.name,
        "facts": facts.to_dict(orient="records"),
        "sum_log_score_fit": float(facts["log_score_fit"].sum()),
        "sum_log_score_base": float(facts["log_score_base"].sum()),
        "joint_log_score_fit": float(whole["log_score_fit"]),
        "joint_log_score_base": float(whole["log_score_base"]),
    }


def compute_checks(rounds: tuple[ObservedRound, ...], prior: Prior, particles: np.ndarray,
                   weights: np.ndarray, settings: Settings, draws: int,
                   held_out: Posterior | None = None) -> dict:
    """The ``checks.json`` structure of a posterior (its particles and weights); the
    held-out forecast from ``held_out`` (particles and weights of the fit on all rounds
    but the last), fitted here if not given."""
    posterior, base = predictive_pair(rounds, prior, particles, weights, draws,
                                      settings.seed)
    table = checks.identifiability(prior, particles, weights)
    result = {
        "posterior_predictive": posterior.to_dict(orient="records"),
        "prior_predictive": base.to_dict(orient="records"),
        "identifiability": table.to_dict(orient="records"),
        "draws": draws,
    }
    if len(rounds) > 1:
        result["leave_last_round_out"] = leave_last_round_out(rounds, prior, settings, draws,
                                                              held_out)
    return json.loads(checks_json(result))  # plain Python numbers, as read back


def checks_json(result: dict) -> str:
    """``checks.json``'s text: floats written exactly (``repr``), keys in order."""
    return json.dumps(result, indent=2, default=_plain) + "\n"


def figures(rounds: tuple[ObservedRound, ...], prior: Prior, particles: np.ndarray,
            weights: np.ndarray, settings: Settings, draws: int, result: dict
            ) -> dict[str, Figure]:
    """The calibration's figures, by file stem: prior against posterior, the
    predictive checks of ``result`` (from ``compute_checks``), and the posterior
    predictive outcomes of each round (``draws`` replays, their own seed)."""
    table = pd.DataFrame(result["identifiability"])
    posterior = pd.DataFrame(result["posterior_predictive"])
    base = pd.DataFrame(result["prior_predictive"])
    rng = np.random.default_rng(settings.seed + 3)
    theta = checks.draw_particles(particles, weights, draws, rng)
    outcomes = {r.name: simulate_round(r, prior, theta, rng) for r in rounds}
    return {
        "prior-posterior": plots.parameters_figure(prior, particles, weights, table),
        "predictive-facts": plots.predictive_figure(
            posterior, base, f"Reported facts: posterior predictive vs prior "
            f"({draws:,} simulated rounds each)"),
        "predictive-outcomes": plots.outcome_figure(
            outcomes, {r.name: list(r.facts) for r in rounds}, quantities(rounds)),
    }


def quantities(rounds: tuple[ObservedRound, ...]) -> dict[str, str]:
    """The quantities of the rounds' summaries (``Measures``), by results column."""
    found: dict[str, str] = {}
    for r in rounds:
        for quantity in Measures.of(r.scenario).quantities:
            found.setdefault(quantity.column, quantity.label)
    duration = found.pop("duration_minutes", "duration, minutes")
    return found | {"duration_minutes": duration}


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return str(value)
    raise TypeError(f"not JSON: {type(value).__name__}")
