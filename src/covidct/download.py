"""covidct's own small downloader: http(s) only, public hosts only, verified, nothing half-written.

A card's download URL is untrusted: a stranger's card could make a CI runner or a user's machine fetch
an internal URL (a cloud metadata service, a router, ``localhost``). So:

- only ``http``/``https`` URLs without credentials are fetched (:func:`check_url`), also after each
  redirect (at most :data:`MAX_REDIRECTS`);
- the host is resolved once per connection and every address it resolves to must be public
  (:func:`non_public`); the connection then goes to that checked address, so a name that resolves
  differently a moment later (DNS rebinding), a redirect to ``http://10.0.0.1/``, and every spelling of
  an address (``2130706433``, ``0x7f.1``, ``[::ffff:127.0.0.1]``, ``localhost``) meet the same check.
  ``COVIDCT_ALLOW_PRIVATE_HOSTS=1`` (``covidct load --allow-private-hosts``) lifts it for users who
  serve their own data on a private network;
- a proxy from ``http_proxy``/``https_proxy`` (the user's own setting) is used as configured; the target
  is then checked as far as it resolves locally;
- connect and every read time out after ``COVIDCT_DOWNLOAD_TIMEOUT`` seconds (default 30); failures
  that may pass (timeouts, refused connections, HTTP 5xx/429, cut bodies) are retried
  ``COVIDCT_DOWNLOAD_RETRIES`` times (default 2);
- the body goes to a temporary file beside the destination, is checked against ``Content-Length``,
  the card's size and checksums (by the caller's ``verify``), and only then renamed into place.

Every failure is a :class:`DownloadError` whose message says which URL and why, in one line.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import http.client
import ipaddress
import os
import socket
import ssl
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, unquote, urljoin, urlsplit

from covidct.errors import CovidctError
from covidct.numtext import int_text
from covidct.settings import ALLOW_PRIVATE_ENV, RETRIES_ENV, TIMEOUT_ENV, settings

RETRY_DELAY = 1.0  # seconds before the first retry, doubled each time
MAX_REDIRECTS = 10
CHUNK = 1 << 20


def printable(text: str) -> str:
    """``text`` as it may be printed: a server's or a redirect's characters cannot drive the terminal."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


class DownloadError(CovidctError):
    """A download failed; ``str()`` says which URL and why. ``retry`` tells whether trying again may help.

    ``url`` is printable (escaped where the server or a redirect put control characters in it).
    """

    def __init__(self, url: str, why: str, *, retry: bool = False, hint: str = ""):
        url = printable(url)
        super().__init__(f"{url}: {why}")
        self.url = url
        self.why = why
        self.retry = retry
        self.hint = hint


class HostRefused(DownloadError):
    """The URL's host is (or resolves to, or redirects to) a non-public address."""


@dataclass(frozen=True)
class Digests:
    size: int
    md5: str
    sha256: str


# ------------------------------------------------------------------------------------------ settings


def allow_private_hosts() -> bool:
    return settings().allow_private_hosts


def _timeout_and_retries(url: str, timeout: float | None = None) -> tuple[float, int]:
    """The download settings (``timeout`` given: the environment's is not read); a bad value is a
    :class:`DownloadError` for ``url``."""
    try:
        env = settings()
        return (timeout if timeout is not None else env.download_timeout), env.download_retries
    except ValueError as exc:
        raise DownloadError(url, str(exc)) from None


# ------------------------------------------------------------------------------------------ addresses

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network
# IANA's special-purpose address registries, written out (rather than ipaddress.is_global) so that the
# decision does not change with the Python release
NON_PUBLIC: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]] = [
    (_V4("0.0.0.0/8"), "'this network' (reaches the local machine)"),
    (_V4("10.0.0.0/8"), "private"),
    (_V4("100.64.0.0/10"), "shared address space (carrier-grade NAT)"),
    (_V4("127.0.0.0/8"), "loopback"),
    (_V4("169.254.0.0/16"), "link-local (cloud metadata services live here)"),
    (_V4("172.16.0.0/12"), "private"),
    (_V4("192.0.0.0/24"), "IETF protocol assignments"),
    (_V4("192.0.2.0/24"), "documentation"),
    (_V4("192.88.99.0/24"), "6to4 relay anycast"),
    (_V4("192.168.0.0/16"), "private"),
    (_V4("198.18.0.0/15"), "benchmarking"),
    (_V4("198.51.100.0/24"), "documentation"),
    (_V4("203.0.113.0/24"), "documentation"),
    (_V4("224.0.0.0/4"), "multicast"),
    (_V4("240.0.0.0/4"), "reserved (and broadcast)"),
    (_V6("::1/128"), "loopback"),
    (_V6("::/128"), "unspecified (reaches the local machine)"),
    (_V6("64:ff9b:1::/48"), "local-use NAT64"),
    (_V6("100::/64"), "discard-only"),
    (_V6("2001::/23"), "IETF protocol assignments (Teredo, benchmarking, ORCHID)"),
    (_V6("2001:db8::/32"), "documentation"),
    (_V6("3fff::/20"), "documentation"),
    (_V6("5f00::/16"), "segment routing"),
    (_V6("fc00::/7"), "unique local (private)"),
    (_V6("fe80::/10"), "link-local"),
    (_V6("fec0::/10"), "site-local"),
    (_V6("ff00::/8"), "multicast"),
    (_V6("::/8"), "reserved (IPv4-compatible and others)"),
]
_NAT64 = _V6("64:ff9b::/96")


def non_public(address: str) -> str | None:
    """Why ``address`` (an IP literal) is not a public internet address, or ``None`` when it is.

    IPv6 addresses that carry an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, 6to4 ``2002::/16``,
    NAT64 ``64:ff9b::/96``) are judged by the IPv4 address they lead to.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour
        if inner is None and ip in _NAT64:
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None:
            why = non_public(str(inner))
            return f"{why}, as {inner} inside an IPv6 address" if why else None
    for net, why in NON_PUBLIC:
        if ip.version == net.version and ip in net:
            return why
    return None


def _resolve(host: str, port: int, url: str) -> list[tuple[Any, ...]]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        temporary = exc.errno in (socket.EAI_AGAIN, getattr(socket, "EAI_SYSTEM", None))
        what = "cannot be looked up right now" if temporary else "does not resolve"
        raise DownloadError(url, f"the host name {host} {what} (DNS: {exc.strerror or exc}); check the URL and "
                            "your connection", retry=temporary) from None
    if not infos:
        raise DownloadError(url, f"the host name {host} does not resolve to any address")
    return infos


def _check_addresses(host: str, infos: list[tuple[Any, ...]], url: str) -> None:
    if allow_private_hosts():
        return
    for info in infos:
        addr = info[4][0]
        why = non_public(addr)
        if why:
            shown = host if host == addr else f"{host} (which resolves to {addr})"
            raise HostRefused(
                url, f"the host {shown} is not a public internet address ({why}); covidct refuses to download "
                "from it",
                hint=f"If you trust this card and the server is yours, set {ALLOW_PRIVATE_ENV}=1 (or pass "
                "--allow-private-hosts to `covidct load`).")


def _connect_public(url: str, host: str, port: int, timeout: float) -> socket.socket:
    """Resolve ``host`` once, refuse it unless every address is public, connect to one of those addresses."""
    infos = _resolve(host, port, url)
    _check_addresses(host, infos, url)
    last: OSError | None = None
    for family, kind, proto, _, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    assert last is not None
    raise last


# ------------------------------------------------------------------------------------------ URLs


def check_url(url: str) -> SplitResult:
    """The parts of a URL covidct may fetch: http(s), a host, no credentials, no spaces or control characters."""
    why = None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as exc:
        raise DownloadError(url, f"not a valid URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        why = "covidct downloads over http(s) only"
    elif any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        why = "the URL holds spaces or control characters"
    elif parts.username is not None or parts.password is not None:
        why = "the URL holds a user name or password; covidct does not send credentials from a card"
    if why:
        raise DownloadError(url, f"refused: {why}")
    return parts


# ------------------------------------------------------------------------------------------ HTTP


def _user_agent() -> str:
    from covidct.version import __version__

    return f"covidct/{__version__} (+https://github.com/covidct/covidct)"


def _connection(parts: SplitResult, url: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    """An unopened connection for ``parts`` (direct, or through the user's proxy) and the request target."""
    host = parts.hostname or ""
    https = parts.scheme.lower() == "https"
    port = parts.port or (443 if https else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    proxy = None if urllib.request.proxy_bypass(host) else urllib.request.getproxies().get(parts.scheme.lower())
    ctx = ssl.create_default_context() if https else None
    if proxy:
        _check_through_proxy(host, port, url)
        pp = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        headers = {}
        if pp.username:
            cred = f"{unquote(pp.username)}:{unquote(pp.password or '')}".encode()
            headers["Proxy-Authorization"] = "Basic " + base64.b64encode(cred).decode()
        conn_cls = http.client.HTTPSConnection if pp.scheme == "https" else http.client.HTTPConnection
        if https:  # a CONNECT tunnel to the target, TLS to the target through it
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                pp.hostname or "", pp.port or 80, timeout=timeout, context=ctx)
            conn.set_tunnel(host, port, headers=headers)
            return conn, path
        conn = conn_cls(pp.hostname or "", pp.port or 80, timeout=timeout)
        conn._covidct_headers = headers  # type: ignore[attr-defined]
        return conn, f"http://{parts.netloc}{path}"
    if https:
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=ctx)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    # http.client opens its socket through this attribute; replacing it makes every connection (and so
    # every redirect hop) go to an address that passed the check
    conn._create_connection = (  # type: ignore[attr-defined]
        lambda address, *_: _connect_public(url, address[0], address[1], timeout))
    return conn, path


def _check_through_proxy(host: str, port: int, url: str) -> None:
    """Through a proxy the proxy resolves the name; covidct checks what it can see from here."""
    if allow_private_hosts():
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return  # only the proxy can resolve it
    _check_addresses(host, infos, url)


def _describe_os_error(exc: OSError, host: str) -> tuple[str, bool]:
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return (f"no answer from {host} within the timeout (set {TIMEOUT_ENV} to wait longer)", True)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (f"the TLS certificate of {host} does not verify ({exc.verify_message})", False)
    if isinstance(exc, ssl.SSLError):
        return (f"the TLS connection to {host} failed ({exc.reason or exc})", True)
    if isinstance(exc, ConnectionRefusedError):
        return (f"{host} refused the connection (is the server down?)", True)
    if isinstance(exc, ConnectionResetError):
        return (f"{host} reset the connection", True)
    if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return (f"{host} cannot be reached ({exc.strerror}); are you offline?", True)
    return (f"network error talking to {host}: {exc.strerror or exc}", True)


@dataclass
class _Attempt:
    url: str
    dest: Path
    size: int | None
    timeout: float
    progress: bool


def _send(conn: http.client.HTTPConnection, method: str, target: str, url: str, host: str,
          extra: dict[str, str] | None = None) -> http.client.HTTPResponse:
    """One request on ``conn``; a network or protocol failure becomes a :class:`DownloadError`."""
    headers = {"User-Agent": _user_agent(), "Accept-Encoding": "identity", "Accept": "*/*",
               **getattr(conn, "_covidct_headers", {}), **(extra or {})}
    try:
        conn.request(method, target, headers=headers)
        return conn.getresponse()
    except DownloadError:
        raise
    except http.client.HTTPException as exc:
        raise DownloadError(url, f"{host} sent a malformed HTTP response ({type(exc).__name__})",
                            retry=True) from None
    except OSError as exc:
        why, retry = _describe_os_error(exc, host)
        raise DownloadError(url, why, retry=retry) from None


@dataclass
class Probe:
    """What a URL answers without its body: the final status, each redirect, the announced length."""

    url: str
    status: int | None = None
    final_url: str | None = None
    redirects: list[tuple[int, str]] = field(default_factory=list)  # (status, where it points)
    length: int | None = None
    error: str | None = None


def probe(url: str, *, timeout: float | None = None) -> Probe:
    """Ask for ``url`` without downloading it: HEAD, or a one-byte GET where HEAD is not allowed.

    Redirects are followed (each hop meets the same URL and public-host checks as a download) and
    recorded; failures that may pass are retried as for downloads. Never raises :class:`DownloadError`:
    the failure is the result's ``error``.
    """
    wait, retries = _timeout_and_retries(url, timeout)
    for n in range(retries + 1):
        result = Probe(url)
        try:
            _probe_once(result, wait)
            if result.status is not None and (result.status >= 500 or result.status in (408, 429)) and n < retries:
                time.sleep(RETRY_DELAY * (2 ** n))
                continue
            return result
        except DownloadError as exc:
            result.error = exc.why
            if not exc.retry or n == retries:
                return result
            time.sleep(RETRY_DELAY * (2 ** n))
    raise AssertionError("unreachable")


def _probe_once(result: Probe, timeout: float) -> None:
    url = result.url
    for _hop in range(MAX_REDIRECTS + 1):
        parts = check_url(url)
        host = parts.hostname or ""
        resp = None
        for method, extra in (("HEAD", None), ("GET", {"Range": "bytes=0-0"})):
            conn, target = _connection(parts, url, timeout)
            try:
                resp = _send(conn, method, target, url, host, extra)
                status, location = resp.status, resp.getheader("Location")
                length = resp.getheader("Content-Length")
                total = (resp.getheader("Content-Range") or "").rpartition("/")[2]
            finally:
                conn.close()
            if status not in (403, 405, 501):  # servers that refuse HEAD answer a plain GET
                break
        assert resp is not None
        if status in (301, 302, 303, 307, 308) and location:
            nxt = urljoin(url, location.strip())
            result.redirects.append((status, printable(nxt)))
            url = nxt
            continue
        result.status, result.final_url = status, printable(url)
        size = total if status == 206 else length
        result.length = int_text(size) if size else None
        return
    raise DownloadError(result.url, f"more than {MAX_REDIRECTS} redirects")


def _once(a: _Attempt, verify: Callable[[Digests], None] | None) -> Digests:
    url = a.url
    for _hop in range(MAX_REDIRECTS + 1):
        parts = check_url(url)
        host = parts.hostname or ""
        conn, target = _connection(parts, url, a.timeout)
        try:
            resp = _send(conn, "GET", target, url, host)
            if resp.status in (301, 302, 303, 307, 308):
                location = resp.getheader("Location")
                if not location:
                    raise DownloadError(url, f"HTTP {resp.status} redirect without a Location")
                url = urljoin(url, location.strip())
                continue
            if resp.status != 200:
                retry = resp.status >= 500 or resp.status in (408, 429)
                reason = printable(str(resp.reason or ""))[:80]
                raise DownloadError(url, f"the server answered HTTP {resp.status} {reason}".rstrip(), retry=retry)
            return _body(resp, a, url, host, verify)
        finally:
            conn.close()
    raise DownloadError(a.url, f"more than {MAX_REDIRECTS} redirects")


def _body(resp: http.client.HTTPResponse, a: _Attempt, url: str, host: str,
          verify: Callable[[Digests], None] | None) -> Digests:
    length = resp.length  # the Content-Length http.client will read to (None when chunked or absent)
    if length is not None and a.size is not None and length != a.size:
        raise DownloadError(url, f"the server announces {length:,} bytes, the card says {a.size:,}; refused "
                            "(if the published file changed, update the card)")
    most = a.size if a.size is not None else length
    a.dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{a.dest.name}.", suffix=".part", dir=a.dest.parent)
    tmp = Path(tmp_name)
    md5 = hashlib.md5(usedforsecurity=False)
    sha = hashlib.sha256()
    got = 0
    bar = _progress(a.dest.name, most) if a.progress else None
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                try:
                    chunk = resp.read1(CHUNK)  # what has arrived: a stall times out with the count right
                except (http.client.IncompleteRead, http.client.HTTPException) as exc:
                    raise DownloadError(url, f"the connection to {host} broke after {got:,} bytes "
                                        f"({type(exc).__name__})", retry=True) from None
                except OSError as exc:
                    why, retry = _describe_os_error(exc, host)
                    raise DownloadError(url, f"{why}, after {got:,} bytes", retry=retry) from None
                if not chunk:
                    break
                got += len(chunk)
                if most is not None and got > most:
                    raise DownloadError(url, f"the server sent more than the {most:,} bytes expected; refused")
                md5.update(chunk)
                sha.update(chunk)
                try:
                    out.write(chunk)
                except OSError as exc:
                    raise DownloadError(url, f"cannot write the download into {a.dest.parent} ({exc.strerror}; is "
                                        "the disk full?)") from None
                if bar is not None:
                    bar.update(len(chunk))
        if length is not None and got != length:
            raise DownloadError(url, f"the body was cut short: {got:,} of {length:,} bytes arrived", retry=True)
        digests = Digests(got, md5.hexdigest(), sha.hexdigest())
        if verify is not None:
            verify(digests)
        os.replace(tmp, a.dest)
        return digests
    finally:
        if bar is not None:
            bar.close()
        tmp.unlink(missing_ok=True)


def _progress(name: str, total: int | None) -> Any:
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=name, disable=None, leave=False)


def fetch(url: str, dest: Path, *, size: int | None = None, verify: Callable[[Digests], None] | None = None,
          progress: bool = True) -> Digests:
    """Download ``url`` to ``dest``: only checked, complete, verified files are ever renamed into place.

    ``size`` (the card's ``size_bytes``) bounds the body; ``verify`` sees the size and digests before the
    rename and raises to refuse the file. Retries failures that may pass; raises :class:`DownloadError`.
    """
    timeout, retries = _timeout_and_retries(url)
    attempt = _Attempt(url, Path(dest), size, timeout, progress)
    for n in range(retries + 1):
        try:
            return _once(attempt, verify)
        except DownloadError as exc:
            if not exc.retry or n == retries:
                raise
            time.sleep(RETRY_DELAY * (2 ** n))
    raise AssertionError("unreachable")


__all__ = [
    "ALLOW_PRIVATE_ENV",
    "RETRIES_ENV",
    "TIMEOUT_ENV",
    "Digests",
    "DownloadError",
    "HostRefused",
    "Probe",
    "allow_private_hosts",
    "check_url",
    "fetch",
    "non_public",
    "probe",
]
