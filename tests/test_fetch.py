"""Retrieving feeds against a real local HTTP server (tests/feedserver.py)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import pytest

from goodwill.errors import FetchError
from goodwill.feeds import (
    DEFAULT_USER_AGENT,
    FeedRequest,
    RetrievedFeed,
    fetch_all,
    fetch_feeds,
)
from tests.feedserver import FeedServer

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>One</title><link>https://example.com/1</link></item></channel></rss>"""


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


def fetch_one(url: str | FeedRequest, **kwargs: object) -> RetrievedFeed | FetchError:
    request = url if isinstance(url, FeedRequest) else FeedRequest(url)
    [result] = fetch_feeds([request], **kwargs)  # type: ignore[arg-type]
    return result


def ok(result: RetrievedFeed | FetchError) -> RetrievedFeed:
    assert isinstance(result, RetrievedFeed), f"expected a feed, got {result!r}"
    return result


def failed(result: RetrievedFeed | FetchError) -> str:
    assert isinstance(result, FetchError), f"expected a FetchError, got {result!r}"
    return result.message


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_200_returns_body_validators_and_content_type(server: FeedServer) -> None:
    url = server.feed("/feed.xml", RSS, etag='"v1"', last_modified="Tue, 04 Mar 2025 09:00:00 GMT")
    feed = ok(fetch_one(url))
    assert feed.status == 200
    assert feed.body == RSS
    assert feed.url == feed.final_url == url
    assert feed.etag == '"v1"'
    assert feed.last_modified == "Tue, 04 Mar 2025 09:00:00 GMT"
    assert feed.content_type == "application/rss+xml; charset=utf-8"
    assert not feed.not_modified
    [sent] = server.requests_to("/feed.xml")
    assert sent.headers["User-Agent"] == DEFAULT_USER_AGENT
    assert "gzip" in sent.headers["Accept-Encoding"]
    assert "If-None-Match" not in sent.headers


def test_conditional_get_round_trip_with_etag(server: FeedServer) -> None:
    url = server.feed("/feed.xml", RSS, etag='"v1"', last_modified="Tue, 04 Mar 2025 09:00:00 GMT")
    first = ok(fetch_one(url))
    second = ok(fetch_one(FeedRequest(url, etag=first.etag, last_modified=first.last_modified)))
    assert second.status == 304
    assert second.not_modified
    assert second.body is None
    assert second.etag == '"v1"'
    assert second.last_modified == "Tue, 04 Mar 2025 09:00:00 GMT"
    assert server.requests_to("/feed.xml")[1].headers["If-None-Match"] == '"v1"'

    server.feed("/feed.xml", RSS + b" ", etag='"v2"')  # the feed changed
    third = ok(fetch_one(FeedRequest(url, etag=first.etag)))
    assert third.status == 200
    assert third.etag == '"v2"'


def test_conditional_get_with_last_modified_only(server: FeedServer) -> None:
    url = server.feed("/feed.xml", RSS, last_modified="Tue, 04 Mar 2025 09:00:00 GMT")
    result = ok(fetch_one(FeedRequest(url, last_modified="Tue, 04 Mar 2025 09:00:00 GMT")))
    assert result.not_modified
    assert result.etag is None
    assert result.last_modified == "Tue, 04 Mar 2025 09:00:00 GMT"
    assert server.requests[0].headers["If-Modified-Since"] == "Tue, 04 Mar 2025 09:00:00 GMT"


def test_304_without_validators_carries_the_requests_forward(server: FeedServer) -> None:
    server.status("/feed.xml", 304)
    result = ok(fetch_one(FeedRequest(server.url("/feed.xml"), etag='"old"', last_modified="x")))
    assert result.not_modified
    assert (result.etag, result.last_modified) == ('"old"', "x")


def test_gzip_body_is_decoded(server: FeedServer) -> None:
    url = server.feed("/feed.xml", RSS, gzip=True)
    assert ok(fetch_one(url)).body == RSS


def test_slow_drip_fails_at_the_deadline(server: FeedServer) -> None:
    url = server.drip("/slow.xml", RSS, interval=0.1)  # ~12 s for the whole body
    started = time.monotonic()
    message = failed(fetch_one(url, timeout=0.5))
    assert message == "timed out after 0.5 s"
    assert time.monotonic() - started < 3


def test_stalled_body_fails_at_the_deadline(server: FeedServer) -> None:
    url = server.hang("/stalled.xml", 5)
    assert failed(fetch_one(url, timeout=0.3)) == "timed out after 0.3 s"


def test_size_cap_stops_a_streamed_body(server: FeedServer) -> None:
    url = server.huge("/big.xml", 3_000_000)
    assert failed(fetch_one(url, max_bytes=1_000_000)) == "response larger than 1 MB"


def test_size_cap_uses_content_length_before_reading(server: FeedServer) -> None:
    url = server.huge("/big.xml", 50_000_000, declare_length=True)
    started = time.monotonic()
    assert failed(fetch_one(url)) == "response larger than 10 MB"
    assert time.monotonic() - started < 3


def test_gzip_bomb_is_bounded_by_decoded_size(server: FeedServer) -> None:
    url = server.gzip_bomb("/bomb.xml", 40_000_000)
    assert failed(fetch_one(url, max_bytes=5_000_000)) == "response larger than 5 MB"


def test_body_at_the_cap_is_accepted(server: FeedServer) -> None:
    url = server.feed("/feed.xml", b"x" * 1000)
    assert ok(fetch_one(url, max_bytes=1000)).body == b"x" * 1000
    assert failed(fetch_one(url, max_bytes=999)) == "response larger than 999 bytes"


def test_redirects_are_followed_and_reported(server: FeedServer) -> None:
    server.feed("/new.xml", RSS)
    server.redirect("/a", "/b", status=302)
    server.redirect("/b", server.url("/new.xml"), status=308)
    result = ok(fetch_one(server.url("/a")))
    assert result.url == server.url("/a")
    assert result.final_url == server.url("/new.xml")
    assert result.body == RSS


def test_redirect_limit(server: FeedServer) -> None:
    server.feed("/end.xml", RSS)
    for i in range(6):
        server.redirect(f"/r{i}", f"/r{i + 1}")
    server.redirect("/r6", "/end.xml")
    assert failed(fetch_one(server.url("/r0"))) == "too many redirects (more than 5)"
    assert ok(fetch_one(server.url("/r0"), max_redirects=7)).body == RSS
    assert failed(fetch_one(server.url("/r0"), max_redirects=0)) == (
        "too many redirects (more than 0)"
    )


def test_redirect_loop_is_named(server: FeedServer) -> None:
    server.redirect("/a", "/b")
    server.redirect("/b", "/a")
    assert failed(fetch_one(server.url("/a"))) == "redirect loop"
    assert len(server.requests) == 2


def test_redirect_to_another_scheme_is_refused(server: FeedServer) -> None:
    server.redirect("/a", "file:///etc/passwd")
    assert failed(fetch_one(server.url("/a"))) == (
        "unsupported URL scheme 'file': only http and https"
    )


def test_redirect_without_location(server: FeedServer) -> None:
    server.status("/a", 302)
    assert failed(fetch_one(server.url("/a"))) == "HTTP 302 Found without a Location"


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (404, "HTTP 404 Not Found"),
        (410, "HTTP 410 Gone"),
        (500, "HTTP 500 Internal Server Error"),
        (503, "HTTP 503 Service Unavailable"),
        (299, "HTTP 299"),
    ],
)
def test_http_errors(server: FeedServer, status: int, message: str) -> None:
    result = fetch_one(server.status("/x", status, b"nope"))
    if status == 299:
        assert ok(result).body == b"nope"
    else:
        assert failed(result) == message


def test_connection_refused() -> None:
    assert failed(fetch_one(f"http://127.0.0.1:{free_port()}/feed.xml")) == "connection refused"


def test_error_messages_carry_no_secrets() -> None:
    url = f"http://user:hunter2@127.0.0.1:{free_port()}/feed.xml?token=s3cret"
    message = failed(fetch_one(url))
    assert "hunter2" not in message
    assert "s3cret" not in message


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/feed.xml", "unsupported URL scheme 'ftp': only http and https"),
        ("file:///etc/passwd", "unsupported URL scheme 'file': only http and https"),
        ("javascript:alert(1)", "unsupported URL scheme 'javascript': only http and https"),
        ("not a url", "unsupported URL scheme none: only http and https"),
        ("http://", "invalid URL: no host"),
        ("http://[::1/feed", "invalid URL"),
    ],
)
def test_only_http_urls(url: str, message: str) -> None:
    assert failed(fetch_one(url)) == message


def test_one_failure_does_not_affect_the_others_and_order_is_kept(server: FeedServer) -> None:
    server.feed("/a.xml", b"A")
    server.drip("/slow.xml", b"SLOW", interval=0.05)
    server.status("/missing.xml", 404)
    server.feed("/b.xml", b"B")
    urls = [
        server.url("/slow.xml"),
        server.url("/missing.xml"),
        f"http://127.0.0.1:{free_port()}/refused.xml",
        server.url("/a.xml"),
        "gopher://example.com/",
        server.url("/b.xml"),
    ]
    done: list[str] = []
    results = fetch_feeds(
        [FeedRequest(u) for u in urls], on_done=lambda req, _res: done.append(req.url)
    )
    assert ok(results[0]).body == b"SLOW"
    assert failed(results[1]) == "HTTP 404 Not Found"
    assert failed(results[2]) == "connection refused"
    assert ok(results[3]).body == b"A"
    assert failed(results[4]).startswith("unsupported URL scheme")
    assert ok(results[5]).body == b"B"
    assert sorted(done) == sorted(urls)
    assert done[-1] == server.url("/slow.xml")  # callbacks come in completion order


def test_limit_per_host_bounds_concurrent_requests(server: FeedServer) -> None:
    for i in range(8):
        server.drip(f"/f{i}.xml", b"abc", interval=0.05)
    results = fetch_feeds(
        [FeedRequest(server.url(f"/f{i}.xml")) for i in range(8)], limit_per_host=2
    )
    assert all(ok(r).body == b"abc" for r in results)
    assert 1 <= server.max_active <= 2


def test_deadline_does_not_count_the_wait_for_a_turn(server: FeedServer) -> None:
    for i in range(4):
        server.drip(f"/f{i}.xml", b"abcd", interval=0.1)  # ~0.4 s each
    results = fetch_feeds(
        [FeedRequest(server.url(f"/f{i}.xml")) for i in range(4)],
        concurrency=1,
        timeout=1.0,
    )
    assert [ok(r).body for r in results] == [b"abcd"] * 4


def test_on_done_exception_propagates_as_itself(server: FeedServer) -> None:
    url = server.feed("/a.xml", RSS)

    def boom(_request: FeedRequest, _result: RetrievedFeed | FetchError) -> None:
        raise RuntimeError("progress bar broke")

    with pytest.raises(RuntimeError, match="progress bar broke"):
        fetch_feeds([FeedRequest(url)], on_done=boom)


def test_fetch_all_from_async_code(server: FeedServer) -> None:
    url = server.feed("/a.xml", RSS)
    results = asyncio.run(fetch_all([FeedRequest(url), FeedRequest(url)], user_agent="Test/1"))
    assert [ok(r).body for r in results] == [RSS, RSS]
    assert {r.headers["User-Agent"] for r in server.requests} == {"Test/1"}


def test_empty_request_list() -> None:
    assert fetch_feeds([]) == []


def test_invalid_limits() -> None:
    with pytest.raises(ValueError):
        fetch_feeds([], concurrency=0)


def test_admit_is_awaited_with_a_slot_held(server: FeedServer) -> None:
    """A caller that cannot keep up makes downloads wait in ``admit``; each waits holding its
    slot, so no more than ``concurrency`` downloads are ever admitted and unfinished."""
    from tests.feedserver import Route

    urls = [server.route(f"/feed/{i}.xml", Route(body=RSS)) for i in range(12)]
    admitted_open = 0
    most = 0
    finished: list[str] = []

    async def admit() -> None:
        nonlocal admitted_open, most
        admitted_open += 1
        most = max(most, admitted_open)
        await asyncio.sleep(0)  # a turn for every other task that could pile up here

    def on_done(request: FeedRequest, result: RetrievedFeed | FetchError) -> None:
        nonlocal admitted_open
        admitted_open -= 1
        finished.append(request.url)

    results = fetch_feeds(
        [FeedRequest(u) for u in urls], concurrency=3, on_done=on_done, admit=admit
    )
    assert all(isinstance(r, RetrievedFeed) for r in results)
    assert sorted(finished) == sorted(urls)
    assert 1 <= most <= 3
