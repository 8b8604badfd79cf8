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


def filter_catalog(df: pd.DataFrame, **filters: Iterable[str] | None) -> pd.DataFrame:
    """Keep rows matching every given filter; within one filter, any of its values (OR)."""
    mask = pd.Series(True, index=df.index)
    for key, values in filters.items():
        if not values:
            continue
        wanted = {_norm(v) for v in values}
        col = FILTER_COLUMNS[key]
        mask &= df[col].map(lambda cell, w=wanted: _matches(cell, w))
    return df[mask].reset_index(drop=True)
