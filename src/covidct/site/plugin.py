"""The mkdocs plugin that turns cards into pages (entry point ``covidct``).

In ``mkdocs.yml``::

    plugins:
      - search
      - covidct:
          cards_dir: cards          # relative to mkdocs.yml; default $COVIDCT_CARDS or the repo's cards/

At build time it validates the cards (an invalid card stops the build with every located issue),
then adds generated pages to the site: ``datasets/index.md`` (the catalog), ``datasets/<id>.md`` (one
per card), ``reference/card.md`` and ``reference/issues.md``, the catalog's own JS/CSS (no CDN), and
``croissant/<id>.json`` when :mod:`covidct.export.croissant` is available. Each dataset page gets
schema.org JSON-LD in its ``<head>`` and an edit link to ``cards/<id>.yaml`` in the repository.
Pages that exist in ``docs_dir`` win over generated ones with the same path.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from mkdocs.config import config_options as c
from mkdocs.config.base import Config
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority
from mkdocs.structure.files import File, Files

from covidct.card.model import Card
from covidct.site.html import esc

log = logging.getLogger("mkdocs.plugins.covidct")
ASSETS = Path(__file__).resolve().parent / "assets"
ASSET_FILES = ("covidct.css", "covidct.js")
DATASETS = "datasets"


class CovidctConfig(Config):
    cards_dir = c.Type(str, default="")
    cards_edit_uri = c.Type(str, default="edit/main/cards/")
    cards_view_uri = c.Type(str, default="blob/main/cards/")
    croissant = c.Type(bool, default=True)
    jsonld = c.Type(bool, default=True)


FALLBACK_HOME = """# covidct

A registry of lung and COVID-19 imaging datasets, one card per dataset.

- [The catalog](datasets/index.md): every dataset, with filters.
- [The card reference](reference/card.md) and [the validation issues](reference/issues.md).
"""


class CovidctPlugin(BasePlugin[CovidctConfig]):
    def __init__(self) -> None:
        super().__init__()
        self.preloaded: dict[str, Card] | None = None  # set by covidct.site.build (cards already validated)
        self.cards: dict[str, Card] = {}
        self.kind: dict[str, tuple[str, Any]] = {}  # src_uri -> (kind, payload)
        self.jsonld: dict[str, str] = {}  # src_uri -> <script> tag
        self._croissant: Any = None
        self._graph: dict[str, list[Any]] = {}
        self._referenced_by: dict[str, list[tuple[str, str, str | None]]] = {}

    # ------------------------------------------------------------------------------------ config

    def cards_path(self, config: Any) -> Path:
        from covidct.settings import settings

        raw = self.config.cards_dir or settings().cards_dir
        if raw:
            p = Path(raw)
            if not p.is_absolute() and config.config_file_path:
                p = Path(config.config_file_path).resolve().parent / p
            return p
        from covidct.registry import default_cards_dir

        return default_cards_dir()

    @staticmethod
    def _load_cards(path: Path) -> dict[str, Card]:
        """Every card, validated as the registry does; any error stops the build with every issue."""
        from covidct.registry import CardError, Registry

        try:
            return Registry(path).cards()
        except CardError as exc:
            raise PluginError(f"covidct: the cards in {path} do not validate:\n{exc}") from None

    def on_config(self, config: Any) -> Any:
        if self.preloaded is not None:
            self.cards = dict(self.preloaded)
        else:
            self.cards = self._load_cards(self.cards_path(config))
        self._croissant = None
        if self.config.croissant:
            try:
                from covidct.export.croissant import croissant_for

                self._croissant = croissant_for
            except ImportError:
                self._croissant = None
        from covidct.lineage import graph

        self._graph = graph(self.cards)
        self._referenced_by = {}
        for other in self.cards.values():
            for lin in other.lineage:
                if lin.card != other.id:
                    self._referenced_by.setdefault(lin.card, []).append((other.id, lin.relation.value, lin.note))
        for name in ASSET_FILES:
            uri = f"assets/covidct/{name}"
            target = config.extra_css if name.endswith(".css") else config.extra_javascript
            if uri not in [str(x) for x in target]:
                target.append(uri)
        return config

    # ------------------------------------------------------------------------------------ files

    def on_files(self, files: Files, config: Any) -> Files:
        self.kind = {}
        self.jsonld = {}

        def add(src_uri: str, kind: str, payload: Any = None, **kw: Any) -> None:
            if files.get_file_from_path(src_uri) is not None:
                if kind in ("dataset", "catalog"):
                    log.info("covidct: %s exists in docs_dir; the generated page is not used", src_uri)
                return
            files.append(File.generated(config, src_uri, **kw))
            if kind != "static":
                self.kind[src_uri] = (kind, payload)

        for name in ASSET_FILES:
            add(f"assets/covidct/{name}", "static", abs_src_path=str(ASSETS / name))
        add("index.md", "home", content=FALLBACK_HOME)
        add(f"{DATASETS}/index.md", "catalog", content="")
        for cid in sorted(self.cards):
            add(f"{DATASETS}/{cid}.md", "dataset", cid, content="")
        add("reference/card.md", "reference", content="")
        add("reference/issues.md", "issues", content="")
        add("concepts.md", "concepts", content="")
        if self._croissant is not None:
            import json

            for cid, card in sorted(self.cards.items()):
                try:
                    doc = self._croissant(card)
                except Exception as exc:
                    log.warning("covidct: no Croissant file for %s: %s: %s", cid, type(exc).__name__, exc)
                    continue
                # compact: json's C encoder (indent= would use the slow pure-Python one)
                add(f"croissant/{cid}.json", "static", content=json.dumps(doc, ensure_ascii=False) + "\n")
        return files

    # ------------------------------------------------------------------------------------ pages

    def on_page_markdown(self, markdown: str, page: Any, config: Any, files: Files) -> str:
        entry = self.kind.get(page.file.src_uri)
        if entry is None:
            return markdown
        kind, payload = entry
        if kind == "home":
            return markdown
        if kind == "catalog":
            from covidct.site.pages import catalog_markdown

            page.meta["title"] = "Datasets"
            page.meta["hide"] = ["toc"]
            page.meta["description"] = esc(f"Catalog of the {len(self.cards)} datasets of the covidct registry.")
            return catalog_markdown(self.cards, lambda cid: self._rel(files, page, cid) or "")
        if kind == "reference":
            from covidct.site.pages import card_reference_markdown

            page.meta["title"] = "Card reference"
            return card_reference_markdown()
        if kind == "concepts":
            from covidct.site.pages import concepts_markdown

            page.meta["title"] = "Concepts"
            page.meta["description"] = "The registry's datasets by the concepts their classes stand for."
            return concepts_markdown(self.cards, lambda cid: self._rel(files, page, cid) or "")
        if kind == "issues":
            from covidct.site.pages import issues_markdown

            page.meta["title"] = "Validation errors"
            return issues_markdown()
        return self._dataset(payload, page, config, files)

    def _rel(self, files: Files, page: Any, cid: str) -> str | None:
        f = files.get_file_from_path(f"{DATASETS}/{cid}.md")
        return f.url_relative_to(page.file) if f is not None and cid in self.cards else None

    def _dataset(self, cid: str, page: Any, config: Any, files: Files) -> str:
        from covidct.export.schemaorg import dataset_jsonld, script_tag
        from covidct.site.sections import PageContext, dataset_markdown

        card = self.cards[cid]
        page.meta["title"] = esc(card.name)  # the theme prints titles unescaped
        page.meta["description"] = esc(card.summary)
        repo = (config.repo_url or "").rstrip("/")
        edit = f"{repo}/{self.config.cards_edit_uri.strip('/')}/{cid}.yaml" if repo else None
        view = f"{repo}/{self.config.cards_view_uri.strip('/')}/{cid}.yaml" if repo else None
        page.edit_url = edit
        croissant = files.get_file_from_path(f"croissant/{cid}.json") if self._croissant else None
        croissant_rel = croissant.url_relative_to(page.file) if croissant is not None else None
        ctx = PageContext(
            card=card, cards=self.cards, page_url=lambda other: self._rel(files, page, other),
            edit_url=edit, view_url=view, croissant_url=croissant_rel,
            referenced_by=self._referenced_by.get(cid, []),
            overlaps=self._overlaps(cid),
        )
        if self.config.jsonld:
            site = config.site_url or ""
            absolute = (lambda u: urljoin(site, u)) if site else (lambda u: None)
            related = {}
            for lin in card.lineage:
                f = files.get_file_from_path(f"{DATASETS}/{lin.card}.md")
                if f is not None and site:
                    related[lin.card] = urljoin(site, f.url)
            cat = files.get_file_from_path(f"{DATASETS}/index.md")
            data = dataset_jsonld(
                card, url=absolute(page.file.url), catalog_url=absolute(cat.url) if cat else None,
                related=related,
                croissant_url=absolute(croissant.url) if croissant is not None else None)
            self.jsonld[page.file.src_uri] = script_tag(data)
        return dataset_markdown(ctx)

    def _overlaps(self, cid: str, max_hops: int = 3) -> list[Any]:
        """Cards linked to ``cid`` by lineage within ``max_hops`` edges (breadth-first, shortest first)."""
        from covidct.lineage import shortest_chains
        from covidct.site.sections import OVERLAP_RELATIONS, Overlap

        overlapping = {r.value for r in OVERLAP_RELATIONS} | {"source of", "superset of", "subset of",
                                                               "same source as"}
        chains = shortest_chains(self._graph, cid, max_hops, follow=lambda e: e.relation in overlapping)
        return [Overlap(other, [e.text() for e in path], len(path) == 1) for other, path in chains.items()]

    @event_priority(-50)
    def on_post_page(self, output: str, page: Any, config: Any) -> str:
        tag = self.jsonld.get(page.file.src_uri)
        if not tag:
            return output
        i = output.find("</head>")
        if i < 0:
            return output
        return output[:i] + tag + "\n" + output[i:]

