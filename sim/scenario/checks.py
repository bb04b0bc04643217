"""Small checked readers for the project's TOML files other than scenarios
(calibration evidence, campaigns): each problem is an ``InputError`` naming the
file, the key and what is allowed."""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import tomllib
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import InputError


def read_toml(path: Path) -> tuple[dict, str]:
    """The parsed file and its sha256."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, "", "no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(path, "", f"cannot be read as text: {error}") from None
    try:
        return tomllib.loads(text), hashlib.sha256(text.encode()).hexdigest()
    except tomllib.TOMLDecodeError as error:
        raise InputError(path, "", f"is not valid TOML: {error}") from None


def table(path: Path, key: str, value: Any, allowed: tuple[str, ...],
          required: tuple[str, ...] = ()) -> dict:
    """A table with only ``allowed`` keys (suggesting the close one) and all ``required``."""
    if not isinstance(value, dict):
        raise InputError(path, key or "(top level)", f"must be a table, got "
                         f"{type(value).__name__}")
    for name in value:
        if name not in allowed:
            close = difflib.get_close_matches(str(name), allowed, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise InputError(path, f"{key}.{name}" if key else name,
                             f"unknown key{hint} Allowed: " + ", ".join(allowed))
    for name in required:
        if name not in value:
            raise InputError(path, f"{key}.{name}" if key else name, "is required but missing")
    return value


def number(path: Path, key: str, value: Any, low: float = -np.inf,
           high: float = np.inf) -> float:
    """A finite number within ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise InputError(path, key, f"must be a number, got {type(value).__name__} {value!r}")
    if not low <= value <= high:
        raise InputError(path, key, f"{value!r} is out of range: must be within "
                         f"[{low:g}, {high:g}]")
    return float(value)


def span(path: Path, key: str, value: Any, low: float, high: float) -> tuple[float, float]:
    """A number or a ``[low, high]`` range within ``[low, high]``, as a pair."""
    if isinstance(value, list):
        if len(value) != 2:
            raise InputError(path, key, "must be a number or a [low, high] range")
        a, b = (number(path, key, v, low, high) for v in value)
        if a > b:
            raise InputError(path, key, f"range [{a:g}, {b:g}] has low > high")
        return a, b
    x = number(path, key, value, low, high)
    return x, x


def date(path: Path, key: str, value: Any) -> dt.date:
    """A date: a TOML date or a ``YYYY-MM-DD`` string."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(path, key, f"must be a date YYYY-MM-DD, got {value!r}") from None
