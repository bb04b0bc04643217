"""`negsim run` end to end: rounds per minute, the pool's speed-up, peak memory.

Three benchmarks of the June 20-30 round, each ending with its ``BENCH`` line:

- ``throughput``: ``negsim run`` as a user runs it (a fresh process, the default pool
  of all cores, Parquet parts and summary written; ``--no-plots``, and once more with
  the figures), against the baseline of the same run: the single-core compiled
  engine in this process, times the cores — what a pool without any
  overhead would reach;
- ``speedup``: ``--workers 2`` against ``--workers 1`` (in-process), same rounds
  (``--speedup-rounds``, 10 million, the issue's batch: with the engine at 15-18
  million rounds a minute a core, 3 million take 9 s on two workers, and a second
  process's start-up held even two independent runs of half the rounds at 1.77-1.93x;
  at 1 million, below 1.7x); beside them, two
  ``--workers 1`` runs of half the rounds at once: the speed-up a pool without any
  overhead would reach on this machine at that moment;
- ``memory``: peak memory of ``negsim run --runs 10000000`` (figures included): the
  sum over its process tree (the command, the fork server, the workers), sampled
  every 0.2 s, as PSS (shared pages counted once) and as RSS (counted in every
  process that maps them: an upper bound); the command's own process and a worker;
  the largest single process (its high-water mark, ``VmHWM``, read at each sample).

Figures are medians of ``--repeats`` timings, measured in the same run. The machine
is shared: the load average at the start is printed beside them.

    python experiments/bench_batch.py [--only throughput|speedup|memory] [--rounds 1000000]
        [--speedup-rounds 10000000] [--repeats 3] [--memory-rounds 10000000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from sim.batch.chunks import CHUNK_SIZE, chunk_bounds, chunk_rng
from sim.batch.executors.base import default_workers
from sim.model.parameters import realise
from sim.model.round import NegotiationRound
from sim.scenario.load import load_scenario

ROOT = Path(__file__).resolve().parent.parent
JUNE = ROOT / "scenarios" / "june-20-30-2025.toml"
NEGSIM = Path(sys.executable).parent / "negsim"


def engine_rounds_per_second(rounds: int) -> float:
    """The compiled engine alone, one core, in this process (no files, no summary)."""
    scenario = load_scenario(JUNE)
    start = time.perf_counter()
    for k, (_, count) in enumerate(chunk_bounds(rounds, CHUNK_SIZE)):
        setup = realise(scenario, count, chunk_rng(0, k), compiled=True)
        NegotiationRound(setup, compiled=True).run()
    return rounds / (time.perf_counter() - start)


@dataclass
class Measured:
    """One ``negsim run``: wall-clock seconds, CPU seconds of its process tree, the
    peak of the tree's summed resident (RSS) and proportional (PSS: shared pages
    split) memory, and the peak RSS of the command's own process and of a worker."""

    seconds: float = 0.0
    cpu_seconds: float = 0.0
    tree_rss: int = 0
    tree_pss: int = 0
    main_rss: int = 0
    worker_rss: int = 0
    largest_rss: int = 0  # the largest process's peak (``_peak_rss``)


def _peak_rss(member: psutil.Process, rss: int) -> int:
    """A process's peak RSS so far: Linux's high-water mark (``VmHWM``), which a sample
    every 0.2 s cannot miss but in a process's last 0.2 s; its RSS now elsewhere. Not
    ``getrusage``: a child's ``ru_maxrss`` starts from this benchmark's own at the fork
    and survives the exec (measured: 666 MiB after the engine's in-process run, 380
    from a fresh benchmark)."""
    try:
        with open(f"/proc/{member.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss


def _sample(process: psutil.Process, measured: Measured, cpu: dict[int, float],
            proportional: bool) -> None:
    rss = pss = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            times = member.cpu_times()
            cpu[member.pid] = times.user + times.system
            if proportional:
                info = member.memory_full_info()
                pss += info.pss
            else:
                info = member.memory_info()
            rss += info.rss
            measured.largest_rss = max(measured.largest_rss, _peak_rss(member, info.rss))
            if member.pid == process.pid:
                measured.main_rss = max(measured.main_rss, info.rss)
            elif member.ppid() != process.pid:  # forked by the fork server: a worker
                measured.worker_rss = max(measured.worker_rss, info.rss)
        except psutil.Error:  # ended in the meantime
            pass
    measured.tree_rss = max(measured.tree_rss, rss)
    measured.tree_pss = max(measured.tree_pss, pss)


def negsim_run(rounds: int, *options: str, proportional: bool = False) -> Measured:
    """One ``negsim run`` into a fresh folder, watched every 0.2 s (``proportional``:
    PSS too, which costs more to read)."""
    measured, cpu = Measured(), {}
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        child = subprocess.Popen([str(NEGSIM), "run", str(JUNE), "--runs", str(rounds),
                                  "--out", str(Path(folder) / "out"), *options],
                                 stdout=subprocess.DEVNULL, cwd=ROOT)
        watched = psutil.Process(child.pid)
        while child.poll() is None:
            try:
                _sample(watched, measured, cpu, proportional)
            except psutil.Error:
                pass
            time.sleep(0.2)
        measured.seconds = time.perf_counter() - start
        assert child.returncode == 0, f"negsim run failed ({child.returncode})"
    measured.cpu_seconds = sum(cpu.values())
    return measured


def throughput(rounds: int, repeats: int) -> None:
    engine, plain, plotted = [], [], []
    engine_rounds_per_second(200)  # numba imported and its machine code loaded, once
    for _ in range(repeats):
        engine.append(engine_rounds_per_second(min(rounds, 200_000)) * 60)
        plain.append(rounds / negsim_run(rounds, "--no-plots").seconds * 60)
        plotted.append(rounds / negsim_run(rounds).seconds * 60)
        print(f"engine alone, one core {engine[-1]:,.0f} rounds/min; negsim run "
              f"{plain[-1]:,.0f} rounds/min (with figures {plotted[-1]:,.0f}); load "
              f"{os.getloadavg()[0]:.2f}", flush=True)
    cores = default_workers()
    print(f"BENCH name=negsim_run_default_pool rounds={rounds} cores={cores} "
          f"rounds_per_min={statistics.median(plain):.0f} "
          f"rounds_per_min_with_figures={statistics.median(plotted):.0f} "
          f"baseline_engine_one_core_rounds_per_min={statistics.median(engine):.0f} "
          f"efficiency_vs_cores_x_engine="
          f"{statistics.median(plain) / (cores * statistics.median(engine)):.2f}")


def two_halves(rounds: int) -> float:
    """Seconds for two ``negsim run --workers 1`` of half the rounds each, at the same
    time: what a pool of two with no overhead at all would take on this machine now
    (two processes on two cores are each slower than one alone: shared caches and
    memory bandwidth, and a virtual machine's neighbours)."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        children = [subprocess.Popen([str(NEGSIM), "run", str(JUNE), "--runs",
                                      str(rounds // 2), "--seed", str(k), "--workers", "1",
                                      "--no-plots", "--out", str(Path(folder) / str(k))],
                                     stdout=subprocess.DEVNULL, cwd=ROOT) for k in (0, 1)]
        assert all(child.wait() == 0 for child in children), "negsim run failed"
        return time.perf_counter() - start


def speedup(rounds: int, repeats: int) -> None:
    """Wall-clock speed-up, and the CPU seconds each spends (what the pool costs in
    work, whatever else the machine is doing); beside them, the speed-up of two
    independent one-process runs of half the rounds (the machine's ceiling)."""
    one, two, halves = [], [], []
    for _ in range(repeats):
        one.append(negsim_run(rounds, "--no-plots", "--workers", "1"))
        two.append(negsim_run(rounds, "--no-plots", "--workers", "2"))
        halves.append(two_halves(rounds))
        print(f"--workers 1: {one[-1].seconds:.1f} s ({one[-1].cpu_seconds:.1f} CPU s)   "
              f"--workers 2: {two[-1].seconds:.1f} s ({two[-1].cpu_seconds:.1f} CPU s)   "
              f"speed-up {one[-1].seconds / two[-1].seconds:.2f}   two halves at once "
              f"{halves[-1]:.1f} s (speed-up {one[-1].seconds / halves[-1]:.2f}); load "
              f"{os.getloadavg()[0]:.2f}", flush=True)
    wall1, wall2 = (statistics.median(m.seconds for m in runs) for runs in (one, two))
    cpu1, cpu2 = (statistics.median(m.cpu_seconds for m in runs) for runs in (one, two))
    # the machine's speed drifts between repeats: the median of each repeat's own
    # ratio (runs side by side in time) is the steadier figure; medians' ratio beside
    paired = statistics.median(a.seconds / b.seconds for a, b in zip(one, two, strict=True))
    ceiling = statistics.median(a.seconds / h for a, h in zip(one, halves, strict=True))
    print(f"BENCH name=pool_speedup rounds={rounds} repeats={repeats} "
          f"speedup_median_of_repeats={paired:.2f} speedup_of_medians={wall1 / wall2:.2f} "
          f"ceiling_speedup_two_halves_at_once={ceiling:.2f} workers1_s={wall1:.1f} "
          f"workers2_s={wall2:.1f} workers1_cpu_s={cpu1:.1f} workers2_cpu_s={cpu2:.1f}")


def memory(rounds: int) -> None:
    measured = negsim_run(rounds, proportional=True)
    largest = measured.largest_rss
    mib = 2**20
    print(f"BENCH name=peak_memory rounds={rounds} peak_tree_pss_mib={measured.tree_pss / mib:.0f} "
          f"peak_tree_rss_mib={measured.tree_rss / mib:.0f} "
          f"main_process_rss_mib={measured.main_rss / mib:.0f} "
          f"worker_rss_mib={measured.worker_rss / mib:.0f} "
          f"largest_process_rss_mib={largest / mib:.0f} seconds={measured.seconds:.0f} "
          f"limit_mib=1024")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("throughput", "speedup", "memory"))
    parser.add_argument("--rounds", type=int, default=1_000_000, help="throughput")
    parser.add_argument("--speedup-rounds", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memory-rounds", type=int, default=10_000_000)
    args = parser.parse_args()
    print(f"load average at start {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores",
          flush=True)
    if args.only in (None, "throughput"):
        throughput(args.rounds, args.repeats)
    if args.only in (None, "speedup"):
        speedup(args.speedup_rounds, args.repeats)
    if args.only in (None, "memory"):
        memory(args.memory_rounds)


if __name__ == "__main__":
    main()
