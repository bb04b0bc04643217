"""``sim.fileio.write_atomically`` replaces a regular file, or makes a new one, and
nothing else: the rename would put a file in the place of a device (``/dev/null``), a
pipe or a folder."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from sim.cli import main
from sim.fileio import WriteError, write_atomically

ROOT = Path(__file__).resolve().parent.parent


def test_a_regular_file_is_replaced_and_a_new_one_made(tmp_path):
    old = tmp_path / "old.txt"
    old.write_text("before")
    write_atomically(old, "after")
    write_atomically(tmp_path / "new.bin", b"\x00\x01")
    dangling = tmp_path / "link"
    dangling.symlink_to(tmp_path / "nowhere")
    write_atomically(dangling, "made")
    assert (old.read_text(), (tmp_path / "new.bin").read_bytes()) == ("after", b"\x00\x01")
    assert dangling.read_text() == "made"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "new.bin", "old.txt"]


@pytest.mark.parametrize("kind, says", [
    ("pipe", "is not a regular file (a device, a pipe or a socket)"),
    ("link to a pipe", "is not a regular file (a device, a pipe or a socket)"),
    ("folder", "is a folder"),
])
def test_anything_but_a_regular_file_is_refused_and_left_as_it_was(tmp_path, kind, says):
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    target = {"pipe": pipe, "folder": tmp_path / "folder"}.get(kind, tmp_path / "link")
    if kind == "folder":
        target.mkdir()
    elif kind == "link to a pipe":
        target.symlink_to(pipe)
    with pytest.raises(WriteError, match=re.escape(says)):
        write_atomically(target, "content")
    assert stat.S_ISFIFO(pipe.stat().st_mode)
    assert target.exists() and not target.is_file()
    assert not list(tmp_path.glob(".*.tmp"))  # nothing half-written left


def test_a_command_told_to_draw_into_a_pipe_says_so_in_one_line(tmp_path, capsys):
    """``negsim whatif --figure PIPE`` (or a device: ``/dev/null`` was once replaced by a
    PNG this way): exit 2, one line naming the path, the pipe left a pipe."""
    pipe = tmp_path / "figure.png"
    os.mkfifo(pipe)
    code = main(["whatif", str(ROOT / "scenarios" / "classroom-two-party.toml"), "--target",
                 "ceasefire_agreed >= 0.5", "--runs", "10", "--figure", str(pipe)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1, err
    assert f"cannot write {pipe}: is not a regular file" in err
    assert stat.S_ISFIFO(pipe.stat().st_mode)
