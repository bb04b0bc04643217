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
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from sim.errors import InputError
from sim.scenario.spec import Posterior

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
    except OSError:
        stat = None
    if stat is None:
        return _read_posterior(path, None)
    return _read_posterior(path, (stat.st_mtime_ns, stat.st_size, stat.st_ino))


@functools.lru_cache(maxsize=16)
def _read_posterior(path: Path, version: tuple | None) -> Posterior:
    """``read_posterior`` for one version of a file (its stat): a changed file is read
    afresh. Particles and weights are read-only, so sharing them is safe."""
    del version  # part of the cache key only
    try:
        raw = path.read_bytes()
        table = pq.read_table(path).to_pandas()
    except FileNotFoundError:
        raise InputError(path, "", "no such posterior file (make one with negsim calibrate)")\
            from None
    except (OSError, ValueError) as error:
        raise InputError(path, "", f"is not a readable Parquet posterior: {error}") from None
    if WEIGHT not in table.columns:
        raise InputError(path, WEIGHT, "column is missing: a posterior needs particle weights")
    keys = tuple(c for c in table.columns if c != WEIGHT)
    if not keys:
        raise InputError(path, "", "has no parameter columns")
    values = table[list(keys)].to_numpy(dtype=float)
    weights = table[WEIGHT].to_numpy(dtype=float)
    if len(weights) == 0 or not np.all(np.isfinite(values)) or np.any(weights < 0) or \
            not np.isfinite(weights).all() or weights.sum() <= 0:
        raise InputError(path, WEIGHT, "needs at least one particle, finite values and "
                         "non-negative weights with a positive sum")
    values.flags.writeable = False
    weights = weights / weights.sum()
    weights.flags.writeable = False
    return Posterior(str(path), hashlib.sha256(raw).hexdigest(), keys, values, weights)


def write_posterior(path: str | Path, keys: tuple[str, ...], particles: np.ndarray,
                    weights: np.ndarray, manifest: dict) -> str:
    """Write particles, weights and the manifest atomically; return the file's sha256."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(particles, columns=list(keys))
    frame[WEIGHT] = weights
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        frame.to_parquet(temp, index=False, compression="zstd")
        digest = hashlib.sha256(Path(temp).read_bytes()).hexdigest()
        side = manifest_path(path)
        side_temp = side.with_name(f".{side.name}.tmp")
        side_temp.write_text(json.dumps(manifest | {"posterior_sha256": digest}, indent=2)
                             + "\n")
        os.replace(temp, path)
        os.replace(side_temp, side)
    finally:
        Path(temp).unlink(missing_ok=True)
    return digest
