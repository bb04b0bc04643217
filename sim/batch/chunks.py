"""Running a scenario: chunks of replicates, each with its own seed stream.

A batch of ``runs`` replicates is cut into chunks of ``chunk_size``; chunk ``k``
always draws from child ``k`` of the batch's ``SeedSequence(seed)``, so a replicate's
result depends only on the scenario, the seed, its run id and the size of its chunk
(the chunk size; for the last chunk, what remains of the batch's runs: a chunk draws
each parameter for all its replicates at once) — never on what else runs, where, or
in what order.

``run_chunk`` is the plain computation (an error in the model raises). Chunks run on the
compiled engine (``NegotiationRound(setup, compiled=True)``: the numpy engine's outcomes,
one replicate after another to its end), except a chunk of fewer than
``sizes.COMPILED_FROM`` replicates, which the numpy engine finishes before numba has
loaded (the same outcomes).
``compute_chunk`` is what a batch's workers run: the same rows, but a replicate
that raises becomes a failure row instead of sinking its chunk, and the result
comes back encoded as a Parquet part with the chunk's ``Tally`` (and, unless the
batch is run with ``--no-inputs``, the inputs of each replicate that ran: every
parameter drawn for it and the round's own randomness, ``RoundSetup.inputs``, in a
part of their own keyed by ``run_id``). Only the model's
own errors become failure rows: a resource error (``RESOURCE_ERRORS``: memory, the
operating system) says nothing about the replicate, so it fails the chunk
(``ChunkResourceError``) and the batch stops, its finished parts kept for
``--resume`` — never a result that depends on the machine it ran on.

A batch's chunks (``chunk_bounds``, ``chunk_tasks``) are computed when asked, never
listed: ``--runs 1000000000000`` is 61 million chunks, held in a few bytes.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.arrow import to_arrow
from sim.batch.executors import InProcess, LocalPool
from sim.batch.memory import free_finished_models, keep_freed_memory
from sim.batch.sizes import CHUNK_SIZE, compiled_for
from sim.model.outcomes import outcome_dtypes
from sim.model.parameters import RoundSetup, realise
from sim.model.round import NegotiationRound
from sim.scenario.spec import Scenario
from sim.stats.summary import Measures
from sim.stats.tally import Tally

if TYPE_CHECKING:  # pandas is imported where a table is made (sim.model.mesa_core)
    import pandas as pd


#: Longest error message kept in a failure row.
ERROR_CHARS = 500

#: Model runs spent per chunk on finding which replicates raise (``_run_isolating``).
ISOLATION_RUNS = 200

#: Labels that, with ``run_id``, key a row of a study: run ids start again at 0 at
#: each design point of a sweep or sensitivity analysis, so its inputs carry the point.
KEY_LABELS = ("point",)


def chunk_rng(seed: int, chunk: int) -> np.random.Generator:
    """The generator of chunk ``k``: child ``k`` of ``SeedSequence(seed)``
    (``SeedSequence(seed).spawn(k + 1)[k]`` without spawning the others)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(chunk,))))


#: Errors that say the machine ran short (memory, the operating system: disk, files,
#: processes), not that the model failed on a replicate. NumPy's failed allocations
#: are ``MemoryError``s (``numpy._core._exceptions._ArrayMemoryError``).
RESOURCE_ERRORS: tuple[type[BaseException], ...] = (MemoryError, OSError)


class ChunkResourceError(Exception):
    """A chunk stopped by a resource error: the batch stops (one line), what finished
    is kept, and ``--resume`` computes the chunk again."""


class ChunkBounds(Sequence):
    """``(first run id, count)`` of each chunk of ``runs`` replicates, computed when
    indexed: a list of them would take gigabytes for a trillion runs."""

    def __init__(self, runs: int, chunk_size: int = CHUNK_SIZE) -> None:
        if runs < 0 or chunk_size < 1:
            raise ValueError(f"no chunks of {chunk_size} in {runs} runs")
        self.runs, self.chunk_size = runs, chunk_size

    def __len__(self) -> int:
        return -(-self.runs // self.chunk_size)

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        if k < 0:
            k += len(self)
        if not 0 <= k < len(self):
            raise IndexError(f"chunk {k} of {len(self)}")
        first = k * self.chunk_size
        return first, min(self.chunk_size, self.runs - first)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for first in range(0, self.runs, self.chunk_size):
            yield first, min(self.chunk_size, self.runs - first)


def chunk_bounds(runs: int, chunk_size: int = CHUNK_SIZE) -> ChunkBounds:
    """``(first run id, count)`` of each chunk (a sequence computed when indexed)."""
    return ChunkBounds(runs, chunk_size)


class Rows:
    """A chunk's table as named numpy columns, in order: what a worker makes, tallies
    and encodes (``encode_part``) without pandas. A DataFrame would load pandas, about
    0.3 s of the start of a command that runs one chunk, for a table that only passes
    through; ``frame()`` is the DataFrame, for the callers that keep one. A text column
    is an object array of ``str`` and ``None`` (missing)."""

    def __init__(self, columns: Mapping[str, np.ndarray]) -> None:
        self.columns = {name: np.asarray(values) for name, values in columns.items()}

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    def insert(self, place: int, name: str, value) -> None:
        """Put a column at ``place`` (a scalar is repeated on every row), as
        ``DataFrame.insert`` does."""
        value = np.asarray(value)
        if value.ndim == 0:
            value = np.full(len(self), value)
        items = list(self.columns.items())
        items.insert(place, (name, value))
        self.columns = dict(items)

    def frame(self) -> pd.DataFrame:
        """The rows as a DataFrame: text columns of pandas' text type, missing as NaN."""
        import pandas as pd

        frame = pd.DataFrame(self.columns)
        for name, values in self.columns.items():
            if values.dtype == object or values.dtype.kind == "U":
                frame[name] = frame[name].astype("str")
        return frame


def outcome_rows(outcomes: Mapping[str, np.ndarray], run_ids: np.ndarray, seed: int,
                 chunk: int, draw_id: np.ndarray) -> Rows:
    """One row per replicate: the ids, then the outcome columns."""
    rows = Rows(outcomes)
    rows.insert(0, "run_id", np.asarray(run_ids).astype(np.int64))
    rows.insert(1, "seed", np.int64(seed))
    rows.insert(2, "chunk", np.int64(chunk))
    rows.insert(3, "draw_id", np.asarray(draw_id, dtype=np.int64))
    return rows


def outcome_frame(outcomes: Mapping[str, np.ndarray], run_ids: np.ndarray, seed: int,
                  chunk: int, draw_id: np.ndarray) -> pd.DataFrame:
    """``outcome_rows`` as a DataFrame."""
    return outcome_rows(outcomes, run_ids, seed, chunk, draw_id).frame()


def run_chunk(scenario: Scenario, seed: int, chunk: int, first: int, count: int) -> pd.DataFrame:
    """Run one chunk; one row per replicate, outcome columns after the ids."""
    rng = chunk_rng(seed, chunk)
    compiled = compiled_for(count)
    setup = realise(scenario, count, rng, compiled=compiled)
    model = NegotiationRound(setup, compiled=compiled).run()
    return outcome_frame(model.outcomes(), np.arange(first, first + count), seed, chunk,
                         setup.draw_id)


def engine_compiled() -> bool:
    """Whether the compiled engine's machine code is cached on this machine (numba
    compiles it on the first run: about a minute, once)."""
    from sim.model import compiled as compiled_engine  # numba: only where it is used

    return compiled_engine.cached_on_disk()


def compile_engine(scenario: Scenario) -> None:
    """Compile (and cache on disk) the compiled engine's kernels, by running one
    replicate of ``scenario``: a pool's workers then load them instead of each
    compiling them. The compound-level kernel too, which a scenario with no compound
    issue does not call (``compiled.compile_compound_levels``): a later batch of one
    that has would otherwise compile it in every worker, unannounced; and the plain
    issues' positions (``compiled.compile_plain_positions``), for an agenda of compound
    issues alone."""
    from sim.model.compiled import compile_compound_levels, compile_plain_positions

    setup = realise(scenario, 1, chunk_rng(0, 0), compiled=True)
    NegotiationRound(setup, compiled=True).run()
    compile_compound_levels()
    compile_plain_positions()


@dataclass(frozen=True)
class ChunkTask:
    """One chunk of a batch, as sent to a worker. ``labels`` are constant columns put
    after the ids of every row (a sweep's design point and its knob values); ``part``
    names the chunk's file in the results folder; ``inputs``: whether the chunk's
    drawn inputs are recorded (``ChunkOutcome.inputs``)."""

    scenario: Scenario
    seed: int
    chunk: int
    first: int
    count: int
    part: str
    labels: tuple[tuple[str, object], ...] = ()
    inputs: bool = True

    def __str__(self) -> str:
        return f"chunk {self.chunk} (part {self.part}, runs {self.first}-" \
               f"{self.first + self.count - 1})"


@dataclass(frozen=True)
class ChunkOutcome:
    """A finished chunk: its rows as a Parquet part, its failure rows as another (or
    ``None``), its tally for the summary, and the inputs of its rows as a third part
    (``None``: not recorded, or the chunk's draws failed and no replicate ran)."""

    results: bytes
    failures: bytes | None
    tally: Tally
    inputs: bytes | None = None


def error_text(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}".splitlines()[0] if str(error) else (
        type(error).__name__)
    return text[:ERROR_CHARS]


def _run_isolating(setup: RoundSetup, rows: np.ndarray, compiled: bool
                   ) -> tuple[list[tuple[np.ndarray, dict]], list[tuple[int, str]]]:
    """Run ``rows`` of ``setup``; where that raises, halve and run each half, down to
    single replicates. Returns the pieces that ran (rows, their outcomes), in row
    order, and the replicates that raise, with the error.

    A replicate's outcome does not depend on the others run with it
    (``RoundSetup.select``; tested), so the pieces equal the rows the whole chunk
    would have given. A small model costs a fixed ~0.2 s, so the search stops after
    ``ISOLATION_RUNS`` runs: the replicates of a group still failing then are all
    failure rows, which says so. Breadth first, the result is the same every time.
    """
    queue: list[tuple[np.ndarray, str]] = [(rows, "")]
    ran: list[tuple[np.ndarray, dict]] = []
    failed: list[tuple[int, str]] = []
    runs = 0
    while queue:
        group, parents_error = queue.pop(0)
        if runs >= ISOLATION_RUNS:  # the error of the group it was split from
            note = f" (one of {group.size} replicates not isolated further)"
            failed += [(int(row), parents_error + note) for row in group]
            continue
        runs += 1
        try:
            ran.append((group, NegotiationRound(setup.select(group), compiled=compiled).run()
                          .outcomes()))
        except RESOURCE_ERRORS:
            raise
        except Exception as error:  # any model error becomes data
            if group.size == 1:
                failed.append((int(group[0]), error_text(error)))
            else:
                half = group.size // 2
                queue += [(group[:half], error_text(error)), (group[half:], error_text(error))]
    ran.sort(key=_first_row)
    failed.sort()
    return ran, failed


def _first_row(piece: tuple[np.ndarray, dict]) -> int:
    return int(piece[0][0])


def _no_outcomes(scenario: Scenario) -> dict[str, np.ndarray]:
    """The outcome columns with no rows, typed as the model's are (tested): a chunk
    with no rows still has the dataset's schema."""
    return {name: np.zeros(0, dtype=object if dtype == "str" else dtype) for name, dtype in
            outcome_dtypes(scenario.issues).items()}


def inputs_rows(inputs: Mapping[str, np.ndarray], run_ids: np.ndarray) -> Rows:
    """The inputs of some replicates: ``run_id``, then one float64 column per input,
    named by its scenario key (``RoundSetup.inputs``, in the order they were drawn)."""
    return Rows({"run_id": np.asarray(run_ids, dtype=np.int64)} | {
        key: np.asarray(values, dtype=np.float64) for key, values in inputs.items()})


def _failure_rows(run_ids: np.ndarray, seed: int, chunk: int, draw_id, errors) -> Rows:
    """Failure rows ``(run_id, seed, chunk, draw_id, error)``."""
    n = len(run_ids)
    return Rows({"run_id": np.asarray(run_ids, dtype=np.int64),
                 "seed": np.full(n, seed, dtype=np.int64),
                 "chunk": np.full(n, chunk, dtype=np.int64),
                 "draw_id": np.broadcast_to(np.asarray(draw_id, dtype=np.int64), (n,)).copy(),
                 "error": np.array(errors if not isinstance(errors, str) else [errors] * n,
                                   dtype=object)})


def run_chunk_safely(scenario: Scenario, seed: int, chunk: int, first: int, count: int
                     ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """``run_chunk``, except that replicates that raise are left out of the rows and
    returned as failure rows ``(run_id, seed, chunk, draw_id, error)``."""
    rows, failures, _ = run_chunk_recorded(scenario, seed, chunk, first, count)
    return rows.frame(), None if failures is None else failures.frame()


def run_chunk_recorded(scenario: Scenario, seed: int, chunk: int, first: int, count: int
                       ) -> tuple[Rows, Rows | None, Rows | None]:
    """``run_chunk_safely``'s rows and failures, and the inputs of the rows that ran
    (``inputs_rows``, in the rows' order; ``None`` where the draws of the whole chunk
    failed: a failure row has no inputs row)."""
    rng = chunk_rng(seed, chunk)
    ids = np.arange(first, first + count, dtype=np.int64)
    compiled = compiled_for(count)
    try:
        setup = realise(scenario, count, rng, compiled=compiled)
    except RESOURCE_ERRORS:
        raise
    except Exception as error:  # the draws of the whole chunk failed: no rows
        return (outcome_rows(_no_outcomes(scenario), ids[:0], seed, chunk, ids[:0]),
                _failure_rows(ids, seed, chunk, -1, error_text(error)), None)
    try:
        model = NegotiationRound(setup, compiled=compiled).run()
        return (outcome_rows(model.outcomes(), ids, seed, chunk, setup.draw_id), None,
                inputs_rows(setup.inputs, ids))
    except RESOURCE_ERRORS:
        raise
    except Exception:  # find the replicates that raise
        pass
    ran, failed = _run_isolating(setup, np.arange(count), compiled)
    if ran:
        rows = np.concatenate([r for r, _ in ran])
        outcomes = {name: np.concatenate([o[name] for _, o in ran]) for name in ran[0][1]}
    else:  # every replicate raised: no rows, but the columns (for the dataset's schema)
        rows = np.arange(0)
        outcomes = _no_outcomes(scenario)
    table = outcome_rows(outcomes, ids[rows], seed, chunk, setup.draw_id[rows])
    bad = np.array([row for row, _ in failed], dtype=np.int64)
    failures = _failure_rows(ids[bad], seed, chunk, setup.draw_id[bad],
                             [text for _, text in failed])
    inputs = inputs_rows({key: values[rows] for key, values in setup.inputs.items()},
                         ids[rows])
    return table, failures, inputs


def encode_part(rows: Rows, dictionary: bool = True) -> bytes:
    """A table as the bytes of a Parquet file (zstd). ``dictionary=False`` for columns
    of mostly distinct values (drawn inputs): dictionary encoding then only costs
    (measured on a chunk of the June scenario's inputs: 21 ms and 170 bytes a round
    with it, 13 ms and 143 bytes without). The table is made from the numpy columns
    (``sim.arrow.to_arrow``), not through pandas: no pandas to load."""
    sink = io.BytesIO()
    table = pa.table({name: to_arrow(values) for name, values in rows.columns.items()})
    pq.write_table(table, sink, compression="zstd", use_dictionary=dictionary)
    return sink.getvalue()


def decode_part(data: bytes, columns: list[str] | None = None) -> pd.DataFrame:
    """The table of a Parquet part's bytes."""
    return pq.read_table(pa.BufferReader(data), columns=columns, use_threads=False,
                         pre_buffer=False).to_pandas()  # a part: one thread (see posterior)


def labelled(rows: Rows, labels: tuple[tuple[str, object], ...]) -> Rows:
    for place, (column, value) in enumerate(labels, start=4):
        rows.insert(place, column, value)
    return rows


def keyed(inputs: Rows, labels: tuple[tuple[str, object], ...]) -> Rows:
    """Inputs with the labels that key a study's rows (``KEY_LABELS``) after ``run_id``;
    the knob values are not repeated (a knob on a drawn key would share its name)."""
    for place, (column, value) in enumerate(
            ((c, v) for c, v in labels if c in KEY_LABELS), start=1):
        inputs.insert(place, column, np.int64(value))
    return inputs


def compute_chunk(task: ChunkTask) -> ChunkOutcome:
    """What a worker does with a chunk: run it, failures isolated, and encode it. A
    resource error raises ``ChunkResourceError`` (a message that pickles, for the
    pool and Dask), never failure rows."""
    keep_freed_memory()
    try:
        frame, failures, inputs = run_chunk_recorded(task.scenario, task.seed, task.chunk,
                                                     task.first, task.count)
    except RESOURCE_ERRORS as error:
        hint = " (try a smaller --chunk-size in a new folder)" if isinstance(
            error, MemoryError) else ""
        raise ChunkResourceError(f"{task} stopped: {error_text(error)}{hint}") from None
    free_finished_models()
    tally = Tally.of(frame, Measures.of(task.scenario), failures)
    return ChunkOutcome(
        results=encode_part(labelled(frame, task.labels)),
        failures=None if failures is None else encode_part(labelled(failures, task.labels)),
        tally=tally,
        inputs=encode_part(keyed(inputs, task.labels), dictionary=False) if (
            task.inputs and inputs is not None) else None)


def _run_chunk_task(task: ChunkTask) -> pd.DataFrame:
    """``run_chunk`` of a task (a named function, for the pool)."""
    return run_chunk(task.scenario, task.seed, task.chunk, task.first, task.count)


class ChunkTasks(Sequence):
    """The chunks of a batch, in order, each made when asked for; part names sort in
    chunk order."""

    def __init__(self, scenario: Scenario, runs: int, seed: int, chunk_size: int,
                 labels: tuple[tuple[str, object], ...], prefix: str,
                 inputs: bool = True) -> None:
        self.scenario, self.seed, self.labels, self.prefix = scenario, seed, labels, prefix
        self.inputs = inputs
        self.bounds = ChunkBounds(runs, chunk_size)
        self.width = max(5, len(str(len(self.bounds) - 1)))

    def __len__(self) -> int:
        return len(self.bounds)

    def _task(self, k: int, first: int, count: int) -> ChunkTask:
        return ChunkTask(self.scenario, self.seed, k, first, count,
                         f"{self.prefix}-{k:0{self.width}d}", self.labels, self.inputs)

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        k = k + len(self) if k < 0 else k
        return self._task(k, *self.bounds[k])

    def __iter__(self) -> Iterator[ChunkTask]:
        for k, (first, count) in enumerate(self.bounds):
            yield self._task(k, first, count)


def chunk_tasks(scenario: Scenario, runs: int, seed: int, chunk_size: int = CHUNK_SIZE,
                labels: tuple[tuple[str, object], ...] = (), prefix: str = "part",
                inputs: bool = True) -> ChunkTasks:
    """The chunks of a batch, in order (a sequence computed when indexed); ``inputs``:
    whether each chunk records its drawn inputs."""
    return ChunkTasks(scenario, runs, seed, chunk_size, labels, prefix, inputs)


def run_scenario(scenario: Scenario, runs: int, seed: int = 0,
                 chunk_size: int = CHUNK_SIZE, workers: int = 1) -> pd.DataFrame:
    """All replicates of a scenario in run-id order, as one table (for notebooks; a
    batch too large for memory goes through ``negsim run``). ``workers`` > 1 runs the
    chunks in a local process pool: the same table (a script that asks for one needs
    the usual ``if __name__ == "__main__":`` guard of multiprocessing). A model error
    raises."""
    import pandas as pd

    tasks = chunk_tasks(scenario, runs, seed, chunk_size)
    executor = InProcess() if workers == 1 else LocalPool(workers)
    try:
        frames = {task.chunk: frame
                  for task, frame in executor.map_unordered(_run_chunk_task, tasks)}
    finally:
        executor.close()
    return pd.concat([frames[k] for k in range(len(tasks))], ignore_index=True)
