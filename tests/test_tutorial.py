"""docs/tutorial.md runs: every ```sh command (with fewer --runs) and every ```python
block, in a scratch folder; its figures are committed and made by those commands."""

import contextlib
import io
import os
import re
import shlex
from pathlib import Path

import pytest

from sim.cli import build_parser, main
from sim.scenario.load import load_scenario

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "docs" / "tutorial.md"
#: Replicates per batch in the tests: the commands' own --runs are for readers.
RUNS = 40


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", TUTORIAL.read_text(), re.M | re.S)


def commands() -> list[list[str]]:
    found = []
    for block in blocks("sh"):
        for line in block.splitlines():
            if line.strip() and not line.startswith("#"):
                words = shlex.split(line)
                assert words[0] == "negsim", line
                found.append(words[1:])
    return found


def fewer_runs(argv: list[str]) -> list[str]:
    """The command with at most RUNS replicates per batch (a trace's --run kept below)."""
    out = list(argv)
    for i, word in enumerate(out[:-1]):
        if word == "--runs":
            out[i + 1] = str(min(int(out[i + 1]), RUNS))
    return out


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """A folder like the project's: the scenarios (and the calibration they draw from)
    linked in, docs/figures empty."""
    for name in ("scenarios", "calibration"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / "docs" / "figures").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_tutorial_has_commands_and_python():
    assert len(commands()) >= 12 and len(blocks("python")) >= 2


@pytest.mark.parametrize("argv", commands(), ids=lambda argv: " ".join(argv)[:60])
def test_command_runs(argv, scratch, capsys):
    if argv[0] == "dashboard":
        # a server: tests/test_dashboard.py serves it and drives it in a browser; here
        # the command line parses and its scenario loads
        args = build_parser(argv).parse_args(argv)
        load_scenario(args.scenario)
        return
    assert main(fewer_runs(argv)) == 0, capsys.readouterr().err
    if "--figure" in argv:
        figure = scratch / argv[argv.index("--figure") + 1]
        assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("source", blocks("python"), ids=lambda s: s.splitlines()[0][:40])
def test_python_block_runs(source, scratch):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, str(TUTORIAL), "exec"), {})
    assert out.getvalue().strip()


def test_figures_are_committed_and_made_by_the_commands_shown():
    made = {argv[argv.index("--figure") + 1] for argv in commands() if "--figure" in argv}
    shown = set(re.findall(r"!\[[^\]]*\]\((figures/[^)]+)\)", TUTORIAL.read_text()))
    assert {f"docs/{name}" for name in shown} == made
    for name in made:
        assert (ROOT / name).is_file(), name


def test_classroom_numbers_quoted_in_the_tutorial(capsys):
    """The tutorial's exact classroom claims: Boulware 900 in 88 minutes, Conceder 800
    in minute 50, full credibility 700 in minute 15, full pressure 800 in minute 48."""
    classroom = str(ROOT / "scenarios" / "classroom-two-party.toml")
    cases = [("parties.northland.concession=0.3", 900, 88),
             ("parties.northland.concession=3", 800, 56),
             ("mediator.credibility=1.0", 700, 21),
             ("mediator.pressure=1.0", 800, 54),
             ("parties.southland.exchange_willingness=0.25", 700, 81)]
    for setting, exchange, duration in cases:
        assert main(["trace", classroom, "--json", "--set", setting]) == 0
        end = capsys.readouterr().out.splitlines()[-1]
        assert f'"pow_exchange_value": {float(exchange)},' in end, setting
        assert f'"duration_minutes": {duration}.0' in end, setting
    assert os.path.basename(classroom) in TUTORIAL.read_text()
