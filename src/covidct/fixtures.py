"""A miniature copy of a dataset, synthesized from its card alone.

``covidct fixture ID --out DIR [--config C]`` writes, for a config with a layout, a few examples per
class and per split: files in their real formats (JPEG/PNG/BMP, 16-bit TIFF, DICOM series with
SliceLocation, NIfTI, MetaImage, NRRD, NPY) under the names the layout's patterns give, with the
label tables (CSV/TSV/XLSX/TXT), NPY label arrays and split lists the layout refers to. Nothing is
specific to a dataset id: the synthesizer reads the layout like the loader does, in reverse.

:func:`synthesize` also returns a :class:`Manifest` of what the loader must find (one entry per
example: its path, split, patient and label values), which the tests compare with the loaded data.

A fixture is a miniature: image sides, pixels in all, examples, files, part values, array widths,
sheets, table columns, mask values and volume depth are bounded (``MAX_*`` below), whatever the card
says; what was made smaller is listed in ``Manifest.capped`` ("fixture capped at ...").
"""

from __future__ import annotations

import io
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from covidct.card.cardregex import CardRegexError, part_matcher
from covidct.card.model import SCAN_UNITS, Card, Config, LabelDef, Layout, TableSpec, ValueFrom
from covidct.card.pattern import fill_template, parse, template_parts
from covidct.card.vocab import FileFormat, Intensity, LabelKind, SortKey, Unit
from covidct.errors import CovidctError
from covidct.layout.plan import builtins_of
from covidct.layout.values import CLASS_KINDS, MULTI_KINDS, RECORD_CLASS_FIELD, SLICE_KINDS
from covidct.numtext import int_text
from covidct.readers.formats import SliceFacts, WriteSpec, format_of
from covidct.readers.formats.npy import npy_bytes

if sys.version_info >= (3, 11):
    import re._parser as _sre_parse  # type: ignore[import-not-found]
else:  # pragma: no cover
    import sre_parse as _sre_parse  # type: ignore[no-redef]


class FixtureError(CovidctError, ValueError):
    """The card cannot be synthesized; the message says which part of the layout and why."""


# A fixture is a miniature: every number of a card that sizes an allocation or a loop here is bounded,
# so a card cannot make `covidct fixture` take minutes or gigabytes. What is capped is said in one line
# (Manifest.capped); what cannot be capped without breaking the copy is refused with a FixtureError.
MAX_SIDE = 1024  # pixels per side: the largest fixed size of a registry card (NIH ChestX-ray14) is 1024x1024
MAX_PIXELS = 16 << 20  # pixels synthesized in all (every image and mask file), about 32 MB of int16
MAX_EXAMPLES = 200  # examples per config (splits x classes x per-class)
MAX_FILES = 2000  # image and mask files per config
MAX_VALUE_CHARS = 255  # characters of a synthesized part value: one file name segment
MAX_ARRAY_WIDTH = 4096  # columns of a multi-label NPY array (its largest class value + 1)
MAX_SHEET = 64  # sheet index of a synthesized XLSX table
MAX_TABLE_COLUMNS = 256  # columns of a synthesized table
MAX_MASK_STRIPES = 255  # mask values drawn into each synthesized mask
MAX_EXCLUDED = 16  # files written to show that the layout's `exclude` globs work


class _TooLong(Exception):
    pass


@dataclass
class Expected:
    path: str  # the example's path as the loader reports it (file, or the scan's folder)
    split: str
    patient: str | None
    labels: dict[str, Any] = field(default_factory=dict)
    n_slices: int = 1


@dataclass
class Manifest:
    card: str
    config: str
    root: Path
    examples: list[Expected] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    capped: list[str] = field(default_factory=list)  # what was synthesized smaller than the card says

    def count(self, split: str | None = None) -> int:
        return sum(1 for e in self.examples if split is None or e.split == split)

    @property
    def splits(self) -> list[str]:
        return list(dict.fromkeys(e.split for e in self.examples))


# ------------------------------------------------------------------------------------ regex sampling

_PREFERRED = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-"


def sample_regex(rx: str, i: int) -> str:
    """A deterministic string matching ``rx``; different ``i`` give different strings where possible."""
    tree = _sre_parse.parse(rx)
    too_long = False
    for attempt in range(64):
        try:
            s = _gen(list(tree), i + attempt * 7919, [MAX_VALUE_CHARS])
        except _TooLong:
            too_long = True
            continue
        if _matches(rx, s):
            return s
    if too_long:
        raise FixtureError(f"cannot synthesize a value of at most {MAX_VALUE_CHARS} characters (a file name) "
                           f"matching the part regex {rx!r}")
    raise FixtureError(f"cannot synthesize a value matching the part regex {rx!r}")


def _matches(rx: str, value: str) -> bool:
    """Whether a part regex matches a whole value, as the loader matches it (RE2, linear time)."""
    try:
        return part_matcher(rx).matches(value)
    except CardRegexError as exc:
        raise FixtureError(str(exc)) from None


_ALPHABETS: dict[str, list[str]] = {}


def _alphabet(items: Any) -> list[str]:
    """The characters a class (``[...]``) allows, preferred ones first (computed once per class)."""
    key = repr(items)
    alpha = _ALPHABETS.get(key)
    if alpha is None:
        if len(_ALPHABETS) > 1024:
            _ALPHABETS.clear()
        alpha = _ALPHABETS[key] = _alphabet_of(items)
    return alpha


def _alphabet_of(items: Any) -> list[str]:
    negate = False
    allowed: set[str] = set()
    for op, av in items:
        name = str(op)
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            allowed.add(chr(av))
        elif name == "RANGE":
            allowed.update(chr(c) for c in range(av[0], min(av[1], 0x2FFF) + 1))
        elif name == "CATEGORY":
            cat = str(av)
            if cat == "CATEGORY_DIGIT":
                allowed.update("0123456789")
            elif cat == "CATEGORY_WORD":
                allowed.update(_PREFERRED[:-1])
            elif cat == "CATEGORY_SPACE":
                allowed.add(" ")
            elif cat in ("CATEGORY_NOT_DIGIT", "CATEGORY_NOT_SPACE", "CATEGORY_NOT_WORD"):
                base = set(_PREFERRED)
                if cat == "CATEGORY_NOT_DIGIT":
                    base -= set("0123456789")
                if cat == "CATEGORY_NOT_WORD":
                    base = {"-", "."}
                allowed.update(base)
    if negate:
        return [c for c in _PREFERRED if c not in allowed]
    pref = [c for c in _PREFERRED if c in allowed]
    return pref + sorted(c for c in allowed if c not in pref and c.isprintable() and c != "/")


def _spend(budget: list[int], n: int) -> None:
    """Take ``n`` characters from the budget of one value; a regex that needs more cannot be a file name."""
    budget[0] -= n
    if budget[0] < 0:
        raise _TooLong


def _gen(items: list[Any], i: int, budget: list[int]) -> str:
    out: list[str] = []
    for op, av in items:
        name = str(op)
        if name not in ("BRANCH", "SUBPATTERN", "MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT", "AT"):
            _spend(budget, 1)
        if name == "LITERAL":
            out.append(chr(av))
        elif name == "NOT_LITERAL":
            out.append("a" if chr(av) != "a" else "b")
        elif name == "ANY":
            out.append(_PREFERRED[10 + i % 26])
        elif name == "IN":
            alpha = _alphabet(av) or ["x"]
            out.append(alpha[i % len(alpha)])
            i //= len(alpha)
        elif name == "BRANCH":
            alts = av[1]
            out.append(_gen(list(alts[i % len(alts)]), i // len(alts), budget))
            i //= len(alts)
        elif name == "SUBPATTERN":
            out.append(_gen(list(av[-1]), i, budget))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            text, i = _gen_repeat(av, i, budget)
            out.append(text)
        elif name in ("AT",):
            continue
        elif name == "CATEGORY":
            out.append("0" if str(av) == "CATEGORY_DIGIT" else "a")
        else:
            out.append("x")
    return "".join(out)


def _gen_repeat(av: Any, i: int, budget: list[int]) -> tuple[str, int]:
    """The text of a repeat for value number ``i``, and what is left of ``i`` for the items after it.

    A repeated single character class spells ``i`` in its alphabet (so values differ); any other repeat
    is written the fewest times it may be.
    """
    lo, hi, sub = av
    sub = list(sub)
    single = len(sub) == 1 and str(sub[0][0]) in ("IN", "ANY", "LITERAL", "NOT_LITERAL")
    if not (single and str(sub[0][0]) in ("IN", "ANY", "NOT_LITERAL")):
        count = max(lo, 1 if hi > 0 else 0)
        if count > budget[0]:
            raise _TooLong
        return "".join(_gen(sub, i, budget) for _ in range(count)), i
    op0 = str(sub[0][0])
    if op0 == "IN":
        alpha = _alphabet(sub[0][1])
    elif op0 == "NOT_LITERAL":
        alpha = [c for c in _PREFERRED if ord(c) != sub[0][1]]
    else:
        alpha = list(_PREFERRED[10:36])
    alpha = alpha or ["x"]
    digits = []
    n = i
    while True:
        digits.append(alpha[n % len(alpha)])
        n //= len(alpha)
        if n == 0:
            break
    count = max(lo, len(digits), 1 if hi > 0 else 0)
    if hi != _sre_parse.MAXREPEAT:
        count = min(count, hi)
    _spend(budget, count)
    pad = alpha[0]
    digits = digits[:count]
    return "".join(reversed(digits)).rjust(count, pad), 0


def _finite(rx: str) -> bool:
    """Whether a regex matches a small fixed set of strings (no repeats), e.g. ``png|jpg``."""
    try:
        tree = _sre_parse.parse(rx)
    except re.error:
        return False

    def walk(items: Any) -> bool:
        for op, av in items:
            name = str(op)
            if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and av[1] > 1:
                return False
            if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and not walk(av[2]):
                return False
            if name == "SUBPATTERN" and not walk(av[-1]):
                return False
            if name == "BRANCH" and not all(walk(b) for b in av[1]):
                return False
        return True

    return walk(tree)


# ------------------------------------------------------------------------------------ planning


@dataclass
class _Member:
    pos: int
    parts: dict[str, str]
    rel: dict[str, str] = field(default_factory=dict)  # role → relative path
    slice_labels: dict[str, Any] = field(default_factory=dict)  # expected per-slice label values
    slice_raw: dict[str, Any] = field(default_factory=dict)
    row: int | None = None  # HDF5 images: the row of the image dataset that is this example


@dataclass
class _Slot:
    index: int
    split: str | None
    split_raw: str | None
    expected: dict[str, Any]
    raw: dict[str, Any]
    patient: str | None
    members: list[_Member] = field(default_factory=list)
    parts: dict[str, str] = field(default_factory=dict)


def _inverse(vf: ValueFrom | None, target: str | int | None, fallback: list[str]) -> str | None:
    """A raw value that ``vf`` maps to ``target`` (None when none does); the map's ``default`` is reached
    by a raw value the map does not list."""
    if vf is not None and vf.map is not None:
        for raw, t in vf.map.items():
            if t == target or (t is not None and str(t) == str(target)):
                return raw
        if vf.default is not None and target is not None and str(vf.default) == str(target):
            return next(u for u in (f"unlisted{i}" for i in range(len(vf.map) + 1)) if u not in vf.map)
        return None
    for f in fallback:
        if f is not None:
            return f
    return None


class Synthesizer:
    def __init__(self, card: Card, cfg: Config, out: Path, per_class: int | None = None):
        if cfg.layout is None:
            raise FixtureError(f"{card.id}/{cfg.name} has no layout; nothing to synthesize")
        self.card = card
        self.cfg = cfg
        self.lay: Layout = cfg.layout
        if self.lay.root:
            from covidct.card.pattern import PatternError, check_safe_path

            try:
                check_safe_path(self.lay.root, "layout root")
            except PatternError as exc:
                raise FixtureError(str(exc)) from None
        self.root = out / self.lay.root if self.lay.root else out
        self.out = out
        self.grouped = self.lay.group is not None
        self.per_member = not cfg.example_is_whole_scan
        self.n_slices = 3 if self.grouped else 1
        self.per_class = per_class or (1 if self.grouped else 2)
        self.labels = {lab.name: lab for lab in cfg.labels}
        self._class_by_name = {lab.name: {c.name: c for c in lab.classes} for lab in cfg.labels}
        self._class_by_value: dict[str, dict[int, str]] = {}
        for lab in cfg.labels:
            for c in lab.classes:
                self._class_by_value.setdefault(lab.name, {}).setdefault(c.value, c.name)
        self.rx = {n: p.regex for n, p in self.lay.parts.items()}
        self.types = {n: p.type for n, p in self.lay.parts.items()}
        self.patterns = {r: parse(f.pattern, tuple(self.rx.items())) for r, f in self.lay.files.items()}
        self.image_parts = list(self.patterns["image"].parts)
        # DICOM header values (`layout.headers`) are parts that live in the files, not in their names
        self.header_parts = {n: kw.value for n, kw in self.lay.headers.items() if n not in self.image_parts}
        self.image_parts += list(self.header_parts)
        self.manifest = Manifest(card.id, cfg.name, out)
        self._used_values: dict[str, set[str]] = {}
        self._reach: dict[str, list[str]] = {}
        self._const: dict[tuple[str, str], str] = {}
        self._raw_class: dict[tuple[str, str], str | None] = {}
        self._hw = (64, 64)  # in-plane size of synthesized images, set by _size_budget

    # ------------------------------------------------------------------------------------ choices

    def _splits(self) -> list[tuple[str | None, str | None]]:
        sp = self.lay.splits
        if sp is None:
            return [(None, None)]
        if (sp.lists or sp.columns) is not None:
            return [(name, None) for name in (sp.lists or sp.columns or {})]
        assert sp.by is not None
        if sp.by.map is not None:
            out: list[tuple[str | None, str | None]] = []
            seen: set[str] = set()
            for raw, t in sp.by.map.items():
                if t is not None and str(t) not in seen:
                    seen.add(str(t))
                    out.append((str(t), raw))
            if sp.by.default is not None and str(sp.by.default) not in seen:
                out.append((str(sp.by.default), _inverse(sp.by, sp.by.default, [])))
            return out
        names = [c.split for c in self.cfg.counts if c.split] or ["train", "test"]
        names = list(dict.fromkeys(names))
        if sp.by.part is not None:
            rx = self.rx.get(sp.by.part, "[^/]+")
            ok = [n for n in names if _matches(rx, n)]
            if not ok:
                ok = [sample_regex(rx, k) for k in range(2)]
            names = ok
        return [(n, n) for n in names]

    def _primary(self) -> LabelDef | None:
        for lab in self.cfg.labels:
            if lab.classes and lab.name in self.lay.labels and lab.kind in (LabelKind.CLASS, LabelKind.MULTI_LABEL):
                return lab
        for lab in self.cfg.labels:
            if lab.classes and lab.name in self.lay.labels and lab.kind in CLASS_KINDS:
                return lab
        return None

    def _reachable(self, lab: LabelDef) -> list[str]:
        if lab.name not in self._reach:
            vf = self.lay.labels[lab.name]
            if vf.map is not None:  # _inverse for every class, in one pass over the map (not one per class)
                inverse: dict[str, str] = {}
                for raw, t in vf.map.items():
                    if t is not None:
                        inverse.setdefault(str(t), raw)
                default = str(vf.default) if vf.default is not None else None
                unlisted = next(u for u in (f"unlisted{i}" for i in range(len(vf.map) + 1)) if u not in vf.map)
                for c in lab.classes:
                    raw = None
                    for target in (c.name, str(c.value)):
                        raw = inverse.get(target, unlisted if target == default else None)
                        if raw is not None:
                            break
                    self._raw_class[(lab.name, c.name)] = raw
            names = []
            for c in sorted(lab.classes, key=lambda c: c.value):
                if vf.array is not None or self._raw_for_class(lab, c.name) is not None:
                    names.append(c.name)
            self._reach[lab.name] = names
        return self._reach[lab.name]

    def _raw_for_class(self, lab: LabelDef, name: str) -> str | None:
        vf = self.lay.labels[lab.name]
        if vf.map is not None:
            if (lab.name, name) not in self._raw_class:
                self._reachable(lab)
            return self._raw_class.get((lab.name, name))
        cls = self._class_by_name[lab.name][name]
        cands = [str(cls.value)] if vf.dataset is not None else [name, str(cls.value)]  # HDF5: numbers only
        if vf.part is not None:
            rx = self.rx.get(vf.part, "[^/]+")
            cands = [c for c in cands if _matches(rx, c)]
        return cands[0] if cands else None

    def _label_value(self, lab: LabelDef, k: int, primary_class: str | None, scan_level: bool) -> tuple[Any, Any]:
        """(expected value, raw value) of a non-array, non-mask label for example ``k``."""
        vf = self.lay.labels[lab.name]
        kind = lab.kind
        if vf.value is not None:
            raw = str(vf.value)
            return self._expect_const(lab, vf, raw), raw
        if vf.columns is not None:
            return self._records_value(lab, vf, k)
        if vf.label_columns is not None:
            return self._label_columns_value(vf.label_columns, k)
        if kind in (LabelKind.CLASS, LabelKind.SLICE_CLASS, LabelKind.MULTI_LABEL, LabelKind.SLICE_MULTI_LABEL):
            reach = self._reachable(lab)
            if not reach:
                raise FixtureError(f"label {lab.name!r}: no class can be written (its map reaches none of its classes)")
            name = primary_class if primary_class in reach else reach[k % len(reach)]
            raw = self._raw_for_class(lab, name)
            if kind in MULTI_KINDS:
                names = [name]
                if len(reach) > 1 and k % 2 == 1 and (vf.separator or (vf.table and self._many(vf.table))):
                    other = reach[(reach.index(name) + 1) % len(reach)]
                    names.append(other)
                raws = [self._raw_for_class(lab, n) for n in names]
                if vf.separator:
                    return names, vf.separator.join(r for r in raws if r is not None)
                return names, raws
            return name, raw
        if kind == LabelKind.NUMBER:
            return float(k) + 0.5, f"{k}.5"
        return f"text{k}", f"text{k}"

    def _label_columns_value(self, label_columns: dict[str, dict[str, Any]],
                             k: int) -> tuple[list[str], dict[str, Any]]:
        """One column per class: every other column set (to each of its classes in turn), the rest blank or
        a raw value mapped to null; (the classes in column order, column → raw cell)."""
        expected: list[str] = []
        raws: dict[str, Any] = {}
        for j, (col, mapping) in enumerate(label_columns.items()):
            targets = [(raw, str(t)) for raw, t in mapping.items() if t is not None]
            nulls = [raw for raw, t in mapping.items() if t is None]
            if targets and (k >> (j % 8)) & 1 == 0:  # examples with every column, some, and none set
                raw, cls = targets[(k >> 1) % len(targets)]
                raws[col] = raw
                if cls not in expected:
                    expected.append(cls)
            else:
                raws[col] = nulls[0] if nulls and (k + j) % 2 == 1 else None
        return expected, raws

    def _records_value(self, lab: LabelDef, vf: ValueFrom, k: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(expected records, raw table rows) of a boxes/points label: 0, 1 or 2 records by example, so
        some examples have none and some several rows; a row whose class maps to null is added to an
        example without records (as RSNA's `Target` 0 rows), and must not become a record."""
        assert vf.columns is not None
        reach = self._reachable(lab) if lab.classes and RECORD_CLASS_FIELD in vf.columns else []
        if lab.classes and RECORD_CLASS_FIELD in vf.columns and not reach:
            raise FixtureError(f"label {lab.name!r}: no class can be written (its map reaches none of its classes)")
        expected: list[dict[str, Any]] = []
        rows: list[dict[str, Any]] = []
        for j in range(k % 3):
            exp: dict[str, Any] = {}
            row: dict[str, Any] = {}
            for fi, (fld, col) in enumerate(vf.columns.items()):
                if fld == RECORD_CLASS_FIELD:
                    exp[fld], raw = self._record_class(lab, vf, reach, k + j)
                else:
                    number = k * 8 + j * 2 + fi * 0.25 + 0.5  # exact in float32
                    exp[fld], raw = number, repr(number)
                if col in row:  # two fields of one column: the column's value
                    raw = row[col]
                    exp[fld] = float(raw) if fld != RECORD_CLASS_FIELD else exp[fld]
                row[col] = raw
            expected.append(exp)
            rows.append(row)
        null_raw = next((r for r, t in (vf.map or {}).items() if t is None), None)
        if not rows and null_raw is not None and RECORD_CLASS_FIELD in vf.columns:
            rows.append({vf.columns[RECORD_CLASS_FIELD]: null_raw})
        return expected, rows

    def _record_class(self, lab: LabelDef, vf: ValueFrom, reach: list[str], i: int) -> tuple[str, str]:
        if reach:
            name = reach[i % len(reach)]
            raw = self._raw_for_class(lab, name)
            assert raw is not None
            return name, raw
        if vf.map is not None:  # text classes through the map
            raw, target = next(((r, t) for r, t in vf.map.items() if t is not None), (None, None))
            if raw is not None:
                return str(target), raw
            if vf.default is not None:
                return str(vf.default), "unlisted"
        return f"kind{i}", f"kind{i}"

    def _expect_const(self, lab: LabelDef, vf: ValueFrom, raw: str) -> Any:
        if vf.map is not None:
            t = vf.map.get(raw)
            if isinstance(t, int):
                return self._class_by_value[lab.name][t]
            return t
        if lab.classes:  # the same constant for every example: looked up once
            key = (lab.name, raw)
            if key not in self._const:
                self._const[key] = next((c.name for c in lab.classes if c.name == raw or str(c.value) == raw), raw)
            return self._const[key]
        return raw

    def _many(self, table: str) -> bool:
        return self.lay.tables[table].rows == "many"

    def _part_value(self, part: str, k: int) -> str:
        if part in self.header_parts:
            allowed = next((v for kw, v in self.lay.where.items() if kw.value == self.header_parts[part]), None)
            return allowed[k % len(allowed)] if allowed else _header_value(self.header_parts[part], part, k)
        rx = self.rx.get(part, "[^/]+")
        if _finite(rx):  # a few fixed choices (png|jpg): cycle through them, other parts keep paths distinct
            return sample_regex(rx, k)
        used = self._used_values.setdefault(part, set())
        cands = []
        if self.types.get(part) == "int":
            cands.append(str(k + 1))
        if rx == "[^/]+":
            cands.append(f"{part}{k + 1:03d}")
        for c in cands:
            if _matches(rx, c) and c not in used:
                used.add(c)
                return c
        for j in range(k, k + 500):
            v = sample_regex(rx, j)
            if v not in used:
                used.add(v)
                return v
        raise FixtureError(f"part {{{part}}}: cannot make {k + 1} distinct values matching {rx!r}")

    # ------------------------------------------------------------------------------------ building

    def plan(self) -> list[_Slot]:
        lay = self.lay
        primary = self._primary()
        classes: list[str | None] = list(self._reachable(primary)) if primary else [None, None]
        slots: list[_Slot] = []
        k = 0
        splits = self._splits()
        wanted = len(splits) * len(classes) * max(self.per_class, 0)
        if wanted > MAX_EXAMPLES:
            self.manifest.capped.append(
                f"{MAX_EXAMPLES} examples (the card's {len(splits):,} split(s) x {len(classes):,} class(es) x "
                f"{self.per_class:,} per class would make {wanted:,})")
        for split, split_raw in splits:
            for cls in classes:
                for _rep in range(min(self.per_class, MAX_EXAMPLES - k)):
                    slots.append(self._slot(k, split, split_raw, cls, scan_level=not self.per_member))
                    k += 1
        # an extra example for raw values mapped to null (unknown labels), when the map has one
        if primary is not None:
            vf = lay.labels[primary.name]
            if vf.map is not None and vf.array is None and vf.value is None and any(
                    t is None for t in vf.map.values()):
                raw = next(r for r, t in vf.map.items() if t is None)
                s = self._slot(k, *self._splits()[0], classes[0], scan_level=not self.per_member)
                s.expected[primary.name] = [] if primary.kind in MULTI_KINDS else None
                s.raw[primary.name] = raw
                for m in s.members:
                    m.slice_labels.pop(primary.name, None)
                if vf.part is not None:
                    for m in s.members:
                        m.parts[vf.part] = raw
                    s.parts[vf.part] = raw
                slots.append(s)
        self._assign_paths(slots)
        return slots

    def _slot(self, k: int, split: str | None, split_raw: str | None, cls: str | None, scan_level: bool) -> _Slot:
        lay = self.lay
        slot = _Slot(k, split, split_raw, {}, {}, None)
        fixed = self._unit_labels(slot, cls, scan_level)
        sp = lay.splits
        if sp is not None and sp.by is not None and sp.by.part is not None and split_raw is not None:
            fixed[sp.by.part] = split_raw
        self._members(slot, fixed)
        self._slice_labels(slot)
        if lay.patient is not None:
            slot.patient = self._id_value(lay.patient, slot, "patient")
        return slot

    def _unit_labels(self, slot: _Slot, cls: str | None, scan_level: bool) -> dict[str, str]:
        """The labels of example ``slot`` that have one value per example; returns the parts they fix."""
        lay = self.lay
        fixed: dict[str, str] = {}
        for name, vf in lay.labels.items():
            lab = self.labels.get(name)
            if lab is None or vf.array is not None or name in lay.files:
                continue
            if lab.kind in SLICE_KINDS and not self.per_member and not self._vf_unit_level(vf):
                continue  # per-slice values, set on the members
            if vf.rle is not None:
                continue  # after the others: a class read from the same column decides whether it has runs
            exp, r = self._label_value(lab, slot.index, cls, scan_level)
            slot.expected[name] = exp
            slot.raw[name] = r
            if vf.part is not None:
                if r is None or isinstance(r, list):
                    raise FixtureError(f"label {name!r} from part {{{vf.part}}} cannot hold {r!r}")
                if vf.part in fixed and fixed[vf.part] != r:
                    raise FixtureError(f"part {{{vf.part}}} would need two values ({fixed[vf.part]!r}, {r!r})")
                fixed[vf.part] = r
        for name, vf in lay.labels.items():
            if vf.rle is not None and name in self.labels:
                self._rle_value(slot, name, vf)
        return fixed

    def _rle_value(self, slot: _Slot, name: str, vf: ValueFrom) -> None:
        """A mask label spelled as run-length text: an empty row, or one or two rows (of a `rows: many` table)
        whose rectangles overlap, so that the loaded mask must be their union. A class label read from the same
        column (SIIM-ACR: `-1` or runs) decides which, and is given the same rows."""
        import numpy as np

        assert vf.rle is not None
        rle = vf.rle
        sibling = next((n for n, o in self.lay.labels.items() if n != name and o.rle is None and
                        o.table == vf.table and o.column == vf.column and n in slot.raw), None)
        marker = (rle.empty or "").strip()
        if sibling is not None:
            raw = slot.raw[sibling]
            empty = raw is None or str(raw).strip() in ("", marker)
        else:
            empty = slot.index % 3 == 0
        h, w = rle.shape
        value = next(v.value for v in self.labels[name].mask_values
                     if (v.name == rle.value if rle.value else v.value != 0))
        out = np.zeros((h, w), dtype=np.uint8)
        texts: list[str] = []
        if empty:
            texts.append(rle.empty or "")
        else:
            many = vf.table is not None and self._many(vf.table)
            for j in range(1 + slot.index % 2 if many else 1):
                part = np.zeros((h, w), dtype=bool)
                r0 = (slot.index * 5 + j * max(1, h // 16)) % h
                c0 = (slot.index * 3 + j * max(1, w // 8)) % w
                part[r0:r0 + max(1, h // 6), c0:c0 + max(1, w // 5)] = True
                texts.append(rle_text(part, rle.order, rle.offsets, rle.start))
                out[part] = value
        slot.raw[name] = texts
        slot.expected[name] = out.tolist()
        if sibling is not None:
            slot.raw[sibling] = texts
            slot.expected[sibling] = self._class_of_rows(sibling, texts)

    def _class_of_rows(self, name: str, texts: list[str]) -> Any:
        """The class a class label reads from the run-length rows (through its map and default)."""
        vf = self.lay.labels[name]
        for t in texts:
            target = vf.map.get(t.strip(), vf.default) if vf.map is not None else t
            if target is not None:
                return self._class_by_value[name][target] if isinstance(target, int) else target
        return None

    def _members(self, slot: _Slot, fixed: dict[str, str]) -> None:
        """The identity parts of ``slot`` (one value per example, and per member for the others) and its members."""
        k = slot.index
        group_by = set(self.lay.group.by) if self.lay.group else set()
        unit_parts: dict[str, str] = dict(fixed)
        for p in self.image_parts:
            if p in unit_parts:
                continue
            if not self.grouped or p in group_by or self._is_id_part(p) or p in self.header_parts:
                unit_parts[p] = self._part_value(p, k)
        slot.parts = unit_parts
        n = self.n_slices
        for pos in range(n):
            parts = dict(unit_parts)
            for p in self.image_parts:
                if p not in parts:
                    parts[p] = self._member_part(p, k, pos, n)
            slot.members.append(_Member(pos, parts))

    def _slice_labels(self, slot: _Slot) -> None:
        """Per-slice labels of scan examples, from per-slice rows or parts."""
        lay = self.lay
        for name, vf in lay.labels.items():
            lab = self.labels.get(name)
            if lab is None or vf.array is not None or name in lay.files or self.per_member:
                continue
            if lab.kind in SLICE_KINDS and not self._vf_unit_level(vf):
                for m in slot.members:
                    exp, r = self._label_value(lab, slot.index + m.pos, None, False)
                    m.slice_labels[name] = exp
                    m.slice_raw[name] = r
                    if vf.part is not None:
                        m.parts[vf.part] = r

    def _is_id_part(self, p: str) -> bool:
        lay = self.lay
        return any(vf is not None and vf.part == p for vf in (lay.patient, lay.scan))

    def _vf_unit_level(self, vf: ValueFrom) -> bool:
        if self.lay.group is None:
            return True
        by = set(self.lay.group.by)
        if vf.part is not None:
            return vf.part in by
        if vf.template is not None:
            return all(n in by for n in template_parts(vf.template))
        if vf.table is not None:
            return all(n in by for n in template_parts(self.lay.tables[vf.table].key))
        return True

    def _member_part(self, p: str, k: int, pos: int, n: int) -> str:
        g = self.lay.group
        assert g is not None
        if g.order_part == p:
            order = (n - pos) if g.descending else (pos + 1)
            v = self._numeric(p, order)
            if not re.fullmatch(r"\D*0*" + str(order) + r"(?:\.\d+)?", v) and not v.lstrip("0") == str(order):
                raise FixtureError(f"order part {{{p}}} regex {self.rx.get(p)!r} does not accept numbers such as "
                                   f"{order!r}")
            return v
        # names that do not follow the slice order, so a loader that sorts by name would be caught
        order = [1, 0, 2] if n == 3 else list(range(n))[::-1]
        if self.types.get(p) == "int":
            return self._numeric(p, order[pos] + 1)
        return self._part_value(p, k * 100 + order[pos])

    def _numeric(self, p: str, number: int) -> str:
        rx = self.rx.get(p, "[^/]+")
        v = str(number)
        for cand in (v, v.zfill(2), v.zfill(3), v.zfill(4), v.zfill(5)):
            if _matches(rx, cand):
                return cand
        return sample_regex(rx, number)

    def _id_value(self, vf: ValueFrom, slot: _Slot, what: str) -> str | None:
        if vf.part is not None:
            v = slot.parts.get(vf.part) or (slot.members[0].parts.get(vf.part) if slot.members else None)
            if v is None:
                return None
        elif vf.template is not None:
            try:
                v = fill_template(vf.template, {**(slot.members[0].parts if slot.members else {}), **slot.parts})
            except KeyError as exc:
                raise FixtureError(f"{what} template {vf.template!r}: part {exc.args[0]!r} has no value in a "
                                   "synthesized example") from None
        elif vf.value is not None:
            v = str(vf.value)
        elif vf.table is not None:
            v = f"{what}{slot.index + 1:03d}"
            slot.raw[f"__{what}"] = v
        else:
            return None
        if vf.map is not None:
            t = vf.map.get(v)
            return None if t is None else str(t)
        return v

    def _assign_paths(self, slots: list[_Slot]) -> None:
        seen: dict[str, int] = {}
        for s in slots:
            for m in s.members:
                # a layout that reads DICOM headers names no folder: they are random, as downloads differ
                wild = _random_names(f"{self.card.id}/{self.cfg.name}/{s.index}/{m.pos}") if self.header_parts \
                    or self.lay.where else None
                for role, pat in self.patterns.items():
                    try:
                        rel = pat.format(m.parts, wild)
                    except KeyError as exc:
                        raise FixtureError(f"file role {role!r}: part {exc.args[0]!r} is not in the image pattern") \
                            from None
                    m.rel[role] = rel
                    self._target(rel)  # refused now, not half-way through writing
                rel = m.rel["image"]
                if self.lay.files["image"].dataset is not None:  # HDF5: examples are rows of one file
                    m.row = sum(1 for r in seen if r.rsplit("#", 1)[0] == rel)
                    rel = f"{rel}#{m.row}"
                if rel in seen:
                    raise FixtureError(f"two examples would share the file {rel!r}: the image pattern "
                                       f"{self.lay.files['image'].pattern!r} has too few free parts")
                seen[rel] = s.index

    # ------------------------------------------------------------------------------------ writing

    def run(self) -> Manifest:
        self._require_libraries()
        self._check_limits()
        slots = self.plan()
        self._size_budget(slots)
        self.root.mkdir(parents=True, exist_ok=True)  # nothing is written before every check has passed
        arrays = self._arrays(slots)
        self._tables(slots, arrays)
        self._split_lists(slots)
        self._images(slots)
        self._excluded_files(slots)
        self._left_out_files(slots)
        self._expect(slots, arrays)
        self._annotation_files(slots)
        return self.manifest

    def _require_libraries(self) -> None:
        """Every optional library this config's files need, checked first: a missing one is named with the
        extra that installs it (MissingExtra), before anything is written."""
        from covidct.extras import require
        from covidct.readers import library

        needed = {"numpy"}  # pixels and NPY arrays
        needed.update(lib for fs in self.lay.files.values() if (lib := library(fs.format)) is not None)
        if any(str(t.format) in ("xls", "xlsx") for t in self.lay.tables.values()):
            needed.add("openpyxl")  # XLSX tables are written through pandas with openpyxl
        for module in sorted(needed):
            require(module, "readers")

    def _check_limits(self) -> None:
        """Refuse the card numbers that cannot be capped without breaking the copy, before writing anything."""
        lay = self.lay
        for name, vf in lay.labels.items():
            lab = self.labels.get(name)
            if vf.array is not None and lab is not None and lab.kind in MULTI_KINDS and lab.classes:
                top = max(c.value for c in lab.classes)
                if top >= MAX_ARRAY_WIDTH:
                    raise FixtureError(f"label {name!r}: a multi-label array has one column per class value, and "
                                       f"class value {top:,} would make {top + 1:,} columns; a fixture writes at "
                                       f"most {MAX_ARRAY_WIDTH:,}")
        for tname, spec in lay.tables.items():
            if str(spec.format) in ("xls", "xlsx") and isinstance(spec.sheet, int) and spec.sheet > MAX_SHEET:
                raise FixtureError(f"table {tname!r}: sheet {spec.sheet:,} would need as many empty sheets before "
                                   f"it; a fixture writes at most {MAX_SHEET}")
            columns = len(self._table_users(tname))
            if columns >= MAX_TABLE_COLUMNS:
                raise FixtureError(f"table {tname!r}: the layout reads {columns:,} columns from it; a fixture "
                                   f"writes at most {MAX_TABLE_COLUMNS}")

    def _ctx(self, m: _Member) -> dict[str, str]:
        return {**m.parts, **builtins_of(m.rel["image"])}

    def _unit_ctx(self, s: _Slot) -> dict[str, str]:
        rels = [m.rel["image"] for m in s.members]
        folder = os.path.commonpath(rels) if len(rels) > 1 else os.path.dirname(rels[0])
        common = {p: v for p, v in s.members[0].parts.items() if all(m.parts.get(p) == v for m in s.members)}
        return {**common, **builtins_of(folder)}

    def _group_path(self, s: _Slot) -> str:
        rels = [m.rel["image"] for m in s.members]
        folder = os.path.commonpath(rels) if len(rels) > 1 else os.path.dirname(rels[0])
        if not folder:
            assert self.lay.group is not None
            folder = "/".join(s.members[0].parts[p] for p in self.lay.group.by)
        return folder

    def _arrays(self, slots: list[_Slot]) -> dict[str, dict[Any, Any]]:
        """Per array: row key → the values written (per slice in slice order, or one value)."""
        import numpy as np

        out: dict[str, dict[Any, Any]] = {}
        for name, vf in self.lay.labels.items():
            if vf.array is None or name not in self.labels:
                continue
            lab = self.labels[name]
            spec = self.lay.arrays[vf.array]
            table = self.lay.tables[spec.row_table]
            values = sorted(c.value for c in lab.classes) or [0, 1]
            multi = lab.kind in MULTI_KINDS
            rows: dict[str, Any] = {}
            # grouped: axis 1 is the slice position (per-slice labels, or any label of a slice example)
            per_slice = self.grouped and (self.per_member or lab.kind in SLICE_KINDS)
            width = self.n_slices + 2
            for s in slots:
                key = fill_template(table.key, self._unit_ctx(s) if self.grouped else self._ctx(s.members[0]))
                if key in rows:
                    continue
                if per_slice:
                    if multi:
                        v = np.zeros((width, max(values) + 1), dtype=np.float64)
                        for pos in range(self.n_slices):
                            v[pos, values[(s.index + pos) % len(values)]] = 1.0
                            if pos == 1 and len(values) > 1:
                                v[pos, values[(s.index + pos + 1) % len(values)]] = 1.0
                    else:
                        v = np.zeros(width, dtype=np.int64)
                        for pos in range(self.n_slices):
                            v[pos] = values[(s.index + pos) % len(values)]
                elif multi:
                    v = np.zeros(max(values) + 1, dtype=np.float64)
                    v[values[s.index % len(values)]] = 1.0
                else:
                    v = np.int64(values[s.index % len(values)])
                rows[key] = v
            out[vf.array] = rows
            keys = list(rows)
            arr = np.stack([np.asarray(rows[k]) for k in keys]) if keys else np.zeros((0,))
            self._write_bytes(spec.path, npy_bytes(arr))
            self._array_keys = getattr(self, "_array_keys", {})
            self._array_keys[spec.row_table] = keys
        return out

    def _tables(self, slots: list[_Slot], arrays: dict[str, dict[Any, Any]]) -> None:
        lay = self.lay
        for tname, spec in lay.tables.items():
            if lay.splits is not None and lay.splits.columns is not None and lay.splits.table == tname:
                continue  # one column per fold: written with the split lists
            users = self._table_users(tname)
            files = self._table_rows(spec, users, slots)
            array_keys = getattr(self, "_array_keys", {}).get(tname)
            # an example without boxes/points needs no row, unless the table also says something else
            # about it (a split, an array row, a field: users other than records)
            sp = lay.splits.by if lay.splits is not None else None
            only_records = all(kind == "record" for _c, kind, _t in users) and array_keys is None and not (
                sp is not None and sp.table == tname)
            for rel, rows in files.items():
                keys = list(rows)
                if array_keys is not None:
                    keys = [k for k in array_keys if k in rows] + [k for k in keys if k not in array_keys]
                cols: list[str] = [spec.column]
                for r in rows.values():
                    cols += [c for c in r if c not in cols]
                self._write_table(rel, spec, cols, _table_records(spec, cols, [rows[k] for k in keys], only_records))

    def _table_rows(self, spec: TableSpec, users: list[tuple[str, str, Any]],
                    slots: list[_Slot]) -> dict[str, dict[str, dict[str, Any]]]:
        """The rows of a table, by the file they go to and their key (in the order they are made)."""
        lay = self.lay
        tpat = parse(spec.path, tuple(self.rx.items()))
        key_parts = template_parts(spec.key)
        unit_level = self.grouped and all(p in (lay.group.by if lay.group else []) for p in key_parts)
        files: dict[str, dict[str, dict[str, Any]]] = {}
        for s in slots:
            if not self.grouped:
                contexts = [(self._ctx(s.members[0]), s.members[0])]
            elif unit_level:
                contexts = [(self._unit_ctx(s), None)]
            else:
                contexts = [(self._ctx(m), m) for m in s.members]
            for ctx, m in contexts:
                key = fill_template(spec.key, ctx)
                row: dict[str, Any] = {spec.column: key}
                for col, kind, target in users:
                    row[col] = self._cell(kind, target, s, m, ctx)
                path_vals = {p: (row.get(p) if row.get(p) is not None else ctx.get(p)) for p in tpat.parts}
                for p, v in path_vals.items():
                    if v is None:
                        path_vals[p] = self._part_value(p, 0)
                rel = tpat.format(path_vals) if tpat.parts else spec.path
                for p in tpat.parts:
                    row.pop(p, None)  # carried by the path
                files.setdefault(rel, {}).setdefault(key, row)
        return files

    def _table_users(self, tname: str) -> list[tuple[str, str, Any]]:
        """(column, what, target) of every value the layout takes from table ``tname``."""
        lay = self.lay
        users: list[tuple[str, str, Any]] = []
        for name, vf in lay.labels.items():
            if vf.table == tname and vf.column:
                users.append((vf.column, "label", name))
            if vf.table == tname and vf.columns and name in self.labels:
                users += [(col, "record", (name, col)) for col in dict.fromkeys(vf.columns.values())]
            if vf.table == tname and vf.label_columns and name in self.labels:
                users += [(col, "label_column", (name, col)) for col in vf.label_columns]
        for what in ("patient", "scan"):
            vf = getattr(lay, what)
            if vf is not None and vf.table == tname and vf.column:
                users.append((vf.column, what, vf))
        for name, vf in lay.fields.items():
            if vf.table == tname and vf.column:
                users.append((vf.column, "field", name))
        if lay.splits is not None and lay.splits.by is not None and lay.splits.by.table == tname:
            users.append((lay.splits.by.column or "split", "split", None))
        spec = lay.tables[tname]
        return [u for u in users if u[0] != spec.column]

    def _cell(self, kind: str, target: Any, s: _Slot, m: _Member | None, ctx: dict[str, str]) -> Any:
        if kind == "label_column":  # one column per class: this column's raw cell
            name, col = target
            return (s.raw.get(name) or {}).get(col)
        if kind == "record":  # one value per table row of the example's boxes/points
            name, col = target
            return [r.get(col) for r in s.raw.get(name) or []]
        if kind == "label":
            lab = self.labels[target]
            if lab.kind in SLICE_KINDS and m is not None and target in m.slice_raw:
                return m.slice_raw[target]
            return s.raw.get(target)
        if kind == "split":
            return s.split_raw if s.split_raw is not None else s.split
        if kind in ("patient", "scan"):
            return s.raw.get(f"__{kind}") or f"{kind}{s.index + 1:03d}"
        vf = self.lay.fields[target]
        if vf.map is not None:
            return next(iter(vf.map))
        return f"{target}-{s.index + 1}"

    def _split_lists(self, slots: list[_Slot]) -> None:
        sp = self.lay.splits
        if sp is None or (sp.lists or sp.columns) is None:
            return
        members: dict[str, list[str]] = {}
        for split in sp.lists or sp.columns or {}:
            lines = []
            for s in slots:
                if s.split != split:
                    continue
                if self.per_member:
                    lines += [fill_template(sp.key, self._ctx(m)) for m in s.members]
                else:
                    lines.append(fill_template(sp.key, self._unit_ctx(s)))
            members[split] = list(dict.fromkeys(lines))
        if sp.columns is not None:  # one column per fold, ragged: blank cells below a shorter fold
            assert sp.table is not None
            spec = self.lay.tables[sp.table]
            cols = list(dict.fromkeys(sp.columns.values()))
            rows = [{sp.columns[split]: (m[j] if j < len(m) else None) for split, m in members.items()}
                    for j in range(max((len(m) for m in members.values()), default=0))]
            self._write_table(spec.path, spec, cols, rows)
            return
        for split, files in (sp.lists or {}).items():
            for f in files:
                self._write_bytes(f, ("\n".join(members[split]) + "\n").encode())

    def _images(self, slots: list[_Slot]) -> None:
        if self.lay.files["image"].dataset is not None:
            self._hdf5_files(slots)
            return
        g = self.lay.group
        for s in slots:
            for m in s.members:
                for role, rel in m.rel.items():
                    fmt = self.lay.files[role].format
                    if role != "image" and self.grouped and not self.per_member and m.pos > 0 and \
                            set(self.patterns[role].parts) <= set(g.by if g else []):
                        continue  # one mask per scan, written once
                    self._write_file(rel, fmt, role, s, m)

    def _hdf5_files(self, slots: list[_Slot]) -> None:
        """HDF5 images: each file holds its examples as rows of the image dataset, and the label datasets
        (`dataset` values) as one row per example, shaped (N, 1) like lung-nodule-malignancy's `slice_class`."""
        import h5py
        import numpy as np

        image = self.lay.files["image"]
        assert image.dataset is not None
        files: dict[str, list[tuple[_Slot, _Member]]] = {}
        for s in slots:
            for m in s.members:
                files.setdefault(m.rel["image"], []).append((s, m))
        for rel, rows in files.items():
            rows.sort(key=lambda sm: sm[1].row or 0)
            buf = io.BytesIO()
            with h5py.File(buf, "w") as f:
                f.create_dataset(image.dataset, data=np.stack([self._pixels("image", s, m, False) for s, m in rows]))
                for name, vf in self.lay.labels.items():
                    if vf.dataset is not None and name in self.labels:
                        f.create_dataset(vf.dataset, data=np.array([[_number_of(s.raw.get(name), name)]
                                                                    for s, _m in rows]))
            self._write_bytes(rel, buf.getvalue())

    def _excluded_files(self, slots: list[_Slot]) -> None:
        """One file per simple ``exclude`` glob, so the fixture proves the exclusion works."""
        if not slots:
            return
        first_dir = os.path.dirname(slots[0].members[0].rel["image"])
        for g in self.lay.exclude[:MAX_EXCLUDED]:
            name = g.replace("**/", "")
            if any(ch in name for ch in "*?[") or not name:
                continue
            rel = f"{first_dir}/{name}" if (g.startswith("**/") and first_dir) else name
            if not (self.root / rel).exists():
                self._write_bytes(rel, b"excluded\n")

    def _left_out_files(self, slots: list[_Slot]) -> None:
        """One DICOM file per `where` / `where_not` rule that the rule leaves out (a structure set among the CT
        slices), so the fixture proves the filter works: the loader must not load it."""
        if not slots or not (self.lay.where or self.lay.where_not):
            return
        s = slots[0]
        m = s.members[0]
        rules = [(kw.value, f"NOT{values[0]}"[:16].upper()) for kw, values in self.lay.where.items()]
        rules += [(kw.value, values[0]) for kw, values in self.lay.where_not.items()]
        for j, (kw, value) in enumerate(rules):
            wild = _random_names(f"{self.card.id}/{self.cfg.name}/left-out/{j}")
            rel = self.patterns["image"].format(m.parts, wild)
            arr = self._pixels("image", s, m, False)
            spec = WriteSpec(name=rel.rsplit("/", 1)[-1],
                             slice=_slice_facts(s, m, self.n_slices, self.lay.group, self.lay, {kw: value}))
            format_of(FileFormat.DICOM).write(arr, self._target(rel), spec)
            self.manifest.files.append(rel)

    def _annotation_files(self, slots: list[_Slot]) -> None:
        """For `layout.annotations`: one file per scan and label in random folders, referring to the scan's
        synthesized slices by UID (every third scan has none); the marks of points labels are expected."""
        if not self.lay.annotations:
            return
        if self.per_member or not self.grouped:
            raise FixtureError("`annotations` are synthesized for scan examples (`group` and `example: scan`)")
        for k, s in enumerate(slots):
            series = series_of([self._target(m.rel["image"]) for m in s.members])
            for label, spec in self.lay.annotations.items():
                names = list(spec.classes) or (["nodule"] if spec.format == "lidc-xml" else ["ROI"])
                marks = annotation_marks(series, names, k)
                wild = _random_names(f"{self.card.id}/{self.cfg.name}/annotations/{label}/{k}")
                try:
                    rel = parse(spec.pattern, tuple(self.rx.items())).format(s.parts, wild)
                except KeyError as exc:
                    raise FixtureError(f"annotations of {label!r}: the pattern {spec.pattern!r} has a part "
                                       f"{exc} the scan does not define") from None
                if k % 3 == 0:
                    marks = []  # a scan nobody annotated
                if marks and spec.format == "voc-xml":  # one file per slice, named by the slice's SOPInstanceUID
                    rel = f"{rel.rsplit('/', 1)[0] + '/' if '/' in rel else ''}{series.sop_uids[marks[0].index]}.xml"
                if marks or spec.format == "lidc-xml":
                    self._write_bytes(rel, annotation_bytes(spec.format, series, marks))
                expected = self.manifest.examples[k] if k < len(self.manifest.examples) else None
                if expected is not None and self.labels.get(label) is not None and \
                        self.labels[label].kind != LabelKind.MASK:
                    expected.labels[label] = expected_marks(series, marks, spec.format, spec.classes)
                    for cname, fld in spec.labels.items():  # a class per record, by the value of its field
                        by_value = {c.value: c.name for c in self.labels[cname].classes}
                        expected.labels[cname] = [by_value.get(r[fld]) for r in expected.labels[label]]

    def _expect(self, slots: list[_Slot], arrays: dict[str, dict[Any, Any]]) -> None:
        lay = self.lay
        for s in slots:
            split = s.split or "train"
            if self.per_member:
                for m in s.members:
                    labels = {}
                    for name, vf in lay.labels.items():
                        if name not in self.labels or name in lay.files:
                            continue
                        if vf.array is not None:
                            labels[name] = self._array_expect(name, arrays, s, m.pos, per_slice=True)
                        elif name in m.slice_labels:
                            labels[name] = m.slice_labels[name]
                        else:
                            labels[name] = s.expected.get(name)
                    path = m.rel["image"] if m.row is None else f"{m.rel['image']}#{m.row}"
                    self.manifest.examples.append(Expected(path, split, s.patient, labels))
            else:
                labels = {}
                for name, vf in lay.labels.items():
                    if name not in self.labels or name in lay.files:
                        continue
                    if vf.array is not None:
                        labels[name] = self._array_expect(name, arrays, s, None, per_slice=False)
                    elif name in s.expected:
                        labels[name] = s.expected[name]
                    else:
                        labels[name] = [m.slice_labels.get(name) for m in s.members]
                self.manifest.examples.append(Expected(self._group_path(s), split, s.patient, labels,
                                                       n_slices=len(s.members)))

    def _array_expect(self, name: str, arrays: dict[str, dict[Any, Any]], s: _Slot, pos: int | None,
                      per_slice: bool) -> Any:
        lab = self.labels[name]
        vf = self.lay.labels[name]
        assert vf.array is not None
        spec = self.lay.arrays[vf.array]
        table = self.lay.tables[spec.row_table]
        key = fill_template(table.key, self._unit_ctx(s) if self.grouped else self._ctx(s.members[0]))
        v = arrays[vf.array][key]
        by_value = {c.value: c.name for c in lab.classes}

        def conv(x: Any) -> Any:
            if getattr(x, "ndim", 0) >= 1:
                return [by_value[j] for j, f in enumerate(x) if f]
            return by_value.get(int(x))

        if self.grouped and per_slice:
            return conv(v[pos])
        if self.grouped and lab.kind in SLICE_KINDS:
            return [conv(v[p]) for p in range(len(s.members))]
        return conv(v)

    # ------------------------------------------------------------------------------------ formats

    def _target(self, rel: str) -> Path:
        """``root/rel``, refused unless it stays inside the output folder: part values come from the
        card's regexes, and a hostile card could otherwise spell ``..`` or an absolute path."""
        segs = rel.split("/")
        if rel.startswith("/") or "\\" in rel or "\x00" in rel or any(s in (".", "..") for s in segs):
            raise FixtureError(f"fixture file {rel!r} would be written outside {self.root}: a part regex of the "
                               "layout allows `..`, `/` or an absolute path; narrow it (e.g. [0-9]+)")
        path = self.root / rel
        root = self.root.resolve()
        if root not in path.resolve().parents:
            raise FixtureError(f"fixture file {rel!r} would be written outside {self.root} (a symbolic link?)")
        return path

    def _write_bytes(self, rel: str, data: bytes) -> None:
        from covidct.fsutil import atomic_write_bytes

        path = self._target(rel)
        atomic_write_bytes(path, data)
        self.manifest.files.append(rel)

    def _write_table(self, rel: str, spec: Any, cols: list[str], records: list[dict[str, Any]]) -> None:
        fmt = str(spec.format)
        if fmt == "txt":
            text = "\n".join(str(r.get(spec.column) or "") for r in records) + "\n"
            self._write_bytes(rel, text.encode())
            return
        import pandas as pd

        df = pd.DataFrame(records, columns=cols)
        if fmt in ("csv", "tsv"):
            self._write_bytes(rel, df.to_csv(index=False, sep="\t" if fmt == "tsv" else ",").encode())
        elif fmt in ("xls", "xlsx"):
            # no XLS writer is available: an XLSX file (the reader goes by content, as for real mislabelled files)
            buf = io.BytesIO()
            sheet = spec.sheet if isinstance(spec.sheet, str) else "Sheet1"
            with pd.ExcelWriter(buf, engine="openpyxl") as xw:
                if isinstance(spec.sheet, int) and spec.sheet > 0:
                    for j in range(spec.sheet):
                        pd.DataFrame({"_": []}).to_excel(xw, sheet_name=f"Sheet{j}", index=False)
                df.to_excel(xw, sheet_name=sheet, index=False)
            self._write_bytes(rel, buf.getvalue())
        else:
            raise FixtureError(f"table format {fmt!r} cannot be synthesized")

    def _card_shape(self) -> tuple[int, int]:
        """(rows, cols) the card gives (its smallest size, else median, else largest), else 64x64."""
        size = self.cfg.image.size
        for cand in (size.min, size.median, size.max) if size else ():
            if cand and len(cand) >= 2:
                w, h = cand[0], cand[1]
                return (h, w)
        return (64, 64)

    def _shape2d(self) -> tuple[int, int]:
        return self._hw

    def _size_budget(self, slots: list[_Slot]) -> None:
        """Bound the files and pixels to synthesize before any is made: each side at most MAX_SIDE, all
        pixels together at most MAX_PIXELS (smaller images, said in Manifest.capped). A size the card
        fixes for array features (the loader expects exactly it) is not shrunk: too many pixels then
        is an error that asks for fewer examples."""
        members = sum(len(s.members) for s in slots)
        files = members * len(self.lay.files)
        if files > MAX_FILES:
            raise FixtureError(f"{len(slots):,} examples with {len(self.lay.files)} file role(s) would make "
                               f"{files:,} image and mask files; a fixture writes at most {MAX_FILES:,} "
                               "(ask for fewer with --per-class)")
        card_h, card_w = self._card_shape()
        h, w = min(card_h, MAX_SIDE), min(card_w, MAX_SIDE)
        depth = self._depth()
        planes = members * sum(depth if self._volume(role) else 1 for role in self.lay.files)
        total = planes * h * w
        if total > MAX_PIXELS:
            from covidct.imageplan import image_plan

            if image_plan(self.cfg).shape is not None and (h, w) == (card_h, card_w):
                raise FixtureError(
                    f"{len(slots):,} examples of {w}x{h} pixels (the size the card fixes, which the loader "
                    f"expects) would synthesize {total:,} pixels; a fixture makes at most {MAX_PIXELS:,} "
                    "(ask for fewer with --per-class)")
            scale = (MAX_PIXELS / total) ** 0.5
            h, w = max(8, min(h, int(h * scale))), max(8, min(w, int(w * scale)))
        if (h, w) != (card_h, card_w):
            self.manifest.capped.append(f"{w}x{h} pixels per image (the card says {card_w}x{card_h})")
        self._hw = (h, w)

    def _volume(self, role: str) -> bool:
        """Whether the files of ``role`` are volumes (else one 2D image per file)."""
        info = format_of(self.lay.files[role].format)
        volume = not self.per_member or (not info.slice_per_file and self.cfg.example in SCAN_UNITS)
        if self.grouped and not info.volume:
            volume = False  # one file per slice
        if self.grouped and not self.per_member and role != "image" and \
                set(self.patterns[role].parts) <= set(self.lay.group.by if self.lay.group else []):
            volume = True
        return volume

    def _depth(self) -> int:
        size = self.cfg.image.size
        if size and size.min and len(size.min) >= 3:
            return max(2, min(size.min[2], 4))
        return 3

    def _pixels(self, role: str, s: _Slot, m: _Member, volume: bool) -> Any:
        import numpy as np

        h, w = self._shape2d()
        shape = (self._depth(), h, w) if volume else (h, w)
        if role != "image":
            lab = self.labels.get(role)
            values = ([v.value for v in lab.mask_values] if lab else []) or [0, 1]
            arr = np.full(shape, values[0], dtype=np.uint8 if max(values) <= 255 else np.uint16)
            for j, v in enumerate(values[1:MAX_MASK_STRIPES + 1], start=1):  # stripes of 0 rows past h: bounded
                sl = (slice(None),) if volume else ()
                arr[(*sl, slice(j * h // (len(values) + 1), (j + 1) * h // (len(values) + 1)), slice(0, w // 2))] = v
            return arr
        it = self.cfg.image.intensity
        yy, xx = np.ogrid[0:h, 0:w]  # broadcast: no two full-size index grids
        base = (yy * 7 + xx * 3 + (s.index * 31 + m.pos * 11)) % 4000
        if volume:
            base = np.stack([base + 5 * z for z in range(shape[0])])
        volume_format = not format_of(self.lay.files[role].format).raster
        if it in (Intensity.HOUNSFIELD, Intensity.STORED_WITH_RESCALE) or (it == Intensity.UNKNOWN and volume_format):
            hu = ((base % 1500) - 1024).astype(np.int16)
            hu[..., 0, 0] = -1024  # air: every slice has negative Hounsfield units
            return hu
        if it == Intensity.FLOAT:
            return (base.astype(np.float32) / 7.0) - 100.0
        bits = max(self.cfg.image.bit_depth or [8])
        if it == Intensity.RAW_16BIT or bits > 8:
            return (base + 300).astype(np.uint16)  # values > 255, so any 8-bit squashing shows
        return (base % 256).astype(np.uint8)

    def _write_file(self, rel: str, fmt: FileFormat, role: str, s: _Slot, m: _Member) -> None:
        volume = self._volume(role)
        arr = self._pixels(role, s, m, volume)
        info = format_of(fmt)
        if info.writer is None:
            raise FixtureError(f"file role {role!r}: format {fmt.value!r} cannot be synthesized")
        spec = WriteSpec(name=rel.rsplit("/", 1)[-1], mask=role != "image", channels=self.cfg.image.channels or 1,
                         slice=_slice_facts(s, m, self.n_slices, self.lay.group, self.lay))
        info.write(arr, self._target(rel), spec)
        self.manifest.files.append(rel)


_UID_ROOT = "1.2.826.0.1.3680043.10.1338"  # fixture UIDs: never a real scan's


def rle_text(part: Any, order: str, offsets: str, start: int) -> str:
    """Run-length text of a boolean mask: pairs of offset (absolute from ``start``, or relative to the previous
    run's end) and length, over the mask flattened in ``order`` (the inverse of covidct.readers.rle.mask)."""
    import numpy as np

    flat = np.asarray(part, dtype=np.int8).flatten(order="F" if order == "column-major" else "C")
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flat, [0]])))
    starts, ends = edges[0::2], edges[1::2]
    firsts = starts - np.concatenate([[0], ends[:-1]]) if offsets == "relative" else starts + start
    return " ".join(f"{int(a)} {int(b)}" for a, b in zip(firsts, ends - starts, strict=True))


def _number_of(raw: Any, label: str) -> float:
    """A raw label value as the number an HDF5 label dataset stores."""
    number = int_text(str(raw)) if raw is not None else None
    if number is not None:
        return number
    try:
        return float(str(raw))
    except ValueError:
        raise FixtureError(f"label {label!r}: raw value {raw!r} cannot be stored in a numeric HDF5 dataset; "
                           "its `map` needs numeric keys") from None


def _header_value(keyword: str, part: str, k: int) -> str:
    """A valid value of DICOM attribute ``keyword`` for example ``k`` (UIDs are digits and dots, CS upper case)."""
    if keyword.endswith("UID"):
        return f"{_UID_ROOT}.{sum(map(ord, part))}.{k + 1}"
    if keyword in ("SeriesNumber", "AcquisitionNumber", "TemporalPositionIndex"):
        return str(k + 1)
    if keyword == "StudyDate":
        return f"2020{1 + k // 28 % 12:02d}{1 + k % 28:02d}"
    if keyword in ("Modality", "BodyPartExamined", "ImageType", "PatientSex"):
        return f"V{k + 1}"
    if keyword == "PatientAge":
        return f"{(k % 99) + 1:03d}Y"
    return f"{part}-{k + 1:03d}"


def _random_names(seed: str) -> Any:
    """Wildcard filler of random folder and file names (deterministic per ``seed``): `**/` becomes one to
    three random folders, `*` a random name, as downloads of the same series name them differently."""
    import hashlib
    import random

    rng = random.Random(hashlib.sha256(seed.encode()).digest())

    def token() -> str:
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789-._") for _ in range(rng.randint(3, 12))) \
            .strip(".") or "x"

    def fill(wildcard: str) -> str:
        if wildcard == "*":
            return token()
        folders = "/".join(token() for _ in range(rng.randint(1, 3)))
        return folders + "/" if wildcard.endswith("/") else folders + "/" + token()

    return fill


def _table_records(spec: TableSpec, cols: list[str], rows: list[dict[str, Any]],
                   only_records: bool) -> list[dict[str, Any]]:
    """The table's lines: one per row, or (``rows: many``) one per box or point of a row's lists."""
    records = []
    for r in rows:
        vals = {c: r.get(c) for c in cols}
        multi = [c for c, v in vals.items() if isinstance(v, list)]
        if multi and spec.rows == "many":
            n = max(len(vals[c]) for c in multi)
            if n == 0 and only_records:
                continue  # nothing to say about this example (no boxes): no row at all
            for j in range(max(n, 1)):
                records.append({c: (v[j] if j < len(v) else None) if isinstance(v, list) else v
                                for c, v in vals.items()})
        else:
            records.append({c: ("|".join(map(str, v)) if isinstance(v, list) else v) for c, v in vals.items()})
    return records


def _slice_facts(s: _Slot, m: _Member, n: int, group: Any, layout: Layout | None = None,
                 override: dict[str, str] | None = None) -> SliceFacts:
    """Where slice ``m`` sits: SliceLocation/ImagePositionPatient/InstanceNumber follow the slice order.

    The layout's header values (`headers`) are written from the member's parts, `where` rules are met
    with their first value, and ``override`` sets attributes last (a file `where` must leave out)."""
    desc = bool(group.descending) if group is not None else False
    tag = group.order_by if group is not None else None
    pos = m.pos
    # ascending tag values give the order when not descending, and the reverse when descending
    rank = (n - 1 - pos) if desc else pos
    z = -100.0 + 2.0 * rank
    if tag == SortKey.INSTANCE_NUMBER:
        z = 0.0 + 2.0 * ((pos * 7) % n)  # positions that disagree, so ordering by the tag is what counts
    attributes: dict[str, str] = {}
    if layout is not None:
        header_keywords = {k.value for k in layout.headers.values()}
        for kw, values in layout.where.items():
            if kw.value not in header_keywords:
                attributes[kw.value] = values[0]
        for name, kw in layout.headers.items():
            if name in m.parts:
                attributes[kw.value] = m.parts[name]
    attributes.update(override or {})
    return SliceFacts(scan=s.index, position=pos, z=z, instance=rank + 1, patient=s.patient or f"patient{s.index}",
                      attributes=tuple(attributes.items()))


def synthesize(card: Card, config: Config | str | None, out: str | os.PathLike[str],
               per_class: int | None = None) -> Manifest:
    """Write a miniature copy of one config under ``out``; returns what the loader must find."""
    cfg = config if isinstance(config, Config) else card.config(config)
    return Synthesizer(card, cfg, Path(out), per_class=per_class).run()


__all__ = ["Expected", "FixtureError", "Manifest", "sample_regex", "synthesize"]
_ = Unit


# ------------------------------------------------------------------------------------ annotation files
# DICOM series in random folders with the annotation files that refer to them by UID: RT Structure Sets,
# SEG (highdicom) and LIDC-IDRI reading XML. The tests draw known polygons and compare the masks read back.


@dataclass
class SynthSeries:
    """One synthesized CT series: its UIDs, the slices' SOPInstanceUIDs (in z order) and their files."""

    series_uid: str
    study_uid: str
    sop_uids: list[str]
    paths: list[Path]
    rows: int
    cols: int
    z: list[float]
    origin: tuple[float, float] = (-150.0, -150.0)
    spacing: tuple[float, float] = (0.7, 0.7)  # PixelSpacing: (between rows, between columns)

    def datasets(self) -> list[Any]:
        """The slices as pydicom data sets, with the patient/study attributes highdicom needs of a source image
        filled in where the synthesized slice lacks them (in memory only)."""
        import pydicom
        from pydicom.uid import generate_uid

        frame = generate_uid(prefix=_UID_ROOT + ".", entropy_srcs=[self.series_uid, "frame"])
        defaults = {"PatientName": "Fixture^Patient", "PatientBirthDate": "", "PatientSex": "O",
                    "StudyDate": "20200101", "StudyTime": "120000", "ReferringPhysicianName": "", "StudyID": "1",
                    "AccessionNumber": "", "SeriesNumber": "1", "FrameOfReferenceUID": frame}
        out = []
        for p in self.paths:
            ds = pydicom.dcmread(p)
            for kw, value in defaults.items():
                if kw not in ds:
                    setattr(ds, kw, value)
            out.append(ds)
        return out

    def to_mm(self, index: int, xy: list[tuple[float, float]]) -> list[float]:
        """Pixel (x, y) points of slice ``index`` as flat patient coordinates (ContourData)."""
        out: list[float] = []
        for x, y in xy:
            out += [self.origin[0] + x * self.spacing[1], self.origin[1] + y * self.spacing[0], self.z[index]]
        return out


def series_of(paths: list[Path]) -> SynthSeries:
    """The :class:`SynthSeries` of CT slices already written (ordered by z)."""
    import pydicom

    heads = sorted((pydicom.dcmread(p, stop_before_pixels=True) for p in paths),
                   key=lambda d: float(d.ImagePositionPatient[2]))
    first = heads[0]
    return SynthSeries(str(first.SeriesInstanceUID), str(first.StudyInstanceUID),
                       [str(d.SOPInstanceUID) for d in heads], [Path(str(d.filename)) for d in heads],
                       int(first.Rows), int(first.Columns), [float(d.ImagePositionPatient[2]) for d in heads],
                       (float(first.ImagePositionPatient[0]), float(first.ImagePositionPatient[1])),
                       (float(first.PixelSpacing[0]), float(first.PixelSpacing[1])))


@dataclass
class Mark:
    """One synthesized annotation: ``reader`` outlined ``polygon`` (pixel x, y) as ``name`` on slice ``index``."""

    reader: str
    name: str
    index: int
    polygon: list[tuple[float, float]]
    id: str = ""
    characteristics: dict[str, int] = field(default_factory=dict)


def annotation_marks(series: SynthSeries, names: list[str], k: int) -> list[Mark]:
    """Two readers' rectangles on the middle slice, one per name (the second reader's shifted by a pixel),
    inside the slice whatever its size."""
    index = len(series.sop_uids) // 2
    w, h = max(series.cols // 4, 2), max(series.rows // 4, 2)
    marks = []
    for r, reader in enumerate(("reader-1", "reader-2")):
        for j, name in enumerate(names):
            x0, y0 = 1 + r + j, 1 + j
            poly = [(x0, y0), (x0 + w, y0), (x0 + w, y0 + h), (x0, y0 + h)]
            marks.append(Mark(reader, name, index, [(float(x), float(y)) for x, y in poly], f"Nodule {j + 1:03d}",
                              {"malignancy": 1 + (k + r) % 5, "subtlety": 3}))
    return marks


def annotation_bytes(fmt: str, series: SynthSeries, marks: list[Mark]) -> bytes:
    """An RTSTRUCT, SEG or LIDC XML file of ``marks`` over ``series`` (SEG and RTSTRUCT: the first reader's)."""
    if fmt == "lidc-xml":
        sessions = []
        for reader in dict.fromkeys(m.reader for m in marks):
            sessions.append({"id": reader, "nodules": [
                {"id": m.id, "characteristics": m.characteristics, "rois": [(m.index, m.polygon, True)]}
                for m in marks if m.reader == reader]})
        return lidc_xml_text(series, sessions).encode()
    first = [m for m in marks if m.reader == marks[0].reader] if marks else []
    if fmt == "voc-xml":
        return voc_xml_text(series, [(m.name, *_box(m)) for m in first]).encode()
    if fmt == "rtstruct":
        return rtstruct_bytes(series, {m.name: [(m.index, m.polygon)] for m in first}, label=marks[0].reader)
    import numpy as np
    from PIL import Image, ImageDraw

    segments = {}
    for m in first:
        vol = np.zeros((len(series.sop_uids), series.rows, series.cols), dtype=bool)
        img = Image.new("1", (series.cols, series.rows), 0)
        ImageDraw.Draw(img).polygon(m.polygon, fill=1, outline=1)
        vol[m.index] = np.asarray(img, dtype=bool)
        segments[m.name] = vol
    return seg_bytes(series, segments, creator=marks[0].reader)


def expected_marks(series: SynthSeries, marks: list[Mark], fmt: str, classes: dict[str, str]) -> list[dict[str, Any]]:
    """The records a points label loads for ``marks``: one per reader's region, centroid of its points."""
    from covidct.readers.annotation_files import LIDC_CHARACTERISTICS

    out = []
    used = marks if fmt == "lidc-xml" else [m for m in marks if marks and m.reader == marks[0].reader]
    kind = {"lidc-xml": "nodule", "rtstruct": "roi", "voc-xml": "box"}.get(fmt, "segment")
    for j, m in enumerate(used):
        xs, ys = [p[0] for p in m.polygon], [p[1] for p in m.polygon]
        rec: dict[str, Any] = {"reader": None if fmt == "voc-xml" else m.reader, "kind": kind,
                               "id": m.id if fmt == "lidc-xml" else str(j + 1),
                               "name": classes.get(m.name, m.name),
                               "slices": [m.index], "x": sum(xs) / len(xs), "y": sum(ys) / len(ys), "z": float(m.index)}
        if fmt == "lidc-xml":
            rec.update({c: m.characteristics.get(c, 0) for c in LIDC_CHARACTERISTICS})
        elif fmt == "voc-xml":
            rec.update(dict(zip(("xmin", "ymin", "xmax", "ymax"), _box(m), strict=True)))
        out.append(rec)
    return out


def _box(m: Mark) -> tuple[float, float, float, float]:
    """The bounding box (xmin, ymin, xmax, ymax) of a mark's polygon."""
    xs, ys = [p[0] for p in m.polygon], [p[1] for p in m.polygon]
    return min(xs), min(ys), max(xs), max(ys)


def voc_xml_text(series: SynthSeries, boxes: list[tuple[str, float, float, float, float]]) -> str:
    """A PASCAL VOC file of ``boxes`` (name, xmin, ymin, xmax, ymax) as Lung-PET-CT-Dx ships them: LabelImg's
    layout with its "Unknow" placeholders, ``Difficult`` capitalised and text inside ``source`` (as in
    huyenbui117/lung_CT@257e9d3f2fdaea14bb80deb81fb6e05e9fd60a97:Annotation/A0001/*.xml)."""
    from xml.sax.saxutils import escape

    objects = "".join(
        f"  <object>\n    <name>{escape(name)}</name>\n    <pose>Unspecified</pose>\n    <truncated>0</truncated>\n"
        f"    <Difficult>0</Difficult>\n    <bndbox>\n      <xmin>{x0:g}</xmin>\n      <ymin>{y0:g}</ymin>\n"
        f"      <xmax>{x1:g}</xmax>\n      <ymax>{y1:g}</ymax>\n    </bndbox>\n  </object>\n"
        for name, x0, y0, x1, y1 in boxes)
    return (f'<annotation verified="no">\n  <folder>Unknow</folder>\n  <filename>Unknow</filename>\n'
            f"  <path>Unknow</path>\n  <source>Unknow<database>Unknown</database>\n  </source>\n"
            f"  <size>\n    <width>{series.cols}</width>\n    <height>{series.rows}</height>\n    <depth>1</depth>\n"
            f"  </size>\n  <segmented>0</segmented>\n{objects}</annotation>")


def write_ct_series(out: Path, seed: str, n_slices: int = 4, rows: int = 24, cols: int = 20) -> SynthSeries:
    """``n_slices`` CT slices of one series under one to three random folders of ``out`` (random file names)."""
    import numpy as np
    from pydicom.uid import generate_uid

    fill = _random_names(seed)
    folder = out / fill("**/")
    study = generate_uid(prefix=_UID_ROOT + ".", entropy_srcs=[seed, "study"])
    series = generate_uid(prefix=_UID_ROOT + ".", entropy_srcs=[seed, "series"])
    frame = generate_uid(prefix=_UID_ROOT + ".", entropy_srcs=[seed, "frame"])
    sops, paths, zs = [], [], []
    for k in range(n_slices):
        slot = _Slot(index=k, split="train", split_raw=None, expected={}, raw={}, patient=f"patient-{seed}")
        member = _Member(pos=k, parts={})
        arr = np.full((rows, cols), -800, dtype=np.int16)
        path = folder / (fill("*") + f"-{k}.dcm")
        path.parent.mkdir(parents=True, exist_ok=True)
        attributes = {
            "SeriesInstanceUID": series, "StudyInstanceUID": study, "FrameOfReferenceUID": frame,
            "PatientName": "Fixture^Patient", "PatientBirthDate": "", "PatientSex": "O", "StudyDate": "20200101",
            "StudyTime": "120000", "ReferringPhysicianName": "", "StudyID": "1", "AccessionNumber": "",
            "SeriesNumber": "1",
            "SOPInstanceUID": generate_uid(prefix=_UID_ROOT + ".", entropy_srcs=[seed, str(k)])}
        spec = WriteSpec(name=path.name, slice=_slice_facts(slot, member, n_slices, None, None, attributes))
        format_of(FileFormat.DICOM).write(arr, path, spec)
        import pydicom

        ds = pydicom.dcmread(path, stop_before_pixels=True)
        sops.append(str(ds.SOPInstanceUID))
        paths.append(path)
        zs.append(float(ds.ImagePositionPatient[2]))
    return SynthSeries(series, study, sops, paths, rows, cols, zs)


def rtstruct_bytes(series: SynthSeries, rois: dict[str, list[tuple[int, list[tuple[float, float]]]]],
                   *, reference_images: bool = True, label: str = "fixture") -> bytes:
    """An RT Structure Set over ``series``: ROI name → [(slice index, pixel (x, y) polygon)], as patient mm.
    ``reference_images`` False leaves out ContourImageSequence (the contour's plane then places it)."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence as Seq
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    rt_class = "1.2.840.10008.5.1.4.1.1.481.3"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = rt_class
    meta.MediaStorageSOPInstanceUID = generate_uid(prefix=_UID_ROOT + ".", entropy_srcs=[series.series_uid, "rt"])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = rt_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "RTSTRUCT"
    ds.StudyInstanceUID = series.study_uid
    ds.SeriesInstanceUID = generate_uid(prefix=_UID_ROOT + ".", entropy_srcs=[series.series_uid, "rtseries"])
    ds.StructureSetLabel = label
    frame = Dataset()
    frame.FrameOfReferenceUID = generate_uid(prefix=_UID_ROOT + ".", entropy_srcs=[series.series_uid, "for"])
    ref_series = Dataset()
    ref_series.SeriesInstanceUID = series.series_uid
    ref_study = Dataset()
    ref_study.RTReferencedSeriesSequence = Seq([ref_series])
    frame.RTReferencedStudySequence = Seq([ref_study])
    ds.ReferencedFrameOfReferenceSequence = Seq([frame])
    names, contours = [], []
    for number, (name, polys) in enumerate(rois.items(), start=1):
        roi = Dataset()
        roi.ROINumber = number
        roi.ROIName = name
        roi.ReferencedFrameOfReferenceUID = frame.FrameOfReferenceUID
        names.append(roi)
        item = Dataset()
        item.ReferencedROINumber = number
        seq = []
        for index, xy in polys:
            c = Dataset()
            c.ContourGeometricType = "CLOSED_PLANAR" if len(xy) > 1 else "POINT"
            c.NumberOfContourPoints = len(xy)
            c.ContourData = [f"{v:.3f}" for v in series.to_mm(index, xy)]
            if reference_images:
                img = Dataset()
                img.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
                img.ReferencedSOPInstanceUID = series.sop_uids[index]
                c.ContourImageSequence = Seq([img])
            seq.append(c)
        item.ContourSequence = Seq(seq)
        contours.append(item)
    ds.StructureSetROISequence = Seq(names)
    ds.ROIContourSequence = Seq(contours)
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def seg_bytes(series: SynthSeries, segments: dict[str, Any], creator: str = "Fixture^Reader") -> bytes:
    """A binary DICOM SEG over ``series`` written by highdicom: segment label → (slices, rows, cols) bool mask."""
    import highdicom as hd
    import numpy as np
    from pydicom.sr.codedict import codes

    descriptions = []
    for number, name in enumerate(segments, start=1):
        descriptions.append(hd.seg.SegmentDescription(
            segment_number=number, segment_label=name,
            segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
            segmented_property_type=codes.SCT.Nodule, algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL))
    pixels = np.stack([np.asarray(m, dtype=bool) for m in segments.values()], axis=-1).astype(np.uint8)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a one-component creator name ("reader-1") is meant
        seg = _segmentation(hd, series, pixels, descriptions, creator)
    buf = io.BytesIO()
    seg.save_as(buf)
    return buf.getvalue()


def _segmentation(hd: Any, series: SynthSeries, pixels: Any, descriptions: list[Any], creator: str) -> Any:
    return hd.seg.Segmentation(
        source_images=series.datasets(), pixel_array=pixels, segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=hd.UID(), series_number=99, sop_instance_uid=hd.UID(), instance_number=1,
        manufacturer="covidct", manufacturer_model_name="fixture", software_versions="0", device_serial_number="0",
        content_creator_name=creator, omit_empty_frames=False)


def lidc_xml_text(series: SynthSeries, sessions: list[dict[str, Any]], *, by_uid: bool = True) -> str:
    """An LIDC-IDRI reading message (``LidcReadMessage``, namespace http://www.nih.gov) over ``series``.

    ``sessions``: one dict per radiologist: ``{"id": "...", "nodules": [{"id", "characteristics": {...},
    "rois": [(slice index, [(x, y), ...], inclusion)]}], "non_nodules": [{"id", "slice", "x", "y"}]}``;
    a nodule without characteristics whose rois are single points is a small (< 3 mm) nodule.
    ``by_uid`` False leaves imageSOP_UID empty (the slice is then found by imageZposition).
    """
    from xml.sax.saxutils import escape

    def uid(index: int) -> str:
        return series.sop_uids[index] if by_uid else ""

    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<LidcReadMessage uid="1.3.6.1.4.1.14519.5.2.1.6279.6001.fixture" xmlns="http://www.nih.gov" '
             'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
             "<ResponseHeader>", "<Version>1.8.1</Version>", "<TaskDescription>Second unblinded read</TaskDescription>",
             f"<SeriesInstanceUid>{series.series_uid}</SeriesInstanceUid>",
             f"<StudyInstanceUID>{series.study_uid}</StudyInstanceUID>", "</ResponseHeader>"]
    for session in sessions:
        lines += ["<readingSession>", "<annotationVersion>3.12</annotationVersion>",
                  f"<servicingRadiologistID>{escape(session['id'])}</servicingRadiologistID>"]
        for nodule in session.get("nodules", []):
            lines += ["<unblindedReadNodule>", f"<noduleID>{escape(nodule['id'])}</noduleID>"]
            if nodule.get("characteristics"):
                lines.append("<characteristics>")
                lines += [f"<{k}>{v}</{k}>" for k, v in nodule["characteristics"].items()]
                lines.append("</characteristics>")
            for index, xy, inclusion in nodule["rois"]:
                lines += ["<roi>", f"<imageZposition>{series.z[index]:.6f}</imageZposition>",
                          f"<imageSOP_UID>{uid(index)}</imageSOP_UID>",
                          f"<inclusion>{'TRUE' if inclusion else 'FALSE'}</inclusion>"]
                lines += [f"<edgeMap><xCoord>{x:g}</xCoord><yCoord>{y:g}</yCoord></edgeMap>" for x, y in xy]
                lines.append("</roi>")
            lines.append("</unblindedReadNodule>")
        for nn in session.get("non_nodules", []):
            lines += ["<nonNodule>", f"<nonNoduleID>{escape(nn['id'])}</nonNoduleID>",
                      f"<imageZposition>{series.z[nn['slice']]:.6f}</imageZposition>",
                      f"<imageSOP_UID>{uid(nn['slice'])}</imageSOP_UID>",
                      f"<locus><xCoord>{nn['x']}</xCoord><yCoord>{nn['y']}</yCoord></locus>", "</nonNodule>"]
        lines.append("</readingSession>")
    lines.append("</LidcReadMessage>")
    return "\n".join(lines) + "\n"
