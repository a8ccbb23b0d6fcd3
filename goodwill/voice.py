"""The owner's voice: openers that rotate, hashtags by rule, campaign tags, typography.

Pure functions over a :class:`goodwill.config.Voice`; drafting composes them.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from goodwill.config import Voice
from goodwill.text import find_urls

__all__ = [
    "NARROW_NBSP",
    "NBSP",
    "choose_opener",
    "french_typography",
    "hashtags_for",
    "is_own_link",
    "tag_link",
    "typography_of",
]

NBSP = "\u00a0"
NARROW_NBSP = "\u202f"


# --------------------------------------------------------------------------- openers


def channel_order(openers: Sequence[str], channel: str) -> list[str]:
    """The openers starting at a place that depends on the channel (stable across runs), so two
    channels sharing the same story on the same day do not open with the same words."""
    if not openers:
        return []
    start = zlib.crc32(channel.encode("utf-8")) % len(openers)
    return [*openers[start:], *openers[:start]]


def choose_opener(openers: Sequence[str], recent: Sequence[str | None], memory: int) -> str:
    """The next opener: one not used in the channel's last ``memory`` posts (newest first).

    Among those allowed, the one used longest ago (or never) wins, so all of them take turns;
    when every opener was used recently the oldest comes back.
    """
    if not openers:
        return ""
    window = [r for r in recent[:memory] if r]
    last_seen: dict[str, int] = {}
    for age, used in enumerate(recent):
        if used and used not in last_seen:
            last_seen[used] = age
    fresh = [o for o in openers if o not in window]
    pool = fresh or list(openers)
    # Never used first (in the configured order), then the least recently used.
    return max(pool, key=lambda o: (o not in last_seen, last_seen.get(o, 0)))


# --------------------------------------------------------------------------- hashtags


def _word_pattern(word: str) -> str:
    """A rule's word as a whole word; ``photo*`` matches every word starting with "photo"."""
    w = word.casefold()
    if w.endswith("*"):
        return rf"\b{re.escape(w[:-1])}\w*"
    return rf"\b{re.escape(w)}\b"


def hashtags_for(
    voice: Voice, category: str, title: str, summary: str = "", *, network: str | None = None
) -> list[str]:
    """Tags for a post: keyword rules first, then the category's own; at most max_hashtags, or
    on ``network`` its cap (``hashtag_limits`` overrides max_hashtags, up or down).

    A tag already spelled out as a word of the title is left out (no repeating the title).
    """
    haystack = f"{title}\n{summary}".casefold()
    title_words = set(re.findall(r"\w+", title.casefold()))
    tags: list[str] = []
    for rule in voice.hashtag_rules:
        if rule.categories is not None and category not in rule.categories:
            continue
        if any(re.search(_word_pattern(w), haystack) for w in rule.match):
            tags.append(rule.tag.lstrip("#"))
    tags.extend(t.lstrip("#") for t in voice.hashtags.get(category, []))
    out: list[str] = []
    seen: set[str] = set()
    for tag in tags:
        key = tag.casefold()
        if key in seen or key in title_words:
            continue
        seen.add(key)
        out.append(tag)
    return out[: voice.max_hashtags if network is None else hashtag_cap(voice, network)]


def hashtag_cap(voice: Voice, network: str) -> int:
    """How many hashtags a post on ``network`` may carry (``hashtag_limits`` overrides)."""
    for name, cap in voice.hashtag_limits.items():
        if name == network:
            return cap
    return voice.max_hashtags


_BOILERPLATE = re.compile(
    r"\s*(The post .{1,300} appeared first on .{1,200}?\.?|Continue reading.{0,80}"
    r"|Read more.{0,40}|\[(…|\.\.\.)\])\s*$",
    re.IGNORECASE,
)


def excerpt(summary: str, max_chars: int = 220) -> str:
    """A short excerpt of an item's summary for networks with room: feed boilerplate removed,
    whole sentences when they fit, else cut at a word with an ellipsis."""
    from goodwill.html import truncate_words

    text = " ".join(summary.split())
    for _ in range(2):
        text = _BOILERPLATE.sub("", text).strip()
    if len(text) <= max_chars:
        return text
    sentences = re.split(r"(?<=[.!?…])\s+", text)
    out = ""
    for sentence in sentences:
        if len(out) + len(sentence) + 1 > max_chars:
            break
        out = f"{out} {sentence}".strip()
    return out or truncate_words(text, max_chars)


def render_hashtags(tags: Sequence[str]) -> str:
    """Tags as they go at the end of a post: after everything else, never inside a title."""
    return "".join(f" #{t}" for t in tags)


# --------------------------------------------------------------------------- campaign tags


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower().removeprefix("www.")


def is_own_link(url: str, website: str | None) -> bool:
    """Whether ``url`` is on the owner's own website (same host or a subdomain of it)."""
    if not website:
        return False
    own, host = _host(website), _host(url)
    return bool(own) and (host == own or host.endswith("." + own))


def tag_link(url: str, voice: Voice, network: str, website: str | None) -> str:
    """``url`` with utm_* campaign tags when it is the owner's own link; anyone else's: as is."""
    if voice.utm is None or not is_own_link(url, website):
        return url
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    present = {k for k, _ in query}
    for key, value in (
        ("utm_source", voice.utm.source),
        ("utm_medium", voice.utm.medium),
        ("utm_campaign", voice.utm.campaign),
    ):
        if key not in present and value:
            query.append((key, value.replace("{network}", network)))
    return urlunsplit(parts._replace(query=urlencode(query)))


# --------------------------------------------------------------------------- typography


def typography_of(voice: Voice, language: str) -> str:
    if voice.typography != "auto":
        return voice.typography
    return "fr" if language.split("-")[0].lower() == "fr" else "plain"


_SPACES = "[ \u00a0\u202f]*"
# A high punctuation mark (; ! ?) after a word or closing mark: a narrow no-break space before.
_HIGH = re.compile(rf"(?<=[^\s\u00a0\u202f;!?]){_SPACES}([;!?]+)(?=\s|$|[»)\]\"'\u2019])")
# A colon after a word (not in 12:30, not at a line's start): a no-break space before.
_COLON = re.compile(rf"(?<=[^\s\u00a0\u202f\d:]){_SPACES}:(?=\s|$)")
_OPEN_GUILLEMET = re.compile(rf"«{_SPACES}")
_CLOSE_GUILLEMET = re.compile(rf"{_SPACES}»")
_STRAIGHT_QUOTES = re.compile(r"(?<![\w/=])\"([^\"\n]{1,200})\"(?!\w)")
_CURLY_QUOTES = re.compile(r"“([^”\n]{1,200})”")


def _french_segment(text: str) -> str:
    text = _STRAIGHT_QUOTES.sub(r"«\1»", text)
    text = _CURLY_QUOTES.sub(r"«\1»", text)
    text = _OPEN_GUILLEMET.sub("«" + NBSP, text)
    text = _CLOSE_GUILLEMET.sub(NBSP + "»", text)
    text = _HIGH.sub(lambda m: NARROW_NBSP + m.group(1), text)
    text = _COLON.sub(NBSP + ":", text)
    return text


_MENTION_OR_TAG = re.compile(r"(?<!\w)[@#][\w.@-]+")


def french_typography(text: str) -> str:
    """French spacing: U+202F before ; ! ?, U+00A0 before : and inside « ». URLs, @handles and
    #tags are left exactly as they are (a space inside them would break them)."""
    protected: list[tuple[int, int]] = [(s, e) for s, e, _ in find_urls(text)]
    protected += [m.span() for m in _MENTION_OR_TAG.finditer(text)]
    kept: list[str] = []
    masked: list[str] = []
    pos = 0
    for start, end in sorted(protected):
        if start < pos:
            continue
        masked.append(text[pos:start])
        # A private-use placeholder: not a space, not punctuation, never in real text.
        masked.append(f"\ue000{len(kept)}\ue001")
        kept.append(text[start:end])
        pos = end
    masked.append(text[pos:])
    out = _french_segment("".join(masked))
    return re.sub("\ue000(\\d+)\ue001", lambda m: kept[int(m.group(1))], out)


def apply_typography(text: str, style: str) -> str:
    return french_typography(text) if style == "fr" else text
