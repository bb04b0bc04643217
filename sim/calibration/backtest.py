"""The backtest: every round of the track record forecast from a fit on the rounds
before it, and scored against what happened, beside the baselines.

Rolling origin (Tashman 2000), in date order: round i is forecast from its as-of
scenario (what was known before it) with the hierarchical posterior fitted on rounds
0 .. i-1 (the first, on the prior alone): the scenario posterior of its period and
mediator (``hierarchy_fit.derived``; a period or mediator not seen yet is its prior),
run through the normal batch path (``sim.batch.chunks.run_scenario``: chunks, seeds,
one particle per simulated round). Then every event of its scenario whose truth the
facts decide is scored by Brier and log score, and every observed quantity (counts,
durations) by CRPS and central-interval coverage (``sim.stats.scoring``); a count
not agreed is 0. The same targets get the baselines' forecasts from the same rounds
before: persistence, base rate, uniform.

``scores`` is one row per round, target and forecaster; ``summary`` the issue's
``backtest.json`` (each forecaster's mean Brier and log score over every event scored,
mean CRPS over every quantity); ``skills`` the model's skill against each baseline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from sim.batch.chunks import run_scenario
from sim.calibration.backtest_truth import Truth, event_truths, quantities
from sim.calibration.hierarchy import HierarchicalPrior
from sim.calibration.hierarchy_fit import TrackSettings, derived, fit_track, in_memory
from sim.calibration.track_record import TrackRound
from sim.scenario.spec import Posterior
from sim.stats import scoring
from sim.stats.summary import Measures, event_columns

BASELINES = ("persistence", "base_rate", "uniform")
COLUMNS = ["round", "date", "target", "label", "kind", "on_agenda", "forecaster", "p",
           "median", "observed_low", "observed_high", "happened", "brier", "log", "crps",
           "covered_50", "covered_80", "covered_95"]


@dataclass(frozen=True)
class BacktestSettings:
    """The fit before each round (``particles``, ``generations``; the track fit's
    sampler otherwise) and the simulated rounds of each forecast (``runs``)."""

    particles: int = 400
    generations: int = 4
    runs: int = 4000
    seed: int = 0

    def fit_settings(self, index: int) -> TrackSettings:
        """The fit before round ``index``: its own seed, so that a round's forecast does
        not depend on how many rounds came before it in the run."""
        return TrackSettings(particles=self.particles, generations=self.generations,
                             seed=self.seed + 1000 * (index + 1))


@dataclass
class Backtest:
    scores: pd.DataFrame
    skipped: list[tuple[str, str, str]]  # (round, event, reason)
    fits: list[dict] = field(default_factory=list)  # per round: rounds fitted, simulations


def forecast_posterior(prior: HierarchicalPrior, particles: np.ndarray, weights: np.ndarray,
                       track_round: TrackRound, fitted_on: list[str]) -> Posterior:
    """The scenario posterior a round is forecast from: its period's and its mediator's
    values of the particles (held in memory, named for what it was fitted on)."""
    keys, values = derived(prior, particles, prior.period_of[track_round.key],
                           prior.mediator_of[track_round.key])
    return in_memory(f"(fit on {', '.join(fitted_on) or 'no round: the prior'})", keys,
                     values, weights)


def forecast(track_round: TrackRound, posterior: Posterior, runs: int, seed: int
             ) -> pd.DataFrame:
    """``runs`` simulated rounds of the as-of scenario, drawing from ``posterior``."""
    return run_scenario(replace(track_round.scenario, posterior=posterior), runs, seed=seed)


def _event_rows(track_round: TrackRound, truths: list[Truth], results: pd.DataFrame,
                history: dict[str, list[bool]]) -> list[dict]:
    measures = Measures.of(track_round.scenario)
    simulated = event_columns(results, measures)
    rows = []
    for event, found in zip(measures.events, truths, strict=True):
        if found.happened is None:
            continue
        p = {"model": float(simulated[event.name].mean())} | scoring.event_baselines(
            history.get(event.name, []))
        for forecaster in scoring.FORECASTERS:
            rows.append({"target": event.name, "label": event.label, "kind": "event",
                         "on_agenda": measures.on_agenda(event), "forecaster": forecaster,
                         "p": p[forecaster], "happened": found.happened,
                         "brier": scoring.brier(p[forecaster], found.happened),
                         "log": scoring.log_score(p[forecaster], found.happened)})
        history.setdefault(event.name, []).append(found.happened)
    return rows


def _quantity_rows(track_round: TrackRound, results: pd.DataFrame,
                   history: dict[str, list[float]]) -> list[dict]:
    rows = []
    agenda = set(track_round.scenario.agenda)
    for quantity in quantities(track_round):
        values = results[quantity.column].to_numpy(dtype=float)
        values = np.where(np.isnan(values), quantity.support[0], values)  # not agreed: 0
        forecasts = {"model": scoring.QuantityForecast(sample=values)} | \
            scoring.quantity_baselines(history.get(quantity.column, []), quantity.support)
        issue = quantity.column.removesuffix("_value")
        for forecaster in scoring.FORECASTERS:
            made = forecasts[forecaster]
            cover = scoring.covered(made, quantity.observed)
            low, high = scoring.central_interval(made, 0.0)
            rows.append({"target": quantity.column, "label": quantity.label,
                         "kind": "quantity",
                         "on_agenda": quantity.column == "duration_minutes" or issue in agenda,
                         "forecaster": forecaster, "median": (low + high) / 2,
                         "observed_low": quantity.observed.low,
                         "observed_high": quantity.observed.high,
                         "crps": scoring.crps(made, quantity.observed)} | {
                f"covered_{round(100 * level)}": cover[level]
                for level in scoring.COVERAGE_LEVELS})
        history.setdefault(quantity.column, []).append(quantity.observed.value)
    return rows


def rolling_origin(rounds: tuple[TrackRound, ...], prior: HierarchicalPrior,
                   settings: BacktestSettings,
                   progress: Callable[[str], None] | None = None) -> Backtest:
    """Forecast and score every round from a fit on the rounds before it (see the
    module docstring). The same settings give the same scores."""
    rows: list[dict] = []
    skipped: list[tuple[str, str, str]] = []
    fits: list[dict] = []
    events_before: dict[str, list[bool]] = {}
    values_before: dict[str, list[float]] = {}
    for index, track_round in enumerate(rounds):
        before = list(rounds[:index])
        fit = fit_track(before, prior, settings.fit_settings(index))
        fitted_on = [r.key for r in before]
        posterior = forecast_posterior(prior, fit.particles, fit.weights, track_round,
                                       fitted_on)
        results = forecast(track_round, posterior, settings.runs, settings.seed)
        truths = event_truths(track_round)
        skipped += [(track_round.key, t.event, t.reason) for t in truths if t.happened is None]
        made = _event_rows(track_round, truths, results, events_before) + _quantity_rows(
            track_round, results, values_before)
        rows += [{"round": track_round.key, "date": track_round.date.isoformat()} | row
                 for row in made]
        fits.append({"round": track_round.key, "fitted_on": fitted_on,
                     "simulations": fit.simulations})
        if progress:
            progress(f"{track_round.key} ({track_round.date}): fitted on {len(before)} "
                     f"rounds ({fit.simulations:,} simulated replays), "
                     f"{len(made) // len(scoring.FORECASTERS)} targets scored")
    return Backtest(score_table(rows), skipped, fits)


def score_table(rows: list[dict]) -> pd.DataFrame:
    """The rows as ``scores.parquet`` holds them: ``COLUMNS``, yes/no columns as
    nullable booleans (missing where they do not apply: an event has no coverage)."""
    scores = pd.DataFrame(rows).reindex(columns=COLUMNS)
    for column in ("on_agenda", "happened", "covered_50", "covered_80", "covered_95"):
        scores[column] = scores[column].astype("boolean")
    for column in ("p", "median", "observed_low", "observed_high", "brier", "log", "crps"):
        scores[column] = scores[column].astype(float)
    return scores


def summary(scores: pd.DataFrame) -> dict:
    """``backtest.json``: the rounds scored, and each forecaster's mean Brier and log
    score over every event of every round scored, and mean CRPS over every quantity."""
    events = scores[scores["kind"] == "event"]
    amounts = scores[scores["kind"] == "quantity"]
    return {
        "rounds": list(dict.fromkeys(scores["round"])),
        "forecasters": {name: {
            "brier": _mean(events.loc[events["forecaster"] == name, "brier"]),
            "log": _mean(events.loc[events["forecaster"] == name, "log"]),
            "crps": _mean(amounts.loc[amounts["forecaster"] == name, "crps"]),
        } for name in scoring.FORECASTERS},
    }


def skills(result: dict) -> dict[str, dict[str, float | None]]:
    """The model's skill score against each baseline, per score (``scoring.skill``:
    1 perfect, 0 no better, negative worse)."""
    model = result["forecasters"]["model"]
    return {baseline: {score: (None if model[score] is None or theirs[score] is None
                               else scoring.skill(model[score], theirs[score]))
                       for score in ("brier", "log", "crps")}
            for baseline, theirs in ((b, result["forecasters"][b]) for b in BASELINES)}


def coverage(scores: pd.DataFrame) -> dict[str, dict[str, float | None]]:
    """Each forecaster's share of quantities inside its central 50, 80 and 95%
    intervals."""
    amounts = scores[scores["kind"] == "quantity"]
    return {name: {f"{round(100 * level)}%": _mean(
        amounts.loc[amounts["forecaster"] == name, f"covered_{round(100 * level)}"])
        for level in scoring.COVERAGE_LEVELS} for name in scoring.FORECASTERS}


def reliability(scores: pd.DataFrame, forecaster: str = "model") -> list[dict]:
    """The reliability diagram's points of a forecaster's event probabilities."""
    events = scores[(scores["kind"] == "event") & (scores["forecaster"] == forecaster)]
    return scoring.reliability(events["p"].to_numpy(dtype=float),
                               events["happened"].to_numpy(dtype=float))


def _mean(values: pd.Series) -> float | None:
    values = values.dropna()
    return float(values.astype(float).mean()) if len(values) else None
