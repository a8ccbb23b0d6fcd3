"""A local HTTP server for feed tests: real sockets, real HTTP, scripted answers per path.

    with FeedServer() as server:
        url = server.feed("/a.xml", b"<rss .../>", etag='"v1"')
        server.redirect("/old", "/a.xml")
        server.status("/gone", 404)
        server.drip("/slow", body, interval=0.5)      # one byte every half second
        server.huge("/big", 20_000_000)              # streamed, never held in memory
        server.feed("/z.xml", body, gzip=True)       # Content-Encoding: gzip
        server.gzip_bomb("/bomb", 50_000_000)        # small on the wire, huge decoded
        ... fetch ...
        server.requests                              # what the client sent, in order

Built on the standard library's threaded HTTP server in a daemon thread rather than on aiohttp:
the client under test is aiohttp, and a server from the same library could agree with it on a
protocol mistake. Threads also let a dripping response block without stalling other routes, and
let sync and async tests use the same server.
"""

from __future__ import annotations

import gzip as gzip_module
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = ["FeedServer", "RecordedRequest", "Route"]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Route:
    """How one path answers. ``chunks`` produces the body lazily (for drip and huge bodies)."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    chunks: Any = None  # Callable[[threading.Event], Iterator[bytes]] | None
    content_length: int | None = None


def _not_modified(headers: Any, route: Route) -> bool:
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
        return route.etag is not None and ("*" in tags or route.etag.removeprefix("W/") in tags)
    since = headers.get("If-Modified-Since")
    if since is not None and route.last_modified is not None:
        try:
            return parsedate_to_datetime(route.last_modified) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, Route]
    recorded: list[RecordedRequest]
    stopping: threading.Event
    lock: threading.Lock
    active: int
    max_active: int

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-response (size cap, deadline) is expected here."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.active += 1
            self.server.max_active = max(self.server.max_active, self.server.active)
        try:
            self._answer()
        finally:
            with self.server.lock:
                self.server.active -= 1

    def _answer(self) -> None:
        path = self.path.split("?", 1)[0]
        with self.server.lock:
            self.server.recorded.append(RecordedRequest("GET", self.path, dict(self.headers)))
            route = self.server.routes.get(path)
        if route is None:
            route = Route(status=404, body=b"no such route\n")
        if route.status == 200 and _not_modified(self.headers, route):
            self.send_response(304)
            self._validators(route)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(route.status)
        self._validators(route)
        for name, value in route.headers.items():
            self.send_header(name, value)
        if route.chunks is None:
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            self.wfile.write(route.body)
            return
        if route.content_length is not None:
            self.send_header("Content-Length", str(route.content_length))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        for chunk in route.chunks(self.server.stopping):
            if self.server.stopping.is_set():
                return
            self.wfile.write(chunk)
            self.wfile.flush()

    def _validators(self, route: Route) -> None:
        if route.etag is not None:
            self.send_header("ETag", route.etag)
        if route.last_modified is not None:
            self.send_header("Last-Modified", route.last_modified)


class FeedServer:
    """A scripted HTTP server on 127.0.0.1 and a free port; use it as a context manager."""

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.routes = {}
        self._server.recorded = []
        self._server.stopping = threading.Event()
        self._server.lock = threading.Lock()
        self._server.active = 0
        self._server.max_active = 0
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="feedserver",
            daemon=True,
        )

    # --- lifecycle ---

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._server.lock:
            return list(self._server.recorded)

    @property
    def max_active(self) -> int:
        """The most requests this server has been answering at the same moment."""
        with self._server.lock:
            return self._server.max_active

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.split("?", 1)[0] == path]

    def route(self, path: str, route: Route) -> str:
        with self._server.lock:
            self._server.routes[path] = route
        return self.url(path)

    # --- builders ---

    def feed(
        self,
        path: str,
        body: bytes,
        *,
        content_type: str = "application/rss+xml; charset=utf-8",
        etag: str | None = None,
        last_modified: str | None = None,
        gzip: bool = False,
    ) -> str:
        """A 200 with ``body``; answers 304 when the request's validators match."""
        headers = {"Content-Type": content_type}
        if gzip:
            body = gzip_module.compress(body)
            headers["Content-Encoding"] = "gzip"
        return self.route(
            path, Route(body=body, headers=headers, etag=etag, last_modified=last_modified)
        )

    def redirect(self, path: str, to: str, *, status: int = 301) -> str:
        """``to`` may be a path on this server or any absolute URL."""
        return self.route(path, Route(status=status, headers={"Location": to}))

    def status(self, path: str, status: int, body: bytes = b"") -> str:
        return self.route(
            path, Route(status=status, body=body, headers={"Content-Type": "text/plain"})
        )

    def drip(self, path: str, body: bytes, *, interval: float = 0.5, chunk: int = 1) -> str:
        """Sends ``chunk`` bytes every ``interval`` seconds (with a correct Content-Length)."""

        def chunks(stopping: threading.Event) -> Iterator[bytes]:
            for start in range(0, len(body), chunk):
                yield body[start : start + chunk]
                if stopping.wait(interval):
                    return

        return self.route(
            path,
            Route(
                headers={"Content-Type": "application/rss+xml"},
                chunks=chunks,
                content_length=len(body),
            ),
        )

    def huge(self, path: str, size: int, *, declare_length: bool = False) -> str:
        """``size`` bytes of a never-ending-looking feed, streamed in 64 KiB chunks; without a
        Content-Length unless ``declare_length``."""
        block = b"<rss><channel>" + b"<!-- padding -->" * 4096

        def chunks(stopping: threading.Event) -> Iterator[bytes]:
            sent = 0
            while sent < size and not stopping.is_set():
                piece = block[: min(len(block), size - sent)]
                sent += len(piece)
                yield piece

        return self.route(
            path,
            Route(
                headers={"Content-Type": "application/rss+xml"},
                chunks=chunks,
                content_length=size if declare_length else None,
            ),
        )

    def gzip_bomb(self, path: str, decoded_size: int) -> str:
        """A gzip body a few kB on the wire that inflates to ``decoded_size`` bytes."""
        payload = gzip_module.compress(b"<rss>" + b" " * decoded_size, compresslevel=9)
        return self.route(
            path,
            Route(
                body=payload,
                headers={"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"},
            ),
        )

    def hang(self, path: str, seconds: float) -> str:
        """Sends headers, then nothing for ``seconds`` (a stalled body)."""

        def chunks(stopping: threading.Event) -> Iterator[bytes]:
            stopping.wait(seconds)
            yield b""

        return self.route(
            path,
            Route(
                headers={"Content-Type": "application/rss+xml"}, chunks=chunks, content_length=10
            ),
        )
