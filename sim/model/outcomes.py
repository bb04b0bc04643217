"""A round's outcomes as columns: what the results table holds for each round.

For every issue the scenario defines (on the agenda or not, so that variants of one
case share a table's columns): ``<issue>_agreed`` (settled at the table, at any
value), ``<issue>_value`` (the value agreed; missing where none) or, for a compound
issue, ``<issue>_level`` (0 where none) and ``<issue>_conditions``, and
``<issue>_minute`` (the minute by whose end it was agreed); then the round's own:
``duration_minutes``, ``walkout`` and ``walkout_party`` (missing where none).
"""

from __future__ import annotations

from collections.abc import Iterable

from sim.scenario.spec import IssueSpec

#: The columns that belong to no issue, and their types.
ROUND_DTYPES: dict[str, str] = {"duration_minutes": "float64", "walkout": "bool",
                                "walkout_party": "str"}


def issue_dtypes(spec: IssueSpec) -> dict[str, str]:
    """The outcome columns of one issue and their types."""
    name = spec.name
    if spec.compound:
        middle = {f"{name}_level": "int8", f"{name}_conditions": "float64"}
    else:
        middle = {f"{name}_value": "float64"}
    return {f"{name}_agreed": "bool"} | middle | {f"{name}_minute": "float64"}


def outcome_dtypes(issues: Iterable[IssueSpec]) -> dict[str, str]:
    """Every outcome column of a scenario whose issues are ``issues``, with its type."""
    columns: dict[str, str] = {}
    for spec in issues:
        columns |= issue_dtypes(spec)
    return columns | ROUND_DTYPES


def value_column(spec: IssueSpec) -> str:
    """The column holding the number bargained over: the value, or a compound issue's
    conditions."""
    return f"{spec.name}_conditions" if spec.compound else f"{spec.name}_value"
