"""Why issues leave a package round, read from the record: the mediator's picture
replayed through the objections it hears, and each closure with the engine's reason.

A side objects where the package text is past its red line on an issue; an uninformed
mediator then truncates its belief at the text and reckons its zones anew
(``Mediator.hear``, ``sim.model.beliefs.learn``). ``NegotiationRound._package_status``
parks, in this order: the open issues without text when the rest is agreed; issues with
no zone as the mediator sees it, once explored; after ``item_minutes`` for each issue of
the text without agreement (the time item by item would give them; the clock restarts
whenever an issue leaves the text), the hardest open issue (the narrowest zone as it sees
it); and issues tied to one parked. Issues a side ties to a compound issue at a level
the mediator cannot put are parked before the first text (``_drop_blocked``).
``closures`` tells each of these from the record and the replayed picture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model import rules
from sim.model.agents import ItemStatus
from sim.model.beliefs import learn
from sim.model.round import MinuteRecord
from sim.teach.story import Event, Story
from sim.teach.wording import the


# --------------------------------------------------------------------------- the mediator
class Mediator:
    """The mediator's picture after each recorded minute: its picture when the talks
    open, and the red lines it learns each time a side objects that a text is past one
    (``Mediator.hear``, item by item ``Mediator.hear_item``: its belief truncated at the
    text, its zones reckoned anew)."""

    def __init__(self, story: Story) -> None:
        setup = story.setup
        self.story = story
        picture = {k: np.array(v, copy=True) if isinstance(v, np.ndarray) else v
                   for k, v in story.picture.items()}
        self.after: dict[int, dict] = {}
        self.objections: dict[int, list[tuple[int, int, float]]] = {}
        for record in story.model.history:
            heard = ([(p, i, record.text[i]) for p in range(len(setup.party_names))
                      for i in objected(story, p, record)] if record.item is None else
                     item_objections(story, record))
            if heard and not setup.informed:
                self.objections[record.minute] = heard
                party, issue, text = (np.array(column) for column in zip(*heard, strict=True))
                learn(setup, picture, np.zeros(len(heard), dtype=np.int64), party, issue, text)
            self.after[record.minute] = {k: np.array(v, copy=True)
                                         if isinstance(v, np.ndarray) else v
                                         for k, v in picture.items()}

    def zones(self, minute: int) -> tuple[np.ndarray, np.ndarray]:
        """(I,) lattice bounds of the zones it sees after ``minute``."""
        picture = self.after.get(minute, self.story.picture)
        return picture["zone_lo"][0], picture["zone_hi"][0]

    def reckoned(self, minute: int, party: int, issue: int) -> float:
        return float(self.after.get(minute, self.story.picture)["red_line"][0, party, issue])


def item_objections(story: Story, record: MinuteRecord) -> list[tuple[int, int, float]]:
    """Item by item: ``(party, item, text)`` for each side whose red line the
    mediator's text is past (``NegotiationRound._hear_item``)."""
    setup = story.setup
    if record.proposal is None or np.isnan(record.proposal):
        return []
    item = setup.issues.index(record.item)
    return [(p, item, float(record.proposal)) for p in range(len(setup.party_names))
            if not rules.acceptable(record.proposal, setup.red_line[0, p, item],
                                    setup.wants[p, item], setup.span[item])]


def objected(story: Story, party: int, record: MinuteRecord) -> list[int]:
    """The issues on which ``record``'s text is past ``party``'s red line."""
    setup = story.setup
    text = np.array(record.text, dtype=float)
    on = drafted(story, record)
    inside = rules.acceptable(np.nan_to_num(text), setup.red_line[0, party],
                              setup.wants[party], setup.span)
    return [int(i) for i in np.flatnonzero(on & ~inside)]


def open_issues(story: Story, record: MinuteRecord) -> np.ndarray:
    return np.array([name in record.open_issues for name in story.setup.issues])


def drafted(story: Story, record: MinuteRecord) -> np.ndarray:
    """The open issues the text has a value on (none where the mediator sees no zone)."""
    return open_issues(story, record) & ~np.isnan(np.array(record.text, dtype=float))


# --------------------------------------------------------------------------- closures
@dataclass(frozen=True)
class Closure:
    """An issue leaving the package in minute ``minute``: agreed, or parked for
    ``reason`` (with_package, no_zone, hardest, linkage, blocked), after ``spent``
    minutes on a text of ``issues`` open issues (0 and 0 before the first text)."""

    issue: int
    minute: int
    status: ItemStatus
    reason: str = ""
    party: int = -1  # whose linkage
    requires: int = -1  # the issue it is tied to
    spent: int = 0
    issues: int = 0


def closures(story: Story, mediator: Mediator) -> list[Closure]:
    """Every issue the record shows leaving the package, with the engine's reason
    (``NegotiationRound._package_status``, in its order), minute by minute."""
    setup, model = story.setup, story.model
    history, status = model.history, model.status[0]
    if not history:
        return []
    done: list[Closure] = []
    for i in range(len(setup.issues)):
        if status[i] == ItemStatus.PARKED and setup.issues[i] not in history[0].open_issues:
            done.append(_blocked(story, i, history[0].minute))
    start = history[0].minute
    for record in history:
        open_ = open_issues(story, record)
        leaving = [i for i in np.flatnonzero(open_) if _last_open(history, i, setup)
                   == record.minute and status[i] != ItemStatus.PENDING]
        if not leaving:
            continue
        parked_now: list[int] = []
        spent = record.minute - start + 1
        shape = {"spent": spent, "issues": int(open_.sum())}
        agreed_now = any(status[i] == ItemStatus.AGREED for i in leaving)
        zone_lo, zone_hi = mediator.zones(record.minute)
        text = np.array(record.text, dtype=float)
        for i in leaving:
            if status[i] == ItemStatus.AGREED:
                done.append(Closure(int(i), record.minute, ItemStatus.AGREED, **shape))
            elif agreed_now and np.isnan(text[i]):
                done.append(Closure(int(i), record.minute, ItemStatus.PARKED, "with_package",
                                    **shape))
                parked_now.append(int(i))
            elif zone_lo[i] > zone_hi[i] and spent >= setup.exploration_minutes:
                done.append(Closure(int(i), record.minute, ItemStatus.PARKED, "no_zone",
                                    **shape))
                parked_now.append(int(i))
        still = [i for i in np.flatnonzero(open_) if zone_lo[i] <= zone_hi[i]
                 or spent < setup.exploration_minutes]
        hardest = None
        # the time item by item would give the text's issues: item_minutes each
        if not agreed_now and spent >= setup.item_minutes * shape["issues"] and still:
            width = [(zone_hi[i] - zone_lo[i] + 1) * setup.step[i] / setup.span[i]
                     for i in still]
            hardest = int(still[int(np.argmin(width))])
        for i in leaving:
            if status[i] != ItemStatus.PARKED or i in parked_now:
                continue
            if i == hardest:
                done.append(Closure(int(i), record.minute, ItemStatus.PARKED, "hardest",
                                    **shape))
                parked_now.append(int(i))
        gone = {c.issue for c in done if c.status == ItemStatus.PARKED}
        for i in leaving:
            if status[i] != ItemStatus.PARKED or i in parked_now:
                continue
            tie = next(((p, r) for p, issue, r, _ in setup.linkage
                        if issue == i and r in gone), None)
            reason = "linkage" if tie else "parked"
            done.append(Closure(int(i), record.minute, ItemStatus.PARKED, reason,
                                *(tie or (-1, -1)), **shape))
        start = record.minute + 1
    return done


def _last_open(history: list[MinuteRecord], issue: int, setup) -> int:
    name = setup.issues[issue]
    return max(r.minute for r in history if name in r.open_issues)


def _blocked(story: Story, issue: int, minute: int) -> Closure:
    """An issue parked before the first text: a side tied it to a compound issue at a
    level the mediator cannot put (``NegotiationRound._drop_blocked``)."""
    setup = story.setup
    for p, tied, requires, at_least in setup.linkage:
        if tied == issue and setup.compound[requires] and setup.level[0, requires] < at_least:
            return Closure(issue, minute, ItemStatus.PARKED, "blocked", p, requires)
    return Closure(issue, minute, ItemStatus.PARKED, "blocked")


def parked_event(story: Story, closure: Closure) -> Event:
    """'The mediator parks the land: ...', with the engine's reason in words."""
    setup, mediator = story.setup, story.mediator
    spent, n = closure.spent, closure.issues
    spec = setup.specs[closure.issue]
    seen = "" if not story.private else " as it sees it"
    if closure.reason == "with_package":
        why = f"it had no text on it (no zone{seen}) when the rest was agreed"
    elif closure.reason == "no_zone":
        why = f"no zone of agreement{seen} after {spent} minutes of exploration"
    elif closure.reason == "hardest":
        each = setup.item_minutes
        allowed = (f"{each} minutes for each of its {n} issues, the time item by item "
                   "would give them" if n > 1 else f"the {each} minutes an issue is given")
        why = (f"after {spent} minutes without agreement on the text ({allowed}) it sets "
               + (f"aside the hardest open issue (the narrowest zone{seen}) so that the "
                  "rest can be agreed" if n > 1 else "aside its last open issue"))
    elif closure.reason in ("linkage", "blocked"):
        who = setup.party_names[closure.party] if closure.party >= 0 else "a side"
        needed = setup.specs[closure.requires] if closure.requires >= 0 else None
        why = (f"{who} ties it to {the(needed.label)}, which "
               + ("is parked" if closure.reason == "linkage" else
                  "no level it can put would meet") if needed else "a linkage closes it")
    else:
        why = "it is set aside"
    return Event("parked", closure.minute, closure.minute, spec.name,
                 f"{mediator} parks {the(spec.label)}: {why}.",
                 {"reason": closure.reason, "minutes_on_package": spent,
                  "issues_in_text": n})
