"""The track record of 2022-2025, read and checked (``calibration/track-record.toml``).

Every represented round with its as-of scenario, the sources that scenario rests on
(``calibration/sources.toml``), its facts (in the form of ``observations.toml``), what
the model cannot represent, the events not represented, and the meetings of the two
sides. The checks are the record's rules: every source exists; an as-of scenario cites
exactly the sources its round lists, each dated before the round's as-of date (no fact
of a round leaks into its own forecast); every fact cites a source. Every problem is an
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

from sim.calibration.evidence import Fact, ObservedRound, observable
from sim.calibration.evidence import _fact as read_fact  # the observations' fact reader
from sim.errors import InputError
from sim.scenario.checks import date, read_toml, table
from sim.scenario.load import build_scenario, read_scenario_data
from sim.scenario.spec import Scenario

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
        fact = read_fact(path, f"{key}.observed[{i}]", entry, scenario)
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
