"""Validate card files: YAML, schema and semantic checks, every issue located in its file.

:func:`validate_file` checks one file; :func:`validate_paths` checks many (optionally on several
processes) and adds the registry-wide checks (unique ids and aliases, lineage targets).
"""

from __future__ import annotations

import datetime as dt
import os
import typing
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import UnionType
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from covidct.card.checks import Finding, check_card, check_todos
from covidct.card.crosscard import FileResult, Pos, Summary, count, registry_checks
from covidct.card.issues import Issue
from covidct.card.model import Card
from covidct.card.partial import best_effort, data_path, is_cascade
from covidct.card.vocab import Vocab
from covidct.card.yamlload import MAX_BYTES, Located, YamlError, decode, load
from covidct.cards_snapshot import card_files

CARD_SUFFIX = ".yaml"

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


def parse_card_text(text: str, display: str, expected_id: str | None = None, *,
                    in_registry: bool = False) -> FileResult:
    """Validate card text (already decoded); ``expected_id`` is the file name's stem.

    ``in_registry``: the card is one of the registry's, which must pin every download URL with a
    sha256 (an error there, a warning elsewhere).
    """
    try:
        located = load(text)
    except YamlError as exc:
        return FileResult(display, None, [Issue(display, exc.line, exc.col, exc.code, exc.message, exc.hint)])
    if not set(located.data) & set(Card.model_fields):
        return FileResult(display, None, [Issue(display, 1, 1, "Y112", "not a card: no card field (`id`, "
                                                "`name`, `configs`...) at the top level")])
    return _validate_located(located, display, expected_id, text, in_registry)


def validate_file(path: str | os.PathLike[str], display: str | None = None, *,
                  in_registry: bool = False, id_from_name: bool = True) -> FileResult:
    """Validate one card file. ``id_from_name``: its id must equal the file's name (``<id>.yaml``); an
    exported Hub folder's ``card.yaml`` has no such name."""
    p = Path(path)
    shown = display or str(path)
    if p.suffix != CARD_SUFFIX:
        hint = f"rename it to {p.stem}{CARD_SUFFIX} if it is one"
        return FileResult(shown, None, [Issue(shown, 1, 1, "Y112", f"not a card: cards are YAML files named "
                                              f"<id>{CARD_SUFFIX}", hint)])
    try:
        data = read_card_bytes(p)
    except YamlError as exc:
        return FileResult(shown, None, [Issue(shown, exc.line, exc.col, exc.code, exc.message, exc.hint)])
    except OSError as exc:
        return FileResult(shown, None, [Issue(shown, 1, 1, "Y110", f"cannot read: {exc.strerror or exc}")])
    return validate_bytes(data, shown, p.name[: -len(CARD_SUFFIX)] if id_from_name else None,
                          in_registry=in_registry)


def validate_bytes(data: bytes, display: str, stem: str | None, *, in_registry: bool = False) -> FileResult:
    """Validate the bytes of a card file named ``<stem>.yaml`` (already read, at most MAX_BYTES + 1):
    the index hashes and validates the very bytes it read."""
    try:
        text = decode(data)
    except YamlError as exc:
        return FileResult(display, None, [Issue(display, exc.line, exc.col, exc.code, exc.message, exc.hint)])
    return parse_card_text(text, display, stem, in_registry=in_registry)


def _validate_located(located: Located, display: str, expected_id: str | None, text: str | None = None,
                      in_registry: bool = False) -> FileResult:
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
    checked: Card | None = None  # the card the semantic checks run on: the card, or a repaired copy
    repairs: list[Any] = []
    try:
        card = checked = Card.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        for err in errors:
            f = _finding_from_pydantic(err, data)
            if f.path not in todos:  # a TODO placeholder is reported once, as C313, not also as a bad value
                add(f)
        # every problem at once: the semantic checks also run on the parts that did parse
        checked, repairs = best_effort(data, errors)
    if isinstance(data.get("id"), str) and expected_id is not None and data["id"] != expected_id:
        add(Finding(("id",), "C301", f"id {data['id']!r} differs from the file name {expected_id + '.yaml'!r}",
                    hint=f"rename the file to {data['id']}.yaml or set id: {expected_id}"))
    if checked is not None:
        for f in check_card(checked, in_registry=in_registry):
            if f.path not in todos and not (repairs and is_cascade(f.path, f.code, repairs)):
                add(f)
    issues.sort()
    return FileResult(display, card, issues, summarize(located, expected_id))


def summarize(located: Located, stem: str | None) -> Summary | None:
    """Ids, names and lineage targets of a card, from its raw data (a card that fails validation
    still claims its names), with positions. None without an id (nor a file name to stand in)."""
    data = located.data
    card_id = data.get("id") if isinstance(data.get("id"), str) else stem
    if card_id is None:
        return None
    names: list[tuple[str, Pos]] = []
    aliases = data.get("aliases")
    if isinstance(aliases, list):
        names += [(a, located.where(("aliases", i))) for i, a in enumerate(aliases) if isinstance(a, str)]
    if isinstance(data.get("name"), str):
        names.append((data["name"], located.where(("name",))))
    lineage: list[tuple[str, Pos]] = []
    if isinstance(data.get("lineage"), list):
        for i, lin in enumerate(data["lineage"]):
            if isinstance(lin, dict) and isinstance(lin.get("card"), str):
                lineage.append((lin["card"], located.where(("lineage", i, "card"))))
    return Summary(id=card_id, id_pos=located.where(("id",)), names=names, lineage=lineage)


# ------------------------------------------------------------------------------------ pydantic errors

_TYPE_ERRORS = {"string_type", "int_type", "int_parsing", "int_from_float", "float_type", "float_parsing",
                "bool_type", "bool_parsing", "list_type", "dict_type", "model_type", "model_attributes_type",
                "date_type", "date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact",
                "string_sub_type", "none_required"}
_VOCAB_ERRORS = {"enum", "literal_error", "string_pattern_mismatch"}
_BOUND_ERRORS = {"less_than_equal", "greater_than_equal", "less_than", "greater_than", "finite_number"}


def _finding_from_pydantic(err: Any, data: Any) -> Finding:
    loc = data_path(err["loc"], data)
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
    shown = (value.isoformat() if isinstance(value, dt.date) else repr(value)) if not isinstance(value, (dict, list)) \
        else type(value).__name__
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
    if typ in _BOUND_ERRORS:
        ctx = err.get("ctx", {})
        limit = next((f"{op} {ctx[k]:,}" if isinstance(ctx.get(k), (int, float)) else f"{op} {ctx[k]}"
                      for k, op in (("le", "<="), ("ge", ">="), ("lt", "<"), ("gt", ">")) if k in ctx), None)
        rule = f"must be {limit}" if limit else "must be a finite number"
        return Finding(loc, "S205", f"`{where}`: {shown} is out of range ({rule})",
                       hint="no real dataset has such a value: check it and its source")
    text = msg.removeprefix("Value error, ")
    return Finding(loc, "S205", f"`{where}`: {text}")


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
            out.extend(card_files(path))
        else:
            out.append(path)
    return out


def _validate_chunk(items: list[tuple[str, bool]]) -> list[FileResult]:
    results = []
    for p, in_registry in items:
        r = validate_file(p, in_registry=in_registry)
        r.card = None  # do not ship the model back across processes: the summary is enough
        results.append(r)
    return results


class RegistryIndex(Protocol):
    """What :func:`validate_paths` asks of an index of the registry's folder (covidct.cardindex.CardIndex)."""

    def registry_results(self, files: Sequence[Path], jobs: int) -> tuple[dict[str, FileResult],
                                                                           list[tuple[Summary, str]]]:
        """Per-card results of ``files`` (cards of the indexed folder, keyed by ``str(file)``) and the
        summaries of the folder's other cards, with their shown paths."""
        ...


def validate_paths(paths: Iterable[str | os.PathLike[str]], jobs: int = 1, known_ids: set[str] | None = None,
                   registry_dir: str | os.PathLike[str] | None = None,
                   index: RegistryIndex | None = None) -> list[FileResult]:
    """Validate files (directories expand to their cards) and run the registry-wide checks.

    The registry-wide checks see every card of ``registry_dir`` and of the checked files' folders,
    checked or not: a new card may not reuse their ids, names or aliases, and its lineage may point
    at them. Cards directly in ``registry_dir`` are registry cards: a download URL needs a sha256.
    ``known_ids`` adds further ids that lineage may point at. With ``jobs > 1`` files are validated
    in worker processes; results come back in input order. ``index`` (of ``registry_dir``) gives the
    per-card results of the registry's cards, validating only those that changed since it last saw them.
    """
    files = expand_paths(paths)
    registry = Path(registry_dir).resolve() if registry_dir is not None and Path(registry_dir).is_dir() else None
    folder_of = _FolderOf()
    items = [(str(f), registry is not None and folder_of(f) == registry) for f in files]
    done: dict[str, FileResult] = {}
    context: list[tuple[Summary, str]] = []
    if index is not None and registry is not None:
        done, context = index.registry_results([f for f, (_, reg) in zip(files, items, strict=True) if reg], jobs)
        outside = [f for f in files if folder_of(f) != registry]
        context += context_summaries(outside, None, folder_of)
    else:
        context = context_summaries(files, registry, folder_of)
    todo = [it for it in items if it[0] not in done]
    if jobs > 1 and len(todo) > 50:
        n = max(1, len(todo) // (jobs * 8))
        chunks = [todo[i: i + n] for i in range(0, len(todo), n)]
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            fresh = [r for chunk in pool.map(_validate_chunk, chunks) for r in chunk]
    else:
        fresh = [validate_file(f, in_registry=reg) for f, reg in todo]
    by_path = dict(zip((f for f, _ in todo), fresh, strict=True))
    results = []
    for f, _ in items:  # a file named twice is checked twice, each with its own list of issues
        r = done.get(f) or by_path[f]
        results.append(FileResult(r.path, r.card, list(r.issues), r.summary))
    registry_checks(results, known_ids or set(), context)
    return results


class _FolderOf:
    """The resolved folder of a file, resolving each folder once (thousands of cards share one)."""

    def __init__(self) -> None:
        self._seen: dict[Path, Path] = {}

    def __call__(self, f: Path) -> Path:
        parent = f.parent
        if parent not in self._seen:
            self._seen[parent] = parent.resolve()
        return self._seen[parent]


def context_summaries(files: Sequence[Path], registry_dir: Path | None,
                      folder_of: _FolderOf | None = None) -> list[tuple[Summary, str]]:
    """(summary, file) of the cards beside ``files`` and in ``registry_dir`` that are not among them."""
    folder_of = folder_of or _FolderOf()
    checked = {(folder_of(f), f.name) for f in files}
    folders = dict.fromkeys(([registry_dir] if registry_dir is not None else []) + [folder_of(f) for f in files])
    out: list[tuple[Summary, str]] = []
    for folder in folders:
        for p in card_files(folder):
            if (folder, p.name) in checked:
                continue
            checked.add((folder, p.name))
            stem = p.name[: -len(CARD_SUFFIX)]
            try:
                summary = summarize(load(decode(read_card_bytes(p))), stem)
            except (YamlError, OSError):
                summary = None
            out.append((summary or Summary(stem, (1, 1), [], []), _shown_path(p)))
    return out


def _shown_path(p: Path) -> str:
    try:
        return str(p.relative_to(Path.cwd()))
    except ValueError:
        return str(p)


__all__ = ["FileResult", "Summary", "Vocab", "count", "parse_card_text", "registry_checks", "validate_bytes",
           "validate_file", "validate_paths"]
