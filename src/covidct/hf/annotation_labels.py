"""Labels from annotation files (`layout.annotations`): their features and their values for one example.

A mask label becomes a uint8 mask of the example (the scan, or the slice) with the card's mask values, one per
reader (``readers: each``, with ``<label>_readers`` naming them in the same order) or one consensus mask
(``readers: consensus``). A points or boxes label becomes a list of marks, one per reader's region, never
merged: reader, kind, id, class name, the slices it lies on and its centroid (x, y in pixels, z as slice
index), for LIDC XML the nine ratings (0: not rated), for VOC XML the box (xmin, ymin, xmax, ymax in pixels).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from covidct.card.model import AnnotationSpec, Config, LabelDef
from covidct.card.vocab import LabelKind
from covidct.layout.walk import LayoutError, annotation_key

if TYPE_CHECKING:
    import numpy

    from covidct.readers.annotation_files import Region, SliceGeometry

MARK_KINDS = (LabelKind.POINTS, LabelKind.BOXES)


def readers_feature(label: str) -> str:
    return f"{label}_readers"


def annotation_features(cfg: Config, shape: tuple[int, int] | None, member: bool) -> dict[str, Any]:
    """The features of the config's annotation labels (``shape``: the image's fixed in-plane size, if any)."""
    import datasets
    from datasets import Array2D, Array3D, ClassLabel, Value

    List = getattr(datasets, "List", None) or datasets.Sequence
    assert cfg.layout is not None
    labels = {lab.name: lab for lab in cfg.labels}
    out: dict[str, Any] = {}
    for name, spec in cfg.layout.annotations.items():
        lab = _label(cfg, labels, name, spec)
        if lab.kind == LabelKind.MASK:
            if shape is not None:
                mask: Any = Array2D(shape=shape, dtype="uint8") if member else Array3D(shape=(None, *shape),
                                                                                        dtype="uint8")
            else:
                mask = Value("uint8")
                for _ in range(2 if member else 3):
                    mask = List(mask)
            if spec.readers == "each":
                out[name] = List(mask)
                out[readers_feature(name)] = List(Value("string"))
            else:
                out[name] = mask
        else:
            fields: dict[str, Any] = {"reader": Value("string"), "kind": Value("string"), "id": Value("string"),
                                      "name": Value("string"), "slices": List(Value("int32")),
                                      "x": Value("float32"), "y": Value("float32"), "z": Value("float32")}
            if spec.format == "lidc-xml":
                from covidct.readers.annotation_files import LIDC_CHARACTERISTICS

                fields.update({c: Value("int8") for c in LIDC_CHARACTERISTICS})
            elif spec.format == "voc-xml":
                from covidct.readers.annotation_files import VOC_BOX_SIDES

                fields.update({c: Value("float32") for c in VOC_BOX_SIDES})
            out[name] = List(fields) if hasattr(datasets, "List") else [fields]
        for cname in spec.labels:  # a class per record, aligned with the records (null: the record has none)
            classes = sorted(_record_label(cfg, labels, name, cname).classes, key=lambda c: c.value)
            out[cname] = List(ClassLabel(names=[c.name for c in classes]))
    return out


def _record_label(cfg: Config, labels: dict[str, LabelDef], name: str, cname: str) -> LabelDef:
    """The class label ``cname`` that a field of label ``name``'s records gives (the validator says more: C325)."""
    lab = labels.get(cname)
    if lab is None or lab.kind != LabelKind.CLASS or not lab.classes:
        raise LayoutError(f"config {cfg.name!r}: `layout.annotations.{name}.labels.{cname}` names no class label "
                          "with classes of the config; run `covidct validate`")
    return lab


def _label(cfg: Config, labels: dict[str, LabelDef], name: str, spec: AnnotationSpec) -> LabelDef:
    lab = labels.get(name)
    where = f"config {cfg.name!r}: `layout.annotations.{name}`"
    if lab is None:
        raise LayoutError(f"{where} names no label of the config; add a label {name!r} (kind mask or points)")
    if lab.kind != LabelKind.MASK and lab.kind not in MARK_KINDS:
        raise LayoutError(f"{where}: label {name!r} is {lab.kind.value}; annotation files give `mask`, `points` or "
                          "`boxes` labels")
    if lab.kind == LabelKind.MASK and spec.format == "voc-xml":
        raise LayoutError(f"{where}: label {name!r} is a mask; VOC files give boxes (make it a `boxes` label)")
    if lab.kind == LabelKind.MASK:
        values = {v.name for v in lab.mask_values}
        unknown = sorted(set(spec.classes.values()) - values)
        if not spec.classes or unknown:
            raise LayoutError(f"{where}: `classes` must map annotation names to the label's mask values "
                              f"({', '.join(sorted(values)) or 'none declared'}); "
                              f"{'unknown: ' + ', '.join(unknown) if unknown else 'it is empty'}")
    elif spec.readers == "consensus":
        raise LayoutError(f"{where}: a consensus is a mask; marks of a {lab.kind.value} label stay per reader")
    return lab


class AnnotationEncoder:
    """The annotation labels' values of one record (its slices' headers are read once per record)."""

    def __init__(self, cfg: Config, member: bool) -> None:
        assert cfg.layout is not None
        self.cfg = cfg
        self.member = member
        self.specs = cfg.layout.annotations
        labels = {lab.name: lab for lab in cfg.labels}
        self.labels = {name: _label(cfg, labels, name, spec) for name, spec in self.specs.items()}
        self.record_labels = {cname: _record_label(cfg, labels, name, cname)
                              for name, spec in self.specs.items() for cname in spec.labels}

    def encode(self, rec: Any, shape_known: bool) -> dict[str, Any]:
        from covidct.readers import ReadError, read_header
        from covidct.readers.annotation_files import SliceGeometry, read_annotations

        if not self.specs:
            return {}
        try:
            slices = [SliceGeometry.from_header(read_header(p, "dicom")) for p in rec.files.get("image", [])]
            out: dict[str, Any] = {}
            for name, spec in self.specs.items():
                regions = [r for p in rec.files.get(annotation_key(name), [])
                           for r in read_annotations(p, spec.format).regions
                           if not spec.classes or r.name in spec.classes]
                lab = self.labels[name]
                if lab.kind == LabelKind.MASK:
                    out.update(self._mask(name, spec, lab, regions, slices, shape_known))
                else:
                    out[name] = _marks(regions, slices, spec)
                    out.update(self._record_classes(spec, out[name]))
        except ReadError as exc:
            raise LayoutError(f"{rec.path}: {exc}") from None
        return out

    def _record_classes(self, spec: AnnotationSpec, records: list[dict[str, Any]]) -> dict[str, list[str | None]]:
        """`spec.labels`: each class label as one class name per record, the class whose value the record's field
        holds (None for 0 or no value: not rated). A rating no class has is an error, not a silent null."""
        from covidct.readers import ReadError

        out: dict[str, list[str | None]] = {}
        for cname, fld in spec.labels.items():
            by_value = {c.value: c.name for c in self.record_labels[cname].classes}
            names: list[str | None] = []
            for rec in records:
                value = rec.get(fld) or None
                if value is not None and value not in by_value:
                    raise ReadError(f"<record {rec.get('id')!r} of reader {rec.get('reader')!r}>",
                                    f"its {fld} {value} is no class of label {cname!r} (values "
                                    f"{', '.join(str(v) for v in sorted(by_value))}); the file is damaged or the "
                                    "card's classes are incomplete")
                names.append(None if value is None else by_value[value])
            out[cname] = names
        return out

    def _mask(self, name: str, spec: AnnotationSpec, lab: LabelDef, regions: list[Region],
              slices: list[SliceGeometry], shape_known: bool) -> dict[str, Any]:
        import numpy as np

        from covidct.readers.annotation_files import SliceLookup, rasterize, region_planes

        value_of = {v.name: v.value for v in lab.mask_values}
        classes = {ann: value_of[val] for ann, val in spec.classes.items()}
        readers = list(dict.fromkeys(r.reader or "" for r in regions))

        def shaped(arr: numpy.ndarray) -> Any:
            arr = arr[0] if self.member and arr.shape[0] == 1 else arr
            return arr if shape_known else arr.tolist()

        if spec.readers == "each":
            masks = [shaped(rasterize([r for r in regions if (r.reader or "") == who], slices, classes))
                     for who in readers]
            return {name: masks, readers_feature(name): readers}
        assert spec.consensus is not None
        rows = max((g.rows for g in slices), default=0)
        cols = max((g.cols for g in slices), default=0)
        out = np.zeros((len(slices), rows, cols), dtype=np.uint8)
        lookup = SliceLookup(slices)
        for ann, value in classes.items():  # per class and touched slice: the pixels enough readers gave it
            votes: dict[int, numpy.ndarray] = {}  # slice → how many readers marked each pixel (one plane each)
            for who in readers:
                mine: dict[int, numpy.ndarray] = {}
                for r in regions:
                    if (r.reader or "") == who and r.name == ann:
                        for i, p in region_planes(r, slices, lookup).items():
                            mine[i] = mine[i] | p if i in mine else p
                for i, p in mine.items():
                    if i not in votes:
                        votes[i] = np.zeros(p.shape, dtype=np.uint8)
                    votes[i] += p
            for i, count in votes.items():
                agreed = count >= spec.consensus.min_readers
                out[i, : agreed.shape[0], : agreed.shape[1]][agreed] = value
        return {name: shaped(out)}


def _marks(regions: list[Region], slices: list[SliceGeometry], spec: AnnotationSpec) -> list[dict[str, Any]]:
    """One record per region: where it lies (slice indices, centroid of its points) and its ratings."""
    import numpy as np

    from covidct.readers.annotation_files import LIDC_CHARACTERISTICS, SliceLookup, _pixel_points

    lookup = SliceLookup(slices)
    out = []
    for r in regions:
        idx: list[int] = []
        pts = []
        for c in r.contours:
            i = lookup.find(c)
            if i is None or not len(c.points):
                continue
            idx.append(i)
            xy = _pixel_points(c, slices[i])
            pts.append(np.column_stack([xy, np.full(len(xy), i, dtype=np.float64)]))
        for sop in r.masks:
            i = lookup.by_uid.get(sop)
            if i is not None:
                idx.append(i)
                yx = np.argwhere(r.masks[sop])
                pts.append(np.column_stack([yx[:, 1], yx[:, 0], np.full(len(yx), i)]).astype(np.float64))
        centre = np.concatenate(pts).mean(axis=0) if pts else None
        rec: dict[str, Any] = {
            "reader": r.reader, "kind": r.kind, "id": r.id, "name": spec.classes.get(r.name, r.name),
            "slices": sorted(set(idx)),
            # to a thousandth of a pixel: RTSTRUCT points come back from millimetres with rounding noise
            "x": None if centre is None else round(float(centre[0]), 3),
            "y": None if centre is None else round(float(centre[1]), 3),
            "z": None if centre is None else round(float(centre[2]), 3),
        }
        if spec.format == "lidc-xml":
            rec.update({c: r.characteristics.get(c, 0) for c in LIDC_CHARACTERISTICS})
        elif spec.format == "voc-xml":  # the box itself: its two corners (one contour, on the slice it names)
            (x0, y0), (x1, y1) = r.contours[0].points.tolist()
            rec.update({"xmin": x0, "ymin": y0, "xmax": x1, "ymax": y1})
        out.append(rec)
    return out
