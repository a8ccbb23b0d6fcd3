"""Facebook Pages through facebook-sdk's ``GraphAPI.put_object(page_id, "feed", ...)``.

facebook-sdk 3.1.0 accepts Graph versions up to 3.1 only and defaults to 2.8, long retired: the
connector builds the client without a version and then sets ``graph.version`` to the configured
one (default ``v21.0``), so every request names it in its path (``/v21.0/{page_id}/feed``). The
SDK's host is a module constant; a ``RebasedSession`` sends its requests to ``base_url``.

Graph errors are translated by code: 4, 17, 32, 613, 80001 (rate), 190 and permission codes
(token), 368 (blocked), 506 (duplicate), and HTML error pages by HTTP status.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import facebook
import requests

from goodwill import text as gtext
from goodwill.config import Config
from goodwill.errors import (
    AuthFailed,
    ConnectorError,
    Duplicate,
    RateLimited,
    Rejected,
    Transient,
    UnknownOutcome,
)
from goodwill.models import OutgoingPost, Receipt

from ._http import (
    DEFAULT_TIMEOUT,
    THROTTLE,
    parse_time,
    request_timeout,
    scrub,
    translate,
    unreadable,
)
from ._session import RebasedSession, quiet_third_party_loggers

__all__ = ["FacebookConnector"]

SDK_ORIGIN = "https://graph.facebook.com"
RATE_CODES = frozenset({4, 17, 32, 613, 80001})
AUTH_CODES = frozenset({102, 190, 10, 200})
#: Graph's usage windows are a rolling hour: wait that long when it does not say.
DEFAULT_WAIT = timedelta(hours=1)

quiet_third_party_loggers()


class FacebookConnector:
    """Posts to one Facebook Page with a Page access token."""

    network: ClassVar[str] = "facebook"
    max_length: ClassVar[int] = gtext.limit("facebook")
    #: Seconds between calls (the shared throttle; tests switch it off).
    interval: ClassVar[float] = 1.0

    def __init__(
        self,
        *,
        page_id: str,
        token: str,
        base_url: str = "https://graph.facebook.com",
        graph_version: str = "v21.0",
        channel: str = "facebook",
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self.page_id = page_id
        self.token = token
        self.graph_version = graph_version
        self.channel = channel
        self.session = RebasedSession(SDK_ORIGIN, base_url, timeout=timeout)

    @classmethod
    def from_channel(cls, channel: Any, config: Config) -> FacebookConnector:
        return cls(
            page_id=channel.page_id,
            token=channel.page_access_token.resolve().get_secret_value(),
            base_url=channel.base_url,
            graph_version=channel.graph_version,
            channel=channel.name,
        )

    def graph(self) -> facebook.GraphAPI:
        graph = facebook.GraphAPI(access_token=self.token, session=self.session)
        # The SDK's constructor rejects versions above 3.1; the attribute is what it uses.
        graph.version = self.graph_version
        return graph

    @classmethod
    def preview(cls, channel: Any, config: Config, post: OutgoingPost) -> dict[str, Any]:
        """The Page post as Graph would get it (sends nothing; the token is not shown)."""
        form = {"message": post.text, **({"link": post.link} if post.link else {})}
        return {
            "network": cls.network,
            "text": post.text,
            "length": gtext.length(post.text, "facebook"),
            "limit": cls.max_length,
            "card": {"uri": post.link, "note": "Facebook builds the card from the page"}
            if post.link
            else None,
            "request": {
                "method": "POST",
                "url": f"{channel.base_url}/{channel.graph_version}/{channel.page_id}/feed",
                "form": form,
            },
        }

    # ------------------------------------------------------------------ the contract

    def limit(self) -> int:
        return self.max_length

    def publish(self, post: OutgoingPost) -> Receipt:
        fields = {"message": post.text}
        if post.link:
            fields["link"] = post.link
        result = self._call(lambda g: g.put_object(self.page_id, "feed", **fields), write=True)
        post_id = str(result.get("id") or "")
        if not post_id:
            raise UnknownOutcome("Facebook answered without a post id; reconcile before re-sending")
        return Receipt(
            remote_id=post_id,
            url=f"https://www.facebook.com/{post_id}",
            published_at=datetime.now(UTC),
        )

    def find_published(self, post: OutgoingPost) -> Receipt | None:
        """Look for ``post`` among the Page's recent posts (same message text)."""
        result = self._call(
            lambda g: g.get_connections(
                self.page_id, "posts", fields="message,link,created_time,permalink_url", limit=50
            ),
            write=False,
        )
        wanted = " ".join(post.text.split())
        for item in result.get("data") or []:
            if " ".join(str(item.get("message", "")).split()) == wanted:
                return Receipt(
                    remote_id=str(item["id"]),
                    url=item.get("permalink_url") or f"https://www.facebook.com/{item['id']}",
                    published_at=parse_time(item.get("created_time")),
                )
        return None

    def verify(self) -> str:
        """One cheap read (``GET /{page_id}?fields=name``): the Page's name."""
        result = self._call(lambda g: g.get_object(self.page_id, fields="name"), write=False)
        return str(result.get("name", "?"))

    # ------------------------------------------------------------------ calls and errors

    def _call(self, call: Any, *, write: bool) -> dict[str, Any]:
        THROTTLE.wait(self.network, self.session.base_url, self.interval)
        try:
            result = call(self.graph())
        except facebook.GraphAPIError as exc:
            raise self._translate(exc, write) from None
        except requests.RequestException as exc:
            raise translate(exc, network="Facebook", write=write, secrets=[self.token]) from None
        except (ValueError, KeyError, TypeError) as exc:  # an answer the SDK could not read
            raise unreadable("Facebook", exc, write=write) from None
        return result if isinstance(result, dict) else {}

    def _translate(self, exc: facebook.GraphAPIError, write: bool) -> ConnectorError:
        response = self.session.last_response
        status = response.status_code if response is not None else 0
        code = exc.code if isinstance(exc.code, int) else None
        message = exc.message if isinstance(exc.message, str) else ""
        words = scrub(message, [self.token])[:300] or f"HTTP {status}"
        if code is None and status:
            if status == 408:
                return request_timeout("Facebook", write=write)
            if status >= 500:
                kind = UnknownOutcome if write else Transient
                return kind(f"Facebook failed with HTTP {status} (not a Graph answer)")
            if status == 429:
                return RateLimited(
                    f"Facebook rate limit (HTTP {status})", reset_at=self._reset(response)
                )
        if code in RATE_CODES:
            return RateLimited(f"Facebook rate limit: {words}", reset_at=self._reset(response))
        if code in AUTH_CODES or (code is not None and 200 <= code <= 299):
            return AuthFailed(f"Facebook refused the Page token: {words}")
        if code == 506:
            return Duplicate(f"Facebook refused a duplicate post: {words}")
        if code == 368:
            return Rejected(f"Facebook blocked the post: {words}")
        if code in (1, 2) or status >= 500:
            kind = UnknownOutcome if write else Transient
            return kind(f"Facebook failed: {words}")
        return Rejected(f"Facebook refused the request: {words}")

    @staticmethod
    def _reset(response: requests.Response | None) -> datetime:
        """When the Page may post again: Graph's ``estimated_time_to_regain_access`` (minutes)."""
        now = datetime.now(UTC)
        minutes = 0
        if response is not None:
            for header in ("x-business-use-case-usage", "x-page-usage", "x-app-usage"):
                raw = response.headers.get(header)
                if not raw:
                    continue
                try:
                    usage = json.loads(raw)
                except ValueError:
                    continue
                minutes = max(minutes, _regain_minutes(usage))
        return now + (timedelta(minutes=minutes) if minutes else DEFAULT_WAIT)


def _regain_minutes(value: Any) -> int:
    if isinstance(value, dict):
        own = value.get("estimated_time_to_regain_access")
        found = int(own) if isinstance(own, int | float) else 0
        return max([found, *(_regain_minutes(v) for v in value.values())])
    if isinstance(value, list):
        return max([0, *(_regain_minutes(v) for v in value)])
    return 0


def setup(channel: Any, config: Config, io: Any, **options: Any) -> dict[str, str]:
    """The guided ``goodwill auth`` set-up (see ``goodwill.auth.facebook``): returns the values for
    the channel's credential fields, for the caller to store where their references point."""
    from goodwill.auth.facebook import credentials

    return credentials(channel, config, io, **options)
