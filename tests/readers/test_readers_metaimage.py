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
