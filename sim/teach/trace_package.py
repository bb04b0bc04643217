"""The package protocol told: the mediator's single negotiating text over every open
issue (Fisher's SNT; Raiffa 1982, ch. 14), each side's answer and why, the revisions,
the issues parked and why, and the package agreed.

Each answer is ``Delegation.respond_package`` read backwards: a side objects where the
text is past its red line on an issue (a red line is not bargained); it takes no
package worth less than its BATNA; it accepts one worth at least its aspiration less
the mediator's credibility (the demand it states is that aspiration, overstated by
its bluff); and any linkage must be met. Issues leave the package as
``NegotiationRound._package_status`` parks them — no zone as the mediator sees it
(after exploration), tied to a parked issue, the hardest (narrowest zone as it sees
it) after ``item_minutes`` without agreement, or left without text when the rest is
agreed (``sim.teach.trace_parking`` tells which, replaying the mediator's picture).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.agents import ItemStatus
from sim.model.round import MinuteRecord
from sim.teach.story import Answer, Event, Story
from sim.teach.trace_items import requirement, zone_text
from sim.teach.trace_minds import Beliefs, learnt, walkout_event
from sim.teach.trace_parking import (
    Closure,
    Mediator,
    closures,
    drafted,
    objected,
    parked_event,
)
from sim.teach.wording import (
    frustration_line,
    limit_words,
    listing,
    shown,
    the,
    utilities,
    utility,
)


# --------------------------------------------------------------------------- answers
def demand(story: Story, party: int, record: MinuteRecord) -> float:
    """What a side says it still needs: its aspiration overstated by its bluff."""
    return min(record.aspirations[party] + float(story.setup.bluff[0, party]), 1.0)


def package_answer(story: Story, party: int, record: MinuteRecord,
                   agreed: dict[int, float]) -> Answer:
    """Why ``party`` accepted or rejected the package text of ``record``."""
    setup = story.setup
    accepted = record.accepted[party]
    on = drafted(story, record)
    value, said = record.values[party], demand(story, party, record)
    if not on.any():
        return Answer("no_text", accepted, demand=said)
    objections = objected(story, party, record)
    if objections:
        return Answer("objects", accepted, value=value, demand=said,
                      issues=tuple(setup.issues[i] for i in objections))
    text = np.array(record.text, dtype=float)
    for p, issue, requires, at_least in setup.linkage:
        if p != party or not on[issue]:
            continue
        offered = (float(setup.level[0, requires]) if setup.compound[requires]
                   else text[requires])
        before = requires in agreed and (
            (float(setup.level[0, requires]) if setup.compound[requires]
             else agreed[requires]) >= at_least)
        if not (before or (on[requires] and offered >= at_least)):
            return Answer("linkage", accepted, requires=setup.issues[requires],
                          at_least=at_least, value=value, demand=said)
    reserve = float(story.reserve[party])
    if not value >= reserve - 1e-9:
        return Answer("below_batna", accepted, reserve - value, reserve, value=value,
                      demand=said)
    aspiration, credibility = record.aspirations[party], float(setup.credibility[0])
    if not value >= aspiration - credibility - 1e-9:
        return Answer("short", accepted, aspiration - value, aspiration, credibility,
                      value=value, demand=said)
    return Answer("accepts", accepted, value=value, demand=said)


def _say(story: Story, party: int, first: Answer, last: Answer, issue_of) -> str:
    setup = story.setup
    name = setup.party_names[party]
    value = (" -> ".join(utilities([first.value, last.value]))
             if abs(first.value - last.value) > 1e-9 else utility(last.value))
    if last.code == "accepts":
        return f"{name} accepts: the text gives it {value}."
    if last.code == "objects":
        return (f"{name} objects: the text is past its red line on "
                f"{the(listing([issue_of(i).label for i in last.issues]))}.")
    if last.code == "linkage":
        needed = issue_of(last.requires)
        return (f"{name} will not take a package with it before {the(needed.label)} is "
                f"agreed {requirement(needed, last.at_least)} (linkage).")
    if last.code == "below_batna":
        batna = "its BATNA" if story.private else f"its BATNA {utility(last.reference)}"
        return f"{name} rejects: the text gives it {value}, less than {batna}."
    needs = (" -> ".join(utilities([first.demand, last.demand]))
             if abs(first.demand - last.demand) > 1e-9 else utility(last.demand))
    text = f"{name} says it still needs {needs}: the text gives it {value}"
    if story.private:
        return text + "."
    bluff = float(setup.bluff[0, party])
    if bluff > 0:
        text += (f" (its demand overstates, by its bluff {utility(bluff)}, the "
                 f"{utility(last.reference)} it really holds out for)")
    if last.tolerance <= 0:
        return text + ", short, and it gives a mediator's text no slack."
    return text + (f", short by more than the {utility(last.tolerance)} it concedes to a "
                   "mediator's text.")


# --------------------------------------------------------------------------- texts
def _text_words(story: Story, first: MinuteRecord, last: MinuteRecord) -> str:
    """The text on each open issue ('land 330 -> 510 hectares' where it moved over the
    stretch), and the open issues it has none on."""
    setup = story.setup
    parts, none = [], []
    for i, spec in enumerate(setup.specs):
        if spec.name not in last.open_issues:
            continue
        a, b = first.text[i], last.text[i]
        if np.isnan(b):
            none.append(spec.label)
            continue
        moved = not np.isnan(a) and abs(a - b) > 1e-9
        values = " -> ".join(shown(spec, [a, b])) if moved else shown(spec, [b])[0]
        if spec.compound:
            parts.append(f"{spec.label} at {spec.level_name(setup.level[0, i])} with "
                         f"{spec.scale.label} {values}")
        else:
            unit = f" {spec.scale.unit}" if spec.kind.value == "count" and spec.scale.unit else ""
            parts.append(f"{spec.label} {values}{unit}")
    words = ", ".join(parts) if parts else "nothing"
    if none:
        words += f"; none on {the(listing(none))} (no zone as it sees it)"
    return words


def _text_key(record: MinuteRecord) -> tuple:
    return tuple(None if np.isnan(x) else round(x, 9) for x in record.text)


@dataclass
class _Stretch:
    """Minutes told together: the same open issues and answers, and either the same
    text throughout or a text revised every minute (``moving``)."""

    first: MinuteRecord
    last: MinuteRecord
    answers_first: tuple[Answer, ...]
    answers: tuple[Answer, ...]
    lead: str
    moving: bool = False

    def key(self) -> tuple:
        text = "moving" if self.moving else _text_key(self.last)
        return (self.last.open_issues, text, tuple((a.code, a.issues) for a in self.answers))


def text_event(story: Story, beliefs: Beliefs, mediator: Mediator, s: _Stretch) -> Event:
    setup = story.setup
    names = setup.party_names

    def issue_of(name: str):
        return setup.specs[setup.issues.index(name)]

    lead = s.lead
    if s.moving and s.first.minute != s.last.minute:
        lead = lead.removesuffix(":") + ", minute by minute:"
    lines = [f"{lead} {_text_words(story, s.first, s.last)}."]
    if all(a.code == "no_text" for a in s.answers):
        lines = [f"No text: {story.mediator} sees no zone on any open issue."]
    else:
        lines += [_say(story, p, s.answers_first[p], a, issue_of)
                  for p, a in enumerate(s.answers)]
    heard = mediator.objections.get(s.last.minute)
    if heard:
        now = []
        for p, i, text in heard:
            spec, wants = setup.specs[i], setup.wants[p, i]
            reckoned = mediator.reckoned(s.last.minute, p, i)
            now.append(f"{names[p]}'s red line on {the(spec.label)} "
                       f"{'above' if wants > 0 else 'below'} {shown(spec, [text])[0]} "
                       f"({limit_words(spec, reckoned, wants, about=True)})")
        lines.append(f"{story.mediator} takes the objection as evidence — it now reckons "
                     f"{listing(now)} — and redrafts.")
    worn = frustration_line(names, s.last.frustration, setup.walkout_threshold[0],
                            [a.accepted for a in s.answers])
    if worn:
        lines.append(worn)
    data: dict = {
        "open_issues": list(s.last.open_issues),
        "text_from": {setup.issues[i]: s.first.text[i] for i in range(len(setup.issues))
                      if setup.issues[i] in s.last.open_issues},
        "text": {setup.issues[i]: s.last.text[i] for i in range(len(setup.issues))
                 if setup.issues[i] in s.last.open_issues},
        "values_from": list(s.first.values),
        "values": list(s.last.values),
        "demands_from": [a.demand for a in s.answers_first],
        "demands_to": [a.demand for a in s.answers],
        "answers": [a.to_json(names[p], story.private) for p, a in enumerate(s.answers)],
        "frustration": list(s.last.frustration)}
    if heard:
        data["objections"] = [{"party": names[p], "issue": setup.issues[i]}
                              for p, i, _ in heard]
    if story.learning:
        issues = [i for i in range(len(setup.issues)) if setup.issues[i] in s.last.open_issues]
        said, known = learnt(story, beliefs, s.first.minute - 1, s.last.minute, issues)
        if said:
            lines.append(said)
            data |= known
    return Event("package_text", s.first.minute, s.last.minute, None, " ".join(lines), data)


def opened_event(story: Story, record: MinuteRecord) -> Event:
    """The package put on the table: its issues and, with public information, the zone
    the red lines leave on each."""
    setup, mediator = story.setup, story.mediator
    labels = [setup.specs[setup.issues.index(n)].label for n in record.open_issues]
    lines = [f"{mediator} puts one text on the table over {the(listing(labels))}, and "
             "revises it as the sides answer (a single negotiating text): it aims for the "
             "Nash point of the sides' gains over the whole package, as it reckons them, "
             "so that a side can give on what it cares less about to gain on what it "
             "cares more about."]
    data: dict = {"open_issues": list(record.open_issues)}
    if not story.private:
        zones = {}
        for name in record.open_issues:
            i = setup.issues.index(name)
            text, zone = zone_text(setup, i, setup.red_line[0, :, i],
                                   int(setup.zone_lo[0, i]), int(setup.zone_hi[0, i]),
                                   f"On {the(setup.specs[i].label)}")
            lines.append(text)
            zones[name] = zone["zone"]
        data["zones"] = zones
    return Event("package", record.minute, record.minute, None, " ".join(lines), data)


def agreed_event(story: Story, record: MinuteRecord, issues: list[int]) -> Event:
    setup = story.setup
    names = setup.party_names
    deal = ", ".join(
        (f"{setup.specs[i].label} at {setup.specs[i].level_name(setup.level[0, i])} with "
         f"{setup.specs[i].scale.label} {shown(setup.specs[i], [record.text[i]])[0]}")
        if setup.specs[i].compound else
        f"{setup.specs[i].label} {shown(setup.specs[i], [record.text[i]], unit=True)[0]}"
        for i in issues)
    values = utilities(list(record.values))
    gets = listing([f"{n} {v}" for n, v in zip(names, values, strict=True)])
    text = f"Every side accepts: a package agreed — {deal}. It is worth {gets}"
    data: dict = {"values": {setup.issues[i]: record.text[i] for i in issues},
                  "utilities": dict(zip(names, record.values, strict=True))}
    if story.private:
        text += " (each at least its BATNA: see the last section)."
    else:
        reserves = utilities([float(r) for r in story.reserve])
        text += (", against BATNAs of " + listing([f"{n} {r}" for n, r in
                                                  zip(names, reserves, strict=True)]) + ".")
        data["reserve"] = dict(zip(names, [float(r) for r in story.reserve], strict=True))
    return Event("package_agreed", record.minute, record.minute, None, text, data)


# --------------------------------------------------------------------------- the round
def package_events(story: Story, beliefs: Beliefs) -> tuple[list[Event], dict[int, float]]:
    """The events of a package round's talks, and what was agreed."""
    setup, model = story.setup, story.model
    history = model.history
    if not history:
        return [], {}
    mediator = Mediator(story)
    closed = closures(story, mediator)
    by_minute: dict[int, list[Closure]] = {}
    for c in closed:
        by_minute.setdefault(c.minute, []).append(c)
    events = [opened_event(story, history[0])]
    blocked = [c for c in closed if c.reason == "blocked"]
    for c in blocked:
        events.append(parked_event(story, c))
    agreed: dict[int, float] = {}
    stretch: _Stretch | None = None
    previous: MinuteRecord | None = None

    def flush():
        nonlocal stretch
        if stretch is not None:
            events.append(text_event(story, beliefs, mediator, stretch))
            stretch = None

    for record in history:
        answers = tuple(package_answer(story, p, record, agreed)
                        for p in range(len(setup.party_names)))
        here = [c for c in by_minute.get(record.minute, []) if c.reason != "blocked"]
        won = [c.issue for c in here if c.status == ItemStatus.AGREED]
        if won:
            flush()
            events.append(agreed_event(story, record, won))
            agreed |= {i: record.text[i] for i in won}
        else:
            moving = (previous is not None and previous.open_issues == record.open_issues
                      and previous.minute not in mediator.objections
                      and _text_key(previous) != _text_key(record))
            lead = (f"{story.mediator}'s text:" if previous is None else
                    _lead(story, mediator, previous, record))
            candidate = _Stretch(record, record, answers, answers, lead, moving)
            if stretch is not None and stretch.key() == candidate.key():
                stretch.last, stretch.answers = record, answers
            else:
                flush()
                stretch = candidate
        if here or record.minute in mediator.objections or record.walked_out:
            flush()
        for c in here:
            if c.status == ItemStatus.PARKED:
                events.append(parked_event(story, c))
        if record.walked_out:
            events.append(walkout_event(story, beliefs, record,
                                        [setup.issues.index(n) for n in record.open_issues]))
        previous = record
    flush()
    return events, agreed


def _lead(story: Story, mediator: Mediator, before: MinuteRecord, now: MinuteRecord) -> str:
    """How the text of ``now`` came to be, after ``before``."""
    name = story.mediator
    if before.open_issues != now.open_issues:
        return f"Over the issues still open, {name}'s text:"
    if before.minute in mediator.objections:
        return f"{name}'s redrafted text:"
    same = all((np.isnan(a) and np.isnan(b)) or a == b
               for a, b in zip(before.text, now.text, strict=True))
    if same:
        return f"{name}'s text:"
    rose = [n for n, a, b in zip(story.names, before.values, now.values, strict=True)
            if b > a + 1e-9]
    toward = f" toward {listing(rose)}" if rose else ""
    return f"{name} revises its text{toward}:"
