"""DICOM headers whose undefined-length sequences hold very many items (found in review, not yet fixed).

pydicom parses every undefined-length sequence of a header into Python objects, also during covidct's
header-only reads (``stop_before_pixels`` and ``specific_tags`` skip only defined-length values): about
45 bytes of memory and 3 microseconds per byte of such a header. A 16 MB file of empty items took 744 MB
and 55 s to read the SeriesInstanceUID of one file of a header-driven layout. A fix needs a bound on the
header that a real RTSTRUCT or enhanced multi-frame file (thousands of items) still passes, e.g. a
budget of elements counted by a wrapper around the file object, or skipping undefined-length sequences
that are not asked for with covidct's own delimiter scan.
"""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from tests.conftest import need

SRC = str(Path(__file__).resolve().parents[2] / "src")
RUNNER = """
import sys, tracemalloc
import covidct.readers as rd
import pydicom, pydicom.filereader, numpy  # noqa: F401 (loaded before counting)
tracemalloc.start()
try:
    rd.read_dicom_values(sys.argv[1], ("SeriesInstanceUID",))
except rd.ReadError as exc:
    print("refused", exc)
print(tracemalloc.get_traced_memory()[1])
"""

def _many_items(path: Path, items: int) -> None:
    need("pydicom")
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3"
    ds.PatientID = "P"
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    seq = struct.pack("<HH2sHI", 0x0040, 0xA730, b"SQ", 0, 0xFFFFFFFF)
    item = struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF) + struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
    end = struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    series = struct.pack("<HH2sH", 0x0020, 0x000E, b"UI", 6) + b"1.2.3\0"
    path.write_bytes(buf.getvalue() + seq + item * items + end + series)


def test_a_header_of_many_sequence_items_reads_in_memory_bounded_by_its_size(tmp_path: Path) -> None:
    path = tmp_path / "items.dcm"
    _many_items(path, 50_000)
    size = path.stat().st_size
    proc = subprocess.run([sys.executable, "-c", RUNNER, str(path)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": SRC}, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    grew = int(proc.stdout.split()[-1])
    assert grew <= 16 * size, f"{grew:,} bytes of memory for a {size:,}-byte file"


# ------------------------------------------------------------------------------------------------ variants
# Each hostile file below holds far more sequence items or elements than its size allows (16 to 60 bytes a
# node); each is refused by covidct's walk of the structure before pydicom reads it, within a small multiple of
# its size. Built with struct: pydicom would not write most of them.

EXPLICIT, IMPLICIT, BIG, DEFLATED = "1.2.840.10008.1.2.1", "1.2.840.10008.1.2", "1.2.840.10008.1.2.2", \
    "1.2.840.10008.1.2.1.99"
N = 40_000  # items: 640 KB of empty items, ~28 MB of pydicom objects by covidct's estimate (floor 16 MB)


def _el(tag: int, vr: bytes, value: bytes, *, order: str = "<") -> bytes:
    """One explicit-VR element (long form for SQ, OB, UN; ``value`` None: undefined length)."""
    if vr in (b"SQ", b"OB", b"UN", b"UT"):
        return struct.pack(order + "HH2sHI", tag >> 16, tag & 0xFFFF, vr, 0, len(value)) + value
    return struct.pack(order + "HH2sH", tag >> 16, tag & 0xFFFF, vr, len(value)) + value


def _undef(tag: int, vr: bytes | None, *, order: str = "<") -> bytes:
    """The header of an undefined-length element: explicit ``vr``, or implicit (None)."""
    if vr is None:
        return struct.pack(order + "HHI", tag >> 16, tag & 0xFFFF, 0xFFFFFFFF)
    return struct.pack(order + "HH2sHI", tag >> 16, tag & 0xFFFF, vr, 0, 0xFFFFFFFF)


def _mark(group: int, elem: int, length: int, order: str = "<") -> bytes:
    return struct.pack(order + "HHI", group, elem, length)


def _items(n: int, order: str = "<") -> bytes:
    """``n`` empty undefined-length items and the sequence delimiter."""
    item = _mark(0xFFFE, 0xE000, 0xFFFFFFFF, order) + _mark(0xFFFE, 0xE00D, 0, order)
    return item * n + _mark(0xFFFE, 0xE0DD, 0, order)


def _file(ts: str, body: bytes, meta_extra: bytes = b"", order: str = "<", implicit: bool = False) -> bytes:
    """Preamble, file meta group (``ts`` and ``meta_extra``), ``body`` and then a SeriesInstanceUID."""
    uid = ts.encode() + b"\0" * (len(ts) % 2)
    meta = b"\0" * 128 + b"DICM" + _el(0x00020010, b"UI", uid) + meta_extra
    series = b"1.2.3\0"
    if implicit:
        tail = struct.pack(order + "HHI", 0x0020, 0x000E, len(series)) + series
    else:
        tail = _el(0x0020000E, b"UI", series, order=order)
    if ts == DEFLATED:
        z = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
        return meta + z.compress(body + tail) + z.flush()
    return meta + body + tail


def _nested(width: int) -> bytes:
    """Items inside items: ``width`` items, each holding a sequence of one empty item."""
    inner = _undef(0x0040A730, b"SQ") + _items(1)
    item = _mark(0xFFFE, 0xE000, 0xFFFFFFFF) + inner + _mark(0xFFFE, 0xE00D, 0)
    return _undef(0x0040A730, b"SQ") + item * width + _mark(0xFFFE, 0xE0DD, 0)


def _deep(levels: int) -> bytes:
    """A sequence in an item in a sequence ... ``levels`` deep (pydicom recurses once per level)."""
    down = (_undef(0x0040A730, b"SQ") + _mark(0xFFFE, 0xE000, 0xFFFFFFFF)) * levels
    up = (_mark(0xFFFE, 0xE00D, 0) + _mark(0xFFFE, 0xE0DD, 0)) * levels
    return down + up


def _elements_in_item(n: int, implicit: bool) -> bytes:
    """One item of ``n`` empty elements with distinct private tags (implicit VR inside an explicit file:
    pydicom switches to implicit where the VR bytes are not letters)."""
    def tag(i: int) -> tuple[int, int]:
        return 0x0009 + 2 * (i // 0xF000), 0x1000 + i % 0xF000
    if implicit:
        els = b"".join(struct.pack("<HHI", *tag(i), 0) for i in range(n))
    else:
        els = b"".join(struct.pack("<HH2sH", *tag(i), b"LO", 0) for i in range(n))
    return _undef(0x0040A730, b"SQ") + _mark(0xFFFE, 0xE000, 0xFFFFFFFF) + els + _mark(0xFFFE, 0xE00D, 0) + \
        _mark(0xFFFE, 0xE0DD, 0)


def _defined_items(n: int) -> bytes:
    """A defined-length SharedFunctionalGroupsSequence (parsed when read_header uses it) of empty items."""
    value = _items(n)[:-8]
    return _el(0x52009229, b"SQ", value)


def _top_elements(n: int) -> bytes:
    """``n`` empty top-level elements with distinct private tags (a full read keeps every one)."""
    return b"".join(struct.pack("<HH2sH", 0x0009 + 2 * (i // 0xF000), 0x1000 + i % 0xF000, b"LO", 0)
                    for i in range(n))


def _command_set(n: int) -> bytes:
    """A command set (group 0000, implicit VR) holding an undefined-length element not in the dictionary
    whose value starts with an item: pydicom reads it as a sequence of ``n`` items."""
    return _undef(0x00001234, None) + _items(n)


def _encapsulated(n: int) -> bytes:
    """A private undefined-length OB holding ``n`` pixel-data fragments, before the asked attribute."""
    frag = _mark(0xFFFE, 0xE000, 4) + b"\0" * 4
    return _undef(0x00091010, b"OB") + _mark(0xFFFE, 0xE000, 0) + frag * n + _mark(0xFFFE, 0xE0DD, 0)


ATTACKS = {
    "empty items, explicit VR": lambda: _file(EXPLICIT, _undef(0x0040A730, b"SQ") + _items(N)),
    "items inside items": lambda: _file(EXPLICIT, _nested(N // 2)),
    "sequences nested 5,000 deep": lambda: _file(EXPLICIT, _deep(5_000)),
    "empty elements in an implicit item": lambda: _file(EXPLICIT, _elements_in_item(3 * N // 2, True)),
    "empty elements in an item": lambda: _file(EXPLICIT, _elements_in_item(3 * N // 2, False)),
    "defined-length sequence of undefined-length items": lambda: _file(EXPLICIT, _defined_items(N)),
    "sequence in the file meta group": lambda: _file(EXPLICIT, b"", _undef(0x00020102, b"SQ") + _items(N)),
    "sequence in a command set": lambda: _file(IMPLICIT, _command_set(N), implicit=True),
    "implicit VR little endian": lambda: _file(IMPLICIT, _undef(0x0040A730, None) + _items(N), implicit=True),
    "explicit VR big endian": lambda: _file(BIG, _undef(0x0040A730, b"SQ", order=">") + _items(N, ">"),
                                            order=">"),
    "deflated": lambda: _file(DEFLATED, _undef(0x0040A730, b"SQ") + _items(N)),
    "private VR UN of undefined length": lambda: _file(EXPLICIT, _undef(0x00091010, b"UN") + _items(N)),
    "private implicit of undefined length": lambda: _file(IMPLICIT, _undef(0x00091010, None) + _items(N),
                                                          implicit=True),
    "empty top-level elements (full read)": lambda: _file(EXPLICIT, _top_elements(3 * N // 2)),
}
REFUSAL = r"(sequence items and [\d,]+ elements: pydicom would build|nested more than)"


def _peak(call: object) -> tuple[object, int]:
    """What ``call()`` returns (or the ReadError it raises) and its peak of traced memory."""
    import tracemalloc

    import covidct.readers as rd

    tracemalloc.start()
    try:
        try:
            out: object = call()  # type: ignore[operator]
        except rd.ReadError as exc:
            out = exc
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("reader", ["values", "header", "read"])
@pytest.mark.parametrize("attack", list(ATTACKS))
def test_a_hostile_dicom_structure_is_refused_by_every_reader_in_bounded_memory(tmp_path: Path, attack: str,
                                                                                 reader: str) -> None:
    need("pydicom")
    import covidct.readers as rd

    path = tmp_path / "hostile.dcm"
    path.write_bytes(ATTACKS[attack]())
    size = path.stat().st_size
    calls = {"values": lambda: rd.read_dicom_values(path, ("SeriesInstanceUID",)),
             "header": lambda: rd.read_header(path), "read": lambda: rd.read(path)}
    out, peak = _peak(calls[reader])
    assert isinstance(out, rd.ReadError), f"{attack} read by {reader}: {out!r}"
    assert str(path) in str(out)
    import re

    assert re.search(REFUSAL, str(out)), str(out)
    # deflated: the data set is inflated (as pydicom would) to be walked; its inflated size bounds memory
    bound = 16 * size if attack != "deflated" else 4 * len(_undef(0x0040A730, b"SQ") + _items(N))
    assert peak <= bound, f"{peak:,} bytes of memory for a {size:,}-byte file"


@pytest.mark.parametrize("fmt", ["rtstruct", "seg"])
def test_a_hostile_annotation_file_is_refused_before_pydicom_reads_it(tmp_path: Path, fmt: str) -> None:
    need("pydicom")
    from covidct.readers import ReadError
    from covidct.readers.annotation_files import read_annotations, referenced_series

    path = tmp_path / "hostile.dcm"
    path.write_bytes(ATTACKS["empty items, explicit VR"]())
    for call in (read_annotations, referenced_series):
        with pytest.raises(ReadError, match=REFUSAL):
            call(path, fmt)


def test_encapsulated_fragments_before_the_asked_attribute_read_in_bounded_memory(tmp_path: Path) -> None:
    """Fragments of an undefined-length OB are one value to pydicom, not objects: read, not refused."""
    need("pydicom")
    import covidct.readers as rd

    path = tmp_path / "fragments.dcm"
    path.write_bytes(_file(EXPLICIT, _encapsulated(4 * N)))
    out, peak = _peak(lambda: rd.read_dicom_values(path, ("SeriesInstanceUID",)))
    assert out == {"SeriesInstanceUID": "1.2.3"}
    assert peak <= 16 * path.stat().st_size


def test_a_dense_real_header_still_reads(tmp_path: Path) -> None:
    """Real files with the most elements and items for their size still read: pydicom's structured report and
    RT plan test files (about 18 bytes a node), a highdicom SEG of 960 small frames, an RTSTRUCT of 4,800
    triangles."""
    need("pydicom")
    need("highdicom")
    import numpy as np
    from pydicom.data import get_testdata_file

    from covidct import fixtures as F
    from covidct.readers import annotation_files as A
    from covidct.readers import read_header
    from covidct.readers._dicomscan import check_structure

    for name in ("test-SR.dcm", "rtplan.dcm", "rtstruct.dcm", "waveform_ecg.dcm"):
        check_structure(get_testdata_file(name), name, header_only=False)
    series = F.write_ct_series(tmp_path / "data", "dense", n_slices=120, rows=32, cols=32)
    rois = {f"roi{r}": [(i, [(1.0, 1.0), (5.0, 1.0), (3.0, 4.0)]) for i in range(120)] for r in range(40)}
    (tmp_path / "rt.dcm").write_bytes(F.rtstruct_bytes(series, rois))
    assert len(A.read_annotations(tmp_path / "rt.dcm", "rtstruct").regions) > 0
    segments = {f"s{k}": np.zeros((120, 32, 32), bool) for k in range(8)}
    for k, mask in enumerate(segments.values()):
        mask[:, k:k + 3, 2:9] = True
    (tmp_path / "seg.dcm").write_bytes(F.seg_bytes(series, segments))
    assert read_header(tmp_path / "seg.dcm")["Modality"] == "SEG"
    check_structure(tmp_path / "seg.dcm", "seg", header_only=False)
