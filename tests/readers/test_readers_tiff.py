"""TIFF with tifffile: 16-bit and signed values survive exactly; stacks, palettes, alpha, damage."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import need
from covidct.card.vocab import FileFormat, Intensity
from covidct.readers import ReadError, read, read_header, sniff

tifffile = need("tifffile")

CT16 = np.array([[0, 255, 256, 1000], [4095, 4999, 40000, 65535]], dtype=np.uint16)


def test_16bit_roundtrip_is_exact(tmp_path):
    path = tmp_path / "COVID-CTset slice 1%.tif"
    tifffile.imwrite(path, CT16)
    assert sniff(path) is FileFormat.TIFF
    dec = read(path, FileFormat.TIFF)
    assert dec.array.dtype == np.uint16
    np.testing.assert_array_equal(dec.array, CT16)
    assert dec.intensity is Intensity.RAW_16BIT
    assert dec.meta["real_format"] == "tiff" and dec.meta["bits_per_sample"] == 16


def test_signed_and_float_stay_as_stored(tmp_path):
    hu = np.array([[-1024, -1], [0, 3071]], dtype=np.int16)
    tifffile.imwrite(tmp_path / "hu.tif", hu)
    dec = read(tmp_path / "hu.tif")
    assert dec.array.dtype == np.int16 and dec.array.min() == -1024
    np.testing.assert_array_equal(dec.array, hu)
    f = np.array([[0.25, -3.5]], dtype=np.float32)
    tifffile.imwrite(tmp_path / "f.tif", f)
    dec = read(tmp_path / "f.tif")
    assert dec.array.dtype == np.float32 and dec.intensity is Intensity.FLOAT
    np.testing.assert_array_equal(dec.array, f)


def test_big_endian_file_gives_native_values(tmp_path):
    tifffile.imwrite(tmp_path / "be.tif", CT16, byteorder=">")
    dec = read(tmp_path / "be.tif")
    assert dec.array.dtype.isnative
    np.testing.assert_array_equal(dec.array, CT16)


def test_stack_with_imagej_spacing(tmp_path):
    stack = np.stack([CT16, CT16 + 1, CT16 // 2])
    tifffile.imwrite(
        tmp_path / "stack.tif", stack, imagej=True, resolution=(1 / 0.7, 1 / 0.7),
        metadata={"unit": "mm", "spacing": 2.5, "axes": "ZYX"},
    )  # fmt: skip
    dec = read(tmp_path / "stack.tif")
    assert dec.array.shape == (3, 2, 4)
    np.testing.assert_array_equal(dec.array, stack)
    assert dec.spacing == pytest.approx((2.5, 0.7, 0.7))
    header = read_header(tmp_path / "stack.tif", "tiff")
    assert header["shape"] == [3, 2, 4] and header["dtype"] == "uint16"


def test_plain_tiff_has_no_spacing(tmp_path):
    tifffile.imwrite(tmp_path / "p.tif", CT16, resolution=(72, 72))
    assert read(tmp_path / "p.tif").spacing is None


def test_rgba_drops_alpha_only_for_images(tmp_path):
    rgba = np.zeros((3, 4, 4), np.uint8)
    rgba[..., 1], rgba[..., 3] = 9, 255
    tifffile.imwrite(tmp_path / "rgba.tif", rgba, photometric="rgb", extrasamples=["unassalpha"])
    dec = read(tmp_path / "rgba.tif")
    assert dec.array.shape == (3, 4, 3) and dec.meta["alpha_dropped"] is True
    assert read(tmp_path / "rgba.tif", mask=True).array.shape == (3, 4, 4)


def test_palette_tiff(tmp_path):
    idx = np.array([[0, 1], [2, 1]], np.uint8)
    cmap = np.zeros((3, 256), np.uint16)
    cmap[0, 1] = 65535  # index 1 red
    cmap[1, 2] = 65535  # index 2 green
    tifffile.imwrite(tmp_path / "pal.tif", idx, photometric="palette", colormap=cmap)
    mask = read(tmp_path / "pal.tif", mask=True)
    np.testing.assert_array_equal(mask.array, idx)
    image = read(tmp_path / "pal.tif")
    assert image.array.shape == (2, 2, 3) and tuple(image.array[0, 1]) == (255, 0, 0)


def test_lzw_tiff_decodes_with_or_without_imagecodecs(tmp_path):
    from PIL import Image

    path = tmp_path / "lzw.tif"
    Image.fromarray(CT16).save(path, compression="tiff_lzw")
    dec = read(path)
    assert dec.array.dtype == np.uint16
    np.testing.assert_array_equal(dec.array, CT16)


def test_truncated_tiff_is_a_read_error_naming_it(tmp_path):
    path = tmp_path / "cut 50%.tif"
    tifffile.imwrite(path, np.tile(CT16, (64, 64)))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ReadError) as info:
        read(path)
    assert str(path) in str(info.value)
