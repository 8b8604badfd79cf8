"""Validate card files: YAML, schema and semantic checks, every issue located in its file.

:func:`validate_file` checks one file; :func:`validate_paths` checks many (optionally on several
processes) and adds the registry-wide checks (unique ids and aliases, lineage targets).
"""

from __future__ import annotations

import os
import typing
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Any

from pydantic import BaseModel, ValidationError

from covidct.card.checks import Finding, check_card, check_todos
from covidct.card.issues import Issue, Severity
from covidct.card.model import Card
from covidct.card.vocab import Vocab
from covidct.card.yamlload import MAX_BYTES, Located, YamlError, decode, load

Pos = tuple[int, int]


@dataclass
class Summary:
    """What the registry-wide checks need from one card (small, so it crosses processes cheaply)."""

    id: str
    id_pos: Pos
    names: list[tuple[str, Pos]]  # aliases and name, with positions
    lineage: list[tuple[str, Pos]]
    mentions: set[str] = field(default_factory=set)  # ids this card's lineage names


@dataclass
class FileResult:
    path: str
    card: Card | None
    issues: list[Issue]
    summary: Summary | None = None


def read_card_bytes(path: Path) -> bytes:
    from covidct.fsutil import UnsafePath, open_regular

    size = path.stat().st_size
    if size > MAX_BYTES:
        raise YamlError("Y103", f"file is {size:,} bytes; a card may have at most {MAX_BYTES:,}")
    try:
        fh = open_regular(path, "card")  # a FIFO named x.yaml would block `covidct validate` and `list`
    except UnsafePath as exc:
        raise OSError(exc.problem) from None
    with fh:
        return fh.read(MAX_BYTES + 1)


def parse_card_text(text: str, display: str, expected_id: str | None = None) -> FileResult:
    """Validate card text (already decoded); ``expected_id`` is the file name's stem."""
    try:
        located = load(text)
    except YamlError as exc:
        return FileResult(display, None, [Issue(display, exc.line, exc.col, exc.code, exc.message, exc.hint)])
    return _validate_located(located, display, expected_id, text)


def validate_file(path: str | os.PathLike[str], display: str | None = None) -> FileResult:
    p = Path(path)
    shown = display or str(path)
    try:
        text = decode(read_card_bytes(p))
    except YamlError as exc:
        return FileResult(shown, None, [Issue(shown, exc.line, exc.col, exc.code, exc.message, exc.hint)])
    except OSError as exc:
        return FileResult(shown, None, [Issue(shown, 1, 1, "Y110", f"cannot read: {exc.strerror or exc}")])
    stem = p.name[: -len(".yaml")] if p.name.endswith(".yaml") else p.stem
    return parse_card_text(text, shown, stem)


def _validate_located(located: Located, display: str, expected_id: str | None, text: str | None = None) -> FileResult:
    issues: list[Issue] = []

    def add(f: Finding) -> None:
        line, col = located.where(f.path, key=f.key)
        issues.append(Issue(display, line, col, f.code, f.message, f.hint))

    data = located.data
    todos = set()
    for f in check_todos(data, text=text):
        todos.add(f.path)
        add(f)
    card: Card | None = None
    try:
        card = Card.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            f = _finding_from_pydantic(err, data)
            if f.path not in todos:  # a TODO placeholder is reported once, as C313, not also as a bad value
                add(f)
    if isinstance(data.get("id"), str) and expected_id is not None and data["id"] != expected_id:
        add(Finding(("id",), "C301", f"id {data['id']!r} differs from the file name {expected_id + '.yaml'!r}",
                    hint=f"rename the file to {data['id']}.yaml or set id: {expected_id}"))
    summary = None
    if card is not None:
        for f in check_card(card):
            add(f)
        names = [(a, located.where(("aliases", i))) for i, a in enumerate(card.aliases)]
        names.append((card.name, located.where(("name",))))
        summary = Summary(
            id=card.id,
            id_pos=located.where(("id",)),
            names=names,
            lineage=[(lin.card, located.where(("lineage", i, "card"))) for i, lin in enumerate(card.lineage)],
            mentions={lin.card for lin in card.lineage},
        )
    issues.sort()
    return FileResult(display, card, issues, summary)


# ------------------------------------------------------------------------------------ pydantic errors

_TYPE_ERRORS = {"string_type", "int_type", "int_parsing", "int_from_float", "float_type", "float_parsing",
                "bool_type", "bool_parsing", "list_type", "dict_type", "model_type", "model_attributes_type",
                "date_type", "date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact",
                "string_sub_type", "none_required"}
_VOCAB_ERRORS = {"enum", "literal_error", "string_pattern_mismatch"}


def _finding_from_pydantic(err: Any, data: Any) -> Finding:
    loc = _data_path(err["loc"], data)
    typ = err["type"]
    msg = err["msg"]
    where = ".".join(str(x) for x in loc) or "card"
    if typ == "extra_forbidden":
        field_name = loc[-1] if loc else "?"
        allowed = _fields_at(loc[:-1])
        return Finding(loc, "S201", f"unknown field {field_name!r} in `{'.'.join(map(str, loc[:-1])) or 'card'}`",
                       hint=_near_hint(str(field_name), allowed), key=True)
    if typ == "missing":
        missing = err["loc"][-1]
        parent = loc if loc and loc[-1] != missing else loc[:-1]
        return Finding(parent, "S202", f"missing required field `{'.'.join(map(str, (*parent, missing)))}`",
                       hint=_describe_field(parent, str(missing)))
    value = err.get("input")
    shown = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    if len(shown) > 80:
        shown = shown[:77] + "..."
    if typ in _TYPE_ERRORS:
        return Finding(loc, "S203", f"`{where}`: {msg.lower()}, got {shown}")
    if typ in _VOCAB_ERRORS:
        ctx = err.get("ctx", {})
        if typ == "string_pattern_mismatch":
            return Finding(loc, "S204", f"`{where}`: {shown} does not match the pattern {ctx.get('pattern', '')!r}")
        expected = str(ctx.get("expected", "")).replace("'", "")
        return Finding(loc, "S204", f"`{where}`: {shown} is not allowed", hint=f"allowed: {expected}")
    text = msg.removeprefix("Value error, ")
    return Finding(loc, "S205", f"`{where}`: {text}")


def _data_path(loc: Sequence[Any], data: Any) -> tuple[str | int, ...]:
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


def _model_at(path: Sequence[str | int]) -> type[BaseModel] | None:
    model: Any = Card
    for part in path:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            # a dict field: its values may be models (dict[str, Model])
            return None
        model = _unwrap(model.model_fields[part].annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    """The model inside Optional[...], list[...], dict[str, ...] and Annotated[...]."""
    for _ in range(6):
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is typing.Annotated or origin in (list, tuple, set):
            tp = args[0]
        elif origin is dict:
            tp = args[1]
        elif origin in (typing.Union, UnionType):
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            if models:
                return models[0]
            tp = next((a for a in args if a is not type(None)), tp)
        else:
            return tp
    return tp


def _fields_at(path: Sequence[str | int]) -> list[str]:
    model = _model_at(path)
    if model is None and path:
        # dict[str, Model]: the key is a free name, the model is one level up
        model = _model_at(path[:-1])
        if model is not None and isinstance(path[-1], str) and path[-1] in model.model_fields:
            inner = _unwrap(model.model_fields[path[-1]].annotation)
            model = inner if isinstance(inner, type) and issubclass(inner, BaseModel) else None
    return sorted(model.model_fields) if model is not None else []


def _describe_field(parent: Sequence[str | int], name: str) -> str | None:
    model = _model_at(parent)
    if model is None or name not in model.model_fields:
        return None
    desc = model.model_fields[name].description
    return desc.rstrip(".") if desc else None


def _near_hint(word: str, allowed: list[str]) -> str | None:
    import difflib

    best = difflib.get_close_matches(word, allowed, n=1, cutoff=0.5)
    if best:
        return f"did you mean {best[0]!r}?"
    return f"allowed fields: {', '.join(allowed)}" if allowed else None


# ------------------------------------------------------------------------------------ many files


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out.extend(sorted(x for x in path.glob("*.yaml") if not x.name.startswith(("_", "."))))
        else:
            out.append(path)
    return out


def _validate_chunk(paths: list[str]) -> list[FileResult]:
    results = []
    for p in paths:
        r = validate_file(p)
        r.card = None  # do not ship the model back across processes: the summary is enough
        results.append(r)
    return results


def validate_paths(paths: Iterable[str | os.PathLike[str]], jobs: int = 1,
                   known_ids: set[str] | None = None) -> list[FileResult]:
    """Validate files (directories expand to their cards) and run the registry-wide checks.

    ``known_ids`` adds ids of cards outside ``paths`` (e.g. the registry, when checking one new card).
    With ``jobs > 1`` files are validated in worker processes; results come back in input order.
    """
    files = [str(p) for p in expand_paths(paths)]
    if jobs > 1 and len(files) > 50:
        n = max(1, len(files) // (jobs * 8))
        chunks = [files[i: i + n] for i in range(0, len(files), n)]
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            results = [r for chunk in pool.map(_validate_chunk, chunks) for r in chunk]
    else:
        results = [validate_file(f) for f in files]
    registry_checks(results, known_ids or set())
    return results


def registry_checks(results: list[FileResult], extra_ids: set[str]) -> None:
    """Unique ids and aliases across files; lineage targets exist. Appends to each result's issues."""
    owners: dict[str, tuple[str, str]] = {}  # casefolded name -> (card id, file)
    ids = {r.summary.id for r in results if r.summary} | extra_ids
    for r in results:
        s = r.summary
        if s is None:
            continue
        for name, pos, is_id in [(s.id, s.id_pos, True)] + [(n, p, False) for n, p in s.names]:
            key = name.casefold()
            prev = owners.get(key)
            if prev is not None and prev[0] != s.id:
                what = "id" if is_id else "name or alias"
                r.issues.append(Issue(r.path, pos[0], pos[1], "C308",
                                      f"{what} {name!r} is already used by card {prev[0]!r} ({prev[1]})",
                                      "ids and aliases must name one dataset"))
            elif prev is None:
                owners[key] = (s.id, r.path)
        for target, pos in s.lineage:
            if target != s.id and target not in ids:
                r.issues.append(Issue(r.path, pos[0], pos[1], "C305", f"no card with id {target!r} in the registry",
                                      "add that card first, or fix the id"))
        r.issues.sort()


def count(results: list[FileResult]) -> tuple[int, int]:
    errors = sum(1 for r in results for i in r.issues if i.severity is Severity.ERROR)
    warnings = sum(1 for r in results for i in r.issues if i.severity is Severity.WARNING)
    return errors, warnings


__all__ = ["FileResult", "Vocab", "count", "parse_card_text", "validate_file", "validate_paths"]
