"""An HTTP connector for ``tests.netserver`` (tests only), mapping errors as real connectors do.

Connection refused before anything was sent → ``Transient``; 5xx, a dropped connection or a
read timeout after sending → ``UnknownOutcome``; other 4xx → ``Rejected``. ``hook`` stops the
publisher at a point for the crash test: ``before`` (claimed, nothing sent), ``during`` (the
server holds the request), ``after`` (the server answered, nothing recorded yet).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any, ClassVar

from goodwill.config import Config
from goodwill.errors import Rejected, Transient, UnknownOutcome
from goodwill.models import OutgoingPost, Receipt

TIMEOUT = 30.0


class NetConnector:
    network: ClassVar[str] = "testnet"
    #: No idempotency keys (like X and Facebook) ...
    idempotency_window: ClassVar[timedelta | None] = None
    #: ... but an exact lookup: not found means never stored.
    lookup_is_authoritative: ClassVar[bool] = True

    def __init__(self, base_url: str, channel: str, hook: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.channel = channel
        self.hook = hook

    @classmethod
    def from_channel(cls, channel: Any, config: Config) -> NetConnector:
        return cls(os.environ["GOODWILL_TESTNET_URL"], channel.name)

    def limit(self) -> int:
        return 500

    def _hook(self, point: str, post: OutgoingPost) -> None:
        if self.hook == point:
            self._call("POST", "/hook", {"point": point, "post_id": post.post_id})

    def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None, hold: bool = False
    ) -> Any:
        req = urllib.request.Request(self.base_url + path, method=method)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            req.add_header("Content-Type", "application/json")
        if hold:
            req.add_header("X-Hold", "1")
        try:
            with urllib.request.urlopen(req, data=data, timeout=TIMEOUT) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            if exc.code >= 500:
                raise UnknownOutcome(f"testnet answered {exc.code}") from None
            raise Rejected(f"testnet refused: {exc.code}") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, ConnectionRefusedError):
                raise Transient("testnet: connection refused") from None
            raise UnknownOutcome(f"testnet: {exc.reason}") from None
        except OSError as exc:  # timeouts, resets: the request may have gone out
            raise UnknownOutcome(f"testnet: {type(exc).__name__}") from None

    def publish(self, post: OutgoingPost) -> Receipt:
        self._hook("before", post)
        answer = self._call(
            "POST",
            "/statuses",
            {"post_id": post.post_id, "text": post.text, "idempotency_key": post.idempotency_key},
            hold=self.hook == "during",
        )
        self._hook("after", post)
        return Receipt(remote_id=answer["id"], url=answer["url"])

    def find_published(self, post: OutgoingPost) -> Receipt | None:
        found = self._call("GET", f"/statuses?post_id={post.post_id}")
        return Receipt(remote_id=found[0]["id"], url=found[0]["url"]) if found else None
