"""A derived config (built from other datasets' copies) is checked like a layout: safe list paths, each source
tag once, real source cards, its own labels, and not both a layout and `derived`."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from covidct.card.checks import check_card
from covidct.card.model import Card
from covidct.registry import registry


def _covidx(**derived: Any) -> Card:
    raw = copy.deepcopy(registry().get("covidx").model_dump(mode="json", exclude_none=True))
    cfg = next(c for c in raw["configs"] if c["name"] == "three-class")
    cfg["derived"].update(derived)
    return Card.model_validate(raw)


def _found(card: Card) -> list[tuple[tuple[object, ...], str]]:
    ids = set(registry().cards())
    return [(f.path[2:], f.code) for f in check_card(card, ids) if f.path[:1] == ("configs",) and "derived" in f.path]


def test_the_registry_covidx_card_is_clean() -> None:
    assert _found(registry().get("covidx")) == []


@pytest.mark.parametrize(("derived", "expected"), [
    ({"split_files": {"test": "../outside.txt"}}, [(("derived", "split_files", "test"), "C306")]),
    ({"split_files": {"test": "/etc/passwd"}}, [(("derived", "split_files", "test"), "C306")]),
    ({"sources": [{"tag": "rsna", "card": "no-such-card", "config": "default"}]},
     [(("derived", "sources", 0, "card"), "C305")]),
    ({"sources": [{"tag": "x", "card": "covidx", "config": "three-class"}]},
     [(("derived", "sources", 0, "card"), "C305")]),
    ({"sources": [{"tag": "rsna"}, {"tag": "rsna"}]}, [(("derived", "sources", 1, "tag"), "C312")]),
    ({"labels": {"finding": "label"}}, [(("derived", "labels", "finding"), "C311")]),
])
def test_a_broken_derived_config_is_located(derived: dict[str, Any], expected: list[Any]) -> None:
    assert _found(_covidx(**derived)) == expected


@pytest.mark.parametrize("derived", [
    {"file_column": "name"},  # not among the columns
    {"sources": [{"tag": "rsna", "card": "rsna-pneumonia"}]},  # a card without its config
    {"split_files": {"test": "a\\b.txt"}},
])
def test_the_model_refuses_what_cannot_be_read(derived: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _covidx(**derived)
