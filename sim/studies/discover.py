"""Scenario discovery: which ranges of a batch's drawn inputs make an event likely.

A batch keeps, beside each round's outcomes, every parameter drawn for it
(``OUT/inputs/``, keyed by ``run_id``). ``load_rounds`` reads a sample of those rounds
(part by part: at most ``sample`` rounds, chosen without replacement by a generator
of fixed seed, so the same folder gives the same sample) and evaluates an event of
the scenario on them, with the scenario's own definition
(``sim.stats.summary.event_columns``). ``find_boxes`` then runs PRIM, the Patient
Rule Induction Method (Friedman & Fisher 1999, "Bump hunting in high-dimensional
data", Statistics and Computing 9:123-143), as scenario discovery uses it (Bryant &
Lempert 2010, "Thinking inside the box", Technological Forecasting and Social Change
77:34-49): starting from the box of all rounds, it peels off, one small slice
(``peel_alpha`` of the rounds in the box) at a time, the slice along whichever input
raises the event's rate inside the box the most, until the box holds less than
``mass_min`` of the rounds; then it pastes slices back while that does not lower the
rate. Each box on the way is a trade-off between

- coverage: the share of the rounds where the event holds that fall in the box,
- density: the event's rate among the rounds in the box,
- mass: the share of all rounds in the box,

and ``choose`` takes, of the boxes whose density reaches ``threshold``, the one of
largest coverage (the fewest restricted inputs, then the largest mass, breaking
ties); where none does, the densest, and says so.

PRIM is the EMA Workbench's (``ema_workbench.analysis.prim``, Kwakkel 2017; its
default "lenient1" objective, Kwakkel & Jaxa-Rozen 2016), an optional extra:
``pip install 'negsim[discover]'`` (``pyproject.toml`` says why this library).
Problems with the folder, the event or the data raise ``DiscoverError``: one line.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from sim.batch.results import MANIFEST
from sim.scenario.load import load_scenario
from sim.scenario.spec import EventSpec, Scenario
from sim.stats.summary import Measures, event_columns

try:  # the optional extra; its import warns of optional parts of its own it lacks
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*not (installed|available)")
        from ema_workbench.analysis import prim as ema_prim
except ImportError:  # pragma: no cover - exercised where the extra is not installed
    ema_prim = None

#: At most this many rounds are read (a sample of a larger batch): PRIM's box edges
#: are known to about one peel (``PEEL_ALPHA`` of the box) whatever the rounds, and
#: 50,000 rounds of 25 inputs take a few seconds.
SAMPLE = 50_000
#: The seed of the sample's generator: the same folder always gives the same sample.
SAMPLE_SEED = 0
#: The density a chosen box must reach (the event's rate inside it).
THRESHOLD = 0.8
#: PRIM's peeling and pasting step and its minimum box mass (Friedman & Fisher's
#: alpha and beta_0; the EMA Workbench's defaults).
PEEL_ALPHA = 0.05
MASS_MIN = 0.05

#: Columns that key a round (run ids start again at each design point of a study).
KEYS = ("run_id", "point")
INPUTS, RESULTS = "inputs", "results"


class DiscoverError(ValueError):
    """A folder, event or data set that PRIM cannot be run on: one line saying why."""


@dataclass(frozen=True)
class Batch:
    """A results folder with its inputs: the scenario it ran (``changed``: its file's
    hash is no longer the batch's) and its manifest."""

    folder: Path
    scenario: Scenario
    scenario_file: str
    manifest: dict
    changed: bool


@dataclass(frozen=True)
class Rounds:
    """The rounds PRIM looks at: their inputs (one float64 column per input that
    varies, named by its scenario key) and whether the event held in each."""

    inputs: pd.DataFrame
    event: np.ndarray
    total: int  # rounds in the folder
    left_out: tuple[str, ...]  # inputs not drawn in every part (a study's design points)


@dataclass(frozen=True)
class Limit:
    """A box's range of one input, its full range over the rounds, and the box's
    quasi-p-values of that restriction (Bryant & Lempert 2010: a one-sided binomial
    test of the box against the box without it; ``None`` where that side is not
    restricted)."""

    input: str
    low: float
    high: float
    full_low: float
    full_high: float
    qp_low: float | None
    qp_high: float | None


@dataclass(frozen=True)
class Box:
    """A box on the peeling trajectory: its statistics and restricted inputs."""

    id: int
    coverage: float
    density: float
    mass: float
    limits: tuple[Limit, ...]


@dataclass(frozen=True)
class Discovery:
    """PRIM's trajectory (every box, in peeling then pasting order) and the box chosen."""

    boxes: tuple[Box, ...]
    chosen: int
    threshold: float
    threshold_met: bool
    base_rate: float
    rounds: int

    @property
    def box(self) -> Box:
        return self.boxes[self.chosen]


def open_batch(folder: str | Path, scenario_file: str | Path | None = None) -> Batch:
    """A results folder that holds inputs, and the scenario its manifest names (or
    ``scenario_file``, where the folder was moved or the file renamed)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DiscoverError(f"{folder}: no such results folder")
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise DiscoverError(f"{folder}: not a negsim results folder (no {MANIFEST})") from None
    except (OSError, ValueError) as error:
        raise DiscoverError(f"{path}: cannot be read ({error})") from None
    if not isinstance(manifest, dict):
        raise DiscoverError(f"{path}: not the manifest of a negsim batch")
    if manifest.get("inputs") is False or not (folder / INPUTS).is_dir():
        raise DiscoverError(f"{folder / INPUTS}: missing: the batch kept no inputs (run with "
                            "--no-inputs, or by an older negsim); run it again without "
                            "--no-inputs")
    named = scenario_file or manifest.get("scenario_file")
    if not isinstance(named, str | Path) or not Path(named).is_file():
        where = "" if scenario_file else f" (named by {path}); pass --scenario FILE"
        raise DiscoverError(f"{named}: no such scenario file{where}")
    scenario = load_scenario(named)
    changed = manifest.get("kind") == "run" and scenario.sha256 != manifest.get(
        "scenario_sha256")
    return Batch(folder, scenario, str(named), manifest, changed)


def find_event(batch: Batch, name: str) -> EventSpec:
    """The scenario's event called ``name``."""
    events = {event.name: event for event in batch.scenario.events}
    if name not in events:
        raise DiscoverError(f"--event {name}: not an event of {batch.scenario_file}. "
                            f"Allowed: {', '.join(events)}")
    return events[name]


def _parts(folder: Path, sub: str) -> dict[str, Path]:
    """The Parquet parts of ``folder/sub`` a reader would read, by name."""
    if not (folder / sub).is_dir():
        return {}
    return {p.stem: p for p in sorted((folder / sub).glob("*.parquet"))
            if not p.name.startswith((".", "_"))}


def _paired_parts(folder: Path) -> list[tuple[Path, Path | None, int]]:
    """Each results part, its inputs part and its rows (a part with no rows, a chunk
    whose draws failed, has no inputs)."""
    results, inputs = _parts(folder, RESULTS), _parts(folder, INPUTS)
    if not results:
        raise DiscoverError(f"{folder / RESULTS}: no Parquet parts")
    for name, path in inputs.items():
        if name not in results:
            raise DiscoverError(f"{path}: the inputs of no results part")
    paired = []
    for name, path in results.items():
        rows = _rows(path)
        if rows and name not in inputs:
            raise DiscoverError(f"{folder / INPUTS / path.name}: missing, but "
                                f"{path} has {rows:,} rounds")
        if rows and _rows(inputs[name]) != rows:
            raise DiscoverError(f"{inputs[name]}: not the {rows:,} rounds of {path}")
        paired.append((path, inputs.get(name), rows))
    return paired


def _rows(path: Path) -> int:
    try:
        return pq.read_metadata(path).num_rows
    except (OSError, ValueError) as error:
        raise DiscoverError(f"{path}: not a readable Parquet file ({error})") from None


def _read(path: Path, columns: list[str] | None, rows: np.ndarray) -> pd.DataFrame:
    try:
        present = pq.read_schema(path).names
        wanted = None if columns is None else [c for c in columns if c in present]
        table = pq.read_table(path, columns=wanted).take(rows)
    except (OSError, ValueError) as error:
        raise DiscoverError(f"{path}: not a readable Parquet file ({error})") from None
    return table.to_pandas()


def sample_rows(total: int, sample: int, seed: int = SAMPLE_SEED) -> np.ndarray:
    """Which of ``total`` rounds (numbered in part order) are read: all, or ``sample``
    of them without replacement, in order, from a generator of fixed ``seed``."""
    if total <= sample:
        return np.arange(total)
    return np.sort(np.random.default_rng(seed).choice(total, sample, replace=False))


def load_rounds(batch: Batch, event: EventSpec, sample: int = SAMPLE) -> Rounds:
    """Sampled rounds of the batch: their inputs and the event, read a part at a time
    (only the sampled rows of each are kept)."""
    measures = Measures.of(batch.scenario)
    paired = _paired_parts(batch.folder)
    total = sum(rows for _, _, rows in paired)
    chosen = sample_rows(total, sample)
    inputs, held, offset = [], [], 0
    for results_path, inputs_path, rows in paired:
        local = chosen[(chosen >= offset) & (chosen < offset + rows)] - offset
        offset += rows
        if local.size == 0:
            continue
        outcomes = _read(results_path, [*KEYS, *measures.event_inputs], local)
        drawn = _read(inputs_path, None, local)
        keys = [k for k in KEYS if k in drawn.columns]
        if not outcomes[keys].equals(drawn[keys]):
            raise DiscoverError(f"{inputs_path}: its rows are not the rounds of "
                                f"{results_path} (their {', '.join(keys)} differ)")
        inputs.append(drawn.drop(columns=keys))
        held.append(event_columns(outcomes, measures)[event.name])
    if not inputs:
        raise DiscoverError(f"{batch.folder / RESULTS}: no rounds")
    frame = pd.concat(inputs, ignore_index=True).astype(np.float64)
    partial = tuple(c for c in frame.columns if frame[c].isna().any())
    frame = frame.drop(columns=list(partial))
    varying = [c for c in frame.columns if frame[c].min() < frame[c].max()]
    if not varying:
        raise DiscoverError(f"{batch.folder / INPUTS}: no input varies across the rounds")
    return Rounds(frame[varying], np.concatenate(held).astype(bool), total, partial)


def check_event(rounds: Rounds, event: EventSpec, folder: Path) -> None:
    """PRIM needs rounds where the event holds and rounds where it does not."""
    count = int(rounds.event.sum())
    if count in (0, len(rounds.event)):
        which = "none" if count == 0 else "every one"
        raise DiscoverError(f"--event {event.name}: holds in {which} of the "
                            f"{len(rounds.event):,} rounds read from {folder}; PRIM needs "
                            "rounds with and without it")


def find_boxes(inputs: pd.DataFrame, event: np.ndarray, threshold: float = THRESHOLD,
               mass_min: float = MASS_MIN, peel_alpha: float = PEEL_ALPHA) -> Discovery:
    """PRIM's peeling and pasting trajectory over ``inputs`` for the rounds where
    ``event`` holds, and the box ``choose`` takes from it."""
    if ema_prim is None:
        raise DiscoverError("negsim discover needs the EMA Workbench's PRIM: "
                            "pip install 'negsim[discover]'")
    with warnings.catch_warnings():  # the library's own pandas deprecations
        warnings.simplefilter("ignore", DeprecationWarning)
        found = ema_prim.Prim(inputs.reset_index(drop=True), np.asarray(event, dtype=bool),
                              peel_alpha=peel_alpha, paste_alpha=peel_alpha,
                              mass_min=mass_min).find_box()
    full = found.box_lims[0]
    boxes = []
    for i, row in found.peeling_trajectory.reset_index(drop=True).iterrows():
        limits = found.box_lims[i]
        quasi_p = found.p_values[i]
        restricted = [c for c in limits.columns
                      if not np.array_equal(limits[c].to_numpy(), full[c].to_numpy())]
        boxes.append(Box(i, float(row["coverage"]), float(row["density"]), float(row["mass"]),
                         tuple(Limit(c, float(limits[c].iloc[0]), float(limits[c].iloc[1]),
                                     float(full[c].iloc[0]), float(full[c].iloc[1]),
                                     *_quasi_p(quasi_p.get(c)))
                               for c in restricted)))
    chosen, met = choose(boxes, threshold)
    return Discovery(tuple(boxes), chosen, threshold, met, float(np.mean(event)), len(event))


def _quasi_p(values: list[float] | None) -> tuple[float | None, float | None]:
    """The Workbench's quasi-p-values of a restriction (-1: that side not restricted)."""
    if values is None:
        return None, None
    low, high = (None if v is None or v < 0 or np.isnan(v) else float(v) for v in values)
    return low, high


def choose(boxes: list[Box] | tuple[Box, ...], threshold: float) -> tuple[int, bool]:
    """The box of largest coverage among those of density >= ``threshold`` (ties: the
    fewest restricted inputs, then the largest mass), and True; where no box reaches
    it, the densest (ties: the largest coverage), and False."""
    reaching = [b for b in boxes if b.density >= threshold]
    if reaching:
        best = max(reaching, key=lambda b: (b.coverage, -len(b.limits), b.mass, -b.id))
        return best.id, True
    return max(boxes, key=lambda b: (b.density, b.coverage, -b.id)).id, False


def boxes_table(discovery: Discovery) -> pd.DataFrame:
    """Every box of the trajectory, one row per (box, restricted input); a box that
    restricts nothing (the first: all rounds) has one row with no input."""
    rows = []
    for box in discovery.boxes:
        stats = {"box": box.id, "chosen": box.id == discovery.chosen,
                 "coverage": box.coverage, "density": box.density, "mass": box.mass,
                 "restricted": len(box.limits)}
        for limit in box.limits or (None,):
            rows.append(stats | ({"input": limit.input, "low": limit.low, "high": limit.high,
                                  "full_low": limit.full_low, "full_high": limit.full_high,
                                  "qp_low": limit.qp_low, "qp_high": limit.qp_high}
                                 if limit else {}))
    columns = ["box", "chosen", "coverage", "density", "mass", "restricted", "input", "low",
               "high", "full_low", "full_high", "qp_low", "qp_high"]
    return pd.DataFrame(rows).reindex(columns=columns)


def method() -> str:
    """What ran, for the record."""
    return (f"PRIM (Friedman & Fisher 1999), ema_workbench {version('ema_workbench')} "
            f"(lenient1 objective), peel_alpha = paste_alpha = {PEEL_ALPHA}")


def discovery_record(discovery: Discovery, batch: Batch, event: EventSpec, rounds: Rounds,
                     sample: int, mass_min: float) -> dict:
    """``discover.json``: what was asked, of which rounds, and every box found."""
    return {
        "folder": str(batch.folder),
        "scenario": batch.scenario.round.name,
        "scenario_file": batch.scenario_file,
        "event": event.name, "label": event.label, "when": event.when,
        "rounds": rounds.total, "sampled": discovery.rounds, "sample": sample,
        "sample_seed": SAMPLE_SEED,
        "base_rate": discovery.base_rate,
        "threshold": discovery.threshold, "threshold_met": discovery.threshold_met,
        "mass_min": mass_min, "method": method(),
        "inputs": list(rounds.inputs.columns), "left_out": list(rounds.left_out),
        "chosen": _box_record(discovery.box),
        "trajectory": [_box_record(box) for box in discovery.boxes],
    }


def _box_record(box: Box) -> dict:
    return {"box": box.id, "coverage": box.coverage, "density": box.density,
            "mass": box.mass,
            "limits": [{"input": lim.input, "low": lim.low, "high": lim.high,
                        "full_low": lim.full_low, "full_high": lim.full_high,
                        "qp_low": lim.qp_low, "qp_high": lim.qp_high} for lim in box.limits]}
