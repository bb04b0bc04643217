"""Sensitivity: Sobol indices of a round's outcomes with respect to chosen parameters.

A sensitivity file (``experiments/*-sensitivity.toml``)::

    [sensitivity]
    scenario = "../scenarios/june-20-30-2025.toml"   # relative to this file
    base_samples = 32      # N, a power of two: N x (parameters + 2) design points
    replicates = 1000      # rounds per design point
    seed = 0
    resamples = 500        # bootstrap resamples for the confidence intervals
    outcomes = ["walkout", "duration_minutes.p50"]   # optional (default_outcomes)

    [[parameters]]
    key = "context.third_party_pressure"
    set = [0.0, 0.6]       # or add = [low, high], scale = [low, high] (sim.studies.design)

``sample`` draws the design with Saltelli's scheme on a scrambled Sobol' sequence
(SALib, seeded), the rounds of every point run as a batch (same seed at every point:
common random numbers), and ``analyze`` estimates for each outcome — an event's
probability, or a quantile of a quantity — the first-order index S1 (the share of
the outcome's variance over the design that a parameter explains alone) and the
total index ST (alone and with the others), each with a 95% bootstrap interval
(Saltelli et al. 2010, as implemented by SALib). An outcome estimated from a finite
number of rounds carries Monte Carlo noise, which no parameter explains: with too
few replicates the indices understate the parameters.

An index is *resolved* (``resolved``) when its 95% interval is narrow enough to read:
a half-width of at most ``RESOLUTION`` (0.1), and S1 and ST inside [0, 1] — the range
of a share of variance — up to that half-width. Estimates outside [0, 1] or with wide
intervals come from too few base samples (the estimators converge as 1/sqrt(N):
Saltelli et al. 2010, section 3); ``resolution`` sums them up for the report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from SALib.analyze import sobol as sobol_analysis
from SALib.sample import sobol as sobol_sampling

from sim.batch.chunks import CHUNK_SIZE, ChunkTask, chunk_tasks
from sim.errors import InputError
from sim.scenario.spec import Scenario
from sim.stats.summary import QUANTILES, Measures
from sim.studies.design import ExperimentFile, base_scenario, point_scenarios, read_experiment
from sim.studies.sweep import integer_setting

SETTINGS = ("scenario", "base_samples", "replicates", "seed", "resamples", "outcomes",
            "chunk_size")

#: The widest 95% half-width of a resolved index, and how far outside [0, 1] it may be.
RESOLUTION = 0.1


def allowed_outcomes(scenario: Scenario) -> tuple[str, ...]:
    """Outcomes an analysis can take: each event's probability, each quantity's
    quantiles (``<column>.p05`` ... ``.p95``)."""
    measures = Measures.of(scenario)
    return (*(e.name for e in measures.events),
            *(f"{q.column}.{key}" for q in measures.quantities for key in QUANTILES))


@dataclass(frozen=True)
class Sensitivity:
    """A sensitivity file read and checked, with its design and its scenarios."""

    experiment: ExperimentFile
    base_samples: int
    replicates: int
    seed: int
    resamples: int
    chunk_size: int
    outcomes: tuple[str, ...]
    design: np.ndarray  # (points, parameters): the coordinate of each parameter
    scenarios: tuple[Scenario, ...]

    @property
    def problem(self) -> dict:
        """SALib's description of the parameters (names and bounds)."""
        knobs = self.experiment.knobs
        return {"num_vars": len(knobs), "names": [k.key for k in knobs],
                "bounds": [[k.low, k.high] for k in knobs]}

    def tasks(self) -> list[ChunkTask]:
        """Every chunk of every design point; parts named ``point-PPPPP-CCCCC``."""
        width = max(5, len(str(len(self.scenarios) - 1)))
        tasks = []
        for p, scenario in enumerate(self.scenarios):
            labels = (("point", p), *((k.column, float(c)) for k, c in
                                      zip(self.experiment.knobs, self.design[p], strict=True)))
            tasks += chunk_tasks(scenario, self.replicates, self.seed, self.chunk_size, labels,
                                 prefix=f"point-{p:0{width}d}")
        return tasks


def sample(problem: dict, base_samples: int, seed: int) -> np.ndarray:
    """Saltelli's design for first and total indices: ``N (D + 2)`` points."""
    return sobol_sampling.sample(problem, base_samples, calc_second_order=False, seed=seed)


def default_outcomes(scenario: Scenario) -> tuple[str, ...]:
    """Without ``outcomes``: each event on the scenario's agenda, and the median and
    the 10% and 90% quantiles of each quantity."""
    measures = Measures.of(scenario)
    return (*(e.name for e in measures.events if measures.on_agenda(e)),
            *(f"{q.column}.{key}" for q in measures.quantities for key in ("p10", "p50", "p90")))


def load_sensitivity(path: str | Path, settings: Mapping[str, Any] | None = None
                     ) -> Sensitivity:
    """Read a sensitivity file and build the scenario of each design point
    (``settings``: keys of the scenario changed first, as by ``--set``)."""
    experiment = read_experiment(path, "sensitivity", "parameters", SETTINGS,
                                 ("scenario", "base_samples", "replicates"), grid=False)
    base_samples = integer_setting(experiment, "sensitivity", "base_samples", 2)
    if base_samples & (base_samples - 1):
        raise InputError(experiment.path, "sensitivity.base_samples",
                         f"must be a power of two (Sobol' sequences), got {base_samples}")
    for i, knob in enumerate(experiment.knobs):
        if knob.low == knob.high:
            raise InputError(experiment.path, f"parameters[{i}]", f"'{knob.key}': an interval "
                             "of width zero has no effect to measure")
    base = base_scenario(experiment, settings or {})[0]
    allowed = allowed_outcomes(base)
    outcomes = experiment.settings.get("outcomes", list(default_outcomes(base)))
    if not isinstance(outcomes, list) or not outcomes or not all(o in allowed
                                                                 for o in outcomes):
        raise InputError(experiment.path, "sensitivity.outcomes",
                         f"must be a list of outcomes. Allowed: {', '.join(allowed)}")
    seed = integer_setting(experiment, "sensitivity", "seed", 0, 0)
    knobs = experiment.knobs
    problem = {"num_vars": len(knobs), "names": [k.key for k in knobs],
               "bounds": [[k.low, k.high] for k in knobs]}
    design = sample(problem, base_samples, seed)
    points = [tuple(float(c) for c in row) for row in design]
    return Sensitivity(
        experiment=experiment,
        base_samples=base_samples,
        replicates=integer_setting(experiment, "sensitivity", "replicates", 1),
        seed=seed,
        resamples=integer_setting(experiment, "sensitivity", "resamples", 10, 500),
        chunk_size=integer_setting(experiment, "sensitivity", "chunk_size", 1, CHUNK_SIZE),
        outcomes=tuple(outcomes),
        design=design,
        scenarios=tuple(point_scenarios(experiment, points, "parameters", settings)),
    )


def outcome_value(summary: dict, outcome: str) -> float:
    """An outcome of a design point's summary (NaN where undefined, e.g. the median
    of an exchange never agreed)."""
    if outcome in summary["events"]:
        value = summary["events"][outcome]["p"]
    else:
        column, key = outcome.rsplit(".", 1)
        value = summary["quantiles"][column][key]
    return np.nan if value is None else float(value)


def bootstrap_seed(seed: int) -> int:
    """The seed handed to SALib's bootstrap: ``seed + 1``, because SALib's
    ``sobol.analyze`` seeds its resampling only ``if seed:`` — a seed of 0 (the
    default of a sensitivity file) would leave the intervals to chance, different at
    every run."""
    return seed + 1


def analyze(problem: dict, outcomes: pd.DataFrame, resamples: int, seed: int
            ) -> pd.DataFrame:
    """Sobol indices of each outcome column (one value per design point, in design
    order): one row per (outcome, parameter) with ``S1``, ``ST`` and the half-widths
    of their 95% intervals; ``note`` says why an outcome has none (it does not vary
    over the design, or is undefined at some points)."""
    rows: list[dict[str, Any]] = []
    for outcome in outcomes.columns:
        values = outcomes[outcome].to_numpy(dtype=float)
        note = ""
        if not np.all(np.isfinite(values)):
            note = "undefined at some design points"
        elif np.ptp(values) == 0:
            note = "the same at every design point"
        indices = None if note else sobol_analysis.analyze(
            problem, values, calc_second_order=False, num_resamples=resamples,
            conf_level=0.95, seed=bootstrap_seed(seed))
        for j, name in enumerate(problem["names"]):
            rows.append({"outcome": outcome, "parameter": name} | (
                {"S1": np.nan, "S1_ci95": np.nan, "ST": np.nan, "ST_ci95": np.nan}
                if indices is None else
                {"S1": float(indices["S1"][j]), "S1_ci95": float(indices["S1_conf"][j]),
                 "ST": float(indices["ST"][j]), "ST_ci95": float(indices["ST_conf"][j])})
                | {"note": note})
    table = pd.DataFrame(rows)
    table["resolved"] = resolved(table)
    return table


def resolved(indices: pd.DataFrame, limit: float = RESOLUTION) -> pd.Series:
    """For each row of ``analyze``: whether both its indices are resolved — each 95%
    half-width at most ``limit``, each index within [0, 1] up to its half-width. None
    where there are no indices (an outcome that does not vary)."""
    def ok(index: str) -> pd.Series:
        value, half = indices[index], indices[f"{index}_ci95"]
        return (half <= limit) & (value >= -half) & (value <= 1 + half)

    computed = indices[["S1", "ST"]].notna().all(axis=1)
    both = ok("S1") & ok("ST")
    return pd.Series([bool(b) if c else None for b, c in zip(both, computed, strict=True)],
                     index=indices.index, dtype=object)


def resolution(indices: pd.DataFrame, limit: float = RESOLUTION) -> dict[str, Any]:
    """How well ``analyze``'s indices are resolved: the rule, how many are not, and
    the widest interval (half-width, and where)."""
    computed = indices[indices[["S1", "ST"]].notna().all(axis=1)]
    summary: dict[str, Any] = {
        "rule": f"95% interval half-width <= {limit:g}, and S1 and ST within [0, 1] up "
                "to it",
        "half_width_limit": limit, "rows": len(computed),
        "unresolved": int((~computed["resolved"].astype(bool)).sum()),
        "widest": None}
    if len(computed):
        halves = computed[["S1_ci95", "ST_ci95"]]
        row, column = np.unravel_index(np.argmax(halves.to_numpy()), halves.shape)
        widest = computed.iloc[row]
        summary["widest"] = {"half_width": float(halves.iat[row, column]),
                             "outcome": widest["outcome"], "parameter": widest["parameter"],
                             "index": ("S1", "ST")[column]}
    return summary
