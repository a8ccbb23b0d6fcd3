"""Per-source fetch state: conditional-GET validators and health."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, select

from goodwill.store.schema import sources

if TYPE_CHECKING:
    from goodwill.store import Store

__all__ = ["DEAD_AFTER", "DEAD_AFTER_FAILURES", "SourceState", "SourceStore"]

#: A source failing this many times in a row, and for this long, is reported dead.
DEAD_AFTER_FAILURES = 5
DEAD_AFTER = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class SourceState:
    name: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    last_fetched_at: datetime | None = None
    last_success_at: datetime | None = None
    last_status: str | None = None
    last_error: str | None = None
    failures: int = 0
    next_fetch_at: datetime | None = None
    moved_to: str | None = None  # where every redirect was permanent (301/308) last time
    body_hash: str | None = None  # digest of the last body read (see ``body_digest``)

    def health(self, now: datetime) -> str:
        """``ok``, ``failing`` (a few failures in a row) or ``dead`` (failing for a day or
        more, or never fetched successfully after repeated tries)."""
        if self.failures == 0:
            return "ok" if self.last_status is not None else "new"
        since = self.last_success_at
        if self.failures >= DEAD_AFTER_FAILURES and (since is None or now - since >= DEAD_AFTER):
            return "dead"
        return "failing"


class SourceStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    def all(self) -> dict[str, SourceState]:
        with self._store.begin() as conn:
            rows = conn.execute(
                select(sources).where(sources.c.brand == self._store.brand)
            ).mappings()
            return {
                r["name"]: SourceState(**{k: r[k] for k in SourceState.__slots__}) for r in rows
            }

    def save(self, states: list[SourceState]) -> None:
        """Write the fetch outcome of each source (insert or update by name)."""
        if not states:
            return
        brand = self._store.brand
        fields = SourceState.__slots__
        with self._store.begin() as conn:
            existing = set(conn.scalars(select(sources.c.name).where(sources.c.brand == brand)))
            updates = [
                {"b_brand": brand, "b_name": s.name, **{k: getattr(s, k) for k in fields}}
                for s in states
                if s.name in existing
            ]
            inserts = [
                {"brand": brand, **{k: getattr(s, k) for k in fields}}
                for s in states
                if s.name not in existing
            ]
            if updates:
                conn.execute(
                    sources.update()
                    .where(sources.c.brand == bindparam("b_brand"))
                    .where(sources.c.name == bindparam("b_name"))
                    .values({k: bindparam(k) for k in fields if k != "name"}),
                    updates,
                )
            if inserts:
                conn.execute(sources.insert(), inserts)
