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
