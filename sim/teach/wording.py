"""How the narrated trace writes numbers: positions in an issue's own terms, distances
that never read as zero when they are not, pairs of numbers that never read as equal
when they differ, and events as plain JSON.

A count is a whole number with thousands separators ("1,645 prisoners per side"), a
share or a compound issue's conditions has the decimals of its lattice step, an
ordinal or yes/no issue is a level by name ("list accepted for review"): a position
between two levels (an aspiration, a red line pulled in by exchange willingness) is
told as the level it admits, never as "1.45 levels". Where rounding would make two
different numbers read the same ("0.80 is 0.00 below the 0.80"), more decimals are
shown until they differ.
"""

from __future__ import annotations

import math

import numpy as np

from sim.scenario.spec import IssueKind, IssueSpec

#: Positions closer than this (relative to the issue's scale) count as equal.
TINY = 1e-9
#: Most decimals shown to tell two numbers apart.
MOST_DECIMALS = 6


def decimals_of(spec: IssueSpec) -> int:
    """The decimals an issue's lattice needs: 0 for counts, 2 for a step of 0.05."""
    step = spec.scale.step
    if spec.kind is IssueKind.COUNT and float(step).is_integer():
        return 0
    return max(2, -int(math.floor(math.log10(step)))) if step < 1 else 2


def _plain(value: float, decimals: int, separators: bool) -> str:
    text = f"{value:,.{decimals}f}" if separators else f"{value:.{decimals}f}"
    return "0" + text[2:] if text.startswith("-0") and float(text) == 0 else text


def figures(values: list[float], decimals: int, separators: bool = False) -> list[str]:
    """``values`` written with ``decimals``, or more where two that differ would read
    the same (up to ``MOST_DECIMALS``)."""
    places = decimals
    while True:
        texts = [_plain(v, places, separators) for v in values]
        clash = any(texts[i] == texts[j] and abs(values[i] - values[j]) > TINY
                    for i in range(len(values)) for j in range(i + 1, len(values)))
        if not clash or places >= MOST_DECIMALS:
            return texts
        places += 1


def level_admitted(spec: IssueSpec, bound: float, wants: int) -> int:
    """The furthest level a bound between levels admits: at least ``bound`` for a side
    that wants more (the next level up), at most ``bound`` for one that wants less."""
    if wants > 0:
        return int(math.ceil(bound - TINY))
    return int(math.floor(bound + TINY))


def level_phrase(spec: IssueSpec, level: int) -> str:
    """A compound issue's level as a phrase: 'local humanitarian pause (level 1)'."""
    return f"{spec.level_name(level)} (level {level})"


def show(spec: IssueSpec, value: float, unit: bool = False) -> str:
    """A position on the lattice in its own terms: '1,200' ('1,200 prisoners per side'
    with ``unit``), '0.35' (shares and a compound issue's conditions), 'yes',
    '1 (list accepted for review)'."""
    return shown(spec, [value], unit)[0]


def shown(spec: IssueSpec, values: list[float], unit: bool = False) -> list[str]:
    """Several positions on one issue, each told apart from the others."""
    if spec.kind is IssueKind.YES_NO:
        return [spec.level_name(v) for v in values]
    if spec.levelled:
        return [f"{v:g} ({spec.level_name(v)})" if float(v).is_integer() else
                spec.level_name(v) for v in values]
    count = spec.kind is IssueKind.COUNT
    texts = figures([float(v) for v in values], decimals_of(spec), separators=count)
    if unit and count and spec.scale.unit:
        texts = [f"{t} {spec.scale.unit}" for t in texts]
    return texts


def bound(spec: IssueSpec, value: float, wants: int) -> str:
    """A limit (red line, aspiration) in the issue's terms: on a levelled issue the
    level it admits ('no more than list accepted for review')."""
    if spec.levelled:
        return spec.level_name(level_admitted(spec, value, wants))
    return show(spec, value)


def limit_words(spec: IssueSpec, value: float, wants: int, about: bool = False) -> str:
    """A side's limit as a phrase: 'no less than (about) 520'; on a levelled issue the
    level it admits, 'at least data sharing', 'at most none'."""
    if spec.levelled:
        return f"at {'least' if wants > 0 else 'most'} {bound(spec, value, wants)}"
    return f"no {'less' if wants > 0 else 'more'} than {'about ' if about else ''}" \
        f"{show(spec, value)}"


def interval_words(spec: IssueSpec, lo: float, hi: float) -> str:
    """Where a belief puts a value: 'between 380 and 610'; on a levelled issue by the
    nearest levels, 'near data sharing', 'between none and data sharing'."""
    if spec.levelled:
        a, b = spec.level_name(round(lo)), spec.level_name(round(hi))
        return f"near {a}" if a == b else f"between {a} and {b}"
    a, b = shown(spec, [lo, hi])
    return f"between {a} and {b}"


def amount(spec: IssueSpec, value: float) -> str:
    """A distance on an issue's scale, never written as zero when it is not: 345,
    0.05, 0.0004; on a levelled issue whole levels ('1 level')."""
    value = abs(float(value))
    if spec.levelled:
        levels = max(1, round(value))
        return f"{levels} level" + ("" if levels == 1 else "s")
    count = spec.kind is IssueKind.COUNT
    return _small(value, decimals_of(spec), count)


def amounts(spec: IssueSpec, values: list[float]) -> list[str]:
    """Several distances on one issue (a gap and a tolerance), each shown non-zero and
    told apart from the others."""
    if spec.levelled:
        return [amount(spec, v) for v in values]
    count = spec.kind is IssueKind.COUNT
    places = max(len(_small(abs(v), decimals_of(spec)).partition(".")[2]) for v in values)
    return figures([abs(float(v)) for v in values], places, separators=count)


def _small(value: float, decimals: int, separators: bool = False) -> str:
    """``value`` with ``decimals``, or as many as show it is not zero."""
    places = decimals
    while value > TINY and float(_plain(value, places, False)) == 0 and places < MOST_DECIMALS:
        places += 1
    return _plain(value, places, separators)


def the(label: str) -> str:
    """'the fishing quota', but 'Eastland's share of the quota': a scenario's label
    that opens with a possessive takes no article."""
    first = label.split(" ", 1)[0]
    return label if first.endswith(("'s", "\u2019s")) else f"the {label}"


def utility(value: float) -> str:
    """A utility (0 at the red lines, 1 at the ideals) or a probability-free share:
    two decimals."""
    return _plain(float(value), 2, False)


def utilities(values: list[float]) -> list[str]:
    """Utilities told apart (``figures`` with two decimals)."""
    return figures([float(v) for v in values], 2)


def gain(value: float) -> str:
    """A difference of utilities, never written as zero when it is not."""
    return _small(abs(float(value)), 2)


def percent(p: float) -> str:
    """A probability as a percentage: '45%', '<1%', '>99%'."""
    if 0 < p < 0.005:
        return "<1%"
    if 0.995 < p < 1:
        return ">99%"
    return f"{100 * p:.0f}%"


def pair(a: float, b: float, decimals: int = 0) -> tuple[str, str]:
    """Two quantities (frustration and threshold) that read differently if they differ."""
    first, second = figures([float(a), float(b)], decimals)
    return first, second


def minutes_text(first: int, last: int) -> str:
    return f"{first}" if first == last else f"{first}-{last}"


def listing(words: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    words = list(words)
    if not words:
        return ""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def plain_json(value):
    """A value as plain JSON: numpy numbers as Python's, NaN and infinities as null
    (``json.dumps`` would write ``NaN``, which is not JSON), tuples as lists."""
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return [plain_json(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def frustration_line(names, felt, limits, accepting) -> str:
    """"Frustration builds: ..." for the sides at half their walk-out level or more, or
    "" if none is. A side past its level that accepts the text stays (a side walks out
    only when it is not accepting, ``NegotiationRound._leaving``), and the line says so."""
    worn, staying = [], []
    for name, a, b, yes in zip(names, felt, limits, accepting, strict=True):
        if a >= 0.5 * b:
            worn.append("{} {} of {}".format(name, *pair(a, b)))
            if a >= b and yes:
                staying.append(name)
    if not worn:
        return ""
    line = ("Frustration builds: " + ", ".join(worn) + " (the level at which it would walk "
            "out).")
    if staying:
        line += (f" {listing(staying)} {'is' if len(staying) == 1 else 'are'} past it but "
                 "accepting the text, and a side that accepts does not walk out.")
    return line
