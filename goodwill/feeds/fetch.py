"""Retrieve feeds over HTTP: many at once, each bounded in time, size and redirects.

``fetch_all`` sends one conditional GET per ``FeedRequest`` through a single aiohttp session and
returns, in the order of the requests, a ``RetrievedFeed`` (the body and the caching headers to
send next time) or a ``FetchError`` with a short reason. One feed failing never affects another.

Limits, per feed: ``timeout`` seconds from the first byte sent to the last byte read (a server
dripping one byte a second fails), ``max_bytes`` of *decoded* body (a gzip bomb stops there),
``max_redirects`` hops (loops are named as such), http and https only.

Politeness: at most ``limit_per_host`` connections per host; a host that answers 429 (or 503
with ``Retry-After``) is asked nothing more in this run: its other feeds come back as deferred
``FetchError``s carrying the time the host named (``retry_at``, capped at a day).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from urllib.parse import urljoin, urlsplit

import aiohttp

from goodwill.errors import FetchError

__all__ = [
    "DEFAULT_USER_AGENT",
    "FeedRequest",
    "RetrievedFeed",
    "fetch_all",
    "fetch_feeds",
]

DEFAULT_USER_AGENT = "Goodwill/0.1 (+https://github.com/goodwill-social/goodwill)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CHUNK_BYTES = 64 * 1024
#: A 429 without Retry-After: wait this long before asking that host again.
DEFAULT_RETRY_AFTER = timedelta(hours=1)
#: Never wait longer than this, whatever the server says.
MAX_RETRY_AFTER = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class FeedRequest:
    """A feed to fetch, with the validators from the last successful fetch, if any."""

    url: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class RetrievedFeed:
    """What the server answered: a body to parse (status 2xx) or "not modified" (304).

    ``etag`` and ``last_modified`` are the validators to send next time; on a 304 without new
    ones, the request's are carried forward.
    """

    url: str
    final_url: str
    status: int
    body: bytes | None
    etag: str | None
    last_modified: str | None
    content_type: str | None
    #: Where the feed now lives when every redirect on the way was permanent (301/308).
    moved_to: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


OnDone = Callable[[FeedRequest, "RetrievedFeed | FetchError"], None]


def _size_text(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:g} MB"
    if n >= 1_000:
        return f"{n / 1_000:g} kB"
    return f"{n} bytes"


def _status_text(status: int, reason: str | None) -> str:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = (reason or "").strip()
    return f"HTTP {status} {phrase}".rstrip()


def retry_after(value: str | None, now: datetime, default: timedelta | None) -> datetime | None:
    """The time a ``Retry-After`` header names (seconds or an HTTP date), capped at a day."""
    delay: timedelta | None = None
    text = (value or "").strip()
    if text.isdigit():
        delay = timedelta(seconds=min(int(text), int(MAX_RETRY_AFTER.total_seconds())))
    elif text:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            delay = max(when - now, timedelta(0))
    if delay is None:
        delay = default
    if delay is None:
        return None
    return now + min(delay, MAX_RETRY_AFTER)


def _check_http_url(url: str) -> None:
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise FetchError("invalid URL") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"'{scheme}'" if scheme and scheme.isascii() and len(scheme) < 20 else "none"
        raise FetchError(f"unsupported URL scheme {shown}: only http and https")
    if not parts.hostname:
        raise FetchError("invalid URL: no host")


def _host_key(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _describe(exc: BaseException, timeout: float) -> str:
    """A short, secret-free reason for a network failure (no URL, no traceback)."""
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:g} s"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | ssl.SSLCertVerificationError):
        return "TLS certificate not valid for this host"
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        return "TLS handshake failed"
    if isinstance(exc, aiohttp.ClientConnectorDNSError | socket.gaierror):
        return "host name not found (DNS)"
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error = exc.os_error
        if isinstance(os_error, ConnectionRefusedError):
            return "connection refused"
        if isinstance(os_error, socket.gaierror):
            return "host name not found (DNS)"
        return f"cannot connect ({os_error.strerror or type(os_error).__name__})"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server closed the connection"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "response body cut short or badly encoded"
    if isinstance(exc, aiohttp.InvalidURL):
        return "invalid URL"
    if isinstance(exc, aiohttp.ClientResponseError):
        return "malformed HTTP response"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by the server"
    if isinstance(exc, OSError):
        return f"network error ({exc.strerror or type(exc).__name__})"
    return f"network error ({type(exc).__name__})"


async def _read_body(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    too_large = FetchError(f"response larger than {_size_text(max_bytes)}")
    if response.content_length is not None and response.content_length > max_bytes:
        raise too_large
    chunks: list[bytes] = []
    total = 0
    # Decoded bytes are counted (aiohttp inflates gzip/deflate in bounded steps), so a small
    # compressed body that inflates past the cap stops here too.
    async for chunk in response.content.iter_chunked(_CHUNK_BYTES):
        total += len(chunk)
        if total > max_bytes:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


async def _fetch_one(
    session: aiohttp.ClientSession,
    request: FeedRequest,
    *,
    max_bytes: int,
    max_redirects: int,
) -> RetrievedFeed:
    headers = {}
    if request.etag:
        headers["If-None-Match"] = request.etag
    if request.last_modified:
        headers["If-Modified-Since"] = request.last_modified
    url = request.url
    seen = {url}
    permanent = True
    for _hop in range(max_redirects + 1):
        _check_http_url(url)
        async with session.get(url, headers=headers, allow_redirects=False) as response:
            status = response.status
            if status in _REDIRECT_STATUSES:
                location = response.headers.get("Location")
                if not location:
                    raise FetchError(f"{_status_text(status, response.reason)} without a Location")
                url = urljoin(url, location.strip())
                permanent = permanent and status in (301, 308)
                if url in seen:
                    raise FetchError("redirect loop")
                seen.add(url)
                continue
            etag = response.headers.get("ETag")
            last_modified = response.headers.get("Last-Modified")
            if status == 304:
                return RetrievedFeed(
                    url=request.url,
                    final_url=url,
                    status=304,
                    body=None,
                    etag=etag or request.etag,
                    last_modified=last_modified or request.last_modified,
                    content_type=response.headers.get("Content-Type"),
                    moved_to=url if permanent and url != request.url else None,
                )
            if status == 429 or (status == 503 and "Retry-After" in response.headers):
                default = DEFAULT_RETRY_AFTER if status == 429 else None
                raise FetchError(
                    _status_text(status, response.reason),
                    retry_at=retry_after(
                        response.headers.get("Retry-After"), datetime.now(UTC), default
                    ),
                )
            if not 200 <= status < 300:
                raise FetchError(_status_text(status, response.reason))
            body = await _read_body(response, max_bytes)
            return RetrievedFeed(
                url=request.url,
                final_url=url,
                status=status,
                body=body,
                etag=etag,
                last_modified=last_modified,
                content_type=response.headers.get("Content-Type"),
                moved_to=url if permanent and url != request.url else None,
            )
    raise FetchError(f"too many redirects (more than {max_redirects})")


async def fetch_all(
    requests: Sequence[FeedRequest],
    *,
    concurrency: int = 32,
    limit_per_host: int = 4,
    timeout: float = 20.0,
    max_bytes: int = 10_000_000,
    max_redirects: int = 5,
    user_agent: str = DEFAULT_USER_AGENT,
    on_done: OnDone | None = None,
    release_bodies: bool = False,
    admit: Callable[[], Awaitable[None]] | None = None,
) -> list[RetrievedFeed | FetchError]:
    """Fetch every request; results come back in the order of ``requests``.

    At most ``concurrency`` requests run at once, ``limit_per_host`` per host. ``timeout`` starts
    when a request gets its turn (not while it waits for one) and covers connecting, redirects
    and the whole body. ``on_done(request, result)`` is called as each feed finishes, in
    completion order (for a progress bar, or to parse while other feeds download); an exception
    it raises propagates. With ``release_bodies`` the returned results drop their bodies once
    ``on_done`` has seen them, so a caller that consumes bodies there holds one at a time.
    ``admit()``, if given, is awaited before each request takes its turn: a caller that cannot
    keep up with the bodies makes downloads wait there (the deadline starts after it).
    Failures are returned as ``FetchError`` values, never raised.
    """
    if concurrency < 1 or limit_per_host < 1:
        raise ValueError("concurrency and limit_per_host must be at least 1")
    if timeout <= 0 or max_bytes < 1 or max_redirects < 0:
        raise ValueError("timeout and max_bytes must be positive, max_redirects not negative")
    results: list[RetrievedFeed | FetchError | None] = [None] * len(requests)
    overall = asyncio.Semaphore(concurrency)
    per_host: dict[str, asyncio.Semaphore] = {}
    # Hosts that said "too many requests" in this run, and until when.
    host_busy: dict[str, tuple[str, datetime | None]] = {}

    connector = aiohttp.TCPConnector(
        limit=concurrency, limit_per_host=limit_per_host, ttl_dns_cache=300
    )
    session = aiohttp.ClientSession(
        connector=connector,
        headers={
            "User-Agent": user_agent,
            "Accept": ACCEPT,
            "Accept-Encoding": "gzip, deflate",
        },
        # The per-feed deadline is enforced below with asyncio.timeout; aiohttp's own total
        # would also count the wait for a pooled connection.
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout),
        cookie_jar=aiohttp.DummyCookieJar(),
        raise_for_status=False,
    )

    async def run(index: int, request: FeedRequest) -> None:
        host = _host_key(request.url)
        host_limit = per_host.setdefault(host, asyncio.Semaphore(limit_per_host))
        # Host first, then the overall slot: a request waiting for a busy host holds no slot
        # that requests to other hosts could use.
        async with host_limit, overall:
            if admit is not None:  # with its slot: the caller's wait bounds what is in flight
                await admit()
            result: RetrievedFeed | FetchError
            busy = host_busy.get(host)
            try:
                if busy is not None:
                    reason, until = busy
                    raise FetchError(
                        f"not asked: the host answered {reason}", retry_at=until, deferred=True
                    )
                async with asyncio.timeout(timeout):
                    result = await _fetch_one(
                        session, request, max_bytes=max_bytes, max_redirects=max_redirects
                    )
            except FetchError as exc:
                if exc.retry_at is not None and not exc.deferred:
                    host_busy.setdefault(host, (exc.message, exc.retry_at))
                result = exc
            except Exception as exc:  # any network failure is this feed's, never the batch's
                result = FetchError(_describe(exc, timeout))
                result.__cause__ = exc
        if on_done is not None:
            on_done(request, result)
            if release_bodies and isinstance(result, RetrievedFeed) and result.body is not None:
                result = replace(result, body=None)
        results[index] = result

    try:
        async with asyncio.TaskGroup() as group:
            for index, request in enumerate(requests):
                group.create_task(run(index, request))
    except BaseExceptionGroup as errors:
        # Only on_done can fail here; give its caller that exception, not a group.
        first = errors.exceptions[0]
        raise first from first.__cause__
    finally:
        await session.close()
    return [r if r is not None else FetchError("not fetched") for r in results]


def fetch_feeds(
    requests: Sequence[FeedRequest],
    *,
    concurrency: int = 32,
    limit_per_host: int = 4,
    timeout: float = 20.0,
    max_bytes: int = 10_000_000,
    max_redirects: int = 5,
    user_agent: str = DEFAULT_USER_AGENT,
    on_done: OnDone | None = None,
    release_bodies: bool = False,
    admit: Callable[[], Awaitable[None]] | None = None,
) -> list[RetrievedFeed | FetchError]:
    """``fetch_all`` for synchronous callers (runs its own event loop; not from async code)."""
    return asyncio.run(
        fetch_all(
            requests,
            concurrency=concurrency,
            limit_per_host=limit_per_host,
            timeout=timeout,
            max_bytes=max_bytes,
            max_redirects=max_redirects,
            user_agent=user_agent,
            on_done=on_done,
            release_bodies=release_bodies,
            admit=admit,
        )
    )
