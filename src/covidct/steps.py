"""The output steps of ``covidct build``: the list a step module adds its step to with ``@step(name)``.

Its own module, below both the build (which runs the steps and imports their modules) and the step
modules (site.build, hf.hub_build), so neither side imports the other back.

Steps are plain functions ``(cards_dir, out, cards) -> str`` returning a one-line summary.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from covidct.card.model import Card

Step = Callable[[Path, Path, dict[str, Card]], str]
STEPS: list[tuple[str, Step]] = []


def step(name: str) -> Callable[[Step], Step]:
    def deco(fn: Step) -> Step:
        STEPS.append((name, fn))
        return fn

    return deco
