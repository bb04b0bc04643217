"""The figures of a batch, checked as a reader would: titles, labels, the numbers drawn
against the summary, and files that are real images."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection

from sim.batch.chunks import run_scenario
from sim.batch.results import (
    RunResults,
    add_counts,
    count_at_most,
    count_outcomes,
    histogram_of,
    mean,
    variance,
)
from sim.report.output import parameter_sample
from sim.scenario.load import load_scenario
from sim.stats.numbers import percent
from sim.stats.summary import study_labels, summarise
from sim.viz.outcomes import (
    event_label,
    event_probabilities,
    outcome_distributions,
    round_timeline,
    zone_of_agreement,
)
from sim.viz.studies import sensitivity_figure, sweep_figure
from sim.viz.style import save_figure

ROOT = Path(__file__).resolve().parent.parent
JUNE = ROOT / "scenarios" / "june-20-30-2025.toml"
MAY = ROOT / "scenarios" / "istanbul-2025-05-16.toml"
RUNS = 600


def small_run(path: Path, runs: int = RUNS, seed: int = 1) -> RunResults:
    scenario = load_scenario(path)
    results = run_scenario(scenario, runs, seed)
    summary = summarise(results, scenario, seed)
    return RunResults.of_frame(summary, results, scenario)


@pytest.fixture(scope="module")
def june() -> RunResults:
    return small_run(JUNE)


@pytest.fixture(scope="module")
def may() -> RunResults:
    return small_run(MAY, runs=300)


def texts(figure) -> list[str]:
    """Every piece of text a reader sees: titles, labels, ticks, annotations, legends."""
    return [t.get_text() for t in figure.findobj(lambda a: hasattr(a, "get_text"))
            if t.get_text()]


def assert_image_files(paths: list[Path]) -> None:
    png, svg = (next(p for p in paths if p.suffix == s) for s in (".png", ".svg"))
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 600 and height > 300
    assert svg.read_text().lstrip().startswith("<?xml") and "</svg>" in svg.read_text()


def test_event_probabilities(june, tmp_path):
    figure = event_probabilities([june])
    assert figure.get_suptitle().startswith(
        f"Istanbul, 20-30 June 2025 (proposed): {RUNS} simulated rounds")
    ax = figure.axes[0]
    names = [e.name for e in june.scenario.events]
    assert [t.get_text() for t in ax.get_yticklabels()] == [event_label(june, n) for n in
                                                             reversed(names)]
    assert ax.get_yticklabels()[-1].get_text() == "ceasefire of any kind (level \u2265 1)"
    assert "95% Wilson interval" in ax.get_xlabel()
    shown = texts(figure)
    assert "not on the agenda" in shown  # the memorandum: said, not drawn as zero
    for name, event in june.summary["events"].items():
        if event["on_agenda"]:
            assert any(t.startswith(percent(event["p"]) + " (") for t in shown), name
    # the points drawn are the summary's probabilities
    (points,) = [line for line in ax.get_lines() if line.get_marker() == "o"]
    drawn = sorted(np.round(points.get_xdata() / 100, 9))
    expected = sorted(round(e["p"], 9) for e in june.summary["events"].values()
                      if e["on_agenda"])
    assert drawn == expected
    # June draws from the posterior: each event's band spans its range across draws
    assert "across posterior draws" in ax.get_xlabel()
    bands = {c.get_gid().split(":")[1]: c for c in ax.collections
             if (c.get_gid() or "").startswith("across-draws:")}
    assert set(bands) == {n for n, e in june.summary["events"].items() if e["on_agenda"]}
    for name, band in bands.items():
        ((x0, _), (x1, _)) = band.get_segments()[0]
        event = june.summary["events"][name]
        assert (x0, x1) == pytest.approx((100 * event["parameter_p10"],
                                          100 * event["parameter_p90"]))
    paths = save_figure(figure, tmp_path, "events")
    assert_image_files(paths)
    assert "Probability of each outcome" in paths[1].read_text()  # SVG keeps text as text


def test_outcome_distributions_mark_the_observed_rounds(june, tmp_path):
    figure = outcome_distributions([june])
    axes = figure.axes
    assert [ax.get_title().split("\n")[0] for ax in axes] == [
        "prisoner exchange (prisoners per side, where agreed)",
        "remains repatriation (bodies, where agreed)", "duration, minutes"]
    q = june.summary["quantiles"]
    assert axes[0].get_title().endswith(f"{q['pow_exchange_value']['n']:,} rounds")
    legends = [[t.get_text() for t in ax.get_legend().get_texts()] for ax in axes]
    # the marks are the scenario's [[observed]] entries, in their own units
    assert "16 May: 1,000 prisoners per side" in legends[0]
    assert "2 June: 1,000\u20131,200 prisoners per side" in legends[0]
    assert legends[1] == ["simulated", "2 June: 6,000 bodies"]
    assert "16 May: 90\u2013120 minutes" in legends[2]
    assert "2 June: 60\u201370 minutes" in legends[2]
    assert "with 16 May and 2 June as reported" in figure.get_suptitle()
    for ax, column in zip(axes, q, strict=True):
        (bars,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
        heights = [path.vertices[:, 1].max() for path in bars.get_paths()]
        assert sum(heights) == pytest.approx(100), column  # shares of the rounds counted
        low, high = ax.get_xlim()  # the observed values are inside the window
        assert low < 1000 and high > 1200 if column == "pow_exchange_value" else True
    assert axes[2].get_xlim()[1] > 120  # 16 May's 90-120 minutes shows, though unsimulated
    assert_image_files(save_figure(figure, tmp_path, "distributions"))


def test_a_panel_without_data_says_why(may, june):
    figure = outcome_distributions([may])  # remains were not on the 16 May agenda
    assert [ax.get_title().split("\n")[0] for ax in figure.axes] == [
        "prisoner exchange (prisoners per side, where agreed)", "duration, minutes"]
    side_by_side = outcome_distributions([may, june])  # the union of both tables' panels
    assert len(side_by_side.axes) == 3
    never = RunResults(may.summary, {k: v for k, v in may.outcomes.items()
                                     if k != "pow_exchange_value"}, may.rows, may.scenario)
    assert ("prisoner exchange (prisoners per side, where agreed):\nagreed in no simulated "
            "round") in texts(outcome_distributions([never]))


def test_a_scenario_without_observations_marks_none():
    classroom = small_run(ROOT / "scenarios" / "classroom-two-party.toml", runs=50)
    figure = outcome_distributions([classroom])
    assert figure.get_suptitle().endswith("Distribution of outcomes")
    legends = [t.get_text() for ax in figure.axes if ax.get_legend()
               for t in ax.get_legend().get_texts()]
    assert legends == ["simulated", "simulated"]  # no "16 May" marks on a fictional case
    assert [ax.get_title().split("\n")[0] for ax in figure.axes] == [
        "prisoner exchange (prisoners per side, where agreed)", "duration, minutes"]


def test_round_timeline_ends_at_the_summary_probabilities(june, tmp_path):
    figure = round_timeline([june])
    ax = figure.axes[0]
    assert "each event as its item is agreed" in figure.get_suptitle()
    assert ax.get_xlabel() == "minute of the round"
    lines = {line.get_label(): line for line in ax.get_lines()}
    events = june.summary["events"]
    # every line ends at the table's probability of its event: the same definition
    # (children: the return agreed, not the list accepted for review)
    for name in ("pow_exchange_agreed", "next_round_agreed", "children_return_agreed",
                 "ceasefire_any", "remains_agreed"):
        label = event_label(june, name)
        if events[name]["p"]:
            assert lines[label].get_ydata()[-1] == pytest.approx(100 * events[name]["p"]), name
    assert lines["round over"].get_ydata()[-1] == pytest.approx(100)
    # an event that never happens is named, not drawn flat on zero
    if not events["leaders_meeting_agreed"]["p"]:
        assert event_label(june, "leaders_meeting_agreed") not in lines
        assert any(t.startswith("never: ") and "leaders' meeting agreed" in t
                   for t in texts(figure))
    assert_image_files(save_figure(figure, tmp_path, "timeline"))


def test_zone_of_agreement(june, tmp_path):
    setup = parameter_sample(june.scenario, seed=1, n=400)
    figure = zone_of_agreement([june], [setup])
    titles = [ax.get_title(loc="left") for ax in figure.axes]
    assert len(titles) == len(june.agenda)
    for issue, title in zip(june.agenda, titles, strict=True):
        assert title.startswith(f"{june.scenario.issue(issue).label}: zone in ")
    pow_title = titles[june.agenda.index("pow_exchange")]
    share = percent(june.summary["events"]["pow_exchange_agreed"]["p"])
    assert f"agreed (at any value) in {share} of rounds" in pow_title
    ceasefire = figure.axes[june.agenda.index("ceasefire")]
    labels = [t.get_text() for t in ceasefire.get_yticklabels()]
    # a row per side for each level whose conditions occur, highest first
    assert labels[0] == "Ukraine (full ceasefire)" and labels[-1] == "agreed"
    assert "Russia (local humanitarian pause)" in labels
    assert "level the mediator could put: " in ceasefire.get_title(loc="left")
    assert "400 draws" in " ".join(texts(figure))
    assert_image_files(save_figure(figure, tmp_path, "zone"))


def test_figures_are_the_same_bytes_every_time(june, tmp_path):
    first = save_figure(event_probabilities([june]), tmp_path / "a", "events")
    second = save_figure(event_probabilities([june]), tmp_path / "b", "events")
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_counts_give_the_mean_variance_and_cumulative_counts():
    values = np.array([3.0, 1.0, 3.0, 2.0, 5.0])
    counts = histogram_of(values)
    assert list(counts.values) == [1, 2, 3, 5] and list(counts.counts) == [1, 1, 2, 1]
    assert mean(counts) == pytest.approx(values.mean())
    assert variance(counts) == pytest.approx(values.var(ddof=1))
    assert list(count_at_most(counts, np.array([0, 2, 3, 9]))) == [0, 2, 4, 5]


def test_counts_of_parts_equal_counts_of_the_whole():
    scenario = load_scenario(JUNE)
    frame = run_scenario(scenario, 500, 2)
    whole = count_outcomes(frame, scenario)
    summed = count_outcomes(frame.iloc[:200], scenario)
    add_counts(summed, count_outcomes(frame.iloc[200:], scenario))
    assert set(summed) == set(whole)
    for key, counts in whole.items():
        assert np.array_equal(summed[key].values, counts.values), key
        assert np.array_equal(summed[key].counts, counts.counts), key


# --------------------------------------------------------------- sweeps and sensitivity
LABELS = study_labels(load_scenario(JUNE))
def sweep_table(by: list[float] | None = None) -> pd.DataFrame:
    """A hand-made sweep table (the columns of ``negsim sweep``'s points.csv)."""
    rows = []
    for level in (by or [None]):
        for x in (0.0, 0.2, 0.4, 0.6):
            p = 0.1 + 0.5 * x + (0.1 if level else 0)
            row = {"point": len(rows), "context.third_party_pressure": x, "runs": 2000,
                   "ceasefire_any.p": p, "ceasefire_any.ci95_low": p - 0.02,
                   "ceasefire_any.ci95_high": p + 0.02, "walkout.p": 0.05,
                   "walkout.ci95_low": 0.04, "walkout.ci95_high": 0.06}
            if level is not None:
                row["parties.russia.momentum"] = level
            rows.append(row)
    return pd.DataFrame(rows)


def test_sweep_figure(tmp_path):
    table = sweep_table()
    figure = sweep_figure(table, "context.third_party_pressure", "June round", labels=LABELS)
    assert figure.get_suptitle().startswith("June round: 8,000 simulated rounds (4 design "
                                            "points)")
    titles = [ax.get_title() for ax in figure.axes if ax.get_visible()]
    assert titles == ["ceasefire of any kind (level \u2265 1)", "a delegation walked out"]
    ax = figure.axes[0]
    assert ax.get_xlabel() == "context.third_party_pressure"
    (line,) = ax.get_lines()
    assert list(line.get_ydata()) == pytest.approx(list(100 * table["ceasefire_any.p"]))
    (band,) = ax.collections  # the 95% interval as a band
    assert band.get_paths()[0].vertices[:, 1].max() == pytest.approx(
        100 * table["ceasefire_any.ci95_high"].max())
    assert_image_files(save_figure(figure, tmp_path, "sweep"))


def test_sweep_figure_splits_lines_by_a_second_knob():
    figure = sweep_figure(sweep_table(by=[0.0, 0.3]), "context.third_party_pressure",
                          "June round", by="parties.russia.momentum")
    assert len(figure.axes[0].get_lines()) == 2
    assert [t.get_text() for t in figure.legends[0].get_texts()] == [
        "parties.russia.momentum = 0", "parties.russia.momentum = 0.3"]


def test_sweep_figure_names_missing_columns():
    with pytest.raises(ValueError, match="lacks column"):
        sweep_figure(sweep_table().drop(columns="runs"), "context.third_party_pressure", "x")


def test_sensitivity_figure(tmp_path):
    table = pd.DataFrame([
        {"outcome": o, "parameter": p, "S1": s1, "S1_ci95": 0.05, "ST": st, "ST_ci95": 0.07}
        for o in ("ceasefire_any", "walkout")
        for p, s1, st in (("mediator.pressure", 0.1, 0.2),
                          ("parties.russia.momentum", 0.5, 0.6),
                          ("context.third_party_pressure", 0.05, 0.1))])
    figure = sensitivity_figure(table, "June round", runs=12_000, labels=LABELS)
    assert figure.get_suptitle().startswith("June round: 12,000 simulated rounds")
    axes = [ax for ax in figure.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["ceasefire of any kind (level \u2265 1)",
                                               "a delegation walked out"]
    # parameters by total index, largest on top
    assert [t.get_text() for t in axes[0].get_yticklabels()] == [
        "context.third_party_pressure", "mediator.pressure", "parties.russia.momentum"]
    widths = sorted(round(bar.get_width(), 6) for bar in axes[0].patches)
    assert widths == [0.05, 0.1, 0.1, 0.2, 0.5, 0.6]
    assert [t.get_text() for t in figure.legends[0].get_texts()] == [
        "first order (S1)", "total (ST)"]
    assert_image_files(save_figure(figure, tmp_path, "sobol"))


def test_sensitivity_figure_takes_the_brief_column_names_too():
    table = pd.DataFrame([{"output": "walkout", "parameter": "mediator.pressure", "S1": 0.3,
                           "S1_conf": 0.1, "ST": 0.4, "ST_conf": 0.1}])
    figure = sensitivity_figure(table, "June round", runs=100, labels=LABELS)
    assert figure.axes[0].get_title() == "a delegation walked out"
