"""A draft card: trying the layout of a card that still has TODOs, before its facts are filled in.

``covidct new --from-folder DIR`` writes a card whose layout is guessed from the files and whose
identity (name, license, access, sources, descriptions...) is ``TODO``. Such a card is not valid, and
``covidct validate`` says so; but the contributor's first question is whether the layout reads the
data. :func:`load_draft` answers it: when every error of the card is in a field the loader does not
read, those fields are relaxed in memory (an optional field is dropped, a required one gets a
placeholder: ``unknown`` where its vocabulary has it) and the card is returned with the list of its
problems, for a notice. Errors in what the loader reads (id, downloads, each config's name, example
and dimensionality, label names, kinds and classes, the layout, and every safety check there) still
refuse the card. The file is not changed, and a draft never enters the registry.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from covidct.card.checks import Finding, check_card, check_todos
from covidct.card.issues import KINDS, Issue, Severity
from covidct.card.model import Card
from covidct.card.validate import _finding_from_pydantic, _model_at, read_card_bytes, validate_file
from covidct.card.vocab import Vocab
from covidct.card.yamlload import Located, YamlError, decode, load

# what the loader reads: "*" is any list index, "**" anything below
LOADER_FIELDS: tuple[tuple[str, ...], ...] = (
    ("id",),
    ("downloads", "**"),
    ("configs", "*", "name"),
    ("configs", "*", "example"),
    ("configs", "*", "dimensionality"),
    ("configs", "*", "layout", "**"),
    ("configs", "*", "labels", "*", "name"),
    ("configs", "*", "labels", "*", "kind"),
    ("configs", "*", "labels", "*", "classes"),
    ("configs", "*", "labels", "*", "classes", "*", "name"),
    ("configs", "*", "labels", "*", "classes", "*", "value"),
    ("configs", "*", "image", "size", "**"),
)
MAX_ROUNDS = 2000  # relaxations; each removes or replaces one value, so a card of 50,000 values ends sooner


@dataclass
class Draft:
    """A card to try: ``card`` (None when refused), its problems as ``covidct validate`` reports them, and
    ``blockers``: the problems in fields the loader reads, which must be fixed before it can be tried."""

    path: str
    card: Card | None
    problems: list[Issue] = field(default_factory=list)
    blockers: list[Issue] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.card is not None and not self.problems

    def notice(self) -> str:
        """One line for the user: that the card is a draft, and how to see every problem."""
        n = len(self.problems)
        first = self.problems[0]
        return (f"{self.path} is not yet a valid card ({n} problem{'s' if n != 1 else ''}, e.g. line {first.line}: "
                f"{first.code} {first.message}); trying its layout anyway. `covidct validate {self.path}` lists "
                "every problem; fix them before submitting the card.")


def _match(path: tuple[str | int, ...], pattern: tuple[str, ...], prefix: bool) -> bool:
    """Whether ``path`` is ``pattern`` (or below it, with ``**``); with ``prefix``, also above it."""
    for i, p in enumerate(pattern):
        if p == "**":
            return True
        if i >= len(path):
            return prefix
        part = path[i]
        if (p == "*" and not isinstance(part, int)) or (p != "*" and part != p):
            return False
    return len(path) == len(pattern)


def reads(path: tuple[str | int, ...], data: Any) -> bool:
    """Whether the loader reads the field at ``path`` of the card ``data`` (raw YAML)."""
    return any(_match(path, p, prefix=False) for p in LOADER_FIELDS) and _label_used(path, data)


def _holds_read_fields(path: tuple[str | int, ...], data: Any) -> bool:
    """Whether ``path`` is read by the loader or holds fields that are (a config, a label, a class)."""
    return any(_match(path, p, prefix=True) for p in LOADER_FIELDS) and _label_used(path, data)


def _label_used(path: tuple[str | int, ...], data: Any) -> bool:
    """For a path inside ``configs[i].labels[j]``: whether the layout gives that label values (a label the
    layout does not mention, such as the placeholder `covidct new` writes when it cannot guess one, is
    not read). True for every other path, and when unsure."""
    if len(path) < 4 or path[0] != "configs" or path[2] != "labels" or not isinstance(path[3], int):
        return True
    try:
        cfg = data["configs"][path[1]]
        name = cfg["labels"][path[3]]["name"]
        layout = cfg.get("layout") or {}
        return name in (layout.get("labels") or {}) or name in (layout.get("files") or {})
    except (KeyError, IndexError, TypeError, AttributeError):
        return True


def load_draft(path: str | os.PathLike[str]) -> Draft:
    """Read a card file as a draft (see the module docstring). A valid card comes back with no problems."""
    shown = str(path)
    result = validate_file(path, shown)
    problems = [i for i in result.issues if i.severity is Severity.ERROR]
    if result.card is not None and not problems:
        return Draft(shown, result.card, [])
    try:
        text = decode(read_card_bytes(Path(path)))
        located = load(text)
    except (YamlError, OSError):
        return Draft(shown, None, problems, problems)  # not a YAML mapping: nothing to relax
    blockers = _blockers(located, shown, text)
    if blockers:
        return Draft(shown, None, problems, blockers)
    card, stuck = _relaxed(located.data)
    if card is None:
        assert stuck is not None
        line, col = located.where(stuck.path)
        issue = Issue(shown, line, col, stuck.code, stuck.message, stuck.hint)
        return Draft(shown, None, problems, [issue])
    dumped = card.model_dump(mode="json")
    late = [_issue(located, shown, f) for f in check_card(card)
            if KINDS[f.code].severity is Severity.ERROR and reads(f.path, dumped)]
    if late:
        return Draft(shown, None, problems, late)
    return Draft(shown, card, problems)


def _issue(located: Located, shown: str, f: Finding) -> Issue:
    line, col = located.where(f.path, key=f.key)
    return Issue(shown, line, col, f.code, f.message, f.hint)


def _blockers(located: Located, shown: str, text: str) -> list[Issue]:
    """The schema errors and TODOs of the card as written that lie in fields the loader reads."""
    data = located.data
    found = [f for f in check_todos(data, text=text) if reads(f.path, data)]
    try:
        Card.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            f = _finding_from_pydantic(err, data)
            if reads(f.path, data):
                found.append(f)
    return sorted({(f.path, f.code): _issue(located, shown, f) for f in found}.values())


def _relaxed(data: Any) -> tuple[Card | None, Finding | None]:
    """The card with every schema error relaxed away (None and the error that could not be, if any)."""
    work = copy.deepcopy(data)
    for _ in range(MAX_ROUNDS):
        try:
            return Card.model_validate(work), None
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            f = _finding_from_pydantic(err, work)
            if not _relax(work, f.path):
                return None, f
    return None, Finding((), "S205", "the draft has too many problems to try")


def _relax(work: Any, path: tuple[str | int, ...]) -> bool:
    """Make the error at ``path`` go away without touching what the loader reads: drop the list item or
    the optional field, else give the required field a placeholder; else try the enclosing value."""
    for depth in range(len(path), 0, -1):
        where, key = path[: depth - 1], path[depth - 1]
        if _holds_read_fields((*where, key), work):
            return False
        parent = _get(work, where)
        if isinstance(parent, list) and isinstance(key, int) and 0 <= key < len(parent):
            del parent[key]
            return True
        if not isinstance(parent, dict) or not isinstance(key, str):
            return False
        model = _model_at(where)
        info = model.model_fields.get(key) if model is not None else None
        if info is None or not info.is_required():
            if key in parent:
                del parent[key]
                return True
            continue
        value = _placeholder(info.annotation)
        if value is not None and parent.get(key) != value:
            parent[key] = value
            return True
    return False


def _get(data: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _placeholder(annotation: Any) -> Any:
    """A value of the field's type that says nothing: ``unknown`` (or the first value) of a vocabulary,
    a one-item list of that; None when there is none (the enclosing value is relaxed instead)."""
    import typing
    from types import UnionType

    tp = annotation
    for _ in range(6):  # Optional[...] and Annotated[...] around the type
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is typing.Annotated:
            tp = args[0]
        elif origin in (typing.Union, UnionType):
            rest = [a for a in args if a is not type(None)]
            if len(rest) != 1:
                return None
            tp = rest[0]
        elif origin in (list, tuple, set):
            inner = _placeholder(args[0])
            return [inner] if inner is not None else None
        else:
            break
    if isinstance(tp, type) and issubclass(tp, Vocab):
        values = [m.value for m in tp]
        return "unknown" if "unknown" in values else values[0]
    return None


__all__ = ["LOADER_FIELDS", "Draft", "load_draft", "reads"]
