"""A card whose text holds <script>, javascript: links and event-handler attributes renders inert,
and a card with only the required fields still gives a complete page. Both sites build strictly."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sitebuild

from conftest import need
from covidct.site.html import safe_url


@pytest.fixture(scope="module")
def site() -> Path:
    need("mkdocs")
    need("material")
    return sitebuild.hostile_site()


class Scan(HTMLParser):
    """Every element's attributes and every <script> element's type, src and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.attrs: list[tuple[str, str, str | None]] = []
        self.scripts: list[dict[str, str | None]] = []
        self._in_script: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for k, v in attrs:
            self.attrs.append((tag, k, v))
        if tag == "script":
            a = dict(attrs)
            self._in_script = {"type": a.get("type"), "src": a.get("src"), "text": ""}
            self.scripts.append(self._in_script)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = None

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            self._in_script["text"] = (self._in_script["text"] or "") + data


def pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_no_script_from_card_text(site: Path) -> None:
    """Every <script> is the theme's, ours, or JSON-LD; none holds an alert from the card."""
    for p in pages(site):
        s = Scan()
        s.feed(p.read_text(encoding="utf-8"))
        for sc in s.scripts:
            assert "alert(" not in (sc["text"] or "") or sc["type"] == "application/ld+json", (p, sc)
            if sc["src"]:
                assert not re.match(r"^(https?:)?//", sc["src"]), (p, sc)
        for tag, k, v in s.attrs:
            assert not k.lower().startswith("on"), (p, tag, k, v)
            if k in ("href", "src", "action", "formaction") and v:
                assert not re.match(r"^\s*(javascript|data|vbscript):", html.unescape(v), re.I), (p, tag, k, v)
            if k == "href" and v and ":" in v.split("/")[0]:
                assert safe_url(v) is not None, (p, v)


def test_hostile_text_is_visible_as_text(site: Path) -> None:
    page = (site / "datasets" / sitebuild.HOSTILE_ID / "index.html").read_text(encoding="utf-8")
    assert "<script>alert(" not in page
    assert "&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;" in page  # shown, escaped
    assert "&lt;img src=x onerror=alert(2)&gt;" in page  # an alias, as text
    assert 'href="https://example.org/ok"' in page  # a safe link in the description survives
    body = page[page.index("<body"):]
    assert "<span>click me</span>" in body  # the unsafe link keeps its text, loses its target
    assert not re.search(r"<[a-z]+[^<>]*\s(href|src)=[\"']?\s*javascript", body, re.I)  # no real tag
    # the page title cannot be closed early by the name or summary
    title = re.search(r"<title>(.*?)</title>", page, re.S)
    assert title and "<" not in title.group(1)
    assert '<meta name="description" content="&lt;/title&gt;&lt;script&gt;' in page


def test_jsonld_round_trips_and_stays_inside_its_element(site: Path) -> None:
    page = (site / "datasets" / sitebuild.HOSTILE_ID / "index.html").read_text(encoding="utf-8")
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert len(blocks) == 1
    raw = blocks[0]
    assert "<" not in raw and ">" not in raw
    data = json.loads(raw)
    card = sitebuild.hostile_card()
    assert data["name"] == card["name"]
    assert data["alternateName"] == card["aliases"]
    assert "</script><script>alert(11)</script>" in data["description"]


def test_catalog_row_attributes_are_escaped(site: Path) -> None:
    page = (site / "datasets" / "index.html").read_text(encoding="utf-8")
    s = Scan()
    s.feed(page)
    rows = [(k, v) for tag, k, v in s.attrs if tag == "tr" and k == "data-anatomy"]
    assert ("data-anatomy", json.dumps(["<b onclick=alert(13)>chest</b>"])) in rows


def test_search_index_holds_text_only(site: Path) -> None:
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    for d in index["docs"]:
        for field in ("title", "text"):
            assert "<script" not in d[field] and "<img" not in d[field], d
    assert any("恶意数据集" in d["text"] for d in index["docs"])


def test_card_with_required_fields_only(site: Path) -> None:
    page = (site / "datasets" / sitebuild.PLAIN_ID / "index.html").read_text(encoding="utf-8")
    assert "<h1>Plain dataset</h1>" in page
    for text in ("The card gives no counts", "The card lists no sources", "The card gives no citation",
                 "the card describes no file layout", "covidct.load_card(",
                 "Data no longer distributed"):  # the plain card's access is `unavailable`
        assert text in page, text
    # the hostile card names this one in its lineage: the reverse link and the overlap warning show
    assert 'href="../evil/"' in page
    assert "Overlap with other datasets" in page


def test_overlap_warning_on_the_derived_card(site: Path) -> None:
    page = (site / "datasets" / sitebuild.HOSTILE_ID / "index.html").read_text(encoding="utf-8")
    assert "Overlap with other datasets" in page
    assert 'href="../plain/"' in page


def test_site_step_of_covidct_build(tmp_path: Path) -> None:
    need("mkdocs")
    from covidct.registry import Registry
    from covidct.site.build import site_step

    cards_dir = sitebuild.hostile_cards()
    summary = site_step(cards_dir, tmp_path, Registry(cards_dir).cards())
    assert "2 dataset page(s)" in summary
    assert (tmp_path / "site" / "datasets" / "plain" / "index.html").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left
