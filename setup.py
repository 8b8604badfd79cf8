"""Build hook: a wheel carries the cards it was built from. Everything else is in pyproject.toml.

The repository's cards/ stays the single source: build_py copies it into ``covidct/_cards`` in the
build folder only (never into src/), with SNAPSHOT.json recording the count, a content hash and, when
built from a git checkout whose cards/ is unchanged, the commit. The sdist carries cards/ (MANIFEST.in),
so a wheel built from it, without git, holds the same cards and hash. An editable install copies nothing:
covidct reads the repository's cards/ directly (covidct.registry.default_cards_dir).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


def _snapshot_module() -> ModuleType:
    """src/covidct/cards_snapshot.py, loaded by path: covidct's dependencies are not installed here."""
    spec = importlib.util.spec_from_file_location("_covidct_cards_snapshot", ROOT / "src/covidct/cards_snapshot.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _git_commit(cards: Path) -> str | None:
    """HEAD, if ``cards`` is in a git checkout and has no uncommitted change; else None."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=30, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", str(cards)],
                               capture_output=True, text=True, timeout=30, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head if head and not dirty else None


class BuildPyWithCards(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        snap = _snapshot_module()
        src = ROOT / "cards"
        files = [p for p in snap.card_files(src) if p.is_file()] if src.is_dir() else []
        if not files:
            raise SystemExit(f"setup.py: no cards in {src}; covidct is not built without its registry")
        out = Path(self.build_lib) / "covidct" / snap.PACKAGED.name
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        for p in files:
            shutil.copyfile(p, out / p.name)
        record = snap.snapshot(out)
        commit = _git_commit(src)
        if commit:
            record["commit"] = commit
        (out / snap.RECORD).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


setup(cmdclass={"build_py": BuildPyWithCards})
