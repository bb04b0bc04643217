"""The error every user-facing input problem raises: which file, which key, and why.

The command line turns it into one line on stderr and exit status 2, never a
traceback. Scenario files, calibration files and posterior files all use it.
"""

from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """A file that cannot be used: says which file, which key, and what is allowed."""

    def __init__(self, path: str | Path, key: str, message: str):
        self.path, self.key, self.message = str(path), key, message
        where = f"{self.path}: {key}: " if key else f"{self.path}: "
        super().__init__(where + message)
