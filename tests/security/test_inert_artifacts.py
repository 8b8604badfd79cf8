"""A hostile card cannot execute or inject through the artifacts generated from it.

The card (see _hostile.py) is valid and carries Python, YAML, Markdown, HTML and template syntax in
every free-text field. Each generator must give the text back as inert data: the loading script
imports without side effects and holds exactly the card; the README's YAML front matter round-trips
and has only the keys covidct writes; its Markdown renders to HTML without active content; Croissant
and schema.org JSON-LD parse back to the card's text; the site page has no script, handler or
javascript: link that the card put there.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import _hostile
import pytest
import yaml

from conftest import REPO, need
from covidct.card.model import Card

CARDS = [pytest.param(_hostile.card(_hostile.ALL), id="all")] + [
    pytest.param(_hostile.card(p), id=f"payload{i}") for i, p in enumerate(_hostile.PAYLOADS)
]


@pytest.fixture(autouse=True)
def _no_side_effects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run in an empty folder; afterwards no payload may have created its sentinel file."""
    monkeypatch.chdir(tmp_path)
    yield
    assert not (tmp_path / _hostile.SENTINEL).exists(), "card text was executed"
    assert not Path(_hostile.SENTINEL).exists()


# ------------------------------------------------------------------------------------------ HTML checks


class _Active(HTMLParser):
    """Collects what could run in a browser: script elements, on* handlers, javascript:/data: URLs."""

    URL_ATTRS: ClassVar[set[str]] = {"href", "src", "action", "formaction", "xlink:href", "poster", "data", "srcdoc"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.problems: list[str] = []
        self._in_script: dict[str, str | None] | None = None
        self._buf: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            self._in_script, self._buf = a, []
        if tag in ("iframe", "object", "embed", "base"):  # <meta> is checked below: only a refresh is active
            self.problems.append(f"<{tag}>")
        if tag == "meta" and (a.get("http-equiv") or "").lower() == "refresh":
            self.problems.append("<meta refresh>")
        for k, v in attrs:
            if k.startswith("on"):
                self.problems.append(f"<{tag} {k}=...>")
            if k in self.URL_ATTRS and v is not None:
                scheme = re.sub(r"[\x00-\x20]+", "", v).lower()
                if scheme.startswith(("javascript:", "vbscript:", "data:text/html")):
                    self.problems.append(f"<{tag} {k}={v!r}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag == "script":
            self.handle_endtag(tag)

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            self._buf.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._in_script is not None:
            self.scripts.append((self._in_script, "".join(self._buf)))
            self._in_script = None


def active_content(html: str) -> _Active:
    p = _Active()
    p.feed(html)
    p.close()
    return p


@pytest.mark.parametrize("html", [
    '<iframe src="x"></iframe>', "<object></object>", "<embed>", '<base href="//evil">',
    '<meta http-equiv="Refresh" content="0; url=//evil">', '<a href=" java\tscript:x">', "<img onerror=x>",
    '<form action="data:text/html,x">',
])
def test_the_checker_sees_active_content(html: str) -> None:
    """The HTML checks below can fail: each kind of active content is reported."""
    assert active_content(f"<p>{html}</p>").problems


def test_the_checker_lets_plain_meta_pass() -> None:
    assert active_content('<meta charset="utf-8"><meta name="viewport" content="x"><a href="/x">x</a>').problems == []


def assert_no_card_script(html: str, allowed_src: tuple[str, ...] = ()) -> list[Any]:
    """No active content from the card; JSON-LD scripts must parse as JSON. Returns the JSON-LD data."""
    found = active_content(html)
    assert found.problems == []
    jsonld = []
    for attrs, body in found.scripts:
        if attrs.get("type") == "application/ld+json":
            jsonld.append(json.loads(body))  # the whole element body is one JSON document
            continue
        src = attrs.get("src") or ""
        assert src and src.startswith(allowed_src) and body.strip() == "", f"unexpected script {attrs} {body[:80]!r}"
    return jsonld


# ------------------------------------------------------------------------------------------ loading script


def _import_script(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"covidct_hostile_script_{abs(hash(path))}", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.modules.pop(spec.name, None)
    return mod


@pytest.mark.parametrize("card", CARDS)
def test_loading_script_holds_the_card_as_data(card: Card, tmp_path: Path) -> None:
    need("datasets")
    from covidct.hf.scripts import card_from_script, script_source

    src = script_source(card)
    path = tmp_path / "hostile" / "hostile.py"
    path.parent.mkdir()
    path.write_text(src, encoding="utf-8")
    # the card's text never appears as code: only inside the one JSON string literal
    assert _hostile.SENTINEL not in "".join(line for line in src.splitlines() if not line.startswith("_CARD_JSON"))
    mod = _import_script(path)
    assert card.model_dump(mode="json", exclude_none=True) == mod._CARD
    assert [c.name for c in mod.CovidctHostile.BUILDER_CONFIGS] == ["classification", "segmentation"]
    assert card_from_script(path.parent) == card  # read back without executing


# ------------------------------------------------------------------------------------------ README


def _split_readme(text: str) -> tuple[dict[str, Any], str]:
    assert text.startswith("---\n")
    end = text.index("\n---\n", 4)
    return yaml.safe_load(text[4:end + 1]), text[end + 5:]


@pytest.mark.parametrize("card", CARDS)
def test_readme_front_matter_round_trips(card: Card) -> None:
    from covidct.hf.readme import render_readme

    for kind in ("scripts", "parquet"):
        fm, body = _split_readme(render_readme(card, kind))
        assert fm["pretty_name"] == card.name
        assert set(fm) <= {"pretty_name", "license", "license_name", "license_link", "task_categories", "task_ids",
                           "size_categories", "tags", "viewer", "extra_gated_prompt", "extra_gated_fields", "configs",
                           "dataset_info", "language", "annotations_creators", "source_datasets"}
        assert fm.get("license_name", card.license.name) is not None
        # the front matter ended where covidct ended it: the body holds no second front matter
        assert not body.lstrip().startswith("---")


@pytest.mark.parametrize("card", CARDS[:1] + CARDS[4:8])
def test_readme_class_names_round_trip_in_dataset_info(card: Card) -> None:
    """The Hub README's dataset_info carries ClassLabel names taken from the card: still data."""
    datasets = need("datasets")
    from covidct.hf.export import _plain
    from covidct.hf.features import features_for
    from covidct.hf.readme import render_readme

    cfg = card.config("classification")
    info = datasets.DatasetInfo(features=features_for(card, cfg))
    infos = [{"config_name": cfg.name, **_plain(info._to_yaml_dict())}]
    configs = [{"config_name": cfg.name, "data_files": [{"split": "train", "path": "data/x/train-*"}]}]
    fm, _ = _split_readme(render_readme(card, "parquet", configs=configs, dataset_info=infos))
    (entry,) = fm["dataset_info"]
    feats = {f["name"]: f for f in entry["features"]}
    names = feats["label"]["dtype"]["class_label"]["names"] if "dtype" in feats["label"] else \
        feats["label"]["class_label"]["names"]
    assert list(names.values()) == [c.name for c in sorted(cfg.labels[0].classes, key=lambda c: c.value)]
    assert datasets.Features._from_yaml_list(entry["features"]) == info.features


@pytest.mark.parametrize("card", CARDS)
def test_readme_markdown_renders_without_active_content(card: Card) -> None:
    markdown = need("markdown")
    from covidct.hf.readme import render_readme

    _, body = _split_readme(render_readme(card, "scripts"))
    html = markdown.markdown(body, extensions=["tables", "fenced_code"])
    assert_no_card_script(html)
    assert "<script" not in html and "<svg" not in html and "<img src=x" not in html


def test_readme_loading_snippets_are_valid_python() -> None:
    """The how-to-load code blocks quote card values as Python literals, never paste them."""
    import ast

    from covidct.hf.readme import render_readme

    body = render_readme(_hostile.card(), "scripts")
    blocks = re.findall(r"```python\n(.*?)```", body, flags=re.S)
    assert blocks
    for b in blocks:
        ast.parse(b)
        assert "os.system" not in b


# ------------------------------------------------------------------------------------------ JSON-LD


@pytest.mark.parametrize("card", CARDS)
def test_croissant_parses_back_to_the_card_text(card: Card) -> None:
    from covidct.export.croissant import croissant_json

    doc = json.loads(croissant_json(card))
    assert doc["name"] == card.name
    assert card.description.strip() in doc["description"]
    assert doc["alternateName"] == card.aliases
    assert doc["@context"] != "evil"
    texts = json.dumps(doc, ensure_ascii=False)
    assert "@id\": \"x\"" not in texts.replace('\\"@id\\": \\"x\\"', "")  # the payload stays inside a string


@pytest.mark.parametrize("card", CARDS)
def test_schema_org_script_tag_cannot_close_early(card: Card) -> None:
    from covidct.export.schemaorg import dataset_jsonld, script_tag

    data = dataset_jsonld(card, url="https://covidct.example/datasets/hostile/")
    tag = script_tag(data)
    (parsed,) = assert_no_card_script(f"<html><head>{tag}</head></html>")
    assert parsed == json.loads(json.dumps(data))
    assert parsed["name"] == card.name


# ------------------------------------------------------------------------------------------ site


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real `mkdocs build` of the site with one hostile card per payload (and one with all of them)."""
    need("mkdocs")
    need("covidct.site.plugin")
    mkdocs_yml = REPO / "mkdocs.yml"
    if not mkdocs_yml.is_file():
        pytest.fail("mkdocs.yml is missing")
    root = tmp_path_factory.mktemp("hostile-site")
    cards = root / "cards"
    cards.mkdir()
    payloads = [_hostile.ALL, *_hostile.PAYLOADS]
    for i, p in enumerate(payloads):
        data = _hostile.card_data(p)
        data["id"] = f"hostile-{i}"
        (cards / f"hostile-{i}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    benign = _hostile.card_data("Plain text without markup.")
    benign["id"] = "benign"
    benign["homepage"] = benign["license"]["url"] = benign["access"]["url"] = "https://example.org/data"
    benign["sources"][0]["url"] = benign["downloads"][0]["url"] = "https://example.org/data"
    benign["citation"]["doi"] = "10.1234/benign"
    (cards / "benign.yaml").write_text(yaml.safe_dump(benign, allow_unicode=True), encoding="utf-8")
    # the project's own configuration (theme, Markdown extensions such as attr_list), other cards
    cfg = {"INHERIT": str(mkdocs_yml), "docs_dir": str(REPO / "site"), "site_dir": str(root / "out"),
           "strict": False,  # hostile text may warn; what matters is what reaches the HTML
           "plugins": ["search", {"covidct": {"cards_dir": str(cards)}}]}
    (root / "mkdocs.yml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(root / "mkdocs.yml")],
                          capture_output=True, text=True, timeout=300, cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (root / _hostile.SENTINEL).exists()
    return root / "out"


def _page(site: Path, cid: str) -> str:
    hits = [p for p in (site / "datasets").rglob("*.html")
            if (p.name == "index.html" and p.parent.name == cid) or p.stem == cid]
    assert hits, f"no page for {cid} in {site}"
    return hits[0].read_text(encoding="utf-8")


def _scripts(html: str) -> tuple[list[Any], list[tuple[str, str]]]:
    """(JSON-LD documents, the other scripts as (src, body)); fails on any handler or javascript: URL."""
    found = active_content(html)
    assert found.problems == []
    jsonld = [json.loads(body) for attrs, body in found.scripts if attrs.get("type") == "application/ld+json"]
    other = [(a.get("src") or "", b) for a, b in found.scripts if a.get("type") != "application/ld+json"]
    return jsonld, other


@pytest.mark.parametrize("i", range(len(_hostile.PAYLOADS) + 1))
def test_site_page_renders_card_text_inert(hostile_site: Path, i: int) -> None:
    html = _page(hostile_site, f"hostile-{i}")
    jsonld, scripts = _scripts(html)
    # exactly the theme's scripts, as on the page of a card without markup: none came from the card
    assert scripts == _scripts(_page(hostile_site, "benign"))[1]
    card = _hostile.card([_hostile.ALL, *_hostile.PAYLOADS][i])
    names = [d.get("name") for d in jsonld if isinstance(d, dict)]
    assert card.name in names  # schema.org JSON-LD in the head carries the name as data


def test_site_catalog_is_inert(hostile_site: Path) -> None:
    html = (hostile_site / "datasets" / "index.html").read_text(encoding="utf-8")
    _, scripts = _scripts(html)
    assert not any("alert(1)" in body or _hostile.SENTINEL in body for _, body in scripts)
    assert "hostile-0" in html


def test_markdown_renderer_of_the_site_sanitises() -> None:
    html_mod = need("covidct.site.html")
    assert_no_card_script(html_mod.markdown_html(_hostile.ALL))


def test_hostile_card_is_a_valid_card(tmp_path: Path) -> None:
    """The artifact tests above use a card that passes validation, so nothing upstream stops it."""
    from covidct.card.validate import validate_file

    path = tmp_path / "hostile.yaml"
    path.write_text(yaml.safe_dump(_hostile.card_data(), allow_unicode=True), encoding="utf-8")
    result = validate_file(path)
    assert [i.format() for i in result.issues if i.severity.value == "error"] == []
    assert result.card == _hostile.card()
    assert os.path.getsize(path) < 200_000
