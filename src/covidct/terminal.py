"""What covidct prints to a terminal: card text made inert. The one printer of the CLI and of ``covidct build``.

Below the CLI, so that library code that reports to a terminal (the build) prints through it without
importing the command line.
"""

from __future__ import annotations

import sys

# Card text is untrusted and reaches the terminal through show, list, validate, overlaps, errors and
# reports. Everything the CLI prints goes through echo() (and the error printer in main(), and
# argparse's messages), which makes what a terminal would obey visible instead: C0/C1 controls
# (ESC starts colour, title, screen-clear and OSC 8 hyperlink sequences), DEL, a CR that is not part
# of CRLF (it overwrites the line), backspace, and the Unicode bidi embeddings, overrides and isolates
# and line/paragraph separators (they reorder or hide text). Newlines and tabs stay: they are layout.
_TERMINAL_UNSAFE = [
    *range(0x00, 0x09), 0x0B, 0x0C, 0x0D, *range(0x0E, 0x20), *range(0x7F, 0xA0),  # C0 but tab/LF, DEL, C1
    0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A),  # bidi marks, embeddings, isolates
    0x2028, 0x2029,  # line and paragraph separators
]
_AS_TEXT = {c: f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}" for c in _TERMINAL_UNSAFE}
_AS_JSON = {c: f"\\u{c:04x}" for c in _TERMINAL_UNSAFE}


def terminal_text(text: str, *, as_json: bool = False) -> str:
    """``text`` with every control or bidi character shown as an escape (``\\x1b``, ``\\u202e``).

    CR stays only as part of CRLF. With ``as_json``, the escape is JSON's ``\\u001b``: those characters
    can only stand inside JSON strings there, so the output stays valid JSON holding the same data.
    """
    table = _AS_JSON if as_json else _AS_TEXT
    if "\r\n" in text:
        return "\r\n".join(part.translate(table) for part in text.split("\r\n"))
    return text.translate(table)


def echo(text: object = "", *, err: bool = False, end: str = "\n", as_json: bool = False) -> None:
    """Print to stdout (or stderr) through :func:`terminal_text`: the CLI's one way to print."""
    (sys.stderr if err else sys.stdout).write(terminal_text(f"{text}{end}", as_json=as_json))
