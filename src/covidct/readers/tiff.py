"""TIFF with tifffile: every bit kept (16-bit stays uint16, signed stays signed, float stays float).

- One page gives (H, W) or (H, W, C); a stack of pages (one tifffile series) gives (pages, H, W[, C]).
- Palette TIFFs: ``mask=True`` returns the indices; otherwise the colour map is applied.
- Alpha (extra samples) is kept with ``mask=True`` and dropped otherwise (``meta["alpha_dropped"]``).
- MINISWHITE images are returned as stored (not inverted); ``meta["photometric"]`` says which.
- Compressions tifffile cannot decode without ``imagecodecs`` (LZW, PackBits, JPEG) fall back to
  Pillow, which decodes them for greyscale 8/16-bit and RGB; otherwise a :class:`ReadError` says
  to ``pip install imagecodecs``.
- Spacing is given only when ImageJ metadata states a length unit (mm, cm or micron).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from covidct.readers._common import Decoded, MissingLibrary, ReadError, check_decoded_size, damaged, intensity_of

_UNIT_MM = {"mm": 1.0, "millimeter": 1.0, "cm": 10.0, "micron": 1e-3, "um": 1e-3, "µm": 1e-3}


class _NeedsCodec(Exception):
    def __init__(self, compression: str) -> None:
        super().__init__(compression)
        self.compression = compression


def _open(src: Any) -> Any:
    import tifffile

    try:
        # _multifile=False: an OME-TIFF names other files by path (FileName="../../x.tif"); reading them
        # would leave the data folder or open a FIFO, so a multi-file series falls back to this file's pages
        return tifffile.TiffFile(src, _multifile=False)
    except FileNotFoundError:
        raise ReadError(src, "no such file") from None
    except Exception as exc:
        raise damaged(src, "open as TIFF", exc) from None


def _enum_name(value: Any) -> str:
    return str(getattr(value, "name", value)).lower()


def read(src: Any, *, mask: bool = False) -> Decoded:
    tf = _open(src)
    with tf:
        try:
            page = tf.pages.first
            series = tf.series[0]
            meta: dict[str, object] = {
                "real_format": "tiff",
                "photometric": _enum_name(page.photometric),
                "compression": _enum_name(page.compression),
                "bits_per_sample": int(page.bitspersample),
            }
            check_decoded_size(src, "TIFF header", series.shape, series.dtype.itemsize)
            try:
                arr = series.asarray()
            except (KeyError, ValueError) as exc:  # "<COMPRESSION.LZW: 5> requires the 'imagecodecs' package"
                if "imagecodecs" not in str(exc):
                    raise
                raise _NeedsCodec(_enum_name(page.compression)) from None
            axes = series.axes
            if "S" in axes and axes.index("S") != len(axes) - 1:  # planar: samples first
                arr = np.moveaxis(arr, axes.index("S"), -1)
            if len(series.shape) > 2 and len(tf.pages) > 1:
                meta["pages"] = len(tf.pages)
            spacing = _spacing(tf, page, arr.ndim - (1 if "S" in axes else 0))
            if page.photometric == 3:  # palette
                arr = _palette(arr, page, mask, meta)
            elif not mask and "S" in axes and page.extrasamples and arr.shape[-1] > 1:
                extra = len(page.extrasamples)
                if any(int(e) in (1, 2) for e in page.extrasamples):  # associated/unassociated alpha
                    meta["alpha_dropped"] = True
                arr = np.ascontiguousarray(arr[..., : arr.shape[-1] - extra])
                if arr.shape[-1] == 1:
                    arr = arr[..., 0]
        except _NeedsCodec as need:
            tf.close()
            return _pillow_fallback(src, need.compression, mask)
        except ReadError:
            raise
        except Exception as exc:
            raise damaged(src, "decode the TIFF", exc) from None
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return Decoded(arr, spacing, intensity_of(arr.dtype, mask=mask), meta)


def _palette(arr: np.ndarray, page: Any, mask: bool, meta: dict[str, object]) -> np.ndarray:
    cmap = page.colormap  # (3, 2**bits) uint16
    if mask or cmap is None:
        if cmap is not None:
            meta["palette"] = (cmap.T // 257 if (cmap % 257 == 0).all() else cmap.T).tolist()
        return arr
    colours = cmap.T
    if (colours % 257 == 0).all():
        colours = (colours // 257).astype(np.uint8)
    meta["palette_applied"] = "RGB"
    return colours[arr]


def _spacing(tf: Any, page: Any, spatial_ndim: int) -> tuple[float, ...] | None:
    ij = tf.imagej_metadata
    if not ij:
        return None
    factor = _UNIT_MM.get(str(ij.get("unit", "")).strip())
    if factor is None:
        return None
    try:
        xnum, xden = page.tags["XResolution"].value
        ynum, yden = page.tags["YResolution"].value
        dx, dy = xden / xnum * factor, yden / ynum * factor
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    if spatial_ndim == 2:
        return (dy, dx)
    if spatial_ndim == 3 and ij.get("spacing") is not None:
        return (float(ij["spacing"]) * factor, dy, dx)
    return None


def _pillow_fallback(src: Any, compression: str, mask: bool) -> Decoded:
    from PIL import Image

    from covidct.readers._pillow import check_pillow_size, pillow_array

    hint = "install imagecodecs (pip install imagecodecs)"
    if hasattr(src, "seek"):
        src.seek(0)
    try:
        with Image.open(src) as im:
            check_pillow_size(src, im)
            im.load()
            meta: dict[str, object] = {
                "real_format": "tiff",
                "compression": compression,
                "mode": im.mode,
                "decoded_by": "pillow",
            }
            arr = pillow_array(im, mask, meta)
    except ReadError:
        raise
    except Exception as exc:
        raise MissingLibrary(src, f"{compression}-compressed TIFF needs imagecodecs ({exc})", hint) from None
    return Decoded(arr, None, intensity_of(arr.dtype, mask=mask), meta)


def read_header(src: Any) -> dict[str, object]:
    tf = _open(src)
    with tf:
        try:
            page = tf.pages.first
            series = tf.series[0]
            return {
                "real_format": "tiff",
                "shape": list(series.shape),
                "axes": series.axes,
                "dtype": str(series.dtype),
                "photometric": _enum_name(page.photometric),
                "compression": _enum_name(page.compression),
                "bits_per_sample": int(page.bitspersample),
            }
        except Exception as exc:
            raise damaged(src, "read the TIFF header", exc) from None
