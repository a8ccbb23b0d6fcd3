"""The Mastodon connector against a loopback server speaking Mastodon's REST API.

Response bodies follow the shapes in docs.joinmastodon.org (Status, Account, Instance v2 and
the error entity ``{"error": "..."}``), trimmed to the fields Goodwill reads plus a few others.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from connectors.mastodon import MastodonConnector
from goodwill.errors import Rejected
from tests.connector_tester import (
    FAILURE_CASES,
    Case,
    FakeServer,
    NetworkSpec,
    Recorded,
    Reply,
    run_case,
    sample_post,
)
from tests.fakemastodon import ACCOUNT, INSTANCE, TOKEN, routes, status


def connector(base_url: str, timeout: tuple[float, float] = (2.0, 5.0)) -> MastodonConnector:
    return MastodonConnector(base_url, TOKEN, language="en", timeout=timeout)


SPEC = NetworkSpec(
    network="mastodon",
    publish=("POST", "/api/v1/statuses"),
    connector=connector,
    routes=routes,
    rate_limited=Reply.json(
        {"error": "Too many requests"},
        429,
        {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": "2026-11-26T12:00:00.000000Z",
        },
    ),
    reset_at=datetime(2026, 11, 26, 12, 0, tzinfo=UTC),
    unauthorized=Reply.json({"error": "The access token is invalid"}, 401),
    # Mastodon has no "duplicate content" error: a re-send with the same Idempotency-Key is
    # answered with the status created the first time. Its 422 is a validation failure.
    duplicate=Reply.json({"error": "Validation failed: Text character limit of 500 exceeded"}, 422),
    secrets=(TOKEN,),
)


@pytest.mark.parametrize("case", FAILURE_CASES, ids=lambda c: c.name)
def test_failures(case: Case, fake_server: FakeServer) -> None:
    err = run_case(SPEC, case, fake_server)
    if case.fault == "duplicate":
        assert "Text character limit of 500 exceeded" in err.message  # Mastodon's own words


def test_publish_sends_the_status_with_token_and_idempotency_key(fake_server: FakeServer) -> None:
    routes(fake_server)
    post = sample_post("mastodon")
    receipt = connector(fake_server.url).publish(post)

    [req] = fake_server.calls("POST", "/api/v1/statuses")
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    assert req.headers["content-type"] == "application/json"
    assert req.json == {"status": post.text, "visibility": "public", "language": "en"}
    key = req.headers["idempotency-key"]
    assert key == MastodonConnector.idempotency_key(post)
    assert "Test Studio" not in key
    assert receipt.remote_id == "113527654180254321"
    assert receipt.url == "https://photog.social/@hazelpine/113527654180254321"
    assert receipt.published_at == datetime(2026, 11, 26, 9, 0, 1, 123000, tzinfo=UTC)


def test_the_idempotency_key_is_stable_per_post_and_differs_between_posts() -> None:
    a1 = sample_post("mastodon", attempt_id="first")
    a2 = sample_post("mastodon", attempt_id="second")
    other = sample_post("mastodon", post_id=43, idempotency_key="goodwill-Test Studio-43")
    key = MastodonConnector.idempotency_key
    assert key(a1) == key(a2) != key(other)


def test_limit_is_the_instance_limit_read_once(fake_server: FakeServer) -> None:
    routes(fake_server)
    conn = connector(fake_server.url)
    assert conn.limit() == 1000
    assert conn.limit() == 1000
    assert len(fake_server.calls("GET", "/api/v2/instance")) == 1


def test_limit_falls_back_to_500_when_the_instance_does_not_say(fake_server: FakeServer) -> None:
    fake_server.route("GET", "/api/v2/instance", Reply.json({"domain": "old.example"}))
    assert connector(fake_server.url).limit() == 500


def test_text_over_the_instance_limit_is_rejected_before_sending(fake_server: FakeServer) -> None:
    routes(fake_server)
    fake_server.route(
        "GET",
        "/api/v2/instance",
        Reply.json({**INSTANCE, "configuration": {"statuses": {"max_characters": 50}}}),
    )
    with pytest.raises(Rejected, match="allows 50"):
        connector(fake_server.url).publish(sample_post("mastodon"))
    assert not fake_server.calls("POST", "/api/v1/statuses")


def test_find_published_finds_the_post_among_recent_statuses(fake_server: FakeServer) -> None:
    routes(fake_server)
    post = sample_post("mastodon")
    fake_server.route(
        "GET",
        f"/api/v1/accounts/{ACCOUNT['id']}/statuses",
        Reply.json(
            [
                status("Something else entirely", "1"),
                status(post.text, "113527654180254399"),
            ]
        ),
    )
    conn = connector(fake_server.url)
    found = conn.find_published(post)
    assert found is not None and found.remote_id == "113527654180254399"
    [listing] = fake_server.calls("GET", f"/api/v1/accounts/{ACCOUNT['id']}/statuses")
    assert listing.headers["authorization"] == f"Bearer {TOKEN}"
    assert conn.find_published(sample_post("mastodon", text="never posted", link=None)) is None


def test_verify_reads_the_account(fake_server: FakeServer) -> None:
    routes(fake_server)
    assert connector(fake_server.url).verify() == f"@hazelpine on {fake_server.url}"


def test_a_resend_with_the_same_key_gets_the_first_status(fake_server: FakeServer) -> None:
    """What an instance does with a repeated Idempotency-Key (one status, answered twice)."""
    fake_server.route("GET", "/api/v2/instance", Reply.json(INSTANCE))
    seen: dict[str, dict[str, Any]] = {}

    def create(req: Recorded) -> Reply:
        key = req.headers["idempotency-key"]
        if key not in seen:
            seen[key] = status(req.json["status"], str(113527654180254321 + len(seen)))
        return Reply.json(seen[key])

    fake_server.route("POST", "/api/v1/statuses", create)
    conn = connector(fake_server.url)
    post = sample_post("mastodon")
    first = conn.publish(post)
    again = conn.publish(sample_post("mastodon", attempt_id="retry"))
    assert first.remote_id == again.remote_id
    assert len(seen) == 1


def test_preview_survives_a_rate_limited_instance(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 429 on the public instance read is shown as the default limit, not raised."""
    fake_server.route("GET", "/api/v2/instance", SPEC.rate_limited)
    monkeypatch.setattr("connectors.mastodon._PUBLIC_LIMITS", {})
    channel = SimpleNamespace(base_url=fake_server.url, visibility="public", language="en")
    config = SimpleNamespace(brand=SimpleNamespace(language="en"))
    shown = MastodonConnector.preview(channel, config, sample_post("mastodon"))  # type: ignore[arg-type]
    assert shown["limit"] == 500
    assert shown["limit_from"].startswith("default")
    [probe] = fake_server.calls("GET", "/api/v2/instance")
    assert "authorization" not in probe.headers
