"""Cards for tests of every product (Hub folders, Croissant, JSON-LD): the registry's cncb card, with
fields replaced, or with hostile text in every free-text field."""

from __future__ import annotations

import copy
from typing import Any

from covidct.card.model import Card
from covidct.registry import registry

HOSTILE = (
    "Evil ''' \"\"\" \\' \\n `` ``` ~~~ <script>alert(1)</script> <!-- hidden --> ![x](https://evil.example/p.png) "
    "| pipe | {{ jinja }} ${shell} $(rm -rf /) \n---\n...\nkey: value\n# heading\n__import__('os').system('x')"
)


def base_card() -> Card:
    return registry().get("cncb")


def card_with(**top: Any) -> Card:
    """The cncb card with top-level fields replaced (nested dicts are merged one level deep)."""
    data = base_card().model_dump(mode="json", exclude_none=True)
    data = copy.deepcopy(data)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return Card.model_validate(data)


def hostile_card() -> Card:
    """cncb with hostile text in every free-text field a README, script or JSON-LD shows."""
    data = base_card().model_dump(mode="json", exclude_none=True)
    data["name"] = "CNCB " + HOSTILE[:200].replace("\n", " ")
    data["summary"] = "Summary " + HOSTILE[:250].replace("\n", " ")
    data["description"] = "Intro.\n\n" + HOSTILE + "\n\n```\nunclosed fence"
    data["aliases"] = ["alias <b>bold</b>", "alias | pipe"]
    data["license"] = {**data["license"], "summary": HOSTILE, "requires_agreement": True}
    data["access"] = {**data["access"], "instructions": HOSTILE}
    data["caveats"] = [{"text": HOSTILE}]
    data["citation"] = {"bibtex": "@misc{x, title={```\n" + HOSTILE + "}}", "text": HOSTILE}
    cfg = data["configs"][1]
    cfg["description"] = HOSTILE
    cfg["labels"][0]["classes"][0]["description"] = HOSTILE[:290].replace("\n", " ")
    return Card.model_validate(data)


__all__ = ["HOSTILE", "base_card", "card_with", "hostile_card"]
