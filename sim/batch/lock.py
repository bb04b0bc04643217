"""The lock of a results folder: ``OUT/negsim.lock`` names the process writing there
(its pid and host), so that a second batch on the same folder is refused instead of
racing the first (each would clear the other's temporary parts).

A lock whose process has died on this host is stale, and taken over; one of another
host cannot be checked, and is refused (the message says how to remove it). Taking
the lock is serialised by ``flock`` on the folder, so two batches starting at once
cannot both take it. The lock file, not ``flock`` alone, is the lock: it works on
any file system and says who holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from sim.fileio import make_folder, write_atomically

LOCK = "negsim.lock"


class LockError(Exception):
    """The folder is held by another process (or its lock cannot be read): one line."""


def _holder(text: str) -> tuple[int, str] | None:
    """The pid and host a lock file names (``None``: it names none)."""
    try:
        holder = json.loads(text)
        pid, host = holder["pid"], holder["host"]
    except (ValueError, TypeError, KeyError):
        return None
    return (pid, host) if isinstance(pid, int) and isinstance(host, str) else None


def _alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's
        return True
    except (OSError, OverflowError):
        return False
    return True


def check_lock(folder: Path) -> None:
    """Refuse (``LockError``) a folder that another live process holds; a folder that
    does not exist, or is not locked, or is locked by this process, passes."""
    path = folder / LOCK
    try:
        text = path.read_text()
    except FileNotFoundError:
        return
    except (OSError, UnicodeDecodeError) as error:
        if not folder.is_dir():  # no folder to hold a lock: making it will say why not
            return
        raise LockError(f"{path}: cannot be read ({error}); remove it if no negsim process "
                        "writes to this folder") from None
    holder = _holder(text)
    if holder is None:
        raise LockError(f"{path}: names no process; remove it if no negsim process writes "
                        "to this folder")
    pid, host = holder
    if (pid, host) == (os.getpid(), socket.gethostname()):
        return
    if host != socket.gethostname() or _alive(pid):
        raise LockError(f"--out {folder}: in use by negsim process {pid} on {host} (its "
                        f"lock: {path}); wait for it to end, or remove the lock if that "
                        "process is not negsim or runs no more")


@contextlib.contextmanager
def hold(folder: Path) -> Iterator[None]:
    """Hold ``folder`` (made if new) for this process while inside; ``LockError``
    where another holds it. A stale lock is taken over."""
    make_folder(folder)
    path = folder / LOCK
    mine = json.dumps({"pid": os.getpid(), "host": socket.gethostname()})
    handle = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        check_lock(folder)
        write_atomically(path, mine)
    finally:
        os.close(handle)  # lets go of the flock
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            if path.read_text() == mine:
                path.unlink()
