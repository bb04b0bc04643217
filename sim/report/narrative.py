"""The plain-language summary of a batch, written from ``summary.json`` alone.

Every number in it is a number of the summary, formatted by ``sim.stats.numbers``
(tested: each one is checked against the JSON), so the words never drift from the
table.
"""

from __future__ import annotations

from sim.stats.numbers import percent, percent_interval, whole
from sim.stats.summary import EVENTS

#: Event -> how a sentence says it happened.
EVENT_PHRASES = {
    "ceasefire_any": "a ceasefire of any kind (a local pause or more) was agreed",
    "ceasefire_general": "a general ceasefire was agreed",
    "pow_exchange_agreed": "a prisoner exchange was agreed",
    "remains_agreed": "a repatriation of remains was agreed",
    "children_return_agreed": "the return of named children was agreed",
    "memorandum_exchanged": "written positions were exchanged",
    "next_round_agreed": "a next round was agreed",
    "leaders_meeting_agreed": "a leaders' meeting was agreed",
    "walkout": "a delegation walked out",
}

#: Quantity -> (where it is counted, what its values are).
QUANTITY_PHRASES = {
    "pow_exchange_per_side": ("Where an exchange was agreed", "prisoners per side"),
    "remains_transferred": ("Where a repatriation of remains was agreed", "remains"),
    "duration_minutes": ("Over all rounds", "minutes of talks"),
}


def lead(summary: dict) -> str:
    return (f"In {whole(summary['runs'])} simulated rounds of \u201c{summary['scenario']}"
            f"\u201d (seed {summary['seed']}):")


def event_sentences(summary: dict) -> list[str]:
    """One clause per event on the agenda: the probability and its 95% interval."""
    clauses = []
    for name in EVENTS:
        event = summary["events"][name]
        if event["on_agenda"]:
            clauses.append(f"{EVENT_PHRASES[name]} in {percent(event['p'])} "
                           f"({percent_interval(*event['ci95'])}) of rounds")
    return clauses


def off_agenda(summary: dict) -> str | None:
    """The events that could not happen because their issue was not negotiated."""
    names = [EVENTS[n][0] for n in EVENTS if not summary["events"][n]["on_agenda"]]
    return ("Not on this round's agenda, so never agreed: " + "; ".join(names) + ".") if (
        names) else None


def quantity_sentences(summary: dict) -> list[str]:
    """Median and the middle 90% of each quantity, with how many rounds they count."""
    sentences = []
    for column, (where, unit) in QUANTITY_PHRASES.items():
        q = summary["quantiles"].get(column)
        if not q or not q["n"] or q["p50"] is None:
            continue
        sentences.append(f"{where} ({whole(q['n'])} rounds), the median was "
                         f"{whole(q['p50'])} {unit}; 90% lay between {whole(q['p05'])} and "
                         f"{whole(q['p95'])}.")
    return sentences


def walkout_sentence(summary: dict) -> str | None:
    """Who walked out, and how often (in rounds)."""
    parties = summary.get("walkout_by_party") or {}
    if not parties:
        return None
    return "Walk-outs by delegation: " + ", ".join(
        f"{party} in {whole(count)} rounds" for party, count in parties.items()) + "."


CAVEAT = ("The intervals are 95% Wilson intervals: they measure the Monte Carlo noise "
          "of the estimate, which more rounds would shrink, and say nothing of whether "
          "the scenario's assumptions (below) are right.")


def summary_text(summary: dict) -> dict:
    """The summary's parts: a lead, the event clauses, and the sentences after them."""
    after = [s for s in (off_agenda(summary), *quantity_sentences(summary),
                         walkout_sentence(summary)) if s]
    return {"lead": lead(summary), "events": event_sentences(summary), "after": after,
            "caveat": CAVEAT}
