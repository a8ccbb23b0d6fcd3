"""Article pages read for attribution: one row per URL, so each page is read once.

A page that could not be read (a timeout, a DNS blip, an HTTP error) is remembered for
:data:`RETRY_AFTER` only, then read again; a page read successfully is never read again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from goodwill.store.schema import pages

if TYPE_CHECKING:
    from goodwill.attribution import PageCredits, PageResult
    from goodwill.store import Store

__all__ = ["RETRY_AFTER", "get_pages", "save_pages"]

_CHUNK = 500

#: How long a failed read stands before the page is asked for again.
RETRY_AFTER = timedelta(hours=6)


def get_pages(
    store: Store, urls: Sequence[str], now: datetime | None = None
) -> dict[str, PageCredits | None]:
    """Cached pages among ``urls``: credits, or None for a page that could not be read.

    Given ``now``, a failure older than :data:`RETRY_AFTER` is left out (the page is due again).
    """
    from goodwill.attribution import PageCredits

    out: dict[str, PageCredits | None] = {}
    with store.begin() as conn:
        for i in range(0, len(urls), _CHUNK):
            rows = conn.execute(
                select(pages.c.url, pages.c.status, pages.c.credits, pages.c.fetched_at).where(
                    pages.c.brand == store.brand, pages.c.url.in_(urls[i : i + _CHUNK])
                )
            )
            for url, status, credits, fetched_at in rows:
                if status == "ok":
                    out[url] = PageCredits.from_json(credits)
                elif now is None or fetched_at > now - RETRY_AFTER:
                    out[url] = None
    return out


def save_pages(store: Store, results: Iterable[PageResult], now: datetime) -> None:
    """Record each read; a new read replaces an earlier failure, never an earlier success."""
    with store.begin() as conn:
        ins = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        for r in results:
            row = {
                "fetched_at": now,
                "status": "ok" if r.credits is not None else "error",
                "credits": r.credits.to_json() if r.credits is not None else "{}",
                "error": r.error,
            }
            conn.execute(
                ins(pages)
                .values(brand=store.brand, url=r.url, **row)
                .on_conflict_do_update(
                    index_elements=[pages.c.brand, pages.c.url],
                    set_=row,
                    where=pages.c.status == "error",
                )
            )
