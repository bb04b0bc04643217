"""Changing a scenario's keys from code: the design points of sweeps and the levers
of what-if searches.

A key is a dotted path into the scenario file (``"context.third_party_pressure"``,
``"parties.russia.issues.children.red_line"``). The changed data goes through the
same validation as a file, so a change that leaves the allowed range is a
``ScenarioError`` naming the key.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.scenario.load import build_scenario, read_scenario_data
from sim.scenario.spec import Scenario, ScenarioError


def _locate(data: dict, key: str, path: Path) -> tuple[dict, str]:
    *tables, last = key.split(".")
    node = data
    for i, name in enumerate(tables):
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


def with_values(path: str | Path, values: Mapping[str, Any]) -> Scenario:
    """The scenario at ``path`` with some keys set to new values."""
    path = Path(path)
    data, sources = read_scenario_data(path)
    data = copy.deepcopy(data)
    for key, value in values.items():
        node, last = _locate(data, key, path)
        node[last] = value
    change = json.dumps(dict(values), sort_keys=True, default=str)
    return build_scenario(data, path, sources + "\n# with " + change)


def shift(value: Any, delta: float, relative: bool = False) -> Any:
    """A number or ``[low, high]`` range moved by ``delta`` (or scaled by
    ``1 + delta`` when ``relative``)."""
    def move(x: float) -> float:
        return x * (1.0 + delta) if relative else x + delta

    if isinstance(value, list):
        return [move(v) for v in value]
    return move(value)
