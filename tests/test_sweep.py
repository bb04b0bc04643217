"""`negsim sweep`: designs, the tidy table, effects that go the known way, and sweep
files that are wrong."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.studies.sweep import load_sweep

ROOT = Path(__file__).resolve().parent.parent
JUNE = ROOT / "scenarios" / "june-20-30-2025.toml"

GRID = f"""
[sweep]
scenario = "{JUNE}"
design = "grid"
replicates = 600
chunk_size = 600
seed = 1

[[knobs]]
key = "context.third_party_pressure"
set = [0.0, 0.6]
levels = 2

[[knobs]]
key = "parties.ukraine.patience"
scale = [0.3, 1.7]
levels = 3
"""


def test_a_grid_sweep_moves_its_outcomes_the_known_way(tmp_path, capsys):
    """More patience, fewer walk-outs (Ukraine's patience: fewer of Ukraine's); more
    outside pressure, a shorter round (the deadline feels nearer)."""
    (tmp_path / "sweep.toml").write_text(GRID)
    out = tmp_path / "out"
    assert main(["sweep", str(tmp_path / "sweep.toml"), "--out", str(out),
                 "--workers", "2"]) == 0
    assert "grid sweep, 6 design points x 600 rounds" in capsys.readouterr().out
    points = pd.read_csv(out / "points.csv")
    assert points["point"].tolist() == list(range(6))
    assert points["context.third_party_pressure"].tolist() == [0.0] * 3 + [0.6] * 3
    assert points["parties.ukraine.patience"].tolist() == [0.3, 1.0, 1.7] * 2
    for _, same_pressure in points.groupby("context.third_party_pressure"):
        assert same_pressure["walkout.p"].is_monotonic_decreasing
        assert same_pressure["walkout.p"].iloc[0] > 2 * same_pressure["walkout.p"].iloc[2]
    calm, pressed = points.iloc[1:3], points.iloc[4:6]  # (few walk-outs cut rounds short)
    assert (pressed["duration_minutes.p50"].to_numpy()
            < calm["duration_minutes.p50"].to_numpy() - 5).all()
    rows = pd.read_parquet(out / "results")
    assert len(rows) == 6 * 600
    assert list(rows.columns[:7]) == ["run_id", "seed", "chunk", "draw_id", "point",
                                      "context.third_party_pressure",
                                      "parties.ukraine.patience"]
    by_point = rows.groupby("point")["walkout"].mean()
    assert np.allclose(by_point.to_numpy(), points["walkout.p"].to_numpy())
    summary = json.loads((out / "summary.json").read_text())
    ukraine_walkouts = [p["summary"]["walkout_by_party"].get("Ukraine", 0)
                        for p in summary["points"][:3]]
    assert ukraine_walkouts[0] > ukraine_walkouts[1] > ukraine_walkouts[2]


def test_a_latin_hypercube_puts_one_point_in_each_stratum(tmp_path):
    text = GRID.replace('design = "grid"', 'design = "latin_hypercube"\npoints = 8').replace(
        "levels = 2\n", "").replace("levels = 3\n", "")
    (tmp_path / "lhs.toml").write_text(text)
    sweep = load_sweep(tmp_path / "lhs.toml")
    design = np.array(sweep.points)
    assert design.shape == (8, 2)
    for column, (low, high) in zip(design.T, [(0.0, 0.6), (0.3, 1.7)], strict=True):
        strata = np.floor((column - low) / (high - low) * 8).astype(int)
        assert sorted(strata) == list(range(8))
    assert load_sweep(tmp_path / "lhs.toml").points == sweep.points  # seeded
    patience = sweep.scenarios[0].parties[0]
    assert patience.key == "ukraine"
    assert sweep.scenarios[0].context.third_party_pressure.low == pytest.approx(
        design[0, 0])


@pytest.mark.parametrize("change, message", [
    (('design = "grid"', 'design = "random"'),
     "sweep.design: 'random' is not a design. Allowed: grid, latin_hypercube"),
    (("levels = 3\n", ""), "knobs[1].levels: a grid needs levels = N"),
    (('key = "parties.ukraine.patience"', 'key = "parties.ukraine.patiense"'),
     "knobs[1].key: 'parties.ukraine.patiense': no such key in the scenario"),
    (("set = [0.0, 0.6]", "set = [0.0, 2.0]"),
     "knobs[0]: design point 3 (context.third_party_pressure set 2.0, parties.ukraine."
     "patience scale 0.3) is not a valid scenario: context.third_party_pressure: 2"),
    (("set = [0.0, 0.6]", "set = [0.6, 0.0]"),
     "knobs[0].set: must be an interval [low, high] of numbers, low <= high"),
    (("replicates = 600", "replicates = 0"), "sweep.replicates: must be an integer within [1, "),
    ((f'scenario = "{JUNE}"', 'scenario = "nowhere.toml"'), "sweep.scenario: "),
    (("[[knobs]]", "[[knob]]"), "knob: unknown table. Allowed: [sweep], [[knobs]]"),
    (("[sweep]", "[sweep"), "is not a readable TOML file"),
])
def test_a_broken_sweep_file_is_one_line_naming_file_and_key(tmp_path, capsys, change,
                                                              message):
    path = tmp_path / "broken.toml"
    path.write_text(GRID.replace(*change))
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"negsim: error: {path}: ") and error.count("\n") == 1
    assert message in error
    assert not out.exists()
