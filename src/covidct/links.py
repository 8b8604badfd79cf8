"""``covidct links``: do the cards' URLs still answer, and do they still point where the cards say?

Every URL of a card (homepage, license, access, downloads, sources, DOI) is asked for without its
body (:func:`covidct.download.probe`): its status, each redirect, its announced length. With
``download=True`` a download that has a checksum is fetched and its SHA-256 compared with the card's.
Everything goes through covidct's downloader, so timeouts and retries are bounded and only public
hosts are reached (``COVIDCT_ALLOW_PRIVATE_HOSTS=1`` for tests against a local server).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from covidct.card.model import Card, Download
from covidct.download import DownloadError, Probe, fetch, probe

OK, MOVED, CHANGED, BROKEN = "ok", "moved", "changed", "broken"


@dataclass
class LinkCheck:
    card: str
    where: str  # the card field: homepage, license, access, downloads[NAME], sources[ID], doi
    url: str
    status: int | None = None
    final_url: str | None = None
    redirects: list[tuple[int, str]] = field(default_factory=list)
    length: int | None = None
    error: str | None = None
    problem: str | None = None  # what differs from the card (size, checksum)

    @property
    def kind(self) -> str:
        """``broken`` (no answer, 4xx/5xx), ``changed`` (size or checksum differ), ``moved`` (a permanent
        redirect elsewhere), else ``ok``."""
        if self.error or self.status is None or self.status >= 400:
            return BROKEN
        if self.problem:
            return CHANGED
        if any(code in (301, 308) for code, _ in self.redirects) and self.final_url != self.url:
            return MOVED
        return OK

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "kind": self.kind}


def card_urls(card: Card) -> Iterator[tuple[str, str, Download | None]]:
    """(where, url, the download it belongs to) for every URL of a card, each URL once per card."""
    seen: set[str] = set()
    found: list[tuple[str, str | None, Download | None]] = [
        ("homepage", card.homepage, None), ("license", card.license.url, None), ("access", card.access.url, None)]
    found += [(f"downloads[{d.name}]", d.url, d) for d in card.downloads]
    found += [(f"sources[{s.id}]", s.url, None) for s in card.sources]
    if card.citation and card.citation.doi:
        found.append(("doi", "https://doi.org/" + card.citation.doi, None))
    for where, url, dl in found:
        if url and url not in seen:
            seen.add(url)
            yield where, url, dl


def _check(card: Card, where: str, url: str, dl: Download | None, download: bool, timeout: float | None) -> LinkCheck:
    p: Probe = probe(url, timeout=timeout)
    out = LinkCheck(card.id, where, url, p.status, p.final_url, p.redirects, p.length, p.error)
    if dl is None or out.kind == BROKEN:
        return out
    if dl.size_bytes is not None and p.length is not None and p.length != dl.size_bytes:
        out.problem = f"the server announces {p.length:,} bytes, the card says {dl.size_bytes:,}"
    elif download and dl.sha256:
        with tempfile.TemporaryDirectory(prefix="covidct-links-") as tmp:
            try:
                got = fetch(url, Path(tmp) / "file", size=dl.size_bytes, progress=False)
            except DownloadError as exc:
                out.error = exc.why
                return out
        if got.sha256 != dl.sha256:
            out.problem = f"sha256 is {got.sha256}, the card says {dl.sha256}"
    return out


def check_links(cards: Iterable[Card], *, download: bool = False, timeout: float | None = None,
                workers: int = 8) -> list[LinkCheck]:
    """Check every URL of ``cards`` (a few at a time); results in card and field order."""
    jobs = [(c, where, url, dl) for c in cards for where, url, dl in card_urls(c)]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(lambda j: _check(*j, download, timeout), jobs))


def format_text(results: list[LinkCheck]) -> str:
    lines = []
    for r in results:
        if r.kind == OK:
            continue
        what = {BROKEN: r.error or f"HTTP {r.status}", CHANGED: r.problem or "",
                MOVED: f"now {r.final_url}"}[r.kind]
        lines.append(f"{r.card}: {r.where}: {r.kind.upper()} {r.url}: {what}")
    counts = {k: sum(1 for r in results if r.kind == k) for k in (OK, MOVED, CHANGED, BROKEN)}
    lines.append(", ".join(f"{n} {k}" for k, n in counts.items()) + f" of {len(results)} URL(s)")
    return "\n".join(lines)


def format_markdown(results: list[LinkCheck]) -> str:
    """The issue body the scheduled workflow files: one table row per URL that is not ok."""
    bad = [r for r in results if r.kind != OK]
    if not bad:
        return f"All {len(results)} URLs of the cards answer as the cards say."
    rows = ["| card | field | what | URL | details |", "| --- | --- | --- | --- | --- |"]
    for r in bad:
        details = r.error or r.problem or (f"now {r.final_url}" if r.kind == MOVED else f"HTTP {r.status}")
        cells = [r.card, r.where, r.kind, r.url, details]
        rows.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    return (f"`covidct links` found {len(bad)} of {len(results)} URLs that no longer answer as the cards say. "
            "Update each card from its source (and its `last_reviewed`).\n\n" + "\n".join(rows))


__all__ = ["BROKEN", "CHANGED", "MOVED", "OK", "LinkCheck", "card_urls", "check_links", "format_markdown",
           "format_text"]
