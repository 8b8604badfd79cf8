"""The mkdocs plugin that turns cards into pages (entry point ``covidct``): an adapter of :mod:`covidct.site.core`.

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

Everything about the pages is in :mod:`covidct.site.core`, which does not import mkdocs; this module
only maps mkdocs' events, files and URLs onto it.
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
from covidct.site.core import Site, SiteError, SiteFile, SiteOptions, asset_uris, inject_head, load_cards

log = logging.getLogger("mkdocs.plugins.covidct")  # mkdocs --strict counts its warnings


class CovidctConfig(Config):
    cards_dir = c.Type(str, default="")
    cards_edit_uri = c.Type(str, default="edit/main/cards/")
    cards_view_uri = c.Type(str, default="blob/main/cards/")
    croissant = c.Type(bool, default=True)
    jsonld = c.Type(bool, default=True)


class CovidctPlugin(BasePlugin[CovidctConfig]):
    def __init__(self) -> None:
        super().__init__()
        self.preloaded: dict[str, Card] | None = None  # set by covidct.site.build (cards already validated)
        self.cards: dict[str, Card] = {}
        self.site: Site | None = None
        self.pages: dict[str, SiteFile] = {}  # src_uri -> generated page
        self.jsonld: dict[str, str] = {}  # src_uri -> <script> tag

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

    def on_config(self, config: Any) -> Any:
        if self.preloaded is not None:
            self.cards = dict(self.preloaded)
        else:
            try:
                self.cards = load_cards(self.cards_path(config))
            except SiteError as exc:
                raise PluginError(str(exc)) from None
        self.site = Site(self.cards, SiteOptions(
            repo_url=config.repo_url or "", site_url=config.site_url or "",
            cards_edit_uri=self.config.cards_edit_uri, cards_view_uri=self.config.cards_view_uri,
            croissant=self.config.croissant, jsonld=self.config.jsonld))
        css, js = asset_uris()
        for target, uris in ((config.extra_css, css), (config.extra_javascript, js)):
            for uri in uris:
                if uri not in [str(x) for x in target]:
                    target.append(uri)
        return config

    def on_files(self, files: Files, config: Any) -> Files:
        assert self.site is not None
        self.pages = {}
        self.jsonld = {}
        for f in self.site.files(warn=log.warning):
            if files.get_file_from_path(f.src_uri) is not None:
                if f.kind in ("dataset", "catalog"):
                    log.info("covidct: %s exists in docs_dir; the generated page is not used", f.src_uri)
                continue
            if f.source is not None:
                files.append(File.generated(config, f.src_uri, abs_src_path=str(f.source)))
            else:
                files.append(File.generated(config, f.src_uri, content=f.content or ""))
            if f.kind != "static":
                self.pages[f.src_uri] = f
        return files

    def on_page_markdown(self, markdown: str, page: Any, config: Any, files: Files) -> str:
        generated = self.pages.get(page.file.src_uri)
        if generated is None or self.site is None:
            return markdown

        def rel(src_uri: str) -> str | None:
            f = files.get_file_from_path(src_uri)
            return f.url_relative_to(page.file) if f is not None else None

        site_url = config.site_url or ""

        def absolute(src_uri: str) -> str | None:
            f = files.get_file_from_path(src_uri)
            return urljoin(site_url, f.url) if f is not None and site_url else None

        out = self.site.render(generated, markdown, rel, absolute)
        page.meta.update(out.meta)
        if generated.kind == "dataset":
            page.edit_url = out.edit_url
        if out.head:
            self.jsonld[page.file.src_uri] = out.head
        return out.markdown

    @event_priority(-50)
    def on_post_page(self, output: str, page: Any, config: Any) -> str:
        return inject_head(output, self.jsonld.get(page.file.src_uri, ""))
