"""Numbers and knob coordinates as people read them, in the tables and figures of
sweeps and sensitivity analyses (machines read the Parquet results and
``summary.json``, which keep every digit).

A knob's column (``design.Knob.column``) is its scenario key where its coordinate is
the key's value, and ``KEY (scale)`` or ``KEY (add)`` where the coordinate is a factor
of, or an amount added to, the scenario's value: such a coordinate is shown as
``×0.5`` or ``+0.1``, never as if it were the value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

#: Significant digits kept in CSV tables: past Monte Carlo precision, short of noise.
CSV_DIGITS = 6


def number(value: float, digits: int = 4) -> str:
    """A number for people: at most ``digits`` significant digits, never in exponent
    notation and without binary noise (``36.95000000000002`` -> ``36.95``,
    ``6880.0`` -> ``6880``, ``0.30000000000000004`` -> ``0.3``)."""
    return np.format_float_positional(float(value), precision=digits, unique=True,
                                      fractional=False, trim="-")


def coordinate_label(column: str, value: Any) -> str:
    """A knob's coordinate as people read it, from its column (``Knob.column``):
    ``×0.5`` for a scale knob, ``+0.1`` (or ``-0.1``) for an add knob, the value
    itself otherwise."""
    if isinstance(value, str):
        return value
    move = column.rsplit(" (", 1)[1].rstrip(")") if column.endswith(")") else ""
    text = number(value)
    if move == "scale":
        return f"×{text}"
    if move == "add":
        return text if text.startswith("-") else f"+{text}"
    return text


def axis_label(column: str) -> str:
    """A knob's column as an axis title: a scale or add knob says what it does to the
    scenario's value."""
    for move, words in (("scale", "× the scenario's value"),
                        ("add", "+ added to the scenario's value")):
        if column.endswith(f" ({move})"):
            return f"{column[: -len(move) - 3]} ({words})"
    return column


def for_people(table: pd.DataFrame, digits: int = CSV_DIGITS) -> pd.DataFrame:
    """The table with every float rounded to ``digits`` significant digits, so that a
    CSV file shows ``36.95``, not ``36.95000000000002`` (NaN stays NaN)."""
    rounded = table.copy()
    for column in rounded.columns:
        if pd.api.types.is_float_dtype(rounded[column]):
            rounded[column] = [float(number(v, digits)) for v in rounded[column]]
    return rounded
