"""How a calibration proves itself: predictive checks, a held-out round, what the
data pin down.

- ``predictive``: the probability the model gives each reported fact (and all of a
  round's facts together) when parameters are drawn from a set of particles —
  the posterior predictive check (Gelman, Meng & Stern 1996), or, from the prior, the
  base rate the fit must beat.
- ``log_scores``: the log score (Good 1952) of the facts of a held-out round.
- ``identifiability``: how far each parameter's posterior contracted from its prior
  (Schad et al. 2021, "posterior contraction").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.calibration.evidence import ObservedRound, Prior
from sim.calibration.fit import discrepancies, simulate_round

#: Contraction of the variance above which a parameter counts as pinned down, and
#: below which it stays near its prior.
PINNED, LOOSE = 0.5, 0.2


def draw_particles(particles: np.ndarray, weights: np.ndarray, n: int,
                   rng: np.random.Generator) -> np.ndarray:
    return particles[rng.choice(len(weights), size=n, p=weights / weights.sum())]


def predictive(rounds: tuple[ObservedRound, ...], prior: Prior, theta: np.ndarray,
               rng: np.random.Generator) -> pd.DataFrame:
    """P(fact reproduced) for every fact of every round, each round simulated once per
    row of ``theta``; the rows ``ALL`` give all of a round's facts at once, and the
    row ``(every round)`` every fact of every round, each parameter vector replaying
    all rounds."""
    rows, every = [], np.ones(theta.shape[0], dtype=bool)
    for observed in rounds:
        outcomes = simulate_round(observed, prior, theta, rng)
        hit = discrepancies(observed, outcomes) == 0
        for j, fact in enumerate(observed.facts):
            rows.append((observed.name, fact.label(), hit[:, j].mean()))
        whole = hit.all(axis=1)
        rows.append((observed.name, "ALL", whole.mean()))
        every &= whole
    rows.append(("(every round)", "ALL", every.mean()))
    return pd.DataFrame(rows, columns=["round", "fact", "p"])


def log_scores(forecast: pd.DataFrame, round_name: str, draws: int) -> pd.DataFrame:
    """Natural-log score of each fact of ``round_name`` (and of the whole round) under
    a forecast from ``predictive``; a probability of 0 is floored at half a draw
    (``0.5 / draws``) so that the score stays finite."""
    rows = forecast[forecast["round"] == round_name].copy()
    rows["log_score"] = np.log(np.maximum(rows["p"], 0.5 / draws))
    return rows[["fact", "p", "log_score"]].reset_index(drop=True)


def identifiability(prior: Prior, particles: np.ndarray, weights: np.ndarray) -> pd.DataFrame:
    """Prior and posterior mean and sd of each parameter, the contraction of its
    variance, and a plain verdict."""
    prior_mean, prior_sd = prior.moments()
    w = weights / weights.sum()
    mean = w @ particles
    sd = np.sqrt(w @ (particles - mean) ** 2)
    contraction = 1 - (sd / prior_sd) ** 2
    verdict = np.where(contraction >= PINNED, "pinned down by the rounds",
                       np.where(contraction >= LOOSE, "partly informed",
                                "stays near its prior"))
    q05, q95 = (np.array([_weighted_quantile(particles[:, j], w, q)
                          for j in range(len(prior.keys))]) for q in (0.05, 0.95))
    return pd.DataFrame({
        "parameter": prior.keys, "prior_mean": prior_mean, "prior_sd": prior_sd,
        "posterior_mean": mean, "posterior_sd": sd, "posterior_q05": q05,
        "posterior_q95": q95, "contraction": contraction, "verdict": verdict,
    })


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, q * cumulative[-1])])
