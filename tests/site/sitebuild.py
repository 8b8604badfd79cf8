"""Helpers for the site tests: the real site and a hostile site, each built once per process.

The hostile site comes from a temporary cards folder holding a card whose every text field carries
markup (``evil``) and a card with only the required fields (``plain``). Both sites are built with the
repository's mkdocs.yml, strictly.
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import shutil
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
CARDS = REPO / "cards"

HOSTILE_ID = "evil"
PLAIN_ID = "plain"


def hostile_card() -> dict:
    """Every free-text field carries markup that must come out inert."""
    x = '<script>alert("xss")</script>'
    return {
        "id": HOSTILE_ID,
        "name": f'{x} Evil & Co" onmouseover="alert(1)',
        "aliases": ["<img src=x onerror=alert(2)>", '"><svg onload=alert(3)>', "恶意数据集"],
        "summary": "</title><script>alert(4)</script> summary",
        "description": "\n".join([
            "Intro with <script>alert(5)</script> and <b onclick=alert(6)>bold tag</b>.",
            "",
            "[click me](javascript:alert(7)) [entity](java&#115;cript:alert(8)) [data](data:text/html,x)",
            '<a href="javascript:alert(9)">raw link</a> <img src=x onerror="alert(10)">',
            "[ok link](https://example.org/ok)",
            "",
            "</script><script>alert(11)</script> {{ config }} {% raw %} \u2028 <!-- comment -->",
            "",
            "```",
            "</div><script>alert(12)</script>",
            "```",
        ]),
        "modality": ["CT"],
        "anatomy": ["<b onclick=alert(13)>chest</b>"],
        "tags": ["covid-19"],
        "homepage": "https://example.org/\"onmouseover=\"alert(14)",
        "license": {"id": "other", "name": x, "url": "https://example.org/terms", "summary": x,
                    "redistribution": "forbidden", "source": ["src"]},
        "access": {"kind": "request", "instructions": f"Ask {x} [here](javascript:alert(15))",
                   "url": "https://example.org/ask", "source": ["src"]},
        "downloads": [{"name": "evil<script>.zip", "url": "https://example.org/evil.zip",
                       "md5": "0" * 32, "archive": "zip", "description": "<iframe src=javascript:alert(16)>"}],
        "configs": [{
            "name": "default",
            "description": f"config {x}",
            "tasks": ["image-segmentation", "image-classification"],
            "dimensionality": "2D",
            "example": "image",
            "labels": [
                {"name": "mask", "kind": "mask", "granularity": "pixel", "source": ["radiologists"],
                 "description": x,
                 "mask_values": [{"value": 0, "name": "background", "color": "#000000"},
                                 {"value": 1, "name": f"lesion {x}", "color": "#ff0000",
                                  "description": x}]},
                {"name": "label", "kind": "class", "granularity": "image", "source": ["radiologists"],
                 "classes": [{"name": '"><script>alert(17)</script>', "value": 0},
                             {"name": "normal", "value": 1}]},
            ],
            "counts": [{"level": "images", "total": 1400,
                        "by_class": {'"><script>alert(17)</script>': 58, "normal": 1342},
                        "note": x, "source": ["src"]}],
            "image": {"formats": ["png"], "intensity": "windowed-8bit", "note": x},
            "layout": {
                "parts": {"cls": {"regex": "a|b"}, "name": {"regex": "[^/]+"}},
                "files": {"image": {"pattern": "images/{cls}/{name}.png", "format": "png"},
                          "mask": {"pattern": "masks/{cls}/{name}.png", "format": "png"}},
                "labels": {"label": {"part": "cls", "map": {"a": '"><script>alert(17)</script>',
                                                           "b": "normal"}}},
            },
        }],
        "citation": {"bibtex": "@misc{evil, title={</pre></code><script>alert(18)</script>}}", "text": x},
        "lineage": [{"relation": "derived-from", "card": PLAIN_ID, "note": x}],
        "caveats": [{"text": f"{x} [x](javascript:alert(19))", "source": ["src"]}],
        "sources": [{"id": "src", "title": f"{x} source", "url": "https://example.org/source"}],
        "last_reviewed": dt.date(2026, 1, 2),
    }


def plain_card() -> dict:
    """Only the required fields."""
    return {
        "id": PLAIN_ID,
        "name": "Plain dataset",
        "summary": "A card with the required fields only.",
        "description": "Nothing more is known.",
        "modality": ["chest X-ray"],
        "anatomy": ["chest"],
        "license": {"id": "unknown", "redistribution": "unknown"},
        "access": {"kind": "unavailable", "unavailable": {"reason": "unknown"}},  # an unavailable card says why
        "configs": [{"name": "default", "tasks": ["other"], "dimensionality": "2D", "example": "image",
                     "image": {"formats": ["png"], "intensity": "unknown"}}],
        "last_reviewed": dt.date(2026, 1, 1),
    }


def write_cards(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for card in (hostile_card(), plain_card()):
        text = yaml.safe_dump(card, allow_unicode=True, sort_keys=False, width=1000)
        (folder / f"{card['id']}.yaml").write_text(text, encoding="utf-8")
    return folder


def _tmp(prefix: str) -> Path:
    d = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, d, True)
    return d


@functools.cache
def real_site() -> Path:
    """The site of the repository's cards, built strictly with the repository's mkdocs.yml."""
    from covidct.site.build import build_site

    out = _tmp("covidct-site-real-") / "site"
    build_site(CARDS, out, config_file=REPO / "mkdocs.yml", strict=True)
    return out


@functools.cache
def hostile_cards() -> Path:
    return write_cards(_tmp("covidct-site-hostile-") / "cards")


@functools.cache
def hostile_site() -> Path:
    from covidct.site.build import build_site

    out = hostile_cards().parent / "site"
    build_site(hostile_cards(), out, config_file=REPO / "mkdocs.yml", strict=True)
    return out
