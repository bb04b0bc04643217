"""A campaign, day by day: exchanges carried out in stages, trust, whether and when the
next round meets, and the rounds themselves (the round engine).

One call simulates a chunk of campaigns in lock-step, each an independent world with
its own parameter draw (a posterior particle, kept for all its rounds). What it
carries out, tracks and schedules comes from the round scenario and the campaign
file (``sim.campaign.spec``), never from names written here. Every day:

1. **Implementation.** Each agreed exchange (every count issue with ``exchange =
   true`` on the round's agenda) is carried out in ``stages`` equal stages. The first
   comes after a geometric wait (daily chance ``start``); each later stage is due the
   next day and slips a day with chance ``slip`` (both drawn per campaign from their
   Beta posteriors, ``timing``).
2. **Trust.** A stage carried out raises every side's trust toward 1 by
   ``gain_per_stage`` of the way; a slip is one side's doing (chosen at random) and
   lowers the others' trust by ``loss_per_slip`` of theirs (reciprocity: Axelrod 1984;
   trust as a running record of the other's conduct, Kydd 2005).
3. **Rounds.** Campaigns with a round today run it with the round engine; trust moves
   each side's exchange willingness (``willingness_per_trust`` × change since the
   start) and patience (× ``1 + patience_per_trust`` × change). Agreed exchanges join
   the queue; every event of the round scenario that holds is dated (the first day it
   held); where the campaign names a ``next_round_event`` and it holds, the next
   round is scheduled ``lead_days`` later.
4. **Scheduling.** Otherwise, once ``min_gap_days`` have passed, each side that has
   not yet agreed to meet weighs it: value ``value × trust`` (what it expects to gain,
   nothing if it trusts nothing) plus the mediator's push, less its cost, with a
   logistic taste shock (random utility: McFadden 1974) — ``sigmoid(U / noise)`` is
   its chance of agreeing within a week. When all have agreed, the round meets
   ``lead_days`` later (not before a date already proposed).

   **With a fitted rhythm** (``[scheduling] rhythm``, ``sim.campaign.rhythm``) instead:
   each campaign draws the two daily chances from their posteriors once; after each
   round (and at the start, from ``state.last_round``) the next round is set
   ``min_gap_days - 1 + W`` days later, ``W`` geometric with the chance of the state the
   round left (a next round agreed: ``next_round_event`` held; or not). At the start
   the gap already elapsed without a round is conditioned on (the geometric forgets
   it), as is a date already proposed, before which the first round does not meet.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.batch.chunks import chunk_rng
from sim.campaign.rows import campaign_table
from sim.campaign.spec import Campaign
from sim.model.outcomes import value_column
from sim.model.parameters import realise
from sim.model.round import NegotiationRound
from sim.scenario.events import evaluate

NEVER = np.iinfo(np.int64).max


class World:
    """The state of ``n`` campaigns, and what happened in them so far."""

    def __init__(self, campaign: Campaign, n: int, rng: np.random.Generator) -> None:
        self.c, self.n, self.rng = campaign, n, rng
        scenario = campaign.round_scenario
        self.parties = tuple(p.key for p in scenario.parties)
        if campaign.timing is not None:
            self.start_chance = campaign.timing.start.draw(rng, n)
            self.slip_chance = campaign.timing.slip.draw(rng, n)
        self.trust = np.stack([rng.uniform(lo, hi, n) for lo, hi in campaign.trust], axis=1)
        self.trust0 = self.trust.copy()
        self.draw_id, self.base = self._parameters(scenario)
        self.pending, self.stages_left, self.due, self.first_due = {}, {}, {}, {}
        self.agreed, self.done, self.stages = {}, {}, {}
        for issue, span in zip(campaign.exchanges, campaign.pending, strict=True):
            amount = np.floor(rng.uniform(span[0], span[1], n))
            self.agreed[issue] = amount.copy()
            self.done[issue] = np.zeros(n)
            self.pending[issue] = np.zeros(n)
            self.stages_left[issue] = np.zeros(n, dtype=np.int64)
            self.due[issue] = np.full(n, NEVER)
            self.first_due[issue] = np.zeros(n, dtype=bool)
            self.stages[issue] = []  # (day, campaigns, amounts) of each day's stages
            self._queue(issue, np.arange(n), amount, day=0)
        self.willing = np.zeros((n, len(self.parties)), dtype=bool)
        self.proposed = np.full(n, -1)
        if campaign.round_proposed is not None:
            self.proposed[:] = (campaign.round_proposed - campaign.start).days
            self.willing[:, self.parties.index(campaign.proposed_by)] = True
        self.scheduled = np.full(n, -1)
        self.last_round = np.full(n, -10**6)
        if campaign.rhythm is not None:
            self._start_rhythm(rng)
        self.rounds = np.zeros(n, dtype=np.int64)
        self.held: list[tuple[int, np.ndarray]] = []  # (day, campaigns) of each day's rounds
        self.event_day = {event.name: np.full(n, -1) for event in scenario.events}
        self.level = {issue: np.zeros(n, dtype=np.int64) for issue in campaign.compounds}
        self.walkouts = np.zeros(n, dtype=np.int64)

    def _start_rhythm(self, rng: np.random.Generator) -> None:
        """Draw each campaign's two daily chances, and its first round: ``G`` days after
        the last round, given that none met in the ``e`` days before the start nor
        meets before a date proposed (``q`` days after the last round):
        ``max(s - 1, e, q - 1) + W`` (the geometric ``W`` is memoryless)."""
        c, rhythm = self.c, self.c.rhythm
        self.chance_agreed = rhythm.agreed.draw(rng, self.n)
        self.chance_none = rhythm.none.draw(rng, self.n)
        last = (c.last_round - c.start).days  # negative: before day 0
        elapsed = -last - 1
        chance = self.chance_agreed if c.next_round_agreed else self.chance_none
        wait = max(rhythm.min_gap_days - 1, elapsed)
        if c.round_proposed is not None:  # no round before the date proposed
            wait = max(wait, (c.round_proposed - c.start).days - last - 1)
        self.last_round[:] = last
        self.scheduled[:] = last + wait + rng.geometric(chance)

    def _parameters(self, scenario):
        """Every parameter drawn once per campaign and kept for all its rounds (a
        posterior particle where the scenario has one, its ranges elsewhere): the
        parties do not change between rounds, only trust moves them."""
        setup = realise(scenario, self.n, self.rng)
        return setup.draw_id, dict(setup.drawn)

    def _queue(self, issue: str, rows: np.ndarray, amount: np.ndarray, day: int) -> None:
        """Add agreed amounts to the queue; start a first-stage wait where none runs."""
        give = amount > 0
        rows, amount = rows[give], amount[give]
        self.pending[issue][rows] += amount
        self.stages_left[issue][rows] += self.c.stages
        idle = self.due[issue][rows] == NEVER
        wait = self.rng.geometric(self.start_chance[rows])
        start = rows[idle]
        self.due[issue][start] = day + wait[idle]
        self.first_due[issue][start] = True

    def implement(self, day: int) -> None:
        for issue in self.c.exchanges:
            due = np.flatnonzero((self.stages_left[issue] > 0) & (self.due[issue] <= day))
            if not due.size:
                continue
            slips = (self.rng.random(due.size) < self.slip_chance[due]) & \
                ~self.first_due[issue][due]
            culprit = self.rng.integers(0, len(self.parties), due.size)
            slipped, carried = due[slips], due[~slips]
            self.due[issue][slipped] = day + 1
            others = np.ones((slipped.size, len(self.parties)), dtype=bool)
            others[np.arange(slipped.size), culprit[slips]] = False
            self.trust[slipped] -= self.c.loss_per_slip * self.trust[slipped] * others
            left = self.stages_left[issue][carried]
            stage = np.where(left == 1, self.pending[issue][carried],
                             np.floor(self.pending[issue][carried] / left))
            self.done[issue][carried] += stage
            self.pending[issue][carried] -= stage
            self.stages_left[issue][carried] -= 1
            self.first_due[issue][carried] = False
            self.due[issue][carried] = np.where(self.stages_left[issue][carried] > 0, day + 1,
                                                NEVER)
            self.trust[carried] += self.c.gain_per_stage * (1.0 - self.trust[carried])
            if carried.size:
                self.stages[issue].append((day, carried, stage))

    def _round_values(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        values = {key: v[rows] for key, v in self.base.items()}
        change = self.trust[rows] - self.trust0[rows]
        for p, party in enumerate(self.parties):
            key = f"parties.{party}.exchange_willingness"
            values[key] = np.clip(values[key] + self.c.willingness_per_trust * change[:, p],
                                  0.0, 1.0)
            key = f"parties.{party}.patience"
            values[key] = np.clip(values[key] * (1 + self.c.patience_per_trust * change[:, p]),
                                  1.0, 24 * 60)
        return values

    def meet(self, day: int) -> tuple[np.ndarray, dict[str, np.ndarray]] | None:
        """Hold the rounds met today: the campaigns that met, and their rounds' outcomes
        (the columns of ``sim.model.outcomes``)."""
        rows = np.flatnonzero(self.scheduled == day)
        if not rows.size:
            return None
        scenario = self.c.round_scenario
        setup = realise(scenario, rows.size, self.rng, values=self._round_values(rows),
                        compiled=True)
        out = NegotiationRound(setup, compiled=True).run().outcomes()
        self.held.append((day, rows))
        self.rounds[rows] += 1
        self.last_round[rows] = day
        for issue in self.c.exchanges:
            column = value_column(scenario.issue(issue))
            amount = np.nan_to_num(np.asarray(out[column], dtype=float))
            self.agreed[issue][rows] += amount
            self._queue(issue, rows, amount, day)
        held = {event.name: evaluate(event.tree, out) for event in scenario.events}
        for name, hits in held.items():
            first = hits & (self.event_day[name][rows] < 0)
            self.event_day[name][rows[first]] = day
        for issue, level in self.level.items():
            level[rows] = np.maximum(level[rows], out[f"{issue}_level"])
        self.walkouts[rows] += out["walkout"]
        if self.c.rhythm is not None:
            agreed = (held[self.c.next_round_event] if self.c.next_round_event is not None
                      else np.zeros(rows.size, dtype=bool))
            chance = np.where(agreed, self.chance_agreed[rows], self.chance_none[rows])
            self.scheduled[rows] = day + self.c.rhythm.min_gap_days - 1 + \
                self.rng.geometric(chance)
        elif self.c.next_round_event is None:
            self.scheduled[rows] = -1
        else:
            again = held[self.c.next_round_event]
            self.scheduled[rows] = np.where(again, day + self._lead(rows.size), -1)
        self.willing[rows] = False
        self.proposed[rows] = -1
        return rows, out

    def _lead(self, size: int) -> np.ndarray:
        low, high = self.c.lead_days
        return self.rng.integers(low, high + 1, size)

    def schedule(self, day: int) -> None:
        if self.c.rhythm is not None:
            return  # every round was set when the one before it met
        free = np.flatnonzero((self.scheduled < 0) & (day - self.last_round >= self.c.min_gap_days))
        if not free.size:
            return
        utility = (np.array(self.c.value) * self.trust[free] + self.c.mediator_push
                   - np.array(self.c.cost)) / self.c.noise
        weekly = 1.0 / (1.0 + np.exp(-utility))
        daily = 1.0 - (1.0 - weekly) ** (1.0 / 7.0)
        yes = self.rng.random(daily.shape) < daily
        self.willing[free] |= yes
        ready = free[self.willing[free].all(axis=1)]
        meeting = day + self._lead(ready.size)
        self.scheduled[ready] = np.maximum(meeting, self.proposed[ready])


def simulate_chunk(campaign: Campaign, seed: int, chunk: int, first: int, count: int,
                   keep_rounds: bool = False) -> tuple[pa.Table, list[pd.DataFrame]]:
    """``count`` campaigns (run ids ``first``...) from chunk ``chunk``'s generator:
    one row per campaign (``sim.campaign.rows``), and (if asked) every round's
    outcomes, with the day it met and its campaign's ``run_id``."""
    world = World(campaign, count, chunk_rng(seed, chunk))
    rounds = []
    for day in range(campaign.days):
        world.implement(day)
        held = world.meet(day)
        if held is not None and keep_rounds:
            rows, outcomes = held
            rounds.append(pd.DataFrame(outcomes).assign(day=day, run_id=first + rows))
        world.schedule(day)
    return campaign_table(campaign, world, seed, chunk, first), rounds
