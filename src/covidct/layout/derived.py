"""Derived datasets: rebuild a dataset made from others (COVIDx) from the user's copies of its sources.

A derived config publishes split files (header-less, whitespace-separated lists) whose rows name an
example of a source dataset by its file name and a source tag. Each source is read with its own card's
layout (:func:`covidct.layout.plan.make_plan`), its examples are indexed by file name (or stem), and
each row becomes a :class:`DerivedRecord` pointing at the source's record, with the label the list gives
and the ``source`` card it came from. Nothing of the derived dataset's files but the lists is read.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from covidct.card.issues import warn_data
from covidct.card.model import Card, Config, Derived, DerivedSource
from covidct.card.vocab import DerivedMatch
from covidct.fsutil import UnsafePath, open_regular, resolve_inside
from covidct.layout.plan import LayoutError, Record, make_plan

# Bounds of one split file (read whole before the join): COVIDx CXR-4 lists 84,818 images in about 8 MB.
MAX_LIST_BYTES = 32 * 2**20
MAX_LIST_ROWS = 100_000  # COVIDx CXR-4 has 84,818 images in all its lists
MAX_LINE = 4096
MISSING_SHOWN = 5


@dataclass
class DerivedRecord:
    """One example of a derived dataset: the source's record, and what the split file says of it."""

    key: str
    split: str
    source: str  # the source card's id
    record: Record  # the source example, as its own card's layout reads it
    source_card: Card
    source_config: Config
    values: dict[str, str]  # the row, column → value
    labels: dict[str, str]  # label name → class name (from the split file)
    patient: str | None


def read_list(folder: str, path: str, columns: list[str]) -> Iterator[tuple[int, list[str]]]:
    """The rows of one split file (line number, values in column order), bounded in size, line length and rows."""
    where = f"split file {path!r}"
    try:
        real = resolve_inside(folder, path, where)
    except FileNotFoundError:
        raise LayoutError(f"{where} is not in {folder}: put the derived dataset's published lists there") from None
    except UnsafePath as exc:
        raise LayoutError(str(exc)) from None
    size = os.stat(real).st_size
    if size > MAX_LIST_BYTES:
        raise LayoutError(f"{where} is {size:,} bytes; a split file may have at most {MAX_LIST_BYTES:,}")
    width = len(columns)
    with open_regular(real, where) as fh:
        n = 0
        while raw := fh.readline(MAX_LINE + 1):  # bounded: a file without line breaks is not read whole
            n += 1
            if n > MAX_LIST_ROWS:
                raise LayoutError(f"{where} has more than {MAX_LIST_ROWS:,} rows")
            if len(raw) > MAX_LINE:
                raise LayoutError(f"{path}:{n}: the line is longer than {MAX_LINE} bytes")
            try:
                cells = raw.decode("utf-8").split()
            except UnicodeDecodeError:
                raise LayoutError(f"{path}:{n}: the line is not UTF-8 text") from None
            if not cells:
                continue
            if len(cells) != width:
                raise LayoutError(f"{path}:{n}: {len(cells)} values, but the card declares {width} columns "
                                  f"({' '.join(columns)})")
            yield n, cells


def _key(name: str, match: DerivedMatch) -> str:
    name = name.rpartition("/")[2]
    if match == DerivedMatch.STEM and "." in name.lstrip("."):
        return name.rpartition(".")[0]
    return name


def _index(cards: Mapping[str, Card], src: DerivedSource, data_dirs: Mapping[str, str | os.PathLike[str]],
           owner: str) -> tuple[Card, Config, dict[str, Record]]:
    """The source's examples by file name (or stem), read with the source card's own layout."""
    assert src.card is not None and src.config is not None
    card = cards.get(src.card)
    if card is None:
        raise LayoutError(f"{owner} names the source card {src.card!r}, which is not in the registry")
    try:
        cfg = card.config(src.config)
    except KeyError:
        raise LayoutError(f"{owner} names config {src.config!r} of {src.card}, which it lacks: "
                          f"{[c.name for c in card.configs]}") from None
    if src.card not in data_dirs:
        raise LayoutError(f"{owner} needs your copy of {src.card} (source tag {src.tag!r}): pass "
                          f"data_dirs={{{src.card!r}: ...}}")
    if cfg.layout is None:
        raise LayoutError(card.unloadable_reason(cfg))
    index: dict[str, Record] = {}
    for rec in make_plan(card, cfg, [data_dirs[src.card]]).records():
        index.setdefault(_key(rec.path, src.match), rec)
    return card, cfg, index


def derived_records(card: Card, cfg: Config, data_dirs: Mapping[str, str | os.PathLike[str]],
                    cards: Mapping[str, Card]) -> dict[str, list[DerivedRecord]]:
    """Every example of a derived config, by split: ``data_dirs`` maps the derived card's id to the folder of
    its split files, and each source card's id to the user's copy of that source."""
    der: Derived | None = cfg.derived
    if der is None:
        raise LayoutError(f"{card.id}/{cfg.name} is not a derived config")
    owner = f"{card.id}/{cfg.name}"
    if card.id not in data_dirs:
        raise LayoutError(f"{owner} reads its published split files from data_dirs[{card.id!r}]: pass the folder "
                          f"that holds {sorted(der.split_files.values())}")
    cols = _Columns.of(der, cfg)
    rows = _read_rows(der, cols, os.fspath(data_dirs[card.id]))
    tally = Counter(row[cols.tag] for split_rows in rows.values() for _, _, row in split_rows)
    by_tag = {s.tag: s for s in der.sources}
    indexes = {tag: _index(cards, by_tag[tag], data_dirs, owner) for tag in sorted(tally) if by_tag[tag].card}
    left_out = {tag: k for tag, k in tally.items() if tag not in indexes}
    if left_out:
        warn_data("L512", owner, stacklevel=2, count=sum(left_out.values()),
                  tags=", ".join(f"{tag} ({k:,})" for tag, k in sorted(left_out.items())))
    out, missing = _join(der, cols, rows, indexes)
    if missing:
        parts = [f"{len(v):,} in {k} (first: {', '.join(v[:MISSING_SHOWN])})" for k, v in sorted(missing.items())]
        raise LayoutError(f"{owner}: rows name files that your copies of the sources lack: {'; '.join(parts)}. "
                          "Use the source releases the derived dataset was built from")
    return out


@dataclass(frozen=True)
class _Columns:
    """Where each value sits in a row of the split files."""

    tag: int
    file: int
    patient: int | None
    labels: tuple[tuple[str, int, frozenset[str]], ...]  # (label, column, its class names)

    @classmethod
    def of(cls, der: Derived, cfg: Config) -> _Columns:
        pos = {c: i for i, c in enumerate(der.columns)}
        labels = tuple((name, pos[col], frozenset(c.name for lab in cfg.labels if lab.name == name
                                                  for c in lab.classes)) for name, col in der.labels.items())
        return cls(pos[der.source_column], pos[der.file_column],
                   pos[der.patient_column] if der.patient_column else None, labels)


_Rows = dict[str, list[tuple[str, int, list[str]]]]  # split -> (split file, line, row)


def _read_rows(der: Derived, cols: _Columns, folder: str) -> _Rows:
    """The rows of every split file, each with a known source tag and known classes."""
    tags = {s.tag for s in der.sources}
    rows: _Rows = {}
    for split, path in der.split_files.items():
        rows[split] = []
        for n, row in read_list(folder, path, der.columns):
            if row[cols.tag] not in tags:
                raise LayoutError(f"{path}:{n}: source {row[cols.tag]!r} is not among the card's sources "
                                  f"{sorted(tags)}; describe it under `derived.sources`")
            for name, at, names in cols.labels:
                if row[at] not in names:
                    raise LayoutError(f"{path}:{n}: {row[at]!r} is not a class of label {name!r} ({sorted(names)})")
            rows[split].append((path, n, row))
    return rows


def _join(der: Derived, cols: _Columns, rows: _Rows, indexes: dict[str, Any]) -> tuple[
        dict[str, list[DerivedRecord]], dict[str, list[str]]]:
    """Each row joined to its source's example: (records by split, the rows whose file a source copy lacks)."""
    by_tag = {s.tag: s for s in der.sources}
    out: dict[str, list[DerivedRecord]] = {}
    missing: dict[str, list[str]] = {}
    for split, split_rows in rows.items():
        out[split] = []
        for path, n, row in split_rows:
            src = by_tag[row[cols.tag]]
            if src.tag not in indexes:
                continue
            src_card, src_cfg, index = indexes[src.tag]
            rec = index.get(_key(row[cols.file], src.match))
            if rec is None:
                missing.setdefault(src_card.id, []).append(f"{path}:{n} {row[cols.file]}")
                continue
            out[split].append(DerivedRecord(
                key=f"{src_card.id}/{rec.key}", split=split, source=src_card.id, record=rec, source_card=src_card,
                source_config=src_cfg, values=dict(zip(der.columns, row, strict=True)),
                labels={name: row[at] for name, at, _ in cols.labels},
                patient=row[cols.patient] if cols.patient is not None else None))
    return out, missing
