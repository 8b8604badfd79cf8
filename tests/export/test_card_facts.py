"""Every document of a card states its facts alike: they are derived once (covidct.render.facts).

Each test here failed while the documents derived them on their own: Croissant's isAccessibleForFree
meant "open" only, Croissant and schema.org gave tar.gz different MIME types (and schema.org none for
.tar.bz2/.tar.xz/.gz...), `covidct show` printed a count of another release as if it were of the
release the layout loads, and the Hub README linked no license page where the site linked SPDX's.
"""

from __future__ import annotations

from typing import Any

import pytest

from cardtools import base_card, card_with
from covidct.card.vocab import AccessKind, ArchiveFormat
from covidct.export.croissant import croissant_for
from covidct.export.schemaorg import dataset_jsonld
from covidct.hf.readme import render_readme
from covidct.render.facts import card_facts
from covidct.render.text import card_text


@pytest.mark.parametrize("kind", list(AccessKind))
def test_croissant_and_schemaorg_agree_on_free_access(kind: AccessKind) -> None:
    card = card_with(access={"kind": kind.value})
    free = kind in (AccessKind.OPEN, AccessKind.REGISTRATION)  # a free account is still free access
    assert croissant_for(card)["isAccessibleForFree"] is free
    assert dataset_jsonld(card)["isAccessibleForFree"] is free


def _downloads(kinds: list[ArchiveFormat]) -> list[dict[str, Any]]:
    ext = {ArchiveFormat.NONE: "bin"}
    return [{"name": f"part{i}.{ext.get(k, k.value)}", "url": f"https://example.org/part{i}.{ext.get(k, k.value)}",
             "sha256": "a" * 64, "archive": k.value, "size_bytes": 10} for i, k in enumerate(kinds)]


def test_croissant_and_schemaorg_give_each_archive_the_same_mime_type() -> None:
    kinds = [k for k in ArchiveFormat if k is not ArchiveFormat.NONE]
    card = card_with(downloads=_downloads(kinds))
    cr = {d["name"]: d["encodingFormat"] for d in croissant_for(card)["distribution"]
          if d.get("name", "").startswith("part")}
    so = {d["name"]: d.get("encodingFormat") for d in dataset_jsonld(card)["distribution"]}
    assert cr == so
    assert cr[f"part{kinds.index(ArchiveFormat.TAR_GZ)}.tar.gz"] == "application/gzip"  # registered (RFC 6713)


def test_show_says_which_counts_are_of_another_release() -> None:
    data = base_card().model_dump(mode="json", exclude_none=True)
    cfg = data["configs"][0]
    cfg["counts"] = [{"level": "scans", "total": 150, "source": cfg["counts"][0]["source"]},
                     {"level": "scans", "total": 99, "release": "v0-preprint", "source": cfg["counts"][0]["source"]}]
    card = card_with(configs=data["configs"])
    lines = card_text(card).splitlines()
    assert any("99" in line and "v0-preprint" in line for line in lines), lines
    assert not any("150" in line and "v0-preprint" in line for line in lines)


def test_readme_links_the_license_page_the_site_links() -> None:
    card = card_with(license={"id": "CC-BY-4.0", "url": None, "name": "Creative Commons Attribution 4.0"})
    url = "https://spdx.org/licenses/CC-BY-4.0.html"
    assert f"]({url})" in render_readme(card, "card")
    assert card_facts(card).license_url == url
    assert dataset_jsonld(card)["license"] == url
    assert croissant_for(card)["license"] == url


def test_doi_and_headline_counts_are_the_same_everywhere() -> None:
    card = base_card()
    facts = card_facts(card)
    so = dataset_jsonld(card)
    if facts.doi_url:
        assert so["citation"] == facts.doi_url == croissant_for(card)["sameAs"]
    assert so["size"] == ", ".join(f"{n} {lvl.value}" for lvl, n in facts.headline_counts)
