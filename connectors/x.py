"""X (Twitter) through tweepy's ``Client.create_tweet`` (API v2).

Two ways to sign in (``channels.yaml``):

- OAuth 1.0a user context: ``api_key``, ``api_secret``, ``access_token``,
  ``access_token_secret`` (each a reference); requests are signed HMAC-SHA1.
- OAuth 2.0 PKCE: ``client_id`` (+ ``client_secret`` for confidential apps) and
  ``oauth2_token: file:/path``, a JSON token with the ``offline.access`` refresh token. Access
  tokens last two hours; they are refreshed through requests-oauthlib and written back.

tweepy's host is hard-wired to ``https://api.twitter.com``; a ``RebasedSession`` sends its
requests to ``base_url`` instead (``https://api.x.com``, or a test server). ``wait_on_rate_limit``
is never used: a 429 becomes ``RateLimited(reset_at)`` from ``x-rate-limit-reset``. Nothing above
this module sees a tweepy or requests exception.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypeVar

import requests
import tweepy

from goodwill import text as gtext
from goodwill.config import Config
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

from ._http import (
    THROTTLE,
    parse_reset,
    parse_time,
    request_timeout,
    scrub,
    translate,
    unreadable,
)
from ._oauth2 import TokenFile
from ._session import RebasedSession, quiet_third_party_loggers

__all__ = ["XConnector"]

TWEEPY_ORIGIN = "https://api.twitter.com"
T = TypeVar("T")

quiet_third_party_loggers()


class XConnector:
    """Posts to one X account."""

    network: ClassVar[str] = "x"
    max_length: ClassVar[int] = gtext.limit("x")
    #: (posts, window) never to exceed, checked by the publisher before it claims a post: X's
    #: POST /2/tweets limit (100 per 15 minutes per user) and the daily posting cap (2,400).
    quotas: ClassVar[tuple[tuple[int, timedelta], ...]] = (
        (100, timedelta(minutes=15)),
        (2400, timedelta(days=1)),
    )
    #: Seconds between calls (the shared throttle; tests switch it off).
    interval: ClassVar[float] = 1.0

    def __init__(
        self,
        *,
        base_url: str = "https://api.x.com",
        oauth1: tuple[str, str, str, str] | None = None,
        oauth2: TokenFile | None = None,
        channel: str = "x",
        timeout: float | tuple[float, float] | None = None,
    ) -> None:
        if (oauth1 is None) == (oauth2 is None):
            raise ConfigError(f"{channel}: X needs OAuth 1.0a keys or an OAuth 2.0 token file")
        self.base_url = base_url.rstrip("/")
        self.oauth1 = oauth1
        self.oauth2 = oauth2
        self.channel = channel
        self._user_id: str | None = None
        self._secrets: list[str] = list(oauth1 or ())
        self.session = (
            RebasedSession(TWEEPY_ORIGIN, self.base_url, timeout=timeout)
            if timeout
            else RebasedSession(TWEEPY_ORIGIN, self.base_url)
        )

    @classmethod
    def from_channel(cls, channel: Any, config: Config) -> XConnector:
        if channel.oauth2_token is not None:
            secret = (
                channel.client_secret.resolve().get_secret_value()
                if channel.client_secret
                else None
            )
            tokens = TokenFile(
                channel.oauth2_token,
                token_url=f"{channel.base_url}/2/oauth2/token",
                client_id=channel.client_id,
                client_secret=secret,
                what=f"{channel.name} OAuth 2.0 token",
            )
            tokens.load()  # a missing or empty token file is a config problem, said now
            return cls(base_url=channel.base_url, oauth2=tokens, channel=channel.name)
        keys = tuple(
            ref.resolve().get_secret_value()
            for ref in (
                channel.api_key,
                channel.api_secret,
                channel.access_token,
                channel.access_token_secret,
            )
        )
        return cls(
            base_url=channel.base_url,
            oauth1=(keys[0], keys[1], keys[2], keys[3]),
            channel=channel.name,
        )

    @classmethod
    def preview(cls, channel: Any, config: Config, post: OutgoingPost) -> dict[str, Any]:
        """The post as X would get it, with its estimated price (sends nothing)."""
        from goodwill.budget import post_cost

        return {
            "network": cls.network,
            "text": post.text,
            "length": gtext.length(post.text, "x"),
            "limit": cls.max_length,
            "card": {"uri": post.link, "note": "X builds the card from the page"}
            if post.link
            else None,
            "cost": post_cost(config, channel, post.text, post.link),
            "request": {
                "method": "POST",
                "url": f"{channel.base_url}/2/tweets",
                "json": {"text": post.text},
            },
        }

    # ------------------------------------------------------------------ the contract

    def limit(self) -> int:
        return self.max_length

    def publish(self, post: OutgoingPost) -> Receipt:
        data = self._call(
            lambda c, user: c.create_tweet(text=post.text, user_auth=user), write=True
        )
        tweet = data.get("data") or {}
        tweet_id = str(tweet.get("id") or "")
        if not tweet_id:
            raise UnknownOutcome("X answered without a post id; reconcile before re-sending")
        return Receipt(
            remote_id=tweet_id,
            url=f"https://x.com/i/web/status/{tweet_id}",
            published_at=datetime.now(UTC),
        )

    def find_published(self, post: OutgoingPost) -> Receipt | None:
        """Look for ``post`` among the account's recent posts (URLs come back as t.co links)."""
        user_id = self.user_id()
        data = self._call(
            lambda c, user: c.get_users_tweets(
                user_id,
                max_results=50,
                tweet_fields=["created_at", "entities"],
                user_auth=user,
            ),
            write=False,
        )
        wanted = _comparable(post.text)
        for tweet in data.get("data") or []:
            if _comparable(str(tweet.get("text", ""))) == wanted:
                tweet_id = str(tweet["id"])
                return Receipt(
                    remote_id=tweet_id,
                    url=f"https://x.com/i/web/status/{tweet_id}",
                    published_at=parse_time(tweet.get("created_at")),
                )
        return None

    def verify(self) -> str:
        """One cheap read (``GET /2/users/me``): the account's @username."""
        data = self._call(lambda c, user: c.get_me(user_auth=user), write=False)
        me = data.get("data") or {}
        self._user_id = str(me.get("id") or "") or None
        return f"@{me.get('username', '?')}"

    def user_id(self) -> str:
        if self._user_id is None:
            self.verify()
        if self._user_id is None:
            raise UnknownOutcome("X did not say which account the credentials belong to")
        return self._user_id

    # ------------------------------------------------------------------ calls and errors

    def _client(self, force_refresh: bool = False) -> tuple[tweepy.Client, bool]:
        """A tweepy client on our session, and whether calls use OAuth 1.0a (``user_auth``)."""
        if self.oauth1 is not None:
            key, secret, token, token_secret = self.oauth1
            client = tweepy.Client(
                consumer_key=key,
                consumer_secret=secret,
                access_token=token,
                access_token_secret=token_secret,
                return_type=dict,
                wait_on_rate_limit=False,
            )
            user_auth = True
        else:
            assert self.oauth2 is not None
            access = self.oauth2.access_token(force_refresh=force_refresh)
            if access not in self._secrets:  # scrubbed from messages; kept once
                self._secrets.append(access)
            # tweepy sends a user-context OAuth 2.0 token as the bearer with user_auth=False.
            client = tweepy.Client(bearer_token=access, return_type=dict, wait_on_rate_limit=False)
            user_auth = False
        client.session = self.session
        return client, user_auth

    def _call(self, call: Callable[[tweepy.Client, bool], T], *, write: bool) -> dict[str, Any]:
        THROTTLE.wait(self.network, self.base_url, self.interval)
        try:
            client, user_auth = self._client()
        except ConfigError as exc:  # the token file vanished since start-up
            raise AuthFailed(exc.message) from None
        try:
            try:
                result = call(client, user_auth)
            except tweepy.Unauthorized:
                if self.oauth2 is None:
                    raise
                # Nothing was accepted: refresh the access token once and try again.
                client, user_auth = self._client(force_refresh=True)
                result = call(client, user_auth)
        except tweepy.HTTPException as exc:
            raise self._translate(exc, write) from None
        except requests.RequestException as exc:
            raise translate(exc, network="X", write=write, secrets=self._secrets) from None
        except ConnectorError:
            raise
        except (ValueError, KeyError, TypeError) as exc:  # an answer tweepy could not read
            raise unreadable("X", exc, write=write) from None
        return result if isinstance(result, dict) else {}

    def _translate(self, exc: tweepy.HTTPException, write: bool) -> ConnectorError:
        response = exc.response
        status = int(getattr(response, "status_code", 0) or 0)
        words = (
            "; ".join(str(m) for m in exc.api_messages) or _problem(response) or f"HTTP {status}"
        )
        words = scrub(words, self._secrets)[:300]
        if isinstance(exc, tweepy.TooManyRequests):
            reset_at = parse_reset(response.headers.get("x-rate-limit-reset"))  # epoch seconds
            return RateLimited(f"X rate limit: {words}", reset_at=reset_at)
        if isinstance(exc, tweepy.Unauthorized):
            return AuthFailed(f"X refused the credentials: {words}")
        if isinstance(exc, tweepy.Forbidden):
            if "duplicate" in words.lower():
                return Duplicate(f"X refused a duplicate post: {words}")
            if (
                re.search(
                    r"oauth1 app permissions|not permitted to use|client-not-enrolled|"
                    r"access level|suspended",
                    words,
                    re.IGNORECASE,
                )
                or 453 in exc.api_codes
            ):
                return AuthFailed(f"X refused the app or account: {words}")
            return Rejected(f"X refused the post: {words}")
        if isinstance(exc, tweepy.BadRequest | tweepy.NotFound):
            return Rejected(f"X refused the request: {words}")
        if isinstance(exc, tweepy.TwitterServerError):
            if write:
                return UnknownOutcome(f"X failed with HTTP {status}; reconcile before re-sending")
            return Transient(f"X failed with HTTP {status}")  # a read changed nothing
        if status == 408:
            return request_timeout("X", write=write)
        return Rejected(f"X answered HTTP {status}: {words}")


def _problem(response: Any) -> str:
    """The words of an API v2 problem body (``{"title", "detail", "type"}``), which tweepy skips."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    return str(body.get("detail") or body.get("title") or "")


_URL = re.compile(r"https?://\S+")


def _comparable(value: str) -> str:
    """Text as X stores it, for matching: HTML entities decoded, links (t.co) blanked."""
    flat = _URL.sub("<url>", html.unescape(value))
    return " ".join(flat.split())


def setup(channel: Any, config: Config, io: Any, **options: Any) -> dict[str, str]:
    """The guided ``goodwill auth`` set-up (see ``goodwill.auth.x``): returns the values for
    the channel's credential fields, for the caller to store where their references point."""
    from goodwill.auth.x import credentials

    return credentials(channel, config, io, **options)
