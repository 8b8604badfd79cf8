"""Finding a layout's files under one or more data roots.

Each pattern is walked only below its literal prefix (``image/{scan}/{frame}.jpg`` walks ``image/``),
to the pattern's depth when that is fixed. A prefix or root that resolves outside the data folder
(through a symbolic link at any of its components) is refused (:func:`covidct.fsutil.resolve_inside`);
below it, symbolic links are never followed, and they and FIFOs, sockets and devices are skipped
and reported: only regular files are ever matched. Files matching no pattern are collected so the
caller can name them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from covidct.card.model import Layout
from covidct.card.pattern import Pattern, compile_glob, fixed_depth, literal_chars, parse
from covidct.errors import CovidctError
from covidct.fsutil import OutsideFolder, UnsafePath, resolve_inside


class LayoutError(CovidctError):
    """The files do not fit the card's layout; the message says which file, which pattern, what to do."""


@dataclass(frozen=True, slots=True)
class Match:
    """One file matched by a pattern: its root, its path relative to the root, its raw part values."""

    root: str
    rel: str
    parts: dict[str, str]

    @property
    def path(self) -> str:
        return os.path.join(self.root, self.rel)

    @property
    def name(self) -> str:
        return self.rel.rsplit("/", 1)[-1]


@dataclass
class Found:
    roles: dict[str, list[Match]] = field(default_factory=dict)
    tables: dict[str, list[Match]] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)
    symlinks: list[str] = field(default_factory=list)  # links and folders behind links out of the data folder
    special: list[str] = field(default_factory=list)  # FIFOs, sockets, devices: never opened
    walked: int = 0
    excluded: int = 0  # names the layout's `exclude` globs leave out (counted by match_names)


def annotation_key(label: str) -> str:
    """The name the annotation files of ``label`` go by in a walk's tables and a record's files."""
    return f"{label} annotations"


def part_regexes(layout: Layout) -> tuple[tuple[str, str], ...]:
    return tuple((name, spec.regex) for name, spec in layout.parts.items())


def layout_patterns(layout: Layout) -> dict[str, Pattern]:
    rx = part_regexes(layout)
    return {role: parse(fs.pattern, rx) for role, fs in layout.files.items()}


def resolve_roots(data_dirs: Iterable[str | os.PathLike[str]], layout: Layout) -> list[str]:
    """``data_dir/layout.root`` for each data folder; refuses roots that leave their data folder."""
    roots = []
    for d in data_dirs:
        base = Path(d).expanduser()
        if not base.is_dir():
            raise LayoutError(f"data folder {base} does not exist or is not a folder")
        try:  # the data folder itself may be a link (the user's choice): resolved once, here
            roots.append(resolve_inside(base, layout.root or ".", "layout root", folder=True))
        except FileNotFoundError:
            continue  # another root (archive) may hold it; the caller reports when none does
        except OutsideFolder:
            raise LayoutError(f"layout root {layout.root!r} resolves outside the data folder {base}; covidct reads "
                              "only files inside it: fix the card's `layout.root`, or copy the files in") from None
        except UnsafePath:
            continue  # not a folder here
    return roots


def files_under(roots: Iterable[str], rel: str, what: str) -> list[str]:
    """The real paths of the files ``root/rel`` that exist, for a fixed path named by the card (table,
    array, split list).

    ``rel`` must be a safe relative path (no ``..``, not absolute), and the file it names must
    resolve inside its root and be a regular file (:func:`covidct.fsutil.resolve_inside`): a
    symbolic link out of the root anywhere on the way, or a FIFO, is refused with a LayoutError.
    """
    from covidct.card.pattern import PatternError, check_safe_path

    try:
        check_safe_path(rel, what)
    except PatternError as exc:
        raise LayoutError(str(exc)) from None
    hits = []
    for r in roots:
        try:
            hits.append(resolve_inside(r, rel, what))
        except FileNotFoundError:
            continue
        except UnsafePath as exc:
            raise LayoutError(str(exc)) from None
    return hits


# companions of a matched file that are part of it (MetaImage raw data, Analyze image)
_COMPANIONS = {".mhd": (".raw", ".zraw"), ".hdr": (".img",)}


class Walker:
    def __init__(self, layout: Layout, extra_known: Iterable[str] = ()):
        self.layout = layout
        rx = part_regexes(layout)
        self.part_rx = dict(rx)
        self.roles = layout_patterns(layout)
        # the most specific pattern wins when a file matches two roles (mask/{x}_mask.png vs {x}.png)
        self.role_order = sorted(self.roles, key=lambda r: (-literal_chars(self.roles[r]), r != "image", r))
        self.tables: dict[str, Pattern] = {}
        for name, t in layout.tables.items():
            self.tables[name] = parse(t.path, rx)
        for label, spec in layout.annotations.items():  # walked like globbed tables; plan.py matches them by UID
            self.tables[annotation_key(label)] = parse(spec.pattern, rx)
        self.exclude = [compile_glob(g) for g in layout.exclude]
        self.known = set(extra_known)

    def _starts(self) -> list[tuple[str, int | None]]:
        """(folder relative to the root, max depth below it or None) for every pattern."""
        starts: dict[str, int | None] = {}
        pats = list(self.roles.values()) + [p for p in self.tables.values() if p.parts or "*" in p.text]
        for pat in pats:
            d = fixed_depth(pat, self.part_rx)
            prefix = pat.literal_prefix
            if d is not None:
                d -= prefix.count("/") + (1 if prefix else 0)
            if prefix in starts:
                old = starts[prefix]
                starts[prefix] = None if old is None or d is None else max(old, d)
            else:
                starts[prefix] = d
        # drop starts inside another start that walks without a depth limit
        out = []
        for s, d in sorted(starts.items()):
            covered = False
            for t, dt in out:
                if (t == "" or s.startswith(t + "/")) and dt is None:
                    covered = True
            if not covered:
                out.append((s, d))
        return out

    def find(self, roots: list[str]) -> Found:
        found = Found(roles={r: [] for r in self.roles}, tables={t: [] for t in self.tables})
        seen: set[str] = set()
        for root in roots:
            for start, depth in self._starts():
                top = os.path.join(root, start) if start else root
                try:  # every component of the prefix, not only its last: img/sub with img -> ../outside
                    real = resolve_inside(root, start or ".", "folder", folder=True)
                except OutsideFolder:
                    found.symlinks.append(f"{start} (resolves outside the data folder)")
                    continue
                except (FileNotFoundError, NotADirectoryError, UnsafePath):
                    continue  # not there, or not a folder
                if real != os.path.normpath(top):  # a link inside the folder: not followed either
                    found.symlinks.append(start)
                    continue
                self._walk(root, top, start, depth, found, seen)
        self._drop_companions(found)
        return found

    def match_names(self, root: str, names: Iterable[str]) -> Found:
        """Match relative file names without touching the disk (a listing of a dataset's files).

        Unlike :meth:`find`, every name is matched, also those outside the folders the patterns start
        in: a data file the walk would never visit is reported as unmatched instead of silently missed.
        """
        found = Found(roles={r: [] for r in self.roles}, tables={t: [] for t in self.tables})
        for rel in dict.fromkeys(names):
            found.walked += 1
            if self._excluded(rel):
                found.excluded += 1
            else:
                self._match(root, rel, found)
        self._drop_companions(found)
        return found

    def _drop_companions(self, found: Found) -> None:
        """Files the card names (tables...) and files that belong to a matched file (MetaImage .raw beside
        .mhd) are not "unmatched"."""
        if not found.unmatched:
            return
        stems = companions_of((m.rel for ms in found.roles.values() for m in ms), found.unmatched)
        found.unmatched = [u for u in found.unmatched if u not in stems and u not in self.known]

    def _walk(self, root: str, top: str, rel_top: str, depth: int | None, found: Found, seen: set[str]) -> None:
        stack = [(top, rel_top, 0)]
        while stack:
            folder, rel_folder, level = stack.pop()
            try:
                with os.scandir(folder) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError as exc:
                raise LayoutError(f"cannot list {folder}: {exc.strerror or exc}") from None
            subdirs = []
            for e in entries:
                rel = f"{rel_folder}/{e.name}" if rel_folder else e.name
                if e.is_symlink():
                    if not self._excluded(rel):
                        found.symlinks.append(rel)
                    continue
                if e.is_dir(follow_symlinks=False):
                    if (depth is None or level < depth) and not self._excluded(rel):
                        subdirs.append((e.path, rel, level + 1))
                    continue
                if not e.is_file(follow_symlinks=False):  # a FIFO, socket or device: never matched, never opened
                    if not self._excluded(rel):
                        found.special.append(rel)
                    continue
                key = f"{root}\0{rel}"
                if key in seen:
                    continue
                seen.add(key)
                found.walked += 1
                if self._excluded(rel):
                    continue
                self._match(root, rel, found)
            stack.extend(reversed(subdirs))

    def _excluded(self, rel: str) -> bool:
        return any(rx.matches(rel) for rx in self.exclude)

    def _match(self, root: str, rel: str, found: Found) -> None:
        for role in self.role_order:
            pat = self.roles[role]
            parts = pat.match(rel)
            if parts is not None:
                found.roles[role].append(Match(root, rel, parts))
                return
        for name, pat in self.tables.items():
            parts = pat.match(rel)
            if parts is not None:
                found.tables[name].append(Match(root, rel, parts))
                return
        found.unmatched.append(rel)


def companions_of(matched: Iterable[str], unmatched: list[str]) -> set[str]:
    """The companions of the ``matched`` files (``x.raw`` of ``x.mhd``), when ``unmatched`` may hold one."""
    stems: set[str] = set()
    companion_exts = tuple(c for comps in _COMPANIONS.values() for c in comps)
    if any(u.lower().endswith(companion_exts) for u in unmatched):
        for rel in matched:
            base, ext = os.path.splitext(rel)
            stems.update(base + comp for comp in _COMPANIONS.get(ext.lower(), ()))
    return stems


def explain_mismatch(rel: str, patterns: dict[str, Pattern], part_rx: dict[str, str]) -> str:
    """Why ``rel`` matches none of ``patterns``: the first path segment that differs, per pattern."""
    return "; ".join(f"{role} pattern {pat.text!r}: {_segment_diff(rel, pat, part_rx)}"
                     for role, pat in patterns.items())


def _segment_diff(rel: str, pat: Pattern, part_rx: dict[str, str]) -> str:
    reason, value = mismatch_reason(rel, pat, part_rx)
    return f"{value!r} {reason}" if value is not None else reason


def mismatch_reason(rel: str, pat: Pattern, part_rx: dict[str, str]) -> tuple[str, str | None]:
    """Why ``rel`` does not match ``pat``, as (reason without the file's own text, the offending segment).

    The reason names only the pattern, so files that fail the same way share it (``covidct check``
    groups unmatched files by it).
    """
    segs = rel.split("/")
    psegs = pat.text.split("/")
    if "**" in pat.text or len(segs) != len(psegs):
        if "**" not in pat.text and fixed_depth(pat, part_rx) is not None:
            return f"has {len(psegs)} path levels, the file has {len(segs)}", None
        return "does not match", None
    rx = tuple(part_rx.items())
    for s, p in zip(segs, psegs, strict=True):
        try:
            sub = parse(p, rx)
        except Exception:  # a segment alone may not parse (e.g. a lone brace pair split by '/')
            return "does not match", None
        if sub.regex.fullmatch(s) is None:
            return f"does not match {p!r}", s
    return "a part appears twice with different values", None
