"""Opening the database: URL rules, SQLite pragmas, PostgreSQL driver, automatic safe migrations."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from goodwill.errors import StoreError

__all__ = ["database_url", "migrate", "open_engine"]

DEFAULT_DB_NAME = "goodwill.db"
#: A stable 64-bit key for pg_advisory_xact_lock: only one process migrates at a time.
_MIGRATION_LOCK_KEY = 0x600D_1111
_migrated: set[str] = set()
_migrate_lock = threading.Lock()


def database_url(config_dir: Path | None = None) -> str:
    """``$GOODWILL_DATABASE_URL``, else a SQLite file beside the config."""
    url = os.environ.get("GOODWILL_DATABASE_URL", "").strip()
    if url:
        return _normalise(url)
    base = config_dir if config_dir is not None else Path.cwd()
    return f"sqlite:///{(base / DEFAULT_DB_NAME).resolve()}"


def _normalise(url: str) -> str:
    """A plain ``postgresql://`` URL uses psycopg 3 (binary wheels, no compiler needed)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def open_engine(url: str) -> Engine:
    """An engine with the pragmas and transaction mode Goodwill relies on; migrated to head."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"GOODWILL_DATABASE_URL is not a database URL: {_redact(url)}") from None
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(url, parsed.database)
    elif parsed.get_backend_name() == "postgresql":
        engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    else:
        raise StoreError(
            f"unsupported database {parsed.get_backend_name()!r}; use sqlite:/// or postgresql://"
        )
    migrate(engine)
    return engine


def _sqlite_engine(url: str, database: str | None) -> Engine:
    if database and database != ":memory:":
        folder = Path(database).parent
        if not folder.is_dir():
            raise StoreError(f"cannot open the database {database}: folder {folder} does not exist")
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # We issue BEGIN ourselves (below), so the driver must not.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock up front: a read-then-write transaction can never
        # fail half-way with "database is locked", and claims are atomic.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def alembic_config(conn: Connection | None = None) -> Any:
    """Alembic's configuration for Goodwill's migrations, run on ``conn`` (``migrations/env.py``
    takes the connection it is given)."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(resources.files("goodwill") / "migrations"))
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


def migrate(engine: Engine) -> None:
    """Upgrade the schema to head, once per process, safely under concurrent starters."""
    key = str(engine.url)
    if key in _migrated:
        return
    with _migrate_lock:
        if key in _migrated:
            return
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        try:
            with engine.begin() as conn:
                if engine.dialect.name == "postgresql":
                    conn.execute(
                        text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY}
                    )
                current = MigrationContext.configure(conn).get_current_revision()
                if current != head:
                    from alembic import command

                    command.upgrade(alembic_config(conn), "head")
        except DBAPIError as exc:
            raise StoreError(
                f"cannot open the database {_redact(key)}: {_first_line(exc.orig)}"
            ) from None
        except SQLAlchemyError as exc:
            raise StoreError(
                f"cannot migrate the database {_redact(key)}: {_first_line(exc)}"
            ) from None
        _migrated.add(key)


@contextmanager
def transaction(engine: Engine, *, durable: bool = False) -> Iterator[Connection]:
    """One write transaction (IMMEDIATE on SQLite); store errors become StoreError.

    ``durable``: on SQLite, the commit is fsynced (``synchronous=FULL``) so it survives a power
    cut, not only a process crash; WAL with ``NORMAL`` may lose the last commits on power loss.
    A publish claim needs this: a lost claim after the request left would mean a second send.
    PostgreSQL commits are durable already (``synchronous_commit=on``).
    """
    try:
        if durable and engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                raw = conn.connection.dbapi_connection
                assert raw is not None
                raw.execute("PRAGMA synchronous=FULL")
                try:
                    with conn.begin():
                        yield conn
                finally:
                    raw.execute("PRAGMA synchronous=NORMAL")
        else:
            with engine.begin() as conn:
                yield conn
    except DBAPIError as exc:
        raise StoreError(f"database error: {_first_line(exc.orig)}") from None


def _first_line(exc: object) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _redact(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"
