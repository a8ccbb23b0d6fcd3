"""Network connectors: one module per network, all implementing ``goodwill.connector.Connector``.

Adding a network: one module here, one line in ``REGISTRY``, one test file. Besides the
contract, a connector class may offer (each optional, found by name):

- ``verify(self) -> str``: one cheap authenticated read (``goodwill check --online``);
- ``preview(cls, channel, config, post) -> dict``: the post exactly as it would be sent, without
  credentials and without sending (``goodwill publish --dry-run``, ``goodwill queue --preview``);
- ``quotas``: ``((posts, timedelta), ...)`` respected by publishing before the network refuses;
- a module-level ``setup(channel, config, io) -> dict[str, str]``: the guided ``goodwill auth``
  flow, returning the credentials to store, keyed by the channel's field names.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from goodwill import text
from goodwill.config import Config
from goodwill.connector import Connector
from goodwill.errors import ConfigError
from goodwill.models import OutgoingPost

__all__ = ["REGISTRY", "connector_class", "connector_for", "preview_for"]

#: network name -> "module:Class"
REGISTRY: dict[str, str] = {
    "outbox": "connectors.outbox:OutboxConnector",
    "mastodon": "connectors.mastodon:MastodonConnector",
    "bluesky": "connectors.bluesky:BlueskyConnector",
    "x": "connectors.x:XConnector",
    "facebook": "connectors.facebook:FacebookConnector",
    "linkedin": "connectors.linkedin:LinkedInConnector",
}


def connector_class(channel: Any) -> Any:
    """The connector class for a configured channel (nothing resolved, nothing sent)."""
    target = REGISTRY.get(channel.network)
    if target is None:
        known = ", ".join(sorted(REGISTRY))
        raise ConfigError(
            f"{channel.name}: publishing to {channel.network} is not available yet "
            f"(connectors: {known})"
        )
    module_name, _, class_name = target.partition(":")
    return getattr(import_module(module_name), class_name)


def connector_for(channel: Any, config: Config) -> Connector:
    """Build the connector for a configured channel (credentials resolved here, not earlier)."""
    connector: Connector = connector_class(channel).from_channel(channel, config)
    return connector


def preview_for(channel: Any, config: Config, post: OutgoingPost) -> dict[str, Any]:
    """``post`` as the channel's network would get it: final text, counted length against the
    limit, link card and (Bluesky) facets, plus the request body. Sends nothing."""
    try:
        cls = connector_class(channel)
    except ConfigError:
        cls = None
    if cls is not None and hasattr(cls, "preview"):
        shown: dict[str, Any] = cls.preview(channel, config, post)
        return shown
    style = channel.style
    return {
        "network": channel.network,
        "text": post.text,
        "length": text.length(post.text, style),
        "limit": text.limit(style),
        "counted_as": style,
        "card": _card(post),
    }


def _card(post: OutgoingPost) -> dict[str, str] | None:
    if not post.link:
        return None
    return {
        "uri": post.link,
        "title": post.card_title or "",
        "description": post.card_description or "",
    }
