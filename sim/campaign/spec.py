"""Campaign files: a starting state, the round scenario, and the rules between rounds.

``load_campaign`` reads and checks a campaign TOML file (``docs/campaigns.md``
documents every key) into a frozen ``Campaign``; every problem is an ``InputError``
naming the file, the key and what is allowed.

Nothing here names an issue or event of a particular case: the exchanges carried out
in stages are the round scenario's count issues with ``exchange = true`` on its
agenda, the events tracked by date are its events (``track`` chooses those shown),
and a next round agreed at the table is whichever event ``next_round_event`` names.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sim.campaign.rhythm import Rhythm, read_rhythm
from sim.campaign.timing import BetaPosterior, FixedChance, StageTiming, fit_stage_timing, unfitted
from sim.errors import InputError
from sim.scenario.checks import date, number, read_toml, span, table
from sim.scenario.load import load_scenario
from sim.scenario.spec import IssueKind, Scenario

Span = tuple[float, float]  # a value (low == high) or a range drawn per campaign

#: The longest horizon: ten years (a campaign's tally keeps a number per campaign and day).
MAX_DAYS = 3653


def check_horizon(path: str | Path, key: str, start: dt.date, until: dt.date) -> None:
    """``until`` not before ``start``, and at most ``MAX_DAYS`` days simulated."""
    if until < start:
        raise InputError(path, key, f"{until} is before the campaign's start {start}")
    if (until - start).days + 1 > MAX_DAYS:
        raise InputError(path, key, f"{until} is more than {MAX_DAYS:,} days (ten years) "
                         f"after the campaign's start {start}")


@dataclass(frozen=True)
class Campaign:
    path: str
    sha256: str
    name: str
    start: dt.date
    until: dt.date
    round_scenario: Scenario
    timing: StageTiming | None  # None: the round has no exchange issue
    #: the round's count issues with ``exchange = true`` on its agenda, in its order
    exchanges: tuple[str, ...]
    #: events shown by date in the table and figure (all are tracked in the rows)
    track: tuple[str, ...]
    #: the event that, in a round, schedules the next one (None: only the scheduling
    #: model convenes rounds)
    next_round_event: str | None
    # starting state
    pending: tuple[Span, ...]  # per exchange issue: agreed, not yet carried out
    round_proposed: dt.date | None  # a date one side has proposed for the next round
    proposed_by: str | None  # the party that proposed it (and so has agreed to meet)
    last_round: dt.date | None  # the last round before the start (the fitted rhythm's)
    next_round_agreed: bool  # whether it left a next round agreed (the rhythm's state)
    trust: tuple[Span, ...]  # per party of the round scenario, in its order
    # implementation
    stages: int
    # trust
    gain_per_stage: float
    loss_per_slip: float
    willingness_per_trust: float
    patience_per_trust: float
    # scheduling: the fitted rhythm (``rhythm``), or the hand-set random-utility model
    # (the keys below it, None with a rhythm)
    rhythm: Rhythm | None
    rhythm_path: str | None
    min_gap_days: int | None
    lead_days: tuple[int, int] | None
    value: tuple[float, ...] | None  # per party: value of meeting, fully trusting
    cost: tuple[float, ...] | None  # per party: cost of a meeting
    mediator_push: float | None
    noise: float | None

    @property
    def days(self) -> int:
        """Days simulated, the start and ``until`` included."""
        return (self.until - self.start).days + 1

    @property
    def compounds(self) -> tuple[str, ...]:
        """The compound issues on the round's agenda (their highest level is kept)."""
        return tuple(spec.name for spec in self.round_scenario.agenda_issues if spec.compound)

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns of a campaign's row (``docs/campaigns.md``, "Outputs")."""
        columns = ["run_id", "seed", "chunk", "draw_id", "rounds_held", "round_dates"]
        for issue in self.exchanges:
            columns += [f"{issue}_agreed", f"{issue}_implemented", f"{issue}_stage_dates",
                        f"{issue}_stage_amounts"]
        columns += [f"{issue}_level" for issue in self.compounds]
        columns += [f"{event.name}_date" for event in self.round_scenario.events]
        columns += ["walkouts"] + [f"trust_{p.key}" for p in self.round_scenario.parties]
        return tuple(columns)

    def with_until(self, until: dt.date) -> Campaign:
        check_horizon(self.path, "--until", self.start, until)
        return Campaign(**(self.__dict__ | {"until": until}))


_TOP = ("campaign", "state", "implementation", "trust", "scheduling")
_CAMPAIGN = ("name", "start", "until", "round", "implementation_record", "track",
             "next_round_event")


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
                       fitted.exchanges, fitted.record_sha256)


def exchange_issues(scenario: Scenario) -> tuple[str, ...]:
    """The issues a campaign carries out in stages: the count issues with
    ``exchange = true`` on the round's agenda, in its order."""
    return tuple(spec.name for spec in scenario.agenda_issues
                 if spec.kind is IssueKind.COUNT and spec.exchange)


def _event_name(path: Path, key: str, value, events: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in events:
        raise InputError(path, key, f"{value!r} is not an event of the round scenario. "
                         "Allowed: " + (", ".join(events) or "none (it defines no events)"))
    return value


def _track(path: Path, value, events: tuple[str, ...]) -> tuple[str, ...]:
    if value is None:
        return events
    if not isinstance(value, list):
        raise InputError(path, "campaign.track", "must be a list of event names, e.g. "
                         f"[{', '.join(repr(e) for e in events[:2])}]")
    names = tuple(_event_name(path, "campaign.track", v, events) for v in value)
    if len(set(names)) != len(names):
        raise InputError(path, "campaign.track", "names an event twice")
    return names


def _pending(path: Path, state: dict, scenario: Scenario, exchanges: tuple[str, ...]
             ) -> tuple[Span, ...]:
    """``[state.pending]``: per exchange issue, what was agreed and is not yet carried
    out (at most the issue's ``max``, what one round can agree)."""
    given = state.get("pending", {})
    if given and not exchanges:
        raise InputError(path, "state.pending", "the round scenario has no count issue with "
                         "exchange = true on its agenda: nothing can be pending")
    given = table(path, "state.pending", given, exchanges)
    return tuple(span(path, f"state.pending.{issue}", given.get(issue, 0), 0,
                      scenario.issue(issue).scale.maximum) for issue in exchanges)


def _timing(path: Path, c: dict, im: dict | None, exchanges: tuple[str, ...]
            ) -> StageTiming | None:
    """The stage timing: fitted to ``implementation_record``, or fixed by hand where
    ``[implementation]`` gives both chances (then the record may be left out)."""
    if not exchanges:
        return None
    if im is None:
        raise InputError(path, "implementation", "is required: the round has exchange "
                         "issues (" + ", ".join(exchanges) + ") to carry out in stages")
    record = c.get("implementation_record")
    if record is None:
        if "start_chance" in im and "slip_chance" in im:
            return fixed_timing(path, im, unfitted())
        raise InputError(path, "campaign.implementation_record", "is required unless "
                         "[implementation] fixes both start_chance and slip_chance")
    if not isinstance(record, str):
        raise InputError(path, "campaign.implementation_record", "must be a path (relative "
                         "to this file)")
    return fixed_timing(path, im, fit_stage_timing(path.parent / record))


_HAND_SET = ("min_gap_days", "lead_days", "value", "cost", "mediator_push", "noise")


def _scheduling(path: Path, value, parties: tuple[str, ...]) -> dict:
    """``[scheduling]``: ``rhythm`` (a fitted rhythm file, relative to this file) alone,
    or every key of the hand-set random-utility model."""
    sc = table(path, "scheduling", value, ("rhythm",) + _HAND_SET)
    if "rhythm" in sc:
        extra = [k for k in _HAND_SET if k in sc]
        if extra:
            raise InputError(path, f"scheduling.{extra[0]}", "is set by the fitted rhythm "
                             "(scheduling.rhythm): leave it out, or leave out rhythm")
        if not isinstance(sc["rhythm"], str):
            raise InputError(path, "scheduling.rhythm", "must be a path (relative to this "
                             "file) to a rhythm written by negsim campaign --fit-rhythm")
        return dict(rhythm=read_rhythm(path.parent / sc["rhythm"]), rhythm_path=sc["rhythm"],
                    min_gap_days=None, lead_days=None, value=None, cost=None,
                    mediator_push=None, noise=None)
    sc = table(path, "scheduling", sc, _HAND_SET, _HAND_SET)
    # at least a day: a round is held before the day's scheduling, so one set for the
    # same day would never meet
    lead = span(path, "scheduling.lead_days", sc["lead_days"], 1, 365)
    return dict(
        rhythm=None, rhythm_path=None,
        min_gap_days=int(number(path, "scheduling.min_gap_days", sc["min_gap_days"], 1, 365)),
        lead_days=(int(lead[0]), int(lead[1])),
        value=_per_party(path, "scheduling.value", sc["value"], parties, -100, 100, False),
        cost=_per_party(path, "scheduling.cost", sc["cost"], parties, -100, 100, False),
        mediator_push=number(path, "scheduling.mediator_push", sc["mediator_push"], -100, 100),
        noise=number(path, "scheduling.noise", sc["noise"], 0.01, 100))


def _rhythm_state(path: Path, s: dict, start: dt.date, rhythm: Rhythm | None
                  ) -> tuple[dt.date | None, bool]:
    """``state.last_round`` and ``state.next_round_agreed``: where the fitted rhythm
    starts (required with it: it counts the gap from the last round; refused without)."""
    if rhythm is None:
        for key in ("last_round", "next_round_agreed"):
            if key in s:
                raise InputError(path, f"state.{key}", "is read by the fitted rhythm only "
                                 "(scheduling.rhythm); the hand-set scheduling counts from "
                                 "the start")
        return None, False
    if "last_round" not in s:
        raise InputError(path, "state.last_round", "is required with scheduling.rhythm: the "
                         "date of the last round before the start (the gap counts from it)")
    last = date(path, "state.last_round", s["last_round"])
    if last >= start:
        raise InputError(path, "state.last_round", f"{last} is not before the start {start}")
    agreed = s.get("next_round_agreed", False)
    if not isinstance(agreed, bool):
        raise InputError(path, "state.next_round_agreed", "must be true (the last round "
                         "agreed a next round) or false")
    return last, agreed


def load_campaign(path: str | Path) -> Campaign:
    """Read and check a campaign file."""
    path = Path(path)
    data, digest = read_toml(path)
    top = table(path, "", data, _TOP, ("campaign", "state", "trust", "scheduling"))
    c = table(path, "campaign", top["campaign"], _CAMPAIGN, ("name", "start", "until",
                                                             "round"))
    start = date(path, "campaign.start", c["start"])
    until = date(path, "campaign.until", c["until"])
    check_horizon(path, "campaign.until", start, until)
    if not isinstance(c["round"], str):
        raise InputError(path, "campaign.round", "must be a path (relative to this file)")
    scenario = load_scenario(path.parent / c["round"])
    parties = tuple(p.key for p in scenario.parties)
    events = tuple(e.name for e in scenario.events)
    exchanges = exchange_issues(scenario)
    next_round = c.get("next_round_event")
    if next_round is not None:
        next_round = _event_name(path, "campaign.next_round_event", next_round, events)

    s = table(path, "state", top["state"], ("pending", "round_proposed", "proposed_by",
                                            "trust", "last_round", "next_round_agreed"),
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
    im = None
    if "implementation" in top:
        im = table(path, "implementation", top["implementation"],
                   ("stages", "start_chance", "slip_chance"), ("stages",))
    timing = _timing(path, c, im, exchanges)
    tr = table(path, "trust", top["trust"], ("gain_per_stage", "loss_per_slip",
               "willingness_per_trust", "patience_per_trust"),
               ("gain_per_stage", "loss_per_slip", "willingness_per_trust",
                "patience_per_trust"))
    scheduling = _scheduling(path, top["scheduling"], parties)
    last_round, agreed = _rhythm_state(path, s, start, scheduling["rhythm"])
    campaign = Campaign(
        path=str(path), sha256=digest, name=str(c["name"]), start=start, until=until,
        round_scenario=scenario, timing=timing, exchanges=exchanges,
        track=_track(path, c.get("track"), events), next_round_event=next_round,
        pending=_pending(path, s, scenario, exchanges),
        round_proposed=proposed,
        proposed_by=proposer,
        trust=_per_party(path, "state.trust", s["trust"], parties, 0, 1, ranged=True),
        stages=int(number(path, "implementation.stages", im["stages"], 1, 100)) if im else 1,
        gain_per_stage=number(path, "trust.gain_per_stage", tr["gain_per_stage"], 0, 1),
        loss_per_slip=number(path, "trust.loss_per_slip", tr["loss_per_slip"], 0, 1),
        willingness_per_trust=number(path, "trust.willingness_per_trust",
                                     tr["willingness_per_trust"], 0, 10),
        patience_per_trust=number(path, "trust.patience_per_trust", tr["patience_per_trust"],
                                  0, 10),
        last_round=last_round, next_round_agreed=agreed, **scheduling,
    )
    _check_columns(path, campaign)
    return campaign


def _check_columns(path: Path, campaign: Campaign) -> None:
    """Names from the round scenario (issues, events, parties) make the row's columns:
    two that would share a name are refused, naming them."""
    seen: set[str] = set()
    for column in campaign.columns:
        if column in seen:
            raise InputError(path, "campaign.round", f"two of the round scenario's names give "
                             f"the campaign column {column!r}: rename an issue, event or "
                             "party")
        seen.add(column)
