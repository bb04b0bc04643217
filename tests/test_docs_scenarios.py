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

import re
from fractions import Fraction
from pathlib import Path

import pytest

from sim.scenario.load import load_scenario
from sim.scenario.spec import Scenario

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
    if path.name == "campaign-after-2025-06-02.toml":
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
