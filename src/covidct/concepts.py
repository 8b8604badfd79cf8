"""Discovery by concept: which datasets carry a concept, with counts, modality, assertion, reference standard.

``covidct list --concept 840539006`` (or ``--concept COVID-19``), the catalog's ``concepts`` column and
the site's Concepts page all read :func:`concept_rows`. A class whose assertion is ``absent`` or
``uncertain`` (a negative or uncertain class) does not carry its concept: COVID-CT's NonCOVID is coded
with COVID-19 only to say that COVID-19 is absent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from covidct.card.codes import coded_items, concept_uri, curie, reference_standard
from covidct.card.model import Card, Code
from covidct.card.vocab import Assertion, CountLevel

NOT_CARRIED = (Assertion.ABSENT, Assertion.UNCERTAIN)
LEVELS = (CountLevel.PATIENTS, CountLevel.SCANS, CountLevel.IMAGES, CountLevel.SLICES)


@dataclass
class ConceptRow:
    """One class of one dataset that carries one concept."""

    code: Code
    card: Card
    config: str
    label: str
    cls: str
    assertion: str
    reference_standard: list[str]
    population: str | None
    counts: dict[str, int] = field(default_factory=dict)  # level → examples of the class (whole config)

    @property
    def curie(self) -> str:
        return curie(self.code)

    @property
    def uri(self) -> str:
        return concept_uri(self.code)

    @property
    def modality(self) -> list[str]:
        return [m.value for m in self.card.modality]


def concept_rows(cards: Iterable[Card]) -> list[ConceptRow]:
    rows = []
    for card in cards:
        for ci in coded_items(card):
            item = ci.item
            if item.assertion in NOT_CARRIED:
                continue
            counts = {}
            for cnt in ci.config.counts:
                if cnt.split is None and cnt.release is None and item.name in cnt.by_class and cnt.level in LEVELS:
                    counts.setdefault(cnt.level.value, cnt.by_class[item.name])
            for code in item.codes:
                rows.append(ConceptRow(
                    code=code, card=card, config=ci.config.name, label=ci.label.name, cls=item.name,
                    assertion=item.assertion.value if item.assertion else "", population=item.population,
                    reference_standard=[s.value for s in reference_standard(ci.label, item)], counts=counts))
    return rows


def card_concepts(card: Card) -> list[str]:
    """The CURIEs of the concepts the card's classes carry (``SCTID:840539006``), sorted."""
    return sorted({r.curie for r in concept_rows([card])})


def matches(row_or_curie: str, display: str, wanted: str) -> bool:
    """``wanted`` names the concept: its CURIE, its bare code, or its display name (any case)."""
    w = wanted.strip().casefold()
    c = row_or_curie.casefold()
    return w in (c, c.split(":", 1)[-1], display.casefold())


def by_concept(rows: list[ConceptRow]) -> dict[str, list[ConceptRow]]:
    """Rows grouped by concept CURIE, concepts ordered by how many datasets carry them, then name."""
    groups: dict[str, list[ConceptRow]] = {}
    for r in rows:
        groups.setdefault(r.curie, []).append(r)
    return dict(sorted(groups.items(), key=lambda kv: (-len({r.card.id for r in kv[1]}), kv[1][0].code.display)))


__all__ = ["ConceptRow", "by_concept", "card_concepts", "concept_rows", "matches"]
