"""The publish ledger and reconciliation, on SQLite and PostgreSQL, with the fake network.

A publisher "dies" mid-call by a BaseException the publisher does not catch (as SIGKILL would
leave it: the claim committed, no outcome recorded); the crash test does it with real processes.
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from connectors.bluesky import BlueskyConnector
from connectors.mastodon import MastodonConnector
from goodwill import cli
from goodwill.config import Config
from goodwill.errors import Transient, UnknownOutcome
from goodwill.events import RecordingSink
from goodwill.models import PostState
from goodwill.publishing import LEASE, SETTLE, build_outgoing, publish_due
from goodwill.reconcile import idempotency_window, lookup_is_authoritative, reconcile
from goodwill.store import Store
from goodwill.store.posts import Choice
from tests.fakes import FakeNetwork
from tests.helpers_cli import json_out
from tests.helpers_publishing import MONDAY_9, queue_posts, write_config

RUN = MONDAY_9 + timedelta(minutes=5)


@pytest.fixture
def config(tmp_path: Path, brand: str) -> Config:
    return write_config(tmp_path / "config", brand)


class Killed(BaseException):
    """The publisher process died here (nothing above the connector catches it)."""


def die(*_: object) -> None:
    raise Killed


def crash_once(config: Config, store: Store, net: FakeNetwork) -> None:
    with pytest.raises(Killed):
        publish_due(config, store, RUN, RecordingSink(), net.factory)


def test_crash_before_sending_waits_for_the_lease_then_resends_once_if_lookup_is_authoritative(
    config: Config, store: Store
) -> None:
    net = FakeNetwork(lookup_is_authoritative=True)
    [post_id] = queue_posts(store, "a", "v", MONDAY_9 - timedelta(hours=1))
    net.before_send = die
    crash_once(config, store, net)
    net.before_send = None
    assert store.posts.get(post_id).state == PostState.PUBLISHING
    # A second publisher while the claim is live: it must not touch the post (the first may be
    # mid-call), nor fill the slot again.
    publish_due(config, store, RUN + timedelta(minutes=1), RecordingSink(), net.factory)
    assert net.sent == [] and net.lookups == 0
    # After the lease: looked up, not there, and the lookup proves it never left: re-sent.
    later = RUN + LEASE + timedelta(minutes=1)
    result = publish_due(config, store, later, RecordingSink(), net.factory)
    assert net.post_ids() == [post_id] and net.lookups == 1
    post = store.posts.get(post_id)
    assert post.state == PostState.PUBLISHED and result.published == 1
    assert post.checked and "authoritative" in post.checked and "re-sent" in post.checked
    notes = [e["note"] or "" for e in store.posts.log(post_id)]
    assert any("lease expired" in n for n in notes)


def test_crash_after_the_network_accepted_is_found_never_resent(
    config: Config, store: Store
) -> None:
    net = FakeNetwork(lookup_is_authoritative=True).accept_then_fail("a", Killed())
    [post_id] = queue_posts(store, "a", "v", MONDAY_9 - timedelta(hours=1))
    crash_once(config, store, net)
    sink = RecordingSink()
    result = reconcile(config, store, RUN + LEASE * 2, sink, net.factory)
    assert result.published == 1
    post = store.posts.get(post_id)
    assert post.state == PostState.PUBLISHED and post.remote_id == f"fake-{post_id}"
    assert post.checked and "found on outbox" in post.checked
    assert net.post_ids() == [post_id]  # once
    # Automations see the same event as for a post published directly, marked reconciled.
    [payload] = [p for name, _, p in sink.events if name == "goodwill.post.published"]
    assert payload["category"] == post.category and payload["kind"] == str(post.kind)
    assert payload["remote_id"] == post.remote_id and payload["reconciled"] is True


def test_502_after_accepting_is_unknown_then_found_at_the_next_run(
    config: Config, store: Store
) -> None:
    net = FakeNetwork().accept_then_fail("a", UnknownOutcome("502 Bad Gateway"))
    sink = RecordingSink()
    [post_id] = queue_posts(store, "a", "vv", MONDAY_9 - timedelta(hours=1))[:1]
    first = publish_due(config, store, RUN, sink, net.factory)
    assert first.unknown == 1 and "goodwill.post.unknown" in sink.names()
    assert store.posts.get(post_id).state == PostState.UNKNOWN
    # A run at once leaves it alone: the network may still be storing a lost request.
    publish_due(config, store, RUN + timedelta(minutes=1), sink, net.factory)
    assert net.lookups == 0
    # Once that time is over, the next run looks first, finds it, and does not re-send.
    publish_due(config, store, RUN + SETTLE + timedelta(minutes=1), sink, net.factory)
    post = store.posts.get(post_id)
    assert post.state == PostState.PUBLISHED and net.post_ids() == [post_id]


def test_a_post_taken_over_during_the_lookup_is_left_to_the_one_that_took_it(
    config: Config, store: Store, database_url: str
) -> None:
    """While this run looks the post up on the network, another reconciler (its clock past
    this run's lease) takes the post over: this run records nothing and sends nothing."""
    net = FakeNetwork(lookup_is_authoritative=True)
    [post_id] = queue_posts(store, "a", "v", MONDAY_9 - timedelta(hours=1))
    net.before_send = die
    crash_once(config, store, net)
    net.before_send = None
    later = RUN + LEASE + timedelta(minutes=1)
    other = Store.open(config.brand.name, url=database_url)

    def taken_meanwhile(_: object) -> None:
        ours = store.posts.get(post_id)
        assert other.posts.take_over(
            ours,
            attempt_id="the-other-run",
            lease_until=later + 3 * LEASE,
            now=later + 2 * LEASE,
            note="reconciling: taken over meanwhile",
        )

    net.during_lookup = taken_meanwhile
    try:
        result = reconcile(config, store, later, RecordingSink(), net.factory)
    finally:
        other.close()
    assert net.sent == [] and net.lookups == 1
    assert any("taken over by another run" in line for line in result.lines)
    post = store.posts.get(post_id)
    assert post.state == PostState.PUBLISHING and post.attempt_id == "the-other-run"
    assert not (post.checked or "").endswith("re-sent")  # our decision was not recorded


def test_within_the_idempotency_window_the_same_key_is_sent_again(
    config: Config, store: Store
) -> None:
    # Mastodon-like: repeats of a key within an hour are answered, not posted; the accepted
    # post is not in the lookup yet (indexing lag), so only the key protects us.
    net = FakeNetwork(idempotency_window=timedelta(hours=1))
    net.accept_then_fail("a", UnknownOutcome("read timeout"))
    [post_id] = queue_posts(store, "a", "v", MONDAY_9 - timedelta(hours=1))
    net.hidden.add(post_id)
    publish_due(config, store, RUN, RecordingSink(), net.factory)
    publish_due(config, store, RUN + SETTLE * 2, RecordingSink(), net.factory)
    post = store.posts.get(post_id)
    assert post.state == PostState.PUBLISHED
    assert post.checked and "same idempotency key" in post.checked
    assert net.post_ids() == [post_id]  # the network dropped the repeat


def test_past_the_window_an_unknown_post_waits_for_the_owner_with_what_was_checked(
    config: Config, store: Store, config_dir_for: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    net = FakeNetwork(idempotency_window=timedelta(hours=1))
    [post_id] = queue_posts(store, "a", "v", MONDAY_9 - timedelta(hours=1))
    net.before_send = die
    crash_once(config, store, net)
    net.before_send = None
    sink = RecordingSink()
    result = publish_due(config, store, RUN + timedelta(hours=2), sink, net.factory)
    assert result.unknown == 1 and net.sent == []  # never a blind re-send
    post = store.posts.get(post_id)
    assert post.state == PostState.UNKNOWN
    assert post.checked and "idempotency window passed" in post.checked
    assert post.reason and f"goodwill approve {post_id}" in post.reason
    assert "goodwill.post.unknown" in sink.names()
    # Not asked again on every run (the network's reads cost), but again after RECHECK.
    publish_due(config, store, RUN + timedelta(hours=2, minutes=5), sink, net.factory)
    assert net.lookups == 1
    # The owner sees it, with what was checked, in `goodwill queue --state unknown`.
    assert cli.main(["--config", str(config_dir_for), "queue", "--state", "unknown", "--json"]) == 0
    [row] = json_out(capsys.readouterr().out)
    assert row["id"] == post_id and "idempotency window passed" in row["checked"]
    # The owner says: send it again.
    store.posts.review([post_id], PostState.APPROVED, RUN + timedelta(hours=3))
    publish_due(config, store, MONDAY_9 + timedelta(days=1, minutes=5), sink, net.factory)
    assert store.posts.get(post_id).state == PostState.PUBLISHED
    assert net.post_ids() == [post_id]


def test_a_failed_lookup_keeps_the_post_unknown_and_looks_again(
    config: Config, store: Store
) -> None:
    net = FakeNetwork(lookup_is_authoritative=True)
    net.accept_then_fail("a", UnknownOutcome("read timeout"))
    net.lookup_failures.append(Transient("connection refused"))
    [post_id] = queue_posts(store, "a", "v", MONDAY_9 - timedelta(hours=1))
    publish_due(config, store, RUN, RecordingSink(), net.factory)
    publish_due(config, store, RUN + SETTLE * 2, RecordingSink(), net.factory)
    post = store.posts.get(post_id)
    assert post.state == PostState.UNKNOWN and post.checked
    assert "could not look" in post.checked and net.post_ids() == [post_id]
    publish_due(config, store, RUN + SETTLE * 3, RecordingSink(), net.factory)
    assert store.posts.get(post_id).state == PostState.PUBLISHED
    assert net.post_ids() == [post_id]


def test_a_transient_error_on_a_reconciliation_resend_looks_again_before_sending(
    config: Config, store: Store
) -> None:
    net = FakeNetwork(lookup_is_authoritative=True)
    [post_id] = queue_posts(store, "a", "v", MONDAY_9 - timedelta(hours=1))
    net.before_send = die
    crash_once(config, store, net)
    net.before_send = None
    # Every in-run retry fails too (publishing retries a transient failure before giving up).
    net.fail_next("a", *[Transient("connection refused")] * 3)
    later = RUN + LEASE + timedelta(minutes=1)
    publish_due(config, store, later, RecordingSink(), net.factory)
    assert store.posts.get(post_id).state == PostState.UNKNOWN  # not back in the queue
    publish_due(config, store, later + timedelta(minutes=1), RecordingSink(), net.factory)
    assert store.posts.get(post_id).state == PostState.PUBLISHED
    assert net.lookups == 2 and net.post_ids() == [post_id]


def test_several_reconcilers_at_once_take_a_post_over_once(
    config: Config, store: Store, database_url: str
) -> None:
    net = FakeNetwork(lookup_is_authoritative=True)
    ids = queue_posts(store, "a", "v", MONDAY_9 - timedelta(hours=1))
    net.before_send = die
    crash_once(config, store, net)
    net.before_send = None
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker() -> None:
        own = Store.open(config.brand.name, url=database_url)
        try:
            barrier.wait()
            reconcile(config, own, RUN + LEASE * 2, RecordingSink(), net.factory)
        except BaseException as exc:
            errors.append(exc)
        finally:
            own.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert net.post_ids() == ids and net.lookups == 1
    takeovers = [e for e in store.posts.log(ids[0]) if "reconciling" in (e["note"] or "")]
    assert len(takeovers) == 1


def test_a_publisher_whose_lease_ran_out_does_not_overwrite_the_reconciled_outcome(
    config: Config, store: Store
) -> None:
    """A hung publisher that wakes after reconciliation took over records nothing."""
    net = FakeNetwork(lookup_is_authoritative=True)
    [post_id] = queue_posts(store, "a", "v", MONDAY_9 - timedelta(hours=1))
    stale = []

    def hang(post: object) -> None:
        stale.append(store.posts.get(post_id))
        raise Killed

    net.before_send = hang
    crash_once(config, store, net)
    net.before_send = None
    publish_due(config, store, RUN + LEASE * 2, RecordingSink(), net.factory)
    assert store.posts.get(post_id).state == PostState.PUBLISHED
    assert not store.posts.finish(stale[0], PostState.FAILED, RUN + LEASE * 2, reason="late")
    assert store.posts.get(post_id).state == PostState.PUBLISHED


def test_claims_are_fsynced_on_sqlite(tmp_path: Path) -> None:
    """WAL + synchronous=NORMAL may lose the last commit on power loss: claims use FULL."""
    db = Store.open("fsync", url=f"sqlite:///{tmp_path / 'g.db'}")
    levels = []
    for durable in (False, True, False):
        with db.begin(durable=durable) as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            levels.append(raw.execute("PRAGMA synchronous").fetchone()[0])
    db.close()
    assert levels == [1, 2, 1]  # NORMAL, FULL for the durable one, NORMAL again


@pytest.fixture
def config_dir_for(config: Config, use_database: str) -> Path:
    """The config folder of ``config``, with the CLI pointed at the test's database."""
    return config.dir


def test_outbox_posts_lost_in_a_crash_are_re_sent_once(tmp_path: Path, brand: str) -> None:
    """The outbox file is authoritative: after a crash the post is found, or written once."""
    from connectors import connector_for

    config = write_config(tmp_path / "config", brand)
    store = Store.open(config.brand.name, url=f"sqlite:///{tmp_path / 'g.db'}")
    [found_id] = queue_posts(store, "a", "v", MONDAY_9 - timedelta(hours=1))
    [lost_id] = queue_posts(store, "b", "v", MONDAY_9 - timedelta(hours=1))
    # Both are claimed; "a" reached the file before the crash, "b" did not.
    for channel in ("a", "b"):
        store.posts.claim(
            channel,
            lambda q, h, t: Choice(q[0], []),
            slot_at=MONDAY_9,
            day_start=MONDAY_9 - timedelta(hours=9),
            attempt_id=f"dead-{channel}",
            lease_until=MONDAY_9 + timedelta(minutes=1),
            now=MONDAY_9,
        )
    outbox = connector_for(config.channel("a"), config)
    claimed = store.posts.get(found_id)
    outbox.publish(build_outgoing(config, store, config.channel("a"), claimed, "dead-a"))
    later = MONDAY_9 + LEASE + timedelta(minutes=5)
    reconcile(config, store, later, RecordingSink(), connector_for)
    assert store.posts.get(found_id).state == PostState.PUBLISHED
    assert store.posts.get(lost_id).state == PostState.PUBLISHED
    lines = config.resolve_path("outbox.jsonl").read_text().splitlines()
    assert sorted(json.loads(x)["post_id"] for x in lines) == sorted([found_id, lost_id])
    store.close()


@pytest.mark.parametrize(
    ("network", "expected"),
    [
        # Mastodon: the Idempotency-Key dedupes for an hour, so a repeat inside it is safe.
        (MastodonConnector, "same idempotency key"),
        # Bluesky: the lookup reads the post's own record key; not there means never written.
        (BlueskyConnector, "authoritative"),
    ],
    ids=["mastodon", "bluesky"],
)
def test_real_connectors_declare_how_an_unknown_post_is_settled(
    config: Config, store: Store, network: type, expected: str
) -> None:
    """With the connector's own settings, a post lost mid-call is re-sent, not left unknown."""
    net = FakeNetwork(
        idempotency_window=idempotency_window(network),
        lookup_is_authoritative=lookup_is_authoritative(network),
    )
    [post_id] = queue_posts(store, "a", "v", MONDAY_9 - timedelta(hours=1))
    net.before_send = die
    crash_once(config, store, net)
    net.before_send = None
    result = publish_due(
        config, store, RUN + LEASE + timedelta(minutes=1), RecordingSink(), net.factory
    )
    post = store.posts.get(post_id)
    assert post.state == PostState.PUBLISHED and result.unknown == 0
    assert post.checked and expected in post.checked and "re-sent" in post.checked
    assert net.post_ids() == [post_id]
