"""What happened at a round, read from its facts as a forecast is scored against it.

An *event* of the round's scenario (``sim.scenario.events``) is true or false on a
round's outcome columns. A fact gives a column's value, or a range where sources
disagree; a value coded as the issue's "nothing" (0 prisoners, level "none") may be
an issue left unagreed (the column missing) or agreed at nothing. So the event is
evaluated on every outcome the facts allow — each column of a range at every value
of its lattice in the range (at most ``GRID`` values), a "nothing" both as missing
and as agreed — and is decided only where all of them give the same answer. An event
that reads a column no fact gives (a minute, a side's name, an issue "not found") is
not observed. Both kinds are skipped by the backtest, and listed with the reason.

A *quantity* is a count issue's value or the round's duration, where a fact gives
it: its observed value or range (``sim.stats.scoring.Observed``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from sim.calibration.evidence import Fact
from sim.calibration.track_record import TrackRound
from sim.scenario.events import columns_read, evaluate
from sim.scenario.spec import EventSpec, IssueKind, IssueSpec, Scenario
from sim.stats.scoring import Observed

#: The most values a numeric range is tried at (its ends and points evenly between).
GRID = 61
#: The most joint outcomes an event is evaluated on.
MOST_OUTCOMES = 200_000
DURATION = "duration_minutes"


@dataclass(frozen=True)
class Truth:
    """An event at a round: ``happened`` True or False where the facts decide it, else
    None and ``reason`` says why it is skipped."""

    event: str
    label: str
    happened: bool | None
    reason: str = ""


@dataclass(frozen=True)
class QuantityFact:
    """A quantity observed at a round: its results column, label and observed value."""

    column: str
    label: str
    observed: Observed
    support: tuple[float, float]  # the values it can take (the uniform forecast's range)


def _facts(track_round: TrackRound) -> dict[str, Fact]:
    return {fact.column: fact for fact in track_round.facts}


def _values(low: float, high: float, step: float | None) -> list[float]:
    """The values of ``[low, high]`` an event is tried at: the lattice points (``step``)
    in it, or ``GRID`` evenly spaced values where there are more or no lattice."""
    if low == high:
        return [low]
    if step:
        count = int(np.floor((high - low) / step + 1e-9)) + 1
        if count <= GRID:
            points = [low + k * step for k in range(count)]
            return points + ([high] if points[-1] < high else [])
    return [float(v) for v in np.linspace(low, high, GRID)]


def _issue_outcomes(spec: IssueSpec, facts: dict[str, Fact], needed: set[str]
                    ) -> list[dict[str, float]] | str:
    """Every joint value of the issue's columns in ``needed`` the facts allow, or the
    reason they do not say (a column with no fact)."""
    name = spec.name
    main = f"{name}_level" if spec.compound else f"{name}_value"
    agreed = f"{name}_agreed"
    unread = sorted(c for c in needed if c not in (main, agreed))
    if unread:
        return f"{unread[0]} is not observed"
    unagreed = 0.0 if spec.compound else np.nan  # a compound's level is 0 where none
    outcomes: list[dict[str, float]] = []
    if main in facts:
        fact = facts[main]
        step = 1.0 if (spec.compound or spec.levelled) else spec.scale.step
        for value in _values(fact.low, fact.high, step):
            outcomes.append({main: value, agreed: 1.0})
            if value == fact.missing:  # "nothing": not agreed, or agreed at nothing
                outcomes.append({main: unagreed, agreed: 0.0})
    elif agreed in facts and main not in needed:
        outcomes = [{main: unagreed, agreed: 0.0}, {main: unagreed, agreed: 1.0}]
    elif agreed in facts and facts[agreed].high == 0:
        outcomes = [{main: unagreed, agreed: 0.0}]
    else:
        return f"{main} is not observed"
    if agreed in facts:
        allowed = set(_values(facts[agreed].low, facts[agreed].high, 1.0))
        outcomes = [o for o in outcomes if o[agreed] in allowed]
    return [{k: v for k, v in o.items() if k in needed} for o in outcomes]


def truth(event: EventSpec, scenario: Scenario, facts: dict[str, Fact]) -> Truth:
    """The event's truth at a round with these facts (see the module docstring)."""
    needed = columns_read(event.tree)
    by_issue: dict[str, set[str]] = {}
    choices: list[list[dict[str, float]]] = []
    issues = {spec.name: spec for spec in scenario.issues}
    for column in sorted(needed):
        owner = next((name for name in issues if column.startswith(f"{name}_")
                      and column[len(name) + 1:] in ("value", "level", "agreed",
                                                     "minute", "conditions")), None)
        if owner is not None:
            by_issue.setdefault(owner, set()).add(column)
        elif column in (DURATION, "walkout") and column in facts:
            fact = facts[column]
            step = 1.0 if column == "walkout" else None
            choices.append([{column: v} for v in _values(fact.low, fact.high, step)])
        else:
            return Truth(event.name, event.label, None, f"{column} is not observed")
    for name, columns in sorted(by_issue.items()):
        outcomes = _issue_outcomes(issues[name], facts, columns)
        if isinstance(outcomes, str):
            return Truth(event.name, event.label, None, outcomes)
        choices.append(outcomes)
    if np.prod([len(c) for c in choices], dtype=float) > MOST_OUTCOMES:
        return Truth(event.name, event.label, None, "too many outcomes the facts allow")
    joint = [dict(item for part in combo for item in part.items())
             for combo in itertools.product(*choices)]
    columns = {c: np.array([o[c] for o in joint], dtype=float) for c in needed}
    if "walkout" in columns:
        columns["walkout"] = columns["walkout"].astype(bool)
    values = evaluate(event.tree, columns)
    if values.all() or not values.any():
        return Truth(event.name, event.label, bool(values[0]))
    shown = ", ".join(fact.label() for c, fact in sorted(facts.items()) if c in needed
                      or any(c == f"{issue}_value" or c == f"{issue}_level"
                             for issue in by_issue))
    return Truth(event.name, event.label, None, f"undecided: the facts ({shown}) allow it "
                 "to hold or not")


def event_truths(track_round: TrackRound) -> list[Truth]:
    """The truth of every event of the round's scenario, in the scenario's order."""
    facts = _facts(track_round)
    return [truth(event, track_round.scenario, facts)
            for event in track_round.scenario.events]


def quantities(track_round: TrackRound) -> list[QuantityFact]:
    """The quantities observed at the round: each count issue's value and the
    duration, where a fact gives them, in the order of the facts."""
    scenario = track_round.scenario
    counts = {f"{spec.name}_value": spec for spec in scenario.issues
              if spec.kind is IssueKind.COUNT}
    found = []
    for fact in track_round.facts:
        if fact.column in counts:
            spec = counts[fact.column]
            unit = f" ({spec.scale.unit})" if spec.scale.unit else ""
            found.append(QuantityFact(fact.column, f"{spec.label}{unit}",
                                      Observed(fact.low, fact.high),
                                      (spec.scale.minimum, spec.scale.maximum)))
        elif fact.column == DURATION:
            found.append(QuantityFact(DURATION, "duration (minutes)",
                                      Observed(fact.low, fact.high),
                                      (0.0, float(scenario.round.max_minutes))))
    return found
