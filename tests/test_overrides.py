"""Changing scenario keys from code (sweeps, what-if levers)."""

from pathlib import Path

import pytest

from sim.scenario.load import load_scenario, read_scenario_data
from sim.scenario.overrides import get_value, shift, with_values
from sim.scenario.spec import ScenarioError

JUNE = Path(__file__).resolve().parent.parent / "scenarios" / "june-20-30-2025.toml"


def test_with_values_changes_only_the_named_keys():
    base = load_scenario(JUNE)
    changed = with_values(JUNE, {"context.third_party_pressure": 0.7,
                                 "parties.russia.patience": [30, 40]})
    assert changed.context.third_party_pressure.low == 0.7
    assert (changed.parties[1].patience.low, changed.parties[1].patience.high) == (30, 40)
    assert changed.parties[0] == base.parties[0] and changed.sha256 != base.sha256


def test_changes_are_validated_like_a_file():
    with pytest.raises(ScenarioError, match="parties.russia.patience: -3 is out of range"):
        with_values(JUNE, {"parties.russia.patience": -3})
    with pytest.raises(ScenarioError, match="parties.nobody: no such table"):
        with_values(JUNE, {"parties.nobody.patience": 3})


def test_shift_numbers_and_ranges():
    data, _ = read_scenario_data(JUNE)
    assert get_value(data, "parties.russia.exchange_willingness", JUNE) == [0.6, 1.0]
    assert shift([0.6, 1.0], -0.1) == pytest.approx([0.5, 0.9])
    assert shift(60, 0.2, relative=True) == pytest.approx(72)
