"""``NegotiationRound``: the Mesa model of one round, over a chunk of replicates.

Protocol (DESIGN.md), one step a minute:

1. Opening statements take ``opening_minutes``; then the mediator opens its first item.
2. Each delegation states its offer on the item (its aspiration on the lattice).
3. The mediator checks the zone of agreement (and each side's linkage) and drafts a
   proposal inside it; each delegation accepts or not (``rules.accepts``).
4. The item is agreed when all accept; parked once exploration shows no zone; timed
   out after ``item_minutes``. The mediator then takes the next item.
5. Every minute without agreement adds the item's salience to each side's
   frustration; a side whose frustration passes its threshold walks out, ending
   the round (what was agreed before stands, as the 16 May agreements did).
6. The round ends when the agenda is exhausted (plus closing minutes), on a walk-out,
   or at ``max_minutes``. Duration is therefore emergent.

Replicates run in lock-step; a finished replicate is masked, not removed.
"""

from __future__ import annotations

from dataclasses import dataclass

import mesa
import numpy as np

from sim.model.agents import Delegation, ItemStatus, Mediator, RoundView
from sim.model.outcomes import outcome_dtypes
from sim.model.parameters import RoundSetup


def _read_only(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


@dataclass(frozen=True)
class MinuteRecord:
    """One minute of replicate 0, kept when a round is recorded (for a narrated trace)."""

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


class NegotiationRound(mesa.Model):
    """A mediated round between delegations, for ``setup.replicates`` replicates."""

    def __init__(self, setup: RoundSetup, record: bool = False) -> None:
        # Everything random was drawn in ``realise``; the model takes no generator, and
        # Mesa's own is seeded with a constant so that nothing depends on entropy.
        super().__init__(rng=0)
        self.setup = setup
        n, n_issues = setup.replicates, len(setup.issues)
        self.delegations = [Delegation(self, p, name, setup)
                            for p, name in enumerate(setup.party_names)]
        self.mediator = Mediator(self, setup.mediator_name, setup)
        self.minute = 0
        self.active = np.ones(n, dtype=bool)
        self.position = np.full(n, -1, dtype=np.int64)  # place in the agenda order
        self.item = np.zeros(n, dtype=np.int64)
        self._row_start = np.arange(n, dtype=np.int64) * n_issues
        self.item_version = np.zeros(n, dtype=np.int64)
        self.item_start = np.zeros(n, dtype=np.int64)
        self.status = np.zeros((n, n_issues), dtype=np.int8)
        self.value = np.full((n, n_issues), np.nan)
        self.settled = np.full((n, n_issues), np.nan)  # as linkage reads it (RoundView)
        self.agreed_minute = np.full((n, n_issues), np.nan)
        self.duration = np.full(n, np.nan)
        self.walkout_party = np.full(n, -1, dtype=np.int64)
        self.record = record
        self.history: list[MinuteRecord] = []
        self.running = n > 0

    def _finish(self, rows: np.ndarray, duration: float | np.ndarray) -> None:
        self.duration[rows] = duration if np.isscalar(duration) else duration[rows]
        self.active &= ~rows

    def step(self) -> None:
        """One minute of the round for every replicate still running."""
        setup, mediator, t = self.setup, self.mediator, self.minute
        opens = self.active & (self.position < 0) & (setup.opening_minutes <= t)
        if opens.any():
            self.position[opens] = 0
            self.item[opens] = mediator.item_at(self.position)[opens]
            self.item_start[opens] = t
            self.item_version[opens] += 1
        session = self.active & (self.position >= 0)
        cell = self._row_start + self.item
        view = RoundView(
            minute=t,
            session=_read_only(session),
            item=_read_only(self.item),
            cell=_read_only(cell),
            item_version=_read_only(self.item_version),
            minutes_on_item=_read_only(t - self.item_start),
            elapsed=_read_only((t - setup.opening_minutes) / setup.deadline_minutes),
            pressure=_read_only(mediator.pressure_at(cell)),
            agreed=_read_only(self.settled),
        )
        aspirations = [d.aspiration(view) for d in self.delegations]
        offers = np.stack([d.offer(view, a) for d, a in zip(self.delegations, aspirations,
                                                            strict=True)], axis=1)
        zone_open = session & mediator.zone_exists(view)
        for delegation in self.delegations:
            zone_open &= delegation.linkage_met(view)
        proposal = mediator.propose(view, offers)
        answers = [d.respond(view, proposal, a) for d, a in zip(self.delegations, aspirations,
                                                                strict=True)]
        agreed = zone_open & np.logical_and.reduce(answers)
        status = mediator.decide(view, agreed, zone_open)
        walks = [d.feel(view, session & ~agreed) for d in self.delegations]
        if self.record:
            self._remember(view, aspirations, offers, proposal, answers, status, walks)

        rows = np.flatnonzero(status != ItemStatus.PENDING)
        self.status[rows, self.item[rows]] = status[rows]
        won = np.flatnonzero(agreed)
        self.value[won, self.item[won]] = proposal[won]
        # linkage reads a compound issue by its level, any other by its value
        self.settled[won, self.item[won]] = np.where(
            setup.compound[self.item[won]], setup.level[won, self.item[won]], proposal[won])
        self.agreed_minute[won, self.item[won]] = t + 1

        walked = np.logical_or.reduce(walks)
        if walked.any():
            # where several leave in the same minute, the first listed is named
            for party in range(len(walks) - 1, -1, -1):
                self.walkout_party[walks[party]] = party
            self._finish(walked, float(t + 1))
        moved = (status != ItemStatus.PENDING) & ~walked
        self.position[moved] += 1
        done = moved & (self.position >= len(setup.issues))
        if done.any():
            self._finish(done, float(t + 1) + setup.closing_minutes)
        carry_on = moved & ~done
        self.item[carry_on] = mediator.item_at(self.position)[carry_on]
        self.item_start[carry_on] = t + 1
        self.item_version[carry_on] += 1

        self.minute = t + 1
        if self.minute >= setup.max_minutes:
            self._finish(self.active.copy(), float(setup.max_minutes))
        self.running = bool(self.active.any())

    def _remember(self, view, aspirations, offers, proposal, answers, status, walks) -> None:
        """Keep replicate 0's minute for the narrated trace."""
        if not view.session[0]:
            return
        item = int(view.item[0])
        zone = (float(self.setup.zone_lo[0, item] * self.setup.step[item]),
                float(self.setup.zone_hi[0, item] * self.setup.step[item]))
        walker = np.flatnonzero([w[0] for w in walks])
        self.history.append(MinuteRecord(
            minute=view.minute,
            item=self.setup.issues[item],
            aspirations=tuple(float(a[0]) for a in aspirations),
            offers=tuple(float(o) for o in offers[0]),
            zone=zone if zone[0] <= zone[1] else None,
            proposal=None if np.isnan(proposal[0]) else float(proposal[0]),
            accepted=tuple(bool(a[0]) for a in answers),
            status=ItemStatus(int(status[0])),
            frustration=tuple(float(d.frustration[0]) for d in self.delegations),
            walked_out=self.setup.party_names[walker[0]] if walker.size else None,
        ))

    def run(self) -> NegotiationRound:
        """Run every replicate to its end."""
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
