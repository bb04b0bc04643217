"""Sweeps: a scenario run at every point of a design over its knobs.

A sweep file (``experiments/*-sweep.toml``)::

    [sweep]
    scenario = "../scenarios/june-20-30-2025.toml"   # relative to this file
    design = "grid"            # or "latin_hypercube"
    points = 20                # latin_hypercube: how many design points
    replicates = 2000          # rounds per design point
    seed = 0
    chunk_size = 2000          # optional (default: sim.batch.chunks.CHUNK_SIZE)

    [[knobs]]
    key = "context.third_party_pressure"
    set = [0.0, 0.6]
    levels = 4                 # grid: evenly spaced points of the interval

A grid takes every combination of the knobs' levels (``values`` lists them
outright); a Latin hypercube (``scipy.stats.qmc``, seeded with ``seed``) spreads
``points`` over the knobs' intervals. Every design point runs with the same batch
seed — common random numbers: points differ by their knobs, not by their luck, so a
knob's effect shows with fewer replicates.

The results are one tidy table, ``(design point, replicate) -> outcomes``: the
columns ``point`` and one per knob (its coordinate) follow the ids of every row. A
knob's column is its key where the coordinate is the key's value (``set``,
``values``), and ``KEY (scale)`` or ``KEY (add)`` where it is a factor of, or an
amount added to, the scenario's value (``Knob.column``). ``design_table`` gives the
outcome distribution of each point; ``for_people`` rounds it for ``points.csv`` and
``format_points`` prints it (the Parquet results and ``summary.json`` keep every
digit).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import qmc

from sim.batch.chunks import CHUNK_SIZE, ChunkTask, chunk_tasks
from sim.errors import InputError
from sim.scenario.spec import Scenario
from sim.stats.summary import QUANTILES, percent
from sim.studies.design import ExperimentFile, point_scenarios, read_experiment, read_toml
from sim.studies.labels import coordinate_label

DESIGNS = ("grid", "latin_hypercube")
SETTINGS = ("scenario", "design", "points", "replicates", "seed", "chunk_size")


@dataclass(frozen=True)
class Sweep:
    """A sweep file read and checked, with its design points and their scenarios."""

    experiment: ExperimentFile
    design: str
    replicates: int
    seed: int
    chunk_size: int
    points: tuple[tuple[Any, ...], ...]  # one coordinate per knob
    scenarios: tuple[Scenario, ...]

    def tasks(self) -> list[ChunkTask]:
        """Every chunk of every design point; parts named ``point-PPPP-CCCCC``."""
        width = max(4, len(str(len(self.points) - 1)))
        tasks = []
        for p, (point, scenario) in enumerate(zip(self.points, self.scenarios, strict=True)):
            labels = (("point", p), *((k.column, c) for k, c in zip(self.experiment.knobs,
                                                                     point, strict=True)))
            tasks += chunk_tasks(scenario, self.replicates, self.seed, self.chunk_size,
                                 labels, prefix=f"point-{p:0{width}d}")
        return tasks


def integer_setting(experiment: ExperimentFile, section: str, name: str, low: int,
                    default: int | None = None) -> int:
    """An integer key of the experiment's top table, at least ``low`` and at most
    2**63 - 1 (seeds, run ids and counts are stored as 64-bit integers)."""
    value = experiment.settings.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value < 2**63:
        raise InputError(experiment.path, f"{section}.{name}",
                         f"must be an integer within [{low}, {2**63 - 1}], got {value!r}")
    return value


def load_sweep(path: str | Path, settings: Mapping[str, Any] | None = None) -> Sweep:
    """Read a sweep file and build the scenario of each design point (``settings``:
    keys of the scenario changed first, as by ``--set``)."""
    path = Path(path)
    content = read_toml(path)
    table = content[1].get("sweep")
    design = table.get("design", "grid") if isinstance(table, dict) else "grid"
    if design not in DESIGNS:
        raise InputError(path, "sweep.design",
                         f"{design!r} is not a design. Allowed: {', '.join(DESIGNS)}")
    grid = design == "grid"
    experiment = read_experiment(path, "sweep", "knobs", SETTINGS, ("scenario", "replicates")
                                 + (() if grid else ("points",)), grid, content)
    if grid and "points" in experiment.settings:
        raise InputError(path, "sweep.points", "is for latin_hypercube designs; a grid's "
                         "points are the combinations of its knobs' levels")
    seed = integer_setting(experiment, "sweep", "seed", 0, 0)
    if grid:
        points = list(itertools.product(*(knob.grid() for knob in experiment.knobs)))
    else:
        count = integer_setting(experiment, "sweep", "points", 1)
        sampler = qmc.LatinHypercube(d=len(experiment.knobs), rng=np.random.default_rng(seed))
        points = [tuple(float(knob.scaled(u)) for knob, u in zip(experiment.knobs, row,
                                                                  strict=True))
                  for row in sampler.random(count)]
    return Sweep(
        experiment=experiment,
        design=design,
        replicates=integer_setting(experiment, "sweep", "replicates", 1),
        seed=seed,
        chunk_size=integer_setting(experiment, "sweep", "chunk_size", 1, CHUNK_SIZE),
        points=tuple(points),
        scenarios=tuple(point_scenarios(experiment, points, "knobs", settings)),
    )


def distribution_row(summary: dict) -> dict[str, Any]:
    """One design point's outcome distribution as flat columns: ``runs``,
    ``failures``, ``<event>.p`` with ``.ci95_low``/``.ci95_high`` (events on the
    agenda), ``<quantity>.n`` and ``<quantity>.p05`` ... ``.p95``."""
    row: dict[str, Any] = {"runs": summary["runs"], "failures": summary["failures"]["count"]}
    for name, event in summary["events"].items():
        if event["on_agenda"]:
            row[f"{name}.p"] = event["p"]
            row[f"{name}.ci95_low"], row[f"{name}.ci95_high"] = event["ci95"]
    for column, quantile in summary["quantiles"].items():
        row[f"{column}.n"] = quantile["n"]
        for key in QUANTILES:
            row[f"{column}.{key}"] = np.nan if quantile[key] is None else quantile[key]
    return row


def design_table(labels: list[tuple[tuple[str, Any], ...]], summaries: list[dict]
                 ) -> pd.DataFrame:
    """The outcome distribution per design point: its labels (point, knobs), then
    ``distribution_row``."""
    return pd.DataFrame([dict(label) | distribution_row(summary)
                         for label, summary in zip(labels, summaries, strict=True)])


def format_points(table: pd.DataFrame, knobs: list[str], columns: list[str]) -> str:
    """The per-point table as people read it: each knob's coordinate (``×0.5`` for a
    scale knob, ``+0.1`` for an add knob), rounds with thousands separators, event
    probabilities in percent (as ``negsim run`` prints them), quantiles in whole
    units; ``-`` where a quantile is undefined."""
    def cell(column: str, value) -> str:
        if column in knobs:
            return coordinate_label(column, value)
        if pd.isna(value):
            return "-"
        if column.endswith(".p"):
            return percent(value)
        return f"{value:,.0f}"

    shown = pd.DataFrame({column: [cell(column, v) for v in table[column]]
                          for column in ("point", *knobs, *columns) if column in table})
    shown["point"] = table["point"].astype(str)
    return shown.to_string(index=False)
