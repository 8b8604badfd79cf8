"""Hugging Face ``datasets.Features`` from a card config, and the encoding of layout records.

Choices (see DESIGN.md for the facts behind them):

- 2D raster images (JPEG, PNG, BMP, TIFF) are ``Image()`` fed with the original file bytes: nothing is
  re-encoded, no mode is forced, so 16-bit PNG/TIFF stay 16-bit (``I;16``).
- DICOM slices and every volume (NIfTI, MetaImage, NRRD, NPY, a series of slices) are signed arrays in
  Hounsfield units (int16), or uint8/uint16/float32 when the card's intensity says so, never silently
  narrowed: a value that does not fit is an error. Volumes are (z, y, x). ``Array2D``/``Array3D`` need
  a fixed in-plane size (only the first dimension may vary), so they are used when the card's
  ``image.size`` is fixed; otherwise nested ``List`` features.
- Class labels are ``ClassLabel`` with names ordered by the card's class value; ``ClassLabel`` needs
  indices 0..n-1, so index i is the i-th class by value and the card's own values are kept in the
  dataset description (and :func:`label_values`).
"""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

from covidct.card.model import Card, Config, LabelDef, ValueFrom
from covidct.card.vocab import FileFormat, LabelKind
from covidct.fsutil import UnsafePath, open_regular
from covidct.imageplan import ImagePlan, image_plan, per_member
from covidct.layout.values import RECORD_CLASS_FIELD
from covidct.layout.walk import LayoutError
from covidct.readers.formats import format_of

if TYPE_CHECKING:
    import datasets
    import numpy

RESERVED = ("image", "path", "patient_id", "scan_id", "slice_index", "spacing")
_PIL_LOSSLESS = {"1", "L", "LA", "P", "PA", "RGB", "RGBA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F", "CMYK", "YCbCr"}


def _array_feature(p: ImagePlan) -> Any:
    from datasets import Array2D, Array3D, Value

    List = _list_type()

    if p.shape is not None:
        return Array2D(shape=p.shape, dtype=p.dtype) if p.ndim == 2 else Array3D(shape=(None, *p.shape), dtype=p.dtype)
    inner: Any = Value(p.dtype)
    for _ in range(p.ndim):
        inner = List(inner)
    return inner


def _list_type() -> Any:
    """``datasets.List`` (4.x and later); ``Sequence`` in datasets 3.x, which loading scripts still use."""
    import datasets

    return getattr(datasets, "List", None) or datasets.Sequence


def class_names(label: LabelDef) -> list[str]:
    return [c.name for c in sorted(label.classes, key=lambda c: c.value)]


def label_values(cfg: Config) -> dict[str, dict[str, Any]]:
    """For each label: ``ClassLabel`` index → (name, the card's value) and, for masks, value → name."""
    out: dict[str, dict[str, Any]] = {}
    for lab in cfg.labels:
        if lab.classes:
            out[lab.name] = {
                "kind": lab.kind.value,
                "classes": [{"index": i, "name": c.name, "card_value": c.value}
                            for i, c in enumerate(sorted(lab.classes, key=lambda c: c.value))],
            }
        if lab.mask_values:
            out[lab.name] = {"kind": lab.kind.value,
                             "mask_values": {str(v.value): v.name for v in lab.mask_values}}
    return out


def features_for(card: Card, cfg: Config) -> datasets.Features:
    from datasets import ClassLabel, Features, Image, Value

    List = _list_type()

    if cfg.layout is None:
        raise LayoutError(card.unloadable_reason(cfg))
    lay = cfg.layout
    grouped = lay.group is not None
    member = per_member(cfg)
    feats: dict[str, Any] = {}
    ip = image_plan(cfg)
    feats["image"] = Image() if ip.kind == "raster" else _array_feature(ip)
    labels = {lab.name: lab for lab in cfg.labels}
    for role in lay.files:
        if role == "image":
            continue
        rp = image_plan(cfg, role)
        feats[role] = Image() if rp.kind == "raster" else _array_feature(rp)
    for name, lab in labels.items():
        if name in lay.files:
            continue
        if name not in lay.labels:
            continue  # the validator warns (W403); nothing gives it a value
        feats[name] = _label_feature(lab, member, ClassLabel, List, Value, lay.labels[name])
    if lay.annotations:
        from covidct.hf.annotation_labels import annotation_features

        feats.update(annotation_features(cfg, ip.shape, member))
    if lay.patient is not None or grouped:
        feats["patient_id"] = Value("string")
    if lay.scan is not None or grouped:
        feats["scan_id"] = Value("string")
    if grouped and member:
        feats["slice_index"] = Value("int32")
    fmt = lay.files["image"].format
    if format_of(fmt).spacing:
        feats["spacing"] = List(Value("float32"))
    for name in lay.fields:
        if name in feats or name in RESERVED:
            raise LayoutError(f"field {name!r} of {card.id}/{cfg.name} clashes with a feature of the same name; "
                              f"rename it in the layout's `fields`")
        feats[name] = Value("string")
    feats["path"] = Value("string")
    return Features(feats)


def _label_feature(lab: LabelDef, member: bool, ClassLabel: Any, List: Any, Value: Any,
                   vf: ValueFrom | None = None) -> Any:
    kind = lab.kind
    if kind in (LabelKind.CLASS, LabelKind.MULTI_LABEL, LabelKind.SLICE_CLASS, LabelKind.SLICE_MULTI_LABEL):
        cl = ClassLabel(names=class_names(lab))
        if kind == LabelKind.CLASS:
            return cl
        if kind == LabelKind.MULTI_LABEL:
            return List(cl)
        if kind == LabelKind.SLICE_CLASS:
            return cl if member else List(cl)
        return List(cl) if member else List(List(cl))
    if kind == LabelKind.NUMBER:
        return Value("float64")
    if kind == LabelKind.TEXT:
        return Value("string")
    if vf is not None and vf.columns is not None:
        return record_list(record_fields(lab, vf, ClassLabel, Value))
    if vf is not None and vf.rle is not None and kind == LabelKind.MASK:  # decoded from run-length text
        from datasets import Array2D

        return Array2D(shape=tuple(vf.rle.shape), dtype="uint8")
    return List(Value("string"))  # boxes/points from one column: the raw cell text of each row


def record_fields(lab: LabelDef, vf: ValueFrom, ClassLabel: Any, Value: Any) -> dict[str, Any]:
    """The fields of one box or point, in the card's order: float32 numbers, and the class field
    (``label``) as a ``ClassLabel`` of the label's classes, or text when the label has none."""
    assert vf.columns is not None
    out: dict[str, Any] = {}
    for fld in vf.columns:
        if fld == RECORD_CLASS_FIELD:
            out[fld] = ClassLabel(names=class_names(lab)) if lab.classes else Value("string")
        else:
            out[fld] = Value("float32")
    return out


def record_list(fields: dict[str, Any]) -> Any:
    """A list of records: ``List({...})``; datasets 3.x (loading scripts) spells it ``[{...}]``, because
    its ``Sequence({...})`` would store a dict of lists instead."""
    import datasets

    if int(datasets.__version__.split(".")[0]) >= 4:  # not hasattr(List): loading scripts alias it under 3.x
        return datasets.List(fields)
    return [fields]


def info_for(card: Card, cfg: Config) -> datasets.DatasetInfo:
    """The DatasetInfo of a card config: the builder and the loading scripts share it."""
    from datasets import DatasetInfo

    cit = card.citation
    return DatasetInfo(
        description=description(card, cfg),
        features=features_for(card, cfg),
        homepage=card.homepage or "",
        license=card.license.id,
        citation=(cit.bibtex or cit.text or (f"doi:{cit.doi}" if cit.doi else "")) if cit else "",
    )


def description(card: Card, cfg: Config) -> str:
    """The dataset description: the card's summary, intensity unit and the label value tables."""
    lines = [card.summary, "", f"Config `{cfg.name}`: {cfg.description or ''}".rstrip()]
    ip = image_plan(cfg)
    unit = cfg.image.intensity.value
    if ip.kind == "raster":
        lines.append(f"Images: original {', '.join(f.value for f in cfg.image.formats)} bytes (lossless); "
                     f"intensity: {unit}.")
    else:
        shape = "(z, y, x)" if ip.ndim == 3 else "(rows, cols)"
        lines.append(f"Images: {ip.dtype} arrays {shape}; intensity: {unit}"
                     + (" (Hounsfield units)" if ip.dtype == "int16" else "") + ".")
    for name, info in label_values(cfg).items():
        if "classes" in info:
            table = ", ".join(f"{c['index']} = {c['name']} (card value {c['card_value']})" for c in info["classes"])
            lines.append(f"Label `{name}` ({info['kind']}): {table}.")
        else:
            table = ", ".join(f"{v} = {n}" for v, n in info["mask_values"].items())
            lines.append(f"Mask `{name}` pixel values: {table}.")
    lines.append("")
    lines.append("covidct:" + json.dumps({"card": card.id, "config": cfg.name, "intensity": unit,
                                          "labels": label_values(cfg)}, ensure_ascii=False, sort_keys=True))
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ encoding


def rle_labels(cfg: Config) -> dict[str, tuple[Any, int]]:
    """Mask labels read from run-length text: label → (its :class:`~covidct.readers.rle.RleFormat`, the value
    its runs mark: `rle.value`, else the label's one mask value besides 0)."""
    from covidct.layout.plan import rle_format

    assert cfg.layout is not None
    labels = {lab.name: lab for lab in cfg.labels}
    out: dict[str, tuple[Any, int]] = {}
    for name, vf in cfg.layout.labels.items():
        lab = labels.get(name)
        if vf.rle is None or lab is None or lab.kind != LabelKind.MASK:
            continue
        marked = [v for v in lab.mask_values if (v.name == vf.rle.value if vf.rle.value else v.value != 0)]
        if len(marked) != 1:
            raise LayoutError(f"config {cfg.name!r}: label {name!r}: the runs mark one mask value; give it as "
                              f"`rle.value` (one of {[v.name for v in lab.mask_values]})")
        out[name] = (rle_format(vf), marked[0].value)
    return out


def rle_mask(cells: list[str], fmt: Any, value: int, where: str) -> Any:
    """The union of an example's run-length cells as a uint8 mask (the plan has checked every cell)."""
    from covidct.readers import ReadError
    from covidct.readers.rle import mask

    try:
        return mask(cells, fmt, value, where)
    except ReadError as exc:
        raise LayoutError(str(exc)) from None


def _check_example_size(paths: list[str], role: str, nbytes: int) -> None:
    from covidct.readers._common import max_decoded_bytes
    from covidct.settings import MAX_DECODED_ENV

    limit = max_decoded_bytes(paths[0])
    if nbytes > limit:
        raise LayoutError(f"{paths[0]} and the {len(paths) - 1:,} other {role} files of its example decode to "
                          f"about {nbytes:,} bytes, more than the limit of {limit:,} bytes; refused before decoding "
                          f"them all (are they really one scan? check the layout's `group`); if they are, raise the "
                          f"limit with {MAX_DECODED_ENV}=<bytes>")


class Encoder:
    """Turns layout records into examples matching :func:`features_for`."""

    def __init__(self, card: Card, cfg: Config, features: datasets.Features, embed: bool = False):
        import covidct.readers

        assert cfg.layout is not None
        self.card = card
        self.cfg = cfg
        self.features = features
        self.rd = covidct.readers
        self.plans = {role: image_plan(cfg, role) for role in cfg.layout.files}
        self.formats = {role: cfg.layout.files[role].format for role in cfg.layout.files}
        self.member = per_member(cfg)
        self.grouped = cfg.layout.group is not None
        self.with_spacing = "spacing" in features
        self.embed = embed
        self.annotations = None
        if cfg.layout.annotations:
            from covidct.hf.annotation_labels import AnnotationEncoder

            self.annotations = AnnotationEncoder(cfg, self.member)
        self.rle = rle_labels(cfg)

    def encode(self, rec: Any) -> dict[str, Any]:
        ex: dict[str, Any] = {}
        spacing = None
        for role, p in self.plans.items():
            paths = rec.files.get(role) or []
            if not paths:
                ex[role] = None
                continue
            if p.kind == "raster":
                ex[role] = self._raster(paths[0], rec.path if role == "image" else None)
            else:
                arr, sp = self._array(paths, role, p, rec.row if role == "image" else None)
                ex[role] = arr
                if role == "image":
                    spacing = sp
        if self.annotations is not None:
            ex.update(self.annotations.encode(rec, self.plans["image"].shape is not None))
        for name, (fmt, value) in self.rle.items():
            cells = rec.labels.get(name)  # None: no row names the example, so its mask is not known
            ex[name] = None if cells is None else rle_mask(cells, fmt, value, f"{rec.path}: label {name!r}")
        for name in self.features:
            if name in ex or name in ("patient_id", "scan_id", "slice_index", "spacing", "path"):
                continue
            if name in rec.labels:
                ex[name] = rec.labels[name]
            elif name in rec.fields:
                ex[name] = rec.fields[name]
            else:
                ex[name] = None
        if "patient_id" in self.features:
            ex["patient_id"] = rec.patient
        if "scan_id" in self.features:
            ex["scan_id"] = rec.scan
        if "slice_index" in self.features:
            ex["slice_index"] = rec.slice_index
        if self.with_spacing:
            ex["spacing"] = list(spacing) if spacing is not None else None
        ex["path"] = rec.path
        return ex

    def _raster(self, path: str, rel: str | None) -> dict[str, Any]:
        """The original file: its path (datasets embeds the bytes on Parquet export), or its bytes (``embed``)."""
        try:
            with open_regular(path) as fh:
                data = fh.read() if self.embed else fh.read(4)
        except UnsafePath as exc:
            raise LayoutError(str(exc)) from None
        except OSError as exc:
            raise LayoutError(f"cannot read {path}: {exc.strerror or exc}") from None
        if data[:4] in (b"II*\x00", b"MM\x00*") and not _pil_can_keep(path):
            # a TIFF that Pillow cannot decode losslessly (float, multi-sample 16-bit...): keep the pixels
            try:
                arr = self.rd.read(path, "tiff", mask=False).array
            except self.rd.ReadError as exc:
                raise LayoutError(str(exc)) from None
            if arr.dtype.kind == "f" or arr.ndim > 3:
                raise LayoutError(f"{path}: a {arr.dtype} TIFF cannot be stored as an image without loss; "
                                  f"describe it as an array format in the card")
            return {"bytes": _png_bytes(arr), "path": rel or path.rsplit("/", 1)[-1]}
        if self.embed:
            return {"bytes": data, "path": rel or path.rsplit("/", 1)[-1]}
        return {"bytes": None, "path": path}

    def _array(self, paths: list[str], role: str, p: ImagePlan,
               row: int | None = None) -> tuple[numpy.ndarray, tuple[float, ...] | None]:
        import numpy as np

        fmt = self.formats[role]
        mask = role != "image"
        decoded = []
        total = 0
        for path in paths:
            dataset = self.cfg.layout.files[role].dataset if self.cfg.layout else None
            try:
                if row is not None and dataset is not None:  # one row of an HDF5 dataset is the example
                    from covidct.readers import hdf5

                    d = hdf5.read_row(path, dataset, row, mask=mask)
                else:
                    d = self.rd.read(path, fmt.value if fmt != FileFormat.OTHER else None, mask=mask)
            except self.rd.ReadError as exc:
                raise LayoutError(str(exc)) from None
            decoded.append(d)
            total += d.array.nbytes
            # each file is bounded by the decoded limit; so is the example its slices make (thousands of
            # files that claim one SeriesInstanceUID would otherwise stack without end): refused from the
            # first slice's size times the count, before the others are decoded, and again as they come
            _check_example_size(paths, role, len(paths) * d.array.nbytes if len(decoded) == 1 else total)
        arrays = [_gray(d.array, paths[i]) for i, d in enumerate(decoded)]
        if p.ndim == 3 and len(arrays) == 1 and arrays[0].ndim == 3:
            arr = arrays[0]
            spacing = decoded[0].spacing
        elif p.ndim == 3:
            shapes = {a.shape for a in arrays}
            if len(shapes) > 1:
                raise LayoutError(f"the slices of {paths[0].rsplit('/', 2)[-2]} differ in size {sorted(shapes)}")
            arr = np.stack(arrays) if arrays[0].ndim == 2 else np.concatenate(arrays)
            sp2 = decoded[0].spacing
            spacing = None
            if sp2 is not None and len(sp2) == 2:
                spacing = (_z_spacing(decoded), *sp2)
            elif sp2 is not None:
                spacing = tuple(sp2)
        else:
            arr = arrays[0]
            if arr.ndim == 3 and arr.shape[0] == 1:
                arr = arr[0]
            spacing = decoded[0].spacing
        arr = _fit(arr, p.dtype, paths[0])
        if p.shape is not None and tuple(arr.shape[-2:]) != p.shape:
            raise LayoutError(
                f"{paths[0]}: in-plane size {arr.shape[-2:][::-1]} (width, height) differs from the card's "
                f"image.size {list(p.shape[::-1])}; fix `image.size` (min/max) in the card"
            )
        if p.shape is None:
            arr = arr.tolist()  # nested List feature
        return arr, spacing


def _z_spacing(decoded: list[Any]) -> float:
    import numpy as np

    zs = []
    for d in decoded:
        meta = d.meta or {}
        v = meta.get("SliceLocation")
        if v is None:
            ipp = meta.get("ImagePositionPatient")
            v = ipp[2] if isinstance(ipp, (list, tuple)) and len(ipp) == 3 else None
        if v is None:
            return float("nan")
        zs.append(float(v))
    if len(zs) < 2:
        t = (decoded[0].meta or {}).get("SliceThickness")
        return float(t) if t is not None else float("nan")
    return float(np.median(np.abs(np.diff(zs))))


def _gray(arr: numpy.ndarray, path: str) -> numpy.ndarray:
    """A raster slice as one channel when its channels are equal (grey saved as RGB)."""
    if arr.ndim == 3 and arr.shape[-1] in (3, 4) and arr.shape[0] > 4:
        import numpy as np

        if np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 0], arr[..., 2]):
            return arr[..., 0]
        raise LayoutError(f"{path}: a colour slice cannot be stacked into a grey volume")
    return arr


def _fit(arr: numpy.ndarray, dtype: str, path: str) -> numpy.ndarray:
    """``arr`` as ``dtype`` when every value fits exactly; otherwise an error (never silent loss)."""
    import numpy as np

    target = np.dtype(dtype)
    if arr.dtype == target:
        return arr
    if arr.size == 0:
        return arr.astype(target)
    if target.kind == "f":
        if arr.dtype.kind == "f" and arr.dtype.itemsize > target.itemsize:
            out = arr.astype(target)
            if not np.allclose(out, arr, rtol=1e-6, atol=1e-3, equal_nan=True):
                raise LayoutError(f"{path}: float64 values lose precision as float32")
            return out
        return arr.astype(target)
    if arr.dtype.kind == "f" and (not np.all(np.isfinite(arr)) or not np.array_equal(arr, np.round(arr))):
        raise LayoutError(f"{path}: the values are not whole numbers (dtype {arr.dtype}); the card's intensity "
                          f"{'/'.join(('hounsfield', 'raw-16bit'))} implies integers: set `intensity: float`")
    lo, hi = arr.min(), arr.max()
    info = np.iinfo(target)
    if lo < info.min or hi > info.max:
        raise LayoutError(f"{path}: values {lo}..{hi} do not fit {dtype}; check the card's intensity "
                          f"({'float' if arr.dtype.kind == 'f' else arr.dtype}) and bit depth")
    return arr.astype(target)


def _pil_can_keep(path: str) -> bool:
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.mode in _PIL_LOSSLESS and getattr(im, "n_frames", 1) == 1
    except Exception:
        return False


def _png_bytes(arr: numpy.ndarray) -> bytes:
    import numpy as np
    from PIL import Image

    if arr.dtype == np.uint16 and arr.ndim == 2:
        im = Image.fromarray(arr)  # I;16
    elif arr.dtype == np.uint8:
        im = Image.fromarray(arr)
    elif arr.dtype.kind in "iu" and arr.ndim == 2 and arr.min() >= 0 and arr.max() <= 65535:
        im = Image.fromarray(arr.astype(np.uint16))
    else:
        raise LayoutError(f"a {arr.dtype} array of shape {arr.shape} cannot be stored losslessly as an image")
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


__all__ = ["Encoder", "ImagePlan", "class_names", "description", "features_for", "image_plan", "label_values"]
