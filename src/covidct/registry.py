"""Finding and loading cards: lookups by id or alias, and the catalog as a DataFrame.

A broken card is never dropped silently: loading the registry raises :class:`CardError` listing
every located issue, so a catalog always shows every dataset or none.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from covidct.card.issues import Severity
from covidct.card.model import ORG, Card
from covidct.card.validate import FileResult, registry_checks, validate_file
from covidct.card.vocab import AccessKind, CountLevel
from covidct.cards_snapshot import PACKAGED, card_files
from covidct.errors import CovidctError
from covidct.render.facts import layout_status
from covidct.settings import settings

if TYPE_CHECKING:  # pandas is imported only when a catalog is asked for
    import pandas as pd



class CardError(CovidctError):
    """One or more cards are invalid; ``issues`` holds the located messages."""

    def __init__(self, message: str, issues: list[str] | None = None):
        self.issues = issues or []
        super().__init__(message + ("".join("\n  " + i for i in self.issues)))


def valid_card(result: FileResult, shown: object) -> Card:
    """The card of a validated file; :class:`CardError` listing every located error when it has one."""
    errors = [i.format() for i in result.issues if i.severity is Severity.ERROR]
    if errors or result.card is None:
        raise CardError(f"{shown} is not a valid card", errors)
    return result.card


class UnknownCard(CovidctError, KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; we want plain text
        return str(self.args[0])


def default_cards_dir() -> Path:
    """$COVIDCT_CARDS; else the repository's cards/ when covidct runs from its source tree (an editable
    install, PYTHONPATH=src); else the snapshot of cards packaged with covidct (a wheel or sdist install)."""
    env = settings().cards_dir
    if env is not None:
        return env
    repo = Path(__file__).resolve().parents[2]
    if (repo / "cards").is_dir() and (repo / "pyproject.toml").is_file():
        return repo / "cards"
    return PACKAGED


class Registry:
    def __init__(self, cards_dir: str | os.PathLike[str] | None = None):
        self.cards_dir = Path(cards_dir) if cards_dir is not None else default_cards_dir()
        self._cards: dict[str, Card] | None = None
        self._names: dict[str, str] = {}
        self.paths: dict[str, Path] = {}

    def files(self) -> list[Path]:
        if not self.cards_dir.is_dir():
            raise CardError(f"no cards folder at {self.cards_dir} (set COVIDCT_CARDS to the folder of cards)")
        return card_files(self.cards_dir)

    def results(self) -> list[FileResult]:
        results = [validate_file(p) for p in self.files()]
        registry_checks(results, set())
        return results

    def cards(self) -> dict[str, Card]:
        if self._cards is None:
            results = self.results()
            errors = [i.format() for r in results for i in r.issues if i.severity is Severity.ERROR]
            if errors:
                raise CardError(f"{len(errors)} error(s) in {self.cards_dir}; run `covidct validate`", errors)
            cards: dict[str, Card] = {}
            for r in results:
                assert r.card is not None
                cards[r.card.id] = r.card
                self.paths[r.card.id] = Path(r.path)
                for n in (r.card.id, r.card.name, *r.card.aliases):
                    self._names[n.casefold()] = r.card.id
            self._cards = cards
        return self._cards

    def get(self, ref: str) -> Card:
        """A card by id, `covidct/<id>`, name or alias (case-insensitive)."""
        cards = self.cards()
        key = ref.strip()
        if key.lower().startswith(ORG + "/"):
            key = key[len(ORG) + 1:]
        if key in cards:
            return cards[key]
        hit = self._names.get(key.casefold())
        if hit:
            return cards[hit]
        import difflib

        near = difflib.get_close_matches(key.casefold(), list(self._names), n=6, cutoff=0.6)
        ids = list(dict.fromkeys(self._names[n] for n in near))[:3]  # several names may point at one card
        hint = f"; did you mean {', '.join(repr(i) for i in ids)}?" if ids else ""
        raise UnknownCard(f"no card {ref!r} in {self.cards_dir}{hint} (`covidct list` shows all)")

    def catalog(self) -> pd.DataFrame:
        import pandas as pd

        rows = [catalog_row(c) for c in self.cards().values()]
        df = pd.DataFrame(rows, columns=CATALOG_COLUMNS)
        for col in ("patients", "scans", "images"):
            df[col] = df[col].astype("Int64")  # counts stay integers; unknown is <NA>, not NaN
        return df.sort_values("id").reset_index(drop=True)


CATALOG_COLUMNS = [
    "id", "name", "aliases", "summary", "modality", "anatomy", "tasks", "dimensionality", "configs",
    "patients", "scans", "images", "classes", "license", "redistribution", "access", "has_layout",
    "layout", "unavailable_since", "homepage", "doi", "derived_from", "concepts", "concept_names",
]


def catalog_row(card: Card) -> dict[str, object]:
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
    if card.access.kind != AccessKind.UNAVAILABLE:
        return None
    gone = card.access.unavailable
    return gone.since.isoformat() if gone is not None and gone.since else "unknown"


def _concepts(card: Card) -> dict[str, list[str]]:
    """What the card's classes carry: CURIEs (``SCTID:840539006``) and their display names."""
    from covidct.concepts import concept_rows

    rows = concept_rows([card])
    return {"concepts": sorted({r.curie for r in rows}), "concept_names": sorted({r.code.display for r in rows})}


@lru_cache(maxsize=4)
def _registry(cards_dir: str) -> Registry:
    return Registry(cards_dir)


def registry(cards_dir: str | os.PathLike[str] | None = None) -> Registry:
    return _registry(str(cards_dir or default_cards_dir()))


def card_from_file(path: str | os.PathLike[str], *, id_from_name: bool = True) -> Card:
    """The validated card of one YAML file; :class:`CardError` listing every located error otherwise."""
    return valid_card(validate_file(path, id_from_name=id_from_name), path)


def load_card(ref: str, cards_dir: str | os.PathLike[str] | None = None) -> Card:
    """``covidct.load_card("cncb")`` or ``load_card("covidct/cncb")``: the validated Card."""
    if ref.endswith(".yaml") and Path(ref).is_file():
        return card_from_file(ref)
    return registry(cards_dir).get(ref)


def catalog(cards_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """One row per card: id, name, modality, tasks, patients, images, license, access..."""
    return registry(cards_dir).catalog()
