"""Small cards built in code, for the layout and hf tests."""

from __future__ import annotations

from typing import Any

import pytest

from covidct.card.model import Card


def make_card(layout: dict[str, Any], labels: list[dict[str, Any]] | None = None, *, example: str = "image",
              dimensionality: str = "2D", image: dict[str, Any] | None = None, **extra: Any) -> Card:
    data = {
        "id": "t", "name": "Test", "summary": "s", "description": "d", "modality": ["CT"], "anatomy": ["chest"],
        "license": {"id": "unknown", "redistribution": "unknown"},
        "access": {"kind": "request", "instructions": "Ask the authors, then unpack into DATA_DIR."},
        "last_reviewed": "2026-01-01",
        "configs": [{
            "name": "default", "tasks": ["image-classification"], "dimensionality": dimensionality,
            "example": example, "labels": labels or [],
            "image": image or {"formats": ["png"], "intensity": "windowed-8bit"},
            "layout": layout,
        }],
    }
    data.update(extra)
    return Card.model_validate(data)


CLASS_LABEL = {"name": "label", "kind": "class", "granularity": "image", "source": ["unknown"],
               "classes": [{"name": "covid", "value": 0}, {"name": "normal", "value": 1}]}


def png(path: Any, value: int = 10, size: tuple[int, int] = (8, 8)) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", size, value).save(path)


def both_paths(card: Card, config: str | None, monkeypatch: pytest.MonkeyPatch, **kw: Any) -> tuple[dict, dict, bool]:
    """`covidct check` by the file-by-file path and by the fast path: (full report, fast report, whether the fast
    path gave it, not the full path after a hand-over), the reports as JSON."""
    import covidct.layout.check as check_module

    cfg = card.config(config)
    full = check_module.check(card, cfg, fast=False, **kw).to_json()
    used: list[bool] = []
    real = check_module._check_fast

    def spy(*a: Any) -> Any:
        r = real(*a)
        used.append(r is not None)
        return r

    monkeypatch.setattr(check_module, "_check_fast", spy)
    fast = check_module.check(card, cfg, **kw).to_json()
    monkeypatch.setattr(check_module, "_check_fast", real)
    assert used == [True] or used == [False]
    return full, fast, used[0]
