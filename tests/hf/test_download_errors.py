"""A download that fails says which URL, why and what to do, in one message, and leaves nothing behind.

Served by a loopback HTTP server (404, 500, cut bodies, slow answers, redirects) or aimed at a name
under ``.invalid``, which RFC 2606 guarantees never resolves. Loopback is allowed for these tests with
COVIDCT_ALLOW_PRIVATE_HOSTS=1 (refusing it is tests/security/test_private_hosts.py).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import socket
import subprocess
import sys
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layout"))
from cardkit import CLASS_LABEL, make_card, png

from localhttp import LocalServer, body, chunked, status

datasets = pytest.importorskip("datasets")

import covidct  # noqa: E402
from covidct.hf.builder import ChecksumMismatch, DataError, builder_for  # noqa: E402
from covidct.hf.load import prepare  # noqa: E402

# the settings are named here rather than imported, so that each test fails for its own reason on a covidct
# without its own downloader
ALLOW, RETRIES, TIMEOUT = "COVIDCT_ALLOW_PRIVATE_HOSTS", "COVIDCT_DOWNLOAD_RETRIES", "COVIDCT_DOWNLOAD_TIMEOUT"

LAYOUT = {
    "archives": ["data.zip"],
    "parts": {"cls": {"regex": "covid|normal"}, "f": {"regex": "[^/]+"}},
    "files": {"image": {"pattern": "{cls}/{f}.png", "format": "png"}},
    "labels": {"label": {"part": "cls"}},
}
DEAD_HOST = "covidct-test.invalid"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    src = tmp_path_factory.mktemp("src")
    for i, rel in enumerate(["covid/a.png", "covid/b.png", "normal/c.png"]):
        png(src / rel, value=i)
    z = src / "data.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in sorted(src.rglob("*.png")):
            zf.write(p, p.relative_to(src).as_posix())
    return z.read_bytes()


@pytest.fixture
def srv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, archive: bytes) -> Iterator[LocalServer]:
    monkeypatch.setenv(ALLOW, "1")
    monkeypatch.setenv(RETRIES, "0")
    if importlib.util.find_spec("covidct.download"):
        monkeypatch.setattr("covidct.download.RETRY_DELAY", 0.01)
    (tmp_path / "served").mkdir()
    (tmp_path / "served" / "data.zip").write_bytes(archive)
    with LocalServer(tmp_path / "served") as s:
        yield s


def _card(url: str, data: bytes | None = None, **dl: Any) -> Any:
    entry = {"name": "data.zip", "url": url, "archive": "zip", **dl}
    if data is not None:
        entry["sha256"] = hashlib.sha256(data).hexdigest()
    return make_card(LAYOUT, [CLASS_LABEL], downloads=[entry])


def _prepare(card: Any, tmp_path: Path, **kw: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return prepare(builder_for(card, cache_dir=tmp_path / "cache", **{k: v for k, v in kw.items()
                                                                          if k == "split_by"}),
                       **{k: v for k, v in kw.items() if k != "split_by"})


def _nothing_kept(tmp_path: Path) -> None:
    """No file (finished or partial) in the download cache after a failure."""
    cache = tmp_path / "cache"
    files = [p for p in cache.rglob("*") if p.is_file() and "downloads" in p.parts] if cache.exists() else []
    assert files == [], files


def _fails(card: Any, tmp_path: Path, match: str) -> str:
    with pytest.raises(DataError, match=match) as err:
        _prepare(card, tmp_path)
    msg = str(err.value)
    assert card.downloads[0].url in msg  # which URL
    assert "--data-dir DIR" in msg and "Ask the authors" in msg  # what to do: data_dir, the card's instructions
    _nothing_kept(tmp_path)
    return msg


# ------------------------------------------------------------------------------------------ why


def test_http_404(srv: LocalServer, tmp_path: Path, archive: bytes) -> None:
    _fails(_card(f"{srv.base}/missing.zip", archive), tmp_path, "the server answered HTTP 404")


def test_http_500_is_retried_then_reported(srv: LocalServer, tmp_path: Path, archive: bytes,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RETRIES, "2")
    srv.routes["/data.zip"] = status(500)
    _fails(_card(f"{srv.base}/data.zip", archive), tmp_path, "HTTP 500")
    assert srv.hits["/data.zip"] == 3


def test_http_404_is_not_retried(srv: LocalServer, tmp_path: Path, archive: bytes,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RETRIES, "2")
    srv.routes["/data.zip"] = status(404)
    _fails(_card(f"{srv.base}/data.zip", archive), tmp_path, "HTTP 404")
    assert srv.hits["/data.zip"] == 1


def test_a_passing_failure_is_retried(srv: LocalServer, tmp_path: Path, archive: bytes,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RETRIES, "1")
    srv.routes["/data.zip"] = [status(503), body(archive)]
    assert len(_prepare(_card(f"{srv.base}/data.zip", archive), tmp_path)["train"]) == 3
    assert srv.hits["/data.zip"] == 2


def test_truncated_body(srv: LocalServer, tmp_path: Path, archive: bytes) -> None:
    srv.routes["/data.zip"] = body(archive[:100], claim=len(archive))
    _fails(_card(f"{srv.base}/data.zip", archive), tmp_path, f"cut short: 100 of {len(archive):,} bytes")


def test_slow_answer_times_out(srv: LocalServer, tmp_path: Path, archive: bytes,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TIMEOUT, "0.3")
    srv.routes["/data.zip"] = srv.slow(30)
    _fails(_card(f"{srv.base}/data.zip", archive), tmp_path, "no answer from 127.0.0.1 within the timeout")


def test_body_that_stalls_times_out(srv: LocalServer, tmp_path: Path, archive: bytes,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TIMEOUT, "0.3")

    def stall(h: Any) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(len(archive)))
        h.end_headers()
        h.wfile.write(archive[:50])
        h.wfile.flush()
        srv.stop.wait(30)

    srv.routes["/data.zip"] = stall
    _fails(_card(f"{srv.base}/data.zip", archive), tmp_path, "within the timeout .*after 50 bytes")


def test_host_that_does_not_resolve(srv: LocalServer, tmp_path: Path, archive: bytes) -> None:
    _fails(_card(f"http://{DEAD_HOST}/data.zip", archive), tmp_path, f"the host name {DEAD_HOST} does not resolve")


def test_connection_refused(srv: LocalServer, tmp_path: Path, archive: bytes) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _fails(_card(f"http://127.0.0.1:{port}/data.zip", archive), tmp_path, "refused the connection")


def test_checksum_mismatch_keeps_nothing(srv: LocalServer, tmp_path: Path, archive: bytes) -> None:
    card = _card(f"{srv.base}/data.zip", sha256="0" * 64)
    with pytest.raises(ChecksumMismatch, match=f"sha256 is {hashlib.sha256(archive).hexdigest()}, the card says"):
        _prepare(card, tmp_path)
    _nothing_kept(tmp_path)


def test_size_announced_differs_from_the_card(srv: LocalServer, tmp_path: Path, archive: bytes) -> None:
    _fails(_card(f"{srv.base}/data.zip", archive, size_bytes=len(archive) + 1), tmp_path,
           f"announces {len(archive):,} bytes, the card says {len(archive) + 1:,}")


def test_body_longer_than_the_card_says_is_cut_off(srv: LocalServer, tmp_path: Path, archive: bytes) -> None:
    srv.routes["/data.zip"] = chunked(archive + bytes(1 << 20))  # no Content-Length: only the card bounds it
    _fails(_card(f"{srv.base}/data.zip", archive, size_bytes=len(archive)), tmp_path,
           f"more than the {len(archive):,} bytes expected")


def test_card_without_checksum_warns_with_the_sha256(srv: LocalServer, tmp_path: Path, archive: bytes) -> None:
    from covidct.layout.plan import LayoutWarning

    card = _card(f"{srv.base}/data.zip")
    with pytest.warns(LayoutWarning, match=f"L509 .*no checksum.*sha256 is {hashlib.sha256(archive).hexdigest()}"):
        prepare(builder_for(card, cache_dir=tmp_path / "cache"))


# ------------------------------------------------------------------------------------------ cache


def test_verified_download_is_reused_and_force_fetches_again(srv: LocalServer, tmp_path: Path,
                                                             archive: bytes) -> None:
    card = _card(f"{srv.base}/data.zip", archive)
    _prepare(card, tmp_path)
    _prepare(card, tmp_path, split_by="example")  # another cache entry: the archive is not fetched again
    assert srv.hits["/data.zip"] == 1
    _prepare(card, tmp_path, download_mode="force_redownload")
    assert srv.hits["/data.zip"] == 2


def test_damaged_cache_entry_is_fetched_again(srv: LocalServer, tmp_path: Path, archive: bytes) -> None:
    card = _card(f"{srv.base}/data.zip", archive)
    _prepare(card, tmp_path)
    (cached,) = (tmp_path / "cache" / "downloads" / "covidct" / "files").rglob("data.zip")
    cached.write_bytes(b"damaged")
    _prepare(card, tmp_path, split_by="example")
    assert srv.hits["/data.zip"] == 2 and cached.read_bytes() == archive


def test_all_checks_verification_mode(srv: LocalServer, tmp_path: Path, archive: bytes) -> None:
    ds = _prepare(_card(f"{srv.base}/data.zip", archive), tmp_path, verification_mode="all_checks")
    assert len(ds["train"]) == 3


# ------------------------------------------------------------------------------------------ streaming


def test_streaming_downloads_through_the_same_path(srv: LocalServer, tmp_path: Path, archive: bytes) -> None:
    card = _card(f"{srv.base}/data.zip", archive)
    streamed = builder_for(card, cache_dir=tmp_path / "cache").as_streaming_dataset()
    assert sorted(r["path"] for r in streamed["train"]) == ["covid/a.png", "covid/b.png", "normal/c.png"]
    with pytest.raises(DataError, match="HTTP 404"):
        builder_for(_card(f"{srv.base}/nope.zip", archive), cache_dir=tmp_path / "c2").as_streaming_dataset()


# ------------------------------------------------------------------------------------------ the CLI


def _cli(tmp_path: Path, url: str, data: bytes, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    import yaml

    card = make_card(LAYOUT, [CLASS_LABEL], downloads=[{"name": "data.zip", "url": url, "archive": "zip",
                                                        "sha256": hashlib.sha256(data).hexdigest()}])
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(card.model_dump(mode="json", exclude_none=True)), encoding="utf-8")
    src = str(Path(covidct.__file__).resolve().parents[1])
    run_env = {**os.environ, "PYTHONPATH": src, RETRIES: "0", **(env or {})}
    argv = [sys.executable, "-c", "import sys; from covidct.cli import main; sys.exit(main())", "load", str(path),
            "--cache-dir", str(tmp_path / "cache")]
    return subprocess.run(argv, capture_output=True, text=True, env=run_env, timeout=300)


@pytest.mark.parametrize("case", ["dead host", "404"])
def test_cli_prints_one_message_and_no_traceback(srv: LocalServer, tmp_path: Path, archive: bytes, case: str) -> None:
    url = f"http://{DEAD_HOST}/ct_lesion_seg.zip" if case == "dead host" else f"{srv.base}/ct_lesion_seg.zip"
    proc = _cli(tmp_path, url, archive, env={ALLOW: "1"})
    assert proc.returncode == 1, proc.stderr
    err = proc.stderr
    assert "Traceback" not in err and "FileNotFoundError" not in err
    assert err.startswith("covidct: t/default: cannot download data.zip from " + url)
    assert ("does not resolve" if case == "dead host" else "HTTP 404") in err
    assert "--data-dir DIR" in err
    assert len(err.splitlines()) <= 4, err
    _nothing_kept(tmp_path)
