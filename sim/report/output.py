"""Making the figures of a results folder (or of several batches) and writing them.

``write_run_figures`` is what ``negsim run`` calls after writing its results;
``load_run`` reads a results folder back (summary, results, scenario) for
``negsim report`` and ``negsim compare``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from sim.batch.results import ResultsError, RunResults, load_outcomes, load_summary
from sim.model.parameters import RoundSetup, realise
from sim.scenario.overrides import scenario_with
from sim.scenario.spec import Scenario
from sim.viz.outcomes import (
    event_probabilities,
    outcome_distributions,
    round_timeline,
    zone_of_agreement,
)
from sim.viz.style import save_figure

FIGURES_FOLDER = "figures"
#: Parameter draws re-realised for the zone-of-agreement figure: enough for the 5th
#: and 95th percentiles to be stable, few enough to cost a fraction of a second.
ZONE_DRAWS = 2_000


def parameter_sample(scenario: Scenario, seed: int, n: int = ZONE_DRAWS) -> RoundSetup:
    """``n`` fresh draws of the scenario's parameters (its ranges, and the round's
    randomness) from the root of the batch's ``SeedSequence`` — a stream no chunk of
    the batch uses, so the sample is reproducible and independent of the runs."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
    return realise(scenario, n, rng)


def scenario_of(folder: Path, summary: dict, override: str | Path | None = None) -> Scenario:
    """The scenario a results folder was made from: ``override`` where given, else the
    file ``summary.json`` names, with the ``--set`` changes the summary records."""
    named = override or summary.get("scenario_file")
    if not named:
        raise ResultsError(f"{folder / 'summary.json'}: names no scenario_file; pass "
                           "--scenario FILE")
    if not Path(named).is_file():
        raise ResultsError(f"{named}: no such scenario file" + (
            "" if override else f" (named by {folder / 'summary.json'}); pass --scenario FILE"))
    return scenario_with(named, summary.get("settings") or {})


def load_run(folder: str | Path, scenario: str | Path | None = None) -> RunResults:
    """A results folder read back: its summary, the counts of the outcomes the figures
    draw, and its scenario (``scenario`` overrides the file the summary names)."""
    folder = Path(folder)
    summary = load_summary(folder)
    case = scenario_of(folder, summary, scenario)
    outcomes, rows = load_outcomes(folder, case)
    return RunResults(summary, outcomes, rows, case, folder)


def run_figures(runs: Sequence[RunResults]) -> dict[str, Figure]:
    """The figures of one batch (or several side by side), by file stem. The zone of
    agreement needs each batch's scenario and is left out where one is unknown."""
    figures = {
        "event-probabilities": event_probabilities(runs),
        "outcome-distributions": outcome_distributions(runs),
        "round-timeline": round_timeline(runs),
    }
    if all(run.scenario is not None for run in runs):
        setups = [parameter_sample(run.scenario, int(run.summary["seed"])) for run in runs]
        figures["zone-of-agreement"] = zone_of_agreement(runs, setups)
    return figures


def write_figures(figures: dict[str, Figure], folder: Path) -> list[Path]:
    """Each figure as PNG and SVG in ``folder``; the paths written."""
    return [path for stem, figure in figures.items() for path in save_figure(figure, folder,
                                                                               stem)]


def write_run_figures(out: str | Path, scenario: Scenario) -> list[Path]:
    """The figures of the batch in results folder ``out`` (read back from its files),
    written into ``out/figures``."""
    out = Path(out)
    outcomes, rows = load_outcomes(out, scenario)
    run = RunResults(load_summary(out), outcomes, rows, scenario, out)
    return write_figures(run_figures([run]), out / FIGURES_FOLDER)
