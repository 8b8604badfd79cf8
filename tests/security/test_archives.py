"""covidct.archives: one code path identifies, checks and extracts an archive, and refuses hostile ones.

Each hostile archive must be refused with a message naming it, leave nothing in the destination's
folder (extraction goes to a temporary folder renamed at the end), and never write more than the
unpack limit. The same attacks through a card and a download are in test_downloads.py.
"""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import _archives as A
import pytest

from covidct import archives
from covidct.archives import ArchiveError, extract, identify


def _extract(data: bytes, declared: str, tmp_path: Path, name: str = "data.bin") -> Path:
    return extract(io.BytesIO(data), declared, tmp_path / "out" / "dest", name)


def _refused(data: bytes, declared: str, tmp_path: Path, match: str, name: str = "data.bin") -> None:
    with pytest.raises(ArchiveError, match=match):
        _extract(data, declared, tmp_path, name)
    out = tmp_path / "out"
    left = list(out.iterdir()) if out.exists() else []
    assert left == [], f"left behind: {left}"


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------------------------------ good archives

GOOD = {
    "zip": lambda: A.zip_bytes(),
    "tar": lambda: A.tar_bytes(),
    "tar.gz": lambda: A.tar_bytes(mode="w:gz"),
    "tar.bz2": lambda: A.tar_bytes(mode="w:bz2"),
    "tar.xz": lambda: A.tar_bytes(mode="w:xz"),
    "pax tar.gz": lambda: A.tar_bytes(mode="w:gz", fmt=tarfile.PAX_FORMAT),
}


@pytest.mark.parametrize("case", sorted(GOOD))
def test_good_archives_extract_every_member(tmp_path: Path, case: str) -> None:
    declared = case.split()[-1]
    out = _extract(GOOD[case](), declared, tmp_path)
    assert _files(out) == A.MEMBERS
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["dest"]  # no temporary folder left


@pytest.mark.parametrize("kind", ["gz", "bz2", "xz"])
def test_single_compressed_file_unpacks_to_its_name(tmp_path: Path, kind: str) -> None:
    out = _extract(A.compress(kind, b"a,b\n1,2\n"), kind, tmp_path, name=f"labels.csv.{kind}")
    assert _files(out) == {"labels.csv": b"a,b\n1,2\n"}


@pytest.mark.parametrize("kind", ["gz", "bz2", "xz"])
def test_concatenated_streams_and_zero_padding_are_one_file(tmp_path: Path, kind: str) -> None:
    data = A.compress(kind, b"first ") + A.compress(kind, b"second") + bytes(64)
    assert _files(_extract(data, kind, tmp_path, name=f"t.txt.{kind}")) == {"t.txt": b"first second"}


# ------------------------------------------------------------------------------------------ format vs card


def test_xz_stream_declared_zip_is_refused(tmp_path: Path) -> None:
    """Issue 10.3: datasets' extractor wrote a 2 GiB file from this 312 KB 'zip'."""
    data = A.zeros_compressed("xz", 8 << 20)
    _refused(data, "zip", tmp_path, r"declares `archive: zip`, but the file is an xz-compressed file")


@pytest.mark.parametrize("declared,data,what", [
    ("tar.gz", lambda: A.tar_bytes(mode="w:bz2"), "bzip2-compressed tar"),
    ("tar", lambda: A.tar_bytes(mode="w:gz"), "gzip-compressed tar"),
    ("tar.gz", lambda: A.compress("gz", b"not a tar"), "gzip-compressed file that is not a tar"),
    ("gz", lambda: A.tar_bytes(mode="w:gz"), "gzip-compressed tar"),
    ("zip", lambda: A.tar_bytes(), "uncompressed tar"),
    ("tar", lambda: A.zip_bytes(), "a zip archive"),
])
def test_format_other_than_declared_is_refused(tmp_path: Path, declared: str, data: object, what: str) -> None:
    _refused(data(), declared, tmp_path, f"declares `archive: {declared}`, but the file is .*{what}")  # type: ignore[operator]


@pytest.mark.parametrize("head,match", [
    (b"7z\xbc\xaf\x27\x1c" + bytes(100), "7z archives are not extracted automatically"),
    (b"Rar!\x1a\x07\x00" + bytes(100), "rar archives are not extracted automatically"),
    (b"\x28\xb5\x2f\xfd" + bytes(100), "not an archive covidct can unpack"),  # zstd
    (b"<html>404</html>", "not an archive covidct can unpack"),
    (b"", "not an archive covidct can unpack"),
])
def test_unknown_and_foreign_formats_are_refused(tmp_path: Path, head: bytes, match: str) -> None:
    _refused(head, "zip", tmp_path, match)


# ------------------------------------------------------------------------------------------ polyglots


def test_tar_with_a_zip_appended_is_refused_as_either(tmp_path: Path) -> None:
    """Issue 10.3: it passed the zip check while datasets extracted it as tar (with a FIFO and a symlink)."""
    data = A.tar_with_zip_appended()
    for declared in ("zip", "tar"):
        _refused(data, declared, tmp_path, "reads as a zip archive and as a tar archive")


def test_zip_whose_first_block_is_a_tar_header_is_refused(tmp_path: Path) -> None:
    import zipfile

    data = A.zip_with_tar_header()
    assert zipfile.ZipFile(io.BytesIO(data)).read(zipfile.ZipFile(io.BytesIO(data)).namelist()[0]) == A.PNG
    assert tarfile.TarInfo.frombuf(data[:512], "utf-8", "surrogateescape")  # tarfile reads it too
    for declared in ("zip", "tar"):
        _refused(data, declared, tmp_path, "reads as a zip archive and as a tar archive")


@pytest.mark.parametrize("kind", ["gz", "bz2", "xz"])
def test_compressed_stream_with_a_zip_appended_is_refused(tmp_path: Path, kind: str) -> None:
    data = A.tar_bytes(mode=f"w:{kind}") + A.zip_bytes()
    _refused(data, f"tar.{kind}", tmp_path, "reads as a zip archive and as")


def test_zip_with_data_in_front_is_refused(tmp_path: Path) -> None:
    data = b"MZ" + bytes(1000) + A.zip_bytes()  # a self-extractor's shape
    _refused(data, "zip", tmp_path, "other data in front of it")


def test_zip_with_data_after_its_end_is_refused(tmp_path: Path) -> None:
    _refused(A.zip_bytes() + b"trailing", "zip", tmp_path, "data after its end")


def test_tar_with_a_second_archive_behind_its_end_is_refused(tmp_path: Path) -> None:
    # GNU tar -i (and other readers) would also extract the second tar's members
    data = A.tar_bytes() + A.tar_bytes({"c/0.png": A.PNG})
    _refused(data, "tar", tmp_path, "data after the end of the tar archive")


@pytest.mark.parametrize("kind", ["gz", "bz2", "xz"])
def test_garbage_after_a_compressed_stream_is_refused(tmp_path: Path, kind: str) -> None:
    _refused(A.tar_bytes(mode=f"w:{kind}") + b"more data", f"tar.{kind}", tmp_path,
             f"data after the end of the {kind} stream")


@pytest.mark.parametrize("kind", ["gz", "bz2", "xz"])
def test_truncated_compressed_stream_is_refused(tmp_path: Path, kind: str) -> None:
    data = A.tar_bytes({"a/0.png": os.urandom(200_000)}, mode=f"w:{kind}")
    _refused(data[: len(data) // 2], f"tar.{kind}", tmp_path, f"the {kind} stream is cut short")


def test_truncated_tar_is_refused(tmp_path: Path) -> None:
    data = A.tar_bytes({"a/0.png": os.urandom(5000)})
    _refused(data[:3000], "tar", tmp_path, "damaged tar archive")


# ------------------------------------------------------------------------------------------ members

LINKS = {
    "fifo": (tarfile.FIFOTYPE, "", "special file"),
    "char device": (tarfile.CHRTYPE, "", "special file"),
    "block device": (tarfile.BLKTYPE, "", "special file"),
    "symlink": (tarfile.SYMTYPE, "/etc/passwd", "symbolic link"),
    "hard link": (tarfile.LNKTYPE, "a/0.png", "hard link"),
}


@pytest.mark.parametrize("case", sorted(LINKS))
@pytest.mark.parametrize("mode", ["w", "w:gz"])
def test_tar_links_and_special_files_are_refused(tmp_path: Path, case: str, mode: str) -> None:
    kind, target, what = LINKS[case]
    data = A.tar_bytes(A.MEMBERS, [A.special("a/9.png", kind, target)], mode=mode)
    _refused(data, "tar" if mode == "w" else "tar.gz", tmp_path, what)


@pytest.mark.parametrize("mode,what", [(0o010644, "special file"), (0o020644, "special file"),
                                       (0o120777, "symbolic link"), (0o140644, "special file")])
def test_zip_links_and_special_files_are_refused(tmp_path: Path, mode: int, what: str) -> None:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a/0.png", A.PNG)
        info = zipfile.ZipInfo("a/9.png")
        info.external_attr = mode << 16
        zf.writestr(info, b"/etc/passwd")
    _refused(buf.getvalue(), "zip", tmp_path, what)


def test_tar_sparse_member_is_refused(tmp_path: Path) -> None:
    info = tarfile.TarInfo("a/9.png")
    info.type = tarfile.GNUTYPE_SPARSE
    _refused(A.tar_bytes(A.MEMBERS, [info]), "tar", tmp_path, "sparse file")


def test_encrypted_zip_member_is_refused(tmp_path: Path) -> None:
    data = bytearray(A.zip_bytes({"a/0.png": A.PNG}))
    cd = data.rfind(b"PK\x01\x02")
    data[6] |= 1  # the local header's flag bits
    data[cd + 8] |= 1  # the central directory's
    _refused(bytes(data), "zip", tmp_path, "encrypted")


@pytest.mark.parametrize("names,match", [
    (["a/0.png", "a/0.png"], "appears twice"),
    (["a", "a/0.png"], "clashes|appears twice"),
    (["a/0.png", "a/0.png/x.png"], "clashes|appears twice"),
])
def test_duplicate_and_clashing_members_are_refused(tmp_path: Path, names: list[str], match: str) -> None:
    import warnings
    import zipfile

    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w") as zf:
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate it writes
        for n in names:
            zf.writestr(n, A.PNG)
    _refused(buf.getvalue(), "zip", tmp_path, match)
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as tf:
        for n in names:
            info = tarfile.TarInfo(n)
            info.size = len(A.PNG)
            tf.addfile(info, io.BytesIO(A.PNG))
    _refused(tar.getvalue(), "tar", tmp_path, match)


@pytest.mark.parametrize("name", ["../evil.png", "a/../../evil.png", "/tmp/covidct-evil.png", "..\\evil.png",
                                  "C:/evil.png", "C:\\evil.png"])
@pytest.mark.parametrize("fmt", ["zip", "tar.gz"])
def test_member_names_leaving_the_folder_are_refused(tmp_path: Path, name: str, fmt: str) -> None:
    members = {**A.MEMBERS, name: A.PNG}
    data = A.zip_bytes(members) if fmt == "zip" else A.tar_bytes(members, mode="w:gz")
    _refused(data, fmt, tmp_path, "outside the extraction folder")
    assert not list(tmp_path.rglob("*evil*")) and not Path("/tmp/covidct-evil.png").exists()


# ------------------------------------------------------------------------------------------ bombs


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    """80 MiB of zeros per compression: each compresses to less than 100 KB."""
    return {k: A.zeros_compressed(k, 80 << 20) for k in ("gz", "bz2", "xz")}


@pytest.mark.parametrize("kind", ["gz", "bz2", "xz"])
def test_single_file_bombs_stop_at_the_limit(tmp_path: Path, bombs: dict[str, bytes], kind: str) -> None:
    data = bombs[kind]
    assert archives.unpack_limit(len(data)) < 80 << 20
    _refused(data, kind, tmp_path, "archive bomb", name=f"x.{kind}")


def test_tar_member_claiming_more_than_the_limit_is_refused_before_writing(tmp_path: Path) -> None:
    _refused(A.tar_member_claiming(10 << 30), "tar.xz", tmp_path, "archive bomb")


@pytest.mark.parametrize("kind", ["gz", "xz"])
def test_tar_bomb_of_real_zeros_is_refused(tmp_path: Path, kind: str) -> None:
    """Members whose data is really there: counted as written, refused at the limit."""
    data = A.tar_of_zeros(4, 24 << 20, f"w:{kind}")
    assert archives.unpack_limit(len(data)) < 96 << 20
    _refused(data, f"tar.{kind}", tmp_path, "archive bomb")


def test_thousands_of_empty_files_in_a_few_bytes_are_refused(tmp_path: Path) -> None:
    """Empty members compress to about a byte each in tar.xz: they cost time and inodes, not bytes."""
    data = A.many_empty_members(5000)
    assert len(data) < 5000 * archives.MEMBER_DENSITY
    _refused(data, "tar.xz", tmp_path, "more than 1,000 archive members .*archive bomb")


def test_empty_files_count_against_the_byte_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archives, "MEMBER_FLOOR", 10**6)
    monkeypatch.setenv("COVIDCT_MAX_UNPACKED_BYTES", str(100 * archives.PER_MEMBER_CHARGE))
    _refused(A.many_empty_members(200, mode="w"), "tar", tmp_path, "archive bomb")


def test_zip_directory_claiming_too_much_is_refused_before_writing(tmp_path: Path) -> None:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf, \
            zf.open("a/0.png", "w", force_zip64=True) as fh:
        for _ in range(100):
            fh.write(bytes(1 << 20))
    _refused(buf.getvalue(), "zip", tmp_path, "archive bomb")


def test_limit_is_set_by_the_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = A.zeros_compressed("gz", 50_000)
    monkeypatch.setenv("COVIDCT_MAX_UNPACKED_BYTES", "40000")
    _refused(data, "gz", tmp_path, "archive bomb.*COVIDCT_MAX_UNPACKED_BYTES", name="z.gz")
    monkeypatch.setenv("COVIDCT_MAX_UNPACKED_BYTES", "60000")
    assert (_extract(data, "gz", tmp_path, name="z.gz") / "z").stat().st_size == 50_000
    monkeypatch.setenv("COVIDCT_MAX_UNPACKED_BYTES", "lots")
    with pytest.raises(ArchiveError, match="not a positive number of bytes"):
        extract(io.BytesIO(data), "gz", tmp_path / "other", "z.gz")


# ------------------------------------------------------------------------------------------ tar headers


def test_pax_header_with_a_long_digit_run_is_refused_fast(tmp_path: Path) -> None:
    """CPython's tarfile (before 3.11.10/3.12.6) spends quadratic time on digit runs in pax headers."""
    _refused(A.pax_redos(30_000), "tar.gz", tmp_path, "malformed pax header")


@pytest.mark.parametrize("record", [b"99999 path=x\n", b"5 x\n", b"0012 path=a\n", b"12 =abcdefg\n", b"garbage"])
def test_malformed_pax_records_are_refused(tmp_path: Path, record: bytes) -> None:
    info = tarfile.TarInfo("././@PaxHeader")
    info.type = tarfile.XHDTYPE
    info.size = len(record)
    raw = info.tobuf(tarfile.GNU_FORMAT) + record + bytes(-len(record) % 512) + A.tar_bytes()
    _refused(raw, "tar", tmp_path, "malformed pax header")


def test_huge_pax_and_long_name_headers_are_refused(tmp_path: Path) -> None:
    for kind, size in ((tarfile.XHDTYPE, 2 << 20), (tarfile.XGLTYPE, 128 << 10), (tarfile.GNUTYPE_LONGNAME, 1 << 20)):
        info = tarfile.TarInfo("././@LongLink")
        info.type = kind
        info.size = size
        raw = info.tobuf(tarfile.GNU_FORMAT) + bytes(512)
        _refused(A.compress("gz", raw), "tar.gz", tmp_path, "bytes; refused")


def test_identify_names_each_format(tmp_path: Path) -> None:
    samples = {"zip": A.zip_bytes(), "tar": A.tar_bytes(), "tar.gz": A.tar_bytes(mode="w:gz"),
               "tar.bz2": A.tar_bytes(mode="w:bz2"), "tar.xz": A.tar_bytes(mode="w:xz"),
               "gz": A.compress("gz", b"x"), "bz2": A.compress("bz2", b"x"), "xz": A.compress("xz", b"x")}
    for fmt, data in samples.items():
        assert identify(io.BytesIO(data), len(data), "f") == fmt
    assert set(samples) == set(archives.FORMATS)


@pytest.mark.parametrize("kind", ["plain", "gz"])
def test_streams_go_forward_only(kind: str) -> None:
    """tarfile may skip ahead in a stream, never back (a member read twice would be unpacked twice)."""
    import gzip

    data = bytes(range(256)) * 4
    if kind == "plain":
        stream: archives._Forward = archives._Plain(io.BytesIO(data), "x.tar", budget=10_000)
    else:
        stream = archives._Decompressed(io.BytesIO(gzip.compress(data)), "gz", "x.tar.gz", 10_000)
    assert stream.read(10) == data[:10]
    stream.unread(b"\x05\x06")
    assert stream.tell() == 8 and stream.read(2) == b"\x05\x06"
    assert stream.seek(100) == 100 and stream.read(1) == data[100:101]
    assert stream.seek(10, 1) == 111
    for pos, whence in ((5, 0), (-1, 1), (0, 2)):
        with pytest.raises(archives.ArchiveError, match="read backwards"):
            stream.seek(pos, whence)
    assert not stream.seekable() and stream.readable()
