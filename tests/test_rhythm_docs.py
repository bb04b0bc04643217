"""The numbers docs/campaigns.md and calibration/README.md give for the rhythm of rounds
are the committed fit's (calibration/rhythm.json), the committed backtest's
(calibration/campaign-backtest.json), and what `negsim campaign` gives for the
Istanbul campaign with the fitted rhythm and with its former hand-set scheduling
(2,000 campaigns in chunks of 1,000, seed 0: the command's defaults)."""

import json
from pathlib import Path

import pytest
from test_campaign import hand_set_text

from sim.campaign.engine import simulate_chunk
from sim.campaign.report import summarise_campaign
from sim.campaign.spec import load_campaign
from sim.campaign.tally import CampaignTally

ROOT = Path(__file__).resolve().parent.parent
CALIBRATION = ROOT / "calibration"
CAMPAIGN = ROOT / "scenarios" / "campaign-after-2025-06-02.toml"
DOCS = [ROOT / "docs" / "campaigns.md", CALIBRATION / "README.md"]


def flat(path: Path) -> str:
    """The document's text with its line breaks made spaces."""
    return " ".join(path.read_text(encoding="utf-8").split())


@pytest.fixture(scope="module")
def texts():
    return {path.name: flat(path) for path in DOCS}


def test_the_fit_as_the_docs_give_it(texts):
    fit = json.loads((CALIBRATION / "rhythm.json").read_text())
    agreed, none = fit["states"]["next_round_agreed"], fit["states"]["no_next_round"]
    claims = [
        f"the threshold is {fit['min_gap_days']} days",
        f"{agreed['gaps']} gaps with {agreed['quiet_days']} days without a round beyond the "
        f"threshold give Beta({agreed['a']}, {agreed['b']}): a daily chance of "
        f"{agreed['daily_chance_mean']:.3f} and a mean gap of {agreed['mean_gap_days']:.1f} days",
        f"{none['gaps']} gaps with {none['quiet_days']:,} days give Beta({none['a']}, "
        f"{none['b']}): a daily chance of {none['daily_chance_mean']:.4f} and a mean gap of "
        f"{none['mean_gap_days']:.0f} days",
        f"({len(fit['gaps'])} rounds: {len(fit['gaps']) - 1} gaps and the open one",
    ]
    for claim in claims:
        assert claim in texts["campaigns.md"], claim
    readme = texts["README.md"]
    assert f"Beta({agreed['a']}, {agreed['b']})" in readme
    assert f"Beta({none['a']}, {none['b']})" in readme
    assert f"at least {fit['min_gap_days']} days" in readme


def test_the_backtest_as_the_docs_give_it(texts):
    bt = json.loads((CALIBRATION / "campaign-backtest.json").read_text())
    s, rows = bt["summary"], bt["origins"]
    claims = [
        f"Over {s['scored']} origins (after {rows[0]['origin'][8:].lstrip('0')} March 2022 "
        f"to after {rows[-1]['origin'][8:]} May 2025)",
        f"mean log score is {s['model']['log']:.2f} against the exponential's "
        f"{s['baseline']['log']:.2f}, and it is better at {s['model_better_log']} of "
        f"{s['scored']}",
        f"Its mean CRPS is worse, {s['model']['crps']:.1f} against {s['baseline']['crps']:.1f} "
        "days",
        f"meeting by the day it met is {s['model']['p_by_mean']:.2f} against "
        f"{s['baseline']['p_by_mean']:.2f}",
    ]
    for claim in claims:
        assert claim in texts["campaigns.md"], claim
    assert s["model"]["crps"] > s["baseline"]["crps"]
    riyadh = next(r for r in rows if r["event"] == "A18")
    assert (round(riyadh["model_mean_gap"]), riyadh["gap_days"]) == (490, 52)
    assert "expected 490 days on average, and the sides met 52 days later" in \
        texts["campaigns.md"]
    # most of the gain is on the gaps of 106 and 975 days
    gains = sorted(((r["baseline_log"] - r["model_log"]), r["gap_days"]) for r in rows)
    assert {g for _, g in gains[-2:]} == {106, 975}
    assert gains[-1][0] + gains[-2][0] > 0.5 * sum(d for d, _ in gains)
    readme = texts["README.md"]
    assert f"{s['model']['log']:.2f} against {s['baseline']['log']:.2f}" in readme
    assert f"{s['model']['crps']:.1f} against {s['baseline']['crps']:.1f}" in readme


def summary_of(campaign) -> dict:
    tally = CampaignTally(days=campaign.days)
    for chunk in range(2):
        table, _ = simulate_chunk(campaign, 0, chunk, chunk * 1000, 1000)
        tally.add(CampaignTally.of(table, campaign))
    return summarise_campaign(campaign, tally, seed=0)


def test_the_forecast_as_the_docs_give_it(texts, tmp_path):
    hand = tmp_path / "hand-set.toml"
    hand.write_text(hand_set_text(CAMPAIGN.read_text()).replace(
        '\nround = "', f'\nround = "{CAMPAIGN.parent}/').replace(
        '"../calibration', f'"{CALIBRATION}'))
    found = {}
    for name, path in (("fitted", CAMPAIGN), ("hand-set", hand)):
        s = summary_of(load_campaign(path))
        held = s["rounds_held"]
        first = s["round_dates"][0]
        found[name] = {
            "none": f"{100 * held['0']['p']:.1f}%",
            "two": f"{100 * sum(v['p'] for k, v in held.items() if int(k) >= 2):.1f}%",
            "most": max(int(k) for k in held),
            "first": f"{100 * first['held']['p']:.1f}%",
            "median": first["p50"],
            "ceasefire": f"{100 * s['by_date'][-1]['events']['ceasefire_any']['p']:.1f}%"}
    f, h = found["fitted"], found["hand-set"]
    day = {"07": "July", "06": "June"}
    claims = [
        f"holds no round in {f['none']} of campaigns and two or more in {f['two']} (at most "
        f"{f['most']})",
        f"{h['none']} held none and {h['two']} two or more (at most {h['most']})",
        f"A first round is held in {f['first']} of campaigns (median date "
        f"{int(f['median'][8:])} {day[f['median'][5:7]]}), against {h['first']} (median "
        f"{int(h['median'][8:])} {day[h['median'][5:7]]}) before",
        f"a ceasefire of any kind by 31 August in {f['ceasefire']}, against {h['ceasefire']}",
    ]
    for claim in claims:
        assert claim in texts["campaigns.md"], claim
    assert f"no round in {f['none']}" in texts["README.md"]
