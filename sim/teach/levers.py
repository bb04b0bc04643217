"""The levers a teacher (or a what-if search) may pull: scenario keys with their
allowed ranges, and ``--set KEY=VALUE`` settings.

A lever is a dotted scenario key (``sim.scenario.overrides``): a party's red line on an
issue, its exchange willingness or patience, the mediator's pressure or credibility.
Its allowed range is the one the scenario loader enforces (``Scenario.bounds``); a
red line must in addition stay on the far side of the party's ideal, which only
validation can tell, so every change goes through ``with_values``.

A key the scenario draws from its posterior (or shifts) is *drawn*: its value in the
file is not used, so it is moved through the scenario's ``[[shift]]`` instead — set
(``scale = 0, add = value``) or moved (``add`` more), as ``sim.studies.design`` does for the
knobs of a sweep.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# --set and a lever's move are scenario changes (sim.scenario.overrides); re-exported
# for the teaching tools that use them beside the levers
from sim.scenario.overrides import drawn_keys, parse_setting, scenario_with  # noqa: F401
from sim.scenario.spec import IssueSpec, Range, Scenario
from sim.teach.wording import level_admitted


@dataclass(frozen=True)
class Lever:
    """One scenario key that can be moved.

    ``value`` is the key's value as the scenario has it (a number, or ``[low, high]``
    for a range), None where it is ``drawn`` (from the posterior, or shifted: then a
    move adds to the value drawn); ``low, high`` the range the loader allows;
    ``softer`` the sign of a move that makes the side more accommodating (+1 or -1;
    for a mediator's lever, the sign of more of it).
    """

    key: str
    label: str
    value: float | list[float] | None
    low: float
    high: float
    softer: int
    drawn: bool = False
    issue: str | None = None
    level_issue: IssueSpec | None = None

    def admits(self, value: float) -> str | None:
        """Where the lever is a red line on an issue's levels (a compound issue's level,
        an ordinal or yes/no issue; ``level_issue``), the level a value admits: a red
        line between two levels admits the next one its side accepts
        (``wording.level_admitted``). None for any other lever."""
        spec = self.level_issue
        if spec is None:
            return None
        return spec.level_name(level_admitted(spec, value, -self.softer))

    @property
    def span(self) -> float:
        return self.high - self.low

    def values(self) -> list[float]:
        return list(self.value) if isinstance(self.value, list) else [self.value]

    def room(self, sign: int) -> float:
        """How far the lever can move in direction ``sign`` before all of it sits at
        the edge of its allowed range (a drawn value: the whole range, since draws
        anywhere in it may be moved)."""
        if self.drawn:
            return self.span
        return self.high - min(self.values()) if sign > 0 else max(self.values()) - self.low

    def moved(self, delta: float) -> float | list[float] | None:
        """The value shifted by ``delta`` (both ends of a range), clipped to the
        allowed range: a range squeezed against an edge stays a (narrower) range.
        None for a drawn value (the shift applies to each draw)."""
        if self.drawn:
            return None
        moved = [min(max(v + delta, self.low), self.high) for v in self.values()]
        return moved if isinstance(self.value, list) else moved[0]

    def change(self, delta: float) -> tuple[dict[str, Any], dict[str, float]]:
        """``(settings, moves)`` for ``scenario_with`` that move this lever by ``delta``."""
        return ({}, {self.key: delta}) if self.drawn else ({self.key: self.moved(delta)}, {})

    def direction(self, sign: int) -> str:
        """A word for a move in direction ``sign``."""
        if self.key.endswith("red_line") or ".conditions_red_line_at." in self.key:
            return "softer" if sign == self.softer else "harder"
        words = {"exchange_willingness": ("more willing", "less willing"),
                 "patience": ("more patient", "less patient"),
                 "pressure": ("more pressure", "less pressure"),
                 "credibility": ("more credible", "less credible")}
        up, down = words[self.key.rsplit(".", 1)[1]]
        return up if sign > 0 else down


def _as_value(value: Range) -> float | list[float]:
    return value.low if value.fixed else [value.low, value.high]


def levers(scenario: Scenario) -> tuple[Lever, ...]:
    """Every lever of a scenario, party by party, then the mediator's.

    Per party: its red line on each agenda issue (on a compound issue: the lowest level
    it accepts, the conditions it demands, and those it demands at a level given its
    own), its exchange willingness and its patience. The mediator: pressure and
    credibility. Bounds are the loader's (``Scenario.bounds``).
    """
    bounds = {key: (low, high) for key, low, high in scenario.bounds}
    drawn = drawn_keys(scenario)

    def lever(key: str, label: str, value: Range, softer: int, issue: str | None = None,
              levels: IssueSpec | None = None):
        low, high = bounds[key]
        return Lever(key, label, None if key in drawn else _as_value(value), low, high,
                     softer, key in drawn, issue, levels)

    found: list[Lever] = []
    for party in scenario.parties:
        base = f"parties.{party.key}"
        for spec in scenario.agenda_issues:
            issue, pos = spec.name, party.position(spec.name)
            key, label = f"{base}.issues.{issue}", f"{party.name}: red line on {spec.label}"
            if spec.compound:
                found += [
                    lever(f"{key}.red_line", f"{label} (level)", pos.red_line, -pos.wants,
                          issue, spec),
                    lever(f"{key}.conditions_red_line", f"{label} ({spec.scale.label})",
                          pos.conditions_red_line, -pos.conditions_wants, issue)]
                found += [lever(f"{key}.conditions_red_line_at.{level}",
                                f"{label} ({spec.scale.label} at {spec.level_name(level)})",
                                value, -pos.conditions_wants, issue)
                          for level, value in pos.conditions_red_line_at]
            else:
                found.append(lever(f"{key}.red_line", label, pos.red_line, -pos.wants, issue,
                                   spec if spec.levelled else None))
        found += [lever(f"{base}.exchange_willingness", f"{party.name}: exchange willingness",
                        party.exchange_willingness, 1),
                  lever(f"{base}.patience", f"{party.name}: patience (minutes)",
                        party.patience, 1)]
    name = scenario.mediator.name
    found += [lever("mediator.pressure", f"{name} (mediator): pressure",
                    scenario.mediator.pressure, 1),
              lever("mediator.credibility", f"{name} (mediator): credibility",
                    scenario.mediator.credibility, 1)]
    return tuple(found)
