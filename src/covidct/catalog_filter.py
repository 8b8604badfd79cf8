"""Filtering the catalog the way `covidct list` and the site's catalog table do: on its columns, as
lists (what ``covidct list`` reads from the index, without pandas) or as a DataFrame."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

FILTER_COLUMNS = {"modality": "modality", "task": "tasks", "anatomy": "anatomy", "license": "license",
                  "access": "access", "layout": "layout"}
CONCEPT_COLUMNS = ("concepts", "concept_names")  # what the `concept` filter looks at


def _norm(s: str) -> str:
    return s.casefold().replace("_", "-").strip()


def _matches(cell: object, wanted: set[str]) -> bool:
    values = cell if isinstance(cell, (list, tuple)) else [cell]
    # a wanted value matches a cell value equal to it, or a word-prefix of it ("segmentation" ~ "image-segmentation")
    for v in values:
        if v is None:
            continue
        nv = _norm(str(v))
        for w in wanted:
            if nv == w or w in nv.split("-") or nv.startswith(w + " ") or nv.endswith("-" + w):
                return True
    return False


def _carries(curies: list[str], names: list[str], wanted: set[str]) -> bool:
    """A concept filter value is a CURIE (``SCTID:840539006``), a bare code, or a display name."""
    have = {c.casefold() for c in curies} | {c.split(":", 1)[-1].casefold() for c in curies}
    have |= {n.casefold() for n in names}
    return bool(have & wanted)


def filter_columns(**filters: Iterable[str] | None) -> list[str]:
    """The catalog columns that ``filters`` look at."""
    out: list[str] = []
    for key, values in filters.items():
        if values:
            out += CONCEPT_COLUMNS if key == "concept" else [FILTER_COLUMNS[key]]
    return list(dict.fromkeys(out))


def matching(columns: Mapping[str, Sequence[Any]] | pd.DataFrame, rows: int,
             **filters: Iterable[str] | None) -> list[bool]:
    """For each of ``rows`` rows of ``columns``: whether it matches every given filter; within one
    filter, any of its values (OR)."""
    keep = [True] * rows
    for key, values in filters.items():
        if not values:
            continue
        if key == "concept":
            wanted_c = {v.strip().casefold() for v in values}
            hits = [_carries(c, n, wanted_c) for c, n in zip(columns["concepts"], columns["concept_names"],
                                                             strict=True)]
        else:
            wanted = {_norm(v) for v in values}
            hits = [_matches(cell, wanted) for cell in columns[FILTER_COLUMNS[key]]]
        keep = [k and h for k, h in zip(keep, hits, strict=True)]
    return keep


def filter_rows(columns: Mapping[str, Sequence[Any]], **filters: Iterable[str] | None) -> dict[str, list[Any]]:
    """The columns (lists of equal length) with only the rows matching every given filter."""
    rows = len(next(iter(columns.values()), []))
    keep = matching(columns, rows, **filters)
    return {name: [v for v, k in zip(col, keep, strict=True) if k] for name, col in columns.items()}


def filter_catalog(df: pd.DataFrame, **filters: Iterable[str] | None) -> pd.DataFrame:
    """Keep rows matching every given filter; within one filter, any of its values (OR)."""
    import pandas as pd

    mask = pd.Series(matching(df, len(df), **filters), index=df.index, dtype=bool)
    return df[mask].reset_index(drop=True)
