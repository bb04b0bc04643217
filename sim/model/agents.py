"""The delegations and the mediator: thin Mesa agents over arrays of replicates.

Each agent holds its own parameters and state as arrays with a leading replicate
axis and calls the pure rules of ``sim.model.rules``. Agents read the round through a
read-only ``RoundView`` and return what they say (offers, proposals, answers); only
the model writes the round's state. A run of one replicate is the same code with
arrays of length one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import mesa
import numpy as np

from sim.model import rules
from sim.scenario.spec import ProposalRule


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
    cell: np.ndarray  # (R,) int: flat index of (replicate, item) in an (R, I) array
    item_version: np.ndarray  # (R,) int: how often the item changed (for ItemColumns)
    minutes_on_item: np.ndarray  # (R,) int
    elapsed: np.ndarray  # (R,) float
    pressure: np.ndarray  # (R,) float
    #: (R, I) what was agreed on each issue, on the scale a linkage reads (the
    #: compound issue by its level), NaN where nothing was agreed
    agreed: np.ndarray


class ItemColumns:
    """``values[r, item[r]]`` of several (R, I) arrays: each replicate's value on the
    item under discussion.

    Gathering these every minute was the engine's hottest operation; items change
    rarely, so the columns are kept and refreshed only for the replicates whose item
    changed since the last read (``RoundView.item_version``).
    """

    def __init__(self, **arrays: np.ndarray) -> None:
        self._full = {name: np.ascontiguousarray(a) for name, a in arrays.items()}
        n = next(iter(self._full.values())).shape[0]
        self._now = {name: np.zeros(n, a.dtype) for name, a in self._full.items()}
        self._version = np.full(n, -1, dtype=np.int64)

    def __call__(self, view: RoundView) -> dict[str, np.ndarray]:
        rows = np.flatnonzero(self._version != view.item_version)
        if rows.size:
            cells = view.cell[rows]
            for name, values in self._full.items():
                self._now[name][rows] = values.ravel().take(cells)
            self._version[rows] = view.item_version[rows]
        return self._now


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
        n = setup.replicates
        self.wants = setup.wants[party]  # (I,)
        self.columns = ItemColumns(
            ideal=setup.ideal[:, party],
            red_line=setup.red_line[:, party],
            salience=setup.salience[:, party],
            tolerance=setup.tolerance[:, party],
            wants=np.broadcast_to(self.wants, (n, len(self.wants))),
            scale=np.broadcast_to(setup.maximum - setup.minimum, (n, len(self.wants))),
            step=np.broadcast_to(setup.step, (n, len(self.wants))),
        )
        self.concession = setup.concession[:, party]  # (R,)
        self.walkout_threshold = setup.walkout_threshold[:, party]
        self.linkage = tuple((issue, requires, at_least)
                             for p, issue, requires, at_least in setup.linkage if p == party)
        self.frustration = np.zeros(n)

    def aspiration(self, view: RoundView) -> np.ndarray:
        """Where it holds out on the current item this minute; pressure makes the
        deadline feel nearer (Faratin et al. 1998, with Pruitt's time pressure)."""
        now = self.columns(view)
        fraction = rules.concession_fraction(view.elapsed * (1.0 + view.pressure),
                                             self.concession)
        return rules.aspiration(now["ideal"], now["red_line"], fraction)

    def offer(self, view: RoundView, aspiration: np.ndarray) -> np.ndarray:
        """The position it states: its aspiration, on the item's lattice."""
        now = self.columns(view)
        return rules.round_toward_ideal(aspiration, now["wants"], now["step"])

    def linkage_met(self, view: RoundView) -> np.ndarray:
        """False where it has tied the current item to another not yet agreed far
        enough (e.g. Russia: leaders meet only to sign a finished agreement)."""
        met = np.ones(view.item.shape, dtype=bool)
        for issue, requires, at_least in self.linkage:
            with np.errstate(invalid="ignore"):  # NaN (not agreed) compares False
                done = view.agreed[:, requires] >= at_least
            met &= (view.item != issue) | done
        return met

    def respond(self, view: RoundView, proposal: np.ndarray, aspiration: np.ndarray):
        """Accept or reject the mediator's proposal (``rules.accepts``)."""
        now = self.columns(view)
        with np.errstate(invalid="ignore"):
            yes = rules.accepts(proposal, aspiration, now["red_line"], now["wants"],
                                now["tolerance"], now["scale"])
        return yes & self.linkage_met(view)

    def feel(self, view: RoundView, stalled: np.ndarray) -> np.ndarray:
        """Update frustration for the minute; return where it walks out."""
        in_session = view.session
        updated = rules.frustration_step(self.frustration, self.columns(view)["salience"],
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
        n, n_issues = setup.order.shape
        self.order = setup.order  # (R, I)
        self.wants = setup.wants  # (P, I): each side's direction is public
        self.columns = ItemColumns(
            zone_lo=setup.zone_lo,
            zone_hi=setup.zone_hi,
            nash=setup.nash,
            step=np.broadcast_to(setup.step, (n, n_issues)),
            **{f"wants_{p}": np.broadcast_to(w, (n, n_issues))
               for p, w in enumerate(setup.wants)},
        )
        self.pressure = np.ascontiguousarray(setup.pressure)
        self.rule = setup.proposal_rule
        self.exploration_minutes = setup.exploration_minutes
        self.item_minutes = setup.item_minutes

    def item_at(self, position: np.ndarray) -> np.ndarray:
        """The issue it takes up ``position``-th (clipped for finished rounds)."""
        column = np.minimum(position, self.order.shape[1] - 1)
        return np.take_along_axis(self.order, column[:, None], axis=1)[:, 0]

    def pressure_at(self, cell: np.ndarray) -> np.ndarray:
        """Its pressure on each replicate's current item (``cell``: see RoundView)."""
        return self.pressure.ravel().take(cell)

    def zone_exists(self, view: RoundView) -> np.ndarray:
        now = self.columns(view)
        return now["zone_lo"] <= now["zone_hi"]

    def propose(self, view: RoundView, offers: np.ndarray) -> np.ndarray:
        """A compromise text on the current item (NaN where there is no zone).

        The target is the Nash bargaining point of the zone (or, by the other rule,
        the split of the offers). Once the stated offers cross, every point between
        them is acceptable to all; the mediator then drafts the point of that overlap
        nearest its target, so a deal is not held up for a point neither side needs
        (Faratin et al. 1998: accept when the other's offer beats one's own next).
        """
        now = self.columns(view)
        step, k_lo, k_hi = now["step"], now["zone_lo"], now["zone_hi"]
        if self.rule is ProposalRule.NASH:
            target = now["nash"]
        else:
            target = rules.split_the_difference(offers, k_lo, k_hi, step)
        # Offers as if they were red lines: the overlap every side accepts right now.
        wants = np.stack([now[f"wants_{p}"] for p in range(offers.shape[1])], axis=1)
        low, high = rules.zone_of_agreement(offers, wants, -np.inf, np.inf)
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
