"""The names-only fast path of ``covidct check``: the same report, without an object per file.

A names-only check reports counts, not records, and a dataset's names repeat themselves: CNCB's
400,000 slices lie in a few thousand scan folders, three classes, and a few hundred slice-file names.
So here

- a pattern is matched one path level at a time, each distinct folder and file name once (an RE2
  match with group extraction costs microseconds, a dictionary look-up tens of nanoseconds);
- images are counted per distinct key (the values of the parts that decide their scan, patient,
  labels, fields and split), and each key's values are worked out once, by the same :class:`Plan`
  methods the full path uses;
- the tally is fed those weighted rows.

What this path cannot reproduce exactly it does not try: a layout with mask roles (paired file by
file), values of scans that read ``{_name}``/``{_stem}``/``{_path}`` (a scan's is its folder), a value
from a source the per-key cache does not know, a ``.raw``/``.img`` that may belong to a matched file,
and any run that raises an error or a warning other than a :class:`LayoutWarning` (whose messages
here are counts) raise :class:`FallBack`, and the full path runs instead and says what it always
said. tests/layout/test_fastcheck.py (generated names) and tests/test_listings.py (every real
listing) run both paths and compare the reports.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from covidct.card.pattern import BUILTIN_PARTS, MAX_PATH_CHARS, Pattern, PatternError, fixed_depth, parse
from covidct.errors import CovidctError
from covidct.layout.plan import Plan, builtins_of
from covidct.layout.values import SLICE_KINDS
from covidct.layout.walk import _COMPANIONS, Match, Walker

_MISS: Any = object()  # not matched yet (a cache miss), or a part the file lacks
_COMPANION_EXTS = tuple(c for comps in _COMPANIONS.values() for c in comps)


class FallBack(CovidctError):
    """The fast path cannot promise the full path's report here (caught in :mod:`covidct.layout.check`, which
    then runs the full path; never shown to a user)."""


class LevelMatcher:
    """``pat.match`` split into its folder levels and its file level, each distinct text matched once.

    A pattern of fixed depth has no part and no wildcard that can match ``/``, so a path matches it
    exactly when every level matches the pattern's level; and since RE2 reports the first match in
    the order a backtracking matcher tries them, which runs level by level, the values it reports
    for the whole path are the values of each level's first match. A part used twice must have one
    value, as :meth:`Pattern.match` demands: within the folder levels or within the file level that
    is checked once per distinct text, across them (``cross``) once per path. Other patterns (``**``,
    a part that may match ``/``, a level that does not parse alone) are matched whole (``whole``).
    """

    def __init__(self, pat: Pattern, part_rx: dict[str, str], keys: tuple[str, ...] = ()):
        self.pat = pat
        self.keys = keys  # the parts a file's key is made of (see NamesTally)
        self.whole = fixed_depth(pat, part_rx) is None
        self.levels: list[Pattern] = []
        self.cross: tuple[str, ...] = ()
        if not self.whole:
            rx = tuple(part_rx.items())
            try:
                self.levels = [parse(text, rx) for text in pat.text.split("/")]
            except PatternError:  # a level alone may not parse (a lone brace pair split by '/')
                self.whole = True
        if not self.whole:
            folder_parts = {p for lv in self.levels[:-1] for p in lv.parts}
            self.cross = tuple(p for p in self.levels[-1].parts if p in folder_parts)
        self.depth = len(self.levels) - 1  # folder levels
        self.files: dict[str, tuple[dict[str, str], tuple[Any, ...]] | None] = {}

    def folder(self, dsegs: list[str]) -> dict[str, str] | None:
        """The values of a folder's levels (``dsegs``: the folder split at ``/``), or None: no match."""
        if self.whole or len(dsegs) != self.depth:
            return None
        out: dict[str, str] = {}
        for lv, s in zip(self.levels, dsegs):  # noqa: B905 -- the file level is not in dsegs
            v = lv.match(s)
            if v is None:
                return None
            for k, x in v.items():
                if out.setdefault(k, x) != x:
                    return None
        return out

    def file(self, f: str) -> tuple[dict[str, str], tuple[Any, ...]] | None:
        """(values, key values) of a file name, or None: no match. Matched once per distinct name."""
        hit = self.files.get(f, _MISS)
        if hit is _MISS:
            v = self.levels[-1].match(f)
            hit = self.files[f] = None if v is None else (v, tuple([v.get(k, _MISS) for k in self.keys]))
        return hit

    def key(self, dv: dict[str, str], fkey: tuple[Any, ...]) -> tuple[Any, ...]:
        """A file's key values from its folder's values and its file name's key values."""
        return tuple([x if x is not _MISS else dv.get(k, _MISS) for k, x in zip(self.keys, fkey, strict=True)])


class NamesTally:
    """The images of a names-only run, counted per distinct key instead of kept one by one.

    The key of an image is its values of the parts that decide anything the report counts: the
    group parts (which scan) and the parts its patient, scan, labels, fields and split come from
    (:meth:`Plan._context_keys`). Images with one key are one row of the tally, weighted.
    """

    def __init__(self, plan: Plan, walker: Walker):
        lay = plan.layout
        if plan.mask_roles:
            raise FallBack("mask roles are paired file by file")
        # {_name}, {_stem}, {_path} of each image (a table keyed by file name): its key is its own; a scan's
        # would be its folder, which the full path works out
        self.builtins = plan._needs_builtins()  # also computes the context keys
        if plan._ctx_keys is None:
            raise FallBack("a value comes from a source the per-key cache does not know")
        if self.builtins and lay.group is not None:
            raise FallBack("values of scans read {_name}, {_stem} or {_path}")
        self.plan = plan
        self.by = tuple(lay.group.by) if lay.group is not None else ()
        if any(p not in walker.roles["image"].parts for p in self.by):
            raise FallBack("a group part is not in the image pattern")
        self.plain = all(plan.part_types.get(p) != "int" for p in self.by)
        self.ctx_keys: tuple[str, ...] = plan._ctx_keys or ()
        self.keys = tuple(dict.fromkeys((*self.by, *self.ctx_keys)))
        self._by_at = [self.keys.index(p) for p in self.by]
        self._ctx_at = [self.keys.index(k) for k in self.ctx_keys]
        self._builtin_at = [(i, k) for i, k in enumerate(self.keys) if k in BUILTIN_PARTS]
        # normalised group key -> [raw key of its first image, {context values: images}], in order of first image
        self.groups: dict[tuple[Any, ...], list[Any]] = {}
        self.images = 0
        # what match_names counted: (image matcher, its folder values, {(folder, file key values[, path]): n})
        self.pending: tuple[LevelMatcher, dict[str, list[Any]], dict[tuple[Any, ...], int]] | None = None

    def expand(self) -> None:
        """Add the images :func:`match_names` counted, per key, in the order of their first image."""
        if self.pending is None:
            return
        image, folders, counts = self.pending
        self.pending = None
        for k, n in counts.items():
            key = k[1] if image.whole else image.key(folders[k[0]][0], k[1])
            self.add(key, n, k[2] if self.builtins else "")

    def add(self, key: tuple[Any, ...], n: int, rel: str = "") -> None:
        """``n`` images with ``key`` (``rel``: the one image, when values read its name); keys come in the order
        of their first image."""
        self.images += n
        if self._builtin_at:
            values = builtins_of(rel)
            filled = list(key)
            for i, k in self._builtin_at:
                filled[i] = values[k]
            key = tuple(filled)
        raw = tuple([key[i] for i in self._by_at])
        if self.plain:
            gk = raw
        else:
            norm = self.plan._norm
            gk = tuple([norm(p, v) for p, v in zip(self.by, raw, strict=True)])
        vk = tuple([key[i] for i in self._ctx_at])
        g = self.groups.get(gk)
        if g is None:
            self.groups[gk] = ["/".join(raw), {vk: n}]
        else:
            g[1][vk] = g[1].get(vk, 0) + n

    def _ctx(self, vk: tuple[Any, ...]) -> dict[str, str]:
        return {k: v for k, v in zip(self.ctx_keys, vk, strict=True) if v is not _MISS}

    def build(self, tables: dict[str, list[Match]]) -> Counter[tuple[Any, ...]]:
        """What :meth:`Plan.build` and :meth:`Plan.tally_rows` make of these images: the weighted tally rows.

        Each distinct key's values come from the plan's own methods, in the order the full path asks
        for them, so they are the same; any error hands over to the full path, which names the file."""
        plan = self.plan
        self.expand()
        if not self.images:
            raise FallBack("no image: the full path says why")
        plan._read_tables(_Found(tables))
        member_labels = plan._member_level_labels() if not plan.per_member else []
        slice_labels = any(plan.labels[n].kind in SLICE_KINDS for n in member_labels)
        what = "(names-only check)"  # only in error messages, and an error hands over to the full path
        weighted: list[tuple[dict[str, Any], int, str]] = []
        for raw_key, counts in self.groups.values():
            if plan.per_member:
                for vk, n in counts.items():
                    weighted.append((plan._values(self._ctx(vk), per_slice=plan.grouped, what=what), n, raw_key))
            else:  # one example per scan: its values come from the parts all its slices share
                keys = list(counts)
                common = {k: v for i, (k, v) in enumerate(zip(self.ctx_keys, keys[0], strict=True))
                          if v is not _MISS and all(vk[i] == v for vk in keys)}
                weighted.append((plan._values(common, per_slice=False, what=what), 1, raw_key))
                for vk in keys if slice_labels else ():  # per-slice labels: computed for their errors
                    for name in member_labels:
                        plan._label(name, self._ctx(vk), True, what)
        plan._collect_splits((vals, n) for vals, n, _k in weighted)
        return plan.tally_rows((vals, n, raw_key if plan.grouped else "") for vals, n, raw_key in weighted)


class _Found:
    """The little of :class:`covidct.layout.walk.Found` that :meth:`Plan._read_tables` reads."""

    def __init__(self, tables: dict[str, list[Match]]):
        self.tables = tables


def _nothing(rel: str) -> bool:
    return False


def match_names(walker: Walker, tally: NamesTally, root: str, names: Iterable[str]) -> tuple[
        dict[str, int], dict[str, list[Match]], list[str], int]:
    """:meth:`Walker.match_names` into a :class:`NamesTally`: (images, table matches, unmatched, excluded).

    ``names`` are distinct. The image role is the only role (mask roles fall back). The images are
    counted per (folder, key values of the file name); :meth:`NamesTally.build` expands those counts
    into keys only when the report goes on to values (not when the tables are absent)."""
    part_rx = walker.part_rx
    ms = [LevelMatcher(walker.roles[r], part_rx, tally.keys if r == "image" else ()) for r in walker.role_order]
    names_of = [*walker.role_order, *walker.tables]
    ms += [LevelMatcher(p, part_rx) for p in walker.tables.values()]
    if walker.role_order != ["image"]:
        raise FallBack("roles other than image")
    image = ms[0]
    tables: dict[str, list[Match]] = {t: [] for t in walker.tables}
    unmatched: list[str] = []
    excluded = 0
    exclude = walker._excluded if walker.exclude else _nothing
    folders: dict[str, list[dict[str, str] | None]] = {}  # folder with its '/' -> values per pattern
    # (folder, key values of the file name[, the path when values read it]) -> images; matched whole:
    # ("", key values[, path])
    counts: dict[tuple[Any, ...], int] = {}
    builtins = tally.builtins
    # the image pattern by levels (most layouts) is tried inline first: this loop runs once per file
    image_levels = not image.whole
    image_files = image.files
    cross = image.cross
    rest = range(1 if image_levels else 0, len(ms))
    folder_of = folders.get
    image_file = image_files.get
    count_of = counts.get
    for rel in names:
        if exclude(rel):
            excluded += 1
            continue
        if len(rel) > MAX_PATH_CHARS:
            unmatched.append(rel)
            continue
        cut = rel.rfind("/") + 1
        head = rel[:cut]
        entry = folder_of(head)
        if entry is None:
            dsegs = head[:-1].split("/") if head else []
            entry = folders[head] = [m.folder(dsegs) for m in ms]
        f = rel[cut:]
        if image_levels:
            dv = entry[0]
            if dv is not None:
                hit = image_file(f, _MISS)
                if hit is _MISS:
                    hit = image.file(f)
                if hit is not None and (not cross or all(dv[p] == hit[0][p] for p in cross)):
                    k = (head, hit[1], rel) if builtins else (head, hit[1])
                    counts[k] = count_of(k, 0) + 1
                    continue
        if not _match_rest(ms, rest, entry, rel, f, head, root, tally, counts, tables, names_of):
            unmatched.append(rel)
    unmatched = _unmatched_data(unmatched, walker)
    tally.pending = (image, folders, counts)
    return {"image": sum(counts.values())}, tables, unmatched, excluded


def _unmatched_data(unmatched: list[str], walker: Walker) -> list[str]:
    """The unmatched names that are data files; a possible companion (.raw, .img) falls back to the full path,
    which pairs companions with their headers."""
    if any(u.lower().endswith(_COMPANION_EXTS) for u in unmatched):
        raise FallBack("a .raw or .img file may belong to a matched .mhd or .hdr")
    return [u for u in unmatched if u not in walker.known]


def _match_rest(ms: list[LevelMatcher], rest: range, entry: list[dict[str, str] | None], rel: str, f: str, head: str,
                root: str, tally: NamesTally, counts: dict[tuple[Any, ...], int], tables: dict[str, list[Match]],
                names_of: list[str]) -> bool:
    """``rel`` against the patterns the inline image test of :func:`match_names` did not settle (whole-path
    patterns, tables, an image file name that missed): counted or listed, and True when one matched."""
    for i in rest:
        m = ms[i]
        if m.whole:
            parts = m.pat.match(rel)
            if parts is None:
                continue
            if i == 0:
                pk = tuple([parts.get(p, _MISS) for p in tally.keys])
                k = ("", pk, rel) if tally.builtins else ("", pk)
                counts[k] = counts.get(k, 0) + 1
            else:
                tables[names_of[i]].append(Match(root, rel, parts))
            return True
        dv = entry[i]
        if dv is None:
            continue
        hit = m.file(f)
        if hit is None:
            continue
        fv = hit[0]
        if m.cross and any(dv[p] != fv[p] for p in m.cross):
            continue
        if i == 0:
            k = (head, hit[1], rel) if tally.builtins else (head, hit[1])
            counts[k] = counts.get(k, 0) + 1
        else:
            tables[names_of[i]].append(Match(root, rel, {**dv, **fv}))
        return True
    return False


def run(plan: Plan, walker: Walker, root: str, names: Iterable[str]) -> tuple[
        NamesTally, dict[str, int], dict[str, list[Match]], list[str], int]:
    """Match ``names`` (distinct, in order) for the fast path; :class:`FallBack` when it does not apply."""
    tally = NamesTally(plan, walker)
    return (tally, *match_names(walker, tally, root, names))


__all__ = ["FallBack", "LevelMatcher", "NamesTally", "match_names", "run"]
