"""The browser dashboard: a Solara page over ``DashboardRound``, laid out for a
1280x720 projector.

Served by ``negsim dashboard`` (``solara run`` on this module); the scenario file,
the batch's seed and the size of the distribution panel come in the environment
variables ``NEGSIM_DASHBOARD_SCENARIO`` (default: the classroom round),
``NEGSIM_DASHBOARD_SEED`` and ``NEGSIM_DASHBOARD_RUNS``.

On the left, a column of its own (it scrolls apart from the charts): Mesa's model
controller (Reset, play, Step), the round shown (replicate R of ``negsim run --seed
S``) and a slider per parameter with its value always in words — the file's value
until the slider is moved. Reset applies the sliders moved, and only those. On the
right: the item under discussion (offers against red lines, the mediator's texts) or,
in a package round, the package text on each of its issues against the red lines,
beside the round so far in words (latest first), the agenda over time beside the
outcome distribution, then every issue closed. Mesa's internal controls (play and
render intervals, threads) are not shown; the page has no Markdown (text from the file
goes in as text: ``sim.teach.page_text``), so it loads nothing from a CDN.
"""

from __future__ import annotations

import os
import shlex
import textwrap
from pathlib import Path

import solara
from matplotlib.figure import Figure
from mesa.visualization.solara_viz import ModelController
from mesa.visualization.utils import update_counter

from sim.fileio import rendered
from sim.model.agents import ItemStatus
from sim.scenario.load import load_scenario
from sim.scenario.spec import Protocol
from sim.teach.dashboard import (
    DISTRIBUTION_RUNS,
    MOST_DECIMALS,
    ROUNDS,
    DashboardRound,
    SliderSpec,
    settings_class,
    slider_specs,
)
from sim.teach.page_text import element, table
from sim.teach.trace import lever_names, narrate
from sim.viz.teaching import (
    blocked_issues,
    draw_item,
    draw_timeline,
    issue_span,
    issues_reached,
    legend,
)

SCENARIO_VARIABLE = "NEGSIM_DASHBOARD_SCENARIO"
SEED_VARIABLE = "NEGSIM_DASHBOARD_SEED"
RUNS_VARIABLE = "NEGSIM_DASHBOARD_RUNS"
DEFAULT_SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "classroom-two-party.toml"

#: Milliseconds between two minutes when playing.
PLAY_INTERVAL = 250
#: Figures are drawn at the pixel width they are shown at on a 1280-pixel screen, at a
#: resolution that makes matplotlib's 8-point labels about 15 pixels high.
DPI = 130
WIDE, SMALL = 560, 450  # pixels: a chart beside a panel, one of two across the page

CSS = """
.negsim-page { display: flex; flex-direction: column; height: 100vh; overflow: hidden;
               font-size: 15px; }
.negsim-header { flex: none; background: #1565c0; color: white; padding: 8px 16px;
                 display: flex; align-items: baseline; gap: 16px; }
.negsim-header h1 { font-size: 20px; font-weight: 500; margin: 0; }
.negsim-header .negsim-minute { margin-left: auto; font-size: 17px; }
.negsim-body { flex: 1; display: flex; min-height: 0; }
.negsim-controls { flex: none; width: 320px; overflow-y: auto; padding: 8px 14px;
                   border-right: 1px solid #ddd; background: #fafafa; }
.negsim-controls h2 { font-size: 16px; margin: 14px 0 2px; }
.negsim-controls .v-input__slot { margin-bottom: 0; }
.negsim-controls .v-messages { display: none; }
.negsim-slider .negsim-label { display: flex; justify-content: space-between; gap: 8px;
                               font-size: 14px; line-height: 1.25; margin-top: 4px; }
.negsim-slider .negsim-value { font-weight: 600; white-space: nowrap; }
.negsim-slider .negsim-value.negsim-moved { color: #c62828; }
.negsim-main { flex: 1; overflow-y: auto; padding: 10px 16px 40px; min-width: 0; }
.negsim-grid { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr);
               gap: 14px 18px; align-items: start; }
.negsim-wide { grid-column: 1 / -1; }
.negsim-items { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 10px; }
.negsim-main img { width: 100%; height: auto; display: block; }
.negsim-story { max-height: 420px; overflow-y: auto; border: 1px solid #e0e0e0;
                padding: 4px 10px; }
.negsim-story p { margin: 6px 0; line-height: 1.35; }
.negsim-main h2 { font-size: 16px; margin: 0 0 4px; }
.negsim-main table { border-collapse: collapse; width: 100%; font-size: 14px; }
.negsim-main th, .negsim-main td { border-bottom: 1px solid #e0e0e0; padding: 2px 6px;
                                   text-align: left; }
.negsim-command { font-family: monospace; font-size: 13px; background: #f3f3f3;
                  padding: 4px 8px; overflow-wrap: anywhere; }
.negsim-pending { color: #c62828; font-weight: 600; margin: 4px 0; }
.negsim-pending:empty { display: none; }
.negsim-note { color: #555; font-size: 13px; }
"""


def _png(fig: Figure) -> bytes:
    return rendered(fig, format="png", dpi=DPI)


def _chart(fig: Figure):
    return solara.Image(_png(fig), format="png", width="100%")


def _reached(model: DashboardRound) -> list[int]:
    return issues_reached(model.round)


def _package(model: DashboardRound) -> bool:
    return model.round.setup.protocol is Protocol.PACKAGE


def _under_discussion(model: DashboardRound) -> list[int]:
    """The item under discussion (else the last one reached); in a package round the
    issues of the text on the table (else of the last one)."""
    reached = _reached(model)
    if not reached:
        return []
    if not _package(model):
        return [reached[-1]]
    issues = model.round.setup.issues
    return [issues.index(name) for name in model.round.history[-1].open_issues]


def _legend(fig: Figure, width_px: int, most: int) -> None:
    """One legend below the panels, in as many columns (at most ``most``) as its
    longest label lets fit across ``width_px``, labels still too long wrapped (an
    8-point character is about half of 8 points wide; an entry's marker and gaps take
    about 50 pixels)."""
    character = 0.5 * 8 * DPI / 72
    labels = [label for ax in fig.axes for label in ax.get_legend_handles_labels()[1]]
    widest = max((len(label) for label in labels), default=0) * character + 50
    columns = max(1, min(most, int(width_px // widest)))
    legend(fig, columns)
    fits = max(12, int((width_px / columns - 50) / character))
    for text in fig.legends[0].get_texts() if fig.legends else ():
        text.set_text(textwrap.fill(text.get_text(), fits))


def _figure(width_px: int, height_in: float) -> Figure:
    return Figure(figsize=(width_px / DPI, height_in), layout="constrained")


def current_item_figure(model: DashboardRound) -> Figure | None:
    """The item under discussion (else the last one reached), large, with the legend;
    in a package round one panel per issue of the text on the table; None before the
    talks open."""
    shown = _under_discussion(model)
    if not shown:
        return None
    fig = _figure(WIDE, 3.3 if len(shown) == 1 else 1.25 + 1.55 * len(shown))
    for row, item in enumerate(shown):
        draw_item(fig.add_subplot(len(shown), 1, row + 1), model.round, item)
    _legend(fig, WIDE, 3)
    return fig


def closed_item_figure(model: DashboardRound, item: int) -> Figure:
    """One item, small (the legend is the large chart's)."""
    fig = _figure(SMALL, 2.4)
    draw_item(fig.add_subplot(), model.round, item)
    return fig


def agenda_figure(model: DashboardRound) -> Figure:
    """The agenda over time: what was agreed, parked or timed out, and when."""
    rows = len(_reached(model)) + len(blocked_issues(model.round))
    fig = _figure(WIDE, 0.3 * max(rows, 1) + 1.1)
    draw_timeline(fig.add_subplot(), model.round)
    return fig


def _closed(model: DashboardRound) -> list[int]:
    """Issues reached and closed (agreed, parked, timed out), in the order taken up."""
    return [i for i in _reached(model)
            if issue_span(model.round, i)[2] != ItemStatus.PENDING]


def current_item_chart(model: DashboardRound):
    fig = current_item_figure(model)
    if fig is None:
        round_ = model.round
        opening = int(round_.setup.opening_minutes[0])
        plenary = int(round_.plenary_start[0])
        what = ("Opening statements" if round_.minute < opening else
                f"{round_.setup.mediator_name} caucuses with each side")
        return element("p", f"{what}: minute {round_.minute}; the talks open in minute "
                       f"{plenary}. Press Step or play.")
    return _chart(fig)


@solara.component
def ClosedItem(model: DashboardRound, item: int):
    """One closed item; drawn once (a closed item no longer changes)."""
    png = solara.use_memo(lambda: _png(closed_item_figure(model, item)), [id(model), item])
    return solara.Image(png, format="png", width="100%")


def story_panel(model: DashboardRound):
    """The round so far in words (``negsim trace``'s narration), latest first; once a
    round with private information has ended, its final section, "What each side
    really held", on top in reading order."""
    events = narrate(model.round, model.case.round.name, lever_names(model.case))
    kinds = [e.kind for e in events]
    cut = kinds.index("private") if "private" in kinds else len(events)
    paragraphs = [element("p", element("b", e.text)) if e.kind == "private" else
                  element("p", e.text) for e in events[cut:]]
    paragraphs += [element("p", element("b", f"{e.minute}" if e.minute == e.until
                                        else f"{e.minute}-{e.until}"), " ", e.text)
                   for e in reversed(events[:cut])]
    return element("div", *paragraphs, classes=["negsim-story"])


def outcome_panel(model: DashboardRound):
    """The outcome distribution of the batch's first rounds under these settings."""
    summary = model.distribution
    rows = []
    for event in summary["events"].values():
        label = event["label"]
        if event["on_agenda"]:
            lo, hi = event["ci95"]
            rows.append((label, f"{100 * event['p']:.1f}%",
                         f"{100 * lo:.1f}% - {100 * hi:.1f}%"))
    moved = ("Sliders moved: " + "; ".join(f"{key} = {_number(value)}" for key, value in
                                           sorted(model.moved.items()))
             if model.moved else "No slider moved: every parameter is the file's.")
    children = [element("h2", "Outcome distribution under these settings"),
                element("p", f"Rounds 0-{summary['runs'] - 1:,} of negsim run --seed "
                        f"{summary['seed']}", classes=["negsim-note"]),
                table(("event", "share of rounds", "95% interval"), rows, numeric=(1, 2)),
                element("p", moved, classes=["negsim-moved-list"])]
    if model.problem:
        children.insert(0, solara.Error(model.problem))
    return element("div", *children)


def _number(value: float) -> str:
    """A slider's position as typed: its decimals (at most ``MOST_DECIMALS``), no
    trailing zeros."""
    return f"{value:.{MOST_DECIMALS}f}".rstrip("0").rstrip(".")


def trace_command(model: DashboardRound) -> str:
    """The ``negsim trace`` command that tells the round shown, quoted for a shell."""
    sets = "".join(f" --set {shlex.quote(f'{key}={_number(value)}')}"
                   for key, value in sorted(model.moved.items()))
    return (f"negsim trace {shlex.quote(model.scenario.scenario_file)} --seed {model.seed} "
            f"--run {model.run}{sets}")


@solara.component
def Main(model: DashboardRound):
    """The charts and panels; redrawn after every step (Mesa's ``update_counter``)."""
    update_counter.get()
    heading = ("The package under discussion" if _package(model) else
               "The item under discussion")
    cells = [element("div", element("h2", heading), current_item_chart(model)),
             element("div", element("h2", "The round so far (latest first)"),
                     story_panel(model)),
             element("div", element("h2", "The agenda over time"),
                     _chart(agenda_figure(model))),
             outcome_panel(model),
             element("div", element("h2", "The same round in a terminal"),
                     element("div", trace_command(model), classes=["negsim-command"]),
                     classes=["negsim-wide"])]
    closed = _closed(model)
    if closed:
        items = [ClosedItem(model, item).key(f"item-{item}") for item in closed]
        closed_heading = ("Issues closed so far (colours as above)" if _package(model) else
                          "Items closed so far (colours as above)")
        cells.append(element("div", element("h2", closed_heading),
                             element("div", *items, classes=["negsim-items"]),
                             classes=["negsim-wide"]))
    element("div", *cells, classes=["negsim-grid"])


def _status(model: DashboardRound) -> str:
    if model.round.running:
        return f"minute {model.round.minute}"
    return f"ended after {float(model.round.duration[0]):g} minutes"


@solara.component
def Header(model: DashboardRound):
    update_counter.get()
    element("div", element("h1", model.case.round.name),
            element("span", f"round {model.run} of negsim run --seed {model.seed}"),
            element("span", _status(model), classes=["negsim-minute"]),
            classes=["negsim-header"])


@solara.component
def ParameterSlider(spec: SliderSpec, value: float, moved: bool, on_value):
    """A slider with its label and value in words beside it, always shown."""
    shown = f"{spec.show(value)} (moved)" if moved else spec.as_filed
    with solara.Div(classes=["negsim-slider"]):
        element("div", element("span", spec.label),
                element("span", shown, classes=["negsim-value"] + (["negsim-moved"]
                                                                      if moved else [])),
                classes=["negsim-label"])
        solara.SliderFloat("", value=value, min=spec.low, max=spec.high, step=spec.step,
                           on_value=on_value, thumb_label=False)


@solara.component
def Controls(model: solara.Reactive[DashboardRound], specs: tuple[SliderSpec, ...]):
    """Reset, play, Step; the round; the sliders, grouped by side."""
    pending = solara.use_reactive({})  # scenario key -> position, the sliders moved
    run = solara.use_reactive(0)
    parameters = solara.use_reactive({"run": 0, "moved": ()})

    def apply(new_run: int, new_pending: dict) -> None:
        run.set(new_run)
        pending.set(new_pending)
        parameters.set({"run": new_run, "moved": tuple(sorted(new_pending.items()))})

    def on_slider(spec: SliderSpec):
        def changed(value: float) -> None:
            position = spec.position(value)
            new = {k: v for k, v in pending.value.items() if k != spec.key}
            if position != spec.start:
                new[spec.key] = position
            apply(run.value, new)
        return changed

    current = model.value
    # Mesa's controller reads these as reactive values; the page fixes them
    ModelController(model, model_parameters=parameters,
                    play_interval=solara.use_reactive(PLAY_INTERVAL),
                    render_interval=solara.use_reactive(1),
                    use_threads=solara.use_reactive(False))
    waiting = (dict(pending.value) != current.moved) or run.value != current.run
    # the same elements in the same places whatever the state: a slider being moved
    # is never replaced (it would lose the pointer or the keyboard's focus)
    element("p", "Sliders moved: press Reset to apply them." if waiting else "",
            classes=["negsim-pending"])
    element("h2", f"Round: {run.value}")
    solara.SliderInt("", value=run.value, min=0, max=ROUNDS - 1,
                     on_value=lambda r: apply(int(r), pending.value), thumb_label=False)
    element("p", f"Replicate {run.value} of negsim run --seed {current.seed}: the round "
            f"negsim trace --seed {current.seed} --run {run.value} tells.",
            classes=["negsim-note"])
    solara.Button("Back to the file's values", text=True, disabled=not pending.value,
                  on_click=lambda: apply(run.value, {}))
    group = None
    for spec in specs:
        if spec.group != group:
            group = spec.group
            element("h2", group)
        moved = spec.key in pending.value
        ParameterSlider(spec, pending.value.get(spec.key, spec.start), moved,
                        on_slider(spec)).key(spec.key)


SCENARIO_PATH = Path(os.environ.get(SCENARIO_VARIABLE) or DEFAULT_SCENARIO).resolve()
SEED = int(os.environ.get(SEED_VARIABLE) or 0)
RUNS = int(os.environ.get(RUNS_VARIABLE) or DISTRIBUTION_RUNS)
SPECS = slider_specs(load_scenario(SCENARIO_PATH))
Settings = settings_class(SCENARIO_PATH, SEED, RUNS)


@solara.component
def Page():
    """One model per browser tab: a class sharing a server does not share a round."""
    first = solara.use_memo(lambda: DashboardRound(Settings()), [])
    model = solara.use_reactive(first)
    solara.Style(CSS)
    solara.Title(f"negsim: {model.value.case.round.name}")
    with solara.Div(classes=["negsim-page"]):
        Header(model.value)
        with solara.Div(classes=["negsim-body"]):
            with solara.Div(classes=["negsim-controls"]):
                Controls(model, SPECS)
            with solara.Div(classes=["negsim-main"]):
                Main(model.value)
