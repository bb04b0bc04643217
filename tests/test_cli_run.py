"""`negsim run` as a user runs it: files, table, determinism."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from sim.cli import main
from sim.model.outcomes import outcome_dtypes
from sim.scenario.load import load_scenario

ROOT = Path(__file__).resolve().parent.parent
JUNE = ROOT / "scenarios" / "june-20-30-2025.toml"


def test_run_writes_results_and_summary(tmp_path, capsys):
    out = tmp_path / "june"
    assert main(["run", str(JUNE), "--runs", "3000", "--seed", "4", "--out", str(out)]) == 0
    table = capsys.readouterr().out
    assert "3,000 simulated rounds, seed 4" in table and "95% interval" in table
    results = pd.read_parquet(out / "results")  # a folder of Parquet parts: one table
    scenario = load_scenario(JUNE)
    assert list(results.columns) == ["run_id", "seed", "chunk", "draw_id",
                                     *outcome_dtypes(scenario.issues)]
    # every issue the Istanbul files define has its columns, the compound ceasefire a
    # level and conditions, the others a value; the memorandum is off this agenda
    assert {"ceasefire_level", "ceasefire_conditions", "memorandum_value",
            "leaders_meeting_minute", "walkout_party"} <= set(results.columns)
    assert not results["memorandum_agreed"].any() and results["memorandum_value"].isna().all()
    agreed = results["pow_exchange_agreed"]
    assert agreed.equals(results["pow_exchange_value"].notna())
    assert results.loc[agreed, "pow_exchange_minute"].le(
        results.loc[agreed, "duration_minutes"]).all()
    assert results.loc[~agreed, "pow_exchange_minute"].isna().all()
    assert results["walkout_party"].isna().equals(~results["walkout"])
    assert len(results) == 3000 and (results["seed"] == 4).all()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"] == "Istanbul, 20-30 June 2025 (proposed)"
    assert (summary["runs"], summary["seed"]) == (3000, 4)
    assert list(summary["events"]) == [e.name for e in scenario.events] == [
        "ceasefire_any", "ceasefire_general", "pow_exchange_agreed", "remains_agreed",
        "children_return_agreed", "memorandum_exchanged", "next_round_agreed",
        "leaders_meeting_agreed", "walkout"]
    for name, event in summary["events"].items():
        lo, hi = event["ci95"]
        assert 0 <= lo <= event["p"] <= hi <= 1, name
    assert summary["events"]["walkout"]["p"] == results["walkout"].mean()
    pow_agreed = results.loc[agreed, "pow_exchange_value"]
    assert summary["quantiles"]["pow_exchange_value"]["p50"] == pow_agreed.median()
    assert list(summary["quantiles"]) == ["pow_exchange_value", "remains_value",
                                          "duration_minutes"]
    assert summary["quantiles"]["duration_minutes"]["n"] == 3000
    assert not summary["events"]["memorandum_exchanged"]["on_agenda"]
    assert "not on the agenda" in table


def test_same_seed_gives_identical_files(tmp_path):
    for name in ("a", "b"):
        assert main(["run", str(JUNE), "--runs", "500", "--chunk-size", "200", "--workers",
                     "1", "--no-plots", "--out", str(tmp_path / name)]) == 0
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    assert [str(f) for f in files] == ["inputs/part-00000.parquet", "inputs/part-00001.parquet",
                                       "inputs/part-00002.parquet", "manifest.json",
                                       "results/part-00000.parquet",
                                       "results/part-00001.parquet",
                                       "results/part-00002.parquet", "summary.json"]
    for file in files:
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()


def test_default_output_folder_is_named_after_the_scenario_and_its_options(tmp_path):
    """The defaults write results/<stem>; other options add what differs, so a batch
    with another seed or size never meets the folder of an earlier one."""
    done = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(JUNE), "--runs", "50",
                           "--no-plots"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == [
        "june-20-30-2025-runs50"]
    assert (tmp_path / "results" / "june-20-30-2025-runs50" / "summary.json").is_file()
