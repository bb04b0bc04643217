"""`negsim dashboard`: the model behind it (a round is `negsim trace`'s round; only
moved sliders change it), the command (a broken file, stopping it stops its server),
and the page in a real (headless) browser at a projector's 1280x720, offline."""

import argparse
import dataclasses
import json
import math
import os
import re
import shlex
import signal
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
from browser import chromium, dashboard, is_local, needs_chromium, start_dashboard
from matplotlib.backends.backend_agg import FigureCanvasAgg

import sim.cli.run
import sim.cli.trace
from sim.batch.chunks import run_scenario
from sim.cli import main
from sim.scenario.load import load_scenario
from sim.stats.summary import summarise
from sim.teach.dashboard import (
    BATCH_RUNS,
    DashboardRound,
    settings_class,
    slider_specs,
)
from sim.teach.trace import lever_names, narrate

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
CLASSROOM = SCENARIOS / "classroom-two-party.toml"
ISTANBUL = SCENARIOS / "istanbul-2025-06-02.toml"
RIVER = SCENARIOS / "river-basin.toml"  # a package round, with private information
JUNE = SCENARIOS / "june-20-30-2025.toml"
ROUND_FILES = sorted(p for p in SCENARIOS.glob("*.toml") if not p.name.startswith("campaign"))
NORTH_CEASEFIRE = "parties.northland.issues.ceasefire.conditions_red_line"
NORTH_PATIENCE = "parties.northland.patience"


def vuetify_round(value: float, low: float, high: float, step: float) -> float:
    """Vuetify 2's ``VSlider.roundValue``: the position the browser gives a value
    (offset ``min % step``, then ``toFixed`` to the decimals of the step as JavaScript
    writes it)."""
    written = repr(step)[:-2] if float(step).is_integer() else repr(step)
    decimals = len(written.split(".")[1]) if "." in written else 0
    offset = math.fmod(low, step)
    position = math.floor((value - offset) / step + 0.5) * step + offset
    return float(f"{min(position, high):.{decimals}f}")


def variant(tmp_path: Path, name: str, body: str, base: Path = CLASSROOM) -> Path:
    path = tmp_path / name
    path.write_text(f'extends = "{base}"\n{body}')
    return path


def test_every_slider_starts_where_the_browser_leaves_it(tmp_path):
    """A slider's start lies on its own grid, so the browser's rounding keeps it; a
    value the file fixes is the start exactly. Patience 90 was snapped to 91 when the
    slider ran from 1 in steps of 5; 92.5 would be snapped with any step of 5."""
    odd = variant(tmp_path, "odd.toml", "[parties.northland]\npatience = 90\n"
                  "[parties.southland]\npatience = 92.5\nconcession = 0.333\n")
    for path in [*ROUND_FILES, odd]:
        for spec in slider_specs(load_scenario(path)):
            assert spec.low <= spec.start <= spec.high, spec
            steps = (spec.start - spec.low) / spec.step
            assert abs(steps - round(steps)) < 1e-6, spec
            assert vuetify_round(spec.start, spec.low, spec.high, spec.step) == spec.start, spec
            for end in (spec.low, spec.high):
                assert vuetify_round(end, spec.low, spec.high, spec.step) == end, spec
    specs = {s.key: s for s in slider_specs(load_scenario(odd))}
    assert specs[NORTH_PATIENCE].start == 90 and specs[NORTH_PATIENCE].step == 5
    assert specs["parties.southland.patience"].start == 92.5
    assert specs["parties.southland.concession"].start == 0.333
    assert specs[NORTH_PATIENCE].as_filed == "90 (file)"


def test_the_levers_the_tutorial_teaches_have_sliders():
    """Red lines, exchange willingness, patience, concession beta per side; the
    mediator's pressure and credibility (docs/tutorial.md)."""
    scenario = load_scenario(ISTANBUL)
    keys = {spec.key for spec in slider_specs(scenario)}
    for party in scenario.parties:
        for name in ("exchange_willingness", "patience", "concession"):
            assert f"parties.{party.key}.{name}" in keys
    assert {"mediator.pressure", "mediator.credibility"} <= keys
    specs = {spec.key: spec for spec in slider_specs(scenario)}
    assert specs["parties.russia.concession"].as_filed == "from the posterior"


def test_untouched_sliders_change_nothing():
    """No move: the file's scenario itself, every slider at either end still valid."""
    for path in (CLASSROOM, JUNE):
        specs = slider_specs(load_scenario(path))
        Settings = settings_class(path, runs=50)
        model = DashboardRound(Settings())
        assert model.moved == {} and model.problem == ""
        assert model.case == load_scenario(path)
        for end in ("low", "high"):
            moved = tuple((s.key, getattr(s, end)) for s in specs)
            model = DashboardRound(Settings(moved=moved))
            assert model.problem == "", (path, end, model.problem)


def test_a_moved_slider_changes_the_round():
    """Northland conceding the ceasefire's conditions up to Southland's 0.6 opens a
    zone: a ceasefire in every classroom round."""
    Settings = settings_class(CLASSROOM, runs=50)
    before = DashboardRound(Settings())
    after = DashboardRound(Settings(moved=((NORTH_CEASEFIRE, 0.6),)))
    assert after.moved == {NORTH_CEASEFIRE: 0.6}
    assert after.round.setup.red_line[0, 0, 0] == pytest.approx(0.6)
    assert before.distribution["events"]["ceasefire_agreed"]["p"] == 0.0
    assert after.distribution["events"]["ceasefire_agreed"]["p"] == 1.0
    for _ in range(30):
        after.step()
    assert after.round.minute == 30 and after.running
    while after.running:
        after.step()
    assert after.round.outcomes()["ceasefire_level"][0] >= 1


def test_a_key_no_slider_sets_is_refused():
    Settings = settings_class(CLASSROOM, runs=50)
    model = DashboardRound(Settings(moved=(("round.max_minutes", 5.0),)))
    assert "no slider sets round.max_minutes" in model.problem
    assert model.case == load_scenario(CLASSROOM)


def test_the_batch_is_negsim_run_s_default():
    """Round R is replicate R of `negsim run --seed S` as run and trace default it."""
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command")
    sim.cli.run.register(commands)
    sim.cli.trace.register(commands)
    assert parser.parse_args(["run", "x.toml"]).runs == BATCH_RUNS
    assert parser.parse_args(["trace", "x.toml"]).runs == BATCH_RUNS


@pytest.mark.parametrize("seed, run, moved", [
    (0, 0, ()),
    (3, 7, ()),
    (11, 42, (("parties.ukraine.concession", 2.5), ("parties.russia.patience", 45.0))),
])
def test_round_r_is_trace_s_round_r_and_run_s_row_r(seed, run, moved, capsys):
    """Same seed and run, same round: the dashboard's round played out is told as the
    command the page shows, `negsim trace FILE --seed S --run R --set ...`, tells it,
    event for event, and ends as row R of `negsim run --seed S` does; the
    distribution panel is the batch's first rows."""
    Settings = settings_class(ISTANBUL, seed=seed, runs=500)
    model = DashboardRound(Settings(run=run, moved=moved))
    while model.running:
        model.step()
    from sim.teach.dashboard_app import trace_command

    command = shlex.split(trace_command(model))  # as the page shows it
    assert command[:2] == ["negsim", "trace"] and ("--set" in command) == bool(moved)
    assert main([*command[1:], "--json"]) == 0
    told = capsys.readouterr().out.splitlines()
    assert [json.dumps(e.to_json()) for e in narrate(model.round, model.case.round.name,
                                                     lever_names(model.case))] == told
    batch = run_scenario(model.case, BATCH_RUNS, seed)
    row = batch.iloc[run]
    for column, values in model.round.outcomes().items():
        assert row[column] == values[0] or (pd.isna(row[column]) and pd.isna(values[0])), \
            column
    # as JSON: an event no round can reach has a NaN spread across draws (NaN != NaN)
    expected = summarise(batch.iloc[:500].reset_index(drop=True), model.case, seed)
    assert json.dumps(model.distribution, sort_keys=True) == json.dumps(expected,
                                                                        sort_keys=True)


def test_dashboard_command_rejects_a_broken_scenario(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[round\n")
    assert main(["dashboard", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.toml" in err and "not valid TOML" in err and err.count("\n") == 1


def test_dashboard_command_rejects_more_runs_than_the_batch(capsys):
    assert main(["dashboard", str(CLASSROOM), "--runs", str(BATCH_RUNS + 1)]) == 2
    err = capsys.readouterr().err
    assert "--runs must be <= 10000" in err and err.count("\n") == 1


# --------------------------------------------------------------------------- stopping
def _serving(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=3):
            return True
    except OSError:
        return False


def _stop_and_check(server, send) -> None:
    """Send the signal; the command and every process it started are gone within
    STOP_SECONDS (plus slack), and the port answers no more."""
    family = [server.process.pid] + [p.pid for p in
                                     psutil.Process(server.process.pid).children(recursive=True)]
    assert len(family) >= 2  # negsim and its Solara server
    began = time.monotonic()
    send(server.process)
    deadline = began + 20
    while time.monotonic() < deadline and any(psutil.pid_exists(pid) and psutil.Process(
            pid).status() != psutil.STATUS_ZOMBIE for pid in family[1:]):
        time.sleep(0.2)
    alive = [pid for pid in family[1:] if psutil.pid_exists(pid)
             and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert alive == [], f"still running after {time.monotonic() - began:.1f} s: {alive}"
    assert not _serving(server.port)


@pytest.mark.parametrize("how", ["SIGTERM", "Ctrl-C", "SIGKILL"])
def test_stopping_the_command_stops_its_server(how, tmp_path):
    """SIGTERM to negsim alone, Ctrl-C (SIGINT to the terminal's process group), or
    kill -9 of negsim: its Solara server stops too."""
    sends = {"SIGTERM": lambda p: p.send_signal(signal.SIGTERM),
             "Ctrl-C": lambda p: os.killpg(p.pid, signal.SIGINT),
             "SIGKILL": lambda p: p.send_signal(signal.SIGKILL)}
    server = start_dashboard(CLASSROOM, tmp_path / "server.log", "--runs", "50")
    try:
        _stop_and_check(server, sends[how])
        status = server.process.wait(timeout=20)
        expected = {"SIGTERM": 128 + signal.SIGTERM, "Ctrl-C": 128 + signal.SIGINT,
                    "SIGKILL": -signal.SIGKILL}
        assert status == expected[how], server.output()[-2000:]
        if how != "SIGKILL":
            assert "Traceback" not in server.output()
            assert server.output().rstrip().endswith("negsim dashboard: stopped")
    finally:
        server.stop()


@needs_chromium
def test_sigterm_stops_the_server_with_a_page_open(tmp_path):
    """A browser still connected (its websocket open) does not keep the server up."""
    server = start_dashboard(CLASSROOM, tmp_path / "server.log", "--runs", "50")
    try:
        with chromium(port=server.port) as (page, _):
            page.goto(server.url)
            page.get_by_role("button", name="Step").wait_for(timeout=60_000)
            _stop_and_check(server, lambda p: p.send_signal(signal.SIGTERM))
    finally:
        server.stop()


# --------------------------------------------------------------------------- the page
def minute(page, n: int) -> None:
    page.wait_for_function(
        "n => document.querySelector('.negsim-minute').innerText === 'minute ' + n",
        arg=n, timeout=30_000)


def step(page, times: int, until: int) -> None:
    button = page.get_by_role("button", name="Step")
    for _ in range(times):
        button.click()
    minute(page, until)


def story_with(page, text: str) -> list[str]:
    """The story's paragraphs once one of them contains ``text``. The header's minute
    can be drawn before the story's new paragraphs: each paragraph is a widget, and the
    browser makes their views one by one, so a story read at once can be half drawn
    (CI under load saw the paragraphs between the latest and the first missing)."""
    page.wait_for_function(
        "t => [...document.querySelectorAll('.negsim-story p')]"
        ".some(p => p.innerText.includes(t))", arg=text, timeout=30_000)
    return page.locator(".negsim-story p").all_inner_texts()


def slider(page, label: str):
    """The slider whose label (in the controls) is ``label``, and its value text."""
    row = page.locator(".negsim-slider", has=page.get_by_text(label, exact=True))
    return row.get_by_role("slider"), row.locator(".negsim-value")


def reads(locator, text: str | re.Pattern) -> None:
    """Wait until ``locator`` reads ``text``. A change redraws several widgets, and the
    browser makes their views one by one: another widget's new text (the pending note,
    the moved list) can be on the page before this one's (CI saw a slider's value still
    read "0.2 (file)" once "Sliders moved" was shown)."""
    from playwright.sync_api import expect

    expect(locator).to_have_text(text, timeout=30_000)


def moved_list(page) -> str:
    return page.locator(".negsim-moved-list").inner_text()


def outcome(page) -> str:
    return page.locator("table").inner_text()


@pytest.fixture(scope="module")
def classroom_server(tmp_path_factory):
    """The classroom round without its opening statements (items start at once), and
    with Northland's patience 90: a value the old patience slider snapped to 91."""
    folder = tmp_path_factory.mktemp("classroom")
    path = variant(folder, "classroom-90.toml", "[round]\nopening_minutes = 0\n"
                   "[parties.northland]\npatience = 90\n")
    with dashboard(path, folder / "server.log", "--runs", "100") as server:
        yield server


@needs_chromium
def test_loading_the_page_and_pressing_step_changes_no_parameter(classroom_server):
    with chromium(port=classroom_server.port) as (page, traffic):
        page.goto(classroom_server.url)
        step(page, 3, 3)
        knob, value = slider(page, "patience (minutes)")
        assert knob.first.get_attribute("aria-valuenow") == "90"
        assert value.first.inner_text() == "90 (file)"
        assert moved_list(page) == "No slider moved: every parameter is the file's."
        assert "--set" not in page.locator(".negsim-command").inner_text()
        values = page.locator(".negsim-value").all_inner_texts()
        assert values and all(v.endswith("(file)") for v in values), values
        assert page.locator(".negsim-pending").inner_text() == ""
        before = outcome(page)
        page.get_by_role("button", name="Reset").click()
        minute(page, 0)
        assert moved_list(page) == "No slider moved: every parameter is the file's."
        assert outcome(page) == before
    assert traffic.refused == [] and traffic.failed == []
    assert all(is_local(url, classroom_server.port) for url in traffic.requests)
    # nor did the server fetch for it: Solara's asset proxy goes to a CDN for what
    # it does not ship (KaTeX and Mermaid, which solara.Markdown loads)
    assert not [url for url in traffic.requests if "katex" in url or "mermaid" in url]
    assert "Could not load URL" not in classroom_server.output()


@needs_chromium
def test_a_moved_slider_changes_that_parameter_alone(classroom_server, tmp_path):
    """Moving a slider and Reset change the round and the outcome panel; the page says
    which key moved and the `trace` command that tells the round; each Step redraws."""
    with chromium(port=classroom_server.port) as (page, traffic):
        page.goto(classroom_server.url)
        step(page, 2, 2)
        chart = page.locator(".negsim-main img").first
        before, before_outcome = chart.get_attribute("src"), outcome(page)
        assert "a ceasefire agreed\t0.0%" in before_outcome
        knob, value = slider(page, "red line on ceasefire (conditions)")
        knob.first.focus()
        page.keyboard.press("End")  # all the way: Northland accepts any conditions
        page.get_by_text("Sliders moved: press Reset to apply them.").wait_for(timeout=30_000)
        reads(value.first, "1.00 (moved)")
        page.get_by_role("button", name="Reset").click()
        minute(page, 0)
        page.wait_for_function("() => document.querySelector('.negsim-moved-list')"
                               ".innerText.startsWith('Sliders moved')", timeout=30_000)
        assert moved_list(page) == f"Sliders moved: {NORTH_CEASEFIRE} = 1"
        reads(page.locator(".negsim-command"), re.compile(
            re.escape(f" --seed 0 --run 0 --set {NORTH_CEASEFIRE}=1") + "$"))
        step(page, 1, 1)
        after_1 = chart.get_attribute("src")
        step(page, 1, 2)
        page.wait_for_function("src => document.querySelector('.negsim-main img').src !== src",
                               arg=after_1, timeout=30_000)
        after_2 = chart.get_attribute("src")
        after_outcome = outcome(page)
        page.screenshot(path=str(tmp_path / "moved.png"))
    assert traffic.refused == [] and traffic.failed == []
    assert after_2 != before, "moving the slider and Reset did not change the chart"
    assert after_2 != after_1, "a Step did not redraw the chart"
    assert "a ceasefire agreed\t100.0%" in after_outcome
    assert after_outcome != before_outcome


@pytest.fixture(scope="module")
def istanbul_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("istanbul")
    with dashboard(ISTANBUL, folder / "server.log", "--seed", "3", "--runs", "200") as server:
        yield server


@needs_chromium
def test_round_r_of_the_page_is_trace_s_run_r(istanbul_server, capsys):
    """The round slider at 7 with --seed 3: the page tells round 7 as `negsim trace
    --seed 3 --run 7` does (the concession betas of its first event included)."""
    with chromium(port=istanbul_server.port) as (page, traffic):
        page.goto(istanbul_server.url)
        page.get_by_role("button", name="Step").wait_for(timeout=60_000)
        knob = page.locator(".negsim-controls").get_by_role("slider").first
        knob.focus()
        for _ in range(7):
            page.keyboard.press("ArrowRight")
        page.get_by_text("Round: 7").wait_for(timeout=30_000)
        page.get_by_role("button", name="Reset").click()
        page.get_by_text("round 7 of negsim run --seed 3").wait_for(timeout=30_000)
        assert main(["trace", str(ISTANBUL), "--seed", "3", "--run", "7", "--json"]) == 0
        told = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        first = told[0]["text"]
        step(page, 2, 2)
        story = story_with(page, first)
        reads(page.locator(".negsim-command"), f"negsim trace {ISTANBUL} --seed 3 --run 7")
    assert traffic.refused == [] and traffic.failed == []
    assert "beta" in first and story[-1] == f"0 {first}"


@needs_chromium
def test_the_page_fits_a_projector(istanbul_server, tmp_path):
    """At 1280x720 on the Istanbul round: charts at least 500 pixels wide (no
    thumbnails), none reaching past its column or the window (nothing cut off), no
    two panels overlapping, no banner or footer over the page, no horizontal scroll;
    Mesa's internal controls absent; every slider's value in words."""
    with chromium(port=istanbul_server.port) as (page, traffic):
        page.goto(istanbul_server.url)
        for n in range(1, 61):  # until two items are closed
            step(page, 1, n)
            if page.locator(".negsim-items img").count() >= 2:
                break
        # measured at a moment when every chart is decoded (a loaded machine lags
        # behind, and a late re-render can swap a chart for one still loading: the
        # check and the measurement are one function, polled until it answers)
        layout = page.wait_for_function("""() => {
            const main = document.querySelector('.negsim-main');
            const charts = main ? [...main.querySelectorAll('img')] : [];
            if (!charts.length || !charts.every(i => i.complete && i.naturalWidth > 0))
                return null;
            const box = e => { const r = e.getBoundingClientRect();
                               return [r.left, r.top, r.right, r.bottom]; };
            return {
              main: box(main), scroll: [main.scrollWidth, main.clientWidth],
              page: [document.documentElement.scrollWidth, window.innerWidth],
              charts: [...main.querySelectorAll('img')].map(i => [...box(i), i.naturalWidth]),
              cells: [...document.querySelectorAll('.negsim-grid > div')].map(box),
              text: document.body.innerText,
              sliders: document.querySelectorAll('.negsim-slider').length,
              values: [...document.querySelectorAll('.negsim-value')].map(e => e.innerText),
            }; }""", timeout=30_000).json_value()
        page.screenshot(path=str(tmp_path / "projector.png"))
    assert traffic.refused == [] and traffic.failed == []
    left, _, right, _ = layout["main"]
    assert layout["scroll"][0] <= layout["scroll"][1] and layout["page"][0] <= 1280
    assert len(layout["charts"]) >= 4
    for x0, _, x1, _, natural in layout["charts"]:
        assert x1 - x0 >= 400 and natural >= 440, layout["charts"]
        assert left <= x0 and x1 <= right, (layout["main"], layout["charts"])
    cells = layout["cells"]
    for i, a in enumerate(cells):
        for b in cells[i + 1:]:
            overlap = min(a[2], b[2]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[1], b[1])
            assert overlap[0] <= 0 or overlap[1] <= 0, (a, b)
    for hidden in ("Play Interval", "Render Interval", "Use Threads", "runs on Solara"):
        assert hidden not in layout["text"]
    assert layout["sliders"] == len(slider_specs(load_scenario(ISTANBUL)))
    assert all(layout["values"]), layout["values"]


def test_legends_fit_their_figures():
    """The large chart's legend lies inside the figure, with long party names too
    (labels wrapped)."""
    from sim.teach.dashboard_app import DPI, current_item_figure

    long = "A delegation with a very long name indeed, as a file may well give it"
    for path in (ISTANBUL, CLASSROOM):
        model = DashboardRound(settings_class(path, runs=20)())
        for _ in range(15):
            model.step()
        for names in (model.round.setup.party_names, (long, long + " too")):
            model.round.setup = dataclasses.replace(model.round.setup, party_names=names)
            fig = current_item_figure(model)
            canvas = FigureCanvasAgg(fig)
            fig.set_dpi(DPI)
            canvas.draw()
            renderer = canvas.get_renderer()
            box = fig.legends[0].get_window_extent(renderer)
            assert 0 <= box.x0 and box.x1 <= fig.bbox.width, (path, names, box)
            assert 0 <= box.y0 and box.y1 <= fig.bbox.height, (path, names, box)


# --------------------------------------------------------------------------- a package
def figure_png(fig) -> bytes:
    import io

    data = io.BytesIO()
    fig.savefig(data, format="png")
    return data.getvalue()


def words(element) -> str:
    """The text of a page element and its children (reacton elements keep them in
    ``kwargs``)."""
    if isinstance(element, str):
        return element
    children = element.kwargs.get("children", [])
    return " ".join(words(child) for child in children)


def test_a_package_round_on_the_dashboard():
    """River basin (a package, private red lines, caucuses): before the talks the page
    says the mediator caucuses; then the package chart has one panel per issue of the
    text on the table, each drawing the text's value minute by minute against the red
    lines; the story is trace's; closed issues and the agenda are drawn; at the end the
    story puts "What each side really held" on top."""
    from sim.teach.dashboard_app import (
        _closed,
        agenda_figure,
        closed_item_figure,
        current_item_chart,
        current_item_figure,
        story_panel,
    )

    model = DashboardRound(settings_class(RIVER, runs=20)(run=19))
    plenary = int(model.round.plenary_start[0])
    while model.round.minute < plenary - 1:
        model.step()
    assert current_item_figure(model) is None
    waiting = current_item_chart(model)
    assert "Regional Council caucuses with each side" in words(waiting)
    model.step()
    model.step()
    fig = current_item_figure(model)
    open_issues = model.round.history[-1].open_issues
    assert len(fig.axes) == len(open_issues) == 3
    labels = {spec.name: spec.label for spec in model.round.setup.specs}
    assert [ax.get_title().split(":")[0] for ax in fig.axes] == [labels[n] for n in open_issues]
    texts = [line for ax in fig.axes for line in ax.get_lines()
             if line.get_label() == "Regional Council: package text"]
    assert len(texts) == 3
    record = model.round.history[-1]
    for line, name in zip(texts, open_issues, strict=True):
        value = record.text[model.round.setup.issues.index(name)]
        assert np.isnan(value) and np.isnan(line.get_ydata()[-1]) or \
            line.get_ydata()[-1] == value
    assert figure_png(fig)[:8] == b"\x89PNG\r\n\x1a\n"
    while model.running:
        model.step()
    closed = _closed(model)
    status = model.round.status[0]
    assert sorted(closed) == [i for i in range(3) if status[i] != 0]
    for item in closed:
        assert figure_png(closed_item_figure(model, item))[:4] == b"\x89PNG"
    agenda = agenda_figure(model)
    assert agenda.axes[0].get_title() == "the package's issues over time"
    story = words(story_panel(model))
    assert story.index("What each side really held") < story.index("The round ends")
    assert [e.text for e in narrate(model.round, model.case.round.name)] == \
        [e.text for e in narrate(model.round, model.case.round.name, ())]


@needs_chromium
def test_the_page_plays_a_package_round(tmp_path):
    """The page on river basin (without opening statements, so that the caucuses come
    first): through the caucuses to the package text, the chart titled for a package,
    its story telling the text and the sides' answers."""
    river = variant(tmp_path, "river-now.toml", "[round]\nopening_minutes = 0\n", RIVER)
    with dashboard(river, tmp_path / "server.log", "--runs", "50") as server:
        with chromium(port=server.port) as (page, traffic):
            page.goto(server.url)
            page.get_by_role("button", name="Step").wait_for(timeout=60_000)
            assert "caucuses with each side" in page.locator(".negsim-main").inner_text()
            plenary = None
            for n in range(1, 20):
                step(page, 1, n)
                text = page.locator(".negsim-story").inner_text()
                if "puts one text on the table" in text:
                    plenary = n
                    break
            assert plenary is not None
            step(page, 2, plenary + 2)
            story = story_with(page, "Regional Council's text:")
            main_text = page.locator(".negsim-main").inner_text()
            images = page.locator(".negsim-main img").count()
    assert traffic.refused == [] and traffic.failed == []
    assert "The package under discussion" in main_text
    text = next(p for p in story if "Regional Council's text:" in p)
    assert "Upland objects" in text and "Lowland says it still needs" in text, text
    assert images >= 2
