"""Comparing scenarios: the interval on a difference of proportions against Newcombe's
published values, the verdict on Monte Carlo noise, and `negsim compare` end to end."""

import json
from pathlib import Path

import numpy as np
import pytest

from sim.batch.results import RunResults, histogram_of
from sim.cli import main
from sim.report.compare import (
    compare_events,
    differences_figure,
    mean_difference,
)
from sim.stats.intervals import newcombe_interval

ROOT = Path(__file__).resolve().parent.parent
JUNE = ROOT / "scenarios" / "june-20-30-2025.toml"
PRESSURE = ROOT / "scenarios" / "june-20-30-2025-us-pressure.toml"


@pytest.mark.parametrize(("x2", "n2", "x1", "n1", "low", "high"), [
    # Newcombe (1998), Table II, method 10 (hybrid score), examples (a), (b), (d), (f)
    (56, 70, 48, 80, 0.0524, 0.3339),
    (9, 10, 3, 10, 0.1705, 0.8090),
    (5, 56, 0, 29, -0.0381, 0.1926),
    (0, 10, 0, 10, -0.2775, 0.2775),
])
def test_newcombe_interval_matches_the_published_values(x2, n2, x1, n1, low, high):
    d, lo, hi = newcombe_interval(x1, n1, x2, n2)
    assert d == pytest.approx(x2 / n2 - x1 / n1)
    assert (lo, hi) == pytest.approx((low, high), abs=5e-5)


def test_mean_difference_is_welch_s():
    rng = np.random.default_rng(0)
    a, b = rng.integers(5, 15, 400).astype(float), rng.integers(6, 16, 300).astype(float)
    d, lo, hi = mean_difference(histogram_of(a), histogram_of(b))
    se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    assert d == pytest.approx(b.mean() - a.mean())
    assert (lo, hi) == pytest.approx((d - 1.959963984540054 * se, d + 1.959963984540054 * se))
    assert np.isnan(mean_difference(histogram_of(a[:1]), histogram_of(b))[0])


EVENTS = ("ceasefire_any", "walkout", "memorandum_exchanged")


def summary_with(counts: dict[str, int], runs: int = 10_000, off: tuple[str, ...] = ()):
    return {"runs": runs, "quantiles": {},
            "events": {name: {"label": name.replace("_", " "), "p": counts.get(name, 0) / runs,
                              "count": counts.get(name, 0), "on_agenda": name not in off}
                       for name in EVENTS}}


def test_a_difference_exceeds_noise_only_when_its_interval_excludes_zero():
    base = summary_with({"ceasefire_any": 1400, "walkout": 420})
    same = compare_events(base, base)
    assert not any(row["exceeds_noise"] for row in same if row["comparable"])
    other = summary_with({"ceasefire_any": 2000, "walkout": 440}, off=("memorandum_exchanged",))
    rows = {row["event"]: row for row in compare_events(base, other)}
    assert rows["ceasefire_any"]["exceeds_noise"]  # 14% -> 20% in 10,000 rounds each
    assert rows["ceasefire_any"]["ci95"][0] > 0
    assert not rows["walkout"]["exceeds_noise"]  # 4.2% -> 4.4%: noise
    assert not rows["memorandum_exchanged"]["comparable"]


def test_compare_scenarios_side_by_side(tmp_path, capsys):
    baseline = tmp_path / "june"
    assert main(["run", str(JUNE), "--runs", "600", "--seed", "3", "--workers", "1",
                 "--no-plots", "--out", str(baseline)]) == 0
    capsys.readouterr()
    out = tmp_path / "cmp"
    assert main(["compare", str(baseline), str(PRESSURE), "--runs", "600", "--seed", "3",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Istanbul, 20-30 June 2025, under US pressure (600 rounds) against Istanbul, " \
           "20-30 June 2025 (proposed) (600 rounds)" in printed
    assert "beyond noise" in printed and "not on both agendas" in printed
    result = json.loads((out / "comparison.json").read_text())
    assert result["baseline"] == {"scenario": "Istanbul, 20-30 June 2025 (proposed)",
                                  "runs": 600}
    assert "Newcombe" in result["method"]
    (comp,) = result["comparisons"]
    pressure = {row["event"]: row for row in comp["events"]}["walkout"]
    low, high = pressure["ci95"]
    assert low <= pressure["difference"] <= high
    assert pressure["exceeds_noise"] == (low > 0 or high < 0)
    written = sorted(p.name for p in out.iterdir())
    for stem in ("differences", "event-probabilities", "outcome-distributions",
                 "round-timeline", "zone-of-agreement"):
        assert f"{stem}.png" in written and f"{stem}.svg" in written


def test_differences_figure(tmp_path):
    base = RunResults(summary_with({"ceasefire_any": 1400}) | {"scenario": "A"}, {}, 10_000)
    other = RunResults(summary_with({"ceasefire_any": 2000}) | {"scenario": "B"}, {}, 10_000)
    result = {"comparisons": [{"scenario": "B", "events": compare_events(base.summary,
                                                                         other.summary)}]}
    figure = differences_figure([base, other], result)
    assert figure.get_suptitle().startswith("A (10,000 rounds)\nvs B (10,000 rounds)")
    ax = figure.axes[0]
    assert ax.get_xlabel() == "difference from the first scenario, percentage points"
    filled = [line for line in ax.get_lines() if line.get_marker() not in ("|", "None", "")
              and line.get_markerfacecolor() != "white"]
    assert len(filled) == 1  # only the ceasefire's difference is beyond the noise
    assert filled[0].get_xdata()[0] == pytest.approx(6.0)


def test_compare_needs_two_inputs_that_exist(tmp_path, capsys):
    assert main(["compare", str(JUNE)]) == 2
    assert "at least two" in capsys.readouterr().err
    assert main(["compare", str(JUNE), str(tmp_path / "missing.toml"), "--runs", "10",
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "missing.toml" in err and "Traceback" not in err and err.count("\n") == 1
