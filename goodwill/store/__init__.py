"""The store: single source of truth for sources, items and posts (SQLite or PostgreSQL).

Split by domain (``store.sources``, ``store.items``, ``store.posts``) over one engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine

from goodwill.store.db import database_url, open_engine, transaction
from goodwill.store.items import ItemStore, NewItem
from goodwill.store.posts import PostStore
from goodwill.store.sources import SourceState, SourceStore

__all__ = ["ItemStore", "NewItem", "PostStore", "SourceState", "SourceStore", "Store"]


class Store:
    """One brand's view of the database."""

    def __init__(self, engine: Engine, brand: str) -> None:
        self.engine = engine
        self.brand = brand
        self.sources = SourceStore(self)
        self.items = ItemStore(self)
        self.posts = PostStore(self)

    @classmethod
    def open(cls, brand: str, config_dir: Path | None = None, url: str | None = None) -> Store:
        """Open (and migrate) the database named by ``url`` or the environment."""
        return cls(open_engine(url or database_url(config_dir)), brand)

    @contextmanager
    def begin(self, *, durable: bool = False) -> Iterator[Connection]:
        """A write transaction; IMMEDIATE on SQLite so read-then-write is atomic.

        ``durable``: fsynced on commit even on SQLite (for publish claims; see ``transaction``).
        """
        with transaction(self.engine, durable=durable) as conn:
            yield conn

    def close(self) -> None:
        self.engine.dispose()
