"""`negsim play` and `negsim class` in a real (headless) browser at a projector's
1280x720, offline: a whole round played through the page's controls as a delegation
and as the mediator, the page's game equal to the same moves from a file, and a class
of two sessions written to its folder and reported. The screenshots are
docs/classroom.md's."""

from __future__ import annotations

import contextlib
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

from sim.cli import main

ROOT = Path(__file__).resolve().parent.parent
CLASSROOM = ROOT / "scenarios" / "classroom-two-party.toml"
SHOTS = ROOT / "docs" / "figures"


@contextlib.contextmanager
def serving(log: Path, *args: str):
    """`negsim ARGS --port P` until its page answers; stopped (SIGTERM) after."""
    port = free_port()
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "sim.cli", *args, "--port",
                                    str(port)], stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}/", port, process, log)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(server.url, timeout=5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the server did not start: {server.output()[-3000:]}")
                time.sleep(0.5)
        yield server
    finally:
        server.stop()


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
def test_a_delegation_plays_a_round_on_the_page_as_a_file_would(tmp_path):
    """As Northland: conditions 0.1 and 1,000 prisoners, then Hold at every turn. The
    debrief on the page and in --debrief says what `negsim play --moves` says of the
    same moves, to the byte."""
    out = tmp_path / "page.json"
    with serving(tmp_path / "server.log", "play", str(CLASSROOM), "--as", "northland",
                 "--debrief", str(out)) as server, \
            chromium(port=server.port) as (page, traffic):
        page.goto(server.url)
        page.get_by_role("button", name="Offer").wait_for(timeout=60_000)
        page.screenshot(path=str(SHOTS / "classroom-play-turn.png"))
        first = page.locator("body").inner_text()
        page.get_by_label(re.compile("^ceasefire")).fill("0.1")
        page.get_by_label(re.compile("^pow_exchange")).fill("1000")
        page.get_by_role("button", name="Offer").click()
        page.get_by_text("Moves made: 1").wait_for(timeout=30_000)
        hold_until_the_end(page)
        summary = page.locator(".play-summary").inner_text()
        page.screenshot(path=str(SHOTS / "classroom-play-debrief.png"))
    assert traffic.refused == [] and traffic.failed == []
    assert all(is_local(url, server.port) for url in traffic.requests)
    for shown in ("Your role: Northland", "Private: only you know this.", "Public",
                  "What you believe of the others' red lines", "On the table", "Your move",
                  "The round so far (latest first)", "minute 10", "Walk out"):
        assert shown.casefold() in first.casefold(), shown
    assert server.output().rstrip().endswith("negsim play: stopped")
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
def test_the_mediator_plays_a_round_on_the_page(tmp_path):
    """As Midland: set the ceasefire aside, propose 700 prisoners per side and let the
    text stand: agreed at 700, the Nash point (no distance to it)."""
    out = tmp_path / "mediator.json"
    with serving(tmp_path / "server.log", "play", str(CLASSROOM), "--as", "mediator",
                 "--debrief", str(out)) as server, \
            chromium(port=server.port) as (page, traffic):
        page.goto(server.url)
        page.get_by_role("button", name="Set aside ceasefire").click(timeout=60_000)
        page.get_by_text("Moves made: 1").wait_for(timeout=30_000)
        page.get_by_label(re.compile("^pow_exchange")).fill("750")
        page.get_by_role("button", name="Propose the text").click()
        page.get_by_text("pow_exchange = 750.0 is off the lattice").wait_for(timeout=30_000)
        assert page.get_by_text("Moves made: 1").count() == 1  # the bad move changed nothing
        page.get_by_label(re.compile("^pow_exchange")).fill("700")
        page.get_by_role("button", name="Propose the text").click()
        page.get_by_text("Moves made: 2").wait_for(timeout=30_000)
        page.screenshot(path=str(SHOTS / "classroom-play-mediator.png"))
        hold_until_the_end(page)
        distances = page.locator(".play-distances").inner_text()
    assert traffic.refused == [] and traffic.failed == []
    data = json.loads(out.read_text())
    assert data["seat"] == "mediator" and data["outcome"]["pow_exchange"] == 700.0
    assert data["nash_distance"] == 0.0 and "distance to the Nash point: 0.000" in distances


@needs_chromium
def test_a_class_of_two_sessions_writes_two_games_and_a_report(tmp_path, capsys):
    """Two browser sessions: Northland with seed 0, Southland with seed 1 (round-robin);
    each walks out at its first turn; a third session finds the class full. The class
    folder holds one row a game, and class-report's sentence is the rows' numbers."""
    folder = tmp_path / "class"
    from playwright.sync_api import sync_playwright

    with serving(tmp_path / "server.log", "class", str(CLASSROOM), "--seats", "2",
                 "--out", str(folder)) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            for k in range(2):
                page = browser.new_context(viewport=PROJECTOR).new_page()
                page.goto(server.url)
                page.get_by_role("button", name="Walk out").click(timeout=60_000)
                page.locator(".play-debrief img").wait_for(timeout=60_000)
                if k == 0:
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
    for name in ("game-000", "game-001"):
        assert (folder / "figures" / f"{name}.png").is_file()
        assert json.loads((folder / "debriefs" / f"{name}.json").read_text())["moves"] == [
            {"walk_out": True}]
    capsys.readouterr()
    assert main(["class-report", str(folder)]) == 0
    report = (folder / "report.md").read_text()
    median = games["percentile"].median()
    above = int((games["percentile"] > 50).sum())
    assert (f"The class's median percentile is {median:.1f}: {above} of 2 games did better "
            "than the model's median.") in report
    assert "Northland" in (folder / "report.html").read_text()


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
