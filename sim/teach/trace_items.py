"""The item-by-item (sequential) protocol told: each item opened with its zone of
agreement or why there is none, stretches of talks with each side's offer and its
answer to the mediator's text with the reason, agreements, parked and timed-out items.

Each answer's reason is the acceptance rule of ``Delegation.respond`` read backwards
(``rules.accepts``): inside the red line; inside the limit its BATNA sets on the item
(``rules.batna_red_line``: no item worth less than leaving, Fisher & Ury 1981); no
worse than its aspiration by more than the mediator's tolerance (Pruitt & Johnson
1970; offers overstate the aspiration by the side's bluff); and any linkage met.
Minutes where nothing but the offers change are told as one stretch. With private
information a side says where the text is past its red line, and an uninformed mediator
takes it as evidence (``trace_parking.Mediator`` replays what it then reckons).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model import rules
from sim.model.agents import ItemStatus
from sim.model.round import MinuteRecord
from sim.scenario.spec import ProposalRule
from sim.teach.story import Answer, Event, Story
from sim.teach.trace_minds import Beliefs, learnt, walkout_event
from sim.teach.trace_parking import Mediator
from sim.teach.wording import (
    amount,
    amounts,
    bound,
    frustration_line,
    level_admitted,
    level_phrase,
    limit_words,
    listing,
    show,
    shown,
    the,
    utility,
)


# --------------------------------------------------------------------------- linkage
def requirement(spec, at_least: float) -> str:
    """How a linkage's requirement reads: a compound issue's is a level."""
    if spec.compound:
        return f"at {level_phrase(spec, int(np.ceil(at_least)))} or higher"
    return f"at {show(spec, at_least)} or better"


def unmet_linkage(setup, party: int, item: int, agreed: dict[int, float]):
    """The (issue, level) a party ties ``item`` to and that is not yet agreed, if any;
    an agreed compound issue counts by its level, as the model reads it."""
    for p, issue, requires, at_least in setup.linkage:
        if p != party or issue != item:
            continue
        value = agreed.get(requires, -np.inf)
        if requires in agreed and setup.specs[requires].compound:
            value = float(setup.level[0, requires])
        if not value >= at_least:
            return requires, at_least
    return None


# --------------------------------------------------------------------------- answers
def answer(story: Story, party: int, item: int, record: MinuteRecord,
           agreed: dict[int, float]) -> Answer:
    """Why ``party`` accepted or rejected the text of ``record``: the delegation's
    acceptance rule and linkage, read backwards."""
    setup = story.setup
    accepted = record.accepted[party]
    proposal = record.proposal
    if proposal is None:
        return Answer("no_text", accepted)
    link = unmet_linkage(setup, party, item, agreed)
    if link is not None:
        return Answer("linkage", accepted, requires=setup.issues[link[0]], at_least=link[1])
    wants, scale = setup.wants[party, item], setup.span[item]
    red = float(setup.red_line[0, party, item])
    if wants * (proposal - red) < -rules.EPS * scale:
        return Answer("outside_red_line", accepted, abs(proposal - red), red)
    limit = float(rules.batna_red_line(setup.ideal[0, party, item], red,
                                       story.reserve[party]))
    if wants * (proposal - limit) < -rules.EPS * scale:
        return Answer("below_batna", accepted, abs(proposal - limit), limit)
    aspiration = record.aspirations[party]
    tolerance = float(setup.tolerance[0, party, item])
    short = -wants * (proposal - aspiration)
    if short > tolerance + rules.EPS * scale:
        return Answer("below_aspiration", accepted, short, aspiration, tolerance)
    return Answer("accepts", accepted)


def say_answer(story: Story, party: int, item: int, record: MinuteRecord, a: Answer) -> str:
    setup = story.setup
    name, issue = setup.party_names[party], setup.specs[item]
    proposal = record.proposal
    wants = setup.wants[party, item]
    if a.code == "accepts":
        return f"{name} accepts."
    if a.code == "linkage":
        needed = setup.specs[setup.issues.index(a.requires)]
        return (f"{name} will not agree {the(issue.label)} before "
                f"{the(needed.label)} is agreed {requirement(needed, a.at_least)} (linkage).")
    text = show(issue, proposal)
    side = "below" if wants > 0 else "above"
    if a.code == "outside_red_line":
        if story.private:
            return f"{name} rejects: {text} is past its red line."
        if issue.levelled:
            return (f"{name} rejects: {text} is past its red line (it accepts "
                    f"{limit_words(issue, a.reference, wants)}).")
        red = shown(issue, [proposal, a.reference])[1]
        return f"{name} rejects: {text} is past its red line {red} by {amount(issue, a.gap)}."
    if a.code == "below_batna":
        if story.private:
            return (f"{name} rejects: {text} would give it less on this item than its "
                    "BATNA (what leaving is worth to it).")
        return (f"{name} rejects: {text} would give it less on this item than its BATNA "
                f"{utility(story.reserve[party])}: it takes "
                f"{limit_words(issue, a.reference, wants)} here.")
    # below its aspiration, by more than it gives a mediator's text
    offer = show(issue, record.offers[party])
    if story.private:
        return (f"{name} rejects: {text} is short of what it still holds out for (it states "
                f"{offer}), by more than the mediator's credibility covers.")
    bluff = float(setup.bluff[0, party])
    overstated = f" (it states {offer}: its bluff)" if bluff > 0 else ""
    if issue.levelled:
        least = level_admitted(issue, a.reference - wants * a.tolerance, wants)
        extreme = least == (issue.top_level if wants > 0 else 0)
        more = "" if extreme else f" or {'more' if wants > 0 else 'less'}"
        return (f"{name} rejects: it still holds out for {issue.level_name(least)}{more}"
                f"{overstated}, even from a mediator's text.")
    _, held = shown(issue, [proposal, a.reference])
    gap, tolerance = amounts(issue, [a.gap, a.tolerance])
    slack = (f"more than the {tolerance} it would give a mediator's text"
             if a.tolerance > rules.EPS * setup.span[item] else
             "and it gives a mediator's text no slack")
    return (f"{name} rejects: {text} is {gap} {side} the {held} it still "
            f"holds out for{overstated}, {slack}.")


# --------------------------------------------------------------------------- zones
def _binding(setup, item: int, red: np.ndarray) -> tuple[int | None, int | None]:
    """The parties whose limits bound the zone: the highest floor (of those who want
    more) and the lowest ceiling (of those who want less)."""
    wants = setup.wants[:, item]
    floors = [p for p in range(len(wants)) if wants[p] > 0]
    ceilings = [p for p in range(len(wants)) if wants[p] < 0]
    floor = max(floors, key=lambda p: red[p]) if floors else None
    ceiling = min(ceilings, key=lambda p: red[p]) if ceilings else None
    return floor, ceiling


def _zone_words(spec, k_lo: int, k_hi: int, step: float) -> str:
    """'a zone of agreement from 400 to 1,000 prisoners per side', or of one point."""
    lo, hi = k_lo * step, k_hi * step
    if k_lo == k_hi:
        return f"a zone of agreement of one point: {show(spec, lo, unit=True)}"
    a, b = shown(spec, [lo, hi])
    unit = spec.scale.unit if spec.kind.value == "count" and spec.scale.unit else ""
    return f"a zone of agreement from {a} to {b}" + (f" {unit}" if unit else "")


def zone_text(setup, item: int, red: np.ndarray, k_lo: int, k_hi: int,
              lead: str = "Red lines for this round") -> tuple[str, dict]:
    """The zone of agreement on an item between limits ``red`` ``(P,)`` (Raiffa 1982,
    ZOPA), or why there is none."""
    issue, names = setup.specs[item], setup.party_names
    step = setup.step[item]
    floor, ceiling = _binding(setup, item, red)
    lo = red[floor] if floor is not None else setup.minimum[item]
    hi = red[ceiling] if ceiling is not None else setup.maximum[item]
    bounds = []
    if floor is not None:
        bounds.append(f"{names[floor]} accepts no less than {bound(issue, lo, +1)}")
    if ceiling is not None:
        bounds.append(f"{names[ceiling]} {'no' if bounds else 'accepts no'} more than "
                      f"{bound(issue, hi, -1)}")
    prefix = f"{lead}: " + ", ".join(bounds)
    if k_lo <= k_hi:
        data = {"zone": [float(k_lo * step), float(k_hi * step)]}
        return f"{prefix}: {_zone_words(issue, k_lo, k_hi, step)}.", data
    data: dict = {"zone": None}
    if lo > hi + rules.EPS * setup.span[item]:
        data["red_lines_cross_by"] = float(lo - hi)
        if issue.levelled:
            return f"{prefix}: no level lies inside both, so there is no zone of agreement.", \
                data
        return (f"{prefix}: they cross by {amount(issue, lo - hi)}, so there is no zone "
                "of agreement.", data)
    if issue.compound:
        return (f"{prefix}; but no {issue.label} level is admitted by every side's red line "
                "on the level with a zone on its conditions: no zone of agreement.", data)
    return (f"{prefix}: no round number (steps of {amount(issue, step)}) lies between "
            "them, so there is no zone of agreement.", data)


def item_event(story: Story, item: int, minute: int, agreed: dict[int, float]) -> Event:
    setup, picture, mediator = story.setup, story.picture, story.mediator
    issue = setup.specs[item]
    lines = [f"{mediator} opens {the(issue.label)}."]
    data: dict = {}
    scale = issue.scale
    what = f"the {scale.label} attached" + (f" ({scale.unit})" if scale.unit else "")
    if issue.compound:
        level = int(setup.level[0, item])
        data["level"] = level
        if level:
            lines.append(f"It puts {level_phrase(issue, level)} to the parties; they "
                         f"bargain over {what}.")
        else:
            lines.append(f"No level of {the(issue.label)} leaves a zone on {what}.")
    k_lo, k_hi = int(picture["zone_lo"][0, item]), int(picture["zone_hi"][0, item])
    if story.private:
        lines.append(_reckoned_zone(story, item, k_lo, k_hi))
        data["reckoned_zone"] = ([float(k_lo * setup.step[item]),
                                  float(k_hi * setup.step[item])] if k_lo <= k_hi else None)
    else:
        shown_level = min(issue.contested_from_level, issue.top_level)
        lead = (f"At {level_phrase(issue, shown_level)}, the red lines on its {scale.label}"
                if issue.compound and not setup.level[0, item] else "Red lines for this round")
        text, zone = zone_text(setup, item, setup.red_line[0, :, item],
                               int(setup.zone_lo[0, item]), int(setup.zone_hi[0, item]), lead)
        lines.append(text)
        data |= zone | {"red_lines": {setup.party_names[p]: float(setup.red_line[0, p, item])
                                      for p in range(len(setup.party_names))}}
        if story.reserve.any():
            lines.append(_batna_limits(story, item, k_lo, k_hi))
            data["zone_with_batna"] = ([float(k_lo * setup.step[item]),
                                        float(k_hi * setup.step[item])]
                                       if k_lo <= k_hi else None)
    nash = float(picture["nash"][0, item])
    if k_lo <= k_hi:
        if setup.proposal_rule is ProposalRule.NASH:
            lines.append(f"{mediator} aims for the Nash bargaining point, "
                         f"{show(issue, nash)}.")
            data["nash_point"] = nash
        else:
            lines.append(f"{mediator} will split the difference between the offers.")
    for party in range(len(setup.party_names)):
        link = unmet_linkage(setup, party, item, agreed)
        if link is not None:
            needed = setup.specs[link[0]]
            lines.append(f"{setup.party_names[party]} ties it to {the(needed.label)} "
                         f"({requirement(needed, link[1])}), not yet agreed.")
    return Event("item", minute, minute, issue.name, " ".join(lines), data)


def _reckoned_zone(story: Story, item: int, k_lo: int, k_hi: int) -> str:
    """The zone as the mediator sees it (with private information: never the truth)."""
    setup = story.setup
    issue = setup.specs[item]
    sees = (_zone_words(issue, k_lo, k_hi, setup.step[item]) if k_lo <= k_hi else
            "no zone of agreement")
    if setup.informed:
        return f"{story.mediator} knows every side's red line and BATNA: it sees {sees}."
    limits = [story.picture["red_line"][0, p, item] for p in range(len(setup.party_names))]
    words = [f"{name} {limit_words(issue, limits[p], setup.wants[p, item], about=True)}"
             for p, name in enumerate(setup.party_names)]
    return f"As {story.mediator} reckons, {listing(words)}: it sees {sees}."


def _batna_limits(story: Story, item: int, k_lo: int, k_hi: int) -> str:
    """Where each side's BATNA sets its limit on the item (public information)."""
    setup = story.setup
    issue = setup.specs[item]
    parts = []
    for p, name in enumerate(setup.party_names):
        if story.reserve[p] <= 0:
            continue
        wants = setup.wants[p, item]
        limit = rules.batna_red_line(setup.ideal[0, p, item], setup.red_line[0, p, item],
                                     story.reserve[p])
        parts.append(f"{name} (BATNA {utility(story.reserve[p])}) takes "
                     f"{limit_words(issue, limit, wants)}")
    zone = (_zone_words(issue, k_lo, k_hi, setup.step[item]) if k_lo <= k_hi else
            "no zone of agreement")
    return f"No side takes an item worth less than its BATNA: {listing(parts)}; that leaves " \
           f"{zone}."


# --------------------------------------------------------------------------- stretches
@dataclass
class _Stretch:
    item: int
    first: MinuteRecord
    last: MinuteRecord
    answers: tuple[Answer, ...]

    def key(self) -> tuple:
        return (self.item, self.last.proposal, tuple(a.code for a in self.answers))


def _offers(story: Story, item: int, first: MinuteRecord, last: MinuteRecord) -> str:
    issue, parts = story.spec(item), []
    for p, name in enumerate(story.names):
        a, b = first.offers[p], last.offers[p]
        moved = (" -> ".join(shown(issue, [a, b])) if abs(a - b) > rules.EPS
                 else show(issue, a))
        parts.append(f"{name} {moved}")
    return "offers " + ", ".join(parts)


def _heard(story: Story, replay: Mediator | None, s: _Stretch) -> tuple[str, list]:
    """What the mediator took from "past my red line" in the stretch: a sentence, and
    the JSON of each objection with the red line it then reckons."""
    if replay is None:
        return "", []
    setup, now, data = story.setup, [], []
    for minute in range(s.first.minute, s.last.minute + 1):
        for p, i, text in replay.objections.get(minute, []):
            spec, wants = setup.specs[i], setup.wants[p, i]
            reckoned = replay.reckoned(minute, p, i)
            now.append(f"{setup.party_names[p]}'s red line "
                       f"{'above' if wants > 0 else 'below'} {shown(spec, [text])[0]} "
                       f"({limit_words(spec, reckoned, wants, about=True)})")
            data.append({"minute": minute, "party": setup.party_names[p], "issue": spec.name,
                         "text": text, "reckons": reckoned})
    if not now:
        return "", []
    return (f"{story.mediator} takes the objection as evidence — it now reckons "
            f"{listing(now)}."), data


def talks_event(story: Story, beliefs: Beliefs, s: _Stretch,
                replay: Mediator | None = None) -> Event:
    setup, mediator = story.setup, story.mediator
    issue = setup.specs[s.item]
    first, last = s.first.minute, s.last.minute
    lines = [_offers(story, s.item, s.first, s.last) + "."]
    proposal = s.last.proposal
    if proposal is None:
        lines.append("No text: there is no zone of agreement." if not story.private else
                     f"No text: {mediator} sees no zone of agreement.")
    else:
        lines.append(f"{mediator} proposes {show(issue, proposal)}.")
        lines += [say_answer(story, p, s.item, s.last, a) for p, a in enumerate(s.answers)]
    names = setup.party_names
    said, heard = _heard(story, replay, s)
    if said:
        lines.append(said)
    worn = frustration_line(names, s.last.frustration, setup.walkout_threshold[0],
                            [a.accepted for a in s.answers])
    if worn:
        lines.append(worn)
    data = {"offers_from": list(s.first.offers), "offers_to": list(s.last.offers),
            "proposal": proposal,
            "answers": [a.to_json(names[p], story.private) for p, a in enumerate(s.answers)],
            "frustration": list(s.last.frustration)}
    if heard:
        data["mediator_learns"] = heard
    if not story.private:
        data["aspirations"] = list(s.last.aspirations)
    if story.learning:
        said, known = learnt(story, beliefs, first - 1, last, [s.item])
        if said:
            lines.append(said)
            data |= known
    return Event("talks", first, last, issue.name, " ".join(lines), data)


def agreed_event(story: Story, item: int, record: MinuteRecord) -> Event:
    setup = story.setup
    issue, value = setup.specs[item], record.proposal
    offers = ", ".join(f"{n} {o}" for n, o in zip(setup.party_names,
                                                  shown(issue, list(record.offers)),
                                                  strict=True))
    what = f"{issue.label} agreed at {show(issue, value, unit=True)}"
    if issue.compound:
        what = (f"{issue.label} agreed: {level_phrase(issue, int(setup.level[0, item]))} "
                f"with {issue.scale.label} {show(issue, value)}")
    text = (f"Offers {offers}; {setup.mediator_name} proposes {show(issue, value)}; every "
            f"side accepts: {what}.")
    return Event("agreed", record.minute, record.minute, issue.name, text,
                 {"value": value, "offers": list(record.offers)})


def closed_event(story: Story, item: int, record: MinuteRecord, start: int,
                 agreed: dict[int, float]) -> Event:
    setup, mediator = story.setup, story.mediator
    issue = setup.specs[item]
    spent = record.minute - start + 1
    if record.status == ItemStatus.PARKED:
        links = [(p, link) for p in range(len(setup.party_names))
                 if (link := unmet_linkage(setup, p, item, agreed)) is not None]
        if record.zone is not None and links:
            why = f"{listing([setup.party_names[p] for p, _ in links])}'s linkage closes it"
        else:
            seen = " as it sees it" if story.private else ""
            why = f"no zone of agreement{seen} after {spent} minutes of exploration"
        return Event("parked", record.minute, record.minute, issue.name,
                     f"{mediator} parks {the(issue.label)}: {why} (a deadlock).",
                     {"minutes_on_item": spent})
    return Event("timed_out", record.minute, record.minute, issue.name,
                 f"Time is up on {the(issue.label)} after {spent} minutes without "
                 f"agreement; {mediator} moves on.", {"minutes_on_item": spent})


def item_events(story: Story, beliefs: Beliefs) -> tuple[list[Event], dict[int, float]]:
    """The events of an item-by-item round's talks, and what was agreed."""
    setup = story.setup
    events: list[Event] = []
    agreed: dict[int, float] = {}
    stretch: _Stretch | None = None
    item, start = None, 0
    replay = Mediator(story) if story.private and not setup.informed else None

    def flush():
        nonlocal stretch
        if stretch is not None:
            events.append(talks_event(story, beliefs, stretch, replay))
            stretch = None

    for record in story.model.history:
        index = setup.issues.index(record.item)
        if index != item:
            flush()
            item, start = index, record.minute
            events.append(item_event(story, index, record.minute, agreed))
        answers = tuple(answer(story, p, index, record, agreed)
                        for p in range(len(setup.party_names)))
        if record.status == ItemStatus.AGREED:
            flush()
            events.append(agreed_event(story, index, record))
            agreed[index] = record.proposal
            continue
        candidate = _Stretch(index, record, record, answers)
        if stretch is not None and stretch.key() == candidate.key():
            stretch.last, stretch.answers = record, answers
        else:
            flush()
            stretch = candidate
        if record.status != ItemStatus.PENDING:
            flush()
            events.append(closed_event(story, index, record, start, agreed))
            item = None
        if record.walked_out:
            flush()
            open_ = [i for i in range(len(setup.issues))
                     if story.model.status[0, i] == ItemStatus.PENDING]
            events.append(walkout_event(story, beliefs, record, open_))
    flush()
    return events, agreed

