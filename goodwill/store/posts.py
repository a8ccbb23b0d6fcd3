"""Posts and their state machine; claims that make the ratio gate and the slot atomic."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from goodwill.errors import GoodwillError, NotFound
from goodwill.models import QUEUED_STATES, Kind, Post, PostState
from goodwill.store.schema import channel_state, items, post_log, posts, slot_misses

if TYPE_CHECKING:
    from goodwill.store import Store

__all__ = ["Choice", "PostStore", "annotate", "change", "move"]

_POST_FIELDS = tuple(f.name for f in fields(Post))
#: States that occupy a slot: a slot is filled by at most one of these.
FILLING_STATES = (PostState.PUBLISHING, PostState.PUBLISHED, PostState.UNKNOWN)
#: Queue order: the story's age (the article's date, or when an own post was queued).
QUEUE_AGE = func.coalesce(items.c.published_at, items.c.fetched_at, posts.c.created_at)
#: Which review decisions are allowed from which states. For an ``unknown`` post they are the
#: owner's answer after reconciliation could not tell: approve = send it again, reject = leave it.
_REVIEW_FROM = {
    PostState.APPROVED: (PostState.DRAFT, PostState.REJECTED, PostState.UNKNOWN),
    PostState.REJECTED: (PostState.DRAFT, PostState.APPROVED, PostState.HELD, PostState.UNKNOWN),
}


@dataclass(frozen=True, slots=True)
class Choice:
    """What the publisher decided for a slot: the post to send, and promotions held on the way."""

    post: Post | None
    held: list[tuple[Post, str]]


def _post(row: Any) -> Post:
    values = {k: row[k] for k in _POST_FIELDS if k in row}
    values["kind"] = Kind(values["kind"])
    values["state"] = PostState(values["state"])
    return Post(**values)


def change(
    conn: Connection,
    post_id: int,
    condition: Any,
    from_state: str,
    to_state: str,
    now: datetime,
    note: str | None,
    values: dict[str, Any],
) -> bool:
    """The one way a post's row changes: an update on ``condition``, logged with the states
    before and after; False (nothing changed, nothing logged) if the post is no longer as the
    caller saw it."""
    result = conn.execute(
        update(posts).where(posts.c.id == post_id, condition).values(updated_at=now, **values)
    )
    if result.rowcount != 1:
        return False
    conn.execute(
        insert(post_log).values(
            post_id=post_id, at=now, from_state=from_state, to_state=to_state, note=note
        )
    )
    return True


def annotate(
    conn: Connection,
    post_id: int,
    state: str,
    now: datetime,
    note: str,
    values: dict[str, Any],
    *also: Any,
) -> bool:
    """``change`` that keeps the post in ``state``: only while it still is (and ``also``
    holds); False otherwise."""
    return change(
        conn, post_id, and_(posts.c.state == state, *also), state, state, now, note, values
    )


def move(
    conn: Connection,
    post_id: int,
    condition: Any,
    from_state: str,
    to: PostState,
    now: datetime,
    reason: str | None,
    note: str | None,
    values: dict[str, Any],
) -> bool:
    """A state change (``change`` with the new state and its reason)."""
    return change(
        conn,
        post_id,
        condition,
        from_state,
        str(to),
        now,
        note,
        {"state": str(to), "reason": reason, **values},
    )


class PostStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    # ------------------------------------------------------------------ writing new posts

    def add(self, new: Sequence[Post], now: datetime) -> list[int]:
        """Insert posts; one already present (same item or own key on the channel) is skipped."""
        ids: list[int] = []
        brand = self._store.brand
        with self._store.begin() as conn:
            for post in new:
                values = {k: getattr(post, k) for k in _POST_FIELDS if k not in ("id",)}
                values.update(brand=brand, created_at=now, updated_at=now)
                values["kind"] = str(post.kind)
                values["state"] = str(post.state)
                stmt = self._insert_ignore(conn).values(**values).returning(posts.c.id)
                post_id = conn.scalar(stmt)
                if post_id is not None:
                    ids.append(post_id)
                    conn.execute(
                        insert(post_log).values(
                            post_id=post_id,
                            at=now,
                            from_state=None,
                            to_state=str(post.state),
                            note=post.reason or f"created ({post.origin})",
                        )
                    )
        return ids

    @staticmethod
    def _insert_ignore(conn: Connection) -> Any:
        if conn.dialect.name == "postgresql":
            return pg_insert(posts).on_conflict_do_nothing()
        return sqlite_insert(posts).on_conflict_do_nothing()

    # ------------------------------------------------------------------ reading

    def get(self, post_id: int) -> Post:
        with self._store.begin() as conn:
            return self._fetch(conn, post_id)

    def _fetch(self, conn: Connection, post_id: int) -> Post:
        """One of this brand's posts; NotFound names the id."""
        row = (
            conn.execute(
                select(posts).where(posts.c.brand == self._store.brand, posts.c.id == post_id)
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound(f"no post with id {post_id}; `goodwill queue` lists them")
        return _post(row)

    def find(
        self,
        *,
        states: Iterable[str] | None = None,
        channel: str | None = None,
        limit: int | None = None,
    ) -> list[Post]:
        query = select(posts).where(posts.c.brand == self._store.brand)
        if states:
            query = query.where(posts.c.state.in_([str(s) for s in states]))
        if channel:
            query = query.where(posts.c.channel == channel)
        sort = func.coalesce(posts.c.published_at, posts.c.scheduled_for, posts.c.pinned_at)
        query = query.order_by(sort.is_(None), sort, posts.c.id)
        if limit:
            query = query.limit(limit)
        with self._store.begin() as conn:
            return [_post(r) for r in conn.execute(query).mappings()]

    def counts(self) -> dict[str, int]:
        with self._store.begin() as conn:
            rows = conn.execute(
                select(posts.c.state, func.count())
                .where(posts.c.brand == self._store.brand)
                .group_by(posts.c.state)
            )
            return {state: n for state, n in rows}

    def queued(self, channel: str) -> list[Post]:
        """Approved and held posts of a channel in priority order (oldest first)."""
        with self._store.begin() as conn:
            return self._queued(conn, channel)

    def _queued(self, conn: Connection, channel: str) -> list[Post]:
        """The queue, oldest story first: news goes while it is fresh, and nothing starves.

        A post's age is its article's (published, else fetched) or, for the owner's own posts,
        the moment it was queued: every post has the same shelf life from there.
        """
        rows = conn.execute(
            select(posts)
            .outerjoin(items, posts.c.item_id == items.c.id)
            .where(
                posts.c.brand == self._store.brand,
                posts.c.channel == channel,
                posts.c.state.in_([str(s) for s in QUEUED_STATES]),
            )
            .order_by(QUEUE_AGE, posts.c.id)
        ).mappings()
        return [_post(r) for r in rows]

    def queue_ages(self, channel: str, states: Sequence[str]) -> list[datetime]:
        """Queue-order age of each unpinned value post in ``states`` (drafting plans with it)."""
        with self._store.begin() as conn:
            return list(
                conn.scalars(
                    select(QUEUE_AGE)
                    .select_from(posts.outerjoin(items, posts.c.item_id == items.c.id))
                    .where(
                        posts.c.brand == self._store.brand,
                        posts.c.channel == channel,
                        posts.c.state.in_(list(states)),
                        posts.c.kind == str(Kind.VALUE),
                        posts.c.pinned_at.is_(None),
                    )
                )
            )

    def history(self, channel: str) -> list[tuple[Kind, bool]]:
        """(kind, overridden) of every post that went out on the channel, in publish order."""
        with self._store.begin() as conn:
            return self._history(conn, channel)

    def _history(self, conn: Connection, channel: str) -> list[tuple[Kind, bool]]:
        rows = conn.execute(
            select(posts.c.kind, posts.c.override)
            .where(
                posts.c.brand == self._store.brand,
                posts.c.channel == channel,
                posts.c.state.in_([str(s) for s in FILLING_STATES]),
            )
            .order_by(func.coalesce(posts.c.published_at, posts.c.updated_at), posts.c.id)
        )
        return [(Kind(kind), override is not None) for kind, override in rows]

    def published_between(self, channel: str, start: datetime, end: datetime) -> int:
        with self._store.begin() as conn:
            return self._published_between(conn, channel, start, end)

    def _published_between(
        self, conn: Connection, channel: str, start: datetime, end: datetime
    ) -> int:
        return int(
            conn.scalar(
                select(func.count())
                .select_from(posts)
                .where(
                    posts.c.brand == self._store.brand,
                    posts.c.channel == channel,
                    posts.c.state.in_([str(s) for s in FILLING_STATES]),
                    func.coalesce(posts.c.published_at, posts.c.updated_at) >= start,
                    func.coalesce(posts.c.published_at, posts.c.updated_at) < end,
                )
            )
            or 0
        )

    def sent_since(self, channel: str, since: datetime) -> list[Post]:
        """Posts of a channel that went out (or may have: publishing, unknown) since ``since``."""
        sent_at = func.coalesce(posts.c.published_at, posts.c.updated_at)
        query = select(posts).where(
            posts.c.brand == self._store.brand,
            posts.c.channel == channel,
            posts.c.state.in_([str(s) for s in FILLING_STATES]),
            sent_at >= since,
        )
        with self._store.begin() as conn:
            return [_post(r) for r in conn.execute(query).mappings()]

    # ------------------------------------------------------------------ state changes

    def review(
        self, ids: Iterable[int], decision: PostState, now: datetime, note: str | None = None
    ) -> list[Post]:
        """Approve or reject drafts; raises NotFound / GoodwillError naming the first bad id."""
        allowed = _REVIEW_FROM[decision]
        changed: list[Post] = []
        with self._store.begin() as conn:
            for post_id in ids:
                post = self._fetch(conn, post_id)
                if post.state == decision:
                    continue
                if post.state not in allowed:
                    raise GoodwillError(
                        f"post {post_id} is {post.state}; only "
                        f"{' or '.join(str(s) for s in allowed)} posts can be {decision}"
                    )
                self._transition(
                    conn, post, decision, now, reason=None, note=note or f"review: {decision}"
                )
                changed.append(replace(post, state=decision))
        return changed

    def _transition(
        self,
        conn: Connection,
        post: Post,
        to: PostState,
        now: datetime,
        *,
        reason: str | None,
        note: str | None = None,
        expect: Sequence[PostState] | None = None,
        **values: Any,
    ) -> bool:
        """Move one post to ``to`` if it is still in ``expect`` (default: its known state)."""
        assert post.id is not None
        expected = [str(s) for s in (expect or (post.state,))]
        return move(
            conn,
            post.id,
            posts.c.state.in_(expected),
            str(post.state),
            to,
            now,
            reason,
            note if note is not None else reason,
            values,
        )

    def set_schedule(
        self, plan: dict[int, tuple[datetime | None, str | None]], now: datetime
    ) -> None:
        """Store the projected slot (and the waiting reason) of queued posts."""
        with self._store.begin() as conn:
            for post_id, (when, reason) in plan.items():
                values: dict[str, Any] = {"scheduled_for": when}
                if reason is not None:  # else keep the last reason (a retry, a hold) on show
                    values["reason"] = reason
                conn.execute(
                    update(posts)
                    .where(
                        posts.c.id == post_id, posts.c.state.in_([str(s) for s in QUEUED_STATES])
                    )
                    .values(**values)
                )

    def edit_text(self, post_id: int, text: str, now: datetime, note: str = "edited") -> Post:
        """Replace the text of a post that has not gone out yet (draft, approved or held).

        The caller re-checks the text (``goodwill.review.check_edit``); the log keeps the old text.
        """
        editable = (PostState.DRAFT, *QUEUED_STATES)
        with self._store.begin() as conn:
            post = self._fetch(conn, post_id)
            if post.state not in editable:
                raise GoodwillError(
                    f"post {post_id} is {post.state}; only draft, approved or held posts "
                    "can be edited"
                )
            if not annotate(
                conn, post_id, str(post.state), now, f"{note}; was: {post.text}", {"text": text}
            ):  # a publisher claimed it between the read and the write
                raise GoodwillError(f"post {post_id} changed meanwhile; nothing was edited")
        return replace(post, text=text)

    def unpin(self, post: Post, reason: str, now: datetime) -> bool:
        """Let a pinned post that is still waiting take the next free slot instead; False if
        it left the queue meanwhile (nothing is changed or logged then)."""
        assert post.id is not None
        with self._store.begin() as conn:
            return annotate(
                conn,
                post.id,
                str(post.state),
                now,
                reason,
                {"pinned_at": None, "reason": reason},
                posts.c.pinned_at.is_not(None),
            )

    def claim(
        self,
        channel: str,
        choose: Callable[[list[Post], list[tuple[Kind, bool]], int], Choice],
        *,
        slot_at: datetime | None,
        day_start: datetime,
        attempt_id: str,
        lease_until: datetime,
        now: datetime,
    ) -> tuple[Post | None, list[tuple[Post, str]]]:
        """Pick and claim the next post for a slot in ONE transaction.

        The channel is locked (row lock on PostgreSQL; SQLite's IMMEDIATE transaction locks the
        database), so the slot check, the daily count, the ratio history and the claim cannot
        interleave with another publisher's. ``choose(queue, history, published_today)`` is pure.
        """
        brand = self._store.brand
        # Durable: the claim must outlive a power cut, since the request leaves right after.
        with self._store.begin(durable=True) as conn:
            self._lock_channel(conn, channel)
            if slot_at is not None:
                filled = conn.scalar(
                    select(func.count())
                    .select_from(posts)
                    .where(
                        posts.c.brand == brand,
                        posts.c.channel == channel,
                        posts.c.slot_at == slot_at,
                    )
                )
                if filled:
                    return None, []
            queue = self._queued(conn, channel)
            if not queue:
                return None, []
            choice = choose(
                queue,
                self._history(conn, channel),
                self._published_between(conn, channel, day_start, now),
            )
            held: list[tuple[Post, str]] = []
            for post, reason in choice.held:
                if post.state != PostState.HELD or post.reason != reason:
                    self._transition(
                        conn, post, PostState.HELD, now, reason=reason, expect=QUEUED_STATES
                    )
                held.append((post, reason))
            if choice.post is None:
                return None, held
            claimed = self._transition(
                conn,
                choice.post,
                PostState.PUBLISHING,
                now,
                reason=None,
                note=f"claimed by attempt {attempt_id}"
                + (" (override)" if choice.post.override else ""),
                expect=QUEUED_STATES,
                slot_at=slot_at,
                attempt_id=attempt_id,
                lease_until=lease_until,
                first_sent_at=choice.post.first_sent_at or now,
            )
            if not claimed:
                return None, held
            # ``first_sent_at`` stays the pre-claim value: ``finish`` restores it when nothing left.
            return replace(
                choice.post,
                state=PostState.PUBLISHING,
                slot_at=slot_at,
                attempt_id=attempt_id,
                lease_until=lease_until,
            ), held

    # ------------------------------------------------------------------ reconciliation

    def to_reconcile(self, channel: str, now: datetime, recheck_before: datetime) -> list[Post]:
        """Posts whose outcome is not known: claims whose lease ran out (the publisher died or
        hung), and ``unknown`` posts not yet checked (or checked before ``recheck_before``)
        once their settling time (``lease_until``: a lost request may still land) is over."""
        with self._store.begin() as conn:
            rows = conn.execute(
                select(posts)
                .where(
                    posts.c.brand == self._store.brand,
                    posts.c.channel == channel,
                    or_(
                        and_(
                            posts.c.state == str(PostState.PUBLISHING),
                            posts.c.lease_until < now,
                        ),
                        and_(
                            posts.c.state == str(PostState.UNKNOWN),
                            or_(posts.c.lease_until.is_(None), posts.c.lease_until < now),
                            or_(
                                posts.c.checked_at.is_(None),
                                posts.c.checked_at < recheck_before,
                            ),
                        ),
                    ),
                )
                .order_by(posts.c.first_sent_at, posts.c.id)
            ).mappings()
            return [_post(r) for r in rows]

    def take_over(
        self, post: Post, *, attempt_id: str, lease_until: datetime, now: datetime, note: str
    ) -> Post | None:
        """Claim a post for reconciliation if it is still as seen (unknown, or its lease expired);
        ``None`` if another publisher got there first. Durable, like ``claim``."""
        assert post.id is not None
        same_attempt = (
            posts.c.attempt_id.is_(None)
            if post.attempt_id is None
            else posts.c.attempt_id == post.attempt_id
        )
        publishing = str(PostState.PUBLISHING)
        with self._store.begin(durable=True) as conn:
            if not change(
                conn,
                post.id,
                and_(
                    posts.c.state == str(post.state),
                    same_attempt,
                    or_(posts.c.lease_until.is_(None), posts.c.lease_until < now),
                ),
                str(post.state),
                publishing,
                now,
                f"{note} (attempt {attempt_id})",
                {"state": publishing, "attempt_id": attempt_id, "lease_until": lease_until},
            ):
                return None
        return replace(
            post, state=PostState.PUBLISHING, attempt_id=attempt_id, lease_until=lease_until
        )

    def _lock_channel(self, conn: Connection, channel: str) -> None:
        brand = self._store.brand
        key = and_(channel_state.c.brand == brand, channel_state.c.channel == channel)
        if conn.dialect.name == "postgresql":
            conn.execute(
                pg_insert(channel_state)
                .values(brand=brand, channel=channel)
                .on_conflict_do_nothing()
            )
            conn.execute(select(channel_state.c.channel).where(key).with_for_update())
        # SQLite: the transaction began IMMEDIATE, which already excludes other writers.

    def finish(
        self,
        post: Post,
        to: PostState,
        now: datetime,
        *,
        reason: str | None = None,
        **values: Any,
    ) -> bool:
        """Record the outcome of a claimed post (only by the attempt that claimed it).

        ``False`` when the claim is no longer this attempt's (its lease ran out and another
        publisher took the post over): the caller's outcome is then not recorded.
        """
        assert post.id is not None
        with self._store.begin() as conn:
            if to in (PostState.APPROVED,):
                values.setdefault("slot_at", None)  # the slot is free again
                # Nothing left on this attempt: the idempotency window counts as before it.
                values.setdefault("first_sent_at", post.first_sent_at)
            if to == PostState.UNKNOWN:
                values.setdefault("checked_at", None)  # not checked since: the next run looks
            values.setdefault("lease_until", None)
            return move(
                conn,
                post.id,
                and_(
                    posts.c.state == str(PostState.PUBLISHING),
                    posts.c.attempt_id == post.attempt_id,
                ),
                str(PostState.PUBLISHING),
                to,
                now,
                reason,
                reason if reason is not None else values.get("checked"),
                values,
            )

    def note(self, post: Post, checked: str, now: datetime) -> bool:
        """Record a reconciliation decision on a claimed post before acting on it."""
        assert post.id is not None
        with self._store.begin(durable=True) as conn:
            return annotate(
                conn,
                post.id,
                str(PostState.PUBLISHING),
                now,
                checked,
                {"checked": checked},
                posts.c.attempt_id == post.attempt_id,
            )

    def log(self, post_id: int) -> list[dict[str, Any]]:
        with self._store.begin() as conn:
            return [
                dict(r)
                for r in conn.execute(
                    select(post_log).where(post_log.c.post_id == post_id).order_by(post_log.c.id)
                ).mappings()
            ]

    # ------------------------------------------------------------------ channels and slots

    def channel_status(self, channel: str) -> dict[str, Any]:
        with self._store.begin() as conn:
            row = (
                conn.execute(
                    select(channel_state).where(
                        channel_state.c.brand == self._store.brand,
                        channel_state.c.channel == channel,
                    )
                )
                .mappings()
                .first()
            )
            return dict(row) if row else {}

    def set_channel_status(self, channel: str, **values: Any) -> None:
        brand = self._store.brand
        with self._store.begin() as conn:
            ins = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(channel_state)
            conn.execute(
                ins.values(brand=brand, channel=channel, **values).on_conflict_do_update(
                    index_elements=[channel_state.c.brand, channel_state.c.channel], set_=values
                )
            )

    def record_missed(
        self, channel: str, slots: Sequence[datetime], waiting: int, now: datetime
    ) -> list[datetime]:
        """Record missed slots once each; return those newly recorded."""
        recorded: list[datetime] = []
        brand = self._store.brand
        with self._store.begin() as conn:
            for slot in slots:
                ins = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(
                    slot_misses
                )
                result = conn.execute(
                    ins.values(
                        brand=brand, channel=channel, slot_at=slot, recorded_at=now, waiting=waiting
                    ).on_conflict_do_nothing()
                )
                if result.rowcount:
                    recorded.append(slot)
        return recorded

    def missed(self, channel: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        query = select(slot_misses).where(slot_misses.c.brand == self._store.brand)
        if channel:
            query = query.where(slot_misses.c.channel == channel)
        with self._store.begin() as conn:
            return [
                dict(r)
                for r in conn.execute(
                    query.order_by(slot_misses.c.slot_at.desc()).limit(limit)
                ).mappings()
            ]

    def filled_slots(self, channel: str, since: datetime) -> set[datetime]:
        with self._store.begin() as conn:
            return set(
                conn.scalars(
                    select(posts.c.slot_at).where(
                        posts.c.brand == self._store.brand,
                        posts.c.channel == channel,
                        posts.c.slot_at >= since,
                    )
                )
            )
