"""`covidct links` against a local HTTP server on 127.0.0.1: ok, moved, 404, 500, timeout, changed content.

No test reaches the internet: the cards' URLs point at the local server (allowed with
COVIDCT_ALLOW_PRIVATE_HOSTS=1, as a user would for their own server), plus one `.invalid` name
(RFC 2606: it never resolves).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from covidct.cli import main
from covidct.links import BROKEN, CHANGED, MOVED, OK, card_urls, check_links, format_markdown
from localhttp import LocalServer, redirect, status

DATA = b"covidct" * 1000


@pytest.fixture
def srv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    monkeypatch.setenv("COVIDCT_ALLOW_PRIVATE_HOSTS", "1")
    monkeypatch.setenv("COVIDCT_DOWNLOAD_RETRIES", "0")
    monkeypatch.setattr("covidct.download.RETRY_DELAY", 0.01)
    (tmp_path / "served").mkdir()
    (tmp_path / "served" / "data.zip").write_bytes(DATA)
    (tmp_path / "served" / "page.html").write_text("<p>home</p>")
    with LocalServer(tmp_path / "served") as s:
        yield s


def _card(base: str, **dl: Any) -> Any:
    from covidct.card.model import Card

    data = {
        "id": "t", "name": "Test", "summary": "s", "description": "d", "modality": ["CT"], "anatomy": ["chest"],
        "homepage": f"{base}/page.html",
        "license": {"id": "CC-BY-4.0", "redistribution": "allowed", "url": f"{base}/gone"},
        "access": {"kind": "open", "url": f"{base}/moved"},
        "downloads": [{"name": "data.zip", "url": f"{base}/data.zip", "sha256": hashlib.sha256(DATA).hexdigest(),
                       **dl}],
        "sources": [{"id": "a", "title": "A", "url": f"{base}/error"},
                    {"id": "b", "title": "B", "url": "https://covidct-test.invalid/x"},
                    {"id": "c", "title": "C", "url": f"{base}/page.html"}],  # the homepage again: asked once
        "last_reviewed": "2026-12-01",
        "configs": [{"name": "default", "tasks": ["image-classification"], "dimensionality": "2D",
                     "example": "image", "image": {"formats": ["png"], "intensity": "windowed-8bit"}}],
    }
    return Card.model_validate(data)


def _routes(srv: LocalServer) -> None:
    srv.routes["/gone"] = status(404)
    srv.routes["/moved"] = redirect("/page.html", 301)
    srv.routes["/error"] = status(500)


def test_each_kind_of_answer(srv: LocalServer) -> None:
    _routes(srv)
    card = _card(srv.base)
    got = {r.where: r for r in check_links([card])}
    assert list(got) == ["homepage", "license", "access", "downloads[data.zip]", "sources[a]", "sources[b]"]
    assert got["homepage"].kind == OK and got["homepage"].status == 200
    assert got["license"].kind == BROKEN and got["license"].status == 404
    assert got["access"].kind == MOVED and got["access"].final_url == f"{srv.base}/page.html"
    assert got["access"].redirects == [(301, f"{srv.base}/page.html")]
    assert got["downloads[data.zip]"].kind == OK and got["downloads[data.zip]"].length == len(DATA)
    assert got["sources[a]"].kind == BROKEN and got["sources[a]"].status == 500
    assert got["sources[b]"].kind == BROKEN and "does not resolve" in (got["sources[b]"].error or "")
    assert srv.methods["/data.zip"] == ["HEAD"]  # nothing is downloaded without --download


def test_a_server_that_refuses_head_is_asked_with_a_one_byte_get(srv: LocalServer) -> None:
    srv.routes["/page.html"] = [status(405), status(200)]
    r = next(r for r in check_links([_card(srv.base)]) if r.where == "homepage")
    assert r.kind == OK and srv.methods["/page.html"] == ["HEAD", "GET"]


def test_changed_size_and_changed_content(srv: LocalServer) -> None:
    r = next(r for r in check_links([_card(srv.base, size_bytes=len(DATA) + 1)]) if r.where.startswith("down"))
    assert r.kind == CHANGED and "the card says 7,001" in (r.problem or "")
    card = _card(srv.base)
    card.downloads[0].sha256 = "0" * 64  # the published file changed since the card was written
    r = next(r for r in check_links([card], download=True) if r.where.startswith("down"))
    assert r.kind == CHANGED and hashlib.sha256(DATA).hexdigest() in (r.problem or "")
    assert srv.methods["/data.zip"][-1] == "GET"
    ok = next(r for r in check_links([_card(srv.base)], download=True) if r.where.startswith("down"))
    assert ok.kind == OK


def test_a_slow_server_times_out(srv: LocalServer) -> None:
    srv.routes["/page.html"] = srv.slow(5)
    r = next(r for r in check_links([_card(srv.base)], timeout=0.3) if r.where == "homepage")
    assert r.kind == BROKEN and "within the timeout" in (r.error or "")


def test_private_hosts_are_refused_without_the_opt_in(srv: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COVIDCT_ALLOW_PRIVATE_HOSTS")
    r = check_links([_card(srv.base)])[0]
    assert r.kind == BROKEN and "not a public internet address" in (r.error or "")
    assert srv.hits["/page.html"] == 0


def test_every_url_of_a_card_once() -> None:
    from covidct.registry import registry

    card = registry().get("cncb")
    urls = [u for _w, u, _d in card_urls(card)]
    assert len(urls) == len(set(urls)) and card.homepage in urls
    assert all(s.url in urls for s in card.sources if s.url)


def test_cli_text_json_markdown_and_exit_status(srv: LocalServer, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _routes(srv)
    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / "t.yaml").write_text(yaml.safe_dump(_card(srv.base).model_dump(mode="json", exclude_none=True)))
    assert main(["--cards", str(cards), "links", "t"]) == 1
    out = capsys.readouterr().out
    assert f"t: license: BROKEN {srv.base}/gone: HTTP 404" in out
    assert "2 ok, 1 moved, 0 changed, 3 broken of 6 URL(s)" in out
    assert main(["--cards", str(cards), "links", "--format", "json"]) == 1
    rows = json.loads(capsys.readouterr().out)
    assert {r["where"]: r["kind"] for r in rows}["access"] == "moved"
    assert main(["--cards", str(cards), "links", "--format", "markdown"]) == 1
    md = capsys.readouterr().out
    assert md.startswith("`covidct links` found 4 of 6 URLs") and "| t | access | moved |" in md
    srv.routes.clear()
    assert format_markdown([r for r in check_links([_card(srv.base)]) if r.kind == OK]).startswith("All ")


def test_a_weekly_workflow_runs_links_and_files_an_issue() -> None:
    wf = yaml.safe_load((Path(__file__).resolve().parents[1] / ".github" / "workflows" / "links.yml").read_text())
    assert wf[True]["schedule"][0]["cron"]  # `on:` reads as True in YAML 1.1
    steps = wf["jobs"]["links"]["steps"]
    run = "\n".join(s.get("run", "") for s in steps)
    assert "covidct links --download" in run and "gh issue create" in run
    assert wf["permissions"] == {"contents": "read", "issues": "write"}


@pytest.mark.parametrize("length", ["\u00b2", "9" * 5000, "-1", "12abc"])
def test_a_hostile_content_length_is_unknown_not_a_crash(srv: LocalServer, length: str) -> None:
    """Found by a hostile review: '²' passed isdigit() and int() raised; 5,000 digits hit int's limit."""
    from localhttp import body

    srv.routes["/page.html"] = body(b"x", headers={"Content-Length": length})
    r = next(r for r in check_links([_card(srv.base)]) if r.where == "homepage")
    assert r.length is None and r.kind in (OK, BROKEN)
