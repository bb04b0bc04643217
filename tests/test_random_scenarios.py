"""Any valid scenario runs: random issue definitions and scenarios, built from the keys
docs/scenarios.md documents, written as TOML, loaded and run as a user runs them
(``negsim run``), then held to the engine's invariants.

Each example has 1 to 6 issues of every kind (count, share, ordinal, yes/no, compound;
with the exchange and contested mechanisms, conditions at particular levels, linkage
and the mediator's own items), 2 to 4 parties with positions on each (ideals, red
lines, saliences as values, ranges or level names), random mediator and round
settings, and random events built from the condition language's grammar. Checked on
a few hundred replicates (fixed seed):

- every outcome column is there, with its type;
- nothing is agreed past any party's red line: the effective one the model used
  (``RoundSetup.red_line``) and the declared one as drawn; on a compound issue the
  conditions, and the level against each side's level red line and ideals;
- agreed values lie on the issue's lattice and within ``[min, max]``;
- each event is a boolean column, its chance in [0, 1], and ``summary.json``'s count
  equals a direct evaluation of the expression by the reference evaluator below (not
  the engine's);
- durations lie within ``max_minutes + closing_minutes``, and the walk-out columns agree.

TOML is written by ``test_scenario_fuzz.dumps`` (``tomli_w`` is not a dependency).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_scenario_fuzz import dumps

from sim.batch.chunks import chunk_rng
from sim.batch.results import load_results
from sim.cli import main
from sim.model.outcomes import outcome_dtypes
from sim.model.parameters import realise
from sim.model.round import NegotiationRound
from sim.scenario.events import evaluate
from sim.scenario.load import load_scenario

RUNS = 300
SEED = 20250620
KINDS = ("count", "share", "ordinal", "yes_no", "compound")
TOLERANCE = 1e-7  # in units of an issue's scale: the engine's EPS is 1e-9

# ------------------------------------------------------------------------- strategies
LEVEL_NAME = st.text(alphabet="abcdefghijklmnop ", min_size=1, max_size=10).filter(
    lambda s: s.strip() == s and s)
LABEL = st.text(min_size=1, max_size=12).filter(lambda s: s.strip())
PARTY_NAME = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=8)


@st.composite
def value_or_range(draw, low: float, high: float, whole: bool = False):
    """A number or a ``[low, high]`` range within ``[low, high]``."""
    numbers = (st.integers(math.ceil(low), math.floor(high)) if whole
               else st.floats(low, high, allow_nan=False))
    a, b = sorted((draw(numbers), draw(numbers)))
    return a if draw(st.booleans()) else [a, b]


@dataclass
class Issue:
    """What the generator knows of an issue it defined."""

    name: str
    kind: str
    table: dict
    low: float  # the scale of ideal/red_line (level indices on levelled kinds)
    high: float
    levels: tuple[str, ...] = ()
    c_low: float = 0.0  # a compound issue's conditions scale
    c_high: float = 1.0


@st.composite
def scale(draw, kind: str) -> tuple[dict, float, float]:
    """min, max, step of a count or share issue (or conditions), some left to defaults."""
    table: dict = {}
    if kind == "count":
        step = draw(st.sampled_from([1, 2, 5, 10, 50, 100]))
        low = draw(st.sampled_from([0, 0, -20, 3, 100]))
        high = low + draw(st.integers(1, 400)) * draw(st.sampled_from([1, step]))
        high += draw(st.sampled_from([0, 0, 0.5]))  # max need not be whole
        table |= {"max": high}
        if low or draw(st.booleans()):
            table["min"] = low
        if step != 1 or draw(st.booleans()):
            table["step"] = step
        return table, float(low), float(high)
    low, high, step = draw(st.sampled_from([(0.0, 1.0, 0.01), (0.0, 1.0, 0.05),
                                            (0.0, 1.0, 0.25), (-1.0, 2.0, 0.1),
                                            (0.13, 0.87, 0.1), (0.0, 0.5, 0.3)]))
    if (low, high) != (0.0, 1.0) or draw(st.booleans()):
        table |= {"min": low, "max": high}
    if step != 0.01 or draw(st.booleans()):
        table["step"] = step
    return table, low, high


@st.composite
def issue(draw, name: str, kind: str) -> Issue:
    table: dict = {"kind": kind}
    if draw(st.booleans()):
        table["label"] = draw(LABEL)
    if kind in ("count", "share"):
        bounds, low, high = draw(scale(kind))
        table |= bounds
        if draw(st.booleans()):
            table["unit"] = draw(LABEL)
        made = Issue(name, kind, table, low, high)
    else:
        if kind == "yes_no" and draw(st.booleans()):
            levels = ("no", "yes")
        else:
            count = 2 if kind == "yes_no" else draw(st.integers(2, 5))
            levels = tuple(draw(st.lists(LEVEL_NAME, min_size=count, max_size=count,
                                         unique=True)))
            table["levels"] = list(levels)
        made = Issue(name, kind, table, 0.0, float(len(levels) - 1), levels)
    if kind == "compound":
        conditions, made.c_low, made.c_high = draw(scale("share"))
        if draw(st.booleans()):
            conditions["label"] = draw(LABEL)
        table["conditions"] = conditions
        if draw(st.booleans()):
            table["contested_from_level"] = draw(st.integers(1, len(made.levels) - 1))
    elif draw(st.booleans()):
        table["exchange"] = draw(st.booleans())
    if draw(st.booleans()):
        table["contested"] = draw(st.booleans())
    return made


@st.composite
def sides(draw, low: float, high: float, whole: bool = False, pivot: float | None = None):
    """wants, ideal, red_line: the red line on the far side of the ideal for every
    value of the ranges. With a ``pivot``, the red line admits it: where every side's
    does, the sides' zone of agreement holds it."""
    def numbers(a, b):
        return (st.integers(math.ceil(a), math.floor(b)) if whole
                else st.floats(a, b, allow_nan=False))

    wants = draw(st.sampled_from(["more", "less"]))
    if pivot is None:
        red_low, red_high = low, high
    else:
        red_low, red_high = (low, pivot) if wants == "more" else (pivot, high)
    r = sorted((draw(numbers(red_low, red_high)), draw(numbers(red_low, red_high))))
    if wants == "more":
        i = sorted((draw(numbers(r[1], high)), draw(numbers(r[1], high))))
    else:
        i = sorted((draw(numbers(low, r[0])), draw(numbers(low, r[0]))))
    red = r if draw(st.booleans()) else (r[1] if wants == "more" else r[0])
    ideal = i if draw(st.booleans()) else (i[0] if wants == "more" else i[1])
    return wants, ideal, red


def as_level(value, levels: tuple[str, ...], use_name: bool):
    """A fixed whole level may be written by its name."""
    if use_name and not isinstance(value, list) and float(value).is_integer():
        return levels[int(value)]
    return value


@st.composite
def position(draw, spec: Issue, pivot: tuple | None) -> dict:
    """A party's position; ``pivot``: (on the scale, on the conditions) that its red
    lines admit, or None."""
    levelled = spec.kind != "count" and spec.kind != "share"
    wants, ideal, red = draw(sides(spec.low, spec.high, whole=levelled and draw(
        st.booleans()), pivot=pivot and pivot[0]))
    if levelled:
        ideal = as_level(ideal, spec.levels, draw(st.booleans()))
        red = as_level(red, spec.levels, draw(st.booleans()))
    table = {"wants": wants, "ideal": ideal, "red_line": red}
    if draw(st.booleans()):
        table["salience"] = draw(value_or_range(0, 10))
    if spec.kind == "compound":
        c_wants, c_ideal, c_red = draw(sides(spec.c_low, spec.c_high,
                                             pivot=pivot and pivot[1]))
        table |= {"conditions_wants": c_wants, "conditions_ideal": c_ideal,
                  "conditions_red_line": c_red}
        ideal_low = min(c_ideal) if isinstance(c_ideal, list) else c_ideal
        ideal_high = max(c_ideal) if isinstance(c_ideal, list) else c_ideal
        at = {}
        for level in range(1, len(spec.levels)):
            if draw(st.booleans()):
                continue
            key = spec.levels[level] if draw(st.booleans()) else str(level)
            if c_wants == "more":
                at[key] = draw(value_or_range(spec.c_low, ideal_low))
            else:
                at[key] = draw(value_or_range(ideal_high, spec.c_high))
        if at:
            table["conditions_red_line_at"] = at
    return table


@st.composite
def party(draw, specs: dict[str, Issue], agenda: list[str], pivots: dict) -> dict:
    table: dict = {}
    if draw(st.booleans()):
        table["name"] = draw(PARTY_NAME)
    for key, low, high in (("concession", 0.05, 20), ("patience", 1, 400),
                           ("exchange_willingness", 0, 1), ("bargaining_power", 0.01, 100),
                           ("momentum", 0, 1)):
        if draw(st.booleans()):
            table[key] = draw(value_or_range(low, high))
    table["issues"] = {name: draw(position(spec, pivots[name])) for name, spec in specs.items()
                       if name in agenda or draw(st.booleans())}
    if len(agenda) > 1 and draw(st.booleans()):
        issue_name = draw(st.sampled_from(list(specs)))
        requires = draw(st.sampled_from([a for a in agenda if a != issue_name]))
        needed = specs[requires]
        top = needed.high
        table["linkage"] = [{"issue": issue_name, "requires": requires,
                             "at_least": draw(st.floats(needed.low, top))}]
    return table


# ------------------------------------------------------------------- events, evaluated
@dataclass(frozen=True)
class Expr:
    """An expression of the condition language and its value on one round, computed
    here from the row (the engine's evaluator is not used)."""

    text: str
    kind: str  # "bool" or "number"
    at: object  # row -> value (None or NaN: missing)
    reads: bool = True  # reads an outcome (a condition must: docs/scenarios.md)


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _compare(symbol: str, a, b) -> bool:
    if _missing(a) or _missing(b):
        return False
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b,
            "!=": a != b}[symbol]


def _arith(symbol: str, a, b) -> float:
    with np.errstate(all="ignore"):
        x, y = np.float64(np.nan if _missing(a) else a), np.float64(np.nan if _missing(b) else b)
        return float({"+": x + y, "-": x - y, "*": x * y, "/": x / y}[symbol])


def number_leaves(specs: dict[str, Issue]) -> list[Expr]:
    leaves = [Expr("duration_minutes", "number", lambda r: r["duration_minutes"])]
    for name, spec in specs.items():
        parts = ("level", "conditions", "minute") if spec.kind == "compound" else (
            "value", "minute")
        for part in parts:
            column = f"{name}_{part}"
            leaves.append(Expr(f"{name}.{part}", "number",
                               lambda r, c=column: float(r[c])))
    return leaves


@st.composite
def number_expr(draw, specs: dict[str, Issue], depth: int = 0) -> Expr:
    choice = draw(st.integers(0, 3 if depth < 2 else 1))
    if choice == 0:
        value = draw(st.integers(-5, 1000) | st.floats(-10, 1000, allow_nan=False))
        text = repr(float(value)) if isinstance(value, float) else str(value)
        return Expr(text, "number", lambda r, v=float(value): v, reads=False)
    if choice == 1:
        return draw(st.sampled_from(number_leaves(specs)))
    if choice == 2:
        inner = draw(number_expr(specs, depth + 1))
        return Expr(f"-({inner.text})", "number", lambda r, e=inner: _arith("-", 0.0, e.at(r))
                    if not _missing(e.at(r)) else math.nan, reads=inner.reads)
    a, b = draw(number_expr(specs, depth + 1)), draw(number_expr(specs, depth + 1))
    symbol = draw(st.sampled_from("+-*/"))
    return Expr(f"({a.text} {symbol} {b.text})", "number",
                lambda r, a=a, b=b, s=symbol: _arith(s, a.at(r), b.at(r)),
                reads=a.reads or b.reads)


SYMBOLS = ("<", "<=", ">", ">=", "==", "!=")


@st.composite
def condition(draw, specs: dict[str, Issue], names: list[str], depth: int = 0) -> Expr:
    choice = draw(st.integers(0, 6 if depth < 2 else 3))
    if choice == 0:
        name = draw(st.sampled_from(list(specs)))
        return Expr(f"{name}.agreed", "bool", lambda r, c=f"{name}_agreed": bool(r[c]))
    if choice == 1:
        leaf = draw(st.sampled_from(["walkout", "true", "false"]))
        return Expr(leaf, "bool", lambda r, x=leaf: bool(r["walkout"]) if x == "walkout"
                    else x == "true", reads=leaf == "walkout")
    if choice == 2:  # a level by its name
        levelled = [s for s in specs.values() if s.levels]
        if not levelled:
            return draw(condition(specs, names, depth))
        spec = draw(st.sampled_from(levelled))
        part = "level" if spec.kind == "compound" else "value"
        level = draw(st.integers(0, len(spec.levels) - 1))
        symbol = draw(st.sampled_from(SYMBOLS))
        column = f"{spec.name}_{part}"
        return Expr(f"{spec.name}.{part} {symbol} '{spec.levels[level]}'", "bool",
                    lambda r, c=column, s=symbol, k=level: _compare(s, float(r[c]), k))
    if choice == 3:  # a comparison, or a chain of two
        a, b = draw(number_expr(specs)), draw(number_expr(specs))
        s1 = draw(st.sampled_from(SYMBOLS))
        if draw(st.booleans()):
            return Expr(f"{a.text} {s1} {b.text}", "bool",
                        lambda r, a=a, b=b, s=s1: _compare(s, a.at(r), b.at(r)),
                        reads=a.reads or b.reads)
        c, s2 = draw(number_expr(specs)), draw(st.sampled_from(SYMBOLS))
        return Expr(f"{a.text} {s1} {b.text} {s2} {c.text}", "bool",
                    lambda r, a=a, b=b, c=c, s1=s1, s2=s2: _compare(s1, a.at(r), b.at(r))
                    and _compare(s2, b.at(r), c.at(r)), reads=a.reads or b.reads or c.reads)
    if choice == 4:  # the walk-out's party, by name
        name = draw(st.sampled_from(names))
        symbol = draw(st.sampled_from(["==", "!="]))
        return Expr(f"walkout_party {symbol} '{name}'", "bool",
                    lambda r, n=name, s=symbol: _compare(s, r["walkout_party"], n))
    if choice == 5:
        inner = draw(condition(specs, names, depth + 1))
        return Expr(f"not ({inner.text})", "bool", lambda r, e=inner: not e.at(r),
                    reads=inner.reads)
    a, b = draw(condition(specs, names, depth + 1)), draw(condition(specs, names, depth + 1))
    word = draw(st.sampled_from(["and", "or"]))
    return Expr(f"({a.text} {word} {b.text})", "bool",
                lambda r, a=a, b=b, w=word: (a.at(r) and b.at(r)) if w == "and"
                else (a.at(r) or b.at(r)), reads=a.reads or b.reads)


# ------------------------------------------------------------------------- scenarios
@dataclass
class Case:
    doc: dict
    specs: dict[str, Issue]
    events: dict[str, Expr]  # none: the default events


@st.composite
def scenarios(draw) -> Case:
    n_issues = draw(st.integers(1, 6))
    kinds = [draw(st.sampled_from(KINDS)) for _ in range(n_issues)]
    specs = {f"{kind}_{k}": draw(issue(f"{kind}_{k}", kind)) for k, kind in enumerate(kinds)}
    order = draw(st.permutations(list(specs)))
    agenda = list(order[:draw(st.integers(1, len(order)))])
    own = [a for a in agenda if draw(st.booleans())] if draw(st.booleans()) else []
    items = [a for a in agenda if a not in own or draw(st.booleans())]
    if not items and not own:
        items = agenda
    doc: dict = {
        "round": {"name": draw(LABEL), "deadline_minutes": draw(st.integers(1, 200)),
                  "max_minutes": draw(st.integers(5, 150)),
                  "opening_minutes": draw(value_or_range(0, 20)),
                  "closing_minutes": draw(st.floats(0, 20))},
        "context": {"third_party_pressure": draw(value_or_range(0, 1)),
                    "concession_noise": draw(st.floats(0, 1)),
                    "walkout_shape": draw(st.floats(0.5, 50))},
        "issues": {name: spec.table for name, spec in specs.items()},
        "agenda": {"items": items},
        "mediator": {"name": draw(LABEL),
                     "proposal_rule": draw(st.sampled_from(["nash", "split_difference"])),
                     "agenda_order": draw(st.sampled_from(["as_listed", "easiest_first"])),
                     "pressure": draw(value_or_range(0, 1)),
                     "credibility": draw(value_or_range(0, 1)),
                     "exploration_minutes": draw(st.integers(1, 30)),
                     "item_minutes": draw(st.integers(1, 60)),
                     "own_items": own},
        "parties": {},
    }
    # half the issues get a point every side's red lines admit: agreements to check
    pivots = {name: None if draw(st.booleans()) else (
        draw(st.integers(1 if spec.kind == "compound" else 0, int(spec.high)) if spec.levels
             else st.floats(spec.low, spec.high)),
        draw(st.floats(spec.c_low, spec.c_high))) for name, spec in specs.items()}
    for p in range(draw(st.integers(2, 4))):
        doc["parties"][f"p{p}"] = draw(party(specs, agenda + [o for o in own
                                                               if o not in agenda], pivots))
    names = [t.get("name", key) for key, t in doc["parties"].items()]
    events = {}
    if draw(st.integers(0, 4)):  # else the default events
        for k in range(draw(st.integers(1, 5))):
            expr = draw(condition(specs, names).filter(lambda e: e.reads))
            events[f"event_{k}"] = expr
            doc.setdefault("events", {})[f"event_{k}"] = (
                expr.text if draw(st.booleans()) else {"when": expr.text, "label": draw(LABEL)})
    quantities = [n for n, s in specs.items() if s.kind in ("count", "share")]
    for _ in range(draw(st.integers(0, 2))):
        target = draw(st.sampled_from(quantities + ["duration_minutes"]))
        entry = {"round": draw(LABEL), "target": target, "source": draw(LABEL)}
        if draw(st.booleans()):
            entry["value"] = draw(st.floats(0, 100))
        else:
            entry["range"] = sorted([draw(st.floats(0, 100)), draw(st.floats(0, 100))])
        doc.setdefault("observed", []).append(entry)
    return Case(doc, specs, events)


# ------------------------------------------------------------------------ the checks
def on_lattice(values: np.ndarray, step: float) -> bool:
    k = values / step
    return bool(np.all(np.abs(k - np.round(k)) <= 1e-6 * np.maximum(1.0, np.abs(k))))


def check_red_lines(scenario, setup, out: dict) -> None:
    """Nothing agreed past a red line: the effective one the model used, and the
    declared one as drawn (the effective lies between it and the ideal)."""
    drawn = setup.drawn
    for i, spec in enumerate(setup.specs):
        agreed = out[f"{spec.name}_agreed"]
        for p, party in enumerate(scenario.parties):
            at = f"parties.{party.key}.issues.{spec.name}"
            position = party.position(spec.name)
            span = setup.maximum[i] - setup.minimum[i]
            if spec.compound:
                value = out[f"{spec.name}_conditions"][agreed]
                level = out[f"{spec.name}_level"][agreed].astype(float)
                level_ideal = np.round(drawn[f"{at}.ideal"])[agreed]
                level_red = np.round(drawn[f"{at}.red_line"])[agreed]
                level_red = np.where(position.wants * (level_ideal - level_red) < 0,
                                     level_ideal, level_red)
                assert np.all(position.wants * (level - level_red) >= 0), (at, level)
                declared = drawn[f"{at}.conditions_red_line"][agreed].copy()
                for k, _ in position.conditions_red_line_at:
                    here = level == k
                    declared[here] = drawn[f"{at}.conditions_red_line_at.{k}"][agreed][here]
                wants = position.conditions_wants
            else:
                value = out[f"{spec.name}_value"][agreed]
                declared = drawn[f"{at}.red_line"][agreed]
                if spec.levelled:
                    declared = np.round(declared)
                wants = position.wants
            ideal = (drawn[f"{at}.conditions_ideal"] if spec.compound
                     else drawn[f"{at}.ideal"])[agreed]
            if spec.levelled:
                ideal = np.round(ideal)
            declared = np.where(wants * (ideal - declared) < 0, ideal, declared)
            effective = setup.red_line[agreed, p, i]
            assert setup.wants[p, i] == wants
            for red in (effective, declared):
                assert np.all(wants * (value - red) >= -TOLERANCE * span), (at, value, red)


def check_lattice(setup, out: dict) -> None:
    for spec in setup.specs:
        agreed = out[f"{spec.name}_agreed"]
        scale = spec.scale
        value = out[f"{spec.name}_conditions" if spec.compound else f"{spec.name}_value"]
        assert np.isnan(value[~agreed]).all() and not np.isnan(value[agreed]).any()
        value = value[agreed]
        slack = TOLERANCE * (scale.maximum - scale.minimum)
        assert np.all((value >= scale.minimum - slack) & (value <= scale.maximum + slack))
        assert on_lattice(value, scale.step), (spec.name, value)
        if spec.compound:
            level = out[f"{spec.name}_level"]
            assert (level[~agreed] == 0).all()
            assert ((level[agreed] >= 1) & (level[agreed] <= spec.top_level)).all()
    for spec in setup.defined:
        if spec.name not in setup.issues:
            assert not out[f"{spec.name}_agreed"].any()


def check_columns(frame: pd.DataFrame, scenario) -> None:
    expected = outcome_dtypes(scenario.issues)
    assert list(frame.columns[4:]) == list(expected)
    for column, dtype in expected.items():
        if dtype == "str":
            assert pd.api.types.is_string_dtype(frame[column]), column
        else:
            assert frame[column].dtype == np.dtype(dtype), (column, frame[column].dtype)


def check_round(scenario, out: dict) -> None:
    duration = out["duration_minutes"]
    limit = scenario.round.max_minutes + scenario.round.closing_minutes
    assert np.all((duration > 0) & (duration <= limit))
    walkout = out["walkout"]
    assert np.all(duration[walkout] <= scenario.round.max_minutes)
    party = out["walkout_party"]
    names = {p.name for p in scenario.parties}
    assert all((name in names) if w else name is None for w, name in zip(walkout, party,
                                                                          strict=True))
    for spec in scenario.issues:
        minute = out[f"{spec.name}_minute"]
        agreed = out[f"{spec.name}_agreed"]
        assert (~np.isnan(minute) == agreed).all()
        assert np.all(minute[agreed] <= duration[agreed])


def check_events(case: Case, scenario, frame: pd.DataFrame, summary: dict) -> None:
    rows = frame.to_dict("records")
    for row in rows:  # pandas' missing text is NaN; the language's missing is None
        if _missing(row["walkout_party"]):
            row["walkout_party"] = None
    if case.events:  # (the TOML writer puts events given as strings first)
        assert sorted(e.name for e in scenario.events) == sorted(case.events)
        reference = {name: np.array([bool(e.at(r)) for r in rows])
                     for name, e in case.events.items()}
    else:  # the default: one event per agenda issue, and the walk-out
        assert [e.name for e in scenario.events] == [
            f"{a}_agreed" for a in scenario.agenda] + ["walkout"]
        reference = {f"{a}_agreed": frame[f"{a}_agreed"].to_numpy() for a in scenario.agenda}
        reference["walkout"] = frame["walkout"].to_numpy()
    columns = {c: frame[c].to_numpy() for c in frame.columns}
    assert list(summary["events"]) == [e.name for e in scenario.events]
    for event in scenario.events:
        hits = evaluate(event.tree, columns)
        assert hits.dtype == bool and hits.shape == (len(frame),)
        assert (hits == reference[event.name]).all(), event.when
        entry = summary["events"][event.name]
        assert entry["count"] == int(reference[event.name].sum()), event.when
        assert 0 <= entry["p"] <= 1 and entry["p"] == entry["count"] / len(frame)
        assert entry["when"] == event.when


# ----------------------------------------------------------------------------- test
SEEN: Counter = Counter()


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenarios())
def _run_a_random_scenario(case: Case) -> None:
    SEEN.update(spec.kind for spec in case.specs.values())
    SEEN[f"parties={len(case.doc['parties'])}"] += 1
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "random.toml"
        path.write_text(dumps(case.doc), encoding="utf-8")
        out = Path(folder) / "out"
        with contextlib.redirect_stdout(io.StringIO()):
            code = main(["run", str(path), "--runs", str(RUNS), "--seed", str(SEED),
                         "--out", str(out), "--workers", "1", "--no-plots"])
        assert code == 0
        scenario = load_scenario(path)
        frame = load_results(out)
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    setup = realise(scenario, RUNS, chunk_rng(SEED, 0))  # the batch's one chunk
    outcomes = NegotiationRound(setup).run().outcomes()
    for column, values in outcomes.items():  # the batch holds what the model gives
        stored = frame[column].to_numpy()
        if column == "walkout_party":
            stored = [None if _missing(v) else v for v in stored]
            assert list(values) == stored
        else:
            np.testing.assert_array_equal(values, stored, err_msg=column)
    assert len(scenario.observed) == len(case.doc.get("observed", []))
    check_columns(frame, scenario)
    check_red_lines(scenario, setup, outcomes)
    check_lattice(setup, outcomes)
    check_round(scenario, outcomes)
    check_events(case, scenario, frame, summary)
    SEEN["agreed"] += sum(int(outcomes[f"{s}_agreed"].any()) for s in setup.issues)
    SEEN["compound agreed"] += sum(int(outcomes[f"{s.name}_agreed"].any())
                                   for s in setup.specs if s.compound)
    SEEN["levelled agreed"] += sum(int(outcomes[f"{s.name}_agreed"].any())
                                   for s in setup.specs if s.levelled)
    SEEN["linkage"] += int(bool(setup.linkage))
    SEEN["own items"] += int(bool(scenario.mediator.own_items))
    SEEN["walkout"] += int(outcomes["walkout"].any())


def test_any_valid_scenario_runs_and_keeps_the_invariants():
    SEEN.clear()
    _run_a_random_scenario()
    assert {k for k in KINDS if SEEN[k]} == set(KINDS), SEEN
    assert {f"parties={n}" for n in (2, 3, 4)} <= set(SEEN), SEEN
    # the invariants were tested on agreements and walk-outs, not only on empty rounds
    assert SEEN["agreed"] >= 20 and SEEN["walkout"] >= 3, SEEN


def test_control_the_checks_catch_a_broken_round():
    """The invariants can fail: a value moved past a red line, off the lattice, or an
    event count changed is caught."""
    scenario = load_scenario(Path(__file__).resolve().parents[1] / "scenarios" /
                             "river-basin.toml")
    setup = realise(scenario, 200, chunk_rng(1, 0))
    out = NegotiationRound(setup).run().outcomes()
    check_red_lines(scenario, setup, out)
    check_lattice(setup, out)
    check_round(scenario, out)
    water = setup.issues.index("water")
    agreed = np.flatnonzero(out["water_agreed"])
    lowland = 1  # wants more water: its red line is the least it takes
    beyond = out | {"water_value": out["water_value"].copy()}
    beyond["water_value"][agreed[0]] = np.floor(
        setup.red_line[agreed[0], lowland, water] / 50) * 50 - 50
    with pytest.raises(AssertionError):
        check_red_lines(scenario, setup, beyond)
    off = out | {"water_value": out["water_value"].copy()}
    off["water_value"][agreed[0]] += 1
    with pytest.raises(AssertionError):
        check_lattice(setup, off)
    late = out | {"duration_minutes": out["duration_minutes"] + 240}
    with pytest.raises(AssertionError):
        check_round(scenario, late)
