"""`negsim sweep`: designs, the tidy table, effects that go the known way, and sweep
files that are wrong."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.stats.summary import percent
from sim.studies.labels import coordinate_label, for_people, number
from sim.studies.sweep import load_sweep
from sim.viz.studies import sweep_figure

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
    printed = capsys.readouterr().out
    assert "grid sweep, 6 design points x 600 rounds" in printed
    points = pd.read_csv(out / "points.csv")
    assert points["point"].tolist() == list(range(6))
    assert points["context.third_party_pressure"].tolist() == [0.0] * 3 + [0.6] * 3
    # a scale knob's column says so: 0.3 is a factor of the scenario's patience
    assert points["parties.ukraine.patience (scale)"].tolist() == [0.3, 1.0, 1.7] * 2
    lines = printed.splitlines()
    header = next(line for line in lines if line.lstrip().startswith("point"))
    assert header.split()[:4] == ["point", "context.third_party_pressure",
                                  "parties.ukraine.patience", "(scale)"]
    first = lines[lines.index(header) + 1].split()
    assert first[:3] == ["0", "0", "×0.3"]
    # the scenario's events follow the knobs and the rounds, in its order: walkout last
    # before the median duration
    assert header.split()[-2:] == ["walkout.p", "duration_minutes.p50"]
    assert first[-2] == percent(points["walkout.p"].iloc[0])  # as negsim run prints it
    for _, same_pressure in points.groupby("context.third_party_pressure"):
        assert same_pressure["walkout.p"].is_monotonic_decreasing
        assert same_pressure["walkout.p"].iloc[0] > 2 * same_pressure["walkout.p"].iloc[2]
    calm, pressed = points.iloc[1:3], points.iloc[4:6]  # (few walk-outs cut rounds short)
    assert (pressed["duration_minutes.p50"].to_numpy()
            < calm["duration_minutes.p50"].to_numpy() - 5).all()
    for cell in (out / "points.csv").read_text().replace("\n", ",").split(","):
        assert "e" not in cell.lower() or not cell[:1].isdigit(), cell  # no exponents
        if re.fullmatch(r"-?\d+\.\d+", cell):  # at most 6 significant digits
            assert len(cell.lstrip("-").replace(".", "").lstrip("0").rstrip("0")) <= 6, cell
    rows = pd.read_parquet(out / "results")
    assert len(rows) == 6 * 600
    assert list(rows.columns[:7]) == ["run_id", "seed", "chunk", "draw_id", "point",
                                      "context.third_party_pressure",
                                      "parties.ukraine.patience (scale)"]
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


@pytest.mark.parametrize("value, shown", [
    (36.95000000000002, "36.95"), (6880.0, "6880"), (0.30000000000000004, "0.3"),
    (0.07125, "0.07125"), (20000.0, "20000"), (1234567.0, "1235000"), (-0.1, "-0.1"),
])
def test_numbers_are_shown_without_noise_or_exponents(value, shown):
    assert number(value) == shown


def test_csv_tables_are_rounded_for_people_and_parquet_keeps_every_digit(tmp_path):
    table = pd.DataFrame({"point": [0, 1], "x (scale)": [0.1 + 0.2, 1.5],
                          "duration_minutes.p50": [36.95000000000002, 6880.0],
                          "walkout.p": [1 / 3, float("nan")]})
    text = for_people(table).to_csv(index=False)
    assert text.splitlines() == ["point,x (scale),duration_minutes.p50,walkout.p",
                                 "0,0.3,36.95,0.333333", "1,1.5,6880.0,"]
    assert table["walkout.p"].iloc[0] == 1 / 3  # the table itself is left as it was


def test_a_scale_or_add_knob_is_labelled_as_such_in_the_figure():
    rows = [{"point": i, "context.third_party_pressure": x, "parties.russia.patience (scale)": f,
             "runs": 100, "walkout.p": 0.1, "walkout.ci95_low": 0.05, "walkout.ci95_high": 0.2}
            for i, (x, f) in enumerate([(0.0, 0.5), (0.6, 0.5), (0.0, 1.5), (0.6, 1.5)])]
    figure = sweep_figure(pd.DataFrame(rows), "context.third_party_pressure", "June",
                          by="parties.russia.patience (scale)")
    assert [t.get_text() for t in figure.legends[0].get_texts()] == [
        "parties.russia.patience ×0.5", "parties.russia.patience ×1.5"]
    swapped = sweep_figure(pd.DataFrame(rows), "parties.russia.patience (scale)", "June")
    assert swapped.axes[0].get_xlabel() == "parties.russia.patience (× the scenario's value)"
    assert coordinate_label("mediator.pressure (add)", 0.1) == "+0.1"
    assert coordinate_label("mediator.pressure (add)", -0.25) == "-0.25"
