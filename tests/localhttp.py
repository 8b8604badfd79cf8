"""A throwaway HTTP server on 127.0.0.1 for download tests (no other network).

``LocalServer`` serves the files of a folder, and scripted answers per path: a status, a redirect, a
body cut short (``Content-Length`` larger than what is sent), a slow answer. It counts requests per
path, so retries can be checked. Use it as a context manager, or through a test's fixture.
"""

from __future__ import annotations

import http.server
import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

Answer = Callable[[http.server.BaseHTTPRequestHandler], None]


def status(code: int) -> Answer:
    def answer(h: http.server.BaseHTTPRequestHandler) -> None:
        body = f"error {code}\n".encode()
        h.send_response(code)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)
    return answer


def redirect(location: str, code: int = 302) -> Answer:
    def answer(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(code)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()
    return answer


def body(data: bytes, *, claim: int | None = None, headers: dict[str, str] | None = None) -> Answer:
    """``data`` with ``Content-Length: claim`` (default: its length); a larger claim is a truncated body."""
    def answer(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(len(data) if claim is None else claim))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)
        h.close_connection = True
    return answer


def chunked(data: bytes) -> Answer:
    """``data`` without a Content-Length (read to the end of the connection)."""
    def answer(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(data)
        h.close_connection = True
    return answer


class LocalServer:
    def __init__(self, root: Path):
        self.root = root
        self.routes: dict[str, Answer | list[Answer]] = {}
        self.hits: Counter[str] = Counter()
        self.methods: defaultdict[str, list[str]] = defaultdict(list)  # path → request methods, in order
        self.stop = threading.Event()
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def __init__(self, *a: Any, **kw: Any) -> None:
                super().__init__(*a, directory=str(server.root), **kw)

            def log_message(self, *a: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._answer(super().do_GET)

            def do_HEAD(self) -> None:  # scripted answers apply to HEAD too (their bodies go unread)
                self._answer(super().do_HEAD)

            def _answer(self, files: Callable[[], None]) -> None:
                path = self.path.split("?", 1)[0]
                server.hits[path] += 1
                server.methods[path].append(self.command)
                route = server.routes.get(path)
                if isinstance(route, list):  # one answer per request, the last one repeated
                    route = route[min(server.hits[path], len(route)) - 1]
                if route is None:
                    self.close_connection = True
                    return files()
                self.close_connection = True
                route(self)

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def slow(self, seconds: float) -> Answer:
        """An answer that waits ``seconds`` before the status line (cut short when the server stops)."""
        def answer(h: http.server.BaseHTTPRequestHandler) -> None:
            self.stop.wait(seconds)
            status(200)(h)
        return answer

    def __enter__(self) -> LocalServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
