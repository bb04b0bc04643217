"""How long agreed exchanges take: the stage timing, fitted to the record.

Two daily chances describe carrying out an exchange in stages:
- ``start``: that the first stage happens on a given day once lists are being
  prepared (the waiting time to the first stage is geometric);
- ``slip``: that a due later stage slips by a day (a dispute over lists, a side
  postponing).

Each has a Beta(1, 1) prior (uniform) and a conjugate Beta posterior from the record
(``calibration/implementation.toml``): a first stage ``d`` days after agreement is
``d - 1`` days without a start and one with; consecutive stages are days without a
slip. With one recorded exchange the posteriors stay wide, and campaigns draw both
chances from them per replicate (Gelman et al., *Bayesian Data Analysis*, ch. 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.errors import InputError
from sim.scenario.checks import date, read_toml


@dataclass(frozen=True)
class BetaPosterior:
    """A daily chance with a Beta(a, b) posterior: drawn afresh per campaign."""

    a: float
    b: float

    @property
    def mean(self) -> float:
        return self.a / (self.a + self.b)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.beta(self.a, self.b, n)


@dataclass(frozen=True)
class FixedChance:
    """A daily chance set by hand (a what-if, or a limiting case): the same everywhere."""

    mean: float

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.mean)


@dataclass(frozen=True)
class StageTiming:
    start: BetaPosterior | FixedChance  # daily chance the first stage happens
    slip: BetaPosterior | FixedChance  # daily chance a due later stage slips
    exchanges: int  # records fitted to
    record_sha256: str | None = None  # of the record file (None: no record)


def unfitted() -> StageTiming:
    """The priors alone (no record): for a campaign whose file fixes both chances."""
    return StageTiming(BetaPosterior(1, 1), BetaPosterior(1, 1), 0)


def fit_stage_timing(path: str | Path) -> StageTiming:
    """Beta posteriors of the two daily chances from the recorded exchanges."""
    path = Path(path)
    data, digest = read_toml(path)
    exchanges = data.get("exchange")
    if not isinstance(exchanges, list) or not exchanges:
        raise InputError(path, "exchange", "needs at least one [[exchange]] record")
    starts = waits = slips = steps = 0
    for i, record in enumerate(exchanges):
        key = f"exchange[{i}]"
        if not isinstance(record, dict) or "agreed" not in record or "stages" not in record:
            raise InputError(path, key, "needs agreed = DATE and stages = [DATE, ...]")
        agreed = date(path, f"{key}.agreed", record["agreed"])
        stages = [date(path, f"{key}.stages", d) for d in record["stages"]]
        if not stages or stages != sorted(stages) or stages[0] <= agreed:
            raise InputError(path, f"{key}.stages", "must be dates after the agreement, "
                             "in order")
        days = (stages[0] - agreed).days
        starts, waits = starts + 1, waits + days - 1
        for before, after in zip(stages, stages[1:], strict=False):
            gap = (after - before).days
            steps, slips = steps + 1, slips + gap - 1
    return StageTiming(BetaPosterior(1 + starts, 1 + waits),
                       BetaPosterior(1 + slips, 1 + steps), len(exchanges), digest)
