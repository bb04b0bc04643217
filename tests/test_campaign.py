"""Campaigns, the engine and the file: the Istanbul campaign gives the numbers it gave
before campaigns were made general (with its former hand-set scheduling) and the
numbers of the fitted rhythm; implementation never exceeds agreement; every
event is dated, a next round agreed at the table is scheduled only where the file
names the event; the limiting case of independent rounds; campaigns on a scenario
with no exchange issue; every round held reported; the stage-timing fit; bad input."""

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.batch.chunks import run_scenario
from sim.campaign.engine import simulate_chunk
from sim.campaign.report import format_campaign, summarise_campaign
from sim.campaign.spec import load_campaign
from sim.campaign.tally import CampaignTally
from sim.campaign.timing import fit_stage_timing
from sim.errors import InputError
from sim.scenario.load import build_scenario, read_scenario_data
from sim.stats.summary import Measures, event_columns

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
CAMPAIGN = SCENARIOS / "campaign-after-2025-06-02.toml"
RIVER = SCENARIOS / "campaign-river-basin.toml"


#: The Istanbul campaign's scheduling before the rhythm was fitted to the record
#: (commit 7783a2b): hand-set, the random-utility model (docs/campaigns.md).
HAND_SET = """[scheduling]
min_gap_days = 14      # two weeks at least between rounds (16 May -> 2 June: 17 days)
lead_days = [7, 18]    # from agreeing to meet to the meeting (2 June -> 20 June: 18)
mediator_push = 0.5    # Turkey offers Istanbul again and presses both
noise = 1.0

[scheduling.value]     # what meeting is worth to a side that fully trusts the other
ukraine = 2.0          # its prisoners and the children come home only through talks
russia = 1.0           # exchanges, and being seen to talk while pressing its memorandum

[scheduling.cost]      # what a meeting costs a side (attention, signalling weakness)
ukraine = 0.5
russia = 1.5
"""


def hand_set_text(text: str) -> str:
    """The Istanbul campaign's text with its former hand-set scheduling instead of the
    fitted rhythm (and without the state only the rhythm reads)."""
    lines = [line for line in text[:text.index("[scheduling]")].splitlines(keepends=True)
             if not line.startswith(("last_round", "next_round_agreed"))]
    return "".join(lines) + HAND_SET


def variant(tmp_path: Path, replace: dict[str, str], name: str = "c.toml",
            base: Path = CAMPAIGN, hand_set: bool = False) -> Path:
    """The campaign file with its relative paths made absolute and ``replace`` done
    (with ``hand_set``, on its former hand-set scheduling)."""
    text = base.read_text()
    if hand_set:
        text = hand_set_text(text)
    for relative in ("june-20-30-2025.toml", "river-basin-releases.toml"):
        text = text.replace(f'round = "{relative}"', f'round = "{SCENARIOS / relative}"')
    for relative in ("implementation.toml", "rhythm.json"):
        text = text.replace(f'"../calibration/{relative}"',
                            f'"{ROOT / "calibration" / relative}"')
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text)
    return path


def run(campaign, seed: int, count: int, chunk_size: int | None = None, keep_rounds=False):
    """Rows (pandas), the tally and the rounds of ``count`` campaigns in chunks."""
    size = chunk_size or count
    tables, rounds = [], []
    tally = CampaignTally(days=campaign.days)
    for chunk, first in enumerate(range(0, count, size)):
        table, held = simulate_chunk(campaign, seed, chunk, first, min(size, count - first),
                                     keep_rounds)
        tally.add(CampaignTally.of(table, campaign))
        tables.append(table.to_pandas())
        rounds += held
    return pd.concat(tables, ignore_index=True), tally, rounds


def test_stage_timing_is_fitted_to_round_one():
    """Agreed 16 May, stages 23, 24, 25 May: six days without a start and one with,
    two days without a slip; Beta(1, 1) priors."""
    timing = fit_stage_timing(ROOT / "calibration" / "implementation.toml")
    assert (timing.start.a, timing.start.b) == (2, 7)
    assert (timing.slip.a, timing.slip.b) == (1, 3)


# The Istanbul campaign's numbers, 240 campaigns in chunks of 80, seed 1, the file's
# horizon: when the campaign engine was made general (commit 0c7b9a2) they equalled
# those of the code that named the exchanges, the ceasefire, the leaders' meeting and
# the next round (commit a7da30b); pinned again on the bargaining engine of today
# (rounds now walk out by BATNA decisions, red lines equal to ideals are worth 1 there),
# so that any later change to them is seen and explained. Since the rhythm was fitted
# to the record (calibration/rhythm.json), the campaign file schedules by it (AFTER,
# below); these are the numbers of its former hand-set scheduling (HAND_SET), which
# the engine still gives: the hand-set path is unchanged.
BEFORE = {
    "rounds_held": {0: 2, 1: 27, 2: 98, 3: 35, 4: 17, 5: 24, 6: 20, 7: 16, 8: 1},
    "round_dates": [
        (238, '2025-06-20', '2025-06-25', '2025-07-16'),
        (211, '2025-07-04', '2025-07-27', '2025-08-16'),
        (113, '2025-07-11', '2025-07-30', '2025-08-26'),
        (78, '2025-07-23', '2025-08-04', '2025-08-23'),
        (61, '2025-08-03', '2025-08-14', '2025-08-26'),
        (37, '2025-08-12', '2025-08-19', '2025-08-29'),
        (17, '2025-08-22', '2025-08-28', '2025-08-30'),
        (1, '2025-08-27', '2025-08-27', '2025-08-27'),
    ],
    # date, any ceasefire, leaders' meeting, prisoners p10/p50/p90, remains p10/p50/p90
    "by_date": [
        ('2025-06-30', 17, 2, (1021.8, 1171.0, 2348.4), (6000.0, 6000.0, 11000.0)),
        ('2025-07-31', 30, 3, (1143.0, 2487.0, 4519.5), (6000.0, 12000.0, 21729.1)),
        ('2025-08-31', 31, 3, (2171.4, 3572.5, 7476.4), (11000.0, 17000.0, 33100.0)),
    ],
    "sums": {
        'pow_exchange_agreed': 1106662,
        'pow_exchange_implemented': 1012658,
        'remains_agreed': 5150000,
        'remains_implemented': 4735840,
        'walkouts': 28,
        'ceasefire_level': 37,
        'trust_ukraine': 160.19899267882641,
        'trust_russia': 160.1089483512814},
}


def check_numbers(campaign, expected: dict) -> dict:
    """The campaign's numbers (240 campaigns in chunks of 80, seed 1) against ``expected``;
    the summary."""
    rows, tally, _ = run(campaign, seed=1, count=240, chunk_size=80)
    summary = summarise_campaign(campaign, tally, seed=1)
    assert {int(k): v["count"] for k, v in summary["rounds_held"].items()} == \
        expected["rounds_held"]
    assert [(r["held"]["count"], r["p10"], r["p50"], r["p90"])
            for r in summary["round_dates"]] == expected["round_dates"]
    for entry, (day, ceasefire, leaders, prisoners, remains) in zip(
            summary["by_date"], expected["by_date"], strict=True):
        assert entry["date"] == day
        assert entry["events"]["ceasefire_any"]["count"] == ceasefire
        assert entry["events"]["leaders_meeting_agreed"]["count"] == leaders
        for issue, pinned in (("pow_exchange", prisoners), ("remains", remains)):
            got = entry["implemented"][issue]
            assert (got["p10"], got["p50"], got["p90"]) == pytest.approx(pinned, abs=1e-6)
    for column, total in expected["sums"].items():
        assert rows[column].sum() == pytest.approx(total, rel=1e-12), column
    return summary


def test_the_istanbul_campaign_gives_the_numbers_it_gave_before(tmp_path):
    campaign = load_campaign(variant(tmp_path, {}, hand_set=True))
    assert campaign.exchanges == ("pow_exchange", "remains")
    assert campaign.next_round_event == "next_round_agreed"
    assert campaign.rhythm is None and campaign.min_gap_days == 14
    summary = check_numbers(campaign, BEFORE)
    text = format_campaign(summary)
    assert "  8     " in text and "2025-08-27   2025-08-27   2025-08-27" in text  # round 8


# The Istanbul campaign on the rhythm fitted to the record (calibration/rhythm.json),
# the same 240 campaigns: 190 of 240 hold no round by 31 August (BEFORE: 2), at most
# 7 (BEFORE: 8, with 98 holding two). The record's lull after a round that agreed no
# next round (a daily chance of 0.0039, a mean gap of 344 days) is what round 2 left
# on 2 June; a round that agrees a next one starts a burst (0.064, 19 days).
AFTER = {
    "rounds_held": {0: 190, 1: 31, 2: 8, 3: 4, 4: 2, 5: 3, 6: 1, 7: 1},
    "round_dates": [
        (50, '2025-06-24', '2025-07-17', '2025-08-17'),
        (19, '2025-07-11', '2025-08-05', '2025-08-27'),
        (11, '2025-07-21', '2025-08-13', '2025-08-25'),
        (7, '2025-07-23', '2025-08-13', '2025-08-26'),
        (5, '2025-08-06', '2025-08-11', '2025-08-23'),
        (2, '2025-08-10', '2025-08-14', '2025-08-17'),
        (1, '2025-08-14', '2025-08-14', '2025-08-14'),
    ],
    "by_date": [
        ('2025-06-30', 4, 0, (1013.9, 1092.0, 1183.2), (6000.0, 6000.0, 6000.0)),
        ('2025-07-31', 5, 0, (1023.9, 1110.0, 2000.0), (6000.0, 6000.0, 10100.0)),
        ('2025-08-31', 6, 0, (1025.0, 1121.0, 2513.4), (6000.0, 6000.0, 12000.0)),
    ],
    "sums": {
        'pow_exchange_agreed': 370462,
        'pow_exchange_implemented': 357670,
        'remains_agreed': 1909000,
        'remains_implemented': 1881665,
        'walkouts': 4,
        'ceasefire_level': 6,
        'trust_ukraine': 128.61570279855744,
        'trust_russia': 130.62686393071522},
}


def test_the_istanbul_campaign_schedules_by_the_fitted_rhythm():
    campaign = load_campaign(CAMPAIGN)
    assert campaign.rhythm is not None and campaign.rhythm.min_gap_days == 3
    assert campaign.min_gap_days is None and campaign.lead_days is None
    assert (campaign.last_round, campaign.next_round_agreed) == (dt.date(2025, 6, 2), False)
    check_numbers(campaign, AFTER)


def test_every_round_held_is_reported():
    campaign = load_campaign(CAMPAIGN)
    rows, tally, _ = run(campaign, seed=1, count=240, chunk_size=80)
    summary = summarise_campaign(campaign, tally, seed=1)
    most = int(rows["rounds_held"].max())
    assert most > 4 and len(summary["round_dates"]) == most
    for entry in summary["round_dates"]:
        assert entry["held"]["count"] == (rows["rounds_held"] >= entry["round"]).sum()
    assert list(summary["rounds_held"]) == [str(k) for k in range(most + 1)]


def test_what_is_carried_out_never_exceeds_what_was_agreed():
    campaign = load_campaign(CAMPAIGN)
    rows, tally, rounds = run(campaign, seed=3, count=400, keep_rounds=True)
    start, end = campaign.start, campaign.until
    for issue in ("pow_exchange", "remains"):
        assert (rows[f"{issue}_implemented"] <= rows[f"{issue}_agreed"]).all()
        assert (rows[f"{issue}_implemented"] >= 0).all()
        # the stages add up to what was carried out, in date order within the horizon
        assert (rows[f"{issue}_stage_amounts"].map(sum) == rows[f"{issue}_implemented"]).all()
        for dates, amounts in zip(rows[f"{issue}_stage_dates"], rows[f"{issue}_stage_amounts"],
                                  strict=True):
            assert len(dates) == len(amounts) and list(dates) == sorted(dates)
            assert all(start <= d <= end for d in dates) and all(a > 0 for a in amounts)
        # cumulative carried out never falls, and ends where the rows say
        means = [sum(v * c for v, c in day.items()) for day in tally.implemented[issue]]
        assert all(a <= b for a, b in zip(means, means[1:], strict=False))
        assert means[-1] == rows[f"{issue}_implemented"].sum()
    held = rows["rounds_held"].to_numpy()
    assert held.sum() == sum(len(r) for r in rounds)
    assert (rows["round_dates"].map(len) == held).all()
    agreed_in_rounds = sum(np.nan_to_num(r["pow_exchange_value"]).sum() for r in rounds)
    assert rows["pow_exchange_agreed"].sum() >= agreed_in_rounds  # plus the starting queue
    first = rows["round_dates"].map(lambda d: d[0] if len(d) else None).dropna()
    assert (first >= dt.date(2025, 6, 20)).all()  # not before Ukraine's proposed date


def test_every_event_is_dated_by_the_first_round_it_held_in(tmp_path):
    campaign = load_campaign(variant(tmp_path, {}, hand_set=True))  # many rounds
    rows, _, rounds = run(campaign, seed=4, count=300, keep_rounds=True)
    pooled = pd.concat(rounds, ignore_index=True)
    held = event_columns(pooled, Measures.of(campaign.round_scenario))
    assert set(held) == {e.name for e in campaign.round_scenario.events}
    seen_some = 0
    for name, hits in held.items():
        first = pooled[hits].groupby("run_id")["day"].min()
        expected = first.map(lambda day: campaign.start + dt.timedelta(days=int(day)))
        dated = rows.set_index("run_id")[f"{name}_date"].dropna()
        assert sorted(dated.index) == sorted(first.index), name
        assert (dated.loc[first.index] == expected).all(), name
        seen_some += len(first) > 0
    assert seen_some >= 5  # most events held somewhere


def gaps(rows: pd.DataFrame) -> np.ndarray:
    return np.concatenate([np.diff([d.toordinal() for d in dates])
                           for dates in rows["round_dates"] if len(dates) > 1])


def test_a_next_round_agreed_at_the_table_is_scheduled_only_where_the_file_names_it(
        tmp_path):
    """With ``next_round_event``, a round that agrees a next one sets it ``lead_days``
    (7-18) later, sooner than the scheduling model's ``min_gap_days`` (14) allows;
    without it, only the scheduling model convenes rounds: every gap is at least
    ``min_gap_days + lead_days`` low end (the hand-set scheduling)."""
    campaign = load_campaign(variant(tmp_path, {}, "hand.toml", hand_set=True))
    rows, _, rounds = run(campaign, seed=5, count=300, keep_rounds=True)
    assert (gaps(rows) < 14).any()
    pooled = pd.concat(rounds, ignore_index=True)
    agreed = pooled[pooled["next_round_value"] == 1]
    dates = rows.set_index("run_id")["round_dates"]
    for run_id, day in zip(agreed["run_id"], agreed["day"], strict=True):
        met = campaign.start + dt.timedelta(days=int(day))
        after = [d for d in dates[run_id] if d > met]
        if (campaign.until - met).days >= 18:
            assert after and 7 <= (after[0] - met).days <= 18
    path = variant(tmp_path, {'next_round_event = "next_round_agreed"\n': ""}, hand_set=True)
    alone = load_campaign(path)
    assert alone.next_round_event is None
    rows, _, _ = run(alone, seed=5, count=300)
    assert len(gaps(rows)) > 50 and gaps(rows).min() >= 14 + 7


def midpoints(data):
    """Scenario data with every [low, high] range replaced by its midpoint."""
    if isinstance(data, dict):
        return {k: midpoints(v) for k, v in data.items()}
    if isinstance(data, list) and len(data) == 2 and all(
            isinstance(v, int | float) for v in data):
        return (data[0] + data[1]) / 2
    if isinstance(data, list):
        return [midpoints(v) for v in data]
    return data


def test_with_trust_fixed_and_no_slippage_rounds_are_independent(tmp_path):
    """Trust that never moves and exchanges that never slip: a campaign is a sequence
    of rounds that do not influence each other. With every parameter fixed (no
    posterior, no ranges), each round a campaign holds is a fresh draw of the June
    round: pooled, their outcomes match `negsim run`'s within Monte Carlo error."""
    data, sources = read_scenario_data(SCENARIOS / "june-20-30-2025.toml")
    data.pop("posterior")
    fixed = build_scenario(midpoints(data), "june-fixed.toml", sources)
    assert fixed.posterior is None and all(
        p.patience.fixed and p.concession.fixed for p in fixed.parties)
    path = variant(tmp_path, {
        "gain_per_stage = 0.05": "gain_per_stage = 0.0",
        "loss_per_slip = 0.10": "loss_per_slip = 0.0",
        "stages = 3 ": "stages = 3\nslip_chance = 0.0\n",
    }, hand_set=True)  # many rounds per campaign
    campaign = dataclasses.replace(load_campaign(path), round_scenario=fixed)
    _, _, rounds = run(campaign, seed=1, count=1500, keep_rounds=True)
    pooled = pd.concat(rounds, ignore_index=True)
    assert len(pooled) > 2000
    alone = run_scenario(fixed, runs=20_000, seed=9)
    compared = 0
    for column in ("pow_exchange_value", "next_round_value", "walkout", "children_value",
                   "ceasefire_level"):
        a = np.nan_to_num(pooled[column].to_numpy(dtype=float)) > 0
        b = np.nan_to_num(alone[column].to_numpy(dtype=float)) > 0
        se = np.sqrt(a.mean() * (1 - a.mean()) / a.size + b.mean() * (1 - b.mean()) / b.size)
        assert abs(a.mean() - b.mean()) <= 4 * se + 1e-9, column
        compared += 0.01 < b.mean() < 0.99  # a share the comparison can tell apart
    assert compared >= 2
    for column in ("duration_minutes", "pow_exchange_value", "remains_value"):
        a, b = (frame[column].dropna().to_numpy(dtype=float) for frame in (pooled, alone))
        se = np.sqrt(a.var() / a.size + b.var() / b.size)
        assert b.var() > 0 and abs(a.mean() - b.mean()) <= 4 * se, column


def test_trust_moves_with_implementation(tmp_path):
    smooth = load_campaign(variant(tmp_path, {"stages = 3 ": "stages = 3\nslip_chance = 0.0\n"},
                                   "smooth.toml"))
    rough = load_campaign(variant(tmp_path, {"stages = 3 ": "stages = 3\nslip_chance = 0.8\n"},
                                  "rough.toml"))
    a, _, _ = run(smooth, 0, 300)
    b, _, _ = run(rough, 0, 300)
    assert a["trust_russia"].mean() > b["trust_russia"].mean() + 0.1
    assert a["pow_exchange_implemented"].mean() > b["pow_exchange_implemented"].mean()


def test_the_river_basin_campaign_carries_out_its_own_exchanges():
    """A fictional case: its exchanges, events and next-session event are its own, and
    its rows hold the columns the campaign documents, in order."""
    campaign = load_campaign(RIVER)
    assert campaign.exchanges == ("emergency_release", "herders")
    assert campaign.compounds == ()
    assert campaign.track == ("release_agreed", "water_deal", "border_deal",
                              "next_session_agreed")
    table, _ = simulate_chunk(campaign, seed=2, chunk=0, first=0, count=150)
    assert tuple(table.column_names) == campaign.columns
    rows = table.to_pandas()
    for issue in campaign.exchanges:
        assert (rows[f"{issue}_implemented"] <= rows[f"{issue}_agreed"]).all()
        assert rows[f"{issue}_implemented"].max() > 0
    assert rows["herders_agreed"].min() >= 40  # the starting queue, [40, 60]
    assert rows["emergency_release_agreed"].min() >= 120
    assert rows["next_session_agreed_date"].notna().any()


def plain_campaign(tmp_path: Path, round_file: Path, parties=("upland", "lowland")) -> Path:
    """A campaign file on ``round_file`` with no exchange, ``track`` or next-round keys."""
    a, b = parties
    path = tmp_path / "plain.toml"
    path.write_text(f'''
[campaign]
name = "River basin, plain"
start = "2031-06-01"
until = "2031-08-31"
round = "{round_file}"

[state.trust]
{a} = 0.5
{b} = [0.4, 0.6]

[trust]
gain_per_stage = 0.05
loss_per_slip = 0.1
willingness_per_trust = 0.5
patience_per_trust = 0.5

[scheduling]
min_gap_days = 10
lead_days = [5, 10]
mediator_push = 1.0
noise = 1.0
value = {{ {a} = 2.0, {b} = 2.0 }}
cost = {{ {a} = 0.5, {b} = 0.5 }}
''')
    return path


def test_a_campaign_on_a_scenario_with_no_exchange_issue(tmp_path):
    """river-basin.toml has no exchange issue: no [implementation] or record is
    needed, nothing is carried out, every event is tracked (no ``track``), and rounds
    come from the scheduling model alone (no ``next_round_event``)."""
    campaign = load_campaign(plain_campaign(tmp_path, SCENARIOS / "river-basin.toml"))
    assert campaign.exchanges == () and campaign.timing is None
    assert campaign.track == tuple(e.name for e in campaign.round_scenario.events)
    rows, tally, _ = run(campaign, seed=0, count=200)
    assert rows["rounds_held"].max() >= 2 and gaps(rows).min() >= 10 + 5
    summary = summarise_campaign(campaign, tally, seed=0)
    assert summary["exchanges"] == {} and summary["stage_timing"] is None
    final = summary["by_date"][-1]["events"]
    assert final["water_deal"]["count"] == rows["water_deal_date"].notna().sum() > 0
    assert "carried out" not in format_campaign(summary)


@pytest.mark.parametrize("replace, key, message", [
    ({'until = "2025-08-31"': 'until = "2025-05-01"'}, "campaign.until", "before the"),
    ({'until = "2025-08-31"': 'until = "2045-08-31"'}, "campaign.until", "ten years"),
    ({'start = "2025-06-03"': 'start = "3 June"'}, "campaign.start", "must be a date"),
    ({'proposed_by = "ukraine"': 'proposed_by = "turkey"'}, "state.proposed_by",
     "Allowed: ukraine, russia"),
    ({"ukraine = [0.3, 0.5]": "ukraine = [0.3, 1.5]"}, "state.trust.ukraine", "out of range"),
    ({"min_gap_days = 14": "min_gap_day = 14"}, "scheduling.min_gap_day",
     "did you mean 'min_gap_days'"),
    ({'round_proposed = "2025-06-20"': 'round_proposed = "2025-05-20"'},
     "state.round_proposed", "before the start"),
    ({"remains = 6000": "children = 1"}, "state.pending.children",
     "Allowed: pow_exchange, remains"),
    ({"remains = 6000": "remains = 60000"}, "state.pending.remains", "within [0, 20000]"),
    ({"[state.pending]": "[state.pow_pending]"}, "state.pow_pending",
     "did you mean 'pending'?"),
    ({'track = ["ceasefire_any", "leaders_meeting_agreed"]': 'track = ["ceasefire"]'},
     "campaign.track", "Allowed: ceasefire_any, ceasefire_general"),
    ({'track = ["ceasefire_any", "leaders_meeting_agreed"]': 'track = "walkout"'},
     "campaign.track", "must be a list of event names"),
    ({'track = ["ceasefire_any", "leaders_meeting_agreed"]': 'track = ["walkout", "walkout"]'},
     "campaign.track", "names an event twice"),
    ({'next_round_event = "next_round_agreed"': 'next_round_event = "next_round"'},
     "campaign.next_round_event", "is not an event of the round scenario"),
    ({"lead_days = [7, 18]": "lead_days = [0, 18]"}, "scheduling.lead_days", "out of range"),
    ({'implementation_record = "': 'implementation_recor = "'},
     "campaign.implementation_recor", "did you mean 'implementation_record'"),
])
def test_bad_campaign_files(tmp_path, replace, key, message):
    with pytest.raises(InputError) as caught:
        load_campaign(variant(tmp_path, replace, hand_set=True))
    assert caught.value.key == key and message in str(caught.value)


def test_the_stage_timing_needs_a_record_or_both_chances(tmp_path):
    no_record = {'implementation_record = "': '# implementation_record = "'}
    with pytest.raises(InputError) as caught:
        load_campaign(variant(tmp_path, no_record))
    assert caught.value.key == "campaign.implementation_record"
    assert "unless [implementation] fixes both" in str(caught.value)
    fixed = load_campaign(variant(tmp_path, no_record | {
        "stages = 3 ": "stages = 3\nstart_chance = 0.2\nslip_chance = 0.1\n"}))
    assert (fixed.timing.start.mean, fixed.timing.slip.mean) == (0.2, 0.1)
    assert fixed.timing.record_sha256 is None
    with pytest.raises(InputError) as caught:
        load_campaign(variant(tmp_path, {"[implementation]": "[implementations]"}))
    assert caught.value.key == "implementations"


def test_names_that_would_share_a_column_are_refused(tmp_path):
    """An event ``trust_x`` and a party ``x_date`` would both make ``trust_x_date``."""
    round_file = tmp_path / "round.toml"
    round_file.write_text((SCENARIOS / "river-basin.toml").read_text().replace(
        "[events.walkout]", "[events.trust_lowland]").replace(
        "parties.lowland", "parties.lowland_date"))
    path = plain_campaign(tmp_path, round_file, parties=("upland", "lowland_date"))
    with pytest.raises(InputError) as caught:
        load_campaign(path)
    assert caught.value.key == "campaign.round" and "'trust_lowland_date'" in str(caught.value)
