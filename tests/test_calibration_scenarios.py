"""The scenarios follow the calibration: every Istanbul file states the model the
evidence favours (``calibration/protocols.json``) and draws from the posterior fitted
under it; the variant files keep the other protocol reachable, each with the posterior
fitted under its own model; the README's June table is what ``make run`` prints."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sim.calibration.evidence import load_observations
from sim.calibration.models import Model, model_of
from sim.cli import main
from sim.scenario.load import load_scenario
from sim.scenario.posterior import read_posterior
from sim.scenario.spec import Protocol

ROOT = Path(__file__).resolve().parent.parent
CALIBRATION = ROOT / "calibration"
SCENARIOS = ROOT / "scenarios"
# the -track variant draws from the track record's posterior (tests/test_hierarchy*.py)
ISTANBUL = sorted(p for p in [*SCENARIOS.glob("istanbul-*.toml"), *SCENARIOS.glob("june-*.toml")]
                  if not p.stem.endswith("-track"))


def favoured() -> dict:
    result = json.loads((CALIBRATION / "protocols.json").read_text())
    return next(m for m in result["models"] if m["key"] == result["favoured"])


def model(scenario) -> Model:
    return Model(scenario.round.protocol, scenario.information.private)


@pytest.mark.parametrize("path", ISTANBUL, ids=lambda p: p.name)
def test_every_istanbul_scenario_draws_from_the_posterior_of_its_own_model(path):
    """A file of the favoured model draws from the committed posterior; a variant of
    the other protocol from that model's fit in calibration/protocols/ (the same
    parameters mean other things under another protocol)."""
    scenario = load_scenario(path)
    best = favoured()
    if model(scenario).key == best["key"]:
        assert Path(scenario.posterior.path).resolve() == (
            CALIBRATION / "posterior.parquet").resolve()
    else:
        assert scenario.round.protocol.value != best["protocol"], path.name
        own = CALIBRATION / "protocols" / f"{model(scenario).key}.parquet"
        assert Path(scenario.posterior.path).resolve() == own.resolve()
        manifest = json.loads((CALIBRATION / "protocols"
                               / f"{model(scenario).key}-manifest.json").read_text())
        assert manifest["model"] == {"protocol": scenario.round.protocol.value,
                                     "information": model(scenario).information}


def test_the_reported_rounds_state_the_favoured_model_and_a_variant_the_other():
    rounds, _ = load_observations(CALIBRATION / "observations.toml")
    best = favoured()
    assert model_of(rounds, "observations").key == best["key"]
    committed = read_posterior(CALIBRATION / "posterior.parquet")
    assert committed.sha256 == best["posterior_sha256"]  # the same fit, to the byte
    protocols = {load_scenario(p).round.protocol for p in ISTANBUL}
    assert protocols == set(Protocol)  # the other protocol is reachable


def readme_table() -> str:
    text = (ROOT / "README.md").read_text()
    found = re.search(r"`make run` prints.*?```\n(.*?)```", text, re.S)
    assert found, "README has no table after '`make run` prints'"
    return found.group(1)


def test_the_readme_june_table_is_what_make_run_prints(tmp_path, capsys):
    """The Makefile's run target (its scenario, default runs and seed): the table it
    prints, line for line, is the README's."""
    makefile = (ROOT / "Makefile").read_text()
    command = re.search(r"^run:.*\n\t\$\(VENV\)/bin/negsim (run \S+)", makefile, re.M)
    assert command and command.group(1) == "run scenarios/june-20-30-2025.toml"
    assert main(["run", str(SCENARIOS / "june-20-30-2025.toml"), "--no-plots",
                 "--out", str(tmp_path / "june")]) == 0
    printed = capsys.readouterr().out
    table = printed[:printed.index("\nwrote ")].strip("\n")
    assert readme_table().strip("\n") == table
