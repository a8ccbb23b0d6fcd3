"""Prefect Secret blocks for ``secret:BLOCK`` credential references (the core never imports
Prefect: ``goodwill auth`` comes here only when a channel names a ``secret:`` reference)."""

from __future__ import annotations

from typing import Any

__all__ = ["load_secret", "save_secret"]


def save_secret(name: str, value: str) -> None:
    """Create or overwrite the Secret block ``name`` (needs a Prefect API or the local server)."""
    from prefect.blocks.system import Secret
    from pydantic import SecretStr

    Secret(value=SecretStr(value)).save(name, overwrite=True)


def load_secret(name: str) -> str:
    from prefect.blocks.system import Secret

    block: Any = Secret.load(name)
    return str(block.get())
