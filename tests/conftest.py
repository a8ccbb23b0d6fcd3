"""Shared fixtures: a sample config copy, stores on SQLite and PostgreSQL, Prefect's home."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from goodwill.config import Config
    from goodwill.store import Store

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_CONFIG = ROOT / "config"

# Keep Prefect (imported by some tests) out of the user's home and quiet, before any import.
os.environ.setdefault(
    "PREFECT_HOME",
    str(Path(os.environ.get("TMPDIR", "/tmp")) / f"goodwill-tests-prefect-{os.getpid()}"),
)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.pop("GOODWILL_DATABASE_URL", None)
os.environ.pop("GOODWILL_CONFIG", None)

POSTGRES_URL = os.environ.get(
    "GOODWILL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def corpora_dir() -> Path | None:
    """``../shared/corpora`` beside the project, or $GOODWILL_CORPORA; None when absent."""
    env = os.environ.get("GOODWILL_CORPORA")
    for candidate in ([Path(env)] if env else []) + [ROOT.parent / "shared" / "corpora"]:
        if candidate.is_dir():
            return candidate
    return None


@pytest.fixture
def config_dir(tmp_path: Path, brand: str) -> Path:
    """A private copy of the shipped sample config, under a brand name unique to the test."""
    target = tmp_path / "config"
    target.mkdir()
    for src in SAMPLE_CONFIG.glob("*.yaml"):
        shutil.copy(src, target / src.name)
    # Tests never read article pages on the internet; attribution tests switch it on against a
    # loopback server.
    with (target / "policy.yaml").open("a", encoding="utf-8") as policy:
        policy.write("\ndiscover_credits: false\n")
    brand_file = target / "brand.yaml"
    text = brand_file.read_text(encoding="utf-8")
    brand_file.write_text(
        text.replace("name: Hazel & Pine Studio", f"name: {brand}", 1), encoding="utf-8"
    )
    return target


@contextmanager
def _new_postgres_database(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the test server (dropped after)."""
    import psycopg

    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_server() -> None:
    """Skip (or, with GOODWILL_REQUIRE_POSTGRES, fail) when the test server is unreachable."""
    try:
        import psycopg

        psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3).close()
    except Exception as exc:  # no server on this machine
        if os.environ.get("GOODWILL_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL required but unreachable at {POSTGRES_URL}: {exc}")
        pytest.skip(
            f"no PostgreSQL at {POSTGRES_URL} ({type(exc).__name__}); "
            "set GOODWILL_TEST_POSTGRES_URL"
        )


@pytest.fixture(scope="session")
def postgres_database(postgres_server: None) -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (dropped at the end)."""
    with _new_postgres_database("goodwill_test") as url:
        yield url


@pytest.fixture
def empty_postgres_database(postgres_server: None) -> Iterator[str]:
    """A PostgreSQL database of its own for one test (migrations from the start)."""
    with _new_postgres_database("goodwill_empty") as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every store test runs on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'goodwill.db'}"
    return str(request.getfixturevalue("postgres_database"))


@pytest.fixture
def use_database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("GOODWILL_DATABASE_URL", database_url)
    return database_url


@pytest.fixture
def store(config: Config, database_url: str) -> Iterator[Store]:
    """The store of the module's ``config`` fixture, on each database ``database_url`` gives."""
    from goodwill.store import Store

    s = Store.open(config.brand.name, url=database_url)
    yield s
    s.close()


@pytest.fixture
def brand() -> str:
    """A brand name unique to the test: rows of different tests never meet in a shared database."""
    return f"Test Studio {uuid.uuid4().hex[:8]}"


@pytest.fixture(autouse=True)
def _no_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connectors space out their remote calls; tests talk to loopback servers: no waiting."""
    from connectors import _http

    monkeypatch.setattr(_http.THROTTLE, "enabled", False)


@pytest.fixture(autouse=True)
def _private_state(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Sessions and secrets files of a test go to its own temporary folders, never ~/."""
    root = tmp_path_factory.mktemp("goodwill-state")
    monkeypatch.setenv("GOODWILL_STATE_DIR", str(root / "state"))
    monkeypatch.setenv("GOODWILL_SECRETS_DIR", str(root / "secrets"))
    return root


@pytest.fixture
def fake_server() -> Iterator[object]:
    """A loopback HTTP server speaking whatever routes the test installs (connector_tester)."""
    from tests.connector_tester import FakeServer

    with FakeServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _no_retry_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Publishing retries transient failures with backoff: tests record the waits, never sleep."""
    from goodwill import publishing

    waits: list[float] = []
    # A fixed jitter: tests never touch the global ``random`` state (Hypothesis watches it).
    retry = publishing.Retry(sleep=waits.append, jitter=lambda: 0.5)
    monkeypatch.setattr(publishing, "RETRY", retry)
    return waits


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run Prefect and browser tests last: Prefect's background workers outlive its test
    harness, and their use of ``random`` would trip Hypothesis in any test that follows."""
    late = {"prefect", "browser"}
    items.sort(key=lambda item: any(m.name in late for m in item.iter_markers()))


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One real Prefect server (``prefect_test_harness``) for the session's flow tests."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
