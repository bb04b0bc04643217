"""`negsim dashboard`: the model behind it, and the page in a real (headless) browser,
offline."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from sim.cli import main
from sim.scenario.load import load_scenario
from sim.teach.dashboard import DashboardRound, settings_class, slider_specs

ROOT = Path(__file__).resolve().parent.parent
CLASSROOM = ROOT / "scenarios" / "classroom-two-party.toml"
JUNE = ROOT / "scenarios" / "june-20-30-2025.toml"
CHROMIUM = "/usr/bin/chromium"
NORTH_CEASEFIRE = "parties.northland.issues.ceasefire.conditions_red_line"


def test_sliders_start_at_the_files_values_and_stay_valid():
    """Every slider at either end gives a valid scenario (a red line's slider stops at
    the side's ideal); untouched sliders change nothing."""
    for path in (CLASSROOM, JUNE):
        specs = slider_specs(load_scenario(path))
        Settings = settings_class(path, specs, runs=50)
        assert DashboardRound(Settings()).moved == {}
        for spec in specs:
            assert spec.low <= spec.value <= spec.high, spec
        for end in ("low", "high"):
            model = DashboardRound(Settings(**{s.key: getattr(s, end) for s in specs}))
            assert model.problem == "", (path, end, model.problem)


def test_a_moved_slider_changes_the_round():
    """Northland conceding the ceasefire's conditions up to Southland's 0.6 opens a
    zone: a ceasefire in every classroom round."""
    specs = slider_specs(load_scenario(CLASSROOM))
    Settings = settings_class(CLASSROOM, specs, runs=50)
    before = DashboardRound(Settings())
    after = DashboardRound(Settings(**{NORTH_CEASEFIRE: 0.6}))
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


def test_dashboard_command_rejects_a_broken_scenario(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[round\n")
    assert main(["dashboard", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.toml" in err and "not valid TOML" in err and err.count("\n") == 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    """`negsim dashboard` on a free loopback port, for the classroom round without its
    opening statements (the items start at once); stopped (by its process group, which
    it leads) at the end."""
    variant = tmp_path / "classroom-no-opening.toml"
    variant.write_text(f'extends = "{CLASSROOM}"\n[round]\nopening_minutes = 0\n')
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "dashboard", str(variant), "--port", str(port),
         "--runs", "100"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode() if process.poll() is not None else ""
                pytest.fail(f"the dashboard did not start: {output[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        process.stdout.close()


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM} (Debian's "
                    "chromium package; .ci/run installs it)")
def test_page_in_a_browser_offline(server, tmp_path):
    """The page renders with every request off this machine refused; moving a slider
    and Reset change the round and the outcome panel; each Step redraws the chart."""
    from playwright.sync_api import sync_playwright

    external = []

    def only_local(route):
        if route.request.url.startswith("http://127.0.0.1"):
            route.continue_()
        else:
            external.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.route("**/*", only_local)
            page.goto(server)
            step = page.get_by_role("button", name="Step")
            step.wait_for(timeout=60_000)

            def steps(n: int, until: int) -> None:
                for _ in range(n):
                    step.click()
                page.get_by_text(f"Time: {until}.0").wait_for(timeout=30_000)

            def chart() -> str:
                image = page.locator("img").first
                image.wait_for(timeout=30_000)
                return image.get_attribute("src")

            def outcome() -> str:
                return page.get_by_text("ceasefire of any kind").locator("xpath=..").inner_text()

            steps(2, 2)
            before, before_outcome = chart(), outcome()
            assert "0.0%" in before_outcome

            label = page.get_by_text("Northland: red line on ceasefire (conditions, general)")
            slider = label.locator("xpath=ancestor::div[contains(@class, 'v-input')][1]")
            slider.get_by_role("slider").focus()
            page.keyboard.press("End")  # all the way: Northland accepts any conditions
            page.get_by_role("button", name="Reset").click()
            page.get_by_text("Time: 0.0").wait_for(timeout=30_000)
            page.wait_for_function("() => !document.body.innerText.includes("
                                   "'ceasefire of any kind (level >= 1)\\t0.0%')",
                                   timeout=30_000)
            steps(1, 1)
            after_1 = chart()
            steps(1, 2)
            page.wait_for_function("src => document.querySelector('img').src !== src",
                                   arg=after_1, timeout=30_000)
            after_2 = chart()
            after_outcome = outcome()
            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
        finally:
            browser.close()
    assert external == [], f"the page asked for resources off this machine: {external}"
    assert after_2 != before, "moving the slider and Reset did not change the chart"
    assert after_2 != after_1, "a Step did not redraw the chart"
    assert "100.0%" in after_outcome and after_outcome != before_outcome
