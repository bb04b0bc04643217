"""What the mediator knows when the plenary opens, and the levers it spends.

An informed mediator knows every side's red lines and BATNA. Otherwise it starts from
its prior (``parameters._beliefs``: a uniform belief holding the truth) and holds
``caucuses`` rounds of private caucuses, one side at a time, each giving a reading of
that side's red lines and BATNA with uniform noise of half-width ``caucus_noise``
(Kressel & Pruitt 1989 on caucusing: mediators learn what parties will not say in
plenary). With uniform beliefs and uniform noise, Bayes' rule narrows each belief to
the intersection of the readings (``rules.narrowed``). The readings are drawn up front
(``RoundSetup.caucus_reading``), so what the mediator knows after the caucuses is known
before the round is run; the caucuses' cost is the minutes they take, during which no
text is on the table.

The mediator then reckons each side's limit from the middle of its belief, sees zones
where the limits leave room, and — where a side's BATNA closes a zone that its red
lines leave open — spends its levers (Touval & Zartman 1985: manipulative mediation),
in the order the scenario lists them, while its budget lasts.
"""

from __future__ import annotations

import numpy as np

from sim.model import package, rules
from sim.model.parameters import RoundSetup
from sim.model.rules import LEVEL_TOL
from sim.scenario.spec import Protocol


def after_caucuses(setup: RoundSetup) -> tuple[np.ndarray, ...]:
    """The mediator's belief intervals once its caucuses are held: about red lines
    ``(n, P, I)`` in span shares and about BATNAs ``(n, P)``, relative to the truth."""
    lo, hi = setup.mediator_lo, setup.mediator_hi
    b_lo, b_hi = setup.mediator_batna_lo, setup.mediator_batna_hi
    s = setup.caucus_noise
    for k in range(setup.caucus_reading.shape[1]):
        reading = setup.caucus_reading[:, k] * s
        lo, hi = rules.narrowed(lo, hi, reading - s, reading + s)
        reading_b = setup.caucus_batna[:, k] * s
        b_lo, b_hi = rules.narrowed(b_lo, b_hi, reading_b - s, reading_b + s)
    return lo, hi, b_lo, b_hi


def believed(setup: RoundSetup, bonus: np.ndarray, shift: np.ndarray) -> dict:
    """The mediator's working picture after its caucuses, given the levers spent
    (``bonus`` added to agreements, ``shift`` to BATNAs, ``(n, P)``): its belief
    intervals, each side's red lines (middle of its belief), its reservation, the zones
    of agreement (each side's limit: the point its reservation requires on the item)
    and the Nash point of each item (item-by-item rounds)."""
    if setup.informed:
        lo = hi = np.zeros(setup.red_line.shape)
        b_lo = b_hi = np.zeros(setup.batna.shape)
    else:
        lo, hi, b_lo, b_hi = after_caucuses(setup)
    picture = {"lo": lo, "hi": hi, "b_lo": b_lo, "b_hi": b_hi, "bonus": bonus,
               "shift": shift}
    plain = (setup.informed and not rules.reservation(setup.batna + shift, bonus).any()
             and not setup.pull)
    if plain:  # what realise found: the same zones and Nash points, computed once
        picture |= {"red_line": setup.red_line, "batna": setup.batna,
                    "reserve": np.zeros(setup.batna.shape), "zone_lo": setup.zone_lo,
                    "zone_hi": setup.zone_hi, "nash": setup.nash}
        return picture
    return picture | reckon(setup, picture, np.arange(setup.replicates))


def reckon(setup: RoundSetup, picture: dict, rows: np.ndarray) -> dict:
    """For ``rows``: the red lines, BATNAs, reservations, zones and Nash points the
    mediator's beliefs (``picture``'s intervals and levers) imply."""
    red = setup.red_line[rows] + setup.span * 0.5 * (picture["lo"][rows] + picture["hi"][rows])
    # where red lines are levels (ordinal, yes/no: realise rounds each drawn red line to
    # its nearest level), the mediator's best guess is the level nearest its belief's
    # middle; the middle itself would sit inside the range, below a top level and above
    # a bottom one, and so never admit either (beliefs are clipped to the issue's range)
    # -- but never a level its evidence rules out: a side that wants less accepts only
    # levels at or below its red line, and the belief's top says the red line is no
    # higher (a side that wants more, the mirror). After "past my red line" at a level
    # (``learn`` truncates the belief just short of it) that level is not guessed again;
    # without this an exchange issue's red line between levels (exchange willingness
    # pulls it in) kept the guess at the level objected to, and the text with it.
    levelled = np.array([spec.levelled for spec in setup.specs])
    if levelled.any():
        red = np.where(levelled, _level_guess(setup, picture, rows, red), red)
    batna = np.clip(setup.batna[rows] + 0.5 * (picture["b_lo"][rows] + picture["b_hi"][rows]),
                    0.0, 0.95)
    reserve = rules.reservation(batna + picture["shift"][rows], picture["bonus"][rows])
    if setup.protocol is Protocol.PACKAGE:
        # a BATNA bounds the package as a whole (the reservation is in the target's
        # gains), not each issue: an issue's zone is its red lines', as realise computes
        # it for an informed mediator (a side may give up to its red line on one issue
        # for more on another: logrolling)
        zone_lo, zone_hi = _zones(setup, red, rows)
        nash = np.full(zone_lo.shape, np.nan)  # no item-by-item targets: the package's own
    else:
        limit = rules.batna_red_line(setup.ideal[rows], red, reserve[:, :, None])
        zone_lo, zone_hi = _zones(setup, limit, rows)
        nash = np.stack([rules.nash_point(
            setup.ideal[rows, :, i], limit[:, :, i], setup.wants[:, i], setup.power[rows],
            zone_lo[:, i], zone_hi[:, i], setup.step[i], pull=setup.pull * setup.pull_weight[i],
            pull_ideal=setup.pull_ideal[i], pull_span=setup.span[i])
            for i in range(len(setup.issues))], axis=1)
    return {"red_line": red, "batna": batna, "reserve": reserve, "zone_lo": zone_lo,
            "zone_hi": zone_hi, "nash": nash}


def _level_guess(setup: RoundSetup, picture: dict, rows: np.ndarray, middle: np.ndarray
                 ) -> np.ndarray:
    """(r, P, I): the level nearest the belief's ``middle``, kept inside the levels the
    belief allows: at most its top's level for a side that wants less, at least its
    bottom's for one that wants more (``LEVEL_TOL`` absorbs rounding, not evidence:
    ``learn`` truncates 1e-9 of the span short of a level objected to). A belief that
    is a point (an informed mediator) is the red line itself, as where no belief is
    reckoned (``believed``): an exchange issue's red line may lie between levels."""
    step, true = setup.step, setup.red_line[rows]
    lo, hi = picture["lo"][rows], picture["hi"][rows]
    near = np.round(middle / step) * step
    top = np.floor((true + setup.span * hi) / step + LEVEL_TOL) * step
    bottom = np.ceil((true + setup.span * lo) / step - LEVEL_TOL) * step
    guess = np.where(setup.wants < 0, np.minimum(near, top), np.maximum(near, bottom))
    return np.where(hi > lo, guess, middle)  # a belief that is a point is the red line


def learn(setup: RoundSetup, picture: dict, rows: np.ndarray, party: np.ndarray,
          issue: np.ndarray, text: np.ndarray) -> None:
    """A side objects that a text is past its red line on an issue: its red line lies on
    the near side of the text there (Bayes: the belief truncated at the text), and the
    picture of those replicates is reckoned anew (in place: ``picture``'s arrays are the
    mediator's own)."""
    bound = (text - setup.red_line[rows, party, issue]) / setup.span[issue]
    wants = setup.wants[party, issue]
    lo, hi = picture["lo"][rows, party, issue], picture["hi"][rows, party, issue]
    new_lo = np.where(wants > 0, bound + 1e-9, -np.inf)  # wants more: red line above it
    new_hi = np.where(wants < 0, bound - 1e-9, np.inf)
    picture["lo"][rows, party, issue], picture["hi"][rows, party, issue] = rules.narrowed(
        lo, hi, new_lo, new_hi)
    changed = np.unique(rows)
    for key, value in reckon(setup, picture, changed).items():
        picture[key][changed] = value


def _zones(setup: RoundSetup, limit: np.ndarray, rows: np.ndarray | None = None
           ) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = rules.zone_of_agreement(np.moveaxis(limit, 2, 1), setup.wants.T, setup.minimum,
                                     setup.maximum)
    k_lo, k_hi = rules.lattice_bounds(lo, hi, setup.step)
    level = setup.level if rows is None else setup.level[rows]
    closed = setup.compound[None, :] & (level == 0)
    return k_lo, np.where(closed, k_lo - 1, k_hi)


def _red_line_zones(setup: RoundSetup, red: np.ndarray) -> np.ndarray:
    """(n, I): where red lines alone (no BATNA) leave a zone, as the mediator sees them."""
    k_lo, k_hi = _zones(setup, red)
    return k_lo <= k_hi


def short_of_batna(setup: RoundSetup, picture: dict, package_round: bool) -> np.ndarray:
    """(n,): where, as the mediator sees it, the sides' BATNAs close what their red lines
    leave open: an item with a zone by red lines but none by what the sides need (item
    by item), or a package that no side gains from over its BATNA at the target."""
    room = _red_line_zones(setup, picture["red_line"])
    if not package_round:
        return (room & (picture["zone_lo"] > picture["zone_hi"])).any(axis=1)
    open_ = room
    red_lo, red_hi = _zones(setup, picture["red_line"])
    x = package.target(red_lo, red_hi, setup.step, setup.ideal, picture["red_line"],
                       setup.wants, setup.weight, open_, picture["reserve"], setup.power,
                       np.zeros(setup.replicates), setup.pull_ideal, setup.pull_weight,
                       setup.span)
    gains = package.issue_gains(np.nan_to_num(x), setup.ideal, picture["red_line"],
                                setup.wants, np.where(open_[:, None, :], setup.weight, 0.0),
                                picture["reserve"][:, :, None]).sum(axis=2)
    return open_.any(axis=1) & (gains <= 1e-9).any(axis=1)


def spend_levers(setup: RoundSetup, package_round: bool
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """The levers the mediator spends: in the scenario's order, each on the replicates
    where (by its picture) BATNAs close the talks and its budget still allows, until
    they no longer do. Returns the bonus added to each side's agreements and the shift
    of its BATNA ``(n, P)``, which levers were spent ``(n, L)`` and the final picture."""
    n, n_parties = setup.batna.shape
    bonus = np.zeros((n, n_parties))
    shift = np.zeros((n, n_parties))
    used = np.zeros((n, len(setup.levers)), dtype=bool)
    picture = believed(setup, bonus, shift)
    if not setup.levers:
        return bonus, shift, used, picture
    budget = np.full(n, setup.budget)
    closed = short_of_batna(setup, picture, package_round)
    for k, (party, utility, batna, cost) in enumerate(setup.levers):
        rows = closed & (budget >= cost)
        if not rows.any():
            continue
        bonus[rows, party] += utility
        shift[rows, party] += batna
        budget[rows] -= cost
        used[rows, k] = True
        picture = believed(setup, bonus, shift)
        closed = short_of_batna(setup, picture, package_round)
    return bonus, shift, used, picture
