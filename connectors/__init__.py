"""Network connectors: one module per network, all implementing ``goodwill.connector.Connector``.

Adding a network: one module here, one line in ``REGISTRY``, one test file.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from goodwill.config import Config
from goodwill.connector import Connector
from goodwill.errors import ConfigError

__all__ = ["REGISTRY", "connector_for"]

#: network name -> "module:Class"
REGISTRY: dict[str, str] = {
    "outbox": "connectors.outbox:OutboxConnector",
    "x": "connectors.x:XConnector",
    "facebook": "connectors.facebook:FacebookConnector",
    "linkedin": "connectors.linkedin:LinkedInConnector",
}


def connector_for(channel: Any, config: Config) -> Connector:
    """Build the connector for a configured channel (credentials resolved here, not earlier)."""
    target = REGISTRY.get(channel.network)
    if target is None:
        known = ", ".join(sorted(REGISTRY))
        raise ConfigError(
            f"{channel.name}: publishing to {channel.network} is not available yet "
            f"(connectors: {known})"
        )
    module_name, _, class_name = target.partition(":")
    cls = getattr(import_module(module_name), class_name)
    connector: Connector = cls.from_channel(channel, config)
    return connector
