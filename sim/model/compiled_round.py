"""The round's minute loop for one replicate at a time, compiled (numba).

``run_replicates`` runs each replicate of a chunk from its opening to its end, minute by
minute, through the phases of ``NegotiationRound.step`` (open the plenary, talk by the
round's protocol, weigh leaving, advance); a replicate that has ended costs nothing
more. The state it reads and writes is the Mesa agents' and model's own arrays
(``sim.model.compiled`` hands them over), and every rule is the scalar twin of the
numpy rule the agents call, in the same order (``compiled_rules``, ``compiled_package``).

Arguments are named tuples of arrays: ``sh`` what the chunk shares, ``rp`` the
replicates' inputs, ``pic`` the mediator's picture (its beliefs, zones, Nash points and
package target), ``bel`` the delegations' beliefs ``(n, observer, P, I)``, ``st`` the
round's state and outcomes.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from sim.model.compiled_package import compromise, narrow, reckon, target
from sim.model.compiled_rules import (
    EPS,
    INF,
    NAN,
    acceptable,
    ceil_index,
    clip,
    concession_power,
    floor_index,
    inlined,
    kernel,
    maximum,
    mean_utility,
    minimum,
    minutes_to_accept,
    nan_to_num,
    round_toward_ideal,
    row_sum,
    staying_value,
    utility,
    zone_probability,
)

# ItemStatus and WalkReason values (sim.model.agents, sim.model.round)
PENDING, AGREED, PARKED, TIMED_OUT = 0, 1, 2, 3
BATNA, FRUSTRATION = 1, 2
# what a package minute did to the text (_advance_package)
SAME, CHANGED, ENDED = 0, 1, 2


#: The kernel's working arrays, reused by every replicate of a chunk (``scratch``).
Scratch = namedtuple("Scratch", [
    # by party
    "aspiration", "offers", "answers", "salience", "deciding", "frustrated", "need",
    "inverse", "log_rate", "rate_for", "linked",
    "needed", "allowed", "total", "rest", "column_ideal", "column_red", "column_wants",
    # by issue
    "text", "status", "drafted", "values", "weights", "chances", "utilities", "expected",
    "open_items", "corner", "mask", "flat", "usable",
    # by party and issue
    "objection", "w", "gains", "limit",
    # the lattice search's grid, and when each issue was last searched (package target)
    "ks", "scores", "seen"])


def scratch(parties: int, issues: int) -> Scratch:
    """The kernel's working arrays for one replicate (reused by every replicate)."""
    by_party = {name: np.empty(parties) for name in (
        "aspiration", "offers", "salience", "need", "needed", "allowed", "total", "rest",
        "column_ideal", "column_red", "column_wants", "inverse", "log_rate", "rate_for")}
    by_party |= {name: np.empty(parties, np.bool_) for name in (
        "answers", "deciding", "frustrated", "linked")}
    by_issue = {name: np.empty(issues) for name in (
        "text", "values", "weights", "chances", "utilities", "expected", "corner", "flat")}
    by_issue |= {name: np.empty(issues, np.bool_) for name in (
        "drafted", "open_items", "mask", "usable")}
    by_issue["status"] = np.empty(issues, np.int8)
    both = {name: np.empty((parties, issues)) for name in ("w", "gains", "limit")}
    both["objection"] = np.empty((parties, issues), np.bool_)
    return Scratch(**by_party, **by_issue, **both, ks=np.empty(256, np.int64),
                   scores=np.empty(256), seen=np.empty(issues, np.int64))


# ------------------------------------------------------------------- the mediator's
@kernel
def _draft(r, sh, rp, pic, open_, sc) -> None:
    """``Mediator.draft`` for replicate ``r``: its package target over the open issues
    and each side's utility of it, as it reckons them."""
    tgt = pic.target[r]
    target(pic.zone_lo[r], pic.zone_hi[r], sh.step, rp.ideal[r], pic.red_line[r], sh.wants,
           rp.weight[r], open_, pic.reserve[r], rp.power[r], sh.pull, sh.pull_ideal,
           sh.pull_weight, sh.span, tgt, sc.usable, sc.w, sc.gains, sc.total, sc.rest, sc.seen,
           sc.ks, sc.scores)
    for p in range(sh.wants.shape[0]):
        pic.target_value[r, p] = mean_utility(tgt, rp.ideal[r, p], pic.red_line[r, p],
                                              sh.wants[p], rp.weight[r, p], open_)


@kernel
def _press(r, rp, open_, sc) -> float:
    """The mediator's pressure on a package: its mean over the open issues."""
    values = sc.values
    count = 0
    for i in range(open_.shape[0]):
        values[i] = rp.pressure[r, i] if open_[i] else 0.0
        count += open_[i]
    return row_sum(values) / max(count, 1)


@kernel
def _reckon(r, sh, rp, pic, sc) -> None:
    reckon(pic.lo[r], pic.hi[r], pic.b_lo[r], pic.b_hi[r], rp.red_line[r], rp.batna[r],
           rp.ideal[r], rp.shift[r], rp.bonus[r], sh.span, sh.wants, sh.minimum, sh.maximum,
           sh.step, sh.compound, sh.levelled, rp.level[r], rp.power[r], sh.package, sh.pull,
           sh.pull_ideal, sh.pull_weight, pic.red_line[r], pic.batna[r], pic.reserve[r],
           pic.zone_lo[r], pic.zone_hi[r], pic.nash[r], sc.limit, sc.ks, sc.scores,
           sc.column_ideal, sc.column_red, sc.column_wants)


# ------------------------------------------------------------------- the delegations'
@inlined
def _observe(r, d, q, i, value, sh, rp, bel) -> None:
    """``Delegation.observe``: side ``d`` takes ``value`` (an offer, or a text ``q``
    accepted) as a bound on ``q``'s red line on issue ``i``."""
    bound = (value - rp.red_line[r, q, i]) / sh.span[i]
    wants = sh.wants[q, i]
    new_lo = bound if wants < 0 else -INF
    new_hi = bound if wants > 0 else INF
    bel.lo[r, d, q, i], bel.hi[r, d, q, i] = narrow(bel.lo[r, d, q, i], bel.hi[r, d, q, i],
                                                    new_lo, new_hi)


@inlined
def _linkage_met(r, party, item, sh, st) -> bool:
    """``Delegation.linkage_met`` on the item under discussion."""
    for k in range(sh.link.shape[0]):
        if sh.link[k, 0] != party:
            continue
        issue, requires = sh.link[k, 1], sh.link[k, 2]
        if item == issue and not st.settled[r, requires] >= sh.link_at[k]:
            return False
    return True


@inlined
def _package_linkage_met(r, party, text, drafted, sh, rp, st) -> bool:
    """``Delegation.package_linkage_met``: a tied issue only with what it requires
    agreed before, or in the same package far enough."""
    for k in range(sh.link.shape[0]):
        if sh.link[k, 0] != party:
            continue
        issue, requires, at_least = sh.link[k, 1], sh.link[k, 2], sh.link_at[k]
        offered = float(rp.level[r, requires]) if sh.compound[requires] else text[requires]
        before = st.settled[r, requires] >= at_least
        now = drafted[requires] and offered >= at_least
        if drafted[issue] and not before and not now:
            return False
    return True


# ------------------------------------------------------------------- item by item
@inlined
def _share(r, p, since, pressure, rp) -> float:
    """The clock of side ``p``'s concession curve at ``since`` minutes: the share of its
    horizon gone, sped by ``pressure``, clipped to ``[0, 1]``."""
    return clip(since / rp.horizon[r, p] * (1.0 + pressure), 0.0, 1.0)


@inlined
def _fraction(r, p, since, pressure, rp, sc) -> tuple:
    """Side ``p``'s concession fraction at ``since`` minutes and its clock (``_share``):
    ``rules.concession_fraction`` by ``concession_power``. The log of the clock's rate,
    ``(1 + pressure) / horizon``, is kept in ``sc.log_rate`` for the pressure it was
    taken at (``sc.rate_for``, NaN at a replicate's start): taken again only when the
    pressure changes (a new item, the package's pressure moving)."""
    share = _share(r, p, since, pressure, rp)
    if sc.rate_for[p] != pressure:
        sc.rate_for[p] = pressure
        sc.log_rate[p] = math.log((1.0 + pressure) / rp.horizon[r, p])
    return concession_power(share, since, sc.log_rate[p], sc.inverse[p]), share


@inlined
def _stated(r, p, item, since, pressure, sh, rp, sc) -> tuple:
    """Side ``p``'s aspiration on ``item`` at ``since`` minutes, the offer it states
    (``Delegation.aspiration``, ``Delegation.offer``; 1 / concession computed once a
    replicate, in ``sc.inverse``) and its clock (``_share``)."""
    fraction, share = _fraction(r, p, since, pressure, rp, sc)
    ideal, limit = rp.ideal[r, p, item], rp.limit[r, p, item]
    aspiration = ideal + (limit - ideal) * clip(fraction, 0.0, 1.0)
    wants = sh.wants[p, item]
    stated = aspiration + wants * (rp.bluff[r, p] * sh.span[item])
    stated = minimum(stated, ideal) if wants > 0 else maximum(stated, ideal)
    return aspiration, round_toward_ideal(stated, wants, sh.step[item]), share


@inlined
def _overlap(r, item, offers, sh, pic) -> tuple:
    """Where the stated ``offers`` overlap, inside the zone the mediator sees
    (``Mediator.propose``): ``(low, high, o_lo, o_hi)``, crossed where ``o_lo <= o_hi``."""
    step = sh.step[item]
    k_lo, k_hi = pic.zone_lo[r, item], pic.zone_hi[r, item]
    low = offers[0] if sh.wants[0, item] > 0 else -INF
    high = offers[0] if sh.wants[0, item] < 0 else INF
    for p in range(1, sh.wants.shape[0]):
        low = maximum(low, offers[p] if sh.wants[p, item] > 0 else -INF)
        high = minimum(high, offers[p] if sh.wants[p, item] < 0 else INF)
    if k_lo <= k_hi:
        low = maximum(low, k_lo * step)
        high = minimum(high, k_hi * step)
    return low, high, ceil_index(low, step), floor_index(high, step)


@inlined
def _answers(r, p, item, proposal, aspiration, linked, sh, rp) -> bool:
    """``Delegation.respond``: inside its limit, no worse than its aspiration by more
    than its tolerance, its linkages met."""
    wants, scale = sh.wants[p, item], sh.span[item]
    inside = acceptable(proposal, rp.limit[r, p, item], wants, scale)
    good = wants * (proposal - aspiration) >= -rp.tolerance[r, p, item] - EPS * scale
    return inside and good and linked


@inlined
def _truncate(r, p, i, text, sh, rp, pic) -> None:
    """``beliefs.learn``: side ``p`` said ``text`` is past its red line on issue ``i``:
    the mediator's belief truncated just short of the text."""
    bound = (text - rp.red_line[r, p, i]) / sh.span[i]
    wants = sh.wants[p, i]
    new_lo = bound + 1e-9 if wants > 0 else -INF
    new_hi = bound - 1e-9 if wants < 0 else INF
    pic.lo[r, p, i], pic.hi[r, p, i] = narrow(pic.lo[r, p, i], pic.hi[r, p, i], new_lo,
                                              new_hi)


@inlined
def _item_minute(r, t, item, minutes_on_item, since, pressure, sh, rp, pic, bel, st, sc):
    """A minute on the current item (``NegotiationRound._item_talks``): offers, the
    mediator's text, the answers, its decision. Returns ``(agreed, status, proposal,
    crossed, conceded)``: whether the offers crossed, whether every side's clock has run
    out (``_quiet_until`` reads both); the answers and saliences in ``sc``."""
    parties = sh.wants.shape[0]
    asp, offers, answers, salience = sc.aspiration, sc.offers, sc.answers, sc.salience
    step = sh.step[item]
    conceded = True
    for p in range(parties):
        asp[p], offers[p], share = _stated(r, p, item, since, pressure, sh, rp, sc)
        conceded = conceded and share == 1.0
        salience[p] = rp.salience[r, p, item]
    # the mediator's text (Mediator.propose)
    k_lo, k_hi = pic.zone_lo[r, item], pic.zone_hi[r, item]
    believed = k_lo <= k_hi
    if sh.split:
        least, most = offers[0], offers[0]
        for p in range(1, parties):
            least = minimum(least, offers[p])
            most = maximum(most, offers[p])
        middle = 0.5 * (least + most)
        goal = clip(np.rint(middle / step), float(k_lo), float(k_hi)) * step
    else:
        goal = pic.nash[r, item]
    low, high, o_lo, o_hi = _overlap(r, item, offers, sh, pic)
    crossed = o_lo <= o_hi
    if crossed:
        aim = goal
        if goal != goal:
            aim = np.rint(0.5 * (low + high) / step) * step
        proposal = clip(np.rint(aim / step), float(o_lo), float(o_hi)) * step
    else:
        proposal = goal
    if not (believed or crossed):
        proposal = NAN
    zone_open = believed or crossed
    linked = sc.linked
    for p in range(parties):
        linked[p] = _linkage_met(r, p, item, sh, st)
        zone_open = zone_open and linked[p]
    agreed = zone_open
    for p in range(parties):
        answers[p] = _answers(r, p, item, proposal, asp[p], linked[p], sh, rp)
        agreed = agreed and answers[p]
    spent = minutes_on_item + 1
    status = PENDING
    if spent >= sh.item_minutes:
        status = TIMED_OUT
    if not zone_open and spent >= sh.exploration_minutes:
        status = PARKED
    if agreed:
        status = AGREED
    if not sh.informed and proposal == proposal:  # NegotiationRound._hear_item
        heard = False
        for p in range(parties):
            if not acceptable(proposal, rp.red_line[r, p, item], sh.wants[p, item],
                              sh.span[item]):
                _truncate(r, p, item, proposal, sh, rp, pic)
                heard = True
        if heard:
            _reckon(r, sh, rp, pic, sc)
    if sh.weighing and not sh.informed and not sh.proximity:  # offers bound red lines
        for d in range(parties):
            for q in range(parties):
                if q != d:
                    _observe(r, d, q, item, offers[q], sh, rp, bel)
    return agreed, status, proposal, crossed, conceded


@inlined
def _still_quiet(r, item, end, pressure, proposal, sh, rp, pic, sc) -> bool:
    """Whether at minute ``end`` the offers have still not crossed and every side's
    answer to the text ``proposal`` is as this minute's (``sc.answers``): the minute of
    ``_item_minute``, from the concession curve on."""
    ahead = sc.need  # scratch: the offers at minute ``end``
    later = end - rp.opening_minutes[r]  # as _run_one computes the minute's ``since``
    for p in range(sh.wants.shape[0]):
        aspiration, ahead[p], _ = _stated(r, p, item, later, pressure, sh, rp, sc)
        if _answers(r, p, item, proposal, aspiration, sc.linked[p], sh, rp) != sc.answers[p]:
            return False
    _, _, o_lo, o_hi = _overlap(r, item, ahead, sh, pic)
    return o_lo > o_hi


@inlined
def _conceded(r, t, pressure, sh, rp) -> bool:
    """Whether at minute ``t`` every side's concession clock has run out (``_stated``'s
    share of its horizon clipped to 1): its aspiration is its limit and its offer fixed."""
    since = t - rp.opening_minutes[r]
    for p in range(sh.wants.shape[0]):
        if _share(r, p, since, pressure, rp) != 1.0:
            return False
    return True


@inlined
def _quiet_until(r, t, item, minutes_on_item, pressure, proposal, window, crossed, conceded,
                 sh, rp, pic, sc) -> int:
    """The last minute of a stretch after minute ``t`` in which nothing but frustration
    can change (``t`` if there is none), for a round whose minute reads no beliefs and
    moves none (an informed mediator, nobody weighing leaving, the Nash rule): the text
    is the item's Nash point until the offers cross, and each side's answer to it turns
    only when its aspiration passes a point. Aspirations and stated offers move one way
    (``rules.concession_fraction`` is non-decreasing in time, and so the offers'
    crossing and each answer once turned stay so), so if at a minute the offers have not
    crossed and every answer is as at ``t``, every minute between is as ``t`` was
    (``_still_quiet``). The stretch tried first is ``window`` minutes; while one holds the
    next tried is twice as long (an exponential search: a long quiet stretch costs a
    probe for each doubling, not a minute run in full after each window), and between
    the last that held and the first that did not, the last quiet minute is found by
    bisection. Either way its minutes cost a few concession curves a side, not one a
    side each. The stretch ends before the item's time is up, before an item with no
    zone is parked, and within the round.

    Where every side has conceded fully, at ``t`` and at the stretch's last minute, every
    minute between is ``t`` again, offers crossed or not (an item held up by a linkage
    unmet: the June round's leaders' meeting): the share of the horizon is monotone in
    the minute, so clipped to 1 at both ends it is 1 between, and no probe is needed.
    ``crossed`` and ``conceded``: minute ``t``'s, as ``_item_minute`` found them."""
    limit = t + (sh.item_minutes - 1 - minutes_on_item) - 1  # spent < item_minutes
    zone_open = pic.zone_lo[r, item] <= pic.zone_hi[r, item]  # the offers not crossed
    for p in range(sh.wants.shape[0]):
        zone_open = zone_open and sc.linked[p]
    if not zone_open:  # no zone seen, or a linkage unmet: parked once explored
        limit = min(limit, t + (sh.exploration_minutes - 1 - minutes_on_item) - 1)
    last = min(limit, sh.max_minutes - 1)
    if last > t and conceded and _conceded(r, last, pressure, sh, rp):
        return last
    end = min(t + window, last)
    if end <= t + 1 or crossed:  # a stretch of one minute, or the offers crossed
        return t
    quiet = t
    while _still_quiet(r, item, end, pressure, proposal, sh, rp, pic, sc):
        quiet = end
        if end >= last:
            return end
        end = min(t + 2 * (end - t), last)
    loud = end  # quiet at ``quiet``, not at ``end``: bisect
    while loud - quiet > 1:
        middle = (quiet + loud) // 2
        if _still_quiet(r, item, middle, pressure, proposal, sh, rp, pic, sc):
            quiet = middle
        else:
            loud = middle
    return quiet


# ------------------------------------------------------------------- the package
@inlined
def _package_minute(r, t, minutes_on_item, since, pressure, sh, rp, pic, bel, st, sc):
    """A minute on the package (``NegotiationRound._package_talks`` and
    ``_package_status``): the (revised) text, the answers and demands, what the
    mediator learns from objections, and the issues closed. Returns ``agreed``; this
    minute's text, the issues' status, the answers and saliences in ``sc``."""
    parties, issues = sh.wants.shape
    open_ = st.open_[r]
    answers, salience, text, status = sc.answers, sc.salience, sc.text, sc.status
    drafted, objection = sc.drafted, sc.objection
    if not open_.any():  # in session with nothing open: no text, no answers
        for p in range(parties):
            answers[p] = False
            salience[p] = 0.0
        for i in range(issues):
            text[i] = NAN
            status[i] = PENDING
        return False
    demands = st.demands[r]
    revise = True
    for p in range(parties):
        revise = revise and demands[p] == demands[p]
    if sh.proximity:  # a revised text takes a shuttle to carry
        revise = revise and minutes_on_item % sh.shuttle_minutes == 0
    if revise:
        compromise(pic.target[r], pic.zone_lo[r], pic.zone_hi[r], sh.step, sh.span, sh.wants,
                   rp.weight[r], rp.ideal[r], pic.red_line[r], pic.target_value[r], demands,
                   rp.credibility[r], open_, st.text[r], sc.corner, sc.mask, sc.flat, sc.need,
                   sc.needed, sc.allowed)
    any_drafted = False
    for i in range(issues):
        text[i] = st.text[r, i] if open_[i] else NAN
        drafted[i] = open_[i] and text[i] == text[i]
        any_drafted = any_drafted or drafted[i]
    agreed = any_drafted
    objected = False
    for p in range(parties):
        fraction, _ = _fraction(r, p, since, pressure, rp, sc)
        reserve = rp.reserve[r, p]
        aspiration = reserve + (1.0 - reserve) * (1.0 - clip(fraction, 0.0, 1.0))
        inside = True
        for i in range(issues):
            bad = drafted[i] and not acceptable(nan_to_num(text[i]), rp.red_line[r, p, i],
                                                sh.wants[p, i], sh.span[i])
            if bad:
                inside = False
                objected = True
            objection[p, i] = bad
        value = mean_utility(text, rp.ideal[r, p], rp.red_line[r, p], sh.wants[p],
                             rp.weight[r, p], drafted)
        yes = (inside and value >= reserve - 1e-9
               and value >= aspiration - rp.credibility[r] - 1e-9)
        answers[p] = yes and _package_linkage_met(r, p, text, drafted, sh, rp, st)
        agreed = agreed and answers[p]
        demands[p] = minimum(aspiration + rp.bluff[r, p], 1.0)
    if not sh.informed and objected:  # a red line said to be crossed: the mediator learns
        for p in range(parties):
            for i in range(issues):
                if objection[p, i]:
                    _truncate(r, p, i, text[i], sh, rp, pic)
        _reckon(r, sh, rp, pic, sc)
        _draft(r, sh, rp, pic, open_, sc)
        for i in range(issues):
            st.text[r, i] = pic.target[r, i]
        for p in range(parties):
            demands[p] = NAN
    if sh.weighing and not sh.informed and not sh.proximity:  # accepted texts bound red lines
        for q in range(parties):
            if not answers[q]:
                continue
            for i in range(issues):
                if text[i] == text[i]:
                    for d in range(parties):
                        if d != q:
                            _observe(r, d, q, i, text[i], sh, rp, bel)
    # the issues closed this minute (_package_status)
    spent = minutes_on_item + 1
    explored = spent >= sh.exploration_minutes and not agreed
    any_still = False
    count = 0  # the text's issues: item_minutes each before the hardest is parked
    for i in range(issues):
        count += open_[i]
        status[i] = PENDING
        if agreed and open_[i]:
            status[i] = AGREED if text[i] == text[i] else PARKED
        if open_[i] and pic.zone_lo[r, i] > pic.zone_hi[r, i] and explored:
            status[i] = PARKED
        any_still = any_still or (open_[i] and status[i] == PENDING)
    if not agreed and spent >= sh.item_minutes * count and any_still:  # stuck: park the hardest
        hardest, narrowest = 0, INF
        for i in range(issues):
            width = INF
            if open_[i] and status[i] == PENDING:
                width = (pic.zone_hi[r, i] - pic.zone_lo[r, i] + 1) * sh.step[i] / sh.span[i]
            if width < narrowest:
                hardest, narrowest = i, width
        status[hardest] = PARKED
    for k in range(sh.link.shape[0]):  # tied to an issue parked: parked too
        issue, requires = sh.link[k, 1], sh.link[k, 2]
        gone = status[requires] == PARKED or st.status[r, requires] == PARKED
        if open_[issue] and gone and status[issue] == PENDING:
            status[issue] = PARKED
    values = sc.values
    for p in range(parties):
        for i in range(issues):
            values[i] = rp.salience[r, p, i] if open_[i] else 0.0
        salience[p] = row_sum(values) / max(count, 1)
    return agreed


# ------------------------------------------------------------------- leaving
@inlined
def _leaving(r, item, since, pressure, agreed, proposal, sh, rp, pic, bel, st, sc) -> int:
    """Who leaves this minute (``NegotiationRound._leaving``): a side whose staying is
    worth less than its BATNA, or whose frustration passes its patience, never one
    accepting the text. Returns the party named (the first listed) or -1."""
    parties, issues = sh.wants.shape
    frustrated, deciding, accepting = sc.frustrated, sc.deciding, sc.answers
    for p in range(parties):  # Delegation.feel
        st.frustration[r, p] = 0.0 if agreed else st.frustration[r, p] + sc.salience[p]
        frustrated[p] = st.frustration[r, p] >= rp.walkout_threshold[r, p]
        deciding[p] = False
    if sh.weighing:
        expected, open_items = sc.expected, sc.open_items
        for i in range(issues):  # the issues still to negotiate and the deal expected
            if sh.package:
                open_items[i] = st.open_[r, i]
                expected[i] = st.text[r, i] if open_items[i] else NAN
            else:
                open_items[i] = st.status[r, i] == PENDING
                expected[i] = pic.nash[r, i]
        if not sh.package and proposal == proposal:
            expected[item] = proposal
        weights, chances, utilities = sc.weights, sc.chances, sc.utilities
        for p in range(parties):  # Delegation.zone_belief and Delegation.staying
            for i in range(issues):
                chance = 1.0
                for q in range(parties):
                    if q != p:
                        lo = rp.red_line[r, q, i] + sh.span[i] * bel.lo[r, p, q, i]
                        hi = rp.red_line[r, q, i] + sh.span[i] * bel.hi[r, p, q, i]
                        chance *= zone_probability(rp.limit[r, p, i], sh.wants[p, i], lo, hi,
                                                   sh.wants[q, i])
                weights[i] = rp.weight[r, p, i] if open_items[i] else 0.0
                e = expected[i]
                if e != e:
                    u, chance = 0.0, 0.0
                else:
                    u = maximum(utility(e, rp.ideal[r, p, i], rp.red_line[r, p, i],
                                        sh.wants[p, i]), 0.0)
                chances[i] = weights[i] * chance
                utilities[i] = chances[i] * u
            total = maximum(row_sum(weights), EPS)
            p_deal = row_sum(chances) / total
            value = 0.0
            if p_deal > 0:
                value = row_sum(utilities) / maximum(row_sum(chances), EPS)
            horizon, reserve = rp.horizon[r, p], rp.reserve[r, p]
            elapsed = since / horizon * (1.0 + pressure)
            minutes = minutes_to_accept(value, reserve, rp.concession[r, p],
                                        (1.0 + pressure) / horizon, elapsed)
            stay = staying_value(p_deal, value, reserve, rp.discount[r, p], minutes)
            deciding[p] = stay < reserve - 1e-9
    for p in range(parties):
        if (frustrated[p] or deciding[p]) and not accepting[p]:
            st.walkout_party[r] = p
            st.walk_reason[r] = BATNA if deciding[p] else FRUSTRATION
            return p
    return -1


# ------------------------------------------------------------------- the round
@kernel
def _open_package(r, sh, rp, pic, st, sc) -> None:
    """The package text opens over every agenda issue (``_open_plenary``), less those
    tied to a compound issue whose level falls short (``_drop_blocked``)."""
    issues = sh.wants.shape[1]
    open_ = st.open_[r]
    for i in range(issues):
        open_[i] = True
    for k in range(sh.link.shape[0]):
        issue, requires = sh.link[k, 1], sh.link[k, 2]
        if sh.compound[requires] and rp.level[r, requires] < sh.link_at[k]:
            open_[issue] = False
            st.status[r, issue] = PARKED
    st.package_pressure[r] = _press(r, rp, open_, sc)
    _draft(r, sh, rp, pic, open_, sc)
    for i in range(issues):
        st.text[r, i] = pic.target[r, i]


@inlined
def _advance_package(r, t, walked, sh, rp, pic, st, sc) -> int:
    """Write what the package minute settled (``_advance``). Returns ``ENDED``, ``CHANGED``
    (the text's form changed: its clock starts again) or ``SAME``."""
    issues = sh.wants.shape[1]
    if walked:
        st.duration[r] = t + 1.0
        return ENDED
    status, text, open_ = sc.status, sc.text, st.open_[r]
    changed, redraft, still_open = False, False, False
    for i in range(issues):
        if status[i] == PENDING:
            still_open = still_open or open_[i]
            continue
        changed = True
        st.status[r, i] = status[i]
        if status[i] == AGREED:
            st.value[r, i] = text[i]
            st.settled[r, i] = rp.level[r, i] if sh.compound[i] else text[i]
            st.agreed_minute[r, i] = t + 1.0
        open_[i] = False
        redraft = redraft or pic.target[r, i] == pic.target[r, i]
    if not changed:
        return SAME
    if not still_open:
        st.duration[r] = t + 1.0 + sh.closing_minutes
        return ENDED
    st.package_pressure[r] = _press(r, rp, open_, sc)
    if redraft:  # an issue it drafted left the text: a new target
        for p in range(sh.wants.shape[0]):
            st.demands[r, p] = NAN
        _draft(r, sh, rp, pic, open_, sc)
        for i in range(issues):
            st.text[r, i] = pic.target[r, i]
    return CHANGED


@inlined
def _run_one(r, sh, rp, pic, bel, st, sc) -> int:
    """Replicate ``r`` from its opening to its end; returns the minute it ended."""
    issues = sh.wants.shape[1]
    for p in range(sh.wants.shape[0]):
        sc.inverse[p] = 1.0 / rp.concession[r, p]
        sc.rate_for[p] = NAN
    start = rp.plenary_start[r]
    t = 0 if start <= 0 else (sh.max_minutes if start != start else int(np.ceil(start)))
    position, item, item_start = 0, 0, t
    # quiet stretches are skipped where a minute reads no beliefs and moves none
    quiet = not sh.package and sh.informed and not sh.weighing and not sh.split
    window = 8
    if t < sh.max_minutes:  # the plenary opens (after the openings and caucuses)
        if sh.package:
            _open_package(r, sh, rp, pic, st, sc)
        else:
            item = rp.order[r, 0]
    while t < sh.max_minutes:
        since = t - rp.opening_minutes[r]
        minutes_on_item = t - item_start
        if sh.package:
            pressure = st.package_pressure[r]
            agreed = _package_minute(r, t, minutes_on_item, since, pressure, sh, rp, pic, bel,
                                     st, sc)
            status, proposal, crossed, conceded = PENDING, NAN, False, False
        else:
            pressure = rp.pressure[r, item]
            agreed, status, proposal, crossed, conceded = _item_minute(
                r, t, item, minutes_on_item, since, pressure, sh, rp, pic, bel, st, sc)
        walked = _leaving(r, item, since, pressure, agreed, proposal, sh, rp, pic, bel, st,
                          sc) >= 0
        if sh.package:
            advanced = _advance_package(r, t, walked, sh, rp, pic, st, sc)
            if advanced == ENDED:
                return t + 1
            if advanced == CHANGED:
                item_start = t + 1
        else:
            if status != PENDING:
                st.status[r, item] = status
            if status == AGREED:
                st.value[r, item] = proposal
                st.settled[r, item] = rp.level[r, item] if sh.compound[item] else proposal
                st.agreed_minute[r, item] = t + 1.0
            if walked:
                st.duration[r] = t + 1.0
                return t + 1
            if status != PENDING:
                position += 1
                if position >= issues:
                    st.duration[r] = t + 1.0 + sh.closing_minutes
                    return t + 1
                item = rp.order[r, position]
                item_start = t + 1
            elif quiet:  # the minutes after t in which only frustration moves
                end = _quiet_until(r, t, item, minutes_on_item, pressure, proposal, window,
                                   crossed, conceded, sh, rp, pic, sc)
                window = min(2 * window, 64) if end >= t + window else max(window // 2, 4)
                while t < end:  # each as _leaving would have it, until one would leave
                    leaving = False
                    for p in range(sh.wants.shape[0]):
                        felt = st.frustration[r, p] + sc.salience[p]
                        leaving = leaving or (felt >= rp.walkout_threshold[r, p]
                                              and not sc.answers[p])
                    if leaving:  # that minute is run in full
                        break
                    for p in range(sh.wants.shape[0]):
                        st.frustration[r, p] = st.frustration[r, p] + sc.salience[p]
                    t += 1
        t += 1
    st.duration[r] = float(sh.max_minutes)
    return sh.max_minutes


@kernel
def run_replicates(sh, rp, pic, bel, st, sc) -> int:
    """Run every replicate of the chunk to its end, one after the other; returns the
    minute the last one ended (the numpy model's ``minute`` after ``run``)."""
    last = 0
    for r in range(rp.ideal.shape[0]):
        last = max(last, _run_one(r, sh, rp, pic, bel, st, sc))
    return last
