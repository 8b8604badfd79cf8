"""How the loader stores each file role of a config: raster bytes, or an array with a dtype, a rank and
maybe a fixed in-plane shape. A fact derived from the card alone (no ``datasets``): the features and
the encoder of covidct.hf follow it, and the fixture synthesizer asks it whether the loader expects
the card's image size exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from covidct.card.model import SCAN_UNITS, Config
from covidct.card.vocab import Dimensionality, FileFormat, Intensity
from covidct.readers.formats import all_formats

RASTER = frozenset(f.fmt for f in all_formats() if f.raster)  # encoded 2-D pictures (Pillow, tifffile)


@dataclass(frozen=True)
class ImagePlan:
    """How one file role is stored: ``raster`` (Image from bytes) or ``array`` with a dtype and rank."""

    kind: str  # "raster" | "array"
    dtype: str  # numpy dtype name for arrays
    ndim: int  # 2 (slice) or 3 (volume)
    shape: tuple[int, int] | None  # fixed (rows, cols) when the card says so


def per_member(cfg: Config) -> bool:
    return not cfg.example_is_whole_scan


def _fixed_inplane(cfg: Config) -> tuple[int, int] | None:
    size = cfg.image.size
    if size is None or size.min is None or size.max is None:
        return None
    if len(size.min) < 2 or len(size.max) < 2 or size.min[:2] != size.max[:2]:
        return None
    return (size.min[1], size.min[0])  # [width, height] → (rows, cols)


def image_plan(cfg: Config, role: str = "image") -> ImagePlan:
    assert cfg.layout is not None
    fmt = cfg.layout.files[role].format
    is_mask = role != "image"
    if not per_member(cfg):
        volume = True  # the slices of a scan, stacked
    elif fmt in RASTER:
        volume = False
    elif fmt == FileFormat.DICOM:
        volume = cfg.example in SCAN_UNITS  # a multi-frame file per scan
    else:
        volume = cfg.example in SCAN_UNITS or cfg.dimensionality != Dimensionality.D2
    if fmt in RASTER and not volume:
        return ImagePlan("raster", "", 2, None)
    if is_mask:
        label = next((lab for lab in cfg.labels if lab.name == role), None)
        top = max((v.value for v in label.mask_values), default=1) if label else 1
        dtype = "uint8" if top <= 255 else "uint16"
    else:
        dtype = _dtype_for(cfg, fmt)
    return ImagePlan("array", dtype, 3 if volume else 2, _fixed_inplane(cfg))


def _dtype_for(cfg: Config, fmt: FileFormat) -> str:
    it = cfg.image.intensity
    if it == Intensity.FLOAT:
        return "float32"
    if it in (Intensity.WINDOWED_8BIT, Intensity.PHOTOMETRIC_8BIT):
        return "uint8"
    if fmt in RASTER:  # 16-bit raster slices stacked into a volume: unsigned as stored
        return "uint16" if max(cfg.image.bit_depth or [8]) > 8 else "uint8"
    if it == Intensity.RAW_16BIT and fmt == FileFormat.NPY:
        return "uint16"
    return "int16"
