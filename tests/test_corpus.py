"""Third-party feed corpora through ``parse_feed``, and the bundled sample feeds of the demo.

The corpora live outside the repository (``../shared/corpora``, or ``$GOODWILL_CORPORA``): every
file goes through ``parse_feed`` and must come back as a ``ParsedFeed`` or a ``ParseError``,
nothing else, within a few seconds. Tests skip when the folder is absent (a fresh clone).
"""

from __future__ import annotations

import itertools
import os
import re
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from goodwill.errors import ParseError
from goodwill.feeds import (
    FeedRequest,
    ParsedFeed,
    RetrievedFeed,
    fetch_feeds,
    parse_feed,
    render_sample_feed,
    sample_feed_dir,
    sample_feed_names,
)
from goodwill.feeds.sampleserver import serve_samples
from goodwill.urls import canonical_url

PER_FILE_SECONDS = 10.0


def corpora_root() -> Path | None:
    beside = Path(__file__).resolve().parents[2] / "shared" / "corpora"
    if beside.is_dir():
        return beside
    env = os.environ.get("GOODWILL_CORPORA")
    if env and Path(env).is_dir():
        return Path(env)
    return None


CORPORA = corpora_root()
CORPUS_DIRS = ("feedparser-tests", "realworld-feeds")


def corpus_files() -> list[Path | None]:
    if CORPORA is None:
        return [None]
    root = CORPORA
    return sorted(
        (p for d in CORPUS_DIRS for p in (root / d).rglob("*") if p.is_file()),
        key=lambda p: str(p),
    )


def file_id(path: Path | None) -> str:
    return "corpus-absent" if path is None or CORPORA is None else str(path.relative_to(CORPORA))


def parse_with_deadline(path: Path) -> ParsedFeed | ParseError:
    """Parse in a daemon thread so that a hang fails this file instead of the whole run."""
    outcome: list[ParsedFeed | BaseException] = []

    def run() -> None:
        try:
            outcome.append(parse_feed(path.read_bytes(), url="https://corpus.example.com/feed"))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(PER_FILE_SECONDS)
    if thread.is_alive():
        pytest.fail(f"parse_feed did not finish within {PER_FILE_SECONDS:g} s")
    [result] = outcome
    if isinstance(result, ParseError | ParsedFeed):
        return result
    raise AssertionError(f"parse_feed raised {type(result).__name__}: {result}") from result


@pytest.mark.corpus
@pytest.mark.parametrize("path", corpus_files(), ids=file_id)
def test_corpus_file_parses_or_raises_parse_error(path: Path | None) -> None:
    if path is None:
        pytest.skip(
            "feed corpora not found beside the project (../shared/corpora) "
            "and GOODWILL_CORPORA is not set"
        )
    result = parse_with_deadline(path)
    if isinstance(result, ParseError):
        assert result.message and "\n" not in result.message
        return
    for entry in result.entries:
        assert entry.link is None or entry.link.startswith(("http://", "https://"))
        assert entry.published is None or entry.published.utcoffset() == timedelta(0)
        assert entry.title == entry.title.strip()


@pytest.mark.corpus
def test_every_real_world_feed_yields_entries() -> None:
    if CORPORA is None:
        pytest.skip("feed corpora not found (../shared/corpora or GOODWILL_CORPORA)")
    feeds = sorted(
        p
        for p in (CORPORA / "realworld-feeds").rglob("*")
        if p.is_file() and p.suffix in (".xml", ".rss", ".rdf", ".atom", ".json")
    )
    assert len(feeds) >= 50
    empty = []
    for path in feeds:
        result = parse_with_deadline(path)
        assert isinstance(result, ParsedFeed), f"{path.name}: {result}"
        usable = [e for e in result.entries if e.link and e.title]
        if not usable:
            empty.append(path.name)
    # Scripting News and a Tumblr photo blog publish items without titles; nothing else should.
    assert len(empty) <= 2, empty


@pytest.mark.corpus
def test_entity_declaring_corpus_files_are_refused() -> None:
    if CORPORA is None:
        pytest.skip("feed corpora not found (../shared/corpora or GOODWILL_CORPORA)")
    tests = CORPORA / "feedparser-tests" / "tests" / "wellformed"
    for name in ("rss/entity_in_doctype.xml", "rdf/doctype_contains_entity_decl.xml"):
        result = parse_with_deadline(tests / name)
        assert isinstance(result, ParseError)
        assert result.message == "feed declares XML entities"


# --- the bundled sample feeds ---------------------------------------------------------------------

NOW = datetime(2025, 6, 14, 12, 0, tzinfo=UTC)
EXPECTED_SAMPLES = {
    "petapixel",
    "fstoppers",
    "dpreview",
    "digital-photography-school",
    "shutterbug",
    "the-phoblographer",
    "junebug-weddings",
    "professional-photographer",
}


def parsed_samples(now: datetime = NOW) -> dict[str, ParsedFeed]:
    feeds = {}
    for name in sample_feed_names():
        body = render_sample_feed((sample_feed_dir() / f"{name}.xml").read_text("utf-8"), now)
        feeds[name] = parse_feed(body, url=f"http://127.0.0.1:8000/{name}.xml", now=now)
    return feeds


def words(title: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", title.lower()))


def test_sample_feeds_render_and_parse() -> None:
    feeds = parsed_samples()
    assert set(feeds) == EXPECTED_SAMPLES
    for name, feed in feeds.items():
        assert feed.title and feed.title.endswith("(sample)"), name
        assert 5 <= len(feed.entries) <= 8, name
        for entry in feed.entries:
            assert entry.link and entry.title and entry.summary and entry.author, entry
            assert entry.published is not None and entry.published <= NOW, entry
            assert "<" not in entry.summary and "&" not in entry.summary.replace(" & ", ""), entry
    bodies = {p.stem: p.read_text("utf-8") for p in sample_feed_dir().glob("*.xml")}
    assert any("<rss" in b for b in bodies.values())
    assert any("<feed" in b for b in bodies.values())
    assert any("<dc:creator>" in b or "<dc:creator><![CDATA[" in b for b in bodies.values())
    assert any("<author><name>" in b for b in bodies.values())


def test_sample_feeds_hold_the_cases_the_demo_shows() -> None:
    feeds = parsed_samples()
    entries = [(name, e) for name, feed in feeds.items() for e in feed.entries]

    by_link: dict[str, set[str]] = {}
    for name, entry in entries:
        assert entry.link is not None
        by_link.setdefault(entry.link, set()).add(name)
    exact = {link: names for link, names in by_link.items() if len(names) > 1}
    assert exact == {
        "https://halden-foundation.example/grants/documentary-wedding": {"fstoppers", "shutterbug"}
    }

    canonical = [(e.link, canonical_url(e.link)) for _, e in entries if e.link]
    tracked = {link for link, canon in canonical if canon != link}
    assert len(tracked) >= 3  # utm_* and fbclid links
    # Stripping tracking parameters makes no new duplicates: only the exact one remains.
    assert len({canon for _, canon in canonical}) == len(entries) - 1

    near = []
    for (name_a, a), (name_b, b) in itertools.combinations(entries, 2):
        wa, wb = words(a.title), words(b.title)
        if name_a != name_b and len(wa & wb) / len(wa | wb) >= 0.6:
            near.append({name_a, name_b})
    assert near == [{"petapixel", "dpreview"}]
    pp = next(e for e in feeds["petapixel"].entries if "Lumora" in e.title)
    dp = next(e for e in feeds["dpreview"].entries if "Lumora" in e.title)
    assert pp.link != dp.link
    assert pp.published is not None and dp.published is not None
    assert pp.published < dp.published  # PetaPixel had it first: it gets the credit

    old = [e for _, e in entries if e.published and NOW - e.published > timedelta(days=30)]
    assert [e.title for e in old] == ["Understanding the Exposure Triangle (Classic Article)"]
    long_titles = [e.title for _, e in entries if len(e.title) > 200]
    assert len(long_titles) == 1


def test_render_sample_feed_placeholders() -> None:
    body = "<a>{{ago:3h}}</a><b>{{ago3339:2d}}</b><c>{{ ago : 90m }}</c><d>{{ago:1w}}</d>"
    rendered = render_sample_feed(body, NOW).decode("utf-8")
    assert rendered == (
        f"<a>{format_datetime(NOW - timedelta(hours=3), usegmt=True)}</a>"
        "<b>2025-06-12T12:00:00Z</b>"
        f"<c>{format_datetime(NOW - timedelta(minutes=90), usegmt=True)}</c>"
        f"<d>{format_datetime(NOW - timedelta(weeks=1), usegmt=True)}</d>"
    )
    assert rendered.startswith("<a>Sat, 14 Jun 2025 09:00:00 GMT</a>")


@pytest.mark.parametrize("body", ["{{ago:3y}}", "{{since:3h}}", "{{ago3h}}"])
def test_render_sample_feed_refuses_unknown_placeholders(body: str) -> None:
    with pytest.raises(ValueError, match="unknown placeholder"):
        render_sample_feed(body, NOW)


def test_render_sample_feed_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        render_sample_feed("{{ago:1h}}", datetime(2025, 1, 1))


def test_sample_server_serves_every_feed_with_etags() -> None:
    now = datetime.now(UTC)
    with serve_samples(now) as base_url:
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/")
        urls = [f"{base_url}{name}.xml" for name in sample_feed_names()]
        first = fetch_feeds([FeedRequest(u) for u in urls] + [FeedRequest(base_url + "nope.xml")])
        feeds = [r for r in first if isinstance(r, RetrievedFeed)]
        assert len(feeds) == len(urls)
        assert str(first[-1]) == "HTTP 404 Not Found"
        for feed in feeds:
            assert feed.status == 200 and feed.body and feed.etag and feed.last_modified
            assert feed.content_type and feed.content_type.startswith("application/")
            parsed = parse_feed(feed.body, url=feed.final_url, content_type=feed.content_type)
            assert parsed.entries
        again = fetch_feeds(
            [FeedRequest(f.url, etag=f.etag, last_modified=f.last_modified) for f in feeds]
        )
        assert all(isinstance(r, RetrievedFeed) and r.not_modified for r in again)
        by_date = fetch_feeds([FeedRequest(feeds[0].url, last_modified=feeds[0].last_modified)])
        assert isinstance(by_date[0], RetrievedFeed) and by_date[0].not_modified
