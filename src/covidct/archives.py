"""Unpacking a downloaded archive: ONE code path that identifies, checks and extracts the same bytes.

An archive is untrusted (a card's author chose it). :func:`extract` opens the file once and

1. identifies its format from its bytes (:func:`identify`), refusing files that read as two formats at
   once (a tar with a zip appended, a zip whose first bytes are also a valid tar header, a gzip stream
   followed by a zip directory...) and formats covidct does not unpack (7z, RAR, unknown);
2. refuses the file when that format differs from the card's ``archive:`` declaration;
3. extracts it with the library that identified it (``zipfile``, ``tarfile`` over a streaming
   ``zlib``/``bz2``/``lzma`` decompressor, or the decompressor alone for a single ``.gz``/``.bz2``/``.xz``
   file), never through another extractor, writing only regular files and folders: links, devices,
   FIFOs, sparse and encrypted members, names that leave the folder, duplicates and anything after the
   end of the archive are refused;
4. counts the bytes it actually writes (plus :data:`PER_MEMBER_CHARGE` per file, so millions of empty
   files count too) against :func:`unpack_limit`, and stops the moment the count passes it; the
   number of members is bounded by the archive's size too (:data:`MEMBER_DENSITY`);
5. writes into a temporary folder beside the destination and renames it only when everything passed,
   so a refused or interrupted archive leaves nothing behind.

Memory stays bounded: decompressors are asked for at most :data:`CHUNK` bytes at a time, tar members
are not accumulated, and tar headers that Python's ``tarfile`` parses with a regular expression are
checked first in linear time (CPython before 3.11.10/3.12.6 takes quadratic time on some pax headers).
"""

from __future__ import annotations

import bz2
import io
import lzma
import os
import re
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, NoReturn

from covidct.errors import CovidctError
from covidct.fsutil import first_dir
from covidct.settings import MAX_UNPACKED_ENV, settings

CHUNK = 1 << 18  # bytes asked of a decompressor or a member at a time
RATIO = 200  # an archive may unpack to RATIO times its own size...
FLOOR = 64 << 20  # ...or to FLOOR bytes, whichever is larger
PER_MEMBER_CHARGE = 4096  # each file or folder written counts as at least one filesystem block
MAX_MEMBERS = 1_000_000
MEMBER_DENSITY = 8  # an archive may hold one member per 8 of its bytes (a real tar.xz needs ~30)...
MEMBER_FLOOR = 1000  # ...or this many, whichever is larger: millions of empty files cost time, not bytes
MAX_PAX_HEADER = 1 << 20  # one pax extended header (path, times, xattrs); real ones are a few KB
MAX_GLOBAL_PAX = 64 << 10  # all global pax headers together (they are copied into every member)
MAX_LONG_NAME = 64 << 10  # a GNU long name or long link header
MAX_DIGIT_COST = 4_000_000  # sum of squared digit-run lengths in one pax header (see _check_pax)
LIMIT_ENV = MAX_UNPACKED_ENV

ZIP, TAR = "zip", "tar"
COMPRESSIONS = {"gz": b"\x1f\x8b\x08", "bz2": b"BZh", "xz": b"\xfd7zXZ\x00"}
FOREIGN = {"7z": b"7z\xbc\xaf\x27\x1c", "rar": b"Rar!\x1a\x07"}
FORMATS = ("zip", "tar", "tar.gz", "tar.bz2", "tar.xz", "gz", "bz2", "xz")
DESCRIPTIONS = {
    "zip": "a zip archive", "tar": "an uncompressed tar archive", "tar.gz": "a gzip-compressed tar archive",
    "tar.bz2": "a bzip2-compressed tar archive", "tar.xz": "an xz-compressed tar archive",
    "gz": "a gzip-compressed file that is not a tar archive", "bz2": "a bzip2-compressed file that is not a tar "
    "archive", "xz": "an xz-compressed file that is not a tar archive", "7z": "a 7z archive", "rar": "a RAR archive",
}

SIGNATURES = {"zip": "a zip archive", "tar": "a tar archive", "gz": "gzip data", "bz2": "bzip2 data",
              "xz": "xz data", "7z": "a 7z archive", "rar": "a RAR archive"}

_EOCD = b"PK\x05\x06"
_EOCD_SIZE = 22
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_EOCD = b"PK\x06\x06"
_ZIP_HEADS = (b"PK\x03\x04", _EOCD)
_MAX_COMMENT = 0xFFFF
_LAST = 4 * 512  # bytes of the latest read a stream keeps (tarfile reads headers one 512-byte block at a time)


class ArchiveError(CovidctError):
    """The archive is refused; the message names it, says why and what to do."""


# ---------------------------------------------------------------------------------------------- limits


def unpack_limit(archive_size: int) -> int:
    """Bytes an archive of ``archive_size`` bytes may unpack to (``COVIDCT_MAX_UNPACKED_BYTES`` overrides)."""
    try:
        value = settings().max_unpacked_bytes
    except ValueError as exc:
        raise ArchiveError(str(exc)) from None
    return value if value is not None else max(FLOOR, RATIO * archive_size)


class _Budget:
    """Bytes written so far (plus a charge per member) against the archive's limit."""

    def __init__(self, name: str, archive_size: int):
        self.name = name
        self.size = archive_size
        self.limit = unpack_limit(archive_size)
        self.used = 0
        self.members = 0
        self.max_members = min(MAX_MEMBERS, max(MEMBER_FLOOR, archive_size // MEMBER_DENSITY))

    def charge(self, n: int) -> None:
        self.used += n
        if self.used > self.limit:
            self.refuse()

    def refuse(self) -> NoReturn:
        override = settings().environ.get(LIMIT_ENV)
        why = f"{LIMIT_ENV}={override}" if override else f"{RATIO}x its size of {self.size:,} bytes, at least {FLOOR:,}"
        raise ArchiveError(
            f"{self.name}: unpacks to more than {self.limit:,} bytes ({why}; each file counts at least "
            f"{PER_MEMBER_CHARGE:,}); treated as an archive bomb and refused. If you trust the file, set "
            f"{LIMIT_ENV} to a larger number of bytes, or extract it yourself and pass the folder as data_dir"
        )

    def member(self) -> None:
        self.members += 1
        self.check_members(self.members)
        self.charge(PER_MEMBER_CHARGE)

    def check_members(self, n: int) -> None:
        if n > self.max_members:
            why = (f"at most {MAX_MEMBERS:,}" if self.max_members == MAX_MEMBERS else
                   f"at most one per {MEMBER_DENSITY} bytes of the archive, or {MEMBER_FLOOR:,}")
            raise ArchiveError(f"{self.name}: more than {self.max_members:,} archive members ({why}); treated as an "
                               "archive bomb and refused (extract it yourself and pass the folder as data_dir)")


# ------------------------------------------------------------------------------------------ identifying


def _zip_directory(fh: IO[bytes], size: int) -> tuple[int, int, int, int] | None:
    """(entries, directory offset, directory size, end of directory) of a zip whose end record closes the file.

    The end-of-central-directory record is taken where ``zipfile`` takes it (the last signature in the
    file's last 64 KiB), and counts only if its comment ends exactly at the end of the file; zip64
    fields are followed through the zip64 locator. ``None`` when the file does not end as a zip.
    """
    tail_len = min(size, _EOCD_SIZE + _MAX_COMMENT)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < _EOCD_SIZE:
        return None
    (_, disk, cd_disk, n_disk, n_total, cd_size, cd_offset,
     comment_len) = struct.unpack("<4s4H2LH", tail[at:at + _EOCD_SIZE])
    if at + _EOCD_SIZE + comment_len != len(tail):
        return None
    eocd_pos = size - tail_len + at
    end_of_directory = eocd_pos
    if 0xFFFF in (disk, cd_disk, n_disk, n_total) or 0xFFFFFFFF in (cd_size, cd_offset):
        if eocd_pos < 20:
            return None
        fh.seek(eocd_pos - 20)
        loc = fh.read(20)
        if loc[:4] != _ZIP64_LOCATOR:
            return None
        _, _, z64_pos, _ = struct.unpack("<4sLQL", loc)
        if z64_pos > eocd_pos - 20 - 56:
            return None
        fh.seek(z64_pos)
        rec = fh.read(56)
        if rec[:4] != _ZIP64_EOCD:
            return None
        _, _, _, _, disk, cd_disk, n_disk, n_total, cd_size, cd_offset = struct.unpack("<4sQ2H2L4Q", rec)
        end_of_directory = z64_pos
    if disk or cd_disk or n_disk != n_total:
        return None  # split (multi-disk) archives are not zip files covidct unpacks
    return n_total, cd_offset, cd_size, end_of_directory


def _tar_header(block: bytes) -> bool:
    """Whether ``block`` is a tar header as ``tarfile`` reads one (its checksum is right)."""
    if len(block) < tarfile.BLOCKSIZE:
        return False
    try:
        tarfile.TarInfo.frombuf(block[:tarfile.BLOCKSIZE], "utf-8", "surrogateescape")
    except tarfile.HeaderError:
        return False
    return True


def _compression(head: bytes) -> str | None:
    for kind, magic in COMPRESSIONS.items():
        if head.startswith(magic):
            return kind
    return None


def identify(fh: IO[bytes], size: int, name: str) -> str:
    """The format of an open archive (one of :data:`FORMATS`), from its bytes; refuses polyglots.

    A file is refused when it reads as more than one format: every signature covidct knows is looked
    for at the start (zip local header, tar header with a valid checksum, gzip/bzip2/xz/7z/RAR magic)
    and a zip directory at the end, and exactly one must be present.
    """
    fh.seek(0)
    head = fh.read(tarfile.BLOCKSIZE)
    found = []
    zip_tail = _zip_directory(fh, size) if size >= _EOCD_SIZE else None
    if head.startswith(_ZIP_HEADS) or zip_tail is not None:
        found.append(ZIP)
    if _tar_header(head):
        found.append(TAR)
    comp = _compression(head)
    if comp:
        found.append(comp)
    found += [kind for kind, magic in FOREIGN.items() if head.startswith(magic)]
    if len(found) > 1:
        raise ArchiveError(f"{name}: the file reads as {' and as '.join(SIGNATURES[f] for f in found)} at once; "
                           "tools disagree on what such a file holds, so it is refused")
    if not found:
        raise ArchiveError(f"{name}: not an archive covidct can unpack (zip, tar, tar.gz/bz2/xz, gz, bz2 or xz); "
                           f"its first bytes are {head[:8].hex(' ')}")
    kind = found[0]
    if kind in FOREIGN:
        raise ArchiveError(f"{name}: {kind} archives are not extracted automatically; extract it yourself and "
                           "pass the folder as data_dir")
    if kind == ZIP:
        if zip_tail is None:
            raise ArchiveError(f"{name}: a zip archive with data after its end (or a damaged directory); refused")
        if not head.startswith(_ZIP_HEADS):
            raise ArchiveError(f"{name}: a zip archive with other data in front of it (a self-extractor or a file "
                               "appended to another); refused")
        return ZIP
    if comp:
        fh.seek(0)
        first = _Decompressed(fh, comp, name, budget=tarfile.BLOCKSIZE).read(tarfile.BLOCKSIZE, partial_ok=True)
        return f"tar.{comp}" if _tar_header(first) else comp
    return kind


def describe(fmt: str) -> str:
    return DESCRIPTIONS.get(fmt, fmt)


# ------------------------------------------------------------------------------------------ streaming


class _Forward:
    """What the readers of a stream that only goes forward share: ``pos`` counts the bytes read,
    :meth:`unread` puts a peeked head back, and a seek may skip ahead but never go back."""

    name: str
    pos: int
    _buf: bytes  # bytes put back by unread, read again first

    def unread(self, data: bytes) -> None:
        self._buf = data + self._buf
        self.pos -= len(data)

    def tell(self) -> int:
        return self.pos

    def _ahead(self, pos: int, whence: int) -> int:
        """The absolute position a seek asks for; refused when it is behind the current one."""
        if whence == 1:
            pos += self.pos
        if whence == 2 or pos < self.pos:
            raise ArchiveError(f"{self.name}: the archive asks to be read backwards; refused")
        return pos

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


class _Decompressed(_Forward):
    """A forward-only stream of the decompressed bytes of a gzip, bzip2 or xz file.

    Concatenated streams of the same kind are read as one (``pigz``, ``pbzip2``, ``xz -T``); zero
    padding after the last is allowed; anything else after it, and a stream cut short, is refused.
    ``budget`` bounds the decompressed bytes this reader may produce.
    """

    def __init__(self, fh: IO[bytes], kind: str, name: str, budget: int, over: Callable[[], NoReturn] | None = None):
        self.fh = fh
        self.kind = kind
        self.name = name
        self.budget = budget
        self.over = over
        self.pos = 0
        self.last = b""
        self._buf = b""
        self._in = b""
        self._full = False
        self._done = False
        self._d = self._new()

    def _new(self) -> Any:
        if self.kind == "gz":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        if self.kind == "bz2":
            return bz2.BZ2Decompressor()
        return lzma.LZMADecompressor(format=lzma.FORMAT_XZ)

    def _input(self) -> bytes:
        data, self._in = self._in or self.fh.read(CHUNK), b""
        if not data:
            raise ArchiveError(f"{self.name}: the {self.kind} stream is cut short (truncated file); refused")
        return data

    def _after_stream(self) -> bool:
        """At the end of one stream: start the next one (True) or check that only zeros follow (False)."""
        rest = self._d.unused_data + self._in
        self._in = b""
        magic = COMPRESSIONS[self.kind]
        while True:
            rest = rest.lstrip(b"\0")
            if len(rest) < len(magic):
                more = self.fh.read(CHUNK)
                if not more:
                    if rest:
                        break
                    return False
                rest += more
                continue
            if rest.startswith(magic):
                self._in = rest
                self._d = self._new()
                self._full = False
                return True
            break
        raise ArchiveError(f"{self.name}: data after the end of the {self.kind} stream; refused")

    def _chunk(self) -> bytes:
        while not self._done:
            d = self._d
            if d.eof:
                if not self._after_stream():
                    self._done = True
                continue
            try:
                if self.kind == "gz":
                    data = d.unconsumed_tail
                    if not data and not self._full:
                        data = self._input()
                    out = d.decompress(data, CHUNK)
                else:
                    out = d.decompress(self._input() if d.needs_input else b"", CHUNK)
            except (zlib.error, OSError, EOFError, lzma.LZMAError) as exc:
                raise ArchiveError(f"{self.name}: the {self.kind} stream is damaged ({exc}); refused") from None
            self._full = len(out) == CHUNK
            if out:
                return out
        return b""

    def read(self, n: int = -1, partial_ok: bool = False) -> bytes:
        if n is None or n < 0:
            raise io.UnsupportedOperation("unbounded read")
        while len(self._buf) < n:
            more = self._chunk()
            if not more:
                break
            self._buf += more
        out, self._buf = self._buf[:n], self._buf[n:]
        self.pos += len(out)
        self.last = out[-_LAST:]
        if self.pos > self.budget and not partial_ok:
            if self.over is not None:
                self.over()
            raise ArchiveError(f"{self.name}: decompresses to more than {self.budget:,} bytes; refused")
        return out

    def seek(self, pos: int, whence: int = 0) -> int:
        pos = self._ahead(pos, whence)
        while self.pos < pos:
            if not self.read(min(CHUNK, pos - self.pos)):
                break
        return self.pos


class _Plain(_Forward):
    """The same forward-only interface over an uncompressed file (a plain tar)."""

    def __init__(self, fh: IO[bytes], name: str, budget: int):
        self.fh = fh
        self.name = name
        self.budget = budget
        self.pos = 0
        self.last = b""
        self._buf = b""
        fh.seek(0)

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            raise io.UnsupportedOperation("unbounded read")
        out, self._buf = self._buf[:n], self._buf[n:]
        if len(out) < n:
            out += self.fh.read(n - len(out))
        self.pos += len(out)
        self.last = out[-_LAST:]
        return out

    def seek(self, pos: int, whence: int = 0) -> int:
        pos = self._ahead(pos, whence)
        self._buf = b""
        self.fh.seek(pos)
        self.pos = pos
        return pos


# ------------------------------------------------------------------------------------------ writing


def _segments(name: str, archive: str) -> list[str]:
    """The folder-relative path segments of a member name; refuses names that would leave the folder."""
    norm = name.replace("\\", "/")
    segs = [s for s in norm.split("/") if s not in ("", ".")]
    drive = len(norm) > 1 and norm[1] == ":" and norm[0].isalpha()
    if norm.startswith("/") or drive or ".." in segs or "\x00" in name:
        raise ArchiveError(f"{archive}: archive member {name!r} would be written outside the extraction folder; "
                           "the file is refused")
    return segs


class _Writer:
    """Creates the members of one archive under a fresh folder: regular files and folders only."""

    def __init__(self, root: Path, budget: _Budget):
        self.root = root
        self.budget = budget
        self.name = budget.name

    def refuse_kind(self, member: str, kind: str) -> None:
        _segments(member, self.name)  # a link that also leaves the folder is reported as leaving it
        raise ArchiveError(f"{self.name}: archive member {member!r} is a {kind}; archives with links or special "
                           "files are refused (extract it yourself and pass the folder as data_dir)")

    def _conflict(self, member: str, exc: OSError) -> ArchiveError:
        if isinstance(exc, FileExistsError):
            why = "appears twice (or clashes with a folder of the same name)"
        elif isinstance(exc, (NotADirectoryError, IsADirectoryError)):
            why = "clashes with a file or folder of the same name"
        else:
            why = f"cannot be written ({exc.strerror or exc})"
        return ArchiveError(f"{self.name}: archive member {member!r} {why}; the file is refused")

    def folder(self, member: str) -> None:
        segs = _segments(member, self.name)
        self.budget.member()
        if not segs:
            return
        try:
            os.makedirs(self.root.joinpath(*segs), mode=0o755, exist_ok=True)
        except OSError as exc:
            raise self._conflict(member, exc) from None

    def file(self, member: str, read: Callable[[int], bytes]) -> None:
        segs = _segments(member, self.name)
        if not segs:
            raise ArchiveError(f"{self.name}: archive member {member!r} has no file name; the file is refused")
        self.budget.member()
        target = self.root.joinpath(*segs)
        try:
            if len(segs) > 1:
                os.makedirs(target.parent, mode=0o755, exist_ok=True)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except OSError as exc:
            raise self._conflict(member, exc) from None
        with os.fdopen(fd, "wb") as out:
            while chunk := read(CHUNK):
                self.budget.charge(len(chunk))
                try:
                    out.write(chunk)
                except OSError as exc:
                    raise ArchiveError(f"{self.name}: cannot write archive member {member!r} into {self.root.parent} "
                                       f"({exc.strerror}; is the disk full?)") from None


# ------------------------------------------------------------------------------------------ formats


def _extract_zip(fh: IO[bytes], size: int, w: _Writer) -> None:
    name = w.name
    entries, cd_offset, cd_size, end = _zip_directory(fh, size) or (0, 0, 0, 0)
    w.budget.check_members(entries)  # before zipfile reads the directory into memory
    fh.seek(0)
    try:
        zf = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise ArchiveError(f"{name}: a damaged zip archive ({exc}); refused") from None
    with zf:
        infos = zf.infolist()
        if len(infos) != entries or cd_offset + cd_size != end:
            raise ArchiveError(f"{name}: the zip directory does not match the archive (hidden or inserted data); "
                               "refused")
        claimed = 0
        for info in infos:  # everything that can be refused from the directory is refused before writing
            mode = info.external_attr >> 16
            kind = stat.S_IFMT(mode)
            if stat.S_ISLNK(mode):
                w.refuse_kind(info.filename, "symbolic link")
            if kind and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                w.refuse_kind(info.filename, "special file")
            if info.flag_bits & 0x1:
                raise ArchiveError(f"{name}: archive member {info.filename!r} is encrypted; extract it yourself and "
                                   "pass the folder as data_dir")
            _segments(info.filename, name)
            claimed += info.file_size + PER_MEMBER_CHARGE
        if claimed > w.budget.limit:
            w.budget.charge(claimed)  # raises: the directory alone says it is a bomb
        for info in infos:
            if info.is_dir() or stat.S_ISDIR(info.external_attr >> 16):
                w.folder(info.filename)
                continue
            try:
                with zf.open(info) as src:
                    w.file(info.filename, src.read)
            except (zipfile.BadZipFile, NotImplementedError, zlib.error, lzma.LZMAError, OSError,
                    EOFError, ValueError) as exc:
                raise ArchiveError(f"{name}: archive member {info.filename!r} cannot be read ({exc}); refused") \
                    from None


_DIGITS = re.compile(rb"[0-9]+")


def _check_pax(buf: bytes, member: str, name: str) -> None:
    """Refuse a pax header that is not a sequence of ``LEN KEY=VALUE\\n`` records, in linear time.

    CPython's tarfile parses pax headers with regular expressions whose time grows with the square of
    the length of a run of digits (CVE-2024-6232, fixed in 3.11.10 and 3.12.6); the records are checked
    here first so that no installed Python can be made to spin.
    """
    pos, end = 0, len(buf)
    while pos < end and buf[pos] != 0:
        space = buf.find(b" ", pos, pos + 21)
        length = buf[pos:space]
        if space < 0 or not length.isdigit() or length.startswith(b"0"):
            break
        n = int(length)
        record = buf[pos:pos + n]
        eq = record.find(b"=", space - pos + 1)
        if n < 5 or pos + n > end or not record.endswith(b"\n") or eq <= space - pos + 1:
            break
        if b"GNU.sparse." in record[:eq]:
            raise ArchiveError(f"{name}: archive member {member!r} is a sparse file; extract it yourself and pass the "
                               "folder as data_dir")
        pos += n
    else:
        if sum(len(m) ** 2 for m in _DIGITS.findall(buf)) <= MAX_DIGIT_COST:
            return
    raise ArchiveError(f"{name}: archive member {member!r} has a malformed pax header; refused")


class _SafeTarInfo(tarfile.TarInfo):
    """A TarInfo that checks the headers ``tarfile`` would otherwise read and parse without bound."""

    def _proc_member(self, tf: Any) -> Any:  # tarfile's hook for TarInfo subclasses (see its source)
        name = tf.covidct_name
        if self.type == tarfile.GNUTYPE_SPARSE:
            raise ArchiveError(f"{name}: archive member {self.name!r} is a sparse file; extract it yourself and pass "
                               "the folder as data_dir")
        if self.type in (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK) and self.size > MAX_LONG_NAME:
            raise ArchiveError(f"{name}: an archive member name of {self.size:,} bytes; refused")
        if self.type in (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE):
            cap = MAX_GLOBAL_PAX - tf.covidct_global if self.type == tarfile.XGLTYPE else MAX_PAX_HEADER
            if self.size > cap:
                raise ArchiveError(f"{name}: a pax header of {self.size:,} bytes; refused")
            if self.type == tarfile.XGLTYPE:
                tf.covidct_global += self.size
            buf = tf.fileobj.read(self._block(self.size))
            tf.fileobj.unread(buf)
            _check_pax(buf[:self.size], self.name, name)
        return super()._proc_member(tf)


class _SafeTarFile(tarfile.TarFile):
    """``tarfile`` reading a forward-only stream with :class:`_SafeTarInfo` headers."""

    def __init__(self, stream: _Decompressed | _Plain, name: str):
        self.covidct_name = name
        self.covidct_global = 0  # bytes of global pax headers so far
        super().__init__(fileobj=stream, mode="r", tarinfo=_SafeTarInfo)  # type: ignore[arg-type]


def _extract_tar(stream: _Decompressed | _Plain, w: _Writer) -> None:
    name = w.name
    overhead = 1 << 20  # end-of-archive blocks and record padding

    def allow() -> None:  # the stream may hold the data written so far plus every member's headers
        stream.budget = w.budget.limit + overhead + (w.budget.members + 1) * (3 * tarfile.BLOCKSIZE + MAX_PAX_HEADER)

    allow()
    try:
        with _SafeTarFile(stream, name) as tf:
            while (m := tf.next()) is not None:
                tf.members.clear()  # tarfile keeps every member it has read; covidct streams
                if m.issym() or m.islnk():
                    w.refuse_kind(m.name, "symbolic link" if m.issym() else "hard link")
                elif m.isdir():
                    w.folder(m.name)
                elif m.isreg():
                    if w.budget.used + m.size + PER_MEMBER_CHARGE > w.budget.limit:
                        w.budget.charge(m.size + PER_MEMBER_CHARGE)  # raises before anything of it is written
                    src = tf.extractfile(m)
                    assert src is not None
                    with src:
                        w.file(m.name, src.read)
                else:
                    w.refuse_kind(m.name, "special file")
                allow()
            end = tf.offset
    except (tarfile.TarError, ValueError, UnicodeError, EOFError) as exc:
        raise ArchiveError(f"{name}: a damaged tar archive ({exc}); refused") from None
    # tarfile stops at the first block that is not a header (all zeros, or garbage): only zeros may follow,
    # so that no second archive or damaged member hides behind the end
    consumed = stream.tell() - end
    if consumed > 0:
        stream.unread(stream.last[-consumed:])
    while block := stream.read(CHUNK):
        if block.count(0) != len(block):
            raise ArchiveError(f"{name}: data after the end of the tar archive (a second archive or a damaged "
                               "member); refused")


def single_name(download_name: str, fmt: str) -> str:
    """The file a single compressed download unpacks to: its name without ``.gz``/``.bz2``/``.xz``."""
    suffix = f".{fmt}"
    if download_name.lower().endswith(suffix) and len(download_name) > len(suffix):
        return download_name[: -len(suffix)]
    return download_name


# ------------------------------------------------------------------------------------------ entry point


def extract(fh: IO[bytes], declared: str, dest: Path, name: str) -> Path:
    """Identify, check and extract the open archive ``fh`` into ``dest`` (created whole, or not at all).

    ``declared`` is the card's ``archive:`` value; ``name`` the download's name (used in messages and,
    for a single compressed file, for the file written). Returns ``dest``. When ``dest`` appears while
    extracting (another process), that copy is kept.
    """
    fh.seek(0, 2)
    size = fh.tell()
    fmt = identify(fh, size, name)
    if fmt != declared:
        raise ArchiveError(f"{name}: the card declares `archive: {declared}`, but the file is {describe(fmt)}; "
                           "refused. Fix the card's `archive:` (or check that the right file was downloaded)")
    budget = _Budget(name, size)
    with first_dir(dest) as tmp:
        w = _Writer(tmp, budget)
        if fmt == ZIP:
            _extract_zip(fh, size, w)
        else:
            comp = fmt.rsplit(".", 1)[-1] if fmt != TAR else None
            fh.seek(0)
            stream: _Decompressed | _Plain = (_Decompressed(fh, comp, name, budget.limit, budget.refuse) if comp
                                              else _Plain(fh, name, budget=budget.limit))
            if fmt.startswith(TAR):
                _extract_tar(stream, w)
            else:
                assert isinstance(stream, _Decompressed)
                stream.budget = budget.limit  # a single file: the limit applies to the stream itself
                w.file(single_name(name, fmt), stream.read)
    return dest


__all__ = ["FORMATS", "ArchiveError", "describe", "extract", "identify", "single_name", "unpack_limit"]
