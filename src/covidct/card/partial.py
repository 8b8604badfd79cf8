"""A best-effort :class:`Card` from data the model refused, so that semantic checks still run.

"Every problem at once" means a misspelled field must not hide a wrong sum: when Pydantic refuses
a card, its errors are reported, and then the data is *repaired* just enough to build a Card:

* an unknown key is deleted;
* a bad optional value (a field with a default, or an entry of a free-form mapping) is deleted;
* a bad required value, or a bad list item, is replaced by a placeholder built from the model's
  own types (list items are replaced, never removed, so every index still points into the file).

The semantic checks then run on that Card. Their findings inside a repaired part, and findings
that depend on what a repair took away (a class missing because its label was misspelled, a
source missing because its id was bad), are dropped as cascades: each is reported once its cause
is fixed. Nothing here runs for a card that validates.
"""

from __future__ import annotations

import copy
import datetime as dt
import enum
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import UnionType
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from covidct.card.model import Card

Path = tuple[str | int, ...]

MAX_ROUNDS = 8  # each round repairs the errors of the last; repairs can only uncover parents' errors
PLACEHOLDER_TEXT = "unparsed"  # fits every pattern and length of the model's required text fields


@dataclass(frozen=True)
class Repair:
    path: Path
    unknown_key: bool  # an unknown field deleted: the data the model knows is unchanged


def data_path(loc: Sequence[Any], data: Any) -> Path:
    """Keep only the parts of a Pydantic loc that index into the data (drops union branch tags)."""
    out: list[str | int] = []
    cur = data
    for part in loc:
        in_dict = isinstance(cur, dict) and part in cur
        in_list = isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur)
        if in_dict or in_list:
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, dict) and isinstance(part, str) and part == loc[-1]:
            out.append(part)  # a missing or unknown key: keep it as the last element
            break
    return tuple(out)


# ------------------------------------------------------------------------------------ the model's types


def _strip(tp: Any) -> tuple[Any, list[Any]]:
    """``Annotated[T, m...]`` -> (T, [m...]); anything else -> (tp, [])."""
    if typing.get_origin(tp) is typing.Annotated:
        base, *meta = typing.get_args(tp)
        inner, more = _strip(base)
        return inner, more + meta
    return tp, []


def _choices(tp: Any) -> list[Any]:
    base, _ = _strip(tp)
    if typing.get_origin(base) in (typing.Union, UnionType):
        return [a for a in typing.get_args(base) if a is not type(None)]
    return [tp]


def _container(tp: Any) -> Any:
    """The branch of ``tp`` that can hold children (a model, list or dict), else None."""
    for choice in _choices(tp):
        base, _ = _strip(choice)
        if isinstance(base, type) and issubclass(base, BaseModel):
            return base
        if typing.get_origin(base) in (list, dict):
            return base
    return None


@dataclass(frozen=True)
class Slot:
    """What the model says about one place in the data."""

    annotation: Any  # the declared type, constraints included (None: a key the model does not know)
    required: bool  # a model field without a default (a list item counts as required)
    free_key: bool = False  # an entry of a free-form mapping (dict[str, X])


def slot_at(path: Sequence[str | int]) -> Slot | None:
    """The model's declaration for ``path`` in a card's data; None when the path leaves the model."""
    tp: Any = Card
    slot = Slot(Card, True)
    for part in path:
        holder = _container(tp)
        if isinstance(holder, type) and issubclass(holder, BaseModel):
            if not isinstance(part, str):
                return None
            fi = holder.model_fields.get(part)
            if fi is None:
                return Slot(None, False)
            tp = typing.Annotated[fi.annotation, fi] if fi.metadata else fi.annotation
            slot = Slot(tp, fi.is_required())
        elif typing.get_origin(holder) is list and isinstance(part, int):
            tp = typing.get_args(holder)[0]
            slot = Slot(tp, True)
        elif typing.get_origin(holder) is dict and isinstance(part, str):
            tp = typing.get_args(holder)[1]
            slot = Slot(tp, False, free_key=True)
        else:
            return None
    return slot


def placeholder(tp: Any) -> Any:
    """A small value of type ``tp`` that the model accepts (data, as YAML would give it)."""
    choices = _choices(tp)
    base, meta = _strip(choices[0])
    if len(choices) < len(_union_args(tp)) or base is type(None):
        return None  # Optional: None is the smallest value
    min_len = max((getattr(m, "min_length", None) or 0 for m in _flat_meta(meta)), default=0)
    low = next((getattr(m, "ge", None) for m in _flat_meta(meta) if getattr(m, "ge", None) is not None), 0)
    if isinstance(base, type) and issubclass(base, BaseModel):
        return {name: placeholder(_field_type(fi)) for name, fi in base.model_fields.items() if fi.is_required()}
    origin = typing.get_origin(base)
    if origin is list:
        return [placeholder(typing.get_args(base)[0]) for _ in range(min_len)]
    if origin is dict:
        return {}
    if isinstance(base, type) and issubclass(base, enum.Enum):
        return next(iter(base)).value
    if base is bool:
        return False
    if base is int:
        return int(low)
    if base is float:
        return float(low)
    if base is dt.date:
        return dt.date(2000, 1, 1)
    return PLACEHOLDER_TEXT


def _union_args(tp: Any) -> tuple[Any, ...]:
    base, _ = _strip(tp)
    if typing.get_origin(base) in (typing.Union, UnionType):
        return typing.get_args(base)
    return (tp,)


def _flat_meta(meta: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for m in meta:
        out.append(m)
        if isinstance(m, FieldInfo):
            out.extend(m.metadata)
    return out


def _field_type(fi: FieldInfo) -> Any:
    return typing.Annotated[fi.annotation, fi] if fi.metadata else fi.annotation


def accepts(path: Sequence[str | int], value: Any) -> bool:
    """Whether the model's type at ``path`` accepts ``value`` on its own (no cross-field rules)."""
    slot = slot_at(path)
    if slot is None or slot.annotation is None:
        return False
    try:
        TypeAdapter(slot.annotation).validate_python(value)
    except (ValidationError, TypeError, ValueError):
        return False
    return True


# ------------------------------------------------------------------------------------ repairs


def _get(data: Any, path: Path) -> Any:
    for part in path:
        data = data[part]
    return data


def _repair(data: dict[str, Any], path: Path, unknown_key: bool) -> Repair | None:
    """Fix ``data`` at ``path`` or the nearest ancestor that can be fixed; the repair made, if any."""
    if unknown_key and path:
        parent = _get(data, path[:-1])
        if isinstance(parent, dict) and path[-1] in parent:
            del parent[path[-1]]
            return Repair(path, True)
    p = path
    while p:
        slot = slot_at(p)
        parent = _get(data, p[:-1])
        if slot is not None and isinstance(parent, dict) and isinstance(p[-1], str):
            if (slot.annotation is None or slot.free_key or not slot.required) and p[-1] in parent:
                del parent[p[-1]]
                return Repair(p, slot.annotation is None)
            if slot.annotation is not None and slot.required:
                parent[p[-1]] = placeholder(slot.annotation)
                return Repair(p, False)
        if slot is not None and isinstance(parent, list) and isinstance(p[-1], int) and p[-1] < len(parent):
            parent[p[-1]] = placeholder(slot.annotation)
            return Repair(p, False)
        p = p[:-1]
    return None


def best_effort(data: dict[str, Any], errors: list[Any]) -> tuple[Card | None, list[Repair]]:
    """A Card built from ``data`` after repairing it where ``errors`` (Pydantic's) point; None if it cannot."""
    work = copy.deepcopy(data)
    repairs: list[Repair] = []
    for _ in range(MAX_ROUNDS):
        done: set[Path] = set()
        for err in errors:
            path = data_path(err["loc"], work)
            if path in done:
                continue  # a union reports one error per branch
            done.add(path)
            fixed = _repair(work, path, err["type"] == "extra_forbidden")
            if fixed is None:
                return None, repairs
            repairs.append(fixed)
        try:
            return Card.model_validate(work), repairs
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
    return None, repairs


# ------------------------------------------------------------------------------------ cascades

# Findings that say something is missing or inconsistent elsewhere in their config: a repair in
# the same config may be what took it away (a misspelled `classes`, a bad part regex...).
_CONFIG_WIDE = {"C304", "C307", "C311", "S205", "W403"}


def is_cascade(path: Path, code: str, repairs: Sequence[Repair]) -> bool:
    """Whether a semantic finding on the repaired Card may be an artefact of a repair."""
    for r in repairs:
        rp = r.path
        if not r.unknown_key and (path[: len(rp)] == rp or rp[: len(path)] == path):
            return True  # inside a placeholder, or about a container a repair changed
        if code in _CONFIG_WIDE and _config_of(path) is not None and _config_of(path) == _config_of(rp):
            return True
        if code == "C302" and len(path) >= 4 and rp[:4] == path[:4]:
            return True  # a per-class count was dropped from the same count
        if code == "C310" and rp[:1] == ("sources",) and (len(rp) <= 2 or rp[2] == "id"):
            return True
        if code == "C311" and rp[:1] == ("downloads",) and (len(rp) <= 2 or rp[2] == "name"):
            return True
    return False


def _config_of(path: Path) -> Path | None:
    return path[:2] if len(path) >= 2 and path[0] == "configs" else None


__all__ = ["Repair", "accepts", "best_effort", "data_path", "is_cascade", "placeholder", "slot_at"]
