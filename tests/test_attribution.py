"""Attribution discovery: article pages read once (bounded, cached) for each network's credit."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from goodwill import attribution
from goodwill.attribution import PageCredits, credit_for, parse_page
from goodwill.cli import main
from goodwill.config import Config, Source
from goodwill.drafting import draft
from goodwill.events import RecordingSink
from goodwill.models import Item
from goodwill.store import Store
from tests.feedserver import FeedServer, Route
from tests.helpers_cli import json_out
from tests.helpers_voice import add_items, write_config

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

FULL_PAGE = """<!doctype html><html><head>
<meta name="twitter:site" content="@PhotoDaily">
<meta name="twitter:creator" content="@janedoe">
<meta name="fediverse:creator" content="@jane@photog.social">
<meta property="article:author" content="Jane Doe">
<meta property="og:site_name" content="Photo Daily">
</head><body><article>Light.</article>
<a rel="me" href="https://bsky.app/profile/jane.photo">Bluesky</a></body></html>"""

JSONLD_PAGE = """<html><head>
<script type="application/ld+json">
{"@context": "https://schema.org", "@graph": [
  {"@type": "NewsArticle", "headline": "x",
   "author": {"@type": "Person", "name": "Ana Lima",
              "sameAs": ["https://pixel.town/@analima", "https://x.com/ana_lima"]},
   "publisher": {"@type": "Organization", "name": "Lens Weekly"}}]}
</script></head><body></body></html>"""

REL_ME_PAGE = """<html><head><link rel="me" href="https://www.youtube.com/@bigchannel">
<link rel="me authn" href="https://mastodon.art/@painter"></head>
<body><a rel="me" href="https://medium.com/@writer">m</a></body></html>"""

NAME_ONLY_PAGE = """<html><head><meta name="author" content="Sam Okafor">
<meta name="twitter:creator" content="not a handle!"></head></html>"""


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (
            FULL_PAGE,
            PageCredits(
                x_creator="@janedoe",
                x_site="@PhotoDaily",
                fediverse="@jane@photog.social",
                fediverse_from="fediverse:creator",
                bluesky="@jane.photo",
                author="Jane Doe",
                author_from="article:author",
                publisher="Photo Daily",
            ),
        ),
        (
            JSONLD_PAGE,
            PageCredits(
                x_profile="@ana_lima",
                fediverse="@analima@pixel.town",
                fediverse_from="rel=me https://pixel.town/@analima",
                author="Ana Lima",
                author_from="JSON-LD author",
                publisher="Lens Weekly",
            ),
        ),
        (
            # YouTube and Medium /@name profiles are not fediverse accounts.
            REL_ME_PAGE,
            PageCredits(
                fediverse="@painter@mastodon.art",
                fediverse_from="rel=me https://mastodon.art/@painter",
            ),
        ),
        (NAME_ONLY_PAGE, PageCredits(author="Sam Okafor", author_from="meta author")),
        ("<html><head><title>nothing</title>", PageCredits()),
        ("<<<not html at all", PageCredits()),
    ],
)
def test_parse_page_reads_only_what_the_page_states(page: str, expected: PageCredits) -> None:
    assert parse_page(page, "https://news.example/a") == expected


SOURCE = Source(name="Photo Daily", url="https://news.example/feed")
ITEM = Item(url="https://news.example/a", title="T", source="Photo Daily")


@pytest.mark.parametrize(
    ("source", "item", "page", "network", "text", "origin", "is_handle"),
    [
        # sources.yaml wins over the page.
        (
            Source(name="P", url="https://p.example/f", credit={"x": "@configured"}),
            ITEM,
            parse_page(FULL_PAGE, ""),
            "x",
            "@configured",
            "sources.yaml",
            True,
        ),
        (SOURCE, ITEM, parse_page(FULL_PAGE, ""), "x", "@janedoe", "page: twitter:creator", True),
        (
            SOURCE,
            ITEM,
            PageCredits(x_site="@PhotoDaily"),
            "x",
            "@PhotoDaily",
            "page: twitter:site (publisher)",
            True,
        ),
        (
            SOURCE,
            ITEM,
            parse_page(FULL_PAGE, ""),
            "mastodon",
            "@jane@photog.social",
            "page: fediverse:creator",
            True,
        ),
        (
            SOURCE,
            ITEM,
            parse_page(FULL_PAGE, ""),
            "bluesky",
            "@jane.photo",
            "page: rel=me bsky.app profile",
            True,
        ),
        # Facebook and LinkedIn get a name; a handle from another network is never borrowed.
        (
            SOURCE,
            ITEM,
            parse_page(FULL_PAGE, ""),
            "facebook",
            "Jane Doe",
            "page: article:author",
            False,
        ),
        (
            SOURCE,
            Item(url="u", title="T", source="Photo Daily", author="Feed Author"),
            parse_page(JSONLD_PAGE, ""),
            "bluesky",
            "Feed Author",
            "feed author",
            False,
        ),
        (SOURCE, ITEM, None, "x", "Photo Daily", "source name", False),
        (
            SOURCE,
            ITEM,
            PageCredits(publisher="Photo Daily Inc"),
            "x",
            "Photo Daily Inc",
            "page: publisher",
            False,
        ),
    ],
)
def test_credit_for_each_network(
    source: Source,
    item: Item,
    page: PageCredits | None,
    network: str,
    text: str,
    origin: str,
    is_handle: bool,
) -> None:
    credit = credit_for(source, item, network, page)
    assert (credit.text, credit.source, credit.is_handle) == (text, origin, is_handle)
    if not credit.is_handle:
        assert not credit.text.startswith("@")  # never an invented handle


# --------------------------------------------------------------------------- against a server


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


def _html(server: FeedServer, path: str, body: str) -> str:
    return server.route(
        path, Route(body=body.encode(), headers={"Content-Type": "text/html; charset=utf-8"})
    )


@pytest.fixture
def config(tmp_path: Path, brand: str) -> Config:
    return write_config(
        tmp_path / "config",
        brand,
        sources=(
            "sources:\n"
            "  - {name: Photo Daily, url: 'https://news.example/feed'}\n"
            "  - {name: Configured, url: 'https://c.example/feed', credit: {x: '@conf', "
            "mastodon: '@conf@m.example', bluesky: '@conf.example'}}\n"
        ),
        policy="ratio: 2\ngrace: 30m\nmax_per_day: 10\npage_timeout: 2\nmax_page_bytes: 4096\n",
    )


def test_draft_reads_each_page_once_and_credits_per_network(
    config: Config, store: Store, server: FeedServer
) -> None:
    full = _html(server, "/full", FULL_PAGE)
    jsonld = _html(server, "/jsonld", JSONLD_PAGE)
    missing = server.status("/gone", 404) if hasattr(server, "status") else server.url("/gone")
    configured = _html(server, "/configured", FULL_PAGE)
    add_items(
        store,
        "Photo Daily",
        [(full, "Soft light for portraits"), (jsonld, "Film is back"), (missing, "A lost page")],
        NOW,
    )
    add_items(store, "Configured", [(configured, "Configured source story")], NOW)
    result = draft(config, store, NOW, RecordingSink())
    assert result.drafted == 16 and result.pages_read == 2 and result.pages_failed == 1
    # The configured source has every handle: its page is never read.
    assert server.requests_to("/configured") == []
    credits = {(p.channel, p.link): (p.credit, p.credit_source) for p in store.posts.find()}
    assert credits[("cx", full)] == ("@janedoe", "page: twitter:creator")
    assert credits[("cm", full)] == ("@jane@photog.social", "page: fediverse:creator")
    assert credits[("cb", full)] == ("@jane.photo", "page: rel=me bsky.app profile")
    assert credits[("cf", full)] == ("Jane Doe", "page: article:author")
    assert credits[("cx", jsonld)] == ("@ana_lima", "page: rel=me X profile")
    assert credits[("cm", jsonld)] == (
        "@analima@pixel.town",
        "page: rel=me https://pixel.town/@analima",
    )
    assert credits[("cb", jsonld)] == ("Ana Lima", "page: JSON-LD author")
    assert credits[("cx", missing)] == ("Photo Daily", "source name")
    assert credits[("cx", configured)] == ("@conf", "sources.yaml")
    x_post = next(p for p in store.posts.find(channel="cx") if p.link == full)
    assert x_post.text.endswith("via @janedoe") or "via @janedoe #" in x_post.text

    # Read once: a later draft reads only the new page; the cache answers for the others.
    other = _html(server, "/other", NAME_ONLY_PAGE)
    add_items(store, "Photo Daily", [(other, "Another story")], NOW)
    draft(config, store, NOW, RecordingSink())
    found, stats = attribution.discover(
        store, [full, jsonld, missing, other], NOW, timeout=2, max_bytes=4096, concurrency=4
    )
    assert (stats.cached, stats.fetched, stats.failed) == (4, 0, 0)
    assert found[other] == PageCredits(author="Sam Okafor", author_from="meta author")
    assert missing not in found
    assert len(server.requests_to("/other")) == 1
    assert len(server.requests_to("/full")) == 1
    assert len(server.requests_to("/jsonld")) == 1
    assert len(server.requests_to("/gone")) == 1


def test_a_page_that_could_not_be_read_is_tried_again_hours_later(
    store: Store, server: FeedServer
) -> None:
    from goodwill.store.pages import RETRY_AFTER, get_pages

    def discover(at: datetime) -> tuple[dict[str, PageCredits], attribution.DiscoverStats]:
        return attribution.discover(store, [url], at, timeout=2, max_bytes=4096, concurrency=4)

    url = server.status("/blip", 503)
    found, stats = discover(NOW)
    assert url not in found and (stats.fetched, stats.failed) == (0, 1)
    # Soon after, the failure stands: the page is not asked for again.
    found, stats = discover(NOW + RETRY_AFTER / 2)
    assert url not in found and stats.cached == 1 and len(server.requests_to("/blip")) == 1
    # Hours later it is, and a success replaces the failure for good.
    _html(server, "/blip", NAME_ONLY_PAGE)
    later = NOW + RETRY_AFTER + timedelta(minutes=1)
    found, stats = discover(later)
    assert found[url] == PageCredits(author="Sam Okafor", author_from="meta author")
    assert (stats.cached, stats.fetched) == (0, 1) and len(server.requests_to("/blip")) == 2
    server.status("/blip", 503)
    found, stats = discover(later + 10 * RETRY_AFTER)
    assert found[url].author == "Sam Okafor" and stats.cached == 1
    assert get_pages(store, [url])[url] == found[url]
    assert len(server.requests_to("/blip")) == 2


def test_pages_are_bounded_in_time_and_size(server: FeedServer) -> None:
    body = b"<html>" + b" " * 100

    def drip(stopping: threading.Event) -> Iterator[bytes]:
        for i in range(len(body)):  # one byte every half second: 50 s in all
            yield body[i : i + 1]
            if stopping.wait(0.5):
                return

    slow = server.route(
        "/slow",
        Route(headers={"Content-Type": "text/html"}, chunks=drip, content_length=len(body)),
    )
    huge_head = "<html><head>" + '<meta name="twitter:creator" content="@early">' + " " * 50_000
    big = _html(server, "/big", huge_head + '<meta name="twitter:site" content="@late">')
    pdf = server.route("/doc.pdf", Route(body=b"%PDF", headers={"Content-Type": "application/pdf"}))
    results = {
        r.url: r for r in attribution.fetch_pages([slow, big, pdf], timeout=1.0, max_bytes=4096)
    }
    assert results[slow].credits is None and results[slow].error == "timed out"
    # Only the first max_bytes are read: the early mark is found, the late one is not.
    assert results[big].credits == PageCredits(x_creator="@early")
    assert results[pdf].credits is None and "not a web page" in (results[pdf].error or "")


def test_pages_waiting_for_their_host_do_not_use_up_their_time(server: FeedServer) -> None:
    body = NAME_ONLY_PAGE.encode()

    def slow(stopping: threading.Event) -> Iterator[bytes]:
        stopping.wait(0.6)  # each page takes 0.6 s; four at a time per host
        yield body

    urls = [
        server.route(
            f"/p{i}",
            Route(headers={"Content-Type": "text/html"}, chunks=slow, content_length=len(body)),
        )
        for i in range(8)
    ]
    results = attribution.fetch_pages(urls, timeout=1.0, max_bytes=4096, concurrency=8)
    # The last four wait 0.6 s for the first four, then get a whole second of their own.
    assert [r.error for r in results] == [None] * 8
    assert all(r.credits and r.credits.author == "Sam Okafor" for r in results)
    assert server.max_active <= 4


def test_queue_shows_where_each_credit_came_from_and_review_confirms_it(
    config: Config,
    store: Store,
    server: FeedServer,
    use_database: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    full = _html(server, "/full", FULL_PAGE)
    add_items(store, "Photo Daily", [(full, "Soft light for portraits")], NOW)
    draft(config, store, NOW, RecordingSink())
    cfg = ["--config", str(config.dir), "--no-prefect"]
    assert main(["queue", *cfg, "--channel", "cx", "--json"]) == 0
    [row] = json_out(capsys.readouterr().out)
    assert row["credit"] == "@janedoe" and row["credit_source"] == "page: twitter:creator"
    assert main(["queue", *cfg, "--channel", "cx"]) == 0
    human = capsys.readouterr().out
    assert "@janedoe" in human and "twitter:creator" in human

    assert main(["credit", *cfg, str(row["id"]), "--confirm", "--json"]) == 0
    confirmed = json_out(capsys.readouterr().out)
    assert confirmed["credit_source"] == "page: twitter:creator, confirmed by the owner"
    assert confirmed["credit"] == "@janedoe"

    assert main(["credit", *cfg, str(row["id"]), "--set", "Jane Doe (Photo Daily)", "--json"]) == 0
    corrected = json_out(capsys.readouterr().out)
    assert corrected["credit"] == "Jane Doe (Photo Daily)"
    assert corrected["credit_source"] == "owner (review)"
    assert "via Jane Doe (Photo Daily)" in corrected["text"]
    assert main(["credit", *cfg, str(row["id"])]) == 2  # nothing asked: usage error
