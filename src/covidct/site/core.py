"""The site's pages and assets from the cards, without any site generator.

This module does not import mkdocs (a test checks): it lists the files the site gets
(:meth:`Site.files`: generated pages, the catalog's CSS/JS, ``croissant/<id>.json``) and renders a
page (:meth:`Site.render`: Markdown body with HTML blocks, its metadata, its edit link and the HTML
that goes into its ``<head>``). A site generator's plugin is a thin adapter: it adds the files, asks
for each page, and resolves links between pages (``rel``/``absolute`` callables), because only the
generator knows where a page ends up. :mod:`covidct.site.plugin` is the mkdocs adapter; moving to
another generator (Material for MkDocs announced its end of life for 2027) means another adapter.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from covidct.card.model import Card
from covidct.errors import UserFacingError
from covidct.site.html import esc

ASSETS = Path(__file__).resolve().parent / "assets"
ASSET_FILES = ("covidct.css", "covidct.js")
ASSET_DIR = "assets/covidct"
DATASETS = "datasets"

FALLBACK_HOME = """# covidct

A registry of lung and COVID-19 imaging datasets, one card per dataset.

- [The catalog](datasets/index.md): every dataset, with filters.
- [The card reference](reference/card.md) and [the validation issues](reference/issues.md).
"""

# the links a page needs, resolved by the site generator:
Rel = Callable[[str], "str | None"]  # source path of another file -> URL relative to the page, None if absent
Absolute = Callable[[str], "str | None"]  # source path -> absolute URL, None if absent or no site URL


class SiteError(UserFacingError):
    """The cards cannot make a site (they do not validate)."""


@dataclass(frozen=True)
class SiteOptions:
    repo_url: str = ""
    site_url: str = ""
    cards_edit_uri: str = "edit/main/cards/"
    cards_view_uri: str = "blob/main/cards/"
    croissant: bool = True
    jsonld: bool = True


@dataclass(frozen=True)
class SiteFile:
    """One file the site gets: a page to render (``kind`` != "static"), or a static file (content or source)."""

    src_uri: str
    kind: str  # home, catalog, dataset, reference, issues, concepts, static
    content: str | None = None
    source: Path | None = None
    card_id: str | None = None


@dataclass
class RenderedPage:
    markdown: str
    meta: dict[str, Any] = field(default_factory=dict)
    edit_url: str | None = None
    head: str = ""  # HTML for the page's <head> (schema.org JSON-LD)


def load_cards(path: Path) -> dict[str, Card]:
    """Every card, validated as the registry does; any error stops the build with every issue."""
    from covidct.registry import CardError, Registry

    try:
        return Registry(path).cards()
    except CardError as exc:
        raise SiteError(f"covidct: the cards in {path} do not validate:\n{exc}") from None


def asset_uris() -> tuple[list[str], list[str]]:
    """The site's own stylesheets and scripts (no CDN), as (css, js) source paths."""
    uris = [f"{ASSET_DIR}/{name}" for name in ASSET_FILES]
    return [u for u in uris if u.endswith(".css")], [u for u in uris if u.endswith(".js")]


def inject_head(html: str, head: str) -> str:
    """``html`` with ``head`` put just before ``</head>`` (unchanged when there is none)."""
    if not head:
        return html
    i = html.find("</head>")
    if i < 0:
        return html
    return html[:i] + head + "\n" + html[i:]


class Site:
    """The generated part of the site for one set of cards."""

    def __init__(self, cards: dict[str, Card], options: SiteOptions | None = None) -> None:
        from covidct.lineage import graph

        self.cards = cards
        self.options = options or SiteOptions()
        self._croissant: Callable[[Card], dict[str, Any]] | None = None
        if self.options.croissant:
            try:
                from covidct.export.croissant import croissant_for

                self._croissant = croissant_for
            except ImportError:
                self._croissant = None
        self._graph = graph(cards)
        self._referenced_by: dict[str, list[tuple[str, str, str | None]]] = {}
        for other in cards.values():
            for lin in other.lineage:
                if lin.card != other.id:
                    self._referenced_by.setdefault(lin.card, []).append((other.id, lin.relation.value, lin.note))

    # ------------------------------------------------------------------------------------ files

    def files(self, warn: Callable[[str], None] = lambda msg: None) -> list[SiteFile]:
        """Every file the site gets, in order; ``warn`` hears of a card without a Croissant file."""
        out = [SiteFile(f"{ASSET_DIR}/{name}", "static", source=ASSETS / name) for name in ASSET_FILES]
        out.append(SiteFile("index.md", "home", content=FALLBACK_HOME))
        out.append(SiteFile(f"{DATASETS}/index.md", "catalog", content=""))
        out += [SiteFile(f"{DATASETS}/{cid}.md", "dataset", content="", card_id=cid) for cid in sorted(self.cards)]
        out.append(SiteFile("reference/card.md", "reference", content=""))
        out.append(SiteFile("reference/issues.md", "issues", content=""))
        out.append(SiteFile("concepts.md", "concepts", content=""))
        if self._croissant is not None:
            for cid, card in sorted(self.cards.items()):
                try:
                    doc = self._croissant(card)
                except Exception as exc:
                    warn(f"covidct: no Croissant file for {cid}: {type(exc).__name__}: {exc}")
                    continue
                # compact: json's C encoder (indent= would use the slow pure-Python one)
                out.append(SiteFile(f"croissant/{cid}.json", "static", content=json.dumps(doc, ensure_ascii=False)
                                    + "\n"))
        return out

    # ------------------------------------------------------------------------------------ pages

    def render(self, page: SiteFile, markdown: str, rel: Rel, absolute: Absolute) -> RenderedPage:
        """The page ``page`` (one of :meth:`files`); ``markdown`` is its current text (kept for the home)."""
        def card_url(cid: str) -> str | None:
            return rel(f"{DATASETS}/{cid}.md") if cid in self.cards else None

        kind = page.kind
        if kind == "home":
            return RenderedPage(markdown)
        if kind == "catalog":
            from covidct.site.pages import catalog_markdown

            return RenderedPage(
                catalog_markdown(self.cards, lambda cid: card_url(cid) or ""),
                {"title": "Datasets", "hide": ["toc"],
                 "description": esc(f"Catalog of the {len(self.cards)} datasets of the covidct registry.")})
        if kind == "reference":
            from covidct.site.pages import card_reference_markdown

            return RenderedPage(card_reference_markdown(), {"title": "Card reference"})
        if kind == "concepts":
            from covidct.site.pages import concepts_markdown

            return RenderedPage(
                concepts_markdown(self.cards, lambda cid: card_url(cid) or ""),
                {"title": "Concepts",
                 "description": "The registry's datasets by the concepts their classes stand for."})
        if kind == "issues":
            from covidct.site.pages import issues_markdown

            return RenderedPage(issues_markdown(), {"title": "Validation errors"})
        if kind == "dataset" and page.card_id is not None:
            return self._dataset(page, card_url, rel, absolute)
        return RenderedPage(markdown)

    def _dataset(self, page: SiteFile, card_url: Rel, rel: Rel, absolute: Absolute) -> RenderedPage:
        from covidct.export.schemaorg import dataset_jsonld, script_tag
        from covidct.site.sections import PageContext, dataset_markdown

        cid = page.card_id
        assert cid is not None
        card = self.cards[cid]
        opts = self.options
        meta = {"title": esc(card.name), "description": esc(card.summary)}  # the theme prints titles unescaped
        repo = opts.repo_url.rstrip("/")
        edit = f"{repo}/{opts.cards_edit_uri.strip('/')}/{cid}.yaml" if repo else None
        view = f"{repo}/{opts.cards_view_uri.strip('/')}/{cid}.yaml" if repo else None
        croissant_src = f"croissant/{cid}.json"
        croissant_rel = rel(croissant_src) if self._croissant else None
        ctx = PageContext(
            card=card, cards=self.cards, page_url=card_url,
            edit_url=edit, view_url=view, croissant_url=croissant_rel,
            referenced_by=self._referenced_by.get(cid, []),
            overlaps=self._overlaps(cid),
        )
        head = ""
        if opts.jsonld:
            related = {}
            for lin in card.lineage:
                url = absolute(f"{DATASETS}/{lin.card}.md")
                if url:
                    related[lin.card] = url
            data = dataset_jsonld(
                card, url=absolute(page.src_uri), catalog_url=absolute(f"{DATASETS}/index.md"),
                related=related,
                croissant_url=absolute(croissant_src) if croissant_rel is not None else None)
            head = script_tag(data)
        return RenderedPage(dataset_markdown(ctx), meta, edit_url=edit, head=head)

    def _overlaps(self, cid: str, max_hops: int = 3) -> list[Any]:
        """Cards linked to ``cid`` by lineage within ``max_hops`` edges (breadth-first, shortest first)."""
        from covidct.lineage import shortest_chains
        from covidct.site.sections import OVERLAP_RELATIONS, Overlap

        overlapping = {r.value for r in OVERLAP_RELATIONS} | {"source of", "superset of", "subset of",
                                                               "same source as"}
        chains = shortest_chains(self._graph, cid, max_hops, follow=lambda e: e.relation in overlapping)
        return [Overlap(other, [e.text() for e in path], len(path) == 1) for other, path in chains.items()]
