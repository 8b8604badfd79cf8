"""Harmonisation targets: class sets that datasets' classes are mapped onto, kept as data beside the cards.

A target (``cards/targets/<id>.yaml``; the registry reads only ``cards/*.yaml``, so targets are never
taken for cards) names its classes, each defined by concept codes, an assertion and the predicates it
accepts. A dataset class maps onto a target class in the SSSOM spirit, with a predicate seen from the
dataset class:

- **derived from codes**: the class carries one of the target class's codes, with the same assertion,
  and the code's ``match`` (exact, narrower...) is a predicate the target class ``accepts``: e.g. CNCB's
  NCP (COVID-19 pneumonia, ``narrower`` than COVID-19) maps onto a COVID-19 class that accepts narrower
  classes, and onto none that accepts only exact ones;
- **explicit**: a row under ``mappings`` names the class, the target class (or none) and a predicate with a
  justification; it overrides what the codes would give.

A finding never silently becomes a diagnosis: a derived mapping needs equal assertions, and an explicit row
between a finding (or anything else) and a diagnosis must state its predicate, else it is refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from pydantic import ConfigDict, Field, ValidationError, model_validator

from covidct.card.model import SLUG_RE, Code, ShortText, Slug, Strict
from covidct.card.vocab import Assertion, Match, Modality
from covidct.cards_snapshot import card_files
from covidct.errors import CovidctError

if TYPE_CHECKING:
    from covidct.card.model import Card, ClassDef, Config, LabelDef

TARGETS_DIR = "targets"
MOVES_DATA = (Match.EXACT, Match.NARROWER, Match.BROADER)  # related never moves an example into a class


class MappingError(CovidctError, ValueError):
    """A target or a mapping is wrong, or refuses a class; the message says where and what to do."""


class TargetClass(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)] = Field(description="Class name in the combined data.")
    description: ShortText | None = None
    assertion: Assertion = Field(description="What the class asserts (diagnosis, normal, finding...).")
    codes: list[Code] = Field(min_length=1, description="Concepts that define the class.")
    accepts: list[Match] = Field(
        default_factory=lambda: [Match.EXACT],
        description="Predicates of dataset classes that may map onto this class: `exact` always; `narrower` lets "
        "a kind of the concept in (COVID-19 pneumonia into COVID-19); `broader` only where the target tolerates it.",
    )


class Mapping(Strict):
    card: Slug
    config: Slug | None = Field(None, description="The config (needed when the card has several).")
    label: Annotated[str, Field(max_length=64)] | None = Field(None, description="The label (default: the only "
                                                                              "class label).")
    class_: Annotated[str, Field(min_length=1, max_length=100, alias="class")] = Field(
        description="The dataset class.")
    target: Annotated[str, Field(max_length=100)] | None = Field(
        description="The target class, or null: the class maps onto none.")
    predicate: Match | None = Field(None, description="The dataset class seen from the target class: exact, "
                                    "narrower, broader, related. Required between a non-diagnosis and a diagnosis.")
    justification: ShortText | None = Field(None, description="Why, with its source.")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Target(Strict):
    id: Annotated[str, Field(pattern=SLUG_RE, max_length=64)]
    name: ShortText
    description: ShortText | None = None
    modality: list[Modality] = Field(min_length=1, description="Modalities whose datasets the target is for.")
    classes: list[TargetClass] = Field(min_length=2)
    mappings: list[Mapping] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> Target:
        names = [c.name for c in self.classes]
        if len(set(names)) != len(names):
            raise ValueError("target class names repeat")
        return self

    def names(self) -> list[str]:
        return [c.name for c in self.classes]


@dataclass(frozen=True)
class ClassMapping:
    """Where one dataset class goes: a target class index (None: nowhere), the predicate and why."""

    original: str
    target: int | None
    predicate: Match | None
    how: str  # "codes", "mapping N" or why not


def targets_dir(cards_dir: str | os.PathLike[str] | None = None) -> Path:
    from covidct.registry import default_cards_dir

    return Path(cards_dir or default_cards_dir()) / TARGETS_DIR


def list_targets(cards_dir: str | os.PathLike[str] | None = None) -> list[str]:
    d = targets_dir(cards_dir)
    return sorted(p.stem for p in card_files(d)) if d.is_dir() else []  # named like cards


def load_target(ref: str | os.PathLike[str], cards_dir: str | os.PathLike[str] | None = None) -> Target:
    """A target by id (``cards/targets/<id>.yaml``) or by file path, parsed as untrusted YAML."""
    from covidct.card.validate import read_card_bytes
    from covidct.card.yamlload import YamlError, decode, load

    p = Path(ref)
    if not (str(ref).endswith(".yaml") and p.is_file()):
        p = targets_dir(cards_dir) / f"{ref}.yaml"
        if not p.is_file():
            known = ", ".join(list_targets(cards_dir)) or "none"
            raise MappingError(f"no target {str(ref)!r} in {p.parent} (targets: {known})")
    try:
        data = load(decode(read_card_bytes(p))).data
    except YamlError as exc:
        raise MappingError(f"{p}:{exc.line}:{exc.col}: {exc.message}") from None
    try:
        return Target.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(x) for x in err["loc"])
        raise MappingError(f"{p}: `{where}`: {err['msg']} ({len(exc.errors())} problem(s))") from None


def class_label(card: Card, cfg: Config, label: str | None = None) -> LabelDef:
    """The one-class-per-example label of ``cfg`` (by name, or the only one)."""
    from covidct.card.vocab import LabelKind

    labs = [lab for lab in cfg.labels if lab.kind is LabelKind.CLASS and lab.classes]
    if label is not None:
        labs = [lab for lab in labs if lab.name == label]
    if len(labs) != 1:
        names = [lab.name for lab in cfg.labels if lab.kind is LabelKind.CLASS]
        what = f"no class label {label!r}" if label else f"{len(labs)} class labels {names}"
        raise MappingError(f"{card.id}/{cfg.name} has {what}: name one (labels of kind `class`: {names})")
    return labs[0]


def map_classes(target: Target, card: Card, cfg: Config, label: LabelDef) -> list[ClassMapping]:
    """Where each class of ``label`` goes in ``target`` (see the module doc), in the label's class order."""
    rows = {(m.class_): (i, m) for i, m in enumerate(target.mappings)
            if m.card == card.id and m.config in (None, cfg.name) and m.label in (None, label.name)}
    names = target.names()
    out = []
    for cls in sorted(label.classes, key=lambda c: c.value):
        if cls.name in rows:
            i, m = rows[cls.name]
            out.append(_explicit(target, card, cfg, cls, i, m))
        else:
            out.append(_derived(target, cls, names))
    for name, (i, _) in rows.items():
        if name not in {c.name for c in label.classes}:
            raise MappingError(f"target {target.id}, mapping {i + 1}: {card.id}/{cfg.name} label {label.name!r} has "
                               f"no class {name!r} (classes: {[c.name for c in label.classes]})")
    return out


def _explicit(target: Target, card: Card, cfg: Config, cls: ClassDef, i: int, m: Mapping) -> ClassMapping:
    where = f"target {target.id}, mapping {i + 1} ({card.id}/{cfg.name} class {cls.name!r} -> {m.target!r})"
    if m.target is None:
        return ClassMapping(cls.name, None, m.predicate, f"mapping {i + 1}: none")
    names = target.names()
    if m.target not in names:
        raise MappingError(f"{where}: no target class {m.target!r} (classes: {names})")
    tc = target.classes[names.index(m.target)]
    predicate = m.predicate
    if predicate is None:
        if tc.assertion is Assertion.DIAGNOSIS and cls.assertion is not Assertion.DIAGNOSIS:
            what = cls.assertion.value if cls.assertion else "an unstated assertion"
            raise MappingError(
                f"{where}: the class asserts {what}, the target class a diagnosis; a finding never becomes a "
                f"diagnosis silently: give the mapping an explicit `predicate` (exact, narrower, broader or "
                f"related) and a `justification`")
        predicate = _predicate_from_codes(cls, tc)
        if predicate is None:
            raise MappingError(f"{where}: no code of the class is a code of the target class, so the predicate "
                               "cannot be inferred: give an explicit `predicate`")
    if predicate not in tc.accepts or predicate not in MOVES_DATA:
        return ClassMapping(cls.name, None, predicate, f"mapping {i + 1}: {predicate.value}, which "
                            f"{m.target!r} does not accept")
    return ClassMapping(cls.name, names.index(m.target), predicate, f"mapping {i + 1}")


def _predicate_from_codes(cls: ClassDef, tc: TargetClass) -> Match | None:
    mine = {(c.system, c.code): c.match for c in cls.codes}
    hits = [mine[(t.system, t.code)] for t in tc.codes if (t.system, t.code) in mine]
    order = [Match.EXACT, Match.NARROWER, Match.BROADER, Match.RELATED]
    return min(hits, key=order.index) if hits else None


def _derived(target: Target, cls: ClassDef, names: list[str]) -> ClassMapping:
    found: list[tuple[int, Match]] = []
    for k, tc in enumerate(target.classes):
        if cls.assertion is not tc.assertion:
            continue  # a finding never becomes a diagnosis, an absent concept never a present one
        predicate = _predicate_from_codes(cls, tc)
        if predicate is not None and predicate in tc.accepts and predicate in MOVES_DATA:
            found.append((k, predicate))
    if len(found) > 1:
        raise MappingError(f"target {target.id}: class {cls.name!r} fits several target classes "
                           f"({[names[k] for k, _ in found]}); add an explicit mapping")
    if not found:
        return ClassMapping(cls.name, None, None, "no code of a target class with the same assertion")
    k, predicate = found[0]
    return ClassMapping(cls.name, k, predicate, "codes")


__all__ = ["ClassMapping", "Mapping", "MappingError", "Target", "TargetClass", "class_label", "list_targets",
           "load_target", "map_classes"]
