"""The migrations build exactly the schema ``goodwill/store/schema.py`` declares, on SQLite and
PostgreSQL: a column, index or constraint added to one and not the other fails here."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, event, text

from goodwill.store import Store
from goodwill.store.db import alembic_config
from goodwill.store.schema import metadata


# SQLAlchemy cannot reflect SQLite's expression indexes (the age index): it and alembic skip
# them, with a warning each (the test below checks that SQLite has it); PostgreSQL's are
# reflected and compared.
@pytest.mark.filterwarnings(
    "ignore:Skipped unsupported reflection of expression-based index:sqlalchemy.exc.SAWarning"
)
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_migrations_match_the_declared_schema(database_url: str) -> None:
    store = Store.open(f"schema {uuid.uuid4().hex[:6]}", url=database_url)
    try:
        with store.engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        store.close()
    assert differences == []


def _index_names(store: Store) -> set[str]:
    with store.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'items'"
        else:
            sql = "SELECT indexname FROM pg_indexes WHERE tablename = 'items'"
        return set(conn.exec_driver_sql(sql).scalars())


def test_items_are_indexed_by_age_alone(database_url: str) -> None:
    """Migration 0005 dropped the title_key index (no query read it) and 0007 the two date
    indexes for one on the age, coalesce(published_at, fetched_at), which the date queries
    ask for: every insert paid for each index."""
    store = Store.open(f"schema {uuid.uuid4().hex[:6]}", url=database_url)
    try:
        names = _index_names(store)
    finally:
        store.close()
    assert "ix_items_brand_age" in names
    assert not names & {
        "ix_items_brand_title_key",
        "ix_items_brand_published_at",
        "ix_items_brand_fetched_at",
    }


def test_the_date_queries_read_the_age_index(tmp_path: Path) -> None:
    """SQLite's plan for the dedupe window and the drafting queue searches a range of the age
    index (an expression index serves only queries that ask for the same expression)."""
    store = Store.open("plans", url=f"sqlite:///{tmp_path / 's.db'}")
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        if sql.lstrip().upper().startswith("SELECT") and "FROM items" in sql:
            seen.append((sql, params))

    event.listen(store.engine, "before_cursor_execute", capture)
    try:
        since = datetime(2026, 11, 1, tzinfo=UTC)
        store.items.titles_since(since)  # a run's first read of the window
        store.items.titles_since(since - timedelta(days=1), before=since)  # a later one
        store.items.undrafted(since)
        assert len(seen) == 3
        with store.engine.connect() as conn:
            for sql, params in seen:
                plan = " ".join(
                    str(row[-1])
                    for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)
                )
                # a range of ages searched, not every item of the brand
                assert "USING INDEX ix_items_brand_age (brand=? AND <expr>>?" in plan, plan
    finally:
        store.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database no migration has run on."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    return str(request.getfixturevalue("empty_postgres_database"))


def _migrate_to(engine: Engine, revision: str, *, down: bool = False) -> None:
    with engine.begin() as conn:
        (command.downgrade if down else command.upgrade)(alembic_config(conn), revision)


def test_summaries_stored_as_text_read_the_same_once_kept_as_html(
    empty_database_url: str,
) -> None:
    """Migration 0008 keeps summaries as HTML: those stored as plain text before are escaped,
    so that they read back as the same text (markup-like text stays text), and going back
    to 0007 gives the text again."""
    texts = ["AT&T <picture> & &amp; 1 > 0 <b>kept</b>", "plain", "", "a < b & c;"]
    texts += [f"item {i} <i>& more</i>" for i in range(2_500)]  # the way down pages by 1,000
    engine = create_engine(empty_database_url)
    try:
        _migrate_to(engine, "0007")
        when = datetime(2026, 11, 1, tzinfo=UTC)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO items (brand, source, url, title, title_key, summary, "
                    "published_at, fetched_at) VALUES ('b', 's', :url, 't', 't', :summary, "
                    ":when, :when)"
                ),
                [
                    {"url": f"https://a.example/{i}", "summary": t, "when": when}
                    for i, t in enumerate(texts)
                ],
            )
        _migrate_to(engine, "head")
        store = Store(engine, "b")
        read = {item.url: item.summary for item in store.items.latest(len(texts))}
        assert read == {f"https://a.example/{i}": t for i, t in enumerate(texts)}
        _migrate_to(engine, "0007", down=True)
        with engine.connect() as conn:
            back = dict(conn.execute(text("SELECT url, summary FROM items")).all())
        assert back == read
    finally:
        engine.dispose()
