"""Command-line conventions shared by the commands: --set, --json, --version, validate,
default results folders, one-line errors (a campaign file given to run, punctuation
between a key and what is allowed), and the README's run example."""

import dataclasses
import json
import re
import shlex
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.scenario.load import load_scenario, parse_scenario
from sim.scenario.overrides import scenario_with
from sim.stats.summary import format_table, percent

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
JUNE = SCENARIOS / "june-20-30-2025.toml"
CLASSROOM = SCENARIOS / "classroom-two-party.toml"
CAMPAIGN = SCENARIOS / "campaign-after-2025-06-02.toml"


def comparable(scenario):
    """A scenario without what names its text (path, hash) and with its posterior by
    file and hash (its arrays do not compare with ==)."""
    posterior = scenario.posterior and (scenario.posterior.path, scenario.posterior.sha256)
    return dataclasses.replace(scenario, path="", sha256="", posterior=posterior)


# ----------------------------------------------------------------------------- --set
def variant(tmp_path: Path, body: str) -> Path:
    """A variant of the June scenario written as a user would (absolute extends)."""
    path = tmp_path / "variant.toml"
    path.write_text(f'extends = "{JUNE}"\n{body}')
    return path


@pytest.mark.parametrize("setting, body", [
    # a key the file sets: the same as the key changed in a file
    ("context.third_party_pressure=0.6", "[context]\nthird_party_pressure = 0.6\n"),
    # a key the posterior draws: every round takes exactly the value (a shift 0 x + v)
    ("mediator.pressure=0.5", '[[shift]]\nkey = "mediator.pressure"\nscale = 0.0\n'
     'add = 0.5\nwhy = "set from the command line"\n'),
])
def test_run_set_is_the_scenario_changed_in_its_file(tmp_path, capsys, setting, body):
    args = ["--runs", "600", "--seed", "3", "--workers", "1", "--no-plots"]
    assert main(["run", str(JUNE), "--set", setting, "--out", str(tmp_path / "set"), *args]) == 0
    assert main(["run", str(variant(tmp_path, body)), "--out", str(tmp_path / "file"),
                 *args]) == 0
    plain = tmp_path / "plain"
    assert main(["run", str(JUNE), "--out", str(plain), *args]) == 0
    capsys.readouterr()
    by_set, by_file, unchanged = (json.loads((tmp_path / name / "summary.json").read_text())
                                  for name in ("set", "file", "plain"))
    for key in ("events", "quantiles", "walkout_by_party"):
        assert by_set[key] == by_file[key]
    assert by_set["events"] != unchanged["events"]  # the setting did change the rounds
    key, value = setting.split("=")
    assert by_set["settings"] == {key: float(value)} and unchanged["settings"] == {}
    manifest = json.loads((tmp_path / "set" / "manifest.json").read_text())
    assert manifest["settings"] == by_set["settings"]
    # the run cannot be resumed under other settings: its scenario hash differs
    assert main(["run", str(JUNE), "--out", str(tmp_path / "set"), "--resume", *args]) == 2
    assert "scenario_sha256" in capsys.readouterr().err


@pytest.mark.parametrize("command", [
    ["run", str(JUNE), "--runs", "50"],
    ["compare", str(JUNE), str(JUNE), "--runs", "50"],
    ["sweep", str(ROOT / "experiments" / "june-20-30-2025-sweep.toml")],
    ["sensitivity", str(ROOT / "experiments" / "june-20-30-2025-sensitivity.toml")],
    ["validate", str(JUNE)],
    ["trace", str(JUNE)],
    ["whatif", str(JUNE), "--target", "walkout <= 5%", "--runs", "50"],
])
@pytest.mark.parametrize("setting, message", [
    ("mediator.pressur=0.5", "mediator.pressur: unknown key; did you mean 'pressure'? "
     "Allowed: name,"),
    ("context.third_party_pressure=7", "context.third_party_pressure: 7 is out of range"),
    ("parties.nobody.patience=3", "parties.nobody: no such table to change"),
    ("context.third_party_pressure", "--set 'context.third_party_pressure': must be "
     "KEY=VALUE"),
    ("context.third_party_pressure=[0.1,", "is not a TOML value"),
    ("mediator.pressure=[0.1, 0.2]", "--set mediator.pressure: this scenario draws it"),
])
def test_a_bad_set_is_one_line_and_writes_nothing(tmp_path, capsys, monkeypatch, command,
                                                   setting, message):
    monkeypatch.chdir(tmp_path)
    assert main([*command, "--set", setting]) == 2
    error = capsys.readouterr().err
    assert error.startswith("negsim: error: ") and error.count("\n") == 1, error
    assert message in error
    assert list(tmp_path.iterdir()) == []


def test_compare_set_changes_the_scenario_files_not_the_results_folders(tmp_path, capsys):
    """A run made with --set, compared with its scenario file under the same --set and
    seed: the same rounds, so every difference is exactly zero."""
    folder = tmp_path / "run"
    args = ["--runs", "800", "--seed", "2"]
    assert main(["run", str(JUNE), *args, "--set", "context.third_party_pressure=0.7",
                 "--workers", "1", "--no-plots", "--out", str(folder)]) == 0
    capsys.readouterr()
    assert main(["compare", str(folder), str(JUNE), *args, "--set",
                 "context.third_party_pressure=0.7", "--no-plots", "--json",
                 "--out", str(tmp_path / "cmp")]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    rows = printed["comparisons"][0]["events"]
    assert [row["difference"] for row in rows if row["comparable"]] == [0.0] * sum(
        row["comparable"] for row in rows)
    assert main(["compare", str(folder), str(JUNE), *args, "--no-plots", "--json",
                 "--out", str(tmp_path / "cmp2")]) == 0  # without it the rounds differ
    rows = json.loads(capsys.readouterr().out)["comparisons"][0]["events"]
    assert any(row["difference"] != 0 for row in rows if row["comparable"])


SWEEP = f"""
[sweep]
scenario = "{CLASSROOM}"
replicates = 50
chunk_size = 50

[[knobs]]
key = "context.third_party_pressure"
set = [0.0, 0.5]
levels = 2
"""


def test_sweep_and_sensitivity_set_change_the_scenario_before_the_knobs(tmp_path, capsys,
                                                                      monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sweep.toml").write_text(SWEEP)
    assert main(["sweep", "sweep.toml", "--set", "parties.northland.patience=45",
                 "--set", "context.third_party_pressure=0.9", "--workers", "1"]) == 0
    out = tmp_path / "results" / ("sweep-parties.northland.patience=45-"
                                  "context.third_party_pressure=0.9")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"] == {"parties.northland.patience": 45,
                                   "context.third_party_pressure": 0.9}
    points = pd.read_csv(out / "points.csv")
    assert points["context.third_party_pressure"].tolist() == [0.0, 0.5]  # the knob wins
    study = (tmp_path / "study.toml")
    study.write_text(SWEEP.replace("[sweep]", "[sensitivity]\nbase_samples = 2\n").replace(
        "[[knobs]]", "[[parameters]]").replace("levels = 2\n", ""))
    from sim.studies.sensitivity import load_sensitivity
    from sim.studies.sweep import load_sweep
    for loaded in (load_sweep(tmp_path / "sweep.toml", {"parties.northland.patience": 45}),
                   load_sensitivity(study, {"parties.northland.patience": 45})):
        northland = [s.parties[0] for s in loaded.scenarios]
        assert {(p.key, p.patience.low, p.patience.high) for p in northland} == {
            ("northland", 45, 45)}
    assert main(["sensitivity", str(study), "--set", "parties.northland.patience=45",
                 "--workers", "1"]) == 0
    assert (tmp_path / "results" / "study-parties.northland.patience=45" / "sobol.csv"
            ).is_file()


# ----------------------------------------------------------------------------- --json
def test_run_json_prints_the_numbers_of_summary_json(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(JUNE), "--runs", "700", "--seed", "5", "--workers", "1",
                 "--no-plots", "--json", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    printed = json.loads(captured.out)  # stdout is the JSON alone
    summary = json.loads((out / "summary.json").read_text())
    for key in ("scenario", "runs", "seed", "events", "quantiles"):
        assert printed[key] == summary[key]
    assert printed["failures"] == summary["failures"]["count"] == 0
    assert f"wrote {out / 'results'}" in captured.err
    # the same numbers as the table: every probability printed is the JSON's
    table = format_table(summary)
    for event in printed["events"].values():
        assert f"  {percent(event['p']):>6}  " in table


# ----------------------------------------------------------------------------- validate
SCENARIO_FILES = sorted(p for p in SCENARIOS.glob("*.toml") if not p.name.startswith("campaign-"))


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_validate_prints_toml_that_loads_back_to_the_same_scenario(path, capsys):
    assert main(["validate", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.err == f"{path}: valid\n"
    data = tomllib.loads(captured.out)
    assert "extends" not in data
    # the output saved beside the file (its posterior path is relative to that folder)
    again = parse_scenario(captured.out, path.parent / "merged-by-validate.toml")
    assert comparable(again) == comparable(load_scenario(path))


def test_validate_applies_set_and_merges_shifts(capsys):
    pressure = SCENARIOS / "june-20-30-2025-us-pressure.toml"
    settings = {"mediator.pressure": 0.5, "context.third_party_pressure": [0.2, 0.4]}
    assert main(["validate", str(pressure), "--set", "mediator.pressure=0.5", "--set",
                 "context.third_party_pressure=[0.2, 0.4]"]) == 0
    text = capsys.readouterr().out
    assert "#   --set context.third_party_pressure=[0.2, 0.4]" in text
    assert "third_party_pressure = [0.2, 0.4]\n" in text  # ranges on one line
    again = parse_scenario(text, SCENARIOS / "merged-by-validate.toml")
    assert comparable(again) == comparable(scenario_with(pressure, settings))
    # the base's shift, the variant's, then the one --set made (scenario.shifts order)
    assert [(s.key, s.add) for s in again.shifts] == [
        ("parties.russia.exchange_willingness", 0.1),
        ("parties.russia.issues.ceasefire.conditions_red_line", -0.1),
        ("mediator.pressure", 0.5)]


def test_validate_keeps_file_text_as_data(tmp_path, capsys):
    """Quotes, backslashes, newlines and TOML syntax in a name come back as the same
    string, never as markup of the printed file."""
    name = 'Evil" \\ name\n[parties.x]\nname = "injected'
    path = tmp_path / "odd.toml"
    path.write_text(_with_round_name(CLASSROOM.read_text(), name))
    assert main(["validate", str(path)]) == 0
    data = tomllib.loads(capsys.readouterr().out)
    assert data["round"]["name"] == name and set(data["parties"]) == {"northland",
                                                                        "southland"}


def _with_round_name(text: str, name: str) -> str:
    head, _, tail = text.partition("[round]\n")
    first, _, rest = tail.partition("\n")
    assert first.startswith("name = ")
    return f"{head}[round]\nname = {json.dumps(name)}\n{rest}"


@pytest.mark.parametrize("path, message", [
    (CAMPAIGN, f"{CAMPAIGN}: campaign: this is a campaign file, not a scenario: run it "
     f"with negsim campaign {CAMPAIGN}"),
    (SCENARIOS / "missing.toml", "missing.toml: no such file"),
])
@pytest.mark.parametrize("command", ["validate", "run", "trace", "compare"])
def test_a_campaign_or_missing_file_is_one_line(tmp_path, capsys, monkeypatch, path,
                                                 message, command):
    monkeypatch.chdir(tmp_path)
    extra = [str(JUNE)] if command == "compare" else []
    assert main([command, *extra, str(path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("negsim: error: ") and error.count("\n") == 1
    assert message in error
    assert list(tmp_path.iterdir()) == []


def test_validate_a_broken_file_is_one_line(tmp_path, capsys):
    path = tmp_path / "broken.toml"
    path.write_text(CLASSROOM.read_text().replace("[mediator]", "[mediator]\nspeed = 3", 1))
    assert main(["validate", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (f"negsim: error: {path}: mediator.speed: unknown key. Allowed: "
                            "name, proposal_rule, agenda_order, pressure, credibility, "
                            "exploration_minutes, item_minutes, own_items, informed, format, "
                            "caucuses, "
                            "caucus_minutes, shuttle_minutes, bias, stakes, budget, levers\n")


def test_a_choice_not_allowed_says_so_with_punctuation(tmp_path, capsys):
    path = tmp_path / "broken.toml"
    path.write_text(CLASSROOM.read_text().replace('agenda_order = "as_listed"',
                                                  'agenda_order = "zzz"', 1))
    assert main(["validate", str(path)]) == 2
    assert capsys.readouterr().err.endswith(
        "mediator.agenda_order: 'zzz' is not allowed. Allowed: as_listed, easiest_first\n")


# ----------------------------------------------------------------------------- --version
def test_version_is_the_installed_packages(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert capsys.readouterr().out == f"negsim {version('negsim')}\n"
    assert version("negsim") == declared


def test_the_license_is_an_spdx_expression():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"


# ----------------------------------------------------------------------------- README
def readme_command(start: str) -> list[str]:
    """The README's command line that starts with ``start`` (after .venv/bin/)."""
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.startswith(f".venv/bin/negsim {start}"):
            return shlex.split(line.split("#")[0])[1:]
    raise AssertionError(f"README has no line .venv/bin/negsim {start}")


def test_the_readme_run_example_works_beside_an_earlier_batch(tmp_path):
    """The README's `negsim run ...us-pressure.toml --runs 50000 --seed 1`, run where an
    earlier batch of the same scenario (another size) already has its folder."""
    for name in ("scenarios", "calibration"):
        (tmp_path / name).symlink_to(ROOT / name)
    command = readme_command("run scenarios/june-20-30-2025-us-pressure.toml")
    assert command[command.index("--runs") + 1] == "50000"

    def negsim(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "sim.cli", *args], cwd=tmp_path,
                              capture_output=True, text=True)

    earlier = negsim("run", "scenarios/june-20-30-2025-us-pressure.toml", "--runs", "200",
                     "--no-plots", "--out", "results/june-20-30-2025-us-pressure")
    assert earlier.returncode == 0, earlier.stderr
    done = negsim(*command)
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "results" / "june-20-30-2025-us-pressure-seed1-runs50000"
    summary = json.loads((folder / "summary.json").read_text())
    assert (summary["runs"], summary["seed"]) == (50_000, 1)
    assert re.search(r"wrote results/june-20-30-2025-us-pressure-seed1-runs50000/results",
                     done.stdout)


# ----------------------------------------------------------------------------- shifts
def test_a_variants_shifts_add_to_its_bases():
    """docs/scenarios.md: the US-pressure variant keeps the June file's trust shift and
    adds its own."""
    june = load_scenario(JUNE)
    pressure = load_scenario(SCENARIOS / "june-20-30-2025-us-pressure.toml")
    assert [s.key for s in june.shifts] == ["parties.russia.exchange_willingness"]
    assert pressure.shifts == (june.shifts[0], *(
        s for s in pressure.shifts if s.key == "parties.russia.issues.ceasefire."
        "conditions_red_line"))
    assert len(pressure.shifts) == 2


def test_a_variants_shift_of_a_shifted_key_takes_the_bases_place(tmp_path):
    from sim.batch.chunks import run_scenario
    from sim.scenario.overrides import with_values
    key = "parties.russia.exchange_willingness"
    path = variant(tmp_path, f'[[shift]]\nkey = "{key}"\nadd = 0.3\nwhy = "more"\n'
                   '[[shift]]\nkey = "context.third_party_pressure"\nadd = 0.2\n'
                   'why = "a deadline"\n')
    merged = load_scenario(path)
    assert [(s.key, s.add) for s in merged.shifts] == [
        (key, 0.3), ("context.third_party_pressure", 0.2)]
    alone = with_values(JUNE, {"shift": [
        {"key": key, "add": 0.3, "why": "more"},
        {"key": "context.third_party_pressure", "add": 0.2, "why": "a deadline"}]})
    assert comparable(alone) == comparable(merged)
    pd.testing.assert_frame_equal(run_scenario(merged, 300, 1), run_scenario(alone, 300, 1))


def test_a_report_reads_a_set_run_with_its_settings(tmp_path, capsys):
    """negsim report rebuilds the run's scenario with the --set it recorded: the same
    hash as the run's, so no "the scenario file has changed" note."""
    out = tmp_path / "run"
    assert main(["run", str(CLASSROOM), "--runs", "100", "--workers", "1", "--no-plots",
                 "--set", "parties.northland.patience=45", "--out", str(out)]) == 0
    assert main(["report", str(out)]) == 0
    capsys.readouterr()
    report = (out / "report.md").read_text()
    assert "has changed since this batch ran" not in report
    summary = json.loads((out / "summary.json").read_text())
    summary["settings"] = {}  # as if the run had recorded none: the file alone differs
    (out / "summary.json").write_text(json.dumps(summary))
    assert main(["report", str(out)]) == 0
    assert "has changed since this batch ran" in (out / "report.md").read_text()
