"""One table-driven tester for every network connector, plus the loopback server it drives.

How a network's test file uses it (see ``tests/test_mastodon.py`` for a complete example)::

    from tests.connector_tester import FAILURE_CASES, FakeServer, NetworkSpec, Reply, run_case

    SPEC = NetworkSpec(
        network="mastodon",
        publish=("POST", "/api/v1/statuses"),         # the route publish() hits
        connector=lambda base_url, timeout: MastodonConnector(...),
        routes=lambda server: server.route("GET", "/api/v2/instance", Reply.json(INSTANCE)),
        rate_limited=Reply.json({"error": "Too many requests"}, 429,
                                headers={"X-RateLimit-Reset": "2026-11-26T01:05:00.000Z"}),
        reset_at=datetime(2026, 11, 26, 1, 5, tzinfo=UTC),
        unauthorized=Reply.json({"error": "The access token is invalid"}, 401),
        duplicate=Reply.json({"error": "Validation failed: ..."}, 422),
        secrets=("the-token",),
    )

    @pytest.mark.parametrize("case", FAILURE_CASES, ids=lambda c: c.name)
    def test_failures(case, fake_server):   # fake_server: tests/conftest.py
        run_case(SPEC, case, fake_server)

Each case injects one failure at the publish route and checks the error class Goodwill gets
(connection refused → Transient, read timeout → UnknownOutcome, 429 with the network's own
headers → RateLimited with the exact reset time, 401 → AuthFailed, duplicate → the spec's
``duplicate_error`` (Rejected by default; ``None`` when the network answers a repeat with
the first post, e.g. Bluesky's fixed record key), 500 with an HTML page → UnknownOutcome,
408 → UnknownOutcome).
Every case also checks that no secret from ``spec.secrets`` appears in the error's message.

``FakeServer`` is a real ``ThreadingHTTPServer`` on 127.0.0.1: routes answer ``Reply`` values
(or callables taking the ``Recorded`` request); ``script()`` queues one-off replies ahead of a
route; every request is recorded (method, path, query, headers, raw body, parsed JSON) for
assertions. ``Reply.hang()`` reads the request and never answers until the test ends (a real
read timeout, no sleeps); ``refused_url()`` is a loopback port with nothing listening.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from goodwill.errors import (
    AuthFailed,
    ConnectorError,
    RateLimited,
    Rejected,
    Transient,
    UnknownOutcome,
)
from goodwill.models import Kind, OutgoingPost

__all__ = [
    "FAILURE_CASES",
    "Case",
    "FakeServer",
    "NetworkSpec",
    "Recorded",
    "Reply",
    "refused_url",
    "run_case",
    "sample_post",
]

HTML_500 = (
    "<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head>"
    "<body><h1>We're sorry, but something went wrong.</h1></body></html>"
)


@dataclass(frozen=True)
class Reply:
    """One HTTP answer. ``hang`` keeps the connection open without answering."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False

    @classmethod
    def json(cls, value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        return cls(
            status,
            json.dumps(value).encode(),
            {"Content-Type": "application/json; charset=utf-8", **(headers or {})},
        )

    @classmethod
    def html(cls, text: str = HTML_500, status: int = 500) -> Reply:
        return cls(status, text.encode(), {"Content-Type": "text/html; charset=utf-8"})

    @classmethod
    def hanging(cls) -> Reply:
        return cls(hang=True)


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


Handler = Reply | Callable[[Recorded], Reply]


class FakeServer:
    """A loopback HTTP server with routes, scripted one-off replies and a request log."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.scripts: dict[tuple[str, str], list[Handler]] = {}
        self.requests: list[Recorded] = []
        self.release = threading.Event()
        self._lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms stalls

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                rec = Recorded(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                reply = server._dispatch(rec)
                if reply.hang:
                    server.release.wait(30)
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def route(self, method: str, path: str, handler: Handler) -> FakeServer:
        self.routes[(method.upper(), path)] = handler
        return self

    def script(self, method: str, path: str, *handlers: Handler) -> FakeServer:
        """Answer the next requests to this route with these, in order, then the route."""
        self.scripts.setdefault((method.upper(), path), []).extend(handlers)
        return self

    def calls(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method) and (path is None or r.path == path)
        ]

    def _dispatch(self, rec: Recorded) -> Reply:
        key = (rec.method, rec.path)
        with self._lock:
            self.requests.append(rec)
            queue = self.scripts.get(key)
            handler = queue.pop(0) if queue else self.routes.get(key)
        if handler is None:
            return Reply.json({"error": f"no route {rec.method} {rec.path}"}, 404)
        return handler(rec) if callable(handler) else handler

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def refused_url() -> str:
    """A loopback URL where nothing listens: connecting is refused (nothing is ever sent)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def sample_post(network: str, **changes: Any) -> OutgoingPost:
    values: dict[str, Any] = {
        "post_id": 42,
        "channel": f"studio-{network}",
        "network": network,
        "category": "curated",
        "kind": Kind.VALUE,
        "text": "Worth a read: Light meters still matter 📷 https://example.com/light?x=1 via @pp",
        "link": "https://example.com/light?x=1",
        "credit": "@pp",
        "idempotency_key": "goodwill-Test Studio-42",
        "attempt_id": "a1",
        "card_title": "Light meters still matter",
        "card_description": "Why an incident meter beats the camera's reading.",
    }
    values.update(changes)
    return OutgoingPost(**values)


@dataclass
class NetworkSpec:
    """What the tester needs to know about one network (see the module docstring)."""

    network: str
    publish: tuple[str, str]
    #: Build a connector against ``base_url`` with this (connect, read) timeout.
    connector: Callable[[str, tuple[float, float]], Any]
    rate_limited: Reply
    reset_at: datetime | None
    unauthorized: Reply
    duplicate: Reply
    #: ``None``: the network answers a duplicate with the first post (publish returns a Receipt).
    duplicate_error: type[ConnectorError] | None = Rejected
    #: Install the routes publish() needs besides the publish route (instance info, session…).
    routes: Callable[[FakeServer], None] = lambda server: None
    secrets: tuple[str, ...] = ()
    post: Callable[[], OutgoingPost] | None = None


@dataclass(frozen=True)
class Case:
    """One injected failure and the error class it must become."""

    name: str
    expect: type[ConnectorError]
    fault: str  # refused | timeout | rate_limited | unauthorized | duplicate | html500 | timeout408


FAILURE_CASES = [
    Case("connection refused", Transient, "refused"),
    Case("read timeout", UnknownOutcome, "timeout"),
    Case("429 with the network's headers", RateLimited, "rate_limited"),
    Case("401", AuthFailed, "unauthorized"),
    Case("duplicate", Rejected, "duplicate"),
    Case("500 with an HTML body", UnknownOutcome, "html500"),
    # The server gave up reading the request: whether the post was taken is not certain.
    Case("408 request timeout", UnknownOutcome, "timeout408"),
]


def run_case(spec: NetworkSpec, case: Case, server: FakeServer) -> ConnectorError | None:
    """Inject ``case`` at ``spec.publish`` and check the error; returns it for extra asserts."""
    spec.routes(server)
    method, path = spec.publish
    timeout = (2.0, 0.3)
    base = server.url
    if case.fault == "refused":
        base = refused_url()
    elif case.fault == "timeout":
        server.script(method, path, Reply.hanging())
    elif case.fault == "rate_limited":
        server.script(method, path, spec.rate_limited)
    elif case.fault == "unauthorized":
        server.script(method, path, spec.unauthorized)
    elif case.fault == "duplicate":
        server.script(method, path, spec.duplicate)
    elif case.fault == "html500":
        server.script(method, path, Reply.html())
    elif case.fault == "timeout408":
        server.script(method, path, Reply.html("<html><body>Request Timeout</body></html>", 408))
    else:  # pragma: no cover - a typo in a table
        raise AssertionError(case.fault)
    connector = spec.connector(base, timeout)
    post = spec.post() if spec.post else sample_post(spec.network)
    expected = spec.duplicate_error if case.fault == "duplicate" else case.expect
    if expected is None:
        receipt = connector.publish(post)
        assert receipt.remote_id, f"{case.name}: no remote id"
        return None
    with pytest.raises(ConnectorError) as info:
        connector.publish(post)
    err = info.value
    assert isinstance(err, expected), f"{case.name}: got {type(err).__name__}: {err}"
    if case.fault == "rate_limited" and spec.reset_at is not None:
        assert isinstance(err, RateLimited)
        assert err.reset_at == spec.reset_at
    if case.fault in ("html500", "timeout408"):
        assert "<html" not in err.message.lower()
    if case.fault != "refused":
        assert server.calls(method, path), f"{case.name}: publish route never called"
    for secret in spec.secrets:
        assert secret not in str(err) and secret not in repr(err)
        assert err.__cause__ is None or secret not in str(err.__cause__)
    return err
