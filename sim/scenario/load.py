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
import sys
import tomllib
from pathlib import Path
from typing import Any

from sim.errors import InputError
from sim.model.issues import CEASEFIRE_LEVELS, ISSUE_NAMES, ISSUES, IssueKind
from sim.scenario.posterior import read_posterior
from sim.scenario.spec import (
    AgendaOrder,
    Context,
    Linkage,
    Mediator,
    Party,
    Position,
    Posterior,
    ProposalRule,
    Range,
    RoundSettings,
    Scenario,
    ScenarioError,
    Shift,
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
        allowed = f"{_NUMBER} within [{low:g}, {high:g}]" if ranged else (
            f"a number within [{low:g}, {high:g}]")
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

    def issue_list(self, data: dict, key: str, name: str, default=None) -> tuple[str, ...]:
        full = _join(key, name)
        if name not in data:
            if default is None:
                self.fail(full, "is required but missing")
            return tuple(default)
        value = data[name]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(full, f"must be a list of issue names, got {_kind(value)}")
        for item in value:
            self._issue_name(full, item)
        if len(set(value)) != len(value):
            self.fail(full, "lists an issue twice")
        return tuple(value)

    def _issue_name(self, key: str, name: str) -> None:
        if name not in ISSUES:
            close = difflib.get_close_matches(name, ISSUE_NAMES, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            self.fail(key, f"unknown issue {_show(name)}{hint} Allowed: {', '.join(ISSUE_NAMES)}")


def _join(key: str, name: Any) -> str:
    return f"{key}.{name}" if key else str(name)


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
               "closing_minutes")
_CONTEXT_KEYS = ("third_party_pressure", "concession_noise", "walkout_shape")
_MEDIATOR_KEYS = ("name", "proposal_rule", "agenda_order", "pressure", "credibility",
                  "exploration_minutes", "item_minutes", "own_items")
_PARTY_KEYS = ("name", "concession", "patience", "exchange_willingness", "bargaining_power",
               "momentum", "issues", "linkage")
_POSITION_KEYS = ("wants", "ideal", "red_line", "salience")
_CEASEFIRE_KEYS = _POSITION_KEYS + ("conditions_wants", "conditions_ideal",
                                    "conditions_red_line", "pause_conditions_red_line")
_LINKAGE_KEYS = ("issue", "requires", "at_least")
_WANTS = {"more": 1, "less": -1}


def _round(r: _Reader, data: dict) -> RoundSettings:
    t = r.table(data, "round", _ROUND_KEYS, ("name",))
    deadline = r.scalar(t, "round", "deadline_minutes", 1, 24 * 60, 90)
    return RoundSettings(
        name=r.string(t, "round", "name"),
        date=r.string(t, "round", "date", "unspecified"),
        deadline_minutes=deadline,
        max_minutes=int(r.scalar(t, "round", "max_minutes", 1, 24 * 60, 240)),
        opening_minutes=r.number(t, "round", "opening_minutes", 0, 600, 10),
        closing_minutes=r.scalar(t, "round", "closing_minutes", 0, 600, 5),
    )


def _context(r: _Reader, data: dict) -> Context:
    t = r.table(data, "context", _CONTEXT_KEYS, ())
    return Context(
        third_party_pressure=r.number(t, "context", "third_party_pressure", 0, 1, 0.0),
        concession_noise=r.scalar(t, "context", "concession_noise", 0, 3, 0.25),
        walkout_shape=r.scalar(t, "context", "walkout_shape", 0.1, 1000, 4.0),
    )


def _mediator(r: _Reader, data: dict) -> Mediator:
    t = r.table(data, "mediator", _MEDIATOR_KEYS, ("name",))
    return Mediator(
        name=r.string(t, "mediator", "name"),
        proposal_rule=ProposalRule(r.choice(t, "mediator", "proposal_rule", ProposalRule,
                                            "nash")),
        agenda_order=AgendaOrder(r.choice(t, "mediator", "agenda_order", AgendaOrder,
                                          "as_listed")),
        pressure=r.number(t, "mediator", "pressure", 0, 1, 0.0),
        credibility=r.number(t, "mediator", "credibility", 0, 1, 0.0),
        exploration_minutes=int(r.scalar(t, "mediator", "exploration_minutes", 1, 600, 5)),
        item_minutes=int(r.scalar(t, "mediator", "item_minutes", 1, 24 * 60, 30)),
        own_items=r.issue_list(t, "mediator", "own_items", ()),
    )


def _position(r: _Reader, data: Any, key: str, issue: str) -> Position:
    spec = ISSUES[issue]
    ceasefire = spec.kind is IssueKind.CEASEFIRE
    keys = _CEASEFIRE_KEYS if ceasefire else _POSITION_KEYS
    required = ("wants", "ideal", "red_line") + (
        ("conditions_wants", "conditions_ideal", "conditions_red_line") if ceasefire else ())
    t = r.table(data, key, keys, required)
    top = CEASEFIRE_LEVELS if ceasefire else spec.maximum
    wants = _WANTS[r.choice(t, key, "wants", _WANTS, "more")]
    ideal = r.number(t, key, "ideal", 0, top)
    red_line = r.number(t, key, "red_line", 0, top)
    _check_side(r, key, wants, ideal, red_line, "red_line")
    position = Position(wants, ideal, red_line, r.number(t, key, "salience", 0, 10, 1.0))
    if not ceasefire:
        return position
    c_wants = _WANTS[r.choice(t, key, "conditions_wants", _WANTS, "more")]
    c_ideal = r.number(t, key, "conditions_ideal", 0, 1)
    c_red = r.number(t, key, "conditions_red_line", 0, 1)
    _check_side(r, key, c_wants, c_ideal, c_red, "conditions_red_line")
    pause = r.number(t, key, "pause_conditions_red_line", 0, 1, None) if (
        "pause_conditions_red_line" in t) else c_red
    _check_side(r, key, c_wants, c_ideal, pause, "pause_conditions_red_line")
    return Position(wants, ideal, red_line, position.salience, c_wants, c_ideal, c_red, pause)


def _check_side(r: _Reader, key: str, wants: int, ideal: Range, red: Range, name: str):
    """A red line is the least a side accepts: below its ideal if it wants more,
    above it if it wants less — for every value of a range."""
    ideal_name = "ideal" if name == "red_line" else "conditions_ideal"
    if wants > 0 and red.high > ideal.low:
        r.fail(_join(key, name), f"{red.high:g} is on the wrong side of the ideal "
               f"{ideal.low:g}: a party that wants more needs {name} <= {ideal_name}")
    if wants < 0 and red.low < ideal.high:
        r.fail(_join(key, name), f"{red.low:g} is on the wrong side of the ideal "
               f"{ideal.high:g}: a party that wants less needs {name} >= {ideal_name}")


def _party(r: _Reader, key: str, data: Any, agenda: tuple[str, ...]) -> Party:
    t = r.table(data, key, _PARTY_KEYS, ("issues",))
    issues_key = _join(key, "issues")
    issues = r.table(t["issues"], issues_key, ISSUE_NAMES, ())
    for issue in agenda:
        if issue not in issues:
            r.fail(_join(issues_key, issue), "is on the agenda but this party has no "
                   f"position on it; add [{issues_key}.{issue}] with wants, ideal, red_line")
    positions = tuple((name, _position(r, issues[name], _join(issues_key, name), name))
                      for name in issues)
    links = t.get("linkage", [])
    if not isinstance(links, list):
        r.fail(_join(key, "linkage"), f"must be an array of tables, got {_kind(links)}")
    linkage = []
    for i, link in enumerate(links):
        lkey = f"{key}.linkage[{i}]"
        lt = r.table(link, lkey, _LINKAGE_KEYS, _LINKAGE_KEYS)
        issue, requires = r.string(lt, lkey, "issue"), r.string(lt, lkey, "requires")
        r._issue_name(_join(lkey, "issue"), issue)
        r._issue_name(_join(lkey, "requires"), requires)
        if issue == requires:
            r.fail(_join(lkey, "requires"), "an issue cannot require itself")
        top = CEASEFIRE_LEVELS if ISSUES[requires].kind is IssueKind.CEASEFIRE else (
            ISSUES[requires].maximum)
        linkage.append(Linkage(issue, requires, r.scalar(lt, lkey, "at_least", 0, top)))
    return Party(
        key=key.split(".", 1)[1],
        name=r.string(t, key, "name", key.split(".", 1)[1]),
        concession=r.number(t, key, "concession", 0.05, 20, 1.0),
        patience=r.number(t, key, "patience", 1, 24 * 60, 60),
        exchange_willingness=r.number(t, key, "exchange_willingness", 0, 1, 1.0),
        bargaining_power=r.number(t, key, "bargaining_power", 0.01, 100, 1.0),
        momentum=r.number(t, key, "momentum", 0, 1, 0.0),
        positions=positions,
        linkage=tuple(linkage),
    )


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


def _parse_toml(text: str, path: Path, seen: tuple[Path, ...]) -> tuple[dict, str]:
    """TOML text to a dict, following ``extends = "base.toml"`` (relative to the
    file): a variant states only what differs from its base. Returns the merged dict
    and the texts it came from (for the scenario's hash)."""
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
    if "extends" not in data:
        return data, text
    base_name = data.pop("extends")
    allowed = "must be the path of a base scenario file, relative to this file"
    if not isinstance(base_name, str) or not base_name:
        r.fail("extends", f"{allowed}, got {_kind(base_name)}")
    try:
        base_path = (path.parent / base_name).resolve()
    except (OSError, ValueError):  # e.g. an embedded NUL
        r.fail("extends", f"{_show(base_name)} is not a usable path: {allowed}")
    if base_path in seen:
        chain = " -> ".join(p.name for p in seen + (base_path,))
        r.fail("extends", f"'{base_name}' forms a cycle ({chain}): a base scenario must not "
               "extend, directly or indirectly, a file that extends it")
    try:
        base_source = _read_text(base_path)
    except ScenarioError as error:
        r.fail("extends", f"base scenario '{base_name}' ({base_path}): {error.message}; "
               f"{allowed}")
    base, base_text = _parse_toml(base_source, base_path, seen + (base_path,))
    return _merge(base, data), base_text + "\n" + text


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
    top = r.table(data, "", ("round", "context", "agenda", "mediator", "parties",
                             "posterior", "shift"),
                  ("round", "agenda", "mediator", "parties"))
    settings = _round(r, top["round"])
    context = _context(r, top.get("context", {}))
    agenda_table = r.table(top["agenda"], "agenda", ("items",), ("items",))
    listed = r.issue_list(agenda_table, "agenda", "items")
    mediator = _mediator(r, top["mediator"])
    agenda = listed + tuple(i for i in mediator.own_items if i not in listed)
    if not agenda:
        r.fail("agenda.items", "is empty: list at least one issue. Allowed: "
               + ", ".join(ISSUE_NAMES))
    parties_table = top["parties"]
    if not isinstance(parties_table, dict) or len(parties_table) < 2:
        r.fail("parties", "needs at least two parties, each a [parties.NAME] table")
    parties = tuple(_party(r, f"parties.{name}", body, agenda)
                    for name, body in parties_table.items())
    for party in parties:
        for i, link in enumerate(party.linkage):
            if link.requires not in agenda:
                r.fail(f"parties.{party.key}.linkage[{i}].requires", f"'{link.requires}' is "
                       "not on the agenda. Allowed: " + ", ".join(agenda))
    posterior = _posterior(r, top["posterior"]) if "posterior" in top else None
    return Scenario(
        path=str(path),
        sha256=hashlib.sha256(sources.encode()).hexdigest(),
        round=settings,
        context=context,
        agenda=agenda,
        mediator=mediator,
        parties=parties,
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
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(path, "", "no such file") from None
    except IsADirectoryError:
        raise ScenarioError(path, "", "is a directory, not a scenario file") from None
    except OSError as error:
        raise ScenarioError(path, "", f"cannot be read: {error.strerror}") from None
    except ValueError:  # an embedded NUL
        raise ScenarioError(path, "", "cannot be read: not a usable file name") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(path, "", "is not valid TOML: not UTF-8 text") from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file."""
    return parse_scenario(_read_text(Path(path)), path)
