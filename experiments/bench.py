"""Rounds per second: the vectorised engine against one Mesa model per replicate.

Both run the June 20-30 scenario with the same rules and the same code; the
baseline builds one ``NegotiationRound`` (and its agents) for each replicate, the way
a Mesa model is usually run, while negsim runs a chunk of replicates in one model.
Both include drawing the round's parameters. One process, one core. Each figure is the
median of ``--repeats`` timings, measured in the same run.

    python experiments/bench.py [--rounds 200000] [--baseline-rounds 400] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from sim.batch.chunks import CHUNK_SIZE, chunk_bounds, chunk_rng
from sim.model.parameters import realise
from sim.model.round import NegotiationRound
from sim.scenario.load import load_scenario

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "june-20-30-2025.toml"


def vectorised(scenario, rounds: int) -> float:
    start = time.perf_counter()
    for k, (_, count) in enumerate(chunk_bounds(rounds, CHUNK_SIZE)):
        rng = chunk_rng(0, k)
        NegotiationRound(realise(scenario, count, rng), rng=rng).run()
    return rounds / (time.perf_counter() - start)


def one_model_per_replicate(scenario, rounds: int) -> float:
    start = time.perf_counter()
    for r in range(rounds):
        rng = np.random.default_rng(r)
        NegotiationRound(realise(scenario, 1, rng), rng=rng).run()
    return rounds / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200_000)
    parser.add_argument("--baseline-rounds", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    scenario = load_scenario(SCENARIO)
    vectorised(scenario, 1000)  # warm-up: imports, caches
    ours, base = [], []
    for _ in range(args.repeats):
        ours.append(vectorised(scenario, args.rounds))
        base.append(one_model_per_replicate(scenario, args.baseline_rounds))
        print(f"negsim {ours[-1]:,.0f} rounds/s   one model per replicate "
              f"{base[-1]:,.0f} rounds/s", flush=True)
    x, y = statistics.median(ours), statistics.median(base)
    print(f"median over {args.repeats}: negsim {x:,.0f} rounds/s ({args.rounds:,} rounds), "
          f"baseline {y:,.0f} rounds/s ({args.baseline_rounds:,} rounds)")
    print(f"BENCH rounds_per_s={x:.0f} baseline_rounds_per_s={y:.1f} ratio={x / y:.1f}")


if __name__ == "__main__":
    main()
