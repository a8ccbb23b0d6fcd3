"""Same-story detection: near-identical titles from different sources within a few days."""

from __future__ import annotations

import math
import re
import sys
import unicodedata
from bisect import bisect_left, bisect_right, insort
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from itertools import filterfalse
from operator import itemgetter
from typing import TypeVar, cast

__all__ = ["IndexEntry", "StoryIndex", "title_key", "title_tokens"]

T = TypeVar("T")

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
#: At most this many candidate titles are compared per lookup: a bound on hostile input (many
#: sources publishing thousands of titles from a handful of words), far above real feeds.
MAX_CANDIDATES = 2_000
_SPLIT = 256


# ASCII titles (nearly all) are keyed as bytes, one table lookup per character: letters
# lowercased (casefold is lower in ASCII), what ``\w`` matches kept, everything else a space.
_ASCII_KEY = bytes(
    c + 32 if 65 <= c <= 90 else c if chr(c).isalnum() or c == 95 else 32 for c in range(128)
).ljust(256, b" ")


def title_key(title: str) -> str:
    """Case-, accent- and punctuation-insensitive form of a title (exact-match key)."""
    if title.isascii():  # 9x the regex path's speed (benchmarks/hot_paths.py)
        return b" ".join(title.encode("ascii").translate(_ASCII_KEY).split())[:200].decode()
    text = unicodedata.normalize("NFKD", title.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(_NON_WORD.sub(" ", text).split())[:200]


def title_tokens(key: str) -> frozenset[str]:
    """A title key's words, stopwords left out (what the index's word ranks are counted over).

    filterfalse and frozenset run in C: no Python code per word. (Not ``set -= _STOPWORDS``,
    which looks up every stopword in the title, not every word among the stopwords.)"""
    return frozenset(filterfalse(_STOPWORDS.__contains__, key.split()))


def _longest_other(n: int, i: int) -> int:
    """The longest title that can still match one of ``n`` words sharing at most ``n - i``."""
    shared = n - i
    m = int(shared / SAME_STORY + shared - n) + 1
    while m > 0 and shared < SAME_STORY * (n + m - shared):
        m -= 1
    return m


def _prefix_length(n: int) -> int:
    """How many of a title's rarest words must be indexed and probed (prefix filtering)."""
    return n - math.ceil(SAME_STORY * n - 1e-9) + 1


def _least_shared_of(total: int) -> int:
    """The fewest shared words that make two titles of ``total`` words in all the same story
    (``shared >= SAME_STORY * (total - shared)``, which only grows true as ``shared`` grows)."""
    shared = 0
    while shared < SAME_STORY * (total - shared):
        shared += 1
    return shared


class _Table(dict[int, T]):
    """``compute(n)`` for each ``n`` asked, worked out once: the index's inner loop reads these
    by subscript (a dict, not a list: a key stored by hand could be longer than ``title_key``
    ever makes one)."""

    def __init__(self, compute: Callable[[int], T]) -> None:
        super().__init__()
        self._compute = compute

    def __missing__(self, n: int) -> T:
        self[n] = value = self._compute(n)
        return value


_LEAST_SHARED = _Table(_least_shared_of)
_PREFIX_LENGTH = _Table(_prefix_length)
#: For a title of ``n`` words, ``_longest_other(n, i)`` for every ``i`` of its prefix.
_LONGEST_OTHER = _Table(lambda n: tuple(_longest_other(n, i) for i in range(_prefix_length(n))))
#: The rank every stopword gets in a ``StoryIndex``: ranked, then dropped.
_STOPWORD_RANK = sys.maxsize


# (id, source, when as a POSIX timestamp, words, number of words): a tuple, because the inner
# loop of ``match`` unpacks millions of them and floats compare faster than datetimes. The
# words are their ranks (ints, rarest first): one shared int per word instead of a string, and
# ranks need no interning and sort without a key function.
IndexEntry = tuple[int, str, float, tuple[int, ...], int]
_Entry = IndexEntry
_LENGTH = itemgetter(4)
_WHEN = itemgetter(2)
# Posting lists are kept sorted by title length (then by arrival), so that ``match`` reads only
# the titles whose length allows the similarity.
# (ranks of the words, the same in order, rarest first, the prefix of that order)
_Words = tuple[set[int], tuple[int, ...], tuple[int, ...]]


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
        self._window_s = window.total_seconds()
        # One fixed order of all words, rarest first: a rank per word, from the frequencies
        # given; a word they do not know ranks before all known ones (it is rare so far) and
        # keeps the rank it got when first seen.
        known = sorted((frequencies or {}).items(), key=lambda wf: (wf[1], wf[0]))
        self._rank: dict[str, int] = {w: i for i, (w, _) in enumerate(known)}
        # Stopwords rank too, all alike, to be dropped after ranking: one lookup per word.
        self._rank.update(dict.fromkeys(_STOPWORDS, _STOPWORD_RANK))
        self._next_unknown = -1
        # word (its rank) -> entries; a word's list longer than _SPLIT becomes source ->
        # entries, so that a feed of twenty thousand near-identical titles costs nothing
        # against itself while the short lists of rare words (nearly all) stay flat and fast.
        # A word (or key) of one title holds its entry alone, not in a list: most are, and a
        # one-entry list each is memory for nothing.
        self._by_token: dict[int, _Entry | list[_Entry] | dict[str, list[_Entry]]] = {}
        self._by_key: dict[str, _Entry | list[_Entry]] = {}
        self._last: tuple[str, _Words] | None = None

    def _words(self, key: str) -> _Words:
        """A title's words, the same ranked rarest first, and its prefix (the last one is
        remembered: a new title is matched, then added)."""
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        text = key.split()
        rank = self._rank
        found = set(map(rank.get, text))  # None for a word never seen
        if None in found:  # most titles have one: it is ranked before all seen so far
            found.discard(None)
            for word in text:
                if word not in rank:
                    rank[word] = self._next_unknown
                    found.add(self._next_unknown)
                    self._next_unknown -= 1
        found.discard(_STOPWORD_RANK)
        tokens = cast("set[int]", found)  # no None left
        ranks = sorted(tokens)
        words = (tokens, tuple(ranks), tuple(ranks[: _PREFIX_LENGTH[len(ranks)]]))
        self._last = (key, words)
        return words

    def add(self, item_id: int, source: str, when: datetime, key: str) -> IndexEntry:
        """Index a title; returns its entry ``(id, source, POSIX time, words, word count)``."""
        return self.add_at(item_id, source, when.timestamp(), key)

    def add_at(self, item_id: int, source: str, at: float, key: str) -> IndexEntry:
        """``add`` for a title at POSIX time ``at``."""
        return self._add(item_id, source, at, key, self._words(key))

    def match(self, source: str, when: datetime, key: str) -> list[int]:
        """Ids of stories from other sources within the window that match this title."""
        return self._match(source, when.timestamp(), key, self._words(key))

    def match_and_add(
        self, item_id: int, source: str, at: float, key: str
    ) -> tuple[list[int], IndexEntry]:
        """``match``, then ``add``, for a new title at POSIX time ``at``: its words are
        computed once (what ingest runs for every new item)."""
        words = self._words(key)
        return self._match(source, at, key, words), self._add(item_id, source, at, key, words)

    def _add(self, item_id: int, source: str, at: float, key: str, words: _Words) -> IndexEntry:
        tokens, ranked, prefix = words
        # A tuple of the words: a third of a frozenset's memory, and intersects as fast. In rank
        # order, so that ``match`` finds a shared word's position in it.
        entry = (item_id, source, at, ranked, len(tokens))
        same_key = self._by_key.get(key)
        if same_key is None:
            self._by_key[key] = entry
        elif isinstance(same_key, list):
            same_key.append(entry)
        else:
            self._by_key[key] = [same_key, entry]
        if len(tokens) >= MIN_TOKENS:
            by_token = self._by_token
            for token in prefix:
                posting = by_token.get(token)
                if posting is None:
                    by_token[token] = entry
                elif isinstance(posting, list):
                    insort(posting, entry, key=_LENGTH)
                    if len(posting) > _SPLIT:
                        grouped: dict[str, list[_Entry]] = defaultdict(list)
                        for e in posting:
                            grouped[e[1]].append(e)
                        by_token[token] = dict(grouped)
                elif isinstance(posting, dict):
                    insort(posting.setdefault(source, []), entry, key=_LENGTH)
                else:  # one entry so far
                    by_token[token] = sorted((posting, entry), key=_LENGTH)
        return entry

    def _match(self, source: str, at: float, key: str, words: _Words) -> list[int]:
        tokens, _, prefix = words
        found: dict[int, None] = {}
        window = self._window_s
        same_key = self._by_key.get(key)
        if same_key is not None:
            for item_id, other_source, other_at, _, _ in (
                same_key if isinstance(same_key, list) else (same_key,)
            ):
                if other_source != source and abs(other_at - at) <= window:
                    found[item_id] = None
        n = len(tokens)
        if n >= MIN_TOKENS:
            # Jaccard >= SAME_STORY bounds the other title's size: skip the rest unexamined.
            low, high = n * SAME_STORY, n / SAME_STORY
            by_token = self._by_token
            budget = MAX_CANDIDATES
            least = _LEAST_SHARED
            # Positional filter (Xiao et al., "Efficient similarity joins for near duplicate
            # detection", 2008): a title first met through the word ranked i-th here and j-th
            # there shares no word ranked before it (it would have been met through that one),
            # so it shares at most 1 + min(n - i - 1, m - j - 1) words. Exact only while every
            # posting has been read whole: off once the budget truncates one. A title met again
            # through a later word was decided when first met: the filter may then wrongly
            # skip it, or it is compared again, and neither changes what is found.
            positional = True
            longest = _LONGEST_OTHER[n]
            for i, token in enumerate(prefix):
                posting = by_token.get(token)
                if posting is None:
                    continue
                # Sharing at most n - i words also bounds the other title's length.
                top = min(high, longest[i]) if positional else high
                groups: Sequence[Sequence[_Entry]]
                if isinstance(posting, list):
                    groups = (posting,)
                elif isinstance(posting, dict):
                    groups = [e for s, e in posting.items() if s != source]
                else:  # one title has the word
                    groups = ((posting,),)
                left = n - i  # words of this title from the i-th on
                for group in groups:
                    # Only titles of a length that can match: most of a list, skipped unread.
                    start = bisect_left(group, low, key=_LENGTH)
                    end = bisect_right(group, top, key=_LENGTH, lo=start)
                    if end - start <= budget:
                        entries = group[start:end]
                    else:  # past the budget, only the most recent titles are compared
                        entries = sorted(group[start:end], key=_WHEN)[end - start - budget :]
                        positional = False
                    budget -= len(entries)
                    for item_id, other_source, other_at, other, m in entries:
                        if other_source == source or abs(other_at - at) > window:
                            continue
                        need = least[n + m]
                        if positional:
                            right = m - other.index(token)
                            if (left if left < right else right) < need:
                                continue
                        if len(tokens.intersection(other)) >= need:
                            found[item_id] = None
                    if budget <= 0:  # pathological: thousands of titles of the same words
                        return list(found)
        return list(found)
