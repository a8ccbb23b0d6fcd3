"""``goodwill auth CHANNEL``: guided set-up of a channel's credentials.

One module per network (``x``, ``facebook``, ``linkedin``), each with ``credentials(channel,
config, io) -> {field: value}`` (the values for the channel's credential fields; the connector
modules expose it as ``setup`` for the shared ``goodwill auth``). ``authorize`` saves them where
the channel's references point (``file:`` → that file, 0600; ``env:`` → a 0600 file in the
secrets folder and the line to load it): a token value is never printed.
"""

from __future__ import annotations

from typing import Any

from goodwill.auth.common import AuthIO, ConsoleIO, save_secret, secrets_dir

__all__ = ["FLOWS", "AuthIO", "ConsoleIO", "authorize", "save_secret", "secrets_dir"]

#: network -> module with ``credentials(channel, config, io, **options)``
FLOWS = {
    "x": "goodwill.auth.x",
    "facebook": "goodwill.auth.facebook",
    "linkedin": "goodwill.auth.linkedin",
}


def authorize(channel: Any, config: Any, io: AuthIO, **options: Any) -> list[str]:
    """Run the network's flow for ``channel`` and save what it got; returns what was saved."""
    from importlib import import_module

    from goodwill.errors import ConfigError

    module = FLOWS.get(channel.network)
    if module is None:
        raise ConfigError(f"{channel.name}: `goodwill auth` does not set up {channel.network} yet")
    values: dict[str, str] = import_module(module).credentials(channel, config, io, **options)
    return [save_secret(getattr(channel, field), value, field) for field, value in values.items()]
