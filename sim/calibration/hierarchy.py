"""The hierarchical prior of the track record: party parameters shared across rounds
with period deviations, and mediator parameters per mediator.

Why this shape. The ten represented rounds of 2022-2025 (``calibration/track-record.toml``)
fall into two periods that differ in delegations, battlefield and mediators (Medinsky's
delegation at Belarus and Istanbul in 2022; the US track and the Istanbul rounds of
2025). A delegation's bargaining style (how it concedes, how long it sits, how far it
goes on exchanges) is partly the country's and partly the period's, so each party
parameter is

    x(round) = F^-1( sigmoid( z_shared + delta_period(round) ) )

where ``F`` maps the parameter onto [0, 1] on its prior's own scale (linear for a
uniform or a beta prior, logarithmic for a log-uniform one), ``z_shared`` is the
logit of that place (its prior the shared prior, carried over) and ``delta_period ~
Normal(0, tau)`` is the period's deviation on the logit scale: the non-centred
parameterisation of a hierarchical model (Papaspiliopoulos, Roberts & Skold 2007).

The scale ``tau`` is fixed and argued per key (``period_scale`` in
``calibration/track-priors.toml``), not fitted: with two periods a group-level scale
cannot be learnt from the data (Gelman 2006, "Prior distributions for variance
parameters in hierarchical models": with few groups the scale's posterior is its
prior), so it is stated instead. At the prior's centre a deviation of one ``tau``
moves a value by ``tau / 4`` of its support.

Mediator parameters (pressure, credibility) are one set per mediator (Belarus as
host, Turkey, the UN with Turkey, the United States), shared by the rounds it
mediated and independent across mediators: the mediators differ in kind, not by a
deviation from a common one. A new round draws its party values at its period and
its mediator's parameters (``values_for``); a period or mediator the data have not
seen keeps its prior, which is what the backtest's first rounds forecast from.

A particle is one row: for each party key its shared value (in the key's units),
then its deviation in each period (logit units); then each mediator's parameters (in
their units). Columns are named ``shared:KEY``, ``PERIOD:KEY`` and ``MEDIATOR:KEY``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats

from sim.calibration.evidence import scaled_support

SHARED = "shared"


@dataclass(frozen=True)
class Marginal:
    """One bounded prior: ``uniform``, ``loguniform`` or ``beta(a, b)`` on ``[low,
    high]``; ``bounds`` is the key's allowed range (the scenario's), which a scaled
    prior stays inside."""

    key: str
    kind: str
    low: float
    high: float
    a: float
    b: float
    why: str
    bounds: tuple[float, float]

    def to_unit(self, x: np.ndarray) -> np.ndarray:
        """The place of ``x`` in the support, on the prior's own scale."""
        if self.kind == "loguniform":
            return np.log(x / self.low) / np.log(self.high / self.low)
        return (x - self.low) / (self.high - self.low)

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        if self.kind == "loguniform":
            return self.low * np.exp(u * np.log(self.high / self.low))
        return self.low + (self.high - self.low) * u

    def unit_density(self, u: np.ndarray) -> np.ndarray:
        """The prior density of the place ``u`` (1 for uniform and log-uniform)."""
        if self.kind == "beta":
            return stats.beta.pdf(u, self.a, self.b)
        return np.ones_like(u)

    def sample_unit(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if self.kind == "beta":
            return rng.beta(self.a, self.b, n)
        return rng.uniform(0.0, 1.0, n)

    def scaled(self, factor: float) -> Marginal:
        """The support widened (``factor`` > 1) or narrowed around its centre, within
        the key's allowed range (``sim.calibration.evidence.scaled_support``)."""
        low, high = scaled_support(self.kind, self.low, self.high, factor, self.bounds)
        return Marginal(self.key, self.kind, low, high, self.a, self.b, self.why,
                        self.bounds)


@dataclass(frozen=True)
class HierarchicalPrior:
    """The prior over a particle (see the module docstring); ``keys`` names its
    columns. It has what ``abc_smc`` and ``checks.identifiability`` ask of a prior:
    ``sample``, ``to_free``, ``from_free``, ``free_density``, ``moments``, ``keys``."""

    party: tuple[Marginal, ...]  # the shared party keys
    period_scale: tuple[float, ...]  # tau of each party key (logit units)
    scale_why: tuple[str, ...]
    periods: tuple[str, ...]
    mediators: tuple[tuple[str, tuple[Marginal, ...]], ...]
    period_of: Mapping[str, str]  # round key -> period
    mediator_of: Mapping[str, str]  # round key -> mediator
    why: Mapping[str, str]  # period or mediator -> why it is a group

    @property
    def keys(self) -> tuple[str, ...]:
        names = []
        for m in self.party:
            names += [f"{SHARED}:{m.key}"] + [f"{p}:{m.key}" for p in self.periods]
        for name, marginals in self.mediators:
            names += [f"{name}:{m.key}" for m in marginals]
        return tuple(names)

    def _layout(self) -> list[tuple[str, Marginal | None, float]]:
        """Each column: its kind ('bounded' or 'deviation'), its marginal (None for a
        deviation) and its deviation scale (0 for a bounded column)."""
        layout: list[tuple[str, Marginal | None, float]] = []
        for m, tau in zip(self.party, self.period_scale, strict=True):
            layout.append(("bounded", m, 0.0))
            layout += [("deviation", None, tau)] * len(self.periods)
        for _, marginals in self.mediators:
            layout += [("bounded", m, 0.0) for m in marginals]
        return layout

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``(n, columns)`` draws, one column at a time in order."""
        layout = self._layout()
        out = np.empty((n, len(layout)))
        for j, (kind, m, tau) in enumerate(layout):
            out[:, j] = (m.from_unit(m.sample_unit(n, rng)) if kind == "bounded"
                         else rng.normal(0.0, tau, n))
        return out

    def to_free(self, theta: np.ndarray) -> np.ndarray:
        """Unbounded coordinates: the logit of a bounded column's place in its support
        (on its prior's scale); a deviation as it is."""
        z = np.array(theta, dtype=float)
        for j, (kind, m, _) in enumerate(self._layout()):
            if kind == "bounded":
                u = np.clip(m.to_unit(theta[:, j]), 1e-12, 1 - 1e-12)
                z[:, j] = np.log(u) - np.log1p(-u)
        return z

    def from_free(self, z: np.ndarray) -> np.ndarray:
        theta = np.array(z, dtype=float)
        for j, (kind, m, _) in enumerate(self._layout()):
            if kind == "bounded":
                theta[:, j] = m.from_unit(_sigmoid(z[:, j]))
        return theta

    def free_density(self, z: np.ndarray) -> np.ndarray:
        """The prior density in the unbounded coordinates (with the Jacobian of the
        logit: the place's density times ``u (1 - u)``)."""
        density = np.ones(z.shape[0])
        for j, (kind, m, tau) in enumerate(self._layout()):
            if kind == "bounded":
                u = _sigmoid(z[:, j])
                density *= m.unit_density(u) * u * (1 - u)
            else:
                density *= stats.norm.pdf(z[:, j], 0.0, tau)
        return density

    def moments(self, draws: int = 200_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of each column under the prior."""
        sample = self.sample(draws, np.random.default_rng(seed))
        return sample.mean(axis=0), sample.std(axis=0)

    # ------------------------------------------------------------------ a round's values
    def scenario_keys(self, mediator: str) -> tuple[str, ...]:
        """The scenario keys a round mediated by ``mediator`` takes from a particle."""
        return tuple(m.key for m in self.party) + tuple(
            m.key for m in dict(self.mediators)[mediator])

    def values_for(self, theta: np.ndarray, period: str, mediator: str
                   ) -> dict[str, np.ndarray]:
        """Each particle's scenario values for a round of ``period`` mediated by
        ``mediator``: the party keys at that period, the mediator's own keys."""
        columns = {name: j for j, name in enumerate(self.keys)}
        values = {}
        for m in self.party:
            z = _logit(np.clip(m.to_unit(theta[:, columns[f"{SHARED}:{m.key}"]]),
                               1e-12, 1 - 1e-12))
            values[m.key] = m.from_unit(_sigmoid(z + theta[:, columns[f"{period}:{m.key}"]]))
        for m in dict(self.mediators)[mediator]:
            values[m.key] = theta[:, columns[f"{mediator}:{m.key}"]]
        return values

    def round_values(self, theta: np.ndarray, round_key: str) -> dict[str, np.ndarray]:
        """``values_for`` the period and mediator of a round of the record."""
        return self.values_for(theta, self.period_of[round_key], self.mediator_of[round_key])

    def groups(self) -> tuple[tuple[str, str], ...]:
        """Every (period, mediator) pair of the record's rounds, in round order."""
        return tuple(dict.fromkeys((self.period_of[r], self.mediator_of[r])
                                   for r in self.period_of))

    def scaled(self, factor: float) -> HierarchicalPrior:
        """Every prior widened (``factor`` > 1) or narrowed around its centre, within
        its key's bounds (``Marginal.scaled``); every period scale times ``factor``."""
        return HierarchicalPrior(
            tuple(m.scaled(factor) for m in self.party),
            tuple(tau * factor for tau in self.period_scale), self.scale_why, self.periods,
            tuple((name, tuple(m.scaled(factor) for m in ms)) for name, ms in self.mediators),
            self.period_of, self.mediator_of, self.why)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _logit(u: np.ndarray) -> np.ndarray:
    return np.log(u) - np.log1p(-u)

