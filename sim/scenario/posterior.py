"""Posterior files: weighted parameter particles that scenarios draw from.

A posterior is a Parquet table, one row per particle: a column per parameter (named by
its dotted scenario key, e.g. ``parties.russia.exchange_willingness``) and a
``weight`` column; beside it ``<name>-manifest.json`` says how it was made
(``negsim calibrate``). Writing goes through a temporary file and a rename, so a
failed or interrupted calibration never leaves a half-written posterior behind.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.arrow import numbers
from sim.errors import InputError
from sim.fileio import make_folder, write_atomically
from sim.scenario.checks import POSTERIOR_LIMIT, read_file
from sim.scenario.spec import Posterior

if TYPE_CHECKING:  # pandas is imported where a table is made (sim.model.mesa_core)
    pass


WEIGHT = "weight"


def manifest_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.stem + "-manifest.json")


def read_posterior(path: str | Path) -> Posterior:
    """Load and check a posterior file (kept while the file is unchanged: sweeps and
    what-if searches load the same scenario many times)."""
    path = Path(path)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise InputError(path, "", "no such posterior file (make one with negsim "
                         "calibrate)") from None
    except (OSError, ValueError):
        stat = None
    if stat is None:
        return _read_posterior(path, None)
    return _read_posterior(path, (stat.st_mtime_ns, stat.st_size, stat.st_ino))


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _column(path: Path, table: pa.Table, name: str) -> np.ndarray:
    """A column of numbers (integers or floats), all present and finite, as floats."""
    column = table.column(name)
    kind = column.type
    if pa.types.is_boolean(kind) or not (pa.types.is_integer(kind) or
                                         pa.types.is_floating(kind)):
        raise InputError(path, name, f"column holds {kind}: a posterior's columns hold "
                         "numbers")
    if column.null_count:
        raise InputError(path, name, f"column has {column.null_count} missing values")
    values = numbers(column).astype(float)  # without pyarrow's pandas (sim.arrow)
    if not np.isfinite(values).all():
        bad = values[~np.isfinite(values)][0]
        raise InputError(path, name, f"column holds {bad}: values must be finite numbers")
    return values


@functools.lru_cache(maxsize=16)
def _read_posterior(path: Path, version: tuple | None) -> Posterior:
    """``read_posterior`` for one version of a file (its stat): a changed file is read
    afresh. Particles and weights are read-only, so sharing them is safe.

    Checked here: a regular file of at most ``POSTERIOR_LIMIT`` bytes, a Parquet
    table whose columns have distinct names and hold finite numbers, a ``weight``
    column and at least one parameter column, weights > 0. (Each parameter's values
    are checked against its key's range where the scenario is built:
    ``sim.scenario.load``.)"""
    del version  # part of the cache key only
    raw = read_file(path, POSTERIOR_LIMIT, what="posterior")
    try:
        # one thread, no read-ahead: a posterior is small, and Arrow's thread pools,
        # once started, can abort the process as it exits (``terminate called without
        # an active exception``, apache/arrow#34314; seen here at the end of a command
        # that had read only a posterior)
        parquet = pq.ParquetFile(pa.BufferReader(raw), pre_buffer=False)
        names = parquet.schema_arrow.names
        twice = next((name for i, name in enumerate(names) if name in names[:i]), None)
        if twice is not None:
            raise InputError(path, twice, "column appears twice: each parameter has one "
                             "column")
        table = parquet.read(use_threads=False)
    except (pa.ArrowException, OSError, ValueError) as error:
        if isinstance(error, InputError):
            raise
        raise InputError(path, "", f"is not a readable Parquet posterior: "
                         f"{_first_line(error)}") from None
    if WEIGHT not in names:
        raise InputError(path, WEIGHT, "column is missing: a posterior needs particle weights")
    keys = tuple(name for name in names if name != WEIGHT)
    if not keys:
        raise InputError(path, "", "has no parameter columns")
    if table.num_rows == 0:
        raise InputError(path, "", "has no particles (no rows)")
    values = np.column_stack([_column(path, table, key) for key in keys])
    weights = _column(path, table, WEIGHT)
    if not (weights > 0).all():
        raise InputError(path, WEIGHT, f"column holds {weights[weights <= 0][0]:g}: weights "
                         "must be > 0 (a particle of weight 0 is never drawn: leave it out)")
    weights = weights / weights.max()  # then the sum cannot overflow: at most the rows
    weights = weights / weights.sum()
    values.flags.writeable = False
    weights.flags.writeable = False
    return Posterior(str(path), hashlib.sha256(raw).hexdigest(), keys, values, weights)


def write_posterior(path: str | Path, keys: tuple[str, ...], particles: np.ndarray,
                    weights: np.ndarray, manifest: dict) -> str:
    """Write particles, weights and then the manifest, each atomically; return the
    posterior file's sha256."""
    import pandas as pd  # the committed posteriors' bytes are pandas' Parquet

    path = Path(path)
    make_folder(path.parent)
    frame = pd.DataFrame(particles, columns=list(keys))
    frame[WEIGHT] = weights
    sink = io.BytesIO()
    frame.to_parquet(sink, index=False, compression="zstd")
    data = sink.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    write_atomically(path, data)
    write_atomically(manifest_path(path), json.dumps(manifest | {"posterior_sha256": digest},
                                                     indent=2) + "\n")
    return digest
