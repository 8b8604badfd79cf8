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

from PIL import Image, UnidentifiedImageError

from covidct.readers._common import Decoded, ReadError, intensity_of
from covidct.readers._pillow import check_pillow_size, pillow_array

_REAL_FORMAT = {"JPEG": "jpeg", "MPO": "jpeg", "PNG": "png", "BMP": "bmp", "DIB": "bmp", "TIFF": "tiff"}


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
        arr = pillow_array(im, mask, meta)
    return Decoded(array=arr, spacing=None, intensity=intensity_of(arr.dtype, mask=mask), meta=meta)


def read_header(src: Any) -> dict[str, object]:
    im = _open(src)
    with im:
        if im.format == "TIFF":
            im.close()
            from covidct.readers import tiff

            return tiff.read_header(src)
        width, height = im.size
        return {"real_format": _real_format(im), "mode": im.mode, "width": width, "height": height}
