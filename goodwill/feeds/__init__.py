"""Feeds: retrieve them over HTTP (``fetch``), read them into entries (``parse``).

Retrieving and parsing are separate steps: ``fetch_all`` returns ``RetrievedFeed`` records that
carry the caching headers (ETag, Last-Modified) forward for the next conditional GET, and
``parse_feed`` turns one body into a ``ParsedFeed``. Both report a feed they cannot use as a
``SourceError`` (``FetchError``, ``ParseError``) so that one bad feed never stops the others.
"""

from goodwill.feeds.fetch import (
    DEFAULT_USER_AGENT,
    FeedRequest,
    RetrievedFeed,
    fetch_all,
    fetch_feeds,
)
from goodwill.feeds.parse import ParsedEntry, ParsedFeed, parse_feed
from goodwill.feeds.samples import render_sample_feed, sample_feed_dir, sample_feed_names

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
