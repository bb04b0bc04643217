"""ABC model choice: which model of the rounds makes the reports more likely.

Grelaud et al. (2009): draw parameters from each model's prior, simulate, and accept a
simulation when its distance to the observations is at most a tolerance epsilon,
**the same distance and tolerance for every model**. With equal prior probabilities
of the models, each model's posterior probability is proportional to its acceptance
rate, and the ratio of two rates is the ABC Bayes factor. At epsilon = 0 (every
reported fact reproduced exactly: the facts are coarse, a value on a lattice or a
range, so this has positive probability) the rate is the prior predictive probability
of the reports themselves, and the Bayes factor is exact but for Monte Carlo error.

The common distance is the Euclidean norm of each fact's miss in units of its own
``scale`` (``calibration/observations.toml``: the size of a meaningful miss). The
fitting distance of ``sim.calibration.abc`` rescales each fact by the spread of one
model's simulations, which would make the distance differ between the models; here it
must not.

The caveat (Robert, Cornuet, Marin & Pillai 2011): a Bayes factor computed on summary
statistics is the Bayes factor of those summaries, not of the full data, and even
statistics sufficient for each model's parameters can be insufficient for choosing
between models; it can then settle on the wrong model however many simulations are
run (Marin, Pillai, Robert & Rousseau 2014 give the condition: the summaries' expected
values must differ between the models). Here the summaries are what was reported of
the rounds, and the Bayes factor answers "which model makes *these reports* more
likely", not "which model is true of the talks".

Monte Carlo error: every model replays the same parameter draws and the same random
numbers (common random numbers: the models are compared on the same draws). The
standard error of the log Bayes factor is the delta method's on the paired acceptance
indicators. Its 95% interval is exact: given the draws accepted under either model,
those under the first are binomial with probability BF / (1 + BF) (rare acceptances
are Poisson counts), so a Clopper-Pearson interval for that probability gives one for
the Bayes factor (the ratio of Poisson rates; Clopper & Pearson 1934). It holds where
a model accepted nothing (a bound) and is conservative for paired draws, which are
positively correlated.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats

#: Draws are simulated in chunks of this size (bounded memory), each chunk's
#: parameters and random numbers from its own child of the seed, the same for every
#: model.
CHUNK = 20_000

#: Confidence of the Bayes factor's interval.
LEVEL = 0.95

Replay = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def common_distance(discrepancies: np.ndarray) -> np.ndarray:
    """Euclidean norm of each row of discrepancies (already in units of each fact's
    ``scale``): the same for every model."""
    return np.sqrt(np.sum(discrepancies**2, axis=1))


def prior_predictive_discrepancies(sample: Callable[[int, np.random.Generator], np.ndarray],
                                   replays: dict[str, Replay], draws: int, seed: int
                                   ) -> dict[str, np.ndarray]:
    """``(draws, facts)`` discrepancies of prior predictive simulations under each model
    (``replays``: model key -> the function replaying every round for a batch of
    parameter vectors, ``fit.replayer``). Chunk ``c`` draws its parameters with
    ``sample(size, rng)`` from the child ``(seed, c, 0)`` and simulates with the child
    ``(seed, c, 1)``, for every model alike."""
    out: dict[str, list[np.ndarray]] = {key: [] for key in replays}
    for c, start in enumerate(range(0, draws, CHUNK)):
        size = min(CHUNK, draws - start)
        theta = sample(size, np.random.default_rng([seed, c, 0]))
        for key, replay in replays.items():
            out[key].append(replay(theta, np.random.default_rng([seed, c, 1])))
    return {key: np.concatenate(parts) for key, parts in out.items()}


def prior_predictive_distances(sample: Callable[[int, np.random.Generator], np.ndarray],
                               replays: dict[str, Replay], draws: int, seed: int
                               ) -> dict[str, np.ndarray]:
    """The common distance of each of ``prior_predictive_discrepancies``' draws."""
    return {key: common_distance(d) for key, d in
            prior_predictive_discrepancies(sample, replays, draws, seed).items()}


def without_each_fact(discrepancies: dict[str, np.ndarray], labels: list[str],
                      tolerance: float) -> list[dict]:
    """The model choice at ``tolerance`` with each fact left out in turn (its column of
    the discrepancies dropped): which facts carry the verdict, and how far it rests on
    the summaries chosen (Robert et al. 2011's caveat, made visible)."""
    rows = []
    for j, label in enumerate(labels):
        kept = {key: common_distance(np.delete(d, j, axis=1))
                for key, d in discrepancies.items()}
        rows.append({"without": label} | model_choice(kept, tolerance))
    return rows


def model_choice(distances: dict[str, np.ndarray], tolerance: float) -> dict:
    """ABC model choice at one ``tolerance``: for each model the draws accepted, the
    acceptance rate and its posterior probability (equal prior odds: the rates
    normalised); the ``favoured`` model (the highest rate; the first listed on a tie,
    None if no model accepted a draw) and its Bayes factor against each other model
    (``bayes_factor``)."""
    keys = list(distances)
    hits = {key: distances[key] <= tolerance for key in keys}
    n = len(hits[keys[0]])
    if any(len(h) != n for h in hits.values()):
        raise ValueError("every model must replay the same draws")
    accepted = {key: int(h.sum()) for key, h in hits.items()}
    total = sum(accepted.values())
    favoured = max(keys, key=lambda k: accepted[k]) if total else None
    return {
        "tolerance": float(tolerance),
        "draws": n,
        "accepted": accepted,
        "rate": {key: accepted[key] / n for key in keys},
        "probability": {key: (accepted[key] / total if total else None) for key in keys},
        "favoured": favoured,
        "bayes_factor": {} if favoured is None else {
            key: bayes_factor(hits[favoured], hits[key]) for key in keys if key != favoured},
    }


def bayes_factor(hits_a: np.ndarray, hits_b: np.ndarray) -> dict:
    """The Bayes factor of model a against model b from paired acceptance indicators
    (see the module docstring): ``{"value", "log_se", "low", "high"}``. ``value`` is
    None where b accepted nothing, ``log_se`` where either did; ``low`` and ``high``
    bound the ``LEVEL`` interval (``high`` None where unbounded: nothing accepted
    under b); all but ``log_se`` None where neither accepted anything."""
    n = len(hits_a)
    k_a, k_b = int(hits_a.sum()), int(hits_b.sum())
    value = k_a / k_b if k_b else None  # the same draws: the ratio of the rates
    log_se = None
    if k_a and k_b:
        p_a, p_b = k_a / n, k_b / n
        a, b = hits_a.astype(float), hits_b.astype(float)
        covariance = float(np.mean((a - p_a) * (b - p_b)))
        variance = ((1 - p_a) / p_a + (1 - p_b) / p_b - 2 * covariance / (p_a * p_b)) / n
        log_se = float(np.sqrt(max(variance, 0.0)))
    low = high = None
    m, alpha = k_a + k_b, 1 - LEVEL
    if m:
        share_low = float(stats.beta.ppf(alpha / 2, k_a, m - k_a + 1)) if k_a else 0.0
        share_high = float(stats.beta.ppf(1 - alpha / 2, k_a + 1, m - k_a)) if k_b else 1.0
        low = share_low / (1 - share_low)
        high = share_high / (1 - share_high) if k_b else None
    return {"value": value, "log_se": log_se, "low": low, "high": high}
