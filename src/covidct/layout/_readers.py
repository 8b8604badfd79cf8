"""Access to the format readers (``covidct.readers``), imported on first use so the layout stays cheap to import."""

from __future__ import annotations

from typing import Any


def readers() -> Any:
    import covidct.readers as mod

    return mod
