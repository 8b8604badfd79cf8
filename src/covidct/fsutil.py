"""Files on disk: reading only regular files inside their folder, writing nothing half-written.

Reading: data folders, archives and cards are untrusted. :func:`resolve_inside` is THE containment
check: every file covidct opens because a card, a table or a folder names it goes through it (or
through :func:`open_inside`, which also opens it). It resolves every component of the path (a
symbolic link in the middle, at the first component, or the file itself; ``..``; an absolute path)
and refuses what does not end inside the folder, and anything that is not a regular file: a FIFO
would block the reader forever, a device could be endless or have side effects on open. The folder
itself may be a symbolic link (the user's choice): it is resolved once. Hard links cannot point out
of a file system's tree of names, so they need nothing. :func:`open_regular` opens a path that is
already trusted to be inside (a file found by the layout walk, a path a user passed) without ever
blocking: it checks the kind before opening, opens with ``O_NONBLOCK`` and checks again on the open
descriptor.

Writing: write a temporary sibling, then rename.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from covidct.errors import CovidctError


class UnsafePath(CovidctError, ValueError):
    """A path covidct refuses to read: it resolves outside its folder, or it is not a regular file.

    The message is ``<what> <path> <problem>``: what the file is for, which file, what is wrong and
    what to do. ``problem`` alone is for callers that name the file themselves.
    """

    def __init__(self, what: str, shown: str, problem: str) -> None:
        self.what = what
        self.shown = shown
        self.problem = problem
        super().__init__(f"{what} {shown} {problem}")


class OutsideFolder(UnsafePath):
    """The path resolves outside its folder (a symbolic link, ``..`` or an absolute path)."""


class NotRegularFile(UnsafePath):
    """The path names a FIFO, socket, device or folder (or, for a folder, not a folder)."""


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISLNK, "a symbolic link"),
)


def kind_of(mode: int) -> str:
    """What a file of ``st_mode`` is, in words (``a FIFO (named pipe)``)."""
    if stat.S_ISREG(mode):
        return "a regular file"
    return next((name for test, name in _KINDS if test(mode)), "a special file")


def _not_regular(shown: str, what: str, mode: int) -> NotRegularFile:
    return NotRegularFile(what, shown, f"is {kind_of(mode)}, not a regular file; covidct reads regular files only: "
                          "remove it, or put the real file there")


def _is_within(real: str, real_base: str) -> bool:
    try:
        return real == real_base or os.path.commonpath([real, real_base]) == real_base
    except ValueError:  # Windows: another drive
        return False


def resolve_inside(base: str | os.PathLike[str], path: str | os.PathLike[str], what: str = "file", *,
                   folder: bool = False) -> str:
    """The real path of ``path`` if it lies inside ``base`` and is a regular file (a folder if ``folder``).

    ``path`` is relative to ``base`` or absolute. Every component is resolved, so a symbolic link
    anywhere on the way (or ``..``) that leads out of ``base`` is refused, as is a path that names a
    FIFO, socket, device or (unless ``folder``) a folder: :class:`OutsideFolder` or
    :class:`NotRegularFile` (both :class:`UnsafePath`), whose message starts with ``what`` and the
    path. A path that does not exist raises :class:`FileNotFoundError`. Nothing is opened.
    """
    shown = os.fspath(path)
    try:
        real_base = os.path.realpath(base)
        real = os.path.realpath(os.path.join(real_base, shown))
    except (ValueError, OSError) as exc:  # NUL in a name, a name too long
        raise UnsafePath(what, repr(shown), f"is not a usable path ({exc})") from None
    if not _is_within(real, real_base):
        raise OutsideFolder(what, repr(shown), f"resolves outside the folder {os.fspath(base)} (through a symbolic "
                            f"link, `..` or an absolute path) to {real}; covidct reads only files inside it: copy the "
                            "file in instead of linking to it")
    st = os.lstat(real)  # FileNotFoundError when missing; a link left (a loop) is refused below
    if folder and stat.S_ISDIR(st.st_mode):
        return real
    if folder or not stat.S_ISREG(st.st_mode):
        if folder:
            raise NotRegularFile(what, repr(shown), f"is {kind_of(st.st_mode)}, not a folder")
        raise _not_regular(repr(shown), what, st.st_mode)
    return real


_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))


def require_regular(path: str | os.PathLike[str], what: str = "file") -> None:
    """Refuse (:class:`UnsafePath`) a path that is not a regular file, without opening it.

    For a path handed to a library that opens it itself (Pillow, pydicom, nibabel, SimpleITK): the
    check that keeps a FIFO or a device from ever reaching ``open()``. Follows symbolic links: where
    links matter, the path comes from :func:`resolve_inside`. Missing: :class:`FileNotFoundError`.
    """
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise _not_regular(os.fspath(path), what, st.st_mode)


def open_regular(path: str | os.PathLike[str], what: str = "file") -> BinaryIO:
    """Open a regular file for binary reading; anything else is refused before it is opened.

    The kind is checked with ``stat`` first (opening some devices has side effects), the file is
    opened with ``O_NONBLOCK`` (a FIFO swapped in meanwhile cannot block) and the open descriptor
    is checked again.
    """
    require_regular(path, what)
    fd = os.open(path, _OPEN_FLAGS)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _not_regular(os.fspath(path), what, st.st_mode)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def open_inside(base: str | os.PathLike[str], path: str | os.PathLike[str], what: str = "file") -> BinaryIO:
    """:func:`resolve_inside`, then :func:`open_regular`: the file, opened for binary reading."""
    return open_regular(resolve_inside(base, path, what), what)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


@contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces ``path`` whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if path.exists():
        old = path.with_name(f".{path.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(path, old)
    os.replace(tmp, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def first_dir(path: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it becomes ``path`` (mode 0o755), unless
    another process created ``path`` meanwhile: then that copy is kept and this one deleted. Unlike
    :func:`atomic_dir` it never replaces a folder (a cache entry another process may be reading)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o755)
        try:
            os.rename(tmp, path)
        except OSError:
            if not path.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # nothing left after a rename; the loser's copy otherwise


def walk_entries(folder: str, *, skip_hidden: bool = False) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """(relative path, entry) for everything below ``folder``, depth first in name order; links are
    yielded, never followed. The caller decides what a link or a special file means to it; an
    unreadable folder raises OSError (with the folder in ``filename``) for the caller to word."""
    stack = [("", folder)]
    while stack:
        rel_dir, path = stack.pop()
        with os.scandir(path) as it:
            entries = sorted(it, key=lambda e: e.name)
        subdirs = []
        for e in entries:
            if skip_hidden and e.name.startswith("."):
                continue
            rel = f"{rel_dir}/{e.name}" if rel_dir else e.name
            if e.is_dir(follow_symlinks=False):
                subdirs.append((rel, e.path))
            yield rel, e
        stack.extend(reversed(subdirs))

