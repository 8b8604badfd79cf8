"""Finding and loading cards: lookups by id or alias, and the catalog as a DataFrame.

A broken card is never dropped silently: loading the registry raises :class:`CardError` listing
every located issue, so a catalog always shows every dataset or none. Looking up one card
(:meth:`Registry.get`, ``covidct show``) needs only that card to be valid.

Every card is validated through the registry's index (:mod:`covidct.cardindex`): a command validates
only the cards that changed since covidct last saw them. This module imports the card model only when
a card is asked for, so ``covidct show`` with a warm index starts fast.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from covidct.card.issues import Severity
from covidct.cards_snapshot import PACKAGED, card_files, is_card_file
from covidct.catalog_rows import CATALOG_COLUMNS, COUNT_COLUMNS, catalog_row
from covidct.errors import CovidctError
from covidct.settings import settings
from covidct.version import ORG

__all__ = ["CATALOG_COLUMNS", "CardError", "Registry", "UnknownCard", "catalog", "catalog_row", "default_cards_dir",
           "load_card", "registry", "valid_card"]

if TYPE_CHECKING:  # pandas is imported only when a catalog is asked for, the model when a card is
    import pandas as pd

    from covidct.card.crosscard import FileResult
    from covidct.card.model import Card
    from covidct.cardindex import CardIndex, Record


MAX_REF = 500  # characters of a card reference worth comparing with the cards' names


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
    """The cards of one folder. Each call looks at the folder again (a card changed meanwhile is
    validated again); cards that did not change come from the index."""

    def __init__(self, cards_dir: str | os.PathLike[str] | None = None):
        self.cards_dir = Path(cards_dir) if cards_dir is not None else default_cards_dir()
        self._index: CardIndex | None = None
        self._cards: dict[tuple[str, str | None], Card] = {}  # (file, sha256) -> card made from it
        self.paths: dict[str, Path] = {}

    def index(self) -> CardIndex:
        if self._index is None:
            from covidct.cardindex import CardIndex

            self._index = CardIndex(self.cards_dir)
        return self._index

    def _folder(self) -> Path:
        if not self.cards_dir.is_dir():
            raise CardError(f"no cards folder at {self.cards_dir} (set COVIDCT_CARDS to the folder of cards)")
        return self.cards_dir

    def files(self) -> list[Path]:
        return card_files(self._folder())

    def _records(self, jobs: int = 1) -> list[Record]:
        self._folder()
        return self.index().refresh(jobs)

    def _results(self, records: list[Record]) -> list[FileResult]:
        from covidct.card.crosscard import registry_checks

        index = self.index()
        # as before the index: a download URL without sha256 is a warning here, an error for `covidct validate`
        results = [index.file_result(r, str(self.cards_dir / r.file), False) for r in records]
        registry_checks(results, set())
        return results

    def results(self, jobs: int = 1) -> list[FileResult]:
        """Every card's located issues, its own and the registry-wide ones (unique names, lineage)."""
        return self._results(self._records(jobs))

    def _valid_records(self) -> list[Record]:
        """The records of every card; :class:`CardError` listing every error when any card has one."""
        records = self._records()
        if self.index().known_sound(records, "registry"):  # these very cards were found valid: no need to look
            return records
        errors = [i.format() for r in self._results(records) for i in r.issues if i.severity is Severity.ERROR]
        if errors:
            raise CardError(f"{len(errors)} error(s) in {self.cards_dir}; run `covidct validate`", errors)
        self.index().mark_sound(records, "registry")
        return records

    def _cards_of(self, records: list[Record]) -> list[Card]:
        """The cards of valid records (made once per file content in this process)."""
        from covidct.cardindex import card_from_json

        todo = [r for r in records if (r.file, r.sha256) not in self._cards and r.card_obj is None]
        for r, data in zip(todo, self.index().derived(todo, "card"), strict=True):
            self._cards[(r.file, r.sha256)] = card_from_json(data)
        out = []
        for r in records:
            card = r.card_obj or self._cards[(r.file, r.sha256)]
            self._cards[(r.file, r.sha256)] = card
            self.paths[card.id] = self.cards_dir / r.file
            out.append(card)
        return out

    def cards(self) -> dict[str, Card]:
        """Every card by id, in file name order; :class:`CardError` if any card (or the registry) has an error."""
        records = self._valid_records()
        live = {(r.file, r.sha256) for r in records}
        self._cards = {k: c for k, c in self._cards.items() if k in live}
        return {c.id: c for c in self._cards_of(records)}

    def locate(self, ref: str) -> tuple[Path, Record]:
        """The file and valid record of the card ``ref`` names: its id (the file ``<id>.yaml``, read
        alone), ``covidct/<id>``, or a name or alias (case-insensitive; every card's names are looked
        at). :class:`UnknownCard` with near names when none; :class:`CardError` when that card is invalid.
        Other cards' problems do not matter here (``covidct validate`` reports them)."""
        key = ref.strip()
        if key.lower().startswith(ORG + "/"):
            key = key[len(ORG) + 1:]
        index = self.index()
        self._folder()  # (not listed: `show ID` looks at no other card)
        rec = None
        name = key + ".yaml"
        if key and Path(name).name == name and is_card_file(Path(name)) and "\\" not in name and "\0" not in name:
            rec = index.record(name)
        if rec is None:
            records = self._records()
            rec = _by_name(records, key)
            if rec is None:
                import difflib

                names = _names(records)
                # (no name is longer than MAX_REF: a longer ref gets no suggestions, which cost len(ref) per name)
                near = difflib.get_close_matches(key.casefold(), list(names), n=6, cutoff=0.6) \
                    if len(key) <= MAX_REF else []
                ids = list(dict.fromkeys(names[n] for n in near))[:3]  # several names may point at one card
                hint = f"; did you mean {', '.join(repr(i) for i in ids)}?" if ids else ""
                raise UnknownCard(f"no card {ref!r} in {self.cards_dir}{hint} (`covidct list` shows all)")
        path = self.cards_dir / rec.file
        if not rec.usable:
            errors = [i.format() for i in index.file_result(rec, str(path), False).issues
                      if i.severity is Severity.ERROR]
            raise CardError(f"card {ref!r} ({path}) is not valid; `covidct validate {path}` says why", errors)
        return path, rec

    def get(self, ref: str) -> Card:
        """A card by id, `covidct/<id>`, name or alias (case-insensitive); see :meth:`locate`."""
        return self._cards_of([self.locate(ref)[1]])[0]

    def show_text(self, rec: Record) -> str:
        """``covidct show``'s text of a valid card (kept in the index: no model is loaded)."""
        import zlib

        return zlib.decompress(self.index().derived([rec], "text")[0]).decode("utf-8")

    def catalog_columns(self, names: Sequence[str] = CATALOG_COLUMNS) -> dict[str, list[Any]]:
        """The catalog columns ``names`` (see :data:`CATALOG_COLUMNS`), one value per card in the order of
        the cards' ids; :class:`CardError` if any card (or the registry) has an error. No pandas: what
        ``covidct list`` prints from."""
        columns = self.index().catalog_columns(self._valid_records(), list(dict.fromkeys(["id", *names])))
        ids = columns["id"]
        order = sorted(range(len(ids)), key=ids.__getitem__)
        if order == list(range(len(ids))):  # (the usual case: file names are ids)
            return {n: columns[n] for n in names}
        return {n: [columns[n][i] for i in order] for n in names}

    def catalog(self) -> pd.DataFrame:
        import pandas as pd

        columns: dict[str, Any] = self.catalog_columns()
        for col in COUNT_COLUMNS:
            columns[col] = pd.array(columns[col], dtype="Int64")  # counts stay integers; unknown is <NA>, not NaN
        return pd.DataFrame(columns, columns=CATALOG_COLUMNS)


def _names(records: list[Record]) -> dict[str, str]:
    """Casefolded id, name and alias -> card id; the first card (in file order) that claims a name has it."""
    out: dict[str, str] = {}
    for r in records:
        s = r.summary
        if s is None:
            continue
        for n in [s["id"], *(n for n, _ in s["names"])]:
            out.setdefault(n.casefold(), s["id"])
    return out


def _by_name(records: list[Record], key: str) -> Record | None:
    """The record whose id is ``key``, else whose id, name or alias is ``key`` case-insensitively."""
    exact = next((r for r in records if r.summary is not None and r.summary["id"] == key), None)
    if exact is not None:
        return exact
    folded = key.casefold()
    for r in records:
        s = r.summary
        if s is not None and folded in {n.casefold() for n in [s["id"], *(n for n, _ in s["names"])]}:
            return r
    return None


@lru_cache(maxsize=4)
def _registry(cards_dir: str) -> Registry:
    return Registry(cards_dir)


def registry(cards_dir: str | os.PathLike[str] | None = None) -> Registry:
    return _registry(str(cards_dir or default_cards_dir()))


def card_from_file(path: str | os.PathLike[str], *, id_from_name: bool = True) -> Card:
    """The validated card of one YAML file; :class:`CardError` listing every located error otherwise."""
    from covidct.card.validate import validate_file

    return valid_card(validate_file(path, id_from_name=id_from_name), path)


def load_card(ref: str, cards_dir: str | os.PathLike[str] | None = None) -> Card:
    """``covidct.load_card("cncb")`` or ``load_card("covidct/cncb")``: the validated Card."""
    if ref.endswith(".yaml") and Path(ref).is_file():
        return card_from_file(ref)
    return registry(cards_dir).get(ref)


def catalog(cards_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """One row per card: id, name, modality, tasks, patients, images, license, access..."""
    return registry(cards_dir).catalog()
