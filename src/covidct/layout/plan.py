"""Interpreting a config's layout: from files on disk to a plain list of example records.

:func:`make_plan` finds the files, pairs them by shared parts (image + mask), groups slices into
scans, joins the tables, resolves patient/scan ids, splits and every label that does not need the
slice order, and checks the counts against the card. It reads file names and tables only, so it is
fast. :meth:`Plan.records` then orders each scan's slices (by a DICOM tag or a number in the name),
takes per-slice labels from NPY arrays, and yields :class:`Record` objects. Nothing here depends on
Hugging Face ``datasets``.
"""

from __future__ import annotations

import copy
import gc
import os
import random
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from covidct.card.issues import LayoutWarning, warn_data
from covidct.card.model import Card, Config, Layout, ValueFrom
from covidct.card.pattern import BUILTIN_PARTS, compile_glob, parse, template_parts
from covidct.card.vocab import CountLevel, LabelKind, SortKey, Unit
from covidct.fsutil import open_regular, require_regular
from covidct.layout import tables as tbl
from covidct.layout.headers import apply_headers, uses_headers
from covidct.layout.values import (
    CLASS_KINDS,
    RECORD_CLASS_FIELD,
    RECORD_KINDS,
    SLICE_KINDS,
    ClassMapper,
    convert_label,
    describe_source,
    raw_text,
    to_record,
    to_split,
    to_text,
)
from covidct.layout.walk import (
    Found,
    LayoutError,
    Match,
    Walker,
    explain_mismatch,
    files_under,
    part_regexes,
    resolve_roots,
)
from covidct.numtext import int_text, natural_key

DEFAULT_SPLIT = "train"
_COUNT_LEVEL = {
    Unit.IMAGE: CountLevel.IMAGES, Unit.SLICE: CountLevel.SLICES, Unit.PATCH: CountLevel.PATCHES,
    Unit.SCAN: CountLevel.SCANS, Unit.SERIES: CountLevel.SERIES, Unit.STUDY: CountLevel.STUDIES,
    Unit.PATIENT: CountLevel.PATIENTS,
}
_DOUBLE_EXT = (".nii.gz", ".tar.gz", ".mha.gz", ".nrrd.gz")


COUNT_WARNINGS = frozenset({"L506", "L507"})  # the data's counts differ from the card's

@dataclass(frozen=True)
class ArrayRef:
    array: str
    row: int | None


@dataclass(slots=True)
class Values:
    """What the layout says of one example (or of one slice of a scan): its ids, labels, fields and splits.

    ``split`` is None until the splits are collected (then a list: several for an example listed twice,
    empty for one that belongs to none); ``scan`` None for a grouped scan means the group's key."""

    patient: str | None = None
    scan: str | None = None
    labels: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)
    split: list[str] | None = None


@dataclass(slots=True)
class Member:
    image: Match
    paired: dict[str, Match]
    ctx: dict[str, str]
    values: Values | None = None
    row: int | None = None  # HDF5 images (`files.image.dataset`): the example's row of the dataset


@dataclass(slots=True)
class Group:
    key: str
    members: list[Member]
    ctx: dict[str, str]
    paired: dict[str, Match] = field(default_factory=dict)
    values: Values | None = None
    rel: str = ""
    annotations: dict[str, list[str]] = field(default_factory=dict)  # label → its annotation files (paths)


@dataclass(slots=True)
class PlanPart:
    """Some groups of a plan and what :meth:`Plan.records` reads of them, without the card (:meth:`Plan.parts`)."""

    roots: list[str]
    groups: list[Group]
    splits: list[str]
    reported_elsewhere: frozenset[str]
    data_signature: str | None
    header_metas: dict[str, dict[str, object]]

    def plan(self, card: Card, config: Config) -> Plan:
        """A plan of ``card``'s ``config`` (those the part was cut from) holding only this part's groups."""
        plan = Plan(card, config, self.roots)
        plan.groups = self.groups
        plan.splits = self.splits
        plan.reported_elsewhere = self.reported_elsewhere
        plan.data_signature = self.data_signature
        plan.header_metas = self.header_metas
        return plan


@dataclass
class Record:
    """One example, as plain Python: file paths, ids, labels (class names), fields, split."""

    key: str
    split: str
    path: str  # the image file (or the scan's folder) relative to the data root
    files: dict[str, list[str]]  # role → absolute paths (the slices of a scan in order)
    patient: str | None = None
    scan: str | None = None
    slice_index: int | None = None
    row: int | None = None  # HDF5 images: the row of `files.image.dataset` that is this example
    labels: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, str | None] = field(default_factory=dict)


@dataclass
class Tally:
    """What a plan's files hold; each mapping is keyed by split, ``None`` meaning all splits."""

    level: CountLevel | None
    examples: Counter[str | None] = field(default_factory=Counter)
    by_class: dict[str | None, Counter[str]] = field(default_factory=dict)
    patients: dict[str | None, set[str]] = field(default_factory=dict)
    scans: dict[str | None, set[str]] = field(default_factory=dict)
    boxes: Counter[str | None] = field(default_factory=Counter)
    first_class: str | None = None
    has_patients: bool = False
    has_boxes: bool = False


@dataclass(frozen=True)
class CountCheck:
    """One count of the card beside the files: ``by_class`` maps a class to (card, data)."""

    level: str
    split: str | None
    card: int | None
    data: int
    by_class: dict[str, tuple[int, int]]

    @property
    def equal(self) -> bool:
        return (self.card is None or self.card == self.data) and all(a == b for a, b in self.by_class.values())


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a plan builds.

    A plan of 400,000 files makes millions of small objects and no reference cycles; the collector's
    generational passes over them took half the time of a names-only check (measured in
    benchmarks/bench_check.py). Nested uses keep it paused; it resumes as it was.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def builtins_of(rel: str) -> dict[str, str]:
    name = rel.rpartition("/")[2]
    if name.lower().endswith(_DOUBLE_EXT):
        low = name.lower()
        stem = next(name[: -len(e)] for e in _DOUBLE_EXT if low.endswith(e))
    else:
        stem = name.rpartition(".")[0] if "." in name.lstrip(".") else name
    return {"_name": name, "_stem": stem, "_path": rel}


class Plan:
    def __init__(self, card: Card, config: Config, roots: list[str]):
        if config.layout is None:
            raise LayoutError(card.unloadable_reason(config))
        self.card = card
        self.config = config
        self.layout: Layout = config.layout
        self.roots = roots
        self.grouped = self.layout.group is not None
        self.per_member = not config.example_is_whole_scan
        self.part_types = {n: p.type for n, p in self.layout.parts.items()}
        self.labels = {lab.name: lab for lab in config.labels}
        self.mappers = {
            name: ClassMapper(self.labels[name], vf)
            for name, vf in self.layout.labels.items()
            if name in self.labels and (
                self.labels[name].kind in CLASS_KINDS
                or (vf.columns is not None and RECORD_CLASS_FIELD in vf.columns and self.labels[name].classes))
        }
        self.mask_roles = [r for r in self.layout.files if r != "image"]
        self.tables: dict[str, tbl.Table] = {}
        self.groups: list[Group] = []
        self.splits: list[str] = []
        self.dropped = 0
        self.orphans: dict[str, list[str]] = {}  # role → files of that role paired with no image
        self.reported_elsewhere: frozenset[str] = frozenset()  # warning codes the caller reports itself
        self._arrays: dict[str, Any] = {}
        self._join_cache: dict[tuple[str, str], list[int]] = {}
        self._column_mappers: dict[str, list[tuple[str, ClassMapper]]] = {}
        # DICOM header values (`layout.headers`, `where`): the data signature keys their cache (None: not
        # cached); the values read per image path also order the slices, so no header is read twice
        self.data_signature: str | None = None
        self.header_metas: dict[str, dict[str, object]] = {}
        self.left_out: Counter[str] = Counter()  # image files `where`/`where_not` left out, by reason

    def __getstate__(self) -> dict[str, Any]:
        """What a worker process gets (``num_proc``): the label arrays are memory maps, opened again there
        rather than copied whole through the pipe."""
        state = dict(self.__dict__)
        state["_arrays"] = {}
        return state

    # ------------------------------------------------------------------------------------- building

    def walker(self) -> Walker:
        """The layout's walker; the files the card names (tables, arrays, split lists) are not unmatched."""
        lay = self.layout
        known = {t.path for t in lay.tables.values()} | {a.path for a in lay.arrays.values()}
        for files in (lay.splits.lists or {}).values() if lay.splits else ():
            known.update(files)
        return Walker(lay, extra_known=known)

    def build(self, found: Found | None = None) -> Plan:
        """Interpret the files; ``found`` is a walk of the roots made before (see :func:`find_files`), or a
        match of a listing (names only)."""
        with gc_paused():
            return self._build(found)

    def _build(self, found: Found | None) -> Plan:
        walker = self.walker()
        if found is None:
            found = walker.find(self.roots)
        self._check_found(found, walker)
        images_before = found.roles["image"]
        if uses_headers(self.layout):
            found = self._apply_headers(found)
        self._read_tables(found)
        members = self._pair(found)
        if self.layout.files["image"].dataset is not None:
            members = self._rows(members, self.layout.files["image"].dataset)
        self.groups = self._group(members)
        if self.layout.annotations:
            self._attach_annotations(found, images_before)
        for g in self.groups:
            if self.per_member:
                for m in g.members:
                    m.values = self._values(m.ctx, per_slice=self.grouped, what=m.image.rel)
            else:
                g.values = self._values(g.ctx, per_slice=False, what=g.rel)
                if any(self.labels[n].kind in SLICE_KINDS for n in self._member_level_labels()):
                    for m in g.members:
                        m.values = Values(labels={n: self._label(n, m.ctx, True, m.image.rel)
                                                  for n in self._member_level_labels()})
        self._collect_splits()
        if not self.reported_elsewhere >= COUNT_WARNINGS:
            self._check_counts()
        return self

    def _member_level_labels(self) -> list[str]:
        """Slice labels of scan examples that come from per-slice table rows or parts (not arrays)."""
        return [n for n, vf in self.layout.labels.items()
                if n in self.labels and self.labels[n].kind in SLICE_KINDS and vf.array is None
                and not self._unit_level(vf)]

    def _unit_level(self, vf: ValueFrom) -> bool:
        """Whether ``vf`` can be resolved from the parts a whole scan shares."""
        if vf.part is not None:
            return self.layout.group is not None and vf.part in self.layout.group.by
        if vf.template is not None:
            return self.layout.group is not None and set(template_parts(vf.template)) <= set(self.layout.group.by)
        if vf.table is not None:
            names = template_parts(self.layout.tables[vf.table].key)
            return self.layout.group is not None and all(n in self.layout.group.by for n in names)
        return True

    def _check_found(self, found: Any, walker: Walker) -> None:
        images = found.roles.get("image", [])
        where = " or ".join(self.roots) if self.roots else "(no data folder)"
        if found.symlinks:
            self._warn("L501", count=len(found.symlinks), examples=", ".join(found.symlinks[:5]))
        if found.special:
            self._warn("L502", count=len(found.special), examples=", ".join(found.special[:5]))
        if not images:
            pat = self.layout.files["image"].pattern
            if found.unmatched:
                first = found.unmatched[0]
                why = explain_mismatch(first, {"image": walker.roles["image"]}, walker.part_rx)
                raise LayoutError(
                    f"no file under {where} matches the image pattern {pat!r} of {self.card.id}/{self.config.name}; "
                    f"e.g. {first!r}: {why}. Check the data folder (and the card's `layout.root` "
                    f"{self.layout.root!r}) or fix the pattern."
                )
            refused = [*found.symlinks, *found.special]
            why = (f"only links or special files were found there, and refused: {', '.join(refused[:3])}"
                   if refused else "the folders the pattern starts in are empty or missing")
            raise LayoutError(
                f"no file under {where} matches the image pattern {pat!r} of {self.card.id}/{self.config.name} "
                f"({why}). Is the data folder right?"
            )
        if found.unmatched:
            first = found.unmatched[0]
            why = explain_mismatch(first, walker.roles, walker.part_rx)
            more = f" (and {len(found.unmatched) - 1} more)" if len(found.unmatched) > 1 else ""
            self._warn("L503", count=len(found.unmatched), first=first, more=more, why=why)

    def _apply_headers(self, found: Found) -> Found:
        """The image matches with their DICOM header values as parts; the files `where` leaves out, dropped."""
        result = apply_headers(self.layout, self.roots, found, self.data_signature)
        self.header_metas = result.metas
        self.left_out = result.left_out
        if not result.found.roles["image"]:
            reasons = "; ".join(f"{n:,} with {why}, e.g. {result.left_out_examples[why]!r}"
                                for why, n in result.left_out.most_common(3))
            raise LayoutError(f"every image file of {self.card.id}/{self.config.name} is left out by the layout's "
                              f"`where`/`where_not`: {reasons}. Is this the right data folder?")
        return result.found

    def _read_tables(self, found: Any) -> None:
        for name, spec in self.layout.tables.items():
            files = list(found.tables.get(name, []))
            pat = parse(spec.path, part_regexes(self.layout))
            if not pat.parts and "*" not in spec.path:
                hits = files_under(self.roots, spec.path, "table")
                files = [Match(r, spec.path, {}) for r in self.roots if os.path.join(r, spec.path) in hits]
            if not files:
                raise LayoutError(
                    f"table {name!r}: no file {spec.path!r} under {' or '.join(self.roots)}; "
                    f"the card's layout expects it there"
                )
            t = tbl.read_table(name, spec, files[:1] if not pat.parts and "*" not in spec.path else files)
            part = tbl.single_part(spec.key)
            t.build_index(int_key=part is not None and self.part_types.get(part) == "int")
            self.tables[name] = t

    def _norm(self, part: str, value: str) -> Any:
        if self.part_types.get(part) == "int":
            number = int_text(value)
            return value if number is None else number
        return value

    def _pair(self, found: Any) -> list[Member]:
        images: list[Match] = found.roles["image"]
        indexes = self._index_roles(found)
        members = []
        missing: dict[str, list[str]] = {}
        used: dict[str, set[str]] = {r: set() for r in self.mask_roles}
        builtins = self._needs_builtins()
        for im in images:
            ctx = dict(im.parts)
            if builtins:
                ctx.update(builtins_of(im.rel))
            paired: dict[str, Match] = {}
            for role, (shared, idx) in indexes.items():
                if role in self._unit_roles:
                    continue
                hits = idx.get(tuple(self._norm(p, im.parts[p]) for p in shared), [])
                if len(hits) > 1:
                    raise LayoutError(f"image {im.rel!r} has {len(hits)} {role} files ({hits[0].rel!r}, "
                                      f"{hits[1].rel!r}); the {role} pattern must identify one file per image")
                if hits:
                    paired[role] = hits[0]
                    used[role].add(hits[0].rel)
                elif self.layout.files[role].required:
                    missing.setdefault(role, []).append(im.rel)
            members.append(Member(im, paired, ctx))
        self._role_indexes = indexes
        self._check_pairing(members, missing, used)
        return members

    def _index_roles(self, found: Any) -> dict[str, tuple[tuple[str, ...], dict[tuple[Any, ...], list[Match]]]]:
        """Per mask role: the parts it shares with the image pattern, and its files by those parts' values."""
        image_parts = set(parse(self.layout.files["image"].pattern, part_regexes(self.layout)).parts)
        group_by = set(self.layout.group.by) if self.layout.group else set()
        self._unit_roles: dict[str, tuple[str, ...]] = {}
        indexes: dict[str, tuple[tuple[str, ...], dict[tuple[Any, ...], list[Match]]]] = {}
        for role in self.mask_roles:
            rparts = parse(self.layout.files[role].pattern, part_regexes(self.layout)).parts
            shared = tuple(p for p in rparts if p in image_parts)
            extra = [p for p in rparts if p not in image_parts]
            if extra:
                raise LayoutError(
                    f"file role {role!r}: parts {extra} of {self.layout.files[role].pattern!r} are not in the image "
                    f"pattern, so its files cannot be paired with images"
                )
            if group_by and set(shared) <= group_by and set(shared) != image_parts:
                self._unit_roles[role] = shared  # one file per scan (e.g. a mask volume for a DICOM series)
            idx: dict[tuple[Any, ...], list[Match]] = {}
            for m in found.roles.get(role, []):
                idx.setdefault(tuple(self._norm(p, m.parts[p]) for p in shared), []).append(m)
            indexes[role] = (shared, idx)
        return indexes

    def _check_pairing(self, members: list[Member], missing: dict[str, list[str]],
                       used: dict[str, set[str]]) -> None:
        """A required file missing is an error; files of a role that no image took are orphans (warned)."""
        for role, rels in missing.items():
            pat = self.layout.files[role].pattern
            first = next(m for m in members if m.image.rel == rels[0])
            try:
                expected = f" (expected {parse(pat, part_regexes(self.layout)).format(first.image.parts)!r})"
            except (KeyError, LayoutError):
                expected = ""
            raise LayoutError(
                f"{len(rels)} image(s) have no {role} file matching {pat!r}: e.g. {rels[0]!r}{expected}. "
                f"Provide the files, or mark the role `required: false` in the card."
            )
        for role, (_shared, idx) in self._role_indexes.items():
            if role in self._unit_roles:
                continue
            orphans = [m.rel for ms in idx.values() for m in ms if m.rel not in used[role]]
            self.orphans[role] = orphans
            if orphans:
                self._warn("L504", count=len(orphans), role=role, first=orphans[0],
                           pattern=self.layout.files["image"].pattern)

    def _rows(self, members: list[Member], dataset: str) -> list[Member]:
        """HDF5 images: one member per row of ``dataset`` in each file (its header says how many)."""
        import covidct.readers.hdf5 as h5

        out: list[Member] = []
        for m in members:
            try:
                n = h5.rows(m.image.path, dataset)
            except h5.ReadError as exc:
                raise LayoutError(str(exc)) from None
            if len(out) + n > h5.MAX_ROWS:
                raise LayoutError(f"{m.image.rel}: HDF5 dataset {dataset!r} declares {n:,} rows; more than "
                                  f"{h5.MAX_ROWS:,} examples from HDF5 rows are refused")
            for i in range(n):
                # the row and file travel in the context, so values from other datasets are cached per row
                ctx = {**m.ctx, _ROW: str(i), _FILE: m.image.path}
                out.append(Member(m.image, m.paired, ctx, row=i))
        return out

    def _hdf5_value(self, ctx: dict[str, str], dataset: str, what: str) -> Any:
        """The example's row of another dataset of its HDF5 file (read whole once, its size checked first)."""
        import covidct.readers.hdf5 as h5

        if _ROW not in ctx:
            raise LayoutError(f"{what}: `dataset` values need HDF5 images (`files: {{image: {{dataset: ...}}}}`)")
        path, row = ctx[_FILE], int(ctx[_ROW])
        key = f"hdf5:{path}\0{dataset}"
        arr = self._arrays.get(key)
        if arr is None:
            try:
                arr = self._arrays[key] = h5.read_all(path, dataset)
            except h5.ReadError as exc:
                raise LayoutError(str(exc)) from None
        if row >= arr.shape[0]:
            raise LayoutError(f"{what}: HDF5 dataset {dataset!r} has {arr.shape[0]} rows; row {row} is missing")
        value = arr[row]
        return value.reshape(()).item() if value.size == 1 else value

    def _group(self, members: list[Member]) -> list[Group]:
        if self.layout.group is None:
            return [Group(_key(m), [m], m.ctx, rel=_key(m)) for m in members]
        by = self.layout.group.by
        groups: dict[tuple[Any, ...], Group] = {}
        norm = self._norm
        plain = all(self.part_types.get(p) != "int" for p in by)
        for m in members:
            parts = m.image.parts
            k = tuple([parts[p] for p in by]) if plain else tuple([norm(p, parts[p]) for p in by])
            g = groups.get(k)
            if g is None:
                key = "/".join(m.image.parts[p] for p in by)
                groups[k] = Group(key, [m], {})
            else:
                g.members.append(m)
        out = []
        for g in groups.values():
            first = g.members[0].image.parts
            # the group parts are equal within a group (as text when none is an int part); the others are
            # common when every slice has the same value, which the second slice usually disproves at once
            same = set(by) if plain else set()
            common = {p: v for p, v in first.items()
                      if p in same or all(m.image.parts.get(p) == v for m in g.members)}
            rels = [m.image.rel for m in g.members]
            folder = os.path.commonpath(rels) if len(rels) > 1 else os.path.dirname(rels[0])
            g.rel = (folder or g.key).replace(os.sep, "/")
            g.ctx = {**common, **builtins_of(g.rel)} if self._needs_builtins() else common
            for role, shared in self._unit_roles.items():
                _s, idx = self._role_indexes[role]
                hits = idx.get(tuple(self._norm(p, first[p]) for p in shared), [])
                if len(hits) > 1:
                    raise LayoutError(f"scan {g.key!r} has {len(hits)} {role} files; expected one")
                if hits:
                    g.paired[role] = hits[0]
                elif self.layout.files[role].required:
                    raise LayoutError(f"scan {g.key!r} has no {role} file matching "
                                      f"{self.layout.files[role].pattern!r}; provide it or set `required: false`")
            out.append(g)
        return out

    def _attach_annotations(self, found: Found, images_before: list[Match]) -> None:
        """Each annotation file to the scan whose SeriesInstanceUID it refers to, a VOC file to the scan of the slice
        it is named after (folder names are not compared).

        The files are those of the annotation pattern, and, for DICOM annotations, the image-pattern files that
        `where` left out (an RTSTRUCT or SEG lies among the slices and matches `**/*.dcm` too)."""
        from covidct.layout.walk import annotation_key
        from covidct.readers import ReadError
        from covidct.readers.annotation_files import referenced_series, voc_slice_uid

        lay = self.layout
        by_series, by_sop = self._scans_by_uid()
        kept = {m.rel for m in found.roles["image"]}
        rx = part_regexes(lay)
        annotation_files = list({m.rel: m for label in lay.annotations
                                 for m in found.tables.get(annotation_key(label), [])}.values())
        for label, spec in lay.annotations.items():
            pat = parse(spec.pattern, rx)
            # a file goes to the first pattern it matches in a walk: two labels may share their files
            files = [m for m in annotation_files if pat.match(m.rel) is not None]
            if spec.format in ("rtstruct", "seg"):
                files += [m for m in images_before if m.rel not in kept and pat.match(m.rel) is not None]
            unmatched: list[str] = []
            for m in files:
                try:
                    if spec.format == "voc-xml":
                        g = by_sop.get(voc_slice_uid(m.path))
                    else:
                        is_format, uid = referenced_series(m.path, spec.format)
                        if not is_format:
                            continue  # an image file `where` left out that is no annotation of this format (a PET)
                        g = by_series.get(uid or "")
                except ReadError as exc:
                    raise LayoutError(f"annotation file of label {label!r}: {exc}") from None
                if g is None:
                    unmatched.append(m.rel)
                else:
                    g.annotations.setdefault(label, []).append(m.path)
            if unmatched:
                self._warn("L511", count=len(unmatched), format=spec.format, label=label, first=unmatched[0])

    def _scans_by_uid(self) -> tuple[dict[str, Group], dict[str, Group]]:
        """The scans by SeriesInstanceUID, and (with VOC annotations, which name a slice, not a series) by the
        SOPInstanceUID of each of their slices."""
        lay = self.layout
        series = next((n for n, kw in lay.headers.items() if str(kw.value) == "SeriesInstanceUID"), None)
        if series is None or lay.group is None:
            raise LayoutError(f"{self.card.id}/{self.config.name}: `annotations` are matched to scans by "
                              "SeriesInstanceUID: add it to `headers` (e.g. `series: SeriesInstanceUID`) and group "
                              "the slices (`group: {by: [series], ...}`)")
        by_series: dict[str, Group] = {}
        for g in self.groups:
            uid = g.ctx.get(series) or g.members[0].image.parts.get(series)
            if uid:
                by_series[str(uid)] = g
        by_sop: dict[str, Group] = {}
        if any(spec.format == "voc-xml" for spec in lay.annotations.values()):
            for g in self.groups:
                for member in g.members:
                    sop = (self.header_metas.get(member.image.path) or {}).get("SOPInstanceUID")
                    if sop:
                        by_sop[str(sop)] = g
        return by_series, by_sop

    # ---------------------------------------------------------------------------------------- values

    def _context_keys(self) -> tuple[str, ...] | None:
        """The parts an example's values depend on (patient, scan, labels, fields, split), or None if unknown.

        Examples that agree on these parts get the same values, so :meth:`_values` computes them once per
        distinct key: a scan of 300 slices whose labels come from its folder is resolved once, not 300 times.
        """
        lay = self.layout
        keys: set[str] = set()

        def add(vf: ValueFrom | None) -> bool:
            if vf is None or vf.value is not None:
                return True
            if vf.part is not None:
                keys.add(vf.part)
            elif vf.template is not None:
                keys.update(template_parts(vf.template))
            elif vf.dataset is not None:
                keys.update((_FILE, _ROW))
            elif vf.table is not None and vf.table in lay.tables:
                keys.update(template_parts(lay.tables[vf.table].key))
            elif vf.array is not None and vf.array in lay.arrays:
                row_table = lay.tables.get(lay.arrays[vf.array].row_table)
                if row_table is None:
                    return False
                keys.update(template_parts(row_table.key))
            else:
                return False
            return True

        sources = [lay.patient, lay.scan, *lay.labels.values(), *lay.fields.values()]
        if lay.splits is not None:
            if lay.splits.by is not None:
                sources.append(lay.splits.by)
            else:
                keys.update(template_parts(lay.splits.key))
        if not all(add(vf) for vf in sources):
            return None
        return tuple(sorted(keys))

    def _needs_builtins(self) -> bool:
        """Whether any value reads ``{_name}``, ``{_stem}`` or ``{_path}`` (else they are not computed)."""
        if not hasattr(self, "_ctx_keys"):
            self._ctx_keys = self._context_keys()
            self._values_cache = {}
            self._builtins = self._ctx_keys is None or any(k in BUILTIN_PARTS for k in self._ctx_keys)
        return self._builtins

    def _values(self, ctx: dict[str, str], per_slice: bool, what: str) -> Values:
        """An example's patient, scan, labels, fields and split (a fresh outer dict: callers set the split)."""
        self._needs_builtins()  # computes the context keys once
        if self._ctx_keys is None:
            return self._compute_values(ctx, per_slice, what)
        try:
            key = (per_slice, *(ctx[k] for k in self._ctx_keys))
        except KeyError:  # a part the example lacks: let the computation say so
            return self._compute_values(ctx, per_slice, what)
        hit = self._values_cache.get(key)
        if hit is None:
            hit = self._values_cache[key] = self._compute_values(ctx, per_slice, what)
        return copy.copy(hit)

    def _compute_values(self, ctx: dict[str, str], per_slice: bool, what: str) -> Values:
        lay = self.layout
        vals = Values()
        vals.patient = self._text(lay.patient, ctx, f"{what}: patient id") if lay.patient else None
        vals.scan = self._text(lay.scan, ctx, f"{what}: scan id") if lay.scan else None
        if vals.scan is None and self.grouped and not self.per_member:
            vals.scan = None  # filled with the group key by the caller
        for name in lay.labels:
            if name not in self.labels:
                continue
            if not self.per_member and name in self._member_level_labels():
                vals.labels[name] = _PER_SLICE
                continue
            vals.labels[name] = self._label(name, ctx, per_slice, what)
        for name, vf in lay.fields.items():
            vals.fields[name] = self._text(vf, ctx, f"{what}: field {name!r}")
        vals.split = self._split(ctx, what)
        return vals

    def _label(self, name: str, ctx: dict[str, str], per_slice: bool, what: str) -> Any:
        vf = self.layout.labels[name]
        label = self.labels[name]
        if vf.array is not None:
            spec = self.layout.arrays[vf.array]
            rows = self._join(spec.row_table, ctx, f"{what}: array {vf.array!r}")
            if len(rows) > 1:
                raise LayoutError(f"{what}: {len(rows)} rows of table {spec.row_table!r} match; an array row "
                                  f"needs exactly one ({self.tables[spec.row_table].where(rows[0])}, "
                                  f"{self.tables[spec.row_table].where(rows[1])})")
            return ArrayRef(vf.array, self.tables[spec.row_table].rownums[rows[0]] if rows else None)
        if vf.columns is not None and label.kind in RECORD_KINDS:
            return self._records(name, vf, ctx, what)
        if vf.label_columns is not None:
            return self._label_columns(name, vf, ctx, f"{what}: label {name!r}")
        if vf.rle is not None:
            return self._rle_cells(name, vf, ctx, f"{what}: label {name!r}")
        raw = self._raw(vf, ctx, f"{what}: label {name!r}", many=label.kind in (LabelKind.MULTI_LABEL,))
        return convert_label(label, self.mappers.get(name), raw, f"{what}: label {name!r}", per_slice)

    def _label_columns(self, name: str, vf: ValueFrom, ctx: dict[str, str], what: str) -> list[str]:
        """A multi-label label from one column per class: the classes its joined rows' cells map to."""
        assert vf.table is not None and vf.label_columns is not None
        if self.labels[name].kind != LabelKind.MULTI_LABEL:
            raise LayoutError(f"{what}: `label_columns` gives the classes of a multi-label label")
        t = self.tables[vf.table]
        mappers = self._column_mappers.get(name)
        if mappers is None:  # one mapper per column: its own map of raw cells to classes
            mappers = self._column_mappers[name] = [
                (t.column(col), ClassMapper(self.labels[name], vf.model_copy(update={
                    "label_columns": None, "column": col, "map": mapping, "default": None})))
                for col, mapping in vf.label_columns.items()]
        out: list[str] = []
        for i in self._join(vf.table, ctx, what):
            row = t.rows[i]
            for col, mapper in mappers:
                cls = mapper.one(row.get(col), f"{what}, {t.where(i)}, column {col!r}")
                if cls is not None and cls not in out:
                    out.append(cls)
        return out

    def _rle_cells(self, name: str, vf: ValueFrom, ctx: dict[str, str], what: str) -> list[str] | None:
        """A mask from run-length text: the non-empty cells of the joined rows, each checked here (where its row
        is known); the builder decodes their union (``covidct.readers.rle.mask``). No row: None (not known,
        which differs from a row saying "no runs")."""
        from covidct.readers import ReadError
        from covidct.readers.rle import runs

        assert vf.table is not None and vf.column is not None and vf.rle is not None
        if self.labels[name].kind != LabelKind.MASK:
            raise LayoutError(f"{what}: `rle` gives a mask; label {name!r} is a {self.labels[name].kind.value} label")
        t = self.tables[vf.table]
        col = t.column(vf.column)
        fmt = rle_format(vf)
        out: list[str] = []
        joined = self._join(vf.table, ctx, what)
        if not joined:
            return None
        for i in joined:
            cell = t.rows[i].get(col)
            try:
                starts, _ = runs(cell, fmt, f"{t.where(i)}, column {col!r}")
            except ReadError as exc:
                raise LayoutError(f"{what}: {exc}") from None
            if len(starts) and cell is not None:
                out.append(cell)
        return out

    def _records(self, name: str, vf: ValueFrom, ctx: dict[str, str], what: str) -> list[dict[str, Any]]:
        """Boxes or points: one record per joined table row (none joined: an empty list)."""
        assert vf.table is not None and vf.columns is not None
        t = self.tables[vf.table]
        cols = {fld: t.column(c) for fld, c in vf.columns.items()}
        out = []
        for i in self._join(vf.table, ctx, f"{what}: label {name!r}"):
            row = t.rows[i]
            rec = to_record(self.labels[name], vf, self.mappers.get(name), {f: row.get(c) for f, c in cols.items()},
                            f"{what}: label {name!r}, {t.where(i)}")
            if rec is not None:
                out.append(rec)
        return out

    def _raw(self, vf: ValueFrom, ctx: dict[str, str], what: str, many: bool = False) -> Any:
        if vf.value is not None:
            return vf.value
        if vf.part is not None:
            if vf.part not in ctx:
                by = self.layout.group.by if self.layout.group else []
                raise LayoutError(f"{what}: part {{{vf.part}}} is not shared by every slice of the scan; "
                                  f"scan-level values can only use the group parts {by}")
            return ctx[vf.part]
        if vf.dataset is not None:
            return self._hdf5_value(ctx, vf.dataset, what)
        if vf.template is not None:
            try:
                return tbl.fill_template(vf.template, ctx)
            except KeyError as exc:
                by = self.layout.group.by if self.layout.group else []
                raise LayoutError(f"{what}: template {vf.template!r} needs part {exc.args[0]!r}, which this example "
                                  f"does not have (scan-level values can only use the group parts {by})") from None
        if vf.columns is not None:
            raise LayoutError(f"{what}: `columns` gives the records of a boxes or points label; use `column` here")
        if vf.table is not None:
            t = self.tables[vf.table]
            rows = self._join(vf.table, ctx, what)
            if not rows:
                return None
            col = t.column(vf.column or "")
            vals = [t.rows[i].get(col) for i in rows]
            if t.spec.rows == "many" or many:
                out = [v for v in vals if v is not None]
                return out if (t.spec.rows == "many" or len(out) > 1) else (out[0] if out else None)
            distinct = {v for v in vals}
            if len(distinct) > 1:
                raise LayoutError(f"{what}: {len(rows)} rows of table {vf.table!r} match with different values "
                                  f"{sorted(str(d) for d in distinct)[:4]} ({t.where(rows[0])}, {t.where(rows[1])}); "
                                  f"set `rows: many` on the table if that is intended")
            return vals[0]
        raise LayoutError(f"{what}: {describe_source(vf)} cannot give this value")

    def _text(self, vf: ValueFrom, ctx: dict[str, str], what: str) -> str | None:
        if vf.array is not None:
            raise LayoutError(f"{what}: ids and fields cannot come from an array")
        return to_text(self._raw(vf, ctx, what), vf, what)

    def _join(self, table: str, ctx: dict[str, str], what: str) -> list[int]:
        t = self.tables[table]
        try:
            key = tbl.fill_template(t.spec.key, ctx)
        except KeyError as exc:
            raise LayoutError(f"{what}: the key {t.spec.key!r} of table {table!r} needs part {exc.args[0]!r}, which "
                              f"this example does not have (for scans: only parts shared by all slices)") from None
        ck = (table, key)
        hit = self._join_cache.get(ck)
        if hit is None:
            hit = t.lookup(key)
            self._join_cache[ck] = hit
        return hit

    def _split(self, ctx: dict[str, str], what: str) -> list[str] | None:
        sp = self.layout.splits
        if sp is None:
            return None
        if sp.by is not None:
            raw = self._raw(sp.by, ctx, f"{what}: split")
            raws = raw if isinstance(raw, list) else [raw]
            out = []
            for r in raws:
                s = to_split(r, sp.by, f"{what}: split")
                if s is not None and s not in out:
                    out.append(s)
            return out
        key = tbl.key_of(sp.key, ctx)
        if sp.columns is not None:
            members_of = self._split_columns()
            nkey = None if key is None else tbl.normalize_key(key, self._split_int_key)
            return [name for name, members in members_of.items() if nkey is not None and nkey in members]
        lists = self._split_lists()
        return [name for name, members in lists.items() if key is not None and key in members]

    def _split_columns(self) -> dict[str, set[Any]]:
        """One column per fold (`splits.columns`): split name → the keys its column lists (blank cells skipped)."""
        cached = getattr(self, "_columns_cache", None)
        if cached is not None:
            return cached
        sp = self.layout.splits
        assert sp is not None and sp.columns is not None and sp.table is not None
        part = tbl.single_part(sp.key)
        self._split_int_key = part is not None and self.part_types.get(part) == "int"
        t = self.tables[sp.table]
        out: dict[str, set[Any]] = {}
        for split, column in sp.columns.items():
            col = t.column(column)
            out[split] = {tbl.normalize_key(v, self._split_int_key) for row in t.rows
                          if (v := row.get(col)) is not None}
        self._columns_cache: dict[str, set[Any]] | None = out
        return out

    def _split_lists(self) -> dict[str, set[str]]:
        cached = getattr(self, "_lists_cache", None)
        if cached is not None:
            return cached
        out: dict[str, set[str]] = {}
        assert self.layout.splits is not None and self.layout.splits.lists is not None
        for split, files in self.layout.splits.lists.items():
            vals: set[str] = set()
            for f in files:
                hits = files_under(self.roots, f, "split list")
                if not hits:
                    raise LayoutError(f"split list {f!r} (split {split!r}) is not under {' or '.join(self.roots)}")
                with open_regular(hits[0], "split list") as fh:
                    text = tbl._decode(fh.read())
                vals.update(ln.strip().replace("\\", "/") for ln in text.splitlines() if ln.strip())
            out[split] = vals
        self._lists_cache: dict[str, set[str]] | None = out
        return out

    # ---------------------------------------------------------------------------------------- splits

    def _examples(self) -> Iterator[tuple[Values, Group, Member | None]]:
        for g in self.groups:
            if self.per_member:
                for m in g.members:
                    assert m.values is not None
                    yield m.values, g, m
            else:
                assert g.values is not None
                yield g.values, g, None

    def _collect_splits(self, weighted: Iterable[tuple[Values, int]] | None = None) -> None:
        """The splits the examples belong to; ``weighted``: (values, examples with them), else every example."""
        names: dict[str, None] = {}
        dropped = 0
        items = weighted if weighted is not None else ((vals, 1) for vals, _g, _m in self._examples())
        for vals, n in items:
            s = vals.split
            if s is None:
                names[DEFAULT_SPLIT] = None
                vals.split = [DEFAULT_SPLIT]
            elif not s:
                dropped += n
            else:
                for x in s:
                    names[x] = None
        self.dropped = dropped
        if dropped:
            self._warn("L505", count=dropped)
        if not names:
            raise LayoutError(f"no example of {self.card.id}/{self.config.name} belongs to a split; check `splits`")
        self.splits = sorted(names, key=self._split_rank)

    def _split_rank(self, name: str) -> tuple[int, int, str]:
        """Splits in the card's order (map or lists), else train, validation, test, then by name."""
        sp = self.layout.splits
        declared: list[str] = []
        if sp is not None and (sp.lists or sp.columns) is not None:
            declared = list(sp.lists or sp.columns or {})
        elif sp is not None and sp.by is not None and sp.by.map is not None:
            declared = list(dict.fromkeys(str(t) for t in [*sp.by.map.values(), sp.by.default] if t is not None))
        if name in declared:
            return (0, declared.index(name), name)
        usual = ["train", "validation", "valid", "val", "test"]
        return (1, usual.index(name) if name in usual else len(usual), name)

    def resplit(self, by: str, test_size: float, seed: int, links: Iterable[tuple[str, str]] = ()) -> None:
        """Replace the splits by a random ``train``/``test`` split that keeps each ``by`` value on one side.

        ``links``: pairs of example ids (``Record.key``) that must also share a side, e.g. duplicate
        images found by :func:`covidct.fingerprint.split.example_links`; their ``by`` values are merged.
        """
        if by not in ("patient", "scan", "example"):
            raise LayoutError(f"split_by must be 'patient', 'scan' or 'example', not {by!r}")
        if not 0 < test_size < 1:
            raise LayoutError(f"test_size must be between 0 and 1 (a fraction of the {by}s), not {test_size}")
        items = list(self._examples())
        keys = []
        for vals, g, m in items:
            if by == "example":
                k = m.image.rel if m is not None else g.key
            elif by == "scan":
                k = vals.scan or g.key
            else:
                k = vals.patient
                if k is None:
                    raise LayoutError(
                        f"{self.card.id}/{self.config.name} gives no patient id for {m.image.rel if m else g.key!r}, "
                        f"so a patient-level split is impossible; use split_by='scan' or 'example', or add "
                        f"`patient:` to the layout"
                    )
            keys.append(k)
        if links:
            keys = _merge_keys(keys, [m.image.rel if m is not None else g.key for _v, g, m in items], links)
        uniq = sorted(set(keys))
        rng = random.Random(seed)
        rng.shuffle(uniq)
        n_test = round(len(uniq) * test_size)
        if len(uniq) >= 2:
            n_test = min(max(n_test, 1), len(uniq) - 1)
        test = set(uniq[:n_test])
        for (vals, _g, _m), k in zip(items, keys, strict=True):
            vals.split = ["test" if k in test else "train"]
        self.splits = [s for s in ("train", "test") if any(
            s in v.split for v, _g, _m in items)]

    def count(self, split: str | None = None) -> int:
        return sum(1 for vals, _g, _m in self._examples() if split is None or split in vals.split)

    # ---------------------------------------------------------------------------------------- counts

    def _box_labels(self) -> list[str]:
        return [n for n, vf in self.layout.labels.items()
                if vf.columns is not None and n in self.labels and self.labels[n].kind == LabelKind.BOXES]

    def _first_class(self) -> str | None:
        return next((n for n, lab in self.labels.items() if lab.kind == LabelKind.CLASS
                     and n in self.layout.labels and self.layout.labels[n].array is None), None)

    def tally_rows(self, weighted: Iterable[tuple[Values, int, str]]) -> Counter[tuple[Any, ...]]:
        """Examples that agree on split, class, patient, scan and box count, counted once: ``weighted`` gives
        (values, examples with them, the scan key when the values name none)."""
        box_labels = self._box_labels()
        first = self._first_class()
        rows: Counter[tuple[Any, ...]] = Counter()
        for vals, n, scan_key in weighted:
            labels = vals.labels
            rows[(tuple(vals.split or ()), labels.get(first) if first is not None else None, vals.patient,
                  vals.scan or scan_key,
                  sum(len(labels.get(b) or ()) for b in box_labels) if box_labels else 0)] += n
        return rows

    def tally(self, rows: Counter[tuple[Any, ...]] | None = None) -> Tally:
        """What the files hold, per split (None: all splits): examples, per class, patients, scans, boxes.

        ``rows``: :meth:`tally_rows` of the examples (by default, of this plan's examples)."""
        t = Tally(level=_COUNT_LEVEL.get(self.config.example))
        t.first_class = self._first_class()
        t.has_patients = self.layout.patient is not None
        t.has_boxes = bool(self._box_labels())
        # the rows are expanded per split (None: all splits); a scan's slices mostly agree, so this is a few
        # thousand rows
        if rows is None:
            grouped = self.grouped
            rows = self.tally_rows((vals, 1, g.key if m is None or grouped else "")
                                   for vals, g, m in self._examples())
        for (splits, cls, patient, scan, nbox), n in rows.items():
            for s in [None, *splits]:
                t.examples[s] += n
                if isinstance(cls, str):
                    t.by_class.setdefault(s, Counter())[cls] += n
                if patient is not None:
                    t.patients.setdefault(s, set()).add(patient)
                t.scans.setdefault(s, set()).add(scan)
                if nbox:
                    t.boxes[s] += nbox * n
        return t

    def count_checks(self, release: str | None = None, tally: Tally | None = None) -> list[CountCheck]:
        """Each of the card's counts that the layout can be compared with, beside what the files hold.

        Only counts of what the layout loads are compared: those of ``release`` (None: the release the
        card describes), and split counts only for the splits found. Levels: the example unit, patients,
        scans/series, and boxes (the records of the config's box labels).
        """
        t = tally or self.tally()
        out = []
        for cnt in self.config.counts:
            s = cnt.split
            if cnt.release != release or (s is not None and s not in self.splits):
                continue
            exp_by: dict[str, int] = {}
            if cnt.level == t.level:
                have = t.examples[s]
                exp_by = dict(cnt.by_class)
            elif cnt.level == CountLevel.PATIENTS and t.has_patients:
                have = len(t.patients.get(s, ()))
            elif cnt.level in (CountLevel.SCANS, CountLevel.SERIES) and self.grouped:
                have = len(t.scans.get(s, ()))
            elif cnt.level == CountLevel.BOXES and t.has_boxes:
                have = t.boxes[s]
            else:
                continue
            got = t.by_class.get(s, Counter()) if exp_by and t.first_class is not None else Counter()
            by_class = {c: (n, got.get(c, 0)) for c, n in exp_by.items()} if t.first_class is not None else {}
            out.append(CountCheck(cnt.level.value, s, cnt.total, have, by_class))
        return out

    def _check_counts(self) -> None:
        """Warn where the files differ from the card's counts."""
        for c in self.count_checks():
            where = f" in split {c.split!r}" if c.split else ""
            if c.card is not None and c.card != c.data:
                self._warn("L506", card=c.card, level=c.level, in_split=where, data=c.data,
                           difference=_diff(c.data - c.card))
            diffs = [f"{k}: card {want:,}, data {have:,}" for k, (want, have) in c.by_class.items() if want != have]
            if diffs:
                self._warn("L507", level=c.level, in_split=where, differences="; ".join(diffs))

    def _warn(self, code: str, **values: object) -> None:
        """A LayoutWarning of kind ``code``, unless the caller reports that kind itself (``covidct check``)."""
        if code in self.reported_elsewhere:
            return
        warn_data(code, f"{self.card.id}/{self.config.name}", stacklevel=3, **values)

    # ---------------------------------------------------------------------------------------- records

    def array(self, name: str) -> Any:
        if name not in self._arrays:
            import numpy as np

            path = self.layout.arrays[name].path
            hits = files_under(self.roots, path, f"array {name!r}:")
            if not hits:
                raise LayoutError(f"array {name!r}: no file {path!r} under {' or '.join(self.roots)}")
            try:
                require_regular(hits[0], f"array {name!r}")  # numpy maps it by path: checked right before
                self._arrays[name] = np.load(hits[0], mmap_mode="r", allow_pickle=False)
            except (ValueError, OSError) as exc:
                raise LayoutError(f"array {path} cannot be read as .npy: {exc}") from None
        return self._arrays[name]

    def order(self, g: Group) -> list[Member]:
        """The slices of a scan in the card's order (a DICOM tag or a numbered part), ties by file name."""
        spec = self.layout.group
        if spec is None or len(g.members) == 1:
            return list(g.members)
        if spec.order_part is not None:
            part = spec.order_part

            def k(m: Member) -> tuple[Any, ...]:
                v = m.image.parts[part]
                try:
                    return (0, float(v), m.image.rel)
                except ValueError:
                    return (1, natural_key(v), m.image.rel)

            ordered = sorted(g.members, key=k, reverse=spec.descending)
        else:
            ordered = self._order_by_tag(g, spec.order_by, spec.descending)
        return ordered

    def _order_by_tag(self, g: Group, tag: SortKey | None, descending: bool) -> list[Member]:
        """Slices ordered by one DICOM attribute for the whole scan (``tag``, else the first fallback every
        slice has: mixing SliceLocation of some slices with ImagePositionPatient of others would scramble
        it). Ties keep file-name order."""
        import covidct.readers as rd

        fmt = str(self.layout.files["image"].format)
        members = sorted(g.members, key=lambda m: m.image.rel)
        metas = []
        for m in members:
            known = self.header_metas.get(m.image.path)
            if known is not None:  # read with the layout's header values, in the same pass
                metas.append(known)
                continue
            try:
                metas.append(rd.read_header(m.image.path, fmt))
            except rd.ReadError as exc:
                raise LayoutError(f"scan {g.key!r}: {exc}") from None
        try:
            idx = rd.slice_order(metas, tag or SortKey.SLICE_LOCATION, descending=descending)
        except rd.ReadError as exc:
            raise LayoutError(f"scan {g.key!r} ({g.rel}): the slices cannot be ordered by {tag}: {exc}") from None
        return [members[i] for i in idx]

    def shards(self, split: str | None, n: int) -> list[Plan]:
        """``split``'s examples as at most ``n`` plans of contiguous runs of groups with about equal numbers of
        the split's files; a scan is never cut, so its slice order and slice indices are those of one plan.

        Their :meth:`records`, one shard after another, are those of this plan in the same order, so
        processes that each write some shards, concatenated in shard order, write the same rows. The cuts
        depend only on the plan and ``n``. Each is :meth:`parts`' part made a plan again.
        """
        return [part.plan(self.card, self.config) for part in self.parts(split, n)]

    def parts(self, split: str | None, n: int) -> list[PlanPart]:
        """The shards of :meth:`shards` as a worker process is sent them: their groups and the header values
        read of their files, without the card (the worker has it) nor the tables and caches of planning, so
        what a worker is sent grows with its part of the data, not with the whole."""
        return [self._part(self.groups[a:b]) for a, b in self.shard_ranges(split, n)]

    def shard_ranges(self, split: str | None, n: int) -> list[tuple[int, int]]:
        """The ``(start, stop)`` indices into :attr:`groups` of :meth:`shards`."""
        weights = [self._weight(g, split) for g in self.groups]
        total = sum(weights)
        if total == 0 or n <= 1:
            return [(0, len(self.groups))]
        cuts: list[tuple[int, int]] = []
        before, start, current = 0, 0, 0
        for i, w in enumerate(weights):
            if w:
                k = min(n - 1, (2 * before + w) * n // (2 * total))  # the shard the group's middle falls in
                if k != current and i > start:
                    cuts.append((start, i))
                    start = i
                current = k
            before += w
        cuts.append((start, len(self.groups)))
        return cuts

    def _part(self, groups: list[Group]) -> PlanPart:
        metas = self.header_metas  # read while planning; they order the slices of each scan
        return PlanPart(self.roots, groups, self.splits, self.reported_elsewhere, self.data_signature,
                        {m.image.path: metas[m.image.path] for g in groups for m in g.members
                         if m.image.path in metas} if metas else {})

    def _weight(self, g: Group, split: str | None) -> int:
        """How many image files ``split``'s records of group ``g`` read (what a shard's work is measured in)."""
        if self.per_member:
            return sum(1 for m in g.members if split is None or split in m.values.split)  # type: ignore[union-attr]
        assert g.values is not None
        return len(g.members) if split is None or split in g.values.split else 0

    def records(self, split: str | None = None) -> Iterator[Record]:
        """The examples of ``split`` (all when None), in a stable order."""
        for g in self.groups:
            if self.per_member:
                chosen = [m for m in g.members if split is None or split in m.values.split]  # type: ignore[union-attr]
                if not chosen:
                    continue
                ordered = self.order(g) if self.grouped else g.members
                pos = {id(m): i for i, m in enumerate(ordered)}
                for m in ordered:
                    if split is not None and split not in m.values.split:  # type: ignore[union-attr]
                        continue
                    yield from self._member_records(g, m, pos[id(m)] if self.grouped else None, split)
            else:
                assert g.values is not None
                if split is not None and split not in g.values.split:
                    continue
                yield from self._group_records(g, split)

    def _member_records(self, g: Group, m: Member, pos: int | None, split: str | None) -> Iterator[Record]:
        vals = m.values
        assert vals is not None
        labels = {}
        for n, v in vals.labels.items():
            labels[n] = self._array_value(n, v, pos, None, m.image.rel) if isinstance(v, ArrayRef) else v
        files = {"image": [m.image.path]}
        for role in self.mask_roles:
            hit = m.paired.get(role) or g.paired.get(role)
            files[role] = [hit.path] if hit else []
        self._annotation_files(g, files)
        for s in ([split] if split is not None else vals.split):
            yield Record(
                key=_key(m), split=s, path=_key(m), files=files, patient=vals.patient,
                scan=vals.scan if vals.scan is not None else (g.key if self.grouped else None),
                slice_index=pos, row=m.row, labels=labels, fields=dict(vals.fields),
            )

    def _group_records(self, g: Group, split: str | None) -> Iterator[Record]:
        vals = g.values
        assert vals is not None
        ordered = self.order(g)
        labels = {}
        for n, v in vals.labels.items():
            if isinstance(v, ArrayRef):
                labels[n] = self._array_value(n, v, None, len(ordered), g.rel)
            elif v is _PER_SLICE:
                labels[n] = [m.values.labels[n] for m in ordered]  # type: ignore[union-attr]
            else:
                labels[n] = v
        files = {"image": [m.image.path for m in ordered]}
        for role in self.mask_roles:
            if role in g.paired:
                files[role] = [g.paired[role].path]
            else:
                files[role] = [m.paired[role].path for m in ordered if role in m.paired]
        self._annotation_files(g, files)
        for s in ([split] if split is not None else vals.split):
            yield Record(
                key=g.key, split=s, path=g.rel, files=files, patient=vals.patient,
                scan=vals.scan if vals.scan is not None else g.key,
                labels=labels, fields=dict(vals.fields),
            )

    def _annotation_files(self, g: Group, files: dict[str, list[str]]) -> None:
        from covidct.layout.walk import annotation_key

        for label in self.layout.annotations:
            files[annotation_key(label)] = sorted(g.annotations.get(label, []))

    def _array_value(self, name: str, ref: ArrayRef, pos: int | None, n_slices: int | None, what: str) -> Any:
        if ref.row is None:
            return None  # not in the row table: unknown, not "no finding"
        import numpy as np

        arr = self.array(ref.array)
        label = self.labels[name]
        if ref.row >= arr.shape[0]:
            raise LayoutError(f"{what}: array {ref.array!r} has {arr.shape[0]} rows; row {ref.row} is missing")
        row = np.asarray(arr[ref.row])
        kind = label.kind
        if pos is not None or n_slices is not None:
            if row.ndim == 0:
                raw: Any = row
            else:
                width = row.shape[0]
                if n_slices is not None:
                    if n_slices > width:
                        raise LayoutError(f"{what}: the scan has {n_slices} slices but array {ref.array!r} row "
                                          f"{ref.row} has {width}")
                    raw = [row[i] for i in range(n_slices)]
                else:
                    assert pos is not None
                    if pos >= width:
                        raise LayoutError(f"{what}: slice {pos} is beyond the {width} columns of array "
                                          f"{ref.array!r} row {ref.row}")
                    raw = row[pos]
        else:
            raw = row
        if kind in SLICE_KINDS and n_slices is None and pos is None:
            raise LayoutError(f"{what}: label {name!r} is per slice but the layout has no `group` to order slices")
        return convert_label(label, self.mappers.get(name), _plain(raw), f"{what}: label {name!r}",
                             per_slice=n_slices is None)


class _PerSliceMarker:
    def __repr__(self) -> str:
        return "<per slice>"


_PER_SLICE = _PerSliceMarker()
# context keys of HDF5 rows (no part can have these names: parts start with a letter)
_ROW = "\0row"
_FILE = "\0file"


def rle_format(vf: ValueFrom) -> Any:
    """The reader's view of a value's `rle` rule (a :class:`covidct.readers.rle.RleFormat`)."""
    from covidct.readers.rle import format_of

    assert vf.rle is not None
    r = vf.rle
    return format_of(r.shape, r.order, r.offsets, r.start, r.empty)


def _key(m: Member) -> str:
    """An example's key and path: the file, and for HDF5 rows the row (``all_patches.hdf5#12``)."""
    return m.image.rel if m.row is None else f"{m.image.rel}#{m.row}"


def _plain(raw: Any) -> Any:
    if isinstance(raw, list):
        return [_plain(r) for r in raw]
    if hasattr(raw, "ndim"):
        if raw.ndim == 0:
            return raw.item()
        return raw
    return raw


def _merge_keys(keys: list[str], example_ids: list[str], links: Iterable[tuple[str, str]]) -> list[str]:
    """``keys`` with the keys of linked examples merged: each becomes the smallest key of its linked set."""
    parent: dict[str, str] = {}

    def find(k: str) -> str:
        root = k
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(k, k) != root:
            parent[k], k = root, parent[k]
        return root

    key_of = dict(zip(example_ids, keys, strict=True))
    for a, b in links:
        if a in key_of and b in key_of:
            ra, rb = find(key_of[a]), find(key_of[b])
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    return [find(k) for k in keys]





def _diff(d: int) -> str:
    return f"{d:,} more" if d > 0 else f"{-d:,} fewer"


def make_plan(card: Card, config: Config | str | None, data_dirs: Iterable[str | os.PathLike[str]], *,
              found: FoundFiles | None = None) -> Plan:
    """Find and interpret a config's files under ``data_dirs`` (one folder, or one per extracted archive).

    ``found`` is what :func:`find_files` found under the same folders: that walk is used, not redone.
    """
    cfg = config if isinstance(config, Config) else card.config(config)
    if cfg.layout is None:
        raise LayoutError(card.unloadable_reason(cfg))
    roots = resolve_roots(list(data_dirs), cfg.layout)
    if not roots:
        raise LayoutError(f"the layout root {cfg.layout.root!r} of {card.id}/{cfg.name} is not a folder under "
                          f"{', '.join(str(d) for d in data_dirs)}")
    walked = found.found if found is not None and found.layout is cfg.layout and found.roots == roots else None
    plan = Plan(card, cfg, roots)
    if uses_headers(cfg.layout):  # header values are cached with the signature of the files they come from
        if walked is None:
            walked = plan.walker().find(roots)
        plan.data_signature = FoundFiles(cfg.layout, roots, walked).signature()
    return plan.build(walked)


@dataclass(frozen=True)
class FoundFiles:
    """The files of a layout found under some roots (a walk), and the signature of their state."""

    layout: Layout
    roots: list[str]
    found: Found

    def signature(self) -> str:
        """A cheap fingerprint of the data a plan reads, for cache keys: one ``stat`` per file.

        It covers the relative path, size, mtime and ctime (ns) of every file a pattern matches (with
        the MetaImage/Analyze companions that belong to it), every table, NPY array and split list the
        card names, and the absence of the named ones. Files that no pattern matches, excluded files
        and refused symbolic links are not read, so adding them leaves the signature alone. ctime is
        set by the kernel on every write, so a file rewritten with its old size and mtime restored
        (``cp -p``, ``touch -r``) still changes it; a change that keeps size, mtime and ctime (a
        clock set back, a file system whose ctime is not a change time, as on Windows) is not seen.
        """
        import hashlib

        from covidct.layout.walk import _COMPANIONS

        stat = os.stat
        lines: list[str] = []
        extra: dict[tuple[int, str], None] = {}  # companions and named files: few, maybe matched already
        index = {r: i for i, r in enumerate(self.roots)}
        for matches in (*self.found.roles.values(), *self.found.tables.values()):
            for m in matches:  # walk order, which is sorted and stable
                i, rel = index[m.root], m.rel
                try:
                    st = stat(m.root + os.sep + rel)
                    lines.append(f"{i}\0{rel}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\n")
                except (OSError, ValueError):
                    lines.append(f"{i}\0{rel}\0-\n")
                ext = rel[-4:].lower()
                if ext in _COMPANIONS:
                    extra.update(((i, rel[:-4] + c), None) for c in _COMPANIONS[ext])
        for rel in named_paths(self.layout):
            extra.update(((i, rel), None) for i in range(len(self.roots)))
        for i, rel in extra:
            try:
                st = stat(os.path.join(self.roots[i], rel))
                lines.append(f"+{i}\0{rel}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\n")
            except (OSError, ValueError):
                lines.append(f"+{i}\0{rel}\0-\n")  # absent (a companion or named file that is not there)
        return hashlib.sha256("".join(lines).encode("utf-8", "surrogateescape")).hexdigest()[:16]


def named_paths(layout: Layout) -> list[str]:
    """The paths a layout names outright: tables without parts, NPY label arrays, split lists."""
    rx = part_regexes(layout)
    paths = [t.path for t in layout.tables.values() if not parse(t.path, rx).parts and "*" not in t.path]
    paths += [a.path for a in layout.arrays.values()]
    for files in (layout.splits.lists or {}).values() if layout.splits else ():
        paths.extend(files)
    return list(dict.fromkeys(paths))


def find_files(card: Card, config: Config | str | None, data_dirs: Iterable[str | os.PathLike[str]]) -> FoundFiles:
    """Walk ``data_dirs`` for a config's layout, as :func:`make_plan` would, without interpreting the files:
    for a cache key (:meth:`FoundFiles.signature`), then handed to :func:`make_plan` (``found=``)."""
    cfg = config if isinstance(config, Config) else card.config(config)
    if cfg.layout is None:
        raise LayoutError(card.unloadable_reason(cfg))
    roots = resolve_roots(list(data_dirs), cfg.layout)
    return FoundFiles(cfg.layout, roots, Plan(card, cfg, roots).walker().find(roots))


def examples(card: Card, config: Config | str | None, data_dirs: Iterable[str | os.PathLike[str]],
             split: str | None = None) -> list[Record]:
    """Every example record of a config (a plain list; ``split`` keeps one split)."""
    return list(make_plan(card, config, data_dirs).records(split))


__all__ = ["ArrayRef", "FoundFiles", "LayoutError", "LayoutWarning", "Plan", "Record", "compile_glob", "examples",
           "find_files", "make_plan", "named_paths", "raw_text"]
