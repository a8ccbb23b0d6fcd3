"""Drafting: turn new items into per-channel posts in the owner's voice, credited and fitted.

Also brings the owner's own posts (``posts.yaml``) into the queue.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from goodwill import attribution
from goodwill import text as textlib
from goodwill import voice as voicelib
from goodwill.config import Config, OwnPost, Source, Voice
from goodwill.errors import ConfigError, DraftError
from goodwill.events import EventSink, resource
from goodwill.models import Item, Kind, Post, PostState
from goodwill.slots import slot_times
from goodwill.store import Store, history

__all__ = [
    "Composed",
    "DraftResult",
    "compose_curated",
    "draft",
    "redraft",
    "sync_own_posts",
]

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
    retired: int = 0  # own posts whose season ended
    recycled: int = 0  # evergreen posts queued again
    pages_read: int = 0
    pages_failed: int = 0


@dataclass(frozen=True, slots=True)
class Composed:
    """A curated post for one channel: final text, credit, where the credit came from."""

    text: str
    credit: str
    credit_source: str
    opener: str


def _template(voice: Voice, network: str, category: str) -> str:
    templates = voice.templates
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


def compose_curated(
    config: Config,
    channel: Any,
    item: Item,
    source: Source,
    opener: str,
    *,
    page: attribution.PageCredits | None = None,
    comment: str | None = None,
    credit: attribution.Credit | None = None,
) -> Composed:
    """The post for a curated item on one channel; raises DraftError when it cannot fit.

    The owner's ``comment`` (from review) replaces the opener. Hashtags are dropped before any
    word of the title is cut; the link and the credit are never cut.
    """
    voice = config.voice_for(channel)
    language = config.channel_language(channel)
    style = voicelib.typography_of(voice, language)
    credit = credit or attribution.credit_for(source, item, channel.style, page)
    template = _template(voice, channel.style, "curated")
    tags = voicelib.hashtags_for(voice, "curated", item.title, item.summary, network=channel.style)
    limit = _limit(channel)
    network = _length_network(channel)
    link = voicelib.tag_link(item.url, voice, channel.style, config.brand.website)
    commentary = comment.strip() if comment else opener
    summary = voicelib.excerpt(item.summary) if "summary" in template else ""
    if summary and voicelib.excerpt(item.title) == summary:
        summary = ""  # some feeds repeat the title as the summary

    def renderer(hashtags: str) -> Any:
        def render(commentary: str, title: str) -> str:
            text = _render(
                template,
                commentary=commentary,
                title=title,
                link=link,
                credit=credit.text,
                hashtags=hashtags,
                source=source.name,
                author=item.author or "",
                summary=summary,
            )
            return voicelib.apply_typography(text, style)

        return render

    with_tags = renderer(voicelib.render_hashtags(tags))
    if tags and textlib.length(with_tags(commentary, item.title), network) > limit:
        with_tags = renderer("")  # hashtags go before any word of the title or comment
    try:
        body = textlib.fit(with_tags, commentary, item.title, network, limit)
    except DraftError as exc:
        raise DraftError(f"{channel.name}: {item.title[:60]!r} cannot fit: {exc.message}") from None
    return Composed(body, credit.text, credit.source, "" if comment else opener)


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


def _pages_for(
    config: Config,
    store: Store,
    items: Sequence[Item],
    sources: dict[str, Source],
    now: datetime,
    result: DraftResult,
) -> dict[str, attribution.PageCredits]:
    """Read (once, cached) the pages of items whose source lacks a handle on some channel."""
    if not config.policy.discover_credits:
        return {}
    styles = {c.style for c in config.channels if c.enabled}
    urls = [i.url for i in items if attribution.needs_page(sources[i.source], styles)]
    if not urls:
        return {}
    found, stats = attribution.discover(
        store,
        urls,
        now,
        timeout=config.policy.page_timeout.total_seconds(),
        max_bytes=config.policy.max_page_bytes,
        concurrency=config.policy.concurrency,
    )
    result.pages_read += stats.fetched
    result.pages_failed += stats.failed
    return found


def draft(config: Config, store: Store, now: datetime, sink: EventSink) -> DraftResult:
    """Draft curated posts from young undrafted items, and sync the owner's own posts."""
    result = DraftResult()
    result.own = sync_own_posts(config, store, now, result.skipped, result)
    since = now - config.policy.max_item_age
    sources = {s.name: s for s in config.sources}
    items = [
        i
        for i in store.items.undrafted(since)
        if i.source in sources and _passes_filters(config, sources[i.source], i)
    ]
    items.sort(key=lambda i: _score(i, sources[i.source], now), reverse=True)
    rooms: dict[str, int] = {}
    for channel in config.channels:
        if not channel.enabled or not config.channel_takes(channel, "curated"):
            continue
        pending = len(store.posts.find(states=("draft", "approved", "held"), channel=channel.name))
        rooms[channel.name] = max(0, config.policy.max_queued - pending)
    # Only the items that can be drafted now are worth reading a page for (a few spare ones
    # stand in for items that turn out not to fit).
    wanted = items[: max(rooms.values(), default=0) + 5]
    pages = _pages_for(config, store, wanted, sources, now, result)
    considered: set[int] = set()
    for channel in config.channels:
        if channel.name not in rooms:
            continue
        room = rooms[channel.name]
        voice = config.voice_for(channel)
        openers = voicelib.channel_order(voice.openers.get("curated") or [""], channel.name)
        recent = history.recent_openers(store, channel.name, max(voice.opener_memory, len(openers)))
        new_posts: list[Post] = []
        # The queue goes oldest story first (PostStore.queued): what waits ahead of an item is
        # the value posts older than it. A held promotion waits for news, not before it.
        waiting = store.posts.queue_ages(channel.name, ("draft", "approved", "held"))
        drafted_ages: list[datetime] = []
        tz = config.channel_tz(channel)
        horizon = slot_times(channel.weekly_slots, tz, now, now + config.policy.max_item_age)
        for item in items:
            if len(new_posts) >= room:
                break
            assert item.id is not None
            # Only news that a free slot can carry before it goes stale (see guards.sweep);
            # an item left out here stays undrafted for a channel with room.
            born = item.published_at or item.fetched_at or now
            if not _carried(born, waiting, drafted_ages, horizon, config.policy.max_item_age):
                continue
            considered.add(item.id)
            opener = voicelib.choose_opener(openers, recent, voice.opener_memory)
            try:
                composed = compose_curated(
                    config, channel, item, sources[item.source], opener, page=pages.get(item.url)
                )
            except DraftError as exc:
                result.skipped.append(exc.message)
                continue
            recent = [composed.opener, *recent]
            drafted_ages.append(born)
            new_posts.append(
                Post(
                    channel=channel.name,
                    network=channel.network,
                    category="curated",
                    kind=Kind.VALUE,
                    text=composed.text,
                    link=item.url,
                    credit=composed.credit,
                    credit_source=composed.credit_source,
                    opener=composed.opener,
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


def _carried(
    born: datetime,
    waiting: list[datetime],
    drafted: list[datetime],
    slots: list[datetime],
    shelf_life: timedelta,
) -> bool:
    """Would a story of age ``born`` still leave every drafted story a slot before it goes stale?

    The queue goes oldest first, so a story waits behind everything older than it, and pushes
    back everything younger that was drafted this run.
    """
    ages = sorted([*waiting, *drafted, born])
    for age in (born, *(a for a in drafted if a >= born)):
        ahead_and_self = sum(1 for a in ages if a <= age)
        if ahead_and_self > sum(1 for slot in slots if slot < age + shelf_life):
            return False
    return True


def redraft(
    config: Config,
    store: Store,
    post_id: int,
    now: datetime,
    *,
    comment: str | None = None,
    credit: str | None = None,
    confirm_credit: bool = False,
) -> Post:
    """Review edits: the owner's comment (it replaces the opener) or credit; text re-fitted.

    Raises NotFound, DraftError (does not fit) or GoodwillError (the post already left).
    """
    from goodwill.errors import GoodwillError

    post = store.posts.get(post_id)
    channel = config.channel(post.channel)
    values: dict[str, Any] = {}
    new_comment = post.comment if comment is None else (comment.strip() or None)
    credit_source = post.credit_source
    if credit is not None:
        credit_source = "owner (review)"
    elif confirm_credit and credit_source and "confirmed" not in credit_source:
        credit_source = f"{credit_source}, confirmed by the owner"
    if post.item_id is not None:
        item = store.items.get(post.item_id)
        sources = {s.name: s for s in config.sources}
        if item is None or item.source not in sources:
            raise GoodwillError(f"post {post_id}: its news item or source is gone; reject it")
        source = sources[item.source]
        chosen = (
            attribution.Credit(credit.strip(), "owner (review)")
            if credit is not None
            else attribution.Credit(post.credit or source.name, credit_source or "")
        )
        composed = compose_curated(
            config,
            channel,
            item,
            source,
            post.opener or "",
            comment=new_comment,
            credit=chosen,
        )
        values.update(text=composed.text, credit=composed.credit)
    else:
        base = new_comment or _own_base_text(config, post)
        values["text"] = own_post_text(
            config, channel, None, text=base, link=post.link, category=post.category
        )
    values.update(comment=new_comment, credit_source=credit_source)
    if not history.revise(store, post_id, now, **values):
        raise GoodwillError(f"post {post_id} is {post.state}; only waiting posts can be edited")
    return store.posts.get(post_id)


def _own_base_text(config: Config, post: Post) -> str:
    key = (post.own_key or "").split("~")[0]
    for own in config.posts:
        if own.key == key:
            return own.text
    return post.text


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
    comment: str | None = None,
) -> str:
    """The final text of an owner's post on a channel; raises DraftError if it cannot fit.

    The owner's own link gets the voice's campaign tags (``utm``); the hashtags of the category
    go at the end, dropped if the post would not fit with them.
    """
    voice = config.voice_for(channel)
    style = voicelib.typography_of(voice, config.channel_language(channel))
    template = _template(voice, channel.style, category)
    tagged = voicelib.tag_link(link, voice, channel.style, config.brand.website) if link else ""
    words = comment.strip() if comment else text
    tags = voicelib.hashtags_for(voice, category, words, network=channel.style)
    network, limit = _length_network(channel), _limit(channel)

    def render(hashtags: str) -> str:
        body = _render(
            template,
            text=words,
            link=tagged,
            hashtags=hashtags,
            commentary="",
            title=words,
            credit="",
            source="",
            author="",
            summary="",
        )
        return voicelib.apply_typography(body, style)

    body = render(voicelib.render_hashtags(tags))
    if tags and textlib.length(body, network) > limit:
        body = render("")
    if textlib.length(body, network) > limit:
        used = textlib.length(body, network)
        key = f"posts.yaml {post.key}" if post else "the post"
        raise DraftError(f"{key} is too long for {channel.name} ({used} > {limit}); shorten it")
    return body


def _own_text(own: OwnPost, language: str) -> str:
    return own.translations.get(language) or own.text


def _in_season(own: OwnPost, today: date) -> str | None:
    """None when the post may go out today; else why not ("season ended …" / "not yet")."""
    if own.end and today > own.end:
        return f"season ended on {own.end.isoformat()} (posts.yaml {own.key}: end)"
    if own.start and today < own.start:
        return "not yet"
    return None


def sync_own_posts(
    config: Config,
    store: Store,
    now: datetime,
    problems: list[str],
    result: DraftResult | None = None,
) -> int:
    """Queue the owner's posts from posts.yaml that are in season; one per key and channel.

    Posts whose season ended leave the queue (``rejected``, with the reason); evergreen posts
    come back after ``evergreen.min_gap``. A post that cannot fit a channel is left out there,
    with the reason added to ``problems``.
    """
    tz = config.brand.tz
    today = now.astimezone(tz).date()
    retired = history.retire(store, expired_own_posts(config, store, now), now)
    new: list[Post] = []
    for own in config.posts:
        if _in_season(own, today):
            continue
        for channel in _channels_for(config, own.channels, own.category, own.language):
            pinned = own.at if own.at is None or own.at.tzinfo else own.at.replace(tzinfo=tz)
            try:
                post = _own_post(config, channel, own, own.key, pinned)
            except DraftError as exc:
                problems.append(exc.message)
                continue
            new.append(post)
    added = len(store.posts.add(new, now))
    recycled = recycle_evergreen(config, store, now, problems)
    if result is not None:
        result.retired += len(retired)
        result.recycled += recycled
    return added + recycled


def _own_post(
    config: Config, channel: Any, own: OwnPost, key: str, pinned: datetime | None
) -> Post:
    text = own_post_text(
        config,
        channel,
        own,
        text=_own_text(own, config.channel_language(channel)),
        link=own.link,
        category=own.category,
    )
    return Post(
        channel=channel.name,
        network=channel.network,
        category=own.category,
        kind=config.policy.kind_of(own.category),
        text=text,
        link=own.link,
        state=PostState.APPROVED,
        origin="config",
        own_key=key,
        pinned_at=pinned,
    )


def expired_own_posts(
    config: Config, store: Store, now: datetime, posts: Iterable[Post] | None = None
) -> list[tuple[int, str]]:
    """Waiting own posts whose season ended: (post id, reason). Among ``posts`` when given
    (a channel's queue), else among every waiting post."""
    today = now.astimezone(config.brand.tz).date()
    by_key = {own.key: own for own in config.posts}
    drops: list[tuple[int, str]] = []
    if posts is None:
        posts = store.posts.find(states=("draft", "approved", "held"))
    for post in posts:
        if post.origin != "config" or not post.own_key:
            continue
        own = by_key.get(post.own_key.split("~")[0])
        why = _in_season(own, today) if own else None
        if why and why != "not yet":
            assert post.id is not None
            drops.append((post.id, why))
    return drops


def recycle_evergreen(config: Config, store: Store, now: datetime, problems: list[str]) -> int:
    """Queue again the best evergreen posts whose last outing is at least ``min_gap`` old.

    Per channel: at most ``evergreen.max_queued`` recycled copies waiting; never the post that
    went out last on the channel; the highest weight first, then the longest unseen.
    """
    gap = config.evergreen.min_gap
    today = now.astimezone(config.brand.tz).date()
    evergreen = [o for o in config.posts if o.evergreen and not _in_season(o, today)]
    if not evergreen or config.evergreen.max_queued == 0:
        return 0
    new: list[Post] = []
    for channel in config.channels:
        if not channel.enabled:
            continue
        mine = _own_for_channel(config, channel, evergreen)
        if not mine:
            continue
        waiting = 0
        candidates: list[tuple[float, float, OwnPost, int]] = []
        last = history.last_published(store, channel.name)
        for own in mine:
            copies = history.own_copies(store, channel.name, own.key)
            queued = [c for c in copies if c[1] in ("draft", "approved", "held", "publishing")]
            recycled_waiting = [c for c in queued if "~" in c[0]]
            waiting += len(recycled_waiting)
            if queued or own.key == last:
                continue
            sent = [p for _, state, p in copies if state == "published" and p is not None]
            if not sent or max(sent) > now - gap:
                continue  # never out yet (its first copy waits), or out too recently
            age = (now - max(sent)).total_seconds()
            candidates.append((own.weight, age, own, len(copies)))
        room = config.evergreen.max_queued - waiting
        for _, _, own, n in sorted(candidates, key=lambda c: (c[0], c[1]), reverse=True)[
            : max(0, room)
        ]:
            try:
                new.append(_own_post(config, channel, own, f"{own.key}~{n + 1}", None))
            except DraftError as exc:
                problems.append(exc.message)
    return len(store.posts.add(new, now))


def _own_for_channel(config: Config, channel: Any, posts: Sequence[OwnPost]) -> list[OwnPost]:
    return [
        o for o in posts if channel in _channels_for(config, o.channels, o.category, o.language)
    ]


def _channels_for(
    config: Config, names: Sequence[str] | None, category: str, language: str | None = None
) -> list[Any]:
    chosen = [c for c in config.channels if c.enabled and config.channel_takes(c, category)]
    if names is not None:
        chosen = [c for c in chosen if c.name in names]
    if language is not None:
        chosen = [c for c in chosen if config.channel_language(c) == language]
    return chosen
