"""The dashboard's model: one replicate of a scenario's round, with the sliders the
teacher moved applied, stepped a minute at a time; and the outcome distribution of
the batch it belongs to.

Round R of the dashboard with seed S is replicate R of ``negsim run SCENARIO --seed
S`` (its default ``--runs``, ``BATCH_RUNS``), the round ``negsim trace SCENARIO --seed
S --run R`` tells; a moved slider is ``--set KEY=VALUE`` for both. The distribution
panel is the first ``runs`` rows of that same batch (``batch_rows``), so the round on
screen is one of the rounds counted there (R < runs).

A parameter changes only when its slider is moved: the model receives the moves
alone (``DashboardSettings.moved``), never the positions of the other sliders, so a
slider the browser nudges, or one left where it started, cannot change a round. A
slider's grid is laid through its start (``_grid``), so the browser has no reason to
nudge it either: Vuetify 2's ``VSlider.roundValue`` snaps a value to ``min % step + k
* step``, rounded to the decimals of ``step`` as written — with patience from 1 in steps
of 5, a file's 90 became 91.

Mesa's SolaraViz machinery builds its model from a ``mesa.experimental.scenarios.
Scenario`` (a parameter object whose class-level annotations are its defaults):
``settings_class`` makes one for the file at hand. Nothing here imports Solara: the
page is ``sim.teach.dashboard_app``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import mesa
import pandas as pd
from mesa.experimental.scenarios import Scenario as MesaScenario

from sim.batch.chunks import CHUNK_SIZE, chunk_bounds, chunk_rng
from sim.model.parameters import RoundSetup, realise
from sim.model.round import NegotiationRound
from sim.scenario.load import load_scenario
from sim.scenario.spec import Range, Scenario, ScenarioError
from sim.stats.summary import summarise
from sim.teach.levers import Lever, drawn_keys, levers, scenario_with
from sim.teach.trace import replicate_setup

#: Rounds in the outcome-distribution panel: the first rows of the batch.
DISTRIBUTION_RUNS = 2000

#: The batch a dashboard round is a replicate of: the default ``--runs`` of ``negsim
#: run`` and ``negsim trace`` (tests/test_dashboard.py holds the three together).
BATCH_RUNS = 10_000

#: Rounds the "round" control offers (0 .. ROUNDS - 1).
ROUNDS = 100

#: Most decimals a slider carries (Vuetify writes a step of 1e-7 as "1e-7": no decimals).
MOST_DECIMALS = 4


@dataclass(frozen=True)
class SliderSpec:
    """A slider: the scenario key it sets, the card it sits in (a party's or the
    mediator's name) and its label there; where it starts (on its grid), its bounds
    and step; ``as_filed``, the file's value in words, shown until it is moved."""

    key: str
    group: str
    label: str
    start: float
    low: float
    high: float
    step: float
    as_filed: str

    @property
    def decimals(self) -> int:
        return _decimals(self.step)

    def position(self, value: float) -> float:
        """A value the browser reports, as the slider's position (its decimals)."""
        return round(float(value), self.decimals)

    def show(self, value: float) -> str:
        """A position in words, with the slider's decimals."""
        return f"{value:,.{self.decimals}f}"


def _decimals(value: float) -> int:
    """Decimals of a number as written (``repr``: 0.05 -> 2, 5.0 -> 0)."""
    text = repr(float(value))
    if "e" in text:
        return MOST_DECIMALS
    whole, _, fraction = text.partition(".")
    return 0 if fraction == "0" else len(fraction)


def _grid(start: float, low: float, high: float, step: float, exact: bool
          ) -> tuple[float, float, float, float]:
    """``(start, low, high, step)`` of a slider whose positions ``low + k * step``
    include its start, inside ``[low, high]``. An ``exact`` start (the file's value)
    is kept: the step is refined to 10^-d where the start has more decimals d than the
    step carries (Vuetify rounds every position to the step's decimals); any other
    start (the middle of a range) moves to the nearest whole step. The ends are then
    moved in to whole steps from the start."""
    start = min(max(start, low), high)
    if exact:
        needed = min(_decimals(round(start, MOST_DECIMALS)), MOST_DECIMALS)
        if needed > _decimals(step):
            step = 10.0 ** -needed
    else:
        start = min(max(round(start / step) * step, low), high)
    places = _decimals(step)
    start = round(start, places)
    below = math.floor((start - low) / step + 1e-9)
    above = math.floor((high - start) / step + 1e-9)
    return (start, round(start - below * step, places) + 0.0,
            round(start + above * step, places) + 0.0, step)


def _as_filed(lever: Lever, plain: Range, posterior: frozenset[str]) -> str:
    """The file's value in words: a number, a range, or where a drawn value comes from."""
    if lever.key in posterior:
        return "from the posterior"
    if lever.drawn:
        return "shifted per round"
    if plain.fixed:
        return f"{plain.low:g} (file)"
    return f"{plain.low:g} to {plain.high:g} (file)"


def _start(plain: Range) -> float:
    """A slider's start: the file's value, or the middle of its range."""
    return (plain.low + plain.high) / 2


def _spec(lever: Lever, group: str, label: str, plain: Range, low: float, high: float,
          step: float, posterior: frozenset[str]) -> SliderSpec:
    exact = plain.fixed and not lever.drawn
    start, low, high, step = _grid(_start(plain), low, high, step, exact)
    return SliderSpec(lever.key, group, label, start, low, high, step,
                      _as_filed(lever, plain, posterior))


def slider_specs(scenario: Scenario) -> tuple[SliderSpec, ...]:
    """The dashboard's sliders, party by party, then the mediator's.

    Per party: its red line on every agenda issue (on a compound issue: the conditions
    it sets), its exchange willingness, patience and concession
    exponent beta (Faratin, Sierra & Jennings 1998: below 1 Boulware, above 1
    Conceder). The mediator: pressure and credibility. A red line's slider stops at the
    side's ideal (the loader's rule); patience goes to four times its value (at least
    240 minutes); beta to four times its value (at least 5); the rest span the
    loader's bounds (``Scenario.bounds``).
    """
    by_key = {lever.key: lever for lever in levers(scenario)}
    bounds = {key: (low, high) for key, low, high in scenario.bounds}
    drawn = drawn_keys(scenario)
    posterior = frozenset(scenario.posterior.keys if scenario.posterior is not None else ())
    specs = []

    def add(lever: Lever, group: str, label: str, plain: Range, low: float, high: float,
            step: float) -> None:
        specs.append(_spec(lever, group, label, plain, low, high, step, posterior))

    for party in scenario.parties:
        base = f"parties.{party.key}"
        for spec in scenario.agenda_issues:
            issue, pos = spec.name, party.position(spec.name)
            compound = spec.compound
            name = "conditions_red_line" if compound else "red_line"
            lever = by_key[f"{base}.issues.{issue}.{name}"]
            ideal, red = ((pos.conditions_ideal, pos.conditions_red_line) if compound
                          else (pos.ideal, pos.red_line))
            wants = pos.conditions_wants if compound else pos.wants
            low, high = (lever.low, ideal.low) if wants > 0 else (ideal.high, lever.high)
            step = spec.scale.step if compound or not spec.levelled else 0.1
            add(lever, party.name, lever.label.removeprefix(f"{party.name}: "), red, low,
                high, step)
        willing = by_key[f"{base}.exchange_willingness"]
        add(willing, party.name, "exchange willingness", party.exchange_willingness,
            willing.low, willing.high, 0.05)
        patience = by_key[f"{base}.patience"]
        add(patience, party.name, "patience (minutes)", party.patience, patience.low,
            min(patience.high, max(4 * _start(party.patience), 240.0)), 5.0)
        key = f"{base}.concession"
        low, high = bounds[key]
        concession = Lever(key, f"{party.name}: concession beta", None, low, high, 1,
                           key in drawn)
        add(concession, party.name, "concession beta (below 1: firm)", party.concession, low,
            min(high, max(4 * _start(party.concession), 5.0)), 0.05)
    mediator = scenario.mediator
    for name in ("pressure", "credibility"):
        lever = by_key[f"mediator.{name}"]
        add(lever, f"{mediator.name} (mediator)", name, getattr(mediator, name), lever.low,
            lever.high, 0.05)
    return tuple(specs)


def batch_rows(scenario: Scenario, seed: int, runs: int) -> RoundSetup:
    """Replicates 0 .. runs - 1 of ``negsim run --seed seed`` (``BATCH_RUNS`` rounds):
    the first rows of its first chunk, drawn as that chunk draws them."""
    first, count = chunk_bounds(BATCH_RUNS, CHUNK_SIZE)[0]
    if not 0 < runs <= count:
        raise ValueError(f"runs must be in 1..{count}, got {runs}")
    return realise(scenario, count, chunk_rng(seed, 0)).select(slice(first, first + runs))


class DashboardSettings(MesaScenario):
    """Mesa's parameter object for the dashboard: the scenario file, the seed of its
    batch, the round (replicate) shown, the rounds of the distribution panel, and the
    sliders moved, as ``(scenario key, value)`` pairs."""

    scenario_file: str = ""
    seed: int = 0
    run: int = 0
    runs: int = DISTRIBUTION_RUNS
    moved: tuple[tuple[str, float], ...] = ()


def settings_class(path: str | Path, seed: int = 0, runs: int = DISTRIBUTION_RUNS
                   ) -> type[DashboardSettings]:
    """A ``DashboardSettings`` for one scenario file, batch seed and distribution size."""
    annotations = {"scenario_file": str, "seed": int, "runs": int}
    namespace = {"__annotations__": annotations, "__module__": __name__,
                 "scenario_file": str(Path(path).resolve()), "seed": seed, "runs": runs}
    return type("ScenarioSettings", (DashboardSettings,), namespace)


class DashboardRound(mesa.Model):
    """Round ``run`` of the batch with seed ``seed``, the moved sliders applied, a
    minute a step.

    ``scenario`` is Mesa's parameter object (a ``settings_class`` instance), not a
    negsim scenario. ``moved`` holds the sliders moved; ``problem`` says why they were
    refused (the file's values are used then). ``distribution`` is the summary of the
    first ``runs`` rounds of the same batch under the same settings.
    """

    def __init__(self, scenario: DashboardSettings | None = None, rng=None) -> None:
        super().__init__(scenario=scenario, rng=rng)
        settings = self.scenario
        path = settings.scenario_file
        as_filed = load_scenario(path)
        self.sliders = slider_specs(as_filed)
        self.seed, self.run, self.runs = int(settings.seed), int(settings.run), int(settings.runs)
        self.moved = {key: float(value) for key, value in settings.moved}
        self.problem = ""
        known = {spec.key for spec in self.sliders}
        try:
            unknown = sorted(set(self.moved) - known)
            if unknown:
                raise ValueError(f"no slider sets {', '.join(unknown)}")
            self.case = scenario_with(path, self.moved, as_filed=as_filed)
        except (ScenarioError, ValueError) as error:
            self.problem = f"{error} (the file's values are used)"
            self.case = as_filed
        self.round = NegotiationRound(
            replicate_setup(self.case, self.seed, self.run, BATCH_RUNS), record=True)
        rows = batch_rows(self.case, self.seed, self.runs)
        table = pd.DataFrame(NegotiationRound(rows).run().outcomes())
        table["draw_id"] = rows.draw_id  # the spread across posterior draws, as run's
        self.distribution = summarise(table, self.case, self.seed)

    def step(self) -> None:
        """One minute of the round."""
        if self.round.running:
            self.round.step()
        self.running = self.round.running
