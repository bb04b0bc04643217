"""What the browser tests share: `negsim dashboard` on a free loopback port, headless
Chromium (Playwright) that records every request, and the check that a page asked
nothing of another machine."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"no Chromium at {CHROMIUM} (Debian's chromium package; .ci/run installs it)")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync"]
PROJECTOR = {"width": 1280, "height": 720}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running `negsim dashboard`: its address, process (which leads its own process
    group) and the file its output goes to."""

    url: str
    port: int
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM to the process group (negsim and anything it left behind), then
        SIGKILL to what is left of it after 20 seconds."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def start_dashboard(scenario: Path, log: Path, *args: str, timeout: float = 120) -> Server:
    """`negsim dashboard SCENARIO --port P ARGS`, once its page answers."""
    port = free_port()
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "sim.cli", "dashboard", str(scenario), "--port", str(port),
             *args], stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}/", port, process, log)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(server.url, timeout=5) as response:
                if response.status == 200:
                    return server
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            pytest.fail(f"the dashboard did not start: {server.output()[-3000:]}")
        time.sleep(0.5)


@contextlib.contextmanager
def dashboard(scenario: Path, log: Path, *args: str) -> Iterator[Server]:
    server = start_dashboard(scenario, log, *args)
    try:
        yield server
    finally:
        server.stop()


def is_local(url: str, port: int | None = None) -> bool:
    """A request this machine answers: the server (on ``port`` if given), or the page's
    own ``blob:``/``data:`` URLs; ``file:`` for a report opened from disk."""
    origin = "http://127.0.0.1" + (f":{port}/" if port else "")
    return url.startswith((origin, f"blob:{origin}", "data:", "file:"))


@dataclass
class Traffic:
    """Every request a page made, those refused (off this machine) and the responses
    that failed (status 400 or more)."""

    requests: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


@contextlib.contextmanager
def chromium(viewport: dict | None = None, port: int | None = None
             ) -> Iterator[tuple[object, Traffic]]:
    """A new page in headless Chromium whose requests off this machine are recorded
    and refused; yields ``(page, traffic)``."""
    from playwright.sync_api import sync_playwright

    traffic = Traffic()

    def only_local(route) -> None:
        url = route.request.url
        if is_local(url, port):
            route.continue_()
        else:
            traffic.refused.append(url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport=viewport or PROJECTOR)
            page.on("request", lambda request: traffic.requests.append(request.url))
            page.on("response", lambda response: response.status >= 400 and
                    traffic.failed.append(f"{response.status} {response.url}"))
            page.route("**/*", only_local)
            yield page, traffic
        finally:
            browser.close()
