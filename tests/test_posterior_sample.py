"""``Posterior.sample`` draws the particles ``Generator.choice`` would, bit for bit: the
same ids from the same seed, the same random numbers consumed, on every committed
posterior and on weights made to be awkward (a guide table's cells crowded, zero
weights, one particle)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.scenario.posterior import read_posterior
from sim.scenario.spec import GUIDED_STEPS, Posterior

CALIBRATION = Path(__file__).resolve().parent.parent / "calibration"
COMMITTED = sorted([*CALIBRATION.glob("posterior.parquet"),
                    *CALIBRATION.glob("track-posterior*.parquet"),
                    *CALIBRATION.glob("protocols/*.parquet")])


def made(weights) -> Posterior:
    weights = np.asarray(weights, dtype=float)
    weights = weights / weights.sum()
    particles = np.arange(len(weights) * 2, dtype=float).reshape(len(weights), 2)
    return Posterior("made", "", ("a", "b"), particles, weights)


def awkward() -> dict[str, Posterior]:
    rng = np.random.default_rng(3)
    crowded = np.concatenate([np.full(50, 1e-9), [1.0], np.full(3000, 1e-12), [1.0]])
    zeros = rng.random(500)
    zeros[rng.random(500) < 0.4] = 0.0
    return {"uniform": made(np.ones(2000)),
            "extreme": made(rng.dirichlet(np.full(2000, 0.05))),
            "zeros": made(zeros),
            "crowded": made(crowded),
            # four sums in one cell: one past the guided steps
            "four": made(np.concatenate([np.ones(1001), np.full(3, 1e-9), np.ones(999)])),
            "one": made([1.0]),
            "two": made([0.25, 0.75])}


def assert_as_choice(posterior: Posterior, seeds=range(5), sizes=(0, 1, 7, 16_384)) -> None:
    for seed in seeds:
        for n in sizes:
            ours, numpy_s = np.random.default_rng(seed), np.random.default_rng(seed)
            ids, values = posterior.sample(n, ours)
            expected = numpy_s.choice(len(posterior.weights), size=n, p=posterior.weights)
            np.testing.assert_array_equal(ids, expected, strict=True)
            for j, key in enumerate(posterior.keys):
                np.testing.assert_array_equal(values[key], posterior.particles[expected, j])
            assert ours.random() == numpy_s.random()  # the same numbers consumed


def bisected(posterior: Posterior, seed: int, n: int) -> int:
    """How many of ``n`` draws from ``seed`` end past the guided steps (bisected)."""
    cdf, cells, guide, _ = posterior._guide
    u = np.random.default_rng(seed).random(n)
    steps = cdf.searchsorted(u, side="right") - guide[(u * cells).astype(np.int64)]
    return int(np.sum(steps > GUIDED_STEPS))


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name)
def test_a_committed_posterior_samples_as_numpy_s_choice(path):
    assert_as_choice(read_posterior(path))


@pytest.mark.parametrize("name", list(awkward()))
def test_awkward_weights_sample_as_numpy_s_choice(name):
    posterior = awkward()[name]
    assert_as_choice(posterior)
    if name in ("crowded", "extreme", "four"):  # both ways a search ends are exercised
        assert bisected(posterior, 0, 16_384) > 0 and posterior._guide[3] > GUIDED_STEPS
    if name == "four":
        assert posterior._guide[3] == GUIDED_STEPS + 1


def test_zero_weights_are_never_drawn():
    posterior = awkward()["zeros"]
    ids, _ = posterior.sample(100_000, np.random.default_rng(1))
    assert np.all(posterior.weights[ids] > 0)
