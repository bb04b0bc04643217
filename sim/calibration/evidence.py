"""The evidence and the priors of a calibration, read and checked.

``calibration/observations.toml`` lists what was reported of each round (a value or
a range per outcome column, with its source); ``calibration/priors.toml`` the free
parameters (scenario keys) with their prior distributions and reasons;
``calibration/track-record.toml`` every represented round of 2022-2025 with its as-of
scenario, the sources that scenario rests on (``calibration/sources.toml``), its facts,
what the model cannot represent and the meetings of the two sides. Every problem is an
``InputError`` naming the file, the key and what is allowed.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from sim.errors import InputError
from sim.scenario.checks import date, number, read_toml, table
from sim.scenario.load import build_scenario, read_scenario_data
from sim.scenario.spec import Scenario


def observable(scenario: Scenario) -> dict[str, tuple[float, float, float]]:
    """Outcome columns a fact can be about, with their possible values and the value a
    round has where the issue was not agreed (nothing exchanged, the lowest level):
    ``<issue>_value`` (``<issue>_level`` for a compound issue), ``<issue>_agreed``,
    ``duration_minutes`` and ``walkout``."""
    columns: dict[str, tuple[float, float, float]] = {}
    for spec in scenario.issues:
        if spec.compound:
            columns[f"{spec.name}_level"] = (0, spec.top_level, 0)
        else:
            low, high = spec.scale.minimum, spec.scale.maximum
            columns[f"{spec.name}_value"] = (low, high, low)
        columns[f"{spec.name}_agreed"] = (0, 1, 0)
    return columns | {"duration_minutes": (0, 24 * 60, 0), "walkout": (0, 1, 0)}

DISTRIBUTIONS = ("uniform", "loguniform", "beta")


@dataclass(frozen=True)
class Fact:
    """One reported fact: the column's value lay in ``[low, high]``."""

    column: str
    low: float
    high: float
    scale: float
    source: str
    missing: float = 0.0  # the value of a round that did not agree the issue

    def discrepancy(self, simulated: np.ndarray) -> np.ndarray:
        """Distance outside the reported value or range, in units of ``scale``."""
        x = np.asarray(simulated, dtype=float)
        x = np.where(np.isnan(x), self.missing, x)
        return (np.maximum(self.low - x, 0) + np.maximum(x - self.high, 0)) / self.scale

    def label(self) -> str:
        shown = f"{self.low:g}" if self.low == self.high else f"{self.low:g}-{self.high:g}"
        return f"{self.column} = {shown}"


@dataclass(frozen=True)
class ObservedRound:
    name: str
    date: str
    scenario: Scenario
    facts: tuple[Fact, ...]


@dataclass(frozen=True)
class Prior:
    """Independent priors over the free parameters (scenario keys)."""

    keys: tuple[str, ...]
    kinds: tuple[str, ...]
    low: np.ndarray
    high: np.ndarray
    shape_a: np.ndarray  # beta parameters (unused by the other distributions)
    shape_b: np.ndarray
    why: tuple[str, ...]

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``(n, parameters)`` draws, one column at a time in key order."""
        out = np.empty((n, len(self.keys)))
        for j, kind in enumerate(self.kinds):
            lo, hi = self.low[j], self.high[j]
            if kind == "uniform":
                out[:, j] = rng.uniform(lo, hi, n)
            elif kind == "loguniform":
                out[:, j] = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
            else:
                out[:, j] = lo + (hi - lo) * rng.beta(self.shape_a[j], self.shape_b[j], n)
        return out

    def density(self, theta: np.ndarray) -> np.ndarray:
        """Joint prior density of ``(n, parameters)`` points (0 outside the support)."""
        dens = np.ones(theta.shape[0])
        for j, kind in enumerate(self.kinds):
            x, lo, hi = theta[:, j], self.low[j], self.high[j]
            inside = (x >= lo) & (x <= hi)
            if kind == "uniform":
                d = np.full_like(x, 1.0 / (hi - lo))
            elif kind == "loguniform":
                d = 1.0 / (np.maximum(x, 1e-300) * np.log(hi / lo))
            else:
                d = stats.beta.pdf((x - lo) / (hi - lo), self.shape_a[j],
                                   self.shape_b[j]) / (hi - lo)
            dens *= np.where(inside, d, 0.0)
        return dens

    def to_free(self, theta: np.ndarray) -> np.ndarray:
        """Map parameters to unbounded coordinates (the logit of their place in the
        support), where a Gaussian perturbation never leaves the support."""
        share = np.clip((theta - self.low) / (self.high - self.low), 1e-12, 1 - 1e-12)
        return np.log(share) - np.log1p(-share)

    def from_free(self, z: np.ndarray) -> np.ndarray:
        return self.low + (self.high - self.low) / (1.0 + np.exp(-z))

    def free_density(self, z: np.ndarray) -> np.ndarray:
        """The prior density in the unbounded coordinates (with the Jacobian)."""
        share = 1.0 / (1.0 + np.exp(-z))
        jacobian = np.prod((self.high - self.low) * share * (1.0 - share), axis=1)
        return self.density(self.from_free(z)) * jacobian

    def moments(self, draws: int = 200_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of each parameter under the prior."""
        sample = self.sample(draws, np.random.default_rng(seed))
        return sample.mean(axis=0), sample.std(axis=0)


def load_calibration_scenario(path: Path) -> Scenario:
    """A round's scenario as calibration replays it: without its ``[posterior]``
    (the calibration supplies those parameters; the file may not exist yet)."""
    data, sources = read_scenario_data(path)
    data.pop("posterior", None)
    return build_scenario(data, path, sources)


def load_observations(path: str | Path) -> tuple[tuple[ObservedRound, ...], str]:
    """The observed rounds and the file's sha256."""
    path = Path(path)
    data, digest = read_toml(path)
    top = table(path, "", data, ("rounds",), ("rounds",))
    rounds_table = top["rounds"]
    if not isinstance(rounds_table, dict) or not rounds_table:
        raise InputError(path, "rounds", "needs at least one [rounds.NAME] table")
    rounds = []
    for name, body in rounds_table.items():
        key = f"rounds.{name}"
        t = table(path, key, body, ("scenario", "date", "observed"), ("scenario", "observed"))
        if not isinstance(t["scenario"], str):
            raise InputError(path, f"{key}.scenario", "must be the path of a scenario file")
        scenario = load_calibration_scenario(path.parent / t["scenario"])
        observed = t["observed"]
        if not isinstance(observed, list) or not observed:
            raise InputError(path, f"{key}.observed", "needs at least one [[...observed]] fact")
        facts = tuple(_fact(path, f"{key}.observed[{i}]", entry, scenario)
                      for i, entry in enumerate(observed))
        rounds.append(ObservedRound(name, str(t.get("date", "")), scenario, facts))
    return tuple(rounds), digest


def _fact(path: Path, key: str, entry: Any, scenario: Scenario) -> Fact:
    t = table(path, key, entry, ("column", "value", "range", "scale", "source"),
               ("column", "scale", "source"))
    column = t["column"]
    columns = observable(scenario)
    if column not in columns:
        close = difflib.get_close_matches(str(column), list(columns), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise InputError(path, f"{key}.column", f"unknown outcome column {column!r}{hint}. "
                         "Allowed: " + ", ".join(columns))
    if ("value" in t) == ("range" in t):
        raise InputError(path, key, "needs exactly one of value = X or range = [low, high]")
    if "value" in t:
        low = high = number(path, f"{key}.value", t["value"])
    else:
        pair = t["range"]
        if not isinstance(pair, list) or len(pair) != 2:
            raise InputError(path, f"{key}.range", "must be [low, high]")
        low, high = (number(path, f"{key}.range", v) for v in pair)
        if low > high:
            raise InputError(path, f"{key}.range", f"[{low:g}, {high:g}] has low > high")
    lo, hi, missing = columns[column]
    if low < lo or high > hi:
        raise InputError(path, f"{key}.{'value' if 'value' in t else 'range'}",
                         f"{column} can only be within [{lo:g}, {hi:g}]")
    scale = number(path, f"{key}.scale", t["scale"])
    if scale <= 0:
        raise InputError(path, f"{key}.scale", "must be > 0")
    if not isinstance(t["source"], str) or not t["source"].strip():
        raise InputError(path, f"{key}.source", "must name the source of the fact")
    return Fact(column, low, high, scale, t["source"], missing)


def load_priors(path: str | Path, scenarios: tuple[Scenario, ...]) -> tuple[Prior, str]:
    """The priors and the file's sha256, checked against the scenarios they drive: every
    key must be a parameter of each scenario, its support inside the key's range."""
    path = Path(path)
    data, digest = read_toml(path)
    top = table(path, "", data, ("parameters",), ("parameters",))
    params = top["parameters"]
    if not isinstance(params, dict) or not params:
        raise InputError(path, "parameters", "needs at least one [parameters.\"KEY\"] table")
    keys, kinds, lows, highs, a_s, b_s, whys = [], [], [], [], [], [], []
    for key, body in params.items():
        at = f'parameters."{key}"'
        t = table(path, at, body, ("distribution", "low", "high", "a", "b", "why"),
                   ("distribution", "low", "high", "why"))
        kind = t["distribution"]
        if kind not in DISTRIBUTIONS:
            raise InputError(path, f"{at}.distribution", f"{kind!r} is not allowed. "
                             "Allowed: " + ", ".join(DISTRIBUTIONS))
        low, high = number(path, f"{at}.low", t["low"]), number(path, f"{at}.high", t["high"])
        if not low < high:
            raise InputError(path, at, f"impossible support: low {low:g} must be < high {high:g}")
        if kind == "loguniform" and low <= 0:
            raise InputError(path, f"{at}.low", "a log-uniform prior needs low > 0")
        a = number(path, f"{at}.a", t.get("a", 1.0))
        b = number(path, f"{at}.b", t.get("b", 1.0))
        if kind == "beta" and (a <= 0 or b <= 0 or "a" not in t or "b" not in t):
            raise InputError(path, at, "a beta prior needs a > 0 and b > 0")
        for scenario in scenarios:
            bounds = {k: (lo, hi) for k, lo, hi in scenario.bounds}
            if key not in bounds:
                close = difflib.get_close_matches(key, list(bounds), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise InputError(path, at, f"is not a parameter of {scenario.path}{hint}")
            lo, hi = bounds[key]
            if low < lo or high > hi:
                raise InputError(path, at, f"impossible support [{low:g}, {high:g}]: the "
                                 f"parameter can only be within [{lo:g}, {hi:g}]")
        if not isinstance(t["why"], str) or not t["why"].strip():
            raise InputError(path, f"{at}.why", "must give the reason for the prior")
        keys.append(key)
        kinds.append(kind)
        lows.append(low)
        highs.append(high)
        a_s.append(a)
        b_s.append(b)
        whys.append(t["why"])
    prior = Prior(tuple(keys), tuple(kinds), np.array(lows), np.array(highs), np.array(a_s),
                  np.array(b_s), tuple(whys))
    return prior, digest


# ----------------------------------------------------------------- the track record
#: The chronology's format codes (rounds-2022-2025.md, "How to read an entry").
FORMATS = ("DIRECT", "HOSTED-DIRECT", "VIDEO", "SHUTTLE", "MIRROR-SIGNING", "LEADER-CALL",
           "UNILATERAL")
#: How a source's date was set: the page's own date, the chronology's content date for
#: a page that shows none, or the chronology's cut-off for one with neither.
DATINGS = ("shown", "content", "cutoff")
#: A source key, as written in brackets in a fact, a reason or a scenario's comments.
SOURCE_KEY = re.compile(r"SA\d+(?:-note)?")
_CITED = re.compile(r"\[(SA\d+(?:-note)?)\]")


@dataclass(frozen=True)
class Source:
    """One source of the chronology: ``date`` is the latest day its date allows."""

    key: str
    publisher: str
    title: str
    date: dt.date
    dated: str
    url: str


@dataclass(frozen=True)
class NotRepresented:
    """Something reported that the model cannot hold (a round's fact, or a whole event
    of the chronology), and why."""

    what: str
    why: str
    event: str = ""
    when: str = ""
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrackRound:
    """A represented round: its as-of scenario (what was known before ``as_of``), the
    sources that scenario rests on, and what was observed."""

    key: str
    name: str
    event: str
    date: dt.date
    as_of: dt.date
    format: str
    mediator: str
    scenario: Scenario
    sources: tuple[str, ...]
    facts: tuple[Fact, ...]
    not_found: tuple[str, ...]
    not_represented: tuple[NotRepresented, ...]

    def observed(self) -> ObservedRound:
        """The round as the calibration reads an observed round."""
        return ObservedRound(self.key, self.date.isoformat(), self.scenario, self.facts)


@dataclass(frozen=True)
class Meeting:
    """A meeting of the two sides (face to face, by video, or through a mediator)."""

    date: dt.date
    end: dt.date
    event: str
    format: str
    mediator: str
    what: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class TrackRecord:
    rounds: tuple[TrackRound, ...]
    not_represented: tuple[NotRepresented, ...]
    meetings: tuple[Meeting, ...]
    sha256: str


def cited_sources(text: str) -> list[str]:
    """The source keys cited in a text, ``[SA12]``, in order of first citation."""
    return list(dict.fromkeys(_CITED.findall(text)))


def load_sources(path: str | Path) -> dict[str, Source]:
    """``[sources.SA#]`` tables: publisher, title, date, dated, url (and, unread here,
    ``as_written`` and ``note``)."""
    path = Path(path)
    data, _ = read_toml(path)
    top = table(path, "", data, ("sources",), ("sources",))
    entries = top["sources"]
    if not isinstance(entries, dict) or not entries:
        raise InputError(path, "sources", "needs at least one [sources.SA#] table")
    sources = {}
    for key, body in entries.items():
        at = f"sources.{key}"
        if not SOURCE_KEY.fullmatch(key):
            raise InputError(path, at, "a source key is SA and a number, e.g. SA12 or SA7-note")
        t = table(path, at, body, ("publisher", "title", "date", "dated", "as_written",
                                   "note", "url"),
                  ("publisher", "title", "date", "dated", "url"))
        for name in ("publisher", "title", "url", "dated"):
            _text(path, f"{at}.{name}", t[name])
        if t["dated"] not in DATINGS:
            raise InputError(path, f"{at}.dated", f"{t['dated']!r} is not allowed. Allowed: "
                             + ", ".join(DATINGS))
        sources[key] = Source(key, t["publisher"], t["title"],
                              date(path, f"{at}.date", t["date"]), t["dated"], t["url"])
    return sources


def load_track_record(path: str | Path, sources: Mapping[str, Source] | None = None
                      ) -> TrackRecord:
    """The track record, checked against its sources (by default ``sources.toml``
    beside it): every source exists; an as-of scenario cites exactly the sources its
    round lists, each dated before the round's as-of date; every fact names a source."""
    path = Path(path)
    if sources is None:
        sources = load_sources(path.parent / "sources.toml")
    data, digest = read_toml(path)
    top = table(path, "", data, ("rounds", "not_represented", "meetings"), ("rounds",))
    rounds_table = top["rounds"]
    if not isinstance(rounds_table, dict) or not rounds_table:
        raise InputError(path, "rounds", "needs at least one [rounds.NAME] table")
    rounds = tuple(_track_round(path, name, body, sources)
                   for name, body in rounds_table.items())
    for before, after in zip(rounds, rounds[1:], strict=False):
        if after.date < before.date:
            raise InputError(path, f"rounds.{after.key}.date", f"{after.date} is before the "
                             f"round above it ({before.key}, {before.date}): list rounds in "
                             "date order")
    events = tuple(_not_represented(path, f"not_represented[{i}]", entry, sources, True)
                   for i, entry in enumerate(_array(path, "not_represented",
                                                    top.get("not_represented", []))))
    meetings = tuple(_meeting(path, f"meetings[{i}]", entry, sources)
                     for i, entry in enumerate(_array(path, "meetings",
                                                      top.get("meetings", []))))
    for i in range(1, len(meetings)):
        if meetings[i].date < meetings[i - 1].date:
            raise InputError(path, f"meetings[{i}].date", f"{meetings[i].date} is before the "
                             f"meeting above it ({meetings[i - 1].date}): list meetings in "
                             "date order")
    return TrackRecord(rounds, events, meetings, digest)


def _track_round(path: Path, name: str, body: Any, sources: Mapping[str, Source]
                 ) -> TrackRound:
    key = f"rounds.{name}"
    t = table(path, key, body, ("name", "event", "date", "as_of", "format", "mediator",
                                "scenario", "sources", "not_found", "observed",
                                "not_represented"),
              ("name", "event", "date", "format", "mediator", "scenario", "sources",
               "observed"))
    for field in ("name", "event", "mediator", "scenario"):
        _text(path, f"{key}.{field}", t[field])
    _format(path, f"{key}.format", t["format"])
    day = date(path, f"{key}.date", t["date"])
    as_of = date(path, f"{key}.as_of", t.get("as_of", day))
    if as_of > day:
        raise InputError(path, f"{key}.as_of", f"{as_of} is after the round's date {day}")
    scenario_path = path.parent / t["scenario"]
    scenario_data, scenario_text = read_scenario_data(scenario_path)
    scenario_data.pop("posterior", None)
    scenario = build_scenario(scenario_data, scenario_path, scenario_text)
    if scenario.round.date != day.isoformat():
        raise InputError(path, f"{key}.scenario", f"{t['scenario']} is a scenario of the "
                         f"round dated {scenario.round.date!r}, not of {day}")
    if scenario.observed:
        raise InputError(path, f"{key}.scenario", f"{t['scenario']} marks observed "
                         "outcomes ([[observed]]): an as-of scenario may not know them")
    listed = _source_list(path, f"{key}.sources", t["sources"], sources)
    for k, source in enumerate(listed):
        if sources[source].date >= as_of:
            raise InputError(path, f"{key}.sources[{k}]", f"{source} is dated "
                             f"{sources[source].date}, not before the round's as-of date "
                             f"{as_of}: an as-of scenario may rest only on earlier sources")
    cited = cited_sources(scenario_text)
    if set(cited) != set(listed):
        missing = [s for s in cited if s not in listed]
        unused = [s for s in listed if s not in cited]
        raise InputError(path, f"{key}.sources", f"must list exactly the sources "
                         f"{t['scenario']} (with its base files) cites: "
                         + "; ".join(part for part in (
                             f"cited, not listed: {', '.join(missing)}" if missing else "",
                             f"listed, not cited: {', '.join(unused)}" if unused else "")
                             if part))
    observed = t["observed"]
    if not isinstance(observed, list) or not observed:
        raise InputError(path, f"{key}.observed", "needs at least one [[...observed]] fact")
    facts = []
    for i, entry in enumerate(observed):
        fact = _fact(path, f"{key}.observed[{i}]", entry, scenario)
        _cites(path, f"{key}.observed[{i}].source", fact.source, sources, required=True)
        facts.append(fact)
    not_found = t.get("not_found", [])
    columns = observable(scenario)
    if not isinstance(not_found, list) or not all(isinstance(c, str) for c in not_found):
        raise InputError(path, f"{key}.not_found", "must be a list of outcome column names")
    for k, column in enumerate(not_found):
        if column not in columns:
            raise InputError(path, f"{key}.not_found[{k}]", f"unknown outcome column "
                             f"{column!r}. Allowed: " + ", ".join(columns))
        if any(f.column == column for f in facts):
            raise InputError(path, f"{key}.not_found[{k}]", f"{column} has a fact above: "
                             "a column is observed or not found, not both")
    missing = tuple(_not_represented(path, f"{key}.not_represented[{i}]", entry, sources,
                                     False)
                    for i, entry in enumerate(_array(path, f"{key}.not_represented",
                                                     t.get("not_represented", []))))
    return TrackRound(name, t["name"], t["event"], day, as_of, t["format"], t["mediator"],
                      scenario, listed, tuple(facts), tuple(not_found), missing)


def _not_represented(path: Path, key: str, entry: Any, sources: Mapping[str, Source],
                     event: bool) -> NotRepresented:
    """A fact of a round (what, why) or, with ``event``, a whole event of the
    chronology (event, when, what, why, sources)."""
    fields = ("event", "when", "what", "why", "sources") if event else ("what", "why")
    t = table(path, key, entry, fields, fields)
    for field in fields[:-1] if event else fields:
        _text(path, f"{key}.{field}", t[field])
    for field in ("what", "why"):
        _cites(path, f"{key}.{field}", t[field], sources, required=False)
    if not event:
        return NotRepresented(t["what"], t["why"])
    listed = _source_list(path, f"{key}.sources", t["sources"], sources)
    if not listed:
        raise InputError(path, f"{key}.sources", "must name at least one source")
    return NotRepresented(t["what"], t["why"], t["event"], t["when"], listed)


def _meeting(path: Path, key: str, entry: Any, sources: Mapping[str, Source]) -> Meeting:
    t = table(path, key, entry, ("date", "end", "event", "format", "mediator", "what",
                                 "sources"),
              ("date", "event", "format", "mediator", "what", "sources"))
    for field in ("event", "mediator", "what"):
        _text(path, f"{key}.{field}", t[field])
    _format(path, f"{key}.format", t["format"])
    start = date(path, f"{key}.date", t["date"])
    end = date(path, f"{key}.end", t.get("end", start))
    if end < start:
        raise InputError(path, f"{key}.end", f"{end} is before the meeting's date {start}")
    listed = _source_list(path, f"{key}.sources", t["sources"], sources)
    if not listed:
        raise InputError(path, f"{key}.sources", "must name at least one source")
    return Meeting(start, end, t["event"], t["format"], t["mediator"], t["what"], listed)


def _array(path: Path, key: str, value: Any) -> list:
    if not isinstance(value, list):
        raise InputError(path, key, f"must be an array of tables ([[{key}]]), got "
                         f"{type(value).__name__}")
    return value


def _text(path: Path, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(path, key, f"must be a non-empty string, got {type(value).__name__} "
                         f"{value!r}"[:200])
    return value


def _format(path: Path, key: str, value: Any) -> None:
    if value not in FORMATS:
        raise InputError(path, key, f"{value!r} is not a format code of the chronology. "
                         "Allowed: " + ", ".join(FORMATS))


def _source_list(path: Path, key: str, value: Any, sources: Mapping[str, Source]
                 ) -> tuple[str, ...]:
    """A list of source keys, each one in the sources file, none twice."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(path, key, "must be a list of source keys, e.g. [\"SA3\", \"SA12\"]")
    for k, source in enumerate(value):
        _known(path, f"{key}[{k}]", source, sources)
    if len(set(value)) != len(value):
        raise InputError(path, key, "names a source twice")
    return tuple(value)


def _cites(path: Path, key: str, text: str, sources: Mapping[str, Source],
           required: bool) -> None:
    """Every ``[SA#]`` a text cites is a known source; with ``required``, it cites one."""
    cited = cited_sources(text)
    if required and not cited:
        raise InputError(path, key, "must cite its sources by key, e.g. [SA12]")
    for source in cited:
        _known(path, key, source, sources)


def _known(path: Path, key: str, source: str, sources: Mapping[str, Source]) -> None:
    if source not in sources:
        close = difflib.get_close_matches(source, list(sources), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise InputError(path, key, f"unknown source {source!r}{hint} (not in the sources "
                         "file)")
