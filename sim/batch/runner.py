"""A batch from chunk tasks to a results folder, streaming: each finished chunk is
written as its Parquet part and folded into its tally, then let go.

Only tallies stay in memory (a few kilobytes a design point), whatever the number of
rounds. Chunks finish in any order; the files and the tallies do not depend on it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sim.batch.chunks import ChunkTask, compute_chunk
from sim.batch.executors.base import Executor
from sim.batch.progress import progress_bar
from sim.batch.storage import ResultsFolder
from sim.stats.summary import Measures
from sim.stats.tally import Tally

#: A task's group: its labels (a sweep's design point and knob values; ``()`` for a run).
Group = tuple[tuple[str, object], ...]


def run_tasks(tasks: Sequence[ChunkTask], folder: ResultsFolder, done: set[str],
              executor: Executor) -> dict[Group, Tally]:
    """Run every task whose part is not in ``done``, store it, and return the tally of
    each group over all its tasks (done before or now)."""
    tallies: dict[Group, Tally] = {}
    for task in tasks:
        if task.labels not in tallies:
            tallies[task.labels] = Tally(Measures.of(task.scenario))
    todo = []
    for task in tasks:
        if task.part in done:
            tallies[task.labels].merge(folder.read_tally(task.part, tallies[task.labels].measures))
        else:
            todo.append(task)
    total = sum(task.count for task in tasks)
    bar = progress_bar(total, total - sum(task.count for task in todo))
    try:
        for task, outcome in executor.map_unordered(compute_chunk, todo):
            folder.write_part(task.part, outcome)
            tallies[task.labels].merge(outcome.tally)
            bar.update(task.count)
    finally:
        bar.close()
    return {group: tallies[group] for group in dict.fromkeys(task.labels for task in tasks)}
