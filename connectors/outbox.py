"""The ``outbox`` network: posts appended to a local JSON Lines file (default and dry run)."""

from __future__ import annotations

import fcntl
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from goodwill import text
from goodwill.config import Config
from goodwill.errors import Transient, UnknownOutcome
from goodwill.models import OutgoingPost, Receipt

__all__ = ["OutboxConnector"]


class OutboxConnector:
    """Appends one JSON object per published post; safe with several publishers at once."""

    network: ClassVar[str] = "outbox"
    max_length: ClassVar[int] = text.limit("facebook")
    #: The file is ours, written under a lock and fsynced: a post not in it was never written,
    #: so reconciliation may re-send it rather than ask the owner.
    lookup_is_authoritative: ClassVar[bool] = True

    def __init__(self, path: Path, channel: str, tz: Any = UTC) -> None:
        self.path = path
        self.channel = channel
        self.tz = tz

    @classmethod
    def from_channel(cls, channel: Any, config: Config) -> OutboxConnector:
        return cls(config.resolve_path(channel.path), channel.name, config.channel_tz(channel))

    def limit(self) -> int:
        return self.max_length

    def publish(self, post: OutgoingPost) -> Receipt:
        now = datetime.now(self.tz)
        record = {
            "post_id": post.post_id,
            "channel": post.channel,
            "network": self.network,
            "category": post.category,
            "kind": str(post.kind),
            "text": post.text,
            "link": post.link,
            "credit": post.credit,
            "published_at": now.isoformat(timespec="seconds"),
        }
        line = json.dumps(record, ensure_ascii=False) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            # Nothing was written: safe to retry later.
            raise Transient(f"cannot open outbox {self.path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        except OSError as exc:
            raise UnknownOutcome(f"writing outbox {self.path} failed: {exc.strerror}") from None
        finally:
            os.close(fd)
        return Receipt(remote_id=f"outbox:{post.post_id}", url=None, published_at=now)

    def find_published(self, post: OutgoingPost) -> Receipt | None:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise Transient(f"cannot read outbox {self.path}: {reason}") from None
        for raw in reversed(lines):
            try:
                record = json.loads(raw)
            except ValueError:
                continue  # a torn last line from a crash
            if record.get("post_id") == post.post_id and record.get("channel") == post.channel:
                return Receipt(
                    f"outbox:{post.post_id}", None, datetime.fromisoformat(record["published_at"])
                )
        return None
