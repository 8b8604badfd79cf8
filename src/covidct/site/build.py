"""The ``site`` step of ``covidct build``: the mkdocs site, strictly, into ``<out>/site``.

It uses the repository's ``mkdocs.yml`` (beside the cards folder) and falls back to a minimal
configuration shipped here when there is none (e.g. a cards folder outside the repository). The
site is written to a temporary folder and renamed into place, so a failed build never leaves half a
site behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from covidct.card.model import Card
from covidct.steps import step

FALLBACK_CONFIG = {
    "site_name": "covidct",
    "theme": {"name": "material", "font": False,
              "features": ["navigation.indexes", "search.suggest", "search.highlight", "content.code.copy"]},
    "plugins": [
        {"search": {"separator": r"""[\s\u200b\-_,:;!?=\[\]()"'`/|]+|\.(?!\d)|&[lg]t;|&amp;"""
                                 r"|(?<=[\u3400-\u9fff\uf900-\ufaff])(?=[\u3400-\u9fff\uf900-\ufaff0-9A-Za-z])"
                                 r"|(?<=[0-9A-Za-z])(?=[\u3400-\u9fff\uf900-\ufaff])"}},
        {"covidct": {}},
    ],
    "markdown_extensions": [{"toc": {"permalink": True}}, "tables", "admonition", "attr_list"],
}


def find_config(cards_dir: Path) -> Path | None:
    cand = cards_dir.resolve().parent / "mkdocs.yml"
    return cand if cand.is_file() else None


def build_site(cards_dir: Path, site_dir: Path, *, config_file: Path | None = None,
               cards: dict[str, Card] | None = None, strict: bool = True) -> int:
    """Build the site from ``cards_dir`` into ``site_dir``; returns the number of dataset pages."""
    from covidct.errors import UserFacingError
    from covidct.extras import require
    from covidct.fsutil import atomic_dir

    require("mkdocs", "site")
    require("material", "site")
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # material's banner about its successor
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    config_file = config_file or find_config(cards_dir)
    with tempfile.TemporaryDirectory(prefix="covidct-site-") as tmp:
        if config_file is None:
            import yaml

            docs = Path(tmp) / "docs"
            docs.mkdir()
            cfg_data = dict(FALLBACK_CONFIG, docs_dir=str(docs))
            config_file = Path(tmp) / "mkdocs.yml"
            config_file.write_text(yaml.safe_dump(cfg_data, allow_unicode=True), encoding="utf-8")
        with atomic_dir(site_dir) as out:
            try:
                # absolute: mkdocs reads a relative site_dir from the config's folder (a temporary one here)
                cfg = load_config(config_file=str(config_file), site_dir=str(out.resolve()), strict=strict)
            except MkDocsException as exc:
                raise UserFacingError(f"{config_file}: {exc}") from None
            plugin = cfg.plugins.get("covidct")
            if plugin is None:
                raise UserFacingError(f"{config_file} does not enable the covidct plugin "
                                      "(add `- covidct` under `plugins:`)")
            plugin.config.cards_dir = str(cards_dir.resolve())
            if cards is not None:
                plugin.preloaded = cards
            cfg.plugins.on_startup(command="build", dirty=False)
            try:
                build(cfg)
            except MkDocsException as exc:
                raise UserFacingError(f"the site build failed ({config_file}): {exc}") from None
            finally:
                cfg.plugins.on_shutdown()
    return len(plugin.cards)


@step("site")
def site_step(cards_dir: Path, out: Path, cards: dict[str, Card]) -> str:
    site_dir = out / "site"
    n = build_site(cards_dir, site_dir, cards=cards)
    return f"{n} dataset page(s), catalog and reference in {site_dir}"
