"""A plain text table, as ``pandas.DataFrame.to_string(index=False)`` prints one of text columns
(each column right-aligned to its widest cell, header included; one space between columns; tab,
newline and carriage return shown escaped; the spaces that begin every header dropped), without
importing pandas: `covidct list` prints it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

_ESCAPES = str.maketrans({"\t": "\\t", "\n": "\\n", "\r": "\\r"})


def table_text(columns: Mapping[str, Sequence[str]]) -> str:
    """The table of ``columns`` (name -> the column's cells, all of one length)."""
    headers = [name.translate(_ESCAPES) for name in columns]
    while headers and all(h.startswith(" ") for h in headers):
        headers = [h[1:] for h in headers]
    cols = []
    for header, cells in zip(headers, columns.values(), strict=True):
        texts = [header, *(c.translate(_ESCAPES) for c in cells)]
        width = max(len(t) for t in texts)
        cols.append([t.rjust(width) for t in texts])
    return "\n".join(" ".join(line) for line in zip(*cols, strict=True))
