"""A campaign, day by day: exchanges carried out in stages, trust, whether and when the
next round meets, and the rounds themselves (the round engine).

One call simulates a chunk of campaigns in lock-step, each an independent world with
its own parameter draw (a posterior particle, kept for all its rounds). Every day:

1. **Implementation.** Each agreed exchange (prisoners, remains) is carried out in
   ``stages`` equal stages. The first comes after a geometric wait (daily chance
   ``start``); each later stage is due the next day and slips a day with chance
   ``slip`` (both drawn per campaign from their Beta posteriors, ``timing``).
2. **Trust.** A stage carried out raises every side's trust toward 1 by
   ``gain_per_stage`` of the way; a slip is one side's doing (chosen at random) and
   lowers the others' trust by ``loss_per_slip`` of theirs (reciprocity: Axelrod 1984;
   trust as a running record of the other's conduct, Kydd 2005).
3. **Rounds.** Campaigns with a round today run it with the round engine; trust moves
   each side's exchange willingness (``willingness_per_trust`` × change since the
   start) and patience (× ``1 + patience_per_trust`` × change). Agreed exchanges join
   the queue; a next round agreed at the table is scheduled ``lead_days`` later.
4. **Scheduling.** Otherwise, once ``min_gap_days`` have passed, each side that has
   not yet agreed to meet weighs it: value ``value × trust`` (what it expects to gain,
   nothing if it trusts nothing) plus the mediator's push, less its cost, with a
   logistic taste shock (random utility: McFadden 1974) — ``sigmoid(U / noise)`` is
   its chance of agreeing within a week. When all have agreed, the round meets
   ``lead_days`` later (not before a date already proposed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.batch.chunks import chunk_rng
from sim.campaign.spec import Campaign
from sim.model.parameters import realise
from sim.model.round import NegotiationRound

EXCHANGES = {"pow_exchange": "pow_exchange_value", "remains": "remains_value"}
MAX_ROUNDS = 8  # round dates kept per campaign (later rounds are counted, not dated)
NEVER = np.iinfo(np.int64).max


@dataclass
class CampaignTally:
    """What a campaign report needs, summable over chunks (exact)."""

    days: int
    campaigns: int = 0
    rounds_held: dict[int, int] = field(default_factory=dict)
    round_day: list[dict[int, int]] = field(default_factory=list)  # per round k: day -> n
    ceasefire_by_day: np.ndarray | None = None  # cumulative counts
    leaders_by_day: np.ndarray | None = None
    implemented: dict[str, list[dict[int, int]]] = field(default_factory=dict)  # day -> value

    def add(self, other: CampaignTally) -> None:
        self.campaigns += other.campaigns
        for k, v in other.rounds_held.items():
            self.rounds_held[k] = self.rounds_held.get(k, 0) + v
        while len(self.round_day) < len(other.round_day):
            self.round_day.append({})
        for mine, theirs in zip(self.round_day, other.round_day, strict=False):
            for d, v in theirs.items():
                mine[d] = mine.get(d, 0) + v
        for name in ("ceasefire_by_day", "leaders_by_day"):
            theirs = getattr(other, name)
            mine = getattr(self, name)
            setattr(self, name, theirs.copy() if mine is None else mine + theirs)
        for issue, per_day in other.implemented.items():
            mine = self.implemented.setdefault(issue, [{} for _ in range(self.days)])
            for day, counts in enumerate(per_day):
                for value, v in counts.items():
                    mine[day][value] = mine[day].get(value, 0) + v


def _counts(values: np.ndarray) -> dict[int, int]:
    keys, counts = np.unique(values, return_counts=True)
    return {int(k): int(c) for k, c in zip(keys, counts, strict=True)}


class _World:
    """The state of ``n`` campaigns."""

    def __init__(self, campaign: Campaign, n: int, rng: np.random.Generator) -> None:
        self.c, self.n, self.rng = campaign, n, rng
        scenario = campaign.round_scenario
        self.parties = tuple(p.key for p in scenario.parties)
        self.start_chance = campaign.timing.start.draw(rng, n)
        self.slip_chance = campaign.timing.slip.draw(rng, n)
        self.trust = np.stack([rng.uniform(lo, hi, n) for lo, hi in campaign.trust], axis=1)
        self.trust0 = self.trust.copy()
        self.draw_id, self.base = self._parameters(scenario)
        self.pending, self.stages_left, self.due, self.first_due = {}, {}, {}, {}
        self.agreed, self.done = {}, {}
        for issue, span in (("pow_exchange", campaign.pow_pending),
                            ("remains", campaign.remains_pending)):
            amount = np.floor(rng.uniform(span[0], span[1], n))
            self.agreed[issue] = amount.copy()
            self.done[issue] = np.zeros(n)
            self.pending[issue] = np.zeros(n)
            self.stages_left[issue] = np.zeros(n, dtype=np.int64)
            self.due[issue] = np.full(n, NEVER)
            self.first_due[issue] = np.zeros(n, dtype=bool)
            self._queue(issue, np.arange(n), amount, day=0)
        self.willing = np.zeros((n, len(self.parties)), dtype=bool)
        self.proposed = np.full(n, -1)
        if campaign.round_proposed is not None:
            self.proposed[:] = (campaign.round_proposed - campaign.start).days
            self.willing[:, self.parties.index(campaign.proposed_by)] = True
        self.scheduled = np.full(n, -1)
        self.last_round = np.full(n, -10**6)
        self.rounds = np.zeros(n, dtype=np.int64)
        self.round_days = np.full((n, MAX_ROUNDS), -1)
        self.ceasefire_day = np.full(n, -1)
        self.ceasefire_level = np.zeros(n, dtype=np.int64)
        self.leaders_day = np.full(n, -1)
        self.walkouts = np.zeros(n, dtype=np.int64)

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
        for issue in EXCHANGES:
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

    def meet(self, day: int) -> pd.DataFrame | None:
        rows = np.flatnonzero(self.scheduled == day)
        if not rows.size:
            return None
        setup = realise(self.c.round_scenario, rows.size, self.rng,
                        values=self._round_values(rows), compiled=True)
        out = pd.DataFrame(NegotiationRound(setup, compiled=True).run().outcomes())
        k = self.rounds[rows]
        dated = k < MAX_ROUNDS
        self.round_days[rows[dated], k[dated]] = day
        self.rounds[rows] += 1
        self.last_round[rows] = day
        for issue, column in EXCHANGES.items():
            amount = np.nan_to_num(out[column].to_numpy(dtype=float))
            self.agreed[issue][rows] += amount
            self._queue(issue, rows, amount, day)
        level = out["ceasefire_level"].to_numpy()
        first = (level >= 1) & (self.ceasefire_day[rows] < 0)
        self.ceasefire_day[rows[first]] = day
        self.ceasefire_level[rows] = np.maximum(self.ceasefire_level[rows], level)
        leaders = (np.nan_to_num(out["leaders_meeting_value"].to_numpy(dtype=float)) >= 1) & (
            self.leaders_day[rows] < 0)
        self.leaders_day[rows[leaders]] = day
        self.walkouts[rows] += out["walkout"].to_numpy()
        again = np.nan_to_num(out["next_round_value"].to_numpy(dtype=float)) >= 1
        self.scheduled[rows] = np.where(again, day + self._lead(rows.size), -1)
        self.willing[rows] = False
        self.proposed[rows] = -1
        return out

    def _lead(self, size: int) -> np.ndarray:
        low, high = self.c.lead_days
        return self.rng.integers(low, high + 1, size)

    def schedule(self, day: int) -> None:
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
                   keep_rounds: bool = False) -> tuple[pd.DataFrame, CampaignTally, list]:
    """``count`` campaigns (run ids ``first``...) from chunk ``chunk``'s generator:
    one row per campaign, the chunk's tally, and (if asked) every round's outcomes."""
    rng = chunk_rng(seed, chunk)
    world = _World(campaign, count, rng)
    days = campaign.days
    tally = CampaignTally(days=days, campaigns=count)
    implemented = {issue: np.zeros((count, days), dtype=np.int64) for issue in EXCHANGES}
    rounds = []
    for day in range(days):
        world.implement(day)
        held = world.meet(day)
        if held is not None and keep_rounds:
            rounds.append(held.assign(day=day))
        world.schedule(day)
        for issue in EXCHANGES:
            implemented[issue][:, day] = world.done[issue]
    tally.rounds_held = _counts(world.rounds)
    tally.round_day = [_counts(world.round_days[world.round_days[:, k] >= 0, k])
                       for k in range(MAX_ROUNDS)]
    day_index = np.arange(days)
    for name, when in (("ceasefire_by_day", world.ceasefire_day),
                       ("leaders_by_day", world.leaders_day)):
        hit = when >= 0
        setattr(tally, name, (when[hit][:, None] <= day_index[None, :]).sum(axis=0))
    tally.implemented = {issue: [_counts(implemented[issue][:, d]) for d in range(days)]
                         for issue in EXCHANGES}
    return _rows(campaign, world, seed, chunk, first), tally, rounds


def _rows(campaign: Campaign, world: _World, seed: int, chunk: int, first: int) -> pd.DataFrame:
    n = world.n
    start = np.datetime64(campaign.start)

    def dates(days: np.ndarray) -> np.ndarray:
        return np.where(days >= 0, start + days.astype("timedelta64[D]"),
                        np.datetime64("NaT", "D"))

    frame = pd.DataFrame({
        "run_id": np.arange(first, first + n, dtype=np.int64),
        "seed": np.int64(seed), "chunk": np.int64(chunk), "draw_id": world.draw_id,
        "rounds_held": world.rounds,
    })
    for k in range(MAX_ROUNDS):
        frame[f"round_{k + 1}_date"] = dates(world.round_days[:, k])
    for issue in EXCHANGES:
        frame[f"{issue}_agreed"] = world.agreed[issue].astype(np.int64)
        frame[f"{issue}_implemented"] = world.done[issue].astype(np.int64)
    frame["ceasefire_date"] = dates(world.ceasefire_day)
    frame["ceasefire_level"] = world.ceasefire_level
    frame["leaders_meeting_date"] = dates(world.leaders_day)
    frame["walkouts"] = world.walkouts
    for p, party in enumerate(world.parties):
        frame[f"trust_{party}"] = world.trust[:, p]
    return frame
