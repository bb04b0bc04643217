"""Fuzz the scenario loader with broken files: every one must give a ``ScenarioError``
naming the file (never another exception), and where the breakage is at a known key,
the error must name that key.

Each case starts from the classroom scenario (valid: see the control tests) and applies
one mutation that surely breaks it: a mutation family that might by chance produce a
valid file is built so that it cannot (e.g. truncation always cuts off a required key).
Dict mutations are written back to TOML by the small writer below (no tomli_w).
"""

from __future__ import annotations

import copy
import datetime
import math
import re
import sys
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.scenario.load import parse_scenario
from sim.scenario.spec import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
# the classroom file, with one issue defined but not on its agenda
BASE_TEXT = (ROOT / "scenarios" / "classroom-two-party.toml").read_text(
    encoding="utf-8") + '\n[issues.memorandum]\nkind = "yes_no"\nlabel = "memorandum"\n'
BASE = tomllib.loads(BASE_TEXT)
ISSUE_NAMES = tuple(BASE["issues"])
AGENDA = tuple(BASE["agenda"]["items"])
PARTIES = tuple(BASE["parties"])
NAME = "fuzz.toml"
MISSING_DIR = "no-such-dir-fuzz"  # extends = "no-such-dir-fuzz/x.toml" must not exist
ALL_ISSUES = ", ".join(ISSUE_NAMES)
EVENT_NAMES = tuple(BASE["events"])

# The keys each table allows, written out here (not imported) so that the test checks
# the loader against the documented lists (docs/scenarios.md).
ROUND_KEYS = ("name", "date", "deadline_minutes", "max_minutes", "opening_minutes",
              "closing_minutes", "protocol")
CONTEXT_KEYS = ("third_party_pressure", "concession_noise", "walkout_shape")
INFORMATION_KEYS = ("private", "prior_width", "caucus_noise")
MEDIATOR_KEYS = ("name", "proposal_rule", "agenda_order", "pressure", "credibility",
                 "exploration_minutes", "item_minutes", "own_items", "informed", "format",
                 "caucuses", "caucus_minutes", "shuttle_minutes", "bias", "stakes", "budget",
                 "levers")
PARTY_KEYS = ("name", "concession", "patience", "exchange_willingness", "bargaining_power",
              "momentum", "batna", "discount_per_hour", "bluff", "issues", "linkage")
POSITION_KEYS = ("wants", "ideal", "red_line", "salience")
CEASEFIRE_KEYS = POSITION_KEYS + ("conditions_wants", "conditions_ideal",
                                  "conditions_red_line", "conditions_red_line_at")
TOP_KEYS = ("round", "context", "information", "issues", "agenda", "mediator", "parties",
            "events", "observed", "posterior", "shift")
ISSUE_KEYS = ("kind", "label", "unit", "min", "max", "step", "levels", "exchange",
              "contested", "contested_from_level", "conditions")
SCALE_KEYS = ("label", "unit", "min", "max", "step")
EVENT_KEYS = ("when", "label")
KINDS = ("count", "share", "ordinal", "yes_no", "compound")
SHIFT_KEYS = ("key", "scale", "add", "why")


def position_keys(issue: str) -> tuple[str, ...]:
    return CEASEFIRE_KEYS if issue == "ceasefire" else POSITION_KEYS


def level_top(issue: str) -> float:
    """Upper end of an issue's ideal/red_line (a level index for levelled kinds)."""
    spec = BASE["issues"][issue]
    if "levels" in spec:
        return len(spec["levels"]) - 1
    return 1 if spec["kind"] == "yes_no" else spec["max"]


# ----------------------------------------------------------------------------- TOML writer
_BARE = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f",
            "\r": "\\r"}


def toml_string(text: str) -> str:
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_key(key: str) -> str:
    return key if _BARE.fullmatch(key) else toml_string(key)


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def dumps(doc: dict) -> str:
    """A document as TOML: values first, then each sub-table under its own header."""
    lines: list[str] = []

    def table(data: dict, path: tuple[str, ...]) -> None:
        values = [(k, v) for k, v in data.items() if not isinstance(v, dict)]
        tables = [(k, v) for k, v in data.items() if isinstance(v, dict)]
        if path and (values or not tables):
            lines.append("[" + ".".join(toml_key(p) for p in path) + "]")
        lines.extend(f"{toml_key(k)} = {toml_value(v)}" for k, v in values)
        for k, v in tables:
            table(v, path + (k,))

    table(doc, ())
    return "\n".join(lines) + "\n"


def normal(value):
    """For comparing documents: NaN equal to NaN."""
    if isinstance(value, dict):
        return {k: normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normal(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)
    return value


# ----------------------------------------------------------------------------- strategies
TEXT = st.text(max_size=12)
SCALARS = st.one_of(
    st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(), TEXT,
    st.dates(min_value=datetime.date(1000, 1, 1)))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8)


def _real(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


NOT_A_NUMBER = VALUES.filter(lambda v: not _real(v)).filter(
    lambda v: not (isinstance(v, list) and len(v) == 2 and all(_real(x) for x in v)))
NOT_A_STRING = VALUES.filter(lambda v: not isinstance(v, str))
NOT_A_TABLE = VALUES.filter(lambda v: not isinstance(v, dict))
NOT_A_LIST_OF_STRINGS = VALUES.filter(
    lambda v: not (isinstance(v, list) and all(isinstance(x, str) for x in v)))
BLANK = st.text(alphabet=" \t\n\r", max_size=3)  # "" included
# Raw control characters are illegal anywhere in TOML (tab, LF and CR aside).
CONTROL = [chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)]


@dataclass
class Case:
    text: str
    key: str | None = None  # the key the error must name; None: not checked
    contains: tuple[str, ...] = ()
    doc: dict | None = None  # dict mutations: the text must read back as this
    hint_from: tuple[str, ...] = ()  # a typo of one of these: a suggestion is expected
    keys: tuple[str, ...] = ()  # the error's key must be one of these (when key is None)


def fresh() -> dict:
    return copy.deepcopy(BASE)


def dict_case(doc: dict, key: str, *contains: str, hint_from=()) -> Case:
    return Case(dumps(doc), key, tuple(contains), doc, tuple(hint_from))


def get(doc, path):
    for k in path:
        doc = doc[k]
    return doc


def put(doc, path, value):
    get(doc, path[:-1])[path[-1]] = value


def numeric_specs() -> list[tuple[tuple[str, ...], float, float, bool]]:
    """(path, low, high, accepts a range) of every number of the classroom scenario,
    optional ones included."""
    specs = [
        (("round", "deadline_minutes"), 1, 1_000_000, False),
        (("round", "max_minutes"), 1, 1440, False),
        (("round", "opening_minutes"), 0, 600, True),
        (("round", "closing_minutes"), 0, 600, False),
        (("context", "third_party_pressure"), 0, 1, True),
        (("context", "concession_noise"), 0, 3, False),
        (("context", "walkout_shape"), 0.1, 1000, False),
        (("mediator", "pressure"), 0, 1, True),
        (("mediator", "credibility"), 0, 1, True),
        (("mediator", "exploration_minutes"), 1, 600, False),
        (("mediator", "item_minutes"), 1, 1440, False),
    ]
    for p in PARTIES:
        for name, low, high in (("concession", 0.05, 20), ("patience", 1, 1440),
                                ("exchange_willingness", 0, 1), ("bargaining_power", 0.01, 100),
                                ("momentum", 0, 1)):
            specs.append((("parties", p, name), low, high, True))
        for issue in AGENDA:
            here = ("parties", p, "issues", issue)
            specs += [(here + ("ideal",), 0, level_top(issue), True),
                      (here + ("red_line",), 0, level_top(issue), True),
                      (here + ("salience",), 0, 10, True)]
            if issue == "ceasefire":
                specs += [(here + (name,), 0, 1, True) for name in (
                    "conditions_ideal", "conditions_red_line")]
    return specs


NUMBERS = numeric_specs()
STRINGS = [("round", "name"), ("round", "date"), ("mediator", "name")] + [
    ("parties", p, "name") for p in PARTIES]
CHOICES = [(("mediator", "proposal_rule"), ("nash", "split_difference")),
           (("mediator", "agenda_order"), ("as_listed", "easiest_first"))] + [
    (("parties", p, "issues", issue, w), ("more", "less"))
    for p in PARTIES for issue in AGENDA
    for w in (("wants", "conditions_wants") if issue == "ceasefire" else ("wants",))]
REQUIRED = [("round",), ("round", "name"), ("agenda",), ("agenda", "items"), ("mediator",),
            ("mediator", "name"), ("parties",)] + [
    ("parties", p, "issues") for p in PARTIES] + [
    ("parties", p, "issues", issue, k) for p in PARTIES for issue in AGENDA
    for k in ("wants", "ideal", "red_line") + (
        ("conditions_wants", "conditions_ideal", "conditions_red_line")
        if issue == "ceasefire" else ())]
TABLES = {(): TOP_KEYS, ("round",): ROUND_KEYS, ("context",): CONTEXT_KEYS,
          ("information",): INFORMATION_KEYS,
          ("agenda",): ("items",), ("mediator",): MEDIATOR_KEYS}
for _p in PARTIES:
    TABLES[("parties", _p)] = PARTY_KEYS
    TABLES[("parties", _p, "issues")] = ISSUE_NAMES
for _issue, _spec in BASE["issues"].items():
    TABLES[("issues", _issue)] = ISSUE_KEYS
TABLES[("issues", "ceasefire", "conditions")] = SCALE_KEYS
for _event in EVENT_NAMES:
    TABLES[("events", _event)] = EVENT_KEYS
    for _issue in AGENDA:
        TABLES[("parties", _p, "issues", _issue)] = position_keys(_issue)
SIDES = [(p, issue, names) for p in PARTIES for issue in AGENDA
         for names in ((("wants", "ideal", "red_line"),) + (
             (("conditions_wants", "conditions_ideal", "conditions_red_line"),)
             if issue == "ceasefire" else ()))]


def dotted(path) -> str:
    return ".".join(path)


def within(low, high) -> str:
    def bound(x) -> str:  # as the loader writes a bound: 1000000, not 1e+06
        return str(int(x)) if float(x).is_integer() else f"{x:g}"
    return f"within [{bound(low)}, {bound(high)}]"


# ----------------------------------------------------------------------------- families
def delete_required(draw) -> Case:
    doc, path = fresh(), draw(st.sampled_from(REQUIRED))
    del get(doc, path[:-1])[path[-1]]
    return dict_case(doc, dotted(path), "is required but missing")


def delete_issue_table(draw) -> Case:
    doc = fresh()
    p, issue = draw(st.sampled_from(PARTIES)), draw(st.sampled_from(AGENDA))
    del doc["parties"][p]["issues"][issue]
    return dict_case(doc, f"parties.{p}.issues.{issue}", "is on the agenda but this party has "
                     "no position on it", f"add [parties.{p}.issues.{issue}]")


def drop_party(draw) -> Case:
    doc = fresh()
    how = draw(st.sampled_from(["one", "all", "table"]))
    if how == "one":
        del doc["parties"][draw(st.sampled_from(PARTIES))]
    elif how == "all":
        doc["parties"] = {}
    else:
        doc["parties"] = draw(NOT_A_TABLE)
    return dict_case(doc, "parties", "needs at least two parties")


def typo(draw, word: str) -> str:
    i = draw(st.integers(0, len(word) - 1))
    op = draw(st.sampled_from(["drop", "double", "swap", "replace"]))
    if op == "drop":
        return word[:i] + word[i + 1:]
    if op == "double":
        return word[:i] + word[i] + word[i:]
    if op == "swap" and i + 1 < len(word):
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + draw(st.sampled_from("abcdefghijklmnopqrstuvwxyz_")) + word[i + 1:]


def add_unknown_key(draw) -> Case:
    doc = fresh()
    path = draw(st.sampled_from(sorted(TABLES)))
    allowed = TABLES[path]
    taken = set(allowed) | ({"extends"} if path == () else set())
    near = draw(st.booleans())
    if near:
        key = typo(draw, draw(st.sampled_from(allowed)))
        if key in taken:
            key += "_"
    else:
        key = draw(TEXT.filter(lambda k: k not in taken))
    get(doc, path)[key] = draw(VALUES)
    return dict_case(doc, dotted(path + (key,)), "unknown key",
                     "Allowed: " + ", ".join(allowed), hint_from=allowed if near else ())


def wrong_type_number(draw) -> Case:
    doc = fresh()
    path, low, high, _ = draw(st.sampled_from(NUMBERS))
    put(doc, path, draw(NOT_A_NUMBER))
    return dict_case(doc, dotted(path), "must be a", within(low, high), ", got ")


def wrong_type_string(draw) -> Case:
    doc, path = fresh(), draw(st.sampled_from(STRINGS))
    put(doc, path, draw(NOT_A_STRING | BLANK))
    return dict_case(doc, dotted(path), "must be a non-empty string, got ")


def wrong_choice(draw) -> Case:
    doc = fresh()
    path, allowed = draw(st.sampled_from(CHOICES))
    put(doc, path, draw(NOT_A_STRING | TEXT.filter(lambda v: v not in allowed)))
    return dict_case(doc, dotted(path), "Allowed: " + ", ".join(allowed))


def wrong_type_list(draw) -> Case:
    doc = fresh()
    path = draw(st.sampled_from([("agenda", "items"), ("mediator", "own_items")]))
    put(doc, path, draw(NOT_A_LIST_OF_STRINGS))
    return dict_case(doc, dotted(path), "must be a list of issue names")


def table_to_scalar(draw) -> Case:
    doc = fresh()
    path = draw(st.sampled_from([("round",), ("context",), ("agenda",), ("mediator",)]
                                + [("parties", p) for p in PARTIES]
                                + [("parties", p, "issues") for p in PARTIES]
                                + [("parties", p, "issues", i) for p in PARTIES for i in AGENDA]))
    put(doc, path, draw(NOT_A_TABLE))
    return dict_case(doc, dotted(path), "must be a table, got ")


def out_of_range(draw) -> Case:
    doc = fresh()
    path, low, high, ranged = draw(st.sampled_from(NUMBERS))
    kinds = ["below", "above", "nan", "inf", "huge"] + (["range_low", "range_high"]
                                                       if ranged else [])
    kind = draw(st.sampled_from(kinds))
    d = draw(st.floats(min_value=1e-6, max_value=1e9))
    if kind == "below":
        value = draw(st.sampled_from([low - d, math.floor(low) - 1 - int(d)]))
    elif kind == "above":
        value = draw(st.sampled_from([high + d, math.ceil(high) + 1 + int(d)]))
    elif kind == "nan":
        value = math.nan
    elif kind == "inf":
        value = draw(st.sampled_from([math.inf, -math.inf]))
    elif kind == "huge":  # up to far beyond a float's range
        value = draw(st.sampled_from([1, -1])) * 10 ** draw(st.integers(10, 400))
    elif kind == "range_low":
        value = [low - d, draw(st.floats(min_value=low - d, max_value=high))]
    else:
        value = [draw(st.floats(min_value=low, max_value=high + d)), high + d]
    put(doc, path, value)
    return dict_case(doc, dotted(path), within(low, high))


def reversed_range(draw) -> Case:
    doc = fresh()
    path, low, high, _ = draw(st.sampled_from(NUMBERS))
    a = draw(st.floats(min_value=low, max_value=high))
    b = draw(st.floats(min_value=low, max_value=high).filter(lambda x: x != a))
    put(doc, path, [max(a, b), min(a, b)])
    return dict_case(doc, dotted(path), within(low, high))


def wrong_side(draw) -> Case:
    doc = fresh()
    p, issue, (w, i, r) = draw(st.sampled_from(SIDES))
    table = doc["parties"][p]["issues"][issue]
    top = 1.0 if w == "conditions_wants" else level_top(issue)
    more, ideal = table[w] == "more", table[i]
    options = ["swap", "flip"]
    if (ideal < top) if more else (ideal > 0):
        options.append("beyond")
    op = draw(st.sampled_from(options))
    if op == "swap":
        assert table[i] != table[r]
        table[i], table[r] = table[r], table[i]
    elif op == "flip":
        table[w] = "less" if more else "more"
    else:
        if more:
            red = draw(st.floats(min_value=ideal, max_value=top, exclude_min=True))
        else:
            red = draw(st.floats(min_value=0, max_value=ideal, exclude_max=True))
        if draw(st.booleans()):  # a range reaching past the ideal
            other = draw(st.floats(min_value=0, max_value=red) if more
                         else st.floats(min_value=red, max_value=top))
            red = [other, red] if more else [red, other]
        table[r] = red
    now_more = table[w] == "more"
    rule = f"needs {r} <= {i}" if now_more else f"needs {r} >= {i}"
    return dict_case(doc, f"parties.{p}.issues.{issue}.{r}",
                     "is on the wrong side of the ideal", rule)


def empty_agenda(draw) -> Case:
    doc = fresh()
    doc["agenda"]["items"] = []
    if draw(st.booleans()):
        doc["mediator"]["own_items"] = []
    return dict_case(doc, "agenda.items", "is empty", f"Defined issues: {ALL_ISSUES}")


def unknown_agenda_issue(draw) -> Case:
    doc = fresh()
    items = doc["agenda"]["items"]
    how = draw(st.sampled_from(["items", "own_items", "twice"]))
    if how == "twice":
        items.insert(draw(st.integers(0, len(items))), draw(st.sampled_from(AGENDA)))
        return dict_case(doc, "agenda.items", "lists an issue twice")
    name = draw(st.one_of(TEXT, st.sampled_from(ISSUE_NAMES).map(
        lambda n: typo(draw, n))).filter(lambda n: n not in ISSUE_NAMES))
    if how == "items":
        items.insert(draw(st.integers(0, len(items))), name)
        key = "agenda.items"
    else:
        doc["mediator"]["own_items"] = [name]
        key = "mediator.own_items"
    return dict_case(doc, key, "unknown issue", f"Defined issues: {ALL_ISSUES}")


def agenda_issue_without_positions(draw) -> Case:
    doc = fresh()
    issue = draw(st.sampled_from([i for i in ISSUE_NAMES if i not in AGENDA]))
    if draw(st.booleans()):
        doc["agenda"]["items"].insert(draw(st.integers(0, len(AGENDA))), issue)
    else:
        doc["mediator"]["own_items"] = [issue]
    given_to = draw(st.lists(st.sampled_from(PARTIES), unique=True, max_size=len(PARTIES) - 1))
    for p in given_to:  # a valid position: the rest still lack one
        doc["parties"][p]["issues"][issue] = {"wants": "more", "ideal": level_top(issue),
                                              "red_line": 0}
    lacking = next(p for p in PARTIES if p not in given_to)
    return dict_case(doc, f"parties.{lacking}.issues.{issue}", "is on the agenda but this "
                     "party has no position on it")


def bad_linkage(draw) -> Case:
    doc = fresh()
    p = draw(st.sampled_from(PARTIES))
    good = {"issue": "ceasefire", "requires": "pow_exchange", "at_least": 100}
    n = draw(st.integers(0, 2))  # valid links before the bad one
    key = f"parties.{p}.linkage[{n}]"
    how = draw(st.sampled_from(["off_agenda", "unknown", "itself", "missing", "at_least",
                                "not_a_table", "not_an_array"]))
    if how == "not_an_array":
        doc["parties"][p]["linkage"] = draw(NOT_A_TABLE.filter(lambda v: not isinstance(v, list))
                                            | st.dictionaries(TEXT, VALUES, max_size=3))
        return dict_case(doc, f"parties.{p}.linkage", "must be an array of tables")
    if how == "not_a_table":
        bad, expect = draw(NOT_A_TABLE), (key, "must be a table")
    elif how == "off_agenda":
        requires = draw(st.sampled_from([i for i in ISSUE_NAMES if i not in AGENDA]))
        issue = draw(st.sampled_from([i for i in ISSUE_NAMES if i != requires]))
        bad = {"issue": issue, "requires": requires,
               "at_least": draw(st.floats(min_value=0, max_value=level_top(requires)))}
        expect = (key + ".requires", "is not on the agenda", "Allowed: " + ", ".join(AGENDA))
    elif how == "unknown":
        which = draw(st.sampled_from(["issue", "requires"]))
        bad = dict(good)
        bad[which] = draw(TEXT.filter(lambda n: n not in ISSUE_NAMES and n.strip()))
        expect = (f"{key}.{which}", "unknown issue", f"Defined issues: {ALL_ISSUES}")
    elif how == "itself":
        same = draw(st.sampled_from(ISSUE_NAMES))
        bad = {"issue": same, "requires": same, "at_least": 0}
        expect = (key + ".requires", "cannot require itself")
    elif how == "missing":
        gone = draw(st.sampled_from(sorted(good)))
        bad = {k: v for k, v in good.items() if k != gone}
        expect = (f"{key}.{gone}", "is required but missing")
    else:
        requires = draw(st.sampled_from(AGENDA))
        top = level_top(requires)
        bad = {"issue": next(i for i in AGENDA if i != requires), "requires": requires,
               "at_least": draw(st.one_of(st.floats(max_value=-1e-6),
                                          st.floats(min_value=top + 1e-6), st.just(math.nan)))}
        expect = (key + ".at_least", within(0, top))
    doc["parties"][p]["linkage"] = [dict(good) for _ in range(n)] + [bad]
    return dict_case(doc, *expect)


def bad_extends(draw) -> Case:
    doc = fresh()
    how = draw(st.sampled_from(["not_a_string", "empty", "missing", "itself", "nul"]))
    name_chars = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1,
                         max_size=10)
    if how == "not_a_string":
        value, message = draw(NOT_A_STRING), "must be the path of a base scenario file"
    elif how == "empty":
        value, message = "", "must be the path of a base scenario file"
    elif how == "missing":
        value, message = f"{MISSING_DIR}/{draw(name_chars)}.toml", "no such file"
    elif how == "itself":
        value, message = draw(st.sampled_from([NAME, f"./{NAME}"])), "forms a cycle"
    else:
        value, message = draw(name_chars) + "\x00" + draw(name_chars), "not a usable path"
    doc = {"extends": value} | doc
    return dict_case(doc, "extends", message)


def truncate_text(draw) -> Case:
    # Cut before the last red_line (Southland's on the exchange, an agenda item): the
    # file may still be TOML, but never a valid scenario.
    end = BASE_TEXT.rindex("\nred_line") + 1
    return Case(BASE_TEXT[:draw(st.integers(0, end - 1))])


def line_starts(text: str) -> list[int]:
    return [0] + [m.end() for m in re.finditer("\n", text)]


def control_char_garbage(draw) -> Case:
    garbage = draw(TEXT) + draw(st.sampled_from(CONTROL)) + draw(TEXT)
    at = draw(st.integers(0, len(BASE_TEXT)))
    return Case(BASE_TEXT[:at] + garbage + BASE_TEXT[at:], "", ("is not valid TOML",))


def syntax_garbage_line(draw) -> Case:
    line = draw(st.sampled_from([
        "[round]", "[context]", "[agenda]", "[mediator]", "[parties.northland]",
        "[parties.southland.issues.ceasefire]",  # each declared a second time
        "= 1", "[", "[[", "]]", "[a]]", "x =", 'x = "unterminated', "x = 1 2", "x.= 1"]))
    at = draw(st.sampled_from(line_starts(BASE_TEXT)))
    return Case(BASE_TEXT[:at] + line + "\n" + BASE_TEXT[at:], "", ("is not valid TOML",))


def decode(draw, raw: bytes) -> str:
    """Bytes as a reader that does not check them might pass them on."""
    if draw(st.booleans()):
        return raw.decode("latin-1")
    return raw.decode("utf-8", "surrogateescape")


def random_bytes_file(draw) -> Case:
    # 100 bytes cannot hold the names a valid scenario needs (round, name, agenda, items,
    # mediator, parties and two parties' issues with wants, ideal, red_line: > 110).
    return Case(decode(draw, draw(st.binary(max_size=100))))


def random_bytes_inserted(draw) -> Case:
    raw = draw(st.binary(max_size=20)) + bytes([ord(draw(st.sampled_from(CONTROL)))]) + draw(
        st.binary(max_size=20))
    at = draw(st.integers(0, len(BASE_TEXT)))
    return Case(BASE_TEXT[:at] + decode(draw, raw) + BASE_TEXT[at:], "",
                ("is not valid TOML",))


def deep_nesting(draw) -> Case:
    depth = draw(st.integers(1, 3000))
    line = "x = " + "[" * depth + "]" * depth
    at = draw(st.sampled_from(line_starts(BASE_TEXT)))
    # shallow: an unknown key x; deep: too deep for the TOML reader
    return Case(BASE_TEXT[:at] + line + "\n" + BASE_TEXT[at:], keys=("", "x", ".x"))


def huge_integer(draw) -> Case:
    zeros = draw(st.integers(4, 6000))  # 10**4 > 1440: never a valid patience
    text = BASE_TEXT.replace("patience = 600", "patience = 1" + "0" * zeros, 1)
    too_long = zeros + 1 > sys.get_int_max_str_digits()
    return Case(text, "" if too_long else "parties.northland.patience")


def deep_value(draw) -> Case:
    # dotted keys build a deep table without deep recursion in the TOML reader (but in
    # quadratic time); from ~1,500 levels repr() of it fails with RecursionError
    depth = draw(st.integers(1, 100) | st.integers(1600, 1800))
    text = BASE_TEXT.replace("deadline_minutes = 100", "deadline_minutes" + ".a" * depth + " = 1")
    return Case(text, "round.deadline_minutes", ("must be a number within [1, 1000000], got dict",))


DRAWABLE = frozenset(key for key, _, _ in parse_scenario(BASE_TEXT, NAME).bounds)


def bad_shift(draw) -> Case:
    doc = fresh()
    good = {"key": "mediator.pressure", "scale": 2.0, "why": "a valid shift"}
    n = draw(st.integers(0, 2))  # valid shifts before the bad one
    key = f"shift[{n}]"
    how = draw(st.sampled_from(["not_an_array", "not_a_table", "unknown_key", "missing",
                                "not_a_parameter", "scale", "add", "why"]))
    if how == "not_an_array":
        doc["shift"] = draw(NOT_A_TABLE.filter(lambda v: not isinstance(v, list))
                            | st.dictionaries(TEXT, VALUES, max_size=3))
        return dict_case(doc, "shift", "must be an array of [[shift]] tables")
    bad = dict(good)
    if how == "not_a_table":
        bad, expect = draw(NOT_A_TABLE), (key, "must be a table")
    elif how == "unknown_key":
        name = draw(TEXT.filter(lambda k: k not in SHIFT_KEYS))
        bad[name] = draw(VALUES)
        expect = (f"{key}.{name}", "unknown key", "Allowed: " + ", ".join(SHIFT_KEYS))
    elif how == "missing":
        gone = draw(st.sampled_from(["key", "why"]))
        del bad[gone]
        expect = (f"{key}.{gone}", "is required but missing")
    elif how == "not_a_parameter":
        bad["key"] = draw(st.one_of(TEXT, st.sampled_from(sorted(DRAWABLE)).map(
            lambda k: typo(draw, k))).filter(lambda k: k not in DRAWABLE and k.strip()))
        expect = (key + ".key", "is not a parameter of this scenario")
    elif how == "scale":
        bad["scale"] = draw(st.floats(max_value=-1e-9) | st.floats(min_value=100 + 1e-6)
                            | NOT_A_NUMBER)
        expect = (key + ".scale", within(0, 100))
    elif how == "add":
        bad["add"] = draw(st.floats(max_value=-1e6 - 1) | st.floats(min_value=1e6 + 1)
                          | NOT_A_NUMBER)
        expect = (key + ".add", within(-1e6, 1e6))
    else:
        bad["why"] = draw(NOT_A_STRING | BLANK)
        expect = (key + ".why", "must be a non-empty string")
    doc["shift"] = [dict(good) for _ in range(n)] + [bad]
    return dict_case(doc, *expect)


def bad_posterior(draw) -> Case:
    doc = fresh()
    how = draw(st.sampled_from(["not_a_table", "no_file", "unknown_key", "file_type",
                                "missing_file"]))
    if how == "not_a_table":
        doc["posterior"] = draw(NOT_A_TABLE)
        return dict_case(doc, "posterior", "must be a table")
    if how == "no_file":
        doc["posterior"] = {}
        return dict_case(doc, "posterior.file", "is required but missing")
    if how == "unknown_key":
        name = draw(TEXT.filter(lambda k: k != "file"))
        doc["posterior"] = {name: draw(VALUES)}
        return dict_case(doc, f"posterior.{name}", "unknown key", "Allowed: file")
    if how == "file_type":
        doc["posterior"] = {"file": draw(NOT_A_STRING | BLANK)}
        return dict_case(doc, "posterior.file", "must be a non-empty string")
    name = draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1))
    doc["posterior"] = {"file": f"{MISSING_DIR}/{name}.parquet"}
    return dict_case(doc, "posterior.file", "no such posterior file")


def undecodable_comment(draw) -> Case:
    # bytes that are not UTF-8 (0xff never is), passed on undecoded as lone surrogates,
    # in a comment of an otherwise valid file
    raw = draw(st.binary(max_size=20)) + b"\xff" + draw(st.binary(max_size=20))
    comment = "# " + raw.decode("utf-8", "surrogateescape").replace("\n", " ") + "\n"
    at = draw(st.sampled_from(line_starts(BASE_TEXT)))
    return Case(BASE_TEXT[:at] + comment + BASE_TEXT[at:], "", ("is not valid TOML",))


def bad_issue(draw) -> Case:
    """A broken issue definition: each names ``issues.NAME`` or one of its keys."""
    doc = fresh()
    name = draw(st.sampled_from(ISSUE_NAMES))
    spec = doc["issues"][name]
    key = f"issues.{name}"
    how = draw(st.sampled_from(["kind", "no_kind", "levels_on_count", "scale_on_levelled",
                                "max_not_above_min", "no_max", "fraction", "bad_levels",
                                "no_conditions", "flag", "tiny_step", "contested_level",
                                "bad_name"]))
    if how == "kind":
        spec["kind"] = draw(NOT_A_STRING | TEXT.filter(lambda v: v not in KINDS))
        return dict_case(doc, f"{key}.kind", "Allowed: " + ", ".join(KINDS))
    if how == "no_kind":
        del spec["kind"]
        return dict_case(doc, f"{key}.kind", "is required but missing")
    count = doc["issues"]["pow_exchange"]
    if how == "levels_on_count":
        count["levels"] = ["a", "b"]
        return dict_case(doc, "issues.pow_exchange.levels", "only ordinal, yes_no and compound")
    if how == "scale_on_levelled":
        which = draw(st.sampled_from(["min", "max", "step", "unit"]))
        doc["issues"]["memorandum"][which] = 1
        return dict_case(doc, f"issues.memorandum.{which}", "take levels, not min, max")
    if how == "max_not_above_min":
        count["max"] = draw(st.integers(-10**6, count["min"]))
        return dict_case(doc, "issues.pow_exchange.max", "must be greater than min")
    if how == "no_max":
        del count["max"]
        return dict_case(doc, "issues.pow_exchange.max", "is required for a count issue")
    if how == "fraction":
        count["step"] = draw(st.floats(0.01, 0.99))
        return dict_case(doc, "issues.pow_exchange.step", "whole-number min and step")
    if how == "bad_levels":
        levels = draw(st.sampled_from([[], ["one"], ["a", "a"], [1, 2], "ab", ["a", ""]]))
        doc["issues"]["ceasefire"]["levels"] = levels
        return dict_case(doc, "issues.ceasefire.levels")
    if how == "no_conditions":
        del doc["issues"]["ceasefire"]["conditions"]
        return dict_case(doc, "issues.ceasefire.conditions", "is required for a compound")
    if how == "flag":
        which = draw(st.sampled_from(["exchange", "contested"]))
        count[which] = draw(VALUES.filter(lambda v: not isinstance(v, bool)))
        return dict_case(doc, f"issues.pow_exchange.{which}", "must be true or false")
    if how == "tiny_step":
        count["step"] = 1
        count["max"] = 10**8
        return dict_case(doc, "issues.pow_exchange.step", "lattice points")
    if how == "contested_level":
        doc["issues"]["ceasefire"]["contested_from_level"] = draw(
            st.sampled_from([0, 4, 99, -1]))
        return dict_case(doc, "issues.ceasefire.contested_from_level", within(1, 3))
    bad = draw(st.sampled_from(["1abc", "a b", "walkout", "duration_minutes", "and", "x-y"]))
    doc["issues"][bad] = {"kind": "yes_no"}
    return dict_case(doc, f"issues.{bad}", "cannot name an issue")


def bad_event(draw) -> Case:
    """A broken event: its error names ``events.NAME`` and says where in the expression."""
    doc = fresh()
    name = draw(st.sampled_from(EVENT_NAMES))
    how = draw(st.sampled_from(["syntax", "unknown_issue", "unknown_part", "number", "call",
                                "level_name", "not_a_string", "empty", "no_when",
                                "subscript", "text_compare"]))
    when, contains = {
        "syntax": ("pow_exchange.value >= ", ("not a valid expression", "position")),
        "unknown_issue": ("pow_exchang.agreed", ("unknown issue 'pow_exchang'",
                                                 "did you mean 'pow_exchange'?",
                                                 "position 1")),
        "unknown_part": ("pow_exchange.level >= 1", ("has no part 'level'",
                                                     "Allowed: agreed, value, minute")),
        "number": ("pow_exchange.value", ("is a number, not a condition",)),
        "call": ("__import__('os').system('true')", ("a function call is not allowed",)),
        "level_name": ("ceasefire.level >= 'armistice'", ("is not a level of 'ceasefire'",
                                                          "local pause")),
        "not_a_string": (draw(NOT_A_STRING.filter(lambda v: not isinstance(v, dict))),
                         ("must be a condition as a string",)),
        "empty": ("  ", ("is empty",)),
        "no_when": (None, ("is required but missing",)),
        "subscript": ("walkout_party[0] == 'N'", ("indexing is not allowed",)),
        "text_compare": ("pow_exchange.value == 'big'", ("text compares only with",)),
    }[how]
    if when is None:
        del doc["events"][name]["when"]
        return dict_case(doc, f"events.{name}.when", *contains)
    doc["events"][name]["when"] = when
    key = f"events.{name}.when" if how == "not_a_string" else f"events.{name}"
    return dict_case(doc, key, *contains)


def bad_issue_scale(draw) -> Case:
    """More broken issue definitions: labels, units, scales, conditions, levels and the
    mechanisms on the wrong kind of issue; the issues table itself."""
    doc = fresh()
    issues = doc["issues"]
    how = draw(st.sampled_from([
        "label", "unit", "scale_number", "step_range", "conditions_not_table",
        "conditions_on_count", "conditions_max", "exchange_on_compound",
        "contested_level_on_count", "yes_no_levels", "ordinal_no_levels", "many_levels",
        "count_min_fraction", "issues_not_table", "issues_empty", "issue_not_table",
        "bad_issue_name"]))
    if how == "label":
        which = draw(st.sampled_from(ISSUE_NAMES))
        issues[which]["label"] = draw(NOT_A_STRING | BLANK)
        return dict_case(doc, f"issues.{which}.label", "must be a non-empty string")
    if how == "unit":
        issues["pow_exchange"]["unit"] = draw(NOT_A_STRING | BLANK)
        return dict_case(doc, "issues.pow_exchange.unit", "must be a non-empty string")
    if how == "scale_number":
        which = draw(st.sampled_from(["min", "max", "step"]))
        issues["pow_exchange"][which] = draw(NOT_A_NUMBER)
        return dict_case(doc, f"issues.pow_exchange.{which}", "must be a number")
    if how == "step_range":
        issues["pow_exchange"]["step"] = draw(st.floats(max_value=1e-10) | st.just(0.0))
        return dict_case(doc, "issues.pow_exchange.step", within(1e-9, 1e15))
    if how == "conditions_not_table":
        issues["ceasefire"]["conditions"] = draw(NOT_A_TABLE)
        return dict_case(doc, "issues.ceasefire.conditions", "must be a table")
    if how == "conditions_on_count":
        issues["pow_exchange"]["conditions"] = {"min": 0, "max": 1}
        return dict_case(doc, "issues.pow_exchange.conditions",
                         "only a compound issue has conditions")
    if how == "conditions_max":
        issues["ceasefire"]["conditions"]["max"] = draw(st.floats(-10, 0))
        return dict_case(doc, "issues.ceasefire.conditions.max", "must be greater than min")
    if how == "exchange_on_compound":
        issues["ceasefire"]["exchange"] = True
        return dict_case(doc, "issues.ceasefire.exchange", "cannot be an exchange issue")
    if how == "contested_level_on_count":
        which = draw(st.sampled_from(["pow_exchange", "memorandum"]))
        issues[which]["contested_from_level"] = 1
        return dict_case(doc, f"issues.{which}.contested_from_level",
                         "only a compound issue has it")
    if how == "yes_no_levels":
        issues["memorandum"]["levels"] = draw(st.sampled_from([["a"], ["a", "b", "c"],
                                                               ["x", "y", "z", "w"]]))
        return dict_case(doc, "issues.memorandum.levels", "exactly two levels")
    if how == "ordinal_no_levels":
        issues["memorandum"]["kind"] = "ordinal"
        return dict_case(doc, "issues.memorandum.levels", "is required for a ordinal issue")
    if how == "many_levels":
        issues["memorandum"] |= {"kind": "ordinal",
                                 "levels": [f"l{k}" for k in range(1001)]}
        return dict_case(doc, "issues.memorandum.levels", "more than 1,000 levels")
    if how == "count_min_fraction":
        issues["pow_exchange"]["min"] = draw(st.floats(0.01, 0.99))
        return dict_case(doc, "issues.pow_exchange.step", "whole-number min and step")
    if how == "issues_not_table":
        doc["issues"] = draw(NOT_A_TABLE)
        return dict_case(doc, "issues", "must be a table")
    if how == "issues_empty":
        doc["issues"] = {}
        return dict_case(doc, "issues", "is empty")
    if how == "issue_not_table":
        which = draw(st.sampled_from(ISSUE_NAMES))
        issues[which] = draw(NOT_A_TABLE)
        return dict_case(doc, f"issues.{which}", "must be a table")
    bad = draw(st.sampled_from(["True", "None", "not", "walkout_party", "é", "a.b", "2x"]))
    issues[bad] = {"kind": "yes_no"}
    return dict_case(doc, f"issues.{bad}", "cannot name an issue")


def bad_level_position(draw) -> Case:
    """Positions on levelled and compound issues: level names, the conditions at a
    level, and a key of earlier versions."""
    doc = fresh()
    p = draw(st.sampled_from(PARTIES))
    cease = doc["parties"][p]["issues"]["ceasefire"]
    key = f"parties.{p}.issues.ceasefire"
    how = draw(st.sampled_from(["level_name", "at_not_table", "at_level", "at_value",
                                "at_side", "renamed", "name_in_range"]))
    if how == "level_name":
        which = draw(st.sampled_from(["ideal", "red_line"]))
        cease[which] = draw(TEXT.filter(lambda v: v not in BASE["issues"]["ceasefire"][
            "levels"]))
        return dict_case(doc, f"{key}.{which}", "is not a level of 'ceasefire'",
                         "Levels: none, local pause")
    if how == "at_not_table":
        cease["conditions_red_line_at"] = draw(NOT_A_TABLE)
        return dict_case(doc, f"{key}.conditions_red_line_at", "must be a table")
    if how == "at_level":
        level = draw(st.sampled_from(["0", "4", "none", "pause", "-1", "1.5"]))
        cease["conditions_red_line_at"] = {level: cease["conditions_red_line"]}
        return dict_case(doc, f"{key}.conditions_red_line_at.{level}",
                         "is not a level of 'ceasefire' that can be agreed")
    if how == "at_value":
        cease["conditions_red_line_at"] = {"1": draw(NOT_A_NUMBER | st.floats(1.001, 1e9))}
        return dict_case(doc, f"{key}.conditions_red_line_at.1", within(0, 1))
    if how == "at_side":
        # move the ideal off the end of the scale (the red line stays valid), then put
        # a level's red line between the ideal and that end
        more = cease["conditions_wants"] == "more"
        cease["conditions_ideal"] = 0.9 if more else 0.1
        value = draw(st.floats(0.9, 1, exclude_min=True) if more
                     else st.floats(0, 0.1, exclude_max=True))
        level = draw(st.sampled_from(["2", "general ceasefire", "1"]))
        cease["conditions_red_line_at"] = {level: value}
        return dict_case(doc, f"{key}.conditions_red_line_at.{level}",
                         "is on the wrong side of the ideal")
    if how == "renamed":
        cease["pause_conditions_red_line"] = 0.1
        return dict_case(doc, f"{key}.pause_conditions_red_line", "is no longer a key",
                         "conditions_red_line_at")
    cease["red_line"] = ["local pause", "full ceasefire"]
    return dict_case(doc, f"{key}.red_line", "must be a number or a [low, high] range")


def bad_event_more(draw) -> Case:
    """More broken events: the table, the names, the labels, and expressions outside
    the language."""
    doc = fresh()
    name = draw(st.sampled_from(EVENT_NAMES))
    how = draw(st.sampled_from(["not_a_table", "empty", "bad_name", "label", "entry",
                                "expression"]))
    if how == "not_a_table":
        doc["events"] = draw(NOT_A_TABLE)
        return dict_case(doc, "events", "must be a table")
    if how == "empty":
        doc["events"] = {}
        return dict_case(doc, "events", "is empty")
    if how == "bad_name":
        bad = draw(st.sampled_from(["1st", "a b", "x-y", "é", ""]))
        doc["events"][bad] = "walkout"
        return dict_case(doc, f"events.{bad}", "cannot name an event")
    if how == "label":
        doc["events"][name]["label"] = draw(NOT_A_STRING | BLANK)
        return dict_case(doc, f"events.{name}.label", "must be a non-empty string")
    if how == "entry":
        doc["events"][name] = draw(NOT_A_TABLE.filter(lambda v: not isinstance(v, str)))
        return dict_case(doc, f"events.{name}", "must be a table")
    when, contains = draw(st.sampled_from([
        ("pow_exchange", "is an issue: name one of its parts"),
        ("pow_exchange.value.x > 1", "only ISSUE.part is allowed"),
        ("pow_exchange.value % 2 == 0", "only + - * / are allowed"),
        ("pow_exchange.value in (1, 2)", "a tuple is not allowed"),
        ("walkout + 1 > 0", "walkout is not a number"),
        ("not pow_exchange.value", "is a number, not a condition"),
        ("true", "reads no outcome of the round"),
        ("1 > 2 or false", "reads no outcome of the round"),
        ("None == pow_exchange.value", "None is not allowed"),
        ("pow_exchange.value >= 1e999", "inf is not allowed"),
        ("ceasefire.value >= 1", "it has no part 'value'"),
        ("memorandum.value == 'maybe'", "is not a level of 'memorandum'"),
        ("~walkout", "only 'not' and a sign"),
        ("duration > 1", "unknown name 'duration'"),
        ("pow_exchange.value >=", "position 22: not a valid expression"),
        ("lambda: 1", "a lambda is not allowed")]))
    doc["events"][name]["when"] = when
    return dict_case(doc, f"events.{name}", *contains)


def bad_observed(draw) -> Case:
    """Broken [[observed]] entries: each names ``observed`` or ``observed[i]`` and the
    key."""
    doc = fresh()
    good = {"round": "16 May", "target": "pow_exchange", "value": 1000, "source": "seed"}
    n = draw(st.integers(0, 2))  # valid entries before the bad one
    key = f"observed[{n}]"
    how = draw(st.sampled_from(["not_an_array", "not_a_table", "unknown_key", "missing",
                                "target", "both", "neither", "value", "range", "text"]))
    if how == "not_an_array":
        doc["observed"] = draw(NOT_A_TABLE.filter(lambda v: not isinstance(v, list))
                               | st.dictionaries(TEXT, VALUES, max_size=3))
        return dict_case(doc, "observed", "must be an array of [[observed]] tables")
    bad = dict(good)
    if how == "not_a_table":
        bad, expect = draw(NOT_A_TABLE), (key, "must be a table")
    elif how == "unknown_key":
        name = draw(TEXT.filter(lambda k: k not in ("round", "target", "value", "range",
                                                    "source")))
        bad[name] = draw(VALUES)
        expect = (f"{key}.{name}", "unknown key",
                  "Allowed: round, target, value, range, source")
    elif how == "missing":
        gone = draw(st.sampled_from(["round", "target", "source"]))
        del bad[gone]
        expect = (f"{key}.{gone}", "is required but missing")
    elif how == "target":
        bad["target"] = draw(st.sampled_from(["ceasefire", "memorandum", "walkout",
                                              "pow_exchange_value", "duration"]))
        expect = (f"{key}.target", "is not a quantity",
                  "Allowed: pow_exchange, duration_minutes")
    elif how == "both":
        bad["range"] = [900, 1100]
        expect = (key, "needs exactly one of value and range")
    elif how == "neither":
        del bad["value"]
        expect = (key, "needs exactly one of value and range")
    elif how == "value":
        bad["value"] = draw(NOT_A_NUMBER.filter(lambda v: not isinstance(v, list))
                            | st.sampled_from([math.nan, math.inf, 1e16, -1e16]))
        expect = (f"{key}.value", within(-1e15, 1e15))
    elif how == "range":
        del bad["value"]
        bad["range"] = draw(st.sampled_from([[2, 1], [0, math.inf], [math.nan, 1], [1],
                                             "1-2", [0, 1e16]]))
        expect = (f"{key}.range", within(-1e15, 1e15))
    else:
        which = draw(st.sampled_from(["round", "source", "target"]))
        bad[which] = draw(NOT_A_STRING | BLANK)
        expect = (f"{key}.{which}", "must be a non-empty string")
    doc["observed"] = [dict(good) for _ in range(n)] + [bad]
    return dict_case(doc, *expect)


def bad_include(draw) -> Case:
    """``include``: a file name or a list of them, each a readable fragment."""
    doc = fresh()
    how = draw(st.sampled_from(["not_a_name", "empty", "missing", "in_list"]))
    allowed = "must be a file name or a list of them, relative to this file"
    if how == "not_a_name":
        value = draw(VALUES.filter(lambda v: not isinstance(v, str | list)))
        return dict_case({"include": value} | doc, "include", allowed)
    if how == "empty":
        return dict_case({"include": ""} | doc, "include[0]", allowed)
    name = f"{MISSING_DIR}/{draw(st.text(alphabet='abcxyz-_', min_size=1))}.toml"
    if how == "missing":
        return dict_case({"include": name} | doc, "include[0]", "no such file")
    k = draw(st.integers(0, 2))
    return dict_case({"include": [name] * (k + 1)} | doc, "include[0]", "no such file")


FAMILIES = {f.__name__: f for f in (
    bad_issue, bad_event, bad_issue_scale, bad_level_position, bad_event_more, bad_observed,
    bad_include,
    delete_required, delete_issue_table, drop_party, add_unknown_key, wrong_type_number,
    wrong_type_string, wrong_choice, wrong_type_list, table_to_scalar, out_of_range,
    reversed_range, wrong_side, empty_agenda, unknown_agenda_issue,
    agenda_issue_without_positions, bad_linkage, bad_extends, truncate_text,
    control_char_garbage, syntax_garbage_line, random_bytes_file, random_bytes_inserted,
    deep_nesting, huge_integer, deep_value, undecodable_comment, bad_shift, bad_posterior)}


# ----------------------------------------------------------------------------- tests
def check(case: Case) -> None:
    if case.doc is not None:  # the writer wrote what was meant
        assert normal(tomllib.loads(case.text)) == normal(case.doc)
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(case.text, NAME)
    error = caught.value
    message = str(error)
    assert message.startswith(f"{NAME}: "), message
    assert error.path == NAME
    if case.key is not None:
        assert error.key == case.key, message
        if case.key:
            assert message.startswith(f"{NAME}: {case.key}: "), message
    if case.keys:
        assert error.key in case.keys or any(
            k.startswith(".") and error.key.endswith(k) for k in case.keys), message
    for text in case.contains:
        assert text in message, f"{text!r} not in {message!r}"
    if case.hint_from:
        suggestion = re.search(r"did you mean '(.*)'\? Allowed", message, re.S)
        assert suggestion and suggestion.group(1) in case.hint_from, message


def test_control_the_base_document_writes_back_and_is_valid():
    text = dumps(BASE)
    assert tomllib.loads(text) == BASE
    assert parse_scenario(text, NAME).agenda == AGENDA
    assert parse_scenario(BASE_TEXT, NAME).agenda == AGENDA
    # every red line differs from its ideal, so swapping the two breaks the file
    for p, issue, (_, i, r) in SIDES:
        assert BASE["parties"][p]["issues"][issue][i] != BASE["parties"][p]["issues"][issue][r]
    assert not Path(MISSING_DIR).exists()


def test_control_the_writer_round_trips_odd_values():
    doc = {"a b": {"": [1, -0.0, 1e300, "\x00\x7f\n\"\\\t", datetime.date(2025, 6, 2)],
                   "x.y": {"z": {}}, "t": [{"k": [True, {"q": "é"}]}]}}
    assert normal(tomllib.loads(dumps(doc))) == normal(doc)


def test_loader_rejects_every_broken_file():
    seen: Counter[str] = Counter()

    @settings(max_examples=1000, deadline=None, derandomize=True, database=None)
    @given(st.data())
    def fuzz(data):
        family = data.draw(st.sampled_from(sorted(FAMILIES)), label="family")
        seen[family] += 1
        check(FAMILIES[family](data.draw))

    fuzz()
    assert sum(seen.values()) >= 1000
    assert set(seen) == set(FAMILIES), sorted(set(FAMILIES) - set(seen))
