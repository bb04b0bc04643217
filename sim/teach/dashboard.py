"""The dashboard's model: one replicate of a scenario's round, with the teacher's
slider values applied, stepped a minute at a time (Mesa's SolaraViz drives it).

SolaraViz builds its model from keyword parameters, one per slider. Mesa 3.5 carries
such parameters in a ``mesa.experimental.scenarios.Scenario`` (a parameter object
whose class-level annotations are its defaults), so ``settings_class`` makes one for
the scenario file at hand, with one field per slider named by its scenario key, and
``DashboardRound`` takes it as Mesa's ``scenario``. Nothing here imports Solara: the
page is ``sim.teach.dashboard_app``.

A slider left where it started keeps the file's value (a range stays a range, a drawn
parameter stays drawn); a moved slider sets the key for every replicate
(``levers.scenario_with``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mesa
from mesa.experimental.scenarios import Scenario as MesaScenario

from sim.batch.chunks import run_scenario
from sim.model.round import NegotiationRound
from sim.scenario.load import load_scenario
from sim.scenario.spec import Scenario, ScenarioError
from sim.stats.summary import summarise
from sim.teach.levers import Lever, levers, scenario_with
from sim.teach.trace import replicate_setup

#: Rounds in the outcome-distribution panel (a quick batch, under a second).
DISTRIBUTION_RUNS = 2000


@dataclass(frozen=True)
class SliderSpec:
    """A slider: the scenario key it sets, its label, start value, bounds and step."""

    key: str
    label: str
    value: float
    low: float
    high: float
    step: float


def _start(lever: Lever, fallback: float) -> float:
    """A slider's start: the file's value, the middle of a range; for a drawn value,
    the file's hand-set value (where the calibration started), else ``fallback``."""
    if lever.value is None:
        return fallback
    values = lever.values()
    return sum(values) / len(values)


def _snap(value: float, step: float) -> float:
    """The slider position nearest ``value``."""
    return round(round(value / step) * step, 10)


def slider_specs(scenario: Scenario) -> tuple[SliderSpec, ...]:
    """The dashboard's sliders: each side's red line on every agenda issue (on the
    compound issue: the conditions it sets), its exchange
    willingness and patience; the mediator's pressure. A red line's slider stops at
    the side's ideal (the loader's rule); patience goes to four times its value."""
    by_key = {lever.key: lever for lever in levers(scenario)}
    specs = []
    for party in scenario.parties:
        base = f"parties.{party.key}"
        for spec in scenario.agenda_issues:
            issue, pos = spec.name, party.position(spec.name)
            ceasefire = spec.compound
            name = "conditions_red_line" if ceasefire else "red_line"
            lever = by_key[f"{base}.issues.{issue}.{name}"]
            ideal, red = ((pos.conditions_ideal, pos.conditions_red_line) if ceasefire
                          else (pos.ideal, pos.red_line))
            wants = pos.conditions_wants if ceasefire else pos.wants
            low, high = (lever.low, ideal.low) if wants > 0 else (ideal.high, lever.high)
            step = spec.scale.step if ceasefire or not spec.levelled else 0.1
            start = min(max(_start(lever, (red.low + red.high) / 2), low), high)
            specs.append(SliderSpec(lever.key, lever.label, _snap(start, step), low, high, step))
        for name, step in (("exchange_willingness", 0.05), ("patience", 5.0)):
            lever = by_key[f"{base}.{name}"]
            plain = getattr(party, name)
            start = _start(lever, (plain.low + plain.high) / 2)
            high = lever.high if name == "exchange_willingness" else min(
                lever.high, max(4 * start, 240.0))
            specs.append(SliderSpec(lever.key, lever.label, _snap(start, step), lever.low,
                                    high, step))
    lever = by_key["mediator.pressure"]
    plain = scenario.mediator.pressure
    start = _start(lever, (plain.low + plain.high) / 2)
    specs.append(SliderSpec(lever.key, lever.label, _snap(start, 0.05), lever.low,
                            lever.high, 0.05))
    return tuple(specs)


class DashboardSettings(MesaScenario):
    """Mesa's parameter object for the dashboard: the scenario file, the seed of its
    round, the size of the quick batch; ``settings_class`` adds one field per slider."""

    scenario_file: str = ""
    seed: int = 0
    runs: int = DISTRIBUTION_RUNS


def settings_class(path: str | Path, specs: tuple[SliderSpec, ...],
                   runs: int = DISTRIBUTION_RUNS) -> type[DashboardSettings]:
    """A ``DashboardSettings`` for one scenario file: a field per slider (named by its
    scenario key, defaulting to the slider's start); ``runs`` rounds in the batch."""
    annotations = {"scenario_file": str, "runs": int} | {spec.key: float for spec in specs}
    namespace = {"__annotations__": annotations, "__module__": __name__,
                 "scenario_file": str(Path(path).resolve()), "runs": runs}
    namespace |= {spec.key: spec.value for spec in specs}
    return type("ScenarioSettings", (DashboardSettings,), namespace)


def moved_settings(settings: MesaScenario, specs: tuple[SliderSpec, ...]) -> dict[str, float]:
    """The sliders moved from their start, as scenario keys and values."""
    values = dict(settings)
    return {spec.key: float(values[spec.key]) for spec in specs
            if spec.key in values and abs(float(values[spec.key]) - spec.value) > 1e-12}


class DashboardRound(mesa.Model):
    """One replicate of the scenario's round with the sliders' values, a minute a step.

    ``scenario`` is Mesa's parameter object (a ``settings_class`` instance), not a
    negsim scenario. ``problem`` says why the sliders' values were refused (the file's
    values are used then). ``distribution`` is the outcome distribution of a quick
    batch under the same settings.
    """

    def __init__(self, scenario: DashboardSettings | None = None, rng=None) -> None:
        super().__init__(scenario=scenario, rng=rng)
        settings = self.scenario
        path = settings.scenario_file
        as_filed = load_scenario(path)
        self.specs = slider_specs(as_filed)
        self.moved = moved_settings(settings, self.specs)
        self.problem = ""
        try:
            self.case = scenario_with(path, self.moved, as_filed=as_filed)
        except (ScenarioError, ValueError) as error:
            self.problem = f"{error} (the file's values are used)"
            self.case = as_filed
        seed = int(settings.seed)
        self.round = NegotiationRound(replicate_setup(self.case, seed, 0, 1, 1), record=True)
        results = run_scenario(self.case, int(settings.runs), seed)
        self.distribution = summarise(results, self.case, seed)

    def step(self) -> None:
        """One minute of the round."""
        if self.round.running:
            self.round.step()
        self.running = self.round.running
