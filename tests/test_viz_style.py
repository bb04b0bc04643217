"""One style for every figure: no module sets a backend or touches pyplot, and the
calibration and campaign figures are ``Figure``s on the Agg canvas, drawn in the
palette of ``sim.viz.style`` and telling series apart by more than colour."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex

from sim.calibration.checks import identifiability
from sim.calibration.evidence import Fact, Prior
from sim.campaign.engine import simulate_chunk
from sim.campaign.spec import load_campaign
from sim.campaign.tally import CampaignTally
from sim.viz import calibration as calibration_plots
from sim.viz import campaign as campaign_plots
from sim.viz.style import GREY, PALETTE, save_figure

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("path", sorted((ROOT / "sim").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_uses_pyplot_or_sets_a_backend(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            assert not any(a.name.startswith("matplotlib.pyplot") for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.module != "matplotlib.pyplot"
            assert not (node.module == "matplotlib" and
                        any(a.name == "pyplot" for a in node.names))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert not (node.func.attr == "use" and isinstance(node.func.value, ast.Name)
                        and node.func.value.id == "matplotlib"), "matplotlib.use"


def two_parameter_prior() -> Prior:
    return Prior(("parties.a.patience", "mediator.pressure"), ("uniform", "uniform"),
                 np.array([15.0, 0.0]), np.array([180.0, 0.6]), np.ones(2), np.ones(2),
                 ("test", "test"))


def test_calibration_figures_use_the_house_style(tmp_path):
    prior = two_parameter_prior()
    rng = np.random.default_rng(0)
    particles = prior.sample(300, rng)
    weights = np.full(300, 1 / 300)
    table = identifiability(prior, particles, weights)
    figure = calibration_plots.parameters_figure(prior, particles, weights, table)
    assert isinstance(figure.canvas, FigureCanvasAgg)
    ax = figure.axes[0]
    assert ax.get_title() == f"a.patience\ncontraction {table['contraction'][0]:.2f}"
    assert to_hex(ax.patches[0].get_facecolor()) == GREY.lower()  # the prior, filled
    line = [p for p in ax.patches if p.get_fill() is False]  # the posterior, a line
    assert [to_hex(p.get_edgecolor()) for p in line] == [PALETTE[0].lower()]

    facts = pd.DataFrame({"round": ["r1", "r1"], "fact": ["walkout = 0", "ALL"],
                          "p": [0.9, 0.25]})
    base = facts.assign(p=[0.8, 0.05])
    figure = calibration_plots.predictive_figure(facts, base, "checks")
    ax = figure.axes[0]
    bars = [p for p in ax.patches]
    posterior_bars = [b for b in bars if to_hex(b.get_facecolor()) == PALETTE[0].lower()]
    prior_bars = [b for b in bars if to_hex(b.get_facecolor()) == PALETTE[1].lower()]
    assert [b.get_width() for b in posterior_bars] == pytest.approx([90, 25])
    assert [b.get_width() for b in prior_bars] == pytest.approx([80, 5])
    assert all(b.get_hatch() for b in prior_bars) and not any(b.get_hatch()
                                                               for b in posterior_bars)
    labels = [t.get_text() for t in ax.texts]
    assert labels == ["90.0%", "25.0%", "80.0%", "5.0%"]

    nothing = float("nan")
    outcomes = {"r1": pd.DataFrame({"pow_exchange_value": [nothing, 1000, 1000, 1100],
                                    "remains_value": [nothing] * 4,
                                    "duration_minutes": [50.0, 60, 70, 95]})}
    reported = {"r1": [Fact("duration_minutes", 90, 120, 15, "s"),
                       Fact("pow_exchange_value", 1000, 1000, 200, "s")]}
    quantities = {"pow_exchange_value": "prisoner exchange", "remains_value": "remains",
                  "duration_minutes": "duration, minutes"}
    figure = calibration_plots.outcome_figure(outcomes, reported, quantities)
    exchange, remains, duration = figure.axes[:3]
    heights = sorted(p.get_height() for p in exchange.patches if p.get_height() > 0)
    assert heights == pytest.approx([100 / 3, 200 / 3])  # where agreed: 3 rounds
    assert "in no simulated round" in " ".join(t.get_text() for t in remains.texts)
    assert any(p.get_hatch() for p in duration.patches)  # the reported range
    paths = save_figure(figure, tmp_path, "outcomes")
    assert sorted(p.name for p in paths) == ["outcomes.png", "outcomes.svg"]


def test_campaign_figures_use_the_house_style(tmp_path):
    campaign = load_campaign(ROOT / "scenarios" / "campaign-after-2025-06-02.toml")
    rows, _ = simulate_chunk(campaign, seed=3, chunk=0, first=0, count=60)
    tally = CampaignTally.of(rows, campaign)
    fan = campaign_plots.fan_chart(campaign, tally)
    by_date = campaign_plots.events_chart(campaign, tally)
    rounds = campaign_plots.rounds_chart(campaign, tally)
    for figure in (fan, by_date, rounds):
        assert isinstance(figure.canvas, FigureCanvasAgg)
        assert figure.get_suptitle().endswith(": 60 simulated campaigns")
    bands = fan.axes[0].collections
    assert {to_hex(b.get_facecolor()[0], keep_alpha=False) for b in bands} == {
        PALETTE[0].lower()}
    assert any(b.get_hatch() for b in bands)  # the 25-75% band, also in grey print
    assert [t.get_text() for t in by_date.axes[0].get_legend().get_texts()] == [
        "ceasefire of any kind (level \u2265 1)", "leaders' meeting agreed"]  # the scenario's
    assert [ax.get_title() for ax in fan.axes] == [
        "prisoner exchange: carried out, cumulative", "remains repatriation: carried out, "
        "cumulative"]
    lines = by_date.axes[0].get_lines()
    assert [to_hex(line.get_color()) for line in lines] == [PALETTE[1].lower(),
                                                            PALETTE[2].lower()]
    assert lines[0].get_linestyle() != lines[1].get_linestyle()
    held = [p.get_height() for p in rounds.axes[0].patches]
    counts = [tally.rounds_held.get(k, 0) for k in range(len(held))]
    assert held == pytest.approx([100 * c / 60 for c in counts])
    assert all(to_hex(p.get_facecolor()) == PALETTE[0].lower()
               for p in rounds.axes[0].patches)
