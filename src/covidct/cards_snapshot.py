"""Which cards a folder holds, as one line: how many, and a hash of their content.

A wheel or sdist carries the cards it was built from (setup.py copies the repository's cards/ into
``covidct/_cards`` and records :func:`snapshot` there); ``covidct --version`` names the snapshot in use.
Standard library only: setup.py loads this file by path at build time, before covidct's dependencies
are installed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

PACKAGED = Path(__file__).resolve().parent / "_cards"  # written into wheels by setup.py, never committed
RECORD = "SNAPSHOT.json"  # beside the packaged cards: what setup.py recorded at build time


def is_card_file(path: Path) -> bool:
    """Whether ``path`` is named like a card: ``*.yaml``, except names starting with ``_`` or ``.``."""
    return _is_card_name(path.name)


def _is_card_name(name: str) -> bool:  # (as a string: no Path object for each of 10,000 names)
    return name.endswith(".yaml") and not name.startswith(("_", "."))


def card_files(folder: Path) -> list[Path]:
    """The card files of a folder (see :func:`is_card_file`), in name order (as paths compare: names
    sorted as strings, case-insensitively where paths are); none if there is no such folder."""
    return [folder / n for n in card_names(folder)]


def card_names(folder: Path) -> list[str]:
    """The names of :func:`card_files`. Names are listed and sorted as strings: sorting 10,000 Path
    objects took longer than listing them, and making them took as long as stating the files."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted((n for n in names if _is_card_name(n)), key=os.path.normcase)


def snapshot(folder: Path) -> dict[str, object]:
    """``{"cards": n, "sha256": hex}``: the hash covers every card's name and bytes, in name order."""
    h = hashlib.sha256()
    n = 0
    for p in card_files(folder):
        if not p.is_file():  # a FIFO or a dangling link is no card, and is never opened
            continue
        n += 1
        h.update(f"{p.name}\0{hashlib.sha256(p.read_bytes()).hexdigest()}\n".encode())
    return {"cards": n, "sha256": h.hexdigest()}


def recorded(folder: Path) -> dict[str, object]:
    """What setup.py recorded for a packaged snapshot (empty when there is no record)."""
    try:
        data = json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def describe(folder: Path) -> str:
    """One line for ``covidct --version``: the cards in ``folder`` and where they come from."""
    if not folder.is_dir():
        return f"cards: none (no folder at {folder}; set COVIDCT_CARDS or pass --cards)"
    snap = snapshot(folder)
    packaged = folder.resolve() == PACKAGED
    where = "the snapshot packaged with covidct" if packaged else str(folder)
    line = f"cards: {snap['cards']} from {where} (sha256:{str(snap['sha256'])[:12]}"
    rec = recorded(folder) if packaged else {}
    if rec.get("commit"):
        line += f", git {str(rec['commit'])[:12]}"
    if rec and rec.get("sha256") != snap["sha256"]:
        line += ", changed since it was packaged"
    return line + ")"
