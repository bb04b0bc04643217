"""The track record of 2022-2025 (calibration/track-record.toml): its as-of scenarios load
and run, cite only sources dated before their round, its facts are outcome columns in
range with sources that exist, its meetings are in order up to the cut-off; the sources
file is what the chronology lists; and bad input gives one clear error (file, key)."""

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from sim.batch.chunks import run_scenario
from sim.calibration.evidence import observable
from sim.calibration.track_record import (
    FORMATS,
    cited_sources,
    load_sources,
    load_track_record,
)
from sim.errors import InputError
from sim.scenario.load import load_scenario, read_scenario_data

ROOT = Path(__file__).resolve().parent.parent
CALIBRATION = ROOT / "calibration"
TRACK = ROOT / "scenarios" / "track"
BASE = TRACK / "base.toml"
#: The chronology, in the project's shared notes beside the checkout (../shared/...), or
#: beside the folder of worktrees; absent elsewhere (the test that needs it is skipped).
CHRONOLOGY = next((p for p in (folder / "shared" / "reference" / "rounds-2022-2025.md"
                               for folder in (ROOT.parent, ROOT.parent.parent)) if p.is_file()),
                  ROOT.parent / "shared" / "reference" / "rounds-2022-2025.md")
#: The chronology's cut-off: nothing after it is evidence.
CUTOFF = dt.date(2025, 6, 2)


@pytest.fixture(scope="module")
def sources():
    return load_sources(CALIBRATION / "sources.toml")


@pytest.fixture(scope="module")
def record(sources):
    return load_track_record(CALIBRATION / "track-record.toml", sources)


# ---------------------------------------------------------------- the committed files
@pytest.mark.parametrize("path", sorted(TRACK.glob("*.toml")), ids=lambda p: p.name)
def test_every_track_scenario_loads_and_runs(path):
    """Every file in scenarios/track loads, and 200 rounds of it run with every outcome
    column a fact can name (the base too: a round about which nothing is known)."""
    scenario = load_scenario(path)
    table = run_scenario(scenario, 200, seed=1)
    assert len(table) == 200
    assert set(observable(scenario)) <= set(table.columns)
    assert not scenario.observed  # an as-of scenario marks no observed outcome


def test_every_track_scenario_is_a_round_of_the_record(record):
    """Each file but the base is the as-of scenario of exactly one round."""
    used = sorted(Path(r.scenario.path).resolve() for r in record.rounds)
    assert used == sorted(p.resolve() for p in TRACK.glob("*.toml") if p != BASE)


def test_the_rounds_the_brief_names_are_represented(record):
    events = [r.event for r in record.rounds]
    assert events == ["A1", "A2", "A3", "A4", "A6", "A9", "A17", "A18", "A22", "A23"]
    dates = [r.date for r in record.rounds]
    assert dates == sorted(dates) and all(d <= CUTOFF for d in dates)
    assert all(r.facts for r in record.rounds)  # every round: a date and a fact


def test_as_of_scenarios_cite_only_sources_dated_before_their_round(record, sources):
    """No fact of a round leaks into its own scenario: every [SA#] in the scenario's
    files (its base and the issues it includes) is dated strictly before the round's
    as-of date, and is one the round lists."""
    for r in record.rounds:
        _, text = read_scenario_data(r.scenario.path)
        cited = cited_sources(text)
        assert sorted(cited) == sorted(r.sources), r.key
        late = [(s, sources[s].date) for s in cited if sources[s].date >= r.as_of]
        assert not late, (r.key, r.as_of, late)
    grain = next(r for r in record.rounds if r.event == "A9")
    assert grain.as_of == dt.date(2022, 7, 13) < grain.date == dt.date(2022, 7, 22)


def test_the_base_and_the_issues_cite_no_source():
    """Read by every round from 28 February 2022 on: they may hold nothing learnt."""
    for path in (BASE, ROOT / "scenarios" / "issues" / "russia-ukraine.toml"):
        assert cited_sources(path.read_text()) == []
    first = load_track_record(CALIBRATION / "track-record.toml").rounds[0]
    assert first.sources == ()  # the chronology has no source before 28 February 2022


def test_every_fact_is_an_outcome_column_in_range_with_known_sources(record, sources):
    for r in record.rounds:
        columns = observable(r.scenario)
        for fact in r.facts:
            low, high, _ = columns[fact.column]
            assert low <= fact.low <= fact.high <= high, (r.key, fact.column)
            cited = cited_sources(fact.source)
            assert cited and all(s in sources for s in cited), (r.key, fact.column)
        assert not set(r.not_found) & {f.column for f in r.facts}
        assert all(item.what and item.why for item in r.not_represented)


def test_facts_are_the_chronology_codes(record):
    """The coding, round by round: the ceasefire level (NONE 0, LOCAL-HUM 1, PARTIAL 2;
    a range where the sources disagree) and the exchanges agreed per side."""
    level = {r.event: next((f.low, f.high) for f in r.facts if f.column == "ceasefire_level")
             for r in record.rounds}
    assert level == {"A1": (0, 0), "A2": (1, 1), "A3": (1, 1), "A4": (0, 0), "A6": (0, 0),
                     "A9": (2, 2), "A17": (2, 2), "A18": (2, 2), "A22": (0, 0),
                     "A23": (0, 1)}
    swaps = {r.event: (f.low, f.high) for r in record.rounds for f in r.facts
             if f.column == "pow_exchange_value"}
    assert swaps == {"A17": (175, 175), "A18": (0, 0), "A22": (1000, 1000),
                     "A23": (1000, 20000)}


def test_facts_can_be_scored_on_a_results_table(record):
    """Each fact's column is a column of its round's results, and scoring it gives a
    distance per replicate (the calibration's reading of an observed round)."""
    for r in record.rounds:
        table = run_scenario(r.scenario, 50, seed=2)
        observed = r.observed()
        assert observed.name == r.key and observed.date == r.date.isoformat()
        for fact in observed.facts:
            distance = fact.discrepancy(table[fact.column].to_numpy(dtype=float))
            assert distance.shape == (50,) and (distance >= 0).all()


def test_meetings_are_in_date_order_up_to_the_cutoff(record):
    meetings = record.meetings
    assert [m.date for m in meetings] == sorted(m.date for m in meetings)
    assert max(m.end for m in meetings) <= CUTOFF
    assert all(m.format in FORMATS and m.sources for m in meetings)
    # every represented round is a meeting of the record, on its date
    held = {(m.event, m.date) for m in meetings}
    assert all((r.event, r.date) in held for r in record.rounds if r.event != "A9")
    assert ("A9", dt.date(2022, 7, 13)) in held and ("A9", dt.date(2022, 7, 22)) in held
    # the longest gap: from the grain deal's signing to the energy moratorium
    gaps = [(b.date - a.end).days for a, b in zip(meetings, meetings[1:], strict=False)]
    assert max(gaps) == (dt.date(2025, 3, 18) - dt.date(2022, 7, 22)).days == 970


def test_events_not_represented_say_why(record, sources):
    events = {item.event for item in record.not_represented}
    represented = {r.event for r in record.rounds}
    assert not events & represented
    assert events | represented == {f"A{k}" for k in range(1, 24)}  # all 23 accounted for
    assert all(item.why and item.sources for item in record.not_represented)


def test_sources_are_dated_up_to_the_cutoff(sources):
    assert len(sources) == 245
    assert all(s.date <= CUTOFF for s in sources.values())
    assert sources["SA41"].dated == "cutoff" and sources["SA41"].date == CUTOFF
    assert (sources["SA1"].date, sources["SA1"].dated) == (dt.date(2022, 3, 1), "content")
    assert sources["SA90"].date == dt.date(2022, 9, 30)  # "2022-09": the month's last day


@pytest.mark.skipif(not CHRONOLOGY.is_file(), reason="the chronology is not on this machine")
def test_sources_file_is_what_the_chronology_lists(tmp_path):
    """calibration/sources.toml is exactly what experiments/chronology_sources.py makes
    of the chronology's source list."""
    made = subprocess.run([sys.executable, str(ROOT / "experiments" / "chronology_sources.py"),
                           str(CHRONOLOGY)], capture_output=True, check=True).stdout
    assert made == (CALIBRATION / "sources.toml").read_bytes()


# ---------------------------------------------------------------- bad input
SOURCES = """
[sources.SA1]
publisher = "P"
title = "before"
date = 2022-03-01
dated = "shown"
url = "https://example.org/1"

[sources.SA2]
publisher = "P"
title = "on the day"
date = 2022-03-03
dated = "content"
url = "https://example.org/2"
"""

SCENARIO = """
extends = "{base}"
[round]
name = "a test round"
date = "2022-03-03"
[parties.russia.issues.next_round]
red_line = [0.3, 1]   # {cite}
"""

ROUND = """
[rounds.r]
name = "a round"
event = "A2"
date = 2022-03-03
format = "HOSTED-DIRECT"
mediator = "Belarus"
scenario = "round.toml"
sources = ["SA1"]

[[rounds.r.observed]]
column = "ceasefire_level"
value = 1
scale = 1
source = "corridors [SA2]"
"""

MEETINGS = """
[[meetings]]
date = 2022-03-03
event = "A2"
format = "HOSTED-DIRECT"
mediator = "Belarus"
what = "round 2"
sources = ["SA2"]
"""


def write_case(folder: Path, record: str, cite: str = "[SA1]", scenario: str = SCENARIO,
               sources: str = SOURCES) -> Path:
    (folder / "sources.toml").write_text(sources)
    (folder / "round.toml").write_text(scenario.format(base=BASE.as_posix(), cite=cite))
    path = folder / "track-record.toml"
    path.write_text(record)
    return path


def test_a_good_case_loads(tmp_path):
    record = load_track_record(write_case(tmp_path, ROUND + MEETINGS))
    (r,) = record.rounds
    assert (r.date, r.as_of, r.sources) == (dt.date(2022, 3, 3), dt.date(2022, 3, 3), ("SA1",))
    assert (r.facts[0].column, r.facts[0].low) == ("ceasefire_level", 1)


@pytest.mark.parametrize("change, cite, key, message", [
    (('sources = ["SA1"]', 'sources = ["SA1", "SA2"]'), "[SA1][SA2]", "rounds.r.sources[1]",
     "SA2 is dated 2022-03-03, not before the round's as-of date 2022-03-03"),
    (None, "[SA1][SA2]", "rounds.r.sources", "cited, not listed: SA2"),
    (None, "no source", "rounds.r.sources", "listed, not cited: SA1"),
    (('sources = ["SA1"]', 'sources = ["SA3"]'), "[SA1]", "rounds.r.sources[0]",
     "unknown source 'SA3'"),
    (("corridors [SA2]", "corridors"), "[SA1]", "rounds.r.observed[0].source",
     "must cite its sources by key"),
    (("corridors [SA2]", "corridors [SA9]"), "[SA1]", "rounds.r.observed[0].source",
     "unknown source 'SA9'"),
    (('column = "ceasefire_level"', 'column = "ceasefire_value"'), "[SA1]",
     "rounds.r.observed[0].column", "did you mean 'ceasefire_level'"),
    (("value = 1\n", "value = 4\n"), "[SA1]", "rounds.r.observed[0].value",
     "can only be within [0, 3]"),
    (("date = 2022-03-03\n", ""), "[SA1]", "rounds.r.date", "is required but missing"),
    (("date = 2022-03-03\n", "date = 2022-03-04\n"), "[SA1]", "rounds.r.scenario",
     "is a scenario of the round dated '2022-03-03', not of 2022-03-04"),
    (("date = 2022-03-03\n", "date = 2022-03-03\nas_of = 2022-03-05\n"), "[SA1]",
     "rounds.r.as_of", "is after the round's date"),
    (('format = "HOSTED-DIRECT"', 'format = "hosted"'), "[SA1]", "rounds.r.format",
     "is not a format code of the chronology"),
    (('sources = ["SA1"]', 'sources = ["SA1"]\nnot_found = ["ceasefire_level"]'), "[SA1]",
     "rounds.r.not_found[0]", "observed or not found, not both"),
    (("[[rounds.r.observed]]", "[[rounds.r.elsewhere]]"), "[SA1]", "rounds.r.elsewhere",
     "unknown key"),
])
def test_bad_rounds(tmp_path, change, cite, key, message):
    text = ROUND if change is None else ROUND.replace(*change)
    path = write_case(tmp_path, text, cite)
    with pytest.raises(InputError) as caught:
        load_track_record(path)
    assert caught.value.key == key and message in caught.value.message, str(caught.value)
    assert caught.value.path == str(path)


def test_a_round_without_facts(tmp_path):
    path = write_case(tmp_path, ROUND.split("[[rounds.r.observed]]")[0] + "observed = []\n")
    with pytest.raises(InputError) as caught:
        load_track_record(path)
    assert caught.value.key == "rounds.r.observed"


def test_an_as_of_scenario_that_knows_the_outcome(tmp_path):
    scenario = SCENARIO + ('[[observed]]\nround = "3 March"\ntarget = "duration_minutes"\n'
                           'value = 60\nsource = "x"\n')
    path = write_case(tmp_path, ROUND, scenario=scenario)
    with pytest.raises(InputError) as caught:
        load_track_record(path)
    assert caught.value.key == "rounds.r.scenario" and "may not know" in caught.value.message


@pytest.mark.parametrize("meetings, key, message", [
    (MEETINGS + MEETINGS.replace("2022-03-03", "2022-02-28"), "meetings[1].date",
     "list meetings in date order"),
    (MEETINGS.replace("date = 2022-03-03", "date = 2022-03-03\nend = 2022-03-01"),
     "meetings[0].end", "is before the meeting's date"),
    (MEETINGS.replace('["SA2"]', "[]"), "meetings[0].sources", "at least one source"),
    (MEETINGS.replace('"HOSTED-DIRECT"', '"PHONE"'),
     "meetings[0].format", "Allowed: DIRECT, HOSTED-DIRECT"),
    ("meetings = 3\n", "meetings", "must be an array of tables"),
])
def test_bad_meetings(tmp_path, meetings, key, message):
    text = meetings + ROUND if meetings.startswith("meetings =") else ROUND + meetings
    path = write_case(tmp_path, text)
    with pytest.raises(InputError) as caught:
        load_track_record(path)
    assert caught.value.key == key and message in caught.value.message, str(caught.value)


@pytest.mark.parametrize("change, key, message", [
    (("date = 2022-03-01\n", ""), "sources.SA1.date", "is required but missing"),
    (("date = 2022-03-01", 'date = "early 2022"'), "sources.SA1.date",
     "must be a date YYYY-MM-DD"),
    (('dated = "shown"', 'dated = "guessed"'), "sources.SA1.dated",
     "Allowed: shown, content, cutoff"),
    (("[sources.SA1]", "[sources.S1]"), "sources.S1", "a source key is SA and a number"),
])
def test_bad_sources(tmp_path, change, key, message):
    write_case(tmp_path, ROUND, sources=SOURCES.replace(*change))
    with pytest.raises(InputError) as caught:
        load_sources(tmp_path / "sources.toml")
    assert caught.value.key == key and message in caught.value.message, str(caught.value)
    # the track record beside it stops at the same line
    with pytest.raises(InputError) as again:
        load_track_record(tmp_path / "track-record.toml")
    assert again.value.key == key


def test_an_event_not_represented_names_its_sources(tmp_path):
    event = ('\n[[not_represented]]\nevent = "A11"\nwhen = "6-7 January 2023"\n'
             'what = "a truce"\nwhy = "unilateral [SA7]"\nsources = ["SA1"]\n')
    path = write_case(tmp_path, ROUND + event)
    with pytest.raises(InputError) as caught:
        load_track_record(path)
    assert caught.value.key == "not_represented[0].why" and "'SA7'" in caught.value.message


def test_the_analysts_summary_matches_the_record(record):
    """calibration/track-record.md states the record's counts, its rounds (date, format)
    and the rhythm of meetings: each claim is checked against the file."""
    text = (CALIBRATION / "track-record.md").read_text()
    facts = sum(len(r.facts) for r in record.rounds)
    assert (f"**{len(record.rounds)} rounds represented**, with {facts} facts between them; "
            f"{len(record.not_represented)} events not represented") in text
    assert f"{len(record.meetings)} meetings of the two sides up to the cut-off" in text
    rows = [line.split(" | ") for line in text.splitlines() if line.startswith("| a")]
    assert [(row[0][2:].split()[0], row[1][:10], row[2]) for row in rows] == [
        (r.key, r.date.isoformat(), r.format) for r in record.rounds]
    events = [line.split(" | ")[0][2:].split()[0] for line in text.splitlines()
              if line.startswith("| A")]
    assert events == [item.event for item in record.not_represented]
    meetings = record.meetings
    gaps = [(b.date - a.end).days for a, b in zip(meetings, meetings[1:], strict=False)]
    long_gaps = [g for g in gaps if g > 30]
    assert long_gaps == [106, 970, 52]
    assert "fall into four bursts" in text and len(long_gaps) + 1 == 4
    assert all(f"{g} days" in text for g in long_gaps)
    short = ", ".join(str(g) for g in gaps[:6])
    assert f"| {short} |" in text  # the first burst's gaps
