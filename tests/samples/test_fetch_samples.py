"""tests/samples/fetch_samples.py against a stand-in server on 127.0.0.1 (no other network).

A fetch either leaves a complete, checked folder or nothing: a checksum mismatch, a 404, a body cut
short or too long, a server that does not answer or is not there all end in one line on stderr, with
no temporary folder left behind. The real manifest is checked against the real samples, and fetched
from a stand-in serving them, when they are present.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from conftest import REPO, fetch_samples

SCRIPT = REPO / "tests" / "samples" / "fetch_samples.py"
FILES = {  # source name -> {path: bytes}
    "alpha": {"Index.csv": b"Folder/ID,Label\nP002,1\n", "Sample data/P 002/IM0001.dcm": bytes(range(256)) * 40},
    "beta": {"all.csv": b"filename,class\na.tif,covid\n"},
}
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _manifest(tmp: Path, files: dict[str, dict[str, bytes]] = FILES) -> Path:
    sources = []
    for name, content in files.items():
        entries = [{"path": src.removeprefix("Sample data/"), "source": src, "size": len(data),
                    "sha256": hashlib.sha256(data).hexdigest()} for src, data in content.items()]
        sources.append({"name": name, "repo": f"owner/{name}", "commit": COMMIT, "files": entries})
    path = tmp / "manifest.json"
    path.write_text(json.dumps({"base_url": "http://127.0.0.1:9/unused", "sources": sources}))
    return path


def _tree(root: Path, files: dict[str, dict[str, bytes]] = FILES) -> Path:
    """The stand-in tree a raw-file server would serve: <repo>/<commit>/<source>."""
    for name, content in files.items():
        for src, data in content.items():
            p = root / "owner" / name / COMMIT / src
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
    return root


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; ``behaviour`` (class attribute, set per test) can break one request path."""

    behaviour: ClassVar[dict[str, str]] = {}

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        how = next((v for k, v in self.behaviour.items() if self.path.endswith(k)), None)
        if how == "500":
            self.send_error(500)
        elif how == "truncate":  # announce the whole body, send half, close
            data = Path(self.translate_path(self.path)).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.close_connection = True
        elif how == "slow":
            time.sleep(3)
            super().do_GET()
        else:
            super().do_GET()


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up (the timeout test) leaves a broken pipe: expected, not worth a traceback


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, type[_Handler]]]:
    root = _tree(tmp_path / "served")
    handler = type("H", (_Handler,), {"behaviour": {}})
    httpd = _Server(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}", handler
    finally:
        httpd.shutdown()
        httpd.server_close()
        t.join(timeout=5)


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch_samples, "BACKOFF", 0.0)
    monkeypatch.delenv(fetch_samples.ENV_URL, raising=False)


def _leftovers(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.parent.iterdir() if p.name.startswith(f".{dest.name}."))


def test_fetch_writes_every_file_checked_then_does_nothing(tmp_path: Path, server) -> None:
    base, _ = server
    manifest, dest = _manifest(tmp_path), tmp_path / "out" / "fetched"
    assert fetch_samples.fetch(dest, base, manifest=manifest) == 3
    assert (dest / "alpha" / "P 002" / "IM0001.dcm").read_bytes() == FILES["alpha"]["Sample data/P 002/IM0001.dcm"]
    assert (dest / "beta" / "all.csv").read_bytes() == FILES["beta"]["all.csv"]
    assert fetch_samples.problems(dest, fetch_samples.load_manifest(manifest)[1]) == []
    assert _leftovers(dest) == []
    assert fetch_samples.fetch(dest, base, manifest=manifest) == 0  # complete: nothing downloaded


def test_an_altered_copy_is_replaced_whole(tmp_path: Path, server) -> None:
    base, _ = server
    manifest, dest = _manifest(tmp_path), tmp_path / "fetched"
    fetch_samples.fetch(dest, base, manifest=manifest)
    (dest / "beta" / "all.csv").write_bytes(b"filename,class\na.tif,normal\n")  # same size, other bytes
    (dest / "stray.txt").write_text("left by hand")
    assert fetch_samples.fetch(dest, base, manifest=manifest) == 3
    assert (dest / "beta" / "all.csv").read_bytes() == FILES["beta"]["all.csv"]
    assert not (dest / "stray.txt").exists()
    assert _leftovers(dest) == []


@pytest.mark.parametrize(("how", "why"), [
    ("checksum", "differs from the manifest"),
    ("404", "HTTP 404"),
    ("500", "HTTP 500"),
    ("truncate", "ended after 13 of 27 bytes"),
    ("longer", "longer than the"),
    ("slow", "no answer within"),
])
def test_a_bad_file_leaves_nothing(tmp_path: Path, server, monkeypatch: pytest.MonkeyPatch,
                                   how: str, why: str) -> None:
    base, handler = server
    manifest, dest = _manifest(tmp_path), tmp_path / "fetched"
    served = tmp_path / "served" / "owner" / "beta" / COMMIT / "all.csv"
    if how == "checksum":
        served.write_bytes(served.read_bytes().replace(b"covid", b"COVID"))
    elif how == "404":
        served.unlink()
    elif how == "longer":
        served.write_bytes(served.read_bytes() + b"b.tif,normal\n")
    else:
        handler.behaviour["/all.csv"] = how
    if how == "slow":
        monkeypatch.setattr(fetch_samples, "TIMEOUT", 0.5)
    with pytest.raises(fetch_samples.FetchError, match=why) as err:
        fetch_samples.fetch(dest, base, manifest=manifest)
    assert "/owner/beta/" + COMMIT + "/all.csv" in str(err.value)
    assert "\n" not in str(err.value)
    assert not dest.exists()
    assert _leftovers(dest) == []


def test_a_failed_fetch_keeps_the_earlier_copy(tmp_path: Path, server) -> None:
    base, _ = server
    manifest, dest = _manifest(tmp_path), tmp_path / "fetched"
    dest.mkdir()
    (dest / "half.bin").write_bytes(b"from an earlier, interrupted run")
    (tmp_path / "served" / "owner" / "alpha" / COMMIT / "Index.csv").unlink()
    with pytest.raises(fetch_samples.FetchError, match="HTTP 404"):
        fetch_samples.fetch(dest, base, manifest=manifest)
    assert sorted(p.name for p in dest.iterdir()) == ["half.bin"]
    assert _leftovers(dest) == []


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(*args: str, env_url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != fetch_samples.ENV_URL}
    if env_url:
        env[fetch_samples.ENV_URL] = env_url
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=120)


def test_unreachable_server_is_one_line_saying_what_to_do(tmp_path: Path) -> None:
    dest = tmp_path / "fetched"
    proc = _run("--dest", str(dest), "--base-url", f"http://127.0.0.1:{_free_port()}")
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert "connection refused" in lines[0] and "raw" not in lines[0]
    assert fetch_samples.ENV_URL in lines[0] and "shared/samples" in lines[0]
    assert "Traceback" not in proc.stderr and not dest.exists() and _leftovers(dest) == []


def test_unresolvable_host_is_named(tmp_path: Path) -> None:
    proc = _run("--dest", str(tmp_path / "f"), env_url="http://covidct-samples.invalid")
    assert proc.returncode == 1 and len(proc.stderr.splitlines()) == 1
    assert "does not resolve" in proc.stderr


def test_base_url_from_the_environment(tmp_path: Path, server) -> None:
    """What .ci/run relies on: COVIDCT_SAMPLES_URL points the script at a stand-in (here, with a
    real-manifest-shaped tree, through the script's own command line)."""
    base, _ = server
    proc = _run("--dest", str(tmp_path / "f"), env_url=base)
    # the real manifest's files are not on this stand-in: the first missing one is reported, one line
    assert proc.returncode == 1 and "HTTP 404" in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert base in proc.stderr


def test_manifest_paths_cannot_leave_the_folder(tmp_path: Path) -> None:
    for bad in ("../x", "/etc/passwd", "a/../../b", "a\\..\\b", ""):
        m = _manifest(tmp_path, {"alpha": {"Index.csv": b"1"}})
        data = json.loads(m.read_text())
        data["sources"][0]["files"][0]["path"] = bad
        m.write_text(json.dumps(data))
        with pytest.raises(fetch_samples.FetchError, match="unsafe path"):
            fetch_samples.load_manifest(m)


def test_real_manifest_is_pinned_and_checksummed() -> None:
    base, entries = fetch_samples.load_manifest()
    assert base == "https://raw.githubusercontent.com"
    data = json.loads(fetch_samples.MANIFEST.read_text())
    for src in data["sources"]:
        assert len(src["commit"]) == 40 and int(src["commit"], 16) >= 0, src["name"]
        assert src["license"]
    assert len({e.rel for e in entries}) == len(entries) == 144
    assert all(len(e.sha256) == 64 and e.size > 0 for e in entries)
    # what the sample tests read is listed
    rels = {e.rel for e in entries}
    for need in ("covid-ct-md/Index.csv", "covid-ct-md/Slice-level-labels-updated-1.npy",
                 "covid-ct-md/Lobe-level-labels-updated-1.npy", "covid-ctset/all.csv",
                 "covid-ctset/Patient_details.csv"):
        assert need in rels
    assert sum(r.startswith("covid-ct-md/COVID-19 subjects/P002/") for r in rels) == 133


@pytest.mark.samples
def test_real_samples_match_the_manifest_and_fetch_from_a_stand_in(samples_dir: Path, tmp_path: Path) -> None:
    """The folder the tests read holds exactly the pinned bytes, and the script fetches them from a
    stand-in laid out like raw.githubusercontent.com (the script's own --serve, on 127.0.0.1)."""
    _, entries = fetch_samples.load_manifest()
    assert fetch_samples.problems(samples_dir, entries) == []
    httpd = fetch_samples.stand_in(samples_dir)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        dest = tmp_path / "fetched"
        assert fetch_samples.fetch(dest, f"http://127.0.0.1:{httpd.server_port}") == len(entries)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert fetch_samples.find_samples(dest, entries) in (fetch_samples.SHARED, dest)
    assert fetch_samples.problems(dest, entries) == []
