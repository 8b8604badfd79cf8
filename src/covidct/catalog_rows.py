"""One catalog row per card: what ``covidct list`` and ``covidct.catalog()`` show of it.

Apart from the registry so that the index of a cards folder (covidct.cardindex) can keep each valid
card's row, made when the card is validated. The index keeps it column by column (one SQL column
each: a list as JSON text, a flag as 0/1, text and counts as they are), so that ``covidct list`` reads
only the columns it prints and ``covidct.catalog()`` gets whole columns without a JSON object per card.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from covidct.card.model import Card

CATALOG_COLUMNS = [
    "id", "name", "aliases", "summary", "modality", "anatomy", "tasks", "dimensionality", "configs",
    "patients", "scans", "images", "classes", "license", "redistribution", "access", "has_layout",
    "layout", "unavailable_since", "homepage", "doi", "derived_from", "concepts", "concept_names",
]

LIST_COLUMNS = frozenset({"aliases", "modality", "anatomy", "tasks", "dimensionality", "configs", "classes", "layout",
                          "derived_from", "concepts", "concept_names"})  # lists of strings
COUNT_COLUMNS = ("patients", "scans", "images")  # integers or None (unknown)
FLAG_COLUMNS = frozenset({"has_layout"})  # the other columns are text or None


def catalog_row(card: Card) -> dict[str, object]:
    from covidct.card.vocab import CountLevel
    from covidct.render.facts import layout_status

    scans = card.headline_count(CountLevel.SCANS) or card.headline_count(CountLevel.SERIES)
    images = card.headline_count(CountLevel.IMAGES) or card.headline_count(CountLevel.SLICES)
    classes = sorted({c.name for cfg in card.configs for lab in cfg.labels for c in lab.classes})
    return {
        "id": card.id,
        "name": card.name,
        "aliases": list(card.aliases),
        "summary": card.summary,
        "modality": [m.value for m in card.modality],
        "anatomy": list(card.anatomy),
        "tasks": sorted({t.value for cfg in card.configs for t in cfg.tasks}),
        "dimensionality": sorted({cfg.dimensionality.value for cfg in card.configs}),
        "configs": [cfg.name for cfg in card.configs],
        "patients": card.headline_count(CountLevel.PATIENTS),
        "scans": scans,
        "images": images,
        "classes": classes,
        "license": card.license.id,
        "redistribution": card.license.redistribution.value,
        "access": card.access.kind.value,
        "has_layout": bool(card.loadable_configs),
        # verified, differs, unverified, no layout; `unavailable` for no layout when the data is gone
        "layout": sorted({layout_status(card, cfg) for cfg in card.configs}),
        "unavailable_since": _unavailable_since(card),
        "homepage": card.homepage,
        "doi": card.citation.doi if card.citation else None,
        "derived_from": sorted({lin.card for lin in card.lineage}),
        **_concepts(card),
    }


def _unavailable_since(card: Card) -> str | None:
    """`2019-05-01`, or `unknown` for data no longer distributed since an unknown date; None while distributed."""
    from covidct.card.vocab import AccessKind

    if card.access.kind != AccessKind.UNAVAILABLE:
        return None
    gone = card.access.unavailable
    return gone.since.isoformat() if gone is not None and gone.since else "unknown"


def _concepts(card: Card) -> dict[str, list[str]]:
    """What the card's classes carry: CURIEs (``SCTID:840539006``) and their display names."""
    from covidct.concepts import concept_rows

    rows = concept_rows([card])
    return {"concepts": sorted({r.curie for r in rows}), "concept_names": sorted({r.code.display for r in rows})}


__all__ = ["CATALOG_COLUMNS", "catalog_row"]
