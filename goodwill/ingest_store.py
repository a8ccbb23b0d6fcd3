"""Storing a run's new items while the rest of the run is still downloading.

Parsed feeds arrive one by one, and one thread stores their items in batches, one transaction
each, linking same-story duplicates as it goes. The first batch waits for ``BATCH_ITEMS`` items
(or the end of the run); after it, whatever has arrived is stored whenever the thread would
otherwise wait. A run of a few feeds is one batch at the end; a run of a thousand feeds stores
while it fetches, so the store's work hides behind the network's instead of following it.

Same-story links do not depend on how items fall into batches: a story's root is its earliest
telling (on a tie, the source first in name order), unless one of its tellings has been
drafted already, which then stays the root. When a later batch brings an earlier telling of a
story not drafted yet, that one becomes the root and the old root's members follow it.
"""

from __future__ import annotations

import gc
import math
import queue
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime

from goodwill.config import Config
from goodwill.dedupe import IndexEntry, StoryIndex, title_tokens
from goodwill.store import NewItem, Store
from goodwill.store.items import StoredTitle

__all__ = ["BATCH_ITEMS", "NEW_LISTED", "ItemPipeline"]

#: Items stored per transaction. Large enough that the first batch's words rank the rest
#: (see ``_Linker``), small enough that storing starts early in a large run.
BATCH_ITEMS = 5_000
#: How many new items a run lists (the others are counted).
NEW_LISTED = 200
#: After the first batch, at least this many items go to a transaction (each commit writes).
_LATER_BATCH_MIN = 500

_DONE = object()


class ItemPipeline:
    """``put`` items from any thread as feeds are parsed; ``finish`` stores what is left.

    Counts what it stored (``stored``), how many of those are same-story duplicates
    (``duplicates``) and lists the first ``NEW_LISTED`` as ``(source, title, url)`` (``new``:
    a run's report shows a sample, and 50,000 of them would hold 11 MB). An error while
    storing is raised by ``finish`` and items put after it are dropped: ``ingest`` then saves
    no source's state, so the next run fetches those feeds again and finds the items.
    """

    def __init__(
        self,
        config: Config,
        store: Store,
        now: datetime,
        batch_items: int | None = None,
    ) -> None:
        self._store = store
        self._now = now
        self._batch_items = batch_items or BATCH_ITEMS
        self._rank = {s.name: i for i, s in enumerate(config.sources)}
        self._linker = _Linker(config, store, now)
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._error: BaseException | None = None
        self.stored = 0
        self.duplicates = 0
        self.new: list[tuple[str, str, str]] = []

    def put(self, items: list[NewItem]) -> None:
        if not items:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="goodwill-store", daemon=True
                )
                self._thread.start()
        self._queue.put(items)

    def finish(self) -> int:
        """Store what is pending, wait for the thread, and return how many items were stored."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            self._queue.put(_DONE)
            thread.join()
        if self._error is not None:
            raise self._error
        return self.stored

    def _run(self) -> None:
        # Storing allocates millions of small objects, none in reference cycles: the cyclic
        # collector, run again and again over everything alive, cost a tenth of the time.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            pending: list[NewItem] = []
            while True:
                got = self._queue.get()
                if got is not _DONE:
                    assert isinstance(got, list)
                    pending.extend(got)
                # The first batch waits for BATCH_ITEMS (its words rank all others); after it,
                # whatever waits is stored whenever the thread would otherwise idle, so that
                # little is left to store when the last feed arrives.
                idle = self._linker.started and self._queue.empty()
                if pending and (
                    got is _DONE
                    or len(pending) >= self._batch_items
                    or (idle and len(pending) >= min(self._batch_items, _LATER_BATCH_MIN))
                ):
                    batch, pending = pending, []
                    if self._error is None:
                        try:
                            self._store_batch(batch)
                        except BaseException as exc:  # raised again by finish()
                            self._error = exc
                if got is _DONE:
                    return
        finally:
            if was_enabled:
                gc.enable()

    def _store_batch(self, batch: list[NewItem]) -> None:
        now, rank = self._now, self._rank
        # The same link twice in a batch: the source listed first in the config keeps it (in
        # two batches: the first stored keeps it, the store ignores the second).
        unique: dict[str, NewItem] = {}
        for item in sorted(batch, key=lambda i: rank.get(i.source, len(rank))):
            unique.setdefault(item.url, item)
        # Oldest first, so that within a batch the earliest telling is met first.
        fresh = sorted(unique.values(), key=lambda i: (i.published_at or now, i.source))
        self._linker.load_window(fresh)  # before inserting: the new items are not read back
        ids = self._store.items.add(fresh, now)
        if not ids:
            return
        stored = [i for i in fresh if i.url in ids]
        links, duplicates = self._linker.link(stored, ids)
        self._store.items.link_duplicates(links)
        self.stored += len(ids)
        self.duplicates += duplicates
        room = NEW_LISTED - len(self.new)
        self.new.extend((i.source, i.title, i.url) for i in stored[:room])


class _Linker:
    """Same-story links across the batches of one run and the titles already stored.

    Words are ranked (rarest first, for the index's prefix filter) by their frequencies in the
    stored window and the first batch; the order is then fixed for the run, as the index needs.
    A word first seen later counts as rare, which is true of nearly every such word.
    """

    def __init__(self, config: Config, store: Store, now: datetime) -> None:
        self._store = store
        self._now = now
        self._window = config.policy.dedupe_window
        # A feed re-listing a years-old article must not load years of titles: look back at
        # most as far as anything could still be drafted, plus the window.
        self._floor = now - config.policy.max_item_age - 2 * self._window
        self._loaded_since: datetime | None = None
        self._stored_titles: list[StoredTitle] = []
        self._index: StoryIndex | None = None
        self._canonical_of: dict[int, int | None] = {}
        self._members: defaultdict[int, list[int]] = defaultdict(list)
        # id -> its index entry (which holds its time and source): no second copy of them.
        self._entry_of: dict[int, IndexEntry] = {}
        self._drafted: set[int] = set()
        self._this_run: set[int] = set()

    @property
    def started(self) -> bool:
        """Whether the first batch is linked (and the words' order fixed)."""
        return self._index is not None

    def load_window(self, fresh: list[NewItem]) -> None:
        """Read the stored titles these items could match, if not read yet."""
        if not fresh:
            return
        earliest = min(i.published_at or self._now for i in fresh)
        since = max(earliest - self._window, self._floor)
        if self._loaded_since is not None and since >= self._loaded_since:
            return
        titles = self._store.items.titles_since(since, before=self._loaded_since)
        self._loaded_since = since
        titles = [t for t in titles if t.id not in self._this_run]
        if self._index is None:
            self._stored_titles = titles  # indexed with the first batch, once words are ranked
        else:
            self._remember(titles)

    def _remember(self, titles: Iterable[StoredTitle]) -> None:
        assert self._index is not None
        for t in titles:
            when = t.published_at or t.fetched_at
            self._entry_of[t.id] = self._index.add(t.id, t.source, when, t.title_key)
            self._canonical_of[t.id] = t.duplicate_of
            if t.duplicate_of is not None:
                self._members[t.duplicate_of].append(t.id)
            if t.drafted:
                self._drafted.add(t.id)

    def link(self, stored: list[NewItem], ids: dict[str, int]) -> tuple[list[tuple[int, int]], int]:
        """Match each new item (oldest first) and return the ``(item, root)`` links to write,
        and how many of this run's items are now duplicates."""
        if self._index is None:
            frequencies: Counter[str] = Counter()
            for t in self._stored_titles:
                frequencies.update(title_tokens(t.title_key))
            for item in stored:
                frequencies.update(title_tokens(item.title_key))
            self._index = StoryIndex(self._window, dict(frequencies))
            self._remember(self._stored_titles)
            self._stored_titles = []
        index, canonical_of, entry_of = self._index, self._canonical_of, self._entry_of

        def first(r: int) -> tuple[float, str, int]:
            """Which telling came first: time, then source name. A root outside the loaded
            window (older than it) comes before everything and is never displaced."""
            entry = entry_of.get(r)
            return (entry[2], entry[1], r) if entry is not None else (-math.inf, "", r)

        links: dict[int, int] = {}
        duplicates = 0
        now = self._now.timestamp()
        this_run = self._this_run
        for item in stored:
            item_id = ids[item.url]
            at = item.published_at.timestamp() if item.published_at is not None else now
            this_run.add(item_id)
            matches, entry_of[item_id] = index.match_and_add(
                item_id, item.source, at, item.title_key
            )
            if not matches:  # nearly every item: a story of its own
                canonical_of[item_id] = None
                continue
            key = (at, item.source)
            roots = {canonical_of.get(m) or m for m in matches}
            # A story already drafted keeps its drafted telling as the root, however early
            # the new one is: moving the root would let the story be drafted twice.
            shared = [r for r in roots if r in self._drafted]
            root = min(shared or roots, key=first)
            if not shared and key < first(root)[:2]:
                # The new item told the story first: it becomes the one shared and
                # credited, and every telling of the old roots points at it.
                followers = [m for r in roots for m in (r, *self._members.pop(r, ()))]
                for m in followers:
                    if m in self._this_run and canonical_of.get(m) is None:
                        duplicates += 1  # one of this run's roots is a duplicate now
                    links[m] = item_id
                    canonical_of[m] = item_id
                self._members[item_id].extend(followers)
                canonical_of[item_id] = None
            else:
                links[item_id] = root
                canonical_of[item_id] = root
                self._members[root].append(item_id)
                duplicates += 1
        return list(links.items()), duplicates
