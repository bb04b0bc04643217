"""Small checked readers for the project's TOML files other than scenarios
(calibration evidence, campaigns): each problem is an ``InputError`` naming the
file, the key and what is allowed. ``read_file`` is the one reader of every file a
user names (scenarios, their bases, posteriors, experiment, calibration and
campaign files): regular files only, of bounded size."""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import os
import stat
import tomllib
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import InputError

#: Largest TOML file read (scenario, base scenario, experiment, calibration,
#: campaign): the project's largest is 6 KB.
TEXT_LIMIT = 1 << 20

#: Largest posterior file read: ours (2,000 particles of 9 parameters) is 190 KB; a
#: million particles of 20 parameters is about 160 MB.
POSTERIOR_LIMIT = 256 << 20

_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def _not_regular(path: Path, mode: int, what: str) -> InputError:
    if stat.S_ISDIR(mode):
        return InputError(path, "", f"is a directory, not a {what} file")
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    return InputError(path, "", f"is {kind}: only regular files are read")


def _size(limit: int) -> str:
    return f"{limit / (1 << 20):g} MiB" if limit >= 1 << 20 else f"{limit:,} bytes"


def read_file(path: str | Path, limit: int = TEXT_LIMIT, what: str = "TOML") -> bytes:
    """The bytes of the regular file at ``path``, at most ``limit`` of them.

    Anything else is refused before it is read: a device (``/dev/zero`` never ends,
    ``/dev/urandom`` neither), a named pipe (reading waits for a writer: it is opened
    without blocking and refused), a socket, a folder. A file larger than ``limit``
    is refused too, also one that grows while read or that reports no size (files
    under ``/proc``): never more than ``limit + 1`` bytes are read. ``what`` names
    the kind of file expected, in messages."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode  # follows links: a link to a device is a device
    except FileNotFoundError:
        raise InputError(path, "", "no such file") from None
    except ValueError:  # an embedded NUL
        raise InputError(path, "", "cannot be read: not a usable file name") from None
    except OSError as error:
        raise InputError(path, "", f"cannot be read: {error.strerror or error}") from None
    if not stat.S_ISREG(mode):
        raise _not_regular(path, mode, what)
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as error:
        raise InputError(path, "", f"cannot be read: {error.strerror or error}") from None
    try:
        status = os.fstat(handle)  # the file opened, whatever the path names now
        if not stat.S_ISREG(status.st_mode):
            raise _not_regular(path, status.st_mode, what)
        too_large = InputError(path, "", f"is larger than {_size(limit)}, the most read of "
                               "such a file")
        if status.st_size > limit:
            raise too_large
        chunks, read = [], 0
        while read <= limit:
            chunk = os.read(handle, min(limit + 1 - read, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            read += len(chunk)
        if read > limit:
            raise too_large
        return b"".join(chunks)
    except OSError as error:
        raise InputError(path, "", f"cannot be read: {error.strerror or error}") from None
    finally:
        os.close(handle)


def read_toml(path: Path) -> tuple[dict, str]:
    """The parsed file and its sha256."""
    try:
        # newlines translated as Path.read_text does: the hash is of the text
        text = read_file(path).decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as error:
        raise InputError(path, "", f"cannot be read as text: {error}") from None
    try:
        return tomllib.loads(text), hashlib.sha256(text.encode()).hexdigest()
    except tomllib.TOMLDecodeError as error:
        raise InputError(path, "", f"is not valid TOML: {error}") from None


def table(path: Path, key: str, value: Any, allowed: tuple[str, ...],
          required: tuple[str, ...] = ()) -> dict:
    """A table with only ``allowed`` keys (suggesting the close one) and all ``required``."""
    if not isinstance(value, dict):
        raise InputError(path, key or "(top level)", f"must be a table, got "
                         f"{type(value).__name__}")
    for name in value:
        if name not in allowed:
            close = difflib.get_close_matches(str(name), allowed, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise InputError(path, f"{key}.{name}" if key else name,
                             f"unknown key{hint} Allowed: " + ", ".join(allowed))
    for name in required:
        if name not in value:
            raise InputError(path, f"{key}.{name}" if key else name, "is required but missing")
    return value


def number(path: Path, key: str, value: Any, low: float = -np.inf,
           high: float = np.inf) -> float:
    """A finite number within ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise InputError(path, key, f"must be a number, got {type(value).__name__} {value!r}")
    if not low <= value <= high:
        raise InputError(path, key, f"{value!r} is out of range: must be within "
                         f"[{low:g}, {high:g}]")
    return float(value)


def span(path: Path, key: str, value: Any, low: float, high: float) -> tuple[float, float]:
    """A number or a ``[low, high]`` range within ``[low, high]``, as a pair."""
    if isinstance(value, list):
        if len(value) != 2:
            raise InputError(path, key, "must be a number or a [low, high] range")
        a, b = (number(path, key, v, low, high) for v in value)
        if a > b:
            raise InputError(path, key, f"range [{a:g}, {b:g}] has low > high")
        return a, b
    x = number(path, key, value, low, high)
    return x, x


def date(path: Path, key: str, value: Any) -> dt.date:
    """A date: a TOML date or a ``YYYY-MM-DD`` string."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(path, key, f"must be a date YYYY-MM-DD, got {value!r}") from None
