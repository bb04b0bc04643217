"""The one way negsim writes a file: atomically, so a reader (or a killed run) sees
the old file or the new one, never half of one.

The content goes to a temporary file beside the target (``.NAME.XXXX.tmp``: hidden,
so Parquet readers skip it), is flushed to disk (``fsync``), and is renamed over the
target; rename within a folder is atomic on POSIX file systems (rename(2)). A write
that fails removes its temporary file and raises ``WriteError``, which says which
path and why (disk full, read-only file system, no permission) in one line.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

#: What a temporary file of ``write_atomically`` is named like (in the target's folder).
TEMPORARY = ".*.tmp"


class WriteError(OSError):
    """A file or folder that cannot be written: the path and the cause, in one line."""

    def __init__(self, path: str | Path, cause: str) -> None:
        super().__init__(f"cannot write {path}: {cause}")
        self.path, self.cause = str(path), cause

    def __reduce__(self):  # pickles as itself (OSError's default would not)
        return type(self), (self.path, self.cause)


def cause_of(error: OSError) -> str:
    """An OSError's cause as people read it: ``No space left on device``, …"""
    if error.errno is not None and error.strerror:
        return error.strerror
    if error.errno is not None:
        return os.strerror(error.errno)
    return str(error) or type(error).__name__


def make_folder(path: str | Path) -> Path:
    """``mkdir -p path``; a folder that cannot be made raises ``WriteError``."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # a file (or a dangling link) in the way
        raise WriteError(path, "a file of that name is in the way") from None
    except OSError as error:
        raise WriteError(path, _cause_with_loop(error)) from None
    return path


def _cause_with_loop(error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "too many levels of symbolic links (a symlink loop?)"
    return cause_of(error)


def write_atomically(path: str | Path, content: bytes | str | Callable[[Path], object]
                     ) -> None:
    """Write ``content`` to ``path`` atomically: bytes, text (UTF-8), or a function
    that writes the file at the path it is given (``frame.to_parquet``,
    ``figure.savefig``). The folder must exist. A path that holds something other than
    a regular file (a device such as ``/dev/null``, a pipe, a socket, a folder; also
    through a link) is refused before anything is written: the rename would put a
    file in its place."""
    path = Path(path)
    _check_replaceable(path)
    try:
        handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                        suffix=".tmp")
    except OSError as error:
        raise WriteError(path, _cause_with_loop(error)) from None
    temp = Path(name)
    try:
        if callable(content):
            os.close(handle)
            handle = None
            content(temp)
            handle = os.open(temp, os.O_RDONLY)
        else:
            data = content.encode() if isinstance(content, str) else content
            view = memoryview(data)
            while view:
                view = view[os.write(handle, view):]
        os.fsync(handle)
        os.close(handle)
        handle = None
        os.replace(temp, path)
    except OSError as error:
        _discard(handle, temp)
        raise WriteError(path, _cause_with_loop(error)) from None
    except BaseException:
        _discard(handle, temp)
        raise


def _check_replaceable(path: Path) -> None:
    """``WriteError`` where ``path`` holds something a file must not replace."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return  # nothing there (or a dangling link, which the rename replaces)
    except OSError as error:
        raise WriteError(path, _cause_with_loop(error)) from None
    if stat.S_ISDIR(mode):
        raise WriteError(path, "is a folder: give a file's path")
    if not stat.S_ISREG(mode):
        raise WriteError(path, "is not a regular file (a device, a pipe or a socket): "
                         "give a file's path")


def _discard(handle: int | None, temp: Path) -> None:
    if handle is not None:
        try:
            os.close(handle)
        except OSError:
            pass
    temp.unlink(missing_ok=True)


def rendered(figure, **savefig_options) -> bytes:
    """A figure's image in memory (``figure.savefig`` into a buffer), for a page that
    shows it without a file: the one place outside ``write_atomically`` that calls
    ``savefig``, so that no module writes a figure file by itself."""
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, **savefig_options)
    return buffer.getvalue()


def files_digest(paths: list[str]) -> str:
    """The SHA-256 of the files' contents, in order (hex): a key that changes when any
    of them does (the compiled engine's cache, ``sim.model.compiled_rules``)."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()
