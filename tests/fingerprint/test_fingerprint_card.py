"""A card's published fingerprint: validated by the model, shown on the dataset page with measured duplicates."""

from __future__ import annotations

import pytest

from covidct.card.model import Card, Fingerprint
from covidct.registry import load_card
from covidct.site.sections import PageContext, dataset_markdown, fingerprint

SHA = "ab" * 32


def _with_fingerprint(card: Card, **extra: object) -> Card:
    data = card.model_dump(mode="json", exclude_none=True)
    data["configs"][0]["fingerprint"] = {
        "url": "https://example.org/manifests/covid-ct.parquet", "sha256": SHA, "files": 746, "date": "2026-12-01",
        "matches": [{"card": "covidx", "near": 24, "images": 120, "files": 3, "pixels": 40, "near_pairs": 90,
                     "patients": 0}],
        **extra,
    }
    return Card.model_validate(data)


def test_model_accepts_a_fingerprint_and_refuses_a_bad_checksum() -> None:
    card = load_card("covid-ct")
    fp = _with_fingerprint(card).configs[0].fingerprint
    assert fp is not None and fp.matches[0].near_pairs == 90
    with pytest.raises(ValueError, match="sha256"):
        _with_fingerprint(card, sha256="not-a-sha")
    with pytest.raises(ValueError, match="pixels_b64"):
        _with_fingerprint(card, pixels_b64="AAAA")  # manifests hold hashes only: no other field is accepted


def test_page_shows_the_manifest_and_duplicates_both_ways() -> None:
    ct = _with_fingerprint(load_card("covid-ct"))
    covidx = load_card("covidx")
    cards = {"covid-ct": ct, "covidx": covidx}
    ctx = PageContext(card=ct, cards=cards, page_url=lambda i: f"../{i}/")
    html = fingerprint(ctx, ct.configs[0])
    assert "https://example.org/manifests/covid-ct.parquet" in html and SHA in html
    assert "covidct overlaps --manifest mine.parquet --manifest covid-ct.parquet" in html
    assert '<a href="../covidx/">covidx</a>' in html and "40" in html
    assert "Data fingerprint" in dataset_markdown(ctx)
    # the other card's page shows the same measurement, from its side
    other = PageContext(card=covidx, cards=cards, page_url=lambda i: f"../{i}/")
    back = fingerprint(other, covidx.configs[0])
    assert '<a href="../covid-ct/">covid-ct</a>' in back and "90 (&le; 24 bits)" in back
    # a card without fingerprints, and nobody pointing at it, gets no section
    plain = load_card("cncb")
    assert fingerprint(PageContext(card=plain, cards={"cncb": plain}, page_url=lambda i: None), plain.configs[0]) == ""


def test_a_fingerprint_match_must_name_a_known_card() -> None:
    """Duplicates measured against another card are shown on both pages: an unknown id is C305."""
    from covidct.card.checks import check_card
    from covidct.registry import registry

    card = registry().get("cncb").model_copy(deep=True)
    card.configs[0].fingerprint = Fingerprint.model_validate(
        {"url": "https://example.org/m.parquet", "sha256": "0" * 64, "files": 1, "date": "2026-12-01",
         "matches": [{"card": "no-such-card", "near": 24, "images": 1}]})
    found = [f for f in check_card(card, known_ids=set(registry().cards())) if f.code == "C305"]
    assert [f.path[-2:] for f in found] == [(0, "card")]
