"""Deflated DICOM bombs: pydicom inflates a Deflated Explicit VR Little Endian data set whole, in memory,
before it reads any element, even for the header-only reads of header-driven layouts.

A file of a few hundred kilobytes then takes gigabytes. ``covidct.readers.dicom`` inflates it first in
bounded chunks and refuses a data set larger than its allowance (50x its deflated size, at least 64 MiB),
whether the file has a preamble or not, and whatever harmless Transfer Syntax UID comes first in a file
meta group that repeats the element (pydicom keeps the last). Each file is read in a subprocess so that a
regression shows as a failure, not as the test run's memory.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from tests.conftest import need

SRC = str(Path(__file__).resolve().parents[2] / "src")
DEFLATED = "1.2.840.10008.1.2.1.99"
EXPLICIT = "1.2.840.10008.1.2.1"
BOMB_BYTES = 256 << 20  # inflated size of the hostile data sets: 4x the floor, in a file of ~260 KB

RUNNER = """
import sys
mode, path = sys.argv[1], sys.argv[2]
import covidct.readers as rd
try:
    if mode == "values":
        print("values", rd.read_dicom_values(path, ("SeriesInstanceUID",)))
    elif mode == "fileobj":
        with open(path, "rb") as fh:
            print("decoded", rd.read(fh).array.shape)
    else:
        print("decoded", rd.read(path).array.shape)
except rd.ReadError as exc:
    print(exc)
    sys.exit(3)
"""


def _run(path: Path, mode: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "COVIDCT_MAX_DECODED_BYTES"}
    env["PYTHONPATH"] = SRC
    return subprocess.run([sys.executable, "-c", RUNNER, mode, str(path)], capture_output=True, text=True,
                          timeout=120, env=env, check=False)


def _element(group: int, elem: int, vr: bytes, value: bytes) -> bytes:
    if len(value) % 2:
        value += b"\0"
    if vr in (b"OB", b"UN", b"SQ", b"UT"):
        return struct.pack("<HH2sHI", group, elem, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", group, elem, vr, len(value)) + value


def _meta(*syntaxes: str) -> bytes:
    """A file meta group (explicit VR little endian) with one Transfer Syntax UID element per ``syntaxes``."""
    body = _element(2, 1, b"OB", b"\0\1")
    body += _element(2, 2, b"UI", b"1.2.840.10008.5.1.4.1.1.2")
    body += _element(2, 3, b"UI", b"1.2.3.4")
    for ts in syntaxes:
        body += _element(2, 0x10, b"UI", ts.encode())
    return _element(2, 0, b"UL", struct.pack("<I", len(body))) + body


def _data_set(inflated: int, rows: int = 0) -> bytes:
    """The deflated data set: identity and a series UID, then ``inflated`` bytes of zeros (pixel data when
    ``rows`` is set, else a private OB element), deflated as a stream."""
    head = _element(8, 0x16, b"UI", b"1.2.840.10008.5.1.4.1.1.2") + _element(8, 0x18, b"UI", b"1.2.3.4")
    head += _element(8, 0x60, b"CS", b"CT") + _element(0x20, 0x0E, b"UI", b"1.2.3")
    if rows:
        for elem, value in ((2, 1), (0x10, rows), (0x11, inflated // (2 * rows)), (0x100, 16), (0x101, 16),
                            (0x102, 15), (0x103, 1)):
            head += _element(0x28, elem, b"US", struct.pack("<H", value))
        head += _element(0x28, 4, b"CS", b"MONOCHROME2")
        tag = (0x7FE0, 0x10)
    else:
        tag = (0x0009, 0x1010)
    comp = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    out = [comp.compress(head + struct.pack("<HH2sHI", *tag, b"OB" if not rows else b"OW", 0, inflated))]
    chunk = bytes(1 << 20)
    left = inflated
    while left:
        out.append(comp.compress(chunk[:min(left, len(chunk))]))
        left -= min(left, len(chunk))
    out.append(comp.flush())
    return b"".join(out)


def _file(path: Path, meta: bytes, data: bytes, preamble: bool = True) -> Path:
    path.write_bytes((b"\0" * 128 + b"DICM" if preamble else b"") + meta + data)
    return path


@pytest.fixture(scope="module")
def bomb_data() -> bytes:
    return _data_set(BOMB_BYTES)


def _refused(path: Path, mode: str) -> None:
    proc = _run(path, mode)
    assert proc.returncode == 3, (proc.stdout, proc.stderr[-2000:])
    msg = proc.stdout.strip()
    assert msg.startswith(f"{path}: its deflated data set inflates to more than 67,108,864 bytes (50x its "), msg
    assert "refused before decoding" in msg and "COVIDCT_MAX_DECODED_BYTES=<bytes>" in msg, msg
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("mode", ["values", "path", "fileobj"])
def test_deflated_data_set_inflating_to_256_mib_is_refused(tmp_path: Path, bomb_data: bytes, mode: str) -> None:
    need("pydicom")
    path = _file(tmp_path / "bomb.dcm", _meta(DEFLATED), bomb_data)
    assert path.stat().st_size < 400_000
    _refused(path, mode)


def test_deflated_syntax_hidden_behind_a_first_harmless_one_is_refused(tmp_path: Path, bomb_data: bytes) -> None:
    need("pydicom")
    _refused(_file(tmp_path / "twice.dcm", _meta(EXPLICIT, DEFLATED), bomb_data), "values")


def test_deflated_file_without_preamble_is_refused(tmp_path: Path, bomb_data: bytes) -> None:
    need("pydicom")
    _refused(_file(tmp_path / "bare.dcm", _meta(DEFLATED), bomb_data, preamble=False), "values")


def test_explicit_limit_replaces_the_ratio(tmp_path: Path) -> None:
    """COVIDCT_MAX_DECODED_BYTES, when set, is the allowance (a genuine file the ratio refuses can pass)."""
    need("pydicom")
    path = _file(tmp_path / "zeros.dcm", _meta(DEFLATED), _data_set(80 << 20, rows=1024))
    env = {**os.environ, "PYTHONPATH": SRC, "COVIDCT_MAX_DECODED_BYTES": str(200 << 20)}
    proc = subprocess.run([sys.executable, "-c", RUNNER, "values", str(path)], capture_output=True, text=True,
                          timeout=120, env=env, check=False)
    assert proc.returncode == 0 and "'SeriesInstanceUID': '1.2.3'" in proc.stdout, (proc.stdout, proc.stderr)
    assert "more than 67,108,864 bytes" in _run(path, "values").stdout


def test_genuine_deflated_slice_still_reads(tmp_path: Path) -> None:
    need("pydicom")
    import numpy as np

    from covidct.readers import read, read_dicom_values

    path = _file(tmp_path / "slice.dcm", _meta(DEFLATED), _data_set(2 * 64 * 64, rows=64))
    assert read_dicom_values(str(path), ("SeriesInstanceUID",))["SeriesInstanceUID"] == "1.2.3"
    dec = read(str(path))
    assert dec.array.shape == (64, 64) and not np.any(dec.array)
    with open(path, "rb") as fh:
        assert read(fh).array.shape == (64, 64) and fh.tell() > 0
