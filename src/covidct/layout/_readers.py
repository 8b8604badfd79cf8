"""Access to the format readers.

``covidct.readers`` (another module of the project) decodes every format. Until it is complete this
module falls back to a tiny local shim with the same API, so the layout interpreter and the builder
can be written and tested now. Delete the shim once ``covidct.readers`` exports everything below.
"""

from __future__ import annotations

from types import ModuleType, SimpleNamespace
from typing import Any

_API = ("Decoded", "ReadError", "read", "read_header", "sniff", "sort_key")
_cached: Any = None


def readers() -> Any:
    """``covidct.readers`` when it has the whole API, else the shim."""
    global _cached
    if _cached is None:
        try:
            import covidct.readers as mod

            _cached = mod if all(hasattr(mod, n) for n in _API) else _shim()
        except ImportError:
            _cached = _shim()
    return _cached


def _shim() -> ModuleType | SimpleNamespace:  # pragma: no cover - replaced by covidct.readers
    from covidct.readers._common import Decoded, ReadError, intensity_of, plain, rescale

    def sniff(path: Any) -> str:
        with open(path, "rb") as fh:
            head = fh.read(132)
        if head[128:132] == b"DICM":
            return "dicom"
        if head[:2] == b"\xff\xd8":
            return "jpeg"
        if head[:8] == b"\x89PNG\r\n\x1a\n":
            return "png"
        if head[:2] == b"BM":
            return "bmp"
        if head[:4] in (b"II*\x00", b"MM\x00*"):
            return "tiff"
        if head[:6] == b"\x93NUMPY":
            return "npy"
        name = str(path).lower()
        if name.endswith((".nii", ".nii.gz")):
            return "nifti"
        if name.endswith((".mhd", ".mha")):
            return "metaimage"
        if name.endswith(".nrrd"):
            return "nrrd"
        raise ReadError(path, "unknown file format")

    def read(path: Any, fmt: str | None = None, mask: bool = False) -> Decoded:
        import numpy as np

        fmt = str(fmt) if fmt else sniff(path)
        if fmt == "dicom":
            import pydicom

            ds = pydicom.dcmread(path)
            arr = ds.pixel_array
            slope = float(getattr(ds, "RescaleSlope", 1) or 1)
            icpt = float(getattr(ds, "RescaleIntercept", 0) or 0)
            if not mask:
                arr = rescale(arr, slope, icpt)
            ps = getattr(ds, "PixelSpacing", None)
            spacing = (float(ps[0]), float(ps[1])) if ps else None
            from covidct.card.vocab import Intensity

            return Decoded(arr, spacing, Intensity.HOUNSFIELD if not mask else intensity_of(arr.dtype, mask=True),
                           {})
        if fmt == "nifti":
            import nibabel as nib

            img = nib.load(str(path))
            arr = np.asarray(img.dataobj)
            slope, inter = img.dataobj.slope, img.dataobj.inter
            if not mask and (slope not in (None, 1) or inter not in (None, 0)) and slope == slope:
                arr = np.asarray(img.get_fdata(dtype=np.float32))
            arr = np.ascontiguousarray(arr.T)
            zooms = tuple(float(z) for z in img.header.get_zooms()[: arr.ndim])[::-1]
            return Decoded(arr, zooms, intensity_of(arr.dtype, mask=mask), {})
        if fmt in ("metaimage", "nrrd"):
            import SimpleITK as sitk

            img = sitk.ReadImage(str(path))
            arr = sitk.GetArrayFromImage(img)
            return Decoded(arr, tuple(float(s) for s in img.GetSpacing())[::-1], intensity_of(arr.dtype, mask=mask),
                           {})
        if fmt == "npy":
            arr = np.load(path, allow_pickle=False)
            return Decoded(arr, None, intensity_of(arr.dtype, mask=mask), {})
        if fmt == "tiff":
            import tifffile

            arr = tifffile.imread(path)
            return Decoded(arr, None, intensity_of(arr.dtype, mask=mask), {})
        from PIL import Image

        with Image.open(path) as im:
            arr = np.asarray(im)
        return Decoded(arr, None, intensity_of(arr.dtype, mask=mask), {})

    def read_header(path: Any, fmt: str | None = None) -> dict[str, object]:
        import pydicom

        ds = pydicom.dcmread(path, stop_before_pixels=True)
        out: dict[str, object] = {}
        for kw in ("SliceLocation", "ImagePositionPatient", "InstanceNumber", "PixelSpacing", "SliceThickness"):
            v = getattr(ds, kw, None)
            if v is not None:
                out[kw] = plain(v)
        return out

    def sort_key(meta: dict[str, Any], key: Any) -> float:
        k = str(key)
        if k == "ImagePositionPatient":
            return float(meta["ImagePositionPatient"][2])  # type: ignore[index]
        return float(meta[k])  # type: ignore[arg-type]

    return SimpleNamespace(Decoded=Decoded, ReadError=ReadError, read=read, read_header=read_header, sniff=sniff,
                           sort_key=sort_key)
