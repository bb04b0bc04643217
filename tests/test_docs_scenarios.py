"""docs/scenarios.md and the scenario files' comments are claims: each is checked here.

- Every key the loader accepts, table by table, is the list of keys the document's
  table for it gives (the loader is asked: an unknown key's error lists what is allowed).
- Every TOML block of the document loads (a fragment: merged into the river-basin case).
- What the document says the loader, the event language or a command prints is what
  they print: the event errors, the worked example's minutes and outcome, the
  walkthrough's table.
- A comment "N in M that ..." on a red line drawn from a range of levels states the
  exact share the documented rounding gives.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from test_scenario_fuzz import dumps

from sim.batch.chunks import run_scenario
from sim.batch.results import load_results
from sim.cli import main
from sim.model.parameters import realise
from sim.model.round import NegotiationRound
from sim.scenario.events import COMPOUND_PARTS, ISSUE_PARTS, ROUND_COLUMNS
from sim.scenario.load import (
    _merge,
    build_scenario,
    load_scenario,
    parse_scenario,
    read_scenario_data,
)
from sim.scenario.overrides import with_values
from sim.scenario.spec import IssueKind, Scenario, ScenarioError

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))


# ------------------------------------------------------------------ comments on shares
#: ``key = value  # ... N in M that ...`` (or "a level, drawn: N in M").
_SHARE = re.compile(r"^\s*([A-Za-z0-9_]+)\s*=\s*([^#]*?)\s*#.*?\b(\d+) in (\d+)\b")
_HEADER = re.compile(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$")


def share_comments(path: Path) -> list[tuple[int, str, Fraction]]:
    """(line number, dotted key, stated share) of each comment stating a share."""
    found, table = [], ""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        header = _HEADER.match(line)
        if header:
            table = header.group(1).strip()
            continue
        match = _SHARE.match(line)
        if match:
            key = f"{table}.{match.group(1)}" if table else match.group(1)
            found.append((number, key, Fraction(int(match.group(3)), int(match.group(4)))))
    return found


def level_share_beyond_firmest(low: float, high: float, wants: int) -> Fraction:
    """The exact chance that a red line drawn uniformly from ``[low, high]`` and rounded
    to the nearest level (``sim/model/parameters.py`` ``_level``; docs/scenarios.md,
    "Levels") concedes more than the firmest level of the range: for a side that
    wants more, a level below ``round(high)``; for one that wants less, above
    ``round(low)``. Ties at .5 have probability 0. The ends are taken as the decimals
    written in the file (``repr`` of a float is its shortest decimal), so that 0.8 is
    4/5 and not the binary number nearest it."""
    lo, hi = Fraction(repr(float(low))), Fraction(repr(float(high)))
    assert hi > lo, "a fixed red line has no share to state"
    if wants > 0:
        cut = Fraction(round(high)) - Fraction(1, 2)
        return min(max(cut - lo, Fraction(0)), hi - lo) / (hi - lo)
    cut = Fraction(round(low)) + Fraction(1, 2)
    return min(max(hi - cut, Fraction(0)), hi - lo) / (hi - lo)


def test_level_share_by_hand():
    # docs/scenarios.md, "Levels": [0, 0.8] for a side that wants less: (0.8 - 0.5) / 0.8
    assert level_share_beyond_firmest(0, 0.8, -1) == Fraction(3, 8)
    # [0.8, 2] for a side that wants more: level 1 on [0.8, 1.5], level 2 above
    assert level_share_beyond_firmest(0.8, 2, +1) == Fraction(7, 12)
    assert level_share_beyond_firmest(1.6, 2, +1) == 0
    assert level_share_beyond_firmest(0, 0.4, -1) == 0


def _position_of(scenario: Scenario, key: str):
    parts = key.split(".")
    assert len(parts) == 5 and parts[0] == "parties" and parts[2] == "issues", (
        f"{key}: a share is stated only on a party's position")
    party = next(p for p in scenario.parties if p.key == parts[1])
    return party.position(parts[3]), scenario.issue(parts[3]), parts[4]


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_stated_shares_of_levels_are_exact(path):
    """Each "N in M" comment sits on a red line drawn from a range of levels that the
    scenario itself uses (not replaced by its posterior, not shifted), and N/M is the
    exact share the rounding gives."""
    comments = share_comments(path)
    if path.name.startswith("campaign-"):  # a campaign file, not a round's scenario
        assert not comments
        return
    scenario = load_scenario(path)
    replaced = set(scenario.posterior.keys) if scenario.posterior else set()
    shifted = {s.key for s in scenario.shifts}
    for number, key, stated in comments:
        where = f"{path.name}:{number}: {key}"
        position, spec, name = _position_of(scenario, key)
        assert name == "red_line", f"{where}: a share is stated only for a red line"
        assert spec.levelled or spec.compound, f"{where}: '{spec.name}' has no levels"
        assert key not in replaced | shifted, f"{where}: the value in the file is not used"
        drawn = position.red_line
        ideal = position.ideal
        # no draw is held at the ideal (that would change the shares)
        if position.wants > 0:
            assert round(drawn.high) <= round(ideal.low), where
        else:
            assert round(drawn.low) >= round(ideal.high), where
        exact = level_share_beyond_firmest(drawn.low, drawn.high, position.wants)
        assert stated == exact, f"{where}: the comment says {stated}, the rounding gives {exact}"


def test_the_share_comments_are_found():
    """The parser sees the comments it is meant to check (else the test above is empty)."""
    found = {(p.name, key): share for p in SCENARIOS for _, key, share in share_comments(p)}
    assert found == {
        ("istanbul-2025-06-02.toml", "parties.russia.issues.next_round.red_line"):
            Fraction(3, 8),
        ("june-20-30-2025.toml", "parties.ukraine.issues.ceasefire.red_line"):
            Fraction(7, 12),
    }


# ------------------------------------------------------------------------ the document
DOC = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
RIVER = ROOT / "scenarios" / "river-basin.toml"
CLASSROOM = ROOT / "scenarios" / "classroom-two-party.toml"


def sections(text: str = DOC) -> dict[str, str]:
    """Each heading's text (without its #s) -> the text up to the next heading."""
    parts = re.split(r"^(#{1,4} .*)$", text, flags=re.M)
    return {parts[i].lstrip("#").strip(): parts[i + 1] for i in range(1, len(parts), 2)}


SECTIONS = sections()


def key_tables(section: str) -> list[list[str]]:
    """The keys (first cells) of each table of keys in a section, in order."""
    tables, current = [], None
    for line in SECTIONS[section].splitlines():
        if re.match(r"^\| key\b", line):
            current = []
            tables.append(current)
        elif current is not None and line.startswith("| ---"):
            continue
        elif current is not None and line.startswith("|"):
            cell = line.split("|")[1].strip()
            current.append(re.fullmatch(r"`([^`]+)`", cell).group(1))
        else:
            current = None
    return tables


def table_key(cell: str) -> str:
    """A top-level row names a key or a table: `[round]`, `[issues.NAME]`, `[[shift]]`."""
    return cell.strip("[]").split(".")[0]


def blocks(language: str, text: str = DOC) -> list[str]:
    """The bodies of the fenced blocks of a language ("" for plain blocks), in order."""
    found, body, current = [], [], None
    for line in text.splitlines(keepends=True):
        if current is None and line.startswith("```"):
            current, body = line[3:].strip(), []
        elif current is not None and line.rstrip() == "```":
            if current == language:
                found.append("".join(body))
            current = None
        elif current is not None:
            body.append(line)
    return found


#: The document's prose with line breaks and runs of spaces as single spaces.
FLAT = " ".join(DOC.split())


def probe(base: Path, path: tuple, array: bool = False) -> list[str]:
    """What the loader allows in the table at ``path`` of ``base``'s data (made where
    the file has none; ``array``: an array of tables, given one entry): an unknown key
    there is refused with the list."""
    data, text = read_scenario_data(base)
    table = data
    for k in path[:-1]:
        table = table[k]
    if array:
        table[path[-1]] = [{"zz_probe": 1}]
    elif path:
        table.setdefault(path[-1], {})["zz_probe"] = 1
    else:
        data["zz_probe"] = 1
    with pytest.raises(ScenarioError) as caught:
        build_scenario(data, base, text)
    assert caught.value.key.endswith("zz_probe"), caught.value
    return caught.value.message.split("Allowed: ", 1)[1].split(", ")


def test_every_key_the_loader_accepts_is_documented_and_no_other():
    """Table by table, the document's keys are exactly the loader's."""
    top = probe(RIVER, ())
    assert sorted(table_key(k) for k in key_tables("Top level")[0]) == sorted(
        top + ["include", "extends"])
    simple = {"`[round]`": ("round",), "`[context]`": ("context",),
              "`[agenda]`": ("agenda",), "`[mediator]`": ("mediator",),
              "`[parties.NAME]`": ("parties", "upland"),
              "Issues: `[issues.NAME]`": ("issues", "water")}
    for heading, path in simple.items():
        [documented] = key_tables(heading)
        assert documented == probe(RIVER, path), heading
    [documented] = key_tables("`[issues.NAME.conditions]`")
    assert sorted(documented) == sorted(probe(CLASSROOM, ("issues", "ceasefire",
                                                          "conditions")))
    every, compound_only = key_tables("`[parties.NAME.issues.ISSUE]`")
    assert every == probe(RIVER, ("parties", "upland", "issues", "water"))
    assert every + compound_only == probe(CLASSROOM, ("parties", "northland", "issues",
                                                      "ceasefire"))
    [documented] = key_tables("`[[parties.NAME.linkage]]`")
    assert documented == probe(RIVER, ("parties", "upland", "linkage"), array=True)
    [documented] = key_tables("Observed rounds: `[[observed]]`")
    assert documented == probe(RIVER, ("observed",), array=True)
    [documented] = key_tables("`[[shift]]`")
    assert documented == probe(RIVER, ("shift",), array=True)
    [documented] = key_tables("`[posterior]`")
    assert documented == probe(RIVER, ("posterior",))
    events = re.findall(r"^\| `(\w+)` \|", SECTIONS["Events"], flags=re.M)
    assert events == probe(RIVER, ("events", "water_deal"))


def row(section: str, key: str) -> str:
    """The table row of ``key`` in a section."""
    [line] = [x for x in SECTIONS[section].splitlines() if x.startswith(f"| `{key}` |")]
    return line


def test_the_documented_choices_and_defaults_of_issues_are_the_loaders():
    assert [k.value for k in IssueKind] == re.findall(
        r'`"(\w+)"`', row("Issues: `[issues.NAME]`", "kind").split("|")[4])
    issues = {
        "c": {"kind": "count", "max": 10},
        "s": {"kind": "share"},
        "y": {"kind": "yes_no"},
        "k": {"kind": "compound", "levels": ["none", "some"], "conditions": {}},
        "two_words": {"kind": "ordinal", "levels": ["a", "b"]},
    }
    data, text = read_scenario_data(RIVER)
    data["issues"] |= issues
    scenario = build_scenario(data, RIVER, text)
    count, share, yes_no, compound, ordinal = (scenario.issue(n) for n in issues)
    assert (count.scale.minimum, count.scale.step, count.scale.unit) == (0, 1, "")
    assert (share.scale.minimum, share.scale.maximum, share.scale.step) == (0, 1, 0.01)
    assert yes_no.levels == ("no", "yes")
    assert (compound.scale.minimum, compound.scale.maximum, compound.scale.step,
            compound.scale.label) == (0, 1, 0.01, "conditions")
    assert compound.contested_from_level == 1
    assert not any(s.exchange or s.contested for s in (count, share, yes_no, compound))
    assert ordinal.label == "two words"
    table = "Issues: `[issues.NAME]`"
    assert "`1` for a count issue, `0.01` for a share" in row(table, "step")
    assert "`1` for a share" in row(table, "max")
    assert '`["no", "yes"]` for a yes/no issue' in row(table, "levels")
    assert "`NAME` with `_` as spaces" in row(table, "label")
    assert row(table, "contested_from_level").endswith("| `1` |")
    assert row("`[issues.NAME.conditions]`", "step").endswith("| `0.01` |")
    assert row("`[issues.NAME.conditions]`", "label").endswith('| `"conditions"` |')


def test_the_event_language_is_documented_whole():
    language = SECTIONS["The condition language"]
    for name in (*ROUND_COLUMNS, *(f"ISSUE.{p}" for p in {**ISSUE_PARTS, **COMPOUND_PARTS})):
        assert f"| `{name}` |" in language, name
    for symbol in ("<", "<=", ">", ">=", "==", "!=", "and", "or", "not", "+", "-", "*", "/"):
        assert f"`{symbol}`" in language, symbol


@pytest.mark.parametrize("block", blocks("toml"), ids=lambda b: b.splitlines()[0])
def test_every_toml_block_loads(block):
    """A variant (``extends``) loads as a file of scenarios/; any other block is a
    fragment, and loads merged into the river-basin case, as the document says."""
    if block.startswith("extends"):
        scenario = parse_scenario(block, ROOT / "scenarios" / "doc-example.toml")
        assert scenario.round.name in block
        return
    fragment = tomllib.loads(block)
    data, text = read_scenario_data(RIVER)
    scenario = build_scenario(_merge(data, fragment), RIVER, text)
    for name in fragment.get("issues", {}):
        assert scenario.issue(name)
    for name in fragment.get("events", {}):
        assert name in {e.name for e in scenario.events}


def test_the_walkthrough_builds_the_river_basin_file():
    walkthrough = SECTIONS["Your own case: the river basin, step by step"]
    steps = [b for b in blocks("toml", walkthrough) if not b.startswith("extends")]
    built: dict = {}
    for step in steps:
        built = _merge(built, tomllib.loads(step))
    assert built == tomllib.loads(RIVER.read_text(encoding="utf-8"))


def _event_error(when: str) -> str:
    data, text = read_scenario_data(RIVER)
    data["events"]["big_water"] = when
    with pytest.raises(ScenarioError) as caught:
        build_scenario(data, "scenarios/river-basin.toml", text)
    return str(caught.value)


def test_the_documented_event_errors_are_the_loaders():
    lines = re.findall(r'^\| `"(.*)"` \| `(.*)` \|$', SECTIONS["The condition language"],
                       flags=re.M)
    assert len(lines) >= 8
    for when, error in lines:
        assert _event_error(when) == ("scenarios/river-basin.toml: events.big_water: "
                                      + error)


def test_the_documented_error_line_is_the_commands(tmp_path, capsys):
    data, _ = read_scenario_data(CLASSROOM)
    data["parties"]["northland"]["issues"]["pow_exchange"]["red_lin"] = 400
    [shown] = [b for b in blocks("") if b.startswith("negsim: error:")]
    bad = tmp_path / "scenarios" / "classroom-two-party.toml"
    bad.parent.mkdir()
    bad.write_text(dumps(data), encoding="utf-8")
    assert main(["run", str(bad), "--out", str(tmp_path / "out")]) == 2
    printed = capsys.readouterr().err.strip()
    assert printed == shown.strip().replace("scenarios/classroom-two-party.toml", str(bad))


# -------------------------------------------------------------- claims of the sections
def test_the_istanbul_files_share_the_included_issues_events_and_observations():
    for name in ("istanbul-2025-05-16", "istanbul-2025-06-02", "june-20-30-2025",
                 "june-20-30-2025-us-pressure", "june-20-30-2025-leaders-meeting"):
        scenario = load_scenario(ROOT / "scenarios" / f"{name}.toml")
        assert (len(scenario.issues), len(scenario.events), len(scenario.observed)) == (
            7, 9, 5), name
    assert "seven issues, nine events and five observations" in FLAT


def test_the_merge_rules_as_documented(tmp_path):
    """Tables merge; arrays are replaced; top-level shifts add up (the US-pressure
    variant keeps the June file's shift and adds its own)."""
    pressure = load_scenario(ROOT / "scenarios" / "june-20-30-2025-us-pressure.toml")
    assert [s.key for s in pressure.shifts] == [
        "parties.russia.exchange_willingness",
        "parties.russia.issues.ceasefire.conditions_red_line"]
    variant = tmp_path / "variant.toml"
    variant.write_text(f'extends = "{RIVER}"\n'
                       '[[observed]]\nround = "one"\ntarget = "water"\nvalue = 1\n'
                       'source = "s"\n'
                       '[events]\nbig_border = "border.value >= 0.5"\n'
                       '[[parties.lowland.linkage]]\nissue = "border"\nrequires = "water"\n'
                       'at_least = 400\n', encoding="utf-8")
    base = tmp_path / "base-with-arrays.toml"
    base.write_text(RIVER.read_text(encoding="utf-8")
                    + '\n[[observed]]\nround = "zero"\ntarget = "border"\nvalue = 0.5\n'
                    'source = "s"\n[[parties.lowland.linkage]]\nissue = "water"\n'
                    'requires = "border"\nat_least = 0.1\n', encoding="utf-8")
    variant.write_text(variant.read_text().replace(str(RIVER), base.name))
    scenario = load_scenario(variant)
    assert [o.round for o in scenario.observed] == ["one"]
    lowland = next(p for p in scenario.parties if p.key == "lowland")
    assert [(link.issue, link.requires) for link in lowland.linkage] == [("border", "water")]
    river_events = [e.name for e in load_scenario(RIVER).events]
    assert [e.name for e in scenario.events] == river_events + ["big_border"]


def test_the_lattice_the_effective_red_line_and_the_commission_as_documented():
    # min = 5, step = 10: the smallest agreement is 10
    data, text = read_scenario_data(RIVER)
    data["issues"]["water"] |= {"min": 5}
    data["parties"]["upland"]["issues"]["water"] |= {"ideal": 5, "red_line": 5}
    data["parties"]["lowland"]["issues"]["water"] |= {"red_line": 5}
    data["issues"]["water"]["step"] = 10
    setup = realise(build_scenario(data, RIVER, text), 50, np.random.default_rng(0))
    i = setup.issues.index("water")
    assert (setup.zone_lo[:, i] * setup.step[i] == 10).all()
    assert (setup.zone_hi[:, i] < setup.zone_lo[:, i]).all()  # 5 holds no lattice point
    assert "the smallest agreement is 10" in FLAT
    # exchange on a levelled issue: ideal 0, red line 2, willingness 0.7 -> 1.4
    data, text = read_scenario_data(RIVER)
    data["issues"]["commission"]["exchange"] = True
    data["parties"]["upland"]["issues"]["commission"]["red_line"] = 2
    data["parties"]["upland"]["exchange_willingness"] = 0.7
    setup = realise(build_scenario(data, RIVER, text), 5, np.random.default_rng(0))
    assert np.allclose(setup.red_line[:, 0, setup.issues.index("commission")], 1.4)
    assert "has the effective red line 1.4" in FLAT
    # the commission: where the zone reaches level 2, the Nash point is level 1 (what an
    # informed mediator drafts item by item; realise computes it where one does)
    setup = realise(with_values(RIVER, {"round.protocol": "sequential",
                                        "information.private": False}),
                    2000, np.random.default_rng(0))
    c = setup.issues.index("commission")
    wide = setup.zone_hi[:, c] == 2
    assert wide.any() and (setup.zone_lo[wide, c] == 1).all()
    assert (setup.nash[wide, c] == 1).all()


# ------------------------------------------------------------ what the commands print
def test_the_worked_example_minutes_are_the_models():
    """The table of minutes: tau, aspirations, offers, text and who accepts."""
    model = NegotiationRound(realise(load_scenario(CLASSROOM), 1, np.random.default_rng(0)),
                             record=True).run()
    minutes = {r.minute: r for r in model.history}
    table = SECTIONS["Worked example: the classroom round"]
    rows = re.findall(r"^\| \**(\d+)\**(?: \(item opens\))? \| \**([\d.]+)\** \| \**(\d+) → "
                      r"(\d+)\** \| \**(\d+) → (\d+)\** \| \**(\d+)\** \| \**([\w ]+?)\** \|$",
                      table, flags=re.M)
    assert len(rows) == 6
    said = {"neither": (False, False), "Southland only": (False, True), "both": (True, True)}
    for minute, tau, n_asp, n_off, s_asp, s_off, text, accepted in rows:
        record = minutes[int(minute)]
        assert float(tau) == pytest.approx((int(minute) - 10) / 100 * 1.25)
        assert record.aspirations == pytest.approx((float(n_asp), float(s_asp)))
        assert record.offers == (float(n_off), float(s_off))
        assert record.proposal == float(text)
        assert record.accepted == said[accepted]
    parked = [r.minute for r in model.history if r.status.name == "PARKED"]
    assert parked == [14] and "parks it at the end of minute 14" in table
    assert max(max(r.frustration) for r in model.history) == 32.5
    out = model.outcomes()
    assert (out["pow_exchange_value"][0], out["pow_exchange_minute"][0],
            out["duration_minutes"][0]) == (800, 71, 76)
    assert "`pow_exchange_minute = 71`" in table and "**76 minutes**" in table


def test_the_worked_example_code_prints_what_the_document_shows():
    section = SECTIONS["Worked example: the classroom round"]
    [code] = blocks("python", section)
    printed = re.search(r"^prints\n\n```\n(.*?)```$", section, flags=re.M | re.S).group(1)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, check=True)
    assert result.stdout == printed


def _run(argv: list[str], tmp_path: Path, capsys) -> str:
    assert main([*argv, "--out", str(tmp_path / "out"), "--workers", "1"]) == 0
    return capsys.readouterr().out


def test_the_classroom_run_prints_what_the_document_says(tmp_path, capsys):
    printed = _run(["run", str(CLASSROOM), "--no-plots"], tmp_path, capsys)
    lines = {re.split(r"\s{2,}", line)[0]: line.split() for line in printed.splitlines()}
    for event in ("prisoner exchange agreed", "800 or more prisoners per side"):
        assert lines[event][-4] == "100.0%"
    for event in ("a ceasefire agreed", "a delegation walked out"):
        assert lines[event][-4] == "0.0%"
    assert lines["prisoner exchange (prisoners per side, where agreed)"][-5:] == ["800"] * 5
    assert lines["duration, minutes"][-5:] == ["76"] * 5
    assert ("reports the exchange agreed and `big_exchange` in 100.0% of rounds, the "
            "ceasefire and the walk-out in 0.0%, and 800 prisoners per side and 76 "
            "minutes at every quantile") in FLAT


def test_the_walkthrough_run_prints_what_the_document_shows(tmp_path, capsys):
    walkthrough = SECTIONS["Your own case: the river basin, step by step"]
    command = re.search(r"`negsim (run scenarios/river-basin.toml [^`]*)`", walkthrough)
    argv = command.group(1).split()
    argv[1] = str(ROOT / argv[1])
    [shown] = [b for b in blocks("", walkthrough) if b.startswith("River basin")]
    printed = _run(argv, tmp_path, capsys)
    assert printed.startswith(shown)


def test_walkout_party_compares_with_a_name_and_constants_alone_are_refused(tmp_path, capsys):
    """As the document says: ``walkout_party == 'Upland'`` counts the rounds Upland left
    (it raised on evaluation before: a constant's presence came back as a plain bool);
    a condition that reads no outcome (``true``, ``1 > 2``) would be one value for the
    whole batch (it was counted as 1 or 0 rounds), and is refused."""
    variant = tmp_path / "variant.toml"
    variant.write_text(f'extends = "{RIVER}"\n[events]\n'
                       "upland_left = \"walkout_party == 'Upland'\"\n"
                       "lowland_left = \"walkout and walkout_party != 'Upland'\"\n"
                       "not_upland = \"walkout_party != 'Upland'\"\n", encoding="utf-8")
    _run(["run", str(variant), "--runs", "400", "--no-plots"], tmp_path, capsys)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    frame = load_results(tmp_path / "out")
    events = summary["events"]
    by_party = frame["walkout_party"].value_counts()
    assert events["upland_left"]["count"] == by_party.get("Upland", 0)
    assert events["lowland_left"]["count"] == events["not_upland"]["count"] == by_party.get(
        "Lowland", 0) > 0
    for when in ("true", "1 > 2", "false or 1 == 1"):
        assert "reads no outcome of the round" in _event_error(when)


def test_the_names_an_issue_cannot_take_are_the_loaders():
    sentence = re.search(r"and none of (.*?)\. An issue need", FLAT).group(1)
    documented = set(re.findall(r"`(\w+)`", sentence))
    refused = set()
    for name in documented | {"water_2", "Water", "_x", "lambda_", "agreed"}:
        data, text = read_scenario_data(RIVER)
        data["issues"][name] = {"kind": "yes_no"}
        try:
            build_scenario(data, RIVER, text)
        except ScenarioError as error:
            assert error.key == f"issues.{name}" and "cannot name an issue" in error.message
            refused.add(name)
    assert refused == documented


# ------------------------------------------------------------------ the bargaining model
def test_the_bargaining_model_s_tables_are_the_loaders():
    """[information], [mediator.stakes.ISSUE] and [[mediator.levers]]: the document's
    keys are exactly the loader's; and the new keys of [round], [mediator] and
    [parties.NAME] are in their tables (checked with the rest above)."""
    [documented] = key_tables("`[information]`")
    assert documented == probe(RIVER, ("information",))
    [documented] = key_tables("`[[mediator.levers]]`")
    assert documented == probe(RIVER, ("mediator", "levers"), array=True)
    data, text = read_scenario_data(RIVER)
    data["mediator"]["stakes"] = {"water": {"ideal": 500, "zz_probe": 1}}
    with pytest.raises(ScenarioError) as caught:
        build_scenario(data, RIVER, text)
    [documented] = key_tables("`[mediator.stakes.ISSUE]`")
    assert documented == caught.value.message.split("Allowed: ", 1)[1].split(", ")
    for section, keys in (("`[round]`", ["protocol"]),
                          ("`[mediator]`", ["informed", "format", "caucuses", "bias"]),
                          ("`[parties.NAME]`", ["batna", "discount_per_hour", "bluff"])):
        for key in keys:
            assert row(section, key)


PACKAGE_CASE = ROOT / "scenarios" / "classroom-package.toml"


def test_the_package_worked_by_hand_is_the_engine_s():
    """"A package worked by hand": the Nash point over the lattice by brute force, the
    minutes of the package and of the same round item by item, and what the document
    says of each."""
    section = " ".join(SECTIONS["A package worked by hand"].split())
    grid = np.arange(0, 101, 5.0)
    products = {(f, b): ((3 * f + b) / 400) * ((100 - f + 3 * (100 - b)) / 400)
                for f in grid for b in grid}
    best = max(products, key=products.get)
    assert best == (100.0, 0.0) and products[best] == 0.75 * 0.75
    package = run_scenario(load_scenario(PACKAGE_CASE), 1, 0).iloc[0]
    assert (package["fishing_value"], package["border_value"]) == best
    assert package["fishing_minute"] == package["border_minute"] == 26
    assert package["duration_minutes"] == 31
    model = NegotiationRound(realise(load_scenario(PACKAGE_CASE), 1,
                                     np.random.default_rng(0)), record=True).run()
    first = next(r for r in model.history if all(r.accepted))
    assert first.minute == 25 and first.values == (0.75, 0.75)
    assert model.history[0].minute == 10 and "opens at minute 10" in section
    assert not any(any(r.accepted) for r in model.history[:-1])
    sequential = run_scenario(with_values(PACKAGE_CASE, {"round.protocol": "sequential"}),
                              1, 0).iloc[0]
    assert (sequential["fishing_value"], sequential["border_value"]) == (50, 50)
    assert (sequential["fishing_minute"], sequential["border_minute"],
            sequential["duration_minutes"]) == (41, 42, 47)
    for claim in ("each side gets **0.75**", "fishing 100, border 0", "**minute 25**",
                  "`fishing_minute = 26`", "**31 minutes**", "`fishing_minute = 41`",
                  "`border_minute = 42`", "**47 minutes**", "Each side gets 0.5"):
        assert claim in section, claim


def test_the_river_basin_with_public_information_is_what_the_document_says(tmp_path,
                                                                             capsys):
    printed = _run(["run", str(RIVER), "--runs", "2000", "--seed", "1", "--no-plots",
                    "--set", "information.private=false"], tmp_path, capsys)
    lines = {re.split(r"\s{2,}", line)[0]: line.split() for line in printed.splitlines()}
    assert lines["a joint commission with powers"][-4] == "32.6%"
    assert lines["a water allocation agreed"][-4] == "74.2%"
    walkthrough = " ".join(SECTIONS["Your own case: the river basin, step by step"].split())
    assert ("a commission with powers in 32.6% of rounds, and water agreed in 74.2% "
            "instead of 67.8%") in walkthrough
    assert "a joint commission with powers 20.1%" in " ".join(
        next(b for b in blocks("", SECTIONS["Your own case: the river basin, step by step"])
             if b.startswith("River basin")).split())
    assert "one round in five agrees one" in walkthrough
    assert "a water allocation agreed 67.8%" in " ".join(
        next(b for b in blocks("", SECTIONS["Your own case: the river basin, step by step"])
             if b.startswith("River basin")).split())
