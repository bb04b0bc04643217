"""ABC-SMC: likelihood-free Bayesian fitting by sequential Monte Carlo.

Written on numpy rather than taking pyABC: the algorithm is about a hundred lines,
while pyABC brings ~170 MB of dependencies, a 5 s import and workers that reseed the
global generator (results that cannot be reproduced). Here one ``Generator`` drives
everything, and each batch of proposals is one call of the simulator, which runs
the vectorised engine over all of them at once.

The algorithm (Toni et al. 2009; Beaumont et al. 2009; Del Moral et al. 2012):

- generation 0 draws particles from the prior;
- generation t perturbs particles of t-1 (chosen by weight) with a Gaussian kernel of
  twice their weighted covariance (Beaumont et al. 2009), simulates them and keeps
  those whose distance to the observations is at most epsilon_t, until it has N;
- epsilon_t is the ``quantile`` of generation t-1's distances (a quantile schedule);
- distances are adaptive (Prangle 2017): each statistic is divided by its spread in
  the previous generation's simulations, so no statistic dominates by its units;
- weights are prior / (mixture of kernels around generation t-1), normalised.

Particles move in unbounded coordinates (the logit of their place in the prior's
support, ``Prior.to_free``): with bounded priors in several dimensions a Gaussian
kernel in the original coordinates proposes mostly outside the support.

The simulator returns, for each proposed parameter vector, a row of non-negative
discrepancies (0 where the simulated round reproduced the fact). A NaN is refused at
once (its distance compares false with every epsilon, so nothing would ever be
accepted), and a generation that has not found its particles after
``patience`` times the proposals ``min_acceptance`` would need stops with an error
rather than proposing for ever.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sim.calibration.evidence import Prior

#: The smallest spread a statistic is given (discrepancies are in units of a fact's
#: meaningful miss), so a statistic every simulation matched weighs a lot, not infinitely.
MIN_SPREAD = 0.05

Simulator = Callable[[np.ndarray, np.random.Generator], np.ndarray]


@dataclass
class Generation:
    epsilon: float
    proposed: int
    accepted: int
    spread: list[float]

    @property
    def acceptance_rate(self) -> float:
        return self.accepted / max(self.proposed, 1)


@dataclass
class Fit:
    particles: np.ndarray  # (N, parameters)
    weights: np.ndarray  # (N,)
    discrepancies: np.ndarray  # (N, statistics)
    distances: np.ndarray  # (N,)
    generations: list[Generation] = field(default_factory=list)

    @property
    def simulations(self) -> int:
        return sum(g.proposed for g in self.generations)


def spread_of(discrepancies: np.ndarray) -> np.ndarray:
    """Each statistic's spread over a generation's simulations: its root mean square
    discrepancy, floored at ``MIN_SPREAD`` (Prangle 2017's adaptive scale)."""
    return np.maximum(np.sqrt(np.mean(discrepancies**2, axis=0)), MIN_SPREAD)


def distance(discrepancies: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """Euclidean norm of the scaled discrepancies."""
    return np.sqrt(np.sum((discrepancies / spread) ** 2, axis=1))


def weighted_covariance(particles: np.ndarray, weights: np.ndarray) -> np.ndarray:
    mean = weights @ particles
    centred = particles - mean
    cov = (centred * weights[:, None]).T @ centred
    return np.atleast_2d(cov)


def kernel_mixture(new: np.ndarray, old: np.ndarray, old_weights: np.ndarray,
                   chol: np.ndarray) -> np.ndarray:
    """``sum_j w_j N(new_i; old_j, L L^T)`` for every new particle, via whitened
    coordinates and a matrix product (no (N, N, K) array)."""
    inv = np.linalg.inv(chol)
    a, b = new @ inv.T, old @ inv.T
    squared = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2 * a @ b.T
    k = chol.shape[0]
    norm = (2 * np.pi) ** (-k / 2) / np.prod(np.diag(chol))
    return norm * (np.exp(-0.5 * np.maximum(squared, 0)) @ old_weights)


class StalledError(RuntimeError):
    """A generation of ABC-SMC could not be completed: see the message."""


def checked(disc: np.ndarray, generation: int) -> np.ndarray:
    """``disc`` if every discrepancy is a number, else a ``StalledError`` naming the
    statistics that are not."""
    bad = np.isnan(disc)
    if bad.any():
        columns = sorted({int(j) for j in np.nonzero(bad.any(axis=0))[0]})
        raise StalledError(
            f"generation {generation}: the simulator returned NaN discrepancies for "
            f"statistic(s) {columns} ({int(bad.any(axis=1).sum())} of {len(disc)} "
            "proposals); a NaN distance is never within epsilon, so nothing could be "
            "accepted: give every fact a number to compare with")
    return disc


def abc_smc(prior: Prior, simulate: Simulator, rng: np.random.Generator, particles: int = 2000,
            generations: int = 8, quantile: float = 0.5, min_acceptance: float = 0.02,
            max_batch: int = 100_000, patience: float = 5.0,
            progress: Callable[[int, Generation], None] | None = None) -> Fit:
    """Fit ``prior`` to the facts behind ``simulate``; see the module docstring. A
    generation may propose at most ``patience * particles / min_acceptance`` (at least
    ``particles``) vectors: where fewer than one in ``patience`` of the proposals
    ``min_acceptance`` would keep are accepted, it stops with ``StalledError``."""
    budget = int(np.ceil(patience * particles / max(min_acceptance, 1e-3)))
    theta = prior.to_free(prior.sample(particles, rng))
    disc = checked(simulate(prior.from_free(theta), rng), 0)
    spread = spread_of(disc)
    weights = np.full(particles, 1.0 / particles)
    history = [Generation(float("inf"), particles, particles, spread.tolist())]
    if progress:
        progress(0, history[0])
    all_disc = disc
    for t in range(1, generations + 1):
        spread = spread_of(all_disc)
        eps = float(np.quantile(distance(disc, spread), quantile))
        cov = 2.0 * weighted_covariance(theta, weights)
        chol = np.linalg.cholesky(cov + 1e-12 * np.eye(cov.shape[0]))
        kept_theta, kept_disc, batches, proposed = [], [], [], 0
        rate = history[-1].acceptance_rate
        while sum(len(k) for k in kept_theta) < particles:
            missing = particles - sum(len(k) for k in kept_theta)
            size = int(min(max_batch, budget - proposed,
                           max(particles // 4, np.ceil(missing / max(rate, 0.01) * 1.2))))
            parents = rng.choice(particles, size=size, p=weights)
            proposal = theta[parents] + rng.standard_normal((size, theta.shape[1])) @ chol.T
            sim = checked(simulate(prior.from_free(proposal), rng), t)
            batches.append(sim)
            proposed += size
            ok = distance(sim, spread) <= eps
            kept_theta.append(proposal[ok])
            kept_disc.append(sim[ok])
            found = sum(len(k) for k in kept_theta)
            rate = max(found / proposed, 1e-4)
            if found < particles and proposed >= budget:
                raise StalledError(
                    f"generation {t}: {found} of {proposed:,} proposals within epsilon "
                    f"{eps:.3g}, short of the {particles} particles wanted (the "
                    f"proposal budget is {patience:g} x particles / min_acceptance); "
                    "fewer generations, a larger quantile or facts the model can "
                    "reproduce")
        new_theta = np.concatenate(kept_theta)[:particles]
        new_disc = np.concatenate(kept_disc)[:particles]
        mixture = kernel_mixture(new_theta, theta, weights, chol)
        new_weights = prior.free_density(new_theta) / mixture
        weights = new_weights / new_weights.sum()
        theta, disc = new_theta, new_disc
        all_disc = np.concatenate(batches)
        history.append(Generation(eps, proposed, particles, spread.tolist()))
        if progress:
            progress(t, history[-1])
        if history[-1].acceptance_rate < min_acceptance:
            break
    return Fit(prior.from_free(theta), weights, disc, distance(disc, spread_of(all_disc)),
               history)
