"""One round told minute by minute: the events of a recorded replicate.

``replicate_setup`` cuts replicate ``run`` out of a batch exactly as ``negsim run``
draws it; ``play`` runs it with the model's record on; ``narrate`` turns the record
(``NegotiationRound.history``) and the replicate's inputs into events, for either
protocol (``sim.teach.trace_items``, ``sim.teach.trace_package``), with the
mediator's caucuses and levers, the sides' beliefs and walk-out decisions
(``sim.teach.trace_minds``). Every reason is the model's own rule read backwards.

Event kinds (``Event.kind``; ``--json`` writes one object per event, its numbers
beside ``kind``, ``minute``, ``until``, ``item`` and ``text``):

- ``round``: the parties, the mediator, the protocol and format, who knows what, each
  side's concession strategy, cost of delay and walk-out threshold;
- ``opening``: the opening statements;
- ``caucus``: the mediator's private caucuses and what it then reckons of each side's
  red lines, the zones it sees and the BATNAs (``reckoned_red_lines``,
  ``reckoned_zones``, ``reckoned_batna``);
- ``lever``: levers the mediator spent (``levers``) and whether a zone then exists
  as it reckons (``zone_now``);
- item by item: ``item`` (an item opened: its zone, or why there is none), ``talks``
  (a stretch of minutes: offers, the text, each side's answer and reason), ``agreed``,
  ``parked``, ``timed_out``;
- a package: ``package`` (the text put on the table over the open issues),
  ``package_text`` (a stretch with the same text: each side's answer and reason; what
  the mediator learns from an objection, and what the sides learn), ``parked`` (an
  issue leaving the package, with its ``reason``: no_zone, hardest, linkage, blocked,
  with_package; ``minutes_on_package`` on a text of ``issues_in_text`` issues: the
  hardest is parked after ``item_minutes`` for each), ``package_agreed`` (the
  package, each side's utility of it);
- ``walkout``: a side leaving, with its ``reason`` (batna: ``stay``, ``p_deal``,
  ``value``, ``minutes``, ``discount_per_hour``; frustration: ``frustration``,
  ``threshold``);
- ``end``: how the round ended, what was agreed, the outcome row;
- with private information, after ``end``: ``private`` (the section "What each side
  really held") and ``held`` (each side's true red lines, BATNA, bluff; the
  mediator's zones against the true ones). Nothing before it tells a true red line or
  BATNA.
"""

from __future__ import annotations

import textwrap

from sim.batch.chunks import CHUNK_SIZE, chunk_bounds, chunk_rng
from sim.model.agents import ItemStatus
from sim.model.parameters import RoundSetup, realise
from sim.model.round import NegotiationRound
from sim.scenario.spec import Format, Protocol, Scenario
from sim.teach.story import Answer, Event, Story
from sim.teach.trace_items import answer, item_events
from sim.teach.trace_minds import Beliefs, caucus_event, held_events, lever_event
from sim.teach.trace_package import package_answer, package_events
from sim.teach.wording import (
    level_phrase,
    listing,
    minutes_text,
    percent,
    show,
    utilities,
)
from sim.terminal import printable

__all__ = ["Answer", "Event", "Story", "answer", "lever_names", "narrate", "package_answer",
           "play", "render", "replicate_setup", "use_colour"]


# --------------------------------------------------------------------------- replicates
def replicate_setup(scenario: Scenario, seed: int, run: int, runs: int,
                    chunk_size: int = CHUNK_SIZE) -> RoundSetup:
    """Replicate ``run`` of ``negsim run --seed seed --runs runs --chunk-size
    chunk_size``: row ``run % chunk_size`` of chunk ``run // chunk_size``, realised
    with that chunk's generator and cut out with its inputs intact
    (``RoundSetup.select``). A chunk's draws depend on its size, so ``runs`` matters
    for the last, partial chunk."""
    if not 0 <= run < runs:
        raise ValueError(f"--run {run} is not a replicate of a batch of {runs}: "
                         f"must be in 0..{runs - 1}")
    chunk = run // chunk_size
    first, count = chunk_bounds(runs, chunk_size)[chunk]
    setup = realise(scenario, count, chunk_rng(seed, chunk))
    return setup.select(slice(run - first, run - first + 1))


def play(setup: RoundSetup) -> NegotiationRound:
    """Run the first replicate of ``setup`` to its end, recording every minute."""
    return NegotiationRound(setup.select(slice(0, 1)), record=True).run()


def lever_names(scenario: Scenario) -> tuple[str, ...]:
    """The names of the mediator's levers, in the scenario's order."""
    return tuple(lever.name for lever in scenario.mediator.levers)


# --------------------------------------------------------------------------- the round
def _strategy(beta: float) -> str:
    if abs(beta - 1.0) < 0.05:
        return f"concedes evenly (beta {beta:.2f})"
    kind = "Boulware: holds firm, concedes late" if beta < 1 else "Conceder: concedes early"
    return f"{kind} (beta {beta:.2f})"


def _round_event(story: Story, title: str) -> Event:
    setup = story.setup
    names, mediator = setup.party_names, setup.mediator_name
    package = setup.protocol is Protocol.PACKAGE
    order = (list(range(len(setup.issues))) if package else [int(i) for i in setup.order[0]])
    labels = [setup.specs[i].label for i in order]
    order = [setup.issues[i] for i in order]
    pressure = float(setup.pressure[0].min())
    lines = [(f"{title}. " if title else "") + f"{listing(list(names))}, mediated by "
             f"{mediator}."]
    if package:
        lines.append("Agenda: " + ", ".join(labels) + f", negotiated as one package: "
                     f"{mediator} drafts one text over every open issue and revises it.")
    else:
        lines.append(f"Agenda in {mediator}'s order: " + ", ".join(labels) + ", one item "
                     "at a time.")
    if setup.format is Format.PROXIMITY:
        lines.append(f"Proximity talks: the sides do not meet; {mediator} carries each "
                     f"revised text between them ({setup.shuttle_minutes} minutes a trip).")
    if story.private:
        knows = (f"{mediator} knows them all" if setup.informed else
                 f"{mediator} learns them in caucuses, with noise")
        lines.append("Each side knows its own red lines and BATNA and holds only a belief "
                     f"about the others' (private information); {knows}.")
    else:
        lines.append("Every side's red lines and BATNA are known to all (public "
                     "information).")
    lines.append(f"Each side concedes over a {setup.deadline_minutes:g}-minute horizon; "
                 + "; ".join(f"{n} {_strategy(float(setup.concession[0, p]))}"
                             for p, n in enumerate(names)) + ".")
    discount = [float(d) for d in setup.discount[0]]
    if any(discount):
        lines.append("A deal loses value as talks go on: " + ", ".join(
            f"{n} {percent(d)} an hour" if d > 0 else f"{n} nothing"
            for n, d in zip(names, discount, strict=True))
            + " (the cost of delay: the more patient side gets more).")
    data = {"parties": list(names), "mediator": mediator, "order": order,
            "protocol": setup.protocol.value, "format": setup.format.value,
            "private": story.private, "informed": bool(setup.informed),
            "concession": [float(b) for b in setup.concession[0]],
            "discount_per_hour": discount,
            "walkout_threshold": [float(w) for w in setup.walkout_threshold[0]],
            "pressure": pressure}
    if not story.private:
        batna = [float(b) for b in setup.batna[0]]
        bluff = [float(b) for b in setup.bluff[0]]
        data |= {"batna": batna, "bluff": bluff}
        if any(batna):
            lines.append("BATNAs (what leaving with nothing is worth, 0 at the red lines, "
                         "1 at the ideals): " + ", ".join(
                             f"{n} {b}" for n, b in zip(names, utilities(batna), strict=True))
                         + ".")
        if any(bluff):
            lines.append("Stated positions overstate by a bluff: " + ", ".join(
                f"{n} {b}" for n, b, x in zip(names, utilities(bluff), bluff, strict=True)
                if x > 0) + " (a share of each scale).")
    lines.append(f"{mediator}'s pressure {pressure:.2f} makes the clock run "
                 f"{100 * pressure:.0f}% faster for both." if pressure > 0 else
                 f"{mediator} applies no pressure.")
    lines.append("Walk-out thresholds (minutes of stalled talk, weighted by salience): "
                 + ", ".join(f"{n} {setup.walkout_threshold[0, p]:.0f}"
                             for p, n in enumerate(names)) + ".")
    return Event("round", 0, 0, None, " ".join(lines), data)


def _end_event(story: Story, agreed: dict[int, float]) -> Event:
    setup, model = story.setup, story.model
    duration = float(model.duration[0])
    status = model.status[0]
    if model.walkout_party[0] >= 0:
        why = f"{setup.party_names[model.walkout_party[0]]} walked out"
    elif not (status != ItemStatus.PENDING).all():
        why = f"it is stopped at its limit of {setup.max_minutes} minutes"
    elif setup.closing_minutes > 0:
        why = f"the agenda is done, then {setup.closing_minutes:g} minutes of closing"
    else:
        why = "the agenda is done"
    done = []
    for i, v in agreed.items():
        spec = setup.specs[i]
        done.append(f"{spec.label}: {level_phrase(spec, int(setup.level[0, i]))}, "
                    f"{spec.scale.label} {show(spec, v)}" if spec.compound else
                    f"{spec.label} {show(spec, v, unit=True)}")
    parts = ["Agreed: " + ("; ".join(done) if done else "nothing") + "."]
    history = model.history
    if setup.protocol is Protocol.PACKAGE:
        under = [setup.issues.index(n) for n in history[-1].open_issues
                 if status[setup.issues.index(n)] == ItemStatus.PENDING] if history else []
    else:
        under = ([setup.issues.index(history[-1].item)] if history
                 and history[-1].status == ItemStatus.PENDING else [])
    if under:
        parts.append("Under discussion when it ended: "
                     + listing([setup.specs[i].label for i in under]) + ".")
    for word, code in (("Parked", ItemStatus.PARKED), ("Timed out", ItemStatus.TIMED_OUT),
                       ("Not reached", ItemStatus.PENDING)):
        items = [setup.specs[i].label for i in setup.order[0]
                 if status[i] == code and i not in under]
        if items:
            parts.append(f"{word}: " + ", ".join(items) + ".")
    outcomes = model.outcomes()
    data = {"duration_minutes": duration,
            "agreed": {setup.issues[i]: v for i, v in agreed.items()},
            "status": {setup.issues[i]: ItemStatus(int(s)).name.lower()
                       for i, s in enumerate(status)},
            "outcomes": {k: v[0] for k, v in outcomes.items()}}
    return Event("end", int(duration), int(duration), None,
                 f"The round ends after {duration:g} minutes: {why}. " + " ".join(parts), data)


def narrate(model: NegotiationRound, title: str = "", lever_names: tuple[str, ...] = ()
            ) -> list[Event]:
    """The events of replicate 0 of a recorded round (``record=True``), so far: a
    round still running (the dashboard's) has no end yet, nor the final section."""
    story = Story.of(model, lever_names)
    setup = story.setup
    beliefs = Beliefs(story)
    events = [_round_event(story, title)]
    reached = model.minute - 1  # the last minute played
    opening = int(setup.opening_minutes[0])
    if opening > 0 and reached >= 0:
        events.append(Event("opening", 0, min(opening - 1, reached), None,
                            "Opening statements.", {}))
    caucus = caucus_event(story, reached)
    if caucus is not None:
        events.append(caucus)
    if reached >= int(model.plenary_start[0]) or not model.running:
        lever = lever_event(story)
        if lever is not None:
            events.append(lever)
    if setup.protocol is Protocol.PACKAGE:
        talks, agreed = package_events(story, beliefs)
    else:
        talks, agreed = item_events(story, beliefs)
    events += talks
    if not model.running:
        events.append(_end_event(story, agreed))
        if story.private:
            walkout = next((r for r in reversed(model.history) if r.walked_out), None)
            events += held_events(story, beliefs, walkout, agreed)
    return events


# --------------------------------------------------------------------------- output
#: ANSI styles by event kind (ECMA-48 SGR codes).
STYLES = {"item": "1", "package": "1", "agreed": "32", "package_agreed": "32",
          "parked": "33", "timed_out": "33", "walkout": "1;31", "end": "1", "lever": "35",
          "private": "1;35"}

#: Kinds after which a blank line separates what follows.
BREAK_BEFORE = ("item", "package", "end", "private")


def use_colour(is_terminal: bool, environ: dict[str, str]) -> bool:
    """Colour only on a terminal, and never where NO_COLOR is set (no-color.org)."""
    return is_terminal and not environ.get("NO_COLOR") and environ.get("TERM") != "dumb"


def render(events: list[Event], colour: bool = False, width: int = 100) -> str:
    """The events as text: the minutes in a left column, each event wrapped beside it;
    the final section under a marked heading."""
    lines = []
    for event in events:
        if event.kind in BREAK_BEFORE and lines:
            lines.append("")
        if event.kind == "private":
            rule = "=" * (width - 10)
            heading = [rule, printable(event.text).upper(), rule]
            for text in heading:
                lines.append(f"{'':>7}   " + (f"\033[{STYLES['private']}m{text}\033[0m"
                                             if colour else text))
            continue
        label = "" if event.kind in ("round", "held") else minutes_text(event.minute,
                                                                       event.until)
        body = textwrap.wrap(printable(event.text), width - 10) or [""]
        style = STYLES.get(event.kind)
        for i, text in enumerate(body):
            if colour and style:
                text = f"\033[{style}m{text}\033[0m"
            lines.append(f"{label if i == 0 else '':>7}   {text}")
    return "\n".join(lines)


def minute_covered(events: list[Event]) -> list[int]:
    """The recorded minutes the talk events tell, in order (each once)."""
    covered: list[int] = []
    for event in events:
        if event.kind in ("talks", "agreed", "package_text", "package_agreed"):
            covered += range(event.minute, event.until + 1)
    return covered

