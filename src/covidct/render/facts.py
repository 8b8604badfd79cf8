"""The facts derived from a card, computed once for every document that shows them.

The site page (HTML), the Hub README (Markdown), ``covidct show`` (text), Croissant and schema.org
JSON-LD all state the same facts about a card: where its license is, whether it costs nothing to get,
which configs load (and why not), whether the data is still distributed, whether one example is a
whole scan, its DOI, its headline counts, which counts are of another release than the one the layout
loads. Each used to derive them on its own, and the copies drifted (``isAccessibleForFree`` meant
"open" in Croissant and "open or registration" in schema.org). Here each fact has one definition; a
renderer only chooses how to show it.
"""

from __future__ import annotations

from dataclasses import dataclass

from covidct.card.licenses import is_plain_spdx_id
from covidct.card.model import Card, Config, Count
from covidct.card.vocab import AccessKind, CountLevel, Unit

SPDX_URL = "https://spdx.org/licenses/{}.html"
DOI_URL = "https://doi.org/{}"
# Access kinds that cost nothing but a free account (schema.org/Croissant ``isAccessibleForFree``): a
# request (a data use agreement reviewed by the distributor) or a competition is not free access.
FREE_ACCESS = frozenset({AccessKind.OPEN, AccessKind.REGISTRATION})
# Access kinds whose Hub copy asks users to accept the terms first.
GATED_ACCESS = frozenset({AccessKind.REGISTRATION, AccessKind.REQUEST, AccessKind.COMPETITION})
# The whole-dataset levels a card is summed up by (badges, schema.org ``size``), in this order.
HEADLINE_LEVELS = (CountLevel.PATIENTS, CountLevel.SCANS, CountLevel.IMAGES, CountLevel.SLICES)
# The count levels that measure one example of each unit, best first.
UNIT_LEVELS: dict[Unit, tuple[CountLevel, ...]] = {
    Unit.IMAGE: (CountLevel.IMAGES, CountLevel.SLICES),
    Unit.SLICE: (CountLevel.SLICES, CountLevel.IMAGES),
    Unit.PATCH: (CountLevel.PATCHES,),
    Unit.SCAN: (CountLevel.SCANS, CountLevel.SERIES),
    Unit.SERIES: (CountLevel.SERIES, CountLevel.SCANS),
    Unit.STUDY: (CountLevel.STUDIES,),
    Unit.PATIENT: (CountLevel.PATIENTS,),
}


def _http(url: str | None) -> str | None:
    return url if url and url.lower().startswith(("http://", "https://")) else None


def license_url(card: Card) -> str | None:
    """The card's license URL, else the SPDX page of a plain SPDX id (an expression or a LicenseRef has none)."""
    lic = card.license
    if _http(lic.url):
        return lic.url
    if is_plain_spdx_id(lic.id):
        return SPDX_URL.format(lic.id)
    return None


def count_total(cnt: Count) -> int:
    """A count's total, else the sum of its per-class numbers."""
    return cnt.total if cnt.total is not None else sum(cnt.by_class.values())


def release_note(cnt: Count) -> str:
    """``Release: X.`` for a count of another release than the one the layout loads, else ""."""
    return f"Release: {cnt.release}." if cnt.release else ""


def expected_examples(cfg: Config) -> int | None:
    """The card's whole-config count at the level of one example (e.g. slices for slice examples):
    the unsplit count, else the sum of the split counts; counts of another release never count."""
    for level in UNIT_LEVELS.get(cfg.example, ()):
        for cnt in cfg.counts:
            if cnt.level == level and cnt.split is None and cnt.release is None:
                return count_total(cnt)
        split_totals = [count_total(c) for c in cfg.counts
                        if c.level == level and c.split is not None and c.release is None]
        if split_totals:
            return sum(split_totals)
    return None


def unavailable_note(card: Card) -> str | None:
    """``The data is no longer distributed since ... (why).`` for an `unavailable` card, else None."""
    if card.access.kind != AccessKind.UNAVAILABLE:
        return None
    gone = card.access.unavailable
    text = f"The data is {gone.phrase() if gone else 'no longer distributed'}."
    if gone is not None and gone.checked:
        text += f" Last checked {gone.checked.isoformat()}."
    return text


def layout_status(card: Card, cfg: Config) -> str:
    """The config's layout status (`verified`, `differs`, `unverified`, `no layout`), where `no layout` of a card
    whose data is no longer distributed reads `unavailable`, and that of a config rebuilt from other datasets'
    copies `derived`: the catalog's column and filter."""
    status = cfg.layout_status
    if status == "no layout" and cfg.derived is not None:
        return "derived"
    if status == "no layout" and card.access.kind == AccessKind.UNAVAILABLE:
        return "unavailable"
    return status


def not_loadable_reason(card: Card, cfg: Config) -> str | None:
    """Why covidct cannot load ``cfg`` in a few words (None when it can): the data is gone, or the card
    does not describe the files."""
    if cfg.layout is not None or cfg.derived is not None:
        return None
    if card.access.kind == AccessKind.UNAVAILABLE:
        return "the data is no longer distributed, and the card describes no file layout"
    return "the card describes no file layout"


@dataclass(frozen=True)
class ConfigFacts:
    name: str
    loadable: bool  # the card describes the file layout
    not_loadable: str | None  # why it cannot be loaded (not_loadable_reason), None when loadable or derived
    whole_scan: bool  # one example is a whole scan assembled from a group of files
    expected_examples: int | None
    other_release_counts: tuple[Count, ...]  # counts of another release than the one the layout loads


@dataclass(frozen=True)
class CardFacts:
    """What every document of a card says about it, derived once from the card."""

    license_url: str | None
    is_free: bool  # schema.org / Croissant isAccessibleForFree
    gated: bool  # users must accept terms (the card says so, or its access kind implies it)
    doi_url: str | None
    unavailable: str | None  # unavailable_note: the data is no longer distributed (since when, why), else None
    headline_counts: tuple[tuple[CountLevel, int], ...]  # whole-dataset totals, HEADLINE_LEVELS order
    configs: tuple[ConfigFacts, ...]

    @property
    def loadable_configs(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.configs if c.loadable)


def card_facts(card: Card) -> CardFacts:
    """The facts of ``card`` (cheap: a few passes over its fields)."""
    headline = []
    for level in HEADLINE_LEVELS:
        n = card.headline_count(level)
        if n is not None:
            headline.append((level, n))
    cit = card.citation
    return CardFacts(
        license_url=license_url(card),
        is_free=card.access.kind in FREE_ACCESS,
        gated=card.license.requires_agreement or card.access.kind in GATED_ACCESS,
        doi_url=DOI_URL.format(cit.doi) if cit is not None and cit.doi else None,
        unavailable=unavailable_note(card),
        headline_counts=tuple(headline),
        configs=tuple(
            ConfigFacts(
                name=cfg.name,
                loadable=cfg.layout is not None,
                not_loadable=not_loadable_reason(card, cfg),
                whole_scan=cfg.example_is_whole_scan,
                expected_examples=expected_examples(cfg),
                other_release_counts=tuple(c for c in cfg.counts if c.release),
            )
            for cfg in card.configs
        ),
    )


def derived_load_code(card: Card, cfg: Config) -> str:
    """How to rebuild a derived config: the folder of its split files and the user's copy of each source."""
    assert cfg.derived is not None
    dirs = [f'    "{card.id}": "LISTS_DIR",'] + [f'    "{s.card}": "{s.card.upper().replace("-", "_")}_DIR",'
                                                for s in cfg.derived.sources if s.card]
    return "\n".join(["import covidct", "", f'ds = covidct.load_dataset("{card.ref}", "{cfg.name}", data_dirs={{',
                      *dirs, "})"])
