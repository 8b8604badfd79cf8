"""Located validation issues, and the catalogue of issue kinds.

Issue kinds are data (code, severity, title, description), after frictionless-py, so that the docs
site lists every code with its meaning and the validator never invents an undocumented one.
"""

from __future__ import annotations

import json
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


def _k(code: str, sev: Severity, title: str, description: str) -> IssueKind:
    return IssueKind(code, sev, title, description)


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
        _k("C320", E, "Misdeclared split columns", "A split rule with one column per fold (`splits.columns`) names "
           "one column for two splits, or a table whose own `column` is not one of the split columns."),
        _k("C321", E, "Misused HDF5 dataset", "`dataset` (the HDF5 dataset whose rows are the examples) is given "
           "for a file that is not the HDF5 image, an HDF5 image lacks it, it is combined with `group`, or a value "
           "comes from a `dataset` while the images are not HDF5 rows."),
        _k("C322", E, "Misused label columns", "`label_columns` (one table column per class) gives the classes of a "
           "multi-label label, but is used for another kind of label or for an id, field or split."),
        # W: warnings (exit status stays 0)
        _k("W401", W, "No source", "A count, license or access statement cites no source."),
        _k("W402", W, "Card without sources", "The card lists no sources at all."),
        _k("W403", W, "Label without layout", "The config has a layout but no rule gives this label a value."),
        _k("W404", W, "Lineage not reciprocated", "The other card does not mention this one."),
        _k("W405", W, "Layout not verified", "The config's layout has no record of a `covidct check` against a real "
           "listing of the dataset's files (`verified`)."),
        _k("W406", W, "Download without sha256", "A download has a URL but no sha256, so its bytes are not "
           "verified (an error for cards in the registry: C316)."),
        _k("W407", W, "Class not coded", "A class or mask value has neither concept `codes` nor an `unmapped` "
           "reason, so it cannot be compared with other datasets' classes."),
    ]
}


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
