"""The contract every network connector implements (see ``connectors/``)."""

from __future__ import annotations

from typing import ClassVar, Protocol, runtime_checkable

from goodwill.models import OutgoingPost, Receipt

__all__ = ["Connector"]


@runtime_checkable
class Connector(Protocol):
    """One channel's way out to its network.

    Limits are class attributes so the drafter can fit text before anything is sent.

    Optional (looked up by name, see ``connectors/__init__.py``): ``verify() -> str``, one cheap
    authenticated read for ``goodwill check --online``; ``preview(channel, config, post)``;
    ``quotas``, the network's posting allowances respected before it refuses.

    Reconciliation (``goodwill.reconcile``) also reads two optional class attributes:
    ``idempotency_window: ClassVar[timedelta | None]`` (how long the network drops a repeat of
    ``OutgoingPost.idempotency_key``, e.g. one hour on Mastodon; default ``None``: no keys) and
    ``lookup_is_authoritative: ClassVar[bool]`` (``find_published`` returning ``None`` proves the
    post is not there, e.g. Bluesky reading the stored record key; default ``False``). Keep every
    request's timeout well under ``goodwill.publishing.LEASE`` (10 minutes).
    """

    network: ClassVar[str]

    def limit(self) -> int:
        """The channel's text limit, in the units of ``goodwill.text.length``."""
        ...

    def publish(self, post: OutgoingPost) -> Receipt:
        """Send one post.

        Raises ``Transient`` (nothing was accepted; retry), ``RateLimited`` (retry at
        ``reset_at``), ``AuthFailed`` (pause the channel), ``Rejected`` (permanent) or
        ``UnknownOutcome`` (the request went out and no answer came: reconcile).
        """
        ...

    def find_published(self, post: OutgoingPost) -> Receipt | None:
        """Look on the network for ``post`` (after an unknown outcome); ``None`` if absent.

        Raises the same errors as ``publish``.
        """
        ...
