"""What a card check yields: a :class:`Finding` at a path into the card's YAML.

Its own module, below every check (card.checks, card.codes...), so that a check module can yield
findings without importing the module that runs them all.
"""

from __future__ import annotations

from dataclasses import dataclass

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Finding:
    path: Path
    code: str
    message: str
    hint: str | None = None
    key: bool = False  # point at the key rather than the value


def near(word: str, choices: set[str]) -> str | None:
    """``did you mean 'x'?`` for the choice closest to ``word``, or None."""
    import difflib

    best = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f"did you mean {best[0]!r}?" if best else None
