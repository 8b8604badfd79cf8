"""A card's download URL cannot make covidct fetch from a non-public address (SSRF).

The address is checked after resolution, at connect time, for every redirect hop; every spelling of
an address meets the same check. The loopback server stands in for the internet where a test says so
(it marks only 127.0.0.1 as public); otherwise nothing may even connect to it.
"""

from __future__ import annotations

import copy
import hashlib
import socket
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import need
from covidct.card.model import Card
from localhttp import LocalServer, redirect

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_downloads import BASE, GOOD_MEMBERS, _zip

DATA = _zip(GOOD_MEMBERS)
ALLOW, RETRIES = "COVIDCT_ALLOW_PRIVATE_HOSTS", "COVIDCT_DOWNLOAD_RETRIES"  # named here: see test_download_errors


@pytest.fixture
def srv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    monkeypatch.delenv(ALLOW, raising=False)
    monkeypatch.setenv(RETRIES, "0")
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "served").mkdir()
    (tmp_path / "served" / "data.zip").write_bytes(DATA)
    with LocalServer(tmp_path / "served") as s:
        yield s


def _card(url: str) -> Card:
    d = copy.deepcopy(BASE)
    d["downloads"][0].update(url=url, sha256=hashlib.sha256(DATA).hexdigest())
    return Card.model_validate(d)


def _load(card: Card, tmp_path: Path) -> Any:
    need("datasets")
    from covidct.hf.builder import builder_for
    from covidct.hf.load import prepare

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return prepare(builder_for(card, "default", cache_dir=tmp_path / "cache"))


# ------------------------------------------------------------------------------------------ the rule

NOT_PUBLIC = ["127.0.0.1", "127.8.9.10", "0.0.0.0", "0.1.2.3", "10.1.2.3", "172.16.0.1", "172.31.255.255",
              "192.168.1.1", "169.254.169.254", "100.64.0.1", "192.0.0.8", "198.18.0.1", "224.0.0.1",
              "255.255.255.255", "240.0.0.1", "::1", "::", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
              "::ffff:169.254.169.254", "::127.0.0.1", "fe80::1", "fe80::1%lo", "fc00::1", "fd12:3456::1",
              "fec0::1", "ff02::1", "2002:7f00:1::1", "2002:a00:1::", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe",
              "2001:db8::1", "2001::1", "100::1"]
PUBLIC = ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1",
          "64:ff9b::808:808", "172.32.0.1", "192.169.0.1", "100.128.0.1"]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_non_public_addresses_are_named(address: str) -> None:
    from covidct import download

    assert download.non_public(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    from covidct import download

    assert download.non_public(address) is None


# ------------------------------------------------------------------------------------------ through a card

SPELLINGS = ["127.0.0.1", "2130706433", "0x7f000001", "0x7f.1", "017700000001", "0177.0.0.1", "127.1", "localhost",
             "LocalHost", "[::1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "0", "0.0.0.0"]


@pytest.mark.parametrize("host", SPELLINGS)
def test_loopback_in_any_spelling_is_refused_before_connecting(srv: LocalServer, tmp_path: Path,
                                                              host: str) -> None:
    from covidct.hf.builder import DataError

    with pytest.raises(DataError, match="is not a public internet address") as err:
        _load(_card(f"http://{host}:{srv.port}/data.zip"), tmp_path)
    assert "COVIDCT_ALLOW_PRIVATE_HOSTS=1" in str(err.value) and "--data-dir" in str(err.value)
    assert sum(srv.hits.values()) == 0  # refused before any request reached the server


def test_name_resolving_to_a_private_address_is_refused(srv: LocalServer, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def fake(host: str, port: Any, *a: Any, **kw: Any) -> Any:
        if host == "intranet.example.org":  # e.g. a public name pointed at an internal address
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.20.30.40", port))]
        return real(host, port, *a, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    from covidct.hf.builder import DataError

    with pytest.raises(DataError, match=r"intranet\.example\.org \(which resolves to 10\.20\.30\.40\)"):
        _load(_card("http://intranet.example.org/data.zip"), tmp_path)


def test_one_private_address_among_public_ones_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A name answering with a public and a private address (rebinding) is refused whole."""
    def fake(host: str, port: Any, *a: Any, **kw: Any) -> Any:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    from covidct import download

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    monkeypatch.delenv(ALLOW, raising=False)
    with pytest.raises(download.HostRefused, match=r"resolves to 127\.0\.0\.1"):
        download.fetch("http://both.example.org/x.zip", tmp_path / "x.zip")
    assert not list(tmp_path.iterdir())


@pytest.fixture
def loopback_is_public(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let 127.0.0.1 (only) stand for a public server, to test what happens after the first hop."""
    from covidct import download

    real = download.non_public
    monkeypatch.setattr(download, "non_public", lambda a: None if a == "127.0.0.1" else real(a))


@pytest.mark.parametrize("target", ["http://127.0.0.2:{port}/data.zip", "http://[::1]:{port}/data.zip",
                                    "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/data.zip",
                                    "http://2852039166/latest/meta-data/"])
def test_redirect_to_a_private_address_is_refused(srv: LocalServer, tmp_path: Path, loopback_is_public: None,
                                                  target: str) -> None:
    from covidct.hf.builder import DataError

    srv.routes["/data.zip"] = redirect(target.format(port=srv.port))
    with pytest.raises(DataError, match=r"redirected from .*is not a public internet address"):
        _load(_card(f"{srv.base}/data.zip"), tmp_path)
    assert srv.hits["/data.zip"] == 1


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://127.0.0.1/data.zip", "data:,x",
                                    "http://user:pw@example.org/data.zip"])
def test_redirect_to_another_scheme_or_credentials_is_refused(srv: LocalServer, tmp_path: Path,
                                                              loopback_is_public: None, target: str) -> None:
    from covidct.hf.builder import DataError

    srv.routes["/data.zip"] = redirect(target)
    with pytest.raises(DataError, match="refused: "):
        _load(_card(f"{srv.base}/data.zip"), tmp_path)


def test_public_redirect_chain_is_followed(srv: LocalServer, tmp_path: Path, loopback_is_public: None) -> None:
    srv.routes["/a"] = redirect("/b", 301)
    srv.routes["/b"] = redirect(f"{srv.base}/data.zip", 307)
    ds = _load(_card(f"{srv.base}/a"), tmp_path)
    assert sum(len(s) for s in ds.values()) == 4


def test_redirect_loop_ends(srv: LocalServer, tmp_path: Path, loopback_is_public: None) -> None:
    from covidct.hf.builder import DataError

    srv.routes["/data.zip"] = redirect("/data.zip")
    with pytest.raises(DataError, match="more than 10 redirects"):
        _load(_card(f"{srv.base}/data.zip"), tmp_path)


# ------------------------------------------------------------------------------------------ opting in


def test_env_opt_in_allows_private_hosts(srv: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW, "1")
    ds = _load(_card(f"http://localhost:{srv.port}/data.zip"), tmp_path)
    assert sum(len(s) for s in ds.values()) == 4


def test_cli_flag_opts_in(srv: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    from covidct.cli import main

    need("datasets")
    card = copy.deepcopy(BASE)
    card["downloads"][0].update(url=f"{srv.base}/data.zip", sha256=hashlib.sha256(DATA).hexdigest())
    path = tmp_path / "dl.yaml"
    path.write_text(yaml.safe_dump(card), encoding="utf-8")
    args = ["load", str(path), "--cache-dir", str(tmp_path / "c")]
    assert main(args) == 1
    assert "not a public internet address" in capsys.readouterr().err
    assert main([*args, "--allow-private-hosts"]) == 0
    assert "DatasetDict" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------ proxies


def test_proxy_is_used_and_private_targets_still_refused(srv: LocalServer, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The user's proxy (their own setting, here the loopback server) is used; the target is still checked."""
    from covidct import download
    from localhttp import body

    seen: list[str] = []

    def proxied(h: Any) -> None:
        seen.append(h.path)
        body(DATA)(h)

    srv.routes["http://files.example.invalid/data.zip"] = proxied
    monkeypatch.setenv("http_proxy", srv.base)
    monkeypatch.setenv("no_proxy", "")
    got = download.fetch("http://files.example.invalid/data.zip", tmp_path / "d" / "data.zip")
    assert got.sha256 == hashlib.sha256(DATA).hexdigest() and seen == ["http://files.example.invalid/data.zip"]
    with pytest.raises(download.HostRefused):
        download.fetch("http://10.0.0.1/data.zip", tmp_path / "d" / "x.zip")
    assert len(seen) == 1
