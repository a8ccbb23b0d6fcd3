"""Feed health: backoff on repeated failures, Retry-After and 429 per host, permanent
redirects, and ``goodwill sources``."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from goodwill.config import Config, Source, load_config
from goodwill.events import RecordingSink
from goodwill.feeds import FeedRequest, fetch_feeds
from goodwill.feeds.fetch import MAX_RETRY_AFTER, retry_after
from goodwill.ingest import BACKOFF_BASE, BACKOFF_MAX, backoff, ingest, source_health
from goodwill.store import Store
from tests.feedserver import FeedServer, Route
from tests.helpers_cli import json_out

RSS = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
    b"<item><title>One story here</title><link>https://example.com/a</link></item>"
    b"</channel></rss>"
)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


@pytest.fixture
def base_config(config_dir: Path) -> Config:
    return load_config(config_dir)


def _with_sources(config: Config, **urls: str) -> Config:
    return replace(config, sources=[Source(name=n, url=u) for n, u in urls.items()])


@pytest.fixture
def store(base_config: Config, database_url: str) -> Iterator[Store]:
    s = Store.open(base_config.brand.name, url=database_url)
    yield s
    s.close()


def test_backoff_is_exponential_and_capped_at_a_day() -> None:
    assert backoff(0) == timedelta(0)
    assert backoff(1) == BACKOFF_BASE
    assert backoff(2) == 2 * BACKOFF_BASE
    assert backoff(4) == 8 * BACKOFF_BASE
    assert backoff(30) == BACKOFF_MAX == timedelta(days=1)
    assert backoff(10_000) == BACKOFF_MAX


def test_a_failing_source_backs_off_is_skipped_then_retried(
    server: FeedServer, base_config: Config, store: Store
) -> None:
    config = _with_sources(
        base_config, Good=server.feed("/good.xml", RSS), Bad=server.status("/bad.xml", 500)
    )
    now = datetime(2026, 11, 2, 12, tzinfo=UTC)
    first = ingest(config, store, now, RecordingSink())
    assert first.failed == 1 and first.fetched == 1
    bad = store.sources.all()["Bad"]
    assert bad.failures == 1 and bad.next_fetch_at == now + backoff(1)
    assert "500" in (bad.last_error or "")

    asked = len(server.requests_to("/bad.xml"))
    soon = ingest(config, store, now + timedelta(minutes=1), RecordingSink())
    assert soon.skipped == 1 and soon.failed == 0
    assert len(server.requests_to("/bad.xml")) == asked  # not asked while backing off

    later = now + backoff(1)
    again = ingest(config, store, later, RecordingSink())
    assert again.failed == 1
    bad = store.sources.all()["Bad"]
    assert bad.failures == 2 and bad.next_fetch_at == later + backoff(2)

    server.feed("/bad.xml", RSS)  # it recovers
    recovered = ingest(config, store, later + backoff(2), RecordingSink())
    assert recovered.failed == 0
    bad = store.sources.all()["Bad"]
    assert bad.failures == 0 and bad.next_fetch_at is None and bad.last_status == "ok"


def test_health_turns_dead_after_repeated_failures_for_a_day(
    server: FeedServer, base_config: Config, store: Store
) -> None:
    config = _with_sources(base_config, Gone=server.status("/gone.xml", 410))
    now = datetime(2026, 11, 2, tzinfo=UTC)
    healths = []
    for _ in range(6):
        ingest(config, store, now, RecordingSink())
        healths.append(source_health(config, store, now)[0]["health"])
        now = store.sources.all()["Gone"].next_fetch_at or now
    assert healths[0] == "failing"
    assert healths[-1] == "dead"
    row = source_health(config, store, now)[0]
    assert "410" in row["reason"] and row["failures"] == 6


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", timedelta(seconds=120)),
        ("0", timedelta(0)),
        ("Thu, 26 Nov 2026 01:00:00 GMT", timedelta(hours=1)),
        ("9999999", MAX_RETRY_AFTER),
        ("Sat, 01 Jan 2050 00:00:00 GMT", MAX_RETRY_AFTER),
        ("soon", timedelta(minutes=7)),
        (None, timedelta(minutes=7)),
    ],
)
def test_retry_after_header(header: str | None, expected: timedelta) -> None:
    now = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
    assert retry_after(header, now, timedelta(minutes=7)) == now + expected


def test_429_defers_the_hosts_other_feeds_in_the_same_run(server: FeedServer) -> None:
    server.route("/limited.xml", Route(status=429, headers={"Retry-After": "600"}))
    ok = server.feed("/ok.xml", RSS)
    before = datetime.now(UTC)
    results = fetch_feeds(
        [FeedRequest(server.url("/limited.xml")), FeedRequest(ok), FeedRequest(ok + "?2")],
        limit_per_host=1,
    )
    first, second, third = results
    assert isinstance(first, Exception) and "429" in str(first)
    assert first.retry_at is not None  # type: ignore[attr-defined]
    assert before + timedelta(seconds=599) <= first.retry_at  # type: ignore[attr-defined]
    for deferred in (second, third):
        assert isinstance(deferred, Exception)
        assert deferred.deferred and deferred.retry_at == first.retry_at  # type: ignore[attr-defined]
    assert server.requests_to("/ok.xml") == []  # the host asked for quiet: none sent


def test_ingest_honours_retry_after_and_does_not_count_deferred_as_failures(
    server: FeedServer, base_config: Config, store: Store
) -> None:
    server.route("/a.xml", Route(status=503, headers={"Retry-After": "3600"}))
    config = _with_sources(base_config, A=server.url("/a.xml"))
    now = datetime.now(UTC)
    result = ingest(config, store, now, RecordingSink())
    assert result.failed == 1
    a = store.sources.all()["A"]
    assert a.next_fetch_at is not None
    assert a.next_fetch_at >= now + timedelta(minutes=59)  # more than the 5-minute backoff


def test_permanent_redirect_is_reported(
    server: FeedServer, base_config: Config, store: Store
) -> None:
    new = server.feed("/new.xml", RSS)
    old = server.redirect("/old.xml", "/new.xml", status=301)
    temp = server.redirect("/temp.xml", "/new.xml", status=302)
    config = _with_sources(base_config, Old=old, Temp=temp)
    ingest(config, store, datetime.now(UTC), RecordingSink())
    states = store.sources.all()
    assert states["Old"].moved_to == new
    assert states["Temp"].moved_to is None


def test_sources_command(
    server: FeedServer, base_config: Config, database_url: str, tmp_path: Path
) -> None:
    path = base_config.dir / "sources.yaml"
    path.write_text(
        "sources:\n"
        f"  - name: Good\n    url: {server.feed('/g.xml', RSS)}\n"
        f"  - name: Broken\n    url: {server.status('/b.xml', 404)}\n",
        encoding="utf-8",
    )
    env = {"GOODWILL_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}
    cfg = ["--config", str(base_config.dir), "--no-prefect", "--json"]

    def goodwill(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "goodwill.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )

    assert goodwill("ingest", *cfg).returncode == 0
    done = goodwill("sources", *cfg)
    assert done.returncode == 0, done.stderr
    rows = {r["name"]: r for r in json_out(done.stdout)}
    assert rows["Good"]["health"] == "ok" and rows["Good"]["last_success_at"]
    assert rows["Broken"]["health"] == "failing"
    assert "404" in rows["Broken"]["reason"]
    assert rows["Broken"]["next_fetch_at"] and rows["Broken"]["due"] is False
    human = goodwill("sources", "--config", str(base_config.dir), "--no-prefect")
    assert human.returncode == 0 and "Broken" in human.stdout and "404" in human.stdout
