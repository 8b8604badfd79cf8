"""schema.org ``Dataset`` JSON-LD from a card, for the head of each dataset page.

Dataset search engines read this block. :func:`dataset_jsonld` builds the dict; :func:`script_tag`
serialises it so that card text can never end the ``<script>`` element: ``<``, ``>`` and ``&``
(and the JavaScript line separators) are written as ``\\uXXXX`` escapes, which JSON parsers read back
unchanged.
"""

from __future__ import annotations

import json
import re
from typing import Any

from covidct.card.model import Card
from covidct.card.vocab import ArchiveFormat, Relation
from covidct.export.mime import ARCHIVE_MIME
from covidct.render.facts import CardFacts, card_facts

_PERIOD = re.compile(r"^\s*(\d{4}(?:-\d{2}){0,2})\s*(?:to|/|–|—|-{1,2}(?=\s))\s*(\d{4}(?:-\d{2}){0,2})\s*$")
_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_ESCAPE_RE = re.compile("[<>&\u2028\u2029]")


def _http(url: str | None) -> str | None:
    return url if url and url.lower().startswith(("http://", "https://")) else None


def temporal_coverage(period: str | None) -> str | None:
    """``2020-01 to 2020-04`` -> ``2020-01/2020-04`` (ISO 8601 interval); None when not of that shape."""
    if not period:
        return None
    m = _PERIOD.match(period)
    if m:
        return f"{m.group(1)}/{m.group(2)}"
    if re.fullmatch(r"\d{4}(?:-\d{2}){0,2}", period.strip()):
        return period.strip()
    return None


def dataset_jsonld(card: Card, *, url: str | None = None, catalog_url: str | None = None,
                   related: dict[str, str] | None = None, croissant_url: str | None = None) -> dict[str, Any]:
    """schema.org Dataset for ``card``. ``related`` maps other card ids to their page URLs."""
    related = related or {}
    facts = card_facts(card)
    desc = _description(card)
    d: dict[str, Any] = {
        "@context": "https://schema.org/",
        "@type": "Dataset",
        "name": card.name,
        "description": desc[:5000],
        "identifier": [card.ref],
        "keywords": list(dict.fromkeys([*(m.value for m in card.modality), *card.anatomy, *card.tags,
                                         *(t.value for cfg in card.configs for t in cfg.tasks)])),
        "measurementTechnique": [m.value for m in card.modality],
        "dateModified": card.last_reviewed.isoformat(),
        "isAccessibleForFree": facts.is_free,
    }
    if card.aliases:
        d["alternateName"] = list(card.aliases)
    if url:
        d["url"] = url
    if _http(card.homepage):
        d["sameAs"] = card.homepage
    if card.citation and facts.doi_url:
        d["identifier"].append(facts.doi_url)
    d.update(_terms(card, facts))
    d.update(_provenance(card))
    dist = _distribution(card, croissant_url)
    if dist:
        d["distribution"] = dist
    based = [related[lin.card] for lin in card.lineage
             if lin.card in related and lin.relation in (Relation.DERIVED_FROM, Relation.SUBSET_OF)]
    if based:
        d["isBasedOn"] = based
    sizes = [f"{n} {level.value}" for level, n in facts.headline_counts]
    if sizes:
        d["size"] = ", ".join(sizes)
    if catalog_url:
        d["includedInDataCatalog"] = {"@type": "DataCatalog", "name": "covidct", "url": catalog_url}
    return d


def _description(card: Card) -> str:
    desc = card.summary.strip()
    if card.description.strip():
        desc += "\n\n" + card.description.strip()
    if len(desc) < 50:  # Google asks for 50..5000 characters
        desc = (desc + " " + f"Dataset card {card.ref} in the covidct registry.").strip()
    return desc


def _terms(card: Card, facts: CardFacts) -> dict[str, Any]:
    """license, conditionsOfAccess and citation (a DOI is also an identifier: appended by the caller's list)."""
    d: dict[str, Any] = {}
    lic = facts.license_url
    if lic:
        d["license"] = lic
    elif card.license.name:
        d["license"] = card.license.name
    access = [card.access.kind.value]
    if card.access.instructions:
        access.append(card.access.instructions.strip())
    if card.license.requires_agreement:
        access.append("Users must accept the data terms before download.")
    d["conditionsOfAccess"] = " ".join(access)[:2000]
    cit = card.citation
    if cit:
        if facts.doi_url:
            d["citation"] = facts.doi_url
        elif cit.text:
            d["citation"] = cit.text.strip()
    return d


def _provenance(card: Card) -> dict[str, Any]:
    d: dict[str, Any] = {}
    prov = card.provenance
    if prov:
        if prov.institutions:
            d["creator"] = [{"@type": "Organization", "name": n} for n in prov.institutions]
        if prov.countries:
            d["spatialCoverage"] = [{"@type": "Place", "name": n} for n in prov.countries]
        tc = temporal_coverage(prov.collection_period)
        if tc:
            d["temporalCoverage"] = tc
    return d


def _distribution(card: Card, croissant_url: str | None) -> list[dict[str, Any]]:
    dist = []
    for dl in card.downloads:
        if not _http(dl.url):
            continue
        item: dict[str, Any] = {"@type": "DataDownload", "name": dl.name, "contentUrl": dl.url}
        if dl.size_bytes is not None:
            item["contentSize"] = f"{dl.size_bytes} B"
        if dl.archive is not ArchiveFormat.NONE:
            item["encodingFormat"] = ARCHIVE_MIME[dl.archive]
        dist.append(item)
    if croissant_url:
        dist.append({"@type": "DataDownload", "name": f"{card.id} Croissant metadata",
                     "encodingFormat": "application/ld+json", "contentUrl": croissant_url})
    return dist


def dumps(data: Any) -> str:
    """JSON that is safe inside an HTML ``<script>`` element."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group(0)], text)


def script_tag(data: Any) -> str:
    return f'<script type="application/ld+json">{dumps(data)}</script>'
