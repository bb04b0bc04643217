"""A played game told minute by minute, in ``negsim trace``'s style (its ``Event`` and
``render``), with only what the person's seat could see: the items or package under
discussion, the stated offers, the mediator's texts, each side's answer, the person's
own moves, agreements, what was set aside, walk-outs and the end. Private information
(red lines, BATNAs, beliefs) is the debrief's, revealed after the round, never here.
"""

from __future__ import annotations

import numpy as np

from sim.model.agents import ItemStatus
from sim.model.round import MinuteRecord
from sim.scenario.spec import IssueSpec
from sim.teach.play import Move, Played
from sim.teach.trace import Event


def say(spec: IssueSpec, value: float) -> str:
    """A value in the issue's own terms (a level's name, a count with its unit)."""
    if np.isnan(value):
        return "nothing"
    return spec.show(float(value))


def describe(move: Move, played: Played) -> str:
    """The person's move in words."""
    setup, scenario = played.game.setup, played.game.scenario
    form, argument = move.form, move.argument
    if form in ("offer", "text"):
        parts = [f"{setup.specs[setup.issues.index(name)].label} "
                 f"{say(setup.specs[setup.issues.index(name)], _number(setup, name, value))}"
                 for name, value in argument.items()]
        verb = "You offer" if form == "offer" else "You propose a text:"
        return f"{verb} {', '.join(parts)}."
    if form == "caucus":
        who = "" if argument is True else f" with {argument}"
        return (f"You ask for a caucus{who}: the talks stop for "
                f"{scenario.mediator.caucus_minutes} minutes.")
    if form == "item":
        return f"You take up the {argument}."
    if form == "park":
        return f"You set aside: {', '.join(argument)}."
    if form == "lever":
        return f"You spend the lever {argument!r}."
    return {"accept": "You accept the text.", "reject": "You reject the text.",
            "hold": "You hold your position.", "walk_out": "You walk out."}[form]


def _number(setup, name: str, value) -> float:
    spec = setup.specs[setup.issues.index(name)]
    if isinstance(value, str) and spec.levelled and value in spec.levels:
        return float(spec.levels.index(value))
    return float(value)


def _answers(names: tuple[str, ...], accepted: tuple[bool, ...], you: int | None) -> str:
    said = []
    for p, (name, yes) in enumerate(zip(names, accepted, strict=True)):
        if p == you:
            said.append("you accept" if yes else "you reject")
        else:
            said.append(f"{name} {'accepts' if yes else 'rejects'}")
    text = "; ".join(said)
    return text[0].upper() + text[1:] + "."


def _minute_text(played: Played, record: MinuteRecord) -> tuple[tuple, str]:
    """What one minute showed, and a key to join minutes that showed the same."""
    setup, you = played.game.setup, played.game.role.party
    mediator = setup.mediator_name
    names = setup.party_names
    if record.item is not None:  # item by item
        spec = setup.specs[setup.issues.index(record.item)]
        offers = ", ".join(f"{'you' if p == you else n} {say(spec, o)}"
                           for p, (n, o) in enumerate(zip(names, record.offers, strict=True)))
        text = (f"no text from {mediator}" if record.proposal is None else
                f"{mediator} proposes {say(spec, record.proposal)}")
        line = f"{spec.label.capitalize()}: offers {offers}; {text}."
        if record.proposal is not None:
            line += " " + _answers(names, record.accepted, you)
        return (record.item, record.offers, record.proposal, record.accepted), line
    shown = [f"{setup.specs[i].label} {say(setup.specs[i], v)}"
             for i, v in enumerate(record.text) if not np.isnan(v)]
    if not shown:
        return ("package", (), record.accepted), f"No text on the table from {mediator}."
    line = f"{mediator}'s text: {', '.join(shown)}. " + _answers(names, record.accepted, you)
    key = ("package", tuple(np.round(np.nan_to_num(record.text, nan=-1.0), 9)),
           record.accepted)
    if you is None:  # the mediator hears what each side says it still needs
        needs = [f"{n} {d:.2f}" for p, (n, d) in enumerate(zip(names, record.demands,
                                                               strict=True))
                 if not record.accepted[p] and not np.isnan(d)]
        if needs:
            line += " They say they need (each on its own utility scale): " + \
                ", ".join(needs) + "."
    return key, line


def transcript(played: Played) -> list[Event]:
    """The game's events, in order of minutes."""
    game, model = played.game, played.model
    setup, scenario = game.setup, game.scenario
    role = game.role
    mediator = setup.mediator_name
    protocol = ("a single negotiating text over every open issue, revised"
                if game.package_round else "one item at a time")
    seat = ("the mediator's seat" if role.mediating else f"{role.name}'s seat")
    events = [Event("round", 0, 0, None,
                    f"{scenario.round.name}. You hold {seat}: "
                    f"{', '.join(setup.party_names)}, mediated by {mediator}; {protocol}.")]
    opening = int(setup.opening_minutes[0])
    if opening:
        events.append(Event("opening", 0, opening - 1, None, "Opening statements."))
    caucus = int(model.plenary_start[0]) - opening
    if caucus > 0:
        events.append(Event("caucus", opening, opening + caucus - 1, None,
                            f"{mediator} meets each side in private ({caucus} minutes)."))
    moves = {t.minute: t for t in played.seat.turns}
    held = False
    stretch: list = []  # [key, first minute, last minute, text]

    def flush() -> None:
        if stretch:
            key, first, last, text = stretch
            events.append(Event("talks", first, last, None, text))
            stretch.clear()

    records = {r.minute: r for r in model.history}
    last_open: tuple = ()
    end = int(np.ceil(model.duration[0])) if not model.running else model.minute
    for t in range(end + 1):
        record = records.get(t)
        current = () if record is None else (
            record.open_issues or ((record.item,) if record.item else ()))
        if record is not None and current != last_open:
            flush()
            labels = [setup.specs[setup.issues.index(n)].label for n in current]
            events.append(Event("item", t, t, None, f"Under discussion: {', '.join(labels)}."))
            last_open = current
        turn = moves.get(t)
        if turn is not None and (turn.move is not None or not held):
            flush()
            if turn.move is None:
                held = True
                events.append(Event("move", t, t, None, "No moves left: you hold your "
                                    "last offer." if not role.mediating else
                                    "No moves left: your text stands."))
            else:
                events.append(Event("move", t, t, None, describe(turn.move, played),
                                    {"move": turn.move.to_json()}))
        if record is None:
            continue
        key, text = _minute_text(played, record)
        if stretch and stretch[0] == key:
            stretch[2] = t
        else:
            flush()
            stretch.extend([key, t, t, text])
        closed = _closed_at(model, t)
        if closed:
            flush()
            events.append(Event("closed", t, t, None, " ".join(closed)))
        if record.walked_out:
            flush()
            # the seat's own walk-out is its move, said above; anyone else's is news
            yours = not role.mediating and record.walked_out == role.name
            events.append(Event("walkout", t, t, None, "The round ends: you walked out; "
                                "what was agreed stands." if yours else
                                f"{record.walked_out} walks out: the round ends; what was "
                                "agreed stands."))
    flush()
    if not model.running:
        events.append(Event("end", end, end, None, ending(played)))
    return events


def _closed_at(model, t: int) -> list[str]:
    """What was settled at the end of minute ``t``: agreements, items set aside or out
    of time (from the round's record of each issue)."""
    setup = model.setup
    said = []
    for i, spec in enumerate(setup.specs):
        if model.agreed_minute[0, i] == t + 1:
            said.append(f"Agreed: {spec.label} at {say(spec, model.value[0, i])}.")
    record = next((r for r in reversed(model.history) if r.minute == t), None)
    if record is not None and record.item is not None:
        label = setup.specs[setup.issues.index(record.item)].label
        if record.status == ItemStatus.PARKED:
            said.append(f"{setup.mediator_name} sets the {label} aside.")
        elif record.status == ItemStatus.TIMED_OUT:
            said.append(f"Time is up on the {label}.")
    elif record is not None:
        after = next((r for r in model.history if r.minute == t + 1), None)
        if after is not None:
            gone = [n for n in record.open_issues if n not in after.open_issues
                    and model.agreed_minute[0, setup.issues.index(n)] != t + 1]
            if gone:
                said.append("Set aside: " + ", ".join(
                    setup.specs[setup.issues.index(n)].label for n in gone) + ".")
    return said


def ending(played: Played) -> str:
    """The last line: how long, how it ended, what was agreed."""
    model, setup = played.model, played.game.setup
    duration = float(model.duration[0])
    if model.walkout_party[0] >= 0:
        who = setup.party_names[model.walkout_party[0]]
        why = ("you walked out" if model.walkout_party[0] == played.game.role.party
               else f"{who} walked out")
    elif (model.status[0] == ItemStatus.PENDING).any():
        why = f"it reached its limit of {setup.max_minutes} minutes"
    else:
        why = "nothing was left to negotiate"
    agreed = [f"{spec.label} {say(spec, model.value[0, i])}"
              for i, spec in enumerate(setup.specs)
              if model.status[0, i] == ItemStatus.AGREED]
    return (f"The round ends after {duration:g} minutes: {why}. Agreed: "
            f"{'; '.join(agreed) if agreed else 'nothing'}.")
