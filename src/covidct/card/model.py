"""The card model: what a dataset card may say.

One Pydantic model in the middle of the project. Every downstream product (validator, catalog,
site, Hugging Face features, Hub folders, Croissant) reads a :class:`Card`, never the raw YAML.

Every field carries a description; the JSON Schema, the card reference page of the site and the
``covidct new`` scaffold reuse them, so a field is documented in exactly one place.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from covidct.card.vocab import (
    AccessKind,
    ArchiveFormat,
    Assertion,
    CheckResult,
    CodeSystem,
    CountLevel,
    DerivedMatch,
    Dimensionality,
    FileFormat,
    Granularity,
    HeaderKeyword,
    Intensity,
    LabelKind,
    LabelSource,
    Match,
    Modality,
    Redistribution,
    Relation,
    SortKey,
    Task,
    UnavailableReason,
    Unit,
)
from covidct.version import ORG  # (its home is light to import: `covidct show` needs no model)

SLUG_RE = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
SPLIT_RE = r"^[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*$"  # Hugging Face split names: \w+ without dashes
SCAN_UNITS = (Unit.SCAN, Unit.SERIES, Unit.STUDY, Unit.PATIENT)  # examples that span the slices of a scan

# Every number (and date) a card may give has its type here, bounded to what a real dataset can
# have: a value outside is refused with a located error, never passed on to overflow a consumer
# (pandas Int64, Arrow int32, an allocation). tests/card/test_bounds.py checks that no number of
# the model is left unbounded.
MAX_COUNT = 10**10  # patients, scans, slices, boxes... of one dataset
MAX_FILE_BYTES = 10**15  # one download: 1 PB
MAX_PIXELS = 100_000  # one image dimension
MAX_MM = 1_000.0  # pixel spacing, slice thickness
MAX_LABEL_INT = 2**31 - 1  # label values given as numbers (int32, as Arrow stores them)

CountInt = Annotated[int, Field(ge=0, le=MAX_COUNT)]
ByteSize = Annotated[int, Field(ge=0, le=MAX_FILE_BYTES)]
Pixels = Annotated[int, Field(ge=1, le=MAX_PIXELS)]
Millimetres = Annotated[float, Field(ge=0, le=MAX_MM, allow_inf_nan=False)]
LabelInt = Annotated[int, Field(ge=-MAX_LABEL_INT - 1, le=MAX_LABEL_INT)]
ClassValue = Annotated[int, Field(ge=0, le=1_000_000)]
MaskInt = Annotated[int, Field(ge=0, le=65535)]
BitDepth = Annotated[int, Field(ge=1, le=64)]
Channels = Annotated[int, Field(ge=1, le=4)]
SheetIndex = Annotated[int, Field(ge=0, le=1_000)]
Dims = Annotated[list[Pixels], Field(min_length=2, max_length=4)]  # [width, height(, depth(, time))]
CardDate = Annotated[dt.date, Field(ge=dt.date(1970, 1, 1), le=dt.date(2100, 12, 31))]

Slug = Annotated[str, Field(pattern=SLUG_RE, min_length=1, max_length=64)]
SplitName = Annotated[str, Field(pattern=SPLIT_RE, min_length=1, max_length=64)]
ShortText = Annotated[str, Field(min_length=1, max_length=300)]
LongText = Annotated[str, Field(min_length=1, max_length=20_000)]
Url = Annotated[str, Field(min_length=8, max_length=2_000, description="An http(s) URL.")]
SourceRefs = Annotated[
    list[Slug],
    Field(description="Ids of entries in the card's `sources` that support this fact."),
]


class Strict(BaseModel):
    """Base of every card object: unknown fields are errors, values are not coerced silently."""

    model_config = ConfigDict(extra="forbid", frozen=False, use_enum_values=False, str_strip_whitespace=False)


# --------------------------------------------------------------------------------------------- sources


class Source(Strict):
    id: Slug = Field(description="Short id that facts use to cite this source, e.g. `paper` or `github`.")
    title: ShortText = Field(description="Title of the page or publication.")
    url: Url = Field(description="Where the source can be read.")
    accessed: CardDate | None = Field(None, description="When the source was last checked (YYYY-MM-DD).")


class Caveat(Strict):
    text: LongText = Field(description="A known erratum, bias, leakage risk or disagreement between sources.")
    source: SourceRefs = Field(default_factory=list)


# --------------------------------------------------------------------------------------------- license


class License(Strict):
    id: str = Field(
        description="SPDX license identifier or expression as spelled on the SPDX License List (e.g. `CC-BY-4.0`, "
        "`MIT OR Apache-2.0`), `LicenseRef-<name>` or `other` for custom terms (then give their name and url or "
        "summary), or `unknown`.",
        pattern=r"^(other|unknown|[A-Za-z0-9(][A-Za-z0-9.+() -]*)$",
        max_length=200,
    )
    name: ShortText | None = Field(None, description="Human name of the license or terms.")
    url: Url | None = Field(None, description="Where the license or terms are published.")
    summary: LongText | None = Field(None, description="What the terms allow and forbid, in a few sentences.")
    redistribution: Redistribution = Field(
        description="Whether copies may be redistributed (e.g. uploaded to the Hugging Face Hub)."
    )
    requires_agreement: bool = Field(
        False, description="Users must accept terms before download: the Hub copy is gated."
    )
    source: SourceRefs = Field(default_factory=list)

    @model_validator(mode="after")
    def _other_needs_terms(self) -> License:
        custom = self.id == "other" or self.id.startswith("LicenseRef-")
        if custom and not (self.name and (self.url or self.summary)):
            raise ValueError(f"license `{self.id}` needs a `name` and a `url` or `summary` of the terms")
        return self


class Unavailability(Strict):
    """Why, and since when, no official source distributes the data of an `unavailable` card."""

    reason: UnavailableReason = Field(
        description="Why the files cannot be had: `withdrawn` by the distributor, `host-gone`, `competition-closed` "
        "(given to entrants only), or `unknown`."
    )
    since: CardDate | None = Field(
        None, description="The earliest date the files are known to be gone (the date of the distributor's notice, "
        "or of the first failed attempt a source reports); absent when unknown."
    )
    checked: CardDate | None = Field(None, description="When a person last confirmed that the files cannot be had.")
    notice: ShortText | None = Field(
        None, description="The distributor's own words, quoted (e.g. Kaggle's `the data for this competition is no "
        "longer available for download`)."
    )
    source: SourceRefs = Field(default_factory=list, description="Where the notice or the failed attempt is recorded.")

    def phrase(self) -> str:
        """``no longer distributed since 2019-05-01: the distributor took the files down``: the one wording
        of the fact, shared by the loaders' errors and every document (render/facts)."""
        since = f" since {self.since.isoformat()}" if self.since else ""
        why = UnavailableReason.describe()[self.reason.value].rstrip(".")
        return f"no longer distributed{since}: {why[:1].lower()}{why[1:]}"


class Access(Strict):
    kind: AccessKind = Field(description="How the data can be obtained.")
    instructions: LongText | None = Field(
        None, description="Steps to obtain the files by hand (login, request form, competition page)."
    )
    url: Url | None = Field(None, description="Page where access is requested or files are downloaded.")
    unavailable: Unavailability | None = Field(
        None, description="For kind `unavailable` (and only for it): why and since when the files cannot be had."
    )
    source: SourceRefs = Field(default_factory=list)


class Download(Strict):
    name: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^/\\\x00]+$")] = Field(
        description="File name of the download, e.g. `ct_lesion_seg.zip`. Layouts refer to it."
    )
    url: Url | None = Field(None, description="Direct download URL, if one exists.")
    md5: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")] | None = Field(None, description="Published MD5.")
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = Field(None, description="SHA-256.")
    size_bytes: ByteSize | None = Field(None, description="Size in bytes.")
    archive: ArchiveFormat = Field(ArchiveFormat.NONE, description="Archive format to extract, if any.")
    description: ShortText | None = Field(None, description="What the file holds.")
    source: SourceRefs = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _not_a_folder_reference(cls, v: str) -> str:
        if v in (".", ".."):
            raise ValueError("a download name cannot be `.` or `..`")
        return v


# --------------------------------------------------------------------------------------------- labels


class Code(Strict):
    """A concept from a standard terminology that a class (or mask value) stands for."""

    system: CodeSystem = Field(description="The terminology: `SNOMED CT`, `RadLex` or `UMLS`.")
    code: Annotated[str, Field(min_length=1, max_length=32)] = Field(
        description="The concept id as the terminology writes it: an SCTID (`840539006`), a RadLex `RID1301`, "
        "a UMLS CUI `C5203670`. Quote SNOMED CT ids in YAML."
    )
    display: ShortText = Field(description="The concept's name in the terminology, e.g. `COVID-19`.")
    match: Match = Field(
        Match.EXACT, description="How the class relates to the concept: `exact`, `narrower` (the class is a kind of "
        "the concept, e.g. COVID-19 pneumonia of COVID-19), `broader` or `related`."
    )
    source: SourceRefs = Field(default_factory=list, description="Where the code was checked (a terminology "
                               "browser page, a published value set).")


class Coded(Strict):
    """What a class means in standard terms (the fields every class and mask value may carry)."""

    codes: list[Code] = Field(default_factory=list, description="Concepts the class stands for, each sourced.")
    assertion: Assertion | None = Field(
        None, description="What the class asserts: a `diagnosis`, an imaging `finding`, `normal`, the concept "
        "`absent` or `uncertain`, `anatomy`, a mask `background`, or `other`."
    )
    reference_standard: list[LabelSource] = Field(
        default_factory=list, description="How this class was established when it differs from the label's `source` "
        "(e.g. `[rt-pcr]` for the COVID-19 class only); empty means the label's `source`."
    )
    population: ShortText | None = Field(None, description="Who the class's examples come from, where it matters "
                                         "(e.g. `paediatric, 1-5 years`).")
    unmapped: ShortText | None = Field(None, description="Why the class has no code (e.g. a 1-5 rating with no "
                                       "standard concept); give this or `codes`.")
    source: SourceRefs = Field(default_factory=list, description="Sources of the assertion, reference standard, "
                               "population or unmapped reason.")

    @model_validator(mode="after")
    def _coded_or_unmapped(self) -> Coded:
        if self.codes and self.unmapped:
            raise ValueError("give `codes` or `unmapped`, not both")
        if self.codes and self.assertion is None:
            raise ValueError("a coded class needs an `assertion` (diagnosis, finding, normal, absent, uncertain, "
                             "anatomy, background or other)")
        return self


class _ClassFields(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)] = Field(description="Class name.")
    value: ClassValue = Field(description="Integer value of the class.")
    description: ShortText | None = Field(None, description="What the class means.")


class ClassDef(Coded, _ClassFields):
    """One class of a label: its name and value, and what it means in standard terms."""


class _MaskFields(Strict):
    value: MaskInt = Field(description="Pixel/voxel value in the mask.")
    name: Annotated[str, Field(min_length=1, max_length=100)] = Field(description="What the value marks.")
    description: ShortText | None = None
    color: Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")] | None = Field(
        None, description="Display colour as #rrggbb."
    )


class MaskValue(Coded, _MaskFields):
    """One value of a mask: what it marks, and what that means in standard terms."""


class LabelDef(Strict):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)] = Field(
        description="Feature name of the label in the loaded dataset, e.g. `label` or `mask`."
    )
    kind: LabelKind = Field(description="What the label is (one class, a mask, boxes, per-slice flags...).")
    description: LongText | None = None
    classes: list[ClassDef] = Field(
        default_factory=list, description="Class names and integer values (class and multi-label kinds)."
    )
    mask_values: list[MaskValue] = Field(default_factory=list, description="Mask values (mask kind).")
    granularity: Granularity = Field(description="What one label value describes.")
    source: list[LabelSource] = Field(description="Who or what produced the labels.")
    available_for: ShortText | None = Field(
        None, description="If only part of the data is labelled, which part (e.g. `54 COVID-19 and 25 CAP cases`)."
    )


class Count(Strict):
    level: CountLevel = Field(description="What is counted.")
    total: CountInt | None = Field(None, description="Total count at this level.")
    by_class: dict[str, CountInt] = Field(
        default_factory=dict, description="Count per class name (names from the config's labels)."
    )
    split: Annotated[str, Field(max_length=64)] | None = Field(
        None, description="The split or fold these numbers describe; absent for the whole config."
    )
    release: ShortText | None = Field(
        None, description="The release or version these numbers describe, when it is not the one the layout "
        "loads (e.g. `v1, March 2020`); the loader compares only counts without a release with the files.",
    )
    note: ShortText | None = None
    source: SourceRefs = Field(default_factory=list)

    @model_validator(mode="after")
    def _something(self) -> Count:
        if self.total is None and not self.by_class:
            raise ValueError("a count needs `total` or `by_class`")
        return self


class Range(Strict):
    """A range of lengths in millimetres (pixel spacing, slice thickness)."""

    min: Millimetres | None = None
    median: Millimetres | None = None
    max: Millimetres | None = None


class Size(Strict):
    """Image size in pixels as [width, height] (or [x, y, z] for volumes)."""

    min: Dims | None = None
    median: Dims | None = None
    max: Dims | None = None


class ImageProperties(Strict):
    formats: list[FileFormat] = Field(description="File formats of the images as distributed.")
    bit_depth: list[BitDepth] = Field(
        default_factory=list, description="Bits per sample (e.g. [8] or [16])."
    )
    channels: Channels | None = Field(None, description="Samples per pixel.")
    size: Size | None = Field(None, description="Pixel size: [width, height] or [x, y, z].")
    pixel_spacing_mm: Range | None = Field(None, description="In-plane pixel spacing in mm.")
    slice_thickness_mm: Range | None = Field(None, description="Slice thickness in mm.")
    intensity: Intensity = Field(description="What the pixel values mean.")
    note: LongText | None = None
    source: SourceRefs = Field(default_factory=list)


# --------------------------------------------------------------------------------------------- layout


HeaderName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=64)]
HeaderValue = Annotated[str, Field(min_length=1, max_length=64)]  # a DICOM CS/LO/UI value is at most 64 characters
HeaderValues = Annotated[list[HeaderValue], Field(min_length=1, max_length=50)]


class PartSpec(Strict):
    regex: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        "[^/]+", description="Regular expression one value of the part matches, matched by RE2 in linear time: "
        "no backreferences, lookaround, atomic groups, anchors, inline flags or \\d/\\w/\\s (write [0-9])."
    )
    type: Annotated[str, Field(pattern=r"^(str|int)$")] = Field(
        "str", description="`int` parts compare and sort numerically (`0010` == 10)."
    )
    description: ShortText | None = None


class FileSpec(Strict):
    pattern: Annotated[str, Field(min_length=1, max_length=500)] = Field(
        description="Path relative to the data root with named parts, e.g. `image/{scan}/{frame}.jpg`. "
        "`*` matches within one folder, `**` across folders; `{{` and `}}` are literal braces."
    )
    format: FileFormat = Field(description="File format (decides the reader).")
    required: bool = Field(True, description="Whether every example must have this file.")
    dataset: Annotated[str, Field(pattern=r"^/?[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*$", max_length=200)] | None = Field(
        None, description="HDF5 images: the dataset whose rows (axis 0) are the examples, e.g. `ct_slices` of shape "
        "(6691, 64, 64); each matched file gives one example per row, and labels can come from other datasets of the "
        "same file (`{dataset: slice_class}`).",
    )


class RleSpec(Strict):
    """A mask spelled as run-length text in a table column: how its numbers are read."""

    shape: Annotated[list[Annotated[int, Field(ge=1, le=65536)]], Field(min_length=2, max_length=2)] = Field(
        description="[rows, columns] of the mask, e.g. `[1024, 1024]`.")
    order: Annotated[str, Field(pattern=r"^(column-major|row-major)$")] = Field(
        description="How the mask is flattened: `column-major` (down each column first, Fortran order; Kaggle's "
        "SIIM-ACR and most Kaggle masks) or `row-major` (along each row first, C order).")
    offsets: Annotated[str, Field(pattern=r"^(relative|absolute)$")] = Field(
        description="`absolute`: the first number of a pair is where the run starts; `relative`: how many pixels "
        "lie between the end of the previous run (or the first pixel) and this run (SIIM-ACR's train-rle.csv).")
    start: Annotated[int, Field(ge=0, le=1)] = Field(
        1, description="With `absolute`: the number of the first pixel (1 in most Kaggle competitions, or 0).")
    empty: Annotated[str, Field(min_length=1, max_length=20)] | None = Field(
        None, description="The cell text of a row without runs, e.g. `'-1'` (compared without surrounding spaces); "
        "a blank cell is empty too.")
    value: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        None, description="The mask value (by name) the runs mark; needed only when the label has more than one "
        "value besides 0.")


class ValueFrom(Strict):
    """Where one value of an example comes from: exactly one of part, template, table, array or value."""

    part: str | None = Field(None, description="A named part of the file path.")
    template: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        None, description="A value combined from several parts (or header values), e.g. `{patient}/{study}` for an "
        "id that is unique only with its patient (CheXpert's `study1`, COVID-CTset's `SR_2`).",
    )
    table: str | None = Field(None, description="A table of the layout, joined to the example.")
    column: str | None = Field(None, description="The table column (with `table`).")
    array: str | None = Field(None, description="An NPY array of the layout (per-slice labels).")
    dataset: Annotated[str, Field(pattern=r"^/?[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*$", max_length=200)] | None = Field(
        None, description="HDF5 images (`files.image.dataset`): a dataset of the same file, its row for the example "
        "(a one-value row such as shape (N, 1) gives that value).",
    )
    value: str | LabelInt | None = Field(None, description="A constant.")
    map: dict[str, str | LabelInt | None] | None = Field(
        None, description="Raw value → class name (or split name); unmapped raw values are errors."
    )
    separator: Annotated[str, Field(min_length=1, max_length=5)] | None = Field(
        None, description="For multi-label text such as `Effusion|Mass`."
    )
    default: str | LabelInt | None = Field(
        None, description="With `map`: the value for raw values the map does not list (instead of an error)."
    )
    columns: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], str] | None = Field(
        None,
        description="With `table` (rows: many), for boxes and points: record field → table column, one record "
        "per joined row, e.g. `{x: coordX, y: coordY, z: coordZ, diameter_mm: diameter_mm}`. Fields are numbers, "
        "except `label`: the class, through `map`/`default` and the label's classes (text without classes); a row "
        "whose class maps to null, or whose cells are all empty, is no record.",
    )

    label_columns: Annotated[dict[str, dict[str, str | LabelInt | None]], Field(max_length=200)] | None = Field(
        None,
        description="With `table`, for a multi-label label from one column per finding (CheXpert's 14 observations "
        "with 1, 0, -1 or blank): table column → map of its raw cells to a class of the label (null: not set). The "
        "example's classes are those its cells map to, in column order; a blank cell sets nothing; a raw value its "
        "column's map lacks is an error. E.g. `{Atelectasis: {'1.0': atelectasis, '-1.0': atelectasis_uncertain, "
        "'0.0': null}}`.",
    )

    rle: RleSpec | None = Field(
        None,
        description="With `table` and `column`, for a mask label: the column holds run-length text (pairs of offset "
        "and length) decoded into the mask; the rows of one example are one mask (their union), e.g. SIIM-ACR's "
        "`{table: rle, column: EncodedPixels, rle: {shape: [1024, 1024], order: column-major, offsets: relative, "
        "empty: '-1'}}`.",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> ValueFrom:
        given = [k for k in ("part", "template", "table", "array", "dataset", "value") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of `part`, `template`, `table`, `array`, `dataset` or `value`")
        if self.table is not None and sum(x is not None for x in (self.column, self.columns, self.label_columns)) != 1:
            raise ValueError("`table` needs a `column` (one value), `columns` (records of boxes or points) or "
                             "`label_columns` (one column per class of a multi-label label)")
        if (self.columns is not None or self.label_columns is not None) and self.table is None:
            raise ValueError("`columns` and `label_columns` go with `table`")
        if self.default is not None and self.map is None:
            raise ValueError("`default` goes with `map`")
        if self.rle is not None and (self.table is None or self.column is None):
            raise ValueError("`rle` reads run-length text from one table column: give `table` and `column`")
        return self


class TableSpec(Strict):
    path: Annotated[str, Field(min_length=1, max_length=500)] = Field(
        description="Path of the table relative to the data root. Named parts are allowed "
        "(`CSV/fold{fold}_{split}.csv`): each row then also carries those values."
    )
    format: FileFormat = Field(description="csv, tsv, xls, xlsx, or txt (one value per line).")
    sheet: str | SheetIndex | None = Field(None, description="Sheet name or index for xls/xlsx.")
    column: str = Field(description="Column whose value identifies the example (`value` for txt files).")
    key: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        description="Template over the example's parts that must equal `column`, e.g. `{patient}`. "
        "`{_name}` is the image file name, `{_stem}` the name without extension."
    )
    rows: Annotated[str, Field(pattern=r"^(one|many)$")] = Field(
        "one", description="`many` when several rows describe one example (e.g. one row per box)."
    )


class ArraySpec(Strict):
    path: Annotated[str, Field(min_length=1, max_length=500)] = Field(description="Path of the .npy file.")
    row_table: str = Field(
        description="Table whose 0-based row number (of the row joined to the example) indexes axis 0."
    )
    description: ShortText | None = None


class GroupSpec(Strict):
    by: list[str] = Field(description="Parts that identify one scan; files sharing them form one example.")
    order_by: SortKey | None = Field(None, description="DICOM attribute that orders the slices.")
    order_part: str | None = Field(None, description="Or: a named part whose value orders the slices.")
    descending: bool = Field(False, description="Order from the largest value (e.g. head-first SliceLocation).")

    @model_validator(mode="after")
    def _one_order(self) -> GroupSpec:
        if (self.order_by is None) == (self.order_part is None):
            raise ValueError("give exactly one of `order_by` or `order_part`")
        return self


class SplitSpec(Strict):
    by: ValueFrom | None = Field(None, description="Split name per example, from a part or a table.")
    lists: dict[SplitName, list[str]] | None = Field(
        None, description="Split name → text files listing the members (matched against `key`)."
    )
    key: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        "{_name}", description="Template the lines of `lists` files (or the cells of `columns`) are compared with."
    )
    table: str | None = Field(None, description="With `columns`: the table whose columns list the members.")
    columns: dict[SplitName, str] | None = Field(
        None, max_length=50,
        description="One column per fold: split name → column of `table` whose cells (one member a row, blank "
        "cells skipped) are matched against `key`, e.g. LNDb's trainFolds.csv `{fold0: Fold0, ..., fold3: Fold3}`. "
        "The table's own `column` must be one of these columns.",
    )

    @model_validator(mode="after")
    def _one_way(self) -> SplitSpec:
        if sum(x is not None for x in (self.by, self.lists, self.columns)) != 1:
            raise ValueError("give exactly one of `by`, `lists` or `columns`")
        if (self.table is None) != (self.columns is None):
            raise ValueError("`columns` and `table` go together")
        return self


class ConsensusSpec(Strict):
    min_readers: Annotated[int, Field(ge=1, le=16)] = Field(
        description="A voxel is marked when at least this many readers marked it (e.g. 2 of LIDC's four).")


class AnnotationSpec(Strict):
    """Annotation files that give one label of an image series, matched to it by UIDs, not by names."""

    pattern: Annotated[str, Field(min_length=1, max_length=500)] = Field(
        description="Glob of the annotation files relative to the layout root, e.g. `**/*.xml`. Each is matched to "
        "the scan whose SeriesInstanceUID it refers to (the layout's `headers` must name SeriesInstanceUID and "
        "`group` the slices), and its marks to slices by SOPInstanceUID (else by position).")
    format: Annotated[str, Field(pattern=r"^(rtstruct|seg|lidc-xml|voc-xml)$")] = Field(
        description="`rtstruct` (DICOM RT Structure Set), `seg` (DICOM Segmentation), `lidc-xml` (LIDC-IDRI "
        "reading XML) or `voc-xml` (PASCAL VOC boxes, one file per slice named `<SOPInstanceUID>.xml`, matched to "
        "the slice by that name and through it to its series; for a `boxes` label).")
    classes: dict[Annotated[str, Field(min_length=1, max_length=64)], str] = Field(
        default_factory=dict, max_length=200,
        description="Annotation name (RTSTRUCT ROIName, SEG SegmentLabel, VOC object name; LIDC: `nodule`, "
        "`small-nodule`, `non-nodule`) → the label's mask value name (mask labels) or class name. Names not listed "
        "are left out; empty keeps every mark (points and boxes labels only).")
    readers: Annotated[str, Field(pattern=r"^(each|consensus)$")] = Field(
        "each", description="`each`: one mask (or one record per mark) per reader, never merged; `consensus`: one "
        "mask of the voxels at least `consensus.min_readers` readers marked.")
    consensus: ConsensusSpec | None = Field(None, description="With `readers: consensus`: how many readers agree.")
    labels: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)],
                 Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=dict, max_length=20,
        description="Class labels of the config that are a field of this label's records: class label → record "
        "field, e.g. LIDC's `{malignancy: malignancy}` (a field is one of the nine LIDC ratings). The class label "
        "becomes a list aligned with the records, each rating as the class whose `value` it is, null where a record "
        "has no rating (non-nodules, nodules < 3 mm).")

    @model_validator(mode="after")
    def _consensus(self) -> AnnotationSpec:
        if (self.readers == "consensus") != (self.consensus is not None):
            raise ValueError("`readers: consensus` goes with `consensus: {min_readers: N}`, and only with it")
        return self


class Layout(Strict):
    root: Annotated[str, Field(max_length=300)] = Field(
        "", description="Folder under the data directory (or archive) where the patterns start."
    )
    archives: list[str] = Field(
        default_factory=list, description="Names of `downloads` that hold these files (extracted in order)."
    )
    parts: dict[str, PartSpec] = Field(default_factory=dict, max_length=50,
                                       description="Named parts used in patterns.")
    files: dict[str, FileSpec] = Field(
        max_length=50, description="File roles: `image` is the input; other roles name mask labels of the config."
    )
    exclude: list[str] = Field(
        default_factory=list, max_length=200,
        description="Glob patterns of files to ignore (e.g. `**/.DS_Store`); at most 200, each compiled once."
    )
    headers: dict[HeaderName, HeaderKeyword] = Field(
        default_factory=dict, max_length=20,
        description="DICOM images: values read from each image file's header, named like parts and usable wherever "
        "a part is (group `by`, `patient`, `scan`, labels, fields, splits, table keys), e.g. `{patient: PatientID, "
        "series: SeriesInstanceUID}`. Folder names of TCIA downloads vary with the download tool; header values "
        "do not, so `files: {image: {pattern: '**/*.dcm'}}` with `group: {by: [series]}` loads either style.",
    )
    where: dict[HeaderKeyword, HeaderValues] = Field(
        default_factory=dict, max_length=20,
        description="DICOM images: keep only the files whose header attribute has one of these values (for a "
        "multi-valued attribute such as ImageType, any of its values), e.g. `{Modality: [CT]}`; the other files "
        "(RTSTRUCT, SEG, PET...) are left out and counted, not reported as unmatched.",
    )
    where_not: dict[HeaderKeyword, HeaderValues] = Field(
        default_factory=dict, max_length=20,
        description="DICOM images: leave out the files whose header attribute has one of these values, e.g. "
        "`{ImageType: [LOCALIZER]}` for scout images.",
    )
    group: GroupSpec | None = Field(None, description="How slices form one scan example.")
    tables: dict[str, TableSpec] = Field(default_factory=dict, max_length=50, description="Label and metadata tables.")
    arrays: dict[str, ArraySpec] = Field(default_factory=dict, max_length=50, description="NPY label arrays.")
    labels: dict[str, ValueFrom] = Field(
        default_factory=dict, description="Label name → where its value comes from (masks come from files)."
    )
    patient: ValueFrom | None = Field(None, description="Where the patient id comes from.")
    scan: ValueFrom | None = Field(None, description="Where the scan id comes from.")
    fields: dict[str, ValueFrom] = Field(
        default_factory=dict, description="Extra metadata columns (e.g. age, sex) → where they come from."
    )
    splits: SplitSpec | None = Field(None, description="Official splits; absent when there are none.")
    annotations: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)], AnnotationSpec] = Field(
        default_factory=dict, max_length=10,
        description="Label name → annotation files (RTSTRUCT, SEG, LIDC XML) that give it: a mask label becomes a "
        "mask per scan (per reader, or a declared consensus); a points label a list of marks with their reader.")


# --------------------------------------------------------------------------------------------- configs


class LayoutCheck(Strict):
    """What a config's layout was proven against: `covidct check` on a real listing of the dataset's files."""

    listing: Annotated[str, Field(pattern=r"^tests/listings/[a-z0-9][a-z0-9-]*/[A-Za-z0-9._-]+\.txt(\.gz)?$")] = Field(
        description="The listing in this repository (`tests/listings/<id>/<config>.txt.gz`), one relative path a line."
    )
    source: LongText = Field(description="Where the names come from: a repository at a commit and path, a published "
                             "file list, an archive's central directory, a challenge's file list.")
    part: ShortText | None = Field(None, description="Which part of the dataset the listing covers, when not all.")
    date: CardDate = Field(description="When the check was run.")
    result: CheckResult = Field(description="`match`: every data file matched and the counts agree.")
    note: LongText | None = Field(None, description="What differs, or what the check could not see.")


class FingerprintMatch(Strict):
    """Duplicates measured between this config's manifest and another fingerprinted card's (`covidct overlaps`)."""

    card: Slug = Field(description="Id of the other card.")
    config: Slug | None = Field(None, description="The other card's config, when it has several.")
    near: Annotated[int, Field(ge=0, le=256)] = Field(description="Near-duplicate threshold used (bits of 256).")
    images: CountInt = Field(description="Images of this config with a duplicate in the other.")
    files: CountInt = Field(0, description="Pairs of identical files.")
    pixels: CountInt = Field(0, description="Pairs with the same decoded pixels.")
    near_pairs: CountInt = Field(0, description="Pairs of near duplicates.")
    patients: CountInt = Field(0, description="Patient ids found in both.")


class Fingerprint(Strict):
    """A published fingerprint manifest of this config (`covidct fingerprint`): hashes only, never pixels."""

    url: Url = Field(description="Where the Parquet manifest can be downloaded.")
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] = Field(description="SHA-256 of the manifest file.")
    files: CountInt = Field(description="Image files fingerprinted.")
    date: CardDate = Field(description="When the manifest was made.")
    matches: list[FingerprintMatch] = Field(
        default_factory=list, description="Duplicates measured against other fingerprinted cards.")


ColumnName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", min_length=1, max_length=64)]
ListPath = Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[^\x00\\]+$",
                                description="A path relative to the derived dataset's own folder.")]


class DerivedSource(Strict):
    """One source dataset of a derived config: the examples its split files name by their source tag."""

    tag: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\s]+$")] = Field(
        description="The value of the source column that names this source (COVIDx: `cohen`, `rsna`).")
    card: Slug | None = Field(None, description="The id of the source's card in the registry; absent while the "
                              "source has no card (its rows are then left out, with a warning that counts them).")
    config: Slug | None = Field(None, description="The source card's config whose examples the rows name (it needs "
                                "a layout); required with `card`.")
    match: DerivedMatch = Field(
        DerivedMatch.NAME, description="How a row's file names the source's example: by file `name`, or by `stem` "
        "when the derived dataset converted the files (RSNA `<id>.dcm` listed as `<id>.png`).")


class Derived(Strict):
    """A dataset built from others: published split files whose rows name the source datasets' examples, so
    covidct rebuilds it from the user's copies of the sources (each read with its own card's layout)."""

    split_files: dict[SplitName, ListPath] = Field(
        min_length=1, max_length=16, description="Split name → its published list (e.g. `test: "
        "test_COVIDx_CXR-3A.txt`), in the derived dataset's own folder.")
    columns: list[ColumnName] = Field(
        min_length=2, max_length=32, description="The lists' columns in order: header-less, whitespace-separated text.")
    file_column: ColumnName = Field(description="The column holding the source example's file name.")
    source_column: ColumnName = Field(description="The column holding the source tag.")
    patient_column: ColumnName | None = Field(None, description="The column holding the patient id, if any.")
    labels: dict[Slug, ColumnName] = Field(
        default_factory=dict, description="Label name → the column holding its class name.")
    sources: list[DerivedSource] = Field(min_length=1, max_length=64, description="The source datasets, by tag.")
    source: SourceRefs = Field(default_factory=list,
                               description="Where the split files and their format are published.")

    @model_validator(mode="after")
    def _columns_declared(self) -> Derived:
        for src in self.sources:
            if (src.card is None) != (src.config is None):
                raise ValueError(f"source {src.tag!r}: give both `card` and `config`, or neither")
        used = [self.file_column, self.source_column, *self.labels.values()]
        if self.patient_column:
            used.append(self.patient_column)
        missing = sorted(set(used) - set(self.columns))
        if missing:
            raise ValueError(f"column(s) {missing} are not in `columns` {self.columns}")
        return self


class Config(Strict):
    name: Slug = Field(description="Config name, e.g. `lesion-seg`; `default` when there is only one.")
    description: LongText | None = None
    tasks: list[Task] = Field(min_length=1, description="Hugging Face task categories.")
    dimensionality: Dimensionality = Field(description="2D images/slices or 3D volumes.")
    example: Unit = Field(description="What one example of the loaded dataset is.")
    labels: list[LabelDef] = Field(default_factory=list, description="The label fields of each example.")
    counts: list[Count] = Field(default_factory=list, description="Counts at every level, per class, per split.")
    image: ImageProperties = Field(description="Image properties.")
    layout: Layout | None = Field(None, description="The file layout; absent when it is not documented.")
    verified: LayoutCheck | None = Field(
        None, description="What the layout was checked against with `covidct check` (a real file listing)."
    )
    derived: Derived | None = Field(
        None, description="Instead of a layout, for a dataset built from others: its published split files and "
        "the source cards whose examples they name (`covidct.load_dataset(id, config, data_dirs={...})`).")
    fingerprint: Fingerprint | None = Field(
        None, description="A published manifest of the data's hashes (`covidct fingerprint`), to check any data "
        "against this dataset with `covidct overlaps --manifest`.")

    @property
    def layout_status(self) -> str:
        """`verified` (a real listing matched), `differs` (checked on a real listing, with differences),
        `unverified` (never run on real file names) or `no layout`."""
        if self.layout is None:
            return "no layout"
        if self.verified is None:
            return "unverified"
        return "verified" if self.verified.result == CheckResult.MATCH else "differs"

    @property
    def example_is_whole_scan(self) -> bool:
        """Whether one example is a whole scan assembled from a group of files (its slices stacked),
        rather than one example per matched file."""
        return self.layout is not None and self.layout.group is not None and self.example in SCAN_UNITS

    @property
    def class_names(self) -> set[str]:
        return {c.name for lab in self.labels for c in lab.classes}


# --------------------------------------------------------------------------------------------- provenance


class Citation(Strict):
    doi: Annotated[str, Field(pattern=r"^10\.\d{4,9}/\S+$")] | None = Field(None, description="DOI.")
    bibtex: LongText | None = Field(None, description="BibTeX entry as the authors ask to cite it.")
    text: LongText | None = Field(None, description="Plain-text reference.")


class Provenance(Strict):
    institutions: list[ShortText] = Field(default_factory=list)
    countries: list[ShortText] = Field(default_factory=list)
    collection_period: ShortText | None = Field(None, description="e.g. `2020-01 to 2020-04`.")
    scanners: list[ShortText] = Field(default_factory=list)
    deidentification: LongText | None = None
    source: SourceRefs = Field(default_factory=list)


class Lineage(Strict):
    relation: Relation = Field(description="How this dataset relates to the other one.")
    card: Slug = Field(description="Id of the other card.")
    note: LongText | None = Field(None, description="What is shared (patients, images) and through which source.")
    source: SourceRefs = Field(default_factory=list)


# --------------------------------------------------------------------------------------------- card


class Card(Strict):
    id: Slug = Field(description="Unique id, equal to the file name without `.yaml`; `covidct/<id>` names it.")
    name: ShortText = Field(description="Official name of the dataset.")
    aliases: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, description="Other names, including names in other languages."
    )
    summary: ShortText = Field(description="One line: what the dataset is.")
    description: LongText = Field(description="A few paragraphs (Markdown; raw HTML is not rendered).")
    modality: list[Modality] = Field(min_length=1, description="Imaging modalities.")
    anatomy: list[ShortText] = Field(min_length=1, description="Body regions, e.g. `chest`, `lung`.")
    tags: list[Slug] = Field(default_factory=list, description="Free keywords, e.g. `covid-19`, `nodule`.")
    homepage: Url | None = Field(None, description="Official page of the dataset.")
    license: License
    access: Access
    downloads: list[Download] = Field(default_factory=list)
    configs: list[Config] = Field(min_length=1, description="One or more configurations (subsets/tasks).")
    citation: Citation | None = None
    provenance: Provenance | None = None
    lineage: list[Lineage] = Field(default_factory=list)
    caveats: list[Caveat] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list, description="Public pages behind the card's facts.")
    last_reviewed: CardDate = Field(description="When a person last checked the card against its sources.")

    @field_validator("aliases")
    @classmethod
    def _unique_aliases(cls, v: list[str]) -> list[str]:
        if len({a.casefold() for a in v}) != len(v):
            raise ValueError("aliases repeat")
        return v

    def config(self, name: str | None = None) -> Config:
        """The config called ``name`` (the only one when ``name`` is None and there is one)."""
        if name is None:
            if len(self.configs) == 1:
                return self.configs[0]
            raise KeyError(f"{self.id} has configs {[c.name for c in self.configs]}: name one")
        for c in self.configs:
            if c.name == name:
                return c
        raise KeyError(f"{self.id} has no config {name!r}; it has {[c.name for c in self.configs]}")

    @property
    def ref(self) -> str:
        """``covidct/<id>``: how users and the Hub name the card."""
        return f"{ORG}/{self.id}"

    @property
    def loadable_configs(self) -> list[Config]:
        """The configs with a layout: the ones a builder, a loading script or a fixture can load."""
        return [c for c in self.configs if c.layout is not None]

    def unloadable_reason(self, cfg: Config) -> str:
        """Why ``cfg`` cannot be loaded, for a user: the one wording of every loader's error, which says first
        that the data is no longer distributed when the card says so."""
        text = f"{self.id}/{cfg.name} has no `layout` in its card, so covidct cannot load it"
        if cfg.derived is not None:
            names = ", ".join(repr(s.card) for s in cfg.derived.sources if s.card)
            return (f"{self.id}/{cfg.name} is built from other datasets: load it with data_dirs={{{self.id!r}: the "
                    f"folder of its split files, {names}: your copies of them}}")
        if self.access.kind != AccessKind.UNAVAILABLE:
            return text
        gone = self.access.unavailable.phrase() if self.access.unavailable else "no longer distributed"
        see = f"; see {self.access.url}" if self.access.url else ""
        return f"the data of {self.id} is {gone}{see}; {text}"

    def source_ids(self) -> set[str]:
        return {s.id for s in self.sources}

    def headline_count(self, level: CountLevel) -> int | None:
        """The largest whole-dataset total at ``level`` across configs (None if never given).

        Only counts of the whole config (no split, no other release) count; per-class numbers stand
        in for a missing total only when they cover every class, never a partial sum.
        """
        totals = []
        for cfg in self.configs:
            names = cfg.class_names
            for c in cfg.counts:
                if c.level != level or c.split is not None or c.release is not None:
                    continue
                if c.total is not None:
                    totals.append(c.total)
                elif names and set(c.by_class) >= names:
                    totals.append(sum(c.by_class.values()))
        return max(totals) if totals else None


def json_schema() -> dict[str, Any]:
    """The card JSON Schema, as committed in schema/card.schema.json."""
    schema = Card.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://covidct.github.io/covidct/schema/card.schema.json"
    schema["title"] = "covidct dataset card"
    return schema


TODO_RE = re.compile(r"\bTODO\b")
