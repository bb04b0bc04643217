"""The browser dashboard: Mesa's SolaraViz over ``DashboardRound``.

Served by ``negsim dashboard`` (``solara run`` on this module); the scenario file is
named by the environment variable ``NEGSIM_DASHBOARD_SCENARIO`` (default: the
classroom round), the size of the quick batch by ``NEGSIM_DASHBOARD_RUNS``. Sliders
set each side's red lines, exchange willingness and patience and the mediator's
pressure; Reset applies them, Step and Play run the
round a minute at a time. The charts: offers against red lines on each item with the
mediator's texts, the agenda over time (what was agreed when), the outcome
distribution of a quick batch under the same settings, and the round so far in words.
"""

from __future__ import annotations

import os
from pathlib import Path

import solara
from matplotlib.figure import Figure
from mesa.visualization import SolaraViz
from mesa.visualization.user_param import Slider

from sim.scenario.load import load_scenario
from sim.teach.dashboard import DISTRIBUTION_RUNS, DashboardRound, settings_class, slider_specs
from sim.teach.trace import narrate
from sim.viz.teaching import draw_item, draw_timeline, legend

SCENARIO_VARIABLE = "NEGSIM_DASHBOARD_SCENARIO"
RUNS_VARIABLE = "NEGSIM_DASHBOARD_RUNS"
DEFAULT_SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "classroom-two-party.toml"


def _items(model: DashboardRound) -> list[int]:
    reached: list[int] = []
    for record in model.round.history:
        index = model.round.setup.issues.index(record.item)
        if index not in reached:
            reached.append(index)
    return reached


def OffersChart(model: DashboardRound):
    """Offers against red lines on each item reached, with the mediator's texts."""
    reached = _items(model)
    if not reached:
        opening = int(model.round.setup.opening_minutes[0])
        return solara.Markdown(f"**Offers against red lines**: opening statements, minute "
                               f"{model.round.minute} of {opening}. Press Step or Play.")
    columns = 2 if len(reached) > 1 else 1
    rows = -(-len(reached) // columns)
    fig = Figure(figsize=(4.6 * columns, 2.4 * rows + 0.8), layout="constrained")
    for n, item in enumerate(reached):
        draw_item(fig.add_subplot(rows, columns, n + 1), model.round, item)
    legend(fig)
    fig.suptitle(f"Offers against red lines, minute {model.round.minute}", fontsize=10)
    return solara.FigureMatplotlib(fig, format="png")


def AgendaChart(model: DashboardRound):
    """The agenda over time: what was agreed, parked or timed out, and when."""
    fig = Figure(figsize=(7, 2.8), layout="constrained")
    ax = fig.add_subplot()
    if _items(model):
        draw_timeline(ax, model.round)
    else:
        ax.set_title("agenda over time (the round has not started)", fontsize=10)
    return solara.FigureMatplotlib(fig, format="png")


def OutcomePanel(model: DashboardRound):
    """Outcome distribution of a quick batch under the current settings."""
    summary = model.distribution
    lines = [f"**Outcome distribution under these settings** ({summary['runs']:,} rounds, "
             f"seed {summary['seed']})", "", "| event | p | 95% interval |", "|---|---|---|"]
    for event in summary["events"].values():
        label = event["label"]
        if event["on_agenda"]:
            lo, hi = event["ci95"]
            lines.append(f"| {label} | {100 * event['p']:.1f}% | "
                         f"{100 * lo:.1f}% - {100 * hi:.1f}% |")
    if model.moved:
        lines += ["", "Moved: " + "; ".join(f"`{k}` = {v:g}" for k, v in model.moved.items())]
    children = [solara.Markdown("\n".join(lines))]
    if model.problem:
        children.insert(0, solara.Error(model.problem))
    return solara.Column(children=children)


def StoryPanel(model: DashboardRound):
    """The round so far, in words (``negsim trace``'s narration)."""
    events = narrate(model.round, model.case.round.name)
    last = events[-6:]
    text = "\n\n".join(f"**{e.minute if e.minute == e.until else f'{e.minute}-{e.until}'}** "
                       f"{e.text}" for e in last)
    status = "ended" if not model.round.running else f"minute {model.round.minute}"
    return solara.Markdown(f"**The round so far** ({status})\n\n{text}")


def _model_params(path: Path, specs, runs: int) -> dict:
    params = {"scenario_file": str(path), "runs": runs,
              "seed": Slider("round (seed)", value=0, min=0, max=99, step=1)}
    for spec in specs:
        params[spec.key] = Slider(spec.label, value=spec.value, min=spec.low, max=spec.high,
                                  step=spec.step, dtype=float)
    return params


SCENARIO_PATH = Path(os.environ.get(SCENARIO_VARIABLE) or DEFAULT_SCENARIO).resolve()
RUNS = int(os.environ.get(RUNS_VARIABLE) or DISTRIBUTION_RUNS)
SPECS = slider_specs(load_scenario(SCENARIO_PATH))
Settings = settings_class(SCENARIO_PATH, SPECS, RUNS)
model = DashboardRound(Settings())
page = SolaraViz(
    model,
    components=[(OffersChart, 0), (AgendaChart, 0), (OutcomePanel, 0), (StoryPanel, 0)],
    model_params=_model_params(SCENARIO_PATH, SPECS, RUNS),
    name=f"negsim: {model.case.round.name}",
)
