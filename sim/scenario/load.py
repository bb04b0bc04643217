"""Scenario files: TOML loaded into frozen, validated dataclasses.

A scenario names the parties, the mediator, the agenda and the context of one round.
Every number can be a value or a ``[low, high]`` range: a range is the analyst's
uncertainty about the parameter, drawn uniformly for each replicate. Every error names
the file, the key and what is allowed (``ScenarioError``); no raw dict leaves this
module. ``docs/scenarios.md`` documents every key.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

from sim.errors import InputError
from sim.scenario.checks import read_file
from sim.scenario.events import ROUND_COLUMNS, EventError, parse_event
from sim.scenario.posterior import read_posterior
from sim.scenario.spec import (
    AgendaOrder,
    Context,
    EventSpec,
    Format,
    Information,
    IssueKind,
    IssueSpec,
    Lever,
    Linkage,
    Mediator,
    Observed,
    Party,
    Position,
    Posterior,
    ProposalRule,
    Protocol,
    Range,
    RoundSettings,
    Scale,
    Scenario,
    ScenarioError,
    Shift,
    Stake,
)

# ----------------------------------------------------------------------------- reading
_NUMBER = "a number or a [low, high] range"


class _Reader:
    """Walks the parsed TOML, one checked key at a time, raising ``ScenarioError``."""

    def __init__(self, path: Path):
        self.path = path
        self.bounds: dict[str, tuple[float, float]] = {}  # drawable keys seen

    def fail(self, key: str, message: str):
        raise ScenarioError(self.path, key, message)

    def table(self, data: Any, key: str, allowed: tuple[str, ...], required: tuple[str, ...]):
        if not isinstance(data, dict):
            self.fail(key or "(top level)", f"must be a table, got {_kind(data)}")
        for name in data:
            if name not in allowed:
                close = difflib.get_close_matches(str(name), allowed, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else "."
                self.fail(_join(key, name), f"unknown key{hint} Allowed: {', '.join(allowed)}")
        for name in required:
            if name not in data:
                self.fail(_join(key, name), "is required but missing")
        return data

    def number(self, data: dict, key: str, name: str, low: float, high: float,
               default: float | None = None, ranged: bool = True) -> Range:
        full = _join(key, name)
        if ranged:
            self.bounds[full] = (low, high)
        if name not in data:
            if default is None:
                self.fail(full, "is required but missing")
            return Range(default, default)
        value = data[name]
        allowed = f"{_NUMBER} within [{_bound(low)}, {_bound(high)}]" if ranged else (
            f"a number within [{_bound(low)}, {_bound(high)}]")
        if _is_number(value):
            pair = (float(value), float(value))
        elif ranged and isinstance(value, list) and len(value) == 2 and all(
                _is_number(v) for v in value):
            pair = (float(value[0]), float(value[1]))
            if pair[0] > pair[1]:
                self.fail(full, f"range [{pair[0]:g}, {pair[1]:g}] has low > high: must be "
                          f"{allowed} with low <= high")
        else:
            self.fail(full, f"must be {allowed}, got {_kind(value)}")
        if not (low <= pair[0] and pair[1] <= high):
            self.fail(full, f"{_show(value)} is out of range: must be {allowed}")
        return Range(*pair)

    def scalar(self, data: dict, key: str, name: str, low: float, high: float,
               default: float | None = None) -> float:
        return self.number(data, key, name, low, high, default, ranged=False).low

    def string(self, data: dict, key: str, name: str, default: str | None = None) -> str:
        if name not in data:
            if default is None:
                self.fail(_join(key, name), "is required but missing")
            return default
        value = data[name]
        if not isinstance(value, str) or not value.strip():
            self.fail(_join(key, name), f"must be a non-empty string, got {_kind(value)}")
        return value

    def choice(self, data: dict, key: str, name: str, options, default: str) -> str:
        allowed = [str(o) for o in options]
        value = data.get(name, default)
        if not isinstance(value, str):
            self.fail(_join(key, name), f"must be a string, got {_kind(value)}. Allowed: "
                      + ", ".join(allowed))
        if value not in allowed:
            close = difflib.get_close_matches(value, allowed, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else "."
            self.fail(_join(key, name), f"{_show(value)} is not allowed{hint} Allowed: "
                      + ", ".join(allowed))
        return value

    def issue_list(self, data: dict, key: str, name: str, issues: dict[str, IssueSpec],
                   default=None) -> tuple[str, ...]:
        full = _join(key, name)
        if name not in data:
            if default is None:
                self.fail(full, "is required but missing")
            return tuple(default)
        value = data[name]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(full, f"must be a list of issue names, got {_kind(value)}")
        for item in value:
            self.issue_name(full, item, issues)
        if len(set(value)) != len(value):
            self.fail(full, "lists an issue twice")
        return tuple(value)

    def issue_name(self, key: str, name: str, issues: dict[str, IssueSpec]) -> None:
        if name not in issues:
            close = difflib.get_close_matches(name, list(issues), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            defined = ", ".join(issues) if issues else "none: define issues in [issues.NAME]"
            self.fail(key, f"unknown issue {_show(name)}{hint}. Defined issues: {defined}")

    def flag(self, data: dict, key: str, name: str, default: bool) -> bool:
        value = data.get(name, default)
        if not isinstance(value, bool):
            self.fail(_join(key, name), f"must be true or false, got {_kind(value)}")
        return value

    def level(self, data: dict, key: str, name: str, spec: IssueSpec, levels: tuple[str, ...],
              default: float | None = None) -> Range:
        """A position on a levelled scale: a level's index, its name, or a range of
        indices (drawn, then rounded to the nearest level)."""
        value = data.get(name)
        if isinstance(value, str):
            if value not in levels:
                close = difflib.get_close_matches(value, levels, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                self.fail(_join(key, name), f"{_show(value)} is not a level of "
                          f"'{spec.name}'{hint} Levels: {', '.join(levels)}")
            data = {name: levels.index(value)}
        return self.number(data, key, name, 0, len(levels) - 1, default)


def _join(key: str, name: Any) -> str:
    return f"{key}.{name}" if key else str(name)


def _bound(x: float) -> str:
    """A bound as a reader writes it: 1000000, not 1e+06; 0.05 as 0.05."""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value \
        and abs(value) <= sys.float_info.max


def _kind(value: Any) -> str:
    return f"{type(value).__name__} {_show(value)}"


def _show(value: Any) -> str:
    try:
        text = repr(value)
    except RecursionError:
        return "(nested too deeply to show)"
    return text if len(text) <= 40 else text[:37] + "..."


# ----------------------------------------------------------------------------- sections
_ROUND_KEYS = ("name", "date", "deadline_minutes", "max_minutes", "opening_minutes",
               "closing_minutes", "protocol")
_CONTEXT_KEYS = ("third_party_pressure", "concession_noise", "walkout_shape")
_INFORMATION_KEYS = ("private", "prior_width", "caucus_noise")
_MEDIATOR_KEYS = ("name", "proposal_rule", "agenda_order", "pressure", "credibility",
                  "exploration_minutes", "item_minutes", "own_items", "informed", "format",
                  "caucuses", "caucus_minutes", "shuttle_minutes", "bias", "stakes", "budget",
                  "levers")
_STAKE_KEYS = ("ideal", "salience")
_LEVER_KEYS = ("name", "party", "utility", "batna", "cost")
_PARTY_KEYS = ("name", "concession", "patience", "exchange_willingness", "bargaining_power",
               "momentum", "batna", "discount_per_hour", "bluff", "issues", "linkage")
_POSITION_KEYS = ("wants", "ideal", "red_line", "salience")
_COMPOUND_KEYS = _POSITION_KEYS + ("conditions_wants", "conditions_ideal",
                                   "conditions_red_line", "conditions_red_line_at")
_LINKAGE_KEYS = ("issue", "requires", "at_least")
_WANTS = {"more": 1, "less": -1}
_ISSUE_KEYS = ("kind", "label", "unit", "min", "max", "step", "levels", "exchange",
               "contested", "contested_from_level", "conditions")
_SCALE_KEYS = ("label", "unit", "min", "max", "step")
_EVENT_KEYS = ("when", "label")
_OBSERVED_KEYS = ("round", "target", "value", "range", "source")
#: Keys of earlier versions, and what replaced them.
_RENAMED = {"pause_conditions_red_line": "conditions_red_line_at = { 1 = ... } (the "
                                         "conditions red line at level 1)"}
#: Largest lattice an issue may have (points between min and max).
MAX_LATTICE = 10_000_000
#: What an issue or event may be called: a name the event language can read.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RESERVED = set(ROUND_COLUMNS) | {"true", "false", "and", "or", "not", "in", "is", "if",
                                  "else", "None", "True", "False", "lambda"}


def _round(r: _Reader, data: dict) -> RoundSettings:
    t = r.table(data, "round", _ROUND_KEYS, ("name",))
    deadline = r.scalar(t, "round", "deadline_minutes", 1, 1e6, 90)
    return RoundSettings(
        name=r.string(t, "round", "name"),
        date=r.string(t, "round", "date", "unspecified"),
        deadline_minutes=deadline,
        max_minutes=int(r.scalar(t, "round", "max_minutes", 1, 24 * 60, 240)),
        opening_minutes=r.number(t, "round", "opening_minutes", 0, 600, 10),
        closing_minutes=r.scalar(t, "round", "closing_minutes", 0, 600, 5),
        protocol=Protocol(r.choice(t, "round", "protocol", Protocol, "package")),
    )


def _information(r: _Reader, data: Any) -> Information:
    t = r.table(data, "information", _INFORMATION_KEYS, ())
    return Information(
        private=r.flag(t, "information", "private", True),
        prior_width=r.scalar(t, "information", "prior_width", 0, 1, 0.5),
        caucus_noise=r.scalar(t, "information", "caucus_noise", 0, 1, 0.2),
    )


def _context(r: _Reader, data: dict) -> Context:
    t = r.table(data, "context", _CONTEXT_KEYS, ())
    return Context(
        third_party_pressure=r.number(t, "context", "third_party_pressure", 0, 1, 0.0),
        concession_noise=r.scalar(t, "context", "concession_noise", 0, 3, 0.25),
        walkout_shape=r.scalar(t, "context", "walkout_shape", 0.1, 1000, 4.0),
    )


def _mediator(r: _Reader, data: dict, issues: dict[str, IssueSpec], private: bool,
              parties: tuple[str, ...]) -> Mediator:
    t = r.table(data, "mediator", _MEDIATOR_KEYS, ("name",))
    stakes_data = t.get("stakes", {})
    stakes_table = r.table(stakes_data, "mediator.stakes",
                           tuple(stakes_data) if isinstance(stakes_data, dict) else (), ())
    stakes = []
    for issue, body in stakes_table.items():
        key = f"mediator.stakes.{issue}"
        r.issue_name(key, issue, issues)
        spec = issues[issue]
        st = r.table(body, key, _STAKE_KEYS, ("ideal",))
        if spec.levelled or spec.compound:
            ideal = r.level(st, key, "ideal", spec, spec.levels).low if not spec.compound \
                else r.scalar(st, key, "ideal", spec.scale.minimum, spec.scale.maximum)
        else:
            ideal = r.scalar(st, key, "ideal", spec.scale.minimum, spec.scale.maximum)
        r.bounds.pop(f"{key}.ideal", None)
        stakes.append(Stake(issue, float(ideal), r.scalar(st, key, "salience", 0, 10, 1.0)))
    levers_data = t.get("levers", [])
    if not isinstance(levers_data, list):
        r.fail("mediator.levers", f"must be an array of [[mediator.levers]] tables, got "
               f"{_kind(levers_data)}")
    levers = []
    for k, body in enumerate(levers_data):
        key = f"mediator.levers[{k}]"
        lt = r.table(body, key, _LEVER_KEYS, ("name", "party"))
        party = r.choice(lt, key, "party", parties, parties[0])
        effect_utility = r.scalar(lt, key, "utility", 0, 1, 0.0)
        effect_batna = r.scalar(lt, key, "batna", -1, 1, 0.0)
        if not effect_utility and not effect_batna:
            r.fail(key, "does nothing: give it a utility (added to the party's value of any "
                   "agreement) or a batna (added to its value of no agreement)")
        levers.append(Lever(r.string(lt, key, "name"), parties.index(party), effect_utility,
                            effect_batna, r.scalar(lt, key, "cost", 0, 1e9, 1.0)))
    return Mediator(
        informed=r.flag(t, "mediator", "informed", not private),
        format=Format(r.choice(t, "mediator", "format", Format, "direct")),
        caucuses=int(r.scalar(t, "mediator", "caucuses", 0, 20, 1)),
        caucus_minutes=int(r.scalar(t, "mediator", "caucus_minutes", 1, 120, 5)),
        shuttle_minutes=int(r.scalar(t, "mediator", "shuttle_minutes", 1, 120, 5)),
        bias=r.scalar(t, "mediator", "bias", 0, 10, 0.0),
        stakes=tuple(stakes),
        budget=r.scalar(t, "mediator", "budget", 0, 1e9, 0.0),
        levers=tuple(levers),
        name=r.string(t, "mediator", "name"),
        proposal_rule=ProposalRule(r.choice(t, "mediator", "proposal_rule", ProposalRule,
                                            "nash")),
        agenda_order=AgendaOrder(r.choice(t, "mediator", "agenda_order", AgendaOrder,
                                          "as_listed")),
        pressure=r.number(t, "mediator", "pressure", 0, 1, 0.0),
        credibility=r.number(t, "mediator", "credibility", 0, 1, 0.0),
        exploration_minutes=int(r.scalar(t, "mediator", "exploration_minutes", 1, 600, 5)),
        item_minutes=int(r.scalar(t, "mediator", "item_minutes", 1, 24 * 60, 30)),
        own_items=r.issue_list(t, "mediator", "own_items", issues, ()),
    )


# ------------------------------------------------------------------------------ issues
def _issues(r: _Reader, data: Any) -> dict[str, IssueSpec]:
    """``[issues.NAME]`` tables: each issue's kind, scale, labels and mechanisms."""
    t = r.table(data, "issues", tuple(data) if isinstance(data, dict) else (), ())
    return {name: _issue(r, name, body) for name, body in t.items()}


def _identifier(r: _Reader, key: str, name: str, what: str, reserved: bool = True) -> None:
    if not _NAME.fullmatch(name) or (reserved and name in _RESERVED):
        taken = f", and none of {', '.join(sorted(_RESERVED))}" if reserved else ""
        r.fail(key, f"{_show(name)} cannot name {what}: use letters, digits and _ (not "
               f"starting with a digit){taken}")


def _issue(r: _Reader, name: str, data: Any) -> IssueSpec:
    key = f"issues.{name}"
    _identifier(r, key, name, "an issue")
    t = r.table(data, key, _ISSUE_KEYS, ("kind",))
    kind = IssueKind(r.choice(t, key, "kind", IssueKind, "count"))
    label = r.string(t, key, "label", name.replace("_", " "))
    levels: tuple[str, ...] = ()
    if kind in (IssueKind.ORDINAL, IssueKind.YES_NO, IssueKind.COMPOUND):
        for scale_key in ("min", "max", "step", "unit"):
            if scale_key in t:
                r.fail(_join(key, scale_key), f"{kind} issues take levels, not min, max, "
                       "step or unit" + (" (the conditions' scale goes in "
                                         f"[{key}.conditions])" if kind is IssueKind.COMPOUND
                                         else ""))
        levels = _levels(r, t, key, kind)
        scale = Scale(0.0, float(len(levels) - 1), 1.0, "", label)
    else:
        if "levels" in t:
            r.fail(_join(key, "levels"), f"only ordinal, yes_no and compound issues have "
                   f"levels; a {kind} issue has min, max and step")
        scale = _scale(r, t, key, label, kind)
    if kind is IssueKind.COMPOUND:
        if "conditions" not in t:
            r.fail(_join(key, "conditions"), "is required for a compound issue: a table "
                   "with min, max, step, unit and label of the conditions attached")
        conditions = _scale(r, r.table(t["conditions"], _join(key, "conditions"),
                                       _SCALE_KEYS, ()), _join(key, "conditions"),
                            "conditions", IssueKind.SHARE)
        scale = conditions
    elif "conditions" in t:
        r.fail(_join(key, "conditions"), "only a compound issue has conditions")
    exchange = r.flag(t, key, "exchange", False)
    if exchange and kind is IssueKind.COMPOUND:
        r.fail(_join(key, "exchange"), "a compound issue cannot be an exchange issue")
    contested = r.flag(t, key, "contested", False)
    from_level = 1
    if "contested_from_level" in t:
        if kind is not IssueKind.COMPOUND:
            r.fail(_join(key, "contested_from_level"), "only a compound issue has it")
        from_level = int(r.scalar(t, key, "contested_from_level", 1, len(levels) - 1))
    return IssueSpec(name=name, kind=kind, label=label, scale=scale, levels=levels,
                     exchange=exchange, contested=contested, contested_from_level=from_level)


def _levels(r: _Reader, t: dict, key: str, kind: IssueKind) -> tuple[str, ...]:
    full = _join(key, "levels")
    if "levels" not in t:
        if kind is IssueKind.YES_NO:
            return ("no", "yes")
        r.fail(full, f"is required for a {kind} issue: a list of level names, lowest first"
               + (" (the first is the level that holds without agreement, e.g. 'none')"
                  if kind is IssueKind.COMPOUND else ""))
    levels = t["levels"]
    if not isinstance(levels, list) or not all(isinstance(v, str) and v.strip()
                                               for v in levels):
        r.fail(full, f"must be a list of non-empty level names, got {_kind(levels)}")
    if len(set(levels)) != len(levels):
        r.fail(full, "names a level twice")
    if kind is IssueKind.YES_NO and len(levels) != 2:
        r.fail(full, "a yes_no issue has exactly two levels (no, then yes)")
    if len(levels) < 2:
        r.fail(full, "needs at least two levels")
    if len(levels) > 1000:
        r.fail(full, "has more than 1,000 levels: use a count issue")
    return tuple(levels)


def _scale(r: _Reader, t: dict, key: str, label: str, kind: IssueKind) -> Scale:
    """min, max and step of a count or share (or a compound's conditions)."""
    share = kind is IssueKind.SHARE
    big = 1e15
    low = r.scalar(t, key, "min", -big, big, 0.0)
    if "max" not in t and not share:
        r.fail(_join(key, "max"), "is required for a count issue: the largest value")
    high = r.scalar(t, key, "max", -big, big, 1.0)
    step = r.scalar(t, key, "step", 1e-9, big, 0.01 if share else 1.0)
    if high <= low:
        r.fail(_join(key, "max"), f"{high:g} must be greater than min {low:g}")
    if (high - low) / step > MAX_LATTICE:
        r.fail(_join(key, "step"), f"{step:g} makes more than {MAX_LATTICE:,} lattice points "
               f"between {low:g} and {high:g}: use a larger step")
    if kind is IssueKind.COUNT and (step != int(step) or low != int(low)):
        r.fail(_join(key, "step"), "a count issue has a whole-number min and step; use a "
               "share issue for fractions")
    return Scale(low, high, step, r.string(t, key, "unit", ""), r.string(t, key, "label",
                                                                         label))


def _position(r: _Reader, data: Any, key: str, spec: IssueSpec) -> Position:
    if isinstance(data, dict):
        for old, new in _RENAMED.items():
            if old in data:
                r.fail(_join(key, old), f"is no longer a key: use {new}")
    compound = spec.compound
    keys = _COMPOUND_KEYS if compound else _POSITION_KEYS
    required = ("wants", "ideal", "red_line") + (
        ("conditions_wants", "conditions_ideal", "conditions_red_line") if compound else ())
    t = r.table(data, key, keys, required)
    wants = _WANTS[r.choice(t, key, "wants", _WANTS, "more")]
    if compound or spec.levelled:
        ideal = r.level(t, key, "ideal", spec, spec.levels)
        red_line = r.level(t, key, "red_line", spec, spec.levels)
    else:
        ideal = r.number(t, key, "ideal", spec.scale.minimum, spec.scale.maximum)
        red_line = r.number(t, key, "red_line", spec.scale.minimum, spec.scale.maximum)
    _check_side(r, key, wants, ideal, red_line, "red_line")
    salience = r.number(t, key, "salience", 0, 10, 1.0)
    if not compound:
        return Position(wants, ideal, red_line, salience)
    scale = spec.scale
    c_wants = _WANTS[r.choice(t, key, "conditions_wants", _WANTS, "more")]
    c_ideal = r.number(t, key, "conditions_ideal", scale.minimum, scale.maximum)
    c_red = r.number(t, key, "conditions_red_line", scale.minimum, scale.maximum)
    _check_side(r, key, c_wants, c_ideal, c_red, "conditions_red_line")
    at = []
    if "conditions_red_line_at" in t:
        at_key = _join(key, "conditions_red_line_at")
        table = r.table(t["conditions_red_line_at"], at_key,
                        tuple(t["conditions_red_line_at"]) if isinstance(
                            t["conditions_red_line_at"], dict) else (), ())
        for level_key in table:
            level = _level_key(r, at_key, level_key, spec)
            value = r.number({str(level): table[level_key]}, at_key, str(level),
                             scale.minimum, scale.maximum)
            _check_side(r, at_key, c_wants, c_ideal, value, "conditions_red_line",
                        shown=_join(at_key, level_key))
            at.append((level, value))
    return Position(wants, ideal, red_line, salience, c_wants, c_ideal, c_red,
                    tuple(sorted(at)))


def _level_key(r: _Reader, key: str, name: str, spec: IssueSpec) -> int:
    """A level named by its index ("1") or its name ("local pauses"), above level 0."""
    if name.isdigit() and 1 <= int(name) <= spec.top_level:
        return int(name)
    if name in spec.levels[1:]:
        return spec.levels.index(name)
    r.fail(_join(key, name), f"is not a level of '{spec.name}' that can be agreed: use 1 to "
           f"{spec.top_level} or a name: {', '.join(spec.levels[1:])}")


def _check_side(r: _Reader, key: str, wants: int, ideal: Range, red: Range, name: str,
                shown: str | None = None):
    """A red line is the least a side accepts: below its ideal if it wants more,
    above it if it wants less — for every value of a range. ``shown`` is the key named
    in the message (default: ``key.name``)."""
    ideal_name = "conditions_ideal" if name.startswith("conditions") else "ideal"
    where = shown or _join(key, name)
    if wants > 0 and red.high > ideal.low:
        r.fail(where, f"{red.high:g} is on the wrong side of the ideal "
               f"{ideal.low:g}: a party that wants more needs {name} <= {ideal_name}")
    if wants < 0 and red.low < ideal.high:
        r.fail(where, f"{red.low:g} is on the wrong side of the ideal "
               f"{ideal.high:g}: a party that wants less needs {name} >= {ideal_name}")


def _party(r: _Reader, key: str, data: Any, agenda: tuple[str, ...],
           issues: dict[str, IssueSpec]) -> Party:
    t = r.table(data, key, _PARTY_KEYS, ("issues",))
    issues_key = _join(key, "issues")
    stances = r.table(t["issues"], issues_key, tuple(issues), ())
    for issue in agenda:
        if issue not in stances:
            r.fail(_join(issues_key, issue), "is on the agenda but this party has no "
                   f"position on it; add [{issues_key}.{issue}] with wants, ideal, red_line")
    positions = tuple((name, _position(r, stances[name], _join(issues_key, name),
                                       issues[name])) for name in stances)
    links = t.get("linkage", [])
    if not isinstance(links, list):
        r.fail(_join(key, "linkage"), f"must be an array of tables, got {_kind(links)}")
    linkage = []
    for i, link in enumerate(links):
        lkey = f"{key}.linkage[{i}]"
        lt = r.table(link, lkey, _LINKAGE_KEYS, _LINKAGE_KEYS)
        issue, requires = r.string(lt, lkey, "issue"), r.string(lt, lkey, "requires")
        r.issue_name(_join(lkey, "issue"), issue, issues)
        r.issue_name(_join(lkey, "requires"), requires, issues)
        if issue == requires:
            r.fail(_join(lkey, "requires"), "an issue cannot require itself")
        needed = issues[requires]
        top = needed.top_level if needed.compound else needed.scale.maximum
        bottom = 0 if needed.compound else needed.scale.minimum
        linkage.append(Linkage(issue, requires, r.scalar(lt, lkey, "at_least", bottom, top)))
    return Party(
        key=key.split(".", 1)[1],
        name=r.string(t, key, "name", key.split(".", 1)[1]),
        concession=r.number(t, key, "concession", 0.05, 20, 1.0),
        patience=r.number(t, key, "patience", 1, 24 * 60, 60),
        exchange_willingness=r.number(t, key, "exchange_willingness", 0, 1, 1.0),
        bargaining_power=r.number(t, key, "bargaining_power", 0.01, 100, 1.0),
        momentum=r.number(t, key, "momentum", 0, 1, 0.0),
        batna=r.number(t, key, "batna", 0, 0.95, 0.0),
        discount_per_hour=r.number(t, key, "discount_per_hour", 0, 0.95, 0.0),
        bluff=r.number(t, key, "bluff", 0, 0.5, 0.0),
        positions=positions,
        linkage=tuple(linkage),
    )


# ------------------------------------------------------------------------------ events
def _events(r: _Reader, data: Any, issues: dict[str, IssueSpec],
            agenda: tuple[str, ...]) -> tuple[EventSpec, ...]:
    """``[events]``: name = "condition" or { when = "condition", label = "..." }. Without
    the table: one event per agenda issue (settled at the table) and the walk-out."""
    if data is None:
        data = {f"{name}_agreed": {"when": f"{name}.agreed",
                                   "label": f"{issues[name].label} agreed"}
                for name in agenda} | {"walkout": {"when": "walkout",
                                                  "label": "a delegation walked out"}}
    t = r.table(data, "events", tuple(data) if isinstance(data, dict) else (), ())
    if not t:
        r.fail("events", "is empty: define at least one event, e.g. deal = \"water.agreed\"")
    events = []
    for name, body in t.items():
        key = f"events.{name}"
        _identifier(r, key, name, "an event", reserved=False)
        if isinstance(body, str):
            when, label = body, body
        else:
            et = r.table(body, key, _EVENT_KEYS, ("when",))
            when = et["when"]
            if not isinstance(when, str):
                r.fail(_join(key, "when"), f"must be a condition as a string, got {_kind(when)}")
            label = r.string(et, key, "label", when)
        try:
            tree, read = parse_event(when, issues)
        except EventError as error:
            r.fail(key, f"{_show(when)}: {error}")
        events.append(EventSpec(name, label, when, tree, read))
    return tuple(events)


def _observed(r: _Reader, data: Any, issues: dict[str, IssueSpec]) -> tuple[Observed, ...]:
    """``[[observed]]``: what was reported of real rounds, marked on the figures."""
    if not isinstance(data, list):
        r.fail("observed", f"must be an array of [[observed]] tables, got {_kind(data)}")
    quantities = [n for n, s in issues.items() if s.kind in (IssueKind.COUNT,
                                                           IssueKind.SHARE)]
    result = []
    for i, entry in enumerate(data):
        key = f"observed[{i}]"
        t = r.table(entry, key, _OBSERVED_KEYS, ("round", "target", "source"))
        target = r.string(t, key, "target")
        if target != "duration_minutes" and target not in quantities:
            r.fail(_join(key, "target"), f"{_show(target)} is not a quantity. Allowed: "
                   f"{', '.join(quantities + ['duration_minutes'])}")
        if ("value" in t) == ("range" in t):
            r.fail(key, "needs exactly one of value and range")
        if "value" in t:
            low = high = r.scalar(t, key, "value", -1e15, 1e15)
        else:
            span = r.number(t, key, "range", -1e15, 1e15, ranged=True)
            low, high = span.low, span.high
            r.bounds.pop(_join(key, "range"), None)
        result.append(Observed(r.string(t, key, "round"), target, low, high,
                               r.string(t, key, "source")))
    return tuple(result)


def _merge(base: dict, override: dict, top: bool = True) -> dict:
    """Tables merge key by key; any other value (arrays included) is replaced, except
    the top-level ``[[shift]]`` array: a variant's shifts add to its base's, and one
    of a key the base already shifts takes the place of the base's (each key is
    shifted once, as the model applies it: ``parameters._Drawer``)."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value, top=False)
        elif top and key == "shift" and isinstance(value, list) and isinstance(
                merged.get(key), list):
            shifted = {s.get("key") for s in value if isinstance(s, dict)}
            merged[key] = [s for s in merged[key] if not (
                isinstance(s, dict) and s.get("key") in shifted)] + value
        else:
            merged[key] = value
    return merged


#: Most base scenarios followed from one file (a variant of a variant of ...; the
#: project's deepest chain is 1). Past it: one line, not Python's recursion limit.
MAX_EXTENDS = 32


def _parse_text(text: str, path: Path) -> dict:
    """One file's TOML as a dict, its posterior's path made relative to it."""
    r = _Reader(path)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: text that came from no UTF-8 file
            r.fail("", "is not valid TOML: not UTF-8 text")
    try:
        data = tomllib.loads(text)
    except ValueError as error:  # TOMLDecodeError, or an integer of > 4300 digits
        r.fail("", f"is not valid TOML: {error}")
    except RecursionError:
        r.fail("", "is not valid TOML: arrays or inline tables nested too deeply")
    posterior = data.get("posterior")
    if isinstance(posterior, dict) and isinstance(posterior.get("file"), str) and (
            posterior["file"].strip()):  # a blank name stays blank: an error, not "."
        # a posterior named in a base file is found relative to that file
        posterior["file"] = str(path.parent / posterior["file"])
    return data


def _linked_path(r: _Reader, key: str, name: Any, allowed: str) -> Path:
    if not isinstance(name, str) or not name:
        r.fail(key, f"{allowed}, got {_kind(name)}")
    try:
        return (r.path.parent / name).resolve()
    except (OSError, ValueError):  # e.g. an embedded NUL
        r.fail(key, f"{_show(name)} is not a usable path: {allowed}")


def _included(data: dict, path: Path) -> tuple[dict, str]:
    """The fragments a file names in ``include`` (e.g. the issues and events shared by
    every Istanbul scenario), merged in order; a fragment includes and extends nothing."""
    r = _Reader(path)
    names = data.pop("include", [])
    allowed = "must be a file name or a list of them, relative to this file"
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list):
        r.fail("include", f"{allowed}, got {_kind(names)}")
    merged, texts = {}, []
    for k, name in enumerate(names):
        key = f"include[{k}]"
        fragment_path = _linked_path(r, key, name, allowed)
        try:
            text = _read_text(fragment_path)
        except ScenarioError as error:
            r.fail(key, f"'{name}' ({fragment_path}): {error.message}")
        fragment = _parse_text(text, fragment_path)
        for nested in ("include", "extends"):
            if nested in fragment:
                _Reader(fragment_path).fail(nested, "an included file cannot itself "
                                            f"{nested.rstrip('s')} another: name every file "
                                            "in the including scenario")
        merged = _merge(merged, fragment)
        texts.append(text)
    return merged, "\n".join(texts)


def _parse_toml(text: str, path: Path, seen: tuple[Path, ...]) -> tuple[dict, str]:
    """TOML text to a dict, following ``extends = "base.toml"`` (relative to the file:
    a variant states only what differs from its base) and ``include`` (fragments merged
    before the file's own keys), one file after another (no recursion: a chain of at
    most ``MAX_EXTENDS`` files). Returns the merged dict and the texts it came from,
    base first (for the scenario's hash)."""
    layers: list[tuple[dict, str]] = []
    seen = list(seen)
    while True:
        data = _parse_text(text, path)
        fragments, fragment_texts = _included(data, path)
        base_name = data.pop("extends", None)
        layers.append((_merge(fragments, data), "\n".join(
            t for t in (fragment_texts, text) if t)))
        if base_name is None:
            break
        r = _Reader(path)
        allowed = "must be the path of a base scenario file, relative to this file"
        base_path = _linked_path(r, "extends", base_name, allowed)
        if base_path in seen:
            chain = " -> ".join(p.name for p in [*seen, base_path])
            r.fail("extends", f"'{base_name}' forms a cycle ({chain}): a base scenario "
                   "must not extend, directly or indirectly, a file that extends it")
        if len(layers) > MAX_EXTENDS:
            r.fail("extends", f"{_show(base_name)} would be base number {len(layers)} of "
                   f"{seen[0].name}: at most {MAX_EXTENDS} bases are followed")
        try:
            text = _read_text(base_path)
        except ScenarioError as error:
            r.fail("extends", f"base scenario '{base_name}' ({base_path}): {error.message}; "
                   f"{allowed}")
        path = base_path
        seen.append(base_path)
    merged: dict = {}
    for layer, _ in reversed(layers):
        merged = _merge(merged, layer)
    return merged, "\n".join(t for _, t in reversed(layers))


def parse_scenario(text: str, path: str | Path = "<scenario>") -> Scenario:
    """Parse and validate scenario TOML text; ``path`` is used in messages (and to
    find a base scenario named by ``extends``)."""
    path = Path(path)
    data, sources = _parse_toml(text, path, (path.resolve(),))
    return build_scenario(data, path, sources)


def read_scenario_data(path: str | Path) -> tuple[dict, str]:
    """A scenario file as plain data (``extends`` resolved) and the text it came from:
    for tools that change some keys and validate the result with ``build_scenario``
    (sweeps, what-if searches). Raises ``ScenarioError`` on unreadable files."""
    path = Path(path)
    return _parse_toml(_read_text(path), path, (path.resolve(),))


def build_scenario(data: dict, path: str | Path, sources: str) -> Scenario:
    """Validate scenario data (as parsed from TOML) into a ``Scenario``; ``sources``
    is the text it came from, hashed into ``Scenario.sha256``."""
    path = Path(path)
    r = _Reader(path)
    top = r.table(data, "", ("round", "context", "information", "issues", "agenda",
                             "mediator", "parties", "events", "observed", "posterior", "shift"),
                  ("round", "issues", "agenda", "mediator", "parties"))
    settings = _round(r, top["round"])
    context = _context(r, top.get("context", {}))
    information = _information(r, top.get("information", {}))
    issues = _issues(r, top["issues"])
    if not issues:
        r.fail("issues", "is empty: define at least one issue in [issues.NAME] with a kind")
    agenda_table = r.table(top["agenda"], "agenda", ("items",), ("items",))
    listed = r.issue_list(agenda_table, "agenda", "items", issues)
    parties_table = top["parties"]
    if not isinstance(parties_table, dict) or len(parties_table) < 2:
        r.fail("parties", "needs at least two parties, each a [parties.NAME] table")
    mediator = _mediator(r, top["mediator"], issues, information.private,
                         tuple(parties_table))
    agenda = listed + tuple(i for i in mediator.own_items if i not in listed)
    if not agenda:
        r.fail("agenda.items", "is empty: list at least one issue. Defined issues: "
               + ", ".join(issues))
    parties = tuple(_party(r, f"parties.{name}", body, agenda, issues)
                    for name, body in parties_table.items())
    for party in parties:
        for i, link in enumerate(party.linkage):
            if link.requires not in agenda:
                r.fail(f"parties.{party.key}.linkage[{i}].requires", f"'{link.requires}' is "
                       "not on the agenda. Allowed: " + ", ".join(agenda))
    events = _events(r, top.get("events"), issues, agenda)
    observed = _observed(r, top.get("observed", []), issues)
    posterior = _posterior(r, top["posterior"]) if "posterior" in top else None
    return Scenario(
        path=str(path),
        sha256=hashlib.sha256(sources.encode()).hexdigest(),
        round=settings,
        context=context,
        agenda=agenda,
        mediator=mediator,
        parties=parties,
        issues=tuple(issues.values()),
        events=events,
        observed=observed,
        information=information,
        bounds=tuple((key, low, high) for key, (low, high) in r.bounds.items()),
        posterior=posterior,
        shifts=_shifts(r, top.get("shift", [])),
    )


def _shown(path: Path) -> Path:
    """A path as people read it: relative to the working folder when inside it (so a
    results manifest does not depend on where the project lies), else absolute."""
    full = Path(os.path.normpath(path.absolute()))
    try:
        return full.relative_to(Path.cwd())
    except ValueError:
        return full


def _posterior(r: _Reader, data: Any) -> Posterior:
    """``[posterior] file = "..."``: the parameters named in that file are drawn from
    it, one particle per replicate, instead of from the scenario's own values."""
    t = r.table(data, "posterior", ("file",), ("file",))
    file = Path(r.string(t, "posterior", "file"))  # made relative to its file on parsing
    try:
        posterior = read_posterior(_shown(file))
    except InputError as error:  # name this scenario file and key too
        r.fail("posterior.file", f"{error}")
    for key in posterior.keys:
        if key not in r.bounds:
            close = difflib.get_close_matches(key, list(r.bounds), n=1)
            hint = f" (closest here: '{close[0]}')" if close else ""
            r.fail("posterior.file", f"{file} has a parameter '{key}' that this scenario "
                   f"does not have{hint}: the posterior was fitted to other parties or issues")
    for j, key in enumerate(posterior.keys):  # a particle is drawn as it is: check it
        low, high = r.bounds[key]
        values = posterior.particles[:, j]
        outside = values[(values < low) | (values > high)]
        if outside.size:
            r.fail("posterior.file", f"{file}: column '{key}' holds {outside[0]:g}, outside "
                   f"[{low:g}, {high:g}], the values this key allows")
    return posterior


def _shifts(r: _Reader, data: Any) -> tuple[Shift, ...]:
    if not isinstance(data, list):
        r.fail("shift", f"must be an array of [[shift]] tables, got {_kind(data)}")
    shifts = []
    for i, entry in enumerate(data):
        key = f"shift[{i}]"
        t = r.table(entry, key, ("key", "scale", "add", "why"), ("key", "why"))
        target = r.string(t, key, "key")
        if target not in r.bounds:
            close = difflib.get_close_matches(target, list(r.bounds), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            r.fail(_join(key, "key"), f"'{target}' is not a parameter of this scenario{hint}")
        low, high = r.bounds[target]
        shifts.append(Shift(target, r.scalar(t, key, "scale", 0, 100, 1.0),
                            r.scalar(t, key, "add", -1e6, 1e6, 0.0),
                            r.string(t, key, "why"), low, high))
    return tuple(shifts)


def _read_text(path: Path) -> str:
    """A scenario file's text: a regular file of at most ``checks.TEXT_LIMIT`` bytes
    (``checks.read_file``), in UTF-8."""
    try:
        raw = read_file(path, what="scenario")
    except InputError as error:
        raise ScenarioError(path, "", error.message) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(path, "", "is not valid TOML: not UTF-8 text") from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file."""
    return parse_scenario(_read_text(Path(path)), path)
