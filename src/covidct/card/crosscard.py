"""The registry-wide checks (unique ids, names and aliases; lineage targets exist) and the small
per-card summaries they run on.

Apart from the validation of each file (covidct.card.validate) and light to import (no Pydantic): the
index of a cards folder (covidct.cardindex) reruns these checks over its stored summaries, so a command
whose cards are all indexed never loads the card model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from covidct.card.issues import Issue, Severity

if TYPE_CHECKING:
    from covidct.card.model import Card

Pos = tuple[int, int]


@dataclass
class Summary:
    """What the registry-wide checks need from one card (small, so it crosses processes cheaply)."""

    id: str
    id_pos: Pos
    names: list[tuple[str, Pos]]  # aliases and name, with positions
    lineage: list[tuple[str, Pos]]
    mentions: set[str] = field(default_factory=set)  # ids this card's lineage names


@dataclass
class FileResult:
    path: str
    card: Card | None
    issues: list[Issue]
    summary: Summary | None = None


def registry_checks(results: list[FileResult], extra_ids: set[str],
                    context: Sequence[tuple[Summary, str]] = ()) -> None:
    """Unique ids and aliases across files; lineage targets exist. Appends to each result's issues.

    ``context`` holds cards that are not being checked (the rest of the registry): they claim their
    names first, so a checked card that reuses one is the one reported.
    """
    owners: dict[str, tuple[str, str]] = {}  # casefolded name -> (card id, file)
    for s, shown in context:
        for name in [s.id] + [n for n, _ in s.names]:
            owners.setdefault(name.casefold(), (s.id, shown))
    ids = {r.summary.id for r in results if r.summary} | {s.id for s, _ in context} | extra_ids
    for r in results:
        s = r.summary
        if s is None:
            continue
        for name, pos, is_id in [(s.id, s.id_pos, True)] + [(n, p, False) for n, p in s.names]:
            key = name.casefold()
            prev = owners.get(key)
            if prev is not None and prev[0] != s.id:
                what = "id" if is_id else "name or alias"
                r.issues.append(Issue(r.path, pos[0], pos[1], "C308",
                                      f"{what} {name!r} is already used by card {prev[0]!r} ({prev[1]})",
                                      "ids and aliases must name one dataset"))
            elif prev is None:
                owners[key] = (s.id, r.path)
        for target, pos in s.lineage:
            if target != s.id and target not in ids:
                r.issues.append(Issue(r.path, pos[0], pos[1], "C305", f"no card with id {target!r} in the registry",
                                      "add that card first, or fix the id"))
        r.issues.sort()


def count(results: list[FileResult]) -> tuple[int, int]:
    errors = sum(1 for r in results for i in r.issues if i.severity is Severity.ERROR)
    warnings = sum(1 for r in results for i in r.issues if i.severity is Severity.WARNING)
    return errors, warnings


__all__ = ["FileResult", "Pos", "Summary", "count", "registry_checks"]
