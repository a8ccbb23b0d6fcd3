"""News items: stored once per canonical URL, with same-story duplicates linked to the earliest."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import Connection, bindparam, func, select

from goodwill.html import summary_text
from goodwill.models import Item
from goodwill.store.schema import item_age, items

if TYPE_CHECKING:
    from goodwill.store import Store

__all__ = ["ItemStore", "NewItem", "StoredTitle"]

_CHUNK = 500  # well under SQLite's bound-parameter limit


class NewItem(NamedTuple):
    """An item to store. A named tuple, not a frozen dataclass: ingest makes one per parsed
    entry in the process that also stores and links them, and a tuple is made in C
    (``NewItem._make``) where a frozen dataclass's ``__init__`` sets each field in Python."""

    url: str
    title: str
    title_key: str
    source: str
    author: str | None
    summary_html: str  # as ``goodwill.html.summary_html`` keeps it: made text when read
    published_at: datetime | None


@dataclass(frozen=True, slots=True)
class StoredTitle:
    """What same-story detection needs of an item already stored."""

    id: int
    title_key: str
    source: str
    published_at: datetime | None
    fetched_at: datetime
    duplicate_of: int | None
    drafted: bool


def _item(row: Any) -> Item:
    return Item(
        id=row.id,
        url=row.url,
        title=row.title,
        source=row.source,
        author=row.author,
        summary=summary_text(row.summary_html),
        published_at=row.published_at,
        fetched_at=row.fetched_at,
        duplicate_of=row.duplicate_of,
    )


_INSERT_COLUMNS = (
    "brand, url, title, title_key, source, author, summary_html, published_at, fetched_at"
)


def _insert(
    conn: Connection,
    brand: str,
    rows: Sequence[NewItem],
    fetched_at: datetime,
    or_ignore: bool = False,
) -> None:
    """One driver-level executemany: SQLAlchemy's per-value type processing was most of the
    cost of storing 50,000 items. Dates are stored exactly as ``UTCDateTime`` stores them.
    ``or_ignore`` (SQLite): a row whose URL is stored already is skipped, not an error."""
    dialect = conn.dialect.name
    stamp: Callable[[datetime], object]
    if dialect == "sqlite":
        marks, stamp = "?", _sqlite_stamp
    elif dialect == "postgresql":
        marks, stamp = "%s", _utc
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        conn.execute(
            items.insert(),
            [
                {
                    "brand": brand,
                    "url": n.url,
                    "title": n.title,
                    "title_key": n.title_key,
                    "source": n.source,
                    "author": n.author,
                    "summary_html": n.summary_html,
                    "published_at": n.published_at,
                    "fetched_at": fetched_at,
                }
                for n in rows
            ],
        )
        return
    fetched = stamp(fetched_at)
    verb = "INSERT OR IGNORE" if or_ignore else "INSERT"
    conn.exec_driver_sql(
        f"{verb} INTO items ({_INSERT_COLUMNS}) VALUES ({', '.join([marks] * 9)})",
        [
            (
                brand,
                n.url,
                n.title,
                n.title_key,
                n.source,
                n.author,
                n.summary_html,
                stamp(n.published_at) if n.published_at is not None else None,
                fetched,
            )
            for n in rows
        ],
    )


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store; use aware UTC")
    return value.astimezone(UTC)


def _sqlite_stamp(value: datetime) -> str:
    # SQLAlchemy's SQLite DATETIME format ("%Y-%m-%d %H:%M:%S.%f"), for the naive UTC value
    # UTCDateTime binds; isoformat writes the same for years 1000-9999, twice as fast.
    if value.tzinfo is not UTC:
        value = _utc(value)
    return value.isoformat(" ", "microseconds")[:26]  # without its "+00:00"


def _add_sqlite(
    conn: Connection, brand: str, new: Sequence[NewItem], fetched_at: datetime
) -> dict[str, int] | None:
    """SQLite's fast path: one ``INSERT OR IGNORE`` for all rows, then the new ids: counted on
    from the largest id before when every row went in, else read back as the rows past it
    (``BEGIN IMMEDIATE`` holds the write lock, so no other writer adds rows meanwhile).
    ``None``, with nothing inserted, if the count read back is not the count inserted (SQLite
    reuses rowids past 2**63): the caller's general path is exact."""
    raw = conn.connection.driver_connection
    assert raw is not None
    before = conn.exec_driver_sql("SELECT max(id) FROM items").scalar() or 0
    conn.exec_driver_sql("SAVEPOINT items_add")
    changes = raw.total_changes
    _insert(conn, brand, new, fetched_at, or_ignore=True)  # the first of a URL twice wins
    inserted = raw.total_changes - changes
    if inserted == len(new):
        # Every row went in, in order, each taking the next rowid: the ids are known once the
        # largest is where that puts it (reading 50,000 URLs back cost a tenth of the insert).
        top = conn.exec_driver_sql("SELECT max(id) FROM items").scalar()
        if top == before + inserted:
            conn.exec_driver_sql("RELEASE items_add")
            return {n.url: before + i for i, n in enumerate(new, start=1)}
    found: dict[str, int] = dict(
        conn.exec_driver_sql(
            "SELECT url, id FROM items WHERE id > ? AND brand = ?", (before, brand)
        ).all()
    )
    if len(found) != inserted:
        conn.exec_driver_sql("ROLLBACK TO items_add")
        conn.exec_driver_sql("RELEASE items_add")
        return None
    conn.exec_driver_sql("RELEASE items_add")
    return found


class ItemStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    def add(self, new: Sequence[NewItem], fetched_at: datetime) -> dict[str, int]:
        """Insert items whose URL is not stored yet (the first of a URL given twice); return
        {url: id} of those inserted.

        One transaction. On SQLite, one ``INSERT OR IGNORE`` and one read of the new rows (see
        ``_add_sqlite``); otherwise, per chunk of 500, one ``SELECT`` of the URLs already
        present, one ``executemany`` insert and one ``SELECT`` of the new ids.
        """
        if not new:
            return {}
        brand = self._store.brand
        inserted: dict[str, int] = {}
        with self._store.begin() as conn:
            if conn.dialect.name == "sqlite":
                found = _add_sqlite(conn, brand, new, fetched_at)
                if found is not None:
                    return found
            for i in range(0, len(new), _CHUNK):
                chunk = new[i : i + _CHUNK]
                present = set(
                    conn.scalars(
                        select(items.c.url).where(
                            items.c.brand == brand, items.c.url.in_([n.url for n in chunk])
                        )
                    )
                )
                rows = []
                for n in chunk:
                    if n.url in present:
                        continue
                    present.add(n.url)  # the same URL twice in one call: the first wins
                    rows.append(n)
                if rows:
                    _insert(conn, brand, rows, fetched_at)
                    inserted.update(
                        (url, id_)
                        for url, id_ in conn.execute(
                            select(items.c.url, items.c.id).where(
                                items.c.brand == brand,
                                items.c.url.in_([r.url for r in rows]),
                            )
                        )
                    )
        return inserted

    def titles_since(self, since: datetime, before: datetime | None = None) -> list[StoredTitle]:
        """Items published (or fetched, when undated) since ``since`` (and before ``before``,
        if given): the dedupe window."""
        brand = self._store.brand
        upto = [] if before is None else [item_age < before]
        with self._store.begin() as conn:
            rows = conn.execute(
                select(
                    items.c.id,
                    items.c.title_key,
                    items.c.source,
                    items.c.published_at,
                    items.c.fetched_at,
                    items.c.duplicate_of,
                    items.c.drafted_at,
                ).where(
                    items.c.brand == brand,
                    item_age >= since,  # read through the age index
                    *upto,
                )
            )
            return [
                StoredTitle(
                    r.id,
                    r.title_key,
                    r.source,
                    r.published_at,
                    r.fetched_at,
                    r.duplicate_of,
                    r.drafted_at is not None,
                )
                for r in rows
            ]

    def link_duplicates(self, pairs: Iterable[tuple[int, int]]) -> None:
        """Mark each ``(item_id, canonical_id)``: the item tells the canonical one's story."""
        pairs = list(pairs)
        if not pairs:
            return
        with self._store.begin() as conn:
            conn.execute(
                items.update()
                .where(items.c.id == bindparam("item_id"))
                .values(duplicate_of=bindparam("canonical_id")),
                [{"item_id": a, "canonical_id": b} for a, b in pairs],
            )

    def undrafted(self, since: datetime) -> list[Item]:
        """Canonical items not drafted yet and younger than ``since``, newest first."""
        brand = self._store.brand
        with self._store.begin() as conn:
            rows = conn.execute(
                select(items)
                .where(
                    items.c.brand == brand,
                    items.c.drafted_at.is_(None),
                    items.c.duplicate_of.is_(None),
                    item_age >= since,
                )
                .order_by(item_age.desc(), items.c.id)
            )
            return [_item(r) for r in rows]

    def mark_drafted(self, ids: Iterable[int], at: datetime) -> None:
        ids = list(ids)
        with self._store.begin() as conn:
            for i in range(0, len(ids), _CHUNK):
                conn.execute(
                    items.update().where(items.c.id.in_(ids[i : i + _CHUNK])).values(drafted_at=at)
                )

    def published_times(self, ids: Iterable[int]) -> dict[int, datetime]:
        """When each item was published (fetched, when undated): its age is judged by it."""
        ids = list(ids)
        out: dict[int, datetime] = {}
        with self._store.begin() as conn:
            for i in range(0, len(ids), _CHUNK):
                rows = conn.execute(
                    select(items.c.id, items.c.published_at, items.c.fetched_at).where(
                        items.c.id.in_(ids[i : i + _CHUNK])
                    )
                )
                out.update((r.id, r.published_at or r.fetched_at) for r in rows)
        return out

    def get(self, item_id: int) -> Item | None:
        with self._store.begin() as conn:
            row = conn.execute(select(items).where(items.c.id == item_id)).first()
            return _item(row) if row else None

    def latest(self, limit: int = 20) -> list[Item]:
        brand = self._store.brand
        with self._store.begin() as conn:
            rows = conn.execute(
                select(items)
                .where(items.c.brand == brand)
                .order_by(item_age.desc(), items.c.id.desc())
                .limit(limit)
            )
            return [_item(r) for r in rows]

    def count(self) -> int:
        with self._store.begin() as conn:
            return int(
                conn.scalar(
                    select(func.count())
                    .select_from(items)
                    .where(items.c.brand == self._store.brand)
                )
                or 0
            )
