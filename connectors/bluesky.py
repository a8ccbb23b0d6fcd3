"""Bluesky through XRPC: ``com.atproto.repo.createRecord`` of an ``app.bsky.feed.post``.

- Sessions: ``com.atproto.server.createSession`` (handle + app password) is limited to 30 per
  5 minutes, so the session (accessJwt, refreshJwt) is kept in a 0600 JSON file in the state
  folder (``goodwill.credentials.state_dir()``) and renewed with ``refreshSession``; a new
  session is created only when there is none or the refresh token is refused.
- Links become facets with UTF-8 byte offsets into the final text; the post's link gets an
  ``app.bsky.embed.external`` card; the text may have 300 graphemes.
- The record key is a TID derived from the post (brand, channel, post id): every attempt at the
  same post writes the same ``rkey``, so a re-send meets the first record instead of making a
  duplicate, and ``find_published`` is one ``getRecord``.
- Errors: ``ExpiredToken`` → refresh and retry once; ``RateLimitExceeded`` (``ratelimit-reset``
  epoch header) → RateLimited; ``InvalidRequest`` → Rejected; ``AuthenticationRequired`` /
  ``InvalidToken`` → AuthFailed.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import requests

from goodwill import text as textlib
from goodwill.config import Config
from goodwill.credentials import state_dir, write_private
from goodwill.errors import (
    AuthFailed,
    ConnectorError,
    RateLimited,
    Rejected,
    Transient,
    UnknownOutcome,
)
from goodwill.models import OutgoingPost, Receipt

from ._http import (
    DEFAULT_TIMEOUT,
    HttpClient,
    error_text,
    parse_reset,
    parse_time,
    request_timeout,
    scrub,
)

__all__ = ["BlueskyConnector", "SessionFile", "post_rkey", "setup"]

COLLECTION = "app.bsky.feed.post"
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
#: Record keys derived from posts carry timestamps in [2025-01-01, +2^45 µs ≈ 407 days).
_TID_BASE_US = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)
_AUTH_ERRORS = frozenset({"AuthenticationRequired", "InvalidToken", "AccountTakedown"})


def post_rkey(post: OutgoingPost) -> str:
    """A valid TID (13 base32-sortable characters) chosen from the post, the same every time."""
    digest = hashlib.sha256(f"{post.idempotency_key}|{post.channel}".encode()).digest()
    n = int.from_bytes(digest[:8], "big")
    micros = _TID_BASE_US + (n >> 19) % (1 << 45)
    clock = n & 0x3FF
    value = (micros << 10) | clock  # top bit stays 0
    chars = []
    for _ in range(13):
        chars.append(_TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def _jwt_expiry(token: str) -> datetime | None:
    """The ``exp`` claim of a JWT (not verified: only to refresh before it lapses)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return datetime.fromtimestamp(int(claims["exp"]), UTC)
    except (IndexError, ValueError, KeyError, TypeError):
        return None


class SessionFile:
    """The persisted session of one account on one PDS (0600 JSON in the state folder)."""

    def __init__(self, base_url: str, handle: str, folder: Path | None = None) -> None:
        key = hashlib.sha256(f"{base_url.rstrip('/')}|{handle.lower()}".encode()).hexdigest()
        self.path = (folder or state_dir()) / "bluesky" / f"session-{key[:16]}.json"
        self.base_url = base_url
        self.handle = handle

    def load(self) -> dict[str, str] | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or not data.get("accessJwt") or not data.get("did"):
            return None
        return {k: str(v) for k, v in data.items()}

    def save(self, session: dict[str, Any]) -> dict[str, str]:
        kept = {
            "did": str(session["did"]),
            "handle": str(session.get("handle") or self.handle),
            "accessJwt": str(session["accessJwt"]),
            "refreshJwt": str(session["refreshJwt"]),
            "base_url": self.base_url,
            "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        write_private(self.path, json.dumps(kept, indent=1) + "\n")
        return kept

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """An exclusive lock across processes, held while the session is renewed."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


class BlueskyConnector:
    """One Bluesky account (handle + app password) on its PDS."""

    network: ClassVar[str] = "bluesky"
    max_graphemes: ClassVar[int] = textlib.limit("bluesky")
    #: Write points: 5000 an hour and 35000 a day, 3 points per created record.
    quotas: ClassVar[tuple[tuple[int, timedelta], ...]] = (
        (1666, timedelta(hours=1)),
        (11666, timedelta(days=1)),
    )
    interval: ClassVar[float] = 1.0
    #: ``find_published`` reads the post's own record key (``getRecord``): ``RecordNotFound``
    #: proves it was never written, so reconciliation may re-send (to the same key).
    lookup_is_authoritative: ClassVar[bool] = True

    def __init__(
        self,
        base_url: str,
        handle: str,
        app_password: str,
        *,
        language: str | None = None,
        sessions: SessionFile | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.handle = handle.lstrip("@")
        self._password = app_password
        self.language = language
        self.sessions = sessions or SessionFile(base_url, self.handle)
        self._session: dict[str, str] | None = None
        self.clock = clock or (lambda: datetime.now(UTC))
        self.http = HttpClient(
            self.network, base_url, timeout=timeout, interval=self.interval, secrets=self._secrets
        )

    def __repr__(self) -> str:
        return f"BlueskyConnector({self.http.base_url!r}, {self.handle!r})"

    def _secrets(self) -> tuple[str | None, ...]:
        s = self._session or {}
        return (self._password, s.get("accessJwt"), s.get("refreshJwt"))

    @classmethod
    def from_channel(cls, channel: Any, config: Config) -> BlueskyConnector:
        password = channel.app_password.resolve().get_secret_value()
        return cls(
            channel.base_url,
            channel.handle,
            password,
            language=channel.language or config.brand.language,
        )

    # ------------------------------------------------------------------ contract

    def limit(self) -> int:
        return self.max_graphemes

    @classmethod
    def preview(cls, channel: Any, config: Config, post: OutgoingPost) -> dict[str, Any]:
        """The record as it would be sent (``createdAt`` is set at sending time)."""
        shown = cls(channel.base_url, channel.handle, "", language=channel.language)
        shown.language = channel.language or config.brand.language
        record = shown.record(post)
        return {
            "network": cls.network,
            "text": post.text,
            "length": textlib.length(post.text, "bluesky"),
            "limit": cls.max_graphemes,
            "card": record.get("embed", {}).get("external"),
            "facets": record.get("facets", []),
            "request": {
                "method": "POST",
                "url": f"{channel.base_url.rstrip('/')}/xrpc/com.atproto.repo.createRecord",
                "json": {
                    "repo": f"(the DID of {shown.handle})",
                    "collection": COLLECTION,
                    "rkey": post_rkey(post),
                    "record": record,
                },
            },
        }

    def record(self, post: OutgoingPost, created_at: datetime | None = None) -> dict[str, Any]:
        """The ``app.bsky.feed.post`` record exactly as it is sent (what the preview shows)."""
        when = (created_at or self.clock()).astimezone(UTC)
        record: dict[str, Any] = {
            "$type": COLLECTION,
            "text": post.text,
            "createdAt": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        if self.language:
            record["langs"] = [self.language]
        facets = textlib.bluesky_facets(post.text)
        if facets:
            record["facets"] = facets
        if post.link:
            record["embed"] = {
                "$type": "app.bsky.embed.external",
                "external": {
                    "uri": post.link,
                    "title": post.card_title or "",
                    "description": post.card_description or "",
                },
            }
        return record

    def publish(self, post: OutgoingPost) -> Receipt:
        used = textlib.length(post.text, "bluesky")
        if used > self.max_graphemes:
            raise Rejected(f"bluesky: text is {used} graphemes; Bluesky allows 300")
        rkey = post_rkey(post)
        session = self._ensure_session()
        body = {
            "repo": session["did"],
            "collection": COLLECTION,
            "rkey": rkey,
            "record": self.record(post),
        }
        try:
            answer = self._xrpc("POST", "com.atproto.repo.createRecord", json=body, write=True)
        except Rejected:
            # The rkey is ours alone: if a record sits there, an earlier attempt made it.
            existing = self.find_published(post)
            if existing is not None:
                return existing
            raise
        uri = str(answer.get("uri") or "")
        if not uri:
            raise UnknownOutcome("bluesky: createRecord answered without a record uri")
        return Receipt(uri, self._web_url(rkey), None)

    def find_published(self, post: OutgoingPost) -> Receipt | None:
        rkey = post_rkey(post)
        session = self._ensure_session()
        params = {"repo": session["did"], "collection": COLLECTION, "rkey": rkey}
        try:
            answer = self._xrpc("GET", "com.atproto.repo.getRecord", params=params, write=False)
        except _NotFound:
            return None
        value = answer.get("value") if isinstance(answer, dict) else None
        published = parse_time(value.get("createdAt")) if isinstance(value, dict) else None
        return Receipt(str(answer.get("uri")), self._web_url(rkey), published)

    def verify(self) -> str:
        """One cheap authenticated read (``getSession``); returns the handle."""
        self._ensure_session()
        answer = self._xrpc("GET", "com.atproto.server.getSession", write=False)
        return f"@{answer.get('handle', self.handle)} ({answer.get('did', '?')})"

    # ------------------------------------------------------------------ sessions

    def _ensure_session(self) -> dict[str, str]:
        if self._session is None:
            self._session = self.sessions.load()
        if self._session is None:
            with self.sessions.lock():
                # Another publisher may have created one while we waited for the lock.
                self._session = self.sessions.load() or self._create_session()
            return self._session
        expiry = _jwt_expiry(self._session["accessJwt"])
        if expiry is not None and expiry <= self.clock() + timedelta(seconds=60):
            self._refresh()
        return self._session

    def _create_session(self) -> dict[str, str]:
        response = self.http.send(
            "POST",
            "/xrpc/com.atproto.server.createSession",
            json={"identifier": self.handle, "password": self._password},
            write=False,  # creating a session changes nothing a retry could duplicate
        )
        if response.status_code in (400, 401):
            name, words = self._error(response)
            if name in _AUTH_ERRORS or response.status_code == 401:
                raise AuthFailed(f"bluesky: {words} (check the handle and app password)")
        self._check(response, write=False)
        return self.sessions.save(self.http.json(response, write=False))

    def _refresh(self) -> None:
        """Renew the session; refresh tokens are single-use, so publishers take turns."""
        assert self._session is not None
        with self.sessions.lock():
            on_disk = self.sessions.load()
            if on_disk and on_disk["accessJwt"] != self._session["accessJwt"]:
                self._session = on_disk  # another publisher refreshed it already
                return
            self._refresh_locked()

    def _refresh_locked(self) -> None:
        assert self._session is not None
        response = self.http.send(
            "POST",
            "/xrpc/com.atproto.server.refreshSession",
            headers={"Authorization": f"Bearer {self._session['refreshJwt']}"},
            write=False,
        )
        if response.status_code in (400, 401):
            # The refresh token lapsed or was revoked: one new session (rate-limited: rare).
            self.sessions.clear()
            self._session = self._create_session()
            return
        self._check(response, write=False)
        self._session = self.sessions.save(self.http.json(response, write=False))

    # ------------------------------------------------------------------ XRPC

    def _xrpc(
        self,
        method: str,
        nsid: str,
        *,
        write: bool,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        for attempt in range(2):
            assert self._session is not None
            response = self.http.send(
                method,
                f"/xrpc/{nsid}",
                json=json,
                params=params,
                headers={"Authorization": f"Bearer {self._session['accessJwt']}"},
                write=write,
            )
            name, _ = self._error(response) if response.status_code >= 400 else ("", "")
            if name == "ExpiredToken" and attempt == 0:
                self._refresh()  # nothing was written: retrying once is safe
                continue
            if name == "RecordNotFound" or (response.status_code == 404 and not write):
                raise _NotFound(nsid)
            self._check(response, write=write)
            return self.http.json(response, write=write)
        raise AuthFailed("bluesky: the session expired again right after a refresh")

    def _error(self, response: requests.Response) -> tuple[str, str]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            name = body["error"]
            message = body.get("message")
            words = f"{name}: {message}" if isinstance(message, str) and message else name
        else:
            name, words = "", error_text(response)
        return name, scrub(words, self._secrets())[:300]

    def _check(self, response: requests.Response, *, write: bool) -> None:
        status = response.status_code
        if status < 400:
            return
        name, words = self._error(response)
        if status == 429 or name == "RateLimitExceeded":
            reset = parse_reset(response.headers.get("ratelimit-reset"))
            raise RateLimited(f"bluesky: {words}", reset_at=reset)
        if name in _AUTH_ERRORS or name == "ExpiredToken" or status == 401:
            raise AuthFailed(f"bluesky: {words}")
        if status >= 500:
            error: type[ConnectorError] = UnknownOutcome if write else Transient
            raise error(f"bluesky: server error ({words})")
        if status == 408:
            raise request_timeout("bluesky", write=write)
        raise Rejected(f"bluesky: {words}")

    def _web_url(self, rkey: str) -> str:
        handle = (self._session or {}).get("handle") or self.handle
        return f"https://bsky.app/profile/{handle}/post/{rkey}"


class _NotFound(ConnectorError):
    """getRecord found nothing (internal to this module)."""


# ---------------------------------------------------------------------- guided set-up

_APP_PASSWORD = re.compile(r"^[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$")


def setup(
    channel: Any, config: Config, io: Any, *, timeout: tuple[float, float] = DEFAULT_TIMEOUT
) -> dict[str, str]:
    """``goodwill auth``: ask for an app password, verify it with one new session (kept for
    publishing). Returns ``{"app_password": ...}``."""
    io.say(
        f"Create an app password for {channel.handle}: Bluesky → Settings → Privacy and "
        "security → App passwords (https://bsky.app/settings/app-passwords). "
        "Never give Goodwill your account password."
    )
    password = io.ask_secret("App password (xxxx-xxxx-xxxx-xxxx): ").strip()
    if not _APP_PASSWORD.match(password):
        raise AuthFailed(
            "bluesky: that is not an app password (four groups of four letters or digits); "
            "create one in Settings → App passwords"
        )
    connector = BlueskyConnector(channel.base_url, channel.handle, password, timeout=timeout)
    connector.sessions.clear()  # a new password: start from a new session
    io.say(f"Verified: {connector.verify()}")
    return {"app_password": password}
