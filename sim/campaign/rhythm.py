"""The rhythm of rounds: when the next round meets, fitted to the record of rounds.

The gap ``G`` (days from a round's last day to the next round's first) is a two-state
discrete-time survival model (Kalbfleisch & Prentice, *The Statistical Analysis of
Failure Time Data*, 2002, §2.4: discrete failure times):

- a threshold ``s`` (``min_gap_days``): no round meets sooner (convening delegations
  takes days). Its maximum-likelihood estimate is the shortest gap in the record, as
  for the two-parameter exponential's threshold (Lawless, *Statistical Models and
  Methods for Lifetime Data*, 2003, §3.5);
- from day ``s`` on, a constant daily chance that the next round meets, which
  depends on the state the last round left: ``p_agreed`` where it agreed a next round
  (in principle, or talks to continue: the bursts of the record) and ``p_none`` where
  it did not (the lulls). So ``G = s - 1 + W``, ``W`` geometric on 1, 2, ...

Each daily chance has a Beta(1, 1) prior (uniform, as the stage timing's) and a
conjugate Beta posterior: a gap of ``G`` days is ``G - s`` days without a round and one
with; the open gap at the record's end is right-censored and adds only its days
without (Klein & Moeschberger, *Survival Analysis*, 2003, ch. 3). Campaigns draw both
chances from their posteriors per replicate, as they draw the stage timing's.

``backtest_rhythm`` scores the model from the state after each observed round (fitted
to the gaps before it) against an exponential waiting time fitted to the same gaps.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import betaln

from sim.campaign.timing import BetaPosterior
from sim.errors import InputError
from sim.scenario.checks import date, read_toml, table

#: The formats that count as a round of the two sides (the chronology's codes).
ROUND_FORMATS = ("DIRECT", "HOSTED-DIRECT", "VIDEO", "MIRROR-SIGNING", "SHUTTLE")
#: Beta(a, b) prior of each daily chance: uniform.
PRIOR = (1, 1)
#: The two states, as named in the fitted file.
STATES = ("next_round_agreed", "no_next_round")
_SOURCE = re.compile(r"SA\d+(?:-note)?")
#: Days summed exactly when scoring a gap by CRPS (beyond it, the tail in closed form).
_CRPS_DAYS = 200_000


@dataclass(frozen=True)
class Round:
    """A round of the record: its first and last day, and whether it left a next round
    agreed."""

    date: dt.date
    end: dt.date
    event: str
    format: str
    what: str
    sources: tuple[str, ...]
    next_round: bool
    next_round_sources: tuple[str, ...]


@dataclass(frozen=True)
class LeftOut:
    date: dt.date
    event: str
    why: str


@dataclass(frozen=True)
class MeetingRecord:
    rounds: tuple[Round, ...]
    left_out: tuple[LeftOut, ...]
    cutoff: dt.date
    sha256: str
    path: str


@dataclass(frozen=True)
class Gap:
    """From a round's last day (``start``) to the next round's date, ``days`` later; or,
    ``open``, to the record's cut-off with no round yet (right-censored)."""

    start: dt.date
    event: str
    days: int
    open: bool
    agreed: bool  # the round before it left a next round agreed


@dataclass(frozen=True)
class Rhythm:
    """The fitted rhythm: the threshold and the two states' daily chances."""

    min_gap_days: int
    agreed: BetaPosterior  # daily chance after a round that agreed a next round
    none: BetaPosterior  # daily chance after one that did not
    sha256: str | None = None  # of the rhythm file it was read from (None: fitted here)

    def posterior(self, agreed: bool) -> BetaPosterior:
        return self.agreed if agreed else self.none


# ---------------------------------------------------------------- the record
def _keys(path: Path, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(
            isinstance(v, str) and _SOURCE.fullmatch(v) for v in value):
        raise InputError(path, key, "must be a non-empty list of source keys, e.g. "
                         "[\"SA3\", \"SA12\"]")
    if len(set(value)) != len(value):
        raise InputError(path, key, "names a source twice")
    return tuple(value)


def _text(path: Path, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(path, key, "must be a non-empty string")
    return value


def _round(path: Path, key: str, entry: Any) -> Round:
    t = table(path, key, entry, ("date", "end", "event", "format", "what", "sources",
                                 "next_round", "next_round_sources"),
              ("date", "event", "format", "what", "sources", "next_round",
               "next_round_sources"))
    start = date(path, f"{key}.date", t["date"])
    end = date(path, f"{key}.end", t.get("end", start))
    if end < start:
        raise InputError(path, f"{key}.end", f"{end} is before the round's date {start}")
    if t["format"] not in ROUND_FORMATS:
        raise InputError(path, f"{key}.format", f"{t['format']!r} is not a format that "
                         "counts as a round. Allowed: " + ", ".join(ROUND_FORMATS))
    if not isinstance(t["next_round"], bool):
        raise InputError(path, f"{key}.next_round", "must be true (the round left a next "
                         "round agreed) or false")
    return Round(start, end, _text(path, f"{key}.event", t["event"]), t["format"],
                 _text(path, f"{key}.what", t["what"]),
                 _keys(path, f"{key}.sources", t["sources"]), t["next_round"],
                 _keys(path, f"{key}.next_round_sources", t["next_round_sources"]))


def load_meetings(path: str | Path) -> MeetingRecord:
    """Read and check the record of rounds (``calibration/meetings.toml``): rounds in
    date order, none beginning before the one above ends, none after the cut-off."""
    path = Path(path)
    data, digest = read_toml(path)
    top = table(path, "", data, ("cutoff", "rounds", "left_out"), ("cutoff", "rounds"))
    cutoff = date(path, "cutoff", top["cutoff"])
    entries = top["rounds"]
    if not isinstance(entries, list) or not entries:
        raise InputError(path, "rounds", "needs at least one [[rounds]] table")
    rounds = tuple(_round(path, f"rounds[{i}]", e) for i, e in enumerate(entries))
    for i in range(1, len(rounds)):
        if rounds[i].date <= rounds[i - 1].end:
            raise InputError(path, f"rounds[{i}].date", f"{rounds[i].date} is not after the "
                             f"round above it ends ({rounds[i - 1].end}): list rounds in date "
                             "order, one after another")
    if rounds[-1].end > cutoff:
        raise InputError(path, f"rounds[{len(rounds) - 1}].end", f"{rounds[-1].end} is after "
                         f"the record's cutoff {cutoff}")
    left = top.get("left_out", [])
    if not isinstance(left, list):
        raise InputError(path, "left_out", "must be an array of tables ([[left_out]])")
    left_out = []
    for i, entry in enumerate(left):
        t = table(path, f"left_out[{i}]", entry, ("date", "event", "why"),
                  ("date", "event", "why"))
        left_out.append(LeftOut(date(path, f"left_out[{i}].date", t["date"]),
                                _text(path, f"left_out[{i}].event", t["event"]),
                                _text(path, f"left_out[{i}].why", t["why"])))
    return MeetingRecord(rounds, tuple(left_out), cutoff, digest, str(path))


def record_gaps(record: MeetingRecord) -> tuple[Gap, ...]:
    """Every gap after a round: to the next round, and the last one open to the cut-off."""
    gaps = []
    for here, following in zip(record.rounds, record.rounds[1:] + (None,), strict=True):
        if following is None:
            gaps.append(Gap(here.end, here.event, (record.cutoff - here.end).days, True,
                            here.next_round))
        else:
            gaps.append(Gap(here.end, here.event, (following.date - here.end).days, False,
                            here.next_round))
    return tuple(gaps)


# ---------------------------------------------------------------- the fit
@dataclass(frozen=True)
class StateCount:
    """What the gaps of one state say about its daily chance."""

    gaps: int  # completed gaps (a round met on the last day)
    open: int  # open gaps (no round by the cut-off)
    quiet_days: int  # days at risk without a round


def threshold(gaps: tuple[Gap, ...] | list[Gap]) -> int:
    """The maximum-likelihood threshold: the shortest completed gap (1 with none)."""
    done = [g.days for g in gaps if not g.open]
    return min(done) if done else 1


def count_state(gaps, agreed: bool, min_gap: int) -> StateCount:
    """Completed gaps of the state, and its days at risk without a round: ``G - s`` for
    a completed gap, ``c - s + 1`` (at least 0) for one open after ``c`` days."""
    mine = [g for g in gaps if g.agreed == agreed]
    quiet = sum(g.days - min_gap for g in mine if not g.open)
    quiet += sum(max(0, g.days - min_gap + 1) for g in mine if g.open)
    return StateCount(sum(not g.open for g in mine), sum(g.open for g in mine), quiet)


def fit_rhythm(gaps) -> Rhythm:
    """The threshold and both states' Beta posteriors from the gaps."""
    s = threshold(gaps)
    posts = []
    for agreed in (True, False):
        c = count_state(gaps, agreed, s)
        posts.append(BetaPosterior(PRIOR[0] + c.gaps, PRIOR[1] + c.quiet_days))
    return Rhythm(s, posts[0], posts[1])


def mean_gap(post: BetaPosterior, min_gap: int) -> float:
    """The posterior predictive mean gap: ``s - 1 + E[1/p] = s - 1 + (a+b-1)/(a-1)``
    (infinite for a <= 1)."""
    return math.inf if post.a <= 1 else min_gap - 1 + (post.a + post.b - 1) / (post.a - 1)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def rhythm_document(record: MeetingRecord, record_file: str) -> dict:
    """The fitted file's content (``calibration/rhythm.json``): the fit, what it rests
    on, and every gap."""
    gaps = record_gaps(record)
    fitted = fit_rhythm(gaps)
    states = {}
    for name, agreed in zip(STATES, (True, False), strict=True):
        c = count_state(gaps, agreed, fitted.min_gap_days)
        post = fitted.posterior(agreed)
        states[name] = {"gaps": c.gaps, "open": c.open, "quiet_days": c.quiet_days,
                        "a": post.a, "b": post.b, "daily_chance_mean": post.mean,
                        # None: infinite (no gap of the state yet)
                        "mean_gap_days": _finite(mean_gap(post, fitted.min_gap_days))}
    return {
        "model": "two-state discrete-time hazard with a threshold (sim/campaign/rhythm.py)",
        "record": record_file, "record_sha256": record.sha256,
        "cutoff": str(record.cutoff), "prior": {"a": PRIOR[0], "b": PRIOR[1]},
        "min_gap_days": fitted.min_gap_days, "states": states,
        "gaps": [{"after": str(g.start), "event": g.event, "days": g.days, "open": g.open,
                  "next_round_agreed": g.agreed} for g in gaps],
    }


def dumps(document: dict) -> str:
    """JSON text as the committed files are written (sorted keys stay in order given)."""
    return json.dumps(document, indent=2, allow_nan=False) + "\n"


def read_rhythm(path: str | Path) -> Rhythm:
    """A fitted rhythm file, checked against the record it names (beside it): a file
    fitted to another version of the record is refused."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        doc = json.loads(text)
    except OSError as error:
        raise InputError(path, "", f"cannot read: {error.strerror or error}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(path, "", f"not a JSON file: {error}") from None
    if not isinstance(doc, dict):
        raise InputError(path, "", "must be a JSON object (negsim campaign --fit-rhythm)")
    for key in ("record", "record_sha256", "min_gap_days", "states"):
        if key not in doc:
            raise InputError(path, key, "is missing: write the file with negsim campaign "
                             "--fit-rhythm RECORD")
    record = path.parent / str(doc["record"])
    try:
        digest = hashlib.sha256(record.read_bytes()).hexdigest()
    except OSError:
        raise InputError(path, "record", f"{record} cannot be read: the rhythm names the "
                         "record it was fitted to") from None
    if digest != doc["record_sha256"]:
        raise InputError(path, "record_sha256", f"fitted to another version of {record}: "
                         f"refit with negsim campaign --fit-rhythm {record} --out {path}")
    s = doc["min_gap_days"]
    if not isinstance(s, int) or not 1 <= s <= 365:
        raise InputError(path, "min_gap_days", f"must be an integer in 1-365, got {s!r}")
    posts = []
    for name in STATES:
        state = doc["states"].get(name) if isinstance(doc["states"], dict) else None
        if not isinstance(state, dict) or not all(
                isinstance(state.get(k), int | float) and state[k] > 0 for k in ("a", "b")):
            raise InputError(path, f"states.{name}", "needs a > 0 and b > 0 (the Beta "
                             "posterior of its daily chance)")
        posts.append(BetaPosterior(state["a"], state["b"]))
    return Rhythm(s, posts[0], posts[1], hashlib.sha256(text.encode()).hexdigest())


# ---------------------------------------------------------------- predictive distributions
def survival(post: BetaPosterior, min_gap: int, days: np.ndarray) -> np.ndarray:
    """P(G > days) under the posterior predictive (a beta-geometric beyond the
    threshold): ``B(a, b + w) / B(a, b)`` with ``w = days - s + 1`` days at risk."""
    w = np.maximum(np.asarray(days, dtype=float) - min_gap + 1, 0)
    return np.exp(betaln(post.a, post.b + w) - betaln(post.a, post.b))


def probability(post: BetaPosterior, min_gap: int, days: int) -> float:
    """P(G = days)."""
    return float(survival(post, min_gap, days - 1) - survival(post, min_gap, days))


def exponential_survival(rate: float, days: np.ndarray) -> np.ndarray:
    """P(G > days) for an exponential waiting time read on whole days."""
    return np.exp(-rate * np.asarray(days, dtype=float))


def crps_days(survive, tail, days: int) -> float:
    """The CRPS of an integer gap, ``sum_k (F(k) - 1{days <= k})^2`` over k = 0, 1, ...
    (the ranked probability score on days; Gneiting & Raftery 2007, §4.2), summed to
    ``_CRPS_DAYS`` exactly and beyond by ``tail(K, S(K))``."""
    k = np.arange(_CRPS_DAYS + 1)
    s = survive(k)
    below = k < days
    total = float(np.sum((1 - s[below]) ** 2) + np.sum(s[~below] ** 2))
    return total + tail(_CRPS_DAYS, float(s[-1]))


def crps_gap(post: BetaPosterior, min_gap: int, days: int) -> float:
    """The CRPS of a gap of ``days`` under the posterior predictive; its tail beyond
    ``K`` falls as ``k^-a``, so adds ``S(K)^2 K / (2a - 1)``."""
    def tail(k: int, s: float) -> float:
        return s ** 2 * k / (2 * post.a - 1) if post.a > 0.5 else math.inf
    return crps_days(lambda d: survival(post, min_gap, d), tail, days)


def crps_exponential_gap(rate: float, days: int) -> float:
    """The CRPS of a gap of ``days`` under the exponential read on whole days; its tail
    beyond ``K`` is geometric, ``S(K)^2 e^-2r / (1 - e^-2r)``."""
    def tail(k: int, s: float) -> float:
        return s ** 2 * math.exp(-2 * rate) / -math.expm1(-2 * rate)
    return crps_days(lambda d: exponential_survival(rate, d), tail, days)


# ---------------------------------------------------------------- the backtest
def backtest_rhythm(record: MeetingRecord) -> tuple[pd.DataFrame, dict]:
    """Rolling origin: after each round with a gap before it (the baseline needs one),
    fit both forecasters to the gaps before it and score the gap that followed; the open
    gap at the cut-off is scored as censored (P(G > c)), where it has a day.

    Forecasters: the model (its state after the round, its posterior predictive) and
    the baseline, an exponential waiting time with the maximum-likelihood rate (gaps /
    days) of the gaps so far. Scores: the log score ``-log P`` (lower is better), the
    CRPS on days (completed gaps), and the chance each gave to the next round meeting by
    the day it met."""
    gaps = record_gaps(record)
    rows = []
    for k, target in enumerate(gaps):
        known = list(gaps[:k])
        if not known or (target.open and target.days == 0):
            continue
        fitted = fit_rhythm(known)
        post, s = fitted.posterior(target.agreed), fitted.min_gap_days
        rate = len(known) / sum(g.days for g in known)
        g = target.days
        if target.open:
            model_p, base_p = survival(post, s, g), exponential_survival(rate, g)
            model_by = base_by = model_crps = base_crps = None
        else:
            model_p = probability(post, s, g)
            base_p = float(exponential_survival(rate, g - 1) - exponential_survival(rate, g))
            model_by = 1 - float(survival(post, s, g))
            base_by = 1 - float(exponential_survival(rate, g))
            model_crps, base_crps = crps_gap(post, s, g), crps_exponential_gap(rate, g)
        rows.append({
            "origin": target.start, "event": target.event,
            "state": STATES[0] if target.agreed else STATES[1],
            "gap_days": g, "open": target.open, "gaps_known": len(known),
            "min_gap_days": s, "model_a": post.a, "model_b": post.b,
            "model_mean_gap": mean_gap(post, s), "baseline_rate": rate,
            "baseline_mean_gap": 1 / rate,
            "model_p_by": model_by, "baseline_p_by": base_by,
            "model_log": -math.log(model_p) if model_p > 0 else math.inf,
            "baseline_log": -math.log(base_p) if base_p > 0 else math.inf,
            "model_crps": model_crps, "baseline_crps": base_crps,
        })
    table = pd.DataFrame(rows)
    return table, summarise_backtest(table)


def summarise_backtest(table: pd.DataFrame) -> dict:
    """Means over the origins scored (log: every one; CRPS and the chance by the day:
    completed gaps), and the model's skill against the baseline."""
    done = table[~table["open"]] if len(table) else table
    summary = {"origins": [f"{o} ({e})" for o, e in zip(table["origin"], table["event"],
                                                       strict=True)] if len(table) else [],
               "scored": len(table), "completed": len(done)}
    for name in ("model", "baseline"):
        summary[name] = {
            "log": float(table[f"{name}_log"].mean()) if len(table) else None,
            "crps": float(done[f"{name}_crps"].mean()) if len(done) else None,
            "p_by_mean": float(done[f"{name}_p_by"].mean()) if len(done) else None,
        }
    if len(table):
        summary["log_skill"] = summary["baseline"]["log"] - summary["model"]["log"]
        summary["model_better_log"] = int((table["model_log"] < table["baseline_log"]).sum())
    return summary
