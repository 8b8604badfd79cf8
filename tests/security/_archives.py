"""Hostile archives built in code, for the archive and download tests."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import struct
import tarfile
import zipfile
import zlib

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 24  # a PNG signature is all the archive layer looks at
MEMBERS = {"a/0.png": PNG, "a/1.png": PNG, "b/0.png": PNG, "b/1.png": PNG}


def zip_bytes(members: dict[str, bytes] = MEMBERS, **kw: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", **kw) as zf:  # type: ignore[arg-type]
        for n, b in members.items():
            zf.writestr(n, b)
    return buf.getvalue()


def tar_bytes(members: dict[str, bytes] = MEMBERS, extra: list[tarfile.TarInfo] = (), mode: str = "w",  # type: ignore[assignment]
              fmt: int = tarfile.GNU_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode, format=fmt) as tf:  # type: ignore[call-overload]
        for n, b in members.items():
            info = tarfile.TarInfo(n)
            info.size = len(b)
            tf.addfile(info, io.BytesIO(b))
        for info in extra:
            tf.addfile(info)
    return buf.getvalue()


def special(name: str, kind: bytes, target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def zeros_compressed(kind: str, n: int) -> bytes:
    """``n`` zero bytes, compressed as ``kind`` (gz, bz2, xz) without holding them in memory."""
    block = bytes(1 << 20)
    if kind == "gz":
        c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    elif kind == "bz2":
        c = bz2.BZ2Compressor(1)
    else:
        c = lzma.LZMACompressor(format=lzma.FORMAT_XZ, preset=0)
    parts = [c.compress(block) for _ in range(n >> 20)]
    parts.append(c.compress(bytes(n & ((1 << 20) - 1))))
    parts.append(c.flush())
    return b"".join(parts)


def compress(kind: str, data: bytes) -> bytes:
    return {"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}[kind](data)


def tar_with_zip_appended() -> bytes:
    """The issue's attack: a tar holding a FIFO and a symlink, followed by a small, valid zip."""
    tar = tar_bytes(MEMBERS, [special("a/9.png", tarfile.FIFOTYPE), special("a/8.png", tarfile.SYMTYPE, "/etc/passwd")])
    return tar + zip_bytes()


def zip_with_tar_header() -> bytes:
    """A zip whose first 512 bytes are also a valid tar header (the local header's name and extra field
    spell the tar fields), so ``zipfile`` and ``tarfile`` both open it."""
    name = b"a/" + b"p" * 64 + b".png"  # 70 bytes: the local header (30) + name end at the tar name field's end
    assert len(name) == 70
    data = PNG
    crc = zlib.crc32(data)
    extra_len = 512 - 100
    head = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0x21, crc, len(data), len(data), len(name), extra_len)
    block = bytearray(head + name + bytes(extra_len))
    block[100:108] = b"0000644\0"
    block[108:116] = b"0000000\0"
    block[116:124] = b"0000000\0"
    block[124:136] = b"00000000000\0"
    block[136:148] = b"00000000000\0"
    block[156:157] = b"0"
    block[257:265] = b"ustar\x0000"
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    local = bytes(block) + data
    central = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0x21, crc, len(data), len(data),
                          len(name), 0, 0, 0, 0, 0o100644 << 16, 0) + name
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local), 0)
    return local + central + end


def pax_redos(digits: int) -> bytes:
    """A tar.gz whose pax header holds a long run of digits (quadratic in CPython's tarfile before 3.11.10)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as tf:
        for n, b in MEMBERS.items():
            info = tarfile.TarInfo(n)
            info.size = len(b)
            if n == "a/0.png":
                info.pax_headers = {"comment": "1" * digits}
            tf.addfile(info, io.BytesIO(b))
    return buf.getvalue()


def tar_member_claiming(size: int, mode: str = "w:xz") -> bytes:
    """A compressed tar whose one member's header claims ``size`` bytes (the data itself is not there)."""
    info = tarfile.TarInfo("a/0.png")
    info.size = size
    raw = info.tobuf(tarfile.GNU_FORMAT) + bytes(1 << 16)
    return compress(mode.split(":")[1], raw)


class Zeros:
    """A file of ``n`` zero bytes that is never held in memory."""

    def __init__(self, n: int):
        self.left = n

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        self.left -= size
        return bytes(size)


def tar_of_zeros(members: int, each: int, mode: str) -> bytes:
    """A compressed tar whose members really hold ``each`` zero bytes (not only claim to)."""
    buf = io.BytesIO()
    fast = {"w:gz": {"compresslevel": 1}, "w:xz": {"preset": 0}}.get(mode, {})
    with tarfile.open(fileobj=buf, mode=mode, **fast) as tf:  # type: ignore[call-overload]
        for i in range(members):
            info = tarfile.TarInfo(f"a/{i}.png")
            info.size = each
            tf.addfile(info, Zeros(each))  # type: ignore[arg-type]
    return buf.getvalue()


def many_empty_members(n: int, mode: str = "w:xz") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for i in range(n):
            tf.addfile(tarfile.TarInfo(f"a/{i}.png"))
    return buf.getvalue()
