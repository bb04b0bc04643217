"""The evidence and the priors of a calibration, read and checked.

``calibration/observations.toml`` lists what was reported of each round (a value or
a range per outcome column, with its source); ``calibration/priors.toml`` the free
parameters (scenario keys) with their prior distributions and reasons. Every problem
is an ``InputError`` naming the file, the key and what is allowed.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from sim.errors import InputError
from sim.scenario.checks import number, read_toml, table
from sim.scenario.load import build_scenario, read_scenario_data
from sim.scenario.spec import Scenario


def observable(scenario: Scenario) -> dict[str, tuple[float, float, float]]:
    """Outcome columns a fact can be about, with their possible values and the value a
    round has where the issue was not agreed (nothing exchanged, the lowest level):
    ``<issue>_value`` (``<issue>_level`` for a compound issue), ``<issue>_agreed``,
    ``duration_minutes`` and ``walkout``."""
    columns: dict[str, tuple[float, float, float]] = {}
    for spec in scenario.issues:
        if spec.compound:
            columns[f"{spec.name}_level"] = (0, spec.top_level, 0)
        else:
            low, high = spec.scale.minimum, spec.scale.maximum
            columns[f"{spec.name}_value"] = (low, high, low)
        columns[f"{spec.name}_agreed"] = (0, 1, 0)
    return columns | {"duration_minutes": (0, 24 * 60, 0), "walkout": (0, 1, 0)}

DISTRIBUTIONS = ("uniform", "loguniform", "beta")


@dataclass(frozen=True)
class Fact:
    """One reported fact: the column's value lay in ``[low, high]``."""

    column: str
    low: float
    high: float
    scale: float
    source: str
    missing: float = 0.0  # the value of a round that did not agree the issue

    def discrepancy(self, simulated: np.ndarray) -> np.ndarray:
        """Distance outside the reported value or range, in units of ``scale``."""
        x = np.asarray(simulated, dtype=float)
        x = np.where(np.isnan(x), self.missing, x)
        return (np.maximum(self.low - x, 0) + np.maximum(x - self.high, 0)) / self.scale

    def reported_as(self, simulated: float) -> Fact:
        """The fact a report of ``simulated`` would make, worded as this one is: a
        range of the same width centred on it (a point where this is a point); a
        round that did not agree the issue (NaN) is reported at ``missing``. Used to
        make synthetic rounds for recovery tests and model choice."""
        value = self.missing if np.isnan(simulated) else float(simulated)
        half = (self.high - self.low) / 2
        return Fact(self.column, value - half, value + half, self.scale, "synthetic",
                    self.missing)

    def label(self) -> str:
        shown = f"{self.low:g}" if self.low == self.high else f"{self.low:g}-{self.high:g}"
        return f"{self.column} = {shown}"


@dataclass(frozen=True)
class ObservedRound:
    name: str
    date: str
    scenario: Scenario
    facts: tuple[Fact, ...]


@dataclass(frozen=True)
class Prior:
    """Independent priors over the free parameters (scenario keys)."""

    keys: tuple[str, ...]
    kinds: tuple[str, ...]
    low: np.ndarray
    high: np.ndarray
    shape_a: np.ndarray  # beta parameters (unused by the other distributions)
    shape_b: np.ndarray
    why: tuple[str, ...]

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``(n, parameters)`` draws, one column at a time in key order."""
        out = np.empty((n, len(self.keys)))
        for j, kind in enumerate(self.kinds):
            lo, hi = self.low[j], self.high[j]
            if kind == "uniform":
                out[:, j] = rng.uniform(lo, hi, n)
            elif kind == "loguniform":
                out[:, j] = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
            else:
                out[:, j] = lo + (hi - lo) * rng.beta(self.shape_a[j], self.shape_b[j], n)
        return out

    def density(self, theta: np.ndarray) -> np.ndarray:
        """Joint prior density of ``(n, parameters)`` points (0 outside the support)."""
        dens = np.ones(theta.shape[0])
        for j, kind in enumerate(self.kinds):
            x, lo, hi = theta[:, j], self.low[j], self.high[j]
            inside = (x >= lo) & (x <= hi)
            if kind == "uniform":
                d = np.full_like(x, 1.0 / (hi - lo))
            elif kind == "loguniform":
                d = 1.0 / (np.maximum(x, 1e-300) * np.log(hi / lo))
            else:
                d = stats.beta.pdf((x - lo) / (hi - lo), self.shape_a[j],
                                   self.shape_b[j]) / (hi - lo)
            dens *= np.where(inside, d, 0.0)
        return dens

    def to_free(self, theta: np.ndarray) -> np.ndarray:
        """Map parameters to unbounded coordinates (the logit of their place in the
        support), where a Gaussian perturbation never leaves the support."""
        share = np.clip((theta - self.low) / (self.high - self.low), 1e-12, 1 - 1e-12)
        return np.log(share) - np.log1p(-share)

    def from_free(self, z: np.ndarray) -> np.ndarray:
        return self.low + (self.high - self.low) / (1.0 + np.exp(-z))

    def free_density(self, z: np.ndarray) -> np.ndarray:
        """The prior density in the unbounded coordinates (with the Jacobian)."""
        share = 1.0 / (1.0 + np.exp(-z))
        jacobian = np.prod((self.high - self.low) * share * (1.0 - share), axis=1)
        return self.density(self.from_free(z)) * jacobian

    def moments(self, draws: int = 200_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of each parameter under the prior."""
        sample = self.sample(draws, np.random.default_rng(seed))
        return sample.mean(axis=0), sample.std(axis=0)

    def scaled(self, factor: float, bounds: Mapping[str, tuple[float, float]]) -> Prior:
        """Every prior's support widened (``factor`` > 1) or narrowed around its centre
        (``scaled_support``), within its key's allowed range (``bounds``, by key): the
        prior sensitivity of ``negsim calibrate --prior-scale``."""
        pairs = [scaled_support(kind, lo, hi, factor, bounds[key]) for key, kind, lo, hi
                 in zip(self.keys, self.kinds, self.low, self.high, strict=True)]
        return replace(self, low=np.array([p[0] for p in pairs]),
                       high=np.array([p[1] for p in pairs]))


def scaled_support(kind: str, low: float, high: float, factor: float,
                   bounds: tuple[float, float]) -> tuple[float, float]:
    """A prior's support ``[low, high]`` scaled by ``factor`` around its centre, on the
    prior's own scale (the geometric centre and ratios of a log-uniform), then clipped
    to the key's allowed range ``bounds`` (and kept above 0 for a log-uniform); a beta
    keeps its shape on the new support."""
    if kind == "loguniform":
        centre, half = np.sqrt(low * high), np.sqrt(high / low) ** factor
        return float(max(centre / half, bounds[0], 1e-12)), float(min(centre * half, bounds[1]))
    centre, half = (low + high) / 2, (high - low) / 2 * factor
    return float(max(centre - half, bounds[0])), float(min(centre + half, bounds[1]))


def calibration_scenario_data(path: Path) -> tuple[dict, str]:
    """A round's scenario file as data (``read_scenario_data``) without its
    ``[posterior]`` (the calibration supplies those parameters; the file may not exist
    yet), and the text it came from."""
    data, sources = read_scenario_data(path)
    data.pop("posterior", None)
    return data, sources


def load_calibration_scenario(path: Path) -> Scenario:
    """A round's scenario as calibration replays it (``calibration_scenario_data``)."""
    data, sources = calibration_scenario_data(path)
    return build_scenario(data, path, sources)


def load_observations(path: str | Path) -> tuple[tuple[ObservedRound, ...], str]:
    """The observed rounds and the file's sha256."""
    path = Path(path)
    data, digest = read_toml(path)
    top = table(path, "", data, ("rounds",), ("rounds",))
    rounds_table = top["rounds"]
    if not isinstance(rounds_table, dict) or not rounds_table:
        raise InputError(path, "rounds", "needs at least one [rounds.NAME] table")
    rounds = []
    for name, body in rounds_table.items():
        key = f"rounds.{name}"
        t = table(path, key, body, ("scenario", "date", "observed"), ("scenario", "observed"))
        if not isinstance(t["scenario"], str):
            raise InputError(path, f"{key}.scenario", "must be the path of a scenario file")
        scenario = load_calibration_scenario(path.parent / t["scenario"])
        observed = t["observed"]
        if not isinstance(observed, list) or not observed:
            raise InputError(path, f"{key}.observed", "needs at least one [[...observed]] fact")
        facts = tuple(_fact(path, f"{key}.observed[{i}]", entry, scenario)
                      for i, entry in enumerate(observed))
        rounds.append(ObservedRound(name, str(t.get("date", "")), scenario, facts))
    return tuple(rounds), digest


def _fact(path: Path, key: str, entry: Any, scenario: Scenario) -> Fact:
    t = table(path, key, entry, ("column", "value", "range", "scale", "source"),
               ("column", "scale", "source"))
    column = t["column"]
    columns = observable(scenario)
    if column not in columns:
        close = difflib.get_close_matches(str(column), list(columns), n=1)
        hint = f"; did you mean '{close[0]}'? " if close else ". "
        raise InputError(path, f"{key}.column", f"unknown outcome column {column!r}{hint}"
                         "Allowed: " + ", ".join(columns))
    if ("value" in t) == ("range" in t):
        raise InputError(path, key, "needs exactly one of value = X or range = [low, high]")
    if "value" in t:
        low = high = number(path, f"{key}.value", t["value"])
    else:
        pair = t["range"]
        if not isinstance(pair, list) or len(pair) != 2:
            raise InputError(path, f"{key}.range", "must be [low, high]")
        low, high = (number(path, f"{key}.range", v) for v in pair)
        if low > high:
            raise InputError(path, f"{key}.range", f"[{low:g}, {high:g}] has low > high")
    lo, hi, missing = columns[column]
    if low < lo or high > hi:
        raise InputError(path, f"{key}.{'value' if 'value' in t else 'range'}",
                         f"{column} can only be within [{lo:g}, {hi:g}]")
    scale = number(path, f"{key}.scale", t["scale"])
    if scale <= 0:
        raise InputError(path, f"{key}.scale", "must be > 0")
    if not isinstance(t["source"], str) or not t["source"].strip():
        raise InputError(path, f"{key}.source", "must name the source of the fact")
    return Fact(column, low, high, scale, t["source"], missing)


def load_priors(path: str | Path, scenarios: tuple[Scenario, ...]) -> tuple[Prior, str]:
    """The priors and the file's sha256, checked against the scenarios they drive: every
    key must be a parameter of each scenario, its support inside the key's range."""
    path = Path(path)
    data, digest = read_toml(path)
    top = table(path, "", data, ("parameters",), ("parameters",))
    params = top["parameters"]
    if not isinstance(params, dict) or not params:
        raise InputError(path, "parameters", "needs at least one [parameters.\"KEY\"] table")
    keys, kinds, lows, highs, a_s, b_s, whys = [], [], [], [], [], [], []
    for key, body in params.items():
        at = f'parameters."{key}"'
        t = table(path, at, body, ("distribution", "low", "high", "a", "b", "why"),
                   ("distribution", "low", "high", "why"))
        kind = t["distribution"]
        if kind not in DISTRIBUTIONS:
            raise InputError(path, f"{at}.distribution", f"{kind!r} is not allowed. "
                             "Allowed: " + ", ".join(DISTRIBUTIONS))
        low, high = number(path, f"{at}.low", t["low"]), number(path, f"{at}.high", t["high"])
        if not low < high:
            raise InputError(path, at, f"impossible support: low {low:g} must be < high {high:g}")
        if kind == "loguniform" and low <= 0:
            raise InputError(path, f"{at}.low", "a log-uniform prior needs low > 0")
        a = number(path, f"{at}.a", t.get("a", 1.0))
        b = number(path, f"{at}.b", t.get("b", 1.0))
        if kind == "beta" and (a <= 0 or b <= 0 or "a" not in t or "b" not in t):
            raise InputError(path, at, "a beta prior needs a > 0 and b > 0")
        for scenario in scenarios:
            bounds = {k: (lo, hi) for k, lo, hi in scenario.bounds}
            if key not in bounds:
                close = difflib.get_close_matches(key, list(bounds), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise InputError(path, at, f"is not a parameter of {scenario.path}{hint}")
            lo, hi = bounds[key]
            if low < lo or high > hi:
                raise InputError(path, at, f"impossible support [{low:g}, {high:g}]: the "
                                 f"parameter can only be within [{lo:g}, {hi:g}]")
        if not isinstance(t["why"], str) or not t["why"].strip():
            raise InputError(path, f"{at}.why", "must give the reason for the prior")
        keys.append(key)
        kinds.append(kind)
        lows.append(low)
        highs.append(high)
        a_s.append(a)
        b_s.append(b)
        whys.append(t["why"])
    prior = Prior(tuple(keys), tuple(kinds), np.array(lows), np.array(highs), np.array(a_s),
                  np.array(b_s), tuple(whys))
    return prior, digest
