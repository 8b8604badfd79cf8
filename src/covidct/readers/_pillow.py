"""A Pillow image as a numpy array, nothing lost silently: shared by the raster reader and the TIFF
reader's Pillow fallback (its own module so that neither reader imports the other to get it).

``mask=True`` keeps what an image would drop (palette indices, alpha); otherwise ``meta`` says what was
converted or dropped (``converted_from``, ``alpha_dropped``, ``palette_applied``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from covidct.readers._common import check_decoded_size

_TO_RGB = {"CMYK", "YCbCr", "LAB", "HSV"}


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


def pillow_array(im: Image.Image, mask: bool, meta: dict[str, object]) -> np.ndarray:
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
