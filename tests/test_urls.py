"""Canonical URLs: one table of cases, and properties that hold for any input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goodwill.urls import TRACKING_PARAMS, canonical_url, is_tracking_param

CASES = [
    # scheme and host lowercased, default ports dropped, empty path is "/"
    ("HTTPS://Example.COM/Path", "https://example.com/Path"),
    ("http://example.com:80/a", "http://example.com/a"),
    ("https://example.com:443", "https://example.com/"),
    ("https://example.com:8443/a", "https://example.com:8443/a"),
    ("http://example.com:443/a", "http://example.com:443/a"),
    ("https://example.com.", "https://example.com/"),
    # fragments dropped, empty "?" dropped
    ("https://example.com/a#comments", "https://example.com/a"),
    ("https://example.com/a?", "https://example.com/a"),
    ("https://example.com/a?#top", "https://example.com/a"),
    # tracking parameters dropped, the others kept in order and spelling
    ("https://example.com/a?utm_source=rss&utm_medium=feed", "https://example.com/a"),
    ("https://example.com/a?b=2&utm_campaign=x&a=1", "https://example.com/a?b=2&a=1"),
    ("https://example.com/a?UTM_Source=x&id=5", "https://example.com/a?id=5"),
    ("https://example.com/a?fbclid=IwAR0&gclid=1&dclid=2&msclkid=3", "https://example.com/a"),
    ("https://example.com/a?mc_cid=1&mc_eid=2&igshid=3&ref_src=twsrc", "https://example.com/a"),
    ("https://example.com/a?_hsenc=1&_hsmi=2&yclid=3&spm=4&cmpid=5", "https://example.com/a"),
    ("https://example.com/a?ref=home&page=2", "https://example.com/a?ref=home&page=2"),
    ("https://example.com/a?q=a%20b&utm_term=x", "https://example.com/a?q=a%20b"),
    ("https://example.com/a?x=1&&y=2", "https://example.com/a?x=1&y=2"),
    ("https://example.com/a?flag&utm_id=3", "https://example.com/a?flag"),
    ("https://example.com/a?utm_source", "https://example.com/a"),
    # IDN hosts to punycode; non-ASCII paths percent-encoded, existing escapes kept
    ("https://bücher.example/", "https://xn--bcher-kva.example/"),
    ("https://BÜCHER.example/x", "https://xn--bcher-kva.example/x"),
    ("https://example.com/café", "https://example.com/caf%C3%A9"),
    ("https://example.com/caf%C3%A9", "https://example.com/caf%C3%A9"),
    ("https://example.com/a b", "https://example.com/a%20b"),
    # credentials never survive
    ("https://user:secret@example.com/a", "https://example.com/a"),
    # IP literals
    ("http://127.0.0.1:8080/feed", "http://127.0.0.1:8080/feed"),
    ("http://[::1]:8080/feed", "http://[::1]:8080/feed"),
    ("http://[2001:DB8::1]/", "http://[2001:db8::1]/"),
    # whitespace around and tabs/newlines inside are removed (as browsers do)
    ("  https://example.com/a\n", "https://example.com/a"),
    ("https://exa\tmple.com/a", "https://example.com/a"),
    # not http(s), no host, or not a URL at all
    ("javascript:alert(1)", None),
    ("JavaScript:alert(1)", None),
    ("data:text/html,<b>x</b>", None),
    ("mailto:someone@example.com", None),
    ("ftp://example.com/file", None),
    ("file:///etc/passwd", None),
    ("https://", None),
    ("http:///path-only", None),
    ("/relative/path", None),
    ("//cdn.example.com/a", None),
    ("", None),
    ("   ", None),
    ("http://exa mple.com/", None),
    ("http://example.com:99999/", None),
    ("http://example.com:port/", None),
    ("http://[::1/", None),
    ("http://a..b/", None),
]


@pytest.mark.parametrize(("url", "expected"), CASES, ids=[c[0] or "<empty>" for c in CASES])
def test_canonical_url(url: str, expected: str | None) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("/a?utm_source=x", "https://Site.example/feed/", "https://site.example/a"),
        ("b", "https://site.example/feed/", "https://site.example/feed/b"),
        ("../b", "https://site.example/feed/rss.xml", "https://site.example/b"),
        ("//cdn.example.com/a", "https://site.example/", "https://cdn.example.com/a"),
        ("https://other.example/x", "https://site.example/", "https://other.example/x"),
        ("javascript:void(0)", "https://site.example/", None),
        ("", "https://site.example/", None),
    ],
)
def test_canonical_url_with_base(url: str, base: str, expected: str | None) -> None:
    assert canonical_url(url, base) == expected


def test_tracking_list_is_one_lowercase_constant() -> None:
    assert all(name == name.lower() for name in TRACKING_PARAMS)
    assert is_tracking_param("utm_anything")
    assert is_tracking_param("FBCLID")
    assert not is_tracking_param("id")
    assert not is_tracking_param("ref")


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=200))
def test_canonical_url_never_raises(text: str) -> None:
    result = canonical_url(text)
    assert result is None or result.startswith(("http://", "https://"))


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["http", "https", "HTTP"]),
    st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z]{2,5}){1,2}", fullmatch=True),
    st.from_regex(r"(/[A-Za-z0-9._~-]{0,8}){0,4}", fullmatch=True),
    st.lists(
        st.tuples(
            st.sampled_from(["id", "page", "utm_source", "fbclid", "q", "ref"]),
            st.from_regex(r"[a-z0-9]{0,5}", fullmatch=True),
        ),
        max_size=5,
    ),
)
def test_canonical_url_is_idempotent_and_strips_tracking(
    scheme: str, host: str, path: str, params: list[tuple[str, str]]
) -> None:
    query = "&".join(f"{k}={v}" for k, v in params)
    url = f"{scheme}://{host}{path}" + (f"?{query}" if query else "")
    once = canonical_url(url)
    assert once is not None
    assert canonical_url(once) == once
    assert "utm_source" not in once and "fbclid" not in once
    kept = [f"{k}={v}" for k, v in params if k not in ("utm_source", "fbclid")]
    assert once.endswith("?" + "&".join(kept)) if kept else "?" not in once


# URL-ish text: the characters that decide which path a URL takes and what it becomes.
_URL_PIECES = st.lists(
    st.sampled_from(
        [
            "http",
            "https",
            "HTTP",
            "://",
            "/",
            "//",
            "?",
            "&",
            "=",
            "#",
            ".",
            "..",
            ":",
            "@",
            "%",
            "%20",
            "%zz",
            " ",
            "\t",
            "[",
            "]",
            "\\",
            "a",
            "B",
            "0",
            "-",
            "_",
            "~",
            "é",
            "xn--",
            "utm_",
            "utm_source=x",
            "fbclid=1",
            "id=2",
            "example",
            "com",
            ":80",
            ":443",
            ":8080",
            "'",
            "(",
            "!",
            "$",
            "*",
            "+",
            ",",
            ";",
            "|",
            "^",
            "`",
            '"',
            "<",
            ">",
            "{",
            "}",
            "\u3002",
        ]
    ),
    max_size=14,
).map("".join)


@settings(max_examples=3000, deadline=None)
@given(_URL_PIECES, st.sampled_from([None, "https://base.example/dir/feed.xml"]))
def test_fast_path_agrees_with_the_general_one(text: str, base: str | None) -> None:
    """Most feed links take a regex fast path; it must give exactly what urlsplit gives."""
    from goodwill.urls import _RE_TAB_NEWLINE, _canonical_url_general

    stripped = _RE_TAB_NEWLINE.sub("", text).strip()
    expected = _canonical_url_general(stripped, base) if stripped else None
    assert canonical_url(text, base) == expected
    for prefix in ("http://", "https://", "http://example.com", "https://a-b.example.org"):
        url = prefix + text
        assert canonical_url(url, base) == _canonical_url_general(
            _RE_TAB_NEWLINE.sub("", url).strip(), base
        )
