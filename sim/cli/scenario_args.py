"""What the commands that take a scenario share: ``--set KEY=VALUE``, loading the
scenario a user named (with a hint when the file is a campaign file), and the name
of a default results folder.

``--set`` is one option on every command that runs a scenario (run, compare, sweep,
sensitivity, validate, trace, whatif): the same parser (``overrides.parse_settings``)
and the same change (``overrides.scenario_with``), so a key set on one command means
the same on every other.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.cli.common import UsageError
from sim.errors import InputError
from sim.scenario.checks import read_file
from sim.scenario.overrides import parse_settings, scenario_with
from sim.scenario.spec import Scenario, ScenarioError


def add_set_option(parser: argparse.ArgumentParser, what: str = "the scenario") -> None:
    """``--set KEY=VALUE`` (repeatable)."""
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help=f"change a key of {what} first, e.g. --set mediator.pressure=0.5 "
                        "or --set 'context.third_party_pressure=[0.2, 0.4]' (a TOML "
                        "value; repeatable)")


def settings_of(args: argparse.Namespace) -> dict[str, Any]:
    """The ``--set`` options as scenario keys; a malformed one is a ``UsageError``."""
    try:
        return parse_settings(args.set)
    except ValueError as error:
        raise UsageError(str(error)) from None


def is_campaign_file(path: str | Path) -> bool:
    """Whether the file is a campaign file (a top-level ``[campaign]`` table), which
    ``negsim campaign`` runs: read only to explain an error, so any failure is False."""
    try:  # read as every scenario is (a device, a pipe or a huge file is refused)
        text = read_file(path).decode("utf-8")
        return isinstance(tomllib.loads(text).get("campaign"), dict)
    except (InputError, OSError, ValueError, RecursionError):
        return False


def load_scenario_arg(path: str | Path, settings: Mapping[str, Any] | None = None) -> Scenario:
    """The scenario file a user named on the command line, with ``settings`` applied.

    A scenario error is raised as it is, except for a campaign file, which says to use
    ``negsim campaign`` (the loader alone would call ``[campaign]`` an unknown key); a
    ``--set`` that cannot apply (a drawn key set to a range) is a ``UsageError``."""
    try:
        return scenario_with(path, settings or {})
    except ScenarioError as error:
        if Path(error.path) == Path(path) and is_campaign_file(path):
            raise ScenarioError(path, "campaign", "this is a campaign file, not a scenario: "
                                f"run it with negsim campaign {path}") from None
        raise
    except InputError:
        raise
    except ValueError as error:
        raise UsageError(str(error)) from None


#: The longest default folder name spelled out in full (file systems allow 255 bytes).
LONGEST = 120


def _slug(value: Any) -> str:
    """A setting's value in a folder name: ``0.5``, ``60-90`` for a range, letters,
    digits, ``.``, ``_`` and ``-`` only."""
    if isinstance(value, list):
        return "-".join(_slug(v) for v in value)
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "_"


def default_folder(stem: str, changes: Mapping[str, Any] | None = None,
                   settings: Mapping[str, Any] | None = None) -> Path:
    """``results/<stem>`` for a batch with the defaults; otherwise the name carries
    what makes the batch different, so two different batches never share a folder:
    ``results/<stem>-seed1-runs50000`` (``changes``: the options that differ from
    their defaults, in the order given) and ``-mediator.pressure=0.5`` per ``--set``
    (a range as ``60-90``); past ``LONGEST`` characters, the settings are named by a
    hash instead (``-set-1a2b3c4d``), which ``summary.json`` and the manifest spell out."""
    name = stem + "".join(f"-{option}{_slug(value)}" for option, value in
                          (changes or {}).items())
    named = "".join(f"-{key}={_slug(value)}" for key, value in (settings or {}).items())
    if len(name + named) > LONGEST:
        digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
        named = f"-set-{digest.hexdigest()[:8]}"
    return Path("results") / (name + named)
