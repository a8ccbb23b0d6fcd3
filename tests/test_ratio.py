"""The ratio rule: the gate's decisions, the audit helpers, and the queue projection."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from goodwill.models import Kind
from goodwill.ratio import (
    OVERRIDE_REASON,
    Decision,
    Published,
    RatioGate,
    is_valid_sequence,
    plan,
    value_since_last_promotion,
    violations,
)

V = Published(Kind.VALUE)
P = Published(Kind.PROMOTION)
PO = Published(Kind.PROMOTION, override=True)


def seq(text: str) -> list[Published]:
    """``"vvPv!"``: v value, P promotion, ! overridden promotion."""
    return [{"v": V, "P": P, "!": PO}[char] for char in text]


# --- check: table tests -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("history", "allowed", "needed", "reason"),
    [
        ("", False, 4, "needs 4 more value posts first (ratio 1:4, none yet on this channel)"),
        ("vvv", False, 1, "needs 1 more value post first (ratio 1:4, 3 so far on this channel)"),
        ("vvvv", True, 0, None),
        ("vvvvv", True, 0, None),
        ("vvvvP", False, 4, "needs 4 more value posts first (ratio 1:4, none since the last"),
        ("vvvvPvvv", False, 1, "needs 1 more value post first (ratio 1:4, 3 since the last"),
        ("vvvvPvvvv", True, 0, None),
        ("vvvvvvvvvvPvvvv", True, 0, None),  # a surplus before a promotion does not carry over
        ("vvvvvvvvvvPvvv", False, 1, "3 since the last promotion"),
        # After an overridden promotion the count starts again.
        ("!v", False, 3, "needs 3 more value posts first (ratio 1:4, 1 since the last promotion)"),
        ("vvvvvvvv!vvv", False, 1, "(ratio 1:4, 3 since the last promotion)"),
        ("v!vvvv", True, 0, None),
        # A promotion that broke the rule still resets the count.
        ("Pvv", False, 2, "2 since the last promotion"),
    ],
)
def test_check_promotion(history: str, allowed: bool, needed: int, reason: str | None) -> None:
    decision = RatioGate(4).check(seq(history), Kind.PROMOTION)
    assert decision.allowed is allowed
    assert decision.value_posts_needed == needed
    if reason is None:
        assert decision.reason is None
    else:
        assert decision.reason is not None
        assert decision.reason.startswith("promotion held: ")
        assert reason in decision.reason


def test_held_reason_exact_text() -> None:
    gate = RatioGate(4)
    assert gate.check(seq("!v"), Kind.PROMOTION) == Decision(
        allowed=False,
        reason="promotion held: needs 3 more value posts first (ratio 1:4, 1 since the last "
        "promotion)",
        value_posts_needed=3,
    )
    assert gate.check([], Kind.PROMOTION).reason == (
        "promotion held: needs 4 more value posts first (ratio 1:4, none yet on this channel)"
    )


@pytest.mark.parametrize("history", ["", "P", "PPPP", "vvvv"])
def test_value_posts_always_pass(history: str) -> None:
    for ratio in (0, 1, 4, 100):
        for override in (False, True):
            decision = RatioGate(ratio).check(seq(history), Kind.VALUE, override=override)
            assert decision == Decision(allowed=True, reason=None, value_posts_needed=0)


def test_override_passes_a_held_promotion_and_says_so() -> None:
    gate = RatioGate(4)
    assert gate.check(seq("vP"), Kind.PROMOTION, override=True) == Decision(
        allowed=True, reason=OVERRIDE_REASON, value_posts_needed=0
    )
    assert OVERRIDE_REASON == "override: ratio rule bypassed by hand"
    # An override the rule did not need bypasses nothing, so there is nothing to record.
    assert gate.check(seq("vvvv"), Kind.PROMOTION, override=True) == Decision(True, None, 0)


def test_ratio_zero_disables_the_rule() -> None:
    gate = RatioGate(0)
    for history in ("", "P", "PP", "!P"):
        assert gate.check(seq(history), Kind.PROMOTION) == Decision(True, None, 0)
    assert violations(seq("PPP!P"), 0) == []


@pytest.mark.parametrize("ratio", [-1, 1.5, True, "4", None])
def test_bad_ratio_is_rejected(ratio: object) -> None:
    with pytest.raises(ValueError, match="ratio must be a whole number >= 0"):
        RatioGate(ratio)  # type: ignore[arg-type]


def test_history_may_hold_kinds_or_published() -> None:
    gate = RatioGate(2)
    mixed: list[Kind | Published] = [Kind.PROMOTION, V, Kind.VALUE]
    assert value_since_last_promotion(mixed) == 2
    assert gate.check(mixed, Kind.PROMOTION).allowed
    assert not gate.check([*mixed, Kind.PROMOTION], Kind.PROMOTION).allowed


@pytest.mark.parametrize(
    ("history", "count"),
    [("", 0), ("vvv", 3), ("P", 0), ("vvPv", 1), ("vvvv!vv", 2), ("PvvvvvP", 0)],
)
def test_value_since_last_promotion(history: str, count: int) -> None:
    assert value_since_last_promotion(seq(history)) == count


# --- violations: table tests ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("history", "ratio", "expected"),
    [
        ("", 2, []),
        ("vv", 2, []),
        ("P", 2, [0]),
        ("!", 2, []),
        ("vvP", 2, []),
        ("vPvvP", 2, [1]),
        ("vvPvP", 2, [4]),
        ("vv!PvvP", 2, [3]),  # the count restarts after the override
        ("vvPPP", 2, [3, 4]),
        ("vvPP", 1, [3]),
        ("PPP", 0, []),
    ],
)
def test_violations_table(history: str, ratio: int, expected: list[int]) -> None:
    assert violations(seq(history), ratio) == expected
    assert is_valid_sequence(seq(history), ratio) is (not expected)


# --- plan: examples ---------------------------------------------------------------------------


def test_plan_value_posts_pass_held_promotions() -> None:
    queue = [("p1", Kind.PROMOTION), ("v1", Kind.VALUE), ("v2", Kind.VALUE), ("v3", Kind.VALUE)]
    planned, held = plan(seq("v"), queue, n_slots=4, ratio=2)
    # p1 needs 2 value posts: v1 goes first, then p1 at the first slot where it is allowed.
    assert planned == ["v1", "p1", "v2", "v3"]
    assert held == {
        "p1": Decision(
            False,
            "promotion held: needs 1 more value post first (ratio 1:2, 1 so far on this channel)",
            1,
        )
    }


def test_plan_leaves_slots_empty_rather_than_break_the_rule() -> None:
    queue = [("p1", Kind.PROMOTION), ("v1", Kind.VALUE), ("p2", Kind.PROMOTION)]
    planned, held = plan(seq("vvv!"), queue, n_slots=5, ratio=2)
    assert planned == ["v1"]
    assert set(held) == {"p1", "p2"}
    assert held["p1"].value_posts_needed == 2  # the first reason that applied
    assert held["p2"].value_posts_needed == 1  # first looked at after v1 was planned
    assert all(not decision.allowed for decision in held.values())


def test_plan_priority_and_ratio_zero() -> None:
    queue = [("p1", Kind.PROMOTION), ("p2", Kind.PROMOTION), ("v1", Kind.VALUE)]
    assert plan([], queue, n_slots=3, ratio=0) == (["p1", "p2", "v1"], {})
    assert plan([], queue, n_slots=2, ratio=0) == (["p1", "p2"], {})
    assert plan(seq("vv"), queue, n_slots=0, ratio=1) == ([], {})


def test_plan_beyond_the_horizon() -> None:
    queue = [("v1", Kind.VALUE), ("p1", Kind.PROMOTION), ("p2", Kind.PROMOTION)]
    # After v1 the gate would allow a promotion, but there is no slot left: nothing is held.
    assert plan(seq("vv"), queue, n_slots=1, ratio=3) == (["v1"], {})
    # After v1 a promotion would still need one more value post: both are held.
    planned, held = plan(seq("v"), queue, n_slots=1, ratio=3)
    assert planned == ["v1"]
    assert set(held) == {"p1", "p2"}
    assert held["p1"].value_posts_needed == 1


def test_plan_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="distinct"):
        plan([], [("a", Kind.VALUE), ("a", Kind.VALUE)], 2, 1)
    with pytest.raises(ValueError, match="n_slots"):
        plan([], [], -1, 1)
    with pytest.raises(ValueError, match="ratio"):
        plan([], [], 1, -1)


# --- properties -------------------------------------------------------------------------------

ratios = st.integers(0, 5)
kinds = st.sampled_from([Kind.VALUE, Kind.PROMOTION])


@st.composite
def segmented(draw: st.DrawFn, ratio: int, valid: bool) -> tuple[list[Published], list[int]]:
    """A history built as runs of value posts each followed by a promotion (some overridden),
    then trailing value posts; also the indexes of promotions inserted with too few values."""
    history: list[Published] = []
    expected: list[int] = []
    for _ in range(draw(st.integers(0, 6))):
        override = draw(st.booleans())
        values = draw(st.integers(0, ratio + 2))
        if valid and not override:
            values = max(values, ratio)
        history.extend([V] * values)
        if values < ratio and not override:
            expected.append(len(history))
        history.append(PO if override else P)
    history.extend([V] * draw(st.integers(0, ratio + 2)))
    return history, expected


@st.composite
def planning_cases(
    draw: st.DrawFn, valid: bool
) -> tuple[int, list[Published], list[tuple[int, Kind]], int]:
    ratio = draw(ratios)
    history, _ = draw(segmented(ratio, valid))
    queue = list(enumerate(draw(st.lists(kinds, max_size=12))))
    n_slots = draw(st.integers(0, 14))
    return ratio, history, queue, n_slots


def as_published(planned: Sequence[int], queue: Sequence[tuple[int, Kind]]) -> list[Published]:
    kind_of = dict(queue)
    return [Published(kind_of[key]) for key in planned]


@settings(max_examples=400, deadline=None)
@given(ratio=ratios, data=st.data())
def test_violations_finds_exactly_the_inserted_breaches(ratio: int, data: st.DataObject) -> None:
    history, expected = data.draw(segmented(ratio, valid=False))
    if expected:
        event("history has violations")
    if any(entry.override for entry in history):
        event("history has overrides")
    assert violations(history, ratio) == expected
    assert is_valid_sequence(history, ratio) is (not expected)


@settings(max_examples=400, deadline=None)
@given(case=planning_cases(valid=True))
def test_plan_keeps_a_valid_history_valid(
    case: tuple[int, list[Published], list[tuple[int, Kind]], int],
) -> None:
    ratio, history, queue, n_slots = case
    assert is_valid_sequence(history, ratio)
    planned, _ = plan(history, queue, n_slots, ratio)
    if Kind.PROMOTION in (kind for _, kind in queue) and len(planned) < n_slots:
        event("slots left empty with promotions queued")
    assert is_valid_sequence(history + as_published(planned, queue), ratio)


@settings(max_examples=400, deadline=None)
@given(case=planning_cases(valid=False))
def test_plan_adds_no_violation_to_any_history(
    case: tuple[int, list[Published], list[tuple[int, Kind]], int],
) -> None:
    ratio, history, queue, n_slots = case
    planned, _ = plan(history, queue, n_slots, ratio)
    assert violations(history + as_published(planned, queue), ratio) == violations(history, ratio)


@settings(max_examples=400, deadline=None)
@given(case=planning_cases(valid=False))
def test_plan_is_greedy_maximal_in_priority_order(
    case: tuple[int, list[Published], list[tuple[int, Kind]], int],
) -> None:
    ratio, history, queue, n_slots = case
    gate = RatioGate(ratio)
    planned, _ = plan(history, queue, n_slots, ratio)
    assert len(planned) <= n_slots
    assert len(set(planned)) == len(planned)
    kind_of = dict(queue)
    sofar: list[Published] = list(history)
    waiting = list(queue)
    for key in planned:
        # The slot took the first waiting post the gate allowed; everything before it was held.
        allowed = [k for k, kind in waiting if gate.check(sofar, kind).allowed]
        assert allowed
        assert key == allowed[0]
        waiting = [(k, kind) for k, kind in waiting if k != key]
        sofar.append(Published(kind_of[key]))
    if len(planned) < n_slots:
        # A slot stayed empty: nothing left could legally fill it.
        if waiting:
            event("slot left empty with posts still queued")
        assert all(
            kind is Kind.PROMOTION and not gate.check(sofar, kind).allowed for _, kind in waiting
        )


@settings(max_examples=400, deadline=None)
@given(case=planning_cases(valid=False))
def test_plan_explains_every_held_promotion(
    case: tuple[int, list[Published], list[tuple[int, Kind]], int],
) -> None:
    ratio, history, queue, n_slots = case
    gate = RatioGate(ratio)
    planned, held = plan(history, queue, n_slots, ratio)
    after = history + as_published(planned, queue)
    position = {key: index for index, (key, _) in enumerate(queue)}
    for key, kind in queue:
        if kind is Kind.VALUE:
            assert key not in held
        elif key not in planned:
            if key in held:
                event("unplanned promotion held")
            else:
                # Only the horizon kept it out: every slot is used and the gate would allow it.
                assert len(planned) == n_slots
                assert gate.check(after, kind).allowed
        else:
            # Planned: it has a hold Decision iff something queued after it went out before it.
            slot = planned.index(key)
            overtaken = any(position[other] > position[key] for other in planned[:slot])
            if overtaken:
                event("promotion planned later than its queue position")
            assert (key in held) is overtaken
    for decision in held.values():
        assert not decision.allowed
        assert decision.reason is not None
        assert decision.reason.startswith("promotion held: needs ")
        assert 0 < decision.value_posts_needed <= ratio


@settings(max_examples=300, deadline=None)
@given(
    ratio=ratios,
    steps=st.lists(st.tuples(st.sampled_from(["slot", "post now"]), kinds), max_size=40),
    backlog=st.lists(kinds, max_size=30),
)
def test_publishing_with_manual_overrides_never_breaks_the_rule(
    ratio: int, steps: list[tuple[str, Kind]], backlog: list[Kind]
) -> None:
    """Slots publish what ``plan`` picks for one slot; the owner sometimes posts by hand, and a
    promotion posted by hand needs an override, recorded in the history."""
    gate = RatioGate(ratio)
    queue = list(enumerate(backlog))
    history: list[Published] = []
    for action, kind in steps:
        if action == "slot":
            planned, _ = plan(history, queue, 1, ratio)
            for key in planned:
                history.append(Published(dict(queue)[key]))
                queue = [(k, q) for k, q in queue if k != key]
        else:
            decision = gate.check(history, kind, override=True)
            assert decision.allowed
            overridden = decision.reason == OVERRIDE_REASON
            if overridden:
                event("manual promotion needed an override")
                assert kind is Kind.PROMOTION
                assert not gate.check(history, kind).allowed
            history.append(Published(kind, override=overridden))
        assert is_valid_sequence(history, ratio)
    # And the overrides are the only promotions that came too early.
    assert violations([Published(entry.kind) for entry in history], ratio) == [
        index for index, entry in enumerate(history) if entry.override
    ]
