"""Drafts waiting for review, made as the drafting step leaves them (for the review tests,
the CLI's and the browser's)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from goodwill.app import open_store
from goodwill.config import load_config
from goodwill.models import Kind, Post, PostState

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

LINK = "https://petapixel.com/2026/11/23/a-story/"


def make_drafts(config_dir: Path, n: int = 3, channel: str = "studio-facebook") -> list[int]:
    """Drafts as the drafting step leaves them on a ``review: required`` channel."""
    config = load_config(config_dir)
    store = open_store(config)
    try:
        posts = [
            Post(
                channel=channel,
                network="outbox",
                category="curated",
                kind=Kind.VALUE,
                text=f"Worth a read {i}: a story\n\n{LINK}{i}\nvia PetaPixel",
                link=f"{LINK}{i}",
                credit="PetaPixel",
                state=PostState.DRAFT,
                item_id=None,
                own_key=f"test-{i}",
                origin="own",
            )
            for i in range(n)
        ]
        return store.posts.add(posts, NOW)
    finally:
        store.close()


def states(config_dir: Path, ids: list[int]) -> dict[int, str]:
    store = open_store(load_config(config_dir))
    try:
        return {i: str(store.posts.get(i).state) for i in ids}
    finally:
        store.close()
