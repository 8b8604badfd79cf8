"""Integers spelled in untrusted text (table cells, file-name parts, HTTP headers).

``int()`` accepts any Unicode digit (``'١'`` is 1, ``'²'`` passes ``str.isdigit`` and then fails) and
raises on more than 4,300 digits; ``int(float(s))`` overflows on ``'9' * 400 + '.0'``. Card data is
untrusted, so every place that turns its text into a number goes through here: ASCII digits only, a
bounded length, and ``None`` for anything else (the caller keeps the text).
"""

from __future__ import annotations

import re

MAX_DIGITS = 18  # fits in int64, beyond any count, id or size in a dataset
_INT = re.compile(rf"([+-]?[0-9]{{1,{MAX_DIGITS}}})(?:\.0*)?", re.ASCII)


def int_text(text: str) -> int | None:
    """The integer ``text`` spells (``'007'``, ``'+3'``, ``'12.0'``), or None (other text, too long)."""
    t = text.strip()
    m = _INT.fullmatch(t) if len(t) <= MAX_DIGITS + 24 else None
    return int(m.group(1)) if m else None


def natural_key(text: str) -> tuple[tuple[int, str], ...]:
    """A sort key that orders digit runs by value (``2 < 10``) without converting them to integers."""
    out = []
    for i, tok in enumerate(re.split(r"([0-9]+)", text, flags=re.ASCII)):
        if i % 2:  # a digit run: by its length without leading zeros, then its digits
            digits = tok.lstrip("0")
            out.append((len(digits), digits))
        else:
            out.append((-1, tok))
    return tuple(out)


__all__ = ["MAX_DIGITS", "int_text", "natural_key"]
