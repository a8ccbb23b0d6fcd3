"""Storing a run's new items while the rest of the run is still downloading.

Parsed feeds arrive one by one, and one thread stores their items in batches, one transaction
each, and has them linked to the same story told elsewhere (``goodwill.linking``). The first
batch waits for ``BATCH_ITEMS`` items (or the end of the run); after it, whatever has arrived
is stored whenever the thread would otherwise wait. A run of a few feeds is one batch at the
end; a run of a thousand feeds stores while it fetches, so the store's work hides behind the
network's instead of following it.

A large run links in a process of its own, batch after batch in order, while the store thread
goes on storing; each batch's links are written when they come back. Same-story links do not
depend on how items fall into batches, nor on where they are computed (``goodwill.linking``).
"""

from __future__ import annotations

import gc
import pickle
import queue
import threading
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timedelta
from multiprocessing.context import BaseContext

from goodwill.config import Config
from goodwill.linking import (
    KnownTitle,
    LinkResult,
    NewTitle,
    StoryLinker,
    link_in_process,
    start_process,
)
from goodwill.pipes import widen_pipes
from goodwill.store import NewItem, Store

__all__ = ["BATCH_ITEMS", "NEW_LISTED", "ItemPipeline"]

#: Items stored per transaction. Large enough that the first batch's words rank the rest
#: (see ``goodwill.linking``), small enough that storing starts early in a large run.
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

    With ``link_context``, titles are linked in a process started from it (a large run);
    without, on the store thread.
    """

    def __init__(
        self,
        config: Config,
        store: Store,
        now: datetime,
        batch_items: int | None = None,
        link_context: BaseContext | None = None,
    ) -> None:
        self._store = store
        self._now = now
        self._batch_items = batch_items or BATCH_ITEMS
        self._rank = {s.name: i for i, s in enumerate(config.sources)}
        self._window = _StoredWindow(config, store, now)
        self._links = _Links(config.policy.dedupe_window, link_context)
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
                idle = self._links.started and self._queue.empty()
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
                if self._error is None:
                    self._write_links(wait=got is _DONE)
                if got is _DONE:
                    return
        finally:
            self._links.close()
            if was_enabled:
                gc.enable()

    def _write_links(self, wait: bool) -> None:
        """Write the links that have come back (all that are to come, if ``wait``)."""
        try:
            for result in self._links.collect(wait):
                self._store.items.link_duplicates(result.links)
                self.duplicates += result.duplicates
        except BaseException as exc:  # raised again by finish()
            self._error = exc

    def _store_batch(self, batch: list[NewItem]) -> None:
        now, rank = self._now, self._rank
        # The same link twice in a batch: the source listed first in the config keeps it (in
        # two batches: the first stored keeps it, the store ignores the second).
        unique: dict[str, NewItem] = {}
        last = len(rank)
        for item in batch:
            kept = unique.setdefault(item.url, item)
            if kept is not item and rank.get(item.source, last) < rank.get(kept.source, last):
                unique[item.url] = item
        # Oldest first, so that within a batch the earliest telling is met first.
        fresh = sorted(unique.values(), key=lambda i: (i.published_at or now, i.source))
        known = self._window.read(fresh)  # before inserting: the new items are not read back
        ids = self._store.items.add(fresh, now)
        if not ids:
            return
        stored = [i for i in fresh if i.url in ids]
        now_at = now.timestamp()
        self._links.submit(
            known,
            [
                (
                    ids[i.url],
                    i.source,
                    i.published_at.timestamp() if i.published_at is not None else now_at,
                    i.title_key,
                )
                for i in stored
            ],
        )
        self.stored += len(ids)
        room = NEW_LISTED - len(self.new)
        self.new.extend((i.source, i.title, i.url) for i in stored[:room])


class _StoredWindow:
    """Reads the stored titles a batch's items could match, each stretch of time once."""

    def __init__(self, config: Config, store: Store, now: datetime) -> None:
        self._store = store
        self._now = now
        self._window = config.policy.dedupe_window
        # A feed re-listing a years-old article must not load years of titles: look back at
        # most as far as anything could still be drafted, plus the window.
        self._floor = now - config.policy.max_item_age - 2 * self._window
        self._loaded_since: datetime | None = None

    def read(self, fresh: list[NewItem]) -> list[KnownTitle]:
        if not fresh:
            return []
        earliest = min(i.published_at or self._now for i in fresh)
        since = max(earliest - self._window, self._floor)
        if self._loaded_since is not None and since >= self._loaded_since:
            return []
        titles = self._store.items.titles_since(since, before=self._loaded_since)
        self._loaded_since = since
        return [
            (
                t.id,
                t.title_key,
                t.source,
                (t.published_at or t.fetched_at).timestamp(),
                t.duplicate_of,
                t.drafted,
            )
            for t in titles
        ]


class _Links:
    """Where a run's titles are linked: on the calling thread, or in a process of its own
    (started from ``context``) whose results come back in the order the batches went.

    If that process dies (killed, out of memory), the batches sent to it are linked again here,
    from the start: linking is deterministic, so the results already handed out come out the
    same, and only the ones still missing are handed out.
    """

    def __init__(self, window: timedelta, context: BaseContext | None) -> None:
        self._window = window
        self._context = context
        self._here: StoryLinker | None = None if context is not None else StoryLinker(window)
        self._pool: ProcessPoolExecutor | None = None
        # Each batch sent, pickled (far smaller than its objects), to link again if need be.
        self._sent: list[bytes] = []
        self._handed_out = 0  # results collected from the process so far
        self._waiting: deque[Future[LinkResult]] = deque()
        self._done: list[LinkResult] = []
        self.started = False  # whether the first batch went: the words' order is fixed

    def submit(self, known: list[KnownTitle], new: list[NewTitle]) -> None:
        self.started = True
        if self._here is not None:
            self._done.append(self._here.link(known, new))
            return
        if self._pool is None:
            assert self._context is not None
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=self._context,
                initializer=start_process,
                initargs=(self._window,),
            )
            widen_pipes(self._pool)
        batch = pickle.dumps((known, new), pickle.HIGHEST_PROTOCOL)
        self._sent.append(batch)
        try:
            self._waiting.append(self._pool.submit(link_in_process, batch))
        except BrokenProcessPool:
            self._take_over()

    def collect(self, wait: bool) -> list[LinkResult]:
        """The results come back so far, in order (every one still to come, if ``wait``)."""
        waiting = self._waiting
        try:
            while waiting and (wait or waiting[0].done()):
                self._done.append(waiting[0].result())
                waiting.popleft()
                self._handed_out += 1
        except BrokenProcessPool:
            self._take_over()
        done, self._done = self._done, []
        return done

    def _take_over(self) -> None:
        """The link process died: link everything sent to it here, from the start."""
        self.close()
        self._here = StoryLinker(self._window)
        results = [self._here.link(*pickle.loads(batch)) for batch in self._sent]
        self._done.extend(results[self._handed_out :])
        self._sent, self._waiting = [], deque()

    def close(self) -> None:
        """Stop the link process, if one was started (results not collected are dropped)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
