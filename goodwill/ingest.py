"""Ingest: fetch every source concurrently, parse, normalise, dedupe, store.

One bad source never stops the others: its failure is recorded on the source with the reason,
and it is asked again after an exponential backoff (``backoff``), capped at a day. A source not
due yet is skipped and counted. Feeds are parsed as they arrive, while the others are still
downloading (in worker processes for a large run, on a worker thread for a small one), each
body is dropped once parsed, and new items are stored while the run goes on
(``goodwill.ingest_store``).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from multiprocessing import forkserver
from multiprocessing.context import BaseContext
from typing import Any

from goodwill.config import Config, Source
from goodwill.errors import FetchError, ParseError
from goodwill.events import EventSink, resource
from goodwill.feeds import FeedRequest, RetrievedFeed, fetch_feeds
from goodwill.ingest_parse import (
    MAX_TITLE,
    ItemFields,
    parse_and_normalise,
    ready,
)
from goodwill.ingest_store import ItemPipeline
from goodwill.pipes import widen_pipes
from goodwill.store import NewItem, SourceState, Store

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_MAX",
    "MAX_TITLE",
    "PROCESS_MIN_FEEDS",
    "IngestResult",
    "backoff",
    "ingest",
    "source_health",
]

#: From this many sources on, bodies are parsed in worker processes rather than a thread.
PROCESS_MIN_FEEDS = 50
#: Worker processes parsing a large run. Two: with one, parsing 1,000 feeds is the longest
#: chain of work in a run (``benchmarks/ingest_bench --parse-processes 1``; the README has the
#: figures).
PARSE_PROCESSES = 2
#: Bodies downloaded and not parsed yet, at most (about): beyond it, downloads wait.
PARSE_BACKLOG_BYTES = 8 * 1024 * 1024
#: Seconds between GIL hand-offs during a large run (Python's default is 0.005).
GIL_SWITCH_INTERVAL = 0.0005
#: After the first failure a source waits this long; each further failure doubles it.
BACKOFF_BASE = timedelta(minutes=5)
BACKOFF_MAX = timedelta(days=1)

SourceErrorT = FetchError | ParseError
# parse_and_normalise's arguments: body, final URL, content type, source, base URL, now, and
# the digest of the body read last time
_Job = tuple[bytes, str, str | None, str, str, datetime, str | None]


@contextlib.contextmanager
def _quick_gil_handoffs(large_run: bool) -> Iterator[None]:
    """A shorter GIL switch interval for a large run, restored after it.

    The event loop and the store thread compute for stretches, while the threads that hand
    bodies to the parse workers and take their results back each need the GIL for a moment per
    feed; a thread asking for it waits up to one interval. At Python's 5 ms those hand-offs,
    not the parsers, set the pace of a thousand-feed run when the store thread also linked;
    with linking in its own process the shorter interval still gains a little
    (``benchmarks/ingest_bench``: see the README).
    """
    if not large_run:
        yield
        return
    global _saved_interval, _large_runs
    with _interval_lock:  # runs in several threads at once: the first sets it, the last restores
        if _large_runs == 0:
            _saved_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(_saved_interval, GIL_SWITCH_INTERVAL))
        _large_runs += 1
    try:
        yield
    finally:
        with _interval_lock:
            _large_runs -= 1
            if _large_runs == 0:
                sys.setswitchinterval(_saved_interval)


_interval_lock = threading.Lock()
_large_runs = 0  # large runs going on in this process
_saved_interval = 0.005  # the process's own interval, while they are


def backoff(failures: int) -> timedelta:
    """How long a source that failed ``failures`` times in a row waits before the next try."""
    if failures <= 0:
        return timedelta(0)
    delay: timedelta = BACKOFF_BASE * (2 ** min(failures - 1, 20))
    return min(delay, BACKOFF_MAX)


@dataclass
class IngestResult:
    sources: int = 0
    fetched: int = 0
    not_modified: int = 0
    failed: int = 0
    new_items: int = 0
    duplicates: int = 0
    skipped: int = 0  # not due yet (backing off, or the host asked to wait)
    failures: dict[str, str] = field(default_factory=dict)
    # (source, title, url) of the first NEW_LISTED new items
    new: list[tuple[str, str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, int]:
        return {
            "sources": self.sources,
            "fetched": self.fetched,
            "not_modified": self.not_modified,
            "failed": self.failed,
            "new_items": self.new_items,
            "skipped": self.skipped,
        }


def source_health(config: Config, store: Store, now: datetime) -> list[dict[str, Any]]:
    """One row per configured source: health, last success, failure reason, next fetch.

    ``health`` is ``new`` (never fetched), ``ok``, ``failing``, ``dead`` (see
    ``SourceState.health``) or ``disabled``; ``due`` says whether the next ingest asks it.
    """
    states = store.sources.all()
    rows = []
    for source in config.sources:
        state = states.get(source.name)
        if state is not None and state.url != source.url:
            state = None  # the URL changed: its history belongs to the old feed
        state = state or SourceState(source.name, source.url)
        rows.append(
            {
                "name": source.name,
                "url": source.url,
                "health": state.health(now) if source.enabled else "disabled",
                "last_status": state.last_status,
                "last_success_at": state.last_success_at,
                "last_fetched_at": state.last_fetched_at,
                "failures": state.failures,
                "reason": state.last_error,
                "next_fetch_at": state.next_fetch_at,
                "due": source.enabled and _due(state, source, now),
                "moved_to": state.moved_to,
            }
        )
    return rows


def _due(state: SourceState | None, source: Source, now: datetime) -> bool:
    if state is None or state.url != source.url or state.next_fetch_at is None:
        return True
    return state.next_fetch_at <= now


def ingest(
    config: Config,
    store: Store,
    now: datetime,
    sink: EventSink,
    on_fetched: Callable[[str], None] | None = None,
) -> IngestResult:
    """Fetch all enabled sources that are due once and store the new items."""
    enabled = [s for s in config.sources if s.enabled]
    states = store.sources.all()
    result = IngestResult(sources=len(enabled))
    sources: list[Source] = []
    for source in enabled:
        if _due(states.get(source.name), source, now):
            sources.append(source)
        else:
            result.skipped += 1
            if on_fetched is not None:
                on_fetched(source.name)
    requests = []
    digests: list[str | None] = []  # of the body read last time
    for source in sources:
        state = states.get(source.name)
        same = state is not None and state.url == source.url
        requests.append(
            FeedRequest(
                source.url,
                etag=state.etag if same and state else None,
                last_modified=state.last_modified if same and state else None,
            )
        )
        digests.append(state.body_hash if same and state else None)
    # New items are stored while the rest of the run downloads, and a large run links them
    # in a process of its own (see goodwill.ingest_store).
    large_run = len(sources) >= PROCESS_MIN_FEEDS
    # How a large run's parse and link workers start (a small run uses threads): found once.
    workers = _worker_context() if large_run else None
    pipeline = ItemPipeline(config, store, now, link_context=workers)
    with _quick_gil_handoffs(large_run):
        try:
            outcomes = _fetch_and_parse(
                config, sources, requests, digests, now, on_fetched, pipeline.put, workers
            )
        except BaseException:
            with contextlib.suppress(Exception):
                pipeline.finish()
            raise
        # Items first, then the sources' validators: if storing fails, the next run must not
        # be told "304 Not Modified" for feeds whose items were never stored.
        stored = pipeline.finish()
    result.new_items, result.duplicates, result.new = stored, pipeline.duplicates, pipeline.new
    results = outcomes.fetched

    new_states: list[SourceState] = []
    for source, fetched, outcome, digest in zip(
        sources, results, outcomes.parsed, outcomes.digests, strict=True
    ):
        previous = states.get(source.name) or SourceState(source.name, source.url)
        if previous.url != source.url:
            previous = SourceState(source.name, source.url)
        if isinstance(outcome, FetchError | ParseError):
            if isinstance(outcome, FetchError) and outcome.deferred:
                result.skipped += 1
                new_states.append(replace(previous, next_fetch_at=outcome.retry_at))
                continue
            result.failed += 1
            result.failures[source.name] = outcome.message
            failures = previous.failures + 1
            next_at = now + backoff(failures)
            if isinstance(outcome, FetchError) and outcome.retry_at is not None:
                next_at = max(next_at, outcome.retry_at)
            new_states.append(
                replace(
                    previous,
                    last_fetched_at=now,
                    last_status="failed",
                    last_error=outcome.message,
                    failures=failures,
                    next_fetch_at=next_at,
                )
            )
            continue
        assert isinstance(fetched, RetrievedFeed)
        ok = replace(
            previous,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            last_fetched_at=now,
            last_success_at=now,
            last_error=None,
            failures=0,
            next_fetch_at=None,
            moved_to=fetched.moved_to,
        )
        if outcome is None or outcome is UNCHANGED:  # 304, or the same body as last time
            result.not_modified += 1
            new_states.append(replace(ok, last_status="not_modified"))
            continue
        result.fetched += 1
        new_states.append(replace(ok, last_status="ok", body_hash=digest))

    store.sources.save(new_states)
    if stored:
        sink.emit(
            "goodwill.items.ingested",
            resource(config.brand.name),
            {"new_items": result.new_items, "sources": result.sources, "failed": result.failed},
        )
    return result


class _Unchanged:
    """The body read last time, served again (its digest says so): not parsed again."""


UNCHANGED = _Unchanged()
Outcome = int | SourceErrorT | _Unchanged | None  # items handed on, why not, or nothing new


@dataclass
class _Fetched:
    fetched: list[RetrievedFeed | FetchError]
    parsed: list[Outcome]  # None: not modified (304)
    digests: list[str | None]  # of each body read


def _fetch_and_parse(
    config: Config,
    sources: list[Source],
    requests: list[FeedRequest],
    digests: list[str | None],
    now: datetime,
    on_fetched: Callable[[str], None] | None,
    on_items: Callable[[list[NewItem]], None],
    workers: BaseContext | None,
) -> _Fetched:
    """Fetch every source; parse each body as it arrives, while the others download.

    With ``workers`` (a large run's), bodies are parsed in ``PARSE_PROCESSES`` worker processes
    started from it (the parser's CPU then runs beside the event loop and the store thread
    instead of taking turns with them under the GIL); without, on one worker thread (a process
    costs a fraction of a second to start). Downloads wait while ``PARSE_BACKLOG_BYTES`` of bodies
    wait for a parser: memory stays bounded however far the network runs ahead. A body whose
    digest is ``digests[i]`` (the one read last time) is not parsed again.
    """
    index_of = {id(r): i for i, r in enumerate(requests)}
    parsed: list[Outcome] = [None] * len(sources)
    read: list[str | None] = [None] * len(sources)
    # A feed's body is kept until it is parsed (to parse again if a worker process dies), and
    # each result becomes ``NewItem``s as soon as it arrives.
    bodies: dict[int, _Job] = {}
    broken: list[int] = []

    backlog = _ParseBacklog(PARSE_BACKLOG_BYTES)

    def collect(i: int, future: Future[tuple[str, list[ItemFields] | None] | str]) -> None:
        exc = future.exception()
        backlog.remove(len(bodies[i][0]))
        if isinstance(exc, BrokenProcessPool):
            broken.append(i)
            return
        bodies.pop(i, None)
        if exc is not None:  # parse_and_normalise never raises: the executor failed this feed
            parsed[i] = ParseError(f"could not be read ({type(exc).__name__})")
        else:
            parsed[i], read[i] = _hand_on(future.result(), on_items)

    executor: Executor
    starter: threading.Thread | None = None
    if workers is not None:
        executor = ProcessPoolExecutor(max_workers=PARSE_PROCESSES, mp_context=workers)
        widen_pipes(executor)  # a body in one write, not in 64 KiB turns
        # Workers start with the first body, so a run where every feed answers 304 starts
        # none; when many feeds have no validators (new sources), bodies are sure to come and
        # the workers start now, while the first requests are on the wire.
        unvalidated = sum(1 for r in requests if not (r.etag or r.last_modified))
        if unvalidated >= PROCESS_MIN_FEEDS:
            # From a thread: each start waits for the forkserver to fork the worker (a tenth
            # of a second at first), and the downloads need not wait for that.
            starter = threading.Thread(
                target=_start_workers, args=(executor,), name="goodwill-parse-start", daemon=True
            )
            starter.start()
    else:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="goodwill-parse")

    def on_done(request: FeedRequest, fetched: RetrievedFeed | FetchError) -> None:
        i = index_of[id(request)]
        source = sources[i]
        if isinstance(fetched, FetchError):
            parsed[i] = fetched
        elif fetched.not_modified:
            parsed[i] = None
        elif fetched.body is None:
            parsed[i] = ParseError("empty body")
        else:
            job = (
                fetched.body,
                fetched.final_url or source.url,
                fetched.content_type,
                source.name,
                source.url,
                now,
                digests[i],
            )
            bodies[i] = job
            backlog.add(len(fetched.body))
            try:
                future = executor.submit(parse_and_normalise, *job)
            except BrokenProcessPool:  # a worker already died: parsed again below
                backlog.remove(len(fetched.body))
                broken.append(i)
            else:
                future.add_done_callback(partial(collect, i))
        if on_fetched is not None:
            on_fetched(source.name)

    with executor:
        try:
            fetched = fetch_feeds(
                requests,
                concurrency=config.policy.concurrency,
                timeout=config.policy.fetch_timeout.total_seconds(),
                max_bytes=config.policy.max_feed_bytes,
                on_done=on_done,
                admit=backlog.admit,
                release_bodies=True,
            )
        finally:
            if starter is not None:  # before the executor shuts down: it takes no new work then
                starter.join()
    # Leaving the block waited for every parse, and ``collect`` has seen each.
    if broken:  # a worker died (a crash in C, or killed): find the feed that did it
        for i, outcome in _parse_one_by_one([(i, bodies[i]) for i in sorted(broken)]).items():
            parsed[i], read[i] = _hand_on(outcome, on_items)
    return _Fetched(fetched, parsed, read)


def _start_workers(executor: Executor) -> None:
    """Start the parse workers before the first body arrives."""
    for _ in range(PARSE_PROCESSES):
        executor.submit(ready)


def _worker_context() -> BaseContext:
    """How parse and link workers start: never a plain fork of this process, whose threads
    (aiohttp's resolver, Prefect's) may hold locks a forked child would inherit forever.
    "forkserver" forks them from a clean server process that has imported the parser and the
    linker once (a worker then starts in milliseconds, and the server serves every later run of
    a long-lived process); "spawn" where there is no forkserver."""
    if "forkserver" in mp.get_all_start_methods():
        mp.set_forkserver_preload(["goodwill.ingest_parse", "goodwill.linking"])
        try:
            # Started here rather than at the first body: it needs a socket in a temporary
            # folder, and a run must not fail half-way because that cannot be made.
            forkserver.ensure_running()
        except OSError:
            return mp.get_context("spawn")
        return mp.get_context("forkserver")
    return mp.get_context("spawn")


class _ParseBacklog:
    """Bytes handed to the parser and not parsed yet. ``admit`` (awaited by each download
    before it starts) waits while there are more than ``limit``; ``add`` and ``remove`` may be
    called from any thread.

    Waiting downloads are woken when the backlog falls back to the limit, not at every parsed
    feed: a hundred downloads woken a thousand times only to wait again had kept the event
    loop busy for nothing. A download can only be waiting after the backlog went over the
    limit, and the wake-up for its fall back under is scheduled after that fall, so it is
    never missed."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.bytes = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._room: asyncio.Event | None = None

    async def admit(self) -> None:
        if self._room is None:
            self._loop, self._room = asyncio.get_running_loop(), asyncio.Event()
        while self.bytes > self.limit:
            self._room.clear()
            await self._room.wait()

    def add(self, n: int) -> None:
        with self._lock:
            self.bytes += n

    def remove(self, n: int) -> None:
        with self._lock:
            was_over = self.bytes > self.limit
            self.bytes -= n
            room_now = was_over and self.bytes <= self.limit
        loop, room = self._loop, self._room
        if room_now and loop is not None and room is not None and not loop.is_closed():
            loop.call_soon_threadsafe(room.set)


def _hand_on(
    parsed: tuple[str, list[ItemFields] | None] | str,
    on_items: Callable[[list[NewItem]], None],
) -> tuple[Outcome, str | None]:
    """A feed's items go on to be stored; what is kept is their number (or the parse error, or
    that the body was unchanged) and the body's digest."""
    if isinstance(parsed, str):
        return ParseError(parsed), None
    digest, rows = parsed
    if rows is None:
        return UNCHANGED, digest
    on_items(list(map(NewItem._make, rows)))
    return len(rows), digest


def _parse_one_by_one(
    jobs: list[tuple[int, _Job]],
) -> dict[int, tuple[str, list[ItemFields] | None] | str]:
    """Parse each feed in a fresh worker process; a feed that kills it again is that feed's
    failure, and the next one gets a new process."""
    out: dict[int, tuple[str, list[ItemFields] | None] | str] = {}
    pool: ProcessPoolExecutor | None = None
    try:
        for i, job in jobs:
            if pool is None:
                pool = ProcessPoolExecutor(max_workers=1, mp_context=_worker_context())
            try:
                out[i] = pool.submit(parse_and_normalise, *job).result()
            except BrokenProcessPool:
                out[i] = "the parser crashed"
                pool.shutdown(wait=True)
                pool = None
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    return out
