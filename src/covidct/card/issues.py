"""Located validation issues, and the catalogue of issue kinds.

Issue kinds are data (code, severity, title, description, message template), after frictionless-py, so
that the docs site lists every code with its meaning and nothing reports an undocumented one. Two
channels carry them: located ``Issue``s (a card's file, line and column: Y, S, C, W) and, while a
dataset's files are read, ``LayoutWarning``s through the ``warnings`` module (L), each raised by
:func:`warn_data` from its kind's template.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, field
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class IssueKind:
    code: str
    severity: Severity
    title: str
    description: str
    #: The message, with ``{name}`` fields filled by :func:`warn_data`. A located card issue's message is
    #: composed where the check finds it (one kind, several wordings: ``{message}``).
    template: str = "{message}"


def _k(code: str, sev: Severity, title: str, description: str, template: str = "{message}") -> IssueKind:
    return IssueKind(code, sev, title, description, template)


E, W = Severity.ERROR, Severity.WARNING

KINDS: dict[str, IssueKind] = {
    k.code: k
    for k in [
        # Y: the file and its YAML
        _k("Y101", E, "YAML syntax error", "The file is not valid YAML."),
        _k("Y102", E, "Invalid UTF-8", "Cards must be UTF-8 text."),
        _k("Y103", E, "File too large", "A card is at most 1 MiB; larger files are refused unread."),
        _k("Y104", E, "Nesting too deep", "Cards nest at most 32 levels; deeper input is refused."),
        _k("Y105", E, "Anchor or alias", "YAML anchors (&) and aliases (*) are not allowed in cards."),
        _k("Y106", E, "Tag not allowed", "Only plain YAML values; tags such as !!python/object are refused."),
        _k("Y107", E, "Duplicate key", "A mapping repeats a key; YAML would silently keep the last one."),
        _k("Y108", E, "Not a mapping", "A card is a YAML mapping at the top level, in one document."),
        _k("Y109", E, "Too many values", "The card holds more values than any real card needs."),
        _k("Y110", E, "Unreadable file", "The file could not be read."),
        _k("Y111", E, "Number refused", "A plain value looks like a number longer than any card needs, or is a "
           "YAML 1.1 base-60 number such as `12:30`; quote it if it is text."),
        _k("Y112", E, "Not a card", "The file is not a card: cards are YAML mappings in `<id>.yaml` files."),
        # S: the schema (Pydantic model)
        _k("S201", E, "Unknown field", "The field is not part of the card model; see the hint for a near name."),
        _k("S202", E, "Missing field", "A required field is absent."),
        _k("S203", E, "Wrong type", "The value has the wrong type (e.g. text where a number belongs)."),
        _k("S204", E, "Value not allowed", "The value is not in the field's vocabulary or pattern."),
        _k("S205", E, "Invalid value", "The value breaks a rule of the model (see the message)."),
        # C: consistency checks beyond the schema
        _k("C301", E, "Id differs from file name", "The card's id must equal its file name without .yaml."),
        _k("C302", E, "Counts do not add up", "A total differs from the sum of its per-class counts."),
        _k("C303", E, "Duplicate label value", "Two classes or mask values share a value or a name."),
        _k("C304", E, "Unknown class", "A count or a layout map names a class the labels do not define."),
        _k("C305", E, "Unknown card",
           "Lineage or a fingerprint match refers to a card id that is not in the registry."),
        _k("C306", E, "Bad pattern", "A layout pattern or table path does not parse, or is unsafe."),
        _k("C307", E, "Undeclared part", "A pattern, template or value refers to a part that is not declared."),
        _k("C308", E, "Duplicate id or alias", "Two cards share an id or an alias."),
        _k("C309", E, "URL not http(s)", "Every URL must use http or https."),
        _k("C310", E, "Unknown source", "A fact cites a source id missing from `sources`."),
        _k("C311", E, "Unknown reference", "A layout refers to a table, array, download or label it lacks."),
        _k("C312", E, "Duplicate name", "Two configs, sources or downloads share a name."),
        _k("C313", E, "TODO left", "The card still has TODO markers from `covidct new`."),
        _k("C314", E, "Unsupported regular expression",
           "A part regex uses what RE2, the linear-time engine that matches it, lacks or reads differently "
           "(backreferences, lookaround, atomic groups, \\d, anchors, inline flags), or is too large."),
        _k("C315", E, "Unknown license id", "`license.id` is not an SPDX license id or expression (as spelled on "
           "the SPDX License List), `LicenseRef-<name>`, `other` or `unknown`."),
        _k("C316", E, "Registry download without sha256", "A registry card's download has a URL but no sha256; "
           "give a published one (with its source), or drop the URL and describe the manual download."),
        _k("C317", E, "Bad concept code", "A class's code is not a well-formed id of its terminology (a SNOMED CT "
           "id with a wrong Verhoeff check digit, a RadLex id without `RID`, a UMLS CUI that is not C and 7 digits)."),
        _k("C318", E, "Code shared by classes", "One code stands for two classes of one label with the same match "
           "and assertion, so the two classes would mean the same thing."),
        _k("C319", E, "Misused header value", "A layout reads DICOM headers (`headers`, `where`, `where_not`) "
           "but its images are not DICOM, or a header value has the name of a path part."),
        _k("C320", E, "Unavailability not stated", "Access is `unavailable` without `access.unavailable` (why, "
           "since when, who says so), or `access.unavailable` is given for data that can be had, or its dates "
           "disagree (checked before it was gone)."),
        _k("C321", E, "Misdeclared split columns", "A split rule with one column per fold (`splits.columns`) names "
           "one column for two splits, or a table whose own `column` is not one of the split columns."),
        _k("C322", E, "Misused HDF5 dataset", "`dataset` (the HDF5 dataset whose rows are the examples) is given "
           "for a file that is not the HDF5 image, an HDF5 image lacks it, it is combined with `group`, or a value "
           "comes from a `dataset` while the images are not HDF5 rows."),
        _k("C323", E, "Misused label columns", "`label_columns` (one table column per class) gives the classes of a "
           "multi-label label, but is used for another kind of label or for an id, field or split."),
        _k("C324", E, "Misused run-length rule", "`rle` (a mask spelled as run-length text in a table column) gives "
           "a mask label, but is used for another kind of label or for an id, field or split, or the mask value its "
           "runs mark is not one value of the label."),
        _k("C325", E, "Misused record field label", "An annotation's `labels` names a class label that is given by "
           "another rule too, has no classes, or is read from a field its format's records do not have (LIDC XML: "
           "the nine ratings)."),
        # W: warnings (exit status stays 0)
        _k("W401", W, "No source", "A count, license or access statement cites no source."),
        _k("W402", W, "Card without sources", "The card lists no sources at all."),
        _k("W403", W, "Label without layout", "The config has a layout but no rule gives this label a value."),
        # (W404 "lineage not reciprocated" is retired: a relation is stated once, by one card; the site derives
        # the other side, "referenced by". The code is not reused.)
        _k("W405", W, "Layout not verified", "The config's layout has no record of a `covidct check` against a real "
           "listing of the dataset's files (`verified`)."),
        _k("W406", W, "Download without sha256", "A download has a URL but no sha256, so its bytes are not "
           "verified (an error for cards in the registry: C316)."),
        _k("W407", W, "Class not coded", "A class or mask value has neither concept `codes` nor an `unmapped` "
           "reason, so it cannot be compared with other datasets' classes."),
        # L: while a dataset's files are read (`covidct load`, `export`, `check`): LayoutWarnings, not located
        _k("L501", W, "Symbolic links refused", "The data folder holds symbolic links; they are not followed.",
           "{count} symbolic link(s) were refused (not followed): {examples}; copy the files instead"),
        _k("L502", W, "Special files skipped", "The data folder holds FIFOs, sockets or devices; they are never "
           "opened.", "{count} FIFO(s), socket(s) or device(s) were skipped (never opened; only regular files are "
           "data): {examples}"),
        _k("L503", W, "Files match no pattern", "Files under the layout's root match none of its patterns and are "
           "ignored.", "{count} file(s) match no pattern of the layout and are ignored: {first!r}{more}: {why}. "
           "Add them to `exclude` if they are not data."),
        _k("L504", W, "Files without an image", "Files of another role (a mask) pair with no image file.",
           "{count} {role} file(s) have no image: e.g. {first!r} (image pattern {pattern!r})"),
        _k("L505", W, "Examples without a split", "Examples that no split lists (or that map to null) are left out.",
           "{count} example(s) belong to no split (not listed, or mapped to null) and are left out"),
        _k("L506", W, "Count differs from the card", "The data holds another number of examples than the card's "
           "count says.", "the card counts {card:,} {level}{in_split}; the data has {data:,} ({difference})"),
        _k("L507", W, "Class counts differ from the card", "Per-class numbers of examples differ from the card's "
           "`by_class` counts.", "{level} per class{in_split} differ from the card: {differences}"),
        _k("L508", W, "Official splits replaced", "`split_by` re-splits a dataset that has official splits.",
           "has official splits {splits}; split_by={split_by!r} replaces them"),
        _k("L509", W, "Download not verified", "The card gives no checksum for a download, so its bytes were used "
           "unverified.", "the card gives no checksum, so the file was used unverified; its sha256 is {sha256} (add "
           "`sha256: {sha256}` to the card's download)"),
        _k("L510", W, "Data folder missing", "The data folder is gone; the dataset prepared from it before is used.",
           "the data folder {folder} is missing; using the dataset prepared from it before ({prepared})"),
        _k("L512", W, "Derived rows without a source card", "Rows of a derived dataset's split files come from a "
           "source that has no card yet; they are left out.",
           "{count:,} rows left out, their sources have no card yet: {tags}"),
        _k("L511", W, "Annotations refer to no scan", "Annotation files (RTSTRUCT, SEG, LIDC XML) name a "
           "SeriesInstanceUID that no image series of the data has, or VOC files are named after a SOPInstanceUID no "
           "loaded slice has; they are left out.",
           "{count} {format} file(s) of label {label!r} refer to no scan of the data (by SeriesInstanceUID, VOC by "
           "SOPInstanceUID): "
           "e.g. {first!r}"),
    ]
}


class LayoutWarning(UserWarning):
    """The data loads but differs from the card (counts, unmatched files, unlabelled examples).

    ``code`` is its kind in :data:`KINDS`; raised only by :func:`warn_data`.
    """

    code: str = ""


def warn_data(code: str, where: str, /, *, stacklevel: int = 2, **values: object) -> None:
    """Warn, as a :class:`LayoutWarning`, of the problem ``code`` found in ``where`` (``card/config`` or a
    download), its message filled from the catalogue's template: ``<where>: <code> <message>``."""
    kind = KINDS[code]
    warning = LayoutWarning(f"{where}: {code} {kind.template.format(**values)}")
    warning.code = code
    warnings.warn(warning, stacklevel=stacklevel + 1)


def ignore_data_warnings(*codes: str) -> None:
    """Inside ``warnings.catch_warnings()``: silence the ``LayoutWarning``s of these kinds (by code, not wording)."""
    unknown = [c for c in codes if c not in KINDS]
    if unknown:
        raise ValueError(f"no issue kind {unknown}")
    warnings.filterwarnings("ignore", message=rf"[^\n]*: (?:{'|'.join(codes)}) ", category=LayoutWarning)


@dataclass(frozen=True, order=True)
class Issue:
    """One problem, located in a file."""

    path: str
    line: int
    col: int
    code: str
    message: str
    hint: str | None = field(default=None, compare=False)

    @property
    def severity(self) -> Severity:
        return KINDS[self.code].severity

    def format(self) -> str:
        text = f"{self.path}:{self.line}:{self.col}: {self.code} {self.message}"
        return f"{text} ({self.hint})" if self.hint else text

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["severity"] = self.severity.value
        return d


def issues_to_json(issues: list[Issue]) -> str:
    return json.dumps([i.to_dict() for i in issues], ensure_ascii=False, indent=2)
