"""The names-only fast path of ``covidct check``: the same report, without an object per file.

A names-only check reports counts, not records, and a dataset's names repeat themselves: CNCB has
400,000 slices in 4,000 scans, three classes, and ten distinct slice-file names. So here

- a pattern is matched one path level at a time, each distinct folder or file name once (an RE2
  match with group extraction costs microseconds; a dictionary look-up a few dozen nanoseconds);
- files are counted per distinct (scan, values) key, and each key's patient, scan, labels and split
  are worked out once, by the same :class:`Plan` methods the full path uses;
- the tally is fed those weighted rows.

Whatever this path cannot reproduce exactly, it does not try: a layout with mask roles (pairing is
per file), one whose values need ``{_name}``/``{_stem}``/``{_path}`` or an unknown source, and any
run that raises an error or a warning are handed back (``None``) to the full path, which then says
what it always said. tests/layout/test_fastcheck.py runs both paths over every real listing and over
generated names and compares the reports.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from covidct.card.pattern import MAX_PATH_CHARS, Pattern, PatternError, fixed_depth, parse
from covidct.layout.plan import Plan
from covidct.layout.values import SLICE_KINDS
from covidct.layout.walk import Match, Walker, companions_of

_MISS: Any = object()  # not yet matched (a cache miss), or a part the file lacks

Matcher = Callable[[str, list[str]], "dict[str, str] | None"]


class FallBack(Exception):
    """The fast path cannot promise the full path's report here."""


def level_matcher(pat: Pattern, part_rx: dict[str, str]) -> Matcher:
    """``pat.match`` as a function of (path, its ``/``-split levels), each level's distinct texts matched once.

    A pattern of fixed depth has no part and no wildcard that can match ``/``, so a path matches it
    exactly when every level matches the pattern's level; and since RE2 reports the first match in
    the order a backtracking matcher tries them, which runs level by level, the values it reports
    for the whole path are the values of each level's first match. A part used on two levels must
    have one value, as :meth:`Pattern.match` demands. Other patterns are matched whole.
    """
    whole = pat.match
    if fixed_depth(pat, part_rx) is None:
        return lambda rel, _segs: whole(rel)
    rx = tuple(part_rx.items())
    try:
        levels = [parse(text, rx) for text in pat.text.split("/")]
    except PatternError:  # a level alone may not parse (a lone brace pair split by '/'): matched whole
        return lambda rel, _segs: whole(rel)
    depth = len(levels)
    caches: list[dict[str, dict[str, str] | None]] = [{} for _ in levels]
    plan = list(zip(levels, caches, strict=True))
    shared = len(set(pat.groups)) != len(pat.groups)  # a part used twice (maybe on two levels)

    def match(rel: str, segs: list[str]) -> dict[str, str] | None:
        if len(segs) != depth or len(rel) > MAX_PATH_CHARS:
            return None
        out: dict[str, str] = {}
        for s, (lv, cache) in zip(segs, plan):  # noqa: B905 -- same length, checked above
            v = cache.get(s, _MISS)
            if v is _MISS:
                v = cache[s] = lv.match(s)
            if v is None:
                return None
            if shared:
                for k, x in v.items():
                    if out.setdefault(k, x) != x:
                        return None
            else:
                out.update(v)
        return out

    return match


class NamesTally:
    """The files of a names-only run, counted per distinct key instead of kept one by one."""

    def __init__(self, plan: Plan, walker: Walker):
        lay = plan.layout
        if plan.mask_roles:
            raise FallBack("mask roles are paired file by file")
        if plan._needs_builtins():  # also computes the context keys
            raise FallBack("values read {_name}, {_stem} or {_path}, or a source the cache does not know")
        self.plan = plan
        self.walker = walker
        self.image_parts = set(walker.roles["image"].parts)
        self.by = tuple(lay.group.by) if lay.group is not None else ()
        if any(p not in self.image_parts for p in self.by):
            raise FallBack("a group part is not in the image pattern")
        self.plain = all(plan.part_types.get(p) != "int" for p in self.by)
        self.ctx_keys: tuple[str, ...] = plan._ctx_keys or ()
        # group key (normalised) -> [raw key text of its first file, {values key: files}]
        self.groups: dict[tuple[Any, ...], list[Any]] = {}
        self.images = 0
        self.first_image = ""
        self.companion_rels: list[str] = []  # matched .mhd/.hdr files: their .raw/.img are not "unmatched"

    def add(self, rel: str, parts: dict[str, str]) -> None:
        if not self.images:
            self.first_image = rel
        self.images += 1
        if self.by:
            if self.plain:
                gk = tuple([parts[p] for p in self.by])
            else:
                norm = self.plan._norm
                gk = tuple([norm(p, parts[p]) for p in self.by])
        else:
            gk = ()  # every file its own example, without a scan: files with equal values count alike
        vk = tuple([parts.get(k, _MISS) for k in self.ctx_keys])
        g = self.groups.get(gk)
        if g is None:
            self.groups[gk] = ["/".join([parts[p] for p in self.by]), {vk: 1}]
        else:
            counts = g[1]
            counts[vk] = counts.get(vk, 0) + 1
        if rel[-4:].lower() in (".mhd", ".hdr"):
            self.companion_rels.append(rel)

    def _ctx(self, vk: tuple[Any, ...]) -> dict[str, str]:
        return {k: v for k, v in zip(self.ctx_keys, vk, strict=True) if v is not _MISS}

    def build(self, tables: dict[str, list[Match]]) -> Counter[tuple[Any, ...]]:
        """What :meth:`Plan.build` and the rows of :meth:`Plan.tally` would make of these files: the
        weighted tally rows. Raises :class:`FallBack` where the full path would raise or warn."""
        plan = self.plan
        if not self.images:
            raise FallBack("no image: the full path says why")
        plan._read_tables(_Found(tables))
        member_labels = plan._member_level_labels() if not plan.per_member else []
        slice_labels = [n for n in member_labels if plan.labels[n].kind in SLICE_KINDS]
        what = self.first_image  # only in error messages, and an error hands over to the full path
        weighted: list[tuple[dict[str, Any], int, str]] = []
        for raw_key, counts in self.groups.values():
            if plan.per_member:
                for vk, n in counts.items():
                    weighted.append((plan._values(self._ctx(vk), per_slice=plan.grouped, what=what), n, raw_key))
            else:
                keys = list(counts)
                first = keys[0]
                common = {k: v for i, (k, v) in enumerate(zip(self.ctx_keys, first, strict=True))
                          if v is not _MISS and all(vk[i] == v for vk in keys)}
                weighted.append((plan._values(common, per_slice=False, what=what), 1, raw_key))
                for vk in keys if slice_labels else ():
                    for name in member_labels:
                        plan._label(name, self._ctx(vk), True, what)
        plan._collect_splits((vals, n) for vals, n, _k in weighted)
        return plan.tally_rows((vals, n, raw_key if plan.grouped else "") for vals, n, raw_key in weighted)


class _Found:
    """The little of :class:`covidct.layout.walk.Found` that :meth:`Plan._read_tables` reads."""

    def __init__(self, tables: dict[str, list[Match]]):
        self.tables = tables


def match_names(walker: Walker, tally: NamesTally, root: str, names: list[str]) -> tuple[
        dict[str, int], dict[str, list[Match]], list[str], int]:
    """:meth:`Walker.match_names` for a :class:`NamesTally`: (files per role, table matches, unmatched, excluded)."""
    order: list[tuple[str, str, Matcher]] = [("role", r, level_matcher(walker.roles[r], walker.part_rx))
                                             for r in walker.role_order]
    order += [("table", t, level_matcher(p, walker.part_rx)) for t, p in walker.tables.items()]
    matched = dict.fromkeys(walker.roles, 0)
    tables: dict[str, list[Match]] = {t: [] for t in walker.tables}
    unmatched: list[str] = []
    excluded = 0
    exclude = walker._excluded if walker.exclude else None
    add = tally.add
    for rel in names:
        if exclude is not None and exclude(rel):
            excluded += 1
            continue
        segs = rel.split("/")
        for kind, name, match in order:
            parts = match(rel, segs)
            if parts is not None:
                if kind == "table":
                    tables[name].append(Match(root, rel, parts))
                else:
                    matched[name] += 1
                    add(rel, parts)  # the only role: mask roles fall back
                break
        else:
            unmatched.append(rel)
    if unmatched:
        drop = companions_of(tally.companion_rels, unmatched) | walker.known
        unmatched = [u for u in unmatched if u not in drop]
    return matched, tables, unmatched, excluded


def run(plan: Plan, walker: Walker, root: str, names: list[str]) -> tuple[
        NamesTally, dict[str, int], dict[str, list[Match]], list[str], int]:
    """Match ``names`` (distinct, in order) for the fast path; :class:`FallBack` when it does not apply."""
    tally = NamesTally(plan, walker)
    return (tally, *match_names(walker, tally, root, names))


__all__ = ["FallBack", "NamesTally", "level_matcher", "match_names", "run"]
