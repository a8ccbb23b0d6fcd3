"""Where credentials and connector state live outside the repo, written with 0600 permissions.

- ``state_dir()``: ``$GOODWILL_STATE_DIR``, else ``$XDG_STATE_HOME/goodwill``, else
  ``~/.local/state/goodwill``: sessions (Bluesky) and other state a connector must keep.
- ``secrets_dir()``: ``$GOODWILL_SECRETS_DIR``, else ``~/.config/goodwill/secrets``: where
  ``goodwill auth`` writes tokens the owner chose to keep in files (``file:`` references).
- ``write_private(path, text)``: atomic write, file 0600, parent folder 0700.

Nothing here logs or returns a secret's value in a message.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["secrets_dir", "state_dir", "write_private"]


def state_dir() -> Path:
    env = os.environ.get("GOODWILL_STATE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "state"
    return base / "goodwill"


def secrets_dir() -> Path:
    env = os.environ.get("GOODWILL_SECRETS_DIR")
    return Path(env).expanduser() if env else Path.home() / ".config" / "goodwill" / "secrets"


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically; only the owner can read it (0600, folder 0700)."""
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
