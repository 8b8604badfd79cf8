"""MetaImage (.mhd header + .raw/.zraw data, or one .mha) and NRRD: SimpleITK reads
(covidct.readers.metaimage) and writes them."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType
from typing import Any

from covidct.card.vocab import FileFormat
from covidct.readers.formats._base import BY_SIBLING, HEURISTIC, MAGIC, Format, WriteSpec, magic, sibling

_METAIMAGE_KEYS = re.compile(
    rb"^\s*(ObjectType|ObjectSubType|NDims|DimSize|ElementType|ElementDataFile|ElementSpacing|"
    rb"ElementSize|BinaryData|BinaryDataByteOrderMSB|ElementByteOrderMSB|CompressedData|"
    rb"CompressedDataSize|TransformMatrix|Offset|Position|Origin|CenterOfRotation|Rotation|"
    rb"AnatomicalOrientation|HeaderSize|Modality|Comment|Name|ID|ParentID|Color)\s*=",
)


def _reader() -> ModuleType:
    from covidct.readers import metaimage

    return metaimage


def _header(head: bytes, name: str) -> bool:
    return _METAIMAGE_KEYS.match(head) is not None


def _data_of_mhd(head: bytes, name: str) -> bool:
    return bool(name) and name.lower().endswith((".raw", ".zraw")) and sibling(name, (".mhd", ".MHD"))


def _write(arr: Any, target: Path, spec: WriteSpec) -> None:
    import SimpleITK as sitk

    img = sitk.GetImageFromArray(arr)
    img.SetSpacing((0.7, 0.7, 2.0)[: arr.ndim])
    target.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(img, str(target))  # a .mhd writes its .raw beside it


_COMMON = {"image": True, "volume": True, "spacing": True, "family": "metaimage", "library": "SimpleITK",
           "reader": _reader, "writer": _write}

FORMATS = [
    Format(FileFormat.METAIMAGE, "application/x-metaimage", (".mhd", ".mha"), suffix_guess=True,
           sniffers=((HEURISTIC, _header), (BY_SIBLING, _data_of_mhd)), **_COMMON),  # type: ignore[arg-type]
    Format(FileFormat.NRRD, "application/x-nrrd", (".nrrd", ".nhdr"), sniffers=((MAGIC, magic(0, b"NRRD000")),),
           **_COMMON),  # type: ignore[arg-type]
]
