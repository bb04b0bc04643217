"""The page of ``negsim play`` and ``negsim class``: a person holds one seat of a
round, laid out for a 1280x720 projector (Solara, served on this machine).

Left: the role card — the seat's own red lines, ideals, saliences and BATNA (private),
what is public (each side's direction on each issue, the agenda), and what the seat
believes of the others now (intervals). Middle: the clock, what is on the table and
the controls of the turn (a delegation: a value per issue, then Offer, Accept the
text, Reject, Hold, Caucus, Walk out; the mediator: a value per issue, then Propose
the text, Hold, and buttons to take up an item, set one aside, caucus with a side or
spend a lever). Right: the transcript, latest first. After the round: the debrief.

Every click is a move (``sim.teach.play``): the round is replayed from its start with
the moves so far, so the page's game is the game a file of the same moves gives. A
move the rules forbid is refused with its reason, and the moves stay as they were.
Words from the scenario file go in as text (``sim.teach.page_text``), never markup.

Configured by environment variables (``sim.cli.play``, ``sim.cli.classroom``):
``NEGSIM_PLAY_SCENARIO``, ``NEGSIM_PLAY_SEAT``, ``NEGSIM_PLAY_SEED``,
``NEGSIM_PLAY_DEBRIEF`` (a path: the debrief is written there when the round ends);
for a class, ``NEGSIM_CLASS_OUT``, ``NEGSIM_CLASS_SEATS`` (and the seat and seed
variables as the class's fixed seat, if any, and first seed).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import solara

from sim.fileio import rendered, write_atomically
from sim.scenario.load import load_scenario
from sim.teach.classroom import Classroom, Ticket
from sim.teach.page_text import element, table
from sim.teach.play import (
    BadMove,
    Game,
    Played,
    last_record,
    new_game,
    open_issues,
    parse_move,
    pending_items,
    replay,
    table_text,
)
from sim.teach.play_debrief import debrief, figure
from sim.teach.play_transcript import say, transcript

SCENARIO = load_scenario(Path(os.environ.get("NEGSIM_PLAY_SCENARIO", "")))
SEAT = os.environ.get("NEGSIM_PLAY_SEAT") or None
SEED = int(os.environ.get("NEGSIM_PLAY_SEED") or 0)
DEBRIEF = os.environ.get("NEGSIM_PLAY_DEBRIEF") or None
CLASS_OUT = os.environ.get("NEGSIM_CLASS_OUT") or None
CLASS = (Classroom(SCENARIO, Path(CLASS_OUT), int(os.environ["NEGSIM_CLASS_SEATS"]), SEED,
                   SEAT) if CLASS_OUT else None)

CSS = """
.play-page { display: flex; flex-direction: column; height: 100vh; overflow: hidden;
             font-size: 15px; }
.play-header { flex: none; background: #1565c0; color: white; padding: 8px 16px;
               display: flex; align-items: baseline; gap: 16px; }
.play-header h1 { font-size: 20px; font-weight: 500; margin: 0; }
.play-clock { margin-left: auto; font-size: 17px; }
.play-body { flex: 1; display: grid; grid-template-columns: 330px minmax(0, 1fr) 380px;
             min-height: 0; }
.play-body > div { overflow-y: auto; padding: 8px 14px; min-height: 0; }
.play-card { background: #fafafa; border-right: 1px solid #ddd; }
.play-story { border-left: 1px solid #ddd; }
.play-story p { margin: 6px 0; line-height: 1.35; }
.play-body h2 { font-size: 16px; margin: 12px 0 4px; }
.play-body table { border-collapse: collapse; width: 100%; font-size: 14px; }
.play-body th, .play-body td { border-bottom: 1px solid #e0e0e0; padding: 2px 5px;
                               text-align: left; }
.play-note { color: #555; font-size: 13px; }
.play-error { color: #c62828; font-weight: 600; }
.play-buttons { display: flex; flex-wrap: wrap; gap: 6px; margin: 8px 0; }
.play-debrief img { width: 100%; height: auto; }
"""


def _png(played: Played, data: dict) -> bytes:
    return rendered(figure(played, data), format="png", dpi=110)


def _number(value: float) -> str:
    return "none" if value is None or np.isnan(value) else f"{value:g}"


def role_card(played: Played):
    """The seat's private card, what is public, and its beliefs now."""
    game, model = played.game, played.model
    setup, role = game.setup, game.role
    children = [element("h2", "Your role: " + (f"the mediator, {role.name}" if role.mediating
                                              else role.name))]
    if not role.mediating:
        p = role.party
        rows = [(setup.specs[i].label, say(setup.specs[i], setup.ideal[0, p, i]),
                 say(setup.specs[i], setup.red_line[0, p, i]),
                 f"{setup.weight[0, p, i]:.2f}") for i in range(len(setup.issues))]
        children += [element("p", "Private: only you know this.", classes=["play-note"]),
                     table(("issue", "ideal", "red line", "weight"), rows),
                     element("p", f"BATNA (no agreement): {setup.batna[0, p]:.2f} on the "
                             "scale where every red line met is 0 and every ideal 1.")]
    public = [(setup.specs[i].label, ", ".join(
        f"{n} wants {'more' if setup.wants[q, i] > 0 else 'less'}"
        for q, n in enumerate(setup.party_names))) for i in range(len(setup.issues))]
    children += [element("h2", "Public"), table(("issue", "who wants what"), public)]
    believed = _beliefs(played)
    if believed:
        children += [element("h2", "What you believe of the others' red lines"),
                     table(("side", "issue", "between"), believed)]
    if role.mediating and setup.levers:
        levers = [(lever.name, SCENARIO.parties[lever.party].name, f"{lever.cost:g}",
                   "spent" if model.levers_used[0, k] else "")
                  for k, lever in enumerate(SCENARIO.mediator.levers)]
        children += [element("h2", f"Levers (budget left {model.budget_left:g})"),
                     table(("lever", "for", "cost", ""), levers)]
    return element("div", *children, classes=["play-card"])


def _beliefs(played: Played) -> list[tuple]:
    game, model = played.game, played.model
    setup, you = game.setup, game.role.party
    rows = []
    for q, name in enumerate(setup.party_names):
        if q == you:
            continue
        if you is None:
            lo, hi = model.mediator.believed["lo"][0, q], model.mediator.believed["hi"][0, q]
        else:
            lo, hi = model.delegations[you].belief_lo[0, q], model.delegations[you].belief_hi[0, q]
        for i, spec in enumerate(setup.specs):
            red = setup.red_line[0, q, i]
            a, b = red + setup.span[i] * lo[i], red + setup.span[i] * hi[i]
            rows.append((name, spec.label, f"{say(spec, min(a, b))} - {say(spec, max(a, b))}"))
    return rows


def story(played: Played):
    events = transcript(played)
    return element("div", element("h2", "The round so far (latest first)"),
                   *(element("p", element("b", f"{e.minute}" if e.minute == e.until
                                          else f"{e.minute}-{e.until}"), " ", e.text)
                     for e in reversed(events)), classes=["play-story"])


def on_table(played: Played):
    """The clock and what is on the table now."""
    model, setup = played.model, played.game.setup
    text = table_text(model)
    issues = open_issues(model)
    rows = [(setup.specs[i].label, say(setup.specs[i], text[i])) for i in issues]
    last = last_record(model)
    offers = []
    if last is not None and last.item is not None and not played.game.package_round:
        offers = [element("p", "Offers: " + ", ".join(
            f"{n} {say(setup.specs[setup.issues.index(last.item)], o)}"
            for n, o in zip(setup.party_names, last.offers, strict=True)))]
    return [element("h2", "On the table"),
            table(("issue", "the mediator's text"), rows) if rows else
            element("p", "Nothing yet."), *offers]


@solara.component
def Controls(played: Played, moves: solara.Reactive, error: solara.Reactive):
    """The turn's controls: a value per issue and the moves of the seat."""
    game, model = played.game, played.model
    setup = game.setup
    drafts = solara.use_reactive({})
    issues = open_issues(model)
    if not game.role.mediating and not game.package_round:
        issues = [i for i in range(len(setup.issues)) if model.status[0, i] == 0]

    def make(move: dict) -> None:
        try:
            parsed = parse_move(move, len(moves.value) + 1)
            replay(game, [*moves.value, parsed], wait=True)
        except BadMove as bad:
            error.set(bad.message)
            return
        error.set("")
        moves.set([*moves.value, parsed])

    def values() -> dict:
        out = {}
        for i in issues:
            raw = (drafts.value.get(setup.issues[i]) or "").strip()
            if raw:
                try:
                    out[setup.issues[i]] = float(raw)
                except ValueError:
                    out[setup.issues[i]] = raw  # a level's name
        return out

    element("h2", "Your move")
    for i in issues:
        spec = setup.specs[i]
        hint = (", ".join(spec.levels) if spec.levelled else
                f"{setup.minimum[i]:g} to {setup.maximum[i]:g}, steps of {setup.step[i]:g}")
        solara.InputText(f"{spec.name} ({hint})", value=drafts.value.get(spec.name, ""),
                         on_value=lambda v, name=spec.name: drafts.set(
                             drafts.value | {name: v}), continuous_update=True)
    with solara.Div(classes=["play-buttons"]):
        if game.role.mediating:
            solara.Button("Propose the text", on_click=lambda: make({"text": values()}),
                          color="primary")
            solara.Button("Hold", on_click=lambda: make({"hold": True}))
            if not game.package_round:
                for name in pending_items(model):
                    if setup.issues.index(name) not in open_issues(model):
                        solara.Button(f"Take up {name}",
                                      on_click=lambda n=name: make({"item": n}))
            for i in open_issues(model):
                solara.Button(f"Set aside {setup.issues[i]}",
                              on_click=lambda n=setup.issues[i]: make({"park": n}))
            for party in SCENARIO.parties:
                solara.Button(f"Caucus with {party.name}",
                              on_click=lambda k=party.key: make({"caucus": k}))
            for lever in SCENARIO.mediator.levers:
                solara.Button(f"Lever: {lever.name}",
                              on_click=lambda n=lever.name: make({"lever": n}))
        else:
            solara.Button("Offer", on_click=lambda: make({"offer": values()}),
                          color="primary")
            solara.Button("Accept the text", on_click=lambda: make({"accept": True}))
            solara.Button("Reject", on_click=lambda: make({"reject": True}))
            solara.Button("Hold", on_click=lambda: make({"hold": True}))
            solara.Button("Caucus", on_click=lambda: make({"caucus": True}))
            solara.Button("Walk out", on_click=lambda: make({"walk_out": True}))
    element("p", error.value, classes=["play-error"])
    element("p", f"Moves made: {len(moves.value)}", classes=["play-note"])


def debrief_panel(played: Played, data: dict, png: bytes):
    """The debrief: outcome, utility, percentile, distances, what the others held."""
    setup = played.game.setup
    outcome = [(setup.specs[i].label, say(setup.specs[i], np.nan if v is None else v),
                f"{data['percentile']['issues'][name]:.0f}")
               for i, (name, v) in enumerate(data["outcome"].items())]
    revealed = [(side, setup.specs[i].label, say(setup.specs[i], red))
                for side, held in data["revealed"].items()
                for i, red in enumerate(held["red_lines"].values())]
    batnas = ", ".join(f"{side} {held['batna']:.2f}" for side, held in data["revealed"].items())
    return element(
        "div", element("h2", "Debrief"),
        element("p", f"Your utility {data['utility']:.3f} against your BATNA "
                f"{data['batna']:.3f}: percentile {data['percentile']['utility']:.1f} of "
                f"the model's agent in your seat over {data['model']['runs']:,} rounds "
                f"(its median {data['model']['median_utility']:.3f}).",
                classes=["play-summary"]),
        element("p", f"Value left on the table (distance to the Pareto frontier): "
                f"{data['pareto_distance']:.3f}; distance to the Nash point: "
                f"{data['nash_distance']:.3f}.", classes=["play-distances"]),
        table(("issue", "agreed", "percentile"), outcome, numeric=(2,)),
        element("h2", "What the others really held"),
        table(("side", "issue", "red line"), revealed),
        element("p", f"BATNAs: {batnas}."),
        solara.Image(png, format="png", width="100%"),
        classes=["play-debrief"])


def finish(played: Played, ticket: Ticket | None) -> dict:
    """The round is over: its debrief, written where the command asked."""
    if CLASS is not None and ticket is not None:
        return CLASS.write(ticket, played)
    data = debrief(played)
    if DEBRIEF:
        write_atomically(DEBRIEF, json.dumps(data, indent=1, allow_nan=False) + "\n")
    return data


@solara.component
def Game_(game: Game, ticket: Ticket | None):
    moves = solara.use_reactive([])
    error = solara.use_reactive("")
    played = solara.use_memo(lambda: replay(game, moves.value, wait=True),
                             [json.dumps([m.to_json() for m in moves.value])])
    done = solara.use_memo(lambda: (finish(played, ticket) if played.over else None),
                           [played.over, len(moves.value)])
    png = solara.use_memo(lambda: _png(played, done) if done else b"", [done is None,
                                                                        len(moves.value)])
    clock = (f"minute {played.model.minute}" if played.waiting else
             f"ended after {float(played.model.duration[0]):g} minutes")
    with solara.Div(classes=["play-page"]):
        element("div", element("h1", game.scenario.round.name),
                element("span", f"you: {game.role.name}" + (
                    f" (seat {ticket.game + 1}, seed {game.seed})" if ticket else
                    f" (seed {game.seed})")),
                element("span", clock, classes=["play-clock"]), classes=["play-header"])
        with solara.Div(classes=["play-body"]):
            role_card(played)
            with solara.Div(classes=["play-middle"]):
                if done is None:
                    element("div", *on_table(played))
                    Controls(played, moves, error)
                else:
                    debrief_panel(played, done, png)
            story(played)


@solara.component
def Page():
    solara.Style(CSS)
    solara.Title(f"negsim play: {SCENARIO.round.name}")
    ticket = solara.use_memo(lambda: CLASS.ticket() if CLASS is not None else None, [])
    full = CLASS is not None and ticket is None
    # every hook before any early return (Solara's rules of hooks)
    game = solara.use_memo(lambda: None if full else new_game(
        SCENARIO, ticket.seat if ticket is not None else SEAT,
        ticket.seed if ticket is not None else SEED), [])
    if game is None:
        element("p", "Every seat of this class is taken: ask your teacher.",
                classes=["play-error"])
        return
    Game_(game, ticket)
