"""JPEG, PNG, BMP (and whatever else Pillow identifies) by content, whatever the extension says.

Decoded arrays come straight from Pillow's buffer without a further copy, so they may be read-only:
copy before modifying in place. Nothing is lost silently:

- ``L``/``RGB`` → uint8 (H, W) / (H, W, 3); 16-bit greyscale (``I;16*``) → uint16; ``F`` → float32;
- palette (``P``): ``mask=True`` returns the indices (uint8) and ``meta["palette"]``; otherwise the
  palette is applied (greyscale palettes give (H, W), colour ones (H, W, 3)), ``meta["palette_applied"]``;
- alpha (``RGBA``, ``LA``, ``PA``, palette transparency): kept with ``mask=True``; dropped otherwise, and
  ``meta["alpha_dropped"]`` says so (with ``meta["alpha_opaque"]``: whether it was all opaque);
- CMYK / YCbCr / LAB / HSV → RGB unless ``mask=True`` (``meta["converted_from"]``);
- 16-bit colour PNGs, which Pillow can only give as 8-bit, are reduced with a warning and
  ``meta["reduced_to_8bit"]`` (no CT dataset in the registry uses them).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from covidct.readers._common import Decoded, ReadError, check_decoded_size, intensity_of

_REAL_FORMAT = {"JPEG": "jpeg", "MPO": "jpeg", "PNG": "png", "BMP": "bmp", "DIB": "bmp", "TIFF": "tiff"}
_TO_RGB = {"CMYK", "YCbCr", "LAB", "HSV"}


def _open(src: Any) -> Image.Image:
    try:
        return Image.open(src)
    except UnidentifiedImageError:
        from covidct.readers._magic import sniff

        found = sniff(src)
        raise ReadError(
            src, f"not an image Pillow can read (content looks like: {found.value}); the file may be corrupt"
        ) from None
    except FileNotFoundError:
        raise ReadError(src, "no such file") from None
    except Image.DecompressionBombError as exc:
        raise ReadError(src, f"refused: {exc}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ReadError(src, f"cannot open the image ({exc})") from None


_BAND_BYTES = {"I": 4, "F": 4, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}


def check_pillow_size(src: Any, im: Image.Image) -> None:
    """Refuse an image whose declared width x height x bands exceeds the decoded-size limit.

    Pillow's own ``MAX_IMAGE_PIXELS`` check only warns up to twice its value and any code in the
    process may set it to None; this check does not depend on it. A palette image counts as RGB
    (what :func:`read` makes of it).
    """
    width, height = im.size
    bands = 3 if im.mode in ("P", "PA") else len(im.getbands())
    check_decoded_size(src, f"{im.format or 'image'} header", (height, width, bands), _BAND_BYTES.get(im.mode, 1))


def _real_format(im: Image.Image) -> str:
    name = im.format or "unknown"
    return _REAL_FORMAT.get(name, name.lower())


def _reduced_16bit_colour(im: Image.Image) -> bool:
    """A PNG whose 16-bit colour samples Pillow will reduce to 8 bits (visible in the raw mode)."""
    if im.format != "PNG" or im.mode not in ("RGB", "RGBA", "LA") or not im.tile:
        return False
    rawmode = im.tile[0].args[0] if isinstance(im.tile[0].args, tuple) else im.tile[0].args
    return isinstance(rawmode, str) and rawmode.endswith(";16B")


def read(src: Any, *, mask: bool = False) -> Decoded:
    im = _open(src)
    with im:
        if im.format == "TIFF":  # a .png/.jpg that is a TIFF: tifffile keeps every bit
            im.close()
            from covidct.readers import tiff

            return tiff.read(src, mask=mask)
        meta: dict[str, object] = {"real_format": _real_format(im), "mode": im.mode}
        reduced = _reduced_16bit_colour(im)
        check_pillow_size(src, im)
        try:
            im.load()
        except Image.DecompressionBombError as exc:
            raise ReadError(src, f"refused: {exc}") from None
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            problem = f"cannot decode {meta['real_format']} data ({exc}); the file may be truncated"
            raise ReadError(src, problem) from None
        if reduced:
            meta["reduced_to_8bit"] = True
            warnings.warn(
                f"{src}: 16-bit colour PNG reduced to 8 bits per sample (Pillow has no 16-bit colour mode)",
                stacklevel=2,
            )
        if "exif" in im.info:
            orientation = im.getexif().get(0x0112)
            if orientation not in (None, 1):
                meta["exif_orientation"] = int(orientation)  # not applied: the pixels are as stored
        arr = _to_array(im, mask, meta)
    return Decoded(array=arr, spacing=None, intensity=intensity_of(arr.dtype, mask=mask), meta=meta)


def _to_array(im: Image.Image, mask: bool, meta: dict[str, object]) -> np.ndarray:
    mode = im.mode
    if mode == "1":  # Pillow unpacks bits to bytes 0/255: a mask gets 0/1, an image 0/255
        width, height = im.size
        grey = np.frombuffer(im.tobytes("raw", "L"), np.uint8).reshape(height, width)
        return (grey > 0).view(np.uint8) if mask else grey
    if mode in ("P", "PA"):
        return _palette(im, mask, meta)
    if mode in _TO_RGB:
        if mask:
            return np.asarray(im)
        meta["converted_from"] = mode
        return np.asarray(im.convert("RGB"))
    arr = np.asarray(im)
    if not arr.dtype.isnative:  # I;16B
        arr = arr.astype(arr.dtype.newbyteorder("="))
    if mask:
        return arr
    if mode in ("RGBA", "RGBa", "LA", "La"):
        alpha = arr[..., -1]
        meta["alpha_dropped"] = True
        meta["alpha_opaque"] = bool((alpha == 255).all())
        return arr[..., 0] if mode in ("LA", "La") else np.ascontiguousarray(arr[..., :3])
    if mode == "RGBX":
        return np.ascontiguousarray(arr[..., :3])
    return arr


def _palette(im: Image.Image, mask: bool, meta: dict[str, object]) -> np.ndarray:
    raw = np.asarray(im)
    idx = raw[..., 0] if im.mode == "PA" else raw
    pal = im.getpalette() or []
    colours = np.asarray(pal, dtype=np.uint8).reshape(-1, 3)
    if mask:
        meta["palette"] = colours.tolist()
        return raw
    if len(colours) < 256:  # indices past the palette's end show as black
        colours = np.vstack([colours, np.zeros((256 - len(colours), 3), np.uint8)])
    if im.mode == "PA" or "transparency" in im.info:
        meta["alpha_dropped"] = True
    grey = bool((colours[:, 0] == colours[:, 1]).all() and (colours[:, 1] == colours[:, 2]).all())
    meta["palette_applied"] = "L" if grey else "RGB"
    return colours[:, 0][idx] if grey else colours[idx]


def read_header(src: Any) -> dict[str, object]:
    im = _open(src)
    with im:
        if im.format == "TIFF":
            im.close()
            from covidct.readers import tiff

            return tiff.read_header(src)
        width, height = im.size
        return {"real_format": _real_format(im), "mode": im.mode, "width": width, "height": height}
