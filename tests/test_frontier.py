"""The Pareto frontier of a package round (``sim.viz.frontier``), held to the
logrolling case of tests/test_bargaining.py worked by hand, to brute force on a
three-issue lattice, and drawn by `negsim trace --frontier`."""

from __future__ import annotations

import dataclasses
from itertools import product
from pathlib import Path

import numpy as np
import pytest
from test_bargaining import logroll_text

from sim.cli import main
from sim.scenario.load import load_scenario, parse_scenario
from sim.scenario.spec import Protocol
from sim.teach.trace import play, replicate_setup
from sim.viz import frontier as frontier_module
from sim.viz.frontier import (
    achievable,
    deal_of,
    frontier_figure,
    nash_text,
    pareto_frontier,
    plane_issues,
    undominated,
    utilities,
)

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
RIVER = SCENARIOS / "river-basin.toml"
CLASSROOM = SCENARIOS / "classroom-two-party.toml"

def logroll(protocol: str):
    """test_bargaining's logrolling case: a cares 3:1 for fish, b 3:1 for land."""
    scenario = parse_scenario(logroll_text(protocol), "logroll.toml")
    return play(replicate_setup(scenario, 0, 0, 1))


def by_hand() -> list[tuple[float, float]]:
    """u_a = 0.75 f + 0.25 l, u_b = 0.25 (1 - f) + 0.75 (1 - l) (shares of 100): the
    frontier runs from (0, 1) along l = 0 to the corner f = 100, l = 0 at (0.75, 0.75),
    then along f = 100 to (1, 0); every lattice point of those two edges is on it."""
    edge = [(0.75 * f / 100, 1 - 0.25 * f / 100) for f in range(0, 101, 5)]
    edge += [(0.75 + 0.25 * land / 100, 0.75 - 0.75 * land / 100) for land in range(5, 101, 5)]
    return edge


def test_the_logrolling_frontier_is_the_one_worked_by_hand():
    model = logroll("package")
    issues = plane_issues(model)
    assert issues == (0, 1)
    f = pareto_frontier(model, (0, 1), issues)
    assert f.exact and f.size == 21 * 21
    np.testing.assert_allclose(f.points, np.array(by_hand()), atol=1e-12)
    corners = [tuple(f.points[0]), tuple(f.points[20]), tuple(f.points[-1])]
    np.testing.assert_allclose(corners, [(0, 1), (0.75, 0.75), (1, 0)], atol=1e-12)


def test_the_nash_point_and_the_two_deals_in_the_logrolling_plane():
    """max log u_a + log u_b: increasing along the first edge (0.75 - 0.375 f > 0),
    decreasing along the second: the corner, fish 100 and land 0, (0.75, 0.75). The
    package lands there; item by item splits each issue: (0.5, 0.5), inside."""
    package, sequential = logroll("package"), logroll("sequential")
    x = nash_text(package, (0, 1))
    assert tuple(x) == (100.0, 0.0)
    assert utilities(package, (0, 1), (0, 1), x) == pytest.approx((0.75, 0.75))
    assert deal_of(package, (0, 1), (0, 1), "package").point == pytest.approx((0.75, 0.75))
    assert deal_of(sequential, (0, 1), (0, 1), "sequential").point == pytest.approx((0.5, 0.5))


def test_a_sweep_of_weights_finds_the_supported_points():
    """Forced past its limit, the frontier is traced by weights: it says it is not
    exact, holds the vertices of the concave hull, (0, 1), (0.75, 0.75) and (1, 0), and
    nothing off the frontier (a weight at which a whole edge ties may add a point of it)."""
    f = pareto_frontier(logroll("package"), (0, 1), (0, 1), limit=0)
    assert not f.exact
    exact = np.array(by_hand())
    for vertex in [(0, 1), (0.75, 0.75), (1, 0)]:
        assert np.abs(f.points - vertex).max(axis=1).min() < 1e-9, vertex
    for point in f.points:
        assert np.abs(exact - point).max(axis=1).min() < 1e-9, point


def test_the_exact_frontier_is_brute_force_s_on_three_issues():
    """River basin, replicate 19: every lattice point of the three zones enumerated,
    its undominated pairs kept, against the issue-by-issue frontier."""
    model = play(replicate_setup(load_scenario(RIVER), 0, 19, 10_000))
    setup = model.setup
    issues = tuple(i for i in range(3) if setup.zone_lo[0, i] <= setup.zone_hi[0, i])
    assert len(issues) >= 2
    grids = [np.arange(setup.zone_lo[0, i], setup.zone_hi[0, i] + 1) * setup.step[i]
             for i in issues]
    pairs = []
    for values in product(*grids):
        text = np.full(3, np.nan)
        text[list(issues)] = values
        pairs.append(utilities(model, (0, 1), issues, text))
    brute = undominated(np.array(pairs))
    f = pareto_frontier(model, (0, 1), issues)
    assert f.exact and f.size == len(pairs)
    np.testing.assert_allclose(f.points, brute, atol=1e-12)
    np.testing.assert_allclose(np.sort(achievable(model, (0, 1), issues), axis=0),
                               np.sort(np.array(pairs), axis=0), atol=1e-12)


def test_undominated_keeps_each_efficient_point_once():
    points = np.array([(0, 1), (0.5, 0.5), (0.4, 0.4), (0.5, 0.5), (1, 0), (0.5, 0.2)])
    np.testing.assert_array_equal(undominated(points), [(0, 1), (0.5, 0.5), (1, 0)])


def legend_texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.get_legend().get_texts()]


def test_the_figure_names_what_it_draws(monkeypatch):
    package, sequential = logroll("package"), logroll("sequential")
    fig = frontier_figure(package, sequential, (0, 1), "Logrolling")
    labels = legend_texts(fig)
    assert "Pareto frontier (exact: every one of the 441 lattice points)" in labels
    assert "Nash point (true red lines)" in labels
    assert "package deal (minute 16)" in labels and "sequential deal (minute 32)" in labels
    assert "a's BATNA 0.00" in labels and "b's BATNA 0.00" in labels
    assert "Pareto frontier of the package agreed: fish, land" in fig.get_suptitle()
    monkeypatch.setattr(frontier_module, "LIMIT", 0)
    labels = legend_texts(frontier_figure(package, sequential, (0, 1)))
    assert any(label.startswith("Pareto frontier (supported points: a sweep of") for label in
               labels)


def test_a_long_title_fits_the_figure():
    """The classroom package's issue labels are long: the title wraps inside the
    figure instead of running off both sides."""
    scenario = load_scenario(SCENARIOS / "classroom-package.toml")
    twin = dataclasses.replace(scenario, round=dataclasses.replace(
        scenario.round, protocol=Protocol.SEQUENTIAL))
    package, sequential = (play(replicate_setup(s, 0, 0, 1)) for s in (scenario, twin))
    fig = frontier_figure(package, sequential, (0, 1), scenario.round.name)
    fig.canvas.draw()
    box, title = fig.bbox, fig._suptitle.get_window_extent()
    assert "\n" in fig.get_suptitle()
    assert box.x0 <= title.x0 and title.x1 <= box.x1, (title, box)


def test_trace_draws_the_frontier(tmp_path, capsys):
    """On a package scenario, and on a sequential one (the package protocol is then run
    on the same replicate); --sides by name or key, in either order."""
    for path, sides in ((RIVER, "Lowland,upland"), (CLASSROOM, None)):
        png = tmp_path / f"{path.stem}.png"
        argv = ["trace", str(path), "--run", "19", "--frontier", str(png)]
        assert main(argv + (["--sides", sides] if sides else [])) == 0
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"wrote {png}" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--frontier", "f.png", "--sides", "Upland"], "must name two different sides"),
    (["--frontier", "f.png", "--sides", "Upland,Upland"], "must name two different sides"),
    (["--frontier", "f.png", "--sides", "Upland,Midland"],
     "no side 'midland'; allowed: Upland, Lowland"),
    (["--sides", "Upland,Lowland"], "--sides chooses the plane of --frontier"),
    (["--frontier", "f.pdf"], "--frontier 'f.pdf': the file must end in .png or .svg"),
])
def test_bad_frontier_options_are_one_line_and_exit_2(argv, message, tmp_path, capsys,
                                                       monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["trace", str(RIVER), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not list(tmp_path.iterdir())  # nothing written


def test_the_readme_frontier_command_draws_it(tmp_path, monkeypatch, capsys):
    """README: `negsim trace scenarios/river-basin.toml --run 9 --frontier frontier.png`
    (replicate 9 agrees all three issues in one package; the sequential protocol agrees none
    of them, which the legend says)."""
    from test_cli_conventions import ROOT, readme_command

    command = readme_command("trace scenarios/river-basin.toml")
    assert "--frontier" in command
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    monkeypatch.chdir(tmp_path)
    assert main(command) == 0
    assert (tmp_path / "frontier.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wrote frontier.png" in capsys.readouterr().out
    river = load_scenario(RIVER)
    items = dataclasses.replace(river, round=dataclasses.replace(
        river.round, protocol=Protocol.SEQUENTIAL))
    package = play(replicate_setup(river, 0, 9, 10_000))
    sequential = play(replicate_setup(items, 0, 9, 10_000))
    labels = legend_texts(frontier_figure(package, sequential, (0, 1)))
    assert "package deal (minute 89)" in labels
    assert "sequential deal: agreed 0 of these 3 issues (not a point of this plane)" in labels
