"""Filtering the catalog DataFrame the way `covidct list` and the site's catalog table do."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

FILTER_COLUMNS = {"modality": "modality", "task": "tasks", "anatomy": "anatomy", "license": "license",
                  "access": "access", "layout": "layout"}


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


def filter_catalog(df: pd.DataFrame, **filters: Iterable[str] | None) -> pd.DataFrame:
    """Keep rows matching every given filter; within one filter, any of its values (OR)."""
    mask = pd.Series(True, index=df.index)
    for key, values in filters.items():
        if not values:
            continue
        if key == "concept":
            wanted_c = {v.strip().casefold() for v in values}
            mask &= pd.Series([_carries(c, n, wanted_c) for c, n in zip(df["concepts"], df["concept_names"],
                                                                       strict=True)], index=df.index)
            continue
        wanted = {_norm(v) for v in values}
        col = FILTER_COLUMNS[key]
        mask &= df[col].map(lambda cell, w=wanted: _matches(cell, w))
    return df[mask].reset_index(drop=True)
