"""Parsing: golden files in tests/data/feeds (each feed beside ``<file>.expected.json``), the
fallback between parsers, entity declarations, and html_to_text.

To refresh the goldens after a deliberate change, run with ``GOODWILL_REGEN_GOLDEN=1`` and review
the diff: the expected files are the specification.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fastfeedparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goodwill.errors import ParseError
from goodwill.feeds import ParsedFeed, parse_feed
from goodwill.html import (
    SUMMARY_HTML_MAX_CHARS,
    SUMMARY_MAX_CHARS,
    html_to_text,
    looks_like_html,
    summary_html,
    summary_text,
    truncate_words,
)

DATA = Path(__file__).parent / "data" / "feeds"
GOLDEN_NOW = datetime(2025, 3, 10, tzinfo=UTC)
REGEN = os.environ.get("GOODWILL_REGEN_GOLDEN") == "1"


def as_json(feed: ParsedFeed) -> dict[str, Any]:
    return {
        "title": feed.title,
        "link": feed.link,
        "entries": [
            {
                "link": e.link,
                "title": e.title,
                "author": e.author,
                "summary": e.summary,
                "published": e.published.isoformat() if e.published else None,
                "guid": e.guid,
            }
            for e in feed.entries
        ],
    }


def golden_files() -> list[Path]:
    return sorted(p for p in DATA.iterdir() if not p.name.endswith(".expected.json"))


@pytest.mark.parametrize("path", golden_files(), ids=lambda p: p.name)
def test_golden(path: Path) -> None:
    spec_path = path.with_name(path.name + ".expected.json")
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    try:
        actual: dict[str, Any] = {
            "result": as_json(
                parse_feed(
                    path.read_bytes(),
                    url=spec["url"],
                    content_type=spec["content_type"],
                    now=GOLDEN_NOW,
                )
            )
        }
    except ParseError as exc:
        actual = {"error": exc.message}
    if REGEN:
        spec = {"url": spec["url"], "content_type": spec["content_type"], **actual}
        spec_path.write_text(json.dumps(spec, indent=2, ensure_ascii=False) + "\n", "utf-8")
    expected = {k: v for k, v in spec.items() if k in ("result", "error")}
    assert actual == expected


def test_every_published_date_is_aware_utc() -> None:
    for path in golden_files():
        spec = json.loads(path.with_name(path.name + ".expected.json").read_text("utf-8"))
        if "error" in spec:
            continue
        feed = parse_feed(path.read_bytes(), url=spec["url"], now=GOLDEN_NOW)
        for entry in feed.entries:
            if entry.published is not None:
                assert entry.published.utcoffset() is not None
                assert entry.published.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_feedparser_takes_over_when_fastfeedparser_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    body = (DATA / "rss2.xml").read_bytes()
    url = "https://studio.example.com/feeds/rss2.xml"
    fast = parse_feed(body, url=url, now=GOLDEN_NOW)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise ValueError("simulated fastfeedparser failure")

    monkeypatch.setattr(fastfeedparser, "parse", broken)
    slow = parse_feed(body, url=url, now=GOLDEN_NOW)
    # Same feed, read by the other parser: the normalised fields agree.
    assert [(e.link, e.title, e.author, e.published) for e in slow.entries] == [
        (e.link, e.title, e.author, e.published) for e in fast.entries
    ]
    assert [e.summary for e in slow.entries] == [e.summary for e in fast.entries]
    assert slow.title == fast.title


def test_feedparser_is_asked_when_fastfeedparser_finds_no_entries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = (DATA / "atom.xml").read_bytes()
    monkeypatch.setattr(fastfeedparser, "parse", lambda *_a, **_k: {"feed": {}, "entries": []})
    feed = parse_feed(body, url="https://photos.example.org/blog/atom.xml", now=GOLDEN_NOW)
    assert [e.link for e in feed.entries][:2] == [
        "https://photos.example.org/blog/two-light-recipe",
        "https://photos.example.org/guides/grading-skin",
    ]


def _rss(items: str, encoding: str = "utf-8") -> str:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel><title>T</title>'
        f"<link>https://news.example/</link>{items}</channel></rss>"
    )


def test_a_broken_feed_is_read_by_feedparser_which_keeps_its_text() -> None:
    # lxml's recover mode (fastfeedparser's fallback) drops the text after a stray "&" and the
    # items after an unclosed tag; feedparser's loose parser keeps both.
    body = _rss(
        "<item><title>Lights & shadows</title><link>https://news.example/a?x=1&y=2</link></item>"
        "<item><title>Second <b>story</title><link>https://news.example/b</link></item>"
        "<item><title>Third story</title><link>https://news.example/c</link></item>"
    ).encode()
    feed = parse_feed(body, url="https://news.example/feed", now=GOLDEN_NOW)
    assert feed.entries[0].title == "Lights & shadows"
    assert feed.entries[0].link == "https://news.example/a?x=1&y=2"
    assert [e.link for e in feed.entries][1:] == [
        "https://news.example/b",
        "https://news.example/c",
    ]


def test_only_what_fastfeedparser_recovered_is_checked_for_well_formedness(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from goodwill.feeds import parse as feed_parse

    checked: list[bytes] = []
    real_check = feed_parse._is_well_formed

    def counting(body: bytes) -> bool:
        checked.append(body)
        return real_check(body)

    monkeypatch.setattr(feed_parse, "_is_well_formed", counting)
    item = "<item><title>Caf\u00e9 light</title><link>https://news.example/a</link></item>"
    # Well-formed UTF-8: fastfeedparser's native extractor reads it strictly; nothing to check.
    utf8 = parse_feed(_rss(item).encode(), url="https://news.example/feed", now=GOLDEN_NOW)
    assert checked == [], "fastfeedparser's native extractor was not seen reading the feed"
    # Latin-1: the native extractor declines it, lxml reads it, and the check runs.
    latin = _rss(item, "iso-8859-1").encode("latin-1")
    assert parse_feed(latin, url="https://news.example/feed", now=GOLDEN_NOW) == utf8
    assert checked == [latin]


def test_feed_behind_a_plain_text_notice() -> None:
    body = (
        b"Notice: cache rebuilt in 0.2 s\n<?xml version='1.0'?><rss version='2.0'><channel>"
        b"<item><title>Still here</title><link>https://t.example.com/1</link></item>"
        b"</channel></rss>"
    )
    feed = parse_feed(body, url="https://t.example.com/feed")
    assert [(e.title, e.link) for e in feed.entries] == [("Still here", "https://t.example.com/1")]


def test_empty_feed_is_a_feed_not_an_error() -> None:
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title></channel></rss>'
    feed = parse_feed(body, url="https://q.example.com/feed")
    assert feed == ParsedFeed(title="Quiet", link=None, entries=[])


def test_a_body_naming_a_local_file_is_not_read() -> None:
    # feedparser.parse(bytes) would open a file of that name; parse_feed never lets it.
    target = DATA / "rss2.xml"
    with pytest.raises(ParseError, match="not a feed"):
        parse_feed(str(target).encode(), url="https://example.com/feed")


def test_entity_expansion_is_refused_fast() -> None:
    body = (DATA / "billion-laughs.xml").read_bytes()
    started = time.monotonic()
    with pytest.raises(ParseError, match="feed declares XML entities"):
        parse_feed(body, url="https://example.com/feed")
    assert time.monotonic() - started < 0.5


def test_entity_declarations_in_utf16_are_seen() -> None:
    body = (
        (DATA / "external-entity.xml")
        .read_text("utf-8")
        .replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>')
    )
    for codec in ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"):
        encoded = body.replace("UTF-16", codec.upper()).encode(codec)
        with pytest.raises(ParseError, match="feed declares XML entities"):
            parse_feed(encoded, url="https://example.com/feed")


def test_json_feed_with_a_byte_order_mark() -> None:
    body = b"\xef\xbb\xbf" + (DATA / "feed.json").read_bytes()
    feed = parse_feed(body, url="https://craft.example.com/feed.json")
    assert feed.title == "Wedding Craft (JSON)"
    assert len(feed.entries) == 2


def test_utf16_feed_parses() -> None:
    body = (
        '<?xml version="1.0" encoding="UTF-16"?><rss version="2.0"><channel><title>Wide</title>'
        "<item><title>Ünïcode</title><link>https://w.example.com/1</link></item></channel></rss>"
    )
    feed = parse_feed(body.encode("utf-16"), url="https://w.example.com/feed")
    assert [(e.title, e.link) for e in feed.entries] == [("Ünïcode", "https://w.example.com/1")]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty body"),
        (b"   \r\n", "empty body"),
        (b"\xef\xbb\xbf", "not a feed: no XML or JSON in the body"),
        (b"<html><body>hi</body></html>", "not a feed: looks like an HTML page"),
        (b"<div>fragment</div>", "not a feed: looks like an HTML page"),
        (b"[1, 2, 3]", "not a feed: JSON but not a JSON Feed"),
        (b'{"items": [1, 2]}', "not a feed: JSON but not a JSON Feed"),
        (b"{not json", "not a feed: JSON but not a JSON Feed"),
        (b"<foo><bar/></foo>", "not a feed: an XML document of type <foo>"),
        (b"Licence text, mail <me@example.com>", "not a feed: no XML or JSON in the body"),
        (b"<rss", "malformed feed: neither RSS, Atom nor RDF could be read from it"),
    ],
)
def test_not_a_feed(body: bytes, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_feed(body, url="https://example.com/feed")
    assert caught.value.message == message
    assert "\n" not in caught.value.message


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_give_a_feed_or_parse_error(body: bytes) -> None:
    try:
        result = parse_feed(body, url="https://example.com/feed")
    except ParseError:
        return
    assert isinstance(result, ParsedFeed)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "<rss>",
                "</rss>",
                "<channel>",
                "</channel>",
                "<item>",
                "</item>",
                "<title>",
                "</title>",
                "<link>",
                "</link>",
                "<pubDate>",
                "</pubDate>",
                "&amp;",
                "&lt;",
                "<",
                "]]>",
                "<![CDATA[",
                "x",
                " ",
                "https://e.example/a",
                "<feed>",
                "<entry>",
                "<!DOCTYPE rss>",
                "<!ENTITY",
                "Mon, 99 Foo 2025",
                "\x00",
                "é",
            ]
        ),
        max_size=60,
    )
)
def test_feed_shaped_garbage_gives_a_feed_or_parse_error(parts: list[str]) -> None:
    body = "".join(parts).encode("utf-8")
    try:
        feed = parse_feed(body, url="https://example.com/feed")
    except ParseError:
        return
    for entry in feed.entries:
        assert entry.link is None or entry.link.startswith(("http://", "https://"))
        assert entry.published is None or entry.published.tzinfo is not None


# --- html_to_text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("", ""),
        ("plain", "plain"),
        ("<p>One</p><p>Two</p>", "One Two"),
        ("Ca<b>non</b> R5", "Canon R5"),
        ("a<br>b<br/>c", "a b c"),
        ("AT&amp;T &lt;3 &eacute;t&eacute;&nbsp;!", "AT&T <3 été !"),
        ("&lt;b&gt;escaped markup stays text&lt;/b&gt;", "<b>escaped markup stays text</b>"),
        ("f/1.4 < f/2 > f/4", "f/1.4 < f/2 > f/4"),
        ("<script>var a = '<p>';</script>Hi", "Hi"),
        ("<STYLE type='text/css'>p{}</STYLE>Hi", "Hi"),
        ("x<!-- hidden <b>comment</b> -->y", "x y"),
        ("<img alt='a > b' src='x.jpg'>Caption", "Caption"),
        ('<a href="x" title="1 > 0">link</a>', "link"),
        ("Read more <a href=", "Read more"),
        ("unclosed <script> runs to the end", "unclosed"),
        ("<p>Line\n\n\tbreaks   collapse</p>", "Line breaks collapse"),
        ("ctrl\x00\x07chars", "ctrlchars"),
        ("<![CDATA[inner]]> text", "inner text"),
        ("<p>broken <b>nesting</p></b> ok", "broken nesting ok"),
        ("Use <3 and <- arrows", "Use <3 and <- arrows"),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_html_to_text_max_chars_cuts_at_a_word() -> None:
    assert html_to_text("<p>one two three four</p>", max_chars=12) == "one two…"
    assert html_to_text("short", max_chars=12) == "short"
    assert len(html_to_text("x" * 50, max_chars=10)) == 10


# --- summaries: kept as HTML, read as text -------------------------------------------------------

_MARKUP = st.sampled_from(
    [
        *("<p>", "</p>", "<br>", "<a href='javascript:x'>", "</a>", "<script>", "</script>"),
        *("<!--", "-->", "<![CDATA[", "]]>", "&amp;", "&lt;b&gt;", "&", "<", ">"),
        *(" ", "\n", "word", "été"),
    ]
)
_FRAGMENTS = st.lists(_MARKUP, max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(_FRAGMENTS, st.integers(min_value=1, max_value=400))
def test_a_kept_summary_reads_as_the_text_of_the_feed_html(fragment: str, times: int) -> None:
    """What ``summary_html`` keeps, short fragments as written and whole articles as escaped
    text, reads back as exactly the text the feed's HTML makes: nothing gained or lost by
    keeping HTML instead of text."""
    raw = fragment * times
    kept = summary_html(raw)
    assert summary_text(kept) == html_to_text(raw, SUMMARY_MAX_CHARS)
    if len(raw) <= SUMMARY_HTML_MAX_CHARS:
        assert kept == raw
    else:  # made text at once, escaped: no markup kept, and small
        assert "<" not in kept and len(kept) <= 5 * SUMMARY_MAX_CHARS


def test_an_entrys_summary_is_kept_as_html_and_read_as_text() -> None:
    article = "<p>" + "A long paragraph of a whole article. " * 200 + "</p>"
    body = (
        '<rss version="2.0"><channel><title>T</title>'
        "<item><title>Short</title><link>https://example.com/1</link>"
        "<description>&lt;p&gt;Hi &lt;script&gt;alert(1)&lt;/script&gt;"
        "&lt;a href='javascript:x'&gt;there&lt;/a&gt;&lt;/p&gt;</description></item>"
        "<item><title>Long</title><link>https://example.com/2</link>"
        f"<description><![CDATA[{article}]]></description></item>"
        "</channel></rss>"
    ).encode()
    short, long = parse_feed(body, url="https://example.com/feed").entries
    assert (
        short.summary_html == "<p>Hi <script>alert(1)</script><a href='javascript:x'>there</a></p>"
    )
    assert short.summary == "Hi there"
    assert "<" not in long.summary_html and len(long.summary_html) <= SUMMARY_MAX_CHARS
    assert long.summary == html_to_text(article, SUMMARY_MAX_CHARS)
    assert long.summary.endswith("…")


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("one two three", 13, "one two three"),
        ("one two three", 12, "one two…"),
        ("one two, three", 9, "one two…"),
        ("abcdefghij", 5, "abcd…"),
        ("abc", 1, "…"),
        ("abc", 0, ""),
    ],
)
def test_truncate_words(text: str, limit: int, expected: str) -> None:
    assert truncate_words(text, limit) == expected
    assert len(truncate_words(text, limit)) <= max(limit, 0)


@pytest.mark.parametrize(
    ("text", "is_html"),
    [
        ("Use the <picture> element", False),
        ("f/1.4 < f/2", False),
        ("<b>Bold</b> move", True),
        ("Line<br>break", True),
        ("Tom &amp; Jerry", True),
        ("Tom & Jerry", False),
    ],
)
def test_looks_like_html(text: str, is_html: bool) -> None:
    assert looks_like_html(text) is is_html


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=500), st.one_of(st.none(), st.integers(min_value=0, max_value=100)))
def test_html_to_text_never_raises_and_respects_the_limit(text: str, limit: int | None) -> None:
    out = html_to_text(text, limit)
    assert out == out.strip()
    assert "  " not in out
    if limit is not None:
        assert len(out) <= limit


@pytest.mark.parametrize(
    "hostile",
    [
        "<" + "a" * 200_000,
        "<a " * 100_000,
        '<a x="' * 100_000,
        "<script " * 100_000,
        "<!--" * 100_000,
        "<a" + " b='c'" * 50_000,
        "&" * 200_000,
    ],
    ids=["long-name", "many-opens", "open-quotes", "script-opens", "comments", "attrs", "amps"],
)
def test_html_to_text_is_linear_on_hostile_input(hostile: str) -> None:
    started = time.monotonic()
    html_to_text(hostile)
    assert time.monotonic() - started < 1.0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
json_items = st.dictionaries(
    st.sampled_from(
        [
            "id",
            "url",
            "title",
            "summary",
            "content_html",
            "content_text",
            "date_published",
            "date_modified",
            "author",
            "authors",
            "tags",
            "attachments",
            "image",
        ]
    ),
    json_values,
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["title", "home_page_url", "authors", "description", "icon"]),
        json_values,
        max_size=4,
    ),
    st.one_of(st.lists(json_items | json_values, max_size=4), json_values),
)
def test_any_json_feed_shape_gives_a_feed_or_parse_error(feed: dict[str, Any], items: Any) -> None:
    body = json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", **feed, "items": items}
    ).encode()
    try:
        parsed = parse_feed(body, url="https://example.com/feed.json")
    except ParseError:
        return
    for entry in parsed.entries:
        assert isinstance(entry.title, str) and isinstance(entry.summary, str)


_HTML_PIECES = st.lists(
    st.sampled_from(
        [
            "<p>",
            "</p>",
            "<br>",
            "<a href='x>y'>",
            "</a>",
            "<em>",
            "</em>",
            "<script>",
            "</script>",
            "<!--",
            "-->",
            "<![CDATA[",
            "]]>",
            "&amp;",
            "&lt;b&gt;",
            "&#8217;",
            "&#1;",
            "<",
            ">",
            "<a",
            "<img src=",
            "\x00",
            "\x0b",
            "\x1f",
            "\x7f",
            "\t",
            "\n",
            "\r",
            " ",
            "\xa0",
            "\x85",
            "\u3000",
            "  ",
            "&nbsp;",
            "\u2028",
            "\ud800",
            "é",
            "word",
            "two words",
            "\u200b",
            '"',
            "'",
            "<P>",
            '<Div class="a">',
        ]
    ),
    max_size=30,
).map("".join)


def _html_to_text_reference(s: str, max_chars: int | None) -> str:
    """html_to_text as first written: every regex over the whole text (the oracle for the
    faster version)."""
    import html as html_module

    from goodwill import html as h

    if not s:
        return ""
    if "<" in s:
        s = h._RE_COMMENT.sub(" ", s)
        s = h._RE_HIDDEN.sub(" ", s)
        if "<![" in s:
            s = h._RE_CDATA.sub(r"\1", s)
        s = h._RE_TAG.sub(
            lambda m: " " if m.group(1) and m.group(1).lower() in h._BLOCK_TAGS else "", s
        )
        s = h._RE_TRAILING_TAG.sub("", s)
    if "&" in s:
        s = html_module.unescape(s)
    s = h._RE_CONTROL.sub("", s)
    s = " ".join(s.split())
    return h.truncate_words(s, max_chars) if max_chars is not None else s


@settings(max_examples=3000, deadline=None)
@given(st.one_of(_HTML_PIECES, st.text(max_size=60)), st.sampled_from([None, 5, 40]))
def test_html_to_text_agrees_with_the_plain_version(text: str, max_chars: int | None) -> None:
    assert html_to_text(text, max_chars) == _html_to_text_reference(text, max_chars)
