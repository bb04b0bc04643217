"""``negsim validate SCENARIO``: check a scenario file and print it merged — its
``extends`` chain resolved and any ``--set`` applied — as one TOML file.

The printed TOML is written by ``tomlkit`` (a TOML writer, not text assembled by
hand), so every value from the file is quoted as TOML data, and it loads back to the
same scenario: saved beside the file it came from (a posterior's path is written
relative to that file's folder), it is the scenario ``negsim run`` runs. A broken
file is one line naming the file, the key and what is allowed, exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import tomlkit

from sim.cli.common import UsageError
from sim.cli.scenario_args import add_set_option, load_scenario_arg, settings_of
from sim.scenario.load import build_scenario
from sim.scenario.overrides import data_with_values, setting_values

DESCRIPTION = """\
Check a scenario file and print the scenario it makes as one TOML file: a variant's
`extends` chain merged into it (tables key by key, a variant's [[shift]]s after its
base's), then any --set changes. Keys left out keep their documented defaults
(docs/scenarios.md) and are not printed. Exit status 0 when the file is valid; 2, with
one line naming the file, the key and what is allowed, when it is not."""


def register(commands: argparse._SubParsersAction) -> None:
    validate = commands.add_parser(
        "validate", help="check a scenario file and print it merged (extends resolved) "
        "as TOML", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    validate.add_argument("scenario", help="scenario file (TOML)")
    add_set_option(validate)
    validate.set_defaults(handler=main)


def merged_toml(path: str | Path, settings: dict) -> str:
    """The scenario at ``path``, ``extends`` resolved and ``settings`` applied, as TOML
    that loads back (from the same folder) to the same scenario. Raises the
    scenario's errors; a ``--set`` that cannot apply is a ``UsageError``."""
    as_filed = load_scenario_arg(path)
    try:
        values = setting_values(as_filed, settings)
    except ValueError as error:
        raise UsageError(str(error)) from None
    data, sources = data_with_values(path, values)
    build_scenario(data, path, sources)  # the changed scenario is valid too
    posterior = data.get("posterior")
    if isinstance(posterior, dict) and isinstance(posterior.get("file"), str):
        # the loader made it relative to the file naming it (maybe a base elsewhere)
        posterior["file"] = Path(os.path.relpath(Path(posterior["file"]).absolute(),
                                                 Path(path).parent.absolute())).as_posix()
    return tomlkit.dumps(data)


def main(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    text = merged_toml(args.scenario, settings)
    # keys are known scenario keys by now (validated); values are written as TOML
    changes = "".join(f"\n#   --set {key}={tomlkit.item(value).as_string()}"
                      for key, value in settings.items())
    name = str(args.scenario).encode("unicode_escape").decode()  # one comment line
    print(f"# {name}, merged by negsim validate: extends resolved"
          + (f", then{changes}" if changes else "")
          + "\n# paths are relative to the folder of that file\n")
    print(text, end="")
    print(f"{args.scenario}: valid", file=sys.stderr)
    return 0
