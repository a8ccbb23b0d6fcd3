"""Failure handling shared by every HTTP connector: one place that turns transport errors,
status codes and rate-limit headers into ``goodwill.errors``.

What a connector gets from here:

- ``HttpClient``: a ``requests.Session`` with per-request timeouts and a throttle before each
  call; ``send()`` translates ``requests`` exceptions (connection refused or DNS failure before
  anything was sent → ``Transient``; read timeout or a dropped connection after sending a write →
  ``UnknownOutcome``) and scrubs the client's secrets out of every message.
- ``check_status()``: the usual mapping of an HTTP status to an error (401/403 → ``AuthFailed``,
  429 → ``RateLimited``, 5xx after a write → ``UnknownOutcome``, other 4xx → ``Rejected``);
  connectors handle their own special cases first and call it for the rest.
- ``parse_reset()``: ``Retry-After`` (seconds or HTTP date), ISO 8601 times and epoch seconds.
- ``parse_time()``: a timestamp from a network's answer (ISO 8601) as an aware UTC time.
- ``THROTTLE``: at most one call per ``interval`` per (network, host); tests switch it off with
  one autouse fixture (``THROTTLE.enabled = False``).

tweepy, facebook-sdk and requests-oauthlib all use ``requests`` underneath, so ``translate()``
serves their exceptions too.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests

from goodwill.errors import (
    AuthFailed,
    ConnectorError,
    RateLimited,
    Rejected,
    Transient,
    UnknownOutcome,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "THROTTLE",
    "HttpClient",
    "Throttle",
    "check_status",
    "error_text",
    "parse_reset",
    "parse_time",
    "scrub",
    "translate",
]

#: (connect, read) seconds. A write that gets no answer within ``read`` becomes UnknownOutcome.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 30.0)
USER_AGENT = "Goodwill/0.1 (+https://github.com/goodwill-social/goodwill)"
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Throttle:
    """Space out calls to one host: apprise-style, a sleep before each remote call."""

    def __init__(self, sleep: Callable[[float], None] = time.sleep) -> None:
        self.enabled = True
        self.sleep = sleep
        self._last: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def wait(self, network: str, url: str, interval: float) -> None:
        if not self.enabled or interval <= 0:
            return
        key = (network, urlsplit(url).netloc)
        with self._lock:
            now = time.monotonic()
            ready = self._last.get(key, 0.0) + interval
            delay = max(0.0, ready - now)
            self._last[key] = max(now, ready)
        if delay:
            self.sleep(delay)


THROTTLE = Throttle()


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret (longer than 3 characters) replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) > 3:
            text = text.replace(secret, "***")
    return text


def parse_reset(value: str | None, now: datetime | None = None) -> datetime | None:
    """A rate-limit reset header as an aware UTC time.

    Accepts seconds to wait (``Retry-After: 120``), epoch seconds (``ratelimit-reset:
    1767225600``, any number larger than a year of seconds), ISO 8601
    (``X-RateLimit-Reset: 2026-11-26T01:05:00.000Z``) and HTTP dates. ``None`` if unreadable.
    """
    if not value:
        return None
    value = value.strip()
    now = now or datetime.now(UTC)
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        try:
            if number > 365 * 86400:
                return datetime.fromtimestamp(number, UTC)
            return now + timedelta(seconds=max(0.0, number))
        except (OverflowError, OSError, ValueError):  # "inf", or past the year 9999
            return None
    when = parse_time(value)
    if when is not None:
        return when
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def parse_time(value: object) -> datetime | None:
    """A timestamp from a network's answer as an aware UTC time; ``None`` if it is not one.

    ISO 8601 as the networks send it: ``2026-11-26T09:00:01.123Z`` (Mastodon, Bluesky, X),
    ``2026-11-26T09:00:01+0000`` (Graph), other offsets. A time without an offset is taken as
    UTC. Anything else (not a string, empty, malformed, out of range) is ``None``, never raised.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def error_text(response: requests.Response, limit: int = 300) -> str:
    """The network's own words for an error: JSON ``error``/``message`` fields, else the status.

    HTML error pages (proxies, load balancers) are reduced to the status line.
    """
    reason = f"HTTP {response.status_code} {response.reason or ''}".strip()
    try:
        body: Any = response.json()
    except ValueError:
        return reason
    parts: list[str] = []
    if isinstance(body, Mapping):
        for key in ("error", "message", "error_description", "detail", "title"):
            value = body.get(key)
            if isinstance(value, str) and value and value not in parts:
                parts.append(value)
            elif isinstance(value, Mapping) and isinstance(value.get("message"), str):
                parts.append(value["message"])
    text = ": ".join(parts) or reason
    return text[:limit]


def translate(
    exc: requests.RequestException,
    *,
    network: str,
    write: bool,
    secrets: Iterable[str | None] = (),
) -> ConnectorError:
    """A ``requests`` exception as Goodwill's error, decided by *when* it happened, with
    ``secrets`` scrubbed from its message.

    Failing to connect (refused, DNS, connect timeout, TLS handshake) means nothing was sent:
    ``Transient``. A read timeout or a dropped connection after a write was sent may mean the
    network has the post: ``UnknownOutcome``. Reads are always safe to retry: ``Transient``.
    """
    err = _translate(exc, network=network, write=write)
    return type(err)(scrub(err.message, secrets))


def request_timeout(network: str, *, write: bool) -> ConnectorError:
    """HTTP 408: the server stopped waiting for the request. After a write it may still have
    taken the post: reconcile before sending again."""
    kind = UnknownOutcome if write else Transient
    return kind(f"{network}: the server timed out reading the request (HTTP 408)")


def unreadable(network: str, exc: Exception, *, write: bool) -> ConnectorError:
    """An answer a client library could not read: after a write the post may be out."""
    kind = UnknownOutcome if write else Transient
    return kind(f"{network} sent an answer that could not be read ({type(exc).__name__})")


def _translate(exc: requests.RequestException, *, network: str, write: bool) -> ConnectorError:
    kind = type(exc).__name__
    if isinstance(exc, requests.ConnectTimeout | requests.exceptions.SSLError):
        return Transient(f"{network}: could not connect ({kind})")
    if isinstance(exc, requests.ReadTimeout):
        if write:
            return UnknownOutcome(f"{network}: no answer within the timeout after sending")
        return Transient(f"{network}: no answer within the timeout")
    if isinstance(exc, requests.ConnectionError):
        if _before_sending(exc):
            return Transient(f"{network}: could not connect ({_root_cause(exc)})")
        if write:
            return UnknownOutcome(f"{network}: the connection dropped after sending")
        return Transient(f"{network}: the connection dropped")
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return Rejected(f"{network}: invalid URL ({kind})")
    if write:
        return UnknownOutcome(f"{network}: request failed ({kind})")
    return Transient(f"{network}: request failed ({kind})")


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and every exception it wraps (urllib3 keeps causes in ``reason`` and ``args``)."""
    out: list[BaseException] = []
    stack: list[BaseException] = [exc]
    while stack and len(out) < 20:
        cur = stack.pop()
        if any(cur is seen for seen in out):
            continue
        out.append(cur)
        for nxt in (getattr(cur, "reason", None), cur.__cause__, cur.__context__, *cur.args):
            if isinstance(nxt, BaseException):
                stack.append(nxt)
    return out


def _root_cause(exc: BaseException) -> str:
    import socket

    import urllib3.exceptions as u3

    chain = _chain(exc)
    # NewConnectionError subclasses ConnectTimeoutError: look for the precise cause first.
    for kinds, words in (
        ((ConnectionRefusedError,), "connection refused"),
        ((u3.NameResolutionError, socket.gaierror), "DNS lookup failed"),
        ((u3.ConnectTimeoutError,), "connect timeout"),
    ):
        if any(isinstance(cur, kinds) for cur in chain):
            return words
    return "connection failed"


def _before_sending(exc: BaseException) -> bool:
    """True when the chain shows the connection was never established (nothing was sent)."""
    import urllib3.exceptions as u3

    before = (
        u3.NewConnectionError,
        u3.NameResolutionError,
        u3.ConnectTimeoutError,
        ConnectionRefusedError,
    )
    return any(isinstance(cur, before) for cur in _chain(exc))


def check_status(
    response: requests.Response,
    *,
    network: str,
    write: bool,
    reset_header: str | None = "Retry-After",
    secrets: Iterable[str | None] = (),
) -> None:
    """Raise the error an HTTP status means; return for 2xx and 3xx."""
    status = response.status_code
    if status < 400:
        return
    words = scrub(error_text(response), secrets)
    if status in (401, 403):
        raise AuthFailed(f"{network}: {words}")
    if status == 429:
        reset = parse_reset(response.headers.get(reset_header or "Retry-After"))
        if reset is None:
            reset = parse_reset(response.headers.get("Retry-After"))
        raise RateLimited(f"{network}: {words}", reset_at=reset)
    if status >= 500:
        if write:
            raise UnknownOutcome(f"{network}: server error after sending ({words})")
        raise Transient(f"{network}: server error ({words})")
    if status == 408:
        raise request_timeout(network, write=write)
    raise Rejected(f"{network}: {words}")


class HttpClient:
    """One network's HTTP session: base URL, timeouts, throttle, translated failures."""

    def __init__(
        self,
        network: str,
        base_url: str,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        interval: float = 1.0,
        session: requests.Session | None = None,
        secrets: Callable[[], Iterable[str | None]] = tuple,
    ) -> None:
        self.network = network
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.interval = interval
        self.session = session or requests.Session()
        self.session.trust_env = False  # no proxies or .netrc credentials behind our back
        self.session.headers["User-Agent"] = USER_AGENT
        self.secrets = secrets

    def url(self, path: str) -> str:
        return path if "://" in path else f"{self.base_url}/{path.lstrip('/')}"

    def send(
        self,
        method: str,
        path: str,
        *,
        write: bool | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """One request; ``requests`` exceptions come out as Goodwill errors (no secrets)."""
        url = self.url(path)
        write = method.upper() in _WRITE_METHODS if write is None else write
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("allow_redirects", False)
        THROTTLE.wait(self.network, url, self.interval)
        try:
            return self.session.request(method, url, **kwargs)
        except requests.RequestException as exc:
            raise translate(
                exc, network=self.network, write=write, secrets=self.secrets()
            ) from None

    def check(
        self,
        response: requests.Response,
        *,
        write: bool,
        reset_header: str | None = "Retry-After",
    ) -> None:
        check_status(
            response,
            network=self.network,
            write=write,
            reset_header=reset_header,
            secrets=self.secrets(),
        )

    def json(self, response: requests.Response, *, write: bool) -> Any:
        """The body as JSON; an unreadable 2xx body after a write is an unknown outcome."""
        try:
            return response.json()
        except ValueError:
            what = f"{self.network}: answered {response.status_code} without JSON"
            raise (UnknownOutcome if write else Transient)(what) from None

    def close(self) -> None:
        self.session.close()
