"""Chunks of several design points run as one model: a sensitivity study's points (or a
sweep's) each have a few hundred or thousand rounds, and a chunk that small costs more
in the Python around the engine (drawing, building the model and its agents, encoding
the part) than in its rounds.

``ChunkGroup`` is a few chunks of a batch, each of its own scenario, seed stream and
labels; ``compute_group`` realises each from its own generator (exactly the draws
``compute_chunk`` makes), runs them as one compiled model (``RoundSetup.concat``:
replicates never interact, tested) and splits the outcomes back into one Parquet part
and tally (and inputs part) per chunk: the same files as chunk by chunk (tested). Only chunks whose
setups share everything but their per-replicate arrays (``shared_key``) run together;
a group where a draw or the model raises runs chunk by chunk instead, where failing
replicates are isolated.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields

import numpy as np

from sim.batch.chunks import (
    RESOURCE_ERRORS,
    ChunkOutcome,
    ChunkResourceError,
    ChunkTask,
    chunk_rng,
    compute_chunk,
    encode_part,
    error_text,
    inputs_rows,
    keyed,
    labelled,
    outcome_rows,
)
from sim.batch.memory import free_finished_models, keep_freed_memory
from sim.model.parameters import SHARED_ARRAYS, RoundSetup, realise
from sim.model.round import NegotiationRound
from sim.stats.summary import Measures
from sim.stats.tally import Tally

#: Most replicates in one model of a group (as what-if's: sim.teach.whatif).
GROUP_REPLICATES = 65_536


@dataclass(frozen=True)
class ChunkGroup:
    """Chunks run as one model; each keeps its own part and tally."""

    tasks: tuple[ChunkTask, ...]

    @property
    def count(self) -> int:
        return sum(task.count for task in self.tasks)

    def __str__(self) -> str:
        return f"{len(self.tasks)} chunks ({self.tasks[0]} to {self.tasks[-1]})"


def groups(tasks: Iterable[ChunkTask], replicates: int = GROUP_REPLICATES
           ) -> Iterator[ChunkGroup]:
    """Consecutive tasks in groups of at most ``replicates`` rounds (one task alone where
    it is larger), made as they are asked for."""
    group: list[ChunkTask] = []
    size = 0
    for task in tasks:
        if group and size + task.count > replicates:
            yield ChunkGroup(tuple(group))
            group, size = [], 0
        group.append(task)
        size += task.count
    if group:
        yield ChunkGroup(tuple(group))


def shared_key(setup: RoundSetup) -> tuple:
    """Everything the replicates of a setup share — every field but its per-replicate
    arrays: setups with equal keys can run as one model (``RoundSetup.concat`` keeps the
    first one's)."""
    key = []
    for f in fields(RoundSetup):
        value = getattr(setup, f.name)
        if f.name in ("drawn", "inputs"):
            continue
        if isinstance(value, np.ndarray):
            if f.name in SHARED_ARRAYS:
                key.append((f.name, value.dtype.str, value.shape, value.tobytes()))
            continue
        key.append((f.name, value))
    return tuple(key)


def compute_group(group: ChunkGroup) -> tuple[ChunkOutcome, ...]:
    """Each chunk of the group as ``compute_chunk`` gives it, computed as few models."""
    keep_freed_memory()
    try:
        setups = [realise(t.scenario, t.count, chunk_rng(t.seed, t.chunk), compiled=True)
                  for t in group.tasks]
        runs: dict[tuple, list[int]] = {}  # chunks by what they share, in task order
        for k, setup in enumerate(setups):
            runs.setdefault(shared_key(setup), []).append(k)
        outcomes: list[dict | None] = [None] * len(setups)
        for members in runs.values():
            model = NegotiationRound(RoundSetup.concat([setups[k] for k in members]),
                                     compiled=True).run()
            columns, start = model.outcomes(), 0
            for k in members:
                rows = slice(start, start + setups[k].replicates)
                outcomes[k] = {name: values[rows] for name, values in columns.items()}
                start = rows.stop
    except RESOURCE_ERRORS as error:
        raise ChunkResourceError(f"{group} stopped: {error_text(error)}") from None
    except Exception:  # chunk by chunk, where failing replicates are isolated
        return tuple(compute_chunk(task) for task in group.tasks)
    model = None  # the last round, freed with the others
    free_finished_models()
    done = []
    for task, setup, columns in zip(group.tasks, setups, outcomes, strict=True):
        ids = np.arange(task.first, task.first + task.count, dtype=np.int64)
        frame = outcome_rows(columns, ids, task.seed, task.chunk, setup.draw_id)
        inputs = (encode_part(keyed(inputs_rows(setup.inputs, ids), task.labels),
                              dictionary=False) if task.inputs else None)
        done.append(ChunkOutcome(results=encode_part(labelled(frame, task.labels)),
                                 failures=None,
                                 tally=Tally.of(frame, Measures.of(task.scenario), None),
                                 inputs=inputs))
    return tuple(done)
