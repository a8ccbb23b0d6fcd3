"""Same-story detection: near-identical titles from different sources within a few days."""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["StoryIndex", "title_key", "title_tokens"]

_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_STOPWORDS = frozenset(
    " ".join(
        (
            "a an the and or of for to in on at by with from is are was be its it this that as new",
            "how why what your you our we le la les de des du et un une",
        )
    ).split()
)
#: Jaccard similarity of title words above which two titles are the same story.
SAME_STORY = 0.75
MIN_TOKENS = 3


def title_key(title: str) -> str:
    """Case-, accent- and punctuation-insensitive form of a title (exact-match key)."""
    text = title.casefold()
    if not text.isascii():  # ASCII has no accents to strip: skip the per-character pass
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(_NON_WORD.sub(" ", text).split())[:200]


def title_tokens(key: str) -> frozenset[str]:
    return frozenset(w for w in key.split() if w not in _STOPWORDS)


def _prefix_length(n: int) -> int:
    """How many of a title's rarest words must be indexed and probed (prefix filtering)."""
    return n - math.ceil(SAME_STORY * n - 1e-9) + 1


@dataclass(frozen=True, slots=True)
class _Entry:
    id: int
    source: str
    when: datetime
    tokens: frozenset[str]
    key: str


class StoryIndex:
    """Titles of one window, indexed by word, to find the same story told by another source.

    Prefix filtering (Bayardo et al., "Scaling up all pairs similarity search", 2007): with the
    words of every title ranked in one fixed order, rarest first, two titles whose Jaccard
    similarity reaches ``SAME_STORY`` share a word among their first ``n - ceil(0.75 n) + 1``.
    Only those words are indexed and probed, so a word common to thousands of titles costs
    nothing unless it is among a title's rarest. ``frequencies`` (word -> number of titles) sets
    the order; any order is correct, a frequency order is fast.
    """

    def __init__(self, window: timedelta, frequencies: Mapping[str, int] | None = None) -> None:
        self.window = window
        self._freq: Mapping[str, int] = frequencies or {}
        self._by_token: dict[str, list[_Entry]] = defaultdict(list)
        self._by_key: dict[str, list[_Entry]] = defaultdict(list)

    def _prefix(self, tokens: frozenset[str]) -> list[str]:
        freq = self._freq
        ranked = sorted(tokens, key=lambda t: (freq.get(t, 0), t))
        return ranked[: _prefix_length(len(ranked))]

    def add(self, item_id: int, source: str, when: datetime, key: str) -> None:
        entry = _Entry(item_id, source, when, title_tokens(key), key)
        self._by_key[key].append(entry)
        if len(entry.tokens) >= MIN_TOKENS:
            for token in self._prefix(entry.tokens):
                self._by_token[token].append(entry)

    def match(self, source: str, when: datetime, key: str) -> list[int]:
        """Ids of stories from other sources within the window that match this title."""
        tokens = title_tokens(key)
        found: dict[int, None] = {}
        window = self.window
        for entry in self._by_key.get(key, ()):
            if entry.source != source and abs(entry.when - when) <= window:
                found[entry.id] = None
        n = len(tokens)
        if n >= MIN_TOKENS:
            seen: set[int] = set()
            # Jaccard >= SAME_STORY bounds the other title's size: skip the rest unexamined.
            low, high = n * SAME_STORY, n / SAME_STORY
            by_token = self._by_token
            for token in self._prefix(tokens):
                for entry in by_token.get(token, ()):
                    other = entry.tokens
                    m = len(other)
                    if m < low or m > high or entry.source == source or entry.id in seen:
                        continue
                    seen.add(entry.id)
                    if abs(entry.when - when) > window:
                        continue
                    shared = len(tokens & other)
                    if shared >= SAME_STORY * (n + m - shared):
                        found[entry.id] = None
        return list(found)
