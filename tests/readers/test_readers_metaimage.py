"""MetaImage (.mhd + .raw / .zraw, .mha) and NRRD with SimpleITK."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import need
from covidct.card.vocab import FileFormat, Intensity
from covidct.readers import ReadError, read, read_header, sniff

sitk = need("SimpleITK")

ZYX = (np.arange(3 * 4 * 5, dtype=np.int32).reshape(3, 4, 5) * 97 % 4000 - 1024).astype(np.int16)


def save(path, data=ZYX, *, compress=False, spacing=(0.7, 0.8, 2.5)):
    image = sitk.GetImageFromArray(data)
    image.SetSpacing(spacing[: data.ndim])
    image.SetOrigin((-10.0, -20.0, 30.0)[: data.ndim])
    sitk.WriteImage(image, str(path), useCompression=compress)
    return path


@pytest.mark.parametrize(
    ("name", "compress", "fmt"),
    [("luna.mhd", False, "metaimage"), ("z.mhd", True, "metaimage"), ("s.mha", False, "metaimage"),
     ("n.nrrd", False, "nrrd")],
)  # fmt: skip
def test_volume_roundtrip(tmp_path, name, compress, fmt):
    path = save(tmp_path / name, compress=compress)
    assert sniff(path) is FileFormat(fmt)
    dec = read(path)
    assert dec.array.shape == (3, 4, 5) and dec.array.dtype == np.int16
    np.testing.assert_array_equal(dec.array, ZYX)
    assert dec.array.min() < 0
    assert dec.spacing == pytest.approx((2.5, 0.8, 0.7))
    assert dec.intensity is Intensity.RAW_16BIT
    assert dec.meta["real_format"] == fmt and dec.meta["origin"] == [-10.0, -20.0, 30.0]


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("stem", ["lung 50%", "a%b", "%03d", "with space"])
def test_names_with_percent_and_spaces(tmp_path, stem, compress):
    # SimpleITK's writer mangles such names (it takes % for a printf pattern), so write a safe name and
    # rename it as another tool would have written it
    save(tmp_path / "v.mhd", compress=compress)
    ext = ".zraw" if compress else ".raw"
    (tmp_path / f"v{ext}").rename(tmp_path / f"{stem}{ext}")
    text = (tmp_path / "v.mhd").read_text().replace(f"v{ext}", f"{stem}{ext}")
    (tmp_path / "v.mhd").unlink()
    (tmp_path / f"{stem}.mhd").write_text(text)
    np.testing.assert_array_equal(read(tmp_path / f"{stem}.mhd").array, ZYX)
    np.testing.assert_array_equal(read(tmp_path / f"{stem}{ext}").array, ZYX)


def test_zraw_is_compressed_and_readable_through_its_data_file(tmp_path):
    header = save(tmp_path / "c.mhd", compress=True)
    text = header.read_text()
    assert "CompressedData = True" in text and (tmp_path / "c.zraw").is_file()
    assert sniff(tmp_path / "c.zraw") is FileFormat.METAIMAGE
    np.testing.assert_array_equal(read(tmp_path / "c.zraw").array, ZYX)


def test_raw_given_instead_of_header(tmp_path):
    save(tmp_path / "v.mhd")
    dec = read(tmp_path / "v.raw", FileFormat.METAIMAGE)
    np.testing.assert_array_equal(dec.array, ZYX)


def test_2d_image(tmp_path):
    dec = read(save(tmp_path / "slice.mhd", ZYX[0].astype(np.uint16), spacing=(0.7, 0.8)))
    assert dec.array.shape == (4, 5) and dec.array.dtype == np.uint16
    assert dec.spacing == pytest.approx((0.8, 0.7))


def test_header_only(tmp_path):
    meta = read_header(save(tmp_path / "h.mhd"), FileFormat.METAIMAGE)
    assert meta["shape"] == [3, 4, 5] and meta["pixel_type"] == "16-bit signed integer"
    assert meta["spacing"] == pytest.approx((2.5, 0.8, 0.7))


def test_truncated_or_missing_data_is_a_read_error(tmp_path):
    header = save(tmp_path / "t.mhd")
    raw = tmp_path / "t.raw"
    raw.write_bytes(raw.read_bytes()[:50])
    with pytest.raises(ReadError, match=r"t\.mhd.*t\.raw has 50 bytes"):
        read(header)
    raw.unlink()
    with pytest.raises(ReadError, match=r"t\.raw is missing"):
        read(header)


def test_file_object_is_refused_with_a_reason(tmp_path):
    with open(save(tmp_path / "f.mha"), "rb") as fh, pytest.raises(ReadError, match="from a path"):
        read(fh, FileFormat.METAIMAGE)


# --- compressed data (CompressedData = True): ITK reads a short or non-zlib stream as zeros, silently ---------


def _zlib_of(data: np.ndarray) -> bytes:
    import zlib

    return zlib.compress(np.ascontiguousarray(data).astype("<i2").tobytes())


def _damaged_zraw(tmp_path, payload: bytes):
    """A SimpleITK-written compressed .mhd whose .zraw is then replaced by ``payload`` (its CompressedDataSize
    too, so that ITK finds nothing amiss in the header: it then returns zeros without a word)."""
    import re

    header = save(tmp_path / "c.mhd", compress=True)
    (tmp_path / "c.zraw").write_bytes(payload)
    text, n = re.subn(r"CompressedDataSize = \d+", f"CompressedDataSize = {len(payload)}", header.read_text())
    assert n == 1
    header.write_text(text)
    return header


@pytest.mark.parametrize("via", ["c.mhd", "c.zraw"])
def test_a_zraw_that_inflates_short_is_refused_not_read_as_zeros(tmp_path, via):
    _damaged_zraw(tmp_path, _zlib_of(ZYX.ravel()[:7]))  # a complete zlib stream of 7 of the 60 voxels
    with pytest.raises(ReadError, match=r"c\.zraw inflate to 14 bytes, but the header declares 120"):
        read(tmp_path / via)


def test_a_cut_zraw_is_refused(tmp_path):
    header = save(tmp_path / "c.mhd", compress=True)
    whole = (tmp_path / "c.zraw").read_bytes()
    (tmp_path / "c.zraw").write_bytes(whole[: len(whole) // 2])
    header.write_text(header.read_text().replace(f"CompressedDataSize = {len(whole)}", "CompressedDataSize = 0"))
    with pytest.raises(ReadError, match="truncated or damaged"):
        read(header)


def test_a_zraw_that_is_not_zlib_is_refused(tmp_path):
    _damaged_zraw(tmp_path, ZYX.astype("<i2").tobytes())  # the raw voxels, never compressed
    with pytest.raises(ReadError, match="not zlib-compressed although the header says CompressedData = True"):
        read(tmp_path / "c.mhd")


def test_a_zraw_that_inflates_past_the_declared_size_is_refused_after_one_chunk(tmp_path):
    import zlib

    # 64 MiB of zeros behind a header of 60 voxels: refused after the first chunk, nothing kept
    bomb = zlib.compressobj(9)
    _damaged_zraw(tmp_path, b"".join(bomb.compress(b"\0" * (1 << 20)) for _ in range(64)) + bomb.flush())
    with pytest.raises(ReadError, match="inflate to more than the 120 bytes the header declares"):
        read(tmp_path / "c.mhd")


def test_compressed_local_data_in_an_mha_are_checked_too(tmp_path):
    good = save(tmp_path / "c.mha", compress=True)
    np.testing.assert_array_equal(read(good).array, ZYX)  # a genuine compressed .mha still reads
    raw = good.read_bytes()
    start = raw.index(b"ElementDataFile = LOCAL") + len(b"ElementDataFile = LOCAL\n")
    (tmp_path / "short.mha").write_bytes(raw[:start] + _zlib_of(ZYX.ravel()[:7]))
    with pytest.raises(ReadError, match="compressed data inflate to 14 bytes, but the header declares 120"):
        read(tmp_path / "short.mha")
    plain = save(tmp_path / "p.mha").read_bytes()
    (tmp_path / "cut.mha").write_bytes(plain[: plain.index(b"ElementDataFile = LOCAL") + 30])
    with pytest.raises(ReadError, match="bytes of data after its header but the header needs 120; it is truncated"):
        read(tmp_path / "cut.mha")
