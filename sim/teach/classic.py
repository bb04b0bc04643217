"""Classic two-party bargaining protocols, played by the engine's own rules.

These are the limiting cases the round engine is held to (STYLE.md) and the
textbook dynamics the tutorial shows: Rubinstein's alternating offers and Zeuthen's
concession rule. Both split a pie of size 1; party 1's share is returned. Each
responder uses ``rules.accepts`` (accept what clears its aspiration), so the
protocols exercise the same acceptance rule as the round.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model import rules


@dataclass(frozen=True)
class Settlement:
    share: np.ndarray  # party 1's share of the pie
    period: np.ndarray  # the period (1-based) in which it was accepted


def proposer_shares(d1: np.ndarray, d2: np.ndarray, horizon: int) -> np.ndarray:
    """Backward induction of alternating offers over ``horizon`` periods; party 1
    proposes in odd periods. Returns, for each period ``k`` (axis 0), the share the
    proposer of period ``k`` keeps in the subgame perfect equilibrium: in the last
    period the proposer keeps everything; before, it offers the responder exactly the
    discounted value of proposing next (Ståhl 1972; Rubinstein 1982)."""
    d1, d2 = np.broadcast_arrays(np.asarray(d1, float), np.asarray(d2, float))
    shares = np.empty((horizon,) + d1.shape)
    shares[-1] = 1.0
    for k in range(horizon - 2, -1, -1):
        responder_discount = d2 if k % 2 == 0 else d1  # period k+1 is odd for k even
        shares[k] = 1.0 - responder_discount * shares[k + 1]
    return shares


def alternating_offers(d1, d2, horizon: int) -> Settlement:
    """Play Rubinstein's alternating-offers game for ``horizon`` periods.

    Each period the proposer offers the responder its continuation value (what it
    would keep as next proposer, discounted by one period); the responder accepts an
    offer that clears that aspiration. In equilibrium the first offer is accepted,
    and party 1's share is ``(1 - (-d)^T) / (1 + d)`` for equal discount factors and
    ``(1 - d2) / (1 - d1 d2)`` as ``T`` grows (STYLE.md's closed forms).
    """
    keep = proposer_shares(d1, d2, horizon)
    share = np.full(keep.shape[1:], np.nan)
    period = np.zeros(keep.shape[1:], dtype=np.int64)
    d1, d2 = np.broadcast_arrays(np.asarray(d1, float), np.asarray(d2, float))
    for k in range(horizon):
        open_ = period == 0
        party_1_proposes = k % 2 == 0
        offered = 1.0 - keep[k]  # to the responder
        continuation = (d2 if party_1_proposes else d1) * (
            keep[k + 1] if k + 1 < horizon else 0.0)
        taken = open_ & rules.accepts(offered, continuation, np.zeros_like(offered),
                                      np.ones_like(offered), np.zeros_like(offered))
        share = np.where(taken, keep[k] if party_1_proposes else offered, share)
        period = np.where(taken, k + 1, period)
    return Settlement(share, period)


def zeuthen(d1: float, d2: float, step: float = 1e-4, max_rounds: int = 1_000_000):
    """Zeuthen's concession rule on a linear pie with disagreement payoffs d1, d2.

    Each side holds an offer; the side whose *risk limit* (the share of its own
    demand it would lose by giving in, ``(u(own) - u(other's offer)) / (u(own) - d)``)
    is smaller concedes, by ``step``, until the offers cross (Zeuthen 1930; Harsanyi
    1956 showed the rule converges to the Nash bargaining point ``d1 + (1 - d1 - d2)/2``).
    Returns party 1's share.
    """
    demand_1, demand_2 = 1.0 - d2, d1  # party 1's own demand; party 2's offer to it
    for _ in range(max_rounds):
        if demand_1 <= demand_2:
            return 0.5 * (demand_1 + demand_2)
        risk_1 = (demand_1 - demand_2) / (demand_1 - d1)
        risk_2 = ((1 - demand_2) - (1 - demand_1)) / ((1 - demand_2) - d2)
        if risk_1 <= risk_2:
            demand_1 -= step
        else:
            demand_2 += step
    raise RuntimeError("Zeuthen's process did not converge")
