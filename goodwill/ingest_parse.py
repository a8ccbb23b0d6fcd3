"""Parse and normalise one feed body: what ingest runs off the event loop, in a worker thread or,
for a large run, in worker processes (this module imports no store, config or Prefect, so that
a forkserver preloads it cheaply and its workers start in milliseconds).

Items are returned as plain tuples in ``NewItem``'s field order: they cross the process
boundary as one pickle per feed, and the parent builds the ``NewItem``s.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from goodwill.dedupe import title_key
from goodwill.errors import FetchError, ParseError
from goodwill.feeds import ParsedEntry, parse_feed
from goodwill.urls import canonical_url

__all__ = [
    "MAX_TITLE",
    "ItemFields",
    "body_digest",
    "normalise",
    "parse_and_normalise",
    "ready",
]

MAX_TITLE = 500

#: (url, title, title_key, source, author, summary_html, published_at): ``NewItem``'s fields.
ItemFields = tuple[str, str, str, str, str | None, str, datetime | None]


def normalise(
    entries: list[ParsedEntry], source: str, base_url: str, now: datetime
) -> list[ItemFields]:
    out: list[ItemFields] = []
    for entry in entries:
        url = canonical_url(entry.link, base=base_url) if entry.link else None
        if url is None:
            continue  # no usable http(s) link: nothing to share
        title = (entry.title or "").strip()[:MAX_TITLE] or url
        published = entry.published
        if published is not None and published > now + timedelta(days=1):
            published = None  # a date in the future is a feed bug, not a reason to jump the queue
        out.append(
            (
                url,
                title,
                title_key(title),
                source,
                (entry.author or "").strip()[:200] or None,
                entry.summary_html,  # made text when read: most items never are
                published,
            )
        )
    return out


def body_digest(body: bytes) -> str:
    """A feed body's digest: equal digests, equal bodies (SHA-256 cut to 128 bits).

    SHA-256, not BLAKE2b: OpenSSL runs it on the CPU's SHA instructions where there are any
    (most x86 CPUs of recent years, ARMv8): 1.8 to 2.7 times BLAKE2b's speed on the
    benchmark machine (``benchmarks/hot_paths.py``), and every body of a run passes through it."""
    return hashlib.sha256(body).hexdigest()[:32]


def parse_and_normalise(
    body: bytes,
    url: str,
    content_type: str | None,
    source: str,
    base_url: str,
    now: datetime,
    previous_digest: str | None = None,
) -> tuple[str, list[ItemFields] | None] | str:
    """The body's digest and the feed's items (``None`` when the digest is ``previous_digest``:
    the body read last time, served again, is not parsed again), or the reason the feed could
    not be read (a string: it pickles simply, and a parser bug is this feed's failure, never
    the run's)."""
    digest = body_digest(body)
    if digest == previous_digest:
        return digest, None
    try:
        feed = parse_feed(body, url=url, content_type=content_type)
        return digest, normalise(feed.entries, source, base_url, now)
    except (FetchError, ParseError) as exc:
        return exc.message
    except Exception as exc:
        return f"could not be read ({type(exc).__name__})"


def ready() -> None:
    """Nothing: submitted to start a worker process before the first body arrives."""
