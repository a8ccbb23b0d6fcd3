"""The migrations build exactly the schema ``goodwill/store/schema.py`` declares, on SQLite and
PostgreSQL: a column, index or constraint added to one and not the other fails here."""

from __future__ import annotations

import uuid

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from goodwill.store import Store
from goodwill.store.schema import metadata


def test_migrations_match_the_declared_schema(database_url: str) -> None:
    store = Store.open(f"schema {uuid.uuid4().hex[:6]}", url=database_url)
    try:
        with store.engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        store.close()
    assert differences == []


def test_no_index_on_title_key(database_url: str) -> None:
    """Dropped by migration 0005: no query reads it, and every insert paid for it."""
    from sqlalchemy import inspect

    store = Store.open(f"schema {uuid.uuid4().hex[:6]}", url=database_url)
    try:
        indexes = inspect(store.engine).get_indexes("items")
    finally:
        store.close()
    assert not [i for i in indexes if i["column_names"] == ["brand", "title_key"]]
    assert [i for i in indexes if i["column_names"] == ["brand", "published_at"]]
