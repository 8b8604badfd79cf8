"""Turning raw values (path parts, table cells, NPY entries) into class names, split names and text.

A ``map`` translates raw values first (``covid`` → ``COVID-19``; a target ``null`` means unknown).
Without a map a raw value must be a class name or a class's integer value. Anything else is an
error that names the value, where it came from and what to add to the card.
"""

from __future__ import annotations

import re
from typing import Any

from covidct.card.model import SPLIT_RE, LabelDef, ValueFrom
from covidct.card.vocab import LabelKind
from covidct.layout.walk import LayoutError
from covidct.numtext import int_text

CLASS_KINDS = (LabelKind.CLASS, LabelKind.MULTI_LABEL, LabelKind.SLICE_CLASS, LabelKind.SLICE_MULTI_LABEL)
RECORD_KINDS = (LabelKind.BOXES, LabelKind.POINTS)
# the record field that holds a box's or point's class: mapped through the label's classes (and the
# ValueFrom's `map`/`default`) when the label has classes, text otherwise; every other field is a number
RECORD_CLASS_FIELD = "label"
MULTI_KINDS = (LabelKind.MULTI_LABEL, LabelKind.SLICE_MULTI_LABEL)
SLICE_KINDS = (LabelKind.SLICE_CLASS, LabelKind.SLICE_MULTI_LABEL)
_SPLIT = re.compile(SPLIT_RE)


def raw_text(v: Any) -> str | None:
    """A raw value as text; numbers from NPY arrays print without ``.0``."""
    if v is None:
        return None
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, float):
        if v != v:
            return None
        return str(int(v)) if v.is_integer() else repr(v)
    if hasattr(v, "item"):  # numpy scalar
        return raw_text(v.item())
    return str(v)


def describe_source(vf: ValueFrom) -> str:
    if vf.part is not None:
        return f"path part {{{vf.part}}}"
    if vf.template is not None:
        return f"template {vf.template!r}"
    if vf.table is not None:
        if vf.columns is not None:
            return f"table {vf.table!r} columns {list(vf.columns.values())!r}"
        if vf.label_columns is not None:
            return f"table {vf.table!r} label columns {list(vf.label_columns)[:6]!r}"
        return f"table {vf.table!r} column {vf.column!r}" + (" (run-length text)" if vf.rle is not None else "")
    if vf.array is not None:
        return f"array {vf.array!r}"
    return "constant value"


def apply_map(raw: str, vf: ValueFrom, what: str) -> str | int | None:
    """``vf.map[raw]`` (also matching ``1`` for ``1.0``); an unmapped raw value gives ``vf.default``,
    or is an error when the map has no default."""
    assert vf.map is not None
    if raw in vf.map:
        return vf.map[raw]
    number = int_text(raw)
    if number is not None and str(number) in vf.map:
        return vf.map[str(number)]
    stripped = raw.strip()
    if stripped in vf.map:
        return vf.map[stripped]
    if vf.default is not None:
        return vf.default
    keys = ", ".join(repr(k) for k in list(vf.map)[:12])
    shown = raw if len(raw) <= 60 else raw[:60] + "..."  # a cell may be megabytes of run-length text
    raise LayoutError(
        f"{what}: value {shown!r} from {describe_source(vf)} is not in its `map` (keys: {keys}); "
        f"add `{shown!r}: <class or null>` to the map, or a `default:` for unlisted values"
    )


class ClassMapper:
    """Raw values → class names of one label."""

    def __init__(self, label: LabelDef, vf: ValueFrom | None):
        self.label = label
        self.vf = vf
        self.by_name = {c.name: c.name for c in label.classes}
        self.by_value = {c.value: c.name for c in label.classes}

    def one(self, raw: Any, what: str) -> str | None:
        text = raw_text(raw)
        if text is None:
            return None
        target: Any = text
        if self.vf is not None and self.vf.map is not None:
            target = apply_map(text, self.vf, what)
            if target is None:
                return None
            if isinstance(target, int) and not isinstance(target, bool):
                if target in self.by_value:
                    return self.by_value[target]
                raise LayoutError(f"{what}: map target {target} is not a class value of label {self.label.name!r}")
            if str(target) in self.by_name:
                return str(target)
            raise LayoutError(f"{what}: map target {target!r} is not a class of label {self.label.name!r}")
        if target in self.by_name:
            return target
        number = int_text(target)
        if number is not None and number in self.by_value:
            return self.by_value[number]
        names = ", ".join(repr(n) for n in list(self.by_name)[:12])
        src = describe_source(self.vf) if self.vf is not None else "the data"
        raise LayoutError(
            f"{what}: value {text!r} from {src} is neither a class name ({names}) nor a class value of label "
            f"{self.label.name!r}; add a `map` from raw values to classes in the layout"
        )

    def many(self, raw: Any, what: str) -> list[str]:
        """Multi-label text (``Effusion|Mass`` with a separator) or a list of raw values → class names."""
        if raw is None:
            return []
        items: list[Any]
        if isinstance(raw, (list, tuple)):
            items = list(raw)
        else:
            sep = self.vf.separator if self.vf is not None else None
            text = raw_text(raw)
            items = [] if text is None else ([t for t in text.split(sep)] if sep else [text])
        out: list[str] = []
        for it in items:
            name = self.one(it.strip() if isinstance(it, str) else it, what)
            if name is not None and name not in out:
                out.append(name)
        return out

    def flags(self, vec: Any, what: str) -> list[str]:
        """A flag vector (NPY lobe labels): entry j set → the class whose value is j."""
        out = []
        for j, v in enumerate(list(vec)):
            if v is None or (isinstance(v, float) and v != v) or not v:
                continue
            if j not in self.by_value:
                raise LayoutError(f"{what}: flag {j} is set but label {self.label.name!r} has no class with value {j}")
            out.append(self.by_value[j])
        return out


def convert_label(label: LabelDef, mapper: ClassMapper | None, raw: Any, what: str, per_slice: bool) -> Any:
    """A raw value in the shape the label kind asks for (``per_slice``: the example is one slice)."""
    kind = label.kind
    if kind in CLASS_KINDS:
        assert mapper is not None
        scan_list = kind in SLICE_KINDS and not per_slice
        multi = kind in MULTI_KINDS
        if scan_list:
            if raw is None:
                return None
            return [_one_or_many(mapper, r, multi, what) for r in raw]
        return _one_or_many(mapper, raw, multi, what)
    if kind == LabelKind.NUMBER:
        if isinstance(raw, (list, tuple)):
            return [_number(r, what) for r in raw]
        return _number(raw, what)
    text = raw_text(raw) if not isinstance(raw, (list, tuple)) else "|".join(str(r) for r in raw)
    return text


def to_record(label: LabelDef, vf: ValueFrom, mapper: ClassMapper | None, cells: dict[str, Any],
              what: str) -> dict[str, Any] | None:
    """One box or point from one table row: ``cells`` maps record fields to raw cells.

    Returns None for a row that is no record: its class maps to null (e.g. RSNA's ``Target`` 0 rows,
    which mark images without boxes), or every cell is empty.
    """
    assert vf.columns is not None
    rec: dict[str, Any] = {}
    for fld, raw in cells.items():
        where = f"{what}, column {vf.columns[fld]!r} (field {fld!r})"
        text = raw_text(raw)
        if text is None:
            rec[fld] = None
        elif fld == RECORD_CLASS_FIELD:
            value = mapper.one(text, where) if mapper is not None else to_text(text, vf, where)
            if value is None:
                return None  # mapped to null: not a box/point
            rec[fld] = value
        else:
            try:
                rec[fld] = float(text)
            except ValueError:
                raise LayoutError(
                    f"{where}: {text!r} is not a number; the fields of {label.kind.value} records are numbers "
                    f"except `{RECORD_CLASS_FIELD}` (the class), so name a text column `{RECORD_CLASS_FIELD}` "
                    f"or leave it out of `columns`"
                ) from None
    if all(v is None for v in rec.values()):
        return None
    return rec


def _one_or_many(mapper: ClassMapper, raw: Any, multi: bool, what: str) -> Any:
    if not multi:
        if isinstance(raw, (list, tuple)):  # several rows (a table with `rows: many`): one class, if they agree
            return _agreed(mapper, raw, what)
        return mapper.one(raw, what)
    if raw is None:
        return None
    if hasattr(raw, "ndim") and getattr(raw, "ndim", 0) >= 1:
        return mapper.flags(raw, what)
    return mapper.many(raw, what)


def _agreed(mapper: ClassMapper, raws: list[Any] | tuple[Any, ...], what: str) -> str | None:
    """The one class that several rows' values map to (rows mapped to null say nothing), e.g. SIIM-ACR's
    train-rle.csv: every row of an image is `-1` (no pneumothorax) or a run-length text (pneumothorax)."""
    found: dict[str, Any] = {}
    for raw in raws:
        name = mapper.one(raw, what)
        if name is not None:
            found.setdefault(name, raw)
    if len(found) > 1:
        shown = ", ".join(f"{str(r)[:20]!r} → {n}" for n, r in list(found.items())[:4])
        raise LayoutError(f"{what}: the example's rows give different classes ({shown}); a class label takes one "
                          f"class (use a multi-label label for several)")
    return next(iter(found), None)


def _number(raw: Any, what: str) -> float | None:
    text = raw_text(raw)
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise LayoutError(f"{what}: {text!r} is not a number") from None


def to_split(raw: Any, vf: ValueFrom, what: str) -> str | None:
    text = raw_text(raw)
    if text is None:
        return None
    target: Any = text
    if vf.map is not None:
        target = apply_map(text, vf, what)
        if target is None:
            return None
        target = str(target)
    if not _SPLIT.fullmatch(target):
        raise LayoutError(
            f"{what}: {target!r} from {describe_source(vf)} is not a usable split name (letters, digits and _); "
            f"add a `map` to the split rule, e.g. `{text!r}: train`"
        )
    return target


def to_text(raw: Any, vf: ValueFrom, what: str) -> str | None:
    if isinstance(raw, (list, tuple)):
        vals = [to_text(r, vf, what) for r in raw]
        vals = [v for v in vals if v is not None]
        return "|".join(vals) if vals else None
    text = raw_text(raw)
    if text is None or vf.map is None:
        return text
    target = apply_map(text, vf, what)
    return None if target is None else str(target)
