"""The built site in a real browser: Playwright driving Debian's Chromium, offline.

The site is served from 127.0.0.1 by http.server in a thread; every request to another host is
blocked and recorded, so the catalog is shown to work with no CDN. Screenshots of the catalog and of
the CNCB page go to $COVIDCT_ARTIFACTS/site (default: build/test-artifacts/site, git-ignored).
Skipped locally when Playwright or Chromium is missing; a failure in CI (see tests/conftest.py).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import sitebuild

from conftest import REPO, need, unavailable
from covidct.registry import Registry

pytestmark = pytest.mark.browser

ARTIFACTS = Path(os.environ.get("COVIDCT_ARTIFACTS") or REPO / "build" / "test-artifacts") / "site"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions"]


def chromium() -> str:
    path = os.environ.get("COVIDCT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        unavailable("Debian's Chromium is not installed (/usr/bin/chromium); .ci/run installs it")
    return path


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


class Served:
    """A folder served on 127.0.0.1 (a free port) until :meth:`close`."""

    def __init__(self, folder: Path) -> None:
        handler = functools.partial(_Quiet, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.httpd.server_port}/"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    need("playwright")
    need("mkdocs")
    path = chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def real() -> Iterator[Served]:
    need("mkdocs")
    s = Served(sitebuild.real_site())
    yield s
    s.close()


@pytest.fixture(scope="module")
def hostile() -> Iterator[Served]:
    need("mkdocs")
    s = Served(sitebuild.hostile_site())
    yield s
    s.close()


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    """A page whose requests may only go to 127.0.0.1; others are aborted and listed in page.external."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    external: list[tuple[str, str]] = []

    def guard(route: Any) -> None:
        req = route.request
        if urlparse(req.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            external.append((req.resource_type, req.url))
            route.abort()

    ctx.route("**/*", guard)
    pg = ctx.new_page()
    pg.external = external
    pg.errors = []
    pg.dialogs = []
    pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))

    def on_dialog(d: Any) -> None:
        pg.dialogs.append(d.message)
        d.dismiss()

    pg.on("dialog", on_dialog)
    yield pg
    ctx.close()


def shot(pg: Any, name: str, full: bool = False) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    out = ARTIFACTS / name
    pg.screenshot(path=str(out), full_page=full)
    return out


def visible_ids(pg: Any) -> list[str]:
    return pg.eval_on_selector_all(
        "[data-covidct-catalog] tbody tr", "rows => rows.filter(r => !r.hidden).map(r => r.dataset.id)")


def no_outside_assets(pg: Any) -> None:
    blocked = [(t, u) for t, u in pg.external if t in ("script", "stylesheet", "font", "image")]
    assert not blocked, f"the page asked for assets from other hosts: {blocked}"


def test_catalog_filters_sorts_and_searches(page: Any, real: Served) -> None:
    cards = Registry(sitebuild.CARDS).cards()
    page.goto(real.base + "datasets/")
    page.wait_for_selector(".covidct-filters:not([hidden])")
    assert sorted(visible_ids(page)) == sorted(cards)

    page.select_option('select[data-filter="modality"]', "CT")
    page.select_option('select[data-filter="task"]', "image-segmentation")
    expected = sorted(c.id for c in cards.values()
                      if "CT" in [m.value for m in c.modality]
                      and "image-segmentation" in [t.value for cfg in c.configs for t in cfg.tasks])
    shown = sorted(visible_ids(page))
    assert shown == expected and shown, shown
    assert "cncb" in shown
    for row in page.query_selector_all("[data-covidct-catalog] tbody tr:not([hidden])"):
        assert "CT" in json.loads(row.get_attribute("data-modality"))
        assert "image-segmentation" in json.loads(row.get_attribute("data-task"))
    count = page.inner_text(".covidct-catalog__count")
    assert count == f"{len(expected)} of {len(cards)} datasets"
    assert "modality=CT" in page.url and "task=image-segmentation" in page.url
    shot(page, "catalog-ct-segmentation.png", full=True)

    # sort by patients: known numbers ascending, unknown last; then descending
    page.click('th[data-col="patients"] button')
    values = page.eval_on_selector_all(
        "[data-covidct-catalog] tbody tr:not([hidden])",
        "rows => rows.map(r => r.cells[4].dataset.value)")
    known = [int(v) for v in values if v]
    assert known == sorted(known)
    assert values[len(known):] == [""] * (len(values) - len(known))
    page.click('th[data-col="patients"] button')
    assert page.get_attribute('th[data-col="patients"]', "aria-sort") == "descending"

    # the catalog's own search box finds a Chinese alias
    page.click("[data-filter-reset]")
    page.fill('input[data-filter="q"]', "CNCB数据集")
    assert visible_ids(page) == ["cncb"]
    page.fill('input[data-filter="q"]', "")
    assert len(visible_ids(page)) == len(cards)
    shot(page, "catalog.png")
    no_outside_assets(page)
    assert not page.errors, page.errors


def test_cncb_page_label_table_chart_bibtex(page: Any, real: Served) -> None:
    card = Registry(sitebuild.CARDS).cards()["cncb"]
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(real.base + "datasets/cncb/")
    labels = page.locator(".covidct-labels table").first
    labels.wait_for()
    assert labels.is_visible()
    swatches = page.locator(".covidct-swatch")
    n_colours = sum(1 for cfg in card.configs for lab in cfg.labels for mv in lab.mask_values if mv.color)
    assert swatches.count() == n_colours and n_colours > 0
    colour = swatches.first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour.startswith("rgb")
    chart = page.locator("svg.covidct-chart").first
    assert chart.is_visible()
    box = chart.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 50
    bars = page.locator("svg.covidct-chart rect")
    assert bars.count() == sum(len(c.by_class) for cfg in card.configs for c in cfg.counts)
    bib = page.locator("pre.covidct-bibtex")
    assert bib.is_visible()
    assert bib.inner_text().strip() == card.citation.bibtex.strip()
    page.click("button.covidct-copy")
    page.wait_for_timeout(200)
    assert page.evaluate("navigator.clipboard.readText()").strip() == card.citation.bibtex.strip()
    shot(page, "dataset-cncb.png", full=True)
    page.locator("#labels").scroll_into_view_if_needed()
    shot(page, "dataset-cncb-labels.png")
    no_outside_assets(page)
    assert not page.errors, page.errors


def search(page: Any, base: str, query: str) -> list[str]:
    """Type ``query`` into the site search (mkdocs-material, local lunr index); result link targets."""
    page.goto(base)
    page.wait_for_load_state("networkidle")
    page.click("input.md-search__input")
    page.fill("input.md-search__input", query)
    page.press("input.md-search__input", "End")
    page.wait_for_function(
        "() => !/Type to start|Initializing/.test("
        "(document.querySelector('.md-search-result__meta') || {}).textContent || 'Type to start')",
        timeout=15000)
    hrefs = page.eval_on_selector_all(".md-search-result__item > a", "as => as.map(a => a.href)")
    return [urlparse(h).path for h in hrefs]


@pytest.mark.parametrize("alias", ["CNCB数据集", "CNCB 分割数据集", "分类数据集"])
def test_search_finds_chinese_alias(page: Any, real: Served, alias: str) -> None:
    cards = Registry(sitebuild.CARDS).cards()
    assert any(alias.replace(" ", "") in a.replace(" ", "") for a in cards["cncb"].aliases)
    hits = search(page, real.base, alias)
    assert hits, f"no result for {alias}"
    assert hits[0].endswith("/datasets/cncb/"), hits[:3]
    if alias == "CNCB数据集":
        shot(page, "search-chinese-alias.png")
    no_outside_assets(page)


def test_hostile_card_runs_no_script(page: Any, hostile: Served) -> None:
    for path in ("datasets/evil/", "datasets/", "datasets/plain/", ""):
        page.goto(hostile.base + path)
        page.wait_for_load_state("networkidle")
        page.mouse.move(300, 300)
        page.mouse.move(600, 500)
    page.goto(hostile.base + "datasets/")
    page.fill('input[data-filter="q"]', "恶意")
    assert visible_ids(page) == ["evil"]
    hits = search(page, hostile.base, "恶意数据集")
    assert hits and hits[0].endswith("/datasets/evil/")
    page.goto(hostile.base + hits[0].lstrip("/"))
    assert page.locator(".covidct-description").inner_text().startswith("Intro with <script>")
    assert not page.dialogs, page.dialogs
    assert not page.errors, page.errors


def test_concepts_page_lists_cncb_under_covid19_with_its_counts(page: Any, real: Served) -> None:
    card = Registry(sitebuild.CARDS).cards()["cncb"]
    cfg = card.config("classification")
    counts = {c.level.value: c.by_class["NCP"] for c in cfg.counts if c.split is None and "NCP" in c.by_class}
    page.goto(real.base + "concepts/")
    covid = page.locator('section[data-concept="SCTID:840539006"]')
    covid.wait_for()
    assert "COVID-19" in covid.locator("h2").inner_text()
    assert covid.locator("h2 a").get_attribute("href") == "http://snomed.info/id/840539006"
    row = covid.locator('tr[data-id="cncb"]')
    assert row.count() == 1 and row.is_visible()
    text = row.inner_text()
    assert "NCP" in text and "narrower" in text and "diagnosis" in text
    assert f"{counts['patients']:,} patients" in text and f"{counts['scans']:,} scans" in text
    row.locator("a").first.click()
    page.wait_for_url("**/datasets/cncb/")
    shot(page, "concepts-cncb.png")
    no_outside_assets(page)
    assert not page.errors, page.errors
