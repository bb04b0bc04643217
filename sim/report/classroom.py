"""The report of a classroom session (``negsim class-report DIR``): the class's games
against the model's distribution and against each other, as ``report.md`` and a
self-contained ``report.html`` in the class folder (``sim.report.html``'s blocks).

It reads what ``negsim class`` wrote (``sim.teach.classroom``): ``class.json``, the
games' dataset ``games/*.parquet`` (one row a game) and the model's rounds of each
game's seed ``clouds/*.parquet``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.fileio import write_atomically
from sim.report.html import Block, FigureBlock, Heading, Paragraph, Table, to_html, to_markdown
from sim.viz.debrief import class_figure
from sim.viz.style import save_figure

#: The files a class folder holds (written by ``sim.teach.classroom``).
MANIFEST, GAMES, CLOUDS = "class.json", "games", "clouds"


@dataclass(frozen=True)
class ClassResults:
    manifest: dict
    games: pd.DataFrame  # one row a game, by game number
    cloud: pd.DataFrame  # the model's rounds of every game's seed
    folder: Path


def load_class(folder: str | Path) -> ClassResults:
    """A class folder read back; a folder that is not one raises ``InputError``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "", "no such folder: name the --out folder of negsim class")
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise InputError(folder, "", f"is not a class folder (no {MANIFEST}): name the "
                         "--out folder of negsim class")
    try:
        manifest = json.loads(manifest_path.read_text("utf-8"))
    except (ValueError, OSError) as error:
        raise InputError(manifest_path, "", f"cannot be read: {error}") from None
    parts = sorted((folder / GAMES).glob("game-*.parquet"))
    if not parts:
        raise InputError(folder, "", f"holds no finished game yet ({GAMES}/game-*.parquet)")
    games = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    games = games.sort_values("game").reset_index(drop=True)
    clouds = [pd.read_parquet(folder / CLOUDS / p.name) for p in parts
              if (folder / CLOUDS / p.name).is_file()]
    cloud = pd.concat(clouds, ignore_index=True) if clouds else pd.DataFrame(
        {"side_a_utility": [], "side_b_utility": []})
    return ClassResults(manifest, games, cloud, folder)


def class_numbers(games: pd.DataFrame) -> dict:
    """The numbers the report's text states, from the games' rows."""
    return {"games": len(games),
            "median_percentile": float(games["percentile"].median()),
            "above_median": int((games["percentile"] > 50).sum()),
            "median_pareto_distance": float(games["pareto_distance"].median()),
            "on_frontier": int((games["pareto_distance"] <= 1e-9).sum())}


def _f(x, digits: int = 3) -> str:
    return "-" if x is None or pd.isna(x) else f"{x:.{digits}f}"


def class_blocks(results: ClassResults, figure: dict[str, list[Path]]) -> list[Block]:
    games, manifest = results.games, results.manifest
    numbers = class_numbers(games)
    issues = [c.removesuffix("_value") for c in games.columns if c.endswith("_value")]
    rows = tuple((str(int(g["game"]) + 1), str(g["seat_name"]), str(int(g["seed"])),
                  str(int(g["moves"])), _f(g["utility"]), _f(g["batna"]),
                  _f(g["percentile"], 1), _f(g["pareto_distance"]), _f(g["nash_distance"]),
                  *(_f(g[f"{i}_value"], 2) for i in issues))
                 for _, g in games.iterrows())
    by_seat = tuple(
        (str(seat), str(len(group)), _f(group["utility"].median()),
         _f(group["percentile"].median(), 1), str(int((group["percentile"] > 50).sum())),
         _f(group["pareto_distance"].median()))
        for seat, group in games.groupby("seat_name", sort=True))
    png, svg = figure["class-plane"]
    seats = (f"all {manifest['as']}" if manifest.get("as") else
             "round-robin over " + ", ".join(manifest["parties"]))
    return [
        Heading(1, f"{manifest['round']}: a class of {numbers['games']} games"),
        Paragraph(f"Scenario {manifest['scenario']}; seats {seats}; seeds from "
                  f"{manifest['seed']}. Each game is compared with the model's "
                  "own agent in the same seat over the rounds of its seed (percentile 0-100, "
                  "valued by the student's own preferences).", note=True),
        Paragraph(f"The class's median percentile is {numbers['median_percentile']:.1f}: "
                  f"{numbers['above_median']} of {numbers['games']} games did better than the "
                  f"model's median. The median value left on the table (distance to the Pareto "
                  f"frontier) is {numbers['median_pareto_distance']:.3f}; "
                  f"{numbers['on_frontier']} of {numbers['games']} games ended on the frontier."),
        Heading(2, "By seat"),
        Table(("seat", "games", "median utility", "median percentile", "above the model's "
               "median", "median distance to the frontier"), by_seat, numeric=(1, 2, 3, 4, 5)),
        Heading(2, "Every game"),
        Table(("game", "seat", "seed", "moves", "utility", "BATNA", "percentile",
               "to the frontier", "to the Nash point", *issues), rows,
              numeric=tuple(range(2, 9 + len(issues)))),
        FigureBlock("The class on the utility plane",
                    "Each game's outcome (both main sides' utilities, each by its own "
                    "round's preferences) among the model's rounds of the same seeds.",
                    png, svg),
        Paragraph("Made by negsim class-report from the games in this folder (games/, one "
                  "row a game; figures/ holds each game's debrief figure).", note=True)]


def write_class_report(results: ClassResults) -> list[Path]:
    """The class figure, ``report.md`` and ``report.html`` in the class folder."""
    games = results.games
    points = {str(seat): group[["side_a_utility", "side_b_utility"]].to_numpy()
              for seat, group in games.groupby("seat_name")}
    sides = results.manifest.get("sides") or ["first side", "second side"]
    fig = class_figure(f"{results.manifest['round']}: the class among the model's rounds",
                       sides, np.empty((0, 2)), None,
                       results.cloud[["side_a_utility", "side_b_utility"]].to_numpy(), points)
    folder = results.folder
    figure = {"class-plane": save_figure(fig, folder / "figures", "class-plane")}
    blocks = class_blocks(results, figure)
    markdown, page = folder / "report.md", folder / "report.html"
    write_atomically(markdown, to_markdown(blocks, folder))
    write_atomically(page, to_html(blocks, f"{results.manifest['round']}: class report"))
    return [*figure["class-plane"], markdown, page]
