"""Same-story links across the batches of one run and the titles already stored.

Pure computation on plain tuples (no store, no configuration), so that a large run can link in
a process of its own (``link_in_process``): the index is the largest piece of work a run does
outside the parsers, and in the process that fetches and stores it would hold the GIL that the
event loop and the store thread need. A small run links on its store thread (``StoryLinker``).

A story's root is its earliest telling (on a tie, the source first in name order), unless one
of its tellings has been drafted already, which then stays the root. When a later batch brings
an earlier telling of a story not drafted yet, that one becomes the root and the old root's
members follow it.
"""

from __future__ import annotations

import gc
import math
import pickle
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import timedelta
from typing import NamedTuple

from goodwill.dedupe import IndexEntry, StoryIndex, title_tokens

__all__ = [
    "KnownTitle",
    "LinkResult",
    "NewTitle",
    "StoryLinker",
    "link_in_process",
    "start_process",
]


# Plain tuples, not named ones: fifty thousand of them cross to the link process per run, and a
# named tuple pickles and unpickles through Python code each.
#: A title stored before (a previous run's, or this run's read back with the window):
#: ``(id, title_key, source, at, duplicate_of, drafted)``, ``at`` its publication time (its
#: fetch time, when undated) as a POSIX timestamp.
KnownTitle = tuple[int, str, str, float, int | None, bool]
#: A title this run stored, to be matched, then indexed: ``(id, source, at, title_key)``,
#: ``at`` its publication time (the run's, when undated) as a POSIX timestamp.
NewTitle = tuple[int, str, float, str]


class LinkResult(NamedTuple):
    """``(item, root)`` links to write (a later batch may point an item at a new root), and how
    many more of this run's items are duplicates now (it can be fewer: a root displaced)."""

    links: list[tuple[int, int]]
    duplicates: int


class StoryLinker:
    """Links the titles of one run, batch after batch, against the window already stored.

    Words are ranked (rarest first, for the index's prefix filter) by their frequencies in the
    stored window and the first batch; the order is then fixed for the run, as the index needs.
    A word first seen later counts as rare, which is true of nearly every such word.
    """

    def __init__(self, window: timedelta) -> None:
        self._window = window
        self._known_titles: list[KnownTitle] = []  # until the first batch ranks the words
        self._index: StoryIndex | None = None
        # id -> its story's root, for the tellings that are not the root (a root has none:
        # most titles are a story of their own, and 50,000 Nones cost megabytes)
        self._canonical_of: dict[int, int] = {}
        self._members: defaultdict[int, list[int]] = defaultdict(list)
        # id -> its index entry (which holds its time and source): no second copy of them.
        self._entry_of: dict[int, IndexEntry] = {}
        self._drafted: set[int] = set()
        self._this_run: set[int] = set()

    def link(self, known: Iterable[KnownTitle], new: list[NewTitle]) -> LinkResult:
        """Remember the stored titles ``known`` (this run's own are skipped), then match each
        new title (oldest first) and index it."""
        known = [t for t in known if t[0] not in self._this_run]
        if self._index is None:
            self._known_titles.extend(known)
            self._start(new)
        else:
            self._remember(known)
        return self._link(new)

    def _start(self, first: list[NewTitle]) -> None:
        """Rank the words by the window's and the first batch's frequencies; index the window."""
        frequencies: Counter[str] = Counter()
        for t in self._known_titles:
            frequencies.update(title_tokens(t[1]))
        for n in first:
            frequencies.update(title_tokens(n[3]))
        self._index = StoryIndex(self._window, dict(frequencies))
        self._remember(self._known_titles)
        self._known_titles = []

    def _remember(self, titles: Iterable[KnownTitle]) -> None:
        assert self._index is not None
        for item_id, key, source, at, duplicate_of, drafted in titles:
            self._entry_of[item_id] = self._index.add_at(item_id, source, at, key)
            if duplicate_of is not None:
                self._canonical_of[item_id] = duplicate_of
                self._members[duplicate_of].append(item_id)
            if drafted:
                self._drafted.add(item_id)

    def _link(self, new: list[NewTitle]) -> LinkResult:
        assert self._index is not None
        index, canonical_of, entry_of = self._index, self._canonical_of, self._entry_of

        def first(r: int) -> tuple[float, str, int]:
            """Which telling came first: time, then source name. A root outside the loaded
            window (older than it) comes before everything and is never displaced."""
            entry = entry_of.get(r)
            return (entry[2], entry[1], r) if entry is not None else (-math.inf, "", r)

        links: dict[int, int] = {}
        duplicates = 0
        this_run = self._this_run
        for item_id, source, at, key in new:
            this_run.add(item_id)
            matches, entry_of[item_id] = index.match_and_add(item_id, source, at, key)
            if not matches:  # nearly every item: a story of its own
                continue
            roots = {canonical_of.get(m) or m for m in matches}
            # A story already drafted keeps its drafted telling as the root, however early
            # the new one is: moving the root would let the story be drafted twice.
            shared = [r for r in roots if r in self._drafted]
            root = min(shared or roots, key=first)
            if not shared and (at, source) < first(root)[:2]:
                # The new item told the story first: it becomes the one shared and
                # credited, and every telling of the old roots points at it.
                followers = [m for r in roots for m in (r, *self._members.pop(r, ()))]
                for m in followers:
                    if m in this_run and canonical_of.get(m) is None:
                        duplicates += 1  # one of this run's roots is a duplicate now
                    links[m] = item_id
                    canonical_of[m] = item_id
                self._members[item_id].extend(followers)
            else:
                links[item_id] = root
                canonical_of[item_id] = root
                self._members[root].append(item_id)
                duplicates += 1
        return LinkResult(list(links.items()), duplicates)


# --- in a process of its own ---------------------------------------------------------------
# A process pool of one worker runs the batches in the order they are submitted; its linker
# lives in this module for the life of the process (one run).

_linker: StoryLinker | None = None


def start_process(window: timedelta) -> None:
    """The link process's initializer: a fresh linker for the run, and no cyclic garbage
    collector (the index is millions of small objects in no cycle, which it would walk again
    and again)."""
    global _linker
    gc.disable()
    _linker = StoryLinker(window)


def link_in_process(batch: bytes) -> LinkResult:
    """``StoryLinker.link`` in the link process (started by ``start_process``), for a batch
    pickled as ``(known, new)`` (the sender keeps the bytes, in case the process dies)."""
    assert _linker is not None, "start_process was not run"
    return _linker.link(*pickle.loads(batch))
