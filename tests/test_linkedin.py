"""LinkedIn connector against a local Posts API (shapes from LinkedIn's Posts API docs)."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors import connector_for
from connectors.linkedin import LinkedInConnector, expiry_warning
from goodwill.config import load_config
from goodwill.errors import AuthFailed, Duplicate, RateLimited, Rejected, Transient, UnknownOutcome
from goodwill.models import Kind, OutgoingPost
from tests.apiserver import NetServer, Reply, closed_port
from tests.connector_tester import FAILURE_CASES, Case, FakeServer, NetworkSpec, run_case
from tests.connector_tester import Reply as TReply
from tests.helpers_cli import json_out

TOKEN = "AQV-linkedin-access-token-0123456789"
PERSON = "urn:li:person:8675309ab"
ORG = "urn:li:organization:2414183"
SHARE = "urn:li:share:7260000000000000001"


@pytest.fixture(autouse=True)
def _loopback_oauth(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the fake API is plain http


def outgoing(
    text: str = "Worth a read: light & shade (a guide) https://example.com/a",
) -> OutgoingPost:
    return OutgoingPost(
        post_id=9,
        channel="studio-linkedin",
        network="linkedin",
        category="curated",
        kind=Kind.VALUE,
        text=text,
        link="https://example.com/a",
        credit="PetaPixel",
        idempotency_key="goodwill-t-9",
        card_title="Light and shade: a guide",
        card_description="How to read the light at a wedding.",
    )


def li_channel(
    config_dir: Path,
    base_url: str,
    monkeypatch: pytest.MonkeyPatch,
    author: str = PERSON,
    extra: str = "",
) -> Any:
    monkeypatch.setenv("GW_TEST_LINKEDIN_TOKEN", TOKEN)
    path = config_dir / "channels.yaml"
    path.write_text(
        path.read_text(encoding="utf-8")
        + f"""
  - name: studio-linkedin
    network: linkedin
    author: {author}
    access_token: env:GW_TEST_LINKEDIN_TOKEN
    base_url: {base_url}
    slots: {{tue: ["08:00"]}}
{extra}""",
        encoding="utf-8",
    )
    config = load_config(config_dir)
    return config, config.channel("studio-linkedin")


def created(urn: str = SHARE) -> Reply:
    # 201 Created, empty body, the new post's URN in x-restli-id.
    return Reply(201, b"", {"x-restli-id": urn, "x-linkedin-id": urn})


@pytest.mark.parametrize("author", [PERSON, ORG], ids=["member", "organization"])
def test_channel_publishes_an_article_share(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, author: str
) -> None:
    with NetServer() as net:
        net.handler("POST", "/rest/posts", lambda req: created())
        config, channel = li_channel(config_dir, net.url, monkeypatch, author)
        connector = connector_for(channel, config)
        assert isinstance(connector, LinkedInConnector)
        receipt = connector.publish(outgoing())
        [req] = net.requests
    assert receipt.remote_id == SHARE
    assert receipt.url == f"https://www.linkedin.com/feed/update/{SHARE}/"
    assert req.path == "/rest/posts"
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    assert req.headers["linkedin-version"] == "202510"
    assert req.headers["x-restli-protocol-version"] == "2.0.0"
    assert req.headers["content-type"] == "application/json"
    body = req.json()
    assert body["author"] == author
    # Reserved characters escaped: unescaped "(" would silently cut the post short.
    assert body["commentary"] == r"Worth a read: light & shade \(a guide\) https://example.com/a"
    assert body["content"] == {
        "article": {
            "source": "https://example.com/a",
            "title": "Light and shade: a guide",
            "description": "How to read the light at a wedding.",
        }
    }
    assert body["visibility"] == "PUBLIC" and body["lifecycleState"] == "PUBLISHED"
    assert body["distribution"]["feedDistribution"] == "MAIN_FEED"


def test_every_reserved_character_is_escaped() -> None:
    text = r"a\b|c{d}e@f[g]h(i)j<k>l#m*n_o~p"
    with NetServer() as net:
        net.handler("POST", "/rest/posts", lambda req: created())
        post = replace(outgoing(text), link=None)
        LinkedInConnector(author=PERSON, token=TOKEN, base_url=net.url).publish(post)
        body = net.requests[0].json()
    assert body["commentary"] == r"a\\b\|c\{d\}e\@f\[g\]h\(i\)j\<k\>l\#m\*n\_o\~p"
    assert "content" not in body


def test_api_version_is_configurable(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with NetServer() as net:
        net.handler("POST", "/rest/posts", lambda req: created())
        config, channel = li_channel(
            config_dir, net.url, monkeypatch, extra='    api_version: "202601"\n'
        )
        connector_for(channel, config).publish(outgoing())
        assert net.requests[0].headers["linkedin-version"] == "202601"


@pytest.mark.parametrize(
    "body",
    [
        {"message": f"Content is a duplicate of {SHARE}", "status": 422, "code": "DUPLICATE_POST"},
        {"message": f"Content is a duplicate of {SHARE}", "status": 422},
    ],
    ids=["with code", "message only"],
)
def test_duplicate_names_the_existing_post(body: dict[str, Any]) -> None:
    with NetServer() as net:
        net.reply("POST", "/rest/posts", 422, body)
        with pytest.raises(Duplicate) as caught:
            LinkedInConnector(author=PERSON, token=TOKEN, base_url=net.url).publish(outgoing())
    assert caught.value.existing_id == SHARE


LI_FAILURES = [
    (
        "429 retry-after",
        Reply(
            429,
            {
                "message": "Resource level throttle APPLICATION DAY limit for calls to this "
                "resource is reached.",
                "status": 429,
            },
            {"retry-after": "120"},
        ),
        RateLimited,
    ),
    (
        "429 daily",
        Reply(
            429,
            {
                "message": "Resource level throttle MEMBER DAY limit for calls to this "
                "resource is reached.",
                "status": 429,
            },
        ),
        RateLimited,
    ),
    (
        "401 expired",
        Reply(
            401,
            {
                "status": 401,
                "serviceErrorCode": 65601,
                "code": "EXPIRED_ACCESS_TOKEN",
                "message": "The token used in the request has expired",
            },
        ),
        AuthFailed,
    ),
    (
        "403 permission",
        Reply(
            403,
            {
                "status": 403,
                "serviceErrorCode": 100,
                "code": "ACCESS_DENIED",
                "message": "Not enough permissions to access: "
                "partnerApiPostsExternal.CREATE.20251001",
            },
        ),
        AuthFailed,
    ),
    (
        "400 invalid",
        Reply(
            400,
            {
                "status": 400,
                "code": "UNPROCESSABLE_ENTITY",
                "message": "ERROR :: /commentary :: is too long",
            },
        ),
        Rejected,
    ),
    (
        "500 html",
        Reply(500, "<html><body><h1>Internal Server Error</h1></body></html>"),
        UnknownOutcome,
    ),
    ("504 html", Reply(504, "<html><body>Gateway Timeout</body></html>"), UnknownOutcome),
]


@pytest.mark.parametrize(("case", "reply", "error"), LI_FAILURES, ids=[c[0] for c in LI_FAILURES])
def test_failures_are_translated(case: str, reply: Reply, error: type[Exception]) -> None:
    with NetServer() as net:
        net.reply("POST", "/rest/posts", reply.status, reply.body, reply.headers)
        before = datetime.now(UTC)
        with pytest.raises(error) as caught:
            LinkedInConnector(author=PERSON, token=TOKEN, base_url=net.url).publish(outgoing())
    assert TOKEN not in str(caught.value)
    if case == "429 retry-after":
        assert (
            before + timedelta(seconds=120)
            <= caught.value.reset_at
            <= datetime.now(UTC) + timedelta(seconds=120)
        )  # type: ignore[attr-defined]
    if case == "429 daily":
        midnight = datetime.combine(before.date() + timedelta(days=1), datetime.min.time(), UTC)
        assert caught.value.reset_at == midnight  # type: ignore[attr-defined]


def test_connection_refused_is_transient() -> None:
    with pytest.raises(Transient):
        LinkedInConnector(author=PERSON, token=TOKEN, base_url=closed_port()).publish(outgoing())


def test_read_timeout_is_unknown_outcome() -> None:
    with NetServer() as net:
        net.hang("POST", "/rest/posts")
        with pytest.raises(UnknownOutcome):
            LinkedInConnector(
                author=PERSON, token=TOKEN, base_url=net.url, timeout=(2.0, 0.3)
            ).publish(outgoing())


def test_find_published_and_verify() -> None:
    ours = outgoing()
    with NetServer() as net:
        net.reply(
            "GET",
            "/rest/posts",
            200,
            {
                "paging": {"start": 0, "count": 10, "links": [], "total": 2},
                "elements": [
                    {
                        "id": "urn:li:share:1",
                        "author": PERSON,
                        "commentary": "other",
                        "createdAt": 1763600000000,
                    },
                    {
                        "id": SHARE,
                        "author": PERSON,
                        "commentary": r"Worth a read: light & shade \(a guide\) https://example.com/a",
                        "createdAt": 1763629200000,
                        "publishedAt": 1763629200000,
                        "lifecycleState": "PUBLISHED",
                        "visibility": "PUBLIC",
                    },
                ],
            },
        )
        net.reply(
            "GET",
            "/v2/userinfo",
            200,
            {"sub": "8675309ab", "name": "Hazel Pine", "email_verified": True},
        )
        connector = LinkedInConnector(author=PERSON, token=TOKEN, base_url=net.url)
        found = connector.find_published(ours)
        assert connector.verify() == "Hazel Pine"
        finder = net.sent("GET", "/rest/posts")[0]
    assert found is not None and found.remote_id == SHARE
    assert found.published_at == datetime.fromtimestamp(1763629200, UTC)
    assert finder.query["q"] == ["author"] and finder.query["author"] == [PERSON]
    assert finder.headers["x-restli-method"] == "FINDER"
    assert finder.headers["linkedin-version"] == "202510"


# --------------------------------------------------------------------------- 60-day tokens


def token_file(tmp_path: Path, expires_at: float) -> Path:
    path = tmp_path / "linkedin.json"
    path.write_text(
        json.dumps({"access_token": TOKEN, "expires_at": expires_at, "expires_in": 5184000})
    )
    path.chmod(0o600)
    return path


def test_expired_token_sends_nothing(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = token_file(tmp_path, time.time() - 3600)
    with NetServer() as net:
        net.handler("POST", "/rest/posts", lambda req: created())
        config, channel = li_channel(config_dir, net.url, monkeypatch)
        channel = channel.model_copy(
            update={"access_token": type(channel.access_token)("file", str(path))}
        )
        with pytest.raises(AuthFailed, match="expired"):
            connector_for(channel, config).publish(outgoing())
        assert net.requests == []


def test_token_file_is_read_for_the_token(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = token_file(tmp_path, time.time() + 40 * 86400)
    with NetServer() as net:
        net.handler("POST", "/rest/posts", lambda req: created())
        config, channel = li_channel(config_dir, net.url, monkeypatch)
        channel = channel.model_copy(
            update={"access_token": type(channel.access_token)("file", str(path))}
        )
        connector_for(channel, config).publish(outgoing())
        assert net.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_expiry_warning_fourteen_days_ahead(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _, channel = li_channel(
        config_dir, "https://api.linkedin.com", monkeypatch, extra="    token_expires: 2026-12-20\n"
    )
    assert expiry_warning(channel, datetime(2026, 11, 20, tzinfo=UTC)) is None  # 30 days left
    warning = expiry_warning(channel, datetime(2026, 12, 8, tzinfo=UTC))
    assert warning is not None and "2026-12-20" in warning and "in 12 days" in warning
    assert "goodwill auth studio-linkedin" in warning
    assert "expired" in (expiry_warning(channel, datetime(2026, 12, 21, tzinfo=UTC)) or "")
    # A token file written by `goodwill auth` carries its own expiry, which wins.
    path = token_file(tmp_path, datetime(2026, 12, 1, tzinfo=UTC).timestamp())
    from_file = channel.model_copy(
        update={"access_token": type(channel.access_token)("file", str(path))}
    )
    assert "2026-12-01" in (expiry_warning(from_file, datetime(2026, 11, 20, tzinfo=UTC)) or "")


# --------------------------------------------------------------------------- the shared table

SPEC = NetworkSpec(
    network="linkedin",
    publish=("POST", "/rest/posts"),
    connector=lambda base_url, timeout: LinkedInConnector(
        author=PERSON, token=TOKEN, base_url=base_url, timeout=timeout
    ),
    rate_limited=TReply.json(
        {"message": "Resource level throttle APPLICATION DAY limit reached.", "status": 429},
        429,
        headers={"Retry-After": "Thu, 26 Nov 2026 01:05:00 GMT"},
    ),
    reset_at=datetime(2026, 11, 26, 1, 5, tzinfo=UTC),
    unauthorized=TReply.json(
        {
            "status": 401,
            "serviceErrorCode": 65600,
            "code": "INVALID_ACCESS_TOKEN",
            "message": "Invalid access token",
        },
        401,
    ),
    duplicate=TReply.json(
        {"message": f"Content is a duplicate of {SHARE}", "status": 422, "code": "DUPLICATE_POST"},
        422,
    ),
    duplicate_error=Duplicate,
    secrets=(TOKEN,),
    post=outgoing,
)


@pytest.mark.parametrize("case", FAILURE_CASES, ids=lambda c: c.name)
def test_shared_failure_table(case: Case, fake_server: FakeServer) -> None:
    run_case(SPEC, case, fake_server)


def test_queue_warns_before_the_token_expires(
    config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from goodwill.cli import main

    soon = (datetime.now(UTC) + timedelta(days=10)).date()
    li_channel(
        config_dir, "https://api.linkedin.com", monkeypatch, extra=f"    token_expires: {soon}\n"
    )
    monkeypatch.setenv("GOODWILL_DATABASE_URL", f"sqlite:///{tmp_path / 'gw.db'}")
    assert main(["queue", "--config", str(config_dir), "--no-prefect", "--json"]) == 0
    captured = capsys.readouterr()
    assert f"studio-linkedin: the LinkedIn access token expires on {soon}" in captured.err
    assert json_out(captured.out) == []  # JSON stays the last line
