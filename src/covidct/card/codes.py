"""Concept codes of classes: their formats per terminology, their URIs, and the checks on them.

A class (or mask value) says what it means with ``codes`` from SNOMED CT, RadLex or UMLS, an
``assertion`` (diagnosis, finding, normal...) and a ``reference_standard``; or it says why it has no
code (``unmapped``). :func:`check_codes` is the validator's part: code formats (a SNOMED CT id ends
in a Verhoeff check digit, so a mistyped digit is caught), one code never standing for two classes
of one label with the same meaning (the same code as an exact match with the same assertion; sibling
classes may share a broader concept as `narrower` matches), every class coded or unmapped, and every
source cited.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from covidct.card.finding import Finding, Path, near
from covidct.card.model import Card, ClassDef, Code, Config, LabelDef, MaskValue
from covidct.card.vocab import Assertion, CodeSystem, LabelSource, Match

# Verhoeff's dihedral-group tables (Verhoeff 1969), as SNOMED CT uses them for its check digit
_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]

_SCTID_RE = re.compile(r"^[1-9][0-9]{5,17}$")
_RID_RE = re.compile(r"^RID[1-9][0-9]{0,7}$")
_CUI_RE = re.compile(r"^C[0-9]{7}$")
# the partition id (2nd and 3rd digits from the right): 00 a concept of the International Edition,
# 10 a concept of an extension (e.g. the US Edition's 882784691000119100)
_CONCEPT_PARTITIONS = ("00", "10")

URI_PREFIX = {
    CodeSystem.SNOMED_CT: "http://snomed.info/id/",
    CodeSystem.RADLEX: "http://radlex.org/RID/",
    CodeSystem.UMLS: "https://uts.nlm.nih.gov/uts/umls/concept/",
}
CURIE_PREFIX = {CodeSystem.SNOMED_CT: "SCTID", CodeSystem.RADLEX: "RADLEX", CodeSystem.UMLS: "UMLS"}


def verhoeff_ok(digits: str) -> bool:
    """Whether ``digits`` ends in the right Verhoeff check digit."""
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _D[c][_P[i % 8][int(ch)]]
    return c == 0


def code_problem(system: CodeSystem, code: str) -> str | None:
    """Why ``code`` is not a well-formed id of ``system`` (None when it is)."""
    if system is CodeSystem.SNOMED_CT:
        if not _SCTID_RE.match(code):
            return f"{code!r} is not a SNOMED CT id (6 to 18 digits, no leading zero)"
        if not verhoeff_ok(code):
            return f"SNOMED CT id {code!r} fails its Verhoeff check digit (a digit is mistyped or missing)"
        if code[-3:-1] not in _CONCEPT_PARTITIONS:
            return f"SNOMED CT id {code!r} is not a concept id (partition {code[-3:-1]}, not 00 or 10)"
        return None
    if system is CodeSystem.RADLEX:
        return None if _RID_RE.match(code) else f"{code!r} is not a RadLex id (`RID` and digits, e.g. RID1301)"
    if system is CodeSystem.UMLS:
        return None if _CUI_RE.match(code) else f"{code!r} is not a UMLS CUI (`C` and 7 digits, e.g. C5203670)"
    return f"unknown code system {system!r}"  # pragma: no cover - the model allows only the systems above


def concept_uri(code: Code) -> str:
    """The concept's URI (what Croissant's ``sameAs`` and the site link to)."""
    return URI_PREFIX[code.system] + code.code


def curie(code: Code) -> str:
    return f"{CURIE_PREFIX[code.system]}:{code.code}"


def reference_standard(label: LabelDef, item: ClassDef | MaskValue) -> list[LabelSource]:
    """How ``item`` was established: its own ``reference_standard``, else its label's ``source``."""
    return list(item.reference_standard or label.source)


@dataclass(frozen=True)
class CodedItem:
    """One class or mask value of a config's label, with where it sits in the card."""

    config: Config
    label: LabelDef
    item: ClassDef | MaskValue
    path: Path
    is_mask: bool


def coded_items(card: Card) -> Iterator[CodedItem]:
    for i, cfg in enumerate(card.configs):
        for j, lab in enumerate(cfg.labels):
            for k, c in enumerate(lab.classes):
                yield CodedItem(cfg, lab, c, ("configs", i, "labels", j, "classes", k), False)
            for k, m in enumerate(lab.mask_values):
                yield CodedItem(cfg, lab, m, ("configs", i, "labels", j, "mask_values", k), True)


def check_codes(card: Card) -> Iterator[Finding]:
    """Findings about the classes' codes (imported by the card checks; see the module doc)."""
    ids = card.source_ids()
    meanings: dict[tuple[int, int, str], dict[tuple[str, str, str], str]] = {}
    for ci in coded_items(card):
        item, path = ci.item, ci.path
        what = "mask value" if ci.is_mask else "class"
        if not item.codes and not item.unmapped:
            yield Finding(path, "W407", f"{what} {item.name!r} of label {ci.label.name!r} has no `codes` and no "
                          "`unmapped` reason", hint="add the concept codes it stands for (with a source), or "
                          "`unmapped: <why>`; see CONTRIBUTING.md, Coding a class")
        for j, ref in enumerate(item.source):
            if ref not in ids:
                yield Finding((*path, "source", j), "C310", f"source {ref!r} is not in `sources`", hint=near(ref, ids))
        if item.codes and not item.source and not any(c.source for c in item.codes):
            yield Finding((*path, "codes"), "W401", f"the codes of {what} {item.name!r} cite no source",
                          hint="cite the terminology page or value set where each code was checked")
        seen = meanings.setdefault((path[1], path[3], path[4]), {})  # type: ignore[index]
        for k, code in enumerate(item.codes):
            cp = (*path, "codes", k)
            problem = code_problem(code.system, code.code)
            if problem:
                yield Finding((*cp, "code"), "C317", problem, hint="copy the id from the terminology's browser")
            for j, ref in enumerate(code.source):
                if ref not in ids:
                    yield Finding((*cp, "source", j), "C310", f"source {ref!r} is not in `sources`",
                                  hint=near(ref, ids))
            if code.match is not Match.EXACT:
                continue  # siblings may share a broader concept (adenocarcinoma, small cell: both lung cancer)
            meaning = (code.system.value, code.code, (item.assertion or Assertion.OTHER).value)
            other = seen.get(meaning)
            if other is not None and other != item.name:
                yield Finding((*cp, "code"), "C318", f"{code.system.value} {code.code} stands for both {other!r} and "
                              f"{item.name!r} of label {ci.label.name!r}, as an exact match with the same assertion",
                              hint="two classes of one label mean different things: set the `assertion` "
                              "(e.g. absent for a negative class), make one a `narrower` match, or fix the code")
            seen.setdefault(meaning, item.name)
