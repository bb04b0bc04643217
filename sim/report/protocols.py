"""Which model of the rounds the evidence favours: ``protocols.json`` and its figure.

Each model (a protocol and an information setting, ``sim.calibration.models``) is
fitted to the same reports with the same priors and settings, and judged three ways,
side by side:

- the posterior predictive probability of every reported fact (``compute_checks``,
  as for the committed calibration; Gelman, Meng & Stern 1996);
- the leave-one-round-out log score: fitted on every round but the last, forecasting
  the last (Good 1952; a model that fits by overfitting forecasts badly);
- ABC model choice (Grelaud et al. 2009; ``sim.calibration.choice``): the prior
  predictive acceptance rate of each model at a common distance and tolerance, whose
  ratio is the Bayes factor, with its Monte Carlo error.

Everything is a function of the fits, the settings' seed and the numbers of draws:
``tests/test_calibration_protocols.py`` recomputes the committed file from the
committed posteriors of each model.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from sim.calibration import choice
from sim.calibration.abc import Fit, Generation
from sim.calibration.evidence import ObservedRound, Prior
from sim.calibration.fit import Settings, calibrate, replayer
from sim.calibration.models import Model, under
from sim.report.calibration import Posterior, checks_json, compute_checks, held_out_fit
from sim.stats.numbers import percent

#: What ``--compare-protocols`` writes into its folder: the comparison, and each
#: model's posteriors (``<model>.parquet``, ``<model>-held-out.parquet``) in a subfolder.
RESULT = "protocols.json"
FOLDER = "protocols"

#: Tolerances of the model choice, in the common distance (each fact's miss in units
#: of its ``scale``): 0 is every reported fact reproduced exactly; the others admit
#: near misses, to show how the verdict depends on the tolerance.
TOLERANCES = (0.0, 0.5, 1.0, 1.5, 2.0)

#: Prior predictive draws of the model choice (each replaying every round under every
#: model).
CHOICE_DRAWS = 200_000

#: The seed of the model choice's draws, offset from the fit's (its own stream).
CHOICE_SEED_OFFSET = 10


@dataclass(frozen=True)
class ModelFit:
    """A model's fit on every round, and on every round but the last."""

    model: Model
    rounds: tuple[ObservedRound, ...]
    fit: Fit
    held_out: Fit


def fit_models(rounds: tuple[ObservedRound, ...], prior: Prior, models: tuple[Model, ...],
               settings: Settings,
               progress: Callable[[Model, int, Generation], None] | None = None
               ) -> list[ModelFit]:
    """Fit every model (all rounds, and all but the last) with the same settings;
    ``progress`` hears of each generation of each model's fit on all rounds."""
    fits = []
    for model in models:
        replayed = under(rounds, model)

        def report(t: int, generation: Generation, model=model) -> None:
            if progress:
                progress(model, t, generation)

        fit = calibrate(replayed, prior, settings, progress=report)
        fits.append(ModelFit(model, replayed, fit, held_out_fit(replayed, prior, settings)))
    return fits


def model_choice(rounds: tuple[ObservedRound, ...], prior: Prior, models: tuple[Model, ...],
                 draws: int, seed: int, tolerances: tuple[float, ...] = TOLERANCES) -> dict:
    """ABC model choice over ``models`` at each tolerance (``choice.model_choice``), on
    ``draws`` prior predictive simulations shared by every model; and at the first
    tolerance, the choice with each reported fact left out in turn
    (``choice.without_each_fact``)."""
    replays = {m.key: replayer(under(rounds, m), prior) for m in models}
    found = choice.prior_predictive_discrepancies(prior.sample, replays, draws, seed)
    distances = {key: choice.common_distance(d) for key, d in found.items()}
    labels = [f"{r.name} \u00b7 {fact.label()}" for r in rounds for fact in r.facts]
    return {
        "distance": "Euclidean norm of each reported fact's miss in units of its scale "
                    "(calibration/observations.toml), the same for every model",
        "draws": draws,
        "seed": seed,
        "by_tolerance": [choice.model_choice(distances, eps) for eps in tolerances],
        "without_each_fact": choice.without_each_fact(found, labels, tolerances[0]),
    }


def compare(rounds: tuple[ObservedRound, ...], prior: Prior, models: tuple[Model, ...],
            posteriors: dict[str, tuple[Posterior, Posterior]], settings: Settings,
            draws: int, choice_draws: int = CHOICE_DRAWS,
            tolerances: tuple[float, ...] = TOLERANCES) -> dict:
    """The ``protocols.json`` structure: for each model (``posteriors``: model key ->
    its fit on every round and on all but the last, as particles and weights) its
    checks (``compute_checks``: posterior and prior predictive, identifiability, the
    held-out forecast), and the model choice; ``favoured``: the model the choice at
    the first tolerance favours."""
    entries = []
    for model in models:
        replayed = under(rounds, model)
        posterior, held_out = posteriors[model.key]
        entries.append(model.as_dict() | {
            "key": model.key, "label": model.label,
            "checks": compute_checks(replayed, prior, *posterior, settings, draws,
                                     held_out=held_out)})
    chosen = model_choice(rounds, prior, models, choice_draws,
                          settings.seed + CHOICE_SEED_OFFSET, tolerances)
    result = {
        "settings": settings.__dict__,
        "draws": draws,
        "models": entries,
        "model_choice": chosen,
        "favoured": chosen["by_tolerance"][0]["favoured"],
    }
    return json.loads(checks_json(result))


def bayes_factor_text(bf: dict | None) -> str:
    """A Bayes factor as the README and the command show it: ``322 [89\u20132,669]``
    (value and 95% interval), ``\u2265 174`` (a bound: nothing accepted under the
    other model), ``\u2014`` (none: the favoured model itself, or nothing accepted)."""
    if bf is None or bf["low"] is None:
        return "\u2014"
    if bf["value"] is None:
        return f"\u2265 {_factor(bf['low'])}"
    high = "\u221e" if bf["high"] is None else _factor(bf["high"])
    return f"{_factor(bf['value'])} [{_factor(bf['low'])}\u2013{high}]"


def _factor(x: float) -> str:
    return f"{x:,.0f}" if x >= 10 else f"{x:.2g}" if x < 1 else f"{x:.1f}"


def summary_rows(result: dict) -> list[tuple[str, float, float, float | None, str]]:
    """Per model: its label, the posterior predictive probability of every fact of
    every round at once, the held-out sum of log scores, its model-choice probability
    at the first tolerance and the favoured model's Bayes factor against it there."""
    first = result["model_choice"]["by_tolerance"][0]
    rows = []
    for entry in result["models"]:
        every = entry["checks"]["posterior_predictive"][-1]["p"]
        held = entry["checks"].get("leave_last_round_out", {})
        rows.append((entry["label"], every, held.get("sum_log_score_fit", float("nan")),
                     first["probability"][entry["key"]],
                     bayes_factor_text(first["bayes_factor"].get(entry["key"]))))
    return rows


def _short(entry: dict) -> str:
    """A model as a table's column heading: ``item by item, public``."""
    protocol = "item by item" if entry["protocol"] == "sequential" else "one package"
    return f"{protocol}, {entry['information']}"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def readme_tables(result: dict) -> dict[str, str]:
    """The tables of calibration/README.md's "Which model of the rounds", made from
    ``protocols.json`` (``tests/test_calibration_protocols.py`` checks the README holds
    them as made): ``facts``, each reported fact's posterior predictive probability
    under each model, the favoured model first; ``forecast``, each model's probability
    of every fact at once and its held-out forecast (sums of log scores, fit and
    prior); ``choice``, at each tolerance each model's posterior probability and, in
    brackets, the Bayes factor of that tolerance's favoured model against it."""
    models = sorted(result["models"], key=lambda m: m["key"] != result["favoured"])
    heads = [_short(m) for m in models]
    rows = zip(*(m["checks"]["posterior_predictive"] for m in models), strict=True)
    facts = [_row(["round", "fact", *heads]), _row(["---"] * (2 + len(models)))]
    for cells in rows:
        first = cells[0]
        facts.append(_row([first["round"], first["fact"], *(percent(c["p"]) for c in cells)]))
    forecast = [_row(["model", "every fact of both rounds", "forecast of the last round: "
                      "fit on the others", "its prior"]), _row(["---"] * 4)]
    for m in models:
        held = m["checks"]["leave_last_round_out"]
        forecast.append(_row([_short(m), percent(m["checks"]["posterior_predictive"][-1]["p"]),
                              f"{held['sum_log_score_fit']:.2f}",
                              f"{held['sum_log_score_base']:.2f}"]))
    choice_rows = [_row(["tolerance", *heads]), _row(["---"] * (1 + len(models)))]
    for row in result["model_choice"]["by_tolerance"]:
        cells = []
        for m in models:
            p = row["probability"][m["key"]]
            shown = "\u2014" if p is None else percent(p)
            if m["key"] != row["favoured"] and row["favoured"] is not None:
                shown += f" ({bayes_factor_text(row['bayes_factor'][m['key']])})"
            elif m["key"] == row["favoured"]:
                shown = f"**{shown}**"
            cells.append(shown)
        choice_rows.append(_row([f"{row['tolerance']:g}", *cells]))
    return {"facts": "\n".join(facts), "forecast": "\n".join(forecast),
            "choice": "\n".join(choice_rows)}
