"""A valid card whose every free-text field carries hostile text, for the artifact tests.

Each payload is something that would execute, inject or restructure if a generator pasted card text
into its output instead of serialising or escaping it: Python string breakouts (loading scripts),
YAML structure (README front matter), Markdown and HTML (README body, site), template syntax
(Jinja, shell, JS template literals), control characters and Unicode line separators.
"""

from __future__ import annotations

import copy
from typing import Any

from covidct.card.model import Card

SENTINEL = "PWNED_BY_CARD"

PAYLOADS: list[str] = [
    f'"; import os; os.system("touch {SENTINEL}") #',
    f"'''; __import__('os').system('touch {SENTINEL}') #",
    f'"""\n__import__("os").system("touch {SENTINEL}")\n"""',
    r"back\slash \' \" \n \x41 \u0041 \\",
    "line one\nline two\r\nline three\u2028four\x85five\u2029six",
    f"key: value\n- item\n---\n... &a *a !!python/object/apply:os.system ['touch {SENTINEL}']",
    "# Heading\n\n[click](javascript:alert(1)) ![x](https://evil.example/x.png) <https://evil.example>",
    '<script>alert(1)</script><img src=x onerror=alert(1)><a href="javascript:alert(1)">x</a>',
    "</script></textarea></title><svg onload=alert(1)><!-- --!>",
    f"{{{{ 7*7 }}}} {{{{ config }}}} {{% for x in y %}}{{% endfor %}} ${{7*7}} $(touch {SENTINEL}) `touch {SENTINEL}`",
    "| table | pipe |\n|---|---|\n```\nfence\n```\n~~~\n    indented code",
    "\x1b[31mred\x1b[0m\ttab \x07bell",
    '{"@context": "evil", "@id": "x"} ]]> <![CDATA[ x',
    'attr {: onclick="alert(1)" } *x*{: onmouseover="alert(1)" }\n\nPara\n{: .x onload="alert(1)" }',
    "&lt;script&gt;alert(1)&lt;/script&gt; &#60;img src=x onerror=alert(1)&#62; %3Cscript%3E",
]
ALL = "\n".join(PAYLOADS)
HOSTILE_URL = "https://example.org/a?b=\"'><script>alert(1)</script>&c=`{{x}}`#<img src=x onerror=alert(1)>"


def _short(text: str, n: int) -> str:
    return text[:n]


def card_data(payload: str = ALL) -> dict[str, Any]:
    """A valid card (two configs with layouts) with ``payload`` in every free-text field."""
    short = _short(payload, 280)
    names = [_short(p, 90) + f" #{i}" for i, p in enumerate(PAYLOADS)][:4]
    return {
        "id": "hostile",
        "name": short,
        "aliases": [_short(payload, 180) + " alias", _short(payload[::-1], 180)],
        "summary": short,
        "description": payload,
        "modality": ["CT"],
        "anatomy": [short],
        "tags": ["covid-19"],
        "homepage": HOSTILE_URL,
        "license": {"id": "other", "name": short, "url": HOSTILE_URL, "summary": payload,
                    "redistribution": "allowed", "requires_agreement": True, "source": ["src"]},
        "access": {"kind": "open", "instructions": payload, "url": HOSTILE_URL, "source": ["src"]},
        "downloads": [{"name": "data.zip", "url": HOSTILE_URL, "sha256": "0" * 64, "size_bytes": 10,
                       "archive": "zip", "description": short, "source": ["src"]}],
        "configs": [
            {
                "name": "classification",
                "description": payload,
                "tasks": ["image-classification"],
                "dimensionality": "2D",
                "example": "image",
                "labels": [{
                    "name": "label", "kind": "class", "description": payload, "granularity": "image",
                    "source": ["radiologists"], "available_for": short,
                    "classes": [{"name": n, "value": i, "description": short} for i, n in enumerate(names)],
                }],
                "counts": [{"level": "images", "total": 40, "by_class": {n: 10 for n in names}, "note": short,
                            "source": ["src"]}],
                "image": {"formats": ["png"], "bit_depth": [8], "intensity": "windowed-8bit", "note": payload,
                          "source": ["src"]},
                "layout": {
                    "archives": ["data.zip"],
                    "parts": {"cls": {"regex": "[a-d]", "description": short},
                              "image": {"regex": "[^/]+", "description": short}},
                    "files": {"image": {"pattern": "{cls}/{image}.png", "format": "png"}},
                    "tables": {"meta": {"path": "meta.csv", "format": "csv", "column": short,
                                        "key": "{_stem}"}},
                    "labels": {"label": {"part": "cls", "map": {c: n for c, n in zip("abcd", names, strict=True)}}},
                    "fields": {"note": {"table": "meta", "column": short}},
                },
            },
            {
                "name": "segmentation",
                "description": short,
                "tasks": ["image-segmentation"],
                "dimensionality": "2D",
                "example": "slice",
                "labels": [{
                    "name": "mask", "kind": "mask", "granularity": "pixel", "source": ["unknown"],
                    "mask_values": [{"value": 0, "name": names[0], "description": short, "color": "#000000"},
                                    {"value": 1, "name": names[1], "color": "#ff0000"}],
                }],
                "image": {"formats": ["png"], "intensity": "windowed-8bit"},
                "layout": {"files": {"image": {"pattern": "img/{scan}/{frame}.png", "format": "png"},
                                     "mask": {"pattern": "mask/{scan}/{frame}.png", "format": "png"}},
                           "parts": {"scan": {"regex": "[0-9]+", "type": "int"}, "frame": {"regex": "[^/]+"}}},
            },
        ],
        "citation": {"doi": "10.1234/x\"><script>", "bibtex": payload, "text": payload},
        "provenance": {"institutions": [short], "countries": [short], "collection_period": short,
                       "scanners": [short], "deidentification": payload, "source": ["src"]},
        "caveats": [{"text": payload, "source": ["src"]}],
        "sources": [{"id": "src", "title": short, "url": HOSTILE_URL}],
        "last_reviewed": "2026-11-22",
    }


def card(payload: str = ALL) -> Card:
    return Card.model_validate(copy.deepcopy(card_data(payload)))


def free_texts(c: Card) -> list[str]:
    """Every free-text value of the hostile card (what must come out of an artifact unchanged)."""
    out = [c.name, c.summary, c.description, *c.aliases]
    for cfg in c.configs:
        out += [lab.name for lab in cfg.labels]
        out += [cl.name for lab in cfg.labels for cl in lab.classes]
    return out
