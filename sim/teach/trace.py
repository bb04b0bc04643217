"""One round told minute by minute: the events of a recorded replicate.

``replicate_setup`` cuts replicate ``run`` out of a batch exactly as ``negsim run``
draws it; ``play`` runs it with the model's record on; ``narrate`` turns the record
(``NegotiationRound.history``) and the replicate's inputs (``RoundSetup``: effective
red lines, tolerances, linkage, walk-out thresholds) into events — the round, the
opening statements, each item opened with its zone of agreement or why there is none,
stretches of talks with each side's offers and its answer to the mediator's text and
the reason for it, agreements, parked and timed-out items, a walk-out and the end.

Each answer's reason is the acceptance rule of ``rules.accepts`` read backwards:
inside the red line, no worse than the aspiration by more than the mediator's
tolerance (Pruitt & Johnson 1970), and any linkage met. Minutes where nothing but the
offers change are told as one stretch, so a 70-minute round reads in a few lines.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

import numpy as np

from sim.batch.chunks import CHUNK_SIZE, chunk_bounds, chunk_rng
from sim.model.agents import ItemStatus
from sim.model.parameters import RoundSetup, realise
from sim.model.round import MinuteRecord, NegotiationRound
from sim.model.rules import EPS
from sim.scenario.spec import IssueKind, IssueSpec, ProposalRule, Scenario
from sim.terminal import printable


@dataclass(frozen=True)
class Event:
    """Something that happened in minutes ``minute`` .. ``until`` (inclusive).

    ``kind`` is one of round, opening, item, talks, agreed, parked, timed_out,
    walkout, end; ``text`` says it in plain language; ``data`` holds the numbers."""

    kind: str
    minute: int
    until: int
    item: str | None
    text: str
    data: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"kind": self.kind, "minute": self.minute, "until": self.until,
                "item": self.item, "text": self.text} | self.data


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


# --------------------------------------------------------------------------- wording
def show(spec: IssueSpec, value: float, unit: bool = False) -> str:
    """A position on an issue in its own terms: '1,200' ('1,200 prisoners per side'
    with ``unit``), '0.35' (a compound issue's conditions), '1 (list accepted for
    review)', 'yes'."""
    if spec.kind is IssueKind.YES_NO:
        return spec.level_name(value)
    if spec.levelled:
        return f"{value:g} ({spec.level_name(value)})"
    if spec.compound or spec.kind is IssueKind.SHARE or not float(value).is_integer():
        return f"{value:.2f}"
    return f"{value:,.0f}" + (f" {spec.scale.unit}" if unit and spec.scale.unit else "")


def amount(spec: IssueSpec, value: float) -> str:
    """A distance on an issue's scale."""
    if spec.kind is IssueKind.COUNT:
        return f"{value:,.0f}"
    if spec.levelled:
        return f"{value:.2g}" + (" level" if abs(value - 1) < EPS else " levels")
    return f"{value:.2f}"


def level_phrase(spec: IssueSpec, level: int) -> str:
    """A compound issue's level as a phrase: 'local humanitarian pause (level 1)'."""
    return f"{spec.level_name(level)} (level {level})"


def _minutes(first: int, last: int) -> str:
    return f"{first}" if first == last else f"{first}-{last}"


def _list(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


# --------------------------------------------------------------------------- answers
@dataclass(frozen=True)
class Answer:
    """A side's answer to the mediator's text and why. ``code``: accepts,
    outside_red_line, below_aspiration, linkage, or no_text (there was none)."""

    code: str
    accepted: bool
    gap: float = 0.0  # how far the text falls short (red line or aspiration)
    reference: float = float("nan")  # the red line or aspiration it falls short of
    tolerance: float = 0.0
    requires: str | None = None
    at_least: float = 0.0

    def to_json(self, party: str) -> dict:
        out = {"party": party, "answer": self.code, "accepted": self.accepted}
        if self.code in ("outside_red_line", "below_aspiration"):
            out |= {"short_by": self.gap, "of": self.reference}
        if self.code == "below_aspiration":
            out["tolerance"] = self.tolerance
        if self.code == "linkage":
            out |= {"requires": self.requires, "at_least": self.at_least}
        return out


def _requirement(spec: IssueSpec, at_least: float) -> str:
    """How a linkage's requirement reads: a compound issue's is a level."""
    if spec.compound:
        return f"at {level_phrase(spec, int(np.ceil(at_least)))} or higher"
    return f"at {show(spec, at_least)} or better"


def _unmet_linkage(setup: RoundSetup, party: int, item: int, agreed: dict[int, float]):
    """The (issue, level) a party ties ``item`` to and that is not yet agreed, if any;
    an agreed ceasefire counts by its level, as the model reads it."""
    for p, issue, requires, at_least in setup.linkage:
        if p != party or issue != item:
            continue
        value = agreed.get(requires, -np.inf)
        if requires in agreed and setup.specs[requires].compound:
            value = float(setup.level[0, requires])
        if not value >= at_least:
            return requires, at_least
    return None


def answer(setup: RoundSetup, party: int, item: int, record: MinuteRecord,
           agreed: dict[int, float]) -> Answer:
    """Why ``party`` accepted or rejected the text of ``record`` (``rules.accepts``
    and the delegation's linkage, read backwards)."""
    accepted = record.accepted[party]
    proposal = record.proposal
    if proposal is None:
        return Answer("no_text", accepted)
    link = _unmet_linkage(setup, party, item, agreed)
    if link is not None:
        return Answer("linkage", accepted, requires=setup.issues[link[0]], at_least=link[1])
    wants = setup.wants[party, item]
    red = float(setup.red_line[0, party, item])
    if wants * (proposal - red) < -EPS * setup.maximum[item]:
        return Answer("outside_red_line", accepted, abs(proposal - red), red)
    aspiration = record.aspirations[party]
    tolerance = float(setup.tolerance[0, party, item])
    short = -wants * (proposal - aspiration)
    if short > tolerance + EPS * setup.maximum[item]:
        return Answer("below_aspiration", accepted, short, aspiration, tolerance)
    return Answer("accepts", accepted)


def _say_answer(setup: RoundSetup, party: int, item: int, proposal: float, a: Answer) -> str:
    name, issue = setup.party_names[party], setup.specs[item]
    if a.code == "accepts":
        return f"{name} accepts."
    if a.code == "linkage":
        needed = setup.specs[setup.issues.index(a.requires)]
        return (f"{name} will not agree the {issue.label} before the "
                f"{needed.label} is agreed {_requirement(needed, a.at_least)} (linkage).")
    text = show(issue, proposal)
    side = "below" if setup.wants[party, item] > 0 else "above"
    if a.code == "outside_red_line":
        return (f"{name} rejects: {text} is past its red line {show(issue, a.reference)} "
                f"by {amount(issue, a.gap)}.")
    if a.code == "below_aspiration":
        slack = (f"more than the {amount(issue, a.tolerance)} it would give a mediator's "
                 "text" if a.tolerance > EPS * setup.maximum[item] else
                 "and it gives a mediator's text no slack")
        return (f"{name} rejects: {text} is {amount(issue, a.gap)} {side} the "
                f"{show(issue, a.reference)} it still holds out for, {slack}.")
    return ""


# --------------------------------------------------------------------------- zones
def _binding(setup: RoundSetup, item: int) -> tuple[int | None, int | None]:
    """The parties whose red lines bound the zone: the highest floor (of those who
    want more) and the lowest ceiling (of those who want less)."""
    red, wants = setup.red_line[0, :, item], setup.wants[:, item]
    floors = [p for p in range(len(wants)) if wants[p] > 0]
    ceilings = [p for p in range(len(wants)) if wants[p] < 0]
    floor = max(floors, key=lambda p: red[p]) if floors else None
    ceiling = min(ceilings, key=lambda p: red[p]) if ceilings else None
    return floor, ceiling


def zone_text(setup: RoundSetup, item: int, lead: str = "Red lines for this round"
              ) -> tuple[str, dict]:
    """The zone of agreement on an item (Raiffa 1982, ZOPA) or why there is none."""
    issue, names = setup.specs[item], setup.party_names
    step = setup.step[item]
    red = setup.red_line[0, :, item]
    floor, ceiling = _binding(setup, item)
    lo = red[floor] if floor is not None else setup.minimum[item]
    hi = red[ceiling] if ceiling is not None else setup.maximum[item]
    bounds = []
    if floor is not None:
        bounds.append(f"{names[floor]} accepts no less than {show(issue, lo)}")
    if ceiling is not None:
        bounds.append(f"{names[ceiling]} {'no' if bounds else 'accepts no'} more than "
                      f"{show(issue, hi)}")
    data = {"red_lines": {names[p]: float(red[p]) for p in range(len(names))}}
    k_lo, k_hi = int(setup.zone_lo[0, item]), int(setup.zone_hi[0, item])
    prefix = f"{lead}: " + ", ".join(bounds)
    if k_lo <= k_hi:
        zone = (k_lo * step, k_hi * step)
        data |= {"zone": [float(zone[0]), float(zone[1])]}
        return (f"{prefix}: a zone of agreement from {show(issue, zone[0])} to "
                f"{show(issue, zone[1], unit=True)}.", data)
    data |= {"zone": None}
    if lo > hi + EPS * setup.maximum[item]:
        data |= {"red_lines_cross_by": float(lo - hi)}
        return (f"{prefix}: they cross by {amount(issue, lo - hi)}, so there is no zone "
                "of agreement.", data)
    if issue.compound:
        return (f"{prefix}; but no {issue.label} level is admitted by every side's red line "
                "on the level with a zone on its conditions: no zone of agreement.", data)
    return (f"{prefix}: no round number (steps of {amount(issue, step)}) lies between "
            "them, so there is no zone of agreement.", data)


def _item_event(setup: RoundSetup, item: int, minute: int, agreed: dict[int, float]) -> Event:
    issue, mediator = setup.specs[item], setup.mediator_name
    lines = [f"{mediator} opens the {issue.label}."]
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
            lines.append(f"No level of the {issue.label} leaves a zone on {what}.")
    shown = min(issue.contested_from_level, issue.top_level)
    lead = (f"At {level_phrase(issue, shown)}, the red lines on its {scale.label}"
            if issue.compound and not setup.level[0, item] else "Red lines for this round")
    text, zone = zone_text(setup, item, lead)
    lines.append(text)
    data |= zone
    nash = setup.nash[0, item]
    if zone["zone"] is not None:
        if setup.proposal_rule is ProposalRule.NASH:
            lines.append(f"{mediator} aims for the Nash bargaining point, "
                         f"{show(issue, nash)}.")
            data["nash_point"] = float(nash)
        else:
            lines.append(f"{mediator} will split the difference between the offers.")
    for party in range(len(setup.party_names)):
        link = _unmet_linkage(setup, party, item, agreed)
        if link is not None:
            needed = setup.specs[link[0]]
            lines.append(f"{setup.party_names[party]} ties it to the {needed.label} "
                         f"({_requirement(needed, link[1])}), not yet agreed.")
    return Event("item", minute, minute, issue.name, " ".join(lines), data)


# --------------------------------------------------------------------------- stretches
@dataclass
class _Stretch:
    item: int
    first: MinuteRecord
    last: MinuteRecord
    answers: tuple[Answer, ...]

    def key(self) -> tuple:
        return (self.item, self.last.proposal, tuple(a.code for a in self.answers))


def _offers(setup: RoundSetup, item: int, first: MinuteRecord, last: MinuteRecord) -> str:
    issue, parts = setup.specs[item], []
    for p, name in enumerate(setup.party_names):
        a, b = first.offers[p], last.offers[p]
        moved = f"{show(issue, a)} -> {show(issue, b)}" if abs(a - b) > EPS else show(issue, a)
        parts.append(f"{name} {moved}")
    return "offers " + ", ".join(parts)


def _talks_event(setup: RoundSetup, s: _Stretch) -> Event:
    issue, mediator = setup.specs[s.item], setup.mediator_name
    first, last = s.first.minute, s.last.minute
    lines = [_offers(setup, s.item, s.first, s.last) + "."]
    proposal = s.last.proposal
    if proposal is None:
        lines.append("No text: there is no zone of agreement.")
    else:
        lines.append(f"{mediator} proposes {show(issue, proposal)}.")
        lines += [_say_answer(setup, p, s.item, proposal, a) for p, a in enumerate(s.answers)]
    names = setup.party_names
    worn = [f"{names[p]} {s.last.frustration[p]:.0f} of "
            f"{setup.walkout_threshold[0, p]:.0f}" for p in range(len(names))
            if s.last.frustration[p] >= 0.5 * setup.walkout_threshold[0, p]]
    if worn:
        lines.append("Frustration builds: " + ", ".join(worn) + " (the level at which it "
                     "would walk out).")
    data = {"offers_from": list(s.first.offers), "offers_to": list(s.last.offers),
            "aspirations": list(s.last.aspirations), "proposal": proposal,
            "answers": [a.to_json(names[p]) for p, a in enumerate(s.answers)],
            "frustration": list(s.last.frustration)}
    return Event("talks", first, last, issue.name, " ".join(lines), data)


def _agreed_event(setup: RoundSetup, item: int, record: MinuteRecord) -> Event:
    issue, value = setup.specs[item], record.proposal
    offers = ", ".join(f"{n} {show(issue, o)}" for n, o in zip(setup.party_names, record.offers,
                                                              strict=True))
    what = f"{issue.label} agreed at {show(issue, value, unit=True)}"
    if issue.compound:
        what = (f"{issue.label} agreed: {level_phrase(issue, int(setup.level[0, item]))} "
                f"with {issue.scale.label} {show(issue, value)}")
    text = (f"Offers {offers}; {setup.mediator_name} proposes {show(issue, value)}; every "
            f"side accepts: {what}.")
    return Event("agreed", record.minute, record.minute, issue.name, text,
                 {"value": value, "offers": list(record.offers)})


def _closed_event(setup: RoundSetup, item: int, record: MinuteRecord, start: int,
                  agreed: dict[int, float]) -> Event:
    issue, mediator = setup.specs[item], setup.mediator_name
    spent = record.minute - start + 1
    if record.status == ItemStatus.PARKED:
        links = [(p, link) for p in range(len(setup.party_names))
                 if (link := _unmet_linkage(setup, p, item, agreed)) is not None]
        if setup.zone_lo[0, item] <= setup.zone_hi[0, item] and links:
            who = _list([setup.party_names[p] for p, _ in links])
            why = f"{who}'s linkage closes it"
        else:
            why = f"no zone of agreement after {spent} minutes of exploration"
        return Event("parked", record.minute, record.minute, issue.name,
                     f"{mediator} parks the {issue.label}: {why} (a deadlock).",
                     {"minutes_on_item": spent})
    return Event("timed_out", record.minute, record.minute, issue.name,
                 f"Time is up on the {issue.label} after {spent} minutes without "
                 f"agreement; {mediator} moves on.", {"minutes_on_item": spent})


def _walkout_event(setup: RoundSetup, record: MinuteRecord) -> Event:
    party = setup.party_names.index(record.walked_out)
    felt, limit = record.frustration[party], setup.walkout_threshold[0, party]
    return Event("walkout", record.minute, record.minute, record.item,
                 f"{record.walked_out} walks out: its frustration ({felt:.0f}) passed its "
                 f"threshold ({limit:.0f}: patience times the day's mood). The round ends; "
                 "what was agreed stands.",
                 {"party": record.walked_out, "frustration": felt, "threshold": float(limit)})


# --------------------------------------------------------------------------- the round
def _strategy(beta: float) -> str:
    if abs(beta - 1.0) < 0.05:
        return f"concedes evenly (beta {beta:.2f})"
    kind = "Boulware: holds firm, concedes late" if beta < 1 else "Conceder: concedes early"
    return f"{kind} (beta {beta:.2f})"


def _round_event(setup: RoundSetup, title: str) -> Event:
    names, mediator = setup.party_names, setup.mediator_name
    order = [setup.issues[i] for i in setup.order[0]]
    labels = [setup.specs[i].label for i in setup.order[0]]
    pressure = float(setup.pressure[0].min())
    lines = [(f"{title}. " if title else "") + f"{_list(list(names))}, mediated by "
             f"{mediator}.",
             f"Agenda in {mediator}'s order: " + ", ".join(labels) + ".",
             f"Each side concedes over a {setup.deadline_minutes:g}-minute horizon; "
             + "; ".join(f"{n} {_strategy(float(setup.concession[0, p]))}"
                         for p, n in enumerate(names)) + ".",
             f"{mediator}'s pressure {pressure:.2f} makes the clock run "
             f"{100 * pressure:.0f}% faster for both." if pressure > 0 else
             f"{mediator} applies no pressure.",
             "Walk-out thresholds (minutes of stalled talk, weighted by salience): "
             + ", ".join(f"{n} {setup.walkout_threshold[0, p]:.0f}"
                         for p, n in enumerate(names)) + "."]
    data = {"parties": list(names), "mediator": mediator, "order": order,
            "concession": [float(b) for b in setup.concession[0]],
            "walkout_threshold": [float(w) for w in setup.walkout_threshold[0]],
            "pressure": pressure}
    return Event("round", 0, 0, None, " ".join(lines), data)


def _end_event(model: NegotiationRound, agreed: dict[int, float]) -> Event:
    setup = model.setup
    duration = float(model.duration[0])
    status = model.status[0]
    if model.walkout_party[0] >= 0:
        why = f"{setup.party_names[model.walkout_party[0]]} walked out"
    elif not (status != ItemStatus.PENDING).all():
        why = f"it is stopped at its limit of {setup.max_minutes} minutes"
    else:
        why = f"the agenda is done, then {setup.closing_minutes:g} minutes of closing"
    parts = []
    done = []
    for i, v in agreed.items():
        spec = setup.specs[i]
        done.append(f"{spec.label}: {level_phrase(spec, int(setup.level[0, i]))}, "
                    f"{spec.scale.label} {show(spec, v)}" if spec.compound else
                    f"{spec.label} {show(spec, v, unit=True)}")
    parts.append("Agreed: " + ("; ".join(done) if done else "nothing") + ".")
    open_item = (setup.issues.index(model.history[-1].item) if model.history
                 and model.history[-1].status == ItemStatus.PENDING else None)
    if open_item is not None:
        parts.append(f"Under discussion when it ended: {setup.specs[open_item].label}.")
    for word, code in (("Parked", ItemStatus.PARKED), ("Timed out", ItemStatus.TIMED_OUT),
                       ("Not reached", ItemStatus.PENDING)):
        items = [setup.specs[i].label for i in setup.order[0]
                 if status[i] == code and i != open_item]
        if items:
            parts.append(f"{word}: " + ", ".join(items) + ".")
    outcomes = model.outcomes()
    data = {"duration_minutes": duration,
            "agreed": {setup.issues[i]: v for i, v in agreed.items()},
            "status": {setup.issues[i]: ItemStatus(int(s)).name.lower()
                       for i, s in enumerate(status)},
            "outcomes": {k: (v[0].item() if hasattr(v[0], "item") else v[0])
                         for k, v in outcomes.items()}}
    return Event("end", int(duration), int(duration), None,
                 f"The round ends after {duration:g} minutes: {why}. " + " ".join(parts), data)


def narrate(model: NegotiationRound, title: str = "") -> list[Event]:
    """The events of replicate 0 of a recorded round (``record=True``), so far: a
    round still running (the dashboard's) has no end yet."""
    setup = model.setup
    events = [_round_event(setup, title)]
    opening = int(setup.opening_minutes[0])
    if opening > 0 and model.minute > 0:
        last = min(opening, model.minute) - 1
        events.append(Event("opening", 0, last, None,
                            "Opening statements.", {}))
    agreed: dict[int, float] = {}
    stretch: _Stretch | None = None
    item, start = None, 0

    def flush():
        nonlocal stretch
        if stretch is not None:
            events.append(_talks_event(setup, stretch))
            stretch = None

    for record in model.history:
        index = setup.issues.index(record.item)
        if index != item:
            flush()
            item, start = index, record.minute
            events.append(_item_event(setup, index, record.minute, agreed))
        answers = tuple(answer(setup, p, index, record, agreed)
                        for p in range(len(setup.party_names)))
        if record.status == ItemStatus.AGREED:
            flush()
            events.append(_agreed_event(setup, index, record))
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
            events.append(_closed_event(setup, index, record, start, agreed))
            item = None
        if record.walked_out:
            flush()
            events.append(_walkout_event(setup, record))
    flush()
    if not model.running:
        events.append(_end_event(model, agreed))
    return events


# --------------------------------------------------------------------------- output
#: ANSI styles by event kind (ECMA-48 SGR codes).
STYLES = {"item": "1", "agreed": "32", "parked": "33", "timed_out": "33", "walkout": "1;31",
          "end": "1"}


def use_colour(is_terminal: bool, environ: dict[str, str]) -> bool:
    """Colour only on a terminal, and never where NO_COLOR is set (no-color.org)."""
    return is_terminal and not environ.get("NO_COLOR") and environ.get("TERM") != "dumb"


def render(events: list[Event], colour: bool = False, width: int = 100) -> str:
    """The events as text: the minutes in a left column, each event wrapped beside it."""
    lines = []
    for event in events:
        if event.kind in ("item", "end") and lines:
            lines.append("")
        label = "" if event.kind == "round" else _minutes(event.minute, event.until)
        body = textwrap.wrap(printable(event.text), width - 10) or [""]
        style = STYLES.get(event.kind)
        for i, text in enumerate(body):
            if colour and style:
                text = f"\033[{style}m{text}\033[0m"
            lines.append(f"{label if i == 0 else '':>7}   {text}")
    return "\n".join(lines)
