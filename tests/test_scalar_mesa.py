"""The benchmark's baseline (experiments/scalar_mesa.py: one plain Mesa model per
replicate, Python floats) is the same model: identical outcomes to the numpy engine on
every shipped scenario of what it implements (sequential rounds, public information, no
levers: bench.py's June round among them), so that experiments/bench.py compares like
with like."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from sim.batch.chunks import chunk_rng
from sim.model.parameters import realise
from sim.model.round import NegotiationRound
from sim.scenario.load import load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted(p for p in (ROOT / "scenarios").glob("*.toml")
                   if not p.name.startswith("campaign-"))


def scalar_mesa():
    spec = importlib.util.spec_from_file_location("scalar_mesa",
                                                  ROOT / "experiments" / "scalar_mesa.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BASELINE = scalar_mesa()


def assert_same(setup) -> None:
    expected = NegotiationRound(setup).run().outcomes()
    got = BASELINE.run_scalar(setup)
    assert list(got) == list(expected)
    for column, values in expected.items():
        np.testing.assert_array_equal(got[column], values, err_msg=column, strict=True)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_the_scalar_mesa_baseline_gives_the_engine_s_outcomes(path):
    scenario = load_scenario(path)
    setup = realise(scenario, 600, chunk_rng(5, 0))
    try:
        BASELINE.supported(setup)
    except NotImplementedError:
        pytest.skip(f"{path.name}: not what the baseline implements")
    assert_same(setup)


def test_the_baseline_weighs_leaving_against_a_batna_as_the_engine_does():
    text = (ROOT / "scenarios" / "classroom-two-party.toml").read_text()
    text = text.replace("[parties.northland]\n", "[parties.northland]\nbatna = [0, 0.4]\n"
                        "discount_per_hour = 0.3\n", 1)
    setup = realise(parse_scenario(text, ROOT / "scenarios" / "x.toml"), 600, chunk_rng(5, 0))
    assert (setup.batna > 0).any()
    outcomes = NegotiationRound(setup).run().outcomes()
    assert outcomes["walkout"].any()  # leaving is decided, and sometimes chosen
    assert_same(setup)


def test_june_is_what_the_baseline_implements():
    """bench.py's scenario must not be skipped."""
    BASELINE.supported(realise(load_scenario(ROOT / "scenarios" / "june-20-30-2025.toml"), 1,
                               chunk_rng(0, 0)))
