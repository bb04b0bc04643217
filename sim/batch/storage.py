"""The results folder of a batch: a Parquet dataset written so that a killed batch
resumes exactly where it stopped, and a folder that was changed since is refused.

::

    OUT/manifest.json             what the batch is: scenario hash, seed, runs, chunk
                                  size, versions, posterior hash (written first); at
                                  the end, every part: its run ids and sha256
    OUT/results/part-00000.parquet  one file per chunk, its rows in run-id order (zstd)
    OUT/failures/part-00003.parquet only for chunks where replicates raised
    OUT/inputs/part-00000.parquet   the inputs of each row of the results part of the
                                  same name: run_id, then every parameter drawn for
                                  the round (by scenario key); none with --no-inputs
    OUT/summary.json              the outcome distribution (written last)

and, while a batch runs, ``OUT/negsim.lock`` (who writes here: pid and host) and
``OUT/manifest.parts.jsonl`` (the parts recorded since the manifest was written, one
JSON line each; folded into the manifest at the end).

``OUT/results`` is one table to pandas (``pd.read_parquet("OUT/results")``), pyarrow
(``pyarrow.dataset.dataset``) and DuckDB (``read_parquet('OUT/results/*.parquet')``).

Every file is written to a temporary name, flushed to disk and renamed
(``sim.fileio``), so a part either exists whole or not at all. A part is recorded
(its run ids, its sha256, its failure rows' and its inputs' sha256) before it is
written, its failures and inputs before its rows, so a part's presence means the
chunk is done and its record says what it must hold. Resuming (``--resume``) checks
the folder first, and refuses, in one line naming the file, one that does not match:
a part (of results, failures or inputs) whose bytes differ from its record
(truncated, damaged, or from another batch), a part or any other file in
``results/``, ``failures/`` or ``inputs/`` that the batch did not record (Parquet
readers read every file there whose name does not start with ``.`` or ``_``, so a
stray file would change or break ``pd.read_parquet(OUT/results)``). It then runs
exactly the chunks not done — each a pure function of the manifest — so a resumed
batch ends with the files an uninterrupted one writes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

from sim.batch.chunks import ChunkOutcome, ChunkTask, decode_part
from sim.batch.lock import LOCK, LockError, check_lock, hold
from sim.fileio import TEMPORARY, WriteError, cause_of, make_folder, write_atomically
from sim.scenario.spec import Scenario
from sim.stats.summary import Measures
from sim.stats.tally import Tally

if TYPE_CHECKING:  # pandas is imported where a table is made (sim.model.mesa_core)
    import pandas as pd


MANIFEST, SUMMARY, RESULTS, FAILURES = "manifest.json", "summary.json", "results", "failures"
INPUTS = "inputs"
JOURNAL = "manifest.parts.jsonl"
#: 3: parts' records carry ``inputs_sha256``, and the manifest says whether inputs are kept.
FORMAT = "negsim-batch/3"

#: Manifest keys that decide the results: a batch resumes only if all are unchanged.
IDENTITY = ("format", "kind", "scenario_sha256", "posterior_sha256", "experiment_sha256",
            "seed", "runs", "chunk_size", "parts", "inputs", "depends_on", "versions")

#: The folders of parts, each part named as its chunk's results part.
PART_FOLDERS = (RESULTS, FAILURES, INPUTS)

#: Packages whose versions are recorded; the first two decide the numbers.
PACKAGES = ("negsim", "numpy", "mesa", "pandas", "pyarrow")

#: What to do about a part that does not match the manifest.
RECOVER = "remove it and rerun with --resume (its chunk is computed again)"


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
                  chunk_size: int, parts: int, experiment_sha256: str | None = None,
                  inputs: bool = True, depends_on: dict | None = None) -> dict:
    """The manifest of a batch (``kind``: run, sweep, sensitivity or campaign;
    ``inputs``: whether each chunk's drawn inputs are kept in ``inputs/``;
    ``depends_on``: what else decides the results, e.g. a campaign's files and horizon)."""
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
        "inputs": inputs,
        "versions": versions(),
    } | ({} if depends_on is None else {"depends_on": depends_on})


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class PartRecord:
    """What the manifest records of a finished part: its chunk's run ids
    (``first_run_id`` and ``runs`` of them: its rows and failure rows together) and
    the sha256 of its file, of its failures file (``None``: no failures) and of its
    inputs file (``None``: none kept)."""

    part: str
    first_run_id: int
    runs: int
    sha256: str
    failures_sha256: str | None
    inputs_sha256: str | None

    @classmethod
    def of(cls, task: ChunkTask, outcome: ChunkOutcome) -> PartRecord:
        return cls(task.part, task.first, task.count, sha256(outcome.results),
                   None if outcome.failures is None else sha256(outcome.failures),
                   None if outcome.inputs is None else sha256(outcome.inputs))

    def hash_of(self, sub: str) -> str | None:
        """The sha256 recorded of this part's file in ``sub`` (one of ``PART_FOLDERS``)."""
        return {RESULTS: self.sha256, FAILURES: self.failures_sha256,
                INPUTS: self.inputs_sha256}[sub]

    @classmethod
    def from_json(cls, value: object) -> PartRecord:
        """A record as JSON holds it (``ValueError`` where it is not one)."""
        try:
            record = cls(**value)
            if not (isinstance(record.part, str) and isinstance(record.first_run_id, int)
                    and isinstance(record.runs, int) and isinstance(record.sha256, str)
                    and isinstance(record.failures_sha256, str | None)
                    and isinstance(record.inputs_sha256, str | None)):
                raise TypeError
        except TypeError:
            raise ValueError(f"not a part's record: {json.dumps(value)[:80]}") from None
        return record


class ResultsFolder:
    """A batch's results folder (see the module's docstring for its layout).

    A batch uses it in this order: ``check`` (before anything starts: changes
    nothing), then under ``locked``: ``prepare`` (what is recorded, on a resume),
    ``read_tally`` of each part done before (which verifies it), ``start`` (the
    manifest written), ``write_part`` as chunks finish, ``finish``.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.recorded: dict[str, PartRecord] = {}  # parts done before, as recorded
        self._incomplete: list[str] = []  # recorded but never written: run again
        self._manifest: dict | None = None
        self.started = False  # whether start() wrote the manifest

    def part_path(self, name: str, sub: str = RESULTS) -> Path:
        """The file of part ``name`` in ``sub`` (one of ``PART_FOLDERS``)."""
        return self.root / sub / f"{name}.parquet"

    # -- before anything is written ------------------------------------------------

    def _entries(self) -> list[Path]:
        try:
            return [entry for entry in self.root.iterdir() if entry.name != LOCK]
        except OSError as error:
            raise FolderError(f"--out {self.root}: cannot be read ({cause_of(error)})") from None

    def check(self, manifest: dict, resume: bool) -> bool:
        """Whether the batch described by ``manifest`` may write here (else
        ``FolderError``); True where a batch is to be resumed. Changes nothing."""
        where = f"--out {self.root}"
        if self.root.is_symlink() and not self.root.exists():
            raise FolderError(f"{where}: a symbolic link that leads nowhere (a loop, or a "
                              "missing target)")
        if self.root.exists() and not self.root.is_dir():
            raise FolderError(f"{where}: exists and is not a folder")
        try:
            check_lock(self.root)
        except LockError as error:
            raise FolderError(str(error)) from None
        if not self.root.exists() or not self._entries():
            return False
        if not (self.root / MANIFEST).is_file():
            raise FolderError(f"{where}: exists and is not a negsim results folder (no "
                              f"{MANIFEST}); choose another --out or remove it")
        if not resume:
            raise FolderError(f"{where}: holds the results of an earlier batch; pass --resume "
                              "to continue (or reuse) it, or choose another --out")
        earlier = self._read_manifest()
        for key in IDENTITY:
            was, now = earlier.get(key), manifest.get(key)
            if was != now:
                if isinstance(was, dict) and isinstance(now, dict):  # name the entry
                    key, was, now = next((f"{key}.{k}", was.get(k), now.get(k)) for k in
                                         sorted(set(was) | set(now)) if was.get(k) != now.get(k))
                raise FolderError(
                    f"{where}: cannot resume: {key} was {json.dumps(was)}, now "
                    f"{json.dumps(now)}; rerun as before, or choose another "
                    "--out (or remove the folder)")
        return True

    def _read_manifest(self) -> dict:
        path = self.root / MANIFEST
        try:
            earlier = json.loads(path.read_bytes())
        except (OSError, ValueError) as error:
            raise FolderError(f"{path}: cannot be read ({error})") from None
        if not isinstance(earlier, dict):
            raise FolderError(f"{path}: not the manifest of a negsim batch")
        return earlier

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the folder (making it if new) for this process (``sim.batch.lock``):
        a second batch on it is refused, a stale lock taken over."""
        try:
            with hold(self.root):
                yield
        except LockError as error:
            raise FolderError(str(error)) from None

    # -- resuming ------------------------------------------------------------------

    def _records_on_disk(self) -> dict[str, PartRecord]:
        """The parts the manifest and the journal record (the journal's last line may
        be cut short by a kill: it was being written, so its part never was)."""
        path = self.root / MANIFEST
        records = {}
        try:
            for value in self._read_manifest().get("finished", []):
                record = PartRecord.from_json(value)
                records[record.part] = record
        except ValueError as error:
            raise FolderError(f"{path}: finished: {error}") from None
        journal = self.root / JOURNAL
        try:
            lines = journal.read_bytes().split(b"\n")
        except FileNotFoundError:
            lines = []
        except OSError as error:
            raise FolderError(f"{journal}: cannot be read ({cause_of(error)})") from None
        for number, line in enumerate(lines, start=1):
            try:
                record = PartRecord.from_json(json.loads(line))
            except ValueError as error:
                if number == len(lines):  # the last line, cut short (or empty)
                    break
                raise FolderError(f"{journal}: line {number}: {error}") from None
            records[record.part] = record
        return records

    def prepare(self, manifest: dict, resume: bool) -> None:
        """Under the lock: check the folder again, then take in what it records.
        Every file in ``results/``, ``failures/`` and ``inputs/`` that a Parquet reader
        would read must be a part recorded there (else ``FolderError`` naming it); a
        recorded part whose file is missing was never written (or was removed to be
        recomputed), and its chunk runs again."""
        self._manifest = manifest
        if not self.check(manifest, resume):
            return
        records = self._records_on_disk()
        present = {sub: self._files(sub) for sub in PART_FOLDERS}
        for sub, files in present.items():
            for name in files:
                record = records.get(name)
                if record is None or record.hash_of(sub) is None:
                    path = self.part_path(name, sub)
                    raise FolderError(
                        f"{path}: not a part this batch recorded (from another batch or "
                        f"copied in?); move it out of {sub}/ (Parquet readers read every "
                        "file there) and rerun with --resume")
        self.recorded = {name: record for name, record in records.items()
                         if name in present[RESULTS]}
        self._incomplete = [name for name in records if name not in present[RESULTS]]

    def _files(self, sub: str) -> set[str]:
        """Names (without ``.parquet``) of the files of ``sub`` a Parquet reader reads;
        a folder or any other file there is refused."""
        folder = self.root / sub
        if not folder.is_dir():
            return set()
        names = set()
        for entry in sorted(folder.iterdir()):
            if entry.name.startswith((".", "_")):  # skipped by pyarrow, pandas, DuckDB
                continue
            if entry.is_dir() or entry.suffix != ".parquet":
                raise FolderError(f"{entry}: not a part of this batch; move it out of {sub}/ "
                                  "(Parquet readers read every file there) and rerun with "
                                  "--resume")
            names.add(entry.stem)
        return names

    def read_part(self, task: ChunkTask) -> tuple[bytes, bytes | None]:
        """The bytes of a part done before and of its failures (``None``: none), checked
        against its record: the same run ids as ``task``, and the same bytes."""
        record = self.recorded[task.part]
        if (record.first_run_id, record.runs) != (task.first, task.count):
            raise FolderError(
                f"{self.root / MANIFEST}: records {task.part} as runs {record.first_run_id}"
                f"-{record.first_run_id + record.runs - 1}, but this batch's {task.part} is "
                f"runs {task.first}-{task.first + task.count - 1}; the manifest was changed")
        results = self._verified(self.part_path(task.part), record.sha256)
        failures = None if record.failures_sha256 is None else self._verified(
            self.part_path(task.part, FAILURES), record.failures_sha256)
        if record.inputs_sha256 is not None:  # checked, not read: the tally needs none
            self._verified(self.part_path(task.part, INPUTS), record.inputs_sha256)
        return results, failures

    def read_tally(self, task: ChunkTask, measures: Measures) -> Tally:
        """The tally of a part done before, read (and checked) by ``read_part``."""
        data, failure_data = self.read_part(task)
        results = decode_part(data)
        failures = None if failure_data is None else decode_part(failure_data)
        if not set(measures.columns) <= set(results.columns):
            return Tally.of_failures(failures, measures)
        # draw_id too, where the batch drew from a posterior: the tally counts by draw
        read = list(measures.columns) + (["draw_id"] if "draw_id" in results else [])
        return Tally.of(results[read], measures, failures)

    def _verified(self, path: Path, expected: str) -> bytes:
        """The bytes of a part, if they are those recorded (else ``FolderError``)."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise FolderError(f"{path}: missing, but its part is there; {RECOVER}") from None
        except OSError as error:
            raise FolderError(f"{path}: cannot be read ({cause_of(error)})") from None
        if sha256(data) != expected:
            what = "empty" if not data else f"{len(data):,} bytes"
            raise FolderError(f"{path}: is not the part the manifest recorded ({what}, "
                              f"another sha256: truncated, damaged or replaced); {RECOVER}")
        return data

    # -- writing -----------------------------------------------------------------------

    def start(self) -> None:
        """Write the manifest (with the parts verified so far) before any part; clear
        what a killed batch left: temporary files, the journal, failure and inputs
        parts of chunks recorded but never written."""
        for name in self._incomplete:
            self._unlink(self.part_path(name, FAILURES))
            self._unlink(self.part_path(name, INPUTS))
        self._write_manifest()
        self._unlink(self.root / JOURNAL)
        for folder in (self.root, *(self.root / sub for sub in PART_FOLDERS)):
            if folder.is_dir():
                for temp in folder.glob(TEMPORARY):
                    self._unlink(temp)
        make_folder(self.root / RESULTS)
        self.started = True

    def write_part(self, task: ChunkTask, outcome: ChunkOutcome) -> None:
        """Store a finished chunk: its record in the journal, its failure rows (making
        ``failures/`` the first time), its inputs (``inputs/``), then its rows (the mark
        that it is done)."""
        record = PartRecord.of(task, outcome)
        self._journal(record)
        if outcome.failures is not None:
            make_folder(self.root / FAILURES)
            write_atomically(self.part_path(task.part, FAILURES), outcome.failures)
        if outcome.inputs is not None:
            make_folder(self.root / INPUTS)
            write_atomically(self.part_path(task.part, INPUTS), outcome.inputs)
        write_atomically(self.part_path(task.part), outcome.results)
        self.recorded[task.part] = record

    def finish(self) -> None:
        """Fold every part's record into the manifest; the journal goes."""
        self._write_manifest()
        self._unlink(self.root / JOURNAL)

    def _write_manifest(self) -> None:
        finished = [asdict(self.recorded[name]) for name in sorted(self.recorded)]
        self.write_json(MANIFEST, self._manifest | {"finished": finished})

    def _journal(self, record: PartRecord) -> None:
        """Append a line to the journal and flush it to disk (an append of one short
        line: the batch's one write that is not a whole file renamed)."""
        path = self.root / JOURNAL
        try:
            handle = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(handle, (json.dumps(asdict(record)) + "\n").encode())
                os.fsync(handle)
            finally:
                os.close(handle)
        except OSError as error:
            raise WriteError(path, cause_of(error)) from None

    @staticmethod
    def _unlink(path: Path) -> None:
        try:
            path.unlink(missing_ok=True)
        except OSError as error:
            raise WriteError(path, cause_of(error)) from None

    def write_csv(self, name: str, table: pd.DataFrame) -> None:
        write_atomically(self.root / name, table.to_csv(index=False))

    def write_json(self, name: str, content: dict) -> None:
        make_folder(self.root)
        write_atomically(self.root / name, json.dumps(content, indent=2) + "\n")
