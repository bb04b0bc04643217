"""`negsim run` end to end: rounds per minute, the pool's speed-up, peak memory.

Three benchmarks of the June 20-30 round, each ending with its ``BENCH`` line:

- ``throughput``: ``negsim run`` as a user runs it (a fresh process, the default pool
  of all cores, Parquet parts and summary written; ``--no-plots``, and once more with
  the figures), against the baseline of the same run: the single-core vectorised
  engine in this process, times the cores — what a pool without any overhead would
  reach;
- ``speedup``: ``--workers 2`` against ``--workers 1`` (in-process), same rounds;
- ``memory``: peak memory of ``negsim run --runs 10000000``: the sum of the resident
  memory of its process tree (the command, the fork server, the workers), sampled
  every 0.2 s, and the largest single process (``getrusage`` of the children).

Figures are medians of ``--repeats`` timings, measured in the same run. The machine
is shared: the load average at the start is printed beside them.

    python experiments/bench_batch.py [--only throughput|speedup|memory] [--rounds 1000000]
        [--repeats 3] [--memory-rounds 10000000]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from sim.batch import CHUNK_SIZE, chunk_bounds, chunk_rng
from sim.executors import default_workers
from sim.model import NegotiationRound
from sim.scenario import load_scenario
from sim.setup import realise

ROOT = Path(__file__).resolve().parent.parent
JUNE = ROOT / "scenarios" / "june-20-30-2025.toml"
NEGSIM = Path(sys.executable).parent / "negsim"


def engine_rounds_per_second(rounds: int) -> float:
    """The vectorised engine alone, one core, in this process (no files, no summary)."""
    scenario = load_scenario(JUNE)
    start = time.perf_counter()
    for k, (_, count) in enumerate(chunk_bounds(rounds, CHUNK_SIZE)):
        rng = chunk_rng(0, k)
        NegotiationRound(realise(scenario, count, rng), rng=rng).run()
    return rounds / (time.perf_counter() - start)


def negsim_run(rounds: int, *options: str) -> float:
    """Seconds of wall-clock time of one ``negsim run`` into a fresh folder."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        subprocess.run([str(NEGSIM), "run", str(JUNE), "--runs", str(rounds), "--out",
                        str(Path(folder) / "out"), *options], check=True,
                       stdout=subprocess.DEVNULL, cwd=ROOT)
        return time.perf_counter() - start


def throughput(rounds: int, repeats: int) -> None:
    engine, plain, plotted = [], [], []
    for _ in range(repeats):
        engine.append(engine_rounds_per_second(min(rounds, 200_000)) * 60)
        plain.append(rounds / negsim_run(rounds, "--no-plots") * 60)
        plotted.append(rounds / negsim_run(rounds) * 60)
        print(f"engine alone, one core {engine[-1]:,.0f} rounds/min; negsim run "
              f"{plain[-1]:,.0f} rounds/min (with figures {plotted[-1]:,.0f})", flush=True)
    cores = default_workers()
    print(f"BENCH name=negsim_run_default_pool rounds={rounds} cores={cores} "
          f"rounds_per_min={statistics.median(plain):.0f} "
          f"rounds_per_min_with_figures={statistics.median(plotted):.0f} "
          f"baseline_engine_one_core_rounds_per_min={statistics.median(engine):.0f} "
          f"efficiency_vs_cores_x_engine="
          f"{statistics.median(plain) / (cores * statistics.median(engine)):.2f}")


def speedup(rounds: int, repeats: int) -> None:
    one, two = [], []
    for _ in range(repeats):
        one.append(negsim_run(rounds, "--no-plots", "--workers", "1"))
        two.append(negsim_run(rounds, "--no-plots", "--workers", "2"))
        print(f"--workers 1: {one[-1]:.1f} s   --workers 2: {two[-1]:.1f} s   "
              f"speed-up {one[-1] / two[-1]:.2f}", flush=True)
    print(f"BENCH name=pool_speedup rounds={rounds} workers1_s={statistics.median(one):.1f} "
          f"workers2_s={statistics.median(two):.1f} "
          f"speedup={statistics.median(one) / statistics.median(two):.2f}")


def tree_rss(process: psutil.Process) -> int:
    """Resident bytes of a process and all its descendants now."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.Error:  # ended in the meantime
            pass
    return total


def memory(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        child = subprocess.Popen([str(NEGSIM), "run", str(JUNE), "--runs", str(rounds),
                                  "--out", str(Path(folder) / "out")],
                                 stdout=subprocess.DEVNULL, cwd=ROOT)
        watched, peak = psutil.Process(child.pid), 0
        while child.poll() is None:
            try:
                peak = max(peak, tree_rss(watched))
            except psutil.Error:
                pass
            time.sleep(0.2)
        seconds = time.perf_counter() - start
        assert child.returncode == 0, f"negsim run failed ({child.returncode})"
    largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(f"BENCH name=peak_memory rounds={rounds} peak_tree_rss_mib={peak / 2**20:.0f} "
          f"largest_process_rss_mib={largest / 2**20:.0f} seconds={seconds:.0f} "
          f"rounds_per_min={rounds / seconds * 60:.0f} limit_mib=1024")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("throughput", "speedup", "memory"))
    parser.add_argument("--rounds", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memory-rounds", type=int, default=10_000_000)
    args = parser.parse_args()
    print(f"load average at start {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores",
          flush=True)
    if args.only in (None, "throughput"):
        throughput(args.rounds, args.repeats)
    if args.only in (None, "speedup"):
        speedup(args.rounds, args.repeats)
    if args.only in (None, "memory"):
        memory(args.memory_rounds)


if __name__ == "__main__":
    main()
