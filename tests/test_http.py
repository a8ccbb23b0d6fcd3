"""The shared failure handling in ``connectors/_http.py``, on real loopback sockets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors._http import HttpClient, Throttle, parse_reset, parse_time, scrub
from goodwill.errors import AuthFailed, RateLimited, Rejected, Transient, UnknownOutcome
from tests.connector_tester import FakeServer, Reply, refused_url

NOW = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", NOW + timedelta(seconds=120)),
        ("1795654800", datetime.fromtimestamp(1795654800, UTC)),
        ("2026-11-26T01:05:00.000Z", datetime(2026, 11, 26, 1, 5, tzinfo=UTC)),
        # As a Mastodon instance sent it (qiitadon.com, quoted on qiita.com/KEINOS).
        ("2020-09-08T13:25:00.019685Z", datetime(2020, 9, 8, 13, 25, 0, 19685, tzinfo=UTC)),
        ("2026-11-26T02:05:00+01:00", datetime(2026, 11, 26, 1, 5, tzinfo=UTC)),
        ("Thu, 26 Nov 2026 01:05:00 GMT", datetime(2026, 11, 26, 1, 5, tzinfo=UTC)),
        ("soon", None),
        ("inf", None),
        ("99999999999999999", None),  # past the year 9999
        (None, None),
    ],
)
def test_reset_headers_in_every_format(value: str | None, expected: datetime | None) -> None:
    assert parse_reset(value, NOW) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-26T09:00:01.123Z", datetime(2026, 11, 26, 9, 0, 1, 123000, tzinfo=UTC)),
        ("2026-11-26T09:00:01.123456789Z", datetime(2026, 11, 26, 9, 0, 1, 123456, tzinfo=UTC)),
        ("2026-11-26T09:00:01+0000", datetime(2026, 11, 26, 9, 0, 1, tzinfo=UTC)),  # Graph
        ("2026-11-26T10:00:01+01:00", datetime(2026, 11, 26, 9, 0, 1, tzinfo=UTC)),
        ("2026-11-26T09:00:01", datetime(2026, 11, 26, 9, 0, 1, tzinfo=UTC)),  # no offset: UTC
        (" 2026-11-26T09:00:01Z\n", datetime(2026, 11, 26, 9, 0, 1, tzinfo=UTC)),
        ("yesterday", None),
        ("2026-13-45T99:00:00Z", None),
        ("", None),
        (None, None),
        (1795654800, None),
        (["2026-11-26T09:00:01Z"], None),
    ],
)
def test_parse_time(value: object, expected: datetime | None) -> None:
    got = parse_time(value)
    assert got == expected
    if got is not None:
        assert got.utcoffset() == timedelta(0)


def test_refused_connection_is_transient_even_for_a_write() -> None:
    client = HttpClient("net", refused_url(), timeout=(2, 0.3))
    with pytest.raises(Transient, match="connection refused"):
        client.send("POST", "/x", json={})


def test_read_timeout_after_a_write_is_unknown_but_a_read_is_transient(
    fake_server: FakeServer,
) -> None:
    fake_server.script("POST", "/x", Reply.hanging())
    fake_server.script("GET", "/x", Reply.hanging())
    client = HttpClient("net", fake_server.url, timeout=(2, 0.3))
    with pytest.raises(UnknownOutcome):
        client.send("POST", "/x", json={})
    with pytest.raises(Transient):
        client.send("GET", "/x")


@pytest.mark.parametrize(
    ("reply", "error", "says"),
    [
        (Reply.json({"error": "bad token"}, 401), AuthFailed, "bad token"),
        (Reply.json({"error": "nope"}, 403), AuthFailed, "nope"),
        (Reply.json({"error": "slow down"}, 429, {"Retry-After": "60"}), RateLimited, "slow down"),
        (
            Reply.json({"error": "Validation failed: Text can't be blank"}, 422),
            Rejected,
            "Text can't be blank",
        ),
        (Reply.html(), UnknownOutcome, "500"),
    ],
)
def test_status_mapping(
    fake_server: FakeServer, reply: Reply, error: type[Exception], says: str
) -> None:
    fake_server.route("POST", "/x", reply)
    client = HttpClient("net", fake_server.url)
    response = client.send("POST", "/x", json={})
    with pytest.raises(error) as info:
        client.check(response, write=True)
    message = str(info.value)
    assert says in message and "<html" not in message and "\n" not in message
    if error is RateLimited:
        assert info.value.reset_at is not None  # type: ignore[attr-defined]


def test_secrets_are_scrubbed_from_messages(fake_server: FakeServer) -> None:
    fake_server.route("POST", "/x", Reply.json({"error": "token s3cr3t-token is revoked"}, 401))
    client = HttpClient("net", fake_server.url, secrets=lambda: ["s3cr3t-token"])
    with pytest.raises(AuthFailed) as info:
        client.check(client.send("POST", "/x"), write=True)
    assert "s3cr3t-token" not in str(info.value)
    assert scrub("a s3cr3t b", ["s3cr3t", None, ""]) == "a *** b"


def test_netrc_and_proxy_settings_do_not_replace_the_bearer_header(
    fake_server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password elsewhere\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HTTP_PROXY", refused_url())
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    fake_server.route("GET", "/me", Reply.json({}))
    client = HttpClient("net", fake_server.url)
    client.session.headers["Authorization"] = "Bearer ours"
    client.check(client.send("GET", "/me"), write=False)
    [call] = fake_server.calls("GET", "/me")
    assert call.headers["authorization"] == "Bearer ours"


def test_throttle_spaces_calls_per_host() -> None:
    slept: list[float] = []
    throttle = Throttle(sleep=slept.append)
    throttle.wait("net", "http://a.example/1", 1.0)
    throttle.wait("net", "http://a.example/2", 1.0)
    throttle.wait("net", "http://b.example/1", 1.0)
    assert len(slept) == 1 and 0.9 < slept[0] <= 1.0
