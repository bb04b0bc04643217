"""The delegations and the mediator: thin Mesa agents over arrays of replicates.

Each agent holds its own parameters and state as arrays with a leading replicate
axis and calls the pure rules of ``sim.rules``. Agents read the round through a
read-only ``RoundView`` and return what they say (offers, proposals, answers); only
the model writes the round's state. A run of one replicate is the same code with
arrays of length one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import mesa
import numpy as np

from sim import rules
from sim.scenario import ProposalRule


class ItemStatus(IntEnum):
    """What became of an agenda item."""

    PENDING = 0  # not reached (the round ended first)
    AGREED = 1
    PARKED = 2  # no zone of agreement: the mediator set it aside
    TIMED_OUT = 3  # a zone existed but the item ran out of time


@dataclass(frozen=True)
class RoundView:
    """What every agent may see of the round this minute (arrays are read-only).

    ``item`` is the agenda item under discussion (an issue index; meaningless where
    ``session`` is false), ``elapsed`` the share of the planned deadline gone since
    the opening statements, ``pressure`` the mediator's pressure on the item.
    """

    minute: int
    session: np.ndarray  # (R,) bool: in session on an item
    item: np.ndarray  # (R,) int
    minutes_on_item: np.ndarray  # (R,) int
    elapsed: np.ndarray  # (R,) float
    pressure: np.ndarray  # (R,) float
    agreed_value: np.ndarray  # (R, I) float, NaN where not agreed


def _current(values: np.ndarray, view: RoundView) -> np.ndarray:
    """The column of the item under discussion, per replicate: ``values[r, item[r]]``."""
    return np.take_along_axis(values, view.item[:, None], axis=1)[:, 0]


class Delegation(mesa.Agent):
    """One party's delegation, across all replicates of a chunk.

    Per issue it has an ideal, a red line (the hard limit for this round) and a
    salience; it concedes along a Faratin time-dependent curve, accepts a
    mediator's text inside its red line that clears its aspiration (within the
    mediator's credibility), grows frustrated on stalled items and walks out when
    frustration passes its patience.
    """

    def __init__(self, model: mesa.Model, party: int, name: str, setup) -> None:
        super().__init__(model)
        self.party = party
        self.name = name
        self.wants = setup.wants[party]  # (I,)
        self.ideal = setup.ideal[:, party]  # (R, I)
        self.red_line = setup.red_line[:, party]
        self.salience = setup.salience[:, party]
        self.tolerance = setup.tolerance[:, party]
        self.concession = setup.concession[:, party]  # (R,)
        self.walkout_threshold = setup.walkout_threshold[:, party]
        self.scale = setup.maximum  # (I,)
        self.step_size = setup.step
        self.linkage = tuple((issue, requires, at_least)
                             for p, issue, requires, at_least in setup.linkage if p == party)
        self.frustration = np.zeros(setup.replicates)

    def aspiration(self, view: RoundView) -> np.ndarray:
        """Where it holds out on the current item this minute; pressure makes the
        deadline feel nearer (Faratin et al. 1998, with Pruitt's time pressure)."""
        fraction = rules.concession_fraction(view.elapsed * (1.0 + view.pressure),
                                             self.concession)
        return rules.aspiration(_current(self.ideal, view), _current(self.red_line, view),
                                fraction)

    def offer(self, view: RoundView, aspiration: np.ndarray) -> np.ndarray:
        """The position it states: its aspiration, on the item's lattice."""
        wants = self.wants[view.item]
        return rules.round_toward_ideal(aspiration, wants, self.step_size[view.item])

    def linkage_met(self, view: RoundView) -> np.ndarray:
        """False where it has tied the current item to another not yet agreed far
        enough (e.g. Russia: leaders meet only to sign a finished agreement)."""
        met = np.ones(view.item.shape, dtype=bool)
        for issue, requires, at_least in self.linkage:
            done = np.nan_to_num(view.agreed_value[:, requires], nan=-np.inf) >= at_least
            met &= (view.item != issue) | done
        return met

    def respond(self, view: RoundView, proposal: np.ndarray, aspiration: np.ndarray):
        """Accept or reject the mediator's proposal (``rules.accepts``)."""
        item = view.item
        with np.errstate(invalid="ignore"):
            yes = rules.accepts(proposal, aspiration, _current(self.red_line, view),
                                self.wants[item], _current(self.tolerance, view),
                                self.scale[item])
        return yes & self.linkage_met(view)

    def feel(self, view: RoundView, stalled: np.ndarray) -> np.ndarray:
        """Update frustration for the minute; return where it walks out."""
        in_session = view.session
        updated = rules.frustration_step(self.frustration, _current(self.salience, view),
                                         stalled)
        self.frustration = np.where(in_session, updated, self.frustration)
        return in_session & (self.frustration >= self.walkout_threshold)


class Mediator(mesa.Agent):
    """The mediator: orders the agenda, knows where zones of agreement exist (from
    its consultations before the round), drafts compromise texts inside them, parks
    items with none and moves on when an item runs out of time."""

    def __init__(self, model: mesa.Model, name: str, setup) -> None:
        super().__init__(model)
        self.name = name
        self.order = setup.order  # (R, I)
        self.zone_lo, self.zone_hi = setup.zone_lo, setup.zone_hi
        self.nash = setup.nash
        self.wants = setup.wants  # (P, I): each side's direction is public
        self.pressure = setup.pressure
        self.step_size = setup.step
        self.rule = setup.proposal_rule
        self.exploration_minutes = setup.exploration_minutes
        self.item_minutes = setup.item_minutes

    def item_at(self, position: np.ndarray) -> np.ndarray:
        """The issue it takes up ``position``-th (clipped for finished rounds)."""
        column = np.minimum(position, self.order.shape[1] - 1)
        return np.take_along_axis(self.order, column[:, None], axis=1)[:, 0]

    def pressure_on(self, item: np.ndarray) -> np.ndarray:
        return np.take_along_axis(self.pressure, item[:, None], axis=1)[:, 0]

    def zone_exists(self, view: RoundView) -> np.ndarray:
        return _current(self.zone_lo, view) <= _current(self.zone_hi, view)

    def propose(self, view: RoundView, offers: np.ndarray) -> np.ndarray:
        """A compromise text on the current item (NaN where there is no zone).

        The target is the Nash bargaining point of the zone (or, by the other rule,
        the split of the offers). Once the stated offers cross, every point between
        them is acceptable to all; the mediator then drafts the point of that overlap
        nearest its target, so a deal is not held up for a point neither side needs
        (Faratin et al. 1998: accept when the other's offer beats one's own next).
        """
        item = view.item
        step = self.step_size[item]
        k_lo, k_hi = _current(self.zone_lo, view), _current(self.zone_hi, view)
        if self.rule is ProposalRule.NASH:
            target = _current(self.nash, view)
        else:
            target = rules.split_the_difference(offers, k_lo, k_hi, step)
        # Offers as if they were red lines: the overlap every side accepts right now.
        low, high = rules.zone_of_agreement(offers, self.wants[:, item].T, np.inf)
        o_lo, o_hi = rules.lattice_bounds(np.maximum(low, k_lo * step),
                                          np.minimum(high, k_hi * step), step)
        crossed = o_lo <= o_hi
        with np.errstate(invalid="ignore"):
            inside = np.clip(np.round(target / step), o_lo, o_hi) * step
        proposal = np.where(crossed, inside, target)
        return np.where(k_lo <= k_hi, proposal, np.nan)

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
