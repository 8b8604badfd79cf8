"""Hypothesis strategies for cards: valid ones built from the model's vocabularies and limits, and
invalid ones made by mutating valid ones (the way contributors and attackers get cards wrong).

Shared by tests/property (a few hundred examples) and benchmarks/fuzz.py (10,000).
"""

from __future__ import annotations

import copy
import datetime as dt
import string
from typing import Any

import yaml
from hypothesis import strategies as st

from covidct.card.vocab import (
    AccessKind,
    CountLevel,
    Dimensionality,
    Granularity,
    Intensity,
    LabelSource,
    Modality,
    Redistribution,
    Task,
    UnavailableReason,
    Unit,
)

HOSTILE = ['"; import os #', "'''", '"""', "\\", "\n", "\r\n", "\u2028", "\x85", "key: v", "- x", "---", "...",
           "&a", "*a", "!!python/object:os.system", "# h", "[x](javascript:alert(1))", "<script>", "</script>",
           "<img src=x onerror=alert(1)>", "{{ 7*7 }}", "{% x %}", "${x}", "$(id)", "`id`", "|", "```", "&lt;",
           "\x1b[31m", "\t", "\ufeff", "\u202e", "中文", "🦠", "{: onclick=x }"]

# any text but surrogates (not encodable) and "TODO" (a deliberate error, covered by mutations)
_chars = st.characters(exclude_categories=("Cs",))
free_text = st.one_of(
    st.text(_chars, min_size=1, max_size=40),
    st.lists(st.sampled_from(HOSTILE), min_size=1, max_size=6).map("".join),
    st.tuples(st.text(_chars, max_size=10), st.sampled_from(HOSTILE)).map("".join),
).filter(lambda s: "TODO" not in s)


def short(max_size: int = 300) -> st.SearchStrategy[str]:
    return free_text.map(lambda s: s[:max_size])


slug = st.from_regex(r"[a-z0-9]{1,8}(-[a-z0-9]{1,6}){0,2}", fullmatch=True)
http_url = st.builds(lambda host, path, q: f"https://{host}.example.org/{path}{q}",
                     st.text(string.ascii_lowercase, min_size=1, max_size=8),
                     st.text(string.ascii_letters + string.digits + "/-_.", max_size=20),
                     st.sampled_from(["", "?a=1", '?q="><script>x</script>', "#frag", "?x=`{{y}}`"]))


def _vocab(v: Any) -> st.SearchStrategy[str]:
    return st.sampled_from([m.value for m in v])


@st.composite
def valid_card(draw: st.DrawFn) -> dict[str, Any]:
    """A card that should validate cleanly (every reference resolves, counts add up)."""
    cid = draw(slug)
    source_ids = draw(st.lists(slug, min_size=1, max_size=3, unique=True))
    cite = st.lists(st.sampled_from(source_ids), min_size=1, max_size=2, unique=True)
    n_classes = draw(st.integers(1, 4))
    class_names = draw(st.lists(short(100).map(str.strip).filter(bool), min_size=n_classes, max_size=n_classes,
                                unique_by=str.casefold))
    values = draw(st.permutations(list(range(n_classes))))
    by_class = {c: draw(st.integers(0, 10_000)) for c in class_names}
    cls_regex = "|".join(f"c{i}" for i in range(n_classes))
    labels = [{"name": "label", "kind": "class", "granularity": draw(_vocab(Granularity)),
               "source": draw(st.lists(_vocab(LabelSource), min_size=1, max_size=2, unique=True)),
               "classes": [{"name": n, "value": v, "description": draw(short())}
                           for n, v in zip(class_names, values, strict=True)]}]
    layout = {
        "parts": {"cls": {"regex": cls_regex}, "image": {"regex": draw(st.sampled_from(["[^/]+", "[0-9]+",
                                                                                         "[a-z0-9_-]+"]))}},
        "files": {"image": {"pattern": draw(st.sampled_from(["{cls}/{image}.png", "data/{cls}/{image}.png",
                                                              "{cls}/**/{image}.png", "{cls}/{image}_*.png"])),
                            "format": "png"}},
        "labels": {"label": {"part": "cls", "map": {f"c{i}": n for i, n in enumerate(class_names)}}},
        "exclude": draw(st.lists(st.sampled_from(["**/.DS_Store", "*.txt", "README*"]), max_size=2, unique=True)),
    }
    card: dict[str, Any] = {
        "id": cid,
        "name": draw(short()),
        "aliases": draw(st.lists(short(200), max_size=3, unique_by=str.casefold)),
        "summary": draw(short()),
        "description": draw(free_text),
        "modality": draw(st.lists(_vocab(Modality), min_size=1, max_size=2, unique=True)),
        "anatomy": draw(st.lists(short(), min_size=1, max_size=2)),
        "tags": draw(st.lists(slug, max_size=3, unique=True)),
        "homepage": draw(http_url),
        "license": {"id": draw(st.sampled_from(["CC-BY-4.0", "CC0-1.0", "unknown", "MIT"])),
                    "redistribution": draw(_vocab(Redistribution)), "source": draw(cite)},
        "access": {"kind": draw(_vocab(AccessKind)), "instructions": draw(free_text), "url": draw(http_url),
                   "source": draw(cite)},
        "configs": [{
            "name": "default",
            "description": draw(free_text),
            "tasks": draw(st.lists(_vocab(Task), min_size=1, max_size=2, unique=True)),
            "dimensionality": draw(_vocab(Dimensionality)),
            "example": draw(_vocab(Unit)),
            "labels": labels,
            "counts": [{"level": draw(_vocab(CountLevel)), "total": sum(by_class.values()), "by_class": by_class,
                        "note": draw(short()), "source": draw(cite)}],
            "image": {"formats": ["png"], "bit_depth": [draw(st.sampled_from([8, 16]))],
                      "intensity": draw(_vocab(Intensity)), "note": draw(free_text), "source": draw(cite)},
            "layout": layout,
        }],
        "citation": {"bibtex": draw(free_text), "doi": draw(st.from_regex(r"10\.[0-9]{4,6}/[a-z0-9./-]{1,12}",
                                                                           fullmatch=True))},
        "caveats": [{"text": draw(free_text), "source": draw(cite)}],
        "sources": [{"id": s, "title": draw(short()), "url": draw(http_url)} for s in source_ids],
        "last_reviewed": draw(st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31))).isoformat(),
    }
    if card["access"]["kind"] == "unavailable":  # an unavailable card says why and since when (C320)
        card["access"]["unavailable"] = {
            "reason": draw(_vocab(UnavailableReason)), "notice": draw(short()), "source": draw(cite),
            "since": draw(st.dates(dt.date(2000, 1, 1), dt.date(2025, 12, 31))).isoformat()}
    if draw(st.booleans()):  # also a config without layout, as many cards have
        extra = copy.deepcopy(card["configs"][0])
        extra["name"] = "other"
        del extra["layout"]
        card["configs"].append(extra)
    return card


# ------------------------------------------------------------------------------------------ mutations

_any_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True), free_text,
              st.just("TODO"), st.sampled_from(["../../etc/passwd", "/etc/passwd", "file:///etc/passwd",
                                                "(a+)+b", "(?:x|y|xy)+", "{undeclared}", "{", "}", "**/..",
                                                "javascript:alert(1)", "ftp://x.org/y", "2026-13-45"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _get(node: Any, path: tuple) -> Any:
    for p in path:
        node = node[p]
    return node


def _semantic(card: dict[str, Any], which: int, value: str) -> None:
    """Edits that keep the schema but break a consistency rule (the C3xx checks)."""
    cfg = card["configs"][0]
    lay = cfg["layout"]
    edits = [
        lambda: cfg["counts"][0].__setitem__("total", cfg["counts"][0]["total"] + 1),  # C302
        lambda: cfg["labels"][0]["classes"].append(dict(cfg["labels"][0]["classes"][0])),  # C303
        lambda: cfg["counts"][0]["by_class"].__setitem__(value[:50] + "?", 1),  # C304
        lambda: lay["files"]["image"].__setitem__("pattern", "../{cls}/{image}.png"),  # C306
        lambda: lay["files"]["image"].__setitem__("pattern", "{cls}/{nope}.png"),  # C307
        lambda: card.__setitem__("homepage", "ftp://example.org/x"),  # C309
        lambda: card["license"]["source"].append("missing-source"),  # C310
        lambda: lay.__setitem__("archives", ["missing.zip"]),  # C311
        lambda: card["sources"].append(dict(card["sources"][0])),  # C312
        lambda: card.__setitem__("summary", "TODO " + value[:20]),  # C313
        lambda: lay["parts"]["image"].__setitem__("regex", "(?>a|ab)+"),  # C314
        lambda: card.__setitem__("id", card["id"] + "-x"),  # C301
    ]
    edits[which % len(edits)]()


@st.composite
def mutated_card(draw: st.DrawFn) -> dict[str, Any]:
    """A valid card with 1-3 random edits: values replaced, keys deleted or invented, lists emptied,
    or a consistency rule broken."""
    card = draw(valid_card())
    if draw(st.booleans()):
        _semantic(card, draw(st.integers(0, 100)), draw(free_text))
        return card
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(card) if p]
        path = draw(st.sampled_from(paths))
        parent = _get(card, path[:-1])
        key = path[-1]
        op = draw(st.sampled_from(["replace", "delete", "add-key", "empty", "duplicate"]))
        if op == "replace":
            parent[key] = draw(_any_value)
        elif op == "delete":
            del parent[key]
        elif op == "add-key" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12))] = draw(_any_value)
        elif op == "empty":
            parent[key] = [] if isinstance(parent[key], list) else {} if isinstance(parent[key], dict) else ""
        elif op == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
    return card


def card_text(card: dict[str, Any]) -> str:
    return "# yaml-language-server: $schema=../schema/card.schema.json\n" + yaml.safe_dump(
        card, allow_unicode=True, sort_keys=False, width=100)


@st.composite
def broken_text(draw: st.DrawFn) -> str:
    """Card YAML text with raw edits: bytes cut, inserted or swapped (syntax errors, odd indentation)."""
    text = card_text(draw(valid_card()))
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["cut", "insert", "swap-line"]))
        if op == "cut":
            text = text[:i] + text[i + draw(st.integers(1, 40)):]
        elif op == "insert":
            text = text[:i] + draw(st.sampled_from([":", "- ", "  ", "\t", "&x ", "*x", "!!binary ", "{", "[", "'",
                                                    '"', "\n", "? ", "%YAML 1.2\n", "---\n", "\x00"])) + text[i:]
        else:
            lines = text.splitlines(keepends=True)
            if len(lines) > 2:
                j = draw(st.integers(0, len(lines) - 2))
                lines[j], lines[j + 1] = lines[j + 1], lines[j]
                text = "".join(lines)
    return text


any_card_text = st.one_of(valid_card().map(card_text), mutated_card().map(card_text), broken_text())
