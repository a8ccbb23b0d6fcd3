"""Drafting: turn new items into per-channel posts in the owner's voice, credited and fitted.

Also brings the owner's own posts (``posts.yaml``) into the queue.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from goodwill import text as textlib
from goodwill.config import Config, OwnPost, Source
from goodwill.errors import ConfigError, DraftError
from goodwill.events import EventSink, resource
from goodwill.models import Item, Kind, Post, PostState
from goodwill.store import Store

__all__ = ["DraftResult", "compose_curated", "credit_for", "draft", "sync_own_posts"]

#: The shape of a curated post when voice.yaml gives no template for it.
DEFAULT_TEMPLATES = {
    "curated": "{{ commentary }} {{ title }}\n\n{{ link }}\nvia {{ credit }}{{ hashtags }}",
    "own": "{{ text }}{% if link %}\n\n{{ link }}{% endif %}{{ hashtags }}",
}

_env = ImmutableSandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
)


@dataclass
class DraftResult:
    drafted: int = 0
    own: int = 0
    skipped: list[str] = field(default_factory=list)  # one line per item that could not be drafted
    per_channel: dict[str, int] = field(default_factory=dict)


def credit_for(source: Source, item: Item, network: str) -> str:
    """Handle for the network from sources.yaml, else the feed's author, else the site's name."""
    handle = source.credit.get(network)  # type: ignore[call-overload]
    if handle:
        return str(handle)
    if item.author:
        return item.author
    return source.site or source.name


def _template(config: Config, network: str, category: str) -> str:
    templates = config.voice.templates
    for key in (network, "default"):  # network: the channel's style
        if category in templates.get(key, {}):
            return templates[key][category]
    return DEFAULT_TEMPLATES["curated" if category == "curated" else "own"]


def _render(template: str, /, **values: Any) -> str:
    try:
        rendered = _env.from_string(template).render(**values)
    except TemplateError as exc:
        raise ConfigError(f"voice.yaml: template cannot be rendered: {exc}") from None
    # Templates are written by people: tidy the spaces they leave around empty parts.
    rendered = re.sub(r"[ \t]+\n", "\n", rendered)
    rendered = re.sub(r"\n{3,}", "\n\n", rendered)
    return re.sub(r"[ \t]{2,}", " ", rendered).strip()


def _hashtags(config: Config, category: str) -> str:
    tags = config.voice.hashtags.get(category, [])[: config.voice.max_hashtags]
    return "".join(f" #{t.lstrip('#')}" for t in tags)


def compose_curated(
    config: Config, channel: Any, item: Item, source: Source, opener: str
) -> tuple[str, str]:
    """The post text and the credit for a curated item on one channel; raises DraftError."""
    credit = credit_for(source, item, channel.style)
    template = _template(config, channel.style, "curated")
    hashtags = _hashtags(config, "curated")
    limit = _limit(channel)

    def render(commentary: str, title: str) -> str:
        return _render(
            template,
            commentary=commentary,
            title=title,
            link=item.url,
            credit=credit,
            hashtags=hashtags,
            source=source.name,
            author=item.author or "",
        )

    try:
        body = textlib.fit(render, opener, item.title, _length_network(channel), limit)
    except DraftError as exc:
        raise DraftError(f"{channel.name}: {item.title[:60]!r} cannot fit: {exc.message}") from None
    return body, credit


def _length_network(channel: Any) -> str:
    return str(channel.style)


def _limit(channel: Any) -> int:
    return textlib.limit(_length_network(channel))


def _passes_filters(config: Config, source: Source, item: Item) -> bool:
    haystack = f"{item.title}\n{item.summary}".casefold()
    include = [*config.filters.include, *source.include]
    exclude = [*config.filters.exclude, *source.exclude]
    if any(word.casefold() in haystack for word in exclude):
        return False
    return not include or any(word.casefold() in haystack for word in include)


def _opener(config: Config, category: str, seen: int) -> str:
    openers = config.voice.openers.get(category) or [""]
    return openers[seen % len(openers)]


def draft(config: Config, store: Store, now: datetime, sink: EventSink) -> DraftResult:
    """Draft curated posts from young undrafted items, and sync the owner's own posts."""
    result = DraftResult()
    result.own = sync_own_posts(config, store, now, result.skipped)
    since = now - config.policy.max_item_age
    sources = {s.name: s for s in config.sources}
    items = [
        i
        for i in store.items.undrafted(since)
        if i.source in sources and _passes_filters(config, sources[i.source], i)
    ]
    items.sort(key=lambda i: _score(i, sources[i.source], now), reverse=True)
    considered: set[int] = set()
    for channel in config.channels:
        if not channel.enabled or not config.channel_takes(channel, "curated"):
            continue
        pending = len(store.posts.find(states=("draft", "approved", "held"), channel=channel.name))
        room = max(0, config.policy.max_queued - pending)
        posted_before = len(store.posts.find(channel=channel.name))
        new_posts: list[Post] = []
        for item in items:
            if len(new_posts) >= room:
                break
            assert item.id is not None
            considered.add(item.id)
            opener = _opener(config, "curated", posted_before + len(new_posts))
            try:
                body, credit = compose_curated(config, channel, item, sources[item.source], opener)
            except DraftError as exc:
                result.skipped.append(exc.message)
                continue
            new_posts.append(
                Post(
                    channel=channel.name,
                    network=channel.network,
                    category="curated",
                    kind=Kind.VALUE,
                    text=body,
                    link=item.url,
                    credit=credit,
                    item_id=item.id,
                    state=PostState.DRAFT if channel.review == "required" else PostState.APPROVED,
                    origin="draft",
                )
            )
        ids = store.posts.add(new_posts, now)
        result.per_channel[channel.name] = len(ids)
        result.drafted += len(ids)
        if ids:
            sink.emit(
                "goodwill.drafts.created",
                resource(config.brand.name, channel.name),
                {"drafted": len(ids), "post_ids": ids, "review": channel.review},
            )
    store.items.mark_drafted(considered, now)
    return result


def _score(item: Item, source: Source, now: datetime) -> float:
    """Fresher and heavier-weighted sources first."""
    when = item.published_at or item.fetched_at or now
    hours = max(0.0, (now - when).total_seconds() / 3600)
    return source.weight / (1.0 + hours / 12)


def own_post_text(
    config: Config,
    channel: Any,
    post: OwnPost | None,
    *,
    text: str,
    link: str | None,
    category: str,
) -> str:
    """The final text of an owner's post on a channel; raises DraftError if it cannot fit."""
    template = _template(config, channel.style, category)
    body = _render(
        template,
        text=text,
        link=link or "",
        hashtags=_hashtags(config, category),
        commentary="",
        title=text,
        credit="",
        source="",
        author="",
    )
    limit = _limit(channel)
    if textlib.length(body, _length_network(channel)) > limit:
        used = textlib.length(body, _length_network(channel))
        key = f"posts.yaml {post.key}" if post else "the post"
        raise DraftError(f"{key} is too long for {channel.name} ({used} > {limit}); shorten it")
    return body


def sync_own_posts(config: Config, store: Store, now: datetime, problems: list[str]) -> int:
    """Queue the owner's posts from posts.yaml that are in season; one per key and channel.

    A post that cannot fit a channel is left out there, with the reason added to ``problems``.
    """
    tz = config.brand.tz
    today = now.astimezone(tz).date()
    new: list[Post] = []
    for own in config.posts:
        if own.end and today > own.end:
            continue
        if own.start and today < own.start:
            continue
        for channel in _channels_for(config, own.channels, own.category):
            pinned = own.at if own.at is None or own.at.tzinfo else own.at.replace(tzinfo=tz)
            try:
                text = own_post_text(
                    config, channel, own, text=own.text, link=own.link, category=own.category
                )
            except DraftError as exc:
                problems.append(exc.message)
                continue
            new.append(
                Post(
                    channel=channel.name,
                    network=channel.network,
                    category=own.category,
                    kind=config.policy.kind_of(own.category),
                    text=text,
                    link=own.link,
                    state=PostState.APPROVED,
                    origin="config",
                    own_key=own.key,
                    pinned_at=pinned,
                )
            )
    return len(store.posts.add(new, now))


def _channels_for(config: Config, names: Sequence[str] | None, category: str) -> list[Any]:
    chosen = [c for c in config.channels if c.enabled and config.channel_takes(c, category)]
    if names is not None:
        chosen = [c for c in chosen if c.name in names]
    return chosen
