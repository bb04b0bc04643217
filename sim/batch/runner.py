"""A batch from chunk tasks to a results folder, streaming: each finished chunk is
written as its Parquet part and folded into its tally, then let go.

Only tallies stay in memory (a few kilobytes a design point), whatever the number of
rounds; tasks are taken from their sequence one at a time as workers free up, so a
batch of a trillion runs starts as fast as one of a thousand. Chunks finish in any
order; the files and the tallies do not depend on it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sim.batch.chunks import ChunkTask, compute_chunk
from sim.batch.executors.base import Executor
from sim.batch.grouped import compute_group, groups
from sim.batch.progress import progress_bar
from sim.batch.storage import MANIFEST, FolderError, ResultsFolder
from sim.stats.summary import Measures
from sim.stats.tally import Tally

#: A task's group: its labels (a sweep's design point and knob values; ``()`` for a run).
Group = tuple[tuple[str, object], ...]


def run_tasks(tasks: Sequence[ChunkTask], folder: ResultsFolder, executor: Executor,
              runs: int, grouped: bool = False) -> dict[Group, Tally]:
    """Run every task whose part the folder has not recorded (``folder.prepare``), store
    it, and return the tally of each group over all its tasks (done before or now).
    ``runs``: the replicates of all tasks together (for the progress bar). ``grouped``:
    consecutive small chunks (a study's design points) run as one model each
    (``sim.batch.grouped``; the same parts and tallies)."""
    tallies: dict[Group, Tally] = {}
    done = folder.recorded
    done_runs = 0
    if done:  # each part done before is checked against its record as it is read
        seen = 0
        for task in tasks:
            if task.part in done:
                _tally(tallies, task).merge(folder.read_tally(task, tallies[task.labels].measures))
                done_runs += task.count
                seen += 1
        if seen != len(done):
            names = {task.part for task in tasks if task.part in done}
            stray = min(set(done) - names)
            raise FolderError(f"{folder.part_path(stray)}: recorded in {MANIFEST}, but not a "
                              "part of this batch; move it out of the folder's results/ and "
                              "rerun with --resume")
    folder.start()
    before = frozenset(done)  # (the folder records each part written from now on)
    todo = (task for task in tasks if task.part not in before)
    bar = progress_bar(runs, done_runs)
    if grouped:
        finished = ((task, outcome)
                    for group, outcomes in executor.map_unordered(compute_group, groups(todo))
                    for task, outcome in zip(group.tasks, outcomes, strict=True))
    else:
        finished = executor.map_unordered(compute_chunk, todo)
    try:
        for task, outcome in finished:
            folder.write_part(task, outcome)
            _tally(tallies, task).merge(outcome.tally)
            bar.update(task.count)
    finally:
        bar.close()
    folder.finish()
    return {task.labels: _tally(tallies, task) for task in _first_of_each_group(tasks)}


def _tally(tallies: dict[Group, Tally], task: ChunkTask) -> Tally:
    """The tally of the task's group (a new one, for its scenario, at the first task)."""
    if task.labels not in tallies:
        tallies[task.labels] = Tally(Measures.of(task.scenario))
    return tallies[task.labels]


def _first_of_each_group(tasks: Sequence[ChunkTask]) -> list[ChunkTask]:
    first: dict[Group, ChunkTask] = {}
    for task in tasks:
        first.setdefault(task.labels, task)
    return list(first.values())
