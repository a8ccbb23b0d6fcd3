"""Reviewing drafts: what the owner sees of each draft, re-checking an edit, applying decisions.

The Prefect review form and the CLI (`goodwill approve/reject/edit`) both go through here, so a
decision means the same thing wherever it is made: a state change in the store, logged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from goodwill import text as textlib
from goodwill import voice as voicelib
from goodwill.config import Config
from goodwill.errors import GoodwillError
from goodwill.events import EventSink, resource
from goodwill.models import Post, PostState
from goodwill.store import Store

__all__ = [
    "COST_ESTIMATORS",
    "Decision",
    "DraftView",
    "ReviewResult",
    "apply_decisions",
    "check_edit",
    "drafts_for_review",
    "edit_text",
    "estimated_cost",
]

#: Per network, a function giving the estimated cost of publishing a post (None: free/unknown).
#: Connectors with paid APIs (X) register theirs here; the review form shows the figure.
COST_ESTIMATORS: dict[str, Callable[[Post], Decimal | None]] = {}

Action = Literal["approve", "reject", "wait"]


@dataclass(frozen=True, slots=True)
class DraftView:
    """One draft as the owner reviews it: final text, its length against the limit, and why."""

    post: Post
    style: str
    length: int
    limit: int
    cost: Decimal | None

    @property
    def id(self) -> int:
        assert self.post.id is not None
        return self.post.id

    def as_row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "channel": self.post.channel,
            "category": self.post.category,
            "length": f"{self.length}/{self.limit} ({self.style})",
            "credit": self.post.credit or "",
            "link": self.post.link or "",
            "cost": "" if self.cost is None else f"${self.cost}",
            "text": self.post.text,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    post_id: int
    action: Action
    text: str | None = None  # new text when the owner edited it


@dataclass
class ReviewResult:
    approved: list[int] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    edited: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)
    #: post id -> why the edit was refused (nothing was changed for that post)
    problems: dict[int, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "approved": self.approved,
            "rejected": self.rejected,
            "edited": self.edited,
            "waiting": self.waiting,
            "problems": {str(k): v for k, v in self.problems.items()},
        }


def estimated_cost(post: Post) -> Decimal | None:
    estimator = COST_ESTIMATORS.get(post.network)
    return estimator(post) if estimator else None


def view(config: Config, post: Post) -> DraftView:
    channel = config.channel(post.channel)
    style = channel.style
    return DraftView(
        post=post,
        style=style,
        length=textlib.length(post.text, style),
        limit=textlib.limit(style),
        cost=estimated_cost(post),
    )


def drafts_for_review(
    config: Config, store: Store, channel: str | None = None, limit: int = 50
) -> list[DraftView]:
    """Drafts waiting for the owner on channels with ``review: required``, oldest first."""
    names = [
        c.name
        for c in config.channels
        if c.review == "required" and (channel is None or c.name == channel)
    ]
    drafts: list[Post] = []
    for name in names:
        drafts.extend(store.posts.find(states=("draft",), channel=name))
    drafts.sort(key=lambda p: (p.created_at or datetime.min, p.id or 0))
    return [view(config, p) for p in drafts[:limit]]


def check_edit(config: Config, post: Post, new_text: str) -> str | None:
    """Why ``new_text`` cannot replace the post's text (None when it can)."""
    style = config.channel(post.channel).style
    if not new_text.strip():
        return "the text is empty"
    problems = []
    n, cap = textlib.length(new_text, style), textlib.limit(style)
    if n > cap:
        problems.append(f"{n} characters, over the {style} limit of {cap} by {n - cap}")
    if post.link and post.link not in new_text:
        problems.append(f"the link {post.link} is missing")
    if post.credit and not _has_credit(config, post, post.credit, new_text):
        problems.append(f"the credit {post.credit!r} is missing")
    return "; ".join(problems) or None


def _has_credit(config: Config, post: Post, credit: str, new_text: str) -> bool:
    """Whether ``new_text`` carries the credit, as typed or as the channel's typography spells it.

    Drafting applies the channel's typography to the whole post, credit included (on a French
    channel "Yahoo! News" goes out as "Yahoo\u202f! News"), while the post keeps the credit as
    found; both sides are compared in the channel's typography.
    """
    if credit in new_text:
        return True
    channel = config.channel(post.channel)
    style = voicelib.typography_of(config.voice_for(channel), config.channel_language(channel))
    return voicelib.apply_typography(credit, style) in voicelib.apply_typography(new_text, style)


def edit_text(config: Config, store: Store, post_id: int, new_text: str, now: datetime) -> Post:
    """Replace a waiting post's text after re-checking it; raises GoodwillError naming why."""
    post = store.posts.get(post_id)
    problem = check_edit(config, post, new_text)
    if problem:
        raise GoodwillError(f"post {post_id} not edited: {problem}")
    return store.posts.edit_text(post_id, new_text, now)


def apply_decisions(
    config: Config,
    store: Store,
    decisions: Iterable[Decision],
    now: datetime,
    sink: EventSink,
) -> ReviewResult:
    """Apply the owner's decisions. A refused edit changes nothing for that post (it waits)."""
    from goodwill.publishing import project_queue

    result = ReviewResult()
    touched: set[str] = set()
    for d in decisions:
        post = store.posts.get(d.post_id)
        if post.state != PostState.DRAFT:
            continue  # decided elsewhere meanwhile (CLI, another review): keep that decision
        if d.action != "reject" and d.text is not None and d.text != post.text:
            problem = check_edit(config, post, d.text)
            if problem:
                result.problems[d.post_id] = problem
                result.waiting.append(d.post_id)
                continue
            store.posts.edit_text(d.post_id, d.text, now, note="edited in review")
            result.edited.append(d.post_id)
        if d.action == "approve":
            store.posts.review([d.post_id], PostState.APPROVED, now)
            result.approved.append(d.post_id)
            touched.add(post.channel)
            sink.emit(
                "goodwill.post.approved",
                resource(config.brand.name, post.channel, d.post_id),
                {"edited": d.post_id in result.edited},
            )
        elif d.action == "reject":
            store.posts.review([d.post_id], PostState.REJECTED, now)
            result.rejected.append(d.post_id)
        else:
            result.waiting.append(d.post_id)
    for name in sorted(touched):
        project_queue(config, store, config.channel(name), now)
    return result
