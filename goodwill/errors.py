"""Goodwill's exceptions: one root, a small tree, each with a default message.

    GoodwillError
    ├── ConfigError (ValueError)         invalid config; carries FILE:LINE: key.path: message lines
    ├── StoreError (RuntimeError)        the database cannot be opened, migrated or written
    ├── NotFound (LookupError)           an id that names nothing (post, item, channel)
    ├── SourceError                      one feed could not be used; the others go on
    │   ├── FetchError                   network, HTTP status, size cap, redirects, deadline
    │   └── ParseError                   the body is not a feed we can read
    ├── DraftError (ValueError)          a draft cannot be made, e.g. it cannot fit the network
    └── ConnectorError                   raised by connectors only, translated at their boundary
        ├── Transient                    nothing was accepted (e.g. connection refused): retry
        ├── RateLimited                  retry at ``reset_at``
        ├── AuthFailed                   pause the channel, keep the posts
        ├── Rejected                     permanent: duplicate, too long, forbidden content
        │   └── Duplicate                the network already has it (``existing_id`` if named)
        └── UnknownOutcome               sent, no answer: reconcile, never blind-retry

Nothing above a connector catches a third-party exception: connectors translate them here.
"""

from __future__ import annotations

from datetime import datetime

__all__ = [
    "AuthFailed",
    "ConfigError",
    "ConnectorError",
    "DraftError",
    "Duplicate",
    "FetchError",
    "GoodwillError",
    "NotFound",
    "ParseError",
    "RateLimited",
    "Rejected",
    "SourceError",
    "StoreError",
    "Transient",
    "UnknownOutcome",
]


class GoodwillError(Exception):
    """Root of every error Goodwill raises on purpose."""

    default_message = "Goodwill failed"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.default_message


class ConfigError(GoodwillError, ValueError):
    """The config is invalid. ``errors`` holds one ``FILE:LINE: key.path: message`` per problem."""

    default_message = "invalid config"

    def __init__(self, errors: list[str] | str) -> None:
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("\n".join(self.errors) or self.default_message)


class StoreError(GoodwillError, RuntimeError):
    default_message = "the store could not be used"


class NotFound(GoodwillError, LookupError):
    default_message = "not found"


class SourceError(GoodwillError):
    default_message = "the source could not be read"


class FetchError(SourceError):
    """``retry_at``: when the server said to come back (``Retry-After``, HTTP 429/503).
    ``deferred``: not sent at all, because the host had already asked this run to wait."""

    default_message = "the feed could not be fetched"

    def __init__(
        self,
        message: str | None = None,
        *,
        retry_at: datetime | None = None,
        deferred: bool = False,
    ) -> None:
        super().__init__(message)
        self.retry_at = retry_at
        self.deferred = deferred


class ParseError(SourceError):
    default_message = "the feed could not be parsed"


class DraftError(GoodwillError, ValueError):
    default_message = "the draft could not be made"


class ConnectorError(GoodwillError):
    """Raised by a connector; the message is safe to show (never holds a secret)."""

    default_message = "the network refused the post"


class Transient(ConnectorError):
    """A failure known to have happened before the network accepted anything: safe to retry."""

    default_message = "temporary network failure"


class RateLimited(ConnectorError):
    default_message = "rate limited by the network"

    def __init__(self, message: str | None = None, *, reset_at: datetime | None = None) -> None:
        super().__init__(message)
        self.reset_at = reset_at


class AuthFailed(ConnectorError):
    default_message = "the network rejected the credentials"


class Rejected(ConnectorError):
    default_message = "the network rejected the post"


class Duplicate(Rejected):
    """The network refused the post as a duplicate; ``existing_id`` names the post it already has
    when the network says (LinkedIn does), so reconciliation can record it as published."""

    default_message = "the network already has this post"

    def __init__(self, message: str | None = None, *, existing_id: str | None = None) -> None:
        super().__init__(message)
        self.existing_id = existing_id


class UnknownOutcome(ConnectorError):
    default_message = "the request was sent but no answer came back"
