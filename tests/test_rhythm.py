"""The rhythm of rounds (sim/campaign/rhythm.py): the record of rounds is the
chronology's (dates, events, formats of track-record.toml's meetings; sources that
exist, cited in the chronology's entry); hand-solvable fits (threshold, events and days
at risk per state, censoring); the predictive distribution and CRPS in closed form; the
backtest's numbers on a toy record; the committed fit and backtest are what the command
writes; the Istanbul campaign starts where the record ends and meets as the fit says;
bad input gives one clear line (file, key), exit 2."""

import datetime as dt
import hashlib
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.special import beta as beta_fn

from sim.calibration.track_record import load_sources, load_track_record
from sim.campaign.batch import campaign_manifest
from sim.campaign.engine import simulate_chunk
from sim.campaign.report import format_campaign, summarise_campaign
from sim.campaign.rhythm import (
    Gap,
    backtest_rhythm,
    count_state,
    crps_exponential_gap,
    crps_gap,
    fit_rhythm,
    load_meetings,
    mean_gap,
    probability,
    read_rhythm,
    record_gaps,
    survival,
)
from sim.campaign.rhythm_report import campaign_entry
from sim.campaign.spec import load_campaign
from sim.campaign.tally import CampaignTally
from sim.campaign.timing import BetaPosterior
from sim.cli import main
from sim.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
CALIBRATION = ROOT / "calibration"
MEETINGS = CALIBRATION / "meetings.toml"
CAMPAIGN = ROOT / "scenarios" / "campaign-after-2025-06-02.toml"
CHRONOLOGY = next((p for p in (folder / "shared" / "reference" / "rounds-2022-2025.md"
                               for folder in (ROOT.parent, ROOT.parent.parent)) if p.is_file()),
                  ROOT.parent / "shared" / "reference" / "rounds-2022-2025.md")
CUTOFF = dt.date(2025, 6, 2)


@pytest.fixture(scope="module")
def record():
    return load_meetings(MEETINGS)


# ---------------------------------------------------------------- the record
def test_every_round_is_a_meeting_of_the_track_record(record):
    track = load_track_record(CALIBRATION / "track-record.toml")
    meetings = {(m.date, m.end, m.event, m.format) for m in track.meetings}
    rounds = {(r.date, r.end, r.event, r.format) for r in record.rounds}
    assert rounds <= meetings
    # every meeting of the track record is a round here or left out, with a reason
    left = {(m.date, m.event) for m in record.left_out}
    assert {(m.date, m.event) for m in track.meetings} == \
        {(d, e) for d, _, e, _ in rounds} | left
    assert left == {(dt.date(2025, 3, 18), "A17")}
    assert record.cutoff == CUTOFF and len(record.rounds) == 12


def test_every_source_exists_and_is_dated_up_to_the_cutoff(record):
    sources = load_sources(CALIBRATION / "sources.toml")
    for r in record.rounds:
        for key in r.sources + r.next_round_sources:
            assert key in sources and sources[key].date <= CUTOFF, key
        # what a round left agreed is reported on or after its day
        assert all(sources[k].date >= r.date for k in r.next_round_sources), r


def entry(text: str, event: str) -> str:
    start = text.index(f"\n## {event}. ")
    return text[start:text.index("\n## ", start + 1)]


@pytest.mark.skipif(not CHRONOLOGY.is_file(), reason="the chronology is not on this machine")
def test_every_date_and_source_is_the_chronologys(record):
    """Each source of a round is cited in the chronology's entry for its event, and the
    entry names the round's day."""
    text = CHRONOLOGY.read_text(encoding="utf-8")
    for r in record.rounds:
        body = entry(text, r.event)
        for key in r.sources + r.next_round_sources:
            assert f"[{key}]" in body, (r.event, key)
        for day in {r.date, r.end}:
            assert f"{day.day} {day:%b}" in body, (r.event, day)  # "28 Feb", "13 July"


def test_the_records_gaps(record):
    gaps = record_gaps(record)
    assert [g.days for g in gaps] == [3, 4, 3, 4, 4, 8, 106, 9, 975, 52, 17, 0]
    assert [g.agreed for g in gaps] == [True, True, True, False, True, True, True, True,
                                        False, False, True, False]
    assert gaps[-1].open and not any(g.open for g in gaps[:-1])


# ---------------------------------------------------------------- hand-solvable fits
def toy_gaps():
    """Rounds on days 0 (agreed a next), 5 (agreed), 15 (not), 45 (not); cut-off day 60."""
    return [Gap(dt.date(2030, 1, 1), "x", 5, False, True),
            Gap(dt.date(2030, 1, 6), "x", 10, False, True),
            Gap(dt.date(2030, 1, 16), "x", 30, False, False),
            Gap(dt.date(2030, 2, 15), "x", 15, True, False)]


def test_a_toy_fit_by_hand():
    """Threshold 5 (the shortest gap). Agreed: 2 gaps, 0 + 5 days without a round ->
    Beta(3, 6). None: 1 gap of 25 days without, and the open gap's 15 - 5 + 1 = 11 ->
    Beta(2, 37)."""
    fit = fit_rhythm(toy_gaps())
    assert fit.min_gap_days == 5
    assert (fit.agreed.a, fit.agreed.b) == (3, 6)
    assert (fit.none.a, fit.none.b) == (2, 37)
    assert count_state(toy_gaps(), False, 5).open == 1


def test_an_open_gap_adds_days_not_events():
    gaps = toy_gaps()
    shorter = gaps[:3] + [Gap(gaps[3].start, "x", 3, True, False)]  # open 3 < threshold 5
    assert (fit_rhythm(shorter).none.a, fit_rhythm(shorter).none.b) == (2, 26)
    longer = gaps[:3] + [Gap(gaps[3].start, "x", 100, True, False)]
    assert (fit_rhythm(longer).none.a, fit_rhythm(longer).none.b) == (2, 26 + 96)


def test_the_fit_on_the_record(record):
    """8 gaps after a round that agreed a next one (130 days without a round beyond the
    3-day threshold); 3 after one that did not, with 1,022 days, and the open gap."""
    fit = fit_rhythm(record_gaps(record))
    assert fit.min_gap_days == 3
    assert (fit.agreed.a, fit.agreed.b) == (9, 131)
    assert (fit.none.a, fit.none.b) == (4, 1023)
    assert mean_gap(fit.agreed, 3) == 2 + 139 / 8 == 19.375
    assert mean_gap(fit.none, 3) == 2 + 1026 / 3 == 344.0


def test_the_predictive_distribution_in_closed_form():
    """Beta(1, 1), no threshold: P(G > g) = 1 / (1 + g), P(G = g) = 1 / (g (g + 1)).
    Beta(2, 1), threshold 4: P(G = 6) = B(3, 3) / B(2, 1) = 1/15."""
    flat = BetaPosterior(1, 1)
    assert survival(flat, 1, np.array([0, 1, 9])) == pytest.approx([1, 1 / 2, 1 / 10])
    assert probability(flat, 1, 3) == pytest.approx(1 / 12)
    assert probability(BetaPosterior(2, 1), 4, 6) == pytest.approx(1 / 15)
    assert probability(BetaPosterior(2, 1), 4, 3) == 0  # below the threshold
    post = BetaPosterior(9, 131)
    total = sum(probability(post, 3, g) for g in range(1, 5000))
    assert total == pytest.approx(1 - survival(post, 3, 4999), abs=1e-12)


def test_crps_on_days_in_closed_form():
    """Exponential rate 1, gap 2: F(1)^2 + sum_{k>=2} e^{-2k}. Beta(1, 1), gap 1:
    sum_{k>=1} 1/(1+k)^2 = pi^2/6 - 1."""
    expected = (1 - math.exp(-1)) ** 2 + math.exp(-4) / (1 - math.exp(-2))
    assert crps_exponential_gap(1.0, 2) == pytest.approx(expected, rel=1e-12)
    assert crps_gap(BetaPosterior(1, 1), 1, 1) == pytest.approx(math.pi ** 2 / 6 - 1,
                                                                 rel=1e-9)


def toy_record(tmp_path, days=(0, 4, 10, 20), agreed=(True, True, False, False),
               cutoff=20) -> Path:
    first = dt.date(2030, 1, 1)
    text = f"cutoff = {first + dt.timedelta(days=cutoff)}\n"
    for day, flag in zip(days, agreed, strict=True):
        text += (f"\n[[rounds]]\ndate = {first + dt.timedelta(days=day)}\nevent = \"T\"\n"
                 f"format = \"HOSTED-DIRECT\"\nwhat = \"a round\"\nsources = [\"SA1\"]\n"
                 f"next_round = {str(flag).lower()}\nnext_round_sources = [\"SA2\"]\n")
    path = tmp_path / "meetings.toml"
    path.write_text(text)
    return path


def test_the_backtest_on_a_toy_record(tmp_path):
    """Rounds on days 0, 4 (both agreeing a next), 10, 20; cut-off day 20. After day 4
    (gaps known: 4): threshold 4, Beta(2, 1); the gap of 6 has P = 1/15, P(by) = 0.9;
    the exponential, rate 1/4. After day 10 (gaps 4, 6; no next round agreed): Beta(1, 1)
    (no gap of that state yet), P(gap 10) = 1/(7*8); rate 2/10. The open gap after day
    20 has no day: not scored."""
    table, summary = backtest_rhythm(load_meetings(toy_record(tmp_path)))
    assert list(table["gap_days"]) == [6, 10]
    first, second = table.iloc[0], table.iloc[1]
    assert first["model_log"] == pytest.approx(math.log(15))
    assert first["model_p_by"] == pytest.approx(0.9)
    assert first["baseline_log"] == pytest.approx(-math.log(math.exp(-5 / 4) - math.exp(-6 / 4)))
    assert first["baseline_p_by"] == pytest.approx(1 - math.exp(-6 / 4))
    assert second["model_log"] == pytest.approx(math.log(56))
    assert second["baseline_rate"] == pytest.approx(0.2)
    assert second["baseline_log"] == pytest.approx(-math.log(math.exp(-1.8) - math.exp(-2)))
    assert summary["scored"] == 2
    assert summary["model"]["log"] == pytest.approx((math.log(15) + math.log(56)) / 2)
    assert summary["log_skill"] == pytest.approx(
        summary["baseline"]["log"] - summary["model"]["log"])


def test_an_open_gap_is_scored_as_censored(tmp_path):
    """With the cut-off 30 days after the last round, its gap is scored by P(G > 30)."""
    table, summary = backtest_rhythm(load_meetings(toy_record(tmp_path, cutoff=50)))
    last = table.iloc[-1]
    assert last["open"] and last["gap_days"] == 30 and np.isnan(last["model_p_by"])
    # gaps 4, 6, 10 known: threshold 4; no_next_round: 1 gap (W = 7) -> Beta(2, 7)
    assert last["model_log"] == pytest.approx(-math.log(beta_fn(2, 7 + 27) / beta_fn(2, 7)))
    assert last["baseline_log"] == pytest.approx(30 * 3 / 20)
    assert summary["scored"] == 3 and summary["completed"] == 2


# ---------------------------------------------------------------- committed files
def test_the_committed_fit_and_backtest_are_what_the_command_writes(tmp_path, monkeypatch,
                                                                    capsys):
    monkeypatch.chdir(ROOT)
    fitted = tmp_path / "rhythm.json"
    assert main(["campaign", "--fit-rhythm", "calibration/meetings.toml", "--out",
                 str(fitted)]) == 0
    committed = (CALIBRATION / "rhythm.json").read_text()
    # the same but for the record's path, relative to the file written
    assert fitted.read_text().replace(
        f'"record": "{Path(__import__("os").path.relpath(MEETINGS, tmp_path)).as_posix()}"',
        '"record": "meetings.toml"') == committed
    out = capsys.readouterr().out
    assert "at least 3 days between rounds" in out and "mean gap 344.0 days" in out
    assert main(["campaign", "--backtest", "calibration/meetings.toml", "--out",
                 str(tmp_path)]) == 0
    for name in ("campaign-backtest.json", "campaign-backtest.md"):
        assert (tmp_path / name).read_bytes() == (CALIBRATION / name).read_bytes(), name


def test_negsim_backtest_holds_the_campaign_backtest(record):
    """The committed backtest.json's ``campaign`` entry is the rhythm's backtest on the
    record of rounds, as ``negsim backtest`` computes it, and agrees with the committed
    campaign-backtest.json."""
    table, summary = backtest_rhythm(record)
    entry = campaign_entry(table, summary, "calibration/meetings.toml")
    committed = json.loads((CALIBRATION / "backtest.json").read_text())["campaign"]
    assert committed == json.loads(json.dumps(entry))
    detail = json.loads((CALIBRATION / "campaign-backtest.json").read_text())["summary"]
    assert committed["forecasters"]["model"]["log"] == detail["model"]["log"]
    assert committed["forecasters"]["exponential"]["crps"] == detail["baseline"]["crps"]
    assert len(committed["origins"]) == detail["scored"] == 10


def test_negsim_backtest_refuses_a_bad_record_of_rounds_before_it_runs(tmp_path, capsys):
    bad = tmp_path / "meetings.toml"
    bad.write_text(GOOD.replace('format = "HOSTED-DIRECT"', 'format = "PHONE"', 1))
    assert main(["backtest", "--meetings", str(bad), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{bad}: rounds[0].format: 'PHONE'" in err[0], err
    assert not (tmp_path / "out").exists()


def test_the_istanbul_campaign_starts_where_the_record_ends(record):
    campaign = load_campaign(CAMPAIGN)
    last = record.rounds[-1]
    assert (campaign.last_round, campaign.next_round_agreed) == (last.end, last.next_round)
    assert campaign.rhythm == read_rhythm(CALIBRATION / "rhythm.json")
    assert campaign.rhythm.min_gap_days == fit_rhythm(record_gaps(record)).min_gap_days


def test_the_first_round_meets_as_the_fit_says():
    """No round before Ukraine's proposed 20 June (18 days after round 2), then the
    lull's chance: P(a first round by 31 August) = 1 - B(4, 1023 + 73) / B(4, 1023)
    (73 days at risk from 20 June), matched by 1,500 campaigns within 4 standard errors;
    later gaps are at least the threshold."""
    campaign = load_campaign(CAMPAIGN)
    table, _ = simulate_chunk(campaign, seed=7, chunk=0, first=0, count=1500)
    rows = table.to_pandas()
    firsts = [dates[0] for dates in rows["round_dates"] if len(dates)]
    assert min(firsts) >= dt.date(2025, 6, 20)
    post = campaign.rhythm.none
    expected = 1 - float(survival(post, 1, 73))
    share = len(firsts) / len(rows)
    assert abs(share - expected) <= 4 * math.sqrt(expected * (1 - expected) / len(rows))
    gaps = [(b - a).days for dates in rows["round_dates"]
            for a, b in zip(dates, dates[1:], strict=False)]
    assert gaps and min(gaps) >= 3


def test_the_rhythm_is_in_the_manifest_and_the_summary():
    """A batch resumed with another fitted rhythm is refused (``depends_on``), and
    ``summary.json`` and the printed table say how rounds were convened."""
    campaign = load_campaign(CAMPAIGN)
    digest = hashlib.sha256((CALIBRATION / "rhythm.json").read_bytes()).hexdigest()
    manifest = campaign_manifest(campaign, str(CAMPAIGN), 0, 10, 10, 1)
    assert manifest["depends_on"]["rhythm_sha256"] == digest
    table, _ = simulate_chunk(campaign, seed=0, chunk=0, first=0, count=20)
    tally = CampaignTally(days=campaign.days)
    tally.add(CampaignTally.of(table, campaign))
    summary = summarise_campaign(campaign, tally, seed=0)
    s = summary["scheduling"]
    assert (s["model"], s["rhythm"], s["rhythm_sha256"], s["min_gap_days"]) == (
        "fitted rhythm", "../calibration/rhythm.json", digest, 3)
    assert s["daily_chance"]["no_next_round"] == {"a": 4, "b": 1023, "mean": 4 / 1027}
    assert "rounds convened by the fitted rhythm (../calibration/rhythm.json): at least 3 " \
        "days apart" in format_campaign(summary)


# ---------------------------------------------------------------- bad input
GOOD = """cutoff = 2030-02-01

[[rounds]]
date = 2030-01-01
event = "T"
format = "HOSTED-DIRECT"
what = "a round"
sources = ["SA1"]
next_round = true
next_round_sources = ["SA2"]

[[rounds]]
date = 2030-01-05
event = "T"
format = "HOSTED-DIRECT"
what = "a round"
sources = ["SA1"]
next_round = false
next_round_sources = ["SA2"]
"""


@pytest.mark.parametrize("old, new, key, message", [
    ("date = 2030-01-05", "date = 2029-12-31", "rounds[1].date", "list rounds in date order"),
    ('format = "HOSTED-DIRECT"', 'format = "LEADER-CALL"', "rounds[0].format",
     "Allowed: DIRECT, HOSTED-DIRECT"),
    ("next_round = true", 'next_round = "yes"', "rounds[0].next_round", "must be true"),
    ('sources = ["SA1"]', "sources = []", "rounds[0].sources", "non-empty list of source"),
    ("date = 2030-01-01\n", "date = 2030-01-01\nend = 2029-12-01\n", "rounds[0].end",
     "is before the round's date"),
    ("cutoff = 2030-02-01", "cutoff = 2030-01-02", "rounds[1].end", "after the record's cutoff"),
    ("next_round = true", "next_round = true\nnext_rounds = 1", "rounds[0].next_rounds",
     "did you mean 'next_round'"),
])
def test_bad_records(tmp_path, old, new, key, message):
    path = tmp_path / "meetings.toml"
    path.write_text(GOOD.replace(old, new, 1))
    with pytest.raises(InputError) as caught:
        load_meetings(path)
    assert caught.value.key == key and message in caught.value.message, str(caught.value)


def test_a_stale_rhythm_is_refused(tmp_path):
    record = tmp_path / "meetings.toml"
    record.write_text(GOOD)
    assert main(["campaign", "--fit-rhythm", str(record)]) == 0
    rhythm = read_rhythm(tmp_path / "rhythm.json")
    assert rhythm.min_gap_days == 4
    record.write_text(GOOD.replace("2030-01-05", "2030-01-06"))
    with pytest.raises(InputError) as caught:
        read_rhythm(tmp_path / "rhythm.json")
    assert caught.value.key == "record_sha256" and "--fit-rhythm" in caught.value.message


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim.cli", "campaign", *args],
                          capture_output=True, text=True, cwd=ROOT)


def test_bad_input_on_the_command_line_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "meetings.toml"
    bad.write_text(GOOD.replace("next_round = true", "next_round = 1"))
    two = tmp_path / "two.toml"
    two.write_text(GOOD)
    one = tmp_path / "one.toml"
    one.write_text(GOOD[:GOOD.rindex("[[rounds]]")])
    for args, message in (
            (("--fit-rhythm", str(bad)), f"{bad}: rounds[0].next_round: must be true"),
            (("--backtest", str(one), "--out", str(tmp_path / "bt")),
             "the backtest needs a gap to fit to"),
            ((str(CAMPAIGN), "--fit-rhythm", str(two)), "leave out the campaign file"),
            ((), "give a campaign file")):
        done = run_cli(*args)
        assert done.returncode == 2, args
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], done.stderr
    assert not (tmp_path / "bt").exists() and not (tmp_path / "rhythm.json").exists()


def campaign_variant(tmp_path: Path, old: str, new: str) -> Path:
    text = CAMPAIGN.read_text().replace(old, new)
    text = text.replace('\nround = "', f'\nround = "{CAMPAIGN.parent}/').replace(
        '"../calibration', f'"{CALIBRATION}')
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("old, new, key, message", [
    ('rhythm = "', 'min_gap_days = 14\nrhythm = "', "scheduling.min_gap_days",
     "is set by the fitted rhythm"),
    ('last_round = "2025-06-02"', '# last_round', "state.last_round", "is required with"),
    ('last_round = "2025-06-02"', 'last_round = "2025-06-03"', "state.last_round",
     "not before the start"),
    ("next_round_agreed = false", 'next_round_agreed = "no"', "state.next_round_agreed",
     "must be true"),
    ('"../calibration/rhythm.json"', '"../calibration/meetings.toml"', "",
     "not a JSON file"),
])
def test_bad_rhythm_keys_in_a_campaign_file(tmp_path, old, new, key, message):
    with pytest.raises(InputError) as caught:
        load_campaign(campaign_variant(tmp_path, old, new))
    assert caught.value.key == key and message in caught.value.message, str(caught.value)
