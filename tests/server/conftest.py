"""A local HTTP server for URL input: fixed pages, a slow one, one that drips bytes, a gzip bomb."""

from __future__ import annotations

import contextlib
import gzip
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

PAGES: dict[str, tuple[int, str, bytes]] = {}
BOMB = gzip.compress(b"\0" * 50_000_000, compresslevel=9)  # 50 MB inflated, about 50 kB sent


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # clients that give up on purpose
            if self.path == "/drip":
                return self._drip()
            if self.path == "/bomb":
                return self._send(200, "text/html", BOMB, {"Content-Encoding": "gzip"})
            if self.path == "/slow":
                time.sleep(3)
            status, content_type, body = PAGES.get(self.path, (404, "text/plain", b"not found"))
            if status in (301, 302):
                return self._send(status, content_type, b"", {"Location": body.decode()})
            self._send(status, content_type, body)

    def _send(self, status: int, content_type: str, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": content_type, "Content-Length": str(len(body)), **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _drip(self) -> None:
        """A byte every 0.2 s for 10 s: each read is quick, the whole page is not."""
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "50")
        self.end_headers()
        for _ in range(50):
            self.wfile.write(b"x")
            self.wfile.flush()
            time.sleep(0.2)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="session")
def page_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
