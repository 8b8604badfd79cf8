"""Label and metadata tables (CSV, TSV, XLS, XLSX, TXT) and their joins to examples.

Every cell is read as text (``0010`` stays ``0010``; a column of ages stays ``053Y``), stripped;
empty cells are ``None``. A table path with named parts (``CSV/fold{fold}_{split}.csv``) may match
several files: their rows are concatenated and each row also carries the part values as columns.
Row numbers (``rownum``) count the data rows of each file from 0, as NPY label arrays index them.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from typing import Any

from covidct.card.model import TableSpec
from covidct.card.pattern import PatternError, fill_template, template_parts
from covidct.fsutil import UnsafePath, open_regular
from covidct.layout.walk import LayoutError, Match
from covidct.numtext import int_text

MAX_TABLE_BYTES = 2_000_000_000


@dataclass
class Table:
    name: str
    spec: TableSpec
    columns: list[str]
    rows: list[dict[str, str | None]]
    rownums: list[int]
    files: list[str]  # relative path of the file each row came from
    row_file: list[int]
    _index: dict[Any, list[int]] | None = field(default=None, repr=False)
    _int_key: bool = False

    def where(self, i: int) -> str:
        return f"{self.files[self.row_file[i]]} row {self.rownums[i] + 2}"

    def column(self, name: str) -> str:
        """The real column name for ``name`` (exact, else ignoring surrounding spaces and case)."""
        if name in self.columns:
            return name
        for c in self.columns:
            if c.strip() == name.strip() or c.strip().casefold() == name.strip().casefold():
                return c
        near = difflib.get_close_matches(name, self.columns, n=1, cutoff=0.5)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise LayoutError(
            f"table {self.name!r} ({', '.join(self.files)}) has no column {name!r}{hint} "
            f"Its columns are {self.columns}."
        )

    def build_index(self, int_key: bool) -> None:
        col = self.column(self.spec.column)
        self._int_key = int_key
        index: dict[Any, list[int]] = {}
        for i, row in enumerate(self.rows):
            v = row.get(col)
            if v is None:
                continue
            index.setdefault(normalize_key(v, int_key), []).append(i)
        self._index = index

    def lookup(self, key: str) -> list[int]:
        assert self._index is not None
        return self._index.get(normalize_key(key, self._int_key), [])


def normalize_key(value: str, int_key: bool) -> Any:
    v = value.strip()
    if int_key:
        n = int_text(v)
        if n is not None:
            return n
    return v.replace("\\", "/")


def read_table(name: str, spec: TableSpec, files: list[Match]) -> Table:
    columns: list[str] = []
    rows: list[dict[str, str | None]] = []
    rownums: list[int] = []
    row_file: list[int] = []
    rels = []
    for fi, m in enumerate(sorted(files, key=lambda m: m.rel)):
        rels.append(m.rel)
        cols, data = _read_file(m.path, spec, m.rel)
        for c in cols:
            if c not in columns:
                columns.append(c)
        for p in m.parts:
            if p not in columns:
                columns.append(p)
        for j, r in enumerate(data):
            for p, v in m.parts.items():
                r.setdefault(p, v)
            rows.append(r)
            rownums.append(j)
            row_file.append(fi)
    return Table(name, spec, columns, rows, rownums, rels, row_file)


def _read_file(path: str, spec: TableSpec, rel: str) -> tuple[list[str], list[dict[str, str | None]]]:
    fmt = str(spec.format)
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise LayoutError(f"cannot read table {rel}: {exc.strerror or exc}") from None
    if size > MAX_TABLE_BYTES:
        raise LayoutError(f"table {rel} is {size:,} bytes; tables larger than {MAX_TABLE_BYTES:,} are refused")
    if fmt == "txt":
        text = _decode(_read_bytes(path, rel))
        values = [ln.strip() for ln in text.splitlines()]
        return ["value"], [{"value": v} for v in values if v]
    import pandas as pd

    try:
        if fmt in ("csv", "tsv"):
            text = _decode(_read_bytes(path, rel))
            import io

            df = pd.read_csv(io.StringIO(text), sep="\t" if fmt == "tsv" else ",", dtype=str,
                             keep_default_na=False, na_filter=False, skipinitialspace=False)
        elif fmt in ("xls", "xlsx"):
            sheet = spec.sheet if spec.sheet is not None else 0
            with _open(path, rel) as fh:
                magic = fh.read(8)
                # the content decides, not the extension: many ".xls" files are really XLSX (zip) files
                engine = "openpyxl" if magic[:2] == b"PK" else "xlrd" if magic[:4] == b"\xd0\xcf\x11\xe0" else None
                if engine is None:
                    raise LayoutError(f"table {rel} is neither an XLS nor an XLSX file (it starts with {magic[:4]!r})")
                fh.seek(0)
                df = pd.read_excel(fh, sheet_name=sheet, dtype=str, engine=engine)
        else:
            raise LayoutError(f"table {rel}: format {fmt!r} is not a table format (csv, tsv, xls, xlsx, txt)")
    except LayoutError:
        raise
    except ImportError as exc:
        raise LayoutError(f"table {rel}: {exc}; install it with: pip install 'covidct[readers]'") from None
    except Exception as exc:  # parser errors of every kind: say which file
        raise LayoutError(f"table {rel} cannot be read as {fmt}: {exc}") from None
    cols = [str(c) for c in df.columns]
    out: list[dict[str, str | None]] = []
    for rec in df.itertuples(index=False, name=None):
        row: dict[str, str | None] = {}
        for c, v in zip(cols, rec, strict=True):
            row[c] = _cell(v)
        out.append(row)
    return cols, out


def _open(path: str, rel: str) -> Any:
    """The table file, opened only if it is a regular file (a FIFO would block the reader)."""
    try:
        return open_regular(path, "table")
    except UnsafePath as exc:
        raise LayoutError(f"table {rel} {exc.problem}") from None
    except OSError as exc:
        raise LayoutError(f"cannot read table {rel}: {exc.strerror or exc}") from None


def _read_bytes(path: str, rel: str) -> bytes:
    with _open(path, rel) as fh:
        try:
            return fh.read()
        except OSError as exc:
            raise LayoutError(f"cannot read table {rel}: {exc.strerror or exc}") from None


def _decode(data: bytes) -> str:
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _cell(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, float) and v != v:
        return None
    s = str(v).strip()
    return s or None


def key_of(template: str, ctx: dict[str, Any]) -> str | None:
    """The table key of an example (None when a part the template needs is missing)."""
    try:
        return fill_template(template, ctx)
    except KeyError:
        return None


def single_part(template: str) -> str | None:
    """The part name when the template is exactly one part (``{patient}``)."""
    try:
        names = template_parts(template)
    except PatternError:
        return None
    return names[0] if len(names) == 1 and template == "{" + names[0] + "}" else None
