"""A bound on the Python objects pydicom builds from a DICOM file, checked before pydicom reads it.

pydicom turns every element and sequence item it parses into a Python object (a data element of about
285 bytes, an item's ``Dataset`` of about 670), and it parses every undefined-length sequence whole, also
in header-only reads (``stop_before_pixels``, ``specific_tags`` skip only defined-length values); sequences
of defined length are parsed when first used. Sixteen bytes of file make one empty item, so a 16 MB file
of empty items took 744 MB and 55 s to read one attribute. :func:`check_structure` walks the file's
structure first, as pydicom (3.0) parses it -- the file meta group, the command set, the data set (inflated
when deflated), every sequence of defined or undefined length, items inside items, implicit and explicit VR
(also where a writer switches between them), both byte orders, VR UN and private elements of undefined
length that pydicom reads as sequences -- and estimates what pydicom would build. More than the file's
allowance (:func:`allowance`, 24 times its size) is a :class:`ReadError` before pydicom builds anything: the
walk keeps one frame per nesting level (at most :data:`MAX_DEPTH`) and stops at the first element or item over
the allowance, so it takes time linear in the file and memory of one chunk (a deflated data set: its inflated
size, within the inflate allowance, as pydicom itself needs).

Where pydicom's reading is ambiguous the walk counts more, never less: every value that pydicom could
convert to a sequence when it is used (VR SQ, VR UN, implicit private elements) is walked as one; a header-only
read is counted as if every element were kept.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass
from typing import Any

from covidct.readers._common import ReadError

# What pydicom's objects cost (measured with tracemalloc, pydicom 3.0): an item's Dataset about 670 bytes, a
# data element about 285. A file may make pydicom build MEMORY_RATIO times its size (at least MIN_MEMORY):
# empty items (16 bytes each, 44 times their size by this estimate) and empty elements (8 bytes, 38 times) are
# refused; the densest real headers we know (pydicom's structured report and RT plan test files, about 18
# bytes an element or item) are 21 times, so a large real structured report still reads.
ITEM_COST, ELEMENT_COST = 700, 300
MEMORY_RATIO = 24
MIN_MEMORY = 16 << 20  # any file may have about 23,000 items or 55,000 elements
_CHUNK = 1 << 14  # bytes of a top-level data set read at once
MAX_DEPTH = 32  # sequences inside items inside sequences: real files nest 3-4 levels

_ITEM = 0xFFFEE000
_ITEM_END = 0xFFFEE00D
_SEQ_END = 0xFFFEE0DD
_PIXEL_TAGS = frozenset({0x7FE00010, 0x7FE00009, 0x7FE00008})
_UNDEFINED = 0xFFFFFFFF
_ITEM_DS, _AT_PIXELS, _AT_END = -1, -2, -3  # how a walked data set ends (see _Walk.dataset)
_DEFLATED = "1.2.840.10008.1.2.1.99"
_NOTHING: frozenset[int] = frozenset()


def allowance(size: int) -> int:
    """How many bytes of pydicom objects (estimated: :data:`ITEM_COST`, :data:`ELEMENT_COST`) a DICOM file of
    ``size`` bytes may make."""
    return max(MIN_MEMORY, MEMORY_RATIO * size)


class _TooMany(Exception):
    """The estimate went over the allowance (or the nesting over MAX_DEPTH)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class _Stream:
    """A file object seen up to ``end`` (absolute; ``None``: to its end), as a raw sequence value is seen by
    pydicom when it converts it from its own copy of the bytes."""

    def __init__(self, fh: Any, end: int | None) -> None:
        self.fh, self.end = fh, end

    def read(self, n: int = -1) -> bytes:
        if self.end is not None:
            left = max(self.end - self.fh.tell(), 0)
            n = left if n < 0 else min(n, left)
        return self.fh.read(n)  # type: ignore[no-any-return]

    def seek(self, pos: int, whence: int = 0) -> int:
        return self.fh.seek(pos, whence)  # type: ignore[no-any-return]

    def tell(self) -> int:
        return self.fh.tell()  # type: ignore[no-any-return]


_VRS: list[frozenset[bytes]] = []


def _vr_sets() -> tuple[frozenset[bytes], frozenset[bytes]]:
    """(the VRs pydicom knows, those with a 4-byte length in explicit VR), as bytes; resolved once."""
    if not _VRS:
        from pydicom.valuerep import EXPLICIT_VR_LENGTH_32, VR

        _VRS.extend((frozenset(str(v).encode() for v in VR), frozenset(str(v).encode() for v in EXPLICIT_VR_LENGTH_32)))
    return _VRS[0], _VRS[1]


_UNPACKERS = {order: (struct.Struct(order + "HH2sH").unpack_from, struct.Struct(order + "L").unpack_from,
                      struct.Struct(order + "HHL").unpack_from) for order in "<>"}


def _unpackers(order: str) -> tuple[Any, Any, Any]:
    """(explicit-VR element header, 4-byte length, implicit-VR element header) unpackers for a byte order."""
    return _UNPACKERS[order]


_SIZES: dict[bytes, int] = {}


def _header_sizes() -> dict[bytes, int]:
    """Explicit VR → the size of an element's header (8, or 12 with a 4-byte length), for the VRs whose
    defined-length values pydicom never reads as a sequence (not SQ, not UN)."""
    if not _SIZES:
        known, long_vrs = _vr_sets()
        _SIZES.update({vr: 12 if vr in long_vrs else 8 for vr in known if vr not in (b"SQ", b"UN")})
    return _SIZES


class _Walk:
    """One count over a file: ``cost`` the estimated bytes of pydicom objects so far, ``limit`` allowed."""

    def __init__(self, limit: int) -> None:
        self.cost, self.limit, self.items, self.elements = 0, limit, 0, 0
        from pydicom import config

        self.infer_sq = bool(getattr(config.settings, "infer_sq_for_un_vr", True))
        self.vr_switch = bool(getattr(config, "assume_implicit_vr_switch", True))
        self.known_vrs, self.long_vrs = _vr_sets()
        self.syntax: str | None = None  # the last Transfer Syntax UID seen in the file meta group
        # the top-level elements to collect (tags) and what was found: (tag, explicit VR, offset, length)
        self.wanted: frozenset[int] = frozenset()
        self.found: list[tuple[int, bytes | None, int, int]] = []
        self.sure, self.base = True, 0  # sure: the collected values are those pydicom would read

    def keep(self, tag: int, vr: bytes | None, at: int, length: int, implicit: bool) -> None:
        """Note a wanted top-level element whose value starts at ``at``; one pydicom would read differently
        (an undefined length, implicit VR inside explicit VR) makes the collection unsure."""
        if length == _UNDEFINED or (vr is None and not implicit) or len(self.found) >= len(self.wanted):
            self.sure = False  # the last: a duplicate, and the list stays bounded
        else:
            self.found.append((tag, vr, at, length))

    def add(self, item: bool) -> None:
        self.items += item
        self.elements += not item
        self.cost += ITEM_COST if item else ELEMENT_COST
        if self.cost > self.limit:
            raise _TooMany(f"has at least {self.items:,} sequence items and {self.elements:,} elements: pydicom "
                           f"would build each as a Python object, more than the {self.limit >> 20:,} MB a DICOM "
                           "file of its size may take; refused as damaged or hostile")

    # ------------------------------------------------------------------------------------------ data sets

    def dataset(self, fp: Any, implicit: bool, little: bool, length: int | None, *, stop: int = _ITEM_DS,
                depth: int = 0) -> bool:
        """Walk one data set as pydicom's ``read_dataset`` reads it; ``length``: an item's declared length
        (``None``: to an item delimiter or the end). ``stop``: :data:`_ITEM_DS` for a sequence item, else
        where a top-level data set ends (:data:`_AT_PIXELS`, :data:`_AT_END`, or a group number: the file
        meta group 2, the command set 0). Returns False where pydicom would raise (the enclosing walk stops)."""
        if depth > MAX_DEPTH:
            raise _TooMany(f"has sequences nested more than {MAX_DEPTH} deep (real files nest 3 or 4); refused as "
                           "damaged or hostile")
        start = fp.tell()
        head = fp.read(6)
        fp.seek(start)
        if len(head) == 6:  # pydicom looks at the first element's VR (in items only to switch to implicit)
            found = not (0x40 < head[4] < 0x5B and 0x40 < head[5] < 0x5B)
            implicit = (implicit or found) if stop == _ITEM_DS else found
        plain = self._plain_implicit if implicit else self._plain_explicit
        order = "<" if little else ">"
        chunk = 1 << 6 if stop == _ITEM_DS else 1 << 12  # items are often small
        while length is None or fp.tell() - start < length:
            # the plain elements (defined length, a known VR, no sequence) from a chunk of the file in memory,
            # the next other one by step(): a header of a hundred elements costs a few reads
            at = fp.tell()
            buf = fp.read(chunk)
            self.base = at
            chunk = min(chunk * 2, _CHUNK)
            room = (self.limit - self.cost) // ELEMENT_COST  # elements before the allowance is reached
            pos, count, special = plain(buf, order, room, stop, len(buf) if length is None else start + length - at)
            self.elements += count
            self.cost += count * ELEMENT_COST
            fp.seek(at + pos)
            if special or pos == 0 or count >= room:
                done = self.step(fp, implicit, little, stop, depth)
                if done is not None:
                    return done
        return True

    def step(self, fp: Any, implicit: bool, little: bool, stop: int, depth: int) -> bool | None:
        """Walk the next element of a data set: None to go on, else what :meth:`dataset` returns."""
        header = self.element(fp, implicit, "<" if little else ">")
        if header is None:
            return True
        tag, vr, value_len = header
        if value_len < 0:
            return False
        if tag == _ITEM_END:
            return True
        if (stop >= 0 and tag >> 16 != stop) or (stop == _AT_PIXELS and tag in _PIXEL_TAGS):
            fp.seek(fp.tell() - (12 if vr in self.long_vrs and vr in self.known_vrs else 8))
            return True
        self.add(False)
        if stop == 2 and vr not in self.known_vrs:  # pydicom converts the file meta group: it may raise
            self.sure = False
        if stop == _AT_PIXELS and tag in self.wanted:
            self.keep(tag, vr, fp.tell(), value_len, implicit)
        if stop == 2 and tag == 0x00020010 and value_len != _UNDEFINED:  # pydicom keeps the last one
            at = fp.tell()
            self.syntax = fp.read(value_len).decode("latin-1").strip(" \x00")  # lenient: more, never fewer, walks
            fp.seek(at)
        if not self.value(fp, tag, vr, value_len, implicit, little, depth):
            return False
        return None

    def _plain_explicit(self, buf: bytes, order: str, room: int, stop: int, end: int) -> tuple[int, int, bool]:
        """(bytes, count) of the plain explicit-VR elements starting in ``buf`` before ``end`` (at most ``room``),
        and whether an element that is not plain follows: a sequence, VR UN, a VR pydicom does not know, an
        undefined length, an item or delimiter, pixel data, the transfer syntax, the end of group ``stop``."""
        pos, count, last, grouped = 0, 0, min(len(buf) - 12, end - 1), stop >= 0
        sizes = _header_sizes()
        head, long_len, _ = _unpackers(order)
        wanted = self.wanted if stop == _AT_PIXELS else _NOTHING
        while pos <= last and count < room:
            group, elem, vr, value_len = head(buf, pos)
            size = sizes.get(vr)
            if size is None or group == 0xFFFE or group == 0x7FE0 or (grouped and (group != stop or elem == 0x0010)):
                return pos, count, True
            if size == 12:
                value_len = long_len(buf, pos + 8)[0]
                if value_len == _UNDEFINED:
                    return pos, count, True
            if wanted and group << 16 | elem in wanted:
                self.keep(group << 16 | elem, vr, self.base + pos + size, value_len, False)
            count += 1
            pos += size + value_len
        return pos, count, False

    def _plain_implicit(self, buf: bytes, order: str, room: int, stop: int, end: int) -> tuple[int, int, bool]:
        """:meth:`_plain_explicit` for implicit VR: not plain is also what pydicom may read as a sequence."""
        pos, count, last = 0, 0, min(len(buf) - 12, end - 1)
        head = _unpackers(order)[2]
        wanted = self.wanted if stop == _AT_PIXELS else _NOTHING
        while pos <= last and count < room:
            group, elem, value_len = head(buf, pos)
            if (value_len == _UNDEFINED or group in (0xFFFE, 0x7FE0)
                    or (stop >= 0 and (group != stop or elem == 0x0010))
                    or (value_len and self._maybe_sequence(group << 16 | elem, None))):
                return pos, count, True
            if wanted and group << 16 | elem in wanted:
                self.keep(group << 16 | elem, None, self.base + pos + 8, value_len, True)
            count += 1
            pos += 8 + value_len
        return pos, count, False

    def element(self, fp: Any, implicit: bool, order: str) -> tuple[int, bytes | None, int] | None:
        """(tag, explicit VR or None, value length) of the next element as pydicom's ``data_element_generator``
        reads it: an explicit VR that is not two letters means implicit VR for this element, an unknown one a
        2-byte length. None at the end; a length of -1 where pydicom would raise."""
        raw = fp.read(8)
        if len(raw) < 8:
            return None
        if not implicit:
            group, elem, vr, value_len = struct.unpack(order + "HH2sH", raw)
            if vr in self.known_vrs:
                if vr in self.long_vrs:
                    extra = fp.read(4)
                    if len(extra) < 4:
                        return group << 16 | elem, vr, -1
                    value_len = struct.unpack(order + "L", extra)[0]
                return group << 16 | elem, vr, value_len
            if b"AA" <= vr <= b"ZZ" or not self.vr_switch:  # type: ignore[operator]
                return group << 16 | elem, vr, value_len
        group, elem, value_len = struct.unpack(order + "HHL", raw)
        return group << 16 | elem, None, value_len

    def value(self, fp: Any, tag: int, vr: bytes | None, length: int, implicit: bool, little: bool,
              depth: int) -> bool:
        """Walk (or skip) one element's value; the stream is left after it."""
        if length != _UNDEFINED:
            at = fp.tell()
            if length and self._maybe_sequence(tag, vr):
                outer = getattr(fp, "end", None)
                end = at + length if outer is None else min(at + length, outer)
                self.sequence(_Stream(getattr(fp, "fh", fp), end), implicit, little, length, depth)
            fp.seek(at + length)
            return True
        if vr == b"UN" and self.infer_sq:
            vr = b"SQ"
        if vr is None:
            vr = self._dictionary_vr(tag)
            if vr is None:  # not in the dictionary: pydicom looks at what follows
                at = fp.tell()
                peek = fp.read(4)
                fp.seek(at)
                vr = b"SQ" if len(peek) == 4 and self._tag(peek, little) == _ITEM else b""
        if vr == b"SQ":
            return self.sequence(fp, implicit, little, None, depth)
        from pydicom.fileutil import read_undefined_length_value
        from pydicom.tag import SequenceDelimiterTag

        try:
            read_undefined_length_value(fp, little, SequenceDelimiterTag, 0)  # type: ignore[arg-type]
        except EOFError:
            return False
        return True

    def sequence(self, fp: Any, implicit: bool, little: bool, length: int | None, depth: int) -> bool:
        """Walk a sequence's items as pydicom's ``read_sequence`` reads them (any tag starts an item)."""
        start = fp.tell()
        fmt = "<HHL" if little else ">HHL"
        empty = struct.pack(fmt, 0xFFFE, 0xE000, _UNDEFINED) + struct.pack(fmt, 0xFFFE, 0xE00D, 0)
        while length is None or fp.tell() - start < length:
            raw = fp.read(16)  # an item's header and, for an empty item, its delimiter
            if len(raw) < 8:
                return False
            if raw == empty:  # the cheapest item to write: counted without walking into it
                self.add(True)
                continue
            fp.seek(fp.tell() - len(raw) + 8)
            group, elem, item_len = struct.unpack(fmt, raw[:8])
            if group << 16 | elem == _SEQ_END:
                return True
            self.add(True)
            if not self.dataset(fp, implicit, little, None if item_len == _UNDEFINED else item_len,
                                depth=depth + 1):
                return False
        return True

    @staticmethod
    def _tag(raw: bytes, little: bool) -> int:
        group, elem = struct.unpack("<HH" if little else ">HH", raw)
        return group << 16 | elem  # type: ignore[no-any-return]

    @staticmethod
    def _dictionary_vr(tag: int) -> bytes | None:
        from pydicom.datadict import dictionary_VR

        try:
            return str(dictionary_VR(tag)).encode()
        except KeyError:
            return None

    def _maybe_sequence(self, tag: int, vr: bytes | None) -> bool:
        """Whether pydicom may convert this defined-length value to a sequence when it is used: VR SQ, VR UN
        (replaced by the dictionary's or a private dictionary's VR), an implicit element the dictionary calls
        SQ or a private one."""
        if vr in (b"SQ", b"UN"):
            return True
        if vr is not None:
            return False
        return bool(tag >> 16 & 1) or self._dictionary_vr(tag) == b"SQ"


def _encoding(fp: Any, syntax: str | None) -> tuple[bool, bool]:
    """(implicit VR, little endian) of the data set at ``fp``, as pydicom's ``read_partial`` decides."""
    if syntax is None:
        at = fp.tell()
        head = fp.read(6)
        fp.seek(at)
        if len(head) < 6:
            return True, True
        from pydicom.values import converters

        group = struct.unpack("<H", head[:2])[0]
        if head[4:6].decode("latin-1") in converters:
            return False, group < 1024
        return True, True
    from pydicom.uid import PrivateTransferSyntaxes

    for private in PrivateTransferSyntaxes:
        if syntax == private:
            return bool(private.is_implicit_VR), bool(private.is_little_endian)
    if syntax == "1.2.840.10008.1.2":
        return True, True
    return False, syntax != "1.2.840.10008.1.2.2"


@dataclass(frozen=True)
class Values:
    """Raw top-level values collected by :func:`check_structure`: tag → (explicit VR or None for implicit VR,
    value bytes), in a little-endian data set."""

    raw: dict[int, tuple[str | None, bytes]]


def check_structure(src: Any, shown: Any, *, header_only: bool, wanted: frozenset[int] = _NOTHING,
                    value_limit: int = 0) -> Values | None:
    """Refuse the DICOM file ``src`` (a path or a seekable binary file object, left where it was) when pydicom
    would build more than :func:`allowance` elements and items from it; ``shown`` names it in the message.
    ``header_only``: the read stops before the pixel data. A deflated data set is inflated here within its
    allowance (:func:`_walk_deflated`) and walked, counted against the file's allowance.

    ``wanted`` (with ``header_only``): top-level tags whose raw values the same walk collects, returned when
    the walk is sure pydicom would read the same bytes (a little-endian, not deflated data set after a file
    meta group with a Transfer Syntax UID, each wanted element once, of defined length at most ``value_limit``
    bytes, the whole file walked without an error); else None, and the caller reads the file with pydicom."""
    own = isinstance(src, (str, bytes)) or hasattr(src, "__fspath__")
    try:
        fh = open(src, "rb") if own else src  # noqa: SIM115 (closed below)
    except OSError:
        return None  # pydicom reports it
    pos = fh.tell()
    try:
        size = fh.seek(0, os.SEEK_END) - pos
        fh.seek(pos)
        walk = _Walk(allowance(size))
        fp = fh
        head = fp.read(132)
        preamble = len(head) == 132 and head[128:132] == b"DICM"
        if not preamble:
            fp.seek(0)  # pydicom reads a bare data set from the start (force=True)
        stop = _AT_PIXELS if header_only else _AT_END
        meta = walk.dataset(fp, False, True, None, stop=2)  # the file meta group (explicit VR little endian)
        command = walk.dataset(fp, True, True, None, stop=0)  # a command set (group 0000, implicit VR)
        start = fp.tell()
        if walk.syntax == _DEFLATED:
            _walk_deflated(walk, fp, stop, shown)
            fp.seek(start)
        # A deflated data set is walked as stored too (explicit VR little endian, what pydicom reads when it does
        # not take the Transfer Syntax UID for deflated): where this walk's reading of the UID and pydicom's could
        # differ, both readings are counted.
        implicit, little = _encoding(fp, walk.syntax)
        walk.wanted = wanted if header_only else _NOTHING
        walk.sure = walk.sure and meta and command and preamble and little and walk.syntax not in (None, _DEFLATED)
        complete = walk.dataset(fp, implicit, little, None, stop=stop)
        walk.sure = walk.sure and complete
        return _collected(walk, fp, value_limit) if wanted else None
    except _TooMany as exc:
        raise ReadError(shown, exc.why, "a real DICOM file is not built like this; check where it came from") from None
    finally:
        if own:
            fh.close()
        else:
            fh.seek(pos)


def _collected(walk: _Walk, fp: Any, value_limit: int) -> Values | None:
    """The values the walk noted, read from the file; None where pydicom could read something else."""
    if not walk.sure or len({tag for tag, *_ in walk.found}) < len(walk.found):  # a duplicated element
        return None
    raw: dict[int, tuple[str | None, bytes]] = {}
    for tag, vr, at, length in walk.found:
        if length > value_limit or (vr is not None and vr not in walk.known_vrs):
            return None
        fp.seek(at)
        value = fp.read(length)
        if len(value) < length:
            return None
        raw[tag] = (None if vr is None else vr.decode("ascii"), value)
    return Values(raw)


def _walk_deflated(walk: _Walk, fp: Any, stop: int, shown: Any) -> None:
    """Inflate a Deflated Explicit VR Little Endian data set within its allowance and walk it.

    pydicom inflates the data set whole, in memory, before it reads any element (even for a header-only read):
    a 2 MB file of deflated zeros would take gigabytes. It is inflated here first in bounded chunks, and
    refused beyond :func:`~covidct.readers._common.inflate_allowance` (like an archive's: a multiple of the
    compressed size, at least a floor, at most the decoded limit), after time linear in the file's size."""
    import io

    from covidct.readers._common import inflate_allowance, inflate_refused

    start = fp.tell()
    allowance, why = inflate_allowance(shown, fp.seek(0, os.SEEK_END) - start)
    fp.seek(start)
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    data = bytearray()
    try:
        while not inflater.eof:
            chunk = inflater.unconsumed_tail or fp.read(1 << 16)
            if not chunk:
                break
            data += inflater.decompress(chunk, 1 << 20)
            if len(data) > allowance:
                raise inflate_refused(shown, "deflated data set", allowance, why)
    except zlib.error:
        pass  # damaged deflate data: pydicom reports it; what inflated is walked
    walk.dataset(io.BytesIO(data), False, True, None, stop=stop)
