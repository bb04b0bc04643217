"""A scenario's assumptions as a reader needs them: each key the file sets, its value
(a range drawn per round, or fixed), the reason its author wrote beside it, and —
for a variant that ``extends`` a base — what it changes from the base.

Reasons are the TOML comments: the comment on a key's line, or the comment lines
just above it. The comment block that opens a file describes the scenario.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.scenario.load import read_scenario_data
from sim.stats.numbers import DASH

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#\s?(.*))?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=\s*(.*)$")


@dataclass(frozen=True)
class Assumption:
    key: str  # dotted, as in the scenario file
    value: str
    drawn: bool  # a [low, high] range, drawn afresh for each simulated round
    reason: str
    base_value: str | None  # the base scenario's value, where this variant changes it


def _split_comment(text: str) -> tuple[str, str]:
    """A line's value and its comment (a ``#`` outside quotes)."""
    quote = None
    for i, char in enumerate(text):
        if char in "\"'" and quote in (None, char):
            quote = None if quote == char else char
        elif char == "#" and quote is None:
            return text[:i].rstrip(), text[i + 1:].strip()
    return text.rstrip(), ""


def comments(text: str) -> tuple[str, dict[str, str]]:
    """The file's opening comment block, and each dotted key's reason."""
    description, reasons, pending, table = [], {}, [], ""
    opening = True
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            (description if opening else pending).append(stripped.lstrip("#").strip())
            continue
        opening = opening and not stripped
        header = _HEADER.match(line)
        if header:
            table = header.group(1).replace(" ", "")
            note = " ".join(pending + ([header.group(2).strip()] if header.group(2) else []))
            if note:
                reasons[table] = note
            pending = []
            continue
        key = _KEY.match(line)
        if key:
            _, inline = _split_comment(key.group(2))
            note = " ".join(pending + ([inline] if inline else []))
            if note:
                reasons[f"{table}.{key.group(1)}" if table else key.group(1)] = note
        pending = []
    return " ".join(description), reasons


def flatten(data: dict, prefix: str = "") -> dict[str, Any]:
    """Nested tables to dotted keys (arrays, including arrays of tables, stay values)."""
    flat = {}
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            flat |= flatten(value, dotted)
        else:
            flat[dotted] = value
    return flat


def show(value: Any) -> str:
    """A value as a reader reads it: ranges with a dash, thousands separated."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:,g}"
    if isinstance(value, list) and len(value) == 2 and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        return f"{value[0]:,g} {DASH} {value[1]:,g}"
    if isinstance(value, list):
        return ", ".join(show(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k} = {show(v)}" for k, v in value.items())
    return str(value)


def _is_range(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value) and (
        value[0] != value[1])


def _chain(path: Path) -> list[Path]:
    """The file and the bases it extends, most derived first."""
    files = [path]
    while True:
        base = tomllib.loads(files[-1].read_text()).get("extends")
        if not isinstance(base, str) or len(files) > 20:
            return files
        files.append((files[-1].parent / base).resolve())


def scenario_assumptions(path: str | Path) -> tuple[str, list[Assumption], str | None]:
    """The scenario file's description, its assumptions (every key it sets, bases
    included), and the base file's name where it is a variant."""
    path = Path(path)
    data, _ = read_scenario_data(path)
    files = _chain(path)
    reasons: dict[str, str] = {}
    for file in reversed(files):  # a reason belongs to the file that sets the value
        text = file.read_text()
        written = comments(text)[1]
        reasons |= {key: written.get(key, "") for key in flatten(tomllib.loads(text))}
    description = comments(files[0].read_text())[0]
    base_flat = {}
    own = {}
    if len(files) > 1:
        base_flat = flatten(read_scenario_data(files[1])[0])
        own = flatten({k: v for k, v in tomllib.loads(files[0].read_text()).items()
                       if k != "extends"})
    rows = []
    for key, value in flatten(data).items():
        changed = key in own and base_flat.get(key) != value
        rows.append(Assumption(key, show(value), _is_range(value), reasons.get(key, ""),
                               show(base_flat[key]) if changed and key in base_flat else (
                                   "(not set)" if changed else None)))
    return description, rows, files[1].name if len(files) > 1 else None
