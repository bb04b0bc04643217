"""Events: conditions over a round's outcomes, written in the scenario.

```toml
[events]
water_deal = "water.agreed"
big_water  = { when = "water.value >= 500", label = "500 million m3 or more" }
any_deal   = "water.agreed or border.agreed"
no_pause   = "not (ceasefire.level >= 'local pauses')"
```

The language is a small part of Python's expression grammar, parsed by Python's own
``ast`` module and then checked node by node against a whitelist — nothing is ever
passed to ``eval``, and a node that is not in the whitelist (a call, a subscript, a
lambda, an attribute of anything but an issue) is an error naming its position.

- ``ISSUE.agreed`` (true where the issue was settled at the table, at any value),
  ``ISSUE.value`` (the value agreed), ``ISSUE.minute`` (the minute it was agreed); a
  compound issue has ``ISSUE.level`` and ``ISSUE.conditions`` instead of ``value``;
- ``walkout``, ``duration_minutes``, ``walkout_party`` (a party's name);
- numbers, ``'level names'`` (compared with a levelled issue's value or a compound's
  level, they stand for the level's index), ``true``/``false``;
- ``< <= > >= == !=`` (chains allowed), ``and or not``, ``+ - * /``, parentheses.

A value that was not agreed is missing, and every comparison with a missing value is
false (so ``not water.value >= 500`` holds where no water deal was made).
"""

from __future__ import annotations

import ast
import difflib
import operator
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from sim.scenario.spec import IssueSpec

#: Outcome columns that belong to no issue: name -> type.
ROUND_COLUMNS = {"walkout": "bool", "duration_minutes": "number", "walkout_party": "text"}

#: What an issue exposes, by kind: attribute -> (column suffix, type).
ISSUE_PARTS = {"agreed": ("agreed", "bool"), "value": ("value", "number"),
               "minute": ("minute", "number")}
COMPOUND_PARTS = {"agreed": ("agreed", "bool"), "level": ("level", "number"),
                  "conditions": ("conditions", "number"), "minute": ("minute", "number")}

_COMPARE = {ast.Lt: ("<", operator.lt), ast.LtE: ("<=", operator.le),
            ast.Gt: (">", operator.gt), ast.GtE: (">=", operator.ge),
            ast.Eq: ("==", operator.eq), ast.NotEq: ("!=", operator.ne)}
_ARITH = {ast.Add: ("+", operator.add), ast.Sub: ("-", operator.sub),
          ast.Mult: ("*", operator.mul), ast.Div: ("/", operator.truediv)}


class EventError(ValueError):
    """An expression that cannot be used: what is wrong, and where (0-based)."""

    def __init__(self, message: str, position: int):
        self.message, self.position = message, position
        super().__init__(f"position {position + 1}: {message}")


# ------------------------------------------------------------------------------ nodes
@dataclass(frozen=True)
class Column:
    name: str  # the results column
    type: str  # bool | number | text
    issue: IssueSpec | None = None
    levels: bool = False  # holds level indices (a level name compares with it)


@dataclass(frozen=True)
class Constant:
    value: float | str | bool
    type: str
    position: int


@dataclass(frozen=True)
class Not:
    operand: object
    type: str = "bool"


@dataclass(frozen=True)
class Both:
    conjunction: bool  # and (True) / or (False)
    operands: tuple
    type: str = "bool"


@dataclass(frozen=True)
class Compare:
    symbols: tuple[str, ...]
    operands: tuple
    type: str = "bool"


@dataclass(frozen=True)
class Arithmetic:
    symbol: str
    left: object
    right: object
    type: str = "number"


@dataclass(frozen=True)
class Negative:
    operand: object
    type: str = "number"


# ----------------------------------------------------------------------------- parsing
def parse_event(text: str, issues: Mapping[str, IssueSpec]) -> tuple[object, tuple[str, ...]]:
    """The parsed condition and the issues it reads; ``EventError`` where it is not a
    condition of the language over these issues."""
    if not isinstance(text, str) or not text.strip():
        raise EventError("is empty: write a condition such as \"water.agreed\"", 0)
    source = text.strip()
    offset = len(text) - len(text.lstrip())
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as error:
        # CPython gives offset 0 where the text ends too early ("water.value >="): the
        # error is at its end, not its start
        where = offset + (_char_offset(source, error.offset - 1) if error.offset
                          else len(source))
        raise EventError(f"not a valid expression ({error.msg})", where) from None
    except (ValueError, RecursionError, MemoryError):
        raise EventError("not a valid expression (nested too deeply or unreadable)",
                         offset) from None
    parser = _Parser(source, offset, issues)
    try:
        node = parser.node(tree.body)
    except RecursionError:
        raise EventError("nested too deeply", offset) from None
    if node.type != "bool":
        raise EventError(f"is a {node.type}, not a condition: compare it, e.g. "
                         f"\"{source} >= 1\"", offset)
    if not columns_read(node):  # its value would be one constant, not one per round
        raise EventError("reads no outcome of the round: name an issue's part (e.g. "
                         "water.agreed), walkout, duration_minutes or walkout_party", offset)
    return node, tuple(dict.fromkeys(parser.issues_read))


def _char_offset(source: str, byte_offset: int) -> int:
    """``ast`` counts columns in UTF-8 bytes; people count characters."""
    return len(source.encode()[:max(byte_offset, 0)].decode(errors="ignore"))


class _Parser:
    def __init__(self, source: str, offset: int, issues: Mapping[str, IssueSpec]):
        self.source, self.offset, self.issues = source, offset, issues
        self.issues_read: list[str] = []

    def where(self, node: ast.AST) -> int:
        return self.offset + _char_offset(self.source, getattr(node, "col_offset", 0))

    def fail(self, node: ast.AST, message: str):
        raise EventError(message, self.where(node))

    def node(self, node: ast.AST):
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            self.fail(node, f"{_describe(node)} is not allowed; use issue parts "
                      "(water.agreed, water.value), numbers, comparisons, and/or/not")
        return method(node)

    def _Name(self, node: ast.Name):
        if node.id in ROUND_COLUMNS:
            return Column(node.id, ROUND_COLUMNS[node.id])
        if node.id in ("true", "false"):
            return Constant(node.id == "true", "bool", self.where(node))
        if node.id in self.issues:
            spec = self.issues[node.id]
            parts = COMPOUND_PARTS if spec.compound else ISSUE_PARTS
            self.fail(node, f"'{node.id}' is an issue: name one of its parts "
                      f"({', '.join(f'{node.id}.{p}' for p in parts)})")
        allowed = sorted(self.issues) + sorted(ROUND_COLUMNS)
        close = difflib.get_close_matches(node.id, allowed, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        self.fail(node, f"unknown name '{node.id}'{hint} Allowed: issues "
                  f"({', '.join(sorted(self.issues)) or 'none defined'}) with a part, or "
                  f"{', '.join(ROUND_COLUMNS)}")

    def _Attribute(self, node: ast.Attribute):
        if not isinstance(node.value, ast.Name):
            self.fail(node, "only ISSUE.part is allowed (e.g. water.value)")
        name = node.value.id
        if name not in self.issues:
            close = difflib.get_close_matches(name, list(self.issues), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            self.fail(node, f"unknown issue '{name}'{hint} Issues: "
                      f"{', '.join(sorted(self.issues)) or 'none defined'}")
        spec = self.issues[name]
        parts = COMPOUND_PARTS if spec.compound else ISSUE_PARTS
        if node.attr not in parts:
            kind = "a compound issue" if spec.compound else f"a {spec.kind} issue"
            self.fail(node, f"'{name}' is {kind}; it has no part '{node.attr}'. "
                      f"Allowed: {', '.join(parts)}")
        suffix, kind = parts[node.attr]
        self.issues_read.append(name)
        levels = (spec.levelled and node.attr == "value") or (spec.compound
                                                              and node.attr == "level")
        return Column(f"{name}_{suffix}", kind, spec, levels)

    def _Constant(self, node: ast.Constant):
        value = node.value
        if isinstance(value, bool):
            return Constant(value, "bool", self.where(node))
        if isinstance(value, int | float) and np.isfinite(value):
            return Constant(float(value), "number", self.where(node))
        if isinstance(value, str):
            return Constant(value, "text", self.where(node))
        self.fail(node, f"{value!r} is not allowed: numbers, 'text' and true/false only")

    def _BoolOp(self, node: ast.BoolOp):
        operands = tuple(self.condition(v) for v in node.values)
        return Both(isinstance(node.op, ast.And), operands)

    def _UnaryOp(self, node: ast.UnaryOp):
        if isinstance(node.op, ast.Not):
            return Not(self.condition(node.operand))
        if isinstance(node.op, ast.USub | ast.UAdd):
            operand = self.number(node.operand)
            return Negative(operand) if isinstance(node.op, ast.USub) else operand
        self.fail(node, "only 'not' and a sign are allowed before a value")

    def _BinOp(self, node: ast.BinOp):
        if type(node.op) not in _ARITH:
            self.fail(node, "only + - * / are allowed between numbers")
        return Arithmetic(_ARITH[type(node.op)][0], self.number(node.left),
                          self.number(node.right))

    def _Compare(self, node: ast.Compare):
        operands = [self.node(node.left)] + [self.node(c) for c in node.comparators]
        symbols = []
        for op in node.ops:
            if type(op) not in _COMPARE:
                self.fail(node, "only < <= > >= == != compare values")
            symbols.append(_COMPARE[type(op)][0])
        for a, b in zip(operands, operands[1:], strict=False):
            self._comparable(node, a, b)
        resolved = [self._resolve_text(o, operands) for o in operands]
        return Compare(tuple(symbols), tuple(resolved))

    def _comparable(self, node, a, b) -> None:
        types = {a.type, b.type}
        if "text" in types and types != {"text"}:
            column = a if a.type != "text" else b
            if not (isinstance(column, Column) and column.levels):
                self.fail(node, "text compares only with walkout_party or with a levelled "
                          "issue's value (or a compound's level)")

    def _resolve_text(self, operand, operands):
        """A level name next to a levelled column stands for its index."""
        if not (isinstance(operand, Constant) and operand.type == "text"):
            return operand
        columns = [o for o in operands if isinstance(o, Column) and o.levels]
        if not columns:
            return operand
        levels = columns[0].issue.levels
        if operand.value not in levels:
            raise EventError(f"'{operand.value}' is not a level of "
                             f"'{columns[0].issue.name}'. Levels: {', '.join(levels)}",
                             operand.position)
        return Constant(float(levels.index(operand.value)), "number", operand.position)

    def condition(self, node: ast.AST):
        parsed = self.node(node)
        if parsed.type != "bool":
            self.fail(node, f"{ast.unparse(node)} is a {parsed.type}, not a condition: "
                      "compare it")
        return parsed

    def number(self, node: ast.AST):
        parsed = self.node(node)
        if parsed.type != "number":
            self.fail(node, f"{ast.unparse(node)} is not a number")
        return parsed


def _describe(node: ast.AST) -> str:
    names = {"Call": "a function call", "Subscript": "indexing", "Lambda": "a lambda",
             "IfExp": "'... if ... else ...'", "Starred": "'*'", "List": "a list",
             "Tuple": "a tuple", "Dict": "a dict", "Set": "a set",
             "JoinedStr": "an f-string", "NamedExpr": "':='", "Await": "await"}
    return names.get(type(node).__name__, f"'{type(node).__name__}'")


# -------------------------------------------------------------------------- evaluating
def columns_read(node) -> set[str]:
    """The results columns an event reads."""
    if isinstance(node, Column):
        return {node.name}
    if isinstance(node, Constant):
        return set()
    children = {Not: lambda n: [n.operand], Negative: lambda n: [n.operand],
                Both: lambda n: list(n.operands), Compare: lambda n: list(n.operands),
                Arithmetic: lambda n: [n.left, n.right]}[type(node)](node)
    return set().union(*(columns_read(c) for c in children))


def evaluate(node, columns: Mapping[str, np.ndarray]) -> np.ndarray:
    """The event's value on each row of ``columns`` (arrays by results column)."""
    return np.asarray(_value(node, columns), dtype=bool)


def _value(node, columns):
    if isinstance(node, Column):
        return columns[node.name]
    if isinstance(node, Constant):
        return node.value
    if isinstance(node, Not):
        return ~np.asarray(_value(node.operand, columns), dtype=bool)
    if isinstance(node, Both):
        values = [np.asarray(_value(o, columns), dtype=bool) for o in node.operands]
        combine = np.logical_and if node.conjunction else np.logical_or
        result = values[0]
        for value in values[1:]:
            result = combine(result, value)
        return result
    if isinstance(node, Negative):
        return -np.asarray(_value(node.operand, columns), dtype=float)
    if isinstance(node, Arithmetic):
        with np.errstate(divide="ignore", invalid="ignore"):
            return dict(_ARITH.values())[node.symbol](
                np.asarray(_value(node.left, columns), dtype=float),
                np.asarray(_value(node.right, columns), dtype=float))
    if isinstance(node, Compare):
        values = [_value(o, columns) for o in node.operands]
        result = True
        for symbol, a, b in zip(node.symbols, values, values[1:], strict=False):
            result = np.logical_and(result, _compare(symbol, a, b))
        return result
    raise TypeError(type(node).__name__)


def _compare(symbol: str, a, b):
    """A comparison that is false wherever either side is missing (NaN or None)."""
    compare = dict(_COMPARE.values())[symbol]
    if _is_text(a) or _is_text(b):
        a_arr, b_arr = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
        present = _present(a_arr) & _present(b_arr)
        return present & np.asarray(compare(a_arr, b_arr), dtype=bool)
    a_num, b_num = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    with np.errstate(invalid="ignore"):
        return compare(a_num, b_num) & ~np.isnan(a_num) & ~np.isnan(b_num)


def _is_text(value) -> bool:
    return isinstance(value, str) or (isinstance(value, np.ndarray) and value.dtype == object)


def _present(values: np.ndarray) -> np.ndarray:
    """Where a value is there (not None, not NaN); a 0-d array (a constant) gives a
    0-d answer (``frompyfunc`` returns a plain bool for it)."""
    with np.errstate(invalid="ignore"):  # NaN == NaN, asked on purpose
        return np.asarray(np.frompyfunc(lambda v: v is not None and v == v, 1, 1)(values),
                          dtype=bool)
