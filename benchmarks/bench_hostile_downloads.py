"""Measure: time and peak memory of covidct refusing hostile archives and download URLs.

Each case runs in a fresh child process (``python -c``), timed inside the child around the call, with
the child's peak RSS (VmHWM) minus that of a child that only imports the same modules (the baseline),
so the figure is what the attack costs. Archives go through ``covidct.archives.extract`` (what ``covidct
load`` calls after the download); URLs through ``covidct.download.fetch`` against a loopback server.

    python benchmarks/bench_hostile_downloads.py [--only NAME]

Prints one Markdown row per case: attack | what covidct says | seconds | peak RSS (MB) above the
baseline. Target (issue 10): each refused within 1 s and 200 MB. No assertions: a script to run and read.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "security"))
sys.path.insert(0, str(HERE.parent / "tests"))

import _archives as A  # noqa: E402

CHILD = r"""
import io, json, sys, time
from pathlib import Path
from covidct import archives, download
kind, arg, declared = sys.argv[1], sys.argv[2], sys.argv[3]

def hwm():  # peak RSS of this process image in KiB (ru_maxrss would include the parent's, across exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

r0 = hwm()
t = time.perf_counter()
try:
    if kind == "archive":
        with open(arg, "rb") as fh:
            archives.extract(fh, declared, Path(sys.argv[4]) / "dest", Path(arg).name)
        msg = "accepted"
    elif kind == "url":
        download.fetch(arg, Path(sys.argv[4]) / "x.bin")
        msg = "accepted"
    else:
        msg = "baseline"
except (archives.ArchiveError, download.DownloadError) as exc:
    msg = str(exc).splitlines()[0]
dt = time.perf_counter() - t
print(json.dumps({"msg": msg, "s": dt, "rss0": r0, "rss": hwm()}))
"""


def _zip_claiming_members(n: int) -> bytes:
    import struct

    return b"PK\x03\x04" + bytes(26) + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, n, n, 0, 30, 0)


def _big_pax(kind: int, size: int) -> bytes:
    info = tarfile.TarInfo("././@LongLink")
    info.type = kind
    info.size = size
    return A.compress("gz", info.tobuf(tarfile.GNU_FORMAT) + bytes(size + 512))


def _links(kind: bytes, target: str = "") -> bytes:
    return A.tar_bytes(A.MEMBERS, [A.special("a/9.png", kind, target)], mode="w:gz")


def _zip_symlink() -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a/0.png", A.PNG)
        info = zipfile.ZipInfo("a/9.png")
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    return buf.getvalue()


ARCHIVES: dict[str, tuple[str, Callable[[], bytes]]] = {
    "xz stream (2 GiB of zeros) declared zip": ("zip", lambda: A.zeros_compressed("xz", 2 << 30)),
    "tar (FIFO + symlink) with a zip appended, declared zip": ("zip", A.tar_with_zip_appended),
    "same, declared tar": ("tar", A.tar_with_zip_appended),
    "zip whose first block is a valid tar header": ("zip", A.zip_with_tar_header),
    "gz bomb: 2 GiB of zeros": ("gz", lambda: A.zeros_compressed("gz", 2 << 30)),
    "bz2 bomb: 2 GiB of zeros": ("bz2", lambda: A.zeros_compressed("bz2", 2 << 30)),
    "xz bomb: 2 GiB of zeros": ("xz", lambda: A.zeros_compressed("xz", 2 << 30)),
    "tar.gz bomb: 1 GiB of real zeros in 8 members": ("tar.gz", lambda: A.tar_of_zeros(8, 128 << 20, "w:gz")),
    "tar.xz member header claiming 10 GiB": ("tar.xz", lambda: A.tar_member_claiming(10 << 30)),
    "zip directory claiming 1.1 GiB (deflated zeros)": ("zip", lambda: _zip_of_zeros(1100)),
    "tar.xz of 100,000 empty files (~100 KB)": ("tar.xz", lambda: A.many_empty_members(100_000)),
    "zip end record claiming 60,000 members in 52 bytes": ("zip", lambda: _zip_claiming_members(60_000)),
    "pax header with 1,000,000 digits (CPython tarfile ReDoS)": ("tar.gz", lambda: A.pax_redos(1_000_000)),
    "pax header of 2 MiB": ("tar.gz", lambda: _big_pax(tarfile.XHDTYPE, 2 << 20)),
    "GNU long name of 1 MiB": ("tar.gz", lambda: _big_pax(tarfile.GNUTYPE_LONGNAME, 1 << 20)),
    "tar.gz with a FIFO": ("tar.gz", lambda: _links(tarfile.FIFOTYPE)),
    "tar.gz with a hard link": ("tar.gz", lambda: _links(tarfile.LNKTYPE, "a/0.png")),
    "tar.gz with a character device": ("tar.gz", lambda: _links(tarfile.CHRTYPE)),
    "zip with a symlink member": ("zip", _zip_symlink),
    "zip slip ../evil.png": ("zip", lambda: A.zip_bytes({**A.MEMBERS, "../evil.png": A.PNG})),
    "tar with a second tar behind its end": ("tar", lambda: A.tar_bytes() + A.tar_bytes({"c/0.png": A.PNG})),
    "tar.gz with garbage after the gzip stream": ("tar.gz", lambda: A.tar_bytes(mode="w:gz") + b"junk"),
    "zip with a self-extractor stub in front": ("zip", lambda: b"MZ" + bytes(4000) + A.zip_bytes()),
}


def _zip_of_zeros(mib: int) -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf, \
            zf.open("a/0.png", "w", force_zip64=True) as fh:
        for _ in range(mib):
            fh.write(bytes(1 << 20))
    return buf.getvalue()


def _child(args: list[str], env: dict[str, str] | None = None) -> dict:
    import os

    src = str(HERE.parent / "src")
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": src, **(env or {})}, timeout=600)
    wall = time.perf_counter() - t
    if proc.returncode:
        return {"msg": f"CRASH {proc.stderr.strip().splitlines()[-1:]}", "s": wall, "rss": 0, "rss0": 0}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", help="run the cases whose name holds this text")
    ns = ap.parse_args()
    base = _child(["baseline", "-", "-"])
    print(f"baseline child (imports covidct.archives, covidct.download): peak RSS {base['rss'] / 1024:.0f} MB\n")
    print("| attack | what covidct says | s | peak MB above baseline |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (declared, make) in ARCHIVES.items():
            if ns.only and ns.only not in name:
                continue
            path = Path(tmp) / f"case.{declared}"
            data = make()
            path.write_bytes(data)
            out = Path(tmp) / "out"
            r = _child(["archive", str(path), declared, str(out)])
            import shutil

            shutil.rmtree(out, ignore_errors=True)
            print(f"| {name} ({len(data):,} bytes) | {r['msg'][:150]} | {r['s']:.2f} | "
                  f"{max(0, r['rss'] - base['rss']) / 1024:.0f} |")
        from localhttp import LocalServer

        with LocalServer(Path(tmp)) as srv:
            urls = {
                "http://127.0.0.1/": f"{srv.base}/x",
                "http://2130706433/ (decimal 127.0.0.1)": f"http://2130706433:{srv.port}/x",
                "http://0x7f.1/": f"http://0x7f.1:{srv.port}/x",
                "http://[::ffff:127.0.0.1]/": f"http://[::ffff:127.0.0.1]:{srv.port}/x",
                "http://localhost/": f"http://localhost:{srv.port}/x",
                "http://169.254.169.254/ (cloud metadata)": "http://169.254.169.254/latest/meta-data/",
                "http://covidct-test.invalid/ (does not resolve)": "http://covidct-test.invalid/x.zip",
            }
            for name, url in urls.items():
                if ns.only and ns.only not in name:
                    continue
                r = _child(["url", url, "-", tmp])
                print(f"| URL {name} | {r['msg'][:150]} | {r['s']:.2f} | {max(0, r['rss'] - base['rss']) / 1024:.0f} |")

if __name__ == "__main__":
    main()
