"""Model choice between the protocols: the ABC model choice against a closed form and on
rounds one protocol generated; the committed ``calibration/protocols.json`` is what the
code makes from the committed posteriors of each model; the command's files are the
same bytes twice; bad combinations of options are refused in one line."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from scipy import special

from sim.calibration import choice
from sim.calibration.evidence import ObservedRound, load_observations, load_priors
from sim.calibration.fit import Settings, simulate_round
from sim.calibration.models import Model, model_of, under
from sim.cli import main
from sim.report import protocols
from sim.report.calibration import compute_checks
from sim.scenario.posterior import WEIGHT
from sim.scenario.spec import Protocol

ROOT = Path(__file__).resolve().parent.parent
CALIBRATION = ROOT / "calibration"
REMAKE = "negsim calibrate --compare-protocols --write-committed"
SEQUENTIAL, PACKAGE = Protocol.SEQUENTIAL, Protocol.PACKAGE


def real_rounds():
    rounds, _ = load_observations(CALIBRATION / "observations.toml")
    prior, _ = load_priors(CALIBRATION / "priors.toml", tuple(r.scenario for r in rounds))
    return rounds, prior


# ------------------------------------------------------------------- the choice itself
def test_abc_model_choice_recovers_a_closed_form_bayes_factor():
    """14 successes in 20 trials. Model a: theta ~ U(0, 1), so the count is uniform on
    0..20 and P(14) = 1/21. Model b: theta ~ U(0, 1/2), P(14) = 2/21 I_{1/2}(15, 7).
    Accepting exact matches (epsilon 0), the ABC Bayes factor estimates the true
    1 / (2 I_{1/2}(15, 7)) = 6.33..., and its interval covers it."""
    truth = 1 / (2 * special.betainc(15, 7, 0.5))
    n = 400_000

    def simulator(high):
        def replay(theta, rng):
            return np.abs(rng.binomial(20, theta[:, 0] * high) - 14)[:, None].astype(float)
        return replay

    def sample(size, rng):
        return rng.uniform(0, 1, (size, 1))

    distances = choice.prior_predictive_distances(
        sample, {"a": simulator(1.0), "b": simulator(0.5)}, n, seed=3)
    result = choice.model_choice(distances, 0.0)
    assert result["favoured"] == "a"
    assert result["rate"]["a"] == pytest.approx(1 / 21, abs=4 * np.sqrt(1 / 21 / n))
    bf = result["bayes_factor"]["b"]
    assert abs(np.log(bf["value"]) - np.log(truth)) < 3 * bf["log_se"]
    assert bf["low"] < truth < bf["high"]
    assert bf["high"] / bf["low"] < 1.3  # 400,000 draws pin it to within a few percent
    assert result["probability"]["a"] == pytest.approx(truth / (1 + truth), abs=0.01)


def test_bayes_factor_with_a_model_that_accepts_nothing_is_a_bound():
    """Nothing accepted under b: no value, an exact lower bound (Clopper-Pearson on the
    share of a's among all accepted: 30 of 30 gives 0.025^(1/30)), no upper end."""
    a = np.zeros(1000, dtype=bool)
    a[:30] = True
    b = np.zeros(1000, dtype=bool)
    bf = choice.bayes_factor(a, b)
    share = 0.025 ** (1 / 30)
    assert bf["value"] is None and bf["high"] is None and bf["log_se"] is None
    assert bf["low"] == pytest.approx(share / (1 - share))
    assert choice.bayes_factor(b, b) == {"value": None, "log_se": None, "low": None,
                                         "high": None}
    reverse = choice.bayes_factor(b, a)
    assert reverse["value"] == 0 and reverse["low"] == 0
    assert reverse["high"] == pytest.approx((1 - share) / share)


def test_paired_draws_shrink_the_error_of_the_bayes_factor():
    """The same draws accepted under both models (perfectly correlated): the delta
    method's variance of log(k_a / k_b) is that of log(1 + extra / shared), well below
    the independent formula's."""
    rng = np.random.default_rng(0)
    shared = rng.random(20_000) < 0.05
    extra = rng.random(20_000) < 0.01
    a, b = shared | extra, shared
    paired = choice.bayes_factor(a, b)["log_se"]
    p_a, p_b = a.mean(), b.mean()
    independent = np.sqrt(((1 - p_a) / p_a + (1 - p_b) / p_b) / len(a))
    assert paired < 0.5 * independent


def synthetic(rounds, prior, model: Model, truth: np.ndarray, seed: int):
    """One replay of each round under ``model`` and ``truth``, reported as the real
    rounds are (exact values; ranges of the real width around the simulated value)."""
    made = []
    for observed in under(rounds, model):
        row = simulate_round(observed, prior, truth, np.random.default_rng(seed)).iloc[0]
        facts = tuple(f.reported_as(float(row[f.column])) for f in observed.facts)
        made.append(ObservedRound(observed.name, observed.date, observed.scenario, facts))
    return tuple(made)


@pytest.mark.parametrize("generator", [SEQUENTIAL, PACKAGE])
def test_model_choice_favours_the_protocol_that_made_the_rounds(generator):
    """Rounds one protocol generated (public information, a known parameter vector):
    the ABC model choice between the protocols favours it, its Bayes factor's
    interval above 1, at every tolerance where either model accepts a draw."""
    rounds, prior = real_rounds()
    truth = np.array([[0.8, 0.4, 2.0, 120, 120, 0.8, 0.2, 0.15, 0.3]])
    made = synthetic(rounds, prior, Model(generator, False), truth, seed=11)
    models = (Model(SEQUENTIAL, False), Model(PACKAGE, False))
    result = protocols.model_choice(made, prior, models, draws=6000, seed=2,
                                    tolerances=(0.5, 1.0, 2.0))
    answered = [row for row in result["by_tolerance"] if row["favoured"] is not None]
    assert answered, result
    for row in answered:
        assert row["favoured"] == Model(generator, False).key, row
        (bf,) = row["bayes_factor"].values()
        assert bf["low"] > 1, row


# ------------------------------------------------------------------------ the models
def test_rounds_replayed_under_another_model():
    """The files' own model keeps each round as loaded (its hash too); another sets
    both keys and records the change in the hash."""
    rounds, _ = real_rounds()
    own = model_of(rounds, "obs")
    assert under(rounds, own) == rounds
    other = Model(PACKAGE if own.protocol is SEQUENTIAL else SEQUENTIAL, not own.private)
    changed = under(rounds, other)
    for was, now in zip(rounds, changed, strict=True):
        assert now.scenario.round.protocol is other.protocol
        assert now.scenario.information.private is other.private
        assert now.scenario.sha256 != was.scenario.sha256 and now.facts == was.facts


# ------------------------------------------------------------------------ the command
SMALL = ["--particles", "60", "--generations", "1", "--draws", "200", "--choice-draws",
         "400"]


def test_compare_protocols_writes_the_same_bytes_twice(tmp_path):
    """Two processes (different hash seeds), same command: protocols.json, every
    model's posteriors and manifests and the figure, byte for byte; the favoured
    model's fit is the one ``negsim calibrate --protocol --information`` makes."""
    outs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"run-{hash_seed}"
        done = subprocess.run(
            [sys.executable, "-m", "sim.cli", "calibrate", "--compare-protocols",
             "--information", "public", *SMALL, "--seed", "5", "--out", str(out)],
            cwd=ROOT, capture_output=True, text=True, timeout=600,
            env=os.environ | {"PYTHONHASHSEED": hash_seed})
        assert done.returncode == 0, done.stderr
        outs.append(out)
    files = sorted(str(p.relative_to(outs[0])) for p in outs[0].rglob("*") if p.is_file())
    assert files == sorted(
        ["protocols.json", "figures/protocols.png", "figures/protocols.svg"]
        + [f"protocols/{key}{part}" for key in ("sequential-public", "package-public")
           for part in (".parquet", "-manifest.json", "-held-out.parquet",
                        "-held-out-manifest.json")])
    for name in files:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    result = json.loads((outs[0] / "protocols.json").read_text())
    assert [m["key"] for m in result["models"]] == ["sequential-public", "package-public"]
    for entry in result["models"]:
        data = (outs[0] / "protocols" / f"{entry['key']}.parquet").read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["posterior_sha256"]
        manifest = json.loads(
            (outs[0] / "protocols" / f"{entry['key']}-manifest.json").read_text())
        assert manifest["model"] == {"protocol": entry["protocol"],
                                     "information": entry["information"]}
    single = tmp_path / "single"
    assert main(["calibrate", "--protocol", "package", "--information", "public",
                 *SMALL[:4], "--seed", "5", "--out", str(single)]) == 0
    assert (single / "posterior.parquet").read_bytes() == (
        outs[0] / "protocols" / "package-public.parquet").read_bytes()


@pytest.mark.parametrize("extra, message", [
    (["--compare-protocols", "--protocol", "package"], "drop --protocol and --report"),
    (["--compare-protocols", "--report"], "drop --protocol and --report"),
    (["--protocol", "package", "--information", "private", "--write-committed"],
     "--write-committed: the committed posterior is what the scenarios draw from"),
])
def test_bad_model_options_exit_2_in_one_line(tmp_path, capsys, monkeypatch, extra,
                                              message):
    monkeypatch.chdir(tmp_path)
    observations = tmp_path / "calibration" / "observations.toml"
    observations.parent.mkdir()
    observations.write_text((CALIBRATION / "observations.toml").read_text().replace(
        '"../scenarios/', f'"{ROOT / "scenarios"}/'))
    (tmp_path / "calibration" / "priors.toml").write_text(
        (CALIBRATION / "priors.toml").read_text())
    own = model_of(load_observations(observations)[0], observations)
    if "--write-committed" in extra and own == Model(PACKAGE, True):
        extra = ["--protocol", "sequential", "--write-committed"]
    code = main(["calibrate", "--observations", str(observations), "--priors",
                 str(tmp_path / "calibration" / "priors.toml"), *SMALL[:4], *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err and err.count("\n") == 1
    assert not any(p.is_file() and p.suffix != ".toml" for p in tmp_path.rglob("*"))


def test_an_unknown_protocol_is_refused_with_what_is_allowed(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["calibrate", "--protocol", "bundle"])
    assert caught.value.code == 2
    assert "choose from 'package', 'sequential'" in capsys.readouterr().err


# ------------------------------------------------------- the committed comparison
def committed() -> dict:
    return json.loads((CALIBRATION / protocols.RESULT).read_text())


def model_of_entry(entry: dict) -> Model:
    return Model(Protocol(entry["protocol"]), entry["information"] == "private")


def stored(name: str) -> tuple[np.ndarray, np.ndarray]:
    """A committed posterior's particles and weights exactly as written."""
    table = pq.read_table(CALIBRATION / protocols.FOLDER / f"{name}.parquet").to_pandas()
    return (table.drop(columns=WEIGHT).to_numpy(dtype=float),
            table[WEIGHT].to_numpy(dtype=float))


#: The fresh recomputation of the committed comparison uses fewer draws than the
#: command (it would take minutes): the other models' checks from ``FRESH_DRAWS``
#: predictive replays, the model choice from the first ``choice.CHUNK`` of the
#: committed prior draws (chunk c is drawn from the seed and c alone: the same draws).
FRESH_DRAWS = 2_000


def tolerance(p: float, draws: int, fresh: int | None = None) -> float:
    """Four Monte Carlo standard errors of the difference between the committed
    estimate (``draws``) and a fresh one (``fresh`` draws, independent or a subset:
    the independent case is the wider), plus one fresh draw. Four, not two: well over
    a hundred probabilities are compared, and one honest estimate in twenty lies
    beyond two standard errors."""
    fresh = fresh or draws
    return 4 * np.sqrt(p * (1 - p) * (1 / draws + 1 / fresh)) + 1 / fresh


def test_committed_model_posteriors_are_those_protocols_json_names():
    """Each model's posteriors (all rounds; all but the last) have the hashes
    protocols.json records, and manifests naming their model, the settings and the
    inputs as they are now; the favoured model's fit is the committed posterior, byte
    for byte, and the rounds' files state that model."""
    result = committed()
    rounds, observations_hash = load_observations(CALIBRATION / "observations.toml")
    _, priors_hash = load_priors(CALIBRATION / "priors.toml",
                                 tuple(r.scenario for r in rounds))
    for entry in result["models"]:
        model = model_of_entry(entry)
        replayed = under(rounds, model)
        for name, sha_key, fitted in ((model.key, "posterior_sha256", replayed),
                                      (f"{model.key}-held-out", "held_out_sha256",
                                       replayed[:-1])):
            data = (CALIBRATION / protocols.FOLDER / f"{name}.parquet").read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry[sha_key], f"run {REMAKE}"
            manifest = json.loads(
                (CALIBRATION / protocols.FOLDER / f"{name}-manifest.json").read_text())
            assert manifest["model"] == model.as_dict()
            assert manifest["settings"] == result["settings"]
            assert manifest["inputs_sha256"] == {
                "observations": observations_hash, "priors": priors_hash} | {
                f"scenario:{r.name}": r.scenario.sha256 for r in fitted}, f"run {REMAKE}"
    best = next(m for m in result["models"] if m["key"] == result["favoured"])
    assert (CALIBRATION / "posterior.parquet").read_bytes() == (
        CALIBRATION / protocols.FOLDER / f"{best['key']}.parquet").read_bytes()
    assert model_of(rounds, "observations").key == best["key"]


def test_favoured_models_checks_are_the_committed_checks():
    """Same posterior, seed and draws: the favoured model's checks are checks.json's
    to the bit (which tests/test_calibration_committed.py recomputes from the code)."""
    result = committed()
    best = next(m for m in result["models"] if m["key"] == result["favoured"])
    assert best["checks"] == json.loads((CALIBRATION / "checks.json").read_text())
    assert result["draws"] == best["checks"]["draws"]


@pytest.fixture(scope="module")
def fresh() -> dict:
    """The other models' checks from their committed posteriors (``FRESH_DRAWS``
    replays), and the model choice on the first chunk of the committed draws."""
    result = committed()
    rounds, prior = real_rounds()
    settings = Settings(**result["settings"])
    models = tuple(model_of_entry(m) for m in result["models"])
    checks = {
        model.key: compute_checks(under(rounds, model), prior, *stored(model.key),
                                  settings, FRESH_DRAWS,
                                  held_out=stored(f"{model.key}-held-out"))
        for model in models if model.key != result["favoured"]}
    chosen = result["model_choice"]
    tolerances = tuple(row["tolerance"] for row in chosen["by_tolerance"])
    return {"checks": checks,
            "model_choice": protocols.model_choice(rounds, prior, models,
                                                   min(choice.CHUNK, chosen["draws"]),
                                                   chosen["seed"], tolerances)}


def test_other_models_checks_are_what_the_code_makes(fresh):
    result = committed()
    draws = result["draws"]
    for entry in result["models"]:
        if entry["key"] == result["favoured"]:
            continue
        old, new = entry["checks"], fresh["checks"][entry["key"]]
        for part in ("posterior_predictive", "prior_predictive"):
            assert [(r["round"], r["fact"]) for r in new[part]] == [
                (r["round"], r["fact"]) for r in old[part]]
            for was, now in zip(old[part], new[part], strict=True):
                assert abs(now["p"] - was["p"]) <= tolerance(was["p"], draws, FRESH_DRAWS), (
                    entry["key"], part, was["fact"], f"run {REMAKE}")
        for was, now in zip(old["leave_last_round_out"]["facts"],
                            new["leave_last_round_out"]["facts"], strict=True):
            for which in ("p_fit", "p_base"):
                assert abs(now[which] - was[which]) <= tolerance(
                    was[which], draws, FRESH_DRAWS), (
                    entry["key"], was["fact"], which)
        for was, now in zip(old["identifiability"], new["identifiability"], strict=True):
            assert now["posterior_mean"] == pytest.approx(was["posterior_mean"], rel=1e-9)


def test_model_choice_is_what_the_code_makes(fresh):
    """On the first chunk of the committed draws: every model's acceptance rate within
    ``tolerance`` of the committed rate, and the same model favoured at every
    tolerance and with every fact left out."""
    old, new = committed()["model_choice"], fresh["model_choice"]
    assert (new["seed"], new["distance"]) == (old["seed"], old["distance"])
    assert new["draws"] == min(choice.CHUNK, old["draws"])
    pairs = list(zip(old["by_tolerance"], new["by_tolerance"], strict=True)) + list(
        zip(old["without_each_fact"], new["without_each_fact"], strict=True))
    for was, now in pairs:
        assert now.get("without") == was.get("without")
        assert now["favoured"] == was["favoured"], was
        for key, count in was["accepted"].items():
            p = count / old["draws"]
            assert abs(now["accepted"][key] / new["draws"] - p) <= tolerance(
                p, old["draws"], new["draws"]), (was["tolerance"], was.get("without"), key)


def test_readme_tables_are_protocols_json():
    """calibration/README.md's tables of the models compared are what
    ``protocols.readme_tables`` makes of the committed protocols.json, and its
    verdict names the model protocols.json favours."""
    text = (CALIBRATION / "README.md").read_text()
    result = committed()
    for name, table in protocols.readme_tables(result).items():
        assert table in text, f"calibration/README.md: the {name} table is stale"
    best = next(m for m in result["models"] if m["key"] == result["favoured"])
    verdict = re.search(r"\*\*What the evidence favours: (.*?)\.\*\*", text)
    assert verdict, "calibration/README.md has no verdict"
    protocol = "item by item" if best["protocol"] == "sequential" else "one package"
    assert verdict.group(1).startswith(protocol), verdict.group(1)
    information = ("red lines known to Turkey" if best["information"] == "public"
                   else "private red lines")
    assert information in verdict.group(1), verdict.group(1)


def test_readme_states_the_committed_verdict():
    """README.md's calibration section: the favoured model and its smallest Bayes
    factor (95% bound) against a package model at epsilon 0, as protocols.json has."""
    text = (ROOT / "README.md").read_text()
    result = committed()
    assert result["favoured"] == "sequential-public"
    assert "item by item, with red lines known\nto Turkey" in text
    first = result["model_choice"]["by_tolerance"][0]
    bound = min(bf["low"] for key, bf in first["bayes_factor"].items()
                if key.startswith("package"))
    found = re.search(r"by a Bayes factor of at least\s+(\d+) against either package",
                      text)
    assert found and int(found.group(1)) == int(bound), (found, bound)
