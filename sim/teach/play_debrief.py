"""The debrief of a played game: how well the person did, against the model's own agent
in the same seat and against what the sides could have reached.

- ``outcome``: each agenda issue's agreed value (a compound issue: its conditions, its
  level in ``levels``), null where not agreed;
- ``utility`` and ``batna``: the seat's (``sim.teach.utility_plane``: an issue not
  agreed counts the BATNA); the mediator's seat is scored by the mean of the sides'
  utilities (and their BATNAs): a mediator serves the sides' joint gains;
- ``percentile`` (0-100, mid-rank): where that utility falls among the rounds of the
  game's own batch, ``negsim run SCENARIO --seed S --runs COMPARISON_RUNS``, the
  model's agent in the seat — every round's outcome valued by the person's own
  preferences, so that the rounds are compared on one scale — and per issue, the
  same for each issue's utility;
- ``pareto_distance``: value left on the table, the distance on the plane of the two
  main sides' utilities from the outcome to the nearest frontier point at least as good
  for both (``utility_plane.frontier``, exact); ``nash_distance``: to the Nash point;
- ``revealed``: the other sides' red lines, ideals and BATNAs as drawn for the round,
  and what the seat believed of them at the end (intervals) — told only now;
- ``transcript``: the round minute by minute (``play_transcript``), and ``moves``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from sim.batch.chunks import run_scenario
from sim.fileio import write_atomically
from sim.model.agents import ItemStatus
from sim.model.outcomes import value_column
from sim.model.parameters import RoundSetup
from sim.teach import utility_plane as plane
from sim.teach.play import COMPARISON_RUNS, Played
from sim.teach.play_transcript import transcript
from sim.teach.trace import render
from sim.viz.debrief import debrief_figure
from sim.viz.style import save_figure

#: Batches kept in memory by (scenario hash, seed): a class plays a few seeds.
_BATCHES: dict[tuple[str, int], pd.DataFrame] = {}
_KEEP = 16


def batch(played: Played) -> pd.DataFrame:
    """The game's batch (``negsim run --seed S --runs COMPARISON_RUNS``), computed once
    per scenario and seed."""
    game = played.game
    key = (game.scenario.sha256, game.seed)
    if key not in _BATCHES:
        if len(_BATCHES) >= _KEEP:
            _BATCHES.pop(next(iter(_BATCHES)))
        _BATCHES[key] = run_scenario(game.scenario, COMPARISON_RUNS, game.seed)
    return _BATCHES[key]


def batch_values(frame: pd.DataFrame, setup: RoundSetup) -> np.ndarray:
    """``(N, I)``: each round's agreed value on each agenda issue, NaN where none."""
    columns = []
    for spec in setup.specs:
        agreed = frame[f"{spec.name}_agreed"].to_numpy(dtype=bool)
        value = frame[value_column(spec)].to_numpy(dtype=float)
        columns.append(np.where(agreed, value, np.nan))
    return np.stack(columns, axis=1)


def game_values(played: Played) -> np.ndarray:
    """``(I,)``: the game's agreed values, NaN where none."""
    model = played.model
    return np.where(model.status[0] == ItemStatus.AGREED, model.value[0], np.nan)


def seat_scores(values: np.ndarray, prefs: plane.Preferences, party: int | None
                ) -> tuple[np.ndarray, np.ndarray]:
    """The seat's utility of outcomes ``values`` ``(..., I)`` and of each issue
    ``(..., I)`` (the mediator: the sides' mean)."""
    per_issue = plane.issue_utilities(values, prefs)  # (..., P, I)
    total = (per_issue * prefs.weight).sum(axis=-1)
    if party is None:
        return total.mean(axis=-1), per_issue.mean(axis=-2)
    return total[..., party], per_issue[..., party, :]


def _json_number(x: float) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else round(float(x), 9)


def debrief(played: Played) -> dict:
    """The debrief of a finished game (module docstring), as JSON-ready data."""
    if not played.over:
        raise ValueError("the round is not over: no debrief yet")
    game, model = played.game, played.model
    setup, role = game.setup, game.role
    prefs = plane.Preferences.of(setup)
    values = game_values(played)
    utility, issue_u = seat_scores(values, prefs, role.party)
    batna = float(prefs.batna.mean() if role.party is None else prefs.batna[role.party])
    rounds = batch_values(batch(played), setup)
    model_u, model_issue_u = seat_scores(rounds, prefs, role.party)
    sides = (0, 1)
    point = plane.outcome_utility(values, prefs)[list(sides)]
    front = plane.frontier(setup, sides)
    nash = plane.nash_point(setup)
    nash_u = plane.outcome_utility(nash, prefs)[list(sides)]
    names = setup.party_names
    return {
        "scenario": game.scenario.path,
        "round": game.scenario.round.name,
        "seat": role.key,
        "seat_name": role.name,
        "seed": game.seed,
        "protocol": setup.protocol.value,
        "moves": [m.to_json() for m in played.moves],
        "moves_used": played.seat.used,
        "outcome": {name: _json_number(v) for name, v in zip(setup.issues, values,
                                                               strict=True)},
        "levels": {spec.name: int(setup.level[0, i]) for i, spec in enumerate(setup.specs)
                   if spec.compound and not np.isnan(values[i])},
        "duration_minutes": float(model.duration[0]),
        "walkout_party": (names[model.walkout_party[0]] if model.walkout_party[0] >= 0
                          else None),
        "utility": _json_number(utility),
        "batna": _json_number(batna),
        "percentile": {
            "utility": plane.percentile(float(utility), model_u),
            "issues": {name: plane.percentile(float(issue_u[i]), model_issue_u[:, i])
                       for i, name in enumerate(setup.issues)}},
        "model": {
            "runs": COMPARISON_RUNS,
            "command": f"negsim run {game.scenario.path} --seed {game.seed} --runs "
                       f"{COMPARISON_RUNS}",
            "median_utility": _json_number(np.median(model_u)),
            "same_round_utility": _json_number(model_u[0]),
            "same_round_outcome": {name: _json_number(v)
                                   for name, v in zip(setup.issues, rounds[0], strict=True)}},
        "sides": [names[s] for s in sides],
        "point": [_json_number(u) for u in point],
        "batnas": [_json_number(prefs.batna[s]) for s in sides],
        "pareto_distance": _json_number(plane.pareto_distance(point, front)),
        "frontier": [[_json_number(a), _json_number(b)] for a, b in front],
        "nash": {"outcome": {name: _json_number(v) for name, v in zip(setup.issues, nash,
                                                                      strict=True)},
                 "point": [_json_number(u) for u in nash_u]},
        "nash_distance": _json_number(float(np.sqrt(((point - nash_u) ** 2).sum()))),
        "revealed": revealed(played),
        "transcript": [e.to_json() for e in transcript(played)],
    }


def revealed(played: Played) -> dict:
    """What the other sides held (every side, for the mediator's seat), and what the
    seat believed of it at the end of the round."""
    game, model = played.game, played.model
    setup = game.setup
    you = game.role.party
    out = {}
    for q, name in enumerate(setup.party_names):
        if q == you:
            continue
        if you is None:
            lo, hi = model.mediator.believed["lo"][0, q], model.mediator.believed["hi"][0, q]
        else:
            lo, hi = (model.delegations[you].belief_lo[0, q],
                      model.delegations[you].belief_hi[0, q])
        red = setup.red_line[0, q]
        out[name] = {
            "red_lines": {n: _json_number(red[i]) for i, n in enumerate(setup.issues)},
            "ideals": {n: _json_number(setup.ideal[0, q, i]) for i, n in enumerate(setup.issues)},
            "batna": _json_number(setup.batna[0, q]),
            "bluff": _json_number(setup.bluff[0, q]),
            "believed_red_lines": {
                n: [_json_number(red[i] + setup.span[i] * lo[i]),
                    _json_number(red[i] + setup.span[i] * hi[i])]
                for i, n in enumerate(setup.issues)}}
    return out


def cloud(played: Played) -> np.ndarray:
    """``(N, 2)``: the two main sides' utilities of every round of the batch."""
    prefs = plane.Preferences.of(played.game.setup)
    rounds = batch_values(batch(played), played.game.setup)
    return plane.outcome_utility(rounds, prefs)[:, :2]


def transcript_text(played: Played) -> str:
    """The transcript as ``negsim trace`` prints a round."""
    return render(transcript(played))


def figure(played: Played, data: dict):
    """The debrief's figure (``sim.viz.debrief``) of a finished game."""
    setup = played.game.setup
    title = (f"{played.game.scenario.round.name}: your round and "
             f"{COMPARISON_RUNS:,} of the model's (seed {played.game.seed})")
    return debrief_figure(title, data["sides"], plane.frontier(setup), data["batnas"],
                          cloud(played), data["nash"]["point"], data["point"],
                          played.game.role.name)


def write_debrief(played: Played, path: Path) -> list[Path]:
    """The debrief as JSON at ``path`` and its figure beside it (same name, .png and
    .svg); the figure first, the JSON last, each atomically (``write_atomically``)."""
    data = debrief(played)
    path = Path(path)
    written = save_figure(figure(played, data), path.parent, path.stem)
    write_atomically(path, json.dumps(data, indent=1, allow_nan=False) + "\n")
    return [*written, path]
