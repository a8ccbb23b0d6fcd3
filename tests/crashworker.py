"""What each publisher process of the crash test runs (imported by a forkserver, so it starts in
milliseconds): the very steps of ``goodwill publish --no-prefect``, at a given clock."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path

from goodwill import app
from goodwill.events import LoggingSink
from tests.netconnector import NetConnector

#: What the forkserver imports once, before forking publishers.
PRELOAD = [
    "tests.crashworker",
    "sqlalchemy.dialects.sqlite",
    "sqlalchemy.dialects.postgresql",
    "psycopg",
    "alembic.command",
    "alembic.config",
    "alembic.script",
    "alembic.runtime.migration",
    "goodwill.migrations",
]


def publish(config_dir: str, database_url: str, now: str, base_url: str, hook: str | None) -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.environ["GOODWILL_DATABASE_URL"] = database_url
    sink = LoggingSink()
    config = app.load(Path(config_dir), sink)
    app.publish_step(
        config,
        sink,
        now=datetime.fromisoformat(now),
        connectors=lambda channel, cfg: NetConnector(base_url, channel.name, hook),
    )
    sys.stdout.flush()
