"""Fetch the real sample files the tests read, as listed in manifest.json beside this script.

    python tests/samples/fetch_samples.py [--dest DIR] [--base-url URL]

Every file comes from ``{base_url}/{repo}/{commit}/{source}`` (raw files of the dataset's GitHub
repository at a pinned commit) and must have the size and sha256 the manifest gives. The files are
written into a temporary folder beside DEST, which is renamed into place only when every file is
right: DEST is complete or absent, never half-written. A DEST that is already complete is left as is.

The base URL is ``--base-url``, else ``$COVIDCT_SAMPLES_URL``, else the manifest's
(https://raw.githubusercontent.com). A stand-in server serves the same tree: ``<repo>/<commit>/<source>``.
``--serve DIR`` is one: it serves the listed files of a samples folder (laid out as ../shared/samples)
on 127.0.0.1, e.g. to try the fetch in a fresh clone on a machine that has a copy but no GitHub.

Any failure prints one line on stderr that says which file, why, and what to do; exit status 1.
Standard library only: .ci/run may call it before anything is installed.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import http.server
import json
import os
import shutil
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "manifest.json"
DEFAULT_DEST = HERE / "fetched"  # git-ignored
SHARED = HERE.parents[2] / "shared" / "samples"  # the project machine's copy, beside the repository
ENV_URL = "COVIDCT_SAMPLES_URL"
HOW_TO_GET = (f"run `python tests/samples/fetch_samples.py` (needs github.com; {ENV_URL} names a mirror), "
              f"or copy the files listed in tests/samples/manifest.json to {SHARED}")
TIMEOUT = 60.0  # seconds without a byte before a download counts as failed
RETRIES = 2  # further tries after a transient failure (timeout, reset, truncated body, HTTP 5xx)
BACKOFF = 1.0  # seconds before the first retry; doubled for the next
CHUNK = 1 << 16


class FetchError(Exception):
    """A failure, told in one line."""


class _Transient(FetchError):
    """A failure worth another try."""


@dataclass(frozen=True)
class Entry:
    rel: str  # path under the destination folder: <source name>/<path>
    url_path: str  # <repo>/<commit>/<source path>, URL-quoted
    size: int
    sha256: str


def _safe_rel(text: str) -> str:
    p = PurePosixPath(text)
    if p.is_absolute() or not p.parts or any(part in ("", ".", "..") for part in p.parts) or "\\" in text:
        raise FetchError(f"{MANIFEST}: unsafe path {text!r}")
    return p.as_posix()


def load_manifest(path: Path = MANIFEST) -> tuple[str, list[Entry]]:
    """The manifest's base URL and its files."""
    data = json.loads(path.read_text(encoding="utf-8"))
    entries = []
    for src in data["sources"]:
        name = _safe_rel(src["name"])
        for f in src["files"]:
            entries.append(Entry(
                rel=f"{name}/{_safe_rel(f['path'])}",
                url_path=urllib.parse.quote(f"{src['repo']}/{src['commit']}/{_safe_rel(f['source'])}"),
                size=int(f["size"]),
                sha256=str(f["sha256"]).lower(),
            ))
    return str(data["base_url"]), entries


def present(folder: Path, entries: list[Entry]) -> bool:
    """Every listed file is in ``folder`` as a regular file of the listed size (a cheap check)."""
    for e in entries:
        p = folder / e.rel
        if p.is_symlink() or not p.is_file() or p.stat().st_size != e.size:
            return False
    return True


def problems(folder: Path, entries: list[Entry]) -> list[str]:
    """What in ``folder`` differs from the manifest (full sha256 check); empty when it is complete."""
    out = []
    for e in entries:
        p = folder / e.rel
        if p.is_symlink() or not p.is_file():
            out.append(f"{e.rel}: missing")
            continue
        h = hashlib.sha256()
        with p.open("rb") as fh:
            for block in iter(lambda fh=fh: fh.read(CHUNK), b""):
                h.update(block)
        if h.hexdigest() != e.sha256:
            out.append(f"{e.rel}: sha256 differs from the manifest")
    return out


def find_samples(dest: Path = DEFAULT_DEST, entries: list[Entry] | None = None) -> Path | None:
    """The folder the tests read: ../shared/samples, else the fetched copy, if it holds every file."""
    entries = entries if entries is not None else load_manifest()[1]
    for cand in (SHARED, dest):
        if cand.is_dir() and present(cand, entries):
            return cand
    return None


def _why(exc: BaseException) -> str:
    """A short reason for a failed request."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
    if isinstance(exc, socket.gaierror):
        return "the host name does not resolve"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return f"no answer within {TIMEOUT:g} s"
    if isinstance(exc, (ConnectionResetError, http.client.IncompleteRead, http.client.RemoteDisconnected)):
        return "the connection broke off"
    return str(exc) or type(exc).__name__


def _download(url: str, entry: Entry, out: Path) -> None:
    """``url`` into ``out``, refusing more bytes than listed and any checksum mismatch."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as resp:
            h = hashlib.sha256()
            n = 0
            with out.open("wb") as fh:
                while block := resp.read(CHUNK):
                    n += len(block)
                    if n > entry.size:
                        raise FetchError(f"{url}: longer than the {entry.size} bytes the manifest lists")
                    h.update(block)
                    fh.write(block)
    except urllib.error.HTTPError as exc:
        cls = _Transient if exc.code >= 500 else FetchError
        raise cls(f"{url}: {_why(exc)}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        permanent = isinstance(reason, (socket.gaierror, ConnectionRefusedError))
        raise (FetchError if permanent else _Transient)(f"{url}: {_why(exc)}") from None
    if n < entry.size:
        raise _Transient(f"{url}: the body ended after {n} of {entry.size} bytes")
    if h.hexdigest() != entry.sha256:
        raise FetchError(f"{url}: sha256 {h.hexdigest()} differs from the manifest's {entry.sha256}")


def _fetch_one(base: str, entry: Entry, root: Path) -> None:
    out = root / entry.rel
    out.parent.mkdir(parents=True, exist_ok=True)
    url = f"{base.rstrip('/')}/{entry.url_path}"
    for attempt in range(RETRIES + 1):
        try:
            _download(url, entry, out)
            return
        except _Transient:
            if attempt == RETRIES:
                raise
            time.sleep(BACKOFF * 2**attempt)


def fetch(dest: Path = DEFAULT_DEST, base_url: str | None = None, *, manifest: Path = MANIFEST,
          workers: int = 8) -> int:
    """Fetch every listed file into ``dest``; returns how many files were downloaded (0: already there)."""
    default_base, entries = load_manifest(manifest)
    base = base_url or os.environ.get(ENV_URL) or default_base
    if not base.startswith(("http://", "https://")):
        raise FetchError(f"the base URL {base!r} is not an http(s) URL")
    if dest.is_dir() and not problems(dest, entries):
        return 0
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(_fetch_one, base, e, tmp) for e in entries]
            try:
                for fut in futures:
                    fut.result()  # the first failure, in manifest order
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)  # no download outlives the failure
                raise
        bad = problems(tmp, entries)
        if bad:  # cannot happen unless the disk lies; never rename an incomplete folder into place
            raise FetchError(f"after download: {bad[0]}")
        if dest.exists() or dest.is_symlink():  # an incomplete or altered earlier copy
            old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
            os.replace(dest, old / "x")
            shutil.rmtree(old, ignore_errors=True)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return len(entries)


def stand_in(folder: Path, port: int = 0, manifest: Path = MANIFEST) -> http.server.ThreadingHTTPServer:
    """An HTTP server on 127.0.0.1 answering ``/<repo>/<commit>/<source>`` with ``folder/<name>/<path>``,
    for the manifest's files only (anything else is 404). Call ``serve_forever`` on it."""
    data = json.loads(manifest.read_text(encoding="utf-8"))
    files = {
        f"/{s['repo']}/{s['commit']}/{_safe_rel(f['source'])}": folder / _safe_rel(s["name"]) / _safe_rel(f["path"])
        for s in data["sources"] for f in s["files"]
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            path = files.get(urllib.parse.unquote(self.path.split("?", 1)[0]))
            if path is None or not path.is_file():
                self.send_error(404)
                return
            body = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            pass  # a client that gave up mid-file: its fetch reports it

    return Server(("127.0.0.1", port), Handler)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dest", type=Path, default=DEFAULT_DEST, help=f"target folder (default: {DEFAULT_DEST})")
    ap.add_argument("--base-url", help=f"where the files are served (default: ${ENV_URL}, else the manifest's)")
    ap.add_argument("--serve", type=Path, metavar="DIR", help="serve the samples in DIR on 127.0.0.1 instead")
    ap.add_argument("--port", type=int, default=0, help="port for --serve (default: any free one)")
    ns = ap.parse_args(argv)
    if ns.serve:
        httpd = stand_in(ns.serve, ns.port)
        print(f"http://127.0.0.1:{httpd.server_port}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            httpd.serve_forever()
        return 0
    try:
        n = fetch(ns.dest, ns.base_url)
    except FetchError as exc:
        print(f"fetch_samples: {exc}; nothing was written to {ns.dest}. To get the samples: check the network, "
              f"or set {ENV_URL} to a mirror serving <repo>/<commit>/<path>, or copy them to {SHARED}",
              file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"fetch_samples: cannot write {ns.dest}: {exc}", file=sys.stderr)
        return 1
    print(f"fetch_samples: {ns.dest} is complete" + (f" ({n} files downloaded)" if n else " (nothing to do)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
