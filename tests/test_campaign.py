"""Campaigns: implementation never exceeds agreement, the limiting case of independent
rounds, determinism (serial = pool), the stage-timing fit, and bad input."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.batch.chunks import run_scenario
from sim.campaign.engine import simulate_chunk
from sim.campaign.spec import load_campaign
from sim.campaign.timing import fit_stage_timing
from sim.cli import main
from sim.errors import InputError
from sim.scenario.load import build_scenario, read_scenario_data

ROOT = Path(__file__).resolve().parent.parent
CAMPAIGN = ROOT / "scenarios" / "campaign-after-2025-06-02.toml"


def variant(tmp_path: Path, replace: dict[str, str], name: str = "c.toml") -> Path:
    text = CAMPAIGN.read_text()
    text = text.replace('round = "june-20-30-2025.toml"',
                        f'round = "{ROOT / "scenarios" / "june-20-30-2025.toml"}"')
    text = text.replace('"../calibration/implementation.toml"',
                        f'"{ROOT / "calibration" / "implementation.toml"}"')
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text)
    return path


def test_stage_timing_is_fitted_to_round_one():
    """Agreed 16 May, stages 23, 24, 25 May: six days without a start and one with,
    two days without a slip; Beta(1, 1) priors."""
    timing = fit_stage_timing(ROOT / "calibration" / "implementation.toml")
    assert (timing.start.a, timing.start.b) == (2, 7)
    assert (timing.slip.a, timing.slip.b) == (1, 3)


def test_what_is_carried_out_never_exceeds_what_was_agreed():
    campaign = load_campaign(CAMPAIGN)
    rows, tally, rounds = simulate_chunk(campaign, seed=3, chunk=0, first=0, count=600,
                                         keep_rounds=True)
    for issue in ("pow_exchange", "remains"):
        assert (rows[f"{issue}_implemented"] <= rows[f"{issue}_agreed"]).all()
        assert (rows[f"{issue}_implemented"] >= 0).all()
        # cumulative carried out never falls, and ends where the rows say
        for day in range(1, campaign.days):
            before = pd.Series(tally.implemented[issue][day - 1])
            after = pd.Series(tally.implemented[issue][day])
            assert (before * before.index).sum() <= (after * after.index).sum()
    held = rows["rounds_held"].to_numpy()
    assert held.sum() == sum(len(r) for r in rounds)
    agreed_in_rounds = sum(int(r["pow_exchange_per_side"].sum()) for r in rounds)
    assert rows["pow_exchange_agreed"].sum() >= agreed_in_rounds  # plus the starting queue
    first = rows["round_1_date"].dropna()
    assert (first >= pd.Timestamp("2025-06-20")).all()  # not before Ukraine's proposed date


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
    data, sources = read_scenario_data(ROOT / "scenarios" / "june-20-30-2025.toml")
    data.pop("posterior")
    fixed = build_scenario(midpoints(data), "june-fixed.toml", sources)
    assert fixed.posterior is None and all(
        p.patience.fixed and p.concession.fixed for p in fixed.parties)
    path = variant(tmp_path, {
        "gain_per_stage = 0.05": "gain_per_stage = 0.0",
        "loss_per_slip = 0.10": "loss_per_slip = 0.0",
        "stages = 3 ": "stages = 3\nslip_chance = 0.0\n",
    })
    campaign = dataclasses.replace(load_campaign(path), round_scenario=fixed)
    rows, _, rounds = simulate_chunk(campaign, seed=1, chunk=0, first=0, count=1500,
                                     keep_rounds=True)
    pooled = pd.concat(rounds, ignore_index=True)
    assert len(pooled) > 2000
    alone = run_scenario(fixed, runs=20_000, seed=9)
    for column in ("pow_exchange_per_side", "next_round_agreed", "walkout",
                   "children_commitment", "ceasefire_level"):
        a = pooled[column].to_numpy(dtype=float) > 0
        b = alone[column].to_numpy(dtype=float) > 0
        se = np.sqrt(a.mean() * (1 - a.mean()) / a.size + b.mean() * (1 - b.mean()) / b.size)
        assert abs(a.mean() - b.mean()) <= 4 * se + 1e-9, column


def test_trust_moves_with_implementation(tmp_path):
    smooth = load_campaign(variant(tmp_path, {"stages = 3 ": "stages = 3\nslip_chance = 0.0\n"},
                                   "smooth.toml"))
    rough = load_campaign(variant(tmp_path, {"stages = 3 ": "stages = 3\nslip_chance = 0.8\n"},
                                  "rough.toml"))
    a, _, _ = simulate_chunk(smooth, 0, 0, 0, 300)
    b, _, _ = simulate_chunk(rough, 0, 0, 0, 300)
    assert a["trust_russia"].mean() > b["trust_russia"].mean() + 0.1
    assert (a["pow_exchange_implemented"].mean() > b["pow_exchange_implemented"].mean())


def test_same_seed_same_campaign_serial_equals_pool(tmp_path):
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / workers
        assert main(["campaign", str(CAMPAIGN), "--runs", "240", "--chunk-size", "80",
                     "--until", "2025-07-15", "--workers", workers, "--out", str(out)]) == 0
        outs.append(out)
    a, b = (pd.read_parquet(o / "campaigns") .sort_values("run_id").reset_index(drop=True)
            for o in outs)
    pd.testing.assert_frame_equal(a, b)
    sa, sb = (json.loads((o / "summary.json").read_text()) for o in outs)
    assert sa == sb and sa["until"] == "2025-07-15" and sa["campaigns"] == 240
    for figure in ("implemented-by-date.png", "ceasefire-leaders-by-date.png",
                   "rounds-held.png"):
        assert (outs[0] / figure).stat().st_size > 10_000


@pytest.mark.parametrize("replace, key, message", [
    ({'until = "2025-08-31"': 'until = "2025-05-01"'}, "campaign.until", "before the start"),
    ({'start = "2025-06-03"': 'start = "3 June"'}, "campaign.start", "must be a date"),
    ({'proposed_by = "ukraine"': 'proposed_by = "turkey"'}, "state.proposed_by",
     "Allowed: ukraine, russia"),
    ({"ukraine = [0.3, 0.5]": "ukraine = [0.3, 1.5]"}, "state.trust.ukraine", "out of range"),
    ({"min_gap_days = 14": "min_gap_day = 14"}, "scheduling.min_gap_day",
     "did you mean 'min_gap_days'"),
    ({'round_proposed = "2025-06-20"': 'round_proposed = "2025-05-20"'},
     "state.round_proposed", "before the start"),
])
def test_bad_campaign_files(tmp_path, replace, key, message):
    with pytest.raises(InputError) as caught:
        load_campaign(variant(tmp_path, replace))
    assert caught.value.key == key and message in str(caught.value)


def test_bad_campaign_input_on_the_command_line(tmp_path):
    for extra, message in ((["--until", "soon"], "--until must be a date"),
                           (["--until", "2025-01-01"], "before the campaign's start")):
        done = subprocess.run([sys.executable, "-m", "sim.cli", "campaign", str(CAMPAIGN),
                               "--runs", "10", "--out", str(tmp_path / "x"), *extra],
                              capture_output=True, text=True)
        assert done.returncode == 2 and message in done.stderr
        assert "Traceback" not in done.stderr + done.stdout
    assert not (tmp_path / "x").exists()
