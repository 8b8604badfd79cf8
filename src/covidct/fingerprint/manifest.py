"""Fingerprint manifests: one Parquet row per image (per slice of a volume), hashes only, never pixels.

A manifest is made from a card config (:func:`card_sources`: the layout interpreter says which files
are images and gives each its example id, patient, scan, split and label) or from any folder
(:func:`folder_sources`: every regular file whose content is an image). :func:`fingerprint` hashes
the files on every core, shows a progress bar, writes a checkpoint every half minute and at Ctrl-C
(to a temporary file, then renamed), and on a rerun reuses the rows of files whose size and
modification time are unchanged. An unreadable file gets a row with its ``error`` and no hashes: it
is reported and counted, never fatal.

Columns (:data:`SCHEMA`): ``path`` (relative to the data folder, ``/``-separated), ``frame`` (index of
the slice in a volume or multi-frame file; null for a 2-D image), ``size``, ``mtime_ns``, ``format``,
``rows``, ``cols``, ``sha256`` (file), ``pixel_sha256``, ``phash`` (32 bytes), the DICOM
``patient_id``, ``study_uid``, ``series_uid``, ``sop_uid``, the card's ``example``, ``patient``,
``scan``, ``split``, ``label``, and ``error``. The file's key-value metadata ``covidct`` holds
:class:`ManifestInfo` as JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from covidct.errors import CovidctError
from covidct.fingerprint import hashing
from covidct.fsutil import UnsafePath, open_regular, walk_entries

MANIFEST_VERSION = "covidct-manifest/1"
METADATA_KEY = b"covidct"
CHECKPOINT_SECONDS = 30.0
WHOLE_FILE_LIMIT = 256 << 20  # files up to this size are read once into memory (hash, then decode)
TEXT_COLUMNS = ("path", "format", "sha256", "pixel_sha256", "patient_id", "study_uid", "series_uid", "sop_uid",
                "example", "patient", "scan", "split", "label", "error")
CARD_COLUMNS = ("example", "patient", "scan", "split", "label")
DICOM_COLUMNS = {"patient_id": "PatientID", "study_uid": "StudyInstanceUID", "series_uid": "SeriesInstanceUID",
                 "sop_uid": "SOPInstanceUID"}
# image formats decided by content; OTHER is tried with Pillow only for these raster extensions
MIN_SIDE = 8  # in a folder, arrays with a side shorter than this are data, not images
RASTER_EXTS = (".gif", ".webp", ".jp2", ".j2k", ".ppm", ".pgm", ".pbm", ".tga", ".ico")


class ManifestError(CovidctError):
    """A manifest cannot be used (not Parquet, not a covidct manifest, another hash spec)."""


def schema() -> Any:
    import pyarrow as pa

    return pa.schema([
        ("path", pa.string()), ("frame", pa.int32()), ("size", pa.int64()), ("mtime_ns", pa.int64()),
        ("format", pa.string()), ("rows", pa.int32()), ("cols", pa.int32()),
        ("sha256", pa.string()), ("pixel_sha256", pa.string()), ("phash", pa.binary(hashing.PHASH_BYTES)),
        ("patient_id", pa.string()), ("study_uid", pa.string()), ("series_uid", pa.string()), ("sop_uid", pa.string()),
        ("example", pa.string()), ("patient", pa.string()), ("scan", pa.string()), ("split", pa.string()),
        ("label", pa.string()), ("error", pa.string()),
    ])


@dataclass
class ManifestInfo:
    """What a manifest describes and how it was made (stored in the Parquet metadata)."""

    card: str | None = None
    config: str | None = None
    folder: str | None = None  # the folder's name only: absolute paths stay private
    version: str = MANIFEST_VERSION
    phash: str = hashing.PHASH_SPEC
    pixels: str = hashing.PIXELS_SPEC
    covidct: str = ""
    created: str = ""
    complete: bool = False
    files: int = 0
    rows: int = 0
    errors: int = 0

    @property
    def name(self) -> str:
        if self.card:
            return f"{self.card}/{self.config}" if self.config else self.card
        return self.folder or "manifest"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Task:
    """One file to fingerprint: where it is, its name in the manifest, and what the card says of it."""

    path: str
    rel: str
    fmt: str | None = None  # the card's declared format; None: decided by content
    hounsfield: bool | None = None  # the card says the values are HU (None: decided from the values)
    folder_mode: bool = False  # skip files whose content is not an image (instead of an error)


@dataclass
class FileResult:
    rel: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    skipped: str | None = None  # not an image (folder mode): what it is


# ------------------------------------------------------------------------------------------ one file


def _frames(arr: Any, meta: dict[str, object], family: str) -> list[tuple[int | None, Any]]:
    """The 2-D images of a decoded file: (frame index or None, array (H, W) or (H, W, C))."""
    colour = arr.ndim >= 3 and arr.shape[-1] in (3, 4) and (
        family in ("raster", "tiff") or int(meta.get("SamplesPerPixel") or 1) > 1)  # type: ignore[call-overload]
    plane = 3 if colour else 2
    if arr.ndim < plane:
        raise ValueError(f"an image of shape {tuple(arr.shape)} has fewer than 2 dimensions")
    if arr.ndim == plane:
        return [(None, arr)]
    stack = arr.reshape((-1, *arr.shape[-plane:]))
    return [(i, stack[i]) for i in range(stack.shape[0])]


def _content_format(head: bytes, task: Task, data: bytes | None) -> tuple[Any, str | None]:
    """(FileFormat to read as, or None to skip) and, when skipped, what the file is."""
    from covidct.card.vocab import FileFormat
    from covidct.readers import family
    from covidct.readers._magic import sniff, sniff_bytes

    fmt = sniff_bytes(head, task.path)
    if fmt is FileFormat.OTHER and head[:2] == b"\x1f\x8b":
        fmt = sniff(task.path)
    if task.fmt is not None and not task.folder_mode:
        return FileFormat(task.fmt), None
    if fmt is FileFormat.OTHER:
        if task.path.lower().endswith(RASTER_EXTS):
            return fmt, None
        ext = os.path.splitext(task.path)[1].lower()
        return None, ext or "no extension"
    if family(fmt) is None:
        return None, fmt.value
    return fmt, None


def _unreadable(res: FileResult, exc: OSError | UnsafePath) -> FileResult:
    """The error row of a file that could not be opened (gone, unreadable, or no longer a regular file)."""
    res.error = exc.problem if isinstance(exc, UnsafePath) else f"cannot read ({exc.strerror or exc})"
    res.rows = [{"path": res.rel, "error": res.error}]
    return res


def fingerprint_file(task: Task) -> FileResult:
    """Hash one file: a row per 2-D image in it; an error row when it cannot be read."""
    import io

    from covidct.card.vocab import Intensity
    from covidct.readers import ReadError, family, read

    res = FileResult(task.rel)
    try:
        st = os.stat(task.path)
        base: dict[str, Any] = {"path": task.rel, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
        with open_regular(task.path) as fh:  # a FIFO swapped in after the scan must not block
            if st.st_size <= WHOLE_FILE_LIMIT:
                data: bytes | None = fh.read()
                head = data[:512]
            else:
                data, head = None, fh.read(512)
    except (OSError, UnsafePath) as exc:
        return _unreadable(res, exc)
    fmt, skipped = _content_format(head, task, data)
    if fmt is None:
        res.skipped = skipped
        return res
    try:
        base["sha256"] = hashing.file_sha256(data) if data is not None else hashing.stream_sha256(task.path)
    except (OSError, UnsafePath) as exc:
        return _unreadable(res, exc)
    fam = family(fmt) or "raster"
    try:
        src: Any = io.BytesIO(data) if data is not None and fam in ("raster", "tiff", "dicom", "npy") else task.path
        if isinstance(src, io.BytesIO):
            src.name = task.path  # messages name the file
        dec = read(src, fmt)
        meta = dec.meta
        base["format"] = str(meta.get("real_format") or fmt.value)
        for col, tag in DICOM_COLUMNS.items():
            value = meta.get(tag)
            if value not in (None, ""):
                base[col] = str(value)
        hu = task.hounsfield
        if dec.intensity is Intensity.HOUNSFIELD:
            hu = True
        frames = _frames(dec.array, meta, fam)
        if task.folder_mode and frames and min(frames[0][1].shape[:2]) < MIN_SIDE:
            res.skipped = f"{fmt.value} arrays of numbers"  # e.g. label arrays: a side of fewer than 8 values
            return res
        for frame, plane in frames:
            row = dict(base)
            row["frame"] = frame
            row["rows"], row["cols"] = int(plane.shape[0]), int(plane.shape[1])
            row["pixel_sha256"] = hashing.pixel_sha256(plane)
            row["phash"] = hashing.perceptual_hash(plane, hounsfield=hu)
            res.rows.append(row)
    except ReadError as exc:
        res.error = exc.problem + (f"; {exc.hint}" if exc.hint else "")
    except (ValueError, MemoryError, OverflowError) as exc:
        res.error = f"cannot hash the pixels ({type(exc).__name__}: {exc})"
    if res.error is not None:
        res.rows = [{**base, "error": res.error}]
    return res


# ------------------------------------------------------------------------------------------ sources


@dataclass
class Source:
    """What to fingerprint: tasks, and per file the card rows it belongs to (none in folder mode)."""

    info: ManifestInfo
    tasks: list[Task]
    members: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # rel → card fields, one per example
    notes: list[str] = field(default_factory=list)


def folder_sources(folder: str | os.PathLike[str]) -> Source:
    """Every regular file under ``folder`` (symbolic links are not followed; hidden names are skipped)."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise ManifestError(f"{root} is not a folder")
    real = os.path.realpath(root)
    tasks, links, special = [], [], 0
    try:
        for rel, e in walk_entries(real, skip_hidden=True):
            if e.is_symlink():
                links.append(rel)
            elif e.is_file(follow_symlinks=False):
                tasks.append(Task(e.path, rel, folder_mode=True))
            elif not e.is_dir(follow_symlinks=False):
                special += 1
    except OSError as exc:
        raise ManifestError(f"cannot list {exc.filename or real}: {exc.strerror or exc}") from None
    notes = []
    if links:
        notes.append(f"{len(links)} symbolic link(s) not followed: {', '.join(links[:3])}"
                     + (" ..." if len(links) > 3 else ""))
    if special:
        notes.append(f"{special} special file(s) (pipes, sockets, devices) skipped")
    return Source(ManifestInfo(folder=root.resolve().name), tasks, notes=notes)


def _label(rec: Any) -> str | None:
    for value in rec.labels.values():
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return str(value)
    return None


def card_sources(card: Any, config: Any, data_dir: str | os.PathLike[str]) -> Source:
    """The image files of a card config under ``data_dir``, through the layout interpreter."""
    from covidct.card.vocab import Intensity
    from covidct.layout.plan import make_plan

    base = os.path.realpath(Path(data_dir).expanduser())
    plan = make_plan(card, config, [base])
    cfg = plan.config
    assert cfg.layout is not None
    fmt = str(cfg.layout.files["image"].format.value)
    intensity = cfg.image.intensity
    hu = True if intensity in (Intensity.HOUNSFIELD, Intensity.STORED_WITH_RESCALE) else (
        False if intensity is Intensity.RAW_16BIT else None)
    members: dict[str, list[dict[str, Any]]] = {}
    tasks = []
    for rec in plan.records():
        fields = {"example": rec.key, "patient": rec.patient, "scan": rec.scan, "split": rec.split,
                  "label": _label(rec)}
        for path in rec.files.get("image", []):
            rel = os.path.relpath(path, base).replace(os.sep, "/")
            if rel not in members:
                members[rel] = []
                tasks.append(Task(path, rel, fmt=fmt, hounsfield=hu))
            members[rel].append(fields)
    return Source(ManifestInfo(card=card.id, config=cfg.name), tasks, members)


# ------------------------------------------------------------------------------------------ running


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _preload() -> None:
    """Import the decoders once in the parent, so forked workers start warm."""
    import imagehash  # noqa: F401
    import numpy  # noqa: F401
    import scipy.ndimage  # noqa: F401
    from PIL import Image  # noqa: F401

    import covidct.readers.raster  # noqa: F401


def run_tasks(tasks: list[Task], jobs: int) -> Iterator[FileResult]:
    """Results in task order; ``jobs`` > 1 uses that many worker processes."""
    if jobs <= 1 or len(tasks) < 2:
        for t in tasks:
            yield fingerprint_file(t)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    _preload()
    ctx = mp.get_context("fork") if sys.platform == "linux" else None
    ex = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_ignore_sigint)
    try:
        yield from ex.map(fingerprint_file, tasks, chunksize=max(1, min(16, len(tasks) // (jobs * 8))))
    finally:
        ex.shutdown(wait=True, cancel_futures=True)


@dataclass
class Outcome:
    info: ManifestInfo
    reused: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    errors: list[tuple[str, str]] = field(default_factory=list)
    interrupted: bool = False


def _previous(out: Path) -> dict[str, list[dict[str, Any]]]:
    """Rows of a previous manifest at ``out`` by path (for resuming), if it was made the same way."""
    if not out.is_file():
        return {}
    try:
        table, info = read_manifest(out)
    except ManifestError:
        return {}
    if info.phash != hashing.PHASH_SPEC or info.pixels != hashing.PIXELS_SPEC or info.version != MANIFEST_VERSION:
        return {}
    by_path: dict[str, list[dict[str, Any]]] = {}
    seen: set[tuple[str, Any]] = set()
    for row in table.to_pylist():
        if row.get("error") or row.get("sha256") is None:
            continue  # unreadable last time: try again (a decoder may have been installed since)
        key = (row["path"], row["frame"])
        if key in seen:  # the same image in several splits: one set of hashes
            continue
        seen.add(key)
        for c in CARD_COLUMNS:
            row[c] = None
        by_path.setdefault(row["path"], []).append(row)
    return by_path


def _unchanged(task: Task, rows: list[dict[str, Any]]) -> bool:
    try:
        st = os.stat(task.path)
    except OSError:
        return False
    return rows[0]["size"] == st.st_size and rows[0]["mtime_ns"] == st.st_mtime_ns


def fingerprint(source: Source, out: str | os.PathLike[str], *, jobs: int = 0, resume: bool = True,
                progress: bool | None = None, on_error: Callable[[str, str], None] | None = None) -> Outcome:
    """Fingerprint ``source`` into the Parquet manifest ``out`` (see the module docstring)."""
    from covidct.version import __version__

    out = Path(out)
    jobs = jobs if jobs > 0 else (os.cpu_count() or 1)
    info = source.info
    info.covidct = __version__
    outcome = Outcome(info)
    previous = _previous(out) if resume else {}
    done: dict[str, list[dict[str, Any]]] = {}
    todo = []
    for t in source.tasks:
        rows = previous.get(t.rel)
        if rows and _unchanged(t, rows):
            done[t.rel] = rows
            outcome.reused += 1
        else:
            todo.append(t)
    bar = _bar(len(source.tasks), outcome.reused, progress)
    last = time.monotonic()
    try:
        for res in run_tasks(todo, jobs):
            if res.skipped is not None:
                outcome.skipped[res.skipped] += 1
            else:
                done[res.rel] = res.rows
                if res.error is not None:
                    outcome.errors.append((res.rel, res.error))
                    if on_error is not None:
                        on_error(res.rel, res.error)
            bar.update(1)
            if time.monotonic() - last > CHECKPOINT_SECONDS:
                _write(source, done, out, complete=False)
                last = time.monotonic()
    except KeyboardInterrupt:
        outcome.interrupted = True
    finally:
        bar.close()
    _write(source, done, out, complete=not outcome.interrupted)
    return outcome


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _bar(total: int, initial: int, progress: bool | None) -> Any:
    if progress is False:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    # progress=None: shown on a terminal only
    return tqdm(total=total, initial=initial, unit="file", desc="fingerprint",
                disable=None if progress is None else False, file=sys.stderr, dynamic_ncols=True)


def _rows(source: Source, done: dict[str, list[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    for t in source.tasks:
        rows = done.get(t.rel)
        if rows is None:
            continue
        for fields in source.members.get(t.rel) or [{}]:
            for r in rows:
                yield {**r, **fields} if fields else r


def _write(source: Source, done: dict[str, list[dict[str, Any]]], out: Path, *, complete: bool) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sch = schema()
    cols: dict[str, list[Any]] = {name: [] for name in sch.names}
    for r in _rows(source, done):
        for name, values in cols.items():
            values.append(r.get(name))
    info = source.info
    info.created = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    info.complete = complete
    info.files = len(done)
    info.rows = len(cols["path"])
    info.errors = sum(1 for e in cols["error"] if e is not None)
    table = pa.Table.from_pydict(cols, schema=sch).replace_schema_metadata(
        {METADATA_KEY: json.dumps(info.to_json()).encode()})
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ------------------------------------------------------------------------------------------ reading


REQUIRED = {"path": "string", "frame": "int32", "sha256": "string", "pixel_sha256": "string",
            "phash": f"fixed_size_binary[{hashing.PHASH_BYTES}]"}


# A manifest's footer states how many rows it holds and how large its column data is once decompressed;
# both are checked against the file's size before a row is read, because dictionary and run-length
# encoding let a small file declare millions of rows (a 1.5 MB file with 20 M rows took 22 GB to read),
# and what reads a manifest holds ~2.5 kB of memory a row. A frame of a volume costs ~70 bytes on disk
# (its 32-byte perceptual hash and 64-hex pixel hash; the file's SHA-256 is shared), a 2-D image ~115;
# identical frames (blank slices) share their hashes and cost almost nothing: 30 % blank gives ~50 bytes
# a row, 75 % ~19, all blank ~1. So 16 bytes a row admits volumes up to ~3/4 blank while a hostile file
# costs at most a few times an honest one of its size; below _SMALL the footer dominates and any file
# may hold _SMALL // 16 = 16,384 rows. Real column data decompresses to 0.5-3 times the file.
MIN_BYTES_PER_ROW = 16
MAX_EXPANSION = 64
_SMALL = 1 << 18


def _check_size(p: Path, md: Any) -> None:
    """Refuses a manifest whose footer declares more rows or more data than its size can hold."""
    size = max(p.stat().st_size, _SMALL)
    rows = md.num_rows
    if rows > size // MIN_BYTES_PER_ROW:
        raise ManifestError(f"{p} declares {rows:,} rows in {p.stat().st_size:,} bytes: a covidct manifest "
                            f"row holds hashes that do not compress (at least {MIN_BYTES_PER_ROW} bytes a row), so "
                            f"this file is damaged or built to exhaust memory; rebuild it with `covidct fingerprint`")
    data = 0
    for i in range(md.num_row_groups):
        rg = md.row_group(i)
        data += max(rg.total_byte_size, sum(rg.column(j).total_uncompressed_size for j in range(rg.num_columns)))
    if data > size * MAX_EXPANSION:
        raise ManifestError(f"{p} declares {data:,} bytes of column data in {p.stat().st_size:,} bytes: more "
                            f"than {MAX_EXPANSION} times its size, which no covidct manifest needs, so this file "
                            f"is damaged or built to exhaust memory; make it again with `covidct fingerprint`")


def _info(p: Path, raw: bytes) -> ManifestInfo:
    """The ``covidct`` metadata: a JSON object whose known fields make a :class:`ManifestInfo`."""
    try:
        fields = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: arrays nested thousands deep
        reason = "nested too deep" if isinstance(exc, RecursionError) else str(exc)
        raise ManifestError(f"{p}: unreadable covidct metadata ({reason}); make it again with "
                            f"`covidct fingerprint`") from None
    if not isinstance(fields, dict):
        raise ManifestError(f"{p}: the covidct metadata is a JSON {type(fields).__name__}, expected an object; "
                            f"make it again with `covidct fingerprint`")
    known = {k: v for k, v in fields.items() if k in ManifestInfo.__dataclass_fields__}
    try:
        return ManifestInfo(**known)
    except TypeError as exc:
        raise ManifestError(f"{p}: unreadable covidct metadata ({exc})") from None


def read_manifest(path: str | os.PathLike[str]) -> tuple[Any, ManifestInfo]:
    """A manifest as a ``pyarrow.Table`` (every column of :func:`schema`) and its :class:`ManifestInfo`.

    Manifests may come from anywhere: the file must be Parquet with the required columns of the
    right types, a covidct manifest of this version, made with the same hash specs.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = Path(path).expanduser()
    if not p.is_file():
        raise ManifestError(f"{p}: no such file")
    try:
        pf = pq.ParquetFile(p)
        meta = pf.schema_arrow.metadata or {}
    except (pa.ArrowException, OSError) as exc:
        raise ManifestError(f"{p} is not a Parquet file ({exc})") from None
    raw = meta.get(METADATA_KEY)
    if raw is None:
        raise ManifestError(f"{p} is not a covidct manifest (no `covidct` metadata); make one with "
                            f"`covidct fingerprint`")
    info = _info(p, raw)
    if info.version != MANIFEST_VERSION:
        raise ManifestError(f"{p} is a {info.version} manifest; this covidct reads {MANIFEST_VERSION}: "
                            f"make it again with this version's `covidct fingerprint`")
    for what, have, want in (("perceptual hash", info.phash, hashing.PHASH_SPEC),
                             ("pixel hash", info.pixels, hashing.PIXELS_SPEC)):
        if have != want:
            raise ManifestError(f"{p} was made with the {what} {have!r}, this covidct computes {want!r}: "
                                f"hashes of different kinds cannot be compared; fingerprint the data again")
    arrow = pf.schema_arrow
    for name, typ in REQUIRED.items():
        if name not in arrow.names:
            raise ManifestError(f"{p} has no column {name!r}")
        if str(arrow.field(name).type) != typ:
            raise ManifestError(f"{p}: column {name!r} is {arrow.field(name).type}, expected {typ}")
    _check_size(p, pf.metadata)
    try:
        table = pf.read()
    except (pa.ArrowException, OSError) as exc:
        raise ManifestError(f"{p}: cannot read the rows ({exc})") from None
    sch = schema()
    for name in sch.names:  # optional columns absent from a minimal manifest: nulls
        if name not in table.column_names:
            table = table.append_column(sch.field(name), pa.nulls(table.num_rows, sch.field(name).type))
        elif not table.schema.field(name).type.equals(sch.field(name).type):
            try:
                table = table.set_column(table.column_names.index(name), sch.field(name),
                                         table.column(name).cast(sch.field(name).type))
            except (pa.ArrowException, ValueError):
                raise ManifestError(f"{p}: column {name!r} is {table.schema.field(name).type}, expected "
                                    f"{sch.field(name).type}") from None
    return table.select(sch.names), info


def manifest_sha256(path: str | os.PathLike[str]) -> str:
    return hashing.stream_sha256(os.fspath(path))


def summarize(outcome: Outcome) -> Iterable[str]:
    """Lines for the terminal after a run."""
    info = outcome.info
    state = "interrupted: partial manifest written; run the same command again to go on" if outcome.interrupted \
        else "complete"
    yield f"{info.name}: {info.files:,} image file(s), {info.rows:,} row(s), {len(outcome.errors):,} unreadable " \
          f"({state})"
    if outcome.reused:
        yield f"  {outcome.reused:,} file(s) unchanged since the previous run: hashes reused"
    if outcome.skipped:
        kinds = ", ".join(f"{k} {n:,}" for k, n in outcome.skipped.most_common(6))
        yield f"  {sum(outcome.skipped.values()):,} file(s) skipped, not images ({kinds})"


__all__ = ["MANIFEST_VERSION", "ManifestError", "ManifestInfo", "Outcome", "Source", "Task", "card_sources",
           "fingerprint", "fingerprint_file", "folder_sources", "read_manifest", "schema", "summarize"]
