"""``goodwill auth CHANNEL``: guided set-up of a channel's credentials.

Each connector module that can be set up has ``setup(channel, config, io, **options) ->
{field: value}`` (the values for the channel's credential fields; X, Facebook and LinkedIn
delegate to ``credentials`` in this package's module of that name). ``authorize`` runs it and
saves the values where the channel's references point (``file:`` → that file, 0600; ``env:`` →
a 0600 file in the secrets folder and the line to load it; the CLI also writes ``secret:``
Prefect blocks): a token value is never printed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from goodwill.auth.common import AuthIO, save_secret, secrets_dir

__all__ = ["AuthIO", "authorize", "save_secret", "secrets_dir"]

#: ``save(reference, value, field)``: stores one credential, returns a line for the owner.
Save = Callable[[Any, str, str], str]


def authorize(
    channel: Any, config: Any, io: AuthIO, *, save: Save = save_secret, **options: Any
) -> list[str]:
    """Run the guided set-up of ``channel``'s network (its connector module's ``setup``) and
    store each value with ``save``; returns ``save``'s lines (never a value)."""
    from importlib import import_module

    from connectors import connector_class
    from goodwill.errors import ConfigError

    setup = getattr(import_module(connector_class(channel).__module__), "setup", None)
    if setup is None:
        raise ConfigError(f"{channel.name}: `goodwill auth` does not set up {channel.network} yet")
    values: dict[str, str] = setup(channel, config, io, **options)
    return [save(getattr(channel, field), value, field) for field, value in values.items()]
