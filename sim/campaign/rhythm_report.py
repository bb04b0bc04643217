"""The rhythm's fit and backtest as files: ``rhythm.json`` (the fit a campaign file
names), and ``campaign-backtest.json`` / ``.md`` (``sim.campaign.rhythm.backtest_rhythm``
as a table and a summary). Numbers that are not finite (a mean gap with no events
yet) are written as ``null``: the files are strict JSON."""

from __future__ import annotations

import math

import pandas as pd

from sim.campaign.rhythm import STATES


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def backtest_document(table: pd.DataFrame, summary: dict, record_file: str,
                      record_sha256: str) -> dict:
    """The backtest as one JSON object: what it rests on, the summary, every origin."""
    rows = [{k: _finite(v.item() if hasattr(v, "item") else v)
             for k, v in row.items()} | {"origin": str(row["origin"])}
            for row in table.to_dict("records")]
    return {"record": record_file, "record_sha256": record_sha256,
            "forecasters": {"model": "the fitted rhythm (two-state hazard with a threshold), "
                                     "refitted to the gaps before each origin",
                            "baseline": "an exponential waiting time, rate = gaps / days, "
                                        "fitted to the same gaps"},
            "summary": {k: ({kk: _finite(vv) for kk, vv in v.items()}
                            if isinstance(v, dict) else _finite(v))
                        for k, v in summary.items()},
            "origins": rows}


def campaign_entry(table: pd.DataFrame, summary: dict, record_file: str) -> dict:
    """The ``campaign`` entry of ``negsim backtest``'s ``backtest.json``: the origins
    scored and each forecaster's mean log score, CRPS (days) and chance of the next
    round by the day it met (``summarise_backtest``)."""
    return {"record": record_file, "origins": summary["origins"],
            "forecasters": {
                name: {"log": _finite(summary[key]["log"]),
                       "crps": _finite(summary[key]["crps"]),
                       "p_by": _finite(summary[key]["p_by_mean"])}
                for name, key in (("model", "model"), ("exponential", "baseline"))}}


def _num(value, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-" if value is None else "inf"
    return f"{value:,.{digits}f}"


def backtest_markdown(document: dict) -> str:
    """The backtest as a Markdown table with the summary under it."""
    s = document["summary"]
    lines = [
        "# The rhythm of rounds, backtested",
        "",
        f"Made by `negsim campaign --backtest {document['record']}`. From the state after "
        "each round of the record (a next round agreed, or not), both forecasters are "
        "fitted to the gaps before it and score the gap that followed: the log score "
        "(-log of the chance given to the gap, lower is better), the CRPS on days (lower "
        "is better), and the chance each gave to the next round meeting by the day it "
        "met.",
        "",
        "| after | event | state | gap (days) | model: mean gap | exponential: mean gap "
        "| model: P(by) | exponential: P(by) | model: log | exponential: log "
        "| model: CRPS | exponential: CRPS |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in document["origins"]:
        state = "next round agreed" if r["state"] == STATES[0] else "none agreed"
        gap = f"> {r['gap_days']} (open)" if r["open"] else str(r["gap_days"])
        lines.append(
            f"| {r['origin']} | {r['event']} | {state} | {gap} | {_num(r['model_mean_gap'], 1)} "
            f"| {_num(r['baseline_mean_gap'], 1)} | {_num(r['model_p_by'])} "
            f"| {_num(r['baseline_p_by'])} | {_num(r['model_log'])} | {_num(r['baseline_log'])} "
            f"| {_num(r['model_crps'], 1)} | {_num(r['baseline_crps'], 1)} |")
    m, b = s["model"], s["baseline"]
    lines += [
        "",
        f"Over {s['scored']} origins: mean log score {_num(m['log'])} (model) against "
        f"{_num(b['log'])} (exponential), the model better at {s['model_better_log']} of "
        f"{s['scored']}; mean CRPS {_num(m['crps'], 1)} against {_num(b['crps'], 1)} days; "
        f"mean chance of meeting by the day it met {_num(m['p_by_mean'])} against "
        f"{_num(b['p_by_mean'])}.",
        "",
    ]
    return "\n".join(lines)
