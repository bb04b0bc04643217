"""Forecasts scored against what happened: the proper scoring rules of a backtest.

A forecast of an *event* is a probability; of a *quantity* (a count agreed, a duration),
a distribution given by a sample (the simulated rounds), by one value (persistence) or
by a range (the uniform forecast). The scores are the standard proper ones (Gneiting &
Raftery 2007), lower is better for all three:

- Brier score ``(p - y)^2`` of an event (Brier 1950);
- log score ``-log p(y)`` of an event, with probabilities read no nearer to 0 or 1 than
  ``CLIP`` — a forecast of exactly 0 that comes true would score infinity, and a
  simulated probability of 0 means "fewer than one in the rounds simulated", not
  impossible; the same clip for every forecaster, so their scores compare;
- CRPS of a quantity (Matheson & Winkler 1976): for a sample, the ensemble CRPS of the
  ``scoringrules`` package; for one value ``|x - y|``; for a uniform range its closed form.

An observation given as a range (sources that disagree) is scored at its midpoint; its
central-interval coverage counts it inside if the range and the interval overlap.

The baselines a model must beat, from the rounds before the one forecast (``history``,
oldest first, the observed values of the same target): *persistence* (the last round's
outcome), the *base rate* (Laplace's rule of succession for an event, ``(k + 1)/(n + 2)``;
the past values as a sample for a quantity) and *uniform* (1/2; flat over the issue's
range). With no history, persistence and base rate fall back to uniform — as a
forecaster with nothing to go on would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scoringrules

#: the nearest to 0 or 1 a probability is read in the log score
CLIP = 0.01

#: the central intervals whose coverage a backtest reports
COVERAGE_LEVELS = (0.5, 0.8, 0.95)

FORECASTERS = ("model", "persistence", "base_rate", "uniform")


@dataclass(frozen=True)
class Observed:
    """What happened to one target: a value, or a range where sources disagree."""

    low: float
    high: float

    @property
    def value(self) -> float:
        return (self.low + self.high) / 2


@dataclass(frozen=True)
class QuantityForecast:
    """A distribution of a quantity: a ``sample`` (with optional ``weights``), or a
    uniform ``support`` ``(low, high)``."""

    sample: np.ndarray | None = None
    weights: np.ndarray | None = None
    support: tuple[float, float] | None = None


def brier(p: float, happened: bool) -> float:
    return float((p - float(happened)) ** 2)


def log_score(p: float, happened: bool) -> float:
    q = min(max(p, CLIP), 1 - CLIP)
    return float(-np.log(q if happened else 1 - q))


def crps(forecast: QuantityForecast, observed: Observed) -> float:
    """The CRPS of a quantity's forecast at the observed value (a range's midpoint)."""
    y = observed.value
    if forecast.support is not None:
        low, high = forecast.support
        if high <= low:
            return abs(low - y)
        return float(scoringrules.crps_uniform(y, low, high))
    sample = np.asarray(forecast.sample, dtype=float)
    if sample.size == 1:
        return float(abs(sample[0] - y))
    weights = None if forecast.weights is None else np.asarray(forecast.weights, dtype=float)
    return float(scoringrules.crps_ensemble(y, sample, ens_w=weights))


def central_interval(forecast: QuantityForecast, level: float) -> tuple[float, float]:
    """The central ``level`` interval of a quantity's forecast."""
    tail = (1 - level) / 2
    if forecast.support is not None:
        low, high = forecast.support
        return low + tail * (high - low), high - tail * (high - low)
    sample = np.asarray(forecast.sample, dtype=float)
    if forecast.weights is None:
        low, high = np.quantile(sample, [tail, 1 - tail])
        return float(low), float(high)
    order = np.argsort(sample)
    cumulative = np.cumsum(np.asarray(forecast.weights, dtype=float)[order])
    cumulative /= cumulative[-1]
    pick = np.searchsorted(cumulative, [tail, 1 - tail])
    return float(sample[order][pick[0]]), float(sample[order][min(pick[1], sample.size - 1)])


def covered(forecast: QuantityForecast, observed: Observed) -> dict[float, bool]:
    """Whether each central interval of ``COVERAGE_LEVELS`` holds what happened."""
    result = {}
    for level in COVERAGE_LEVELS:
        low, high = central_interval(forecast, level)
        result[level] = bool(observed.high >= low and observed.low <= high)
    return result


def event_baselines(history: Sequence[bool]) -> dict[str, float]:
    """The baselines' probabilities of an event, given its outcomes in earlier rounds."""
    n, k = len(history), int(sum(history))
    return {"persistence": float(history[-1]) if n else 0.5,
            "base_rate": (k + 1) / (n + 2),
            "uniform": 0.5}


def quantity_baselines(history: Sequence[float], support: tuple[float, float]
                       ) -> dict[str, QuantityForecast]:
    """The baselines' forecasts of a quantity, given its values in earlier rounds and
    the range it can take."""
    uniform = QuantityForecast(support=support)
    if not history:
        return {"persistence": uniform, "base_rate": uniform, "uniform": uniform}
    return {"persistence": QuantityForecast(sample=np.array([history[-1]], dtype=float)),
            "base_rate": QuantityForecast(sample=np.asarray(history, dtype=float)),
            "uniform": uniform}


def skill(score: float, reference: float) -> float | None:
    """The skill score ``1 - score / reference`` (1 perfect, 0 no better than the
    reference, negative worse); None where the reference scores 0."""
    return None if reference == 0 else float(1 - score / reference)


def reliability(probabilities: np.ndarray, outcomes: np.ndarray, bins: int = 5
                ) -> list[dict]:
    """The reliability diagram's points: for each of ``bins`` equal-width bins of
    forecast probability that holds forecasts, their mean probability, the observed
    frequency and the count (Murphy & Winkler 1977)."""
    probabilities = np.asarray(probabilities, dtype=float)
    outcomes = np.asarray(outcomes, dtype=float)
    which = np.minimum((probabilities * bins).astype(int), bins - 1)
    points = []
    for b in range(bins):
        held = which == b
        if held.any():
            points.append({"low": b / bins, "high": (b + 1) / bins,
                           "forecast": float(probabilities[held].mean()),
                           "observed": float(outcomes[held].mean()),
                           "count": int(held.sum())})
    return points
