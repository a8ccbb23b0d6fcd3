"""A local HTTP server that plays a social network's API on 127.0.0.1, for connector tests.

    with NetServer() as net:
        net.reply("POST", "/2/tweets", 201, {"data": {"id": "1"}}, headers={...})
        net.reply("GET", "/2/users/me", 200, body)            # answers every time
        net.script("POST", "/rest/posts", [Reply(...), ...])  # one answer per call, in order
        net.handler("POST", "/x", lambda req: Reply(...))     # computed answers
        net.hang("POST", "/2/tweets")                          # holds the request: read timeout
        ... connector calls net.url ...
        net.requests                                           # what the client sent, in order

Real sockets, real HTTP/1.1 (the standard library's server in a daemon thread), so the SDKs
under test (tweepy, facebook-sdk, requests-oauthlib) run unchanged. Responses can replay vcrpy
cassettes recorded against the real API (``cassette_replies``).
"""

from __future__ import annotations

import base64
import gzip
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

__all__ = ["NetServer", "Reply", "Request", "cassette_replies", "closed_port"]


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query
    query: dict[str, list[str]]
    headers: dict[str, str]  # keys lower-cased
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)


@dataclass
class Reply:
    status: int = 200
    body: Any = b""  # bytes, str, or a JSON value
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if isinstance(self.body, bytes):
            body = self.body
        elif isinstance(self.body, str):
            body = self.body.encode("utf-8")
            headers.setdefault("content-type", "text/html; charset=utf-8")
        else:
            body = json.dumps(self.body).encode("utf-8")
            headers.setdefault("content-type", "application/json; charset=utf-8")
        return body, headers


Responder = Callable[[Request], Reply]


class NetServer:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._routes: dict[tuple[str, str], Responder] = {}
        self._release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms stalls

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                req = Request(
                    self.command,
                    parts.path,
                    parse_qs(parts.query, keep_blank_values=True),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                server.requests.append(req)
                responder = server._routes.get((self.command, parts.path))
                reply = responder(req) if responder else Reply(404, {"error": "no route"})
                if reply.status == -1:  # hang: hold the request, answer nothing
                    server._release.wait(30)
                    self.close_connection = True
                    return
                data, headers = reply.encoded()
                self.send_response(reply.status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = do_PUT = _serve

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> NetServer:
        self._thread.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    # ------------------------------------------------------------------ routes

    def handler(self, method: str, path: str, responder: Responder) -> None:
        self._routes[(method, path)] = responder

    def reply(
        self,
        method: str,
        path: str,
        status: int,
        body: Any = b"",
        headers: dict[str, str] | None = None,
    ) -> None:
        fixed = Reply(status, body, headers or {})
        self.handler(method, path, lambda _req: fixed)

    def script(self, method: str, path: str, replies: list[Reply]) -> None:
        pending = list(replies)

        def next_reply(_req: Request) -> Reply:
            return pending.pop(0) if pending else Reply(500, "script exhausted")

        self.handler(method, path, next_reply)

    def hang(self, method: str, path: str) -> None:
        self.handler(method, path, lambda _req: Reply(-1))

    def sent(self, method: str, path: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path == path]


def closed_port() -> str:
    """A loopback URL nothing listens on (connection refused)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


_DROP = {"content-encoding", "content-length", "transfer-encoding", "set-cookie", "connection"}


def cassette_replies(path: Path) -> list[tuple[str, str, Reply]]:
    """(method, path, reply) for each interaction of a vcrpy cassette, bodies un-gzipped."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    out: list[tuple[str, str, Reply]] = []
    for interaction in data["interactions"]:
        request, response = interaction["request"], interaction["response"]
        body = response["body"].get("string", b"")
        if isinstance(body, str):
            body = body.encode("utf-8")
        headers = {k.lower(): v[0] for k, v in response["headers"].items()}
        if headers.get("content-encoding") == "gzip" and body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        headers = {k: v for k, v in headers.items() if k not in _DROP}
        out.append(
            (
                request["method"],
                urlsplit(request["uri"]).path,
                Reply(response["status"]["code"], body, headers),
            )
        )
    return out


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()
