"""A plain text table, as ``pandas.DataFrame.to_string(index=False)`` prints one of text columns
(each column right-aligned to its widest cell, header included; one space between columns; tab,
newline and carriage return shown escaped), without importing pandas: `covidct list` prints it.

(Headers that begin with a space are where pandas releases differ: 2.0 keeps the spaces, 3.x drops
those all headers share. `covidct list`'s headers are column names and never do.)"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

_ESCAPES = str.maketrans({"\t": "\\t", "\n": "\\n", "\r": "\\r"})


def table_text(columns: Mapping[str, Sequence[str]]) -> str:
    """The table of ``columns`` (name -> the column's cells, all of one length)."""
    cols = []
    for name, cells in columns.items():
        texts = [name.translate(_ESCAPES), *(c.translate(_ESCAPES) for c in cells)]
        width = max(len(t) for t in texts)
        cols.append([t.rjust(width) for t in texts])
    return "\n".join(" ".join(line) for line in zip(*cols, strict=True))
