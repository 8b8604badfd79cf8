"""The one containment function: every file covidct opens resolves inside its folder and is regular.

These test :mod:`covidct.fsutil` itself, attacker first: a symbolic link in the middle of a path, at
its first component, as the file itself, ``..``, absolute paths, link loops, a FIFO, a socket, a
device; and what must keep working: a data folder that is itself a link, links that stay inside,
hard links. The entry points that use it are tested in test_paths.py and test_special_files.py.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from covidct.fsutil import UnsafePath, open_inside, open_regular, require_regular, resolve_inside

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs, sockets and /dev are POSIX")
HANG_GUARD_S = 20


@pytest.fixture
def hang_guard() -> Iterator[None]:
    """Turn a blocking open() of a FIFO (a regression) into a failure instead of a hung test run."""
    def fail(_sig: int, _frame: object) -> None:
        raise TimeoutError(f"blocked for {HANG_GUARD_S} s: a FIFO was opened")

    old = signal.signal(signal.SIGALRM, fail)
    signal.alarm(HANG_GUARD_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    """(data folder with img/sub/a.png, a folder beside it with secret/sub/a.png)."""
    data = tmp_path / "data"
    (data / "img" / "sub").mkdir(parents=True)
    (data / "img" / "sub" / "a.png").write_bytes(b"inside")
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "sub" / "a.png").write_bytes(b"SECRET")
    return data, outside


def test_a_plain_file_inside_resolves_to_its_real_path(tree: tuple[Path, Path]) -> None:
    data, _ = tree
    assert resolve_inside(data, "img/sub/a.png") == str((data / "img/sub/a.png").resolve())
    with open_inside(data, "img/sub/a.png") as fh:
        assert fh.read() == b"inside"


@pytest.mark.parametrize("where", ["middle", "first", "file", "dotdot", "absolute", "dotdot-after-link"])
def test_every_way_out_is_refused(tree: tuple[Path, Path], where: str) -> None:
    data, outside = tree
    if where == "middle":  # data/x/link -> outside: the component checked last is a plain folder
        (data / "x").mkdir()
        (data / "x" / "link").symlink_to(outside, target_is_directory=True)
        rel = "x/link/sub/a.png"
    elif where == "first":
        (data / "ln").symlink_to(outside, target_is_directory=True)
        rel = "ln/sub/a.png"
    elif where == "file":
        (data / "img" / "b.png").symlink_to(outside / "sub" / "a.png")
        rel = "img/b.png"
    elif where == "dotdot":
        rel = "img/../../outside/sub/a.png"
    elif where == "absolute":
        rel = str(outside / "sub" / "a.png")
    else:  # a link inside, then `..` from where it really points
        (data / "deep").symlink_to(outside / "sub", target_is_directory=True)
        rel = "deep/../sub/a.png"
    with pytest.raises(UnsafePath, match="resolves outside the folder") as info:
        resolve_inside(data, rel, "table")
    assert str(info.value).startswith("table ")
    with pytest.raises(UnsafePath):
        open_inside(data, rel)


def test_links_that_stay_inside_and_hard_links_are_fine(tree: tuple[Path, Path]) -> None:
    data, outside = tree
    (data / "alias").symlink_to(data / "img", target_is_directory=True)
    assert resolve_inside(data, "alias/sub/a.png").endswith(os.path.join("img", "sub", "a.png"))
    os.link(outside / "sub" / "a.png", data / "hard.png")  # a hard link is a name inside: its bytes are data
    assert resolve_inside(data, "hard.png") == str((data / "hard.png").resolve())


def test_a_data_folder_that_is_itself_a_link_is_the_users_choice(tree: tuple[Path, Path], tmp_path: Path) -> None:
    data, _ = tree
    (tmp_path / "mylink").symlink_to(data, target_is_directory=True)
    assert resolve_inside(tmp_path / "mylink", "img/sub/a.png") == str((data / "img/sub/a.png").resolve())
    assert resolve_inside(tmp_path / "mylink", str(tmp_path / "mylink" / "img" / "sub" / "a.png")).startswith(
        str(data.resolve()))
    with pytest.raises(UnsafePath, match="a folder, not a regular file"):
        resolve_inside(tmp_path / "mylink", "img")
    assert resolve_inside(tmp_path / "mylink", "img", folder=True) == str((data / "img").resolve())


def test_a_link_loop_and_a_missing_file(tree: tuple[Path, Path]) -> None:
    data, _ = tree
    (data / "loop").symlink_to(data / "loop")
    with pytest.raises((UnsafePath, OSError)):
        resolve_inside(data, "loop")
    with pytest.raises(FileNotFoundError):
        resolve_inside(data, "img/nothing.png")
    with pytest.raises(UnsafePath, match="not a usable path"):
        resolve_inside(data, "img/a\x00.png")


def test_windows_separators_in_a_name_do_not_climb(tree: tuple[Path, Path]) -> None:
    """On POSIX a backslash is a character of one name: ``..\\..\\x`` cannot leave the folder."""
    data, _ = tree
    rel = "..\\outside\\sub\\a.png"
    if sys.platform == "win32":
        with pytest.raises(UnsafePath):
            resolve_inside(data, rel)
    else:
        with pytest.raises(FileNotFoundError):
            resolve_inside(data, rel)


@posix_only
@pytest.mark.parametrize("kind", ["fifo", "socket", "device", "folder"])
def test_special_files_are_refused_before_they_are_opened(tmp_path: Path, kind: str, hang_guard: None) -> None:
    data = tmp_path / "data"
    data.mkdir()
    target = data / "x.png"
    if kind == "fifo":
        os.mkfifo(target)
        words = "a FIFO (named pipe)"
    elif kind == "socket":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.bind(str(target))
        except OSError as exc:  # a path too long for AF_UNIX
            pytest.skip(f"cannot bind a socket here: {exc}")
        words = "a socket"
    elif kind == "device":
        target.symlink_to("/dev/zero")  # an endless file: inside only through a link, so test it directly too
        words = "a character device"
    else:
        target.mkdir()
        words = "a folder"
    if kind == "device":
        with pytest.raises(UnsafePath, match="resolves outside"):
            resolve_inside(data, "x.png")
        with pytest.raises(UnsafePath, match=re.escape(words)):
            open_regular("/dev/zero")
        with pytest.raises(UnsafePath, match=re.escape(words)):
            resolve_inside("/dev", "zero")
        return
    with pytest.raises(UnsafePath, match=re.escape(words)):
        resolve_inside(data, "x.png")
    with pytest.raises(UnsafePath, match=re.escape(words)):
        open_regular(target)  # would block forever on a FIFO without the check
    with pytest.raises(UnsafePath, match=re.escape(words)):
        require_regular(target)
