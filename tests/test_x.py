"""X connector against a local X API: recorded responses, signatures, tokens, failures."""

from __future__ import annotations

import json
import os
import stat
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from oauthlib.oauth1 import Client as OAuth1Client

from connectors import connector_for
from connectors.x import XConnector
from goodwill.config import load_config
from goodwill.errors import AuthFailed, Duplicate, RateLimited, Rejected, Transient, UnknownOutcome
from goodwill.models import Kind, OutgoingPost
from tests.apiserver import NetServer, Reply, cassette_replies, closed_port
from tests.conftest import corpora_dir
from tests.connector_tester import FAILURE_CASES, Case, FakeServer, NetworkSpec, run_case
from tests.connector_tester import Reply as TReply

KEYS = {
    "GW_TEST_X_API_KEY": "xkey-consumer-1234",
    "GW_TEST_X_API_SECRET": "xsecret-consumer-5678",
    "GW_TEST_X_ACCESS_TOKEN": "1072250532645998596-xtokenabcd",
    "GW_TEST_X_ACCESS_SECRET": "xtokensecret-efgh",
}
#: X API v2's shape for GET /2/users/me (docs.x.com, "Users lookup: me").
ME = {"data": {"id": "1072250532645998596", "name": "Hazel & Pine", "username": "hazelpine"}}
#: X API v2's problem body for a duplicate post (docs.x.com, "Error responses"; tweepy issue).
DUPLICATE = {
    "detail": "You are not allowed to create a Tweet with duplicate content.",
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}


def cassette(name: str) -> list[tuple[str, str, Reply]]:
    root = corpora_dir()
    path = root / "tweepy-cassettes" / "cassettes" / name if root else None
    if path is None or not path.exists():
        pytest.skip("tweepy cassettes not present (../shared/corpora)")
    return cassette_replies(path)


def outgoing(
    text: str = "Worth a read: golden hour portraits https://example.com/a",
) -> OutgoingPost:
    return OutgoingPost(
        post_id=7,
        channel="studio-x-live",
        network="x",
        category="curated",
        kind=Kind.VALUE,
        text=text,
        link="https://example.com/a",
        credit="@petapixel",
        idempotency_key="goodwill-test-7",
    )


@pytest.fixture
def oauth1_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    return KEYS


@pytest.fixture(autouse=True)
def _loopback_oauth(monkeypatch: pytest.MonkeyPatch) -> None:
    # oauthlib refuses plain http; the fake authorization server is on 127.0.0.1.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def add_channel(config_dir: Path, block: str) -> None:
    path = config_dir / "channels.yaml"
    path.write_text(path.read_text(encoding="utf-8") + block, encoding="utf-8")


def oauth1_channel(config_dir: Path, base_url: str) -> Any:
    # Exactly as the README tells the owner to write it.
    add_channel(
        config_dir,
        f"""
  - name: studio-x-live
    network: x
    api_key: env:GW_TEST_X_API_KEY
    api_secret: env:GW_TEST_X_API_SECRET
    access_token: env:GW_TEST_X_ACCESS_TOKEN
    access_token_secret: env:GW_TEST_X_ACCESS_SECRET
    base_url: {base_url}
    monthly_budget: 5.00
    slots: {{weekdays: ["09:00"]}}
""",
    )
    config = load_config(config_dir)
    return config, config.channel("studio-x-live")


def assert_oauth1_signed(req: Any, url: str) -> None:
    """The Authorization header is a valid HMAC-SHA1 signature of this request by our keys."""
    header = req.headers["authorization"]
    assert header.startswith("OAuth ")
    params = dict(
        (k.strip(), v.strip().strip('"'))
        for k, v in (p.split("=", 1) for p in header[len("OAuth ") :].split(","))
    )
    assert params["oauth_consumer_key"] == KEYS["GW_TEST_X_API_KEY"]
    assert params["oauth_token"] == KEYS["GW_TEST_X_ACCESS_TOKEN"]
    assert params["oauth_signature_method"] == "HMAC-SHA1"
    expected = OAuth1Client(
        KEYS["GW_TEST_X_API_KEY"],
        client_secret=KEYS["GW_TEST_X_API_SECRET"],
        resource_owner_key=KEYS["GW_TEST_X_ACCESS_TOKEN"],
        resource_owner_secret=KEYS["GW_TEST_X_ACCESS_SECRET"],
        nonce=params["oauth_nonce"],
        timestamp=params["oauth_timestamp"],
    )
    _, headers, _ = expected.sign(url, req.method)
    from urllib.parse import unquote

    want = headers["Authorization"].split('oauth_signature="')[1].split('"')[0]
    assert unquote(params["oauth_signature"]) == unquote(want)


# --------------------------------------------------------------------------- publishing


def test_oauth1_channel_publishes_through_local_server_replaying_the_cassette(
    config_dir: Path, oauth1_env: dict[str, str]
) -> None:
    [(method, path, created), *_] = cassette("test_client_create_and_delete_tweet.yaml")
    assert (method, path) == ("POST", "/2/tweets")
    with NetServer() as net:
        net.handler("POST", "/2/tweets", lambda req: created)
        config, channel = oauth1_channel(config_dir, net.url)
        connector = connector_for(channel, config)
        assert isinstance(connector, XConnector)
        receipt = connector.publish(outgoing("Test Tweet"))
        [req] = net.requests
    # The recorded X answer, read through tweepy.
    assert receipt.remote_id == "1456012973835788293"
    assert receipt.url == "https://x.com/i/web/status/1456012973835788293"
    # The request tweepy sent went to the local server (not api.twitter.com), signed.
    assert req.method == "POST" and req.path == "/2/tweets"
    assert req.json() == {"text": "Test Tweet"}
    assert req.headers["content-type"] == "application/json"
    assert "Tweepy/" in req.headers["user-agent"]
    assert_oauth1_signed(req, f"{net.url}/2/tweets")


def test_text_goes_out_exactly_as_queued(config_dir: Path, oauth1_env: dict[str, str]) -> None:
    text = "Café 📷 shoot tips — “light” & shade https://example.com/a?b=1&c=2\nvia @petapixel"
    with NetServer() as net:
        net.reply("POST", "/2/tweets", 201, {"data": {"id": "99", "text": text}})
        config, channel = oauth1_channel(config_dir, net.url)
        connector_for(channel, config).publish(outgoing(text))
        assert net.requests[0].json() == {"text": text}


def test_find_published_matches_text_with_tco_links(
    config_dir: Path, oauth1_env: dict[str, str]
) -> None:
    # A real tweet object as X returns it (recorded), as one of the account's recent posts.
    [(_, _, recorded)] = cassette("test_client_get_tweet.yaml")
    real = json.loads(recorded.body)["data"]
    ours = {
        "id": "1800000000000000001",
        "text": "Worth a read: golden hour portraits https://t.co/AbCdEf123 &amp; more",
        "created_at": "2026-11-20T09:00:01.000Z",
        "edit_history_tweet_ids": ["1800000000000000001"],
    }
    with NetServer() as net:
        net.reply("GET", "/2/users/me", 200, ME)
        net.reply(
            "GET",
            f"/2/users/{ME['data']['id']}/tweets",
            200,
            {"data": [real, ours], "meta": {"result_count": 2}},
        )
        config, channel = oauth1_channel(config_dir, net.url)
        connector = connector_for(channel, config)
        found = connector.find_published(
            outgoing("Worth a read: golden hour portraits https://example.com/a & more")
        )
        missing = connector.find_published(outgoing("Something never posted"))
        timeline = net.sent("GET", f"/2/users/{ME['data']['id']}/tweets")
    assert found is not None and found.remote_id == "1800000000000000001"
    assert found.published_at == datetime(2026, 11, 20, 9, 0, 1, tzinfo=UTC)
    assert missing is None
    assert timeline[0].query["max_results"] == ["50"]
    assert "oauth_signature" in timeline[0].headers["authorization"]


def test_find_published_survives_a_malformed_created_at(
    config_dir: Path, oauth1_env: dict[str, str]
) -> None:
    ours = {"id": "1800000000000000002", "text": "Hello there", "created_at": "not a time"}
    with NetServer() as net:
        net.reply("GET", "/2/users/me", 200, ME)
        net.reply("GET", f"/2/users/{ME['data']['id']}/tweets", 200, {"data": [ours]})
        config, channel = oauth1_channel(config_dir, net.url)
        found = connector_for(channel, config).find_published(outgoing("Hello there"))
    assert found is not None and found.remote_id == ours["id"]
    assert found.published_at is None


def test_verify_reads_users_me(config_dir: Path, oauth1_env: dict[str, str]) -> None:
    with NetServer() as net:
        net.reply("GET", "/2/users/me", 200, ME)
        config, channel = oauth1_channel(config_dir, net.url)
        assert connector_for(channel, config).verify() == "@hazelpine"  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- failures

RESET = 1_900_000_000

X_FAILURES = [
    (
        "429 with x-rate-limit-reset",
        Reply(
            429,
            {
                "title": "Too Many Requests",
                "detail": "Too Many Requests",
                "type": "about:blank",
                "status": 429,
            },
            {
                "x-rate-limit-limit": "100",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(RESET),
            },
        ),
        RateLimited,
    ),
    (
        "401",
        Reply(
            401,
            {
                "title": "Unauthorized",
                "type": "about:blank",
                "status": 401,
                "detail": "Unauthorized",
            },
        ),
        AuthFailed,
    ),
    ("403 duplicate", Reply(403, DUPLICATE), Rejected),
    (
        "403 app permissions",
        Reply(
            403,
            {
                "title": "Forbidden",
                "detail": "Your client app is not configured with the appropriate oauth1 app "
                "permissions for this endpoint.",
                "type": "https://api.twitter.com/2/problems/oauth1-permissions",
                "status": 403,
            },
        ),
        AuthFailed,
    ),
    (
        "400 too long",
        Reply(
            400,
            {
                "errors": [{"message": "Tweet text is too long."}],
                "title": "Invalid Request",
                "detail": "One or more parameters to your request was invalid.",
                "type": "https://api.twitter.com/2/problems/invalid-request",
            },
        ),
        Rejected,
    ),
    (
        "500 html",
        Reply(500, "<html><body><h1>Internal Server Error</h1></body></html>"),
        UnknownOutcome,
    ),
    ("503 html", Reply(503, "<html><body>Over capacity</body></html>"), UnknownOutcome),
]


@pytest.mark.parametrize(("case", "reply", "error"), X_FAILURES, ids=[c[0] for c in X_FAILURES])
def test_failures_are_translated(
    config_dir: Path, oauth1_env: dict[str, str], case: str, reply: Reply, error: type[Exception]
) -> None:
    with NetServer() as net:
        net.reply("POST", "/2/tweets", reply.status, reply.body, reply.headers)
        config, channel = oauth1_channel(config_dir, net.url)
        with pytest.raises(error) as caught:
            connector_for(channel, config).publish(outgoing())
    if error is RateLimited:
        assert caught.value.reset_at == datetime.fromtimestamp(RESET, UTC)  # type: ignore[attr-defined]
    if case == "403 duplicate":
        assert "duplicate content" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__  # no tweepy trace
    for secret in KEYS.values():
        assert secret not in str(caught.value)


def test_connection_refused_is_transient(config_dir: Path, oauth1_env: dict[str, str]) -> None:
    config, channel = oauth1_channel(config_dir, closed_port())
    with pytest.raises(Transient):
        connector_for(channel, config).publish(outgoing())


def test_read_timeout_is_unknown_outcome(oauth1_env: dict[str, str]) -> None:
    with NetServer() as net:
        net.hang("POST", "/2/tweets")
        connector = XConnector(
            base_url=net.url,
            oauth1=tuple(KEYS.values()),
            timeout=(2.0, 0.3),  # type: ignore[arg-type]
        )
        with pytest.raises(UnknownOutcome):
            connector.publish(outgoing())
        assert len(net.sent("POST", "/2/tweets")) == 1  # it did reach the server


def test_read_timeout_on_a_read_is_transient(oauth1_env: dict[str, str]) -> None:
    with NetServer() as net:
        net.hang("GET", "/2/users/me")
        connector = XConnector(
            base_url=net.url,
            oauth1=tuple(KEYS.values()),
            timeout=(2.0, 0.3),  # type: ignore[arg-type]
        )
        with pytest.raises(Transient):
            connector.verify()


@pytest.mark.parametrize("status", [500, 503])
def test_server_error_on_a_read_is_transient(
    config_dir: Path, oauth1_env: dict[str, str], status: int
) -> None:
    """A 5xx on a read (verify, find_published) changed nothing: retry, no reconciliation."""
    with NetServer() as net:
        net.reply("GET", "/2/users/me", status, "<html><body>Over capacity</body></html>")
        config, channel = oauth1_channel(config_dir, net.url)
        connector = connector_for(channel, config)
        with pytest.raises(Transient, match=f"HTTP {status}"):
            connector.verify()  # type: ignore[attr-defined]
        net.reply("GET", "/2/users/me", 200, ME)
        net.reply("GET", f"/2/users/{ME['data']['id']}/tweets", status, "<html>down</html>")
        with pytest.raises(Transient, match=f"HTTP {status}"):
            connector.find_published(outgoing())


# --------------------------------------------------------------------------- OAuth 2.0 PKCE


def token_file(tmp_path: Path, **token: Any) -> Path:
    path = tmp_path / "secrets" / "x-token.json"
    path.parent.mkdir(mode=0o700)
    path.write_text(json.dumps(token), encoding="utf-8")
    path.chmod(0o600)
    return path


def oauth2_channel(config_dir: Path, base_url: str, token: Path) -> Any:
    add_channel(
        config_dir,
        f"""
  - name: studio-x-live
    network: x
    client_id: Z2tCLWNsaWVudC1pZA
    oauth2_token: file:{token}
    base_url: {base_url}
""",
    )
    config = load_config(config_dir)
    return config, config.channel("studio-x-live")


def token_endpoint(net: NetServer, replies: list[Reply]) -> None:
    net.script("POST", "/2/oauth2/token", replies)


def fresh_token(access: str, refresh: str) -> dict[str, Any]:
    # The shape of X's token response (docs.x.com, "OAuth 2.0 Authorization Code with PKCE").
    return {
        "token_type": "bearer",
        "expires_in": 7200,
        "access_token": access,
        "scope": "tweet.read users.read tweet.write offline.access",
        "refresh_token": refresh,
    }


def test_oauth2_refreshes_an_expired_token_and_writes_it_back(
    config_dir: Path, tmp_path: Path
) -> None:
    path = token_file(
        tmp_path,
        access_token="old-access-AAAA",
        refresh_token="refresh-one-BBBB",
        expires_at=time.time() - 60,
    )
    with NetServer() as net:
        token_endpoint(net, [Reply(200, fresh_token("new-access-CCCC", "refresh-two-DDDD"))])
        net.reply("POST", "/2/tweets", 201, {"data": {"id": "42", "text": "x"}})
        config, channel = oauth2_channel(config_dir, net.url, path)
        receipt = connector_for(channel, config).publish(outgoing())
        [refresh] = net.sent("POST", "/2/oauth2/token")
        [post] = net.sent("POST", "/2/tweets")
    assert receipt.remote_id == "42"
    form = refresh.form()
    assert form["grant_type"] == ["refresh_token"]
    assert form["refresh_token"] == ["refresh-one-BBBB"]
    assert form["client_id"] == ["Z2tCLWNsaWVudC1pZA"]  # a public client names itself
    assert post.headers["authorization"] == "Bearer new-access-CCCC"
    saved = json.loads(path.read_text())
    assert saved["access_token"] == "new-access-CCCC"
    assert saved["refresh_token"] == "refresh-two-DDDD"  # X rotates refresh tokens
    assert saved["expires_at"] > time.time() + 7000
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_oauth2_valid_token_is_used_without_refresh(config_dir: Path, tmp_path: Path) -> None:
    path = token_file(
        tmp_path, access_token="live-access-EEEE", refresh_token="r", expires_at=time.time() + 3600
    )
    with NetServer() as net:
        net.reply("POST", "/2/tweets", 201, {"data": {"id": "43", "text": "x"}})
        config, channel = oauth2_channel(config_dir, net.url, path)
        connector_for(channel, config).publish(outgoing())
        assert net.sent("POST", "/2/oauth2/token") == []
        assert net.requests[0].headers["authorization"] == "Bearer live-access-EEEE"


def test_oauth2_401_refreshes_once_then_retries(config_dir: Path, tmp_path: Path) -> None:
    path = token_file(
        tmp_path,
        access_token="revoked-FFFF",
        refresh_token="refresh-GGGG",
        expires_at=time.time() + 3600,
    )
    with NetServer() as net:
        token_endpoint(net, [Reply(200, fresh_token("again-HHHH", "refresh-IIII"))])
        net.script(
            "POST",
            "/2/tweets",
            [
                Reply(401, {"title": "Unauthorized", "status": 401}),
                Reply(201, {"data": {"id": "44"}}),
            ],
        )
        config, channel = oauth2_channel(config_dir, net.url, path)
        assert connector_for(channel, config).publish(outgoing()).remote_id == "44"
        posts = net.sent("POST", "/2/tweets")
    assert [p.headers["authorization"] for p in posts] == [
        "Bearer revoked-FFFF",
        "Bearer again-HHHH",
    ]


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (
            Reply(
                400,
                {
                    "error": "invalid_request",
                    "error_description": "Value passed for the token was invalid.",
                },
            ),
            AuthFailed,
        ),
        (Reply(400, {"error": "invalid_grant"}), AuthFailed),
        (Reply(503, "<html>down</html>"), Transient),
    ],
    ids=["invalid token", "invalid grant", "server down"],
)
def test_oauth2_refresh_that_fails(
    config_dir: Path, tmp_path: Path, reply: Reply, error: type[Exception]
) -> None:
    path = token_file(
        tmp_path, access_token="old-JJJJ", refresh_token="dead-KKKK", expires_at=time.time() - 1
    )
    before = path.read_text()
    with NetServer() as net:
        token_endpoint(net, [reply])
        config, channel = oauth2_channel(config_dir, net.url, path)
        with pytest.raises(error) as caught:
            connector_for(channel, config).publish(outgoing())
        assert net.sent("POST", "/2/tweets") == []  # nothing was posted with a dead token
    assert path.read_text() == before
    assert "dead-KKKK" not in str(caught.value) and "old-JJJJ" not in str(caught.value)


# --------------------------------------------------------------------------- the shared table

SPEC = NetworkSpec(
    network="x",
    publish=("POST", "/2/tweets"),
    connector=lambda base_url, timeout: XConnector(
        base_url=base_url,
        oauth1=tuple(KEYS.values()),  # type: ignore[arg-type]
        timeout=timeout,
    ),
    rate_limited=TReply.json(
        {"title": "Too Many Requests", "detail": "Too Many Requests", "status": 429},
        429,
        headers={"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(RESET)},
    ),
    reset_at=datetime.fromtimestamp(RESET, UTC),
    unauthorized=TReply.json({"title": "Unauthorized", "status": 401}, 401),
    duplicate=TReply.json(DUPLICATE, 403),
    duplicate_error=Duplicate,
    secrets=tuple(KEYS.values()),
)


@pytest.mark.parametrize("case", FAILURE_CASES, ids=lambda c: c.name)
def test_shared_failure_table(case: Case, fake_server: FakeServer) -> None:
    run_case(SPEC, case, fake_server)


def test_concurrent_refreshes_use_the_rotated_token_once(tmp_path: Path) -> None:
    """Two publishers find the token expired at once: one refreshes, the other reads its result
    (X rotates refresh tokens, so a second refresh with the old one would be refused)."""
    import threading

    from connectors._oauth2 import TokenFile
    from goodwill.config import SecretRef

    path = token_file(
        tmp_path, access_token="old-LLLL", refresh_token="once-MMMM", expires_at=time.time() - 5
    )
    with NetServer() as net:
        token_endpoint(
            net,
            [
                Reply(200, fresh_token("new-NNNN", "rotated-OOOO")),
                Reply(400, {"error": "invalid_request", "error_description": "token was invalid"}),
            ],
        )
        files = [
            TokenFile(
                SecretRef("file", str(path)),
                token_url=f"{net.url}/2/oauth2/token",
                client_id="cid",
            )
            for _ in range(2)
        ]
        results: list[str] = []
        start = threading.Barrier(2)

        def use(tokens: TokenFile) -> None:
            start.wait()
            results.append(tokens.access_token())

        threads = [threading.Thread(target=use, args=(f,)) for f in files]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        refreshes = net.sent("POST", "/2/oauth2/token")
    assert results == ["new-NNNN", "new-NNNN"]
    assert len(refreshes) == 1
    assert json.loads(path.read_text())["refresh_token"] == "rotated-OOOO"
