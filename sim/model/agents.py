"""The delegations and the mediator: thin Mesa agents over arrays of replicates.

Each agent holds its own parameters and state as arrays with a leading replicate
axis and calls the pure rules of ``sim.model.rules`` and ``sim.model.package``. Agents
read the round through a read-only ``RoundView`` and return what they say (offers,
texts, answers, whether they leave); only the model writes the round's state. A run of
one replicate is the same code with arrays of length one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from sim.model import package, rules
from sim.model.beliefs import learn, reckon
from sim.model.mesa_core import mesa
from sim.scenario.spec import ProposalRule, Protocol


class ItemStatus(IntEnum):
    """What became of an agenda item."""

    PENDING = 0  # not reached (the round ended first)
    AGREED = 1
    PARKED = 2  # no zone of agreement (as the mediator sees it): set aside
    TIMED_OUT = 3  # a zone existed but the item ran out of time


@dataclass(frozen=True)
class RoundView:
    """What every agent may see of the round this minute (arrays are read-only).

    ``item`` is the agenda item under discussion in an item-by-item round (an issue
    index; meaningless where ``session`` is false), ``open_`` the issues of the package
    text in a package round; ``since_opening`` the minutes since the opening statements
    began to end (the talks' clock), ``pressure`` the mediator's pressure now.
    """

    minute: int
    session: np.ndarray  # (R,) bool: in plenary session
    item: np.ndarray  # (R,) int
    cell: np.ndarray  # (R,) int: flat index of (replicate, item) in an (R, I) array
    item_version: np.ndarray  # (R,) int: how often the item changed (for ItemColumns)
    minutes_on_item: np.ndarray  # (R,) int: on the item, or on the package as it stands
    since_opening: np.ndarray  # (R,) float
    pressure: np.ndarray  # (R,) float
    #: (R, I) what was agreed on each issue, on the scale a linkage reads (the
    #: compound issue by its level), NaN where nothing was agreed
    agreed: np.ndarray
    open_: np.ndarray  # (R, I) bool: issues still open (in the package text)


class ItemColumns:
    """``values[r, item[r]]`` of several (R, I) arrays: each replicate's value on the
    item under discussion.

    Gathering these every minute was the engine's hottest operation; items change
    rarely, so the columns are kept and refreshed only for the replicates whose item
    changed since the last read (``RoundView.item_version``).
    """

    def __init__(self, **arrays: np.ndarray) -> None:
        # made contiguous at the first read: the compiled engine never reads them
        self._arrays = arrays
        self._full: dict[str, np.ndarray] | None = None

    def stale(self, rows: np.ndarray) -> None:
        """The arrays changed in ``rows``: their columns are read again."""
        if self._full is not None:
            self._version[rows] = -1

    def __call__(self, view: RoundView) -> dict[str, np.ndarray]:
        if self._full is None:
            self._full = {name: np.ascontiguousarray(a) for name, a in self._arrays.items()}
            n = next(iter(self._full.values())).shape[0]
            self._now = {name: np.zeros(n, a.dtype) for name, a in self._full.items()}
            self._version = np.full(n, -1, dtype=np.int64)
        rows = np.flatnonzero(self._version != view.item_version)
        if rows.size:
            cells = view.cell[rows]
            for name, values in self._full.items():
                self._now[name][rows] = values.ravel().take(cells)
            self._version[rows] = view.item_version[rows]
        return self._now


class Delegation(mesa.Agent):
    """One party's delegation, across all replicates of a chunk.

    Per issue it has an ideal, a red line (the hard limit) and a salience; it has a
    BATNA, a cost of delay and, with private information, beliefs about the others'
    red lines. It concedes along a Faratin time-dependent curve (faster the costlier
    delay is), states offers (overstated by its bluff), accepts a text inside its red
    lines that beats its BATNA and clears its aspiration (within the mediator's
    credibility), and walks out when staying is worth less than its BATNA — or, bounded
    rationality, when frustration on stalled talks passes its patience.
    """

    def __init__(self, model: mesa.Model, party: int, name: str, setup,
                 reserve: np.ndarray) -> None:
        super().__init__(model)
        self.party = party
        self.name = name
        n = setup.replicates
        self.wants = setup.wants[party]  # (I,)
        self.ideal = setup.ideal[:, party]  # (R, I)
        self.red_line = setup.red_line[:, party]  # (R, I): the hard limits
        self.reserve = reserve  # (R,) least mean utility of a deal: BATNA less any bonus
        #: an item's limit once it needs its reservation from that item (item by item)
        self.limit = rules.batna_red_line(self.ideal, self.red_line, reserve[:, None])
        self.weight = setup.weight[:, party]  # (R, I)
        self.span = setup.span
        self.columns = self._item_columns(setup)
        self.concession = setup.concession[:, party]  # (R,)
        self.horizon = setup.horizon[:, party]  # (R,) minutes to concede fully
        self.discount = setup.discount[:, party]
        self.bluff = setup.bluff[:, party]
        self.credibility = setup.credibility
        self.walkout_threshold = setup.walkout_threshold[:, party]
        self.linkage = tuple((issue, requires, at_least)
                             for p, issue, requires, at_least in setup.linkage if p == party)
        self.compound = setup.compound  # (I,): linkage reads these by their level
        self.level = setup.level  # (R, I)
        self.frustration = np.zeros(n)
        # beliefs about the others' red lines, relative to the truth in span shares
        # (own copies: what it learns is written into them; the compiled engine reads
        # these and writes its own, ``sim.model.compiled``)
        copy = not getattr(model, "compiled", False)
        self.belief_lo = setup.party_lo[:, party].copy() if copy else setup.party_lo[:, party]
        self.belief_hi = setup.party_hi[:, party].copy() if copy else setup.party_hi[:, party]

    def _item_columns(self, setup) -> ItemColumns:
        n, party = setup.replicates, self.party
        return ItemColumns(
            ideal=self.ideal,
            red_line=self.limit,
            salience=setup.salience[:, party],
            tolerance=setup.tolerance[:, party],
            wants=np.broadcast_to(self.wants, (n, len(self.wants))),
            scale=np.broadcast_to(setup.maximum - setup.minimum, (n, len(self.wants))),
            step=np.broadcast_to(setup.step, (n, len(self.wants))),
            bluff=setup.bluff[:, party, None] * setup.span[None, :],
        )

    def set_reserve(self, reserve: np.ndarray, setup) -> None:
        """Its reservation moved mid-round (a lever the mediator's seat spends: a
        guarantee adds to any agreement, a threat lowers its BATNA): its items' limits
        follow (``rules.batna_red_line``)."""
        self.reserve = reserve
        self.limit = rules.batna_red_line(self.ideal, self.red_line, reserve[:, None])
        self.columns = self._item_columns(setup)

    # -- the clock ----------------------------------------------------------------------
    def conceded(self, view: RoundView) -> np.ndarray:
        """How far it has conceded, 0..1: its Faratin curve over its own horizon, the
        mediator's pressure making the clock run faster (Pruitt's time pressure)."""
        elapsed = view.since_opening / self.horizon * (1.0 + view.pressure)
        return rules.concession_fraction(elapsed, self.concession)

    # -- item by item -------------------------------------------------------------------
    def aspiration(self, view: RoundView) -> np.ndarray:
        """Where it holds out on the current item this minute (Faratin et al. 1998)."""
        now = self.columns(view)
        return rules.aspiration(now["ideal"], now["red_line"], self.conceded(view))

    def offer(self, view: RoundView, aspiration: np.ndarray) -> np.ndarray:
        """The position it states: its aspiration overstated by its bluff, on the item's
        lattice (never past its ideal)."""
        now = self.columns(view)
        stated = aspiration + now["wants"] * now["bluff"]
        stated = np.where(now["wants"] > 0, np.minimum(stated, now["ideal"]),
                          np.maximum(stated, now["ideal"]))
        return rules.round_toward_ideal(stated, now["wants"], now["step"])

    def linkage_met(self, view: RoundView) -> np.ndarray:
        """False where it has tied the current item to another not yet agreed far
        enough (e.g. leaders meet only to sign a finished agreement)."""
        met = np.ones(view.item.shape, dtype=bool)
        for issue, requires, at_least in self.linkage:
            with np.errstate(invalid="ignore"):  # NaN (not agreed) compares False
                done = view.agreed[:, requires] >= at_least
            met &= (view.item != issue) | done
        return met

    def respond(self, view: RoundView, proposal: np.ndarray, aspiration: np.ndarray):
        """Accept or reject the mediator's text on the item (``rules.accepts``)."""
        now = self.columns(view)
        with np.errstate(invalid="ignore"):
            yes = rules.accepts(proposal, aspiration, now["red_line"], now["wants"],
                                now["tolerance"], now["scale"])
        return yes & self.linkage_met(view)

    # -- the package --------------------------------------------------------------------
    # The package methods work on the replicates in session (``rows``): a chunk's
    # finished replicates cost nothing.
    def package_aspiration(self, view: RoundView, rows: np.ndarray) -> np.ndarray:
        """The package utility it holds out for: from 1 down to its reservation."""
        elapsed = view.since_opening[rows] / self.horizon[rows] * (1.0 + view.pressure[rows])
        fraction = rules.concession_fraction(elapsed, self.concession[rows])
        return rules.utility_aspiration(self.reserve[rows], fraction)

    def package_value(self, text: np.ndarray, open_: np.ndarray, rows: np.ndarray
                      ) -> np.ndarray:
        """Its utility of a package: the weighted mean over the issues in it."""
        return rules.mean_utility(text, self.ideal[rows], self.red_line[rows], self.wants,
                                  self.weight[rows], open_)

    def respond_package(self, view: RoundView, rows: np.ndarray, text: np.ndarray,
                        open_: np.ndarray, aspiration: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Accept a package inside every red line that beats its BATNA and clears its
        aspiration within the mediator's credibility; what it tells the mediator it
        needs (its aspiration, overstated by its bluff); and the issues on which the
        text is past its red line (it says so: a red line is not bargained)."""
        objection = open_ & ~rules.acceptable(rules.nan_to_zero(text), self.red_line[rows],
                                              self.wants, self.span)
        inside = ~objection.any(axis=1)
        value = self.package_value(text, open_, rows)
        reserve = self.reserve[rows]
        with np.errstate(invalid="ignore"):
            yes = (inside & (value >= reserve - 1e-9)
                   & (value >= aspiration - self.credibility[rows] - 1e-9))
        yes &= self.package_linkage_met(view, rows, text, open_)
        demand = np.minimum(aspiration + self.bluff[rows], 1.0)
        return yes, demand, objection

    def package_linkage_met(self, view: RoundView, rows: np.ndarray, text: np.ndarray,
                            open_: np.ndarray) -> np.ndarray:
        """Its linkages in a package: an issue tied to another is taken only where that
        one is agreed already, or in the same package, far enough (a compound issue by
        the level put)."""
        met = np.ones(rows.size, dtype=bool)
        for issue, requires, at_least in self.linkage:
            offered = (self.level[rows, requires] if self.compound[requires]
                       else text[:, requires])
            with np.errstate(invalid="ignore"):
                before = view.agreed[rows, requires] >= at_least
                now = open_[:, requires] & (offered >= at_least)
            met &= ~open_[:, issue] | before | now
        return met

    # -- learning -----------------------------------------------------------------------
    def observe(self, party: int, issue: np.ndarray, value: np.ndarray, rows: np.ndarray,
                true_red: np.ndarray, wants: int | np.ndarray) -> None:
        """Bayes on another side's stated position or accepted text: its red line lies
        on the far side of it (offers and acceptances never pass one's own red line), so
        the belief is truncated there (``rules.narrowed``)."""
        if not rows.size:
            return
        span = self.span[issue]
        bound = (value - true_red) / span  # the position, relative to the truth
        lo, hi = self.belief_lo[rows, party, issue], self.belief_hi[rows, party, issue]
        new_lo = np.where(wants < 0, bound, -np.inf)
        new_hi = np.where(wants > 0, bound, np.inf)
        self.belief_lo[rows, party, issue], self.belief_hi[rows, party, issue] = \
            rules.narrowed(lo, hi, new_lo, new_hi)

    def zone_belief(self, red_lines: np.ndarray, wants: np.ndarray) -> np.ndarray:
        """(R, I): its belief that a zone exists on each issue, given its own limits and
        what it believes of the others' red lines (``red_lines``: the true (R, P, I),
        from which its beliefs are offsets)."""
        p = self.party
        chance = np.ones(self.limit.shape)
        for q in range(red_lines.shape[1]):
            if q == p:
                continue
            lo = red_lines[:, q] + self.span * self.belief_lo[:, q]
            hi = red_lines[:, q] + self.span * self.belief_hi[:, q]
            chance *= rules.zone_probability(self.limit, self.wants, lo, hi, wants[q])
        return chance

    # -- leaving ------------------------------------------------------------------------
    def staying(self, view: RoundView, open_: np.ndarray, expected: np.ndarray,
                chance: np.ndarray) -> tuple[np.ndarray, dict]:
        """What staying is worth to it (``rules.staying_value``): on each open issue a
        deal at ``expected`` (the mediator's target) with the ``chance`` it believes a
        zone exists, else its BATNA; discounted over the minutes until its own
        aspiration would come down to that deal. Returns the value and its parts."""
        weight = np.where(open_, self.weight, 0.0)
        total = np.maximum(weight.sum(axis=1), rules.EPS)
        u = rules.utility(rules.nan_to_zero(expected), self.ideal, self.red_line, self.wants)
        u = np.where(np.isnan(expected), 0.0, np.maximum(u, 0.0))
        chance = np.where(np.isnan(expected), 0.0, chance)
        p_deal = (weight * chance).sum(axis=1) / total
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.where(p_deal > 0, (weight * chance * u).sum(axis=1)
                             / np.maximum((weight * chance).sum(axis=1), rules.EPS), 0.0)
        elapsed = view.since_opening / self.horizon * (1.0 + view.pressure)
        minutes = rules.minutes_to_accept(value, self.reserve, self.concession,
                                          (1.0 + view.pressure) / self.horizon, elapsed)
        stay = rules.staying_value(p_deal, value, self.reserve, self.discount, minutes)
        return stay, {"p_deal": p_deal, "value": value, "minutes": minutes}

    def feel(self, view: RoundView, stalled: np.ndarray, salience: np.ndarray) -> np.ndarray:
        """Update frustration for the minute: stalled talk adds ``salience``; progress
        clears it (``rules.frustration_step``). Returns where it has run out of
        patience."""
        updated = rules.frustration_step(self.frustration, salience, stalled)
        self.frustration = np.where(view.session, updated, self.frustration)
        return view.session & (self.frustration >= self.walkout_threshold)


class Mediator(mesa.Agent):
    """The mediator: learns the sides' red lines (informed, or in caucuses), orders the
    agenda or drafts one text over it, proposes inside the zones it believes exist,
    revises, parks what has no zone, and may spend levers it holds."""

    def __init__(self, model: mesa.Model, name: str, setup, believed: dict) -> None:
        super().__init__(model)
        self.name = name
        n, n_issues = setup.order.shape
        self.setup = setup
        self.order = setup.order  # (R, I)
        self.wants = setup.wants  # (P, I): each side's direction is public
        # its own copies: what it learns during the round is written into them (an
        # informed mediator in the compiled engine learns nothing: it reads the arrays)
        reads_only = getattr(model, "compiled", False) and setup.informed
        self.believed = {key: value if reads_only else np.array(value)
                         for key, value in believed.items()}
        self.columns = ItemColumns(  # read from its own copies: they change as it learns
            zone_lo=self.believed["zone_lo"],
            zone_hi=self.believed["zone_hi"],
            nash=self.believed["nash"],
            step=np.broadcast_to(setup.step, (n, n_issues)),
            **{f"wants_{p}": np.broadcast_to(w, (n, n_issues))
               for p, w in enumerate(setup.wants)},
        )
        self.pressure = np.ascontiguousarray(setup.pressure)
        self.rule = setup.proposal_rule
        self.exploration_minutes = setup.exploration_minutes
        self.item_minutes = setup.item_minutes
        self.target = np.full((n, n_issues), np.nan)  # the package target text
        self.target_value = np.full((n, len(setup.party_names)), np.nan)

    # -- item by item -------------------------------------------------------------------
    def item_at(self, position: np.ndarray) -> np.ndarray:
        """The issue it takes up ``position``-th (clipped for finished rounds)."""
        column = np.minimum(position, self.order.shape[1] - 1)
        return np.take_along_axis(self.order, column[:, None], axis=1)[:, 0]

    def pressure_at(self, cell: np.ndarray) -> np.ndarray:
        """Its pressure on each replicate's current item (``cell``: see RoundView)."""
        return self.pressure.ravel().take(cell)

    def zone_exists(self, view: RoundView) -> np.ndarray:
        """Whether it believes the current item has a zone."""
        now = self.columns(view)
        return now["zone_lo"] <= now["zone_hi"]

    def propose(self, view: RoundView, offers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A compromise text on the current item (NaN where it sees no zone and the
        offers have not crossed), and where the offers have crossed.

        The target is the Nash bargaining point of the zone it believes in (or, by the
        other rule, the split of the offers). Once the stated offers cross, every point
        between them is acceptable to all; it then drafts the point of that overlap
        nearest its target, so a deal is not held up for a point neither side needs
        (Faratin et al. 1998: accept when the other's offer beats one's own next).
        """
        now = self.columns(view)
        step, k_lo, k_hi = now["step"], now["zone_lo"], now["zone_hi"]
        believed = k_lo <= k_hi
        if self.rule is ProposalRule.NASH:
            target = now["nash"]
        else:
            target = rules.split_the_difference(offers, k_lo, k_hi, step)
        # Offers as if they were red lines: the overlap every side accepts right now.
        wants = np.stack([now[f"wants_{p}"] for p in range(offers.shape[1])], axis=1)
        low, high = rules.zone_of_agreement(offers, wants, -np.inf, np.inf)
        low = np.where(believed, np.maximum(low, k_lo * step), low)
        high = np.where(believed, np.minimum(high, k_hi * step), high)
        with np.errstate(invalid="ignore", over="ignore"):
            o_lo, o_hi = rules.lattice_bounds(low, high, step)
            crossed = o_lo <= o_hi
            middle = np.round(0.5 * (low + high) / step)
            aim = np.where(np.isnan(target), middle * step, target)
            inside = np.clip(np.round(aim / step), o_lo, o_hi) * step
        proposal = np.where(crossed, inside, target)
        return np.where(believed | crossed, proposal, np.nan), crossed

    def decide(self, view: RoundView, agreed: np.ndarray, zone_open: np.ndarray):
        """The item's status after this minute: agreed; parked once exploration shows
        no zone (or a side's linkage closes it); timed out after ``item_minutes``."""
        spent = view.minutes_on_item + 1
        status = np.full(agreed.shape, ItemStatus.PENDING, dtype=np.int8)
        status[spent >= self.item_minutes] = ItemStatus.TIMED_OUT
        status[~zone_open & (spent >= self.exploration_minutes)] = ItemStatus.PARKED
        status[agreed] = ItemStatus.AGREED
        status[~view.session] = ItemStatus.PENDING
        return status

    # -- the package --------------------------------------------------------------------
    def draft(self, rows: np.ndarray, open_: np.ndarray) -> None:
        """Its target text for the package now open in ``rows`` (``package.target`` on
        its beliefs), and what each side gets from it by its reckoning."""
        if not rows.size:
            return
        b, s = self.believed, self.setup
        self.target[rows] = package.target(
            b["zone_lo"][rows], b["zone_hi"][rows], s.step, s.ideal[rows], b["red_line"][rows],
            s.wants, s.weight[rows], open_[rows], b["reserve"][rows], s.power[rows],
            np.full(rows.size, s.pull), s.pull_ideal, s.pull_weight, s.span)
        self.target_value[rows] = self._values(self.target[rows], open_[rows], rows)

    def _values(self, text: np.ndarray, open_: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """(r, P): each side's utility of a text, as the mediator reckons it."""
        b, s = self.believed, self.setup
        return np.stack([rules.mean_utility(text, s.ideal[rows, p], b["red_line"][rows, p],
                                            s.wants[p], s.weight[rows, p], open_)
                         for p in range(s.wants.shape[0])], axis=1)

    def hear(self, rows: np.ndarray, objections: np.ndarray, text: np.ndarray,
             open_: np.ndarray, redraft: bool = True) -> np.ndarray:
        """Objections ``(r, P, I)`` that the text ``(r, I)`` is past a side's red line:
        its beliefs truncated there (``beliefs.learn``) and the text drafted anew where
        they changed (unless ``redraft`` is false: a person in the mediator's seat
        drafts the texts). Returns the replicates redrafted."""
        at, party, issue = np.nonzero(objections)
        if not at.size:
            return at
        replicates = rows[at]
        learn(self.setup, self.believed, replicates, party, issue, text[at, issue])
        if not redraft:
            return at[:0]
        redrafted = np.unique(replicates)
        self.draft(redrafted, open_)
        return redrafted

    def hear_item(self, rows: np.ndarray, party: np.ndarray, issue: np.ndarray,
                  text: np.ndarray) -> None:
        """Item by item: a side said the text ``text`` on ``issue`` is past its red line
        (in replicates ``rows``): its belief truncated there (``beliefs.learn``), and
        the items' zones and Nash points of those replicates read anew."""
        learn(self.setup, self.believed, rows, party, issue, text)
        self.columns.stale(np.unique(rows))

    def revise(self, rows: np.ndarray, open_: np.ndarray, demands: np.ndarray) -> np.ndarray:
        """This minute's text for ``rows``: its target, or — where a side says the target
        falls short of what it needs and another can live with it — the target moved
        toward the short sides' corner of the zone as far as they need and the others
        allow (``package.compromise``). ``demands`` ``(r, P)``: what each side says it
        needs, on the utility scale; ``open_`` ``(r, I)``."""
        b, s = self.believed, self.setup
        own = self.target_value[rows]
        need = demands - s.credibility[rows, None]
        push = np.where(np.isnan(own), 0.0, np.maximum(need - own, 0.0))
        corner = package.corner(b["zone_lo"][rows], b["zone_hi"][rows], s.step, s.wants,
                                s.weight[rows], s.span, push)
        return package.compromise(self.target[rows], corner, np.where(np.isnan(own), 1.0, own),
                                  need, open_, s.step, s.ideal[rows], b["red_line"][rows],
                                  s.wants, s.weight[rows])

    # -- a caucus asked for mid-round (a person's seat) ---------------------------------
    def caucus(self, rows: np.ndarray, party: int, reading: np.ndarray,
               batna_reading: np.ndarray, open_: np.ndarray) -> None:
        """A private caucus with ``party`` during the talks: a reading of its red lines
        ``(r, I)`` and BATNA ``(r,)`` (noise already scaled, as ``caucus_reading`` times
        ``caucus_noise``) narrows its beliefs by Bayes' rule, as the opening caucuses do
        (``beliefs.after_caucuses``); its picture, targets and item columns follow."""
        b, s = self.believed, self.setup
        noise = s.caucus_noise
        b["lo"][rows, party], b["hi"][rows, party] = rules.narrowed(
            b["lo"][rows, party], b["hi"][rows, party], reading - noise, reading + noise)
        b["b_lo"][rows, party], b["b_hi"][rows, party] = rules.narrowed(
            b["b_lo"][rows, party], b["b_hi"][rows, party], batna_reading - noise,
            batna_reading + noise)
        for key, value in reckon(s, b, rows).items():
            b[key][rows] = value
        self.columns = ItemColumns(
            zone_lo=b["zone_lo"], zone_hi=b["zone_hi"], nash=b["nash"],
            step=np.broadcast_to(s.step, b["zone_lo"].shape),
            **{f"wants_{p}": np.broadcast_to(w, b["zone_lo"].shape)
               for p, w in enumerate(s.wants)})
        if s.protocol is Protocol.PACKAGE:
            self.draft(rows, open_)
