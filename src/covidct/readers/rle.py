"""Binary masks spelled as run-length text in a table cell (``layout.labels.<mask>.rle``).

A cell is pairs of numbers, ``offset length offset length ...``, over the mask flattened in row-major (C) or
column-major (Fortran) order. An offset is ``absolute`` (where the run starts, counted from ``start``: 0 or 1)
or ``relative`` (pixels skipped since the end of the previous run: Kaggle's SIIM-ACR pneumothorax format,
its ``mask_functions.rle2mask``). Several cells of one example (several table rows) are one mask: their union.

The cells are untrusted, so parsing is linear in the text and its memory bounded: ASCII digits and spaces only
(no sign, no ``_``, no Unicode digits), at most :data:`covidct.numtext.MAX_DIGITS` digits a number, at most
two numbers per pixel of the shape, an even count, and every run inside the shape. Painting sorts and merges the
runs and writes the pixels once, never a pass per run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from covidct.numtext import MAX_DIGITS
from covidct.readers._common import ReadError, check_decoded_size

if TYPE_CHECKING:
    import numpy

_NOT_RLE = re.compile(r"[^ \t0-9]")
_CHUNK = 1 << 20  # characters parsed at a time: the temporary lists stay a few megabytes


@dataclass(frozen=True)
class RleFormat:
    """How the numbers of one cell are read (the card's ``rle`` rule, as plain values)."""

    shape: tuple[int, int]  # (rows, columns) of the mask
    order: str = "column-major"  # or "row-major"
    offsets: str = "relative"  # or "absolute"
    start: int = 1  # absolute offsets: the number of the first pixel (0 or 1)
    empty: str | None = None  # the text of a cell without runs (SIIM: "-1"); a blank cell is empty too

    @property
    def pixels(self) -> int:
        return self.shape[0] * self.shape[1]


def _numbers(text: str, where: object, fmt: RleFormat) -> numpy.ndarray:
    """The cell's numbers as int64, refusing anything but ASCII digits and blanks, long numbers, odd counts."""
    import numpy as np

    n = fmt.pixels
    # a legitimate cell has at most 2 numbers per pixel, each at most len(str(n)) digits (plus leading zeros,
    # which no writer emits): refuse a larger text before splitting it
    longest = 2 * n * (len(str(n)) + 1) + 16
    if len(text) > longest:
        raise ReadError(where, f"run-length text of {len(text):,} characters is longer than any mask of shape "
                        f"{fmt.shape} can need ({longest:,})")
    parts: list[numpy.ndarray] = []
    count = 0
    pos = 0
    while pos < len(text):
        end = min(len(text), pos + _CHUNK)
        if end < len(text):  # cut at a blank, so that no number is split
            blank = text.find(" ", end)
            end = len(text) if blank < 0 else blank
        chunk = text[pos:end]
        if chunk.strip(" \t0123456789"):  # something else than digits and blanks: say which number
            m = _NOT_RLE.search(chunk)
            at = pos + (m.start() if m else 0)
            sample = text[max(0, at - 10):at + 10]
            raise ReadError(where, f"run-length text holds {text[at]!r} at character {at + 1:,} (near {sample!r}); "
                            f"only non-negative whole numbers (ASCII digits) separated by spaces are allowed")
        tokens = chunk.split()
        if tokens and max(map(len, tokens)) > MAX_DIGITS:
            raise ReadError(where, f"run-length text holds a number of more than {MAX_DIGITS} digits")
        count += len(tokens)
        if count > 2 * n:
            raise ReadError(where, f"run-length text holds more than {2 * n:,} numbers, more than any mask of "
                            f"shape {fmt.shape} can need")
        if tokens:
            parts.append(np.array(tokens, dtype=np.int64))
        pos = end
    out = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    if len(out) % 2:
        raise ReadError(where, f"run-length text holds {len(out):,} numbers, an odd count; it must be pairs of "
                        "offset and length")
    return out


def runs(text: str | None, fmt: RleFormat, where: object = "run-length cell") -> tuple[numpy.ndarray, numpy.ndarray]:
    """The runs of one cell as 0-based flat start positions and lengths (empty for an empty cell).

    Raises ReadError naming ``where`` for text that is not pairs of whole numbers or a run outside the shape.
    """
    import numpy as np

    t = (text or "").strip()
    if t == "" or (fmt.empty is not None and t == fmt.empty.strip()):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    nums = _numbers(t, where, fmt)
    n = fmt.pixels
    if len(nums) and int(nums.max()) > n:  # bounds every sum below: at most 2n numbers, each at most n
        raise ReadError(where, f"run-length text holds {int(nums.max()):,}, beyond the {n:,} pixels of shape "
                        f"{fmt.shape}")
    offsets, lengths = nums[0::2], nums[1::2]
    if fmt.offsets == "relative":  # pixels skipped since the previous run ended
        starts = np.cumsum(offsets) + (np.cumsum(lengths) - lengths)
    else:
        starts = offsets - fmt.start
        if len(starts) and int(starts.min()) < 0:
            i = int(np.argmin(starts))
            raise ReadError(where, f"run {i + 1} starts at {int(offsets[i])}, before the first pixel "
                            f"({fmt.start})")
    ends = starts + lengths
    if len(ends) and int(ends.max()) > n:
        i = int(np.argmax(ends))
        raise ReadError(where, f"run {i + 1} ends at pixel {int(ends[i]):,}, beyond the {n:,} pixels of shape "
                        f"{fmt.shape}")
    return starts, lengths


def mask(texts: Iterable[str | None], fmt: RleFormat, value: int = 1,
         where: object = "run-length cell") -> numpy.ndarray:
    """The union of the cells' runs as a uint8 mask of ``fmt.shape`` (``value`` inside, 0 outside)."""
    import numpy as np

    check_decoded_size(where, "run-length mask shape", fmt.shape, 1)
    n = fmt.pixels
    starts: list[numpy.ndarray] = []
    ends: list[numpy.ndarray] = []
    for text in texts:
        s, ln = runs(text, fmt, where)
        keep = ln > 0
        starts.append(s[keep])
        ends.append((s + ln)[keep])
    flat = _paint(np.concatenate(starts) if starts else np.zeros(0, dtype=np.int64),
                  np.concatenate(ends) if ends else np.zeros(0, dtype=np.int64), n, value)
    rows, cols = fmt.shape
    if fmt.order == "column-major":  # a Fortran-ordered view: a transposing copy costs more than the decoding
        return flat.reshape((cols, rows)).T
    return flat.reshape((rows, cols))


def _paint(starts: numpy.ndarray, ends: numpy.ndarray, n: int, value: int) -> numpy.ndarray:
    """``n`` pixels, ``value`` inside the union of the runs [start, end): the runs are sorted and merged where
    they overlap or touch, then written with one ``repeat`` of alternating 0 / value (one byte per pixel, one
    pass; sorting costs O(r log r) for r runs, which are at most n)."""
    import numpy as np

    if not len(starts):
        return np.zeros(n, dtype=np.uint8)
    order = np.argsort(starts, kind="stable")
    s, reach = starts[order], np.maximum.accumulate(ends[order])
    first = np.ones(len(s), dtype=bool)
    first[1:] = s[1:] > reach[:-1]  # a gap before this run: it begins a new merged run
    begin = s[first]
    end = reach[np.append(np.flatnonzero(first)[1:] - 1, len(s) - 1)]
    counts = np.empty(2 * len(begin) + 1, dtype=np.int64)
    counts[0:-1:2] = begin - np.concatenate(([0], end[:-1]))  # the gaps
    counts[1::2] = end - begin  # the merged runs
    counts[-1] = n - end[-1]
    values = np.zeros(len(counts), dtype=np.uint8)
    values[1::2] = value
    return np.repeat(values, counts)


def format_of(shape: Sequence[int], order: str, offsets: str, start: int, empty: str | None) -> RleFormat:
    return RleFormat(shape=(int(shape[0]), int(shape[1])), order=order, offsets=offsets, start=int(start),
                     empty=empty)


__all__ = ["RleFormat", "format_of", "mask", "runs"]
