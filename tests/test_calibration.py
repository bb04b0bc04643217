"""Calibration: the ABC-SMC machinery against a closed form, recovery of known
parameters through the engine, determinism, the committed posterior's checks, shifts,
and bad input."""

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.batch.chunks import run_scenario
from sim.calibration import checks
from sim.calibration.abc import StalledError, abc_smc
from sim.calibration.evidence import (
    Fact,
    ObservedRound,
    Prior,
    load_observations,
    load_priors,
)
from sim.calibration.fit import Settings, calibrate, discrepancies, simulate_round
from sim.cli import main
from sim.errors import InputError
from sim.model.parameters import realise
from sim.scenario.load import load_scenario, parse_scenario
from sim.scenario.posterior import manifest_path, read_posterior, write_posterior
from sim.scenario.spec import ScenarioError

ROOT = Path(__file__).resolve().parent.parent
CALIBRATION = ROOT / "calibration"
SCENARIOS = ROOT / "scenarios"


def uniform_prior(*keys, low=0.0, high=1.0) -> Prior:
    k = len(keys)
    return Prior(tuple(keys), ("uniform",) * k, np.full(k, low), np.full(k, high),
                 np.ones(k), np.ones(k), ("test",) * k)


def test_abc_smc_recovers_a_beta_posterior():
    """theta ~ U(0, 1); 14 successes in 20 Bernoulli(theta) trials. Matching the count
    exactly, ABC's posterior is the true one, Beta(15, 7): mean 15/22."""

    def simulate(theta, rng):
        return np.abs(rng.binomial(20, theta[:, 0]) - 14)[:, None].astype(float)

    fit = abc_smc(uniform_prior("theta"), simulate, np.random.default_rng(1), particles=3000,
                  generations=6, quantile=0.3)
    assert fit.generations[-1].epsilon == 0  # exact matching reached
    mean = fit.weights @ fit.particles[:, 0]
    sd = np.sqrt(fit.weights @ (fit.particles[:, 0] - mean) ** 2)
    assert mean == pytest.approx(15 / 22, abs=0.015)
    assert sd == pytest.approx(np.sqrt(15 * 7 / (22**2 * 23)), abs=0.015)


def test_abc_smc_refuses_nan_discrepancies_at_once():
    """A NaN discrepancy (a fact with no number to compare with) is never within
    epsilon: refused in generation 0, naming the statistic, after one simulation."""
    calls = []

    def simulate(theta, rng):
        calls.append(len(theta))
        disc = np.abs(theta - 0.5)
        return np.concatenate([disc, np.full_like(disc, np.nan)], axis=1)

    with pytest.raises(StalledError, match=r"generation 0: .*NaN .*statistic\(s\) \[1\]"):
        abc_smc(uniform_prior("theta"), simulate, np.random.default_rng(0), particles=100)
    assert calls == [100]


def test_abc_smc_stops_when_nothing_can_be_accepted():
    """From generation 1 the simulator never reproduces the fact (a discrepancy above
    any epsilon): the generation stops after its budget, ``patience * particles /
    min_acceptance`` proposals, with an error, instead of proposing for ever."""
    proposed = []

    def simulate(theta, rng):
        proposed.append(len(theta))
        return np.full((len(theta), 1), 0.0 if len(proposed) == 1 else 1.0)

    with pytest.raises(StalledError, match=r"generation 1: 0 of 2,500 proposals"):
        abc_smc(uniform_prior("theta"), simulate, np.random.default_rng(0), particles=100,
                min_acceptance=0.2, patience=5)
    assert sum(proposed[1:]) == 2500


def test_prior_transform_round_trips_and_keeps_the_density():
    prior, _ = load_priors(CALIBRATION / "priors.toml",
                           (load_scenario(SCENARIOS / "june-20-30-2025.toml"),))
    theta = prior.sample(1000, np.random.default_rng(0))
    assert np.all((theta >= prior.low) & (theta <= prior.high))
    assert np.allclose(prior.from_free(prior.to_free(theta)), theta)
    # the free-space density integrates to one along each axis (numerically, 1-D)
    one = Prior(prior.keys[1:2], prior.kinds[1:2], prior.low[1:2], prior.high[1:2],
                prior.shape_a[1:2], prior.shape_b[1:2], prior.why[1:2])
    z = np.linspace(-30, 30, 200_001)[:, None]
    assert np.trapezoid(one.free_density(z), z[:, 0]) == pytest.approx(1.0, abs=1e-3)


def synthetic_rounds(rounds, prior, truth, copies: int, seed: int):
    """``copies`` replays of each observed round under ``truth``, reported the way the
    real rounds are: exact values, and ranges of the same width around the simulated
    value where the real report is a range; an issue not agreed (NaN) is reported at
    the fact's ``missing`` value, as the real reports are read."""
    rng = np.random.default_rng(seed)
    made = []
    for observed in rounds:
        outcomes = simulate_round(observed, prior, np.repeat(truth, copies, axis=0), rng)
        for c in range(copies):
            row = outcomes.iloc[c]
            facts = tuple(f.reported_as(float(row[f.column])) for f in observed.facts)
            assert all(np.isfinite([f.low, f.high]).all() for f in facts)
            made.append(ObservedRound(f"{observed.name}-{c}", observed.date,
                                      observed.scenario, facts))
    return tuple(made)


def test_recovers_known_parameters_from_rounds_it_generated():
    """Three replays of each round under a known theta* stand in for reports; the fit
    must put theta* inside its 95% interval for every parameter and, for the two the
    real rounds pin down (Russia's exchange willingness and concession), put its mean
    nearer theta* than the prior mean is."""
    rounds, _ = load_observations(CALIBRATION / "observations.toml")
    prior, _ = load_priors(CALIBRATION / "priors.toml", tuple(r.scenario for r in rounds))
    truth = np.array([[0.8, 0.4, 2.0, 120, 120, 0.8, 0.2, 0.15, 0.3]])
    assert prior.keys[:2] == ("parties.russia.exchange_willingness",
                              "parties.russia.concession")
    synthetic = synthetic_rounds(rounds, prior, truth, copies=3, seed=5)
    fit = calibrate(synthetic, prior, Settings(particles=500, generations=5, seed=3))
    table = checks.identifiability(prior, fit.particles, fit.weights)
    lo = [checks._weighted_quantile(fit.particles[:, j], fit.weights, 0.025)
          for j in range(len(prior.keys))]
    hi = [checks._weighted_quantile(fit.particles[:, j], fit.weights, 0.975)
          for j in range(len(prior.keys))]
    assert np.all((np.array(lo) <= truth[0]) & (truth[0] <= np.array(hi))), table
    for j in (0, 1):
        row = table.iloc[j]
        assert abs(row.posterior_mean - truth[0, j]) < abs(row.prior_mean - truth[0, j])


def test_same_seed_same_posterior_other_seed_other_posterior():
    rounds, _ = load_observations(CALIBRATION / "observations.toml")
    prior, _ = load_priors(CALIBRATION / "priors.toml", tuple(r.scenario for r in rounds))
    a = calibrate(rounds, prior, Settings(particles=100, generations=2, seed=4))
    b = calibrate(rounds, prior, Settings(particles=100, generations=2, seed=4))
    c = calibrate(rounds, prior, Settings(particles=100, generations=2, seed=5))
    assert np.array_equal(a.particles, b.particles) and np.array_equal(a.weights, b.weights)
    assert not np.array_equal(a.particles, c.particles)


def test_committed_posterior_reproduces_the_reported_rounds():
    """The posterior predictive gives every reported fact at least the prior's
    probability (within Monte Carlo error), and each round's facts jointly more."""
    rounds, _ = load_observations(CALIBRATION / "observations.toml")
    prior, _ = load_priors(CALIBRATION / "priors.toml", tuple(r.scenario for r in rounds))
    posterior = read_posterior(CALIBRATION / "posterior.parquet")
    assert posterior.keys == prior.keys
    draws = 4000
    rng = np.random.default_rng(0)
    theta = checks.draw_particles(posterior.particles, posterior.weights, draws, rng)
    post = checks.predictive(rounds, prior, theta, np.random.default_rng(1))
    base = checks.predictive(rounds, prior, prior.sample(draws, rng), np.random.default_rng(1))
    # three binomial standard errors of the difference of two independent estimates
    error = 3 * np.sqrt((post["p"] * (1 - post["p"]) + base["p"] * (1 - base["p"])) / draws)
    assert np.all(post["p"] >= base["p"] - error), pd.concat([post, base["p"]], axis=1)
    whole = post["fact"] == "ALL"
    assert np.all(post.loc[whole, "p"] > base.loc[whole, "p"] + error[whole])
    assert post.loc[post["round"] == "r2", "p"].iloc[:-1].min() > 0.5
    table = checks.identifiability(prior, posterior.particles, posterior.weights)
    assert (table.set_index("parameter").loc[["parties.russia.exchange_willingness",
                                              "parties.russia.concession"], "contraction"]
            > checks.PINNED).all()


def test_scenarios_draw_from_the_posterior_with_their_shifts():
    june = load_scenario(SCENARIOS / "june-20-30-2025.toml")
    pressure = load_scenario(SCENARIOS / "june-20-30-2025-us-pressure.toml")
    assert [s.key for s in pressure.shifts] == [
        "parties.russia.exchange_willingness",
        "parties.russia.issues.ceasefire.conditions_red_line"]  # shifts add up on extends
    frame = run_scenario(june, runs=400, seed=0)
    assert frame["draw_id"].between(0, len(june.posterior.weights) - 1).all()
    setup = realise(june, 300, np.random.default_rng(2))
    drawn = june.posterior.particles[setup.draw_id, 0]  # Russia's exchange willingness
    expected = np.minimum(drawn + 0.1, 1.0)
    i = june.agenda.index("children")  # Russia wants less: its red line scales with it
    russia = [p.key for p in june.parties].index("russia")
    nominal = np.round(realise(june, 300, np.random.default_rng(2)).red_line[:, russia, i]
                       / expected, 6)
    assert np.all(nominal >= 0.99) and np.all(nominal <= 2.01)  # the file's [1, 2] levels
    sources = pressure.parameter_sources()
    assert sources["posterior"]["sha256"] == june.posterior.sha256
    assert [s["add"] for s in sources["shifts"]] == [0.1, -0.1]


def test_shift_scales_adds_and_clips():
    text = (SCENARIOS / "classroom-two-party.toml").read_text() + """
[[shift]]
key = "parties.southland.exchange_willingness"
scale = 3.0
why = "test"
"""
    scenario = parse_scenario(text, SCENARIOS / "classroom-two-party.toml")
    setup = realise(scenario, 1, np.random.default_rng(0))
    # willingness 0.5 * 3 clipped to 1: Southland goes all the way to its red line 1400
    assert setup.red_line[0, 1, 1] == 1400.0


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


OBS_HEADER = f"""
[rounds.r2]
scenario = "{SCENARIOS / 'istanbul-2025-06-02.toml'}"
"""


@pytest.mark.parametrize("body, key, message", [
    ("rounds = 3", "rounds", "needs at least one"),
    ('[[rounds.r2.observed]]\ncolumn = "pow_exchange"\nvalue = 1\nscale = 1\nsource = "x"',
     "rounds.r2.observed[0].column", "did you mean 'pow_exchange_value'"),
    ('[[rounds.r2.observed]]\ncolumn = "children_value"\nvalue = 5\nscale = 1\n'
     'source = "x"', "rounds.r2.observed[0].value", "can only be within [0, 2]"),
    ('[[rounds.r2.observed]]\ncolumn = "walkout"\nvalue = 0\nrange = [0, 1]\nscale = 1\n'
     'source = "x"', "rounds.r2.observed[0]", "exactly one of value"),
    ('[[rounds.r2.observed]]\ncolumn = "walkout"\nvalue = 0\nscale = 0\nsource = "x"',
     "rounds.r2.observed[0].scale", "must be > 0"),
])
def test_bad_observations(tmp_path, body, key, message):
    text = body if body.startswith("rounds =") else OBS_HEADER + body
    path = write(tmp_path, "obs.toml", text)
    with pytest.raises(InputError) as caught:
        load_observations(path)
    assert caught.value.key == key and message in str(caught.value)
    assert str(path) in str(caught.value)


def test_observations_that_are_not_toml(tmp_path):
    with pytest.raises(InputError, match="is not valid TOML"):
        load_observations(write(tmp_path, "obs.toml", "[rounds\n"))


PRIOR = '[parameters."{key}"]\ndistribution = "{kind}"\nlow = {low}\nhigh = {high}\nwhy = "w"\n'


@pytest.mark.parametrize("key, kind, low, high, message", [
    ("parties.russia.patience", "uniform", 90, 30, "impossible support: low 90 must be < high"),
    ("parties.russia.exchange_willingness", "uniform", 0.2, 1.5,
     "impossible support [0.2, 1.5]: the parameter can only be within [0, 1]"),
    ("parties.russia.concession", "loguniform", 0, 2, "needs low > 0"),
    ("parties.russia.patiense", "uniform", 10, 20, "did you mean 'parties.russia.patience'"),
    ("parties.russia.patience", "normal", 10, 20, "Allowed: uniform, loguniform, beta"),
    ("mediator.credibility", "beta", 0, 0.5, "a beta prior needs a > 0 and b > 0"),
])
def test_bad_priors(tmp_path, key, kind, low, high, message):
    path = write(tmp_path, "priors.toml", PRIOR.format(key=key, kind=kind, low=low, high=high))
    with pytest.raises(InputError) as caught:
        load_priors(path, (load_scenario(SCENARIOS / "june-20-30-2025.toml"),))
    assert message in str(caught.value) and str(path) in str(caught.value)


def test_a_posterior_fitted_to_other_parties_is_refused(tmp_path):
    posterior = tmp_path / "posterior.parquet"
    write_posterior(posterior, ("parties.north.patience",), np.ones((3, 1)), np.ones(3), {})
    text = (SCENARIOS / "classroom-two-party.toml").read_text() + (
        f'\n[posterior]\nfile = "{posterior}"\n')
    with pytest.raises(ScenarioError, match="fitted to other parties"):
        parse_scenario(text, tmp_path / "s.toml")


def test_calibrate_command_writes_posterior_and_manifest(tmp_path, capsys):
    out = tmp_path / "fit"
    code = main(["calibrate", "--particles", "60", "--generations", "1", "--out", str(out)])
    assert code == 0
    posterior = read_posterior(out / "posterior.parquet")
    assert len(posterior.weights) == 60
    import json
    manifest = json.loads(manifest_path(out / "posterior.parquet").read_text())
    for key in ("epsilon_schedule", "acceptance_rates", "simulations", "inputs_sha256",
                "versions", "settings", "posterior_sha256"):
        assert key in manifest
    assert "seconds" not in manifest  # a clock in the file: two runs would differ
    assert manifest["posterior_sha256"] == posterior.sha256
    assert "generation 1: epsilon" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["posterior-manifest.json",
                                                     "posterior.parquet"]


def test_calibrate_writes_into_results_unless_told(tmp_path, monkeypatch, capsys):
    """By default into results/calibration/ (relative to where it runs); the folder
    of the observations (the committed calibration/) only with --write-committed."""
    committed = tmp_path / "calibration"
    committed.mkdir()
    for name in ("observations.toml", "priors.toml"):
        text = (CALIBRATION / name).read_text().replace('"../scenarios/',
                                                        f'"{SCENARIOS}/')
        (committed / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    small = ["--particles", "50", "--generations", "1", "--observations",
             "calibration/observations.toml", "--priors", "calibration/priors.toml"]
    assert main(["calibrate", *small]) == 0
    assert (tmp_path / "results" / "calibration" / "posterior.parquet").is_file()
    assert not (committed / "posterior.parquet").exists()
    for bad, message in (
            (["--out", "calibration"], "--out calibration: holds the committed posterior"),
            (["--out", "./calibration/"], "pass --write-committed"),
            (["--out", "x/posterior.parquet"], "give a folder"),
            (["--out", "o", "--write-committed"], "--out and --write-committed: give one")):
        capsys.readouterr()
        assert main(["calibrate", *small, *bad]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and err.count("\n") == 1
    assert not (committed / "posterior.parquet").exists()
    assert main(["calibrate", *small, "--write-committed"]) == 0
    assert (committed / "posterior.parquet").read_bytes() == (
        tmp_path / "results" / "calibration" / "posterior.parquet").read_bytes()


def test_an_interrupted_calibration_leaves_the_posterior_alone(tmp_path, monkeypatch):
    out = tmp_path / "fit"
    out.mkdir()
    shutil.copy(CALIBRATION / "posterior.parquet", out / "posterior.parquet")
    before = (out / "posterior.parquet").read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("sim.cli.calibrate.calibrate", interrupted)
    assert main(["calibrate", "--particles", "60", "--out", str(out)]) == 130
    assert (out / "posterior.parquet").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["posterior.parquet"]


def test_a_fit_that_cannot_go_on_exits_2_in_one_line(tmp_path, monkeypatch, capsys):
    def stalled(*args, **kwargs):
        raise StalledError("generation 3: 0 of 1,000 proposals within epsilon 0.1")

    monkeypatch.setattr("sim.cli.calibrate.calibrate", stalled)
    assert main(["calibrate", "--particles", "60", "--out", str(tmp_path / "fit")]) == 2
    err = capsys.readouterr().err
    assert "calibration/observations.toml: the fit cannot go on: generation 3" in err
    assert "Traceback" not in err and err.count("\n") == 1
    assert not (tmp_path / "fit").exists()


def test_bad_calibration_input_exits_2_without_traceback(tmp_path, capsys):
    bad = write(tmp_path, "priors.toml", PRIOR.format(key="parties.russia.patience",
                                                      kind="uniform", low=1, high=99999))
    assert main(["calibrate", "--priors", str(bad), "--out", str(tmp_path / "fit")]) == 2
    err = capsys.readouterr().err
    assert "impossible support" in err and "Traceback" not in err
    assert not (tmp_path / "fit").exists()


def test_discrepancy_is_zero_inside_the_reported_range():
    fact = Fact("duration_minutes", 55, 75, 10, "s")
    assert fact.discrepancy(np.array([50.0, 60.0, 80.0])).tolist() == [0.5, 0.0, 0.5]
    observed = load_observations(CALIBRATION / "observations.toml")[0][1]
    outcomes = pd.DataFrame({f.column: [f.low] for f in observed.facts})
    assert not discrepancies(observed, outcomes).any()


def test_run_records_the_posterior_and_the_shifts(tmp_path):
    import json
    out = tmp_path / "pressure"
    assert main(["run", str(SCENARIOS / "june-20-30-2025-us-pressure.toml"), "--runs", "300",
                 "--workers", "1", "--no-plots", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    posterior = read_posterior(CALIBRATION / "posterior.parquet")
    assert summary["parameters"]["posterior"]["sha256"] == posterior.sha256
    assert [s["key"] for s in summary["parameters"]["shifts"]] == [
        "parties.russia.exchange_willingness",
        "parties.russia.issues.ceasefire.conditions_red_line"]
    manifest = json.loads((out / "manifest.json").read_text())
    # the summary adds which of them the data leave near their prior (from checks.json)
    assert manifest["parameters"] == {k: v for k, v in summary["parameters"].items()
                                      if k != "unidentified"}
    assert summary["parameters"]["unidentified"]["source"] == "calibration/checks.json"
