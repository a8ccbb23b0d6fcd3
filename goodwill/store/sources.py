"""Per-source fetch state: conditional-GET validators and health."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from goodwill.store.schema import sources

if TYPE_CHECKING:
    from goodwill.store import Store

__all__ = ["SourceState", "SourceStore"]


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
        with self._store.begin() as conn:
            existing = {
                name: id_
                for id_, name in conn.execute(
                    select(sources.c.id, sources.c.name).where(sources.c.brand == brand)
                )
            }
            for state in states:
                values = {k: getattr(state, k) for k in SourceState.__slots__}
                if state.name in existing:
                    conn.execute(
                        sources.update()
                        .where(sources.c.id == existing[state.name])
                        .values(**values)
                    )
                else:
                    conn.execute(sources.insert().values(brand=brand, **values))
