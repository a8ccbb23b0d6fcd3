"""Small config and store builders shared by the voice, attribution, own-post and guard tests."""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from pathlib import Path

from goodwill.config import Config, load_config
from goodwill.dedupe import title_key
from goodwill.store import NewItem, Store

CHANNELS_ALL = """channels:
  - {name: cx, network: outbox, preview_as: x, slots: {daily: ['09:00', '13:00', '18:00']}}
  - {name: cm, network: outbox, preview_as: mastodon, slots: {daily: ['09:00', '13:00', '18:00']}}
  - {name: cb, network: outbox, preview_as: bluesky, slots: {daily: ['09:00', '13:00', '18:00']}}
  - {name: cf, network: outbox, preview_as: facebook, slots: {daily: ['09:00', '13:00', '18:00']}}
"""


def write_config(
    root: Path,
    brand: str,
    *,
    sources: str = "sources:\n  - {name: Site, url: 'https://example.org/feed'}\n",
    channels: str = CHANNELS_ALL,
    policy: str = "ratio: 2\ngrace: 30m\nmax_per_day: 10\ndiscover_credits: false\n",
    language: str = "en",
    website: str = "https://studio.example",
    voice: str | None = None,
    voice_fr: str | None = None,
    posts: str | None = None,
) -> Config:
    root.mkdir(parents=True, exist_ok=True)
    (root / "brand.yaml").write_text(
        f"name: {brand}\ntimezone: Europe/London\nlanguage: {language}\nwebsite: {website}\n",
        encoding="utf-8",
    )
    (root / "sources.yaml").write_text(sources, encoding="utf-8")
    (root / "channels.yaml").write_text(channels, encoding="utf-8")
    (root / "policy.yaml").write_text(policy, encoding="utf-8")
    if voice is not None:
        (root / "voice.yaml").write_text(voice, encoding="utf-8")
    if voice_fr is not None:
        (root / "voice.fr.yaml").write_text(voice_fr, encoding="utf-8")
    if posts is not None:
        (root / "posts.yaml").write_text(posts, encoding="utf-8")
    return load_config(root)


def add_items(
    store: Store,
    source: str,
    entries: list[tuple[str, str]],
    at: datetime,
    *,
    author: str | None = None,
    summary: str = "",
) -> dict[str, int]:
    """Store items (url, title) published one minute apart before ``at``."""
    new = [
        NewItem(
            url=url,
            title=title,
            title_key=title_key(title),
            source=source,
            author=author,
            summary_html=html.escape(summary, quote=False),  # reads back as ``summary``
            published_at=at - timedelta(minutes=i + 1),
        )
        for i, (url, title) in enumerate(entries)
    ]
    return store.items.add(new, at)
