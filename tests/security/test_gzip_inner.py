"""Gzip-compressed DICOM and NPY files: the sniffer calls them DICOM and NPY (``Format.gzip_inner``), so
their readers read what the gzip stream holds, inflated within a bound (50x the file's size, at least
64 MiB): a small .gz of zeros is refused after time linear in its own size, never held in memory.

Before, pydicom parsed the compressed bytes as a data set ("has no pixel data", and header layouts got no
values at all) and numpy refused the magic string.
"""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from tests.conftest import need

SRC = str(Path(__file__).resolve().parents[2] / "src")
RUNNER = """
import sys
import covidct.readers as rd
try:
    if sys.argv[1] == "values":
        print(rd.read_dicom_values(sys.argv[2], ("SeriesInstanceUID",)))
    else:
        print(rd.read(sys.argv[2]).array.shape)
except rd.ReadError as exc:
    print(exc)
    sys.exit(3)
"""


def _dicom_bytes() -> bytes:
    need("pydicom")
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = "1.2.3.4"
    ds.Modality, ds.SeriesInstanceUID = "CT", "1.2.3"
    ds.Rows = ds.Columns = 4
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.PixelData = bytes(32)
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def _gzip_with_zeros(head: bytes, zeros: int) -> bytes:
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out = [comp.compress(head)]
    chunk = bytes(1 << 20)
    for _ in range(zeros >> 20):
        out.append(comp.compress(chunk))
    out.append(comp.flush())
    return b"".join(out)


def test_a_gzipped_dicom_file_reads_as_the_dicom_it_holds(tmp_path: Path) -> None:
    from covidct.card.vocab import FileFormat
    from covidct.readers import read, read_dicom_values, sniff

    path = tmp_path / "slice.dcm"
    path.write_bytes(gzip.compress(_dicom_bytes()))
    assert sniff(str(path)) is FileFormat.DICOM
    assert read_dicom_values(str(path), ("SeriesInstanceUID",)) == {"SeriesInstanceUID": "1.2.3"}
    assert read(str(path)).array.shape == (4, 4)
    assert read(str(path), "dicom").array.shape == (4, 4)
    with open(path, "rb") as fh:
        assert read(fh).array.shape == (4, 4) and fh.tell() == 0


def test_a_gzipped_npy_file_reads_as_the_array_it_holds(tmp_path: Path) -> None:
    np = need("numpy")
    from covidct.readers import read

    buf = io.BytesIO()
    np.save(buf, np.arange(16, dtype=np.int16).reshape(4, 4))
    path = tmp_path / "a.npy"
    path.write_bytes(gzip.compress(buf.getvalue()))
    assert read(str(path)).array.tolist() == np.arange(16).reshape(4, 4).tolist()


def _refused(path: Path, mode: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "COVIDCT_MAX_DECODED_BYTES"}
    env["PYTHONPATH"] = SRC
    proc = subprocess.run([sys.executable, "-c", RUNNER, mode, str(path)], capture_output=True, text=True,
                          timeout=120, env=env, check=False)
    assert proc.returncode == 3, (proc.stdout, proc.stderr[-2000:])
    assert proc.stdout.startswith(f"{path}: its gzip stream inflates to more than 67,108,864 bytes (50x its "), \
        proc.stdout
    assert "decompression bomb" in proc.stdout and "COVIDCT_MAX_DECODED_BYTES=<bytes>" in proc.stdout
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("mode", ["values", "read"])
def test_a_gzipped_dicom_bomb_is_refused(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "bomb.dcm"
    path.write_bytes(_gzip_with_zeros(_dicom_bytes(), 256 << 20))
    assert path.stat().st_size < 400_000
    _refused(path, mode)


def test_a_gzipped_npy_bomb_is_refused(tmp_path: Path) -> None:
    np = need("numpy")
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<i2", "fortran_order": False, "shape": (128 << 20,)})
    path = tmp_path / "bomb.npy"
    path.write_bytes(_gzip_with_zeros(buf.getvalue(), 256 << 20))
    _refused(path, "read")
