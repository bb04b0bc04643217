"""Comparing scenarios: the intervals on a difference of proportions (independent and
paired) against published values, pairing detected from the data and read part by
part, the verdict on Monte Carlo noise, and `negsim compare` end to end."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.batch.results import RunResults, histogram_of, load_results
from sim.cli import main
from sim.report import pairing
from sim.report.compare import (
    compare_events,
    differences_figure,
    mean_difference,
)
from sim.report.pairing import Pairing, aligned, folder_rows, frame_rows, pair
from sim.scenario.load import load_scenario
from sim.stats.intervals import newcombe_interval, newcombe_paired_interval
from sim.stats.summary import Measures, event_columns

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


@pytest.mark.parametrize(("both", "first_only", "second_only", "neither", "low", "high"), [
    # Newcombe (1998), "Improved confidence intervals for the difference between binomial
    # proportions based on paired data", Table II, method 10: (e, f, g, h) with the
    # difference (f - g) / n, so here the second proportion is Newcombe's first
    (36, 2, 12, 0, 0.0569, 0.3404),
    (18, 2, 12, 18, 0.0562, 0.3290),
    (53, 0, 0, 1, -0.0729, 0.0729),
    (0, 0, 30, 0, 0.8395, 1.0),
    # Fagerland, Lydersen & Laake (2014, Statistics in Medicine 33:2850-2875; and their
    # 2017 book, ch. 8): complete response before and after consolidation therapy
    # (Cavo et al. 2012), Newcombe square-and-add -0.0621 (-0.1186 to -0.0046)
    (59, 16, 6, 80, -0.1186, -0.0046),
])
def test_newcombe_paired_interval_matches_the_published_values(both, first_only, second_only,
                                                               neither, low, high):
    n = both + first_only + second_only + neither
    d, lo, hi = newcombe_paired_interval(both, first_only, second_only, neither)
    assert d == pytest.approx((second_only - first_only) / n)
    assert (lo, hi) == pytest.approx((low, high), abs=5e-5)


def test_paired_interval_is_the_independent_one_without_correlation_and_narrower_with():
    # both * neither - first_only * second_only = 200 - 196 = 4 <= n/2: no correlation
    table = (10, 14, 14, 20)
    n = sum(table)
    assert newcombe_paired_interval(*table) == pytest.approx(
        newcombe_interval(table[0] + table[1], n, table[0] + table[2], n))
    concordant = (300, 5, 25, 670)  # the same margins' difference, strongly correlated
    _, lo, hi = newcombe_paired_interval(*concordant)
    _, lo_i, hi_i = newcombe_interval(305, 1000, 325, 1000)
    assert lo_i < lo < 0.02 < hi < hi_i and hi - lo < (hi_i - lo_i) / 2


def rounds(n: int, seed: int, chunk: int = 100, draw_seed: int = 0, shift: float = 0.0
           ) -> pd.DataFrame:
    """A made-up results table with the id columns and the columns the events read."""
    rng = np.random.default_rng(draw_seed)
    draw = rng.integers(0, 50, n)
    level = (rng.random(n) + shift > 0.8).astype(int)
    nothing = np.full(n, np.nan)
    return pd.DataFrame({
        "run_id": np.arange(n), "seed": seed, "chunk": np.arange(n) // chunk,
        "draw_id": draw, "ceasefire_level": level,
        "pow_exchange_value": np.where(level == 1, 1000.0, np.nan), "remains_value": nothing,
        "children_value": np.where(level == 1, 2.0, np.nan), "memorandum_value": 2.0,
        "next_round_value": level.astype(float), "leaders_meeting_value": nothing,
        "walkout": ~level.astype(bool)})


MEASURES = Measures.of(load_scenario(JUNE))


def summary_of(frame: pd.DataFrame) -> dict:
    counts = {name: int(hits.sum()) for name, hits in event_columns(frame, MEASURES).items()}
    return {"seed": int(frame["seed"].iloc[0]), "runs": len(frame),
            "events": {name: {"count": c} for name, c in counts.items()}}


def check_pair(a: pd.DataFrame, b: pd.DataFrame) -> Pairing:
    return pair(summary_of(a), summary_of(b), frame_rows(a, MEASURES),
                frame_rows(b, MEASURES))


def test_rounds_that_share_seed_chunks_and_draws_are_paired_with_their_2x2_counts():
    a, b = rounds(500, seed=3), rounds(500, seed=3, shift=0.1)
    found = check_pair(a, b)
    assert found.paired and "the same seed (3), chunk and posterior draw" in found.reason
    x, y = event_columns(a, MEASURES), event_columns(b, MEASURES)
    for name in x:
        expected = pd.crosstab(pd.Categorical(x[name], [True, False]),
                               pd.Categorical(y[name], [True, False]), dropna=False)
        assert found.tables[name] == tuple(expected.to_numpy().ravel())


@pytest.mark.parametrize(("change", "reason"), [
    ({"seed": 4}, "not paired: different seeds (3 and 4)"),
    ({"n": 400}, "not paired: different numbers of rounds (500 and 400)"),
    ({"chunk": 50}, "not paired: chunk size differs from run 50 on"),
    ({"draw_seed": 1}, "not paired: draw_id differs from run 0 on"),
])
def test_pairing_is_read_from_the_data(change, reason):
    settings = {"n": 500, "seed": 3, "chunk": 100, "draw_seed": 0} | change
    found = check_pair(rounds(500, 3), rounds(**settings))
    assert not found.paired and found.reason == reason and not found.tables


def test_one_draw_out_of_place_breaks_the_pairing():
    a = rounds(500, seed=3)
    b = a.copy()
    b.loc[321, "draw_id"] = (b.loc[321, "draw_id"] + 1) % 50
    assert check_pair(a, b).reason == "not paired: draw_id differs from run 321 on"


def test_streams_cut_differently_are_aligned_row_by_row():
    a, b = rounds(500, seed=3), rounds(500, seed=3)
    cuts_a = [a.iloc[i:i + 70] for i in range(0, 500, 70)]
    cuts_b = [b.iloc[i:i + 128] for i in range(0, 500, 128)]
    pieces = list(aligned(iter(cuts_a), iter(cuts_b)))
    assert all(len(x) == len(y) for x, y in pieces)
    assert pd.concat([x for x, _ in pieces]).equals(a)
    assert pd.concat([y for _, y in pieces]).equals(b)
    longer = list(aligned(iter([a]), iter([b.iloc[:300]])))
    assert [(len(x), len(y)) for x, y in longer] == [(300, 300), (200, 0)]


def test_a_results_folder_is_paired_part_by_part(tmp_path, monkeypatch):
    """Three Parquet parts read 70 rows at a time give the same 2x2 counts as the
    whole table in memory; the scenario run in memory is paired with the folder."""
    folder = tmp_path / "june"
    assert main(["run", str(JUNE), "--runs", "600", "--seed", "2", "--chunk-size", "200",
                 "--workers", "1", "--no-plots", "--out", str(folder)]) == 0
    assert len(list((folder / "results").glob("*.parquet"))) == 3
    monkeypatch.setattr(pairing, "BATCH_ROWS", 70)
    assert sum(len(t) for t in folder_rows(folder, MEASURES)()) == 600
    summary = json.loads((folder / "summary.json").read_text())
    whole = load_results(folder)
    found = pair(summary, summary, folder_rows(folder, MEASURES), frame_rows(whole, MEASURES))
    assert found.paired
    for name, hits in event_columns(whole, MEASURES).items():
        assert found.tables[name] == (int(hits.sum()), 0, 0, int((~hits).sum()))


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
           "20-30 June 2025 (proposed) (600 rounds)\nrounds paired: the same seed (3), " \
           "chunk and posterior draw in each of the 600 rounds\nevent intervals: Newcombe " \
           "(1998) method 10 for paired data" in printed
    assert "beyond noise" in printed and "not on both agendas" in printed
    result = json.loads((out / "comparison.json").read_text())
    assert result["baseline"] == {"scenario": "Istanbul, 20-30 June 2025 (proposed)",
                                  "runs": 600}
    assert "Newcombe" in result["method"]
    (comp,) = result["comparisons"]
    assert comp["paired"] and comp["event_interval"].startswith("Newcombe (1998) method 10 "
                                                                "for paired data")
    base_summary = json.loads((baseline / "summary.json").read_text())
    for row in comp["events"]:
        if row["comparable"]:
            counts = row["paired_counts"]
            assert sum(counts.values()) == 600
            assert counts["both"] + counts["baseline_only"] == \
                base_summary["events"][row["event"]]["count"]
            assert row["difference"] == pytest.approx(
                (counts["this_only"] - counts["baseline_only"]) / 600)
    pressure = {row["event"]: row for row in comp["events"]}["walkout"]
    low, high = pressure["ci95"]
    assert low <= pressure["difference"] <= high
    assert pressure["exceeds_noise"] == (low > 0 or high < 0)
    written = sorted(p.name for p in out.iterdir())
    for stem in ("differences", "event-probabilities", "outcome-distributions",
                 "round-timeline", "zone-of-agreement"):
        assert f"{stem}.png" in written and f"{stem}.svg" in written
    # another seed: independent rounds, the interval for independent samples
    assert main(["compare", str(baseline), str(PRESSURE), "--runs", "600", "--seed", "4",
                 "--no-plots", "--out", str(tmp_path / "cmp4")]) == 0
    assert "rounds not paired: different seeds (3 and 4)\nevent intervals: Newcombe (1998) " \
           "method 10 for independent samples" in capsys.readouterr().out
    (comp,) = json.loads((tmp_path / "cmp4" / "comparison.json").read_text())["comparisons"]
    assert not comp["paired"] and all("paired_counts" not in row for row in comp["events"])


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
