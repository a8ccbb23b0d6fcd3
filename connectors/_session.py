"""A ``requests.Session`` for third-party SDKs whose API host is hard-wired.

tweepy's ``Client.request`` builds ``"https://api.twitter.com" + route`` and facebook-sdk uses the
module constant ``FACEBOOK_GRAPH_URL``: neither can be pointed elsewhere. Both accept (or expose)
the ``requests.Session`` they send through, so the session rewrites the SDK's origin to the
configured ``base_url`` (production, or a test server on 127.0.0.1), adds the timeout the SDKs
omit, and keeps the last response so errors can be translated from the real status and headers.
Transport failures are translated by the shared ``connectors._http``.
"""

from __future__ import annotations

import logging
from typing import Any

import requests

from ._http import DEFAULT_TIMEOUT, USER_AGENT

__all__ = ["RebasedSession", "quiet_third_party_loggers"]


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
        self.headers["User-Agent"] = USER_AGENT

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        target = url.decode() if isinstance(url, bytes) else str(url)
        if target.startswith(self.sdk_origin):
            target = self.base_url + target[len(self.sdk_origin) :]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        kwargs.setdefault("allow_redirects", False)
        self.last_response = None
        response = super().request(method, target, *args, **kwargs)
        self.last_response = response
        return response


def quiet_third_party_loggers() -> None:
    """At DEBUG, tweepy logs request headers (bearer tokens), urllib3 logs URLs (facebook-sdk's
    ``access_token=`` query) and requests-oauthlib logs whole tokens: keep them at WARNING."""
    for name in ("tweepy", "urllib3", "requests_oauthlib", "oauthlib", "facebook"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)
