"""Croissant 1.1 JSON-LD from a card: ``croissant_for(card) -> dict``.

What goes in:

- metadata: name, aliases, description, homepage, license, citation, keywords, creators;
- distribution: one ``cr:FileObject`` per download that has a checksum (Croissant requires one), and
  one ``cr:FileSet`` per file role and per table of each config's layout, ``containedIn`` the
  layout's archives when those are described; without archives the globs are relative to the
  local data folder (the one ``covidct.load_dataset(..., data_dir=...)`` reads);
- record sets: one per config whose fields mirror the Hugging Face features of the generic builder
  (image, the label fields, patient and scan ids, extra fields, split), plus one enumeration record
  set per class label / mask value map, holding the classes as inline data.

Joins that Croissant needs between file sets (an image and its mask; an image and a table row) are
declared with ``references`` on small key fields whose ids start with ``_key_``: they are
bookkeeping for Croissant, not features of the dataset. Where a join key cannot be written as one
regular-expression capture (the shared parts of two patterns differ), the field is documented
without a source rather than with a wrong one.

The output is plain data (dicts, lists, strings) serialised with ``json.dumps``; card text never
becomes code. mlcroissant validates it (``covidct croissant ID --validate``); we do not use
mlcroissant to load CT data (its loader squashes 16-bit images to 8-bit).
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from covidct.card.model import Card, Config, FileSpec, LabelDef, Layout, ValueFrom
from covidct.card.pattern import regex_text, tokens
from covidct.card.vocab import ArchiveFormat, FileFormat, LabelKind
from covidct.export.mime import ARCHIVE_MIME, mime_for_name
from covidct.readers.formats import format_of
from covidct.render.facts import CardFacts, card_facts

CONFORMS_TO = "http://mlcommons.org/croissant/1.1"

# The Croissant 1.1 JSON-LD context, as published with the specification (data, not code).
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "arrayShape": "cr:arrayShape",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "containedIn": "cr:containedIn",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "description": {"@container": "@language"},
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isArray": "cr:isArray",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "name": {"@container": "@language"},
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}

ARRAY_KINDS = {
    LabelKind.SLICE_CLASS,
    LabelKind.SLICE_MULTI_LABEL,
    LabelKind.MULTI_LABEL,
    LabelKind.BOXES,
    LabelKind.POINTS,
}

_ANY_PATH = "(?:.*/)?"  # fullpath may carry the extraction folder in front of the layout root


# ------------------------------------------------------------------------------------------ helpers


def _ref(kind: str, id_: str) -> dict[str, Any]:
    return {kind: {"@id": id_}}


def _glob(layout: Layout, pattern: str) -> str:
    """The pattern as a glob relative to the data folder: parts become ``*``."""
    out = []
    for kind, val in tokens(_rooted(layout, pattern)):
        if kind == "lit":
            out.append(re.sub(r"([\[\]?*])", r"[\1]", val))
        elif kind == "part" or kind == "star":
            out.append("*")
        else:
            out.append(val)
    return "".join(out)


def _rooted(layout: Layout, path: str) -> str:
    root = layout.root.strip("/")
    return f"{root}/{path}" if root else path


def _regex(layout: Layout, pattern: str, capture: tuple[int, int] | None) -> str:
    """A regex over the file's full path with ONE capture group around tokens [start, end)."""

    def part(name: str) -> str:
        spec = layout.parts.get(name)
        return spec.regex if spec else "[^/]+"

    root = layout.root.strip("/")
    prefix = re.escape(root + "/") if root else ""
    return "^" + _ANY_PATH + prefix + regex_text(pattern, part, capture) + "$"


def _part_span(toks: list[tuple[str, str]], part: str) -> tuple[int, int] | None:
    for i, (kind, val) in enumerate(toks):
        if kind == "part" and val == part:
            return (i, i + 1)
    return None


def _shared_span(a: list[tuple[str, str]], b: list[tuple[str, str]]) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The spans from first to last named part, when both patterns spell them identically."""

    def span(toks: list[tuple[str, str]]) -> tuple[int, int] | None:
        idx = [i for i, (k, _) in enumerate(toks) if k == "part"]
        return (idx[0], idx[-1] + 1) if idx else None

    sa, sb = span(a), span(b)
    if sa is None or sb is None or a[sa[0] : sa[1]] != b[sb[0] : sb[1]]:
        return None
    return sa, sb


def _template_capture(layout: Layout, pattern: str, template: str) -> str | None:
    """A one-group regex over the image path whose capture equals ``template``, or None."""
    toks = tokens(pattern)
    ttoks = tokens(template)
    root = layout.root.strip("/")
    if len(ttoks) == 1 and ttoks[0][0] == "part":
        name = ttoks[0][1]
        if name == "_path":
            return _regex(layout, pattern, (0, len(toks)))
        if name in ("_name", "_stem"):
            whole = _regex(layout, pattern, None)[1:-1]  # strip ^ and $
            tail = r"([^/]+)" if name == "_name" else r"([^/]+?)(?:\.[^./]+)?"
            return f"^(?=(?:{whole})$)(?:.*/)?{tail}$"
        span = _part_span(toks, name)
        return _regex(layout, pattern, span) if span else None
    # a template equal to a contiguous run of the pattern (e.g. `{patient}/{scan}`)
    n = len(ttoks)
    for i in range(len(toks) - n + 1):
        if toks[i : i + n] == ttoks:
            return _regex(layout, pattern, (i, i + n))
    del root
    return None


def _value_from_regex(layout: Layout, image_pattern: str, vf: ValueFrom) -> str | None:
    if vf.part is None:
        return None
    span = _part_span(tokens(image_pattern), vf.part)
    return _regex(layout, image_pattern, span) if span else None


def _text(value: str | None, limit: int = 5000) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value if len(value) <= limit else value[: limit - 1] + "…"


# ------------------------------------------------------------------------------------------ builder


class _Doc:
    def __init__(self, card: Card):
        self.card = card
        self.distribution: list[dict[str, Any]] = []
        self.record_sets: list[dict[str, Any]] = []
        self.ids: set[str] = set()
        self.archives: dict[str, str] = {}  # download name -> FileObject id (only if described)
        self.notes: list[str] = []  # features of the current config that Croissant cannot source

    def uid(self, base: str) -> str:
        uid, n = base, 2
        while uid in self.ids:
            uid, n = f"{base}-{n}", n + 1
        self.ids.add(uid)
        return uid

    # -- distribution --------------------------------------------------------------------------

    def downloads(self) -> None:
        for d in self.card.downloads:
            if not (d.md5 or d.sha256):
                continue  # Croissant requires a checksum; the README lists the download anyway
            fo: dict[str, Any] = {
                "@type": "cr:FileObject",
                "@id": self.uid(d.name),
                "name": d.name,
                "contentUrl": d.url or d.name,
                "encodingFormat": ARCHIVE_MIME[d.archive]
                if d.archive is not ArchiveFormat.NONE
                else mime_for_name(d.name),
            }
            if d.description:
                fo["description"] = d.description
            if d.size_bytes is not None:
                fo["contentSize"] = f"{d.size_bytes} B"
            if d.sha256:
                fo["sha256"] = d.sha256
            else:
                fo["md5"] = d.md5
            self.distribution.append(fo)
            self.archives[d.name] = fo["@id"]

    def file_set(self, cfg: Config, role: str, includes: str, fmt: FileFormat, what: str) -> str:
        assert cfg.layout is not None
        fs: dict[str, Any] = {
            "@type": "cr:FileSet",
            "@id": self.uid(f"{cfg.name}.{role}"),
            "name": f"{cfg.name}.{role}",
            "description": what,
            "encodingFormat": format_of(fmt).mime,
            "includes": includes,
        }
        contained = [self.archives[a] for a in cfg.layout.archives if a in self.archives]
        if contained:
            fs["containedIn"] = [{"@id": c} for c in contained]
        if cfg.layout.exclude:
            fs["excludes"] = list(cfg.layout.exclude)
        self.distribution.append(fs)
        return fs["@id"]

    # -- record sets ---------------------------------------------------------------------------

    def enumeration(self, cfg: Config, lab: LabelDef) -> str | None:
        if lab.classes:
            rs_id = self.uid(f"{cfg.name}.{lab.name}-classes")
            rows = [
                {
                    f"{rs_id}/name": c.name,
                    f"{rs_id}/value": c.value,
                    f"{rs_id}/description": c.description or "",
                }
                for c in lab.classes
            ]
            kinds = (("name", "sc:Text"), ("value", "sc:Integer"), ("description", "sc:Text"))
            what = f"Classes of `{lab.name}`: name and the integer the dataset stores."
            kinds = _with_urls(rs_id, lab.classes, rows, kinds)
        elif lab.mask_values:
            rs_id = self.uid(f"{cfg.name}.{lab.name}-values")
            rows = [
                {f"{rs_id}/name": m.name, f"{rs_id}/value": m.value, f"{rs_id}/color": m.color or ""}
                for m in lab.mask_values
            ]
            kinds = (("name", "sc:Text"), ("value", "sc:Integer"), ("color", "sc:Text"))
            what = f"Pixel values of the mask `{lab.name}` and what each marks."
            kinds = _with_urls(rs_id, lab.mask_values, rows, kinds)
        else:
            return None
        self.record_sets.append(
            {
                "@type": "cr:RecordSet",
                "@id": rs_id,
                "name": rs_id,
                "description": what,
                "dataType": "sc:Enumeration",
                "key": {"@id": f"{rs_id}/value"},
                "field": [{"@type": "cr:Field", "@id": f"{rs_id}/{k}", "name": k, "dataType": t} for k, t in kinds],
                "data": rows,
            }
        )
        return rs_id

    def config(self, cfg: Config) -> None:
        enums = {lab.name: self.enumeration(cfg, lab) for lab in cfg.labels}
        layout = cfg.layout
        if layout is None or "image" not in layout.files:
            return  # not loadable: no features to mirror (the enumerations above still describe the labels)
        self.notes = []
        rs_id = self.uid(cfg.name)
        image = layout.files["image"]
        image_fs = self.file_set(
            cfg,
            "image-files",
            _glob(layout, image.pattern),
            image.format,
            f"Input images of config {cfg.name} ({image.format.value}).",
        )
        ctx = _Ctx(cfg=cfg, layout=layout, image=image, image_fs=image_fs)
        img_field = _field(
            rs_id,
            "image",
            "sc:ImageObject",
            "The input image" + (", all slices of one scan in order" if layout.group else "") + ".",
            source={**_ref("fileSet", image_fs), "extract": {"fileProperty": "content"}},
        )
        if layout.group is not None:
            img_field["isArray"] = True
        fields: list[dict[str, Any]] = [img_field]
        auxes: dict[str, _Aux] = {}
        fields += self.value_fields(ctx, rs_id, enums, auxes)
        fields += self.path_and_split_fields(ctx, rs_id, auxes)
        join_fields, side = _joins(rs_id, auxes)
        fields += join_fields
        self.record_sets.append(
            {"@type": "cr:RecordSet", "@id": rs_id, "name": cfg.name, "description": self.description(cfg, side),
             "field": fields}
        )
        for aux in side:
            sid = self.uid(f"{cfg.name}.{aux.name}-by-image")
            self.record_sets.append(
                {
                    "@type": "cr:RecordSet",
                    "@id": sid,
                    "name": sid,
                    "description": f"Values of config {cfg.name} from `{aux.name}`, per image (joined on "
                    f"`{aux.template_text}`).",
                    "field": [
                        _field(sid, "path", "sc:Text", "Path of the image file relative to the layout root.",
                               source=_path_source(ctx)),
                        *aux.join_fields(sid),
                        *aux.make_fields(sid),
                    ],
                }
            )

    def value_fields(self, ctx: _Ctx, rs_id: str, enums: dict[str, str | None],
                     auxes: dict[str, _Aux]) -> list[dict[str, Any]]:
        """Fields of the labels, the ids and the layout's extra fields (what cannot be a field: a note)."""
        cfg, layout = ctx.cfg, ctx.layout
        fields: list[dict[str, Any]] = []
        labels_by_name = {lab.name: lab for lab in cfg.labels}
        for role, spec in layout.files.items():
            if role != "image":
                self.aux_file(ctx, role, spec, labels_by_name.get(role), auxes)
        for lab in cfg.labels:
            if lab.name in layout.files:
                continue
            vf = layout.labels.get(lab.name)
            fields += self.value_field(ctx, rs_id, lab.name, vf, lab, enums.get(lab.name), auxes)
        for name, vf in (("patient_id", layout.patient), ("scan_id", layout.scan)):
            if vf is not None:
                fields += self.value_field(ctx, rs_id, name, vf, None, None, auxes)
            elif layout.group is not None:
                self.notes.append(f"`{name}` (the parts that group the files)")
        if layout.group is not None and not cfg.example_is_whole_scan:
            self.notes.append("`slice_index` (position of the slice in its scan)")
        if format_of(ctx.image.format).spacing:
            self.notes.append("`spacing` (mm, read from the image headers)")
        for name, vf in layout.fields.items():
            fields += self.value_field(ctx, rs_id, name, vf, None, None, auxes)
        return fields

    def path_and_split_fields(self, ctx: _Ctx, rs_id: str, auxes: dict[str, _Aux]) -> list[dict[str, Any]]:
        layout = ctx.layout
        per_member = not ctx.cfg.example_is_whole_scan
        fields = [
            _field(
                rs_id,
                "path",
                "sc:Text",
                "Path of the image file relative to the layout root"
                + ("" if per_member else " (the first slice of the scan)")
                + ".",
                source=_path_source(ctx),
            )
        ]
        if layout.splits is not None and layout.splits.by is not None:
            fields += self.value_field(ctx, rs_id, "split", layout.splits.by, None, None, auxes)
        elif layout.splits is not None and layout.splits.lists:
            lists = ", ".join(f"`{f}`" for files in layout.splits.lists.values() for f in files)
            self.notes.append(f"the split (from the list files {lists})")
        return fields

    def description(self, cfg: Config, side: list[_Aux]) -> str:
        """The config's record set description: what is in side record sets, what Croissant cannot express."""
        desc = _text(cfg.description) or f"Examples of config {cfg.name}: one {cfg.example.value} each."
        if side:
            desc += (
                " Values from "
                + ", ".join(f"`{a.name}`" for a in side)
                + " are in the record sets "
                + ", ".join(f"`{cfg.name}.{a.name}-by-image`" for a in side)
                + ", joined on the image path."
            )
        if self.notes:
            desc += (
                " The loaded dataset also has "
                + "; ".join(self.notes)
                + ", which Croissant cannot express as a field source."
            )
        return desc

    def aux_file(self, ctx: _Ctx, role: str, spec: FileSpec, lab: LabelDef | None, auxes: dict[str, _Aux]) -> None:
        cfg, layout = ctx.cfg, ctx.layout
        desc = _text(lab.description) if lab and lab.description else f"The `{role}` file of the example."
        dtype = "sc:ImageObject" if format_of(spec.format).image else "sc:Text"
        shared = _shared_span(tokens(ctx.image.pattern), tokens(spec.pattern))
        if shared is None:
            self.notes.append(
                f"`{role}` ({spec.format.value} files `{spec.pattern}`, paired with the image by the named parts)"
            )
            return
        fs = self.file_set(
            cfg,
            f"{role}-files",
            _glob(layout, spec.pattern),
            spec.format,
            f"`{role}` files of config {cfg.name} ({spec.format.value}).",
        )
        aux_id = self.uid(f"{cfg.name}.{role}")
        self.record_sets.append(
            {
                "@type": "cr:RecordSet",
                "@id": aux_id,
                "name": aux_id,
                "description": f"`{role}` files of {cfg.name}, keyed by the parts shared with the image.",
                "key": {"@id": f"{aux_id}/key"},
                "field": [
                    _field(
                        aux_id,
                        "key",
                        "sc:Text",
                        "Named parts shared with the image path.",
                        source={
                            **_ref("fileSet", fs),
                            "extract": {"fileProperty": "fullpath"},
                            "transform": {"regex": _regex(layout, spec.pattern, shared[1])},
                        },
                    ),
                    _field(
                        aux_id,
                        "content",
                        dtype,
                        desc,
                        source={**_ref("fileSet", fs), "extract": {"fileProperty": "content"}},
                    ),
                ],
            }
        )
        toks = tokens(ctx.image.pattern)
        template = tuple(toks[shared[0][0] : shared[0][1]])
        aux = _Aux(
            name=role,
            template=template,
            template_text=_untokens(template),
            key_ref=_ref("field", f"{aux_id}/key"),
            image_regex=_regex(layout, ctx.image.pattern, shared[0]),
            ctx=ctx,
        )
        aux.fields.append(lambda rid: _field(rid, role, dtype, desc, source=_ref("field", f"{aux_id}/content")))
        auxes[role] = aux

    def value_field(
        self,
        ctx: _Ctx,
        rs_id: str,
        name: str,
        vf: ValueFrom | None,
        lab: LabelDef | None,
        enum_id: str | None,
        auxes: dict[str, _Aux],
    ) -> list[dict[str, Any]]:
        """The field for ``name`` when it comes from the image path or a constant; a table value goes
        into that table's auxiliary source (placed later); anything else becomes a note."""
        dtype, desc = _value_type(name, lab, vf)
        extra: dict[str, Any] = {}
        if lab is not None and lab.kind in ARRAY_KINDS:
            extra["isArray"] = True
        if vf is None:
            self.notes.append(f"`{name}`")
            return []
        if vf.value is not None:
            return [_field(rs_id, name, dtype, desc, value=vf.value, **extra)]
        if vf.part is not None:
            rx = _value_from_regex(ctx.layout, ctx.image.pattern, vf)
            if rx is None:
                header = ctx.layout.headers.get(vf.part)
                self.notes.append(f"`{name}` (DICOM header `{header.value}`)" if header is not None
                                  else f"`{name}` (path part `{vf.part}`)")
                return []
            src = {**_ref("fileSet", ctx.image_fs), "extract": {"fileProperty": "fullpath"}, "transform": {"regex": rx}}
            f = _field(rs_id, name, dtype, desc, source=src, **extra)
            if enum_id and not vf.map and "isArray" not in extra:
                f["references"] = _ref("field", f"{enum_id}/name")
            return [f]
        if vf.table is not None:
            self.table_value(ctx, name, vf, dtype, desc, extra, auxes)
            return []
        arr = ctx.layout.arrays.get(vf.array or "")
        self.notes.append(f"`{name}`" + (f" (NPY array `{arr.path}`, row of table `{arr.row_table}`)" if arr else ""))
        return []

    def table_value(
        self, ctx: _Ctx, name: str, vf: ValueFrom, dtype: str, desc: str, extra: dict[str, Any], auxes: dict[str, _Aux]
    ) -> None:
        cfg, layout = ctx.cfg, ctx.layout
        table = layout.tables.get(vf.table or "")
        if table is None:
            self.notes.append(f"`{name}`")
            return
        if vf.columns is not None:  # boxes/points: one record per joined row, described in a note
            cols = ", ".join(f"`{c}`" for c in vf.columns.values())
            self.notes.append(f"`{name}` (one record per row of `{table.path}` joined on `{table.key}`: {cols})")
            return
        rx = _template_capture(layout, ctx.image.pattern, table.key)
        if rx is None or table.format not in (FileFormat.CSV, FileFormat.TSV):
            self.notes.append(f"`{name}` (column `{vf.column}` of `{table.path}`, joined on `{table.key}`)")
            return
        aux_name = f"table-{vf.table}"
        aux = auxes.get(aux_name)
        if aux is None:
            fs = self.file_set(
                cfg,
                aux_name,
                _glob(layout, table.path),
                table.format,
                f"Table `{vf.table}` of config {cfg.name} ({table.format.value}).",
            )
            aux = _Aux(
                name=aux_name,
                template=tuple(tokens(table.key)),
                template_text=table.key,
                key_ref={**_ref("fileSet", fs), "extract": {"column": table.column}},
                image_regex=rx,
                ctx=ctx,
            )
            auxes[aux_name] = aux
        source = {**aux.key_ref, "extract": {"column": vf.column}}
        aux.fields.append(lambda rid: _field(rid, name, dtype, desc, source=source, **extra))


@dataclass
class _Ctx:
    cfg: Config
    layout: Layout
    image: FileSpec
    image_fs: str


@dataclass
class _Aux:
    """A source joined to the image: another file role, or a table."""

    name: str
    template: tuple[tuple[str, str], ...]  # what the key means, in image-path tokens
    template_text: str
    key_ref: dict[str, Any]  # the key on the source's side (a field, or a table column)
    image_regex: str  # captures the same key from the image path
    ctx: _Ctx
    fields: list[Callable[[str], dict[str, Any]]] = dc_field(default_factory=list)

    def join_fields(self, rs_id: str) -> list[dict[str, Any]]:
        return [
            _field(
                rs_id,
                f"_key_{self.name}",
                "sc:Text",
                f"Join key with `{self.name}` (not a feature).",
                source={
                    **_ref("fileSet", self.ctx.image_fs),
                    "extract": {"fileProperty": "fullpath"},
                    "transform": {"regex": self.image_regex},
                },
                references=self.key_ref,
            )
        ]

    def make_fields(self, rs_id: str) -> list[dict[str, Any]]:
        return [make(rs_id) for make in self.fields]


def _untokens(toks: tuple[tuple[str, str], ...]) -> str:
    return "".join("{" + v + "}" if k == "part" else v for k, v in toks)


def _field(rs_id: str, name: str, dtype: str, description: str, **kw: Any) -> dict[str, Any]:
    f: dict[str, Any] = {
        "@type": "cr:Field",
        "@id": f"{rs_id}/{name}",
        "name": name,
        "description": description,
        "dataType": dtype,
    }
    for k, v in kw.items():
        if v is not None:
            f[k] = v
    return f


def _value_type(name: str, lab: LabelDef | None, vf: ValueFrom | None) -> tuple[str, str]:
    if lab is None:
        what = {
            "patient_id": "Patient identifier.",
            "scan_id": "Scan identifier.",
            "split": "Official split of the example.",
        }.get(name, f"Metadata field `{name}`.")
        return "sc:Text", what
    desc = _text(lab.description) or f"Label `{lab.name}` ({lab.kind.value}, per {lab.granularity.value})."
    if lab.kind in (LabelKind.MASK,):
        return "sc:ImageObject", desc
    if lab.kind is LabelKind.NUMBER:
        return "sc:Float", desc
    if lab.classes:
        return "sc:Text", desc + " Class names: " + ", ".join(c.name for c in lab.classes) + "."
    return "sc:Text", desc


def _license(card: Card, facts: CardFacts) -> str:
    """The license URL, else its name or id (Croissant requires a license)."""
    return facts.license_url or card.license.name or card.license.id


def _cite_as(card: Card) -> str | None:
    c = card.citation
    if c is None:
        return None
    if c.bibtex:
        return c.bibtex.strip()
    if c.text:
        return c.text.strip()
    return card_facts(card).doi_url


def croissant_for(card: Card) -> dict[str, Any]:
    """Croissant 1.1 JSON-LD (as a dict) describing ``card``."""
    facts = card_facts(card)
    doc = _Doc(card)
    doc.downloads()
    for cfg in card.configs:
        doc.config(cfg)
    desc = card.summary.strip() + "\n\n" + card.description.strip()
    meta: dict[str, Any] = {
        "@context": copy.deepcopy(CONTEXT),  # a fresh copy: consumers (mlcroissant) mutate it
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": card.name,
        "description": _text(desc, 20_000),
        "url": card.homepage or card.access.url or f"https://huggingface.co/datasets/{card.ref}",
        "license": _license(card, facts),
        "keywords": [*card.tags, *(m.value for m in card.modality), *card.anatomy],
        "isAccessibleForFree": facts.is_free,
        "dateModified": card.last_reviewed.isoformat(),
        "identifier": card.ref,
    }
    if card.aliases:
        meta["alternateName"] = list(card.aliases)
    cite = _cite_as(card)
    if cite:
        meta["citeAs"] = cite
    if facts.doi_url:
        meta["sameAs"] = facts.doi_url
    if card.provenance and card.provenance.institutions:
        meta["creator"] = [{"@type": "sc:Organization", "name": n} for n in card.provenance.institutions]
    if card.provenance and card.provenance.countries:
        meta["spatialCoverage"] = list(card.provenance.countries)
    if card.provenance and card.provenance.collection_period:
        meta["temporalCoverage"] = card.provenance.collection_period
    if doc.distribution:
        meta["distribution"] = doc.distribution
    if doc.record_sets:
        meta["recordSet"] = doc.record_sets
    return meta


def croissant_json(card: Card) -> str:
    return json.dumps(croissant_for(card), indent=2, ensure_ascii=False) + "\n"


def validate(jsonld: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(errors, warnings) from mlcroissant, offline. Needs the `croissant` extra."""
    from covidct.extras import require

    require("mlcroissant", "croissant")
    import mlcroissant as mlc

    try:
        with _absl_quiet():
            ds = mlc.Dataset(jsonld=copy.deepcopy(jsonld))  # mlcroissant edits the document it reads
    except mlc.ValidationError as exc:
        return [str(exc)], []
    issues = ds.metadata.ctx.issues
    return sorted(issues.errors), sorted(issues.warnings)


@contextlib.contextmanager
def _absl_quiet() -> Iterator[None]:
    """mlcroissant both logs its warnings (through absl's logger) and returns them; we print the ones
    it returns, so its log below ERROR is muted for the call (else every warning prints twice)."""
    logger = logging.getLogger("absl")  # absl.logging's logger is this stdlib logger
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _with_urls(rs_id: str, items: list[Any], rows: list[dict[str, Any]],
               kinds: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """Add a ``url`` field (the class's ``sameAs``): the URI of the concept the class means exactly.

    Only an exact code of a class that asserts its concept present counts: a negative class coded
    "COVID-19 absent" is not the same as COVID-19. Classes without one get an empty URL.
    """
    from covidct.card.codes import concept_uri
    from covidct.card.vocab import Assertion, Match

    urls = []
    for item in items:
        exact = [c for c in item.codes if c.match is Match.EXACT]
        ok = item.assertion not in (Assertion.ABSENT, Assertion.UNCERTAIN, Assertion.BACKGROUND)
        urls.append(concept_uri(exact[0]) if exact and ok else "")
    if not any(urls):
        return kinds
    for row, url in zip(rows, urls, strict=True):
        row[f"{rs_id}/url"] = url
    return (*kinds, ("url", "sc:URL"))


def _path_source(ctx: _Ctx) -> dict[str, Any]:
    """The source of a `path` field: the image file's path, matched whole by the image pattern's regex."""
    return {
        **_ref("fileSet", ctx.image_fs),
        "extract": {"fileProperty": "fullpath"},
        "transform": {"regex": _regex(ctx.layout, ctx.image.pattern, (0, len(tokens(ctx.image.pattern))))},
    }


def _joins(rs_id: str, auxes: dict[str, _Aux]) -> tuple[list[dict[str, Any]], list[_Aux]]:
    """The auxiliary sources' fields and joins in the config's record set, and the sources set aside.

    Croissant wants a declared join between every two sources of a record set. Auxiliary sources keyed by
    the same template join each other correctly; any other goes to a record set of its own, joined with
    the image only.
    """
    main: list[_Aux] = []
    side: list[_Aux] = []
    for aux in auxes.values():
        (main if all(a.template == aux.template for a in main) else side).append(aux)
    fields: list[dict[str, Any]] = []
    for aux in main:
        fields += aux.join_fields(rs_id) + aux.make_fields(rs_id)
    for i, a in enumerate(main):
        for b in main[i + 1 :]:
            fields.append(
                _field(
                    rs_id,
                    f"_key_{a.name}_{b.name}",
                    "sc:Text",
                    f"Join of `{a.name}` with `{b.name}` (not a feature).",
                    source=a.key_ref,
                    references=b.key_ref,
                )
            )
    return fields, side
