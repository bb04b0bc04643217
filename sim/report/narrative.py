"""The plain-language summary of a batch, written from ``summary.json`` alone.

Every number in it is a number of the summary, formatted by ``sim.stats.numbers``
(tested: each one is checked against the JSON), so the words never drift from the
table.
"""

from __future__ import annotations

from sim.stats.numbers import percent, percent_interval, whole


def lead(summary: dict) -> str:
    return (f"In {whole(summary['runs'])} simulated rounds of \u201c{summary['scenario']}"
            f"\u201d (seed {summary['seed']}):")


def event_sentences(summary: dict) -> list[str]:
    """One clause per event on the agenda (its label, as the scenario names it): the
    probability and its 95% interval."""
    clauses = []
    for event in summary["events"].values():
        if event["on_agenda"] and event["p"] is not None:
            clauses.append(f"{event['label']}: {percent(event['p'])} "
                           f"({percent_interval(*event['ci95'])}) of rounds")
    return clauses


def off_agenda(summary: dict) -> str | None:
    """The events that could not happen because their issues were not negotiated."""
    names = [e["label"] for e in summary["events"].values() if not e["on_agenda"]]
    return ("Not on this round's agenda, so never agreed: " + "; ".join(names) + ".") if (
        names) else None


def quantity_sentences(summary: dict) -> list[str]:
    """Median and the middle 90% of each quantity, with how many rounds they count."""
    sentences = []
    for q in summary["quantiles"].values():
        if not q["n"] or q["p50"] is None:
            continue
        sentences.append(f"{q['label']}: over {whole(q['n'])} rounds the median was "
                         f"{number(q['p50'])}; 90% lay between {number(q['p05'])} and "
                         f"{number(q['p95'])}.")
    return sentences


def number(x: float) -> str:
    """A quantile as the sentence says it: whole where it is large, else two decimals."""
    return whole(x) if abs(x) >= 10 or float(x).is_integer() else f"{x:.2f}"


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
