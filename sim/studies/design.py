"""Experiment files (sweeps, sensitivity): knobs over a scenario's keys, read and
checked, and the scenario of each design point.

A knob is a dotted scenario key (``context.third_party_pressure``,
``parties.russia.patience``) and how a design moves it:

- ``values = [a, b, ...]`` — set to each of these (a grid only);
- ``set = [low, high]``    — set to a value in the interval;
- ``add = [low, high]``    — the scenario's value (or both ends of its range) plus a
  number in the interval;
- ``scale = [low, high]``  — the scenario's value (or range) times a factor in it.

A knob on a parameter the scenario draws from its posterior (or shifts) moves the
value drawn, through the scenario's ``[[shift]]`` (``point_scenarios``). Each design
point's scenario goes through ``overrides.with_values``, so through the scenario's
own validation: a point outside a key's allowed range is an error naming
the experiment file, the knob and the point, before anything runs. Errors are
``InputError``: one line, exit status 2.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.errors import InputError
from sim.scenario.checks import read_file
from sim.scenario.overrides import (
    data_with_values,
    get_value,
    scenario_with,
    setting_values,
    shift,
    with_values,
)
from sim.scenario.spec import Scenario

MOVES = ("values", "set", "add", "scale")

@dataclass(frozen=True)
class Knob:
    """One scenario key moved by a design: ``move`` is one of ``MOVES``; ``low`` and
    ``high`` bound the interval (``values`` lists the choices of a ``values`` knob);
    ``levels`` is how many evenly spaced points a grid takes in the interval."""

    key: str
    move: str
    low: float = 0.0
    high: float = 0.0
    values: tuple[Any, ...] = ()
    levels: int = 0

    def grid(self) -> list[Any]:
        """This knob's coordinates in a grid design."""
        if self.move == "values":
            return list(self.values)
        if self.levels == 1:
            return [self.low]
        step = (self.high - self.low) / (self.levels - 1)
        inner = [float(f"{self.low + i * step:.12g}") for i in range(1, self.levels - 1)]
        return [self.low, *inner, self.high]

    @property
    def column(self) -> str:
        """The knob's column in results and tables: its key where the coordinate is the
        key's value (``values``, ``set``); ``KEY (scale)`` where it is a factor of the
        scenario's value (``0.5``: half of it), ``KEY (add)`` where it is an amount
        added to it — so that a factor is never read as the value."""
        return self.key if self.move in ("values", "set") else f"{self.key} ({self.move})"

    def scaled(self, unit: float) -> float:
        """The coordinate at ``unit`` in [0, 1] of the interval (for sampled designs)."""
        return self.low + unit * (self.high - self.low)

    def value(self, base: Any, coordinate: Any) -> Any:
        """The key's value at ``coordinate``, given its value ``base`` in the scenario."""
        if self.move in ("values", "set"):
            return coordinate
        if self.move == "add":
            return shift(base, coordinate)
        return shift(base, coordinate - 1.0, relative=True)


@dataclass(frozen=True)
class ExperimentFile:
    """An experiment file read and hashed: its top table and its list of knobs."""

    path: Path
    sha256: str
    settings: dict
    knobs: tuple[Knob, ...]
    scenario_path: Path


def _fail(path: Path, key: str, message: str):
    raise InputError(path, key, message)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def read_toml(path: str | Path) -> tuple[bytes, dict]:
    """An experiment file's bytes (for its hash) and its parsed TOML."""
    path = Path(path)
    raw = read_file(path)  # a regular file of bounded size
    try:
        return raw, tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        _fail(path, "", f"is not a readable TOML file: {error}")


def read_experiment(path: str | Path, section: str, knob_table: str, allowed: tuple[str, ...],
                    required: tuple[str, ...], grid: bool,
                    content: tuple[bytes, dict] | None = None) -> ExperimentFile:
    """Read ``path`` (or its ``content`` from ``read_toml``): a ``[section]`` table with
    the keys ``allowed`` (``scenario``, a path relative to the file, among them) and
    an array ``[[knob_table]]`` of knobs. ``grid``: whether knobs may use ``values``
    and must say ``levels``."""
    path = Path(path)
    raw, data = content or read_toml(path)
    for name in data:
        if name not in (section, knob_table):
            _fail(path, name, f"unknown table. Allowed: [{section}], [[{knob_table}]]")
    settings = data.get(section)
    if not isinstance(settings, dict):
        _fail(path, section, f"is required: a [{section}] table")
    for name in settings:
        if name not in allowed:
            _fail(path, f"{section}.{name}", f"unknown key. Allowed: {', '.join(allowed)}")
    for name in required:
        if name not in settings:
            _fail(path, f"{section}.{name}", "is required but missing")
    scenario = settings.get("scenario")
    if not isinstance(scenario, str) or not scenario:
        _fail(path, f"{section}.scenario", "must be the path of a scenario file, relative "
              "to this file")
    scenario_path = path.parent / scenario
    if not scenario_path.is_file():
        _fail(path, f"{section}.scenario", f"{scenario_path}: no such scenario file")
    entries = data.get(knob_table)
    if not isinstance(entries, list) or not entries:
        _fail(path, knob_table, f"needs at least one [[{knob_table}]] table with key = "
              f"\"a.dotted.scenario.key\" and one of {', '.join(_moves(grid))}")
    knobs = tuple(_knob(path, f"{knob_table}[{i}]", entry, grid)
                  for i, entry in enumerate(entries))
    keys = [k.key for k in knobs]
    for i, key in enumerate(keys):
        if key in keys[:i]:
            _fail(path, f"{knob_table}[{i}].key", f"'{key}' is moved twice")
    return ExperimentFile(path, hashlib.sha256(raw).hexdigest(), settings, knobs,
                          scenario_path)


def _moves(grid: bool) -> tuple[str, ...]:
    return MOVES if grid else MOVES[1:]


def _knob(path: Path, where: str, entry: Any, grid: bool) -> Knob:
    if not isinstance(entry, dict):
        _fail(path, where, "must be a table")
    moves = _moves(grid)
    allowed = ("key", *moves, "levels") if grid else ("key", *moves)
    for name in entry:
        if name == "values" and not grid:
            _fail(path, f"{where}.values", "is for grid sweeps: use set = [low, high]")
        if name == "levels" and not grid:
            _fail(path, f"{where}.levels", "is for grid sweeps; sampled designs choose their "
                  "points")
        if name not in allowed:
            _fail(path, f"{where}.{name}", f"unknown key. Allowed: {', '.join(allowed)}")
    key = entry.get("key")
    if not isinstance(key, str) or not key:
        _fail(path, f"{where}.key", "must be a dotted scenario key, e.g. "
              "\"context.third_party_pressure\"")
    given = [m for m in MOVES if m in entry]
    if len(given) != 1:
        _fail(path, where, f"needs exactly one of {', '.join(moves)}")
    move = given[0]
    value = entry[move]
    if move == "values":
        if not isinstance(value, list) or not value or not all(
                _number(v) or isinstance(v, str) for v in value):
            _fail(path, f"{where}.values", "must be a non-empty list of numbers or strings")
        if "levels" in entry:
            _fail(path, f"{where}.levels", "is for intervals (set, add, scale), not values")
        return Knob(key, move, values=tuple(value))
    if not (isinstance(value, list) and len(value) == 2 and all(_number(v) for v in value)
            and value[0] <= value[1]):
        _fail(path, f"{where}.{move}", "must be an interval [low, high] of numbers, low <= high")
    levels = entry.get("levels", 0)
    if grid and (not isinstance(levels, int) or isinstance(levels, bool) or levels < 1):
        _fail(path, f"{where}.levels", "a grid needs levels = N (an integer >= 1): how many "
              "evenly spaced points of the interval")
    return Knob(key, move, float(value[0]), float(value[1]), levels=levels if grid else 0)


def _shifted(shifts: list[dict], knob: Knob, coordinate: Any, path: Path, where: str,
             bounds: dict[str, tuple[float, float]]) -> list[dict]:
    """The scenario's ``[[shift]]`` entries with this knob's move folded into the one
    for its key: a shift applies to the value drawn, from a range or a posterior."""
    if not _number(coordinate):
        _fail(path, where, f"'{knob.key}' is drawn from the scenario's posterior or "
              f"shifted by it: its values must be numbers, got {coordinate!r}")
    old = next((s for s in shifts if s.get("key") == knob.key), {})
    scale, add = float(old.get("scale", 1.0)), float(old.get("add", 0.0))
    if knob.move in ("values", "set"):
        low, high = bounds[knob.key]
        if not low <= coordinate <= high:
            _fail(path, where, f"'{knob.key}' = {coordinate!r} is out of range: allowed "
                  f"[{low:g}, {high:g}]")
        scale, add = 0.0, float(coordinate)
    elif knob.move == "add":
        add += coordinate
    else:
        scale, add = scale * coordinate, add * coordinate
    return [s for s in shifts if s.get("key") != knob.key] + [
        {"key": knob.key, "scale": scale, "add": add, "why": f"design knob of {path.name}"}]


def base_scenario(experiment: ExperimentFile, settings: Mapping[str, Any]
                  ) -> tuple[Scenario, dict[str, Any]]:
    """The experiment's scenario with the command line's ``--set`` changes
    (``overrides.setting_values``), and those changes as keys to set."""
    try:
        as_filed = scenario_with(experiment.scenario_path, {})
        values = setting_values(as_filed, settings)
        return (with_values(experiment.scenario_path, values) if values else as_filed), values
    except InputError:
        raise
    except ValueError as error:  # a drawn key set to a range
        _fail(experiment.scenario_path, "", str(error))


def point_scenarios(experiment: ExperimentFile, points: list[tuple[Any, ...]],
                    knob_table: str, settings: Mapping[str, Any] | None = None
                    ) -> list[Scenario]:
    """The scenario of each design point (one coordinate per knob), validated.

    ``settings`` (``--set``) change the scenario first; a knob on the same key moves
    it from there. A knob on a key the scenario draws from its posterior, or shifts,
    moves the value drawn (through the scenario's ``[[shift]]``): setting the key's
    range would be overridden by the posterior. Any other knob sets the key's value
    or range."""
    scenario, set_values = base_scenario(experiment, settings or {})
    base, _ = data_with_values(experiment.scenario_path, set_values)
    base_shifts = [dict(s) for s in base.get("shift", []) if isinstance(s, dict)]
    through_shift = {s.get("key") for s in base_shifts} | set(
        scenario.posterior.keys if scenario.posterior is not None else ())
    bounds = {key: (low, high) for key, low, high in scenario.bounds}
    scenarios = []
    for p, point in enumerate(points):
        values: dict[str, Any] = dict(set_values)
        shifts = base_shifts
        for i, (knob, coordinate) in enumerate(zip(experiment.knobs, point, strict=True)):
            where = f"{knob_table}[{i}]"
            if knob.key in through_shift:
                shifts = _shifted(shifts, knob, coordinate, experiment.path, where, bounds)
                continue
            try:
                start = None if knob.move in ("values", "set") else get_value(
                    base, knob.key, experiment.scenario_path)
            except InputError as error:
                _fail(experiment.path, f"{where}.key", f"'{knob.key}': "
                      f"{error.message} in {experiment.scenario_path}")
            values[knob.key] = knob.value(start, coordinate)
        if shifts is not base_shifts:
            values["shift"] = shifts
        try:
            scenarios.append(with_values(experiment.scenario_path, values))
        except InputError as error:
            index = next((i for i, k in enumerate(experiment.knobs)
                          if k.key == error.key or k.key.startswith(f"{error.key}.")), None)
            where = f"{knob_table}[{index}]" if index is not None else knob_table
            _fail(experiment.path, where, f"design point {p} ("
                  f"{_show(experiment.knobs, point)}) is not a valid scenario: {error.key}: "
                  f"{error.message}")
    return scenarios


def _show(knobs: tuple[Knob, ...], point: tuple[Any, ...]) -> str:
    return ", ".join(f"{k.key} {k.move} {c!r}" for k, c in zip(knobs, point, strict=True))
