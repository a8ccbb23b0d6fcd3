"""Feeds: retrieve them over HTTP (``fetch``), read them into entries (``parse``).

Retrieving and parsing are separate steps: ``fetch_all`` returns ``RetrievedFeed`` records that
carry the caching headers (ETag, Last-Modified) forward for the next conditional GET, and
``parse_feed`` turns one body into a ``ParsedFeed``. Both report a feed they cannot use as a
``SourceError`` (``FetchError``, ``ParseError``) so that one bad feed never stops the others.

Names are imported on first use: the parse worker process needs ``parse`` only, and importing
``fetch`` (aiohttp) would cost it a tenth of a second of start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from goodwill.feeds.fetch import (
        DEFAULT_USER_AGENT,
        FeedRequest,
        RetrievedFeed,
        fetch_all,
        fetch_feeds,
    )
    from goodwill.feeds.parse import ParsedEntry, ParsedFeed, parse_feed
    from goodwill.feeds.samples import render_sample_feed, sample_feed_dir, sample_feed_names

_HOME = {
    "DEFAULT_USER_AGENT": "fetch",
    "FeedRequest": "fetch",
    "RetrievedFeed": "fetch",
    "fetch_all": "fetch",
    "fetch_feeds": "fetch",
    "ParsedEntry": "parse",
    "ParsedFeed": "parse",
    "parse_feed": "parse",
    "render_sample_feed": "samples",
    "sample_feed_dir": "samples",
    "sample_feed_names": "samples",
}

__all__ = [
    "DEFAULT_USER_AGENT",
    "FeedRequest",
    "ParsedEntry",
    "ParsedFeed",
    "RetrievedFeed",
    "fetch_all",
    "fetch_feeds",
    "parse_feed",
    "render_sample_feed",
    "sample_feed_dir",
    "sample_feed_names",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"goodwill.feeds.{home}"), name)
    globals()[name] = value
    return value
