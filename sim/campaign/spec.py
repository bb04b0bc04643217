"""Campaign files: a starting state, the round scenario, and the rules between rounds.

``load_campaign`` reads and checks a campaign TOML file (``docs/campaigns.md``
documents every key) into a frozen ``Campaign``; every problem is an ``InputError``
naming the file, the key and what is allowed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sim.campaign.timing import BetaPosterior, FixedChance, StageTiming, fit_stage_timing
from sim.errors import InputError
from sim.scenario.checks import date, number, read_toml, span, table
from sim.scenario.load import load_scenario
from sim.scenario.spec import Scenario

Span = tuple[float, float]  # a value (low == high) or a range drawn per campaign


@dataclass(frozen=True)
class Campaign:
    path: str
    sha256: str
    name: str
    start: dt.date
    until: dt.date
    round_scenario: Scenario
    timing: StageTiming
    # starting state
    pow_pending: Span
    remains_pending: Span
    round_proposed: dt.date | None  # a date one side has proposed for the next round
    proposed_by: str | None  # the party that proposed it (and so has agreed to meet)
    trust: tuple[Span, ...]  # per party of the round scenario, in its order
    # implementation
    stages: int
    # trust
    gain_per_stage: float
    loss_per_slip: float
    willingness_per_trust: float
    patience_per_trust: float
    # scheduling
    min_gap_days: int
    lead_days: tuple[int, int]
    value: tuple[float, ...]  # per party: value of meeting when it fully trusts the other
    cost: tuple[float, ...]  # per party: cost of a meeting
    mediator_push: float
    noise: float

    @property
    def days(self) -> int:
        """Days simulated, the start and ``until`` included."""
        return (self.until - self.start).days + 1

    def with_until(self, until: dt.date) -> Campaign:
        if until < self.start:
            raise InputError(self.path, "--until", f"{until} is before the campaign's start "
                             f"{self.start}")
        return Campaign(**(self.__dict__ | {"until": until}))


_TOP = ("campaign", "state", "implementation", "trust", "scheduling")


def _per_party(path: Path, key: str, value, parties: tuple[str, ...], low: float,
               high: float, ranged: bool) -> tuple:
    t = table(path, key, value, parties, parties)
    if ranged:
        return tuple(span(path, f"{key}.{p}", t[p], low, high) for p in parties)
    return tuple(number(path, f"{key}.{p}", t[p], low, high) for p in parties)


def fixed_timing(path: Path, im: dict, fitted: StageTiming) -> StageTiming:
    """``start_chance`` / ``slip_chance`` in ``[implementation]`` fix a daily chance
    instead of drawing it from its fitted posterior (for what-ifs, and the limiting
    case of no slippage)."""
    def fixed(name: str, posterior: BetaPosterior) -> BetaPosterior | FixedChance:
        if name not in im:
            return posterior
        chance = number(path, f"implementation.{name}", im[name], 0, 1)
        if name == "start_chance" and chance == 0:
            raise InputError(path, f"implementation.{name}", "must be > 0: with no chance "
                             "to start, no exchange would ever be carried out")
        return FixedChance(chance)
    return StageTiming(fixed("start_chance", fitted.start), fixed("slip_chance", fitted.slip),
                       fitted.exchanges)


def load_campaign(path: str | Path) -> Campaign:
    """Read and check a campaign file."""
    path = Path(path)
    data, digest = read_toml(path)
    top = table(path, "", data, _TOP, _TOP)
    c = table(path, "campaign", top["campaign"], ("name", "start", "until", "round",
                                                  "implementation_record"),
              ("name", "start", "until", "round", "implementation_record"))
    start = date(path, "campaign.start", c["start"])
    until = date(path, "campaign.until", c["until"])
    if until < start:
        raise InputError(path, "campaign.until", f"{until} is before the start {start}")
    if not isinstance(c["round"], str) or not isinstance(c["implementation_record"], str):
        raise InputError(path, "campaign.round", "round and implementation_record must be "
                         "paths (relative to this file)")
    scenario = load_scenario(path.parent / c["round"])
    parties = tuple(p.key for p in scenario.parties)
    for issue in ("pow_exchange", "remains"):
        if issue not in scenario.agenda:
            raise InputError(path, "campaign.round", f"the round scenario must have "
                             f"{issue} on its agenda (a campaign carries out exchanges)")
    timing = fit_stage_timing(path.parent / c["implementation_record"])

    s = table(path, "state", top["state"], ("pow_pending", "remains_pending",
                                            "round_proposed", "proposed_by", "trust"),
              ("trust",))
    proposed = proposer = None
    if "round_proposed" in s:
        proposed = date(path, "state.round_proposed", s["round_proposed"])
        if proposed < start:
            raise InputError(path, "state.round_proposed", f"{proposed} is before the start")
        proposer = s.get("proposed_by")
        if proposer not in parties:
            raise InputError(path, "state.proposed_by", f"{proposer!r} must name the party "
                             "that proposed the round. Allowed: " + ", ".join(parties))
    im = table(path, "implementation", top["implementation"],
               ("stages", "start_chance", "slip_chance"), ("stages",))
    timing = fixed_timing(path, im, timing)
    tr = table(path, "trust", top["trust"], ("gain_per_stage", "loss_per_slip",
               "willingness_per_trust", "patience_per_trust"),
               ("gain_per_stage", "loss_per_slip", "willingness_per_trust",
                "patience_per_trust"))
    sc = table(path, "scheduling", top["scheduling"], ("min_gap_days", "lead_days", "value",
               "cost", "mediator_push", "noise"), ("min_gap_days", "lead_days", "value",
                                                   "cost", "mediator_push", "noise"))
    lead = span(path, "scheduling.lead_days", sc["lead_days"], 0, 365)
    return Campaign(
        path=str(path), sha256=digest, name=str(c["name"]), start=start, until=until,
        round_scenario=scenario, timing=timing,
        pow_pending=span(path, "state.pow_pending", s.get("pow_pending", 0), 0, 100_000),
        remains_pending=span(path, "state.remains_pending", s.get("remains_pending", 0), 0,
                             100_000),
        round_proposed=proposed,
        proposed_by=proposer,
        trust=_per_party(path, "state.trust", s["trust"], parties, 0, 1, ranged=True),
        stages=int(number(path, "implementation.stages", im["stages"], 1, 100)),
        gain_per_stage=number(path, "trust.gain_per_stage", tr["gain_per_stage"], 0, 1),
        loss_per_slip=number(path, "trust.loss_per_slip", tr["loss_per_slip"], 0, 1),
        willingness_per_trust=number(path, "trust.willingness_per_trust",
                                     tr["willingness_per_trust"], 0, 10),
        patience_per_trust=number(path, "trust.patience_per_trust", tr["patience_per_trust"],
                                  0, 10),
        min_gap_days=int(number(path, "scheduling.min_gap_days", sc["min_gap_days"], 1, 365)),
        lead_days=(int(lead[0]), int(lead[1])),
        value=_per_party(path, "scheduling.value", sc["value"], parties, -100, 100, False),
        cost=_per_party(path, "scheduling.cost", sc["cost"], parties, -100, 100, False),
        mediator_push=number(path, "scheduling.mediator_push", sc["mediator_push"], -100, 100),
        noise=number(path, "scheduling.noise", sc["noise"], 0.01, 100),
    )
