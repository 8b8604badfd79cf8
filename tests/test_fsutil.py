"""fsutil.first_dir: a folder appears whole or not at all, and the first process to finish wins."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from covidct.fsutil import first_dir


def test_the_folder_appears_whole(tmp_path: Path) -> None:
    dest = tmp_path / "a" / "dest"
    with first_dir(dest) as tmp:
        (tmp / "f").write_text("x")
        assert not dest.exists()
    assert (dest / "f").read_text() == "x"
    assert stat.S_IMODE(dest.stat().st_mode) == 0o755
    assert [p.name for p in dest.parent.iterdir()] == ["dest"]  # no temporary folder left


def test_a_copy_finished_first_is_kept(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    with first_dir(dest) as tmp:
        (tmp / "mine").write_text("x")
        dest.mkdir()  # another process finished first
        (dest / "theirs").write_text("y")
    assert [p.name for p in dest.iterdir()] == ["theirs"]
    assert [p.name for p in tmp_path.iterdir()] == ["dest"]


def test_a_failure_leaves_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    with pytest.raises(RuntimeError), first_dir(dest) as tmp:
        (tmp / "half").write_text("x")
        raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == []
