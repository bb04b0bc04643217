"""Which parameters drawn from a posterior the calibration did not pin down.

A calibration records, for every parameter, how far its posterior contracted from its
prior (``sim.calibration.checks.identifiability``); a parameter that "stays near its
prior" is the prior's, not evidence, and every forecast that draws it rests on the
priors file there. This finds that record for a posterior file:

- the posterior's manifest, where it lists them (``"unidentified"``: the track fit's
  files, ``negsim calibrate --record``);
- else the checks the manifest names (``"checks"``), or the ``checks.json`` written
  beside a ``posterior.parquet`` (``negsim calibrate --report``): its
  ``identifiability`` rows, read for this file's parameters.

``negsim run`` records the result in ``summary.json`` (``parameters.unidentified``)
and ends its table with one line naming them; ``negsim report`` says them where it
says where the parameters come from. No record found: ``None`` (nothing is claimed).
"""

from __future__ import annotations

import json
from pathlib import Path

from sim.errors import InputError
from sim.scenario.checks import read_file
from sim.scenario.posterior import manifest_path

#: The identifiability verdict of a parameter the data leave at its prior.
UNIDENTIFIED = "stays near its prior"
#: The largest manifest or checks file read.
LIMIT = 16 << 20


def _json(path: Path) -> dict | None:
    try:
        data = json.loads(read_file(path, LIMIT, what="JSON"))
    except (InputError, OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def unidentified_parameters(posterior: dict | None) -> dict | None:
    """``{"parameters": [...], "source": FILE}`` for a batch's posterior as
    ``summary.json`` records it (``parameters.posterior``: its file and parameters);
    None without a posterior or without a record of its identifiability."""
    if not posterior or not posterior.get("file"):
        return None
    path = Path(str(posterior["file"]))
    keys = [str(k) for k in posterior.get("parameters") or []]
    manifest = _json(manifest_path(path)) or {}
    listed = manifest.get("unidentified")
    if isinstance(listed, list):
        return {"parameters": [k for k in keys if k in listed],
                "source": str(manifest_path(path))}
    named = manifest.get("checks")
    checks = path.parent / named if isinstance(named, str) else (
        path.parent / "checks.json" if path.name == "posterior.parquet" else None)
    data = _json(checks) if checks is not None else None
    if data is None:
        return None
    rows = data.get("identifiability")
    if isinstance(rows, dict):  # the track checks: a table per posterior file
        rows = rows.get(path.name)
    if not isinstance(rows, list):
        return None
    left = {row.get("parameter") for row in rows
            if isinstance(row, dict) and row.get("verdict") == UNIDENTIFIED}
    return {"parameters": [k for k in keys if k in left], "source": str(checks)}


def unidentified_line(flag: dict | None, drawn: int) -> str | None:
    """The line ``negsim run`` ends its table with (None where nothing is known)."""
    if flag is None:
        return None
    names = flag["parameters"]
    if not names:
        return (f"All {drawn} parameters drawn from the posterior are informed by its "
                f"data ({flag['source']}).")
    return (f"Not pinned down by the data ({len(names)} of {drawn} drawn from the "
            f"posterior stay near their prior, {flag['source']}): {', '.join(names)}")
