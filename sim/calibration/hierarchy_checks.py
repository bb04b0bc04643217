"""How the track calibration proves itself: predictive checks of every fact of every
round, and what the record pins down.

- ``predictive``: the probability that a round simulated with particles drawn from a
  set (the posterior; or the prior, the base rate) reproduces each reported fact, and
  all of a round's facts together (Gelman, Meng & Stern 1996), as
  ``sim.calibration.checks.predictive`` does for the Istanbul rounds.
- ``identifiability``: the contraction of each column of the particles
  (``sim.calibration.checks.identifiability``) and, for each scenario posterior derived
  for a (period, mediator), of each scenario key it holds: a period's value may be
  pinned down while the shared value and the deviations, which only their sum
  informs, are not.

Everything is a function of the particles, their weights, the seed and the number of
draws: the same inputs give the same numbers, to the bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.calibration import checks
from sim.calibration.fit import discrepancies
from sim.calibration.hierarchy import HierarchicalPrior
from sim.calibration.hierarchy_fit import derived, derived_name, simulate_track_round
from sim.calibration.track_record import TrackRound

#: The verdict of a parameter the data leave at its prior (``checks.identifiability``).
UNIDENTIFIED = "stays near its prior"


def predictive(rounds: Sequence[TrackRound], prior: HierarchicalPrior, theta: np.ndarray,
               rng: np.random.Generator) -> pd.DataFrame:
    """P(fact reproduced) for every fact of every round, each round simulated once per
    row of ``theta``; rows ``ALL``: all of a round's facts at once; the last row, every
    fact of every round, each particle replaying all rounds."""
    rows, every = [], np.ones(theta.shape[0], dtype=bool)
    for track_round in rounds:
        observed = track_round.observed()
        hit = discrepancies(observed, simulate_track_round(track_round, prior, theta,
                                                           rng)) == 0
        for j, fact in enumerate(observed.facts):
            rows.append((track_round.key, fact.label(), float(hit[:, j].mean())))
        whole = hit.all(axis=1)
        rows.append((track_round.key, "ALL", float(whole.mean())))
        every &= whole
    rows.append(("(every round)", "ALL", float(every.mean())))
    return pd.DataFrame(rows, columns=["round", "fact", "p"])


def predictive_pair(rounds: Sequence[TrackRound], prior: HierarchicalPrior,
                    particles: np.ndarray, weights: np.ndarray, draws: int, seed: int
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Posterior and prior predictive tables over the same rounds, same seed."""
    rng = np.random.default_rng(seed)
    theta = checks.draw_particles(particles, weights, draws, rng)
    posterior = predictive(rounds, prior, theta, np.random.default_rng(seed + 1))
    base = predictive(rounds, prior, prior.sample(draws, rng), np.random.default_rng(seed + 1))
    return posterior, base


@dataclass(frozen=True)
class _Moments:
    """A prior known by its keys and moments: what ``checks.identifiability`` reads."""

    keys: tuple[str, ...]
    mean: np.ndarray
    sd: np.ndarray

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        return self.mean, self.sd


def derived_identifiability(prior: HierarchicalPrior, particles: np.ndarray,
                            weights: np.ndarray, period: str, mediator: str,
                            draws: int = 200_000) -> pd.DataFrame:
    """``checks.identifiability`` of the scenario keys a round of ``period`` mediated
    by ``mediator`` takes: their prior moments from ``draws`` prior particles (fixed
    seed), their posterior from ``particles``."""
    keys, prior_values = derived(prior, prior.sample(draws, np.random.default_rng(0)),
                                 period, mediator)
    _, values = derived(prior, particles, period, mediator)
    moments = _Moments(keys, prior_values.mean(axis=0), prior_values.std(axis=0))
    return checks.identifiability(moments, values, weights)


def identifiability_by_file(prior: HierarchicalPrior, particles: np.ndarray,
                            weights: np.ndarray, posterior_name: str) -> dict[str, pd.DataFrame]:
    """The identifiability table of the particles (under ``posterior_name``) and of
    each derived scenario posterior (under its file name)."""
    tables = {posterior_name: checks.identifiability(prior, particles, weights)}
    for period, mediator in prior.groups():
        tables[derived_name(period, mediator)] = derived_identifiability(
            prior, particles, weights, period, mediator)
    return tables


def unidentified(table: pd.DataFrame) -> list[str]:
    """The parameters of an identifiability table that stay near their prior."""
    return [str(p) for p in table.loc[table["verdict"] == UNIDENTIFIED, "parameter"]]


def compute_track_checks(rounds: Sequence[TrackRound], prior: HierarchicalPrior,
                         particles: np.ndarray, weights: np.ndarray, seed: int, draws: int,
                         posterior_name: str) -> dict:
    """The ``track-checks.json`` structure: predictive checks, and the identifiability
    of the particles' columns and of each derived posterior's keys."""
    posterior, base = predictive_pair(rounds, prior, particles, weights, draws, seed)
    tables = identifiability_by_file(prior, particles, weights, posterior_name)
    return {
        "posterior_predictive": posterior.to_dict(orient="records"),
        "prior_predictive": base.to_dict(orient="records"),
        "identifiability": {name: table.to_dict(orient="records")
                            for name, table in tables.items()},
        "draws": draws,
    }
