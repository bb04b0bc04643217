"""Play one seat of a round: a person holds a delegation or the mediator, the model's
agents hold the rest (``negsim play``; the page is ``sim.teach.play_app``).

The game is replicate 0 of ``negsim run SCENARIO --seed S --runs COMPARISON_RUNS`` —
the round ``negsim trace SCENARIO --seed S --run 0 --runs COMPARISON_RUNS`` tells with
the model's own agent in the seat — so the debrief compares it with the rounds of that
very batch (``sim.teach.play_debrief``).

A game is deterministic given (scenario, seed, seat, moves): every request *replays*
the round from its start with the moves made so far (``replay``), the seat raising
``YourTurn`` where they run out. A page and a script (``--moves FILE``) run the same
code, so the same moves give the same game. The person's moves enter the engine
through ``NegotiationRound``'s seat (``PlaySeat``, a ``sim.model.round.Seat``).

Turns. The round runs a minute at a time; the person is asked to move when something
they can see has changed since their last move (a new item or package, a new text, a
new offer from another side, another side's answer), when the talks resume after a
caucus, and at least every ``TURN_EVERY`` minutes. In between, what they last did
stands: an offer stands (and, being an offer, any text at least as good on every
issue is accepted: one does not refuse what one has offered); an acceptance stands
for texts at least as good as the one accepted; a rejection refuses every text until
their next move; a mediator's text stands. When a file's moves run out, the person
holds their last offer.

Moves (``MOVE_FORMS``), one JSON object a line in a file:

- a delegation: ``{"offer": {"ISSUE": VALUE, ...}}`` (item by item: the item under
  discussion; in a package round: every issue of the text — a counter-demand the
  mediator hears as objections where it asks for more, and redrafts), ``{"accept":
  true}`` (the text on the table), ``{"reject": true}``, ``{"hold": true}`` (keep the
  last offer), ``{"caucus": true}`` (a private meeting with the mediator: the talks
  stop for the scenario's ``caucus_minutes``, the mediator takes a reading of your red
  lines and BATNA), ``{"walk_out": true}``;
- the mediator: ``{"text": {"ISSUE": VALUE, ...}}`` (item by item: the item under
  discussion; a package: the issues it covers, open ones only), ``{"item": "ISSUE"}``
  (item by item: take up another pending item), ``{"park": "ISSUE"}`` or ``{"park":
  ["ISSUE", ...]}`` (set aside), ``{"lever": "NAME"}`` (spend one of the scenario's
  levers), ``{"caucus": "PARTY"}``, ``{"hold": true}`` (the text stands).

VALUE is a number on the issue's lattice (a compound issue: its conditions) or, on an
ordinal or yes/no issue, a level's name. A move the rules forbid is refused with a
``BadMove`` naming it: off the lattice, outside the scale, past one's own red line, a
package missing an open issue, a form of the other role, accepting where there is no
text, a move after the round has ended.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

from sim.errors import InputError
from sim.model.agents import ItemStatus
from sim.model.parameters import RoundSetup
from sim.model.round import NegotiationRound, SeatMove
from sim.scenario.checks import read_file
from sim.scenario.spec import Protocol, Scenario
from sim.teach.trace import replicate_setup

#: Rounds of the batch the game belongs to (and is compared with in the debrief).
COMPARISON_RUNS = 2000

#: Minutes after which the person is asked again even if nothing they see changed.
TURN_EVERY = 10

#: The seed stream of caucus readings a person asks for (``SeedSequence`` spawn key).
CAUCUS_STREAM = 14

#: Largest moves file read: a game has at most ``max_minutes`` turns.
MOVES_LIMIT = 1 << 20

MEDIATOR = "mediator"
DELEGATION_FORMS = ("offer", "accept", "reject", "hold", "caucus", "walk_out")
MEDIATOR_FORMS = ("text", "item", "park", "lever", "caucus", "hold")
MOVE_FORMS = tuple(dict.fromkeys(DELEGATION_FORMS + MEDIATOR_FORMS))


class BadMove(ValueError):
    """A move the rules forbid: ``line`` (its line in a file, its number on a page) and
    what is wrong and allowed."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line, self.message = line, message


class YourTurn(Exception):  # noqa: N818 - a signal, not an error
    """The person is to move (raised by the seat inside the model's minute)."""


@dataclass(frozen=True)
class Role:
    """The seat held: ``party`` (a delegation's index; None for the mediator), its key
    (``--as``) and its name."""

    party: int | None
    key: str
    name: str

    @property
    def mediating(self) -> bool:
        return self.party is None


def role_of(scenario: Scenario, seat: str) -> Role:
    """The seat ``--as`` names: a party's key or name, or "mediator" (case ignored)."""
    wanted = seat.strip().casefold()
    if wanted == MEDIATOR:
        return Role(None, MEDIATOR, scenario.mediator.name)
    for p, party in enumerate(scenario.parties):
        if wanted in (party.key.casefold(), party.name.casefold()):
            return Role(p, party.key, party.name)
    allowed = ", ".join([p.key for p in scenario.parties] + [MEDIATOR])
    raise ValueError(f"--as {seat!r} names no seat of {scenario.round.name}: allowed: {allowed}")


@dataclass(frozen=True)
class Game:
    """One game: the scenario, the seat, the seed and the replicate played."""

    scenario: Scenario
    role: Role
    seed: int
    setup: RoundSetup

    @property
    def package_round(self) -> bool:
        return self.setup.protocol is Protocol.PACKAGE


def new_game(scenario: Scenario, seat: str, seed: int) -> Game:
    """The game of ``seat`` in replicate 0 of ``negsim run --seed seed --runs
    COMPARISON_RUNS``."""
    return Game(scenario, role_of(scenario, seat), seed,
                replicate_setup(scenario, seed, 0, COMPARISON_RUNS))


# --------------------------------------------------------------------------- moves
@dataclass(frozen=True)
class Move:
    """One move as made: its form, its argument (a dict of issue values, a name or a
    list of names, or True) and where it came from (a file's line, a page's count)."""

    form: str
    argument: object
    line: int

    def to_json(self) -> dict:
        return {self.form: self.argument}


def parse_move(obj: object, line: int) -> Move:
    """A move from its JSON form (``MOVE_FORMS``); its content is checked in the round."""
    forms = ", ".join(f'{{"{f}": ...}}' for f in MOVE_FORMS)
    if not isinstance(obj, dict) or len(obj) != 1:
        raise BadMove(line, f"a move is one JSON object with one key: allowed: {forms}")
    (form, argument), = obj.items()
    if form not in MOVE_FORMS:
        raise BadMove(line, f"{form!r} is not a move: allowed: {forms}")
    if form in ("offer", "text"):
        if not isinstance(argument, dict) or not argument:
            raise BadMove(line, f'"{form}" takes an object of issue values, e.g. '
                          f'{{"{form}": {{"ISSUE": VALUE}}}}')
        for value in argument.values():
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                raise BadMove(line, f'"{form}": each value is a number or a level\'s name')
    elif form in ("item", "lever") or (form == "caucus" and not isinstance(argument, bool)):
        if not isinstance(argument, str):
            raise BadMove(line, f'"{form}" takes a name, e.g. {{"{form}": "NAME"}}')
    elif form == "park":
        names = [argument] if isinstance(argument, str) else argument
        if not isinstance(names, list) or not names or not all(isinstance(n, str)
                                                                for n in names):
            raise BadMove(line, '"park" takes an issue or a list of issues')
        argument = list(names)
    elif argument is not True:
        raise BadMove(line, f'"{form}" takes true: {{"{form}": true}}')
    return Move(form, argument, line)


def read_moves(path) -> list[Move]:
    """The moves of a JSON-lines file (blank lines skipped); a bad line raises
    ``InputError`` naming the file and the line."""
    try:
        text = read_file(path, MOVES_LIMIT, "moves").decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(path, "", f"cannot be read as UTF-8 text: {error}") from None
    moves = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as error:
            raise InputError(path, f"line {number}", f"is not JSON ({error.msg}): one "
                             "JSON object a line, e.g. {\"accept\": true}") from None
        try:
            moves.append(parse_move(obj, number))
        except BadMove as bad:
            raise InputError(path, f"line {number}", bad.message) from None
    return moves


# --------------------------------------------------------------------------- the seat
@dataclass(frozen=True)
class Turn:
    """A minute the person was asked: the move made (None: none left, they held)."""

    minute: int
    move: Move | None


@dataclass
class PlaySeat:
    """The person's seat in the round (``sim.model.round.Seat``): it answers the model
    every minute, asks the person (the next of ``moves``) when there is something new
    (``situation``), and keeps what they last did in between (module docstring)."""

    game: Game
    moves: list[Move]
    wait: bool  # no move left: True raises YourTurn (a page), False holds (a file)
    party: int | None = None
    rng: np.random.Generator = None
    offer: np.ndarray | None = None  # a delegation's standing offer (I,)
    takes: np.ndarray | None = None  # what it accepts (I,)
    text: np.ndarray | None = None  # the mediator's standing text (I,)
    used: int = 0
    turns: list[Turn] = field(default_factory=list)
    _seen: tuple | None = None
    _last: int = -TURN_EVERY
    _called: int = 1 << 30  # the last minute the model asked (the first is a turn anyway)

    def __post_init__(self) -> None:
        self.party = self.game.role.party
        self.rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(
            self.game.seed, spawn_key=(CAUCUS_STREAM,))))

    def move(self, model: NegotiationRound) -> SeatMove:
        now = situation(model, self.party)
        t = model.minute
        resumed = t > self._called + 1  # the talks resume (after a caucus)
        self._called = t
        if now == self._seen and t - self._last < TURN_EVERY and not resumed:
            return self._standing()
        self._seen, self._last = now, t
        if self.used >= len(self.moves):
            if self.wait:
                raise YourTurn
            self.turns.append(Turn(t, None))
            if self.party is not None:
                self.takes = self.offer  # they hold their last offer
            return self._standing()
        move = self.moves[self.used]
        self.used += 1
        made = (self._mediate(model, move) if self.party is None
                else self._delegate(model, move))
        self.turns.append(Turn(t, move))
        return made

    def _standing(self) -> SeatMove:
        if self.party is None:
            return SeatMove(text=self.text)
        return SeatMove(offer=self.offer, takes=self.takes)

    # -- a delegation -------------------------------------------------------------------
    def _delegate(self, model: NegotiationRound, move: Move) -> SeatMove:
        setup, p = model.setup, self.party
        if move.form not in DELEGATION_FORMS:
            raise BadMove(move.line, f'"{move.form}" is a move of the mediator: a '
                          f"delegation's moves: {', '.join(DELEGATION_FORMS)}")
        if move.form == "offer":
            offer = self._values(model, move, on_table(model, self.party))
            if self.offer is not None:  # what it said before of the items to come stands
                offer = np.where(np.isnan(offer), self.offer, offer)
            self._inside_red_line(model, move, offer)
            self.offer = offer
            self.takes = offer
            return SeatMove(offer=offer, takes=offer, objects=True)
        if move.form == "accept":
            text = table_text(model)
            if np.isnan(text).all():
                raise BadMove(move.line, "there is no text on the table to accept: "
                              "make an offer, reject, hold, caucus or walk out")
            self._inside_red_line(model, move, text, "accepting the text")
            base = np.full(len(setup.issues), np.nan) if self.offer is None else self.offer
            self.offer = np.where(np.isnan(text), base, text)
            self.takes = text
            return SeatMove(offer=self.offer, takes=text)
        if move.form == "reject":
            self.takes = None
            return self._standing()
        if move.form == "hold":
            self.takes = self.offer
            return self._standing()
        if move.form == "caucus":
            return SeatMove(offer=self.offer, takes=self.takes, caucus=p)
        return SeatMove(offer=self.offer, walk_out=True)

    def _inside_red_line(self, model: NegotiationRound, move: Move, values: np.ndarray,
                         what: str = "the offer") -> None:
        setup, p = model.setup, self.party
        for i in np.flatnonzero(~np.isnan(values)):
            red = setup.red_line[0, p, i]
            if setup.wants[p, i] * (values[i] - red) < -1e-9 * setup.span[i]:
                spec = setup.specs[i]
                raise BadMove(move.line, f"{what} puts {spec.label} at "
                              f"{spec.show(values[i])}, past your red line "
                              f"{spec.show(red)}: not allowed")

    # -- the mediator -------------------------------------------------------------------
    def _mediate(self, model: NegotiationRound, move: Move) -> SeatMove:
        setup = model.setup
        if move.form not in MEDIATOR_FORMS:
            raise BadMove(move.line, f'"{move.form}" is a move of a delegation: the '
                          f"mediator's moves: {', '.join(MEDIATOR_FORMS)}")
        if move.form == "text":
            text = self._values(model, move, on_table(model, None))
            self.text = text
            return SeatMove(text=text)
        if move.form == "hold":
            return self._standing()
        if move.form == "item":
            if model.package_round:
                raise BadMove(move.line, '"item" is for rounds taken item by item: in a '
                              'package round draft a "text" over the issues you choose')
            i = _issue(setup, move, move.argument)
            if model.status[0, i] != ItemStatus.PENDING:
                raise BadMove(move.line, f"{setup.specs[i].label} is closed already: "
                              f"pending: {', '.join(pending_items(model))}")
            return SeatMove(text=self.text, item=i)
        if move.form == "park":
            park = np.zeros(len(setup.issues), dtype=bool)
            for name in move.argument:
                i = _issue(setup, move, name)
                if i not in open_issues(model):
                    raise BadMove(move.line, f"{setup.specs[i].label} is not under "
                                  f"discussion: open: {_names(setup, open_issues(model))}")
                park[i] = True
            return SeatMove(text=self.text, park=park)
        if move.form == "lever":
            names = [lever.name for lever in self.game.scenario.mediator.levers]
            if move.argument not in names:
                raise BadMove(move.line, f"no lever {move.argument!r}: the scenario's "
                              f"levers: {', '.join(names) or 'none'}")
            k = names.index(move.argument)
            cost = setup.levers[k][3]
            if model.levers_used[0, k]:
                raise BadMove(move.line, f"lever {move.argument!r} is spent already")
            if cost > model.budget_left + 1e-12:
                raise BadMove(move.line, f"lever {move.argument!r} costs {cost:g}; "
                              f"{model.budget_left:g} of the budget is left")
            return SeatMove(text=self.text, lever=k)
        parties = self.game.scenario.parties  # a caucus
        names = {p.key.casefold(): q for q, p in enumerate(parties)} | {
            p.name.casefold(): q for q, p in enumerate(parties)}
        if not isinstance(move.argument, str) or move.argument.casefold() not in names:
            raise BadMove(move.line, f'"caucus" names the party to meet: '
                          f"{', '.join(p.key for p in parties)}")
        return SeatMove(text=self.text, caucus=names[move.argument.casefold()])

    # -- values -------------------------------------------------------------------------
    def _values(self, model: NegotiationRound, move: Move, table: list[int]) -> np.ndarray:
        """The issue values of an offer or text, checked: issues of the table (item by
        item: the one under discussion; a delegation's counter-demand: every open
        one), each on its lattice."""
        setup = model.setup
        values = np.full(len(setup.issues), np.nan)
        # a delegation's offer may name items still to come (it stands when they do)
        allowed = table if self.party is None else [
            i for i in range(len(setup.issues)) if model.status[0, i] == ItemStatus.PENDING]
        for name, raw in move.argument.items():
            i = _issue(setup, move, name)
            if i not in allowed:
                raise BadMove(move.line, f"{setup.specs[i].label} is not open: "
                              f"{move.form} on {_names(setup, allowed)}")
            values[i] = _value(setup, move, i, raw)
        missing = [i for i in table if np.isnan(values[i])]
        if missing and (self.party is not None or not model.package_round):
            raise BadMove(move.line, f"the {move.form} leaves out "
                          f"{_names(setup, missing)}: name every issue on the table "
                          f"({_names(setup, table)})")
        return values


def _names(setup: RoundSetup, issues) -> str:
    return ", ".join(setup.issues[i] for i in issues) or "none"


def _issue(setup: RoundSetup, move: Move, name: str) -> int:
    if name not in setup.issues:
        raise BadMove(move.line, f"no issue {name!r} on the agenda: "
                      f"{', '.join(setup.issues)}")
    return setup.issues.index(name)


def _value(setup: RoundSetup, move: Move, i: int, raw) -> float:
    """A value on issue ``i``'s lattice: a number, or a level's name."""
    spec = setup.specs[i]
    if isinstance(raw, str):
        if not spec.levelled or raw not in spec.levels:
            what = (f"a level: {', '.join(spec.levels)}" if spec.levelled else "a number")
            raise BadMove(move.line, f"{raw!r} is not a value of {spec.name}: {what}")
        return float(spec.levels.index(raw))
    value, step = float(raw), float(setup.step[i])
    low, high = float(setup.minimum[i]), float(setup.maximum[i])
    if not math.isfinite(value) or not low - 1e-9 <= value <= high + 1e-9:
        raise BadMove(move.line, f"{spec.name} = {raw} is off the scale: "
                      f"{low:g} to {high:g}")
    k = value / step
    if abs(k - round(k)) > 1e-6:
        raise BadMove(move.line, f"{spec.name} = {raw} is off the lattice: a multiple "
                      f"of {step:g} from {low:g} to {high:g}")
    return round(k) * step


# --------------------------------------------------------------------------- what one sees
def open_issues(model: NegotiationRound) -> list[int]:
    """The issues under discussion: the item (item by item) or the package's."""
    if model.package_round:
        return [int(i) for i in np.flatnonzero(model.open_[0])]
    return [int(model.item[0])] if model.started[0] else []


def pending_items(model: NegotiationRound) -> list[str]:
    setup = model.setup
    return [setup.issues[i] for i in setup.order[0] if model.status[0, i] == ItemStatus.PENDING]


def on_table(model: NegotiationRound, party: int | None) -> list[int]:
    """The issues an offer (a delegation) or a text (the mediator) is on now."""
    return open_issues(model)


def last_record(model: NegotiationRound):
    """The last minute recorded on what is under discussion now, or None."""
    if not model.history:
        return None
    last = model.history[-1]
    if model.package_round:
        return last
    return last if last.item == model.setup.issues[int(model.item[0])] else None


def table_text(model: NegotiationRound) -> np.ndarray:
    """``(I,)``: the text on the table now (NaN off it): item by item the mediator's
    last proposal on the item; a package, its text on the open issues."""
    setup = model.setup
    text = np.full(len(setup.issues), np.nan)
    if model.package_round:
        return np.where(model.open_[0], model.text[0], np.nan)
    last = last_record(model)
    if last is not None and last.proposal is not None:
        text[int(model.item[0])] = last.proposal
    return text


def situation(model: NegotiationRound, party: int | None) -> tuple:
    """What the person can see that would call for a new move: the issues under
    discussion, the text on the table, the others' last offers and answers."""
    last = last_record(model)
    text = tuple(np.round(np.nan_to_num(table_text(model), nan=-1.0), 9))
    issues = tuple(open_issues(model))
    if last is None:
        return (issues, text)
    others = tuple(a for q, a in enumerate(last.accepted) if q != party)
    if model.package_round:
        return (issues, text, others)
    offers = tuple(round(o, 9) for q, o in enumerate(last.offers) if q != party)
    return (issues, text, offers, others)


# --------------------------------------------------------------------------- a game
@dataclass
class Played:
    """A game replayed: the round as far as it went, the seat (its turns), whether the
    person is to move, and the moves."""

    game: Game
    model: NegotiationRound
    seat: PlaySeat
    moves: list[Move]

    @property
    def waiting(self) -> bool:
        return self.model.running

    @property
    def over(self) -> bool:
        return not self.model.running


def replay(game: Game, moves: list[Move], wait: bool = False) -> Played:
    """The round with ``moves`` made at the person's turns, from its start: to its end,
    or (``wait``) to the person's next turn once the moves run out. A move the rules
    forbid raises ``BadMove``; so do moves left when the round is over."""
    seat = PlaySeat(game, list(moves), wait)
    model = NegotiationRound(game.setup, record=True, seat=seat)
    try:
        while model.running:
            model.step()
    except YourTurn:
        return Played(game, model, seat, list(moves))
    if seat.used < len(moves):
        extra = moves[seat.used]
        raise BadMove(extra.line, f"the round is over (it ended after "
                      f"{float(model.duration[0]):g} minutes): no move is left to make")
    return Played(game, model, seat, list(moves))
