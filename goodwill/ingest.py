"""Ingest: fetch every source concurrently, parse, normalise, dedupe, store.

One bad source never stops the others: its failure is recorded on the source with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from goodwill.config import Config, Source
from goodwill.dedupe import StoryIndex, title_key
from goodwill.errors import FetchError, ParseError
from goodwill.events import EventSink, resource
from goodwill.feeds import FeedRequest, ParsedEntry, RetrievedFeed, fetch_feeds, parse_feed
from goodwill.store import NewItem, SourceState, Store
from goodwill.urls import canonical_url

__all__ = ["IngestResult", "ingest"]

#: Cap on stored summary length: drafts use a sentence or two, never a whole article.
MAX_SUMMARY = 2000
MAX_TITLE = 500


@dataclass
class IngestResult:
    sources: int = 0
    fetched: int = 0
    not_modified: int = 0
    failed: int = 0
    new_items: int = 0
    duplicates: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    new: list[tuple[str, str, str]] = field(default_factory=list)  # (source, title, url)

    def as_json(self) -> dict[str, int]:
        return {
            "sources": self.sources,
            "fetched": self.fetched,
            "not_modified": self.not_modified,
            "failed": self.failed,
            "new_items": self.new_items,
        }


def ingest(
    config: Config,
    store: Store,
    now: datetime,
    sink: EventSink,
    on_fetched: Callable[[str], None] | None = None,
) -> IngestResult:
    """Fetch all enabled sources once and store the new items."""
    sources = [s for s in config.sources if s.enabled]
    states = store.sources.all()
    requests = []
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
    by_url = {s.url: s.name for s in sources}
    results = fetch_feeds(
        requests,
        concurrency=config.policy.concurrency,
        timeout=config.policy.fetch_timeout.total_seconds(),
        max_bytes=config.policy.max_feed_bytes,
        on_done=(lambda req, _res: on_fetched(by_url[req.url])) if on_fetched else None,
    )
    result = IngestResult(sources=len(sources))
    new_states: list[SourceState] = []
    candidates: list[NewItem] = []
    for source, outcome in zip(sources, results, strict=True):
        previous = states.get(source.name) or SourceState(source.name, source.url)
        if previous.url != source.url:
            previous = SourceState(source.name, source.url)
        try:
            entries = _entries(outcome, source)
        except (FetchError, ParseError) as exc:
            result.failed += 1
            result.failures[source.name] = exc.message
            new_states.append(
                replace(
                    previous,
                    last_fetched_at=now,
                    last_status="failed",
                    last_error=exc.message,
                    failures=previous.failures + 1,
                )
            )
            continue
        assert isinstance(outcome, RetrievedFeed)
        if entries is None:
            result.not_modified += 1
            new_states.append(
                replace(
                    previous,
                    last_fetched_at=now,
                    last_success_at=now,
                    last_status="not_modified",
                    last_error=None,
                    failures=0,
                )
            )
            continue
        result.fetched += 1
        new_states.append(
            replace(
                previous,
                etag=outcome.etag,
                last_modified=outcome.last_modified,
                last_fetched_at=now,
                last_success_at=now,
                last_status="ok",
                last_error=None,
                failures=0,
            )
        )
        candidates.extend(_normalise(entries, source, now))

    store.sources.save(new_states)
    stored = _store_new(config, store, candidates, now, result)
    if stored:
        sink.emit(
            "goodwill.items.ingested",
            resource(config.brand.name),
            {"new_items": result.new_items, "sources": result.sources, "failed": result.failed},
        )
    return result


def _entries(outcome: RetrievedFeed | FetchError, source: Source) -> list[ParsedEntry] | None:
    """Parsed entries, ``None`` when not modified; raises FetchError/ParseError."""
    if isinstance(outcome, FetchError):
        raise outcome
    if outcome.not_modified or outcome.body is None:
        return None
    feed = parse_feed(
        outcome.body, url=outcome.final_url or source.url, content_type=outcome.content_type
    )
    return feed.entries


def _normalise(entries: list[ParsedEntry], source: Source, now: datetime) -> list[NewItem]:
    out: list[NewItem] = []
    for entry in entries:
        url = canonical_url(entry.link, base=source.url) if entry.link else None
        if url is None:
            continue  # no usable http(s) link: nothing to share
        title = (entry.title or "").strip()[:MAX_TITLE] or url
        published = entry.published
        if published is not None and published > now + timedelta(days=1):
            published = None  # a date in the future is a feed bug, not a reason to jump the queue
        out.append(
            NewItem(
                url=url,
                title=title,
                title_key=title_key(title),
                source=source.name,
                author=(entry.author or "").strip()[:200] or None,
                summary=(entry.summary or "")[:MAX_SUMMARY],
                published_at=published,
            )
        )
    return out


def _store_new(
    config: Config, store: Store, candidates: list[NewItem], now: datetime, result: IngestResult
) -> int:
    """Store items not seen before and link same-story duplicates to the earliest source."""
    unique: dict[str, NewItem] = {}
    for item in candidates:
        unique.setdefault(item.url, item)  # the same link twice in one run: keep the first
    known = store.items.known_urls(unique)
    fresh = sorted(
        (i for url, i in unique.items() if url not in known),
        key=lambda i: (i.published_at or now, i.source),
    )
    if not fresh:
        return 0
    ids = store.items.add(fresh, now)
    result.new_items = len(ids)
    result.new = [(i.source, i.title, i.url) for i in fresh if i.url in ids]

    window = config.policy.dedupe_window
    earliest = min((i.published_at or now) for i in fresh)
    index = StoryIndex(window)
    canonical_of: dict[int, int | None] = {}
    when_of: dict[int, datetime] = {}
    drafted: set[int] = set()
    new_ids = set(ids.values())
    for t in store.items.titles_since(earliest - window):
        if t.id in new_ids:
            continue
        when = t.published_at or t.fetched_at
        index.add(t.id, t.source, when, t.title_key)
        canonical_of[t.id] = t.duplicate_of
        when_of[t.id] = when
        if t.drafted:
            drafted.add(t.id)

    links: list[tuple[int, int]] = []
    for item in fresh:
        item_id = ids.get(item.url)
        if item_id is None:
            continue
        when = item.published_at or now
        matches = index.match(item.source, when, item.title_key)
        roots = {canonical_of.get(m) or m for m in matches}
        if roots:
            root = min(roots, key=lambda r: (when_of[r], r))
            if when < when_of[root] and root not in drafted:
                # The new item told the story first: it becomes the one shared and credited.
                links.extend((r, item_id) for r in roots)
                for r in roots:
                    canonical_of[r] = item_id
                canonical_of[item_id] = None
            else:
                links.append((item_id, root))
                canonical_of[item_id] = root
                result.duplicates += 1
        else:
            canonical_of[item_id] = None
        when_of[item_id] = when
        index.add(item_id, item.source, when, item.title_key)
    store.items.link_duplicates(links)
    return len(ids)
