"""The Bluesky connector against a loopback PDS speaking XRPC (see ``tests/fakepds.py``)."""

from __future__ import annotations

import json
import os
import re
import stat
from datetime import UTC, datetime, timedelta

import pytest

from connectors.bluesky import BlueskyConnector, SessionFile, post_rkey
from goodwill.credentials import state_dir
from goodwill.errors import AuthFailed, Rejected
from tests.connector_tester import (
    FAILURE_CASES,
    Case,
    FakeServer,
    NetworkSpec,
    run_case,
    sample_post,
)
from tests.fakepds import APP_PASSWORD, DID, HANDLE, FakePDS, xrpc_error

TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
RESET = 1795654800  # ratelimit-reset: epoch seconds


def connector(base_url: str, timeout: tuple[float, float] = (2.0, 5.0)) -> BlueskyConnector:
    return BlueskyConnector(base_url, HANDLE, APP_PASSWORD, language="en", timeout=timeout)


def _routes(server: FakeServer) -> None:
    pds = FakePDS(server).install()
    # The table's "duplicate" case: an earlier attempt already wrote this post's record.
    pds.records[post_rkey(sample_post("bluesky"))] = {"text": sample_post("bluesky").text}


SPEC = NetworkSpec(
    network="bluesky",
    publish=("POST", "/xrpc/com.atproto.repo.createRecord"),
    connector=connector,
    routes=_routes,
    rate_limited=xrpc_error(
        "RateLimitExceeded",
        "Rate Limit Exceeded",
        429,
        **{
            "ratelimit-limit": "5000",
            "ratelimit-remaining": "0",
            "ratelimit-reset": str(RESET),
            "ratelimit-policy": "5000;w=3600",
        },
    ),
    reset_at=datetime.fromtimestamp(RESET, UTC),
    unauthorized=xrpc_error("AuthenticationRequired", "Invalid identifier or password", 401),
    duplicate=xrpc_error("InvalidRequest", "Record already exists"),
    duplicate_error=None,  # the fixed rkey meets the first record: publish returns its receipt
    secrets=(APP_PASSWORD,),
)


@pytest.mark.parametrize("case", FAILURE_CASES, ids=lambda c: c.name)
def test_failures(case: Case, fake_server: FakeServer) -> None:
    run_case(SPEC, case, fake_server)


@pytest.fixture
def pds(fake_server: FakeServer) -> FakePDS:
    return FakePDS(fake_server).install()


def test_publish_creates_a_post_record_with_facets_card_and_fixed_rkey(
    pds: FakePDS, fake_server: FakeServer
) -> None:
    text = "Café light: the golden hour, explained 📷 https://example.com/light?x=1 via @pp"
    post = sample_post("bluesky", text=text)
    receipt = connector(fake_server.url).publish(post)

    [req] = fake_server.calls("POST", "/xrpc/com.atproto.repo.createRecord")
    assert req.headers["authorization"].startswith("Bearer ey")
    body = req.json
    assert body["repo"] == DID and body["collection"] == "app.bsky.feed.post"
    assert TID.match(body["rkey"]) and body["rkey"] == post_rkey(post)
    record = body["record"]
    assert record["$type"] == "app.bsky.feed.post"
    assert record["text"] == text
    assert record["langs"] == ["en"]
    assert datetime.fromisoformat(record["createdAt"].replace("Z", "+00:00")).tzinfo
    assert record["createdAt"].endswith("Z")
    # Byte offsets: "é" and "📷" take 2 and 4 bytes in UTF-8.
    [facet] = record["facets"]
    start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
    assert text.encode()[start:end] == b"https://example.com/light?x=1"
    assert start == len(text[: text.index("https")].encode()) != text.index("https")
    assert facet["features"] == [
        {"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/light?x=1"}
    ]
    assert record["embed"] == {
        "$type": "app.bsky.embed.external",
        "external": {
            "uri": "https://example.com/light?x=1",
            "title": "Light meters still matter",
            "description": "Why an incident meter beats the camera's reading.",
        },
    }
    assert receipt.remote_id == f"at://{DID}/app.bsky.feed.post/{body['rkey']}"
    assert receipt.url == f"https://bsky.app/profile/{HANDLE}/post/{body['rkey']}"


def test_rkey_is_a_stable_tid_per_post() -> None:
    one = post_rkey(sample_post("bluesky", attempt_id="a"))
    assert one == post_rkey(sample_post("bluesky", attempt_id="b"))
    others = {
        post_rkey(sample_post("bluesky", post_id=i, idempotency_key=f"k-{i}")) for i in range(500)
    }
    assert len(others) == 500 and all(TID.match(k) for k in others)
    assert post_rkey(sample_post("bluesky", channel="other")) != one


def test_a_resend_meets_the_first_record_instead_of_duplicating(
    pds: FakePDS, fake_server: FakeServer
) -> None:
    post = sample_post("bluesky")
    first = connector(fake_server.url).publish(post)
    again = connector(fake_server.url).publish(sample_post("bluesky", attempt_id="retry"))
    assert again.remote_id == first.remote_id
    assert len(pds.records) == 1
    assert len(fake_server.calls("POST", "/xrpc/com.atproto.repo.createRecord")) == 2


def test_find_published_is_get_record_with_the_rkey(pds: FakePDS, fake_server: FakeServer) -> None:
    conn = connector(fake_server.url)
    post = sample_post("bluesky")
    assert conn.find_published(post) is None
    conn.publish(post)
    found = conn.find_published(post)
    assert found is not None and found.remote_id.endswith(post_rkey(post))
    last = fake_server.calls("GET", "/xrpc/com.atproto.repo.getRecord")[-1]
    assert last.query == {
        "repo": [DID],
        "collection": ["app.bsky.feed.post"],
        "rkey": [post_rkey(post)],
    }


def test_the_session_is_persisted_0600_and_reused_across_runs(
    pds: FakePDS, fake_server: FakeServer
) -> None:
    for i in range(5):  # five runs, five posts: one session
        connector(fake_server.url).publish(
            sample_post("bluesky", post_id=i, idempotency_key=f"k{i}")
        )
    assert pds.sessions_created == 1
    path = SessionFile(fake_server.url, HANDLE).path
    assert path.is_relative_to(state_dir())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    saved = json.loads(path.read_text())
    assert saved["did"] == DID and APP_PASSWORD not in path.read_text()


def test_an_expired_token_is_refreshed_and_the_post_sent_once(
    pds: FakePDS, fake_server: FakeServer
) -> None:
    connector(fake_server.url).verify()
    pds.expire_access()
    connector(fake_server.url).publish(sample_post("bluesky"))
    assert len(pds.records) == 1
    assert len(fake_server.calls("POST", "/xrpc/com.atproto.server.refreshSession")) == 1
    assert pds.sessions_created == 1
    creates = fake_server.calls("POST", "/xrpc/com.atproto.repo.createRecord")
    assert len(creates) == 2  # ExpiredToken, then the real one
    saved = SessionFile(fake_server.url, HANDLE).load()
    assert saved is not None and saved["accessJwt"] in pds.valid_access


def test_a_token_about_to_lapse_is_refreshed_before_the_call(fake_server: FakeServer) -> None:
    pds = FakePDS(fake_server, access_lifetime=timedelta(seconds=30)).install()
    connector(fake_server.url).verify()
    connector(fake_server.url).verify()
    assert len(fake_server.calls("POST", "/xrpc/com.atproto.server.refreshSession")) == 1
    assert pds.sessions_created == 1


def test_a_refused_refresh_creates_one_new_session(pds: FakePDS, fake_server: FakeServer) -> None:
    connector(fake_server.url).verify()
    pds.expire_access()
    pds.revoke_refresh()
    connector(fake_server.url).publish(sample_post("bluesky"))
    assert pds.sessions_created == 2
    assert len(pds.records) == 1


def test_a_wrong_app_password_is_an_auth_failure_without_the_password(
    pds: FakePDS, fake_server: FakeServer
) -> None:
    conn = BlueskyConnector(fake_server.url, HANDLE, "wrong-pass-word-xyz1")
    with pytest.raises(AuthFailed) as info:
        conn.publish(sample_post("bluesky"))
    assert "wrong-pass-word-xyz1" not in str(info.value)
    assert not fake_server.calls("POST", "/xrpc/com.atproto.repo.createRecord")


def test_invalid_request_is_rejected_with_the_pds_words(
    pds: FakePDS, fake_server: FakeServer
) -> None:
    fake_server.script(
        "POST",
        "/xrpc/com.atproto.repo.createRecord",
        xrpc_error("InvalidRequest", "Invalid app.bsky.feed.post record: Record/text too long"),
    )
    with pytest.raises(Rejected, match="Record/text too long"):
        connector(fake_server.url).publish(sample_post("bluesky"))


def test_more_than_300_graphemes_is_rejected_before_sending(
    pds: FakePDS, fake_server: FakeServer
) -> None:
    with pytest.raises(Rejected, match="301 graphemes"):
        connector(fake_server.url).publish(sample_post("bluesky", text="👍🏽" * 301, link=None))
    assert not fake_server.calls("POST", "/xrpc/com.atproto.repo.createRecord")
    # 300 family emoji (several code points, one grapheme each) fit.
    connector(fake_server.url).publish(sample_post("bluesky", text="👨‍👩‍👧" * 300, link=None))


def test_two_publishers_share_one_refresh(pds: FakePDS, fake_server: FakeServer) -> None:
    """Refresh tokens are single-use: the second publisher takes the first one's new session."""
    first, second = connector(fake_server.url), connector(fake_server.url)
    first.verify()
    second.verify()
    pds.expire_access()
    first.publish(sample_post("bluesky", post_id=1, idempotency_key="k1"))
    second.publish(sample_post("bluesky", post_id=2, idempotency_key="k2"))
    assert len(pds.records) == 2
    assert len(fake_server.calls("POST", "/xrpc/com.atproto.server.refreshSession")) == 1
    assert pds.sessions_created == 1


def test_a_refused_refresh_and_a_revoked_app_password_pause_with_auth_failed(
    pds: FakePDS, fake_server: FakeServer
) -> None:
    connector(fake_server.url).verify()
    pds.expire_access()
    pds.revoke_refresh()
    revoked = BlueskyConnector(fake_server.url, HANDLE, "zzzz-zzzz-zzzz-zzzz")
    with pytest.raises(AuthFailed, match="Invalid identifier or password") as info:
        revoked.publish(sample_post("bluesky"))
    assert "zzzz-zzzz-zzzz-zzzz" not in str(info.value)
    assert pds.records == {}
    assert SessionFile(fake_server.url, HANDLE).load() is None  # nothing stale kept
