"""The card document is one list of sections rendered three ways, and each rendering states every fact.

The site page (HTML), the Hub README (Markdown) and ``covidct show`` (text) walk
``render/document.SECTIONS``; each renderer has a function for a section or says why it leaves it out.
Every fact of ``render/facts`` that a reader needs (the license page, the DOI, the headline counts,
that the terms must be accepted, that the data is gone, why a config cannot be loaded, which counts are
of another release) appears in all three renderings of every card. Before: ``show`` printed no license
page for a plain SPDX id, no DOI URL and no size, and the site said nothing about accepting terms for
an access kind that implies it (request, registration, competition) where the README said so.
"""

from __future__ import annotations

import copy
import html
from typing import Any

import pytest

from cardtools import base_card
from conftest import need
from covidct.card.model import Card
from covidct.hf.readme import OMITTED as MD_OMITTED
from covidct.hf.readme import RENDER as MD_RENDER
from covidct.hf.readme import md_inline, render_readme
from covidct.registry import registry
from covidct.render.document import KEYS, SECTIONS
from covidct.render.facts import card_facts, release_note
from covidct.render.text import OMITTED as TEXT_OMITTED
from covidct.render.text import RENDER as TEXT_RENDER
from covidct.render.text import card_text

need("jinja2")

from covidct.site.sections import OMITTED as HTML_OMITTED  # noqa: E402
from covidct.site.sections import RENDER as HTML_RENDER  # noqa: E402
from covidct.site.sections import PageContext, dataset_markdown  # noqa: E402

TARGETS = {"html": (HTML_RENDER, HTML_OMITTED), "markdown": (MD_RENDER, MD_OMITTED),
           "text": (TEXT_RENDER, TEXT_OMITTED)}


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_renderer_renders_or_names_every_section(target: str) -> None:
    render, omitted = TARGETS[target]
    assert len(set(KEYS)) == len(KEYS)
    assert set(render) | set(omitted) == set(KEYS), target
    assert not set(render) & set(omitted), target
    assert all(why.strip() for why in omitted.values())
    flags = "".join("c" if s.per_config else "." for s in SECTIONS)
    assert "." not in flags.strip("."), flags  # the per-config sections are one run (one heading per config)


def _variant(**access: Any) -> Card:
    """cncb with a changed access, a plain SPDX id without URL, a count of another release and one config
    without a layout."""
    data = copy.deepcopy(base_card().model_dump(mode="json", exclude_none=True))
    data["access"] = {**data["access"], **access}
    data["license"] = {**data["license"], "id": "CC-BY-4.0", "name": "Creative Commons Attribution 4.0"}
    data["license"].pop("url", None)
    cfg = data["configs"][0]
    src = cfg["counts"][0]["source"]
    cfg["counts"].append({"level": "scans", "total": 99, "release": "v0-preprint", "source": src})
    extra = copy.deepcopy(cfg)
    extra["name"] = "undescribed"
    for key in ("layout", "verified", "fingerprint"):
        extra.pop(key, None)
    data["configs"].append(extra)
    return Card.model_validate(data)


GONE = {"reason": "withdrawn", "since": "2019-05-01", "checked": "2026-11-30", "source": ["paper"]}
VARIANTS = {"request": lambda: _variant(kind="request"), "unavailable": lambda: _variant(kind="unavailable",
                                                                                        unavailable=GONE)}
CASES = [*sorted(registry().cards()), *VARIANTS]


def _card(case: str) -> Card:
    return VARIANTS[case]() if case in VARIANTS else registry().get(case)


def _renderings(card: Card) -> dict[str, str]:
    page = dataset_markdown(PageContext(card=card, cards={card.id: card}, page_url=lambda o: None))
    return {"html": html.unescape(page), "markdown": render_readme(card, "card"), "text": card_text(card)}


@pytest.mark.parametrize("case", CASES)
def test_every_rendering_states_every_fact(case: str) -> None:
    card = _card(case)
    facts = card_facts(card)
    docs = _renderings(card)
    # what each rendering must contain, as that rendering writes it (the README escapes card text)
    wanted: list[tuple[str, str]] = []
    for url in (facts.license_url, facts.doi_url):
        if url:
            wanted.append((url, url))
    for level, n in facts.headline_counts:
        wanted.append((f"{n:,} {level.value}", f"{n:,} {level.value}"))
    if facts.gated:
        wanted.append(("must accept the terms", "must accept the terms"))
    if facts.unavailable:
        wanted.append((facts.unavailable, md_inline(facts.unavailable)))
    for cf in facts.configs:
        if cf.not_loadable:
            wanted.append((cf.not_loadable, md_inline(cf.not_loadable)))
        for cnt in cf.other_release_counts:
            wanted.append((release_note(cnt), md_inline(release_note(cnt))))
    assert wanted or case not in VARIANTS
    for plain, markdown in wanted:
        assert plain in docs["html"], ("html", plain)
        assert markdown in docs["markdown"], ("markdown", markdown)
        assert plain in docs["text"], ("text", plain)


def test_the_variants_exercise_every_fact() -> None:
    """The test above cannot pass vacuously: its two extra cards state each fact it checks."""
    req, gone = (card_facts(VARIANTS[v]()) for v in ("request", "unavailable"))
    assert req.gated and req.license_url == "https://spdx.org/licenses/CC-BY-4.0.html" and req.headline_counts
    assert gone.unavailable and any(c.not_loadable for c in gone.configs)
    assert any(c.other_release_counts for c in req.configs) and req.doi_url
