"""Mastodon (any instance) through its REST API: ``POST /api/v1/statuses`` with a bearer token.

- The post's ``Idempotency-Key`` header is derived from the post, so a re-send within the
  instance's idempotency window (an hour) answers the status already created, not a duplicate.
- The character limit is the instance's own (``/api/v2/instance``
  ``configuration.statuses.max_characters``), read once per connector (one run); 500 if the
  instance does not say.
- ``X-RateLimit-Reset`` (ISO 8601) becomes ``RateLimited(reset_at=...)``.
- ``find_published`` looks through the account's recent statuses for the post's text or link.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

from goodwill import text as textlib
from goodwill.config import Config
from goodwill.errors import AuthFailed, ConnectorError, Rejected, Transient, UnknownOutcome
from goodwill.models import OutgoingPost, Receipt

from ._http import DEFAULT_TIMEOUT, HttpClient, error_text, parse_time

__all__ = ["MastodonConnector", "setup"]

#: Instance limits read for previews in this process: base_url -> (limit, where it came from).
_PUBLIC_LIMITS: dict[str, tuple[int, str]] = {}
_TAG = re.compile(r"<[^>]+>")
_BREAK = re.compile(r"<br\s*/?>|</p>\s*<p>", re.IGNORECASE)
_HREF = re.compile(r'href="([^"]+)"')


def _plain(content: str) -> str:
    """A status's HTML ``content`` as plain text (links keep their full URL text)."""
    return " ".join(html.unescape(_TAG.sub("", _BREAK.sub(" ", content))).split())


class MastodonConnector:
    """One Mastodon account on one instance."""

    network: ClassVar[str] = "mastodon"
    default_limit: ClassVar[int] = textlib.limit("mastodon")
    #: Mastodon allows 300 statuses per account per 3 hours.
    quotas: ClassVar[tuple[tuple[int, timedelta], ...]] = ((300, timedelta(hours=3)),)
    #: Seconds between two calls to the same instance.
    interval: ClassVar[float] = 1.0
    #: A repeat of the ``Idempotency-Key`` within an hour is answered with the status already
    #: created (Mastodon keeps the key for 3600 s): reconciliation may re-send inside it.
    idempotency_window: ClassVar[timedelta | None] = timedelta(hours=1)

    def __init__(
        self,
        base_url: str,
        access_token: str,
        *,
        visibility: str = "public",
        language: str | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self._token = access_token
        self.visibility = visibility
        self.language = language
        self.http = HttpClient(
            self.network,
            base_url,
            timeout=timeout,
            interval=self.interval,
            secrets=lambda: (self._token,),
        )
        self.http.session.headers["Authorization"] = f"Bearer {access_token}"
        self._limit: int | None = None
        self._account_id: str | None = None

    def __repr__(self) -> str:
        return f"MastodonConnector({self.http.base_url!r})"

    @classmethod
    def from_channel(cls, channel: Any, config: Config) -> MastodonConnector:
        token = channel.access_token.resolve().get_secret_value()
        return cls(
            channel.base_url,
            token,
            visibility=channel.visibility,
            language=channel.language or config.brand.language,
        )

    # ------------------------------------------------------------------ contract

    def limit(self) -> int:
        """The instance's own limit (read once); the default 500 while it cannot be read."""
        known = self._known_limit()
        return self.default_limit if known is None else known

    def _known_limit(self) -> int | None:
        if self._limit is None:
            try:
                self._limit = self._instance_limit()
            except ConnectorError:
                return None  # asked again next time; the instance judges the length meanwhile
        return self._limit

    def _instance_limit(self) -> int:
        response = self.http.send("GET", "/api/v2/instance")
        self.http.check(response, write=False, reset_header="X-RateLimit-Reset")
        body = self.http.json(response, write=False)
        try:
            value = body["configuration"]["statuses"]["max_characters"]
        except (KeyError, TypeError):
            return self.default_limit
        return int(value) if isinstance(value, int) and value > 0 else self.default_limit

    @classmethod
    def preview(cls, channel: Any, config: Config, post: OutgoingPost) -> dict[str, Any]:
        """The status as it would be sent; the limit is the instance's (a public read)."""
        limit, source = _PUBLIC_LIMITS.get(channel.base_url, (None, ""))
        if limit is None:
            probe = cls(channel.base_url, "", timeout=(3.0, 5.0))
            probe.http.session.headers.pop("Authorization", None)
            try:
                limit, source = probe._instance_limit(), "the instance"
            except ConnectorError:  # any failure, a 429 included: the preview still shows
                limit, source = cls.default_limit, "default; the instance did not answer"
            _PUBLIC_LIMITS[channel.base_url] = (limit, source)
        shown = cls(channel.base_url, "", visibility=channel.visibility)
        shown.language = channel.language or config.brand.language
        return {
            "network": cls.network,
            "text": post.text,
            "length": textlib.length(post.text, "mastodon"),
            "limit": limit,
            "limit_from": source,
            "card": {"uri": post.link, "note": "Mastodon builds the card from the page"}
            if post.link
            else None,
            "request": {
                "method": "POST",
                "url": f"{channel.base_url.rstrip('/')}/api/v1/statuses",
                "headers": {"Idempotency-Key": cls.idempotency_key(post)},
                "json": shown.payload(post),
            },
        }

    def payload(self, post: OutgoingPost) -> dict[str, Any]:
        """The JSON body sent to ``/api/v1/statuses`` (what the preview shows)."""
        body: dict[str, Any] = {"status": post.text, "visibility": self.visibility}
        if self.language:
            body["language"] = self.language
        return body

    @staticmethod
    def idempotency_key(post: OutgoingPost) -> str:
        """Stable per post and channel; hashed so brand names never leak into headers."""
        raw = f"{post.idempotency_key}|{post.channel}".encode()
        return "goodwill-" + hashlib.sha256(raw).hexdigest()[:32]

    def publish(self, post: OutgoingPost) -> Receipt:
        used, limit = textlib.length(post.text, "mastodon"), self._known_limit()
        if limit is not None and used > limit:
            raise Rejected(f"mastodon: text is {used} characters; this instance allows {limit}")
        response = self.http.send(
            "POST",
            "/api/v1/statuses",
            json=self.payload(post),
            headers={"Idempotency-Key": self.idempotency_key(post)},
        )
        self.http.check(response, write=True, reset_header="X-RateLimit-Reset")
        return self._receipt(self.http.json(response, write=True), write=True)

    def find_published(self, post: OutgoingPost) -> Receipt | None:
        account = self._account()
        response = self.http.send(
            "GET",
            f"/api/v1/accounts/{account}/statuses",
            params={"limit": 40, "exclude_reblogs": "true"},
        )
        self.http.check(response, write=False, reset_header="X-RateLimit-Reset")
        statuses = self.http.json(response, write=False)
        if not isinstance(statuses, list):
            raise Transient("mastodon: unexpected answer listing statuses")
        match = _find(statuses, post)
        return self._receipt(match, write=False) if match else None

    def verify(self) -> str:
        """One cheap authenticated read; returns the account's handle."""
        body = self._verify_credentials()
        return f"@{body.get('acct', '?')} on {self.http.base_url}"

    # ------------------------------------------------------------------ helpers

    def _verify_credentials(self) -> dict[str, Any]:
        response = self.http.send("GET", "/api/v1/accounts/verify_credentials")
        self.http.check(response, write=False, reset_header="X-RateLimit-Reset")
        body = self.http.json(response, write=False)
        if not isinstance(body, dict) or "id" not in body:
            raise Transient("mastodon: unexpected answer from verify_credentials")
        return body

    def _account(self) -> str:
        if self._account_id is None:
            self._account_id = str(self._verify_credentials()["id"])
        return self._account_id

    def _receipt(self, status: Any, *, write: bool) -> Receipt:
        if not isinstance(status, dict) or "id" not in status:
            what = "mastodon: the answer has no status id"
            raise (UnknownOutcome if write else Transient)(what)
        published = parse_time(status.get("created_at"))
        return Receipt(str(status["id"]), status.get("url") or status.get("uri"), published)


def _find(statuses: Iterable[Any], post: OutgoingPost) -> dict[str, Any] | None:
    want = " ".join(post.text.split())
    for status in statuses:
        if not isinstance(status, dict):
            continue
        content = str(status.get("content") or "")
        if _plain(content) == want:
            return status
        if post.link and post.link in {html.unescape(h) for h in _HREF.findall(content)}:
            # The same link and the same opening words: ours (the instance may rewrite text).
            head = want.split(post.link)[0].strip()[:40]
            if head and _plain(content).startswith(head):
                return status
    return None


# ---------------------------------------------------------------------- guided set-up

#: Scopes Goodwill needs: post, read its own account and recent statuses (reconciliation).
SCOPES = "read:accounts read:statuses write:statuses"
OOB = "urn:ietf:wg:oauth:2.0:oob"


def setup(
    channel: Any, config: Config, io: Any, *, timeout: tuple[float, float] = DEFAULT_TIMEOUT
) -> dict[str, str]:
    """``goodwill auth``: register an app on the instance, have the owner approve it in the
    browser, exchange the code for a token and verify it. Returns ``{"access_token": ...}``."""
    held: list[str] = []
    http = HttpClient("mastodon", channel.base_url, timeout=timeout, secrets=lambda: held)
    response = http.send(
        "POST",
        "/api/v1/apps",
        data={
            "client_name": f"Goodwill ({config.brand.name})",
            "redirect_uris": OOB,
            "scopes": SCOPES,
            "website": config.brand.website or "https://github.com/goodwill-social/goodwill",
        },
        write=False,
    )
    http.check(response, write=False)
    app = http.json(response, write=False)
    try:
        client_id, client_secret = str(app["client_id"]), str(app["client_secret"])
    except (KeyError, TypeError):
        raise Rejected("mastodon: the instance did not return app credentials") from None
    held.append(client_secret)
    query = urlencode(
        {"client_id": client_id, "response_type": "code", "redirect_uri": OOB, "scope": SCOPES}
    )
    io.say("Open this address, sign in as the account Goodwill should post for, and approve:")
    io.say(f"  {http.url('/oauth/authorize')}?{query}")
    code = io.ask_secret("Paste the authorization code shown after approving: ").strip()
    if not code:
        raise AuthFailed("mastodon: no authorization code given")
    held.append(code)
    response = http.send(
        "POST",
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": client_id,
            "client_secret": client_secret,
            "redirect_uri": OOB,
            "scope": SCOPES,
        },
        write=False,
    )
    if response.status_code in (400, 401):
        raise AuthFailed(f"mastodon: the instance refused the code: {error_text(response)}")
    http.check(response, write=False)
    token = http.json(response, write=False).get("access_token")
    if not isinstance(token, str) or not token:
        raise AuthFailed("mastodon: the instance answered without an access token")
    held.append(token)
    who = MastodonConnector(channel.base_url, token, timeout=timeout).verify()
    io.say(f"Verified: {who}")
    return {"access_token": token}
