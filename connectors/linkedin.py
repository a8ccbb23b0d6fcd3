"""LinkedIn through the versioned Posts API (``POST /rest/posts``) with requests-oauthlib.

Every request carries ``LinkedIn-Version: YYYYMM`` and ``X-Restli-Protocol-Version: 2.0.0``.
The author is a member (``urn:li:person:…``, scope ``w_member_social``) or an organization
(``urn:li:organization:…``, ``w_organization_social``). The commentary is written in LinkedIn's
"little text format": its reserved characters are escaped (an unescaped one silently truncates
the post). A link goes out as an article share with the item's title and description. The new
post's URN comes back in the ``x-restli-id`` header. A 422 ``DUPLICATE_POST`` names the post
LinkedIn already has: it is raised as ``Duplicate(existing_id=urn)``.

Access tokens last 60 days and (for most apps) cannot be refreshed: the expiry is kept (token
file or ``token_expires``) and ``expiry_warning`` speaks up 14 days ahead.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, ClassVar

import requests
from oauthlib.oauth2 import OAuth2Error
from requests_oauthlib import OAuth2Session

from goodwill import text as gtext
from goodwill.config import Config, SecretRef
from goodwill.errors import (
    AuthFailed,
    ConfigError,
    ConnectorError,
    Duplicate,
    RateLimited,
    Rejected,
    Transient,
    UnknownOutcome,
)
from goodwill.models import OutgoingPost, Receipt

from ._http import DEFAULT_TIMEOUT, HttpClient, parse_reset, request_timeout, scrub
from ._session import quiet_third_party_loggers

__all__ = ["LinkedInConnector", "expiry_warning", "token_expiry"]

RESTLI = "2.0.0"
#: Warn this long before the access token expires.
WARN_AHEAD = timedelta(days=14)
_URN = re.compile(r"urn:li:(?:share|ugcPost|activity):[0-9]+")

quiet_third_party_loggers()


def read_token(ref: SecretRef) -> tuple[str, datetime | None]:
    """The access token and its expiry: a ``file:`` written by ``goodwill auth`` holds JSON."""
    raw = ref.resolve().get_secret_value()
    if raw.startswith("{"):
        try:
            data = json.loads(raw)
        except ValueError:
            raise ConfigError(
                f"{ref}: the token file is not valid JSON; run `goodwill auth` again"
            ) from None
        token = str(data.get("access_token") or "")
        if not token:
            raise ConfigError(f"{ref}: the token file holds no access_token; run `goodwill auth`")
        expires = data.get("expires_at")
        return token, datetime.fromtimestamp(float(expires), UTC) if expires else None
    return raw, None


def token_expiry(channel: Any) -> datetime | None:
    """When the channel's access token expires, if known (token file first, then config)."""
    expires: datetime | None = None
    ref = channel.access_token
    if ref.scheme == "file":
        try:
            data = json.loads(Path(ref.name).expanduser().read_text(encoding="utf-8"))
            if isinstance(data, dict) and data.get("expires_at"):
                expires = datetime.fromtimestamp(float(data["expires_at"]), UTC)
        except (OSError, ValueError):
            pass
    if expires is None and isinstance(channel.token_expires, date):
        expires = datetime.combine(channel.token_expires, time(0), UTC)
    return expires


def expiry_warning(channel: Any, now: datetime) -> str | None:
    """A warning when the token expires within 14 days (or has expired); None otherwise."""
    expires = token_expiry(channel)
    if expires is None:
        return None
    if expires <= now:
        return (
            f"{channel.name}: the LinkedIn access token expired on {expires:%Y-%m-%d}; "
            f"run `goodwill auth {channel.name}`"
        )
    if expires - now <= WARN_AHEAD:
        days = (expires - now).days
        return (
            f"{channel.name}: the LinkedIn access token expires on {expires:%Y-%m-%d} "
            f"(in {days} day{'s' if days != 1 else ''}); run `goodwill auth {channel.name}`"
        )
    return None


class LinkedInConnector:
    """Posts as one LinkedIn member or organization."""

    network: ClassVar[str] = "linkedin"
    max_length: ClassVar[int] = gtext.limit("linkedin")
    #: (posts, window) never to exceed: the Posts API's documented 150 requests a day per member.
    quotas: ClassVar[tuple[tuple[int, timedelta], ...]] = ((150, timedelta(days=1)),)
    #: Seconds between calls (the shared throttle; tests switch it off).
    interval: ClassVar[float] = 1.0

    def __init__(
        self,
        *,
        author: str,
        token: str,
        base_url: str = "https://api.linkedin.com",
        api_version: str = "202510",
        expires_at: datetime | None = None,
        channel: str = "linkedin",
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self.author = author
        self.token = token
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version
        self.expires_at = expires_at
        self.channel = channel
        self.timeout = timeout

    @classmethod
    def from_channel(cls, channel: Any, config: Config) -> LinkedInConnector:
        token, expires = read_token(channel.access_token)
        return cls(
            author=channel.author,
            token=token,
            base_url=channel.base_url,
            api_version=channel.api_version,
            expires_at=expires or token_expiry(channel),
            channel=channel.name,
        )

    def session(self) -> OAuth2Session:
        session = OAuth2Session(token={"access_token": self.token, "token_type": "Bearer"})
        session.trust_env = False
        session.headers.update(
            {
                "LinkedIn-Version": self.api_version,
                "X-Restli-Protocol-Version": RESTLI,
            }
        )
        return session

    @classmethod
    def preview(cls, channel: Any, config: Config, post: OutgoingPost) -> dict[str, Any]:
        """The Posts API request as LinkedIn would get it: escaped commentary, article card."""
        shown = cls(author=channel.author, token="", api_version=channel.api_version)
        body = shown.post_body(post)
        article = body.get("content", {}).get("article")
        return {
            "network": cls.network,
            "text": post.text,
            "length": gtext.length(post.text, "linkedin"),
            "limit": cls.max_length,
            "card": {
                "uri": article["source"],
                "title": article["title"],
                "description": article.get("description", ""),
            }
            if article
            else None,
            "request": {
                "method": "POST",
                "url": f"{channel.base_url}/rest/posts",
                "headers": {
                    "LinkedIn-Version": channel.api_version,
                    "X-Restli-Protocol-Version": RESTLI,
                },
                "json": body,
            },
        }

    # ------------------------------------------------------------------ the contract

    def limit(self) -> int:
        return self.max_length

    def post_body(self, post: OutgoingPost) -> dict[str, Any]:
        """The Posts API body: escaped commentary, and an article card when there is a link."""
        body: dict[str, Any] = {
            "author": self.author,
            "commentary": gtext.escape_linkedin(post.text),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        if post.link:
            article: dict[str, str] = {"source": post.link, "title": post.card_title or post.link}
            if post.card_description:
                article["description"] = post.card_description
            body["content"] = {"article": article}
        return body

    def publish(self, post: OutgoingPost) -> Receipt:
        self._check_expiry()
        response = self._send("POST", "/rest/posts", write=True, json=self.post_body(post))
        urn = response.headers.get("x-restli-id") or response.headers.get("x-linkedin-id") or ""
        if not urn:
            raise UnknownOutcome("LinkedIn answered without a post id; reconcile before re-sending")
        return Receipt(
            remote_id=urn,
            url=f"https://www.linkedin.com/feed/update/{urn}/",
            published_at=datetime.now(UTC),
        )

    def find_published(self, post: OutgoingPost) -> Receipt | None:
        """Look among the author's recent posts for the same (escaped) commentary."""
        self._check_expiry()
        response = self._send(
            "GET",
            "/rest/posts",
            write=False,
            params={"q": "author", "author": self.author, "count": "50", "sortBy": "LAST_MODIFIED"},
            headers={"X-RestLi-Method": "FINDER"},
        )
        wanted = " ".join(gtext.escape_linkedin(post.text).split())
        for element in _json(response).get("elements") or []:
            if " ".join(str(element.get("commentary", "")).split()) == wanted:
                urn = str(element["id"])
                at = element.get("publishedAt") or element.get("createdAt")
                return Receipt(
                    remote_id=urn,
                    url=f"https://www.linkedin.com/feed/update/{urn}/",
                    published_at=datetime.fromtimestamp(at / 1000, UTC) if at else None,
                )
        return None

    def verify(self) -> str:
        """One cheap read (``GET /v2/userinfo``): the member the token belongs to."""
        self._check_expiry()
        response = self._send("GET", "/v2/userinfo", write=False)
        info = _json(response)
        return str(info.get("name") or info.get("sub") or "?")

    # ------------------------------------------------------------------ calls and errors

    def _check_expiry(self) -> None:
        if self.expires_at is not None and self.expires_at <= datetime.now(UTC):
            raise AuthFailed(
                f"the LinkedIn access token expired on {self.expires_at:%Y-%m-%d}; "
                f"run `goodwill auth {self.channel}`"
            )

    def _send(self, method: str, path: str, *, write: bool, **kwargs: Any) -> requests.Response:
        http = HttpClient(
            "LinkedIn",
            self.base_url,
            timeout=self.timeout,
            interval=self.interval,
            session=self.session(),
            secrets=lambda: [self.token],
        )
        try:
            response = http.send(method, path, write=write, **kwargs)
        except OAuth2Error as exc:  # oauthlib refuses to send a token over plain http
            raise AuthFailed(f"LinkedIn token could not be used ({exc.error})") from None
        finally:
            http.close()
        if response.status_code >= 400:
            raise self._translate(response, write)
        return response

    def _translate(self, response: requests.Response, write: bool) -> ConnectorError:
        status = response.status_code
        body = _json(response)
        code = str(body.get("code") or "")
        message = scrub(str(body.get("message") or ""), [self.token])[:300] or f"HTTP {status}"
        if status == 422 and (code == "DUPLICATE_POST" or "duplicate" in message.lower()):
            found = _URN.search(message) or _URN.search(json.dumps(body))
            return Duplicate(
                f"LinkedIn already has this post: {message}",
                existing_id=found.group(0) if found else None,
            )
        if status == 429:
            return RateLimited(f"LinkedIn rate limit: {message}", reset_at=_retry_after(response))
        if status == 401:
            return AuthFailed(f"LinkedIn refused the token: {message}")
        if status == 403:
            return AuthFailed(f"LinkedIn refused the permission: {message}")
        if status >= 500:
            kind = UnknownOutcome if write else Transient
            return kind(f"LinkedIn failed with HTTP {status}")
        if status == 408:
            return request_timeout("LinkedIn", write=write)
        return Rejected(f"LinkedIn refused the post: {message}")


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _retry_after(response: requests.Response) -> datetime:
    """``Retry-After`` when given; else midnight UTC, when LinkedIn's daily quotas reset."""
    now = datetime.now(UTC)
    given = parse_reset(response.headers.get("retry-after"), now)
    return given or datetime.combine(now.date() + timedelta(days=1), time(0), UTC)


def setup(channel: Any, config: Config, io: Any, **options: Any) -> dict[str, str]:
    """The guided ``goodwill auth`` set-up (see ``goodwill.auth.linkedin``): returns the values for
    the channel's credential fields, for the caller to store where their references point."""
    from goodwill.auth.linkedin import credentials

    return credentials(channel, config, io, **options)
