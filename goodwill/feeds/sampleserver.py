"""A loopback HTTP server for the offline demo: the sample feeds, rendered fresh, with ETags.

``with serve_samples() as base_url:`` serves every ``<name>.xml`` of the sample feed directory
at ``base_url + "<name>.xml"`` on 127.0.0.1 (a free port), so the demo exercises the real fetch
path, conditional GETs included. The standard library's threaded HTTP server is enough here and
keeps the server independent of the aiohttp client it is talking to.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from goodwill.feeds.samples import render_sample_feed, sample_feed_dir

__all__ = ["ServedFeed", "not_modified", "serve_samples"]


@dataclass(frozen=True, slots=True)
class ServedFeed:
    """A body served with its validators."""

    body: bytes
    content_type: str
    etag: str
    last_modified: str

    @classmethod
    def of(cls, body: bytes, content_type: str, modified: datetime) -> ServedFeed:
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        return cls(body, content_type, etag, format_datetime(modified.astimezone(UTC), usegmt=True))


def not_modified(
    if_none_match: str | None, if_modified_since: str | None, etag: str, last_modified: str
) -> bool:
    """Whether a GET with these request headers gets a 304 (RFC 9110 §13.1.2 and §13.1.3:
    If-None-Match, when present, decides alone; ETags compare weakly)."""
    if if_none_match is not None:
        tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
        return "*" in tags or etag.removeprefix("W/") in tags
    if if_modified_since is not None:
        try:
            since = parsedate_to_datetime(if_modified_since)
            modified = parsedate_to_datetime(last_modified)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return modified <= since
    return False


class _FeedServer(ThreadingHTTPServer):
    daemon_threads = True
    feeds: dict[str, ServedFeed]


class _Handler(BaseHTTPRequestHandler):
    server: _FeedServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def _respond(self, *, send_body: bool) -> None:
        feed = self.server.feeds.get(self.path.split("?", 1)[0])
        if feed is None:
            body = b"not found\n"
            self.send_response(404)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if send_body:
                self.wfile.write(body)
            return
        unchanged = not_modified(
            self.headers.get("If-None-Match"),
            self.headers.get("If-Modified-Since"),
            feed.etag,
            feed.last_modified,
        )
        self.send_response(304 if unchanged else 200)
        self.send_header("ETag", feed.etag)
        self.send_header("Last-Modified", feed.last_modified)
        self.send_header("Cache-Control", "no-cache")
        if unchanged:
            self.end_headers()
            return
        self.send_header("Content-Type", feed.content_type)
        self.send_header("Content-Length", str(len(feed.body)))
        self.end_headers()
        if send_body:
            self.wfile.write(feed.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the demo prints its own progress."""


def _content_type(body: bytes) -> str:
    head = body[:2048]
    if b"<feed" in head:
        return "application/atom+xml; charset=utf-8"
    return "application/rss+xml; charset=utf-8"


@contextmanager
def serve_samples(
    now: datetime | None = None, *, directory: Path | None = None, host: str = "127.0.0.1"
) -> Iterator[str]:
    """Serve the sample feeds rendered for ``now`` (default: the current time); yields the base
    URL, ending in "/". The server stops when the block exits."""
    now = now or datetime.now(UTC)
    directory = directory or sample_feed_dir()
    feeds = {}
    for path in sorted(directory.glob("*.xml")):
        body = render_sample_feed(path.read_text(encoding="utf-8"), now)
        feeds[f"/{path.name}"] = ServedFeed.of(body, _content_type(body), now)
    server = _FeedServer((host, 0), _Handler)
    server.feeds = feeds
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="goodwill-sample-feeds",
        daemon=True,
    )
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
