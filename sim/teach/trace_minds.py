"""The trace's account of what the actors know and decide: the mediator's caucuses and
what it then reckons, the levers it spends, what each side believes of the others' red
lines (replayed from the record exactly as the delegations update them), walk-outs as
decisions, and the final section, "What each side really held".

- Caucuses: the mediator meets each side in private before the plenary and narrows its
  beliefs about their red lines and BATNAs (Kressel & Pruitt 1989;
  ``sim.model.beliefs.after_caucuses``); what it reckons is the middle of each belief.
- Levers: where, as the mediator reckons, the sides' BATNAs close what their red lines
  leave open, it spends the levers it holds (Touval & Zartman 1985, manipulative
  mediation; ``sim.model.beliefs.spend_levers``).
- Beliefs: a side's belief about another's red line is a uniform interval, truncated
  by Bayes' rule at each stated offer or accepted text (``rules.narrowed``): offers and
  acceptances never pass one's own red line.
- Walk-outs: a side leaves when staying is worth less than its BATNA now
  (``rules.staying_value``, ``rules.walks_out``: a deal it believes ``p`` likely, worth
  ``v``, else its BATNA, discounted for the minutes it expects to wait) — or, bounded
  rationality, when frustration on stalled talks passes its patience.
"""

from __future__ import annotations

import numpy as np

from sim.model import rules
from sim.model.beliefs import short_of_batna
from sim.model.round import MinuteRecord, WalkReason
from sim.scenario.spec import Protocol
from sim.teach.story import Event, Story
from sim.teach.wording import (
    gain,
    interval_words,
    limit_words,
    listing,
    pair,
    percent,
    show,
    the,
    utilities,
    utility,
)

#: Where the final section's values are, for a sentence that withholds one.
SECTION = "What each side really held"


# --------------------------------------------------------------------------- beliefs
class Beliefs:
    """What each side believes of the others' red lines after each recorded minute:
    ``(observer, party, issue)`` intervals relative to the truth in span shares, as
    ``RoundSetup.party_lo/hi``, replayed from the record as ``Delegation.observe``
    updates them (stated offers item by item, accepted texts in a package)."""

    def __init__(self, story: Story) -> None:
        setup = story.setup
        self.story = story
        self.lo = setup.party_lo[0].astype(float).copy()  # (P, P, I)
        self.hi = setup.party_hi[0].astype(float).copy()
        self.after: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for record in story.model.history:
            if story.learning:
                self._observe(record)
            self.after[record.minute] = (self.lo.copy(), self.hi.copy())

    def _observe(self, record: MinuteRecord) -> None:
        setup = self.story.setup
        n_parties = len(setup.party_names)
        if record.item is not None:  # every side hears every other's offer
            item = setup.issues.index(record.item)
            for observer in range(n_parties):
                for party in range(n_parties):
                    if party != observer:
                        self._narrow(observer, party, item, record.offers[party])
            return
        for party in range(n_parties):  # an accepted text: its red lines admit it
            if not record.accepted[party]:
                continue
            for issue, value in enumerate(record.text):
                if np.isnan(value):
                    continue
                for observer in range(n_parties):
                    if observer != party:
                        self._narrow(observer, party, issue, value)

    def _narrow(self, observer: int, party: int, issue: int, value: float) -> None:
        setup = self.story.setup
        wants = setup.wants[party, issue]
        at = (value - setup.red_line[0, party, issue]) / setup.span[issue]
        new_lo = at if wants < 0 else -np.inf
        new_hi = at if wants > 0 else np.inf
        lo, hi = rules.narrowed(np.array(self.lo[observer, party, issue]),
                                np.array(self.hi[observer, party, issue]), new_lo, new_hi)
        self.lo[observer, party, issue], self.hi[observer, party, issue] = float(lo), float(hi)

    def at(self, minute: int) -> tuple[np.ndarray, np.ndarray]:
        """The intervals after ``minute`` (the prior before the first record)."""
        known = [m for m in self.after if m <= minute]
        if not known:
            setup = self.story.setup
            return setup.party_lo[0], setup.party_hi[0]
        return self.after[max(known)]

    def interval(self, minute: int, observer: int, party: int, issue: int
                 ) -> tuple[float, float]:
        """Where ``observer`` believes ``party``'s red line on ``issue`` lies, in the
        issue's units, after ``minute``."""
        setup = self.story.setup
        lo, hi = self.at(minute)
        red, span = setup.red_line[0, party, issue], setup.span[issue]
        return (float(red + span * lo[observer, party, issue]),
                float(red + span * hi[observer, party, issue]))

    def zone_chance(self, minute: int, observer: int, issue: int) -> float:
        """``Delegation.zone_belief`` of ``observer`` on ``issue`` after ``minute``: the
        chance, by its beliefs, that the others' red lines leave room for its limit."""
        setup, story = self.story.setup, self.story
        limit = rules.batna_red_line(setup.ideal[0, observer, issue],
                                     setup.red_line[0, observer, issue], story.reserve[observer])
        chance = 1.0
        for party in range(len(setup.party_names)):
            if party == observer:
                continue
            lo, hi = self.interval(minute, observer, party, issue)
            chance *= float(rules.zone_probability(
                np.array(limit), setup.wants[observer, issue], np.array(lo), np.array(hi),
                setup.wants[party, issue]))
        return chance

    def phrase(self, minute: int, observer: int, party: int, issue: int) -> str:
        """'between 380 and 610', 'at least 700', on the issue's terms."""
        setup = self.story.setup
        spec = setup.specs[issue]
        lo, hi = self.interval(minute, observer, party, issue)
        low, high = (setup.minimum[issue], setup.maximum[issue])
        if lo <= low + 1e-9 and hi >= high - 1e-9:
            return "anywhere on the scale"
        return interval_words(spec, lo, hi)


def learnt(story: Story, beliefs: Beliefs, before: int, after: int,
           issues: list[int]) -> tuple[str, dict]:
    """What the sides learnt of each other's red lines on ``issues`` between the end of
    minute ``before`` and the end of ``after`` (their offers or accepted texts narrowed
    a belief), as a sentence and its numbers."""
    setup = story.setup
    lo0, hi0 = beliefs.at(before)
    lo1, hi1 = beliefs.at(after)
    parts, data = [], {}
    for observer, name in enumerate(setup.party_names):
        for party, other in enumerate(setup.party_names):
            for issue in issues:
                if party == observer:
                    continue
                if (lo0[observer, party, issue] == lo1[observer, party, issue]
                        and hi0[observer, party, issue] == hi1[observer, party, issue]):
                    continue
                where = beliefs.phrase(after, observer, party, issue)
                parts.append(f"{name} now believes {other}'s red line on "
                             f"{the(setup.specs[issue].label)} lies {where}")
                data.setdefault(name, {}).setdefault(other, {})[setup.issues[issue]] = \
                    list(beliefs.interval(after, observer, party, issue))
    if not parts:
        return "", {}
    return "What they learn: " + "; ".join(parts) + ".", {"beliefs": data}


# --------------------------------------------------------------------------- opening
def caucus_event(story: Story, last: int) -> Event | None:
    """The mediator's caucuses (minutes after the openings, before the plenary), and
    what it reckons of each side once they are over; None if it holds none or they
    have not begun by minute ``last``."""
    setup, model = story.setup, story.model
    start = int(setup.opening_minutes[0])
    if not setup.caucuses or last < start:
        return None
    end = int(model.plenary_start[0]) - 1
    names = setup.party_names
    rounds = f"{setup.caucuses} round{'s' if setup.caucuses > 1 else ''}"
    lines = [f"{story.mediator} meets {listing(list(names))} in private caucuses, one side "
             f"at a time: {rounds} of {setup.caucus_minutes} minutes with each."]
    data: dict = {"caucuses": setup.caucuses, "caucus_minutes": setup.caucus_minutes}
    if last >= end:
        text, reckoned = reckoning(story)
        lines.append(text)
        data |= reckoned
    return Event("caucus", start, min(end, last), None, " ".join(lines), data)


def reckoning(story: Story) -> tuple[str, dict]:
    """What the mediator reckons when the plenary opens: each side's red line on each
    issue (the middle of its belief), the zones it then sees, and the BATNAs."""
    setup, picture = story.setup, story.picture
    names, parts = setup.party_names, []
    data: dict = {"reckoned_red_lines": {}, "reckoned_zones": {}, "reckoned_batna": {}}
    for i, spec in enumerate(setup.specs):
        sides = []
        for p, name in enumerate(names):
            wants = setup.wants[p, i]
            red = float(picture["red_line"][0, p, i])
            sides.append(f"{name} {limit_words(spec, red, wants, about=True)}")
            data["reckoned_red_lines"].setdefault(name, {})[spec.name] = red
        k_lo, k_hi = int(picture["zone_lo"][0, i]), int(picture["zone_hi"][0, i])
        if k_lo <= k_hi:
            zone = [k_lo * setup.step[i], k_hi * setup.step[i]]
            sees = f"a zone from {show(spec, zone[0])} to {show(spec, zone[1])}" \
                if k_lo < k_hi else f"a zone of one point, {show(spec, zone[0])}"
        else:
            zone, sees = None, "no zone"
        data["reckoned_zones"][spec.name] = zone
        parts.append(f"on {the(spec.label)}, {listing(sides)}: {sees}")
    batnas = [float(b) for b in picture["batna"][0]]
    data["reckoned_batna"] = dict(zip(names, batnas, strict=True))
    text = (f"What it then reckons: {'; '.join(parts)}. Their BATNAs, as it reckons them: "
            + ", ".join(f"{n} about {b}" for n, b in zip(names, utilities(batnas),
                                                          strict=True)) + ".")
    return text, data


def lever_event(story: Story) -> Event | None:
    """The levers the mediator spent before the talks, and whether, as it reckons, a
    zone then exists."""
    setup, model = story.setup, story.model
    used = np.flatnonzero(model.levers_used[0])
    if not used.size:
        return None
    names = setup.party_names
    spent, data = [], []
    for k in used:
        party, worth, shift, cost = setup.levers[k]
        name, effect = story.lever_name(k), []
        if worth:
            effect.append(f"worth {utility(worth)} to it in any agreement")
        if shift:
            effect.append(f"its BATNA {'rises' if shift > 0 else 'falls'} by "
                          f"{utility(abs(shift))}")
        spent.append(f"{'offers' if worth >= 0 and shift >= 0 else 'turns on'} "
                     f"{names[party]} the {name} ({listing(effect) or 'no effect'}; it costs "
                     f"{cost:g} of a budget of {setup.budget:g})")
        data.append({"lever": name, "party": names[party], "utility": worth,
                     "batna": shift, "cost": cost})
    package = setup.protocol is Protocol.PACKAGE
    still = bool(short_of_batna(setup, story.picture, package)[0])
    after = ("as it reckons, the sides' BATNAs still close the talks" if still else
             "a zone now exists, as it reckons")
    text = (f"{story.mediator} reckons that the sides' BATNAs close what their red lines "
            f"leave open. It {'; it '.join(spent)}: {after}.")
    minute = int(model.plenary_start[0])
    return Event("lever", minute, minute, None, text,
                 {"levers": data, "zone_now": not still})


# --------------------------------------------------------------------------- walk-outs
def walkout_event(story: Story, beliefs: Beliefs, record: MinuteRecord,
                  open_issues: list[int]) -> Event:
    """A walk-out as the decision it was: staying weighed against the BATNA, or
    frustration past patience; the round ends, what was agreed stands."""
    setup = story.setup
    party = setup.party_names.index(record.walked_out)
    name = record.walked_out
    data: dict = {"party": name}
    felt, limit = record.frustration[party], float(setup.walkout_threshold[0, party])
    data |= {"frustration": felt, "threshold": limit}
    weighed = record.stay is not None
    if weighed:
        stay = record.stay[party]
        p_deal, value, minutes = (record.parts[key][party] for key in ("p_deal", "value",
                                                                        "minutes"))
        rate = float(setup.discount[0, party])
        data |= {"stay": stay, "p_deal": p_deal, "value": value, "minutes": minutes,
                 "discount_per_hour": rate}
        if not story.private:
            data["reserve"] = float(story.reserve[party])
    if record.reason == WalkReason.BATNA:
        data["reason"] = "batna"
        wait = (f"discounted by {percent(rate)} an hour for the {minutes:.0f} minutes it "
                "expected to wait" if rate > 0 and minutes > 0.5 else
                "with nothing lost by waiting" if rate <= 0 else "with no wait to speak of")
        chance = (f"a deal it believed {percent(p_deal)} likely, worth {utility(value)} to "
                  "it, else its BATNA" if p_deal >= 0.005 else
                  "it saw no deal to be had: only its BATNA, later")
        text = (f"{name} walks out: staying was worth {utility(stay)} to it ({chance}, {wait}), "
                "less than its BATNA now")
        text += (" (its value is told in the last section)." if story.private else
                 f", {_batna(story, party, named=False)}.")
        believed = _believed(story, beliefs, record, party, open_issues)
        if believed[0]:
            text += " " + believed[0]
            data["believed"] = believed[1]
    else:
        data["reason"] = "frustration"
        felt_text, limit_text = pair(felt, limit)
        text = (f"{name} walks out: its frustration ({felt_text}) reached its threshold "
                f"({limit_text}: patience times the day's mood) — bounded rationality, "
                "not a calculation")
        if weighed:
            text += (f"; staying was still worth {utility(stay)} to it, no less than its "
                     + ("BATNA" if story.private else _batna(story, party)))
        text += "."
    text += " The round ends; what was agreed stands."
    return Event("walkout", record.minute, record.minute, record.item, text, data)


def _batna(story: Story, party: int, named: bool = True) -> str:
    """'its BATNA 0.15' ('0.15' unnamed), and what a lever did to it."""
    setup = story.setup
    batna, reserve = float(setup.batna[0, party]), float(story.reserve[party])
    if abs(batna - reserve) < 1e-12:
        return f"its BATNA {utility(batna)}" if named else utility(batna)
    return f"{utility(reserve)} (its BATNA {utility(batna)}, with what the levers changed)"


def _believed(story: Story, beliefs: Beliefs, record: MinuteRecord, party: int,
              issues: list[int]) -> tuple[str, dict]:
    """What the side leaving believed of the others' red lines on the open issues where
    it was unsure of a zone (with public information: where it knew there was none)."""
    setup = story.setup
    parts, data = [], {}
    if not story.private:
        none = [i for i in issues if beliefs.zone_chance(record.minute, party, i) < 1e-9]
        if not none:
            return "", {}
        labels = listing([setup.specs[i].label for i in none])
        return (f"The others' red lines leave it no zone on {the(labels)}.",
                {setup.issues[i]: 0.0 for i in none})
    for issue in issues:
        chance = beliefs.zone_chance(record.minute, party, issue)
        if chance > 1 - 1e-9:
            continue
        minute = record.minute
        others = [f"{setup.party_names[q]}'s red line {beliefs.phrase(minute, party, q, issue)}"
                  for q in range(len(setup.party_names)) if q != party]
        parts.append(f"on {the(setup.specs[issue].label)} it believed {listing(others)} "
                     f"(a zone {percent(chance)} likely)")
        data[setup.issues[issue]] = chance
    if not parts:
        return "", {}
    return "What it believed: " + "; ".join(parts) + ".", data


# --------------------------------------------------------------------------- the truth
def held_events(story: Story, beliefs: Beliefs, walkout: MinuteRecord | None,
                deal: dict[int, float]) -> list[Event]:
    """The final section: each side's true red lines, BATNA and bluff, what the
    mediator reckoned of them and what the others believed at the end; a walk-out's
    BATNA and the deal's value against each BATNA; the mediator's zones against the
    true ones."""
    setup, model = story.setup, story.model
    minute = int(model.duration[0]) if not model.running else model.minute
    last = model.history[-1].minute if model.history else -1
    events = [Event("private", minute, minute, None,
                    f"{SECTION} (private information: each side knew only its own).",
                    {})]
    names = setup.party_names
    for p, name in enumerate(names):
        lines, data = [], {"party": name, "red_lines": {}, "mediator_reckoned": {},
                           "believed_by": {}}
        reds = []
        for i, spec in enumerate(setup.specs):
            wants = setup.wants[p, i]
            red = float(setup.red_line[0, p, i])
            reckoned = float(story.picture["red_line"][0, p, i])
            data["red_lines"][spec.name] = red
            data["mediator_reckoned"][spec.name] = reckoned
            others = []
            for q, other in enumerate(names):
                if q != p:
                    lo, hi = beliefs.interval(last, q, p, i)
                    data["believed_by"].setdefault(other, {})[spec.name] = [lo, hi]
                    others.append(f"{other} believed {beliefs.phrase(last, q, p, i)}")
            told = f"on {the(spec.label)} {limit_words(spec, red, wants)}"
            if not setup.informed:
                told += (f" ({story.mediator} reckoned "
                         f"{limit_words(spec, reckoned, wants, about=True)}")
                told += f"; {listing(others)})" if others else ")"
            elif others:
                told += f" ({listing(others)})"
            reds.append(told)
        lines.append(f"{name}'s red lines: " + "; ".join(reds) + ".")
        batna, reserve = float(setup.batna[0, p]), float(story.reserve[p])
        data |= {"batna": batna, "reserve": reserve, "bluff": float(setup.bluff[0, p])}
        said = f"Its BATNA {utility(batna)}"
        if not setup.informed:
            reckoned = float(story.picture["batna"][0, p])
            data["mediator_batna"] = reckoned
            said += f" ({story.mediator} reckoned {utility(reckoned)})"
        if abs(reserve - batna) > 1e-12:
            said += f"; with the levers spent it took any deal worth {utility(reserve)}"
        lines.append(said + ".")
        bluff = float(setup.bluff[0, p])
        lines.append(f"Its stated positions overstated its own by {utility(bluff)} of each "
                     "scale (its bluff)." if bluff > 0 else "It did not bluff.")
        if walkout is not None and walkout.walked_out == name and walkout.stay is not None:
            stay = walkout.stay[p]
            lines.append(f"When it walked out in minute {walkout.minute}, staying was worth "
                         f"{utility(stay)} to it against its BATNA {utility(reserve)}.")
        if deal and model.history:
            value = _deal_value(story, p, deal)
            data["deal_value"] = value
            lines.append(f"The agreement was worth {utility(value)} to it: "
                         f"{gain(value - reserve)} {'more' if value >= reserve else 'less'} "
                         f"than its BATNA.")
        events.append(Event("held", minute, minute, None, " ".join(lines), data))
    events.append(_mediator_held(story, minute))
    return events


def _deal_value(story: Story, party: int, deal: dict[int, float]) -> float:
    """A side's utility of what was agreed (the weighted mean over the agreed issues)."""
    setup = story.setup
    x = np.full(len(setup.issues), np.nan)
    for i, v in deal.items():
        x[i] = v
    mask = ~np.isnan(x)
    return float(rules.mean_utility(x, setup.ideal[0, party], setup.red_line[0, party],
                                    setup.wants[party], setup.weight[0, party], mask))


def _mediator_held(story: Story, minute: int) -> Event:
    """The zones the mediator saw when the talks opened, against the true ones (by red
    lines and, where they close more, by the BATNAs)."""
    setup, picture = story.setup, story.picture
    parts, data = [], {"zones": {}, "reckoned_zones": {}}
    for i, spec in enumerate(setup.specs):
        true = _zone(spec, setup.zone_lo[0, i], setup.zone_hi[0, i], setup.step[i])
        seen = _zone(spec, picture["zone_lo"][0, i], picture["zone_hi"][0, i], setup.step[i])
        data["zones"][spec.name] = true[1]
        data["reckoned_zones"][spec.name] = seen[1]
        parts.append(f"{the(spec.label)} {seen[0]} (by the true red lines: {true[0]})")
    who = ("knew every red line" if setup.informed else
           "saw these zones when the talks opened, after its caucuses")
    text = f"{story.mediator} {who}: " + "; ".join(parts) + "."
    return Event("held", minute, minute, None, text, {"mediator": story.mediator} | data)


def _zone(spec, k_lo: int, k_hi: int, step: float) -> tuple[str, list | None]:
    if k_lo > k_hi:
        return "no zone", None
    lo, hi = float(k_lo * step), float(k_hi * step)
    if k_lo == k_hi:
        return f"only {show(spec, lo)}", [lo, hi]
    return f"{show(spec, lo)} to {show(spec, hi)}", [lo, hi]
