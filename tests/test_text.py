"""Exact lengths per network, shortening and fitting (goodwill.text)."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import pytest
import regex
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from goodwill.errors import DraftError
from goodwill.text import (
    bluesky_facets,
    escape_linkedin,
    find_urls,
    fit,
    length,
    limit,
    shorten,
)

NETWORKS = ["x", "mastodon", "bluesky", "linkedin", "facebook", "outbox"]
ELLIPSIS = "\u2026"

FAMILY = (
    "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # man ZWJ woman ZWJ girl ZWJ boy
)
FLAG_JP = "\U0001f1ef\U0001f1f5"
NOT_A_FLAG = "\U0001f1e6\U0001f1e6"  # two regional indicators that name no country
WAVE_MEDIUM = "\U0001f44b\U0001f3fd"  # waving hand + medium skin tone
KEYCAP_ONE = "1\ufe0f\u20e3"
HEALTH_WORKER = "\U0001f468\u200d\u2695\ufe0f"  # fully qualified ZWJ sequence
HEALTH_WORKER_BARE = "\U0001f468\u200d\u2695"  # same without VS16: not one emoji to twitter-text
ENGLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
CAMERA = "\U0001f4f8"
E_ACUTE = "\u00e9"
E_DECOMPOSED = "e\u0301"
LONG_URL = "https://petapixel.com/2025/01/10/how-wedding-photographers-price-their-packages/?utm_source=rss"


def test_limits_per_network() -> None:
    assert {n: limit(n) for n in NETWORKS} == {
        "x": 280,
        "mastodon": 500,
        "bluesky": 300,
        "linkedin": 3000,
        "facebook": 63206,
        "outbox": 63206,
    }


@pytest.mark.parametrize("call", [lambda: limit("myspace"), lambda: length("hi", "myspace")])
def test_unknown_network_is_a_one_line_value_error_naming_the_known_ones(
    call: Callable[[], object],
) -> None:
    with pytest.raises(ValueError) as excinfo:
        call()
    message = str(excinfo.value)
    assert "\n" not in message
    assert "myspace" in message
    for network in NETWORKS:
        assert network in message


# Cases from twitter-text's conformance/validate.yml (WeightedTweetsWithDiscountedEmojiCounterTest
# and lengths, v3 config), then our own for the rules that matter to Goodwill.
X_CASES = [
    ("This is a test.", 15),
    ("Hi http://test.co", 26),
    ("http://test.co", 23),
    ("https://test.com", 23),
    ("test.com", 23),
    ("Test https://test.com test https://test.com test.com test", 86),
    ("\U00010000\U0010ffff", 4),
    ("\uc800\ucc40\ucbff\ucfff", 8),
    ("285 chars- http://www.twitter.com/jack " + "xxxxxxxxxx-" * 24, 299),
    ("https://www.twitter.com/aloha " * 10, 240),
    ("\u00c1B", 2),
    ("A\ufb2c", 4),  # NFC decomposes the presentation form into three Hebrew code points
    (f"H\U0001f431\u263a{FAMILY}", 7),
    ("\U0001f637\U0001f47e\U0001f621\U0001f525\U0001f4a9", 10),
    ("\U0001f64b\U0001f3fd\U0001f468\u200d\U0001f3a4", 4),
    (FAMILY * 140, 280),
    (f"Unicode 10.0 emoji: \U0001f92a; \U0001f9d5; \U0001f9d5\U0001f3fe; {ENGLAND}", 34),
    ("Unicode 9.0 emoji: \U0001f920; \U0001f483; \U0001f483\U0001f3fe", 29),
    (
        "This is a tweet with general punctuation characters: "
        "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u200b "
        "\u2010 \u2011 \u2012 \u2013 \u2014 \u2015 \u2016  \u2017 \u2018 \u2019 \u201a \u201b "
        "\u201c \u201d \u201e \u201f \u2032 \u2033 \u2034 \u2035 \u2036 \u2037",
        110,
    ),
    ("randomurlrandomurlrandomurlrandomurlrandomurlrandomurlrandomurls.com", 68),
    ("ABC\u202a\uffffABC\ufffe", 12),
    ("\u2066\u202ahttp://foobar.\u067e\u0627\u06a9\u0633\u062a\u0627\u0646/\u202c\u2069", 31),
    ("\u3042" * 10 + " http://" + "\u3042\u3044" * 27 + ".com", 20 + 1 + 23),
    # Ours.
    ("plain ascii", 11),
    (f"caf{E_ACUTE}", 4),
    (f"caf{E_DECOMPOSED}", 4),
    ("\u65e5\u672c\u8a9e", 6),  # CJK weighs 2 each
    ("\ud55c\uad6d\uc5b4", 6),  # so does Hangul
    ("\u0417\u0434\u0440\u0430\u0432\u0441\u0442\u0432\u0443\u0439", 10),  # Cyrillic is light
    (FAMILY, 2),
    (FLAG_JP, 2),
    (NOT_A_FLAG, 4),
    (WAVE_MEDIUM, 2),
    (KEYCAP_ONE, 2),
    (ENGLAND, 2),
    (HEALTH_WORKER, 2),
    (HEALTH_WORKER_BARE, 5),
    ("\u00a9\ufe0f", 2),  # an emoji
    ("\u00ae", 2),  # Java twitter-text: 1, twemoji: an emoji (2); the higher price wins
    ("\u00a8\u00aa\u00ad\u00af", 4),  # its neighbours are light
    ("\u2026", 2),  # the ellipsis is not in a light range
    ("a\r\nb", 4),  # twitter-text counts CR and LF
    ("https://x.co", 23),
    (f"read {LONG_URL}", 5 + 23),
    ("https://example.com/search?q=wedding+photos&page=2", 23),
    ("see example.com/path. ok", 4 + 23 + 4),
    ("see www.example.de now", 4 + 23 + 4),
    ("https://t.co/abc123/extra", 23 + len("/extra")),
    ("http://192.168.0.1/index.html", len("http://192.168.0.1/index.html")),
    ("https://" + "a" * 64 + ".com/x", len("https://" + "a" * 64 + ".com/x")),
    ("xhttps://example.com", 20),  # no valid character before the link: plain text
]


@pytest.mark.parametrize(("text", "expected"), X_CASES)
def test_x_weighted_length(text: str, expected: int) -> None:
    assert length(text, "x") == expected


@pytest.mark.parametrize(
    "text",
    [
        "example.de",  # JS twitter-text: 10 characters; Java twitter-text: a link (23)
        "http://1.2.3.4",  # not a link to twitter-text, but one to a reader: 14 or 23
        "http://a.brandnewtld",  # a TLD newer than our list: X may well link it
    ],
)
def test_x_charges_disputed_links_the_higher_price(text: str) -> None:
    assert length(text, "x") == 23


def test_x_text_exactly_at_the_limit_and_one_over() -> None:
    at_limit = f"{LONG_URL} " + "a" * (280 - 24)
    assert length(at_limit, "x") == 280
    assert length(at_limit + "b", "x") == 281
    assert length("\u6f22" * 140, "x") == 280
    assert length("\u6f22" * 140 + "a", "x") == 281


MASTODON_CASES = [
    ("plain ascii", 11),
    (f"caf{E_DECOMPOSED}", 4),
    ("\u65e5\u672c\u8a9e", 3),
    (FAMILY, 1),
    (FLAG_JP, 1),
    (WAVE_MEDIUM, 1),
    (KEYCAP_ONE, 1),
    ("a\r\nb", 3),
    ("https://x.co", 23),
    (LONG_URL, 23),
    (f"{LONG_URL}. More", 23 + 6),
    ("https://example.com/a=", 23 + 1),  # Mastodon does not end a path on "="
    ("example.com/path", len("example.com/path")),  # no protocol, no link
    ("via @petapixel@mastodon.social", len("via @petapixel")),
    ("hi @alice and @bob@example.org!", len("hi @alice and @bob!")),
    ("mail me: someone@example.com", len("mail me: someone@example.com")),
    ("@user@example.com@x", len("@user@example.com@x")),  # not a mention: counted whole
    (f"{LONG_URL}/@someone@example.social", 23),  # the mention is inside the link
]


@pytest.mark.parametrize(("text", "expected"), MASTODON_CASES)
def test_mastodon_length(text: str, expected: int) -> None:
    assert length(text, "mastodon") == expected


BLUESKY_CASES = [
    ("plain ascii", 11),
    (f"caf{E_ACUTE} caf{E_DECOMPOSED}", 9),
    ("\u65e5\u672c\u8a9e", 3),
    (FAMILY + FLAG_JP + WAVE_MEDIUM + KEYCAP_ONE, 4),
    ("a\r\nb", 3),
    (LONG_URL, len(LONG_URL)),
]


@pytest.mark.parametrize(("text", "expected"), BLUESKY_CASES)
def test_bluesky_counts_graphemes_and_whole_links(text: str, expected: int) -> None:
    assert length(text, "bluesky") == expected


@pytest.mark.parametrize("network", ["linkedin", "facebook", "outbox"])
def test_character_networks_count_code_points_after_nfc(network: str) -> None:
    assert length(f"caf{E_DECOMPOSED}", network) == 4
    assert length(f"caf{E_ACUTE}", network) == 4
    assert length(LONG_URL, network) == len(LONG_URL)
    assert length(FLAG_JP, network) == 2


@pytest.mark.parametrize("network", NETWORKS)
def test_composed_and_decomposed_count_the_same(network: str) -> None:
    composed = f"Cr{E_ACUTE}me br{E_ACUTE}l{E_ACUTE}e \u00e0 la Fran\u00e7aise"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert length(decomposed, network) == length(composed, network)


# --- find_urls and Bluesky facets ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "urls"),
    [
        ("no links here, just example.com", []),
        ("Read https://example.com/a.", ["https://example.com/a"]),
        ("(see https://example.com/a), then", ["https://example.com/a"]),
        ("https://en.wikipedia.org/wiki/Foo_(bar) ok", ["https://en.wikipedia.org/wiki/Foo_(bar)"]),
        (
            "two: http://a.example/x?y=1&z=2, https://b.example!",
            ["http://a.example/x?y=1&z=2", "https://b.example"],
        ),
        ("\u201chttps://example.com/q\u201d", ["https://example.com/q"]),
        ("ftp://example.com and xhttps://example.com", []),
        ("cut https://example.com/path\u2026", ["https://example.com/path"]),
    ],
)
def test_find_urls(text: str, urls: list[str]) -> None:
    found = find_urls(text)
    assert [u for _, _, u in found] == urls
    for start, end, url in found:
        assert text[start:end] == url


def test_bluesky_facets_use_utf8_byte_offsets() -> None:
    text = f"Caf{E_ACUTE} {CAMERA}{FAMILY} \u65e5\u672c https://example.com/\u00e9t\u00e9?x=1. and http://b.example"
    facets = bluesky_facets(text)
    raw = text.encode("utf-8")
    assert [f["features"][0]["uri"] for f in facets] == [
        "https://example.com/\u00e9t\u00e9?x=1",
        "http://b.example",
    ]
    first = facets[0]["index"]
    assert first["byteStart"] == len(f"Caf{E_ACUTE} {CAMERA}{FAMILY} \u65e5\u672c ".encode())
    for facet in facets:
        index, feature = facet["index"], facet["features"][0]
        assert feature["$type"] == "app.bsky.richtext.facet#link"
        assert raw[index["byteStart"] : index["byteEnd"]].decode("utf-8") == feature["uri"]


def test_bluesky_facets_empty_without_links() -> None:
    assert bluesky_facets("nothing to see at example.com") == []


# --- LinkedIn ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("plain words, stay.", "plain words, stay."),
        ("\\", "\\\\"),
        (
            "a|b{c}d@e[f]g(h)i<j>k#l*m_n~o",
            "a\\|b\\{c\\}d\\@e\\[f\\]g\\(h\\)i\\<j\\>k\\#l\\*m\\_n\\~o",
        ),
        ("\\#tag", "\\\\\\#tag"),  # the backslash is escaped once, then the hash
        ("via @petapixel #photo", "via \\@petapixel \\#photo"),
    ],
)
def test_escape_linkedin(text: str, escaped: str) -> None:
    assert escape_linkedin(text) == escaped


# --- shorten -------------------------------------------------------------------------------


@pytest.mark.parametrize("network", NETWORKS)
def test_shorten_returns_text_that_fits_unchanged(network: str) -> None:
    text = f"Cr{E_DECOMPOSED}me {FAMILY} {LONG_URL}"
    assert shorten(text, length(text, network), network) == text


@pytest.mark.parametrize(
    ("text", "max_length", "network", "expected"),
    [
        ("Hello wonderful world of photography", 20, "x", "Hello wonderful\u2026"),
        ("Hello wonderful world of photography", 17, "mastodon", "Hello wonderful\u2026"),
        ("Hello wonderful world of photography", 16, "mastodon", "Hello wonderful\u2026"),
        ("Hello wonderful world of photography", 15, "mastodon", "Hello\u2026"),
        ("Hello, wonderful world", 10, "bluesky", "Hello\u2026"),
        ("It ended. Then more came", 12, "bluesky", "It ended\u2026"),
        ("Supercalifragilisticexpialidocious indeed", 10, "x", "Supercal\u2026"),
        ("\u65e5\u672c\u8a9e\u306e\u6587\u7ae0\u3067\u3059", 8, "x", "\u65e5\u672c\u8a9e\u2026"),
        (
            "\u65e5\u672c\u8a9e\u306e\u6587\u7ae0\u3067\u3059",
            4,
            "bluesky",
            "\u65e5\u672c\u8a9e\u2026",
        ),
        ("abc", 1, "x", ""),  # the ellipsis alone weighs 2 on X
        ("abc", 0, "bluesky", ""),
        ("abcdef", 1, "bluesky", "\u2026"),
    ],
)
def test_shorten_cuts_at_word_boundaries_with_an_ellipsis(
    text: str, max_length: int, network: str, expected: str
) -> None:
    assert shorten(text, max_length, network) == expected


@pytest.mark.parametrize("network", ["x", "mastodon", "bluesky", "linkedin"])
@pytest.mark.parametrize("max_length", range(1, 60))
def test_shorten_never_breaks_a_link(network: str, max_length: int) -> None:
    text = f"Must read {LONG_URL} about pricing"
    out = shorten(text, max_length, network)
    assert length(out, network) <= max_length
    body = out.removesuffix(ELLIPSIS).rstrip()
    assert "https://" not in body or LONG_URL in body
    assert f"{LONG_URL}{ELLIPSIS}" not in out  # Mastodon would take the "…" into the link


@pytest.mark.parametrize("network", NETWORKS)
@pytest.mark.parametrize("max_length", range(1, 16))
def test_shorten_never_splits_a_grapheme(network: str, max_length: int) -> None:
    text = FAMILY + FLAG_JP + E_DECOMPOSED + WAVE_MEDIUM + KEYCAP_ONE + "\u0915\u094d\u0937" * 3
    clusters = regex.findall(r"\X", unicodedata.normalize("NFC", text))
    out = shorten(text, max_length, network)
    assert length(out, network) <= max_length
    kept = unicodedata.normalize("NFC", out.removesuffix(ELLIPSIS))
    assert regex.findall(r"\X", kept) == clusters[: len(regex.findall(r"\X", kept))]


# --- fit ----------------------------------------------------------------------------------

CREDIT = "via @petapixel@mastodon.social"
LINK = LONG_URL


def render(commentary: str, title: str) -> str:
    head = f"{commentary}\n\n" if commentary else ""
    return f"{head}{title} {LINK} {CREDIT} #photography"


COMMENTARY = (
    "Pricing is the part of the job nobody teaches you, and this piece is the most practical "
    "walk-through I have read in years: how to build packages, when to charge travel, and why "
    "albums still sell. Worth an hour of anyone's evening, especially if you are re-doing "
    "your price list for next season."
)
TITLE = "How wedding photographers price their 2025 packages, with real numbers from 40 studios"


@pytest.mark.parametrize("network", NETWORKS)
def test_fit_returns_the_render_when_it_fits(network: str) -> None:
    assert fit(render, "Short note.", "Short title", network) == render(
        "Short note.", "Short title"
    )


@pytest.mark.parametrize("network", ["x", "mastodon", "bluesky"])
def test_fit_shortens_commentary_first_and_keeps_link_and_credit(network: str) -> None:
    out = fit(render, COMMENTARY * 2, TITLE, network)
    assert length(out, network) <= limit(network)
    assert out.endswith(f"\n\n{TITLE} {LINK} {CREDIT} #photography")
    commentary = out.split("\n\n")[0]
    assert commentary.endswith(ELLIPSIS)
    assert (COMMENTARY * 2).startswith(commentary.removesuffix(ELLIPSIS))
    # The longest that fits: one more word would not.
    assert length(out, network) > limit(network) - 20


def test_fit_drops_commentary_then_shortens_title() -> None:
    budget = length(render("", TITLE), "x") - 10
    out = fit(render, COMMENTARY, TITLE, "x", max_length=budget)
    assert length(out, "x") <= budget
    assert not out.startswith(COMMENTARY[:10])
    title = out.removesuffix(f" {LINK} {CREDIT} #photography")
    assert title.endswith(ELLIPSIS)
    assert TITLE.startswith(title.removesuffix(ELLIPSIS))


def test_fit_down_to_an_ellipsis_title() -> None:
    budget = length(render("", ELLIPSIS), "bluesky")
    out = fit(render, COMMENTARY, TITLE, "bluesky", max_length=budget)
    assert out == render("", ELLIPSIS)


def test_fit_raises_when_link_and_credit_alone_do_not_fit() -> None:
    bare = length(render("", ""), "bluesky")
    assert bare > 100
    with pytest.raises(
        DraftError, match=rf"cannot fit bluesky \(100\): link and credit alone take {bare}"
    ):
        fit(render, COMMENTARY, TITLE, "bluesky", max_length=100)


def test_fit_on_x_prices_the_link_at_23() -> None:
    out = fit(render, COMMENTARY, TITLE, "x")
    assert length(out, "x") <= 280
    assert len(out) > 280  # the long link costs only 23


# --- properties ---------------------------------------------------------------------------

PIECES = st.sampled_from(
    [
        " ",
        "  ",
        "\n",
        "\r\n",
        "word",
        "Photography",
        "-",
        ",",
        ".",
        "(",
        ")",
        E_ACUTE,
        E_DECOMPOSED,
        "\u65e5\u672c",
        "\ud55c",
        FAMILY,
        FLAG_JP,
        NOT_A_FLAG,
        WAVE_MEDIUM,
        KEYCAP_ONE,
        HEALTH_WORKER,
        HEALTH_WORKER_BARE,
        "\u00a9",
        "\ufe0f",
        "\u0915\u094d\u0937",
        "https://example.com/a-b_(c)?d=1",
        LONG_URL,
        "example.com",
        "t.co/x",
        "@bob@example.social",
        "@alice",
        "#tag",
        ELLIPSIS,
    ]
)
TEXTS = st.one_of(
    st.lists(PIECES, max_size=40).map("".join),
    st.text(max_size=120),
    st.lists(st.one_of(PIECES, st.text(max_size=5)), max_size=30).map("".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=TEXTS,
    max_length=st.integers(min_value=0, max_value=120),
    network=st.sampled_from(NETWORKS),
)
def test_shorten_always_fits(text: str, max_length: int, network: str) -> None:
    out = shorten(text, max_length, network)
    assert length(out, network) <= max_length
    if length(text, network) <= max_length:
        assert out == text
    elif out:
        assert out.endswith(ELLIPSIS)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    commentary=TEXTS,
    title=TEXTS,
    network=st.sampled_from(NETWORKS),
    max_length=st.integers(min_value=60, max_value=400),
)
def test_fit_keeps_link_and_credit_or_raises(
    commentary: str, title: str, network: str, max_length: int
) -> None:
    try:
        out = fit(render, commentary, title, network, max_length=max_length)
    except DraftError:
        smallest = render("", shorten(title, length(ELLIPSIS, network), network) if title else "")
        assert length(smallest, network) > max_length
        return
    assert length(out, network) <= max_length
    assert out.endswith(f" {LINK} {CREDIT} #photography")


@settings(max_examples=300, deadline=None)
@given(text=TEXTS, network=st.sampled_from(NETWORKS))
def test_length_ignores_normalisation_form(text: str, network: str) -> None:
    nfc = unicodedata.normalize("NFC", text)
    assert length(unicodedata.normalize("NFD", text), network) == length(nfc, network)


@settings(max_examples=300, deadline=None)
@given(text=TEXTS)
def test_bluesky_length_is_the_grapheme_count(text: str) -> None:
    assert length(text, "bluesky") == len(regex.findall(r"\X", unicodedata.normalize("NFC", text)))


@settings(max_examples=300, deadline=None)
@given(text=TEXTS)
def test_x_without_links_weighs_between_one_per_grapheme_and_two_per_code_point(text: str) -> None:
    assume("." not in text and "://" not in text)
    nfc = unicodedata.normalize("NFC", text)
    assert len(regex.findall(r"\X", nfc)) <= length(text, "x") <= 2 * len(nfc)


@settings(max_examples=200, deadline=None)
@given(text=TEXTS)
def test_find_urls_spans_are_links_without_trailing_punctuation(text: str) -> None:
    for start, end, url in find_urls(text):
        assert text[start:end] == url
        assert url.lower().startswith(("http://", "https://"))
        assert url[-1] not in ".,;:!?'\u2026"
        assert not any(c.isspace() for c in url)
