"""Cards changed since a git ref: ``covidct validate --changed origin/main``.

A pull request is checked against the merge base with the target branch, so cards changed on the
target branch since the fork point do not count. Uncommitted and untracked cards count too, so a
contributor sees locally what CI will check.

git runs as a subprocess with an argument list (never a shell), ``--`` before path arguments,
``--literal-pathspecs`` so file names are not globs, and without external diff or textconv
drivers. The ref is checked first so that a value starting with ``-`` cannot pass as an option.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

from covidct.cards_snapshot import is_card_file
from covidct.errors import CovidctError

GIT_TIMEOUT = 60
_REF_OK = re.compile(r"^[A-Za-z0-9._/@{}~^:+-]+$")


class GitError(CovidctError):
    """git is missing, the folder is not in a repository, or the ref is unknown."""


def _git(args: Sequence[str], cwd: Path) -> str:
    env = dict(os.environ)
    # a repository's own config can name external programs; keep them out of our calls
    env.update({"GIT_EXTERNAL_DIFF": "", "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"})
    try:
        proc = subprocess.run(["git", "--literal-pathspecs", "-c", "core.quotePath=false", *args],
                              cwd=cwd, capture_output=True, env=env, timeout=GIT_TIMEOUT, check=False)
    except FileNotFoundError:
        raise GitError("`--changed` needs git, which is not installed (or not on PATH)") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} took longer than {GIT_TIMEOUT} s") from None
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {args[0]} failed: {msg[-1] if msg else 'exit status ' + str(proc.returncode)}")
    return proc.stdout.decode("utf-8", "surrogateescape")


def _check_ref(ref: str) -> None:
    if not ref or ref.startswith("-") or not _REF_OK.match(ref) or ".." in ref:
        raise GitError(f"{ref!r} is not a git ref (e.g. origin/main, main, a commit hash)")


def repo_root(start: Path) -> Path:
    return Path(_git(["rev-parse", "--show-toplevel"], start).strip())


def merge_base(ref: str, cwd: Path) -> str:
    _check_ref(ref)
    try:
        _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"], cwd)
    except GitError:
        raise GitError(f"unknown git ref {ref!r}: fetch it first (e.g. `git fetch origin main`; in GitHub "
                       "Actions check out with `fetch-depth: 0`)") from None
    try:
        return _git(["merge-base", "--end-of-options", ref, "HEAD"], cwd).strip()
    except GitError:
        raise GitError(f"{ref!r} and HEAD share no history (a shallow clone? fetch more)") from None


def changed_cards(ref: str, paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Card files under ``paths`` added or modified since the merge base of ``ref`` and HEAD.

    ``paths`` are card files or folders of cards (as ``covidct validate`` takes them). Deleted cards
    are left out; renamed ones count as added. The result keeps the spelling of ``paths``: relative
    paths stay relative to the current folder.
    """
    if not paths:
        return []
    targets = [Path(p) for p in paths]
    folders = [t if t.is_dir() else t.parent for t in targets]
    anchor = next((f for f in folders if f.is_dir()), Path.cwd())
    root = repo_root(anchor).resolve()
    base = merge_base(ref, anchor)
    specs: list[str] = []
    for t in targets:
        try:
            rel = t.resolve().relative_to(root)
        except ValueError:
            raise GitError(f"{t} is outside the git repository at {root}") from None
        specs.append(rel.as_posix() if str(rel) != "." else ".")
    # committed + staged + unstaged changes against the merge base, and new untracked files
    diff = _git(["diff", "--name-only", "-z", "--no-renames", "--diff-filter=AMT", "--no-ext-diff",
                 "--no-textconv", base, "--", *specs], root)
    untracked = _git(["ls-files", "-z", "--others", "--exclude-standard", "--", *specs], root)
    names = {n for n in (diff + untracked).split("\0") if n}
    wanted_files = {t.resolve() for t in targets if not t.is_dir()}
    wanted_dirs = [t.resolve() for t in targets if t.is_dir()]
    out: list[Path] = []
    for name in sorted(names):
        abs_path = root / name
        if not abs_path.is_file() or not is_card_file(abs_path):
            continue
        resolved = abs_path.resolve()
        # folders hold cards directly (as `covidct validate DIR` reads them), not in subfolders
        if resolved in wanted_files or any(resolved.parent == d for d in wanted_dirs):
            out.append(_display(abs_path))
    return out


def _display(p: Path) -> Path:
    try:
        return p.relative_to(Path.cwd())
    except ValueError:
        return p


__all__ = ["GitError", "changed_cards", "merge_base"]
