"""A ``requests.Session`` for third-party SDKs whose API host is hard-wired.

tweepy's ``Client.request`` builds ``"https://api.twitter.com" + route`` and facebook-sdk uses the
module constant ``FACEBOOK_GRAPH_URL``: neither can be pointed elsewhere. Both accept (or expose)
the ``requests.Session`` they send through, so the session rewrites the SDK's origin to the
configured ``base_url`` (production, or a test server on 127.0.0.1), adds a timeout the SDKs
omit, and keeps the last response so errors can be translated from the real status and headers.

Also: ``scrub`` removes secrets from any text before it reaches a message or a log.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import requests

__all__ = ["RebasedSession", "quiet_third_party_loggers", "request_was_sent", "scrub"]

DEFAULT_TIMEOUT = (10.0, 30.0)  # connect, read (seconds)


class RebasedSession(requests.Session):
    """Sends requests meant for ``sdk_origin`` to ``base_url`` instead."""

    def __init__(
        self,
        sdk_origin: str,
        base_url: str,
        *,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__()
        self.sdk_origin = sdk_origin.rstrip("/")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.last_response: requests.Response | None = None
        self.trust_env = False  # no proxies or .netrc credentials picked up behind our back

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        target = url.decode() if isinstance(url, bytes) else url
        if target.startswith(self.sdk_origin):
            target = self.base_url + target[len(self.sdk_origin) :]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        self.last_response = None
        response = super().request(method, target, *args, **kwargs)
        self.last_response = response
        return response


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret (and any ``access_token=`` query value) replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return re.sub(r"(access_token=)[^&\s'\"]+", r"\1***", text)


def request_was_sent(exc: BaseException) -> bool:
    """Whether a ``requests`` failure may have happened after the request reached the server.

    Connection refused, DNS failures and connect timeouts happen before anything is sent; a read
    timeout or a connection dropped mid-answer may follow a request the server acted on.
    """
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return False
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = exc.args[0] if exc.args else None
        inner = getattr(reason, "reason", reason)
        from urllib3.exceptions import NameResolutionError, NewConnectionError

        return not isinstance(inner, NewConnectionError | NameResolutionError)
    return True


def quiet_third_party_loggers() -> None:
    """At DEBUG, tweepy logs request headers (bearer tokens), urllib3 logs URLs (facebook-sdk's
    ``access_token=`` query) and requests-oauthlib logs whole tokens: keep them at WARNING."""
    import logging

    for name in ("tweepy", "urllib3", "requests_oauthlib", "oauthlib", "facebook"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)
