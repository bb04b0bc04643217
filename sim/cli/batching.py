"""What the batch commands (run, sweep, sensitivity) share: the options that say
where chunks run and whether to resume, and the run of a batch into its folder;
for sweep and sensitivity, their command line and the start of their run."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

from sim.batch.chunks import ChunkResourceError, compile_engine, engine_compiled
from sim.batch.executors import ExecutorError, make_executor
from sim.batch.executors.base import Executor, WorkerLost
from sim.batch.runner import Group, run_tasks
from sim.batch.sizes import COMPILED_FROM, compiled_for
from sim.batch.storage import FolderError, ResultsFolder, make_manifest
from sim.cli.common import UsageError, integer_at_least
from sim.cli.scenario_args import add_set_option, default_folder
from sim.fileio import WriteError
from sim.stats.tally import Tally


def add_batch_options(parser: argparse.ArgumentParser) -> None:
    """``--workers``, ``--scheduler``, ``--resume``, ``--no-inputs``."""
    parser.add_argument("--workers", type=integer_at_least("--workers", 1),
                        help="processes on this machine (default: all cores; 1 runs in "
                        "this process); results do not depend on it")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run on a Dask cluster instead, e.g. tcp://HOST:8786 "
                        "(needs pip install 'negsim[dask]')")
    parser.add_argument("--resume", action="store_true",
                        help="continue the batch in the results folder (after a crash or "
                        "a kill) instead of refusing to touch it")
    parser.add_argument("--no-inputs", dest="inputs", action="store_false",
                        help="do not keep each round's drawn parameters in <out>/inputs "
                        "(smaller and faster; negsim discover needs them)")


def prepare_engine(tasks: Sequence) -> None:
    """Compile the engine before the first chunk where it was never compiled on this
    machine, saying so (it takes about a minute, once): the pool's workers then load it
    from numba's disk cache instead of each compiling it. A batch of one chunk too small
    for the compiled engine (``sim.batch.sizes.compiled_for``) needs none of it."""
    if not len(tasks) or (len(tasks) == 1 and not compiled_for(
            getattr(tasks[0], "count", COMPILED_FROM))):
        return
    if not engine_compiled():
        scenario = getattr(tasks[0], "scenario", None)  # a campaign's: its round's
        if scenario is None:
            scenario = tasks[0].campaign.round_scenario
        print("compiling the engine (once)...", file=sys.stderr, flush=True)
        compile_engine(scenario)


def run_batch[R](args: argparse.Namespace, out: Path, manifest: dict, tasks: Sequence,
                 run: Callable[[Sequence, ResultsFolder, Executor, int], R] = run_tasks) -> R:
    """Check the folder, start the executor, then, holding the folder's lock, check
    what it holds and run the tasks into it (``run``: ``run_tasks``, or a campaign's
    ``run_campaign_tasks``, whose result it returns). Nothing is written before the
    folder and the executor are known to be usable; a batch that stops (a lost worker,
    a resource error, a file that cannot be written) keeps what finished."""
    if args.workers and args.scheduler:
        raise UsageError("--workers and --scheduler exclude each other: the cluster's "
                         "workers are the scheduler's")
    folder = ResultsFolder(out)
    try:
        folder.check(manifest, args.resume)
        executor = make_executor(args.workers, args.scheduler, len(tasks))
    except (FolderError, ExecutorError) as error:
        raise UsageError(str(error)) from None
    try:
        if not args.scheduler:  # a cluster's workers compile on their own machines
            prepare_engine(tasks)
        with folder.locked():
            folder.prepare(manifest, args.resume)
            return run(tasks, folder, executor, manifest["runs"])
    except FolderError as error:
        raise UsageError(str(error)) from None
    except WriteError as error:
        kept = "; what finished is kept: rerun with --resume once it can be written" if (
            folder.started) else ""
        raise UsageError(f"--out {out}: {error}{kept}") from None
    except (WorkerLost, ChunkResourceError) as error:
        raise UsageError(f"{error}; what finished is kept: rerun with --resume") from None
    finally:
        executor.close()


def add_experiment_command(commands: argparse._SubParsersAction, kind: str, summary: str,
                           example: str, handler) -> None:
    """``negsim KIND FILE [--out OUT] [--set KEY=VALUE] [batch options]`` (sweep,
    sensitivity)."""
    parser = commands.add_parser(kind, help=summary)
    parser.add_argument(kind, help=f"{kind} file (TOML), e.g. {example}")
    parser.add_argument("--out", help="results folder (default results/<file name>, "
                        "followed by the --set changes, e.g. results/<file "
                        "name>-mediator.pressure=0.5)")
    add_set_option(parser, "the scenario the file names (before its knobs move it)")
    add_batch_options(parser)
    parser.set_defaults(handler=handler)


def run_experiment(args: argparse.Namespace, kind: str, study, settings: dict
                   ) -> tuple[Path, dict[Group, Tally]]:
    """Run every design point of a sweep or sensitivity study (``kind``), its
    scenario changed by ``settings`` (``--set``), into its folder: the folder and the
    tally of each point, in design order. Small points run together, as one model
    each group (``sim.batch.grouped``)."""
    path = getattr(args, kind)
    out = Path(args.out) if args.out else default_folder(Path(path).stem, settings=settings)
    tasks = study.tasks()
    if not args.inputs:
        tasks = [replace(task, inputs=False) for task in tasks]
    base = study.scenarios[0]
    manifest = make_manifest(kind, base, str(study.experiment.scenario_path), study.seed,
                             study.replicates * len(study.scenarios), study.chunk_size,
                             len(tasks), experiment_sha256=study.experiment.sha256,
                             inputs=args.inputs) | {"settings": settings}
    return out, run_batch(args, out, manifest, tasks,
                          run=partial(run_tasks, grouped=True))
