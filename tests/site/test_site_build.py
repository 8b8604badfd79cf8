"""The real site, built strictly from the registry's cards: what each generated page must show.

Expectations are computed from the Card objects, never typed in, so the test follows the cards as
they change.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
import sitebuild

from conftest import need
from covidct.card.issues import KINDS
from covidct.card.model import Card
from covidct.registry import Registry


@pytest.fixture(scope="module")
def site() -> Path:
    need("mkdocs")
    need("material")
    return sitebuild.real_site()


@pytest.fixture(scope="module")
def cards() -> dict[str, Card]:
    return Registry(sitebuild.CARDS).cards()


def read(site: Path, rel: str) -> str:
    return (site / rel).read_text(encoding="utf-8")


def jsonld(page: str) -> dict:
    m = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert m, "no JSON-LD in the page"
    head_end = page.index("</head>")
    assert m.start() < head_end, "JSON-LD must be in <head>"
    return json.loads(m.group(1))


def test_every_card_has_a_page_and_a_catalog_row(site: Path, cards: dict[str, Card]) -> None:
    catalog = read(site, "datasets/index.html")
    rows = re.findall(r'<tr data-id="([^"]+)"', catalog)
    assert sorted(rows) == sorted(cards)
    for cid, card in cards.items():
        page = read(site, f"datasets/{cid}/index.html")
        assert f"<h1>{html.escape(card.name)}</h1>" in page
        assert f'href="{cid}/"' in catalog


def test_catalog_is_offline(site: Path) -> None:
    page = read(site, "datasets/index.html")
    srcs = re.findall(r'<script[^>]*\ssrc="([^"]+)"', page)
    sheets = re.findall(r'<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"|<link[^>]*href="([^"]+)"[^>]*rel="stylesheet"',
                        page)
    urls = srcs + [a or b for a, b in sheets]
    assert any(u.endswith("assets/covidct/covidct.js") for u in srcs)
    assert any(u.endswith("assets/covidct/covidct.css") for u in urls)
    for u in urls:
        assert not re.match(r"^(https?:)?//", u), f"{u} is not served by the site itself"
        assert (site / "datasets" / u).resolve().is_file() or (site / u.lstrip("./")).is_file(), u


def test_catalog_filters_offer_every_value(site: Path, cards: dict[str, Card]) -> None:
    page = read(site, "datasets/index.html")
    for key, values in {
        "modality": {m.value for c in cards.values() for m in c.modality},
        "task": {t.value for c in cards.values() for cfg in c.configs for t in cfg.tasks},
        "access": {c.access.kind.value for c in cards.values()},
        "license": {c.license.id for c in cards.values()},
        "anatomy": {a for c in cards.values() for a in c.anatomy},
    }.items():
        m = re.search(rf'<select data-filter="{key}">(.*?)</select>', page, re.S)
        assert m, key
        offered = set(re.findall(r'<option value="([^"]*)"', m.group(1))) - {""}
        assert offered == {html.escape(v) for v in values}, key


def test_cncb_page_sections(site: Path, cards: dict[str, Card]) -> None:
    card = cards["cncb"]
    page = read(site, "datasets/cncb/index.html")
    # label table with mask colour swatches
    assert 'class="covidct-labels"' in page
    for cfg in card.configs:
        for lab in cfg.labels:
            for mv in lab.mask_values:
                if mv.color:
                    assert f'class="covidct-swatch" style="background:{mv.color}"' in page
            for cd in lab.classes:
                assert f"<td>{html.escape(cd.name)}</td>" in page
    # a class-balance chart for every config that gives per-class counts, with every class in it
    charts = re.findall(r'<svg class="covidct-chart".*?</svg>', page, re.S)
    with_classes = [cfg for cfg in card.configs if any(c.by_class for c in cfg.counts)]
    assert len(charts) == len(with_classes)
    for svg, cfg in zip(charts, with_classes, strict=True):
        for cnt in cfg.counts:
            for name, n in cnt.by_class.items():
                assert f"{html.escape(name)}: {n:,}" in svg
    # BibTeX with its copy button
    if card.citation and card.citation.bibtex:
        assert html.escape(card.citation.bibtex.strip()) in page
        assert 'data-covidct-copy="bibtex-cncb"' in page
    # layout tree, downloads with checksums, loading code, edit link, last reviewed, aliases
    assert 'class="covidct-tree"' in page
    for d in card.downloads:
        if d.md5:
            assert d.md5 in page
    assert 'covidct.load_dataset(&quot;covidct/cncb&quot;' in page
    assert 'href="https://github.com/covidct/covidct/edit/main/cards/cncb.yaml"' in page
    assert card.last_reviewed.isoformat() in page
    for alias in card.aliases:
        assert html.escape(alias) in page


def test_dataset_pages_have_schemaorg_jsonld(site: Path, cards: dict[str, Card]) -> None:
    for cid, card in cards.items():
        data = jsonld(read(site, f"datasets/{cid}/index.html"))
        assert data["@type"] == "Dataset"
        assert data["name"] == card.name
        assert data["url"].endswith(f"/datasets/{cid}/")
        assert f"covidct/{cid}" in data["identifier"]
        assert 50 <= len(data["description"]) <= 5000


def test_croissant_files_are_linked_when_the_exporter_exists(site: Path, cards: dict[str, Card]) -> None:
    try:
        from covidct.export.croissant import croissant_for  # noqa: F401
    except ImportError:
        assert not (site / "croissant").exists()
        pytest.skip("covidct.export.croissant is not part of this version")
    for cid in cards:
        doc = json.loads(read(site, f"croissant/{cid}.json"))
        assert doc["name"]
        assert 'href="../../croissant/' + cid + '.json"' in read(site, f"datasets/{cid}/index.html")


def test_aliases_are_in_the_search_index(site: Path, cards: dict[str, Card]) -> None:
    index = json.loads(read(site, "search/search_index.json"))
    text = {d["location"].split("#")[0]: "" for d in index["docs"]}
    for d in index["docs"]:
        text[d["location"].split("#")[0]] += d["title"] + " " + d["text"]
    for cid, card in cards.items():
        for alias in card.aliases:
            assert html.escape(alias, quote=False) in text[f"datasets/{cid}/"], alias
    # Han characters are split one by one, so any part of a Chinese name finds the page
    sep = index["config"]["separator"]
    assert "\\u3400-\\u9fff" in sep


def _fields(schema: dict) -> dict[str, list[str]]:
    out = {"Card": list(schema["properties"])}
    for name, d in schema["$defs"].items():
        if "properties" in d:
            out[name] = list(d["properties"])
    return out


def test_card_reference_lists_every_field_and_value(site: Path) -> None:
    page = read(site, "reference/card/index.html")
    schema = Card.model_json_schema()
    for model, fields in _fields(schema).items():
        for f in fields:
            assert f'id="ref-{model.lower()}-{f}"' in page, f"{model}.{f}"
    for name, d in schema["$defs"].items():
        for v in d.get("enum", []):
            assert f"<code>{html.escape(str(v))}</code>" in page, f"{name}: {v}"
    from covidct.card.vocab import Modality

    for text in Modality.describe().values():
        if text:
            assert html.escape(text) in page


def test_error_codes_page_lists_every_kind(site: Path) -> None:
    page = read(site, "reference/issues/index.html")
    for code, kind in KINDS.items():
        assert f'<tr id="{code}">' in page
        assert html.escape(kind.title) in page


def test_home_page_is_hand_written_and_links_the_generated_pages(site: Path) -> None:
    page = read(site, "index.html")
    assert 'href="datasets/"' in page
    assert 'href="reference/card/"' in page


def test_relative_out_without_mkdocs_yml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`covidct build --out out` in a folder with no mkdocs.yml (an installed covidct): the site lands
    in ./out/site, not in the fallback config's temporary folder."""
    need("mkdocs")
    need("material")
    import shutil

    from covidct.site.build import build_site

    monkeypatch.chdir(tmp_path)
    (tmp_path / "cards").mkdir()
    shutil.copyfile(sitebuild.CARDS / "cncb.yaml", tmp_path / "cards" / "cncb.yaml")
    assert build_site(Path("cards"), Path("out") / "site") == 1
    assert (tmp_path / "out" / "site" / "index.html").is_file()
    assert (tmp_path / "out" / "site" / "datasets" / "cncb" / "index.html").is_file()
