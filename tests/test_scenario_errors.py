"""Every kind of bad scenario file gives one ``ScenarioError`` that names the file, the
key and what is allowed; ``negsim run`` turns it into one line on stderr and exit 2.

Each bad file is the classroom scenario (valid: see the control tests) with exactly one
change, so the error can only come from that change.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from sim.scenario.load import load_scenario
from sim.scenario.spec import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
CLASSROOM = ROOT / "scenarios" / "classroom-two-party.toml"
ALL_ISSUES = "ceasefire, pow_exchange"  # what the classroom file defines


def classroom() -> str:
    return CLASSROOM.read_text(encoding="utf-8")


def edit(text: str, old: str, new: str) -> str:
    """Replace ``old`` (which must occur exactly once) by ``new``."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def write(tmp_path: Path, text: str, name: str = "bad.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def variant(tmp_path: Path, old: str, new: str, name: str = "bad.toml") -> Path:
    return write(tmp_path, edit(classroom(), old, new), name)


def error_of(path: Path) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    error = caught.value
    assert str(error).startswith(f"{path}: "), str(error)
    assert error.path == str(path)
    return error


def assert_names(error: ScenarioError, key: str, *allowed: str) -> str:
    """The message names the key (as ``error.key`` too) and each ``allowed`` text."""
    message = str(error)
    assert error.key == key, message
    assert f": {key}: " in message, message
    for text in allowed:
        assert text in message, f"{text!r} not in {message!r}"
    return message


# ----------------------------------------------------------------------------- controls
def test_control_the_classroom_scenario_is_valid():
    scenario = load_scenario(CLASSROOM)
    assert scenario.agenda == ("ceasefire", "pow_exchange")
    assert [p.name for p in scenario.parties] == ["Northland", "Southland"]


def test_control_an_unchanged_copy_and_a_valid_variant_load(tmp_path):
    write(tmp_path, classroom(), "base.toml")
    assert load_scenario(tmp_path / "base.toml").round.name.startswith("Classroom")
    variant_path = write(tmp_path, 'extends = "base.toml"\n[parties.southland]\n'
                         "exchange_willingness = [0.4, 0.6]\n", "variant.toml")
    southland = load_scenario(variant_path).parties[1]
    assert (southland.exchange_willingness.low, southland.exchange_willingness.high) == (0.4, 0.6)
    assert southland.concession.low == 1.0  # the rest of the table comes from the base


# ----------------------------------------------------------------------------- the file
def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.toml"
    error = error_of(path)
    assert error.key == ""
    assert "no such file" in str(error)


def test_directory(tmp_path):
    error = error_of(tmp_path)
    assert error.key == ""
    assert "is a directory, not a scenario file" in str(error)


def test_not_toml(tmp_path):
    path = variant(tmp_path, "[agenda]", "[agenda")
    error = error_of(path)
    assert error.key == ""
    message = str(error)
    assert "is not valid TOML" in message
    line = classroom()[:classroom().index("[agenda]")].count("\n") + 1
    assert f"Expected ']' at the end of a table declaration (at line {line}," in message


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(edit(classroom(), 'date = "fictional"', 'date = "fictif \xe9t\xe9"')
                     .encode("latin-1"))
    error = error_of(path)
    assert error.key == ""
    assert "not UTF-8" in str(error)


# ----------------------------------------------------------------------------- unknown keys
def test_unknown_key_suggests_red_line(tmp_path):
    path = variant(tmp_path, "ideal = 2000\nred_line = 400", "ideal = 2000\nred_lin = 400")
    message = assert_names(error_of(path), "parties.northland.issues.pow_exchange.red_lin",
                           "unknown key", "did you mean 'red_line'?",
                           "Allowed: wants, ideal, red_line, salience")
    assert "conditions_ideal" not in message  # pow_exchange has no ceasefire keys


def test_unknown_key_suggests_concession(tmp_path):
    path = variant(tmp_path, 'name = "Southland"\nconcession = 1.0',
                   'name = "Southland"\nconcesion = 1.0')
    assert_names(error_of(path), "parties.southland.concesion", "unknown key",
                 "did you mean 'concession'?",
                 "Allowed: name, concession, patience, exchange_willingness, "
                 "bargaining_power, momentum, batna, discount_per_hour, bluff, issues, "
                 "linkage")


def test_unknown_key_in_ceasefire_lists_its_extra_keys(tmp_path):
    path = variant(tmp_path, "conditions_red_line = 0.6", "condition_red_line = 0.6")
    assert_names(error_of(path), "parties.southland.issues.ceasefire.condition_red_line",
                 "did you mean 'conditions_red_line'?", "conditions_wants", "conditions_ideal",
                 "conditions_red_line_at")


def test_unknown_top_level_table(tmp_path):
    path = write(tmp_path, classroom() + "\n[mediators]\nname = 'x'\n")
    assert_names(error_of(path), "mediators", "did you mean 'mediator'?",
                 "Allowed: round, context, information, issues, agenda, mediator, parties, "
                 "events, observed, posterior, shift")


# ----------------------------------------------------------------------------- wrong types
def test_string_for_a_number(tmp_path):
    path = variant(tmp_path, "exchange_willingness = 0.5", 'exchange_willingness = "0.5"')
    assert_names(error_of(path), "parties.southland.exchange_willingness",
                 "must be a number or a [low, high] range within [0, 1]", "got str '0.5'")


def test_table_for_a_number(tmp_path):
    path = variant(tmp_path, "patience = 600\nexchange_willingness = 1.0",
                   "patience = { low = 60, high = 600 }\nexchange_willingness = 1.0")
    assert_names(error_of(path), "parties.northland.patience",
                 "must be a number or a [low, high] range within [1, 1440]", "got dict")


def test_boolean_for_a_number(tmp_path):
    path = variant(tmp_path, "credibility = 0.0", "credibility = true")
    assert_names(error_of(path), "mediator.credibility",
                 "must be a number or a [low, high] range within [0, 1]", "got bool True")


def test_range_where_only_a_number_is_allowed(tmp_path):
    path = variant(tmp_path, "deadline_minutes = 100", "deadline_minutes = [90, 110]")
    message = assert_names(error_of(path), "round.deadline_minutes",
                           "must be a number within [1, 1000000]", "got list [90, 110]")
    assert "range within" not in message


def test_number_for_wants(tmp_path):
    path = variant(tmp_path, 'wants = "less"\nideal = 600', "wants = -1\nideal = 600")
    assert_names(error_of(path), "parties.southland.issues.pow_exchange.wants",
                 "must be a string", "got int -1", "Allowed: more, less")


def test_misspelt_choice(tmp_path):
    path = variant(tmp_path, 'proposal_rule = "nash"', 'proposal_rule = "nassh"')
    assert_names(error_of(path), "mediator.proposal_rule", "'nassh' is not allowed",
                 "did you mean 'nash'?", "Allowed: nash, split_difference")


# ----------------------------------------------------------------------------- ranges
def test_exchange_willingness_above_one(tmp_path):
    path = variant(tmp_path, "exchange_willingness = 0.5", "exchange_willingness = 1.5")
    assert_names(error_of(path), "parties.southland.exchange_willingness",
                 "1.5 is out of range", "within [0, 1]")


def test_pow_exchange_red_line_beyond_the_scale(tmp_path):
    path = variant(tmp_path, "red_line = 1400", "red_line = 50000")
    assert_names(error_of(path), "parties.southland.issues.pow_exchange.red_line",
                 "50000 is out of range", "within [0, 20000]")


def test_negative_patience(tmp_path):
    path = variant(tmp_path, "patience = 600\nexchange_willingness = 0.5",
                   "patience = -5\nexchange_willingness = 0.5")
    assert_names(error_of(path), "parties.southland.patience", "-5 is out of range",
                 "within [1, 1440]")


def test_ceasefire_level_beyond_three(tmp_path):
    path = variant(tmp_path, "ideal = 3\nred_line = 2", "ideal = 4\nred_line = 2")
    assert_names(error_of(path), "parties.northland.issues.ceasefire.ideal",
                 "4 is out of range", "within [0, 3]")


def test_range_end_out_of_range(tmp_path):
    path = variant(tmp_path, "concession = 1.0          # linear concession",
                   "concession = [0.5, 25]")
    assert_names(error_of(path), "parties.northland.concession", "[0.5, 25] is out of range",
                 "within [0.05, 20]")


def test_range_with_low_above_high(tmp_path):
    path = variant(tmp_path, "exchange_willingness = 0.5", "exchange_willingness = [0.9, 0.1]")
    assert_names(error_of(path), "parties.southland.exchange_willingness",
                 "range [0.9, 0.1] has low > high", "low <= high", "within [0, 1]")


# ----------------------------------------------------------------------------- red lines
def test_red_line_above_the_ideal_of_a_side_that_wants_more(tmp_path):
    path = variant(tmp_path, "ideal = 2000\nred_line = 400", "ideal = 2000\nred_line = 2500")
    assert_names(error_of(path), "parties.northland.issues.pow_exchange.red_line",
                 "2500 is on the wrong side of the ideal 2000",
                 "a party that wants more needs red_line <= ideal")


def test_red_line_range_reaching_past_the_ideal(tmp_path):
    path = variant(tmp_path, "ideal = 2000\nred_line = 400", "ideal = 2000\nred_line = [400, 2100]")
    assert_names(error_of(path), "parties.northland.issues.pow_exchange.red_line",
                 "2100 is on the wrong side of the ideal 2000", "needs red_line <= ideal")


def test_red_line_below_the_ideal_of_a_side_that_wants_less(tmp_path):
    path = variant(tmp_path, "ideal = 600\nred_line = 1400", "ideal = 600\nred_line = 500")
    assert_names(error_of(path), "parties.southland.issues.pow_exchange.red_line",
                 "500 is on the wrong side of the ideal 600",
                 "a party that wants less needs red_line >= ideal")


def test_ceasefire_conditions_red_line_on_the_wrong_side(tmp_path):
    # Northland wants fewer conditions: its red line 0.2 may not be below its ideal.
    path = variant(tmp_path, "conditions_ideal = 0.0", "conditions_ideal = 0.3")
    assert_names(error_of(path), "parties.northland.issues.ceasefire.conditions_red_line",
                 "0.2 is on the wrong side of the ideal 0.3",
                 "wants less needs conditions_red_line >= conditions_ideal")


def test_ceasefire_conditions_red_line_on_the_wrong_side_wanting_more(tmp_path):
    path = variant(tmp_path, "conditions_ideal = 1.0", "conditions_ideal = 0.5")
    assert_names(error_of(path), "parties.southland.issues.ceasefire.conditions_red_line",
                 "0.6 is on the wrong side of the ideal 0.5",
                 "wants more needs conditions_red_line <= conditions_ideal")


def test_conditions_red_line_at_a_level_on_the_wrong_side(tmp_path):
    path = variant(tmp_path, "conditions_red_line = 0.6",
                   "conditions_red_line = 0.6\nconditions_red_line_at = { 1 = [0.5, 1.0] }")
    # 1.0 <= ideal 1.0 is allowed: make the ideal lower so the range crosses it
    path = write(tmp_path, edit(path.read_text(), "conditions_ideal = 1.0",
                                "conditions_ideal = 0.8"))
    assert_names(error_of(path), "parties.southland.issues.ceasefire.conditions_red_line_at.1",
                 "1 is on the wrong side of the ideal 0.8",
                 "needs conditions_red_line <= conditions_ideal")


def test_conditions_red_line_at_a_level_the_issue_has_not(tmp_path):
    path = variant(tmp_path, "conditions_red_line = 0.6",
                   "conditions_red_line = 0.6\nconditions_red_line_at = { 7 = 0.5 }")
    assert_names(error_of(path), "parties.southland.issues.ceasefire.conditions_red_line_at.7",
                 "is not a level of 'ceasefire' that can be agreed", "use 1 to 3",
                 "local pause, general ceasefire, full ceasefire")


def test_the_old_pause_key_says_what_replaced_it(tmp_path):
    path = variant(tmp_path, "conditions_red_line = 0.6",
                   "conditions_red_line = 0.6\npause_conditions_red_line = 0.5")
    assert_names(error_of(path), "parties.southland.issues.ceasefire.pause_conditions_red_line",
                 "is no longer a key", "conditions_red_line_at = { 1 = ... }")


def test_ceasefire_level_red_line_on_the_wrong_side(tmp_path):
    path = variant(tmp_path, "ideal = 1\nred_line = 3", "ideal = 1\nred_line = 0")
    assert_names(error_of(path), "parties.southland.issues.ceasefire.red_line",
                 "0 is on the wrong side of the ideal 1", "needs red_line >= ideal")


# ----------------------------------------------------------------------------- the agenda
def test_empty_agenda(tmp_path):
    path = variant(tmp_path, 'items = ["ceasefire", "pow_exchange"]', "items = []")
    assert_names(error_of(path), "agenda.items", "is empty", f"Defined issues: {ALL_ISSUES}")


def test_unknown_issue_on_the_agenda(tmp_path):
    path = variant(tmp_path, 'items = ["ceasefire", "pow_exchange"]',
                   'items = ["ceasefire", "pow_exchang"]')
    assert_names(error_of(path), "agenda.items", "unknown issue 'pow_exchang'",
                 "did you mean 'pow_exchange'?", f"Defined issues: {ALL_ISSUES}")


def test_issue_listed_twice(tmp_path):
    path = variant(tmp_path, 'items = ["ceasefire", "pow_exchange"]',
                   'items = ["ceasefire", "pow_exchange", "ceasefire"]')
    assert_names(error_of(path), "agenda.items", "lists an issue twice")


def test_party_without_a_position_on_an_agenda_issue(tmp_path):
    text = classroom()
    start = text.index("[parties.southland.issues.pow_exchange]")
    path = write(tmp_path, text[:start])  # Southland's last table removed
    assert_names(error_of(path), "parties.southland.issues.pow_exchange",
                 "is on the agenda but this party has no position on it",
                 "add [parties.southland.issues.pow_exchange] with wants, ideal, red_line")


def test_mediator_item_no_party_has_a_position_on(tmp_path):
    path = variant(tmp_path, "item_minutes = 120", 'item_minutes = 120\nown_items = ["remains"]')
    path = write(tmp_path, path.read_text() + '\n[issues.remains]\nkind = "count"\nmax = 9000\n')
    assert_names(error_of(path), "parties.northland.issues.remains",
                 "is on the agenda but this party has no position on it")


def test_mediator_item_that_is_not_an_issue(tmp_path):
    path = variant(tmp_path, "item_minutes = 120", 'item_minutes = 120\nown_items = ["remains"]')
    assert_names(error_of(path), "mediator.own_items", "unknown issue 'remains'",
                 f"Defined issues: {ALL_ISSUES}")


# ----------------------------------------------------------------------------- parties
def test_fewer_than_two_parties(tmp_path):
    text = classroom()
    path = write(tmp_path, text[:text.index("[parties.southland]")])
    assert_names(error_of(path), "parties", "needs at least two parties",
                 "each a [parties.NAME] table")


def test_linkage_requiring_an_issue_not_on_the_agenda(tmp_path):
    path = write(tmp_path, classroom() + '\n[[parties.southland.linkage]]\n'
                 'issue = "pow_exchange"\nrequires = "memorandum"\nat_least = 1\n'
                 '[issues.memorandum]\nkind = "yes_no"\n')
    assert_names(error_of(path), "parties.southland.linkage[0].requires",
                 "'memorandum' is not on the agenda", "Allowed: ceasefire, pow_exchange")


def test_linkage_requiring_an_unknown_issue(tmp_path):
    path = write(tmp_path, classroom() + '\n[[parties.southland.linkage]]\n'
                 'issue = "pow_exchange"\nrequires = "cease_fire"\nat_least = 1\n')
    assert_names(error_of(path), "parties.southland.linkage[0].requires",
                 "unknown issue 'cease_fire'", "did you mean 'ceasefire'?",
                 f"Defined issues: {ALL_ISSUES}")


# ----------------------------------------------------------------------------- shift, posterior
def test_shift_of_an_unknown_parameter(tmp_path):
    path = write(tmp_path, classroom() + '\n[[shift]]\nkey = "parties.southland.patiense"\n'
                 'add = 60\nwhy = "a test"\n')
    assert_names(error_of(path), "shift[0].key",
                 "'parties.southland.patiense' is not a parameter of this scenario",
                 "did you mean 'parties.southland.patience'?")


def test_shift_scale_out_of_range(tmp_path):
    path = write(tmp_path, classroom() + '\n[[shift]]\nkey = "mediator.pressure"\n'
                 'scale = -2\nwhy = "a test"\n')
    assert_names(error_of(path), "shift[0].scale", "-2 is out of range",
                 "must be a number within [0, 100]")


def test_posterior_file_missing(tmp_path):
    path = write(tmp_path, classroom() + '\n[posterior]\nfile = "fit.parquet"\n')
    assert_names(error_of(path), "posterior.file", str(tmp_path / "fit.parquet"),
                 "no such posterior file")


def test_posterior_file_blank(tmp_path):
    path = write(tmp_path, classroom() + '\n[posterior]\nfile = ""\n')
    assert_names(error_of(path), "posterior.file", "must be a non-empty string")


# ----------------------------------------------------------------------------- extends
def test_extends_a_missing_file(tmp_path):
    path = write(tmp_path, 'extends = "no-such-base.toml"\n[round]\nname = "v"\n')
    assert_names(error_of(path), "extends", "'no-such-base.toml'",
                 str(tmp_path / "no-such-base.toml"), "no such file",
                 "must be the path of a base scenario file, relative to this file")


def test_extends_cycle(tmp_path):
    write(tmp_path, 'extends = "b.toml"\n', "a.toml")
    write(tmp_path, 'extends = "a.toml"\n', "b.toml")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tmp_path / "a.toml")
    error = caught.value
    # the cycle closes in b.toml, whose `extends` points back at a.toml
    assert error.path == str(tmp_path / "b.toml")
    assert_names(error, "extends", "'a.toml' forms a cycle (a.toml -> b.toml -> a.toml)",
                 "must not extend, directly or indirectly, a file that extends it")


def test_extends_itself(tmp_path):
    path = write(tmp_path, 'extends = "./bad.toml"\n' + classroom())
    assert_names(error_of(path), "extends", "forms a cycle (bad.toml -> bad.toml)")


def test_extends_not_a_string(tmp_path):
    path = write(tmp_path, "extends = 3\n" + classroom())
    assert_names(error_of(path), "extends", "must be the path of a base scenario file",
                 "got int 3")


# ----------------------------------------------------------------------------- the CLI
CLI_CASES = {  # case: (how the scenario file is broken, what stderr must say)
    "missing": (None, "missing.toml: no such file"),
    "not-toml": (("[agenda]", "[agenda"), "is not valid TOML"),
    "unknown-key": (("red_line = 400", "red_lin = 400"),
                    "parties.northland.issues.pow_exchange.red_lin: unknown key; "
                    "did you mean 'red_line'?"),
    "out-of-range": (("exchange_willingness = 0.5", "exchange_willingness = 1.5"),
                     "parties.southland.exchange_willingness: 1.5 is out of range"),
    "no-second-party": ("truncate", "parties: needs at least two parties"),
}
RUNS_CASES = {"0": "--runs must be >= 1, got 0", "abc": "--runs must be an integer, got 'abc'"}


@dataclass
class CliRun:
    folder: Path
    scenario: Path
    before: set[Path]
    returncode: int
    stdout: str
    stderr: str


def files_under(folder: Path) -> set[Path]:
    return set(folder.rglob("*"))


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory) -> dict[str, CliRun]:
    """``python -m sim.cli run ...`` for every case, each in its own folder (also its
    working directory, so a default results/ folder would show), all started at once:
    each start imports the whole package, which takes seconds."""
    setups = {}
    for case, (change, _) in CLI_CASES.items():
        folder = tmp_path_factory.mktemp(f"cli-{case}")
        if change is None:
            scenario = folder / "missing.toml"
        elif change == "truncate":
            text = classroom()
            scenario = write(folder, text[:text.index("[parties.southland]")])
        else:
            scenario = variant(folder, *change)
        setups[case] = (folder, scenario, "10")
    for runs in RUNS_CASES:
        setups[f"runs={runs}"] = (tmp_path_factory.mktemp("cli-runs"), CLASSROOM, runs)
    started = {}
    for case, (folder, scenario, runs) in setups.items():
        before = files_under(folder)
        process = subprocess.Popen(
            [sys.executable, "-m", "sim.cli", "run", str(scenario), "--runs", runs,
             "--out", str(folder / "out")],
            cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started[case] = (folder, scenario, before, process)
    runs_done = {}
    for case, (folder, scenario, before, process) in started.items():
        stdout, stderr = process.communicate(timeout=300)
        runs_done[case] = CliRun(folder, scenario, before, process.returncode, stdout, stderr)
    return runs_done


def assert_nothing_written(run: CliRun) -> None:
    assert "Traceback" not in run.stdout + run.stderr
    assert not (run.folder / "out").exists()
    assert files_under(run.folder) == run.before  # no results/ folder, no temporary files


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_cli_reports_a_bad_scenario_in_one_line_with_exit_2(cli_runs, case):
    run = cli_runs[case]
    assert run.returncode == 2, run.stderr
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith(f"negsim: error: {run.scenario}: ")
    assert CLI_CASES[case][1] in lines[0]
    assert_nothing_written(run)


@pytest.mark.parametrize("runs", sorted(RUNS_CASES))
def test_cli_rejects_a_bad_runs_option_with_exit_2(cli_runs, runs):
    run = cli_runs[f"runs={runs}"]
    assert run.returncode == 2
    assert "usage: negsim run" in run.stderr
    assert RUNS_CASES[runs] in run.stderr
    assert_nothing_written(run)
