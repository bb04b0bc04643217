"""Which model of a round a calibration replays: its protocol and its information.

The engine can negotiate a round item by item or as one package (``[round] protocol``)
and with red lines known to all or private, learnt by an uninformed mediator in
caucuses (``[information] private``). Whether the Istanbul rounds are better described
one way or the other is a question for the evidence (``sim.calibration.choice``), so a
calibration can replay its rounds under any of them: ``under`` rebuilds each round's
scenario with the two keys set, validated as a file is. A round whose file already
says so is kept as loaded (same hash), so a fit under the files' own model records the
files' hashes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from sim.calibration.evidence import ObservedRound, calibration_scenario_data
from sim.errors import InputError
from sim.scenario.load import build_scenario
from sim.scenario.spec import Protocol

#: How the information settings are named on the command line and in files.
INFORMATION = {"public": False, "private": True}


@dataclass(frozen=True)
class Model:
    """A protocol and an information setting, as a round's scenario file states them."""

    protocol: Protocol
    private: bool

    @property
    def information(self) -> str:
        return "private" if self.private else "public"

    @property
    def key(self) -> str:
        """A name for files and JSON: ``sequential-public``, ``package-private``."""
        return f"{self.protocol.value}-{self.information}"

    @property
    def label(self) -> str:
        """A name for people: ``package, private information``."""
        return f"{self.protocol.value}, {self.information} information"

    def as_dict(self) -> dict[str, str]:
        return {"protocol": self.protocol.value, "information": self.information}


def model_of(rounds: tuple[ObservedRound, ...], path: str | Path) -> Model:
    """The model the rounds' scenario files state; they must agree (``path``: the
    observations file, named in the error)."""
    found = {Model(r.scenario.round.protocol, r.scenario.information.private): r.name
             for r in rounds}
    if len(found) > 1:
        said = "; ".join(f"{name}: {model.label}" for model, name in found.items())
        raise InputError(path, "rounds", "the rounds' scenarios differ in protocol or "
                         f"information ({said}): give --protocol and --information")
    return next(iter(found))


def under(rounds: tuple[ObservedRound, ...], model: Model) -> tuple[ObservedRound, ...]:
    """The rounds with each scenario's ``[round] protocol`` and ``[information] private``
    set to ``model``'s (the text hashed records the change)."""
    changed = []
    for observed in rounds:
        scenario = observed.scenario
        if Model(scenario.round.protocol, scenario.information.private) == model:
            changed.append(observed)
            continue
        data, sources = calibration_scenario_data(Path(scenario.path))
        data["round"]["protocol"] = model.protocol.value
        information = data.setdefault("information", {})
        if isinstance(information, dict):
            information["private"] = model.private
        sources += f"\n# replayed as {model.key}"
        changed.append(replace(observed,
                               scenario=build_scenario(data, scenario.path, sources)))
    return tuple(changed)
