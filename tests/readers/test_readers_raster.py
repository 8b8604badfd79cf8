"""JPEG, PNG, BMP with Pillow: lying extensions, palettes, alpha, odd file names, 16 bits, damage."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from covidct.card.vocab import FileFormat, Intensity
from covidct.readers import ReadError, read, read_header, sniff

GREY = (np.arange(40 * 30, dtype=np.uint32).reshape(30, 40) % 251).astype(np.uint8)


def save(path, image: Image.Image, fmt: str, **kw):
    image.save(path, format=fmt, **kw)
    return path


@pytest.mark.parametrize(("fmt", "ext"), [("PNG", "png"), ("BMP", "bmp"), ("JPEG", "jpg")])
def test_greyscale_roundtrip(tmp_path, fmt, ext):
    path = save(tmp_path / f"g.{ext}", Image.fromarray(GREY), fmt, **({"quality": 100} if fmt == "JPEG" else {}))
    dec = read(path)
    assert dec.array.shape == (30, 40) and dec.array.dtype == np.uint8
    assert dec.intensity is Intensity.PHOTOMETRIC_8BIT
    assert dec.spacing is None
    assert dec.meta["real_format"] == FileFormat(ext.replace("jpg", "jpeg")).value
    if fmt != "JPEG":
        np.testing.assert_array_equal(dec.array, GREY)
    else:
        assert np.abs(dec.array.astype(int) - GREY).max() <= 8  # lossy, same picture


def test_png_that_is_a_jpeg_and_jpg_that_is_a_bmp(tmp_path):
    png = save(tmp_path / "slice.png", Image.fromarray(GREY), "JPEG")
    jpg = save(tmp_path / "slice.jpg", Image.fromarray(GREY), "BMP")
    assert sniff(png) is FileFormat.JPEG
    assert sniff(jpg) is FileFormat.BMP
    dec = read(jpg, FileFormat.JPEG)  # the card says jpeg; the content wins and the lie is recorded
    np.testing.assert_array_equal(dec.array, GREY)
    assert dec.meta["real_format"] == "bmp" and dec.meta["declared_format"] == "jpeg"
    dec = read(png, "png")
    assert dec.meta["real_format"] == "jpeg" and dec.meta["declared_format"] == "png"


def test_jpg_that_is_a_16bit_tiff_keeps_16_bits(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    data = np.array([[0, 300], [4095, 65535]], dtype=np.uint16)
    path = tmp_path / "slice.jpg"
    tifffile.imwrite(path, data)
    dec = read(path, FileFormat.JPEG)
    assert dec.array.dtype == np.uint16
    np.testing.assert_array_equal(dec.array, data)
    assert dec.meta["real_format"] == "tiff" and dec.meta["declared_format"] == "jpeg"


@pytest.mark.parametrize("name", ["50% lung.png", "a b%20c.png", "100%.bmp", "%41 spaced  name.jpg"])
def test_names_with_percent_and_spaces(tmp_path, name):
    fmt = {"png": "PNG", "bmp": "BMP", "jpg": "PNG"}[name.rsplit(".", 1)[1]]  # the .jpg is a PNG too
    path = save(tmp_path / name, Image.fromarray(GREY), fmt)
    np.testing.assert_array_equal(read(path).array, GREY)
    np.testing.assert_array_equal(read(str(path)).array, GREY)
    assert read_header(path)["width"] == 40


def test_16bit_png_roundtrip_is_exact(tmp_path):
    data = np.array([[0, 256, 1000], [4095, 40000, 65535]], dtype=np.uint16)
    path = save(tmp_path / "ct16.png", Image.fromarray(data), "PNG")
    dec = read(path)
    assert dec.array.dtype == np.uint16
    np.testing.assert_array_equal(dec.array, data)
    assert dec.intensity is Intensity.RAW_16BIT


def _palette_image() -> Image.Image:
    idx = np.zeros((6, 8), np.uint8)
    idx[1:3, 1:4], idx[4:, 5:] = 1, 2
    im = Image.fromarray(idx, mode="P")
    im.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0])  # background, red lesion, green lung
    return im


def test_palette_mask_returns_indices_not_colours(tmp_path):
    path = save(tmp_path / "mask.png", _palette_image(), "PNG")
    dec = read(path, mask=True)
    assert dec.array.shape == (6, 8) and dec.array.dtype == np.uint8
    assert set(np.unique(dec.array)) == {0, 1, 2}
    assert dec.meta["mode"] == "P" and dec.meta["palette"][1] == [255, 0, 0]
    assert dec.intensity is Intensity.UNKNOWN


def test_palette_image_is_expanded_and_says_so(tmp_path):
    path = save(tmp_path / "colour.png", _palette_image(), "PNG")
    dec = read(path)
    assert dec.array.shape == (6, 8, 3)
    assert tuple(dec.array[1, 1]) == (255, 0, 0) and tuple(dec.array[5, 7]) == (0, 255, 0)
    assert dec.meta["palette_applied"] == "RGB"


def test_grey_palette_bmp_gives_greyscale(tmp_path):
    im = Image.fromarray(GREY).quantize(colors=16)
    grey = [v for i in range(256) for v in (i, i, i)]
    im.putpalette(grey)
    path = save(tmp_path / "p.bmp", im, "BMP")
    dec = read(path)
    assert dec.array.ndim == 2  # a grey palette gives (H, W), whether Pillow opens it as P or L


def test_rgba_drops_alpha_for_images_only(tmp_path):
    rgba = np.zeros((5, 7, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 128
    path = save(tmp_path / "rgba.png", Image.fromarray(rgba, "RGBA"), "PNG")
    image = read(path)
    assert image.array.shape == (5, 7, 3) and image.array[0, 0, 0] == 200
    assert image.meta["alpha_dropped"] is True and image.meta["alpha_opaque"] is False
    mask = read(path, mask=True)
    assert mask.array.shape == (5, 7, 4)
    assert "alpha_dropped" not in mask.meta


def test_grey_with_alpha(tmp_path):
    la = np.stack([GREY, np.full_like(GREY, 255)], axis=-1)
    path = save(tmp_path / "la.png", Image.fromarray(la, "LA"), "PNG")
    dec = read(path)
    np.testing.assert_array_equal(dec.array, GREY)
    assert dec.meta["alpha_dropped"] is True and dec.meta["alpha_opaque"] is True


def test_bilevel_mask_is_zero_one(tmp_path):
    bits = Image.fromarray(GREY > 100).convert("1")
    path = save(tmp_path / "bits.png", bits, "PNG")
    assert set(np.unique(read(path, mask=True).array)) == {0, 1}
    assert set(np.unique(read(path).array)) == {0, 255}


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    path = save(tmp_path / "cmyk.jpg", Image.new("CMYK", (4, 3), (0, 255, 255, 0)), "JPEG")
    dec = read(path)
    assert dec.array.shape == (3, 4, 3) and dec.meta["converted_from"] == "CMYK"


def test_file_object(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(GREY).save(buf, format="PNG")
    buf.seek(0)
    assert sniff(buf) is FileFormat.PNG and buf.tell() == 0
    np.testing.assert_array_equal(read(buf).array, GREY)


@pytest.mark.parametrize(("fmt", "ext"), [("PNG", "png"), ("JPEG", "jpg"), ("BMP", "bmp")])
def test_truncated_file_is_a_read_error_naming_it(tmp_path, fmt, ext):
    path = save(tmp_path / f"broken 1%.{ext}", Image.fromarray(np.tile(GREY, (8, 8))), fmt)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ReadError) as info:
        read(path)
    assert str(path) in str(info.value)
    assert info.value.path == path


def test_garbage_and_missing_files(tmp_path):
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(ReadError, match=r"junk\.png"):
        read(junk)
    with pytest.raises(ReadError, match="no such file"):
        read(tmp_path / "absent.png")
    with pytest.raises(ReadError, match="no such file"):
        read(tmp_path / "absent.png", "png")


def _png_16bit_rgb(path, rgb: np.ndarray):
    """A 16-bit RGB PNG written by hand (Pillow cannot write one)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    h, w, _ = rgb.shape
    rows = b"".join(b"\x00" + rgb[y].astype(">u2").tobytes() for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    return path


def test_16bit_colour_png_reduction_is_not_silent(tmp_path):
    rgb = np.full((2, 3, 3), 40000, np.uint16)
    path = _png_16bit_rgb(tmp_path / "rgb16.png", rgb)
    with pytest.warns(UserWarning, match="reduced to 8 bits"):
        dec = read(path)
    assert dec.meta["reduced_to_8bit"] is True
    assert dec.array.dtype == np.uint8 and dec.array[0, 0, 0] == 40000 >> 8
