"""`negsim play` and `negsim class` in a real (headless) browser at a projector's
1280x720, offline: a whole round played through the page's controls as a delegation
and as the mediator, the page's game equal to the same moves from a file, and a class
of two sessions written to its folder and reported. The screenshots are
docs/classroom.md's."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from browser import (
    CHROMIUM,
    FLAGS,
    PROJECTOR,
    Server,
    chromium,
    free_port,
    is_local,
    needs_chromium,
)
from test_pages_safe import NAMES, hostile_scenario

from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent
CLASSROOM = ROOT / "scenarios" / "classroom-two-party.toml"
SHOTS = ROOT / "docs" / "figures"


def start(log: Path, *args: str) -> Server:
    """`negsim ARGS --port P`, started (not yet answering)."""
    port = free_port()
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "sim.cli", *args, "--port",
                                    str(port)], stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    return Server(f"http://127.0.0.1:{port}/", port, process, log)


def wait_up(server: Server) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(server.url, timeout=5):
                return
        except OSError:
            if server.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server did not start: {server.output()[-3000:]}")
            time.sleep(0.3)


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """The servers of this file, started at once (each takes seconds to import Solara;
    together they take little more than one): `play` as Northland and as the mediator
    (each writing its debrief), a class of two seats, and `play` of a scenario with
    hostile names (tests/test_pages_safe.py); stopped (SIGTERM) after."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    folder = tmp_path_factory.mktemp("play-page")
    started = {
        "northland": start(folder / "northland.log", "play", str(CLASSROOM), "--as",
                           "northland", "--debrief", str(folder / "northland.json")),
        "mediator": start(folder / "mediator.log", "play", str(CLASSROOM), "--as",
                          "mediator", "--debrief", str(folder / "mediator.json")),
        "class": start(folder / "class.log", "class", str(CLASSROOM), "--seats", "2",
                       "--out", str(folder / "class")),
        "hostile": start(folder / "hostile.log", "play", str(hostile_scenario(folder)),
                         "--as", "southland")}
    try:
        for server in started.values():
            wait_up(server)
        yield folder, started
    finally:
        for server in started.values():
            server.stop()


def settled(page) -> None:
    """Wait until the page has faded in (Solara's app fades in after it renders), so a
    screenshot shows it as a student sees it."""
    page.wait_for_function(
        """() => { for (let e = document.querySelector('.play-header'); e; e = e.parentElement)
                     if (getComputedStyle(e).opacity !== '1') return false;
                   return document.getAnimations().every(a => a.playState !== 'running'); }""",
        timeout=30_000)


def hold_until_the_end(page, button: str = "Hold") -> None:
    """Press ``button`` at each turn until the debrief shows."""
    for _ in range(40):
        if page.locator(".play-debrief").count():
            break
        count = page.get_by_text(re.compile(r"Moves made: \d+")).inner_text()
        page.get_by_role("button", name=button, exact=True).click()
        page.wait_for_function(
            "([text]) => !document.body.innerText.includes(text)", arg=[count],
            timeout=30_000)
    page.locator(".play-debrief img").wait_for(timeout=60_000)


@needs_chromium
def test_a_delegation_plays_a_round_on_the_page_as_a_file_would(servers, tmp_path):
    """As Northland: conditions 0.1 and 1,000 prisoners, then Hold at every turn. The
    page shows what docs/classroom.md says it does; the debrief on the page and in
    --debrief says what `negsim play --moves` says of the same moves, to the byte."""
    folder, started = servers
    server, out = started["northland"], folder / "northland.json"
    with chromium(port=server.port) as (page, traffic):
        page.goto(server.url)
        page.get_by_role("button", name="Offer").wait_for(timeout=60_000)
        settled(page)
        page.screenshot(path=str(SHOTS / "classroom-play-turn.png"))
        first = page.locator("body").inner_text()
        clock = page.locator(".play-header .play-clock").inner_text()
        buttons = page.locator(".play-middle button").all_inner_texts()
        page.get_by_label(re.compile("^ceasefire")).fill("0.1")
        page.get_by_label(re.compile("^pow_exchange")).fill("1000")
        page.get_by_role("button", name="Offer").click()
        page.get_by_text("Moves made: 1").wait_for(timeout=30_000)
        hold_until_the_end(page)
        summary = page.locator(".play-summary").inner_text()
        settled(page)
        page.screenshot(path=str(SHOTS / "classroom-play-debrief.png"))
    assert traffic.refused == [] and traffic.failed == []
    assert all(is_local(url, server.port) for url in traffic.requests)
    for shown in ("Your role: Northland", "Private: only you know this.", "Public",
                  "What you believe of the others' red lines", "On the table", "Your move",
                  "The round so far (latest first)", "BATNA (no agreement)", "ideal",
                  "red line", "weight", "wants more", "wants less"):
        assert shown.casefold() in first.casefold(), shown
    assert clock == "minute 10"  # the clock, in simulated minutes, in the header
    for button in ("Offer", "Accept the text", "Reject", "Hold", "Caucus", "Walk out"):
        assert any(b.strip().casefold() == button.casefold() for b in buttons), (button,
                                                                                   buttons)
    assert "Your utility 0.125 against your BATNA 0.000: percentile 100.0" in summary
    page_data = json.loads(out.read_text())
    assert page_data["outcome"] == {"ceasefire": None, "pow_exchange": 1000.0}
    assert page_data["moves"][0] == {"offer": {"ceasefire": 0.1, "pow_exchange": 1000.0}}
    assert all(m == {"hold": True} for m in page_data["moves"][1:])
    moves = tmp_path / "moves.jsonl"
    moves.write_text("".join(json.dumps(m) + "\n" for m in page_data["moves"]))
    scripted = tmp_path / "scripted.json"
    assert main(["play", str(CLASSROOM), "--as", "northland", "--moves", str(moves),
                 "--debrief", str(scripted)]) == 0
    assert scripted.read_text() == out.read_text()


@needs_chromium
def test_the_mediator_plays_a_round_on_the_page(servers):
    """As Midland: set the ceasefire aside, propose 700 prisoners per side and let the
    text stand: agreed at 700, the Nash point (no distance to it). The role card shows
    what the mediator believes of each side."""
    folder, started = servers
    server, out = started["mediator"], folder / "mediator.json"
    with chromium(port=server.port) as (page, traffic):
        page.goto(server.url)
        page.get_by_role("button", name="Propose the text").wait_for(timeout=60_000)
        card = page.locator(".play-card").inner_text()
        page.get_by_role("button", name="Set aside ceasefire").click(timeout=60_000)
        page.get_by_text("Moves made: 1").wait_for(timeout=30_000)
        page.get_by_label(re.compile("^pow_exchange")).fill("750")
        page.get_by_role("button", name="Propose the text").click()
        page.get_by_text("pow_exchange = 750.0 is off the lattice").wait_for(timeout=30_000)
        assert page.get_by_text("Moves made: 1").count() == 1  # the bad move changed nothing
        page.get_by_label(re.compile("^pow_exchange")).fill("700")
        page.get_by_role("button", name="Propose the text").click()
        page.get_by_text("Moves made: 2").wait_for(timeout=30_000)
        settled(page)
        page.screenshot(path=str(SHOTS / "classroom-play-mediator.png"))
        hold_until_the_end(page)
        distances = page.locator(".play-distances").inner_text()
    assert traffic.refused == [] and traffic.failed == []
    data = json.loads(out.read_text())
    assert data["seat"] == "mediator" and data["outcome"]["pow_exchange"] == 700.0
    assert data["nash_distance"] == 0.0 and "distance to the Nash point: 0.000" in distances
    assert "Your role: the mediator, Midland" in card
    assert "What you believe of the others' red lines" in card
    assert "Northland" in card and "Southland" in card


@needs_chromium
def test_a_class_of_two_sessions_writes_two_games_and_a_report(servers, capsys):
    """Two browser sessions: Northland with seed 0, Southland with seed 1 (round-robin);
    each walks out at its first turn; a third session finds the class full. The class
    folder holds one row a game with the columns docs/classroom.md names, and
    class-report's sentence is the rows' numbers."""
    from playwright.sync_api import sync_playwright

    top, started = servers
    server, folder = started["class"], top / "class"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            for k in range(2):
                page = browser.new_context(viewport=PROJECTOR).new_page()
                page.goto(server.url)
                page.get_by_role("button", name="Walk out").click(timeout=60_000)
                page.locator(".play-debrief img").wait_for(timeout=60_000)
                if k == 0:
                    settled(page)
                    page.screenshot(path=str(SHOTS / "classroom-class-game.png"))
            page = browser.new_context(viewport=PROJECTOR).new_page()
            page.goto(server.url)
            page.get_by_text("Every seat of this class is taken").wait_for(timeout=60_000)
        finally:
            browser.close()
    games = pd.read_parquet(folder / "games").sort_values("game")
    assert list(games["seat"]) == ["northland", "southland"]
    assert list(games["seed"]) == [0, 1] and list(games["moves"]) == [1, 1]
    assert list(games["walkout_party"]) == ["Northland", "Southland"]
    for column in ("seat", "seed", "moves", "ceasefire_value", "pow_exchange_value",
                   "ceasefire_percentile", "pow_exchange_percentile", "utility", "batna",
                   "percentile", "pareto_distance", "nash_distance"):
        assert column in games.columns, column
    assert {p.name for p in (folder / "games").iterdir()} == {"game-000.parquet",
                                                              "game-001.parquet"}
    for name in ("game-000", "game-001"):
        assert (folder / "figures" / f"{name}.png").is_file()
        assert (folder / "figures" / f"{name}.svg").is_file()
        assert json.loads((folder / "debriefs" / f"{name}.json").read_text())["moves"] == [
            {"walk_out": True}]
    capsys.readouterr()
    assert main(["class-report", str(folder)]) == 0
    report = (folder / "report.md").read_text()
    median = games["percentile"].median()
    above = int((games["percentile"] > 50).sum())
    assert (f"The class's median percentile is {median:.1f}: {above} of 2 games did better "
            "than the model's median.") in report
    for section in ("## By seat", "## Every game", "The class on the utility plane"):
        assert section in report, section
    html = (folder / "report.html").read_text()
    assert "Northland" in html and "<img" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # self-contained


def test_class_report_refuses_a_folder_that_is_not_a_class(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "started").mkdir()
    (tmp_path / "started" / "class.json").write_text("{}")
    for name, message in (("missing", "no such folder"),
                          ("empty", "is not a class folder (no class.json)"),
                          ("started", "holds no finished game yet")):
        assert main(["class-report", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err


@needs_chromium
def test_names_from_the_scenario_are_shown_as_typed(servers):
    """A scenario whose round, party and mediator names hold HTML, Markdown and Vue
    template attacks (tests/test_pages_safe.py): on the play page, through a walk-out
    to the debrief, every name is shown as typed; nothing runs, nothing is fetched."""
    server = servers[1]["hostile"]
    with chromium(port=server.port) as (page, traffic):
        page.goto(server.url)
        page.get_by_role("button", name="Walk out").click(timeout=60_000)
        page.locator(".play-debrief img").wait_for(timeout=60_000)
        text = page.evaluate("() => document.body.innerText")
        ran = page.evaluate("() => typeof window.__x")
        injected = page.evaluate("""() => [
            ...document.querySelectorAll('[onerror], [onload], [onmouseover]')].length
            + [...document.scripts].filter(s => s.text.includes('__x')).length
            + [...document.images].filter(i => i.src.includes('203.0.113')).length""")
    assert ran == "undefined" and injected == 0
    assert traffic.refused == [] and traffic.failed == []
    assert all(is_local(url, server.port) for url in traffic.requests), traffic.requests
    for name in NAMES:
        assert " ".join(name.split()) in " ".join(text.split()), name
