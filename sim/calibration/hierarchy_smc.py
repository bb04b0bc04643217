"""ABC-SMC with MCMC moves (Del Moral, Doucet & Jasra 2012): the sampler of the track
calibration.

Why not the project's ABC-SMC (``sim.calibration.abc``, Beaumont et al. 2009). Its
particles carry importance weights, prior / (mixture of perturbation kernels), whose
spread grows with the number of parameters: on the track record's 29 columns the
effective sample size fell to about 5 of 1,000 particles after one generation, even
with a simulator that reads one column only (measured; the Istanbul fit's 9 columns
keep it in the hundreds). Del Moral et al.'s sampler never weights: each generation
keeps the particles within the new tolerance, resamples them to N, and moves each by
a Metropolis-Hastings step whose proposal is simulated once and accepted only if it
lies within the tolerance (Marjoram et al. 2003's ABC-MCMC kernel) — so every particle
stays equally weighted, whatever the dimension.

Each generation t:

- the distance is adaptive (Prangle 2017), as in ``sim.calibration.abc``: each
  statistic divided by its spread over the previous generation's simulations;
- epsilon_t is the ``quantile`` of the current particles' distances (so a share
  ``quantile`` of them stays alive), and the alive ones are resampled to N;
- random-walk steps move each particle, in the prior's unbounded coordinates, with a
  Gaussian of the alive particles' covariance times 2.38^2 / d (Roberts, Gelman &
  Gilks 1997's scaling for d dimensions); a step is accepted where its simulated round
  is within epsilon_t and with probability min(1, prior ratio). As many steps as make
  nine particles in ten move at least once, given the first step's acceptance rate
  (Drovandi & Pettitt 2011), at most ``moves``.

It stops after ``generations``, or when fewer than ``min_move_rate`` of the moves are
accepted (the particles barely move: a smaller epsilon would leave copies of a few).
One ``Generator`` drives everything: the same seed, the same particles.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.calibration.abc import Fit, Generation, Simulator, distance, spread_of

#: Roberts, Gelman & Gilks (1997): the random-walk scale that is optimal in d dimensions.
RW_SCALE = 2.38**2
#: The share of particles that may stay where they were in a generation: the moves are
#: as many as make each particle move at least once with probability 1 - STAY, given the
#: first move's acceptance rate (Drovandi & Pettitt 2011), at most ``moves``.
STAY = 0.1


def moves_needed(rate: float, most: int) -> int:
    """Random-walk steps for a particle to move at least once with probability
    ``1 - STAY`` when each step is accepted with probability ``rate``; 1 to ``most``."""
    if rate <= 0:
        return most
    if rate >= 1:
        return 1
    return int(min(most, max(1, np.ceil(np.log(STAY) / np.log1p(-rate)))))


def free_covariance(z: np.ndarray) -> np.ndarray:
    """The covariance of particles (rows of ``z``), at least 2-D."""
    return np.atleast_2d(np.cov(z, rowvar=False, bias=True))


def abc_smc_mcmc(prior, simulate: Simulator, rng: np.random.Generator, particles: int = 1000,
                 generations: int = 8, quantile: float = 0.5, moves: int = 8,
                 min_move_rate: float = 0.03,
                 progress: Callable[[int, Generation], None] | None = None) -> Fit:
    """Fit ``prior`` (anything with ``sample``, ``to_free``, ``from_free`` and
    ``free_density``) to the facts behind ``simulate``; see the module docstring.
    The particles come back equally weighted."""
    z = prior.to_free(prior.sample(particles, rng))
    disc = simulate(prior.from_free(z), rng)
    history = [Generation(float("inf"), particles, particles, spread_of(disc).tolist())]
    if progress:
        progress(0, history[0])
    simulated = disc
    dimension = z.shape[1]
    for t in range(1, generations + 1):
        spread = spread_of(simulated)
        current = distance(disc, spread)
        eps = float(np.quantile(current, quantile))
        alive = np.flatnonzero(current <= eps)
        cov = RW_SCALE / dimension * free_covariance(z[alive] if alive.size > 1 else z)
        pick = alive[rng.integers(0, alive.size, size=particles)]
        z, disc = z[pick], disc[pick]
        chol = np.linalg.cholesky(cov + 1e-12 * np.eye(dimension))
        density = prior.free_density(z)
        batches, accepted, steps, planned = [], 0, 0, moves
        while steps < planned:
            proposal = z + rng.standard_normal(z.shape) @ chol.T
            sim = simulate(prior.from_free(proposal), rng)
            batches.append(sim)
            proposed_density = prior.free_density(proposal)
            ratio = np.divide(proposed_density, density, out=np.zeros_like(density),
                              where=density > 0)
            ok = (distance(sim, spread) <= eps) & (rng.uniform(size=particles) < ratio)
            z[ok], disc[ok], density[ok] = proposal[ok], sim[ok], proposed_density[ok]
            accepted += int(ok.sum())
            steps += 1
            if steps == 1:
                planned = moves_needed(accepted / particles, moves)
        simulated = np.concatenate(batches)
        history.append(Generation(eps, steps * particles, accepted, spread.tolist()))
        if progress:
            progress(t, history[-1])
        if history[-1].acceptance_rate < min_move_rate:
            break
    weights = np.full(particles, 1.0 / particles)
    return Fit(prior.from_free(z), weights, disc, distance(disc, spread_of(simulated)), history)
