"""The results folder of a batch: a Parquet dataset written so that a killed batch
resumes exactly where it stopped.

::

    OUT/manifest.json             what the batch is: scenario hash, seed, runs, chunk
                                  size, versions, posterior hash (written first)
    OUT/results/part-00000.parquet  one file per chunk, its rows in run-id order (zstd)
    OUT/failures/part-00003.parquet only for chunks where replicates raised
    OUT/summary.json              the outcome distribution (written last)

``OUT/results`` is one table to pandas (``pd.read_parquet("OUT/results")``), pyarrow
(``pyarrow.dataset.dataset``) and DuckDB (``read_parquet('OUT/results/*.parquet')``).

Every file is written to a temporary name, flushed to disk and renamed, so a part
either exists whole or not at all; a chunk's failures are written before its rows,
so a part's presence means the chunk is done. Resuming runs exactly the chunks
whose part is missing — each is a pure function of the manifest — so a resumed
batch ends with the files an uninterrupted one writes.
"""

from __future__ import annotations

import json
import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd

from sim.batch.chunks import ChunkOutcome, decode_part
from sim.scenario.spec import Scenario
from sim.stats.summary import Measures
from sim.stats.tally import Tally

MANIFEST, SUMMARY, RESULTS, FAILURES = "manifest.json", "summary.json", "results", "failures"
FORMAT = "negsim-batch/1"

#: Manifest keys that decide the results: a batch resumes only if all are unchanged.
IDENTITY = ("format", "kind", "scenario_sha256", "posterior_sha256", "experiment_sha256",
            "seed", "runs", "chunk_size", "parts", "versions")

#: Packages whose versions are recorded; the first two decide the numbers.
PACKAGES = ("negsim", "numpy", "mesa", "pandas", "pyarrow")


class FolderError(Exception):
    """A results folder that cannot be used as asked: one line saying why."""


def versions() -> dict[str, str]:
    """Versions of Python and of the packages a batch's files depend on."""
    found = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "unknown"
    return found


def posterior_sha256(scenario: Scenario) -> str | None:
    """The hash of the posterior file the scenario draws parameters from, if any: the
    scenario's own hash covers its text, not that file."""
    return scenario.posterior.sha256 if scenario.posterior is not None else None


def make_manifest(kind: str, scenario: Scenario, scenario_file: str, seed: int, runs: int,
                  chunk_size: int, parts: int, experiment_sha256: str | None = None) -> dict:
    """The manifest of a batch (``kind``: run, sweep or sensitivity)."""
    return {
        "format": FORMAT,
        "kind": kind,
        "scenario": scenario.round.name,
        "scenario_file": scenario_file,
        "scenario_sha256": scenario.sha256,
        "posterior_sha256": posterior_sha256(scenario),
        "parameters": scenario.parameter_sources(),
        "experiment_sha256": experiment_sha256,
        "seed": seed,
        "runs": runs,
        "chunk_size": chunk_size,
        "parts": parts,
        "versions": versions(),
    }


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, flush it to disk, rename."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


class ResultsFolder:
    """A batch's results folder (see the module's docstring for its layout)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def part_path(self, name: str, failures: bool = False) -> Path:
        return self.root / (FAILURES if failures else RESULTS) / f"{name}.parquet"

    def check(self, manifest: dict, resume: bool) -> set[str]:
        """Whether the batch described by ``manifest`` may write here; the parts
        already done (empty for a new batch). Changes nothing."""
        where = f"--out {self.root}"
        if self.root.exists() and not self.root.is_dir():
            raise FolderError(f"{where}: exists and is not a folder")
        if not self.root.exists() or not any(self.root.iterdir()):
            return set()
        if not (self.root / MANIFEST).is_file():
            raise FolderError(f"{where}: exists and is not a negsim results folder (no "
                              f"{MANIFEST}); choose another --out or remove it")
        if not resume:
            raise FolderError(f"{where}: holds the results of an earlier batch; pass --resume "
                              "to continue (or reuse) it, or choose another --out")
        try:
            earlier = json.loads((self.root / MANIFEST).read_text())
        except (OSError, ValueError) as error:
            raise FolderError(f"{where}: {MANIFEST} cannot be read ({error})") from None
        for key in IDENTITY:
            if earlier.get(key) != manifest.get(key):
                raise FolderError(
                    f"{where}: cannot resume: {key} was {json.dumps(earlier.get(key))}, now "
                    f"{json.dumps(manifest.get(key))}; rerun as before, or choose another "
                    "--out (or remove the folder)")
        return {path.stem for path in (self.root / RESULTS).glob("*.parquet")}

    def create(self, manifest: dict) -> None:
        """Make the folder (if new) and write the manifest first (a folder with
        anything in it and no manifest is not ours); clear temporary files a killed
        batch left behind."""
        self.write_json(MANIFEST, manifest)
        for sub in (RESULTS, FAILURES):
            (self.root / sub).mkdir(exist_ok=True)
        for folder in (self.root, self.root / RESULTS, self.root / FAILURES):
            for temp in folder.glob(".*.tmp"):
                temp.unlink()

    def write_part(self, name: str, outcome: ChunkOutcome) -> None:
        """Store a finished chunk: failure rows first, then its rows (the mark that
        the chunk is done)."""
        if outcome.failures is not None:
            _write_atomically(self.part_path(name, failures=True), outcome.failures)
        _write_atomically(self.part_path(name), outcome.results)

    def read_tally(self, name: str, measures: Measures) -> Tally:
        """The tally of a chunk stored earlier (when a batch resumes)."""
        results = decode_part(self.part_path(name).read_bytes())
        failures_path = self.part_path(name, failures=True)
        failures = decode_part(failures_path.read_bytes()) if failures_path.exists() else None
        if not set(measures.columns) <= set(results.columns):
            return Tally.of_failures(failures, measures)
        return Tally.of(results[list(measures.columns)], measures, failures)

    def write_csv(self, name: str, table: pd.DataFrame) -> None:
        _write_atomically(self.root / name, table.to_csv(index=False).encode())

    def write_json(self, name: str, content: dict) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        _write_atomically(self.root / name, (json.dumps(content, indent=2) + "\n").encode())
