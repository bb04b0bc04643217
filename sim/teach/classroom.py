"""A classroom session (``negsim class``): one server, each student's browser session
a seat and a seed, each finished game written to the class folder.

Seats go round-robin over the scenario's parties (or all to the one ``--as`` names),
in the order sessions open the page; seeds are ``seed + k`` for the k-th session, so
every student plays a variant of the same case (the scenario's ranges drawn anew) and
is compared with the model's rounds of their own seed. The folder:

- ``class.json``: the scenario (path and hash), seats, first seed, the seat fixed;
- ``games/game-K.parquet``: one row a game (``GAME_COLUMNS`` and each issue's
  outcome), a Parquet dataset read whole with ``pandas.read_parquet(DIR / "games")``;
- ``debriefs/game-K.json``: the game's debrief; ``figures/game-K.png`` and ``.svg``: its
  figure; ``clouds/game-K.parquet``: the two main sides' utilities of the model's rounds
  of its seed (the class report's cloud).

Every file is written atomically (``sim.fileio.write_atomically``), the row last, so a
game is in the dataset only once all its files are there.
"""

from __future__ import annotations

import io
import json
import threading
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.fileio import make_folder, write_atomically
from sim.scenario.spec import Scenario
from sim.teach.play import MEDIATOR, Played, role_of
from sim.teach.play_debrief import cloud, debrief, figure
from sim.viz.style import save_figure

MANIFEST = "class.json"
#: The columns of a game's row before its outcome (``<issue>_value`` per agenda issue).
GAME_COLUMNS = ("game", "seat", "seat_name", "seed", "moves", "duration_minutes",
                "walkout_party", "utility", "batna", "percentile", "pareto_distance",
                "nash_distance", "side_a_utility", "side_b_utility")


@dataclass(frozen=True)
class Ticket:
    """A browser session's place in the class: its number, seat and seed."""

    game: int
    seat: str
    seed: int

    @property
    def name(self) -> str:
        return f"game-{self.game:03d}"


class Classroom:
    """The class folder and the seats handed out (thread-safe: one server, many
    sessions)."""

    def __init__(self, scenario: Scenario, out: Path, seats: int, seed: int,
                 fixed: str | None) -> None:
        self.scenario, self.out, self.seats, self.seed = scenario, Path(out), seats, seed
        self.fixed = fixed
        self._lock = threading.Lock()
        self._given = 0

    def manifest(self) -> dict:
        return {"scenario": self.scenario.path, "sha256": self.scenario.sha256,
                "round": self.scenario.round.name, "seats": self.seats, "seed": self.seed,
                "as": self.fixed, "parties": [p.key for p in self.scenario.parties],
                "sides": [p.name for p in self.scenario.parties[:2]]}

    def start(self) -> None:
        """Make the folder and write ``class.json``."""
        for folder in ("games", "debriefs", "figures", "clouds"):
            make_folder(self.out / folder)
        write_atomically(self.out / MANIFEST, json.dumps(self.manifest(), indent=1) + "\n")

    def seat_of(self, k: int) -> str:
        if self.fixed is not None:
            return role_of(self.scenario, self.fixed).key
        parties = self.scenario.parties
        return parties[k % len(parties)].key

    def ticket(self) -> Ticket | None:
        """The next session's seat and seed, or None once every seat is taken."""
        with self._lock:
            while self._given < self.seats and (
                    self.out / "games" / f"game-{self._given:03d}.parquet").exists():
                self._given += 1  # a game of an earlier run of the server stays
            if self._given >= self.seats:
                return None
            k = self._given
            self._given += 1
        return Ticket(k, self.seat_of(k), self.seed + k)

    def write(self, ticket: Ticket, played: Played) -> dict:
        """A finished game's files; returns its debrief."""
        data = debrief(played)
        save_figure(figure(played, data), self.out / "figures", ticket.name)
        points = pd.DataFrame(cloud(played), columns=["side_a_utility", "side_b_utility"])
        write_atomically(self.out / "clouds" / f"{ticket.name}.parquet", _parquet(points))
        write_atomically(self.out / "debriefs" / f"{ticket.name}.json",
                         json.dumps(data, indent=1, allow_nan=False) + "\n")
        write_atomically(self.out / "games" / f"{ticket.name}.parquet",
                         _parquet(game_row(ticket.game, data)))
        return data


def game_row(game: int, data: dict) -> pd.DataFrame:
    """A game's row of the class dataset, from its debrief."""
    row = {"game": game, "seat": data["seat"], "seat_name": data["seat_name"],
           "seed": data["seed"], "moves": data["moves_used"],
           "duration_minutes": data["duration_minutes"],
           "walkout_party": data["walkout_party"], "utility": data["utility"],
           "batna": data["batna"], "percentile": data["percentile"]["utility"],
           "pareto_distance": data["pareto_distance"],
           "nash_distance": data["nash_distance"],
           "side_a_utility": data["point"][0], "side_b_utility": data["point"][1]}
    for issue, value in data["outcome"].items():
        row[f"{issue}_value"] = value
        row[f"{issue}_percentile"] = data["percentile"]["issues"][issue]
    frame = pd.DataFrame([row])
    frame["walkout_party"] = frame["walkout_party"].astype("string")
    return frame


def _parquet(frame: pd.DataFrame) -> bytes:
    data = io.BytesIO()
    frame.to_parquet(data, index=False)
    return data.getvalue()


def is_mediator(seat: str) -> bool:
    return seat.casefold() == MEDIATOR
