"""``backtest.md``: the backtest for people, made from its scores.

Everything here is a function of the scores table, the rounds skipped and the
settings (``render``), so the committed ``calibration/backtest.md`` can be checked
against the committed scores, and a fresh run against both. The verdict is written
from the numbers: which baselines the model beats on which score, and where it
fails (the events it gave least to what happened, and the rounds it scored worst).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.calibration.backtest import BASELINES, coverage, reliability, skills, summary
from sim.report.html import Block, FigureBlock, Heading, Paragraph, Table, to_markdown
from sim.stats.numbers import percent
from sim.stats.scoring import CLIP, FORECASTERS

NAMES = {"model": "model", "persistence": "persistence", "base_rate": "base rate",
         "uniform": "uniform"}
SCORES = {"brier": "Brier", "log": "log score", "crps": "CRPS"}
#: How many of the worst-scored events the verdict names.
WORST = 6


def _number(x: float | None, digits: int = 3) -> str:
    return "-" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{digits}f}"


def _signed(x: float | None) -> str:
    return "-" if x is None else f"{x:+.2f}"


def verdict(result: dict, scores: pd.DataFrame) -> list[str]:
    """Plain sentences: does the model beat each baseline on each score, and where it
    fails most."""
    skill = skills(result)
    model = result["forecasters"]["model"]
    sentences = []
    for score in ("brier", "log", "crps"):
        if model[score] is None:
            continue
        beats = [NAMES[b] for b in BASELINES if (skill[b][score] or 0) > 0]
        loses = [NAMES[b] for b in BASELINES if skill[b][score] is not None
                 and skill[b][score] <= 0]
        text = (f"On the {SCORES[score]} (lower is better) the model scores "
                f"{_number(model[score])}")
        parts = []
        if beats:
            parts.append("it beats " + _join(beats))
        if loses:
            parts.append("it does not beat " + _join(loses))
        sentences.append(text + (": " + "; ".join(parts) if parts else "") + ".")
    events = scores[(scores["kind"] == "event") & (scores["forecaster"] == "model")]
    if len(events):
        worst = events.sort_values(["log", "round", "target"], ascending=[False, True, True]
                                   ).head(WORST)
        named = [f"{row.round} {row.label} ({'happened' if row.happened else 'did not'}; "
                 f"the model gave {percent(row.p)})" for row in worst.itertuples()]
        sentences.append("Where it fails most (the worst log scores): " + "; ".join(named)
                         + ".")
        worse = _worse_than_base_rate(scores)
        if worse:
            sentences.append("Events on which the model's mean Brier score is worse than "
                             "the base rate's: " + "; ".join(
                                 f"{label} ({model:.3f} against {base:.3f})"
                                 for label, model, base in worse) + ".")
        by_round = events.groupby("round", sort=False)["brier"].mean()
        base = scores[(scores["kind"] == "event") & (scores["forecaster"] == "base_rate")
                      ].groupby("round", sort=False)["brier"].mean()
        worse = [r for r in by_round.index if by_round[r] > base[r]]
        if worse:
            sentences.append(f"The model's mean Brier score is worse than the base rate's at "
                             f"{len(worse)} of {len(by_round)} rounds: {', '.join(worse)}.")
    return sentences


def _by_event(scores: pd.DataFrame) -> pd.DataFrame:
    """Per event (in order of first appearance): rounds scored, times it happened, and
    each forecaster's mean Brier score."""
    events = scores[scores["kind"] == "event"]
    table = events.pivot_table(index="target", columns="forecaster", values="brier",
                               aggfunc="mean", sort=False)
    model = events[events["forecaster"] == "model"].groupby("target", sort=False)
    table["label"] = model["label"].first()
    table["rounds"] = model.size()
    table["happened"] = model["happened"].sum().astype(int)
    return table


def _worse_than_base_rate(scores: pd.DataFrame) -> list[tuple[str, float, float]]:
    table = _by_event(scores)
    return [(row.label, row.model, row.base_rate) for row in table.itertuples()
            if row.model > row.base_rate]


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def render(scores: pd.DataFrame, skipped: list[tuple[str, str, str]], about: dict,
           folder: Path, figure: tuple[Path, Path] | None, scores_name: str) -> str:
    """The Markdown text of ``backtest.md`` (written into ``folder``). ``about``: the
    settings and the rounds' names and dates (``about["rounds"]``: key -> (name, date,
    fitted on))."""
    result = summary(scores)
    blocks: list[Block] = [
        Heading(1, "Backtest: each round of the track record forecast from the rounds "
                   "before it"),
        Paragraph(
            "Rolling origin, in date order: each represented round of "
            "calibration/track-record.toml is forecast from its as-of scenario "
            "(scenarios/track/: what was known before it), drawing its parameters from the "
            "hierarchical posterior fitted on the rounds before it alone (the first round: "
            "the prior alone), and scored against what happened. Events: Brier and log "
            f"score (probabilities read no nearer to 0 or 1 than {CLIP:g}); quantities "
            "(counts agreed, 0 where none; durations): CRPS and central-interval coverage. "
            "The baselines forecast the same targets from the same rounds before: "
            "persistence (the last round's outcome), the base rate (Laplace's rule for an "
            "event; the past values for a quantity), uniform (1/2; flat over the range)."),
        Paragraph(f"Made by {about['command']}: {about['particles']:,} particles and up to "
                  f"{about['generations']} generations per fit, {about['runs']:,} simulated "
                  f"rounds per forecast, seed {about['seed']}. Every number here is in "
                  f"backtest.json and {scores_name} beside this file.", note=True),
        Heading(2, "Verdict"),
        *[Paragraph(s) for s in verdict(result, scores)],
        Heading(2, "Scores"),
    ]
    cover = coverage(scores)
    blocks.append(Table(
        ("forecaster", "Brier", "log score", "CRPS", "50% interval holds",
         "80% interval holds", "95% interval holds"),
        tuple((NAMES[name], _number(values["brier"]), _number(values["log"]),
               _number(values["crps"], 1),
               *(_share(cover[name][level]) for level in ("50%", "80%", "95%")))
              for name, values in result["forecasters"].items()),
        numeric=(1, 2, 3, 4, 5, 6)))
    events = scores[scores["kind"] == "event"]
    amounts = scores[scores["kind"] == "quantity"]
    blocks.append(Paragraph(
        f"Means over {len(events) // len(FORECASTERS)} events and "
        f"{len(amounts) // len(FORECASTERS)} quantities of {len(result['rounds'])} rounds. "
        "The CRPS is in each quantity's own units (prisoners, bodies, minutes), so its "
        "mean is dominated by the counts; the table of quantities below shows each.",
        note=True))
    skill = skills(result)
    blocks += [Heading(3, "Skill of the model against each baseline"),
               Paragraph("1 - model's score / baseline's score: 1 is perfect, 0 no better "
                         "than the baseline, below 0 worse.", note=True),
               Table(("baseline", "Brier", "log score", "CRPS"),
                     tuple((NAMES[b], *(_signed(skill[b][s]) for s in SCORES))
                           for b in BASELINES), numeric=(1, 2, 3))]
    blocks += [Heading(2, "By round"), _round_table(scores, about)]
    by_event = _by_event(scores)
    blocks += [Heading(2, "By event"),
               Table(("event", "rounds scored", "happened", *(f"Brier, {NAMES[n]}"
                                                           for n in FORECASTERS)),
                     tuple((row.label, str(row.rounds), str(row.happened),
                            *(_number(getattr(row, n)) for n in FORECASTERS))
                           for row in by_event.itertuples()), numeric=(1, 2, 3, 4, 5, 6))]
    blocks += [Heading(2, "Quantities"), _quantity_table(amounts)]
    points = reliability(scores)
    blocks.append(Heading(2, "Reliability"))
    if figure is not None:
        blocks.append(FigureBlock(
            "Reliability diagram", "Each point: the events forecast with a probability in "
            "one bin of width 20%, the mean probability forecast against the share that "
            "happened; the number beside it counts them. On the diagonal a forecaster is "
            "calibrated.", figure[0], figure[1]))
    blocks.append(Table(("bin", "mean forecast", "share that happened", "events"),
                        tuple((f"{100 * p['low']:.0f}-{100 * p['high']:.0f}%",
                               percent(p["forecast"]), percent(p["observed"]),
                               str(p["count"])) for p in points), numeric=(1, 2, 3)))
    blocks += [Heading(2, "Not scored"),
               Paragraph("Events of a round's scenario whose columns no fact gives, or "
                         "whose truth a range of the facts leaves open "
                         "(sim/calibration/backtest_truth.py)."),
               Table(("round", "event", "why"), tuple(skipped))]
    return to_markdown(blocks, folder)


def _share(x: float | None) -> str:
    return "-" if x is None else percent(x)


def _round_table(scores: pd.DataFrame, about: dict) -> Table:
    rows = []
    for key, (name, date, fitted_on) in about["rounds"].items():
        mine = scores[scores["round"] == key]
        events = mine[mine["kind"] == "event"]
        amounts = mine[mine["kind"] == "quantity"]

        def mean(frame: pd.DataFrame, who: str, score: str) -> str:
            values = frame.loc[frame["forecaster"] == who, score]
            return _number(float(values.mean())) if len(values) else "-"

        rows.append((key, name, date, str(len(fitted_on)),
                     str(len(events) // len(FORECASTERS)),
                     mean(events, "model", "brier"), mean(events, "base_rate", "brier"),
                     mean(events, "model", "log"), mean(events, "base_rate", "log"),
                     str(len(amounts) // len(FORECASTERS))))
    return Table(("round", "name", "date", "rounds fitted", "events",
                  "Brier, model", "Brier, base rate", "log, model", "log, base rate",
                  "quantities"), tuple(rows), numeric=(3, 4, 5, 6, 7, 8, 9))


def _quantity_table(amounts: pd.DataFrame) -> Table:
    rows = []
    for (key, _target), group in amounts.groupby(["round", "target"], sort=False):
        by = group.set_index("forecaster")
        low, high = by.loc["model", "observed_low"], by.loc["model", "observed_high"]
        observed = f"{low:,.0f}" if low == high else f"{low:,.0f}-{high:,.0f}"
        rows.append((key, str(by.loc["model", "label"]), observed,
                     f"{by.loc['model', 'median']:,.0f}",
                     *(f"{by.loc[name, 'crps']:,.1f}" for name in FORECASTERS),
                     "yes" if by.loc["model", "covered_80"] else "no"))
    return Table(("round", "quantity", "observed", "model median",
                  *(f"CRPS, {NAMES[n]}" for n in FORECASTERS), "in the model's 80%"),
                 tuple(rows), numeric=(2, 3, 4, 5, 6, 7))
