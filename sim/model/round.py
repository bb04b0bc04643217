"""``NegotiationRound``: the Mesa model of one round, over a chunk of replicates.

Protocol (docs/architecture.md, "The model"), one step a minute, in phases:

1. *Opening*: opening statements take ``opening_minutes``. A mediator who does not
   know the sides' red lines then caucuses with each side in turn (``caucuses`` rounds
   of ``caucus_minutes``; ``sim.model.beliefs``), and spends levers it holds where the
   sides' BATNAs close what their red lines leave open.
2. *Talks*, by the round's protocol:
   - ``sequential``: one item at a time in the mediator's order; each side states an
     offer (its aspiration, overstated by its bluff), the mediator drafts a text inside
     the zone it believes in (or inside the offers once they cross), each side accepts
     or not; the item is agreed when all accept, parked once exploration shows no zone,
     timed out after ``item_minutes``;
   - ``package``: the mediator drafts one text over every open issue (the Nash point of
     the sides' gains, ``sim.model.package``), each side accepts it or says what it
     still needs, the mediator revises; issues with no zone are parked after
     exploration, and the hardest one after ``item_minutes`` without agreement, so that
     the rest can be agreed (partial agreements).
3. *Leaving*: each side weighs staying against its BATNA (``Delegation.staying``) and
   its frustration against its patience; a side that leaves ends the round (what was
   agreed before stands, as the 16 May agreements did). A side never leaves in the
   minute it accepts the text on the table.
4. The round ends when nothing is left to negotiate (plus closing minutes), on a
   walk-out, or at ``max_minutes``. Duration is therefore emergent.

Replicates run in lock-step; a finished replicate is masked, not removed.

A person may hold one seat of a one-replicate round (``seat``, ``Seat``: a student
playing a delegation or the mediator, ``sim.teach.play``). Every minute in session the
model asks the seat for its ``SeatMove`` and uses it wherever that seat's agent rule
would have decided; everything else (the other seats, private information, beliefs,
the clock, BATNAs, deadlines) is the engine's, as in ``negsim run``. Without a seat
none of this code runs.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field

import numpy as np

from sim.model import rules
from sim.model.agents import Delegation, ItemStatus, Mediator, RoundView
from sim.model.beliefs import believed, reckon, spend_levers
from sim.model.mesa_core import mesa
from sim.model.outcomes import outcome_dtypes
from sim.model.parameters import RoundSetup
from sim.scenario.spec import Format, Protocol


def _read_only(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


class WalkReason:
    """Why a delegation left (replicate 0's record; ``NegotiationRound.walk_reason``)."""

    NONE = 0
    BATNA = 1  # staying was worth less than its BATNA
    FRUSTRATION = 2  # its frustration passed its patience (bounded rationality)
    CHOICE = 3  # a person holding the seat chose to leave


@dataclass(frozen=True)
class SeatMove:
    """What a person holding a seat does in one minute (arrays over the agenda ``(I,)``).

    A delegation: ``offer``, its stated position (item by item: its offer on the item
    under discussion; in a package round its counter-demand on the single text — a
    delegation makes no package of its own: it criticises the mediator's text, which
    the mediator hears as it hears the agents' objections and demands and redrafts,
    Raiffa 1982, ch. 14, Fisher's single negotiating text); None before its first (it
    states its ideal, demands everything). ``takes``: the least, in its own direction,
    it accepts on each issue — a text at least as good on every issue it covers is
    accepted (None: no text is). ``objects``: its counter-demand is heard this minute
    as objections to the text where it asks for more (``Mediator.hear``,
    ``beliefs.learn``). ``walk_out``; ``caucus``: the party the mediator meets in
    private (a delegation: itself), -1 none.

    The mediator: ``item`` to take up (item by item; -1 keeps the current one),
    ``text`` (item by item: the value on the item, NaN none; a package: the value on
    each of its issues, NaN where left out of it), ``park`` (issues set aside),
    ``lever`` (index into the scenario's levers, -1 none), ``caucus``.
    """

    offer: np.ndarray | None = None
    takes: np.ndarray | None = None
    objects: bool = False
    walk_out: bool = False
    caucus: int = -1
    item: int = -1
    text: np.ndarray | None = None
    park: np.ndarray | None = None
    lever: int = -1


class Seat(typing.Protocol):
    """A seat a person holds: ``party`` (a delegation's index, or None for the
    mediator), ``rng`` (draws the readings of caucuses it asks for: one stream per
    game, so a game replays exactly) and ``move(model)``, asked every minute the
    round is in session; it may raise to stop the round where the person has yet to
    decide (the model is then as it was at the end of the last minute)."""

    party: int | None
    rng: np.random.Generator

    def move(self, model: NegotiationRound) -> SeatMove: ...


@dataclass(frozen=True)
class MinuteRecord:
    """One minute of replicate 0, kept when a round is recorded (for a narrated trace).

    Item by item: ``item``, ``offers``, ``zone`` (as the mediator sees it) and
    ``proposal``; in a package round ``open_issues`` (the issues of the text), ``text`` (its
    value on each agenda issue, NaN where not in it), ``values`` (each side's utility of
    it) and ``demands`` (what each said it still needs). ``stay`` is what staying was
    worth to each side (None where nobody weighed leaving)."""

    minute: int
    item: str | None
    aspirations: tuple[float, ...]
    offers: tuple[float, ...]
    zone: tuple[float, float] | None
    proposal: float | None
    accepted: tuple[bool, ...]
    status: ItemStatus
    frustration: tuple[float, ...]
    walked_out: str | None
    reason: int = WalkReason.NONE
    open_issues: tuple[str, ...] = ()
    text: tuple[float, ...] = ()
    values: tuple[float, ...] = ()
    demands: tuple[float, ...] = ()
    stay: tuple[float, ...] | None = None
    parts: dict = field(default_factory=dict)


class NegotiationRound(mesa.Model):
    """A mediated round between delegations, for ``setup.replicates`` replicates."""

    def __init__(self, setup: RoundSetup, record: bool = False, seat: Seat | None = None,
                 compiled: bool = False) -> None:
        # Everything random was drawn in ``realise``; the model takes no generator, and
        # Mesa's own is seeded with a constant so that nothing depends on entropy.
        super().__init__(rng=0)
        if (record or seat is not None) and compiled:
            raise ValueError("a recorded round (record=True) or one with a seat runs on "
                             "the numpy engine")
        #: ``run`` with the compiled kernel (``sim.model.compiled``): the same outcomes
        self.compiled = compiled
        self.setup = setup
        n, n_issues = setup.replicates, len(setup.issues)
        self.package_round = setup.protocol is Protocol.PACKAGE
        self.seat = seat
        self.mediating = seat is not None and seat.party is None  # a person mediates
        if seat is not None and n != 1:
            raise ValueError(f"a seat is held in a round of one replicate, not {n}")
        if self.mediating:  # the person decides which levers to spend, and when
            shift = np.zeros(setup.batna.shape)
            self.bonus, self.batna_shift = shift, shift.copy()
            self.levers_used = np.zeros((n, len(setup.levers)), dtype=bool)
            picture = believed(setup, self.bonus, self.batna_shift)
        else:
            self.bonus, self.batna_shift, self.levers_used, picture = spend_levers(
                setup, self.package_round)
        self.budget_left = float(setup.budget)  # what the mediator's seat may still spend
        self.paused_until = 0  # a caucus asked for mid-round holds the talks until then
        self._move: SeatMove | None = None
        self._in_session = False
        self.reserve = rules.reservation(setup.batna + self.batna_shift, self.bonus)
        self.delegations = [Delegation(self, p, name, setup, self.reserve[:, p])
                            for p, name in enumerate(setup.party_names)]
        self.mediator = Mediator(self, setup.mediator_name, setup, picture)
        self.weighing = bool((self.reserve > 0).any())  # can anyone prefer leaving?
        self.minute = 0
        self.active = np.ones(n, dtype=bool)
        caucus_time = setup.caucuses * len(setup.party_names) * setup.caucus_minutes
        self.plenary_start = setup.opening_minutes + caucus_time
        self.started = np.zeros(n, dtype=bool)
        self.position = np.full(n, -1, dtype=np.int64)  # place in the agenda order
        self.item = np.zeros(n, dtype=np.int64)
        self._row_start = np.arange(n, dtype=np.int64) * n_issues
        self.item_version = np.zeros(n, dtype=np.int64)
        self.item_start = np.zeros(n, dtype=np.int64)  # of the item, or the package's form
        self.open_ = np.zeros((n, n_issues), dtype=bool)  # the package text's issues
        self.package_pressure = np.zeros(n)  # the mediator's mean pressure over them
        self.text = np.full((n, n_issues), np.nan)
        self.demands = np.full((n, len(setup.party_names)), np.nan)
        self.status = np.zeros((n, n_issues), dtype=np.int8)
        self.value = np.full((n, n_issues), np.nan)
        self.settled = np.full((n, n_issues), np.nan)  # as linkage reads it (RoundView)
        self.agreed_minute = np.full((n, n_issues), np.nan)
        self.duration = np.full(n, np.nan)
        self.walkout_party = np.full(n, -1, dtype=np.int64)
        self.walk_reason = np.zeros(n, dtype=np.int8)
        self.record = record
        self.history: list[MinuteRecord] = []
        self.running = n > 0

    # -- phases ---------------------------------------------------------------------------
    def step(self) -> None:
        """One minute of the round for every replicate still running."""
        t = self.minute
        self._open_plenary(t)
        session = self.active & self.started
        if self.seat is not None:
            session = self._seat_turn(t, session)
        view = self._view(t, session)
        if self.package_round:
            agreed, accepting, salience = self._package_talks(view)
        else:
            agreed, accepting, salience = self._item_talks(view)
        walked = self._leaving(view, agreed, accepting, salience)
        self._advance(t, walked)
        self.minute = t + 1
        if self.minute >= self.setup.max_minutes:
            self._finish(self.active.copy(), float(self.setup.max_minutes))
        self.running = bool(self.active.any())

    def _open_plenary(self, t: int) -> None:
        """Open the talks where the openings (and caucuses) are over: the first item, or
        the package text over every agenda issue."""
        opens = self.active & ~self.started & (self.plenary_start <= t)
        if not opens.any():
            return
        self.started |= opens
        self.item_start[opens] = t
        self.item_version[opens] += 1
        if self.package_round:
            rows = np.flatnonzero(opens)
            self.open_[rows] = True
            self._drop_blocked(rows)
            self._press(rows)
            self.mediator.draft(rows, self.open_)
            self.text[rows] = self.mediator.target[rows]
        else:
            self.position[opens] = 0
            self.item[opens] = self.mediator.item_at(self.position)[opens]

    def _view(self, t: int, session: np.ndarray) -> RoundView:
        setup, mediator = self.setup, self.mediator
        cell = self._row_start + self.item
        if self.package_round:
            pressure = self.package_pressure
        else:
            pressure = mediator.pressure_at(cell)
        return RoundView(
            minute=t,
            session=_read_only(session),
            item=_read_only(self.item),
            cell=_read_only(cell),
            item_version=_read_only(self.item_version),
            minutes_on_item=_read_only(t - self.item_start),
            since_opening=_read_only(t - setup.opening_minutes),
            pressure=_read_only(pressure),
            agreed=_read_only(self.settled),
            open_=_read_only(self.open_ & session[:, None]),
        )

    # -- item by item ---------------------------------------------------------------------
    def _item_talks(self, view: RoundView):
        """A minute on the current item: offers, the mediator's text, the answers."""
        mediator, delegations = self.mediator, self.delegations
        session = view.session
        aspirations = [d.aspiration(view) for d in delegations]
        offers = np.stack([d.offer(view, a) for d, a in zip(delegations, aspirations,
                                                            strict=True)], axis=1)
        held = self._held()
        if held is not None:  # a person states the offer
            offers[:, held] = self._stated_offer(held)
            aspirations[held] = offers[:, held].copy()
        if self.mediating and self._move is not None:  # a person drafts the text
            text = self._move.text
            proposal = np.full(session.shape, np.nan) if text is None else text[self.item]
            crossed = np.zeros(proposal.shape, dtype=bool)
            zone_open = session & ~np.isnan(proposal)
        else:
            proposal, crossed = mediator.propose(view, offers)
            zone_open = session & (mediator.zone_exists(view) | crossed)
        for delegation in delegations:
            if delegation.party != held:  # a person keeps their own linkages
                zone_open &= delegation.linkage_met(view)
        answers = [d.respond(view, proposal, a) for d, a in zip(delegations, aspirations,
                                                                strict=True)]
        if held is not None:
            answers[held] = session & self._takes(proposal[:, None], self.item[:, None])
        agreed = zone_open & np.logical_and.reduce(answers)
        status = mediator.decide(view, agreed, zone_open)
        if self.mediating and self._move is not None:
            status = self._seat_item_status(view, agreed)
        if not self.setup.informed and not self.mediating:
            self._hear_item(view, proposal, held)
        if self.weighing and not self.setup.informed:
            self._learn_offers(view, offers)
        self._pending = (status, proposal, offers, aspirations, answers)
        salience = [d.columns(view)["salience"] for d in delegations]
        accepting = [session & a for a in answers]
        return agreed, accepting, salience

    def _hear_item(self, view: RoundView, proposal: np.ndarray, held: int | None) -> None:
        """Item by item as in a package round: a side says where the mediator's text is
        past its red line (a red line is not bargained), and the mediator learns from
        it (``Mediator.hear_item``: its belief truncated at the text, the item's zone
        and Nash point reckoned anew), so it does not draft past that red line again.
        (A person in a seat speaks for themselves: their answers only.)"""
        setup = self.setup
        rows = np.flatnonzero(view.session & ~np.isnan(proposal))
        if not rows.size:
            return
        items, text = self.item[rows], proposal[rows]
        found = []
        for p in range(len(self.delegations)):
            if p == held:
                continue
            past = ~rules.acceptable(text, setup.red_line[rows, p, items],
                                     setup.wants[p, items], setup.span[items])
            found.append((rows[past], np.full(past.sum(), p), items[past], text[past]))
        at, party, issue, value = (np.concatenate(parts) for parts in zip(*found,
                                                                          strict=True))
        if at.size:
            order = np.argsort(at, kind="stable")  # by replicate, then party
            self.mediator.hear_item(at[order], party[order], issue[order], value[order])

    def _learn_offers(self, view: RoundView, offers: np.ndarray) -> None:
        """Each side takes the others' stated offers as bounds on their red lines (in
        direct talks: in proximity talks the sides do not hear each other)."""
        if self.setup.format is Format.PROXIMITY:
            return
        rows = np.flatnonzero(view.session)
        items = self.item[rows]
        for d in self.delegations:
            for q in range(offers.shape[1]):
                if q != d.party:
                    d.observe(q, items, offers[rows, q], rows,
                              self.setup.red_line[rows, q, items], self.setup.wants[q, items])

    # -- the package ----------------------------------------------------------------------
    def _package_talks(self, view: RoundView):
        """A minute on the package: the mediator's (revised) text, the answers and what
        each side says it still needs (computed on the replicates in session only)."""
        setup, mediator, delegations = self.setup, self.mediator, self.delegations
        n, n_parties = self.demands.shape
        rows = np.flatnonzero(view.session & self.open_.any(axis=1))
        open_ = self.open_[rows]
        revise = ~np.isnan(self.demands[rows]).any(axis=1)
        if setup.format is Format.PROXIMITY:  # a revised text takes a shuttle to carry
            revise &= (view.minutes_on_item[rows] % setup.shuttle_minutes) == 0
        if revise.any() and not self.mediating:
            moved = rows[revise]
            self.text[moved] = mediator.revise(moved, open_[revise], self.demands[moved])
        text = np.where(open_, self.text[rows], np.nan)
        drafted = open_ & ~np.isnan(text)  # an open issue it sees no zone on has no text
        aspirations = [d.package_aspiration(view, rows) for d in delegations]
        answered = [d.respond_package(view, rows, text, drafted, a)
                    for d, a in zip(delegations, aspirations, strict=True)]
        held = self._held()
        if held is not None and rows.size:  # a person answers the text
            answered[held] = self._seat_package_answer(held, rows, text, drafted)
            aspirations[held] = answered[held][1].copy()
        self.demands[rows] = np.stack([need for _, need, _ in answered], axis=1)
        answers = np.zeros((n, n_parties), dtype=bool)
        answers[rows] = np.stack([yes for yes, _, _ in answered], axis=1)
        if not setup.informed:  # a red line said to be crossed: the mediator learns
            objections = np.stack([o for _, _, o in answered], axis=1)
            redrafted = mediator.hear(rows, objections, text, self.open_,
                                      redraft=not self.mediating)
            if redrafted.size:
                self.text[redrafted] = mediator.target[redrafted]
                self.demands[redrafted] = np.nan
        agreed = np.zeros(n, dtype=bool)
        agreed[rows] = np.logical_and.reduce(answers[rows], axis=1) & drafted.any(axis=1)
        if self.weighing and not setup.informed:
            self._learn_texts(rows, text, answers[rows])
        full_text = np.full(self.text.shape, np.nan)
        full_text[rows] = text
        self._pending = (full_text, aspirations, answers, rows,
                         self._package_status(view, agreed, full_text))
        salience = [np.zeros(n) for _ in delegations]
        for d in delegations:
            salience[d.party][rows] = (np.where(open_, setup.salience[rows, d.party], 0.0)
                                       .sum(axis=1) / np.maximum(open_.sum(axis=1), 1))
        accepting = [answers[:, p] for p in range(n_parties)]
        return agreed, accepting, salience

    def _learn_texts(self, rows: np.ndarray, text: np.ndarray, answers: np.ndarray) -> None:
        """A side that accepts a text shows its red lines admit every value in it."""
        if self.setup.format is Format.PROXIMITY:
            return
        for q in range(answers.shape[1]):
            at, issues = np.nonzero(~np.isnan(text) & answers[:, q, None])
            replicates = rows[at]
            for d in self.delegations:
                if d.party != q:
                    d.observe(q, issues, text[at, issues], replicates,
                              self.setup.red_line[replicates, q, issues],
                              self.setup.wants[q, issues])

    def _press(self, rows: np.ndarray) -> None:
        """The mediator's pressure on a package: the mean of its pressure on the open
        issues (its own items pushed twice as hard)."""
        open_ = self.open_[rows]
        self.package_pressure[rows] = (np.where(open_, self.mediator.pressure[rows], 0.0)
                                       .sum(axis=1) / np.maximum(open_.sum(axis=1), 1))

    def _drop_blocked(self, rows: np.ndarray) -> None:
        """Park, at once, package issues a side has tied to a compound issue whose level
        (put by the mediator) falls short: nothing in this round can meet the linkage."""
        setup = self.setup
        for _, issue, requires, at_least in setup.linkage:
            if setup.compound[requires]:
                blocked = rows[setup.level[rows, requires] < at_least]
                self.open_[blocked, issue] = False
                self.status[blocked, issue] = ItemStatus.PARKED

    def _package_status(self, view: RoundView, agreed: np.ndarray, text: np.ndarray
                        ) -> np.ndarray:
        """(R, I) issues closed this minute: the package's issues agreed (those it had
        no text on, parked with it); issues the mediator sees no zone on, parked after
        exploration; after ``item_minutes`` for each issue of the text without agreement
        (the time item by item would give them), the hardest open issue (the narrowest
        zone) parked, and the clock restarts for the smaller text."""
        setup, believed = self.setup, self.mediator.believed
        status = np.zeros(self.status.shape, dtype=np.int8)
        open_ = view.open_
        status[agreed[:, None] & open_ & ~np.isnan(text)] = ItemStatus.AGREED
        status[agreed[:, None] & open_ & np.isnan(text)] = ItemStatus.PARKED
        spent = view.minutes_on_item + 1
        no_zone = believed["zone_lo"] > believed["zone_hi"]
        explored = (spent >= setup.exploration_minutes) & ~agreed
        if self.mediating:  # a person decides what to set aside
            explored = np.zeros(agreed.shape, dtype=bool)
            if self._move is not None and self._move.park is not None:
                status[open_ & self._move.park[None, :] & ~agreed[:, None]] = ItemStatus.PARKED
        status[open_ & no_zone & explored[:, None]] = ItemStatus.PARKED
        still = open_ & (status == ItemStatus.PENDING)
        # the time item by item would give the text's issues: item_minutes each
        stuck = ~agreed & (spent >= setup.item_minutes * open_.sum(axis=1)) & view.session
        if self.mediating:  # nor does the clock park an issue for them
            stuck = np.zeros(agreed.shape, dtype=bool)
        if stuck.any():
            width = np.where(still, (believed["zone_hi"] - believed["zone_lo"] + 1)
                             * setup.step / setup.span, np.inf)
            hardest = np.argmin(width, axis=1)
            rows = np.flatnonzero(stuck & still.any(axis=1))
            status[rows, hardest[rows]] = ItemStatus.PARKED
        # an issue tied to one now parked (or parked before) can no longer be agreed
        for _, issue, requires, _ in setup.linkage:
            gone = ((status[:, requires] == ItemStatus.PARKED)
                    | (self.status[:, requires] == ItemStatus.PARKED))
            cascade = open_[:, issue] & gone & (status[:, issue] == ItemStatus.PENDING)
            status[cascade, issue] = ItemStatus.PARKED
        return status

    # -- leaving --------------------------------------------------------------------------
    def _leaving(self, view: RoundView, agreed: np.ndarray, accepting: list,
                 salience: list) -> np.ndarray:
        """Who leaves this minute: a side whose staying is worth less than its BATNA, or
        whose frustration passes its patience — never one accepting the text."""
        session = view.session
        stalled = session & ~agreed
        frustrated = [d.feel(view, stalled, s) for d, s in zip(self.delegations, salience,
                                                              strict=True)]
        deciding = [np.zeros_like(session) for _ in self.delegations]
        self._stay = None
        if self.weighing:
            open_, expected = self._open_and_expected(view)
            stays, parts = [], []
            for d in self.delegations:
                chance = d.zone_belief(self.setup.red_line, self.setup.wants)
                stay, part = d.staying(view, open_, expected, chance)
                stays.append(stay)
                parts.append(part)
                deciding[d.party] = session & rules.walks_out(stay, d.reserve)
            self._stay = (stays, parts)
        held = self._held()
        if held is not None:  # a person leaves when they choose to, and only then
            frustrated[held] = session & self._move.walk_out
            deciding[held] = np.zeros_like(session)
        walks = [(f | dec) & ~acc for f, dec, acc in zip(frustrated, deciding, accepting,
                                                         strict=True)]
        walked = np.logical_or.reduce(walks)
        if walked.any():
            # where several leave in the same minute, the first listed is named
            for party in range(len(walks) - 1, -1, -1):
                self.walkout_party[walks[party]] = party
                self.walk_reason[walks[party]] = np.where(
                    deciding[party][walks[party]], WalkReason.BATNA, WalkReason.FRUSTRATION)
                if party == held:
                    self.walk_reason[walks[party]] = WalkReason.CHOICE
        self._walks = walks
        return walked

    def _open_and_expected(self, view: RoundView) -> tuple[np.ndarray, np.ndarray]:
        """The issues still to negotiate and the deal each side expects on each: the
        text on the table, else the mediator's target for an item not yet reached."""
        if self.package_round:
            return view.open_, np.where(view.open_, self.text, np.nan)
        open_ = (self.status == ItemStatus.PENDING) & view.session[:, None]
        expected = self.mediator.believed["nash"].copy()
        proposal = self._pending[1]
        rows = np.flatnonzero(view.session)
        current = proposal[rows]
        expected[rows, self.item[rows]] = np.where(np.isnan(current),
                                                   expected[rows, self.item[rows]], current)
        return open_, expected

    # -- the record -------------------------------------------------------------------------
    def _advance(self, t: int, walked: np.ndarray) -> None:
        """Write what this minute settled, end rounds that are over, move on."""
        setup = self.setup
        if self.record:
            self._remember(t, walked)
        if self.package_round:
            text, status = self._pending[0], self._pending[4].copy()
            status[walked] = ItemStatus.PENDING
            closed = status != ItemStatus.PENDING
            rows, issues = np.nonzero(closed)
            self.status[rows, issues] = status[rows, issues]
            won_r, won_i = np.nonzero(status == ItemStatus.AGREED)
            self.value[won_r, won_i] = text[won_r, won_i]
            self.settled[won_r, won_i] = np.where(setup.compound[won_i],
                                                  setup.level[won_r, won_i],
                                                  text[won_r, won_i])
            self.agreed_minute[won_r, won_i] = t + 1
            changed = closed.any(axis=1) & ~walked
            self.open_ &= ~closed
            if walked.any():
                self._finish(walked, float(t + 1))
            done = changed & ~self.open_.any(axis=1)
            if done.any():
                self._finish(done, float(t + 1) + setup.closing_minutes)
            rest = changed & ~done
            self.item_start[rest] = t + 1
            self.item_version[rest] += 1
            self._press(np.flatnonzero(rest))
            # the target changes only where an issue it drafted left the text (an issue it
            # saw no zone on was never in the Nash objective)
            drafted = closed & ~np.isnan(self.mediator.target)
            redraft = np.flatnonzero(rest & drafted.any(axis=1))
            if redraft.size:
                self.demands[redraft] = np.nan
                self.mediator.draft(redraft, self.open_)
                self.text[redraft] = self.mediator.target[redraft]
            return
        status, proposal = self._pending[0], self._pending[1]
        agreed = status == ItemStatus.AGREED
        rows = np.flatnonzero(status != ItemStatus.PENDING)
        self.status[rows, self.item[rows]] = status[rows]
        won = np.flatnonzero(agreed)
        self.value[won, self.item[won]] = proposal[won]
        # linkage reads a compound issue by its level, any other by its value
        self.settled[won, self.item[won]] = np.where(
            setup.compound[self.item[won]], setup.level[won, self.item[won]], proposal[won])
        self.agreed_minute[won, self.item[won]] = t + 1
        if walked.any():
            self._finish(walked, float(t + 1))
        moved = (status != ItemStatus.PENDING) & ~walked
        self.position[moved] += 1
        done = moved & (self.position >= len(setup.issues))
        if done.any():
            self._finish(done, float(t + 1) + setup.closing_minutes)
        carry_on = moved & ~done
        self.item[carry_on] = self.mediator.item_at(self.position)[carry_on]
        if self.mediating and carry_on[0]:  # items may have been taken out of order
            pending = [i for i in self.setup.order[0] if self.status[0, i] == ItemStatus.PENDING]
            self.item[0] = pending[0]
        self.item_start[carry_on] = t + 1
        self.item_version[carry_on] += 1

    def _finish(self, rows: np.ndarray, duration: float | np.ndarray) -> None:
        self.duration[rows] = duration if np.isscalar(duration) else duration[rows]
        self.active &= ~rows

    def _remember(self, t: int, walked: np.ndarray) -> None:
        """Keep replicate 0's minute for the narrated trace."""
        if not (self.active[0] and self.started[0]):
            return
        if self.seat is not None and not self._in_session:  # a caucus: no talks
            return
        setup = self.setup
        walker = np.flatnonzero([w[0] for w in self._walks])
        stay = None if self._stay is None else tuple(float(s[0]) for s in self._stay[0])
        parts = {} if self._stay is None else {
            "p_deal": tuple(float(p["p_deal"][0]) for p in self._stay[1]),
            "value": tuple(float(p["value"][0]) for p in self._stay[1]),
            "minutes": tuple(float(p["minutes"][0]) for p in self._stay[1])}
        common = {"minute": t,
                  "frustration": tuple(float(d.frustration[0]) for d in self.delegations),
                  "walked_out": setup.party_names[walker[0]] if walker.size else None,
                  "reason": int(self.walk_reason[0]) if walker.size else WalkReason.NONE,
                  "stay": stay, "parts": parts}
        if self.package_round:
            text, aspirations, answers, rows, _ = self._pending
            at = int(np.flatnonzero(rows == 0)[0])  # replicate 0 is in session
            zero = np.array([0])
            values = tuple(float(d.package_value(text[:1], self.open_[:1] & ~np.isnan(
                text[:1]), zero)[0]) for d in self.delegations)
            aspirations = [a[at:at + 1] for a in aspirations]
            answers = [answers[:, p] for p in range(answers.shape[1])]
            self.history.append(MinuteRecord(
                item=None, aspirations=tuple(float(a[0]) for a in aspirations), offers=(),
                zone=None, proposal=None, accepted=tuple(bool(a[0]) for a in answers),
                status=ItemStatus.PENDING,
                open_issues=tuple(name for name, o in zip(setup.issues, self.open_[0],
                                                          strict=True)
                           if o),
                text=tuple(float(x) for x in text[0]), values=values,
                demands=tuple(float(x) for x in self.demands[0]), **common))
            return
        status, proposal, offers, aspirations, answers = self._pending
        item = int(self.item[0])
        believed = self.mediator.believed
        zone = (float(believed["zone_lo"][0, item] * setup.step[item]),
                float(believed["zone_hi"][0, item] * setup.step[item]))
        self.history.append(MinuteRecord(
            item=setup.issues[item],
            aspirations=tuple(float(a[0]) for a in aspirations),
            offers=tuple(float(o) for o in offers[0]),
            zone=zone if zone[0] <= zone[1] else None,
            proposal=None if np.isnan(proposal[0]) else float(proposal[0]),
            accepted=tuple(bool(a[0]) for a in answers),
            status=ItemStatus(int(status[0])), **common))

    # -- a seat held by a person ------------------------------------------------------------
    def _seat_turn(self, t: int, session: np.ndarray) -> np.ndarray:
        """Ask the seat for this minute's move and apply the mediator's choices (item,
        text, lever, caucus); returns the replicates in session (none in a caucus)."""
        self._move = None
        self._in_session = bool(session[0])
        if not session[0] or t < self.paused_until:
            self._in_session = False
            return session & False
        move = self.seat.move(self)
        self._move = move
        if self.mediating:
            if move.lever >= 0:
                self._spend_lever(move.lever)
            if not self.package_round and move.item >= 0 and move.item != self.item[0]:
                self.item[0] = move.item
                self.item_start[0] = t
                self.item_version[0] += 1
            if self.package_round:  # no text until the person drafts one
                text = np.full(len(self.setup.issues), np.nan) if move.text is None else move.text
                self.text[0] = np.where(self.open_[0], text, np.nan)
        if move.caucus >= 0:
            self._caucus(t, move.caucus)
            self._move = None
            self._in_session = False
            return session & False
        return session

    def _held(self) -> int | None:
        """The delegation a person holds, where they moved this minute."""
        if self._move is None or self.mediating:
            return None
        return self.seat.party

    def _stated_offer(self, party: int) -> np.ndarray:
        """The person's offer on the item under discussion (its ideal before the first)."""
        offer = self._move.offer
        item = self.item
        ideal = self.setup.ideal[np.arange(item.size), party, item]
        if offer is None:
            return ideal
        return np.where(np.isnan(offer[item]), ideal, offer[item])

    def _takes(self, text: np.ndarray, issues: np.ndarray) -> np.ndarray:
        """(R,): whether the person accepts a text: at least what they take on every
        issue of it (``text`` and ``issues``: (R, k), NaN where the text says nothing)."""
        takes = self._move.takes
        if takes is None:
            return np.zeros(text.shape[0], dtype=bool)
        wants = self.setup.wants[self.seat.party, issues]
        scale = self.setup.span[issues]
        with np.errstate(invalid="ignore"):
            good = wants * (text - takes[issues]) >= -rules.EPS * scale
        said = ~np.isnan(text)
        return said.any(axis=1) & (good | ~said).all(axis=1)

    def _seat_package_answer(self, party: int, rows: np.ndarray, text: np.ndarray,
                             drafted: np.ndarray) -> tuple[np.ndarray, ...]:
        """The person's answer to the package text, as a delegation's: accepted, the
        utility they say they still need (their counter-demand's, by their own utility),
        and the issues they object on (where they ask for more than the text, the minute
        they say so)."""
        move, n_issues = self._move, len(self.setup.issues)
        shown = np.where(drafted, text, np.nan)
        yes = self._takes(shown, np.broadcast_to(np.arange(n_issues), shown.shape))
        offer = move.offer
        if offer is None:
            demand = np.ones(rows.size)
            objection = np.zeros(drafted.shape, dtype=bool)
        else:
            counter = np.broadcast_to(offer, shown.shape)
            mask = drafted & ~np.isnan(counter)
            demand = np.nan_to_num(self.delegations[party].package_value(counter, mask, rows),
                                   nan=1.0)
            with np.errstate(invalid="ignore"):
                more = self.setup.wants[party] * (counter - shown) > rules.EPS * self.setup.span
            objection = mask & more & move.objects
        return yes, demand, objection

    def _seat_item_status(self, view: RoundView, agreed: np.ndarray) -> np.ndarray:
        """The item's status where a person mediates: agreed, parked when they set it
        aside, timed out after ``item_minutes`` (the round's clock, not a choice)."""
        spent = view.minutes_on_item + 1
        status = np.full(agreed.shape, ItemStatus.PENDING, dtype=np.int8)
        status[spent >= self.setup.item_minutes] = ItemStatus.TIMED_OUT
        park = self._move.park
        if park is not None:
            status[park[self.item]] = ItemStatus.PARKED
        status[agreed] = ItemStatus.AGREED
        status[~view.session] = ItemStatus.PENDING
        return status

    def _spend_lever(self, k: int) -> None:
        """The mediator's seat spends lever ``k`` (``beliefs.spend_levers`` does it for
        the model's mediator): the side's reservation and the mediator's picture move."""
        party, utility, batna, cost = self.setup.levers[k]
        if self.levers_used[0, k] or cost > self.budget_left + 1e-12:
            raise ValueError(f"lever {k} is spent already or costs more than the "
                             f"{self.budget_left:g} left of the budget")
        self.levers_used[0, k] = True
        self.budget_left -= cost
        self.bonus[0, party] += utility
        self.batna_shift[0, party] += batna
        self.reserve = rules.reservation(self.setup.batna + self.batna_shift, self.bonus)
        self.delegations[party].set_reserve(self.reserve[:, party], self.setup)
        self.weighing = self.weighing or bool((self.reserve > 0).any())
        picture = self.mediator.believed
        picture["bonus"], picture["shift"] = self.bonus.copy(), self.batna_shift.copy()
        rows = np.arange(1)
        for key, value in reckon(self.setup, picture, rows).items():
            picture[key][rows] = value

    def _caucus(self, t: int, party: int) -> None:
        """A caucus asked for mid-round: the talks stop for ``caucus_minutes`` (the
        clock and the sides' concessions run on; the item's own clock waits), and the
        mediator takes a reading of ``party``'s red lines and BATNA (``Mediator.caucus``,
        noise from the seat's stream)."""
        setup, rows = self.setup, np.arange(1)
        noise = setup.caucus_noise
        reading = self.seat.rng.uniform(-1.0, 1.0, (1, len(setup.issues))) * noise
        batna_reading = self.seat.rng.uniform(-1.0, 1.0, 1) * noise
        self.mediator.caucus(rows, party, reading, batna_reading, self.open_)
        if self.package_round and not self.mediating:
            self.text[0] = self.mediator.target[0]
            self.demands[0] = np.nan
        self.paused_until = t + setup.caucus_minutes
        self.item_start[0] += setup.caucus_minutes

    def run(self) -> NegotiationRound:
        """Run every replicate to its end (the compiled engine runs them one after the
        other, each to its end; the numpy engine steps all of them a minute at a time)."""
        if self.compiled and self.running:
            # imported here: numba's start-up is paid only by the runs that use it
            from sim.model.compiled import run_compiled
            run_compiled(self)
            return self
        while self.running:
            self.step()
        return self

    def outcomes(self) -> dict[str, np.ndarray]:
        """One value per replicate for each outcome column (``outcomes.outcome_dtypes``)."""
        setup = self.setup
        n = setup.replicates
        agreed = self.status == ItemStatus.AGREED
        columns: dict[str, np.ndarray] = {}
        for spec in setup.defined:
            name = spec.name
            if name not in setup.issues:
                done, value, minute = np.zeros(n, dtype=bool), np.full(n, np.nan), \
                    np.full(n, np.nan)
                level = np.zeros(n, dtype=np.int64)
            else:
                i = setup.issues.index(name)
                done = agreed[:, i]
                value = np.where(done, np.round(self.value[:, i], 9), np.nan)
                minute = self.agreed_minute[:, i].copy()
                level = np.where(done, setup.level[:, i], 0)
            columns[f"{name}_agreed"] = done
            if spec.compound:
                columns[f"{name}_level"] = level.astype(np.int8)
                columns[f"{name}_conditions"] = value
            else:
                columns[f"{name}_value"] = value
            columns[f"{name}_minute"] = minute
        names = np.array((*setup.party_names, None), dtype=object)
        columns |= {
            "duration_minutes": self.duration.copy(),
            "walkout": self.walkout_party >= 0,
            "walkout_party": names[self.walkout_party],
        }
        assert list(columns) == list(outcome_dtypes(setup.defined))
        return columns
