"""Article pages read for attribution: one row per URL, so each page is read once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from goodwill.store.schema import pages

if TYPE_CHECKING:
    from goodwill.attribution import PageCredits, PageResult
    from goodwill.store import Store

__all__ = ["get_pages", "save_pages"]

_CHUNK = 500


def get_pages(store: Store, urls: Sequence[str]) -> dict[str, PageCredits | None]:
    """Cached pages among ``urls``: credits, or None for a page that could not be read."""
    from goodwill.attribution import PageCredits

    out: dict[str, PageCredits | None] = {}
    with store.begin() as conn:
        for i in range(0, len(urls), _CHUNK):
            rows = conn.execute(
                select(pages.c.url, pages.c.status, pages.c.credits).where(
                    pages.c.brand == store.brand, pages.c.url.in_(urls[i : i + _CHUNK])
                )
            )
            for url, status, credits in rows:
                out[url] = PageCredits.from_json(credits) if status == "ok" else None
    return out


def save_pages(store: Store, results: Iterable[PageResult], now: datetime) -> None:
    with store.begin() as conn:
        ins = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        for r in results:
            conn.execute(
                ins(pages)
                .values(
                    brand=store.brand,
                    url=r.url,
                    fetched_at=now,
                    status="ok" if r.credits is not None else "error",
                    credits=r.credits.to_json() if r.credits is not None else "{}",
                    error=r.error,
                )
                .on_conflict_do_nothing()
            )
