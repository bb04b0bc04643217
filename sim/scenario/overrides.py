"""Changing a scenario's keys from code and from the command line: ``--set KEY=VALUE``
on every command that runs a scenario, the design points of sweeps and the levers of
what-if searches.

A key is a dotted path into the scenario file (``"context.third_party_pressure"``,
``"parties.russia.issues.children.red_line"``). The changed data goes through the
same validation as a file, so a change that leaves the allowed range is a
``ScenarioError`` naming the key.

A key the scenario draws from its posterior (or shifts) is *drawn*: its value in the
file is not used, so a setting of it becomes the shift ``scale = 0, add = value``
(every replicate takes exactly that value) and a move adds to its shift.
"""

from __future__ import annotations

import copy
import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.scenario.load import build_scenario, load_scenario, read_scenario_data
from sim.scenario.spec import Scenario, ScenarioError

#: The ``why`` of a shift made by ``--set`` on a drawn key (kept with the results).
SET_WHY = "set from the command line"


#: Top-level tables a file may leave out (all their keys have defaults): setting a key
#: of one the file leaves out creates it.
OPTIONAL_TABLES = ("context", "information")


def _locate(data: dict, key: str, path: Path, create: bool = False) -> tuple[dict, str]:
    *tables, last = key.split(".")
    node = data
    for i, name in enumerate(tables):
        if create and i == 0 and name in OPTIONAL_TABLES and name not in node:
            node[name] = {}
        if not isinstance(node.get(name), dict):
            raise ScenarioError(path, ".".join(tables[: i + 1]), "no such table to change")
        node = node[name]
    return node, last


def get_value(data: dict, key: str, path: Path) -> Any:
    """The value at a dotted key of scenario data."""
    node, last = _locate(data, key, path)
    if last not in node:
        raise ScenarioError(path, key, "no such key in the scenario (nor a default to shift)")
    return node[last]


def data_with_values(path: str | Path, values: Mapping[str, Any]) -> tuple[dict, str]:
    """The scenario file's data (``extends`` resolved) with some keys set to new values,
    not yet validated, and the text it came from (the change included, for the hash)."""
    path = Path(path)
    data, sources = read_scenario_data(path)
    data = copy.deepcopy(data)
    for key, value in values.items():
        node, last = _locate(data, key, path, create=True)
        node[last] = value
    if not values:
        return data, sources
    change = json.dumps(dict(values), sort_keys=True, default=str)
    return data, sources + "\n# with " + change


def with_values(path: str | Path, values: Mapping[str, Any]) -> Scenario:
    """The scenario at ``path`` with some keys set to new values, validated."""
    data, sources = data_with_values(path, values)
    return build_scenario(data, path, sources)


def shift(value: Any, delta: float, relative: bool = False) -> Any:
    """A number or ``[low, high]`` range moved by ``delta`` (or scaled by
    ``1 + delta`` when ``relative``)."""
    def move(x: float) -> float:
        return x * (1.0 + delta) if relative else x + delta

    if isinstance(value, list):
        return [move(v) for v in value]
    return move(value)


# ------------------------------------------------------------------ --set KEY=VALUE
def parse_setting(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` -> ``(key, value)``; the value is read as TOML (``0.5``,
    ``[0.2, 0.4]``, ``"nash"``), as it would be written in a scenario file."""
    key, sep, value = text.partition("=")
    key, value = key.strip(), value.strip()
    allowed = ("must be KEY=VALUE with a dotted scenario key and a TOML value, e.g. "
               "parties.russia.patience=90 or mediator.pressure=[0.2, 0.4]")
    if not sep or not key or not value:
        raise ValueError(f"--set {text!r}: {allowed}")
    try:
        parsed = tomllib.loads(f"value = {value}")["value"]
    except tomllib.TOMLDecodeError:
        hint = (f" (text is quoted: {key}='\"{value}\"' in the shell)"
                if re.fullmatch(r"[A-Za-z_][\w-]*", value) else "")
        raise ValueError(f"--set {text!r}: {value!r} is not a TOML value{hint}; "
                         f"{allowed}") from None
    return key, parsed


def parse_settings(pairs: list[str]) -> dict[str, Any]:
    """Every ``--set`` option as a dict of scenario keys (a later one wins); a
    malformed one raises ``ValueError``."""
    return dict(parse_setting(pair) for pair in pairs)


def drawn_keys(scenario: Scenario) -> frozenset[str]:
    """Keys whose file value is not what a round uses: drawn from the posterior, or
    shifted after drawing."""
    posterior = scenario.posterior.keys if scenario.posterior is not None else ()
    return frozenset(posterior) | {s.key for s in scenario.shifts}


def setting_values(scenario: Scenario, settings: Mapping[str, Any],
                   moves: Mapping[str, float] | None = None) -> dict[str, Any]:
    """The keys to set (for ``with_values``) that apply ``settings`` and ``moves`` to
    the scenario as filed: a setting of a drawn key (see ``drawn_keys``) becomes the
    shift ``scale = 0, add = value``, so every replicate takes exactly that value, as
    a setting of any other key does; a move adds to a drawn key's shift. ``moves`` may
    name drawn keys only (``ValueError`` otherwise)."""
    moves = moves or {}
    drawn = drawn_keys(scenario)
    shifts = {s.key: {"key": s.key, "scale": s.scale, "add": s.add, "why": s.why}
              for s in scenario.shifts}
    values: dict[str, Any] = {}
    for key, value in settings.items():
        if key not in drawn:
            values[key] = value
        elif isinstance(value, int | float) and not isinstance(value, bool):
            shifts[key] = {"key": key, "scale": 0.0, "add": float(value), "why": SET_WHY}
        else:
            raise ValueError(f"--set {key}: this scenario draws it (from its posterior, or "
                             f"shifts it), so it can only be set to a number, got {value!r}")
    for key, delta in moves.items():
        if key not in drawn:
            raise ValueError(f"{key} is not drawn by this scenario: set its value instead")
        old = shifts.get(key, {"key": key, "scale": 1.0, "add": 0.0})
        shifts[key] = old | {"add": old["add"] + delta, "why": "moved by a what-if lever"}
    if [s.key for s in scenario.shifts] != list(shifts) or any(
            shifts[s.key]["add"] != s.add or shifts[s.key]["scale"] != s.scale
            for s in scenario.shifts):
        values["shift"] = list(shifts.values())
    return values


def scenario_with(path: str | Path, settings: Mapping[str, Any],
                  moves: Mapping[str, float] | None = None,
                  as_filed: Scenario | None = None) -> Scenario:
    """The scenario file with some keys set to values and some drawn keys moved by a
    number (``setting_values``), validated like a file. ``as_filed`` is the file's
    scenario if already loaded (it is read otherwise)."""
    scenario = as_filed or load_scenario(path)
    if not settings and not moves:
        return scenario
    return with_values(path, setting_values(scenario, settings, moves))
