"""The manifest of a Hub folder (``.covidct.json``): which card, which version of it, what the folder holds.

Every writer of a Hub folder (Parquet export, loading scripts, card-only folders) writes it and every
reader (publish, the build's reuse check) compares ``card_sha256`` with the card. Its own module, with
the card's canonical JSON text the hash is taken of, so that export and scripts both use it without
importing each other.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from covidct.card.model import Card
from covidct.errors import CovidctError

MANIFEST = ".covidct.json"


def card_document(card: Card) -> str:
    """The card as canonical JSON text (the data embedded in a loading script, and what ``card_sha256`` hashes)."""
    return json.dumps(
        card.model_dump(mode="json", exclude_none=True), ensure_ascii=True, sort_keys=True, separators=(",", ":")
    )


def card_sha256(card: Card) -> str:
    return hashlib.sha256(card_document(card).encode("ascii")).hexdigest()


def write_manifest(
    folder: Path, card: Card, kind: str, *, synthetic: bool = False, extra: dict[str, Any] | None = None
) -> Path:
    from covidct.fsutil import atomic_write_text
    from covidct.version import __version__

    data = {
        "card": card.id,
        "card_sha256": card_sha256(card),
        "kind": kind,
        "synthetic": synthetic,
        "covidct": __version__,
        **(extra or {}),
    }
    path = folder / MANIFEST
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
    return path


class ManifestError(CovidctError):
    """A Hub folder without a readable manifest: it was not written by covidct, or was damaged."""


def require_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of ``folder``; :class:`ManifestError` saying how to write one when it is missing or unreadable."""
    path = folder / MANIFEST
    if not path.is_file():
        raise ManifestError(
            f"{folder} has no {MANIFEST}: it was not written by covidct. Run `covidct export ID --data-dir DIR` "
            f"(Parquet) or `covidct scripts` (loading script) first."
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: arrays nested thousands deep
        reason = "nested too deep" if isinstance(exc, RecursionError) else str(exc)
        raise ManifestError(f"{path}: unreadable manifest ({reason}); re-run the export") from None
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: unreadable manifest; re-run the export")
    return data


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of ``folder``, or None when it has none (or an unreadable one)."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None
