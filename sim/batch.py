"""Running a scenario: chunks of replicates, each with its own seed stream.

A batch of ``runs`` replicates is cut into chunks of ``chunk_size``; chunk ``k``
always draws from child ``k`` of the batch's ``SeedSequence(seed)``, so a replicate's
result depends only on (scenario, seed, chunk size, its run id) — never on what else
runs, or in what order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.model import NegotiationRound
from sim.scenario import Scenario
from sim.setup import realise

CHUNK_SIZE = 16_384


def chunk_rng(seed: int, chunk: int) -> np.random.Generator:
    """The generator of chunk ``k``: child ``k`` of ``SeedSequence(seed)``
    (``SeedSequence(seed).spawn(k + 1)[k]`` without spawning the others)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(chunk,))))


def chunk_bounds(runs: int, chunk_size: int = CHUNK_SIZE) -> list[tuple[int, int]]:
    """``(first run id, count)`` of each chunk."""
    return [(start, min(chunk_size, runs - start)) for start in range(0, runs, chunk_size)]


def run_chunk(scenario: Scenario, seed: int, chunk: int, first: int, count: int) -> pd.DataFrame:
    """Run one chunk; one row per replicate, outcome columns after the ids."""
    rng = chunk_rng(seed, chunk)
    setup = realise(scenario, count, rng)
    model = NegotiationRound(setup, rng=rng).run()
    frame = pd.DataFrame(model.outcomes())
    frame.insert(0, "run_id", np.arange(first, first + count, dtype=np.int64))
    frame.insert(1, "seed", np.int64(seed))
    frame.insert(2, "chunk", np.int64(chunk))
    frame.insert(3, "draw_id", setup.draw_id)
    return frame


def run_scenario(scenario: Scenario, runs: int, seed: int = 0,
                 chunk_size: int = CHUNK_SIZE) -> pd.DataFrame:
    """All replicates of a scenario, chunk after chunk, in run-id order."""
    parts = [run_chunk(scenario, seed, k, first, count)
             for k, (first, count) in enumerate(chunk_bounds(runs, chunk_size))]
    return pd.concat(parts, ignore_index=True)
