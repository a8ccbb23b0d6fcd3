"""Same-story detection: near-identical titles from different sources within a few days."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
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
    text = unicodedata.normalize("NFKD", title.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(_NON_WORD.sub(" ", text).split())[:200]


def title_tokens(key: str) -> frozenset[str]:
    return frozenset(w for w in key.split() if w not in _STOPWORDS)


@dataclass(frozen=True, slots=True)
class _Entry:
    id: int
    source: str
    when: datetime
    tokens: frozenset[str]
    key: str


class StoryIndex:
    """Titles of one window, indexed by word, to find the same story told by another source."""

    def __init__(self, window: timedelta) -> None:
        self.window = window
        self._by_token: dict[str, list[_Entry]] = defaultdict(list)
        self._by_key: dict[str, list[_Entry]] = defaultdict(list)

    def add(self, item_id: int, source: str, when: datetime, key: str) -> None:
        entry = _Entry(item_id, source, when, title_tokens(key), key)
        self._by_key[key].append(entry)
        for token in entry.tokens:
            self._by_token[token].append(entry)

    def match(self, source: str, when: datetime, key: str) -> list[int]:
        """Ids of stories from other sources within the window that match this title."""
        tokens = title_tokens(key)
        found: dict[int, None] = {}
        for entry in self._by_key.get(key, ()):
            if entry.source != source and abs(entry.when - when) <= self.window:
                found[entry.id] = None
        n = len(tokens)
        if n >= MIN_TOKENS:
            seen: set[int] = set()
            # Jaccard >= SAME_STORY bounds the other title's size: skip the rest unexamined.
            low, high = n * SAME_STORY, n / SAME_STORY
            # A match shares at least 75% of the words, so among any len/4 + 1 of them one is
            # shared: look up that many, the rarest first (the shortest candidate lists).
            probe = n // 4 + 1
            by_token = self._by_token
            for token in sorted(tokens, key=lambda t: len(by_token.get(t, ())))[:probe]:
                for entry in by_token.get(token, ()):
                    other = entry.tokens
                    m = len(other)
                    if m < low or m > high or m < MIN_TOKENS or entry.source == source:
                        continue
                    if entry.id in seen:
                        continue
                    seen.add(entry.id)
                    if abs(entry.when - when) > self.window:
                        continue
                    shared = len(tokens & other)
                    if shared >= SAME_STORY * (n + m - shared):
                        found[entry.id] = None
        return list(found)
