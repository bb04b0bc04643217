"""The calibration's evidence for itself: checks.json and figures.

Posterior predictive and prior predictive (base rate) probabilities of every reported
fact; a leave-one-round-out forecast (fit on every round but the last, score the last
against the base rate); the identifiability table.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from sim.calibration import checks
from sim.calibration.abc import Fit
from sim.calibration.evidence import ObservedRound, Prior
from sim.calibration.fit import Settings, calibrate, simulate_round
from sim.fileio import make_folder, write_atomically
from sim.scenario.spec import IssueKind
from sim.viz import calibration as plots


def predictive_pair(rounds, prior: Prior, fit: Fit, draws: int, seed: int):
    """Posterior and prior predictive tables over the same rounds, same seed."""
    rng = np.random.default_rng(seed)
    theta = checks.draw_particles(fit.particles, fit.weights, draws, rng)
    posterior = checks.predictive(rounds, prior, theta, np.random.default_rng(seed + 1))
    base = checks.predictive(rounds, prior, prior.sample(draws, rng),
                             np.random.default_rng(seed + 1))
    return posterior, base


def leave_last_round_out(rounds: tuple[ObservedRound, ...], prior: Prior, settings: Settings,
                         draws: int) -> dict:
    """Fit on all rounds but the last; forecast the last; compare log scores with the
    prior's forecast (the base rate: what the model says before seeing any round)."""
    held_out = rounds[-1]
    fit = calibrate(rounds[:-1], prior, replace(settings, seed=settings.seed + 1))
    rng = np.random.default_rng(settings.seed + 2)
    theta = checks.draw_particles(fit.particles, fit.weights, draws, rng)
    forecast = checks.predictive((held_out,), prior, theta, np.random.default_rng(7))
    base = checks.predictive((held_out,), prior, prior.sample(draws, rng),
                             np.random.default_rng(7))
    ours = checks.log_scores(forecast, held_out.name, draws)
    theirs = checks.log_scores(base, held_out.name, draws)
    table = ours.rename(columns={"p": "p_fit", "log_score": "log_score_fit"})
    table["p_base"], table["log_score_base"] = theirs["p"], theirs["log_score"]
    facts = table[table["fact"] != "ALL"]
    whole = table[table["fact"] == "ALL"].iloc[0]
    return {
        "fitted_on": [r.name for r in rounds[:-1]],
        "held_out": held_out.name,
        "facts": facts.to_dict(orient="records"),
        "sum_log_score_fit": float(facts["log_score_fit"].sum()),
        "sum_log_score_base": float(facts["log_score_base"].sum()),
        "joint_log_score_fit": float(whole["log_score_fit"]),
        "joint_log_score_base": float(whole["log_score_base"]),
    }


def make_report(rounds: tuple[ObservedRound, ...], prior: Prior, fit: Fit, settings: Settings,
                out_dir: Path, draws: int) -> dict:
    """Write ``checks.json`` and the figures into ``out_dir``; return the checks."""
    figures = out_dir / "figures"
    make_folder(figures)
    posterior, base = predictive_pair(rounds, prior, fit, draws, settings.seed)
    table = checks.identifiability(prior, fit.particles, fit.weights)
    result = {
        "posterior_predictive": posterior.to_dict(orient="records"),
        "prior_predictive": base.to_dict(orient="records"),
        "identifiability": table.to_dict(orient="records"),
        "draws": draws,
    }
    if len(rounds) > 1:
        result["leave_last_round_out"] = leave_last_round_out(rounds, prior, settings, draws)
    plots.parameters_figure(prior, fit.particles, fit.weights, table,
                            figures / "prior-posterior.png")
    plots.predictive_figure(posterior, base, "Reported facts: posterior predictive vs prior",
                            figures / "predictive-facts.png")
    rng = np.random.default_rng(settings.seed + 3)
    theta = checks.draw_particles(fit.particles, fit.weights, draws, rng)
    outcomes = {r.name: simulate_round(r, prior, theta, rng) for r in rounds}
    quantities = list(dict.fromkeys(
        f"{spec.name}_value" for r in rounds for spec in r.scenario.agenda_issues
        if spec.kind in (IssueKind.COUNT, IssueKind.SHARE)))
    plots.outcome_figure(outcomes, {r.name: list(r.facts) for r in rounds},
                         figures / "predictive-outcomes.png", quantities + ["duration_minutes"])
    write_atomically(out_dir / "checks.json", json.dumps(result, indent=2, default=_plain) + "\n")
    return result


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return str(value)
    raise TypeError(f"not JSON: {type(value).__name__}")
