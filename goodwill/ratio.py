"""The ratio rule, the product's promise: value first, promote yourself rarely.

Per channel, in publish order: between any two promotional posts there are at least R value
posts, and at least R value posts precede the first promotional post. A promotion that would
break it is held with a reason. A manual "post now" of a promotion needs an explicit override,
which the caller records; the count starts again after any promotion, overridden or not.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from goodwill.models import Kind

__all__ = [
    "OVERRIDE_REASON",
    "Decision",
    "Published",
    "RatioGate",
    "is_valid_sequence",
    "plan",
    "value_since_last_promotion",
    "violations",
]

K = TypeVar("K", bound=Hashable)

#: The reason on an allowed Decision that exists only because the caller overrode the rule.
OVERRIDE_REASON = "override: ratio rule bypassed by hand"


@dataclass(frozen=True, slots=True)
class Published:
    """One post that went out on a channel; ``override`` marks a promotion forced by hand."""

    kind: Kind
    override: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    """The gate's answer; ``value_posts_needed`` is 0 when allowed."""

    allowed: bool
    reason: str | None
    value_posts_needed: int


_ALLOWED = Decision(allowed=True, reason=None, value_posts_needed=0)
_OVERRIDDEN = Decision(allowed=True, reason=OVERRIDE_REASON, value_posts_needed=0)


def _kind(entry: Kind | Published) -> Kind:
    return entry.kind if isinstance(entry, Published) else entry


def _overridden(entry: Kind | Published) -> bool:
    return isinstance(entry, Published) and entry.override


def value_since_last_promotion(history: Sequence[Kind | Published]) -> int:
    """Value posts after the last promotion (overridden or not), or in all history if none."""
    count = 0
    for entry in reversed(history):
        if _kind(entry) is Kind.PROMOTION:
            break
        count += 1
    return count


def _has_promotion(history: Sequence[Kind | Published]) -> bool:
    return any(_kind(entry) is Kind.PROMOTION for entry in history)


class RatioGate:
    """Decides whether a post may go out now on one channel, given what went out before."""

    __slots__ = ("ratio",)

    def __init__(self, ratio: int) -> None:
        if isinstance(ratio, bool) or not isinstance(ratio, int) or ratio < 0:
            raise ValueError(f"ratio must be a whole number >= 0 (0 disables it), not {ratio!r}")
        self.ratio = ratio

    def __repr__(self) -> str:
        return f"RatioGate(ratio={self.ratio})"

    def check(
        self, history: Sequence[Kind | Published], kind: Kind, *, override: bool = False
    ) -> Decision:
        """Value posts always pass; a promotion needs ``ratio`` value posts since the last one.

        With ``override=True`` a promotion that would be held passes with ``OVERRIDE_REASON``,
        which the caller must record; an override the rule did not need changes nothing.
        """
        if kind is Kind.VALUE:
            return _ALLOWED
        return self._decide(
            value_since_last_promotion(history), _has_promotion(history), override=override
        )

    def _decide(self, since: int, promoted_before: bool, *, override: bool) -> Decision:
        if since >= self.ratio:
            return _ALLOWED
        if override:
            return _OVERRIDDEN
        needed = self.ratio - since
        posts = "post" if needed == 1 else "posts"
        if promoted_before:
            so_far = f"{since or 'none'} since the last promotion"
        elif since:
            so_far = f"{since} so far on this channel"
        else:
            so_far = "none yet on this channel"
        return Decision(
            allowed=False,
            reason=(
                f"promotion held: needs {needed} more value {posts} first "
                f"(ratio 1:{self.ratio}, {so_far})"
            ),
            value_posts_needed=needed,
        )


def violations(history: Sequence[Kind | Published], ratio: int) -> list[int]:
    """Indexes of promotions that went out with fewer than ``ratio`` value posts before them
    (since the previous promotion, or since the start), not counting overridden ones."""
    found: list[int] = []
    since = 0
    for index, entry in enumerate(history):
        if _kind(entry) is Kind.VALUE:
            since += 1
            continue
        if since < ratio and not _overridden(entry):
            found.append(index)
        since = 0
    return found


def is_valid_sequence(history: Sequence[Kind | Published], ratio: int) -> bool:
    """True when no promotion in ``history`` broke the rule without an override."""
    return not violations(history, ratio)


def plan(
    history: Sequence[Kind | Published],
    queue: Sequence[tuple[K, Kind]],
    n_slots: int,
    ratio: int,
) -> tuple[list[K], dict[K, Decision]]:
    """Project ``queue`` (in priority order) into the next ``n_slots`` slots, without overrides.

    Each slot takes the first queued post the gate allows given ``history`` plus what is planned
    so far; a slot stays empty rather than break the rule. Returns the planned keys in slot
    order and, for each promotion held at least once (skipped while a later post went out, or
    still held when nothing could fill a slot or when the slots ran out), the first hold
    Decision that applied. A promotion left out only because the slots ran out, and that the
    gate would allow by then, has no Decision: it is not held, just beyond the horizon.
    """
    if n_slots < 0:
        raise ValueError(f"n_slots must be >= 0, not {n_slots!r}")
    gate = RatioGate(ratio)
    keys = [key for key, _ in queue]
    if len(set(keys)) != len(keys):
        raise ValueError("queue keys must be distinct")
    waiting = list(queue)
    planned: list[K] = []
    held: dict[K, Decision] = {}
    since = value_since_last_promotion(history)
    promoted_before = _has_promotion(history)

    def decide(kind: Kind) -> Decision:
        if kind is Kind.VALUE:
            return _ALLOWED
        return gate._decide(since, promoted_before, override=False)

    while len(planned) < n_slots:
        chosen: int | None = None
        for position, (key, kind) in enumerate(waiting):
            decision = decide(kind)
            if decision.allowed:
                chosen = position
                break
            held.setdefault(key, decision)
        if chosen is None:
            # Nothing can go out, and nothing changes until something does: the rest stay empty.
            break
        key, kind = waiting.pop(chosen)
        planned.append(key)
        if kind is Kind.PROMOTION:
            since, promoted_before = 0, True
        else:
            since += 1
    for key, kind in waiting:
        decision = decide(kind)
        if not decision.allowed:
            held.setdefault(key, decision)
    return planned, held
