"""Decoded-size bombs: a small file whose header declares gigabytes is refused before anything decodes it.

Each hostile file is written by the library of its format (nibabel, tifffile, pydicom, Pillow, numpy)
and read in a subprocess with a timeout, so that a regression shows as a failed message (or a killed
child) instead of taking the test run's memory. Every reader goes through one check,
``covidct.readers._common.check_decoded_size``; ``COVIDCT_MAX_DECODED_BYTES`` moves the limit.
"""

from __future__ import annotations

import gzip
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
LIMIT_TEXT = "more than the limit of 1,073,741,824 bytes; refused before decoding"
HINT = "raise the limit with COVIDCT_MAX_DECODED_BYTES=<bytes>"

RUNNER = """
import sys
mode, path = sys.argv[1], sys.argv[2]
if mode == "no-pillow-cap":  # another library in the process switched Pillow's own check off
    from PIL import Image
    Image.MAX_IMAGE_PIXELS = None
from covidct.readers import ReadError, read
try:
    if mode == "fileobj":
        with open(path, "rb") as fh:
            dec = read(fh)
    else:
        dec = read(path)
except ReadError as exc:
    print(exc)
    sys.exit(3)
print("decoded", dec.array.shape, dec.array.dtype)
"""


def _run(path: Path, mode: str = "path", limit: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "COVIDCT_MAX_DECODED_BYTES"}
    env["PYTHONPATH"] = SRC
    if limit is not None:
        env["COVIDCT_MAX_DECODED_BYTES"] = limit
    return subprocess.run([sys.executable, "-c", RUNNER, mode, str(path)], capture_output=True, text=True,
                          timeout=120, env=env, check=False)


def _refused(path: Path, declared: str, mode: str = "path") -> None:
    proc = _run(path, mode)
    assert proc.returncode == 3, (proc.stdout, proc.stderr[-2000:])
    msg = proc.stdout.strip()
    assert msg.startswith(f"{path}: its "), msg
    assert f"declares {declared}" in msg and LIMIT_TEXT in msg and HINT in msg, msg
    assert "Traceback" not in proc.stderr


# --- hostile files ---------------------------------------------------------------------------------------


def _nifti_bomb(path: Path) -> None:
    """A nibabel header declaring 2048x2048x256 int16 (2 GiB), then a few bytes of gzip-compressed voxels."""
    nib = need("nibabel")
    import numpy as np

    hdr = nib.Nifti1Header()
    hdr.set_data_shape((2048, 2048, 256))
    hdr.set_data_dtype(np.int16)
    raw = io.BytesIO()
    hdr.write_to(raw)
    raw.write(b"\0" * (int(hdr.get_data_offset()) - raw.tell() + 4096))
    path.write_bytes(gzip.compress(raw.getvalue()))


def test_nifti_gz_declaring_2_gib_is_refused_by_path_and_as_a_file_object(tmp_path: Path) -> None:
    path = tmp_path / "bomb.nii.gz"
    _nifti_bomb(path)
    _refused(path, "2048x2048x256 x 2 bytes = 2,147,483,648 bytes")
    _refused(path, "2048x2048x256 x 2 bytes = 2,147,483,648 bytes", mode="fileobj")  # no whole-file gzip.decompress


def test_tiff_declaring_24000_squared_uint16_is_refused(tmp_path: Path) -> None:
    tifffile = need("tifffile")
    import numpy as np

    path = tmp_path / "bomb.tif"
    tile = np.zeros((1024, 1024), np.uint16)
    # only the first tiles are written: the header (and tifffile's series) still says 24000x24000
    tifffile.imwrite(path, shape=(24000, 24000), dtype=np.uint16, tile=(1024, 1024), compression="zlib",
                     data=iter([tile] * 625))
    assert path.stat().st_size < 2_000_000
    _refused(path, "24000x24000 x 2 bytes = 1,152,000,000 bytes")


def test_dicom_declaring_65535_squared_frames_is_refused(tmp_path: Path) -> None:
    need("pydicom")
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID, "CT"
    ds.Rows, ds.Columns, ds.NumberOfFrames = 65535, 65535, 4
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.PixelData = b"\0" * 4096
    path = tmp_path / "bomb.dcm"
    ds.save_as(path, enforce_file_format=True)
    _refused(path, "4x65535x65535x1 x 2 bytes = 34,358,689,800 bytes")


def test_metaimage_and_nrrd_declaring_huge_volumes_are_refused(tmp_path: Path) -> None:
    need("SimpleITK")
    mhd = tmp_path / "bomb.mhd"
    (tmp_path / "bomb.zraw").write_bytes(zlib.compress(b"\0" * 65536))
    mhd.write_text("ObjectType = Image\nNDims = 3\nDimSize = 4096 4096 1024\nElementType = MET_SHORT\n"
                   "CompressedData = True\nCompressedDataSize = 100\nElementDataFile = bomb.zraw\n")
    _refused(mhd, "4096x4096x1024x1 x 2 bytes = 34,359,738,368 bytes")
    nrrd = tmp_path / "bomb.nrrd"
    nrrd.write_bytes(b"NRRD0004\ntype: float\ndimension: 3\nsizes: 2048 2048 2048\nendian: little\nencoding: gzip\n\n"
                     + gzip.compress(b"\0" * 65536))
    _refused(nrrd, "2048x2048x2048x1 x 4 bytes = 34,359,738,368 bytes")


def _png_claiming(width: int, height: int) -> bytes:
    """A 1x1 greyscale PNG written by Pillow whose IHDR then claims ``width`` x ``height``."""
    image = need("PIL.Image")
    buf = io.BytesIO()
    image.new("L", (1, 1)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    ihdr = 8 + 8  # signature, then length + type of IHDR
    data[ihdr:ihdr + 8] = struct.pack(">II", width, height)
    data[ihdr + 13:ihdr + 17] = struct.pack(">I", zlib.crc32(bytes(data[ihdr - 4:ihdr + 13])))
    return bytes(data)


def test_png_over_the_limit_is_refused_even_when_pillows_own_check_is_off(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_claiming(40000, 40000))
    # Pillow's MAX_IMAGE_PIXELS is process-wide and any library may set it to None: covidct's check remains
    _refused(path, "40000x40000x1 x 1 bytes = 1,600,000,000 bytes", mode="no-pillow-cap")


def test_npy_header_declaring_80_gb_is_refused(tmp_path: Path) -> None:
    import numpy as np

    path = tmp_path / "bomb.npy"
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False, "shape": (100000, 100000)})
        fh.write(b"\0" * 64)
    _refused(path, "100000x100000 x 8 bytes = 80,000,000,000 bytes")


# --- the limit is a setting; genuine files pass ----------------------------------------------------------


def _small_files(tmp_path: Path) -> dict[str, Path]:
    """Genuine files of each format decoding to 4 MiB (2 MiB for the PNG)."""
    import numpy as np

    nib, tifffile, image = need("nibabel"), need("tifffile"), need("PIL.Image")
    need("SimpleITK")
    vol = np.zeros((128, 128, 128), np.int16)
    out = {"nii.gz": tmp_path / "v.nii.gz", "tif": tmp_path / "v.tif", "npy": tmp_path / "v.npy",
           "png": tmp_path / "v.png", "mhd": tmp_path / "v.mhd"}
    nib.save(nib.Nifti1Image(vol, np.eye(4)), out["nii.gz"])
    tifffile.imwrite(out["tif"], vol, compression="zlib")
    np.save(out["npy"], vol)
    image.fromarray(np.zeros((1024, 2048), np.uint8)).save(out["png"])
    (tmp_path / "v.raw").write_bytes(vol.tobytes())
    out["mhd"].write_text("ObjectType = Image\nNDims = 3\nDimSize = 128 128 128\nElementType = MET_SHORT\n"
                          "ElementDataFile = v.raw\n")
    return out


def test_the_limit_follows_the_setting_and_genuine_files_pass(tmp_path: Path) -> None:
    for kind, path in _small_files(tmp_path).items():
        ok = _run(path)
        assert ok.returncode == 0 and ok.stdout.startswith("decoded"), (kind, ok.stdout, ok.stderr[-2000:])
        low = _run(path, limit="1_000_000")
        assert low.returncode == 3, (kind, low.stdout, low.stderr[-2000:])
        assert "more than the limit of 1,000,000 bytes" in low.stdout and HINT in low.stdout, low.stdout
    bad = _run(tmp_path / "v.npy", limit="lots")
    assert bad.returncode == 3 and "COVIDCT_MAX_DECODED_BYTES='lots' is not a positive number of bytes" in bad.stdout


def test_the_registrys_largest_real_images_are_far_below_the_default_limit() -> None:
    from covidct.readers._common import MAX_DECODED_DEFAULT, check_decoded_size

    assert MAX_DECODED_DEFAULT == 1 << 30
    largest = {
        "CT volume 512x512x1000 int16 (NIfTI; LIDC-IDRI series reach 764 slices)": ((1000, 512, 512), 2),
        "Montgomery CXR 4892x4020 12-bit": ((4892, 4020), 2),
        "3000x3000 RGB X-ray": ((3000, 3000, 3), 1),
    }
    for what, (shape, itemsize) in largest.items():
        assert check_decoded_size(what, "test", shape, itemsize) <= MAX_DECODED_DEFAULT // 2, what


# --- fingerprinting --------------------------------------------------------------------------------------


def test_fingerprint_reports_the_bomb_as_an_error_row(tmp_path: Path) -> None:
    from covidct.fingerprint.manifest import Task, fingerprint_file

    path = tmp_path / "bomb.nii.gz"
    _nifti_bomb(path)
    res = fingerprint_file(Task(path=str(path), rel="bomb.nii.gz"))
    assert res.error is not None and LIMIT_TEXT in res.error, res.error


def test_fingerprint_file_does_not_block_on_a_fifo_swapped_in_after_the_scan(tmp_path: Path) -> None:
    from covidct.fingerprint.manifest import Task, fingerprint_file

    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this system")
    path = tmp_path / "scan.png"
    os.mkfifo(path)  # the folder walk saw a regular file here; now nothing will ever write to it
    res = fingerprint_file(Task(path=str(path), rel="scan.png"))
    assert res.error is not None and "FIFO" in res.error, res.error
