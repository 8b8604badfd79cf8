"""The index of a folder of cards: each card's validation, kept in the user's cache, so that a command
validates only the cards that changed since it last looked.

For each card file the index keeps what validating it gave: its located issues (without the path,
which depends on how the folder was named), the small summary the registry-wide checks run on
(:mod:`covidct.card.crosscard`) and, for a valid card, its catalog row, its ``covidct show`` text and
the card itself as JSON. The registry-wide checks are always rerun over the summaries: they are cheap,
and they depend on every card at once.

The index is a cache, never a source of truth:

- it lives in the user's cache folder (``$COVIDCT_CACHE_DIR``, see :mod:`covidct.settings`), one SQLite file
  per cards folder (keyed by its resolved path), never beside the cards;
- an entry is used only while its file's (size, mtime, ctime, inode) are those of the bytes that were
  validated, and the file was last changed well before it was read (a file changed within the same
  clock tick as the read is hashed again); when they differ the file is read and its sha256 compared,
  and only a changed content is validated again;
- the index is tied to covidct's version and to a fingerprint of its code and of the libraries whose
  behaviour shows in the results (an index written by any other is emptied, not trusted);
- writes are SQLite transactions (nothing half-written; two processes may share the index);
- a corrupt or foreign file is ignored and replaced, with one warning line; when the cache folder
  cannot be used, covidct works without an index (``COVIDCT_NO_INDEX=1`` does so on purpose).

Cached and fresh validation give the same results: entries are made by the same functions, from the
same bytes, and nothing from the cache is ever executed (JSON, never pickle).
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import sqlite3
import stat
import sys
import time
import warnings
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from covidct.cards_snapshot import card_names
from covidct.catalog_rows import CATALOG_COLUMNS, FLAG_COLUMNS, LIST_COLUMNS
from covidct.errors import CovidctError
from covidct.settings import settings
from covidct.version import __version__

if TYPE_CHECKING:
    from covidct.card.crosscard import FileResult, Summary
    from covidct.card.model import Card

SCHEMA = 3  # the layout of the index's tables; part of the format, with covidct's version and code
CARD_SUFFIX = ".yaml"
RACY_NS = 2_000_000_000  # a file changed less than this before it was read is hashed again when next seen
PARALLEL_MIN = 50  # fewer stale cards than this are validated in this process
StatKey = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode
# libraries whose behaviour shows in validation results (pydantic's messages, YAML parsing, RE2)
LIBRARIES = ("pydantic", "pydantic_core", "yaml", "re2")


class IndexWarning(UserWarning):
    """The index could not be used as it was (corrupt, unwritable); covidct rebuilt it or went without."""


@dataclass
class Record:
    """One card file as the index keeps it."""

    file: str  # the file's name in the folder
    key: StatKey | None  # of the bytes validated; None: not kept (not a regular file, unreadable)
    checked_ns: int  # when the bytes were read
    sha256: str | None
    valid: bool  # no error among its own issues as a registry card (the registry-wide checks come on top)
    loose_valid: bool  # no error among them as a card outside the registry
    # [summary, issues, loose]: covidct.card.crosscard.Summary as JSON; [line, col, code, message, hint] of
    # the card's own issues as a registry card; the same outside the registry when they differ (else None).
    # Stored as JSON text, decoded when first asked for (a warm `covidct list` never needs them).
    data: Any = None
    fetch: Callable[[Record], str] | None = None  # gets ``data`` from the index when first needed
    card: bytes | None = None  # zlib-compressed JSON of the card (valid cards, once stored)
    row: dict[str, Any] | None = None  # the catalog row (valid cards, when made in this process)
    text: bytes | None = None  # zlib-compressed `covidct show` text (valid cards, once stored)
    unchanged: bool = False  # read again, same bytes as the stored entry: only the key is new
    card_obj: Card | None = None  # the validated card, when validated in this process (never stored)

    def _decoded(self) -> list[Any]:
        if self.data is None and self.fetch is not None:
            self.data = self.fetch(self)
        if isinstance(self.data, str):
            try:
                data = json.loads(self.data)
            except ValueError:
                data = None
            if not (isinstance(data, list) and len(data) == 3 and isinstance(data[1], list)):
                raise IndexCorrupt(f"covidct's index of the cards folder is damaged (the entry of {self.file!r}); "
                                   f"run again with --no-index, or delete the folder `index` in {settings().cache_dir}")
            self.data = data
        return self.data  # type: ignore[no-any-return]

    @property
    def summary(self) -> dict[str, Any] | None:
        return self._decoded()[0]  # type: ignore[no-any-return]

    def issues_in(self, in_registry: bool) -> list[list[Any]]:
        """The card's own issues as a card of the registry (a download URL needs a sha256) or not."""
        _, issues, loose = self._decoded()
        return issues if in_registry or loose is None else loose  # type: ignore[no-any-return]

    def valid_in(self, in_registry: bool) -> bool:
        return self.valid if in_registry else self.loose_valid

    @property
    def usable(self) -> bool:
        """The file is a valid card in the lenient sense (outside the registry): its card is kept."""
        return self.valid_in(False)


def _summary_json(s: Summary | None) -> dict[str, Any] | None:
    if s is None:
        return None
    return {"id": s.id, "id_pos": list(s.id_pos), "names": [[n, list(p)] for n, p in s.names],
            "lineage": [[t, list(p)] for t, p in s.lineage]}


def summary_from_json(d: dict[str, Any] | None) -> Summary | None:
    from covidct.card.crosscard import Summary

    if d is None:
        return None
    lineage = [(t, (p[0], p[1])) for t, p in d["lineage"]]
    names = [(n, (p[0], p[1])) for n, p in d["names"]]
    return Summary(id=d["id"], id_pos=(d["id_pos"][0], d["id_pos"][1]), names=names, lineage=lineage,
                   mentions={t for t, _ in lineage})


def stat_key(st: os.stat_result) -> StatKey:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def validate_record(path: str, known_sha: str | None = None, derive: bool = True) -> Record:
    """Read and validate one card file: the record the index keeps of it.

    The bytes validated are the bytes hashed, and the key is the ``fstat`` of the file they were read
    from. With ``known_sha`` equal to the content's hash, nothing is validated (``unchanged``).
    The card is validated as a registry card; only when that gives a C316 (a download URL without
    sha256: the one check that depends on it) is it validated again as a card outside the registry.
    ``derive``: also compute what is stored for a valid card (catalog row, show text, JSON).
    """
    from covidct.card.limits import MAX_BYTES
    from covidct.fsutil import UnsafePath, open_regular

    p = Path(path)
    stem = p.name[: -len(CARD_SUFFIX)] if p.name.endswith(CARD_SUFFIX) else p.stem
    checked = time.time_ns()
    key: StatKey | None = None
    digest: str | None = None
    data = b""
    try:
        st = os.stat(p)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_BYTES or not p.name.endswith(CARD_SUFFIX):
            raise OSError("not kept")  # validate_file gives the error; such a file is never kept
        with open_regular(p, "card") as fh:
            data = fh.read(MAX_BYTES + 1)
            fst = os.fstat(fh.fileno())
    except (OSError, UnsafePath):
        from covidct.card.validate import validate_file

        def check(in_registry: bool) -> FileResult:
            return validate_file(p, "", in_registry=in_registry)
    else:
        key = stat_key(fst)
        digest = hashlib.sha256(data).hexdigest()
        if digest == known_sha:  # the same bytes: no validation, and no card model to import
            return Record(p.name, key, checked, digest, False, False, [None, [], None], unchanged=True)
        from covidct.card.validate import validate_bytes

        def check(in_registry: bool) -> FileResult:  # the bytes read, as validate_file would read them
            return validate_bytes(data, "", stem, in_registry=in_registry)

    from covidct.card.issues import Severity

    def issues_valid(result: FileResult) -> tuple[list[list[Any]], bool]:
        issues = [[i.line, i.col, i.code, i.message, i.hint] for i in result.issues]
        return issues, result.card is not None and not any(i.severity is Severity.ERROR for i in result.issues)

    result = check(True)
    issues, valid = issues_valid(result)
    loose, loose_valid = issues_valid(check(False)) if any(i.code == "C316" for i in result.issues) else (None, valid)
    rec = Record(p.name, key, checked, digest, valid, loose_valid, [_summary_json(result.summary), issues, loose],
                 card_obj=result.card)
    if not rec.usable:
        rec.card_obj = None
    elif derive:
        _derive(rec)
    return rec


def _derive(rec: Record) -> None:
    """What is stored for a valid card, from its validated model."""
    from covidct.catalog_rows import catalog_row
    from covidct.render.text import card_text

    card = rec.card_obj
    assert card is not None
    rec.card = zlib.compress(card.model_dump_json(exclude_defaults=True).encode("utf-8"), 1)
    rec.row = catalog_row(card)
    rec.text = zlib.compress(card_text(card).encode("utf-8"), 1)


def _validate_chunk(items: list[tuple[str, str | None, bool]]) -> list[Record]:
    out = []
    for path, sha, derive in items:
        rec = validate_record(path, sha, derive)
        rec.card_obj = None  # not shipped across processes: the JSON is enough
        out.append(rec)
    return out


def code_fingerprint() -> str:
    """covidct's version and its code and data files (name, size, mtime), and the libraries in
    :data:`LIBRARIES` (where installed, size and mtime): what a cached validation depends on besides
    the card. An editable install that changes its code gets a new fingerprint."""
    import importlib.util

    h = hashlib.sha256(f"{SCHEMA}\0{__version__}\0{sys.version_info[:2]}\n".encode())
    pkg = Path(__file__).resolve().parent
    for root, dirs, names in os.walk(pkg):
        dirs[:] = sorted(d for d in dirs if d not in ("__pycache__", "_cards"))
        for n in sorted(names):
            if n.endswith((".py", ".json", ".yaml", ".yml", ".txt", ".csv", ".tsv")):
                st = os.stat(os.path.join(root, n))
                h.update(f"{os.path.relpath(os.path.join(root, n), pkg)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    for lib in LIBRARIES:
        try:
            spec = importlib.util.find_spec(lib)
            origin = spec.origin if spec is not None else None
            st = os.stat(origin) if origin else None
        except (ImportError, ValueError, OSError):
            st = origin = None
        h.update(f"{lib}\0{origin}\0{st.st_size if st else ''}\0{st.st_mtime_ns if st else ''}\n".encode())
    return h.hexdigest()


_KEYS = "file, size, mtime_ns, ctime_ns, ino, checked_ns, sha256, valid"
_BOTH = "cards JOIN blobs USING (file)"  # a card's whole entry
_ROW_COLUMNS = [f"c_{c}" for c in CATALOG_COLUMNS]  # the catalog row, one SQL column per catalog column


@contextmanager
def _bulk() -> Iterator[None]:
    """No cyclic garbage collection while tens of thousands of acyclic objects (records, cells) are made:
    at 10,000 cards the collector's passes over them took a fifth of a warm `covidct.catalog()`."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _row_cells(row: dict[str, Any] | None, names: Sequence[str]) -> tuple[Any, ...]:
    """The stored cells of a catalog row (None for a card that has none)."""
    if row is None:
        return (None,) * len(names)
    return tuple(json.dumps(row[n], ensure_ascii=False) if n in LIST_COLUMNS else int(row[n]) if n in FLAG_COLUMNS
                 else row[n] for n in names)


def _column(name: str, cells: Sequence[Any]) -> list[Any]:
    """The values of one catalog column from its stored cells; :class:`IndexCorrupt` if they are not what
    :func:`_row_cells` stores (a list column is decoded with one JSON parse for all its cells)."""
    if name in LIST_COLUMNS:
        try:
            if not set(map(type, cells)) <= {str}:
                raise ValueError("not JSON text")
            values = json.loads("[" + ",".join(cells) + "]")
        except ValueError:
            values = None
        if not (isinstance(values, list) and len(values) == len(cells) and set(map(type, values)) <= {list}):
            raise IndexCorrupt(f"covidct's index of the cards folder is damaged (catalog column {name!r}); run again "
                               f"with --no-index, or delete the folder `index` in {settings().cache_dir}")
        return values
    if name in FLAG_COLUMNS:
        return [bool(c) for c in cells]
    return list(cells)


_warned: set[str] = set()


def _warn_once(where: str, message: str) -> None:
    if where not in _warned:
        _warned.add(where)
        warnings.warn(message, IndexWarning, stacklevel=3)


class IndexCorrupt(CovidctError):
    """An entry of the index cannot be read (the file is otherwise sound: SQLite checked it)."""


class CardsChanged(CovidctError):
    """A card file changed while covidct read it."""


class _Unusable(Exception):
    """The index file cannot be used: corrupt, foreign, unwritable."""


class CardIndex:
    """The index of one folder of cards.

    ``persist``: keep the index in the cache folder (default: unless ``COVIDCT_NO_INDEX``); without
    it, records live for this object only, so results are computed exactly as with a cold index.
    """

    def __init__(self, folder: str | os.PathLike[str], *, persist: bool | None = None,
                 cache_dir: str | os.PathLike[str] | None = None):
        self.folder = Path(folder)
        self.persist = settings().use_index if persist is None else persist
        self._cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._db: sqlite3.Connection | None = None
        self._opened = False
        self._mem: dict[str, Record] = {}  # records of this process (the only ones without persistence)
        self._mem_sound: dict[str, str] = {}
        self._data: dict[tuple[str, str | None], str] | None = None  # all stored data, once one record needs it

    # ---------------------------------------------------------------------------------- the file

    @property
    def path(self) -> Path:
        """The index file: one per resolved folder, in the cache folder."""
        digest = hashlib.sha256(str(self.folder.resolve()).encode()).hexdigest()[:32]
        return (self._cache_dir or settings().cache_dir) / "index" / f"{digest}.sqlite3"

    def _format(self) -> str:
        return code_fingerprint()

    def _conn(self) -> sqlite3.Connection | None:
        if self._opened:
            return self._db
        self._opened = True
        if not self.persist:
            return None
        path = self.path
        try:
            self._db = self._open(path)
        except _Unusable as exc:  # corrupt or foreign: replaced by an empty index
            _warn_once(str(path), f"the card index {path} was unusable ({exc}); rebuilding it")
            try:
                for p in (path, path.with_name(path.name + "-journal")):
                    p.unlink(missing_ok=True)
                self._db = self._open(path)
            except (_Unusable, OSError) as exc2:
                self._db = None
                _warn_once(str(path) + "!", f"no card index ({exc2}); working without one")
        except OSError as exc:
            _warn_once(str(path), f"cannot use the card index {path} ({exc.strerror or exc}); working without one")
            self._db = None
        return self._db

    def _open(self, path: Path) -> sqlite3.Connection:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise OSError(str(exc)) from None
        try:
            fmt = self._format()
            folder = str(self.folder.resolve())
            if self._meta(db) != (fmt, folder):
                db.execute("BEGIN IMMEDIATE")
                try:
                    if self._meta(db) != (fmt, folder):  # another process may have just made it
                        for table in ("meta", "cards", "blobs"):
                            db.execute(f"DROP TABLE IF EXISTS {table}")
                        db.execute("CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)")
                        # what every command reads of every card (keys, catalog row) apart from what is read
                        # of a few (issues, card, show text): a scan of the first does not read the second
                        db.execute("CREATE TABLE cards (file TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, "
                                   "ctime_ns INTEGER, ino INTEGER, checked_ns INTEGER, sha256 TEXT, valid INTEGER, "
                                   f"{', '.join(_ROW_COLUMNS)})")
                        db.execute("CREATE TABLE blobs (file TEXT PRIMARY KEY, data TEXT, card BLOB, text BLOB)")
                        db.executemany("INSERT INTO meta VALUES (?, ?)", [("format", fmt), ("folder", folder)])
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK") if db.in_transaction else None
                    raise
        except sqlite3.OperationalError as exc:
            db.close()
            if "locked" in str(exc) or "busy" in str(exc):
                raise OSError(str(exc)) from None  # held by another process past the timeout: go without
            raise _Unusable(str(exc)) from None
        except sqlite3.Error as exc:
            db.close()
            raise _Unusable(str(exc)) from None
        return db

    @staticmethod
    def _meta(db: sqlite3.Connection) -> tuple[str | None, str | None]:
        try:
            rows = dict(db.execute("SELECT k, v FROM meta").fetchall())
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return (None, None)
            raise
        return (rows.get("format"), rows.get("folder"))

    def _failed(self, exc: sqlite3.Error) -> None:
        """A query failed. A busy index is skipped this time; an operational failure (disk, or another
        covidct that just replaced an outdated index) ends its use in this process; a damaged file is
        removed (the next run builds a new one)."""
        if isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc)):
            return
        path = self.path
        if self._db is not None:
            self._db.close()
        self._db = None
        if isinstance(exc, sqlite3.OperationalError):
            _warn_once(str(path), f"the card index {path} cannot be used now ({exc}); working without it")
            return
        _warn_once(str(path), f"the card index {path} was unusable ({exc}); rebuilding it")
        try:
            for p in (path, path.with_name(path.name + "-journal")):
                p.unlink(missing_ok=True)
        except OSError:
            pass

    # ---------------------------------------------------------------------------------- reading

    def _stored(self, files: Sequence[str] | None = None) -> dict[str, Record]:
        """The stored records (their keys, summaries and issues), of ``files`` or of all."""
        db = self._conn()
        if db is None:
            return dict(self._mem) if files is None else {f: self._mem[f] for f in files if f in self._mem}
        try:
            if files is None:  # every card: their issues and summaries are read only if asked for
                rows = db.execute(f"SELECT {_KEYS}, NULL FROM cards").fetchall()
            else:
                rows = [r for f in files for r in db.execute(f"SELECT {_KEYS}, data FROM {_BOTH} WHERE file = ?", (f,))]
            out = {}
            for file, size, mtime, ctime, ino, checked, sha, valid, data in rows:
                out[file] = Record(file, (size, mtime, ctime, ino), checked, sha, bool(valid & 1), bool(valid & 2),
                                   data, fetch=self._fetch if data is None else None)
        except (sqlite3.Error, ValueError, TypeError) as exc:
            self._failed(exc if isinstance(exc, sqlite3.Error) else sqlite3.DatabaseError(str(exc)))
            return {}
        mem = {f: r for f, r in self._mem.items() if f in out and r.key == out[f].key}
        out.update(mem)  # this process's records, with the card it validated
        return out

    def _fetch(self, rec: Record) -> str:
        """The stored data of a record (all records' at once: when one is needed, all usually are)."""
        if self._data is None:
            db = self._conn()
            try:
                rows = db.execute(f"SELECT file, sha256, data FROM {_BOTH}").fetchall() if db is not None else []
            except sqlite3.Error as exc:
                self._failed(exc)
                rows = []
            self._data = {(f, sha): d for f, sha, d in rows if isinstance(d, str)}
        data = self._data.get((rec.file, rec.sha256))
        if data is None:  # replaced meanwhile by another process: validate the file again
            fresh = validate_record(str(self.folder / rec.file), derive=False)
            if fresh.sha256 != rec.sha256:
                raise CardsChanged(f"{self.folder / rec.file} changed while covidct read it; run the command again")
            data = json.dumps(fresh._decoded(), ensure_ascii=False)
        return data

    def derived(self, records: Sequence[Record], what: str) -> list[Any]:
        """``what`` (``card`` or ``text``) of each of ``records`` (valid cards): from the index,
        else made from the card (validating its file again if this process has not)."""
        if what not in ("card", "text"):
            raise ValueError(what)
        want = [r for r in records if getattr(r, what) is None and r.card_obj is None]
        db = self._conn()
        if db is not None and want:
            try:
                if len(want) > 50:
                    rows = db.execute(f"SELECT file, sha256, {what} FROM {_BOTH}").fetchall()
                else:
                    one = f"SELECT file, sha256, {what} FROM {_BOTH} WHERE file = ?"
                    rows = [row for r in want for row in db.execute(one, (r.file,))]
                found = {(f, sha): v for f, sha, v in rows}
            except sqlite3.Error as exc:
                self._failed(exc)
                found = {}
            for r in want:
                setattr(r, what, found.get((r.file, r.sha256)))
        for r in records:
            if getattr(r, what) is None:
                self._derive_again(r)
        return [getattr(r, what) for r in records]

    def _derive_again(self, r: Record) -> None:
        """Make what is stored for a valid card that the index does not have (any more)."""
        if r.card_obj is None:  # validate the file again
            fresh = validate_record(str(self.folder / r.file), derive=False)
            if fresh.sha256 != r.sha256 or fresh.card_obj is None:
                raise CardsChanged(f"{self.folder / r.file} changed while covidct read it; run the command again")
            r.card_obj = fresh.card_obj
        _derive(r)

    def catalog_columns(self, records: Sequence[Record], names: Sequence[str]) -> dict[str, list[Any]]:
        """The catalog columns ``names`` of ``records`` (valid cards), in their order: read from the
        index column by column (only those asked for), else made from the card."""
        unknown = set(names) - set(CATALOG_COLUMNS)
        if unknown:
            raise ValueError(f"no catalog column {sorted(unknown)}")
        with _bulk():
            found = self._stored_cells(records, names)
        for r in records:  # not in the index (any more): made from the card (a validation keeps the collector)
            if r.row is None and (r.file, r.sha256) not in found:
                self._derive_again(r)
        with _bulk():
            cells = [found.get((r.file, r.sha256)) or _row_cells(r.row, names) for r in records]
            columns = list(zip(*cells, strict=True)) if cells else [()] * len(names)
            return {n: _column(n, col) for n, col in zip(names, columns, strict=True)}

    def _stored_cells(self, records: Sequence[Record], names: Sequence[str]) -> dict[tuple[str, str], tuple[Any, ...]]:
        """The stored catalog cells (``names``) of those ``records`` that have no row made in this process."""
        want = [r for r in records if r.row is None and r.card_obj is None]
        db = self._conn()
        if db is None or not want:
            return {}
        cols = ", ".join(f"c_{n}" for n in names)
        try:
            if len(want) > 50:
                rows = db.execute(f"SELECT file, sha256, c_id, {cols} FROM cards").fetchall()
            else:
                rows = [row for r in want for row in
                        db.execute(f"SELECT file, sha256, c_id, {cols} FROM cards WHERE file = ?", (r.file,))]
        except sqlite3.Error as exc:
            self._failed(exc)
            return {}
        return {(f, sha): tuple(cells) for f, sha, cid, *cells in rows if cid is not None}

    @staticmethod
    def _fresh(path: str, rec: Record) -> bool:
        """The stored record describes the file as it is now (without reading it)."""
        try:
            st = os.stat(path)
        except OSError:
            return False
        return rec.key == stat_key(st) and max(st.st_mtime_ns, st.st_ctime_ns) < rec.checked_ns - RACY_NS

    # ---------------------------------------------------------------------------------- updating

    def refresh(self, jobs: int = 1, files: Sequence[Path] | None = None) -> list[Record]:
        """The records of the folder's card files (or of ``files``, in the folder), in name order,
        validating only the files that changed since they were stored; deleted cards are dropped."""
        everything = files is None
        with _bulk():  # (validation, below, is not done without the collector)
            names = card_names(self.folder) if files is None else [p.name for p in files]
            stored = self._stored(None if everything else names)
            folder = str(self.folder)
            todo: list[tuple[str, str | None, bool]] = []
            for name in names:  # (names, not Path objects: 10,000 of them cost as much as stating the files)
                rec = stored.get(name)
                if rec is None or rec.key is None or not self._fresh(os.path.join(folder, name), rec):
                    todo.append((str(self.folder / name), rec.sha256 if rec else None, self._conn() is not None))
        if jobs > 1 and len(todo) >= PARALLEL_MIN:
            from concurrent.futures import ProcessPoolExecutor

            n = max(1, len(todo) // (jobs * 8))
            chunks = [todo[i: i + n] for i in range(0, len(todo), n)]
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                done = [r for chunk in pool.map(_validate_chunk, chunks) for r in chunk]
        else:
            done = [validate_record(*item) for item in todo]
        for rec in done:
            if rec.unchanged:  # same bytes: the stored validation stands, under the new key
                old = stored[rec.file]
                old.key, old.checked_ns = rec.key, rec.checked_ns
                rec = old
            stored[rec.file] = rec
        gone = set(stored) - set(names) if everything else set()
        self._store([r for r in done if r.key is not None], gone, stored)
        return [stored[name] for name in names]

    def record(self, name: str) -> Record | None:
        """The record of one card file, validated again only if it changed; None if there is no such file."""
        path = self.folder / name
        if name not in self._stored([name]):  # the exact name (on a case-insensitive disk, CNCB.yaml is no cncb)
            try:
                if name not in os.listdir(self.folder):
                    return None
            except OSError:
                return None
        elif not path.exists():
            return None
        return self.refresh(files=[path])[0]

    def _store(self, done: list[Record], gone: set[str], stored: dict[str, Record]) -> None:
        for rec in done:
            self._mem[rec.file] = stored[rec.file]
        for f in gone:
            self._mem.pop(f, None)
        db = self._conn()
        if db is None or not (done or gone):
            return
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                for rec in done:
                    r = stored[rec.file]
                    if rec.unchanged:
                        db.execute("UPDATE cards SET size = ?, mtime_ns = ?, ctime_ns = ?, ino = ?, checked_ns = ? "
                                   "WHERE file = ? AND sha256 = ?", (*r.key, r.checked_ns, r.file, r.sha256))
                        continue
                    if r.usable and r.card is None:
                        _derive(r)
                    db.execute(f"INSERT OR REPLACE INTO cards VALUES ({', '.join('?' * (8 + len(_ROW_COLUMNS)))})",
                               (r.file, *r.key, r.checked_ns, r.sha256, int(r.valid) | 2 * int(r.loose_valid),
                                *_row_cells(r.row, CATALOG_COLUMNS)))
                    db.execute("INSERT OR REPLACE INTO blobs VALUES (?, ?, ?, ?)",
                               (r.file, json.dumps(r._decoded(), ensure_ascii=False), r.card, r.text))
                self._data = None
                for table in ("cards", "blobs"):
                    db.executemany(f"DELETE FROM {table} WHERE file = ?", [(f,) for f in sorted(gone)])
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            self._failed(exc)

    # ---------------------------------------------------------------------------------- verdicts

    @staticmethod
    def _set_digest(records: Sequence[Record]) -> str | None:
        """The digest of a set of card contents: file names and sha256 (None if a file was not kept)."""
        h = hashlib.sha256()
        for r in records:
            if r.sha256 is None:
                return None
            h.update(f"{r.file}\0{r.sha256}\n".encode())
        return h.hexdigest()

    def known_sound(self, records: Sequence[Record], check: str) -> bool:
        """Whether ``check`` (a name the caller gives its verdict) found these very contents without error.

        The per-card and registry-wide checks depend only on the cards' names and bytes, and on
        covidct's code (which the index is tied to): the same set needs no new verdict."""
        digest = self._set_digest(records)
        if digest is None:
            return False
        db = self._conn()
        if db is None:
            return self._mem_sound.get(check) == digest
        try:
            row = db.execute("SELECT v FROM meta WHERE k = ?", (f"sound:{check}",)).fetchone()
        except sqlite3.Error as exc:
            self._failed(exc)
            return False
        return row is not None and row[0] == digest

    def mark_sound(self, records: Sequence[Record], check: str) -> None:
        digest = self._set_digest(records)
        if digest is None:
            return
        self._mem_sound[check] = digest
        db = self._conn()
        if db is None:
            return
        try:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"sound:{check}", digest))
        except sqlite3.Error as exc:
            self._failed(exc)

    # ---------------------------------------------------------------------------------- results

    def file_result(self, rec: Record, shown: str, in_registry: bool) -> FileResult:
        """The per-card result of a record, its issues located in ``shown`` (a new object each time),
        as a card of the registry or not."""
        from covidct.card.crosscard import FileResult
        from covidct.card.issues import Issue

        issues = [Issue(shown, line, col, code, message, hint)
                  for line, col, code, message, hint in rec.issues_in(in_registry)]
        return FileResult(shown, rec.card_obj, issues, summary_from_json(rec.summary))

    def registry_results(self, files: Sequence[Path], jobs: int) -> tuple[dict[str, FileResult],
                                                                           list[tuple[Summary, str]]]:
        """For :func:`covidct.card.validate.validate_paths`: the results of ``files`` (cards of this
        folder, which is the registry) and the summaries of the folder's other cards."""
        from covidct.card.crosscard import Summary
        from covidct.card.validate import _shown_path

        records = {r.file: r for r in self.refresh(jobs)}
        done: dict[str, FileResult] = {}
        checked = set()
        for f in files:
            rec = records.get(f.name)
            if rec is not None:  # a file that is no card by its name (`_draft.yaml`) is validated afresh
                done[str(f)] = self.file_result(rec, str(f), True)
                checked.add(f.name)
        context = []
        for name, rec in records.items():
            if name not in checked:
                stem = name[: -len(CARD_SUFFIX)]
                summary = summary_from_json(rec.summary) or Summary(stem, (1, 1), [], [])
                context.append((summary, _shown_path(self.folder / name)))
        return done, context


def card_from_json(data: bytes) -> Card:
    """A valid card from the JSON the index keeps (made from the validated model: validating it again
    gives an equal card)."""
    from covidct.card.model import Card

    return Card.model_validate_json(zlib.decompress(data))


__all__ = ["CardIndex", "IndexWarning", "Record", "card_from_json", "code_fingerprint", "validate_record"]
