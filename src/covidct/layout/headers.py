"""Values from DICOM headers: a layout's ``headers``, ``where`` and ``where_not``.

TCIA collections are downloaded by the NBIA Data Retriever in two folder styles (descriptive names
such as ``LIDC-IDRI/LIDC-IDRI-0001/01-01-2000-NA-NA-30178/3000566.000000-NA-03192/1-001.dcm``, or
"classic" folders named by UIDs), and other tools name them otherwise again; the header values do not
vary. So a layout may read named values from each image file's header and use them wherever a path
part is used: :func:`apply_headers` reads them (one pass per file that stops before the pixel data,
only the attributes the layout names plus the slice-order ones), leaves out the files ``where`` /
``where_not`` exclude, and returns the matches with the header values added to their parts.

Header values are untrusted text: each is bounded (a longer element is refused from its declared
length, before it is read), and printed only through :mod:`covidct.terminal` (control characters
escaped). The values read are cached under :attr:`covidct.settings.Settings.cache_dir`, keyed by the
data signature (:meth:`covidct.layout.plan.FoundFiles.signature`: path, size, mtime and ctime of
every matched file), so an unchanged folder is not read twice, and any change to it reads it again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from covidct.card.model import Layout
from covidct.card.vocab import FileFormat
from covidct.layout.walk import Found, LayoutError, Match

CACHE_FORMAT = 1
MAX_CACHE_FILES = 32  # header caches kept (one per state of a data folder); the oldest go first
MAX_CACHE_BYTES = 1 << 30  # a cache file larger than this is not read (it is rebuilt)...
CACHE_ENTRY_SLACK = 256  # ...nor one larger than its files' entries can be (see _max_cache_bytes)


def uses_headers(layout: Layout) -> bool:
    return bool(layout.headers or layout.where or layout.where_not)


def header_keywords(layout: Layout) -> tuple[str, ...]:
    """The DICOM keywords a layout reads, sorted (the slice-order ones are always read too). VOC annotation files
    are matched to slices by SOPInstanceUID, so a layout with them reads it too."""
    keywords = {str(k.value) for k in (*layout.headers.values(), *layout.where, *layout.where_not)}
    if any(spec.format == "voc-xml" for spec in layout.annotations.values()):
        keywords.add("SOPInstanceUID")
    return tuple(sorted(keywords))


def header_text(value: object) -> str:
    """A header value as the text a part holds: multi-valued attributes joined with a backslash, as DICOM
    writes them (``ORIGINAL\\PRIMARY\\AXIAL``)."""
    if isinstance(value, list):
        return "\\".join(header_text(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _values_of(value: object) -> list[str]:
    return [header_text(v) for v in value] if isinstance(value, list) else [header_text(value)]


@dataclass
class HeaderResult:
    """What :func:`apply_headers` did: the kept image matches, and the files left out, by reason."""

    found: Found
    metas: dict[str, dict[str, object]]  # image path → the header values read (for the slice order)
    left_out: Counter[str] = field(default_factory=Counter)
    left_out_examples: dict[str, str] = field(default_factory=dict)
    from_cache: bool = False


def _left_out_reason(layout: Layout, meta: Mapping[str, object]) -> str | None:
    for kw, allowed in layout.where.items():
        have = meta.get(kw.value)
        if have is None:
            return f"no {kw.value} (where {kw.value} is one of {', '.join(allowed)})"
        if not set(_values_of(have)) & set(allowed):
            return f"{kw.value} {_short(header_text(have))} (where: {', '.join(allowed)})"
    for kw, refused in layout.where_not.items():
        have = meta.get(kw.value)
        if have is not None and set(_values_of(have)) & set(refused):
            return f"{kw.value} {_short(header_text(have))} (where_not: {', '.join(refused)})"
    return None


def _short(text: str, limit: int = 64) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def apply_headers(layout: Layout, roots: list[str], found: Found, signature: str | None) -> HeaderResult:
    """The image matches of ``found`` with their header values added to their parts, ``where`` applied.

    ``signature`` is the data signature of ``found`` (None: no cache). Raises :class:`LayoutError` for
    a file that cannot be read as DICOM, or that lacks an attribute a header value needs.
    """
    import covidct.readers as rd

    fmt = layout.files["image"].format
    if fmt != FileFormat.DICOM:
        raise LayoutError(f"the layout reads DICOM headers (`headers`, `where`) but its images are {fmt.value}; "
                          "header values come only from DICOM files")
    keywords = header_keywords(layout)
    images = found.roles.get("image", [])
    cache = _cache_path(signature, roots, keywords) if signature is not None else None
    cached = _load_cache(cache, keywords, _max_cache_bytes(images, keywords)) if cache is not None else None
    index = {r: i for i, r in enumerate(roots)}
    metas: dict[str, dict[str, object]] = {}
    read = 0
    for m in images:
        meta = cached.get(f"{index.get(m.root, -1)}\0{m.rel}") if cached is not None else None
        if meta is None:
            try:
                meta = rd.read_dicom_values(m.path, keywords)
            except rd.ReadError as exc:
                raise LayoutError(f"{m.rel}: {exc.problem}; the layout reads its DICOM header ({', '.join(keywords)})"
                                  f". Remove the file, or add it to the layout's `exclude`") from None
            read += 1
        metas[m.path] = meta
    if cache is not None and read:
        _save_cache(cache, keywords, {f"{index.get(m.root, -1)}\0{m.rel}": metas[m.path] for m in images})
    result = HeaderResult(found, metas, from_cache=cached is not None and read == 0)
    kept: list[Match] = []
    for m in images:
        meta = metas[m.path]
        why = _left_out_reason(layout, meta)
        if why is not None:
            result.left_out[why] += 1
            result.left_out_examples.setdefault(why, m.rel)
            continue
        parts = dict(m.parts)
        for name, kw in layout.headers.items():
            value = meta.get(kw.value)
            if value is None:
                raise LayoutError(f"{m.rel}: its DICOM header has no {kw.value}, which the layout's header value "
                                  f"{name!r} reads. Leave such files out with `where`, or add them to `exclude`")
            parts[name] = header_text(value)
        kept.append(Match(m.root, m.rel, parts))
    result.found = replace(found, roles={**found.roles, "image": kept})
    return result


# ------------------------------------------------------------------------------------------- cache


CACHE_NAME = re.compile(r"[0-9a-f]{32}\.json")  # the files of the cache folder covidct wrote (and may delete)


def _cache_path(signature: str, roots: list[str], keywords: tuple[str, ...]) -> Path | None:
    """The cache file for this state of the data, or None when the cache folder is not covidct's own.

    The folder ``dicom-headers`` must be a real folder (or absent): a symbolic link there would make
    covidct write cache files into, and prune the oldest ``*.json`` files of, whatever folder it names.
    """
    from covidct.settings import settings

    folder = settings().cache_dir / "dicom-headers"
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return None
    except FileNotFoundError:
        pass
    except OSError:
        return None
    key = hashlib.sha256(json.dumps([CACHE_FORMAT, signature, roots, keywords]).encode("utf-8", "surrogateescape"))
    return folder / f"{key.hexdigest()[:32]}.json"


def _plain_value(v: Any) -> bool:
    if isinstance(v, list):
        return all(isinstance(x, (str, int, float)) and not isinstance(x, bool) for x in v)
    return isinstance(v, (str, int, float)) and not isinstance(v, bool)


def _max_cache_bytes(images: list[Match], keywords: tuple[str, ...]) -> int:
    """The largest cache the files of ``images`` can have: each entry holds at most the keywords and the
    slice-order attributes, each value at most MAX_VALUE_BYTES characters escaped as JSON (6 bytes a
    character at most), and its key the relative path (escaped too). A larger file is not what covidct
    wrote: it is not read, so a replaced cache cannot take more memory than the data folder's own."""
    from covidct.readers.dicom import MAX_VALUE_BYTES, ORDER_KEYWORDS

    per_value = 6 * 4 * MAX_VALUE_BYTES + CACHE_ENTRY_SLACK  # _load_cache allows 4x MAX_VALUE_BYTES per value
    entry = (len(keywords) + len(ORDER_KEYWORDS)) * per_value + CACHE_ENTRY_SLACK
    return min(MAX_CACHE_BYTES, 4096 + sum(entry + 6 * len(m.rel) for m in images))


def _load_cache(path: Path, keywords: tuple[str, ...], max_bytes: int = MAX_CACHE_BYTES
                ) -> dict[str, dict[str, object]] | None:
    """The cached header values, or None when there is no usable cache (absent, damaged, another format)."""
    from covidct.fsutil import UnsafePath, open_regular

    try:
        with open_regular(path, "header cache") as fh:
            if os.fstat(fh.fileno()).st_size > max_bytes:
                return None
            data = json.loads(fh.read().decode("utf-8", "surrogateescape"))
    except (OSError, UnsafePath, ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
        return None
    if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT or data.get("keywords") != list(keywords):
        return None
    files = data.get("files")
    if not isinstance(files, dict):
        return None
    from covidct.readers.dicom import MAX_VALUE_BYTES

    allowed = {*keywords, "SliceLocation", "ImagePositionPatient", "ImageOrientationPatient", "InstanceNumber"}
    for meta in files.values():  # the cache is a file on disk like any other: checked before it is trusted
        if not isinstance(meta, dict) or not all(
                k in allowed and _plain_value(v) and len(str(v)) <= 4 * MAX_VALUE_BYTES for k, v in meta.items()):
            return None
    return files


def _save_cache(path: Path, keywords: tuple[str, ...], files: dict[str, dict[str, object]]) -> None:
    """Write the cache (temporary file, then rename); a cache that cannot be written is only not kept."""
    from covidct.fsutil import atomic_write_text

    try:
        atomic_write_text(path, json.dumps({"format": CACHE_FORMAT, "keywords": list(keywords), "files": files},
                                           ensure_ascii=True, separators=(",", ":")))
        olds = []
        for entry in os.scandir(path.parent):  # only the cache files covidct names, never a link or a folder
            if CACHE_NAME.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                olds.append((entry.stat(follow_symlinks=False).st_mtime_ns, entry.path))
        for _mtime, old in sorted(olds, reverse=True)[MAX_CACHE_FILES:]:
            with contextlib.suppress(FileNotFoundError):  # another process pruned it first
                os.unlink(old)
    except OSError:
        pass


__all__ = ["HeaderResult", "apply_headers", "header_keywords", "header_text", "uses_headers"]
