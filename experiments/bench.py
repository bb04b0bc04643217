"""Rounds per second of the June 20-30 round, one core: the compiled engine, the numpy
engine and an honest baseline — a plain scalar Mesa model of the same rules, one model
per replicate with Python floats (``experiments/scalar_mesa.py``; identical outcomes on
the shipped scenarios it implements, June among them: tests/test_scalar_mesa.py).

Every figure counts drawing the round's parameters (``realise``, per chunk of 16,384 as
``negsim run`` does) and running the rounds; no files. The process is set up as a
batch's worker is, for every engine alike: freed memory kept for the next chunk
(``keep_freed_memory``) and each chunk's rounds freed as it ends
(``free_finished_models``). Figures are rounds per CPU
second of this process (pinned to one core), the median of ``--repeats`` repeats that
take turns, so that a busy machine slows each engine alike; wall-clock rates and the
load average are printed beside them, and each repeat's own ratio of the compiled engine
to the baseline with their median (the machine drifts between repeats: on this 2-core
machine the baseline's rate moved by 10-25% from one repeat of 1,000 rounds to the next,
hence 2,000 rounds a repeat and five repeats by default).

It also prints, for the numpy and the compiled engines, the rate of the package
protocol with private information (the same round with ``round.protocol = "package"``
and ``information.private = true``: an uninformed mediator who caucuses) against the
sequential protocol's (issue 12: within 3x).

    python experiments/bench.py [--rounds 200000] [--numpy-rounds 50000]
        [--baseline-rounds 2000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from scalar_mesa import run_scalar

from sim.batch.chunks import CHUNK_SIZE, chunk_bounds, chunk_rng
from sim.batch.memory import free_finished_models, keep_freed_memory
from sim.model.parameters import realise
from sim.model.round import NegotiationRound
from sim.scenario.load import load_scenario
from sim.scenario.overrides import with_values

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "june-20-30-2025.toml"
PACKAGE_PRIVATE = {"round.protocol": "package", "information.private": True}


def compiled_engine(scenario, rounds: int) -> None:
    for k, (_, count) in enumerate(chunk_bounds(rounds, CHUNK_SIZE)):
        setup = realise(scenario, count, chunk_rng(0, k), compiled=True)
        NegotiationRound(setup, compiled=True).run().outcomes()
        free_finished_models()


def numpy_engine(scenario, rounds: int) -> None:
    for k, (_, count) in enumerate(chunk_bounds(rounds, CHUNK_SIZE)):
        NegotiationRound(realise(scenario, count, chunk_rng(0, k))).run().outcomes()
        free_finished_models()


def scalar_mesa(scenario, rounds: int) -> None:
    for k, (_, count) in enumerate(chunk_bounds(rounds, CHUNK_SIZE)):
        run_scalar(realise(scenario, count, chunk_rng(0, k)))
        free_finished_models()


def rate(engine, scenario, rounds: int) -> tuple[float, float]:
    """Rounds per CPU second and per wall-clock second."""
    cpu, wall = time.process_time(), time.perf_counter()
    engine(scenario, rounds)
    return rounds / (time.process_time() - cpu), rounds / (time.perf_counter() - wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200_000, help="compiled engine")
    parser.add_argument("--numpy-rounds", type=int, default=50_000)
    parser.add_argument("--baseline-rounds", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):  # one core, whichever this process is on
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    # as in a batch's worker (sim.batch.chunks.compute_chunk), for every engine alike:
    # freed memory kept for the next chunk, and each chunk's finished rounds freed
    keep_freed_memory()
    june = load_scenario(SCENARIO)
    package = with_values(SCENARIO, PACKAGE_PRIVATE)
    runs = {  # name: (engine, scenario, rounds)
        "compiled": (compiled_engine, june, args.rounds),
        "numpy": (numpy_engine, june, args.numpy_rounds),
        "scalar Mesa": (scalar_mesa, june, args.baseline_rounds),
        "compiled, package private": (compiled_engine, package, args.rounds // 4),
        "numpy, package private": (numpy_engine, package, args.numpy_rounds // 4),
    }
    # warm up: imports, compiled code, caches, and a chunk's worth of heap for the
    # chunked engines (with 200 rounds, the first repeat ran 8-15% below the others:
    # its first chunks grew the heap); the scalar baseline's own rounds are not chunked
    for name, (engine, scenario, rounds) in runs.items():
        engine(scenario, 200 if name == "scalar Mesa" else min(rounds, CHUNK_SIZE))
    print(f"load average at start {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; "
          f"one core; rounds per CPU second (wall-clock in brackets)", flush=True)
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for repeat in range(args.repeats):
        line = []
        for name, (engine, scenario, rounds) in runs.items():
            per_cpu, per_wall = rate(engine, scenario, rounds)
            cpu[name].append(per_cpu)
            line.append(f"{name} {per_cpu:,.0f} ({per_wall:,.0f})")
        print(f"repeat {repeat + 1}: " + "; ".join(line) + f"; load {os.getloadavg()[0]:.2f}",
              flush=True)
    median = {name: statistics.median(values) for name, values in cpu.items()}
    for name, (_, _, rounds) in runs.items():
        print(f"median {name}: {median[name]:,.0f} rounds/s ({rounds:,} rounds a repeat)")
    for engine in ("numpy", "compiled"):
        slower = median[engine] / median[f"{engine}, package private"]
        print(f"{engine} engine: package protocol with private information "
              f"{median[f'{engine}, package private']:,.0f} rounds/s, sequential "
              f"{median[engine]:,.0f}: {slower:.2f}x the sequential protocol's cost "
              f"(issue 12: within 3x)")
    x, y = median["compiled"], median["scalar Mesa"]
    print(f"compiled / numpy engine: {x / median['numpy']:.1f}x")
    # the machine's speed drifts between repeats, and the Python-bound baseline more
    # than the compiled engine: each repeat's own ratio (engines run side by side in
    # time) beside the ratio of the medians that the BENCH line gives
    paired = [a / b for a, b in zip(cpu["compiled"], cpu["scalar Mesa"], strict=True)]
    print("compiled / scalar Mesa, each repeat: " + ", ".join(f"{r:.1f}" for r in paired)
          + f" (median {statistics.median(paired):.1f}x)")
    print(f"BENCH rounds_per_s={x:.0f} baseline_rounds_per_s={y:.1f} ratio={x / y:.1f}")


if __name__ == "__main__":
    main()
