"""``calibration/track-priors.toml`` read and checked against the track record.

```toml
[periods.2022]                       # a period: its rounds, and why they belong together
rounds = ["a01", "a02", ...]
why = "..."

[mediators.turkey]                   # a mediator: its rounds, and its own parameters
rounds = ["a04", "a06", "a22", "a23"]
why = "..."
[mediators.turkey.parameters."mediator.pressure"]
distribution = "uniform"             # uniform | loguniform | beta (with a, b)
low = 0.0
high = 0.6
why = "..."

[shared."parties.russia.concession"] # a party key: shared, with a deviation per period
distribution = "loguniform"
low = 0.2
high = 3.0
period_scale = 0.5                   # tau of the period deviations, logit units
why = "..."
scale_why = "..."
```

Every round of the record is in exactly one period and one mediator; every key is a
parameter of each scenario it applies to (the party keys: every round's; a mediator's:
its rounds'), its support inside the key's allowed range. Every problem is an
``InputError`` naming the file, the key and what is allowed.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from sim.calibration.evidence import DISTRIBUTIONS
from sim.calibration.hierarchy import SHARED, HierarchicalPrior, Marginal
from sim.calibration.track_record import TrackRecord
from sim.errors import InputError
from sim.scenario.checks import number, read_toml, table
from sim.scenario.spec import Scenario


def load_track_priors(path: str | Path, record: TrackRecord) -> tuple[HierarchicalPrior, str]:
    """The hierarchical prior of ``record`` and the file's sha256."""
    path = Path(path)
    data, digest = read_toml(path)
    top = table(path, "", data, ("periods", "mediators", "shared"),
                ("periods", "mediators", "shared"))
    rounds = {r.key: r for r in record.rounds}
    period_of = _groups(path, "periods", top["periods"], rounds)
    mediator_of = _groups(path, "mediators", top["mediators"], rounds)
    twice = set(period_of.values()) & set(mediator_of.values())
    if SHARED in set(period_of.values()) | set(mediator_of.values()) or twice:
        name = SHARED if not twice else sorted(twice)[0]
        raise InputError(path, f"periods.{name}", f"the name {name!r} is taken: a period, a "
                         f"mediator and '{SHARED}' each need a name of their own")
    why = {name: _text(path, f"{group}.{name}.why", top[group][name].get("why"))
           for group in ("periods", "mediators") for name in top[group]}
    shared = top["shared"]
    if not isinstance(shared, dict) or not shared:
        raise InputError(path, "shared", 'needs at least one [shared."KEY"] table')
    scenarios = tuple(r.scenario for r in record.rounds)
    party, scales, scale_whys = [], [], []
    for key, body in shared.items():
        at = f'shared."{key}"'
        t = table(path, at, body, ("distribution", "low", "high", "a", "b", "why",
                                   "period_scale", "scale_why"),
                  ("distribution", "low", "high", "why", "period_scale", "scale_why"))
        party.append(_marginal(path, at, key, t, scenarios))
        scales.append(number(path, f"{at}.period_scale", t["period_scale"], 0.0))
        if scales[-1] <= 0:
            raise InputError(path, f"{at}.period_scale", "must be > 0 (a period deviation's "
                             "standard deviation on the logit scale)")
        scale_whys.append(_text(path, f"{at}.scale_why", t["scale_why"]))
    mediators = []
    for name, body in top["mediators"].items():
        at = f"mediators.{name}.parameters"
        params = body.get("parameters")
        if not isinstance(params, dict) or not params:
            raise InputError(path, at, f'needs at least one [{at}."KEY"] table')
        theirs = tuple(r.scenario for r in record.rounds if mediator_of[r.key] == name)
        marginals = []
        for key, spec in params.items():
            if key in shared:
                raise InputError(path, f'{at}."{key}"', "is a shared party key too: a key "
                                 "is shared or a mediator's, not both")
            t = table(path, f'{at}."{key}"', spec, ("distribution", "low", "high", "a", "b",
                                                   "why"),
                      ("distribution", "low", "high", "why"))
            marginals.append(_marginal(path, f'{at}."{key}"', key, t, theirs))
        mediators.append((name, tuple(marginals)))
    periods = tuple(dict.fromkeys(period_of[r.key] for r in record.rounds))
    prior = HierarchicalPrior(tuple(party), tuple(scales), tuple(scale_whys), periods,
                              tuple(mediators), period_of, mediator_of, why)
    return prior, digest


def _groups(path: Path, name: str, value: Any, rounds: dict) -> dict[str, str]:
    """``round key -> group`` from ``[NAME.GROUP] rounds = [...]``: every round of the
    record in exactly one group, in the record's order."""
    if not isinstance(value, dict) or not value:
        raise InputError(path, name, f"needs at least one [{name}.NAME] table")
    allowed = ("rounds", "why", "parameters") if name == "mediators" else ("rounds", "why")
    member: dict[str, str] = {}
    for group, body in value.items():
        at = f"{name}.{group}"
        t = table(path, at, body, allowed, allowed)
        listed = t["rounds"]
        if not isinstance(listed, list) or not listed or not all(
                isinstance(r, str) for r in listed):
            raise InputError(path, f"{at}.rounds", "must be a non-empty list of round keys "
                             "of the track record")
        for k, key in enumerate(listed):
            if key not in rounds:
                close = difflib.get_close_matches(key, list(rounds), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise InputError(path, f"{at}.rounds[{k}]", f"no round {key!r} in the track "
                                 f"record{hint}. Rounds: " + ", ".join(rounds))
            if key in member:
                raise InputError(path, f"{at}.rounds[{k}]", f"round {key} is already in "
                                 f"{name}.{member[key]}: each round is in one")
            member[key] = group
    missing = [key for key in rounds if key not in member]
    if missing:
        raise InputError(path, name, "every round of the track record must be in one: "
                         "missing " + ", ".join(missing))
    return {key: member[key] for key in rounds}


def _marginal(path: Path, at: str, key: str, t: dict, scenarios: tuple[Scenario, ...]
              ) -> Marginal:
    kind = t["distribution"]
    if kind not in DISTRIBUTIONS:
        raise InputError(path, f"{at}.distribution", f"{kind!r} is not allowed. Allowed: "
                         + ", ".join(DISTRIBUTIONS))
    low, high = number(path, f"{at}.low", t["low"]), number(path, f"{at}.high", t["high"])
    if not low < high:
        raise InputError(path, at, f"impossible support: low {low:g} must be < high {high:g}")
    if kind == "loguniform" and low <= 0:
        raise InputError(path, f"{at}.low", "a log-uniform prior needs low > 0")
    a, b = (number(path, f"{at}.{s}", t.get(s, 1.0)) for s in ("a", "b"))
    if kind == "beta" and (a <= 0 or b <= 0 or "a" not in t or "b" not in t):
        raise InputError(path, at, "a beta prior needs a > 0 and b > 0")
    if kind != "beta" and ("a" in t or "b" in t):
        raise InputError(path, f"{at}.{'a' if 'a' in t else 'b'}", "only a beta prior has "
                         "shape parameters a and b")
    bound_low, bound_high = -float("inf"), float("inf")
    for scenario in scenarios:
        bounds = {k: (lo, hi) for k, lo, hi in scenario.bounds}
        if key not in bounds:
            close = difflib.get_close_matches(key, list(bounds), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise InputError(path, at, f"is not a parameter of {scenario.path}{hint}")
        bound_low, bound_high = max(bound_low, bounds[key][0]), min(bound_high, bounds[key][1])
    if low < bound_low or high > bound_high:
        raise InputError(path, at, f"impossible support [{low:g}, {high:g}]: the parameter "
                         f"can only be within [{bound_low:g}, {bound_high:g}]")
    return Marginal(key, kind, low, high, a, b, _text(path, f"{at}.why", t["why"]),
                    (bound_low, bound_high))


def _text(path: Path, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(path, key, "must give the reason, a non-empty string")
    return value
