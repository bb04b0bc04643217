"""`negsim discover`: PRIM finds a box it was given, on synthetic data; on a real batch
the command runs end to end and what it reports holds in the data; bad input is one
line, exit 2, and nothing written."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim.studies.discover
from sim.cli import main
from sim.studies.discover import (
    PEEL_ALPHA,
    Box,
    Limit,
    choose,
    find_boxes,
    sample_rows,
)

ROOT = Path(__file__).resolve().parent.parent
RIVER = ROOT / "scenarios" / "river-basin.toml"
RUNS = 3000


def one_error_line(capsys, *needles: str) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("negsim: error: "), err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


# -- PRIM on a box it was given --------------------------------------------------------------

@pytest.mark.parametrize("n", [5_000, 20_000])
def test_prim_finds_the_box_that_defines_the_event(n):
    """The event is exactly x1 > 0.7 and x2 < 0.3 over five uniform inputs. The box
    chosen at density >= 0.95 restricts x1 from below and x2 from above, and nothing
    else, with edges within a tolerance derived from the sample size: one peel (a
    slice of PEEL_ALPHA of the box: PEEL_ALPHA x side in width), plus the share of
    non-event rounds the threshold lets in (1 - T of the box, spread along one side:
    (1 - T) x side), plus three standard errors of an edge's position set by the
    n x 0.09 rounds in the box (side / sqrt(n x 0.09) each)."""
    threshold, side = 0.95, 0.3
    rng = np.random.default_rng(7)
    inputs = pd.DataFrame(rng.uniform(size=(n, 5)), columns=[f"x{i}" for i in range(1, 6)])
    event = ((inputs["x1"] > 0.7) & (inputs["x2"] < 0.3)).to_numpy()
    tolerance = side * (PEEL_ALPHA + (1 - threshold) + 3 / math.sqrt(n * 0.09))
    discovery = find_boxes(inputs, event, threshold=threshold)
    box = discovery.box
    assert discovery.threshold_met and box.density >= threshold
    limits = {limit.input: limit for limit in box.limits}
    assert set(limits) == {"x1", "x2"}
    assert abs(limits["x1"].low - 0.7) <= tolerance
    assert limits["x1"].high == limits["x1"].full_high == inputs["x1"].max()
    assert abs(limits["x2"].high - 0.3) <= tolerance
    assert limits["x2"].low == limits["x2"].full_low == inputs["x2"].min()
    assert box.coverage >= 0.9
    inside = ((inputs["x1"] >= limits["x1"].low) & (inputs["x2"] <= limits["x2"].high))
    assert box.density == event[inside].mean()  # the statistics are those of the data
    assert box.coverage == event[inside].sum() / event.sum()
    assert box.mass == inside.mean()
    assert discovery.boxes[0].limits == () and discovery.boxes[0].coverage == 1.0
    assert discovery.base_rate == event.mean()


def box(id_: int, coverage: float, density: float, restricted: int, mass: float = 0.1) -> Box:
    limits = tuple(Limit(f"x{i}", 0, 1, 0, 2, None, None) for i in range(restricted))
    return Box(id_, coverage, density, mass, limits)


def test_the_chosen_box_is_the_largest_coverage_at_the_threshold():
    boxes = [box(0, 1.0, 0.2, 0), box(1, 0.9, 0.79, 1), box(2, 0.7, 0.85, 2),
             box(3, 0.7, 0.9, 1), box(4, 0.4, 0.99, 3)]
    assert choose(boxes, 0.8) == (3, True)  # 2 and 3 cover as much: 3 restricts less
    assert choose(boxes, 0.95) == (4, True)
    assert choose(boxes, 0.1) == (0, True)
    assert choose(boxes, 0.995) == (4, False)  # none reaches it: the densest


def test_the_sample_is_fixed_and_without_replacement():
    assert sample_rows(10, 20).tolist() == list(range(10))
    drawn = sample_rows(1_000_000, 5_000)
    assert len(np.unique(drawn)) == 5_000 and (np.diff(drawn) > 0).all()
    assert drawn.tolist() == sample_rows(1_000_000, 5_000).tolist()


# -- a real batch, end to end -----------------------------------------------------------------

@pytest.fixture(scope="module")
def river(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("discover") / "river"
    assert main(["run", str(RIVER), "--runs", str(RUNS), "--seed", "1", "--out", str(out),
                 "--no-plots", "--workers", "1"]) == 0
    return out


@pytest.fixture
def copy(river, tmp_path) -> Path:
    target = tmp_path / "river"
    shutil.copytree(river, target)
    return target


def rounds_of(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder / "results").merge(pd.read_parquet(folder / "inputs"),
                                                     on="run_id", validate="one_to_one")


def test_discover_on_a_real_batch_prints_and_writes_a_box_that_holds_in_the_data(
        copy, capsys):
    assert main(["discover", str(copy), "--event", "walkout"]) == 0
    out = capsys.readouterr().out
    record = json.loads((copy / "discover.json").read_text())
    chosen = record["chosen"]
    assert (record["event"], record["rounds"], record["sampled"]) == ("walkout", RUNS, RUNS)
    assert record["threshold"] == 0.8 and record["threshold_met"]
    assert (record["sample"], record["mass_min"]) == (50_000, 0.05)  # the defaults
    assert chosen["density"] >= 0.8
    # the box recomputed from the rounds: its coverage, density and mass
    rounds = rounds_of(copy)
    inside = np.ones(len(rounds), dtype=bool)
    for limit in chosen["limits"]:
        values = rounds[limit["input"]]
        assert (limit["full_low"], limit["full_high"]) == (values.min(), values.max())
        inside &= (values >= limit["low"]).to_numpy() & (values <= limit["high"]).to_numpy()
    walked = rounds["walkout"].to_numpy(dtype=bool)
    assert chosen["density"] == walked[inside].mean()
    assert chosen["coverage"] == walked[inside].sum() / walked.sum()
    assert chosen["mass"] == inside.mean()
    assert record["base_rate"] == walked.mean()
    # what the model says: walk-outs come with a low walk-out draw of the side that
    # leaves most (Lowland)
    limits = {limit["input"]: limit for limit in chosen["limits"]}
    draw = limits["round.walkout_draw.lowland"]
    assert draw["high"] < 0.5 * draw["full_high"] and draw["low"] == draw["full_low"]
    # the printed table: the chosen box's statistics and each restricted input's range
    assert (f"box {chosen['box']} of {len(record['trajectory'])} (the largest coverage with "
            "density >= 80%):") in out
    assert (f"coverage {100 * chosen['coverage']:.1f}%  density {100 * chosen['density']:.1f}%"
            f"  mass {100 * chosen['mass']:.1f}%") in out
    assert "event: a delegation walked out (walkout), in " in out
    for name in limits:
        assert any(line.startswith(name + " ") for line in out.splitlines()), name
    # boxes.csv: every box of the trajectory, the chosen one as discover.json has it
    table = pd.read_csv(copy / "boxes.csv")
    assert sorted(table["box"].unique()) == list(range(len(record["trajectory"])))
    rows = table[table["chosen"]]
    assert rows["input"].tolist() == list(limits)
    assert rows["low"].tolist() == [limit["low"] for limit in limits.values()]
    assert rows["high"].tolist() == [limit["high"] for limit in limits.values()]
    for stem in ("discover.png", "discover.svg"):
        assert (copy / "figures" / stem).stat().st_size > 10_000
    svg = (copy / "figures" / "discover.svg").read_text()
    assert "round.walkout_draw.lowland" in svg and f"box {chosen['box']}" in svg


def test_discover_gives_the_same_files_every_time_and_samples_as_asked(copy, tmp_path,
                                                                       capsys):
    first, second = tmp_path / "first", tmp_path / "second"
    for out in (first, second):
        assert main(["discover", str(copy), "--event", "water_deal", "--sample", "1000",
                     "--threshold", "0.95", "--out", str(out)]) == 0
    for name in ("discover.json", "boxes.csv", "figures/discover.png",
                 "figures/discover.svg"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    record = json.loads((first / "discover.json").read_text())
    assert (record["rounds"], record["sampled"], record["sample"]) == (RUNS, 1000, 1000)
    agreed = rounds_of(copy)["water_agreed"].to_numpy()[sample_rows(RUNS, 1000)]
    assert record["base_rate"] == agreed.mean()
    assert "3,000 simulated rounds, PRIM on 1,000 of them" in capsys.readouterr().out
    assert not (copy / "discover.json").exists()  # --out elsewhere: the folder untouched


def test_where_no_box_reaches_the_threshold_the_densest_is_chosen_and_said(copy, capsys):
    assert main(["discover", str(copy), "--event", "walkout", "--threshold", "1",
                 "--mass-min", "0.5"]) == 0
    record = json.loads((copy / "discover.json").read_text())
    assert not record["threshold_met"]
    densest = max(box["density"] for box in record["trajectory"])
    assert record["chosen"]["density"] == densest < 1
    assert min(box["mass"] for box in record["trajectory"]) >= 0.5
    assert "no box reaches density 100%: the densest" in capsys.readouterr().out


def test_discover_reads_a_sweep_keyed_by_point_and_run_id(tmp_path, capsys):
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(f'[sweep]\nscenario = "{RIVER}"\ndesign = "grid"\nreplicates = 800\n'
                     'chunk_size = 400\nseed = 3\n\n[[knobs]]\nkey = "parties.lowland.patience"'
                     '\nscale = [0.5, 1.5]\nlevels = 2\n')
    out = tmp_path / "sweep"
    assert main(["sweep", str(sweep), "--out", str(out), "--workers", "1"]) == 0
    assert main(["discover", str(out), "--event", "walkout", "--threshold", "0.6"]) == 0
    record = json.loads((out / "discover.json").read_text())
    assert record["rounds"] == record["sampled"] == 1600
    results = pd.read_parquet(out / "results")
    assert record["base_rate"] == results["walkout"].mean()
    assert "parties.lowland.patience" in record["inputs"]


# -- bad input ------------------------------------------------------------------------------

def test_a_folder_without_inputs_is_one_line(tmp_path, capsys):
    out = tmp_path / "bare"
    assert main(["run", str(RIVER), "--runs", "200", "--out", str(out), "--no-plots",
                 "--workers", "1", "--no-inputs"]) == 0
    capsys.readouterr()
    assert main(["discover", str(out), "--event", "walkout"]) == 2
    one_error_line(capsys, f"{out / 'inputs'}: missing: the batch kept no inputs",
                   "run it again without --no-inputs")
    assert not (out / "discover.json").exists() and not (out / "figures").exists()


@pytest.mark.parametrize("args, needles", [
    (["--event", "ceasefire_any"],
     ["--event ceasefire_any: not an event of", "Allowed: water_deal, big_water, border_deal,"]),
])
def test_an_unknown_or_constant_event_is_one_line(copy, capsys, args, needles):
    assert main(["discover", str(copy), *args]) == 2
    one_error_line(capsys, *needles)
    assert not (copy / "discover.json").exists()


def test_an_event_that_never_holds_is_one_line(copy, tmp_path, capsys):
    scenario = tmp_path / "river.toml"
    scenario.write_text(RIVER.read_text() + '\n[events.never]\nwhen = "water.value > 1000"'
                        '\nlabel = "more water than there is"\n')
    assert main(["discover", str(copy), "--event", "never", "--scenario", str(scenario)]) == 2
    one_error_line(capsys, "--event never: holds in none of the 3,000 rounds read from",
                   "PRIM needs rounds with and without it")


def test_an_event_that_always_holds_is_one_line(copy, tmp_path, capsys):
    scenario = tmp_path / "river.toml"
    scenario.write_text(RIVER.read_text() + '\n[events.always]\nwhen = "duration_minutes >= 0"'
                        '\nlabel = "the talks took some minutes"\n')
    assert main(["discover", str(copy), "--event", "always", "--scenario", str(scenario)]) == 2
    one_error_line(capsys, "--event always: holds in every one of the 3,000 rounds")


def test_folder_problems_are_one_line(copy, tmp_path, capsys):
    assert main(["discover", str(tmp_path / "nowhere"), "--event", "walkout"]) == 2
    one_error_line(capsys, "nowhere: no such results folder")
    (tmp_path / "empty").mkdir()
    assert main(["discover", str(tmp_path / "empty"), "--event", "walkout"]) == 2
    one_error_line(capsys, "empty: not a negsim results folder (no manifest.json)")
    manifest = json.loads((copy / "manifest.json").read_text())
    moved = dict(manifest, scenario_file=str(tmp_path / "moved.toml"))
    (copy / "manifest.json").write_text(json.dumps(moved))
    assert main(["discover", str(copy), "--event", "walkout"]) == 2
    one_error_line(capsys, "moved.toml: no such scenario file (named by",
                   "pass --scenario FILE")
    assert main(["discover", str(copy), "--event", "walkout", "--scenario", str(RIVER)]) == 0
    capsys.readouterr()
    part = copy / "inputs" / "part-00000.parquet"
    pd.read_parquet(part).head(100).to_parquet(part)
    assert main(["discover", str(copy), "--event", "walkout", "--scenario", str(RIVER)]) == 2
    one_error_line(capsys, f"{part}: not the 3,000 rounds of")
    part.unlink()
    assert main(["discover", str(copy), "--event", "walkout", "--scenario", str(RIVER)]) == 2
    one_error_line(capsys, f"{part}: missing, but", "has 3,000 rounds")


def test_without_the_extra_discover_says_what_to_install(copy, capsys, monkeypatch):
    monkeypatch.setattr(sim.studies.discover, "ema_prim", None)
    assert main(["discover", str(copy), "--event", "walkout"]) == 2
    one_error_line(capsys, "pip install 'negsim[discover]'")


@pytest.mark.parametrize("option, value, message", [
    ("--threshold", "0", "--threshold must be within (0, 1], got 0"),
    ("--threshold", "1.5", "--threshold must be within (0, 1], got 1.5"),
    ("--mass-min", "1", "--mass-min must be within (0, 1), got 1"),
    ("--sample", "1", "--sample must be >= 2, got 1"),
    ("--threshold", "high", "--threshold must be a number, got 'high'"),
])
def test_bad_options_are_refused(copy, capsys, option, value, message):
    with pytest.raises(SystemExit) as stopped:
        main(["discover", str(copy), "--event", "walkout", option, value])
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err
