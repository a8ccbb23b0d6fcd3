"""``goodwill auth CHANNEL``: guided set-up of a channel's credentials.

One module per network (``x``, ``facebook``, ``linkedin``), each with ``authorize(channel,
config, io)``. Tokens are written where the channel's references point (``file:`` → that file,
0600) or, for ``env:`` references, to a 0600 file in the secrets folder with the line to load it:
a token value is never printed.
"""

from __future__ import annotations

from typing import Any

from goodwill.auth.common import AuthIO, ConsoleIO, save_secret, secrets_dir

__all__ = ["FLOWS", "AuthIO", "ConsoleIO", "authorize", "save_secret", "secrets_dir"]

#: network -> module with ``authorize(channel, config, io)``
FLOWS = {
    "x": "goodwill.auth.x",
    "facebook": "goodwill.auth.facebook",
    "linkedin": "goodwill.auth.linkedin",
}


def authorize(channel: Any, config: Any, io: AuthIO, **options: Any) -> list[str]:
    """Run the network's flow for ``channel``; returns what was saved (no secret values)."""
    from importlib import import_module

    from goodwill.errors import ConfigError

    module = FLOWS.get(channel.network)
    if module is None:
        raise ConfigError(f"{channel.name}: `goodwill auth` does not set up {channel.network} yet")
    lines: list[str] = import_module(module).authorize(channel, config, io, **options)
    return lines
