"""Ingest end to end against a loopback feed server: conditional GET, dedupe, failures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from goodwill.config import Config, load_config
from goodwill.events import RecordingSink
from goodwill.feeds.sampleserver import serve_samples
from goodwill.ingest import ingest
from goodwill.store import Store

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def served(config_dir: Path) -> Iterator[Config]:
    """The sample config with its sources pointed at the bundled feeds, served on loopback."""
    from goodwill.demo import _point_sources_at

    with serve_samples(NOW) as base:
        _point_sources_at(config_dir, base)
        yield load_config(config_dir)


@pytest.fixture
def store(served: Config, database_url: str) -> Iterator[Store]:
    s = Store.open(served.brand.name, url=database_url)
    yield s
    s.close()


def test_ingest_stores_items_once_and_links_the_same_story(served: Config, store: Store) -> None:
    sink = RecordingSink()
    result = ingest(served, store, NOW, sink)
    assert result.sources == 8 and result.fetched == 8 and result.failed == 0
    assert result.new_items > 30
    assert sink.names() == ["goodwill.items.ingested"]
    items = store.items.latest(200)
    urls = [i.url for i in items]
    assert len(urls) == len(set(urls))
    assert not any("utm_" in u or "fbclid" in u for u in urls)
    # The grant story is linked by two feeds: stored once.
    assert sum("halden-foundation.example/grants/documentary-wedding" in u for u in urls) == 1
    # The camera launch is told by PetaPixel (earlier) and DPReview: DPReview's is the duplicate.
    lumora = [i for i in items if "Lumora" in i.title and "X9 Pro" in i.title and "61MP" in i.title]
    assert {i.source for i in lumora} == {"PetaPixel", "DPReview"}
    by_source = {i.source: i for i in lumora}
    assert by_source["DPReview"].duplicate_of == by_source["PetaPixel"].id
    assert by_source["PetaPixel"].duplicate_of is None
    # Summaries are plain text.
    assert not any("<p>" in i.summary or "<a " in i.summary for i in items)


def test_second_ingest_is_conditional_and_finds_nothing_new(served: Config, store: Store) -> None:
    ingest(served, store, NOW, RecordingSink())
    sink = RecordingSink()
    again = ingest(served, store, NOW, sink)
    assert again.not_modified == 8 and again.new_items == 0
    assert sink.names() == []  # nothing new: no event


def test_a_failing_source_is_recorded_and_the_others_go_on(
    served: Config, store: Store, tmp_path: Path
) -> None:
    path = served.dir / "sources.yaml"
    text = path.read_text(encoding="utf-8")
    broken = text.replace("/shutterbug.xml", "/no-such-feed.xml").replace(
        "/fstoppers.xml", "/../../etc/passwd"
    )
    path.write_text(broken, encoding="utf-8")
    config = load_config(served.dir)
    result = ingest(config, store, NOW, RecordingSink())
    assert result.failed == 2 and result.fetched == 6
    states = store.sources.all()
    assert states["Shutterbug"].last_status == "failed"
    assert "404" in (states["Shutterbug"].last_error or "")
    assert states["Shutterbug"].failures == 1
    assert states["PetaPixel"].last_status == "ok"


def test_unreachable_host_is_one_line_reason(config_dir: Path, database_url: str) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    path = config_dir / "sources.yaml"
    path.write_text(
        f"sources:\n  - name: Dead\n    url: http://127.0.0.1:{port}/feed\n", encoding="utf-8"
    )
    config = load_config(config_dir)
    store = Store.open(config.brand.name, url=database_url)
    result = ingest(config, store, NOW, RecordingSink())
    assert result.failed == 1
    reason = result.failures["Dead"]
    assert "\n" not in reason and "Traceback" not in reason and len(reason) < 200
    store.close()
