"""How numbers are written in figures and reports: the same way as the printed table.

One place, so that a number in ``report.md`` can be checked against ``summary.json``
by formatting the JSON value the same way.
"""

from __future__ import annotations

from sim.stats.summary import percent  # the rule of negsim run's table  # noqa: F401

DASH = "\u2013"  # en dash, for ranges


def percent_interval(low: float, high: float) -> str:
    """``13.3–14.7%``."""
    return f"{percent(low)[:-1]}{DASH}{percent(high)}"


def whole(x: float) -> str:
    """A count or a quantile: thousands separated, no decimals."""
    return f"{x:,.0f}"


def signed_points(d: float) -> str:
    """A difference of two proportions in percentage points: ``+6.1 pp``."""
    return f"{100 * d:+.1f} pp" if abs(d) >= 0.01 or d == 0 else f"{100 * d:+.2f} pp"
