"""Facebook Pages connector against a local Graph API (shapes from Meta's Graph API docs)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors import connector_for
from connectors.facebook import FacebookConnector
from goodwill.config import load_config
from goodwill.errors import AuthFailed, Duplicate, RateLimited, Rejected, Transient, UnknownOutcome
from goodwill.models import Kind, OutgoingPost
from tests.apiserver import NetServer, Reply, closed_port
from tests.connector_tester import FAILURE_CASES, Case, FakeServer, NetworkSpec, run_case
from tests.connector_tester import Reply as TReply

PAGE = "104589361234567"
TOKEN = "EAAGm0PX4ZCpsBAPageTokenSecret42"


def graph_error(
    code: int, message: str, kind: str = "OAuthException", **extra: Any
) -> dict[str, Any]:
    # Graph API error shape (developers.facebook.com/docs/graph-api/guides/error-handling).
    return {
        "error": {
            "message": message,
            "type": kind,
            "code": code,
            "fbtrace_id": "AbCdEf123",
            **extra,
        }
    }


def outgoing(
    text: str = "Worth a read: light and shade https://example.com/a\nvia PetaPixel",
) -> OutgoingPost:
    return OutgoingPost(
        post_id=3,
        channel="studio-facebook-live",
        network="facebook",
        category="curated",
        kind=Kind.VALUE,
        text=text,
        link="https://example.com/a",
        credit="PetaPixel",
        idempotency_key="goodwill-t-3",
    )


def fb_channel(config_dir: Path, base_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("GW_TEST_FB_PAGE_TOKEN", TOKEN)
    path = config_dir / "channels.yaml"
    path.write_text(
        path.read_text(encoding="utf-8")
        + f"""
  - name: studio-facebook-live
    network: facebook
    page_id: "{PAGE}"
    page_access_token: env:GW_TEST_FB_PAGE_TOKEN
    base_url: {base_url}
    slots: {{mon: ["11:00"]}}
""",
        encoding="utf-8",
    )
    config = load_config(config_dir)
    return config, config.channel("studio-facebook-live")


def test_page_channel_publishes_to_the_pinned_graph_version(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with NetServer() as net:
        net.reply("POST", f"/v21.0/{PAGE}/feed", 200, {"id": f"{PAGE}_122100000000000001"})
        config, channel = fb_channel(config_dir, net.url, monkeypatch)
        connector = connector_for(channel, config)
        assert isinstance(connector, FacebookConnector)
        receipt = connector.publish(outgoing())
        [req] = net.requests
    assert receipt.remote_id == f"{PAGE}_122100000000000001"
    assert receipt.url == f"https://www.facebook.com/{PAGE}_122100000000000001"
    # facebook-sdk 3.1.0 would have said /v2.8/: the request names the pinned version.
    assert req.method == "POST" and req.path == f"/v21.0/{PAGE}/feed"
    form = req.form()
    assert form["message"] == [outgoing().text]
    assert form["link"] == ["https://example.com/a"]
    assert form["access_token"] == [TOKEN]  # the SDK sends the token in the form body


def test_graph_version_is_configurable(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with NetServer() as net:
        net.reply("GET", f"/v23.0/{PAGE}", 200, {"name": "Hazel & Pine Studio", "id": PAGE})
        connector = FacebookConnector(
            page_id=PAGE, token=TOKEN, base_url=net.url, graph_version="v23.0"
        )
        assert connector.verify() == "Hazel & Pine Studio"
        [req] = net.requests
    assert req.query["fields"] == ["name"]


def test_post_without_link_sends_no_link(monkeypatch: pytest.MonkeyPatch) -> None:
    with NetServer() as net:
        net.reply("POST", f"/v21.0/{PAGE}/feed", 200, {"id": f"{PAGE}_2"})
        post = replace(outgoing("Golden hour tip: shoot into the light."), link=None)
        FacebookConnector(page_id=PAGE, token=TOKEN, base_url=net.url).publish(post)
        assert "link" not in net.requests[0].form()


def test_find_published_reads_recent_page_posts() -> None:
    with NetServer() as net:
        net.reply(
            "GET",
            f"/v21.0/{PAGE}/posts",
            200,
            {
                "data": [
                    {
                        "id": f"{PAGE}_1",
                        "message": "Another post",
                        "created_time": "2026-11-19T10:00:00+0000",
                    },
                    {
                        "id": f"{PAGE}_2",
                        "message": outgoing().text,
                        "created_time": "2026-11-20T11:00:02+0000",
                        "permalink_url": f"https://www.facebook.com/{PAGE}/posts/2",
                    },
                ],
                "paging": {"cursors": {"before": "QVFI", "after": "QVFJ"}},
            },
        )
        connector = FacebookConnector(page_id=PAGE, token=TOKEN, base_url=net.url)
        found = connector.find_published(outgoing())
        missing = connector.find_published(outgoing("never posted"))
        req = net.requests[0]
    assert found is not None and found.remote_id == f"{PAGE}_2"
    assert found.url == f"https://www.facebook.com/{PAGE}/posts/2"
    assert found.published_at == datetime(2026, 11, 20, 11, 0, 2, tzinfo=UTC)
    assert missing is None
    assert "message" in req.query["fields"][0] and "link" in req.query["fields"][0]


BUC = json.dumps(
    {
        PAGE: [
            {
                "type": "pages",
                "call_count": 100,
                "total_cputime": 30,
                "total_time": 40,
                "estimated_time_to_regain_access": 17,
            }
        ]
    }
)

FB_FAILURES = [
    (
        "code 4 app rate",
        Reply(400, graph_error(4, "(#4) Application request limit reached")),
        RateLimited,
    ),
    (
        "code 17 user rate",
        Reply(400, graph_error(17, "(#17) User request limit reached")),
        RateLimited,
    ),
    (
        "code 32 page rate + BUC header",
        Reply(
            400,
            graph_error(32, "(#32) Page request limit reached"),
            {"x-business-use-case-usage": BUC},
        ),
        RateLimited,
    ),
    (
        "code 613 calls rate",
        Reply(400, graph_error(613, "(#613) Calls to this api have exceeded the rate limit.")),
        RateLimited,
    ),
    (
        "code 190 token",
        Reply(
            400,
            graph_error(
                190, "Error validating access token: Session has expired.", error_subcode=463
            ),
        ),
        AuthFailed,
    ),
    (
        "code 368 blocked",
        Reply(
            400,
            graph_error(
                368,
                "It looks like you were misusing this feature by going too fast.",
                error_subcode=1390008,
            ),
        ),
        Rejected,
    ),
    (
        "code 506 duplicate",
        Reply(400, graph_error(506, "(#506) Duplicate status message")),
        Rejected,
    ),
    ("code 100 bad param", Reply(400, graph_error(100, "(#100) Invalid parameter")), Rejected),
    (
        "500 html page",
        Reply(500, "<!DOCTYPE html><html><body>Sorry, something went wrong.</body></html>"),
        UnknownOutcome,
    ),
    ("502 html page", Reply(502, "<html><body>Bad Gateway</body></html>"), UnknownOutcome),
    (
        "500 json code 1",
        Reply(500, graph_error(1, "An unknown error occurred", kind="OAuthException")),
        UnknownOutcome,
    ),
]


@pytest.mark.parametrize(("case", "reply", "error"), FB_FAILURES, ids=[c[0] for c in FB_FAILURES])
def test_failures_are_translated(case: str, reply: Reply, error: type[Exception]) -> None:
    with NetServer() as net:
        net.reply("POST", f"/v21.0/{PAGE}/feed", reply.status, reply.body, reply.headers)
        before = datetime.now(UTC)
        with pytest.raises(error) as caught:
            FacebookConnector(page_id=PAGE, token=TOKEN, base_url=net.url).publish(outgoing())
    assert TOKEN not in str(caught.value)
    if case == "code 506 duplicate":
        assert "Duplicate status message" in str(caught.value)
    if error is RateLimited:
        reset_at = caught.value.reset_at  # type: ignore[attr-defined]
        wait = timedelta(minutes=17) if "BUC" in case else timedelta(hours=1)
        assert before + wait <= reset_at <= datetime.now(UTC) + wait


def test_connection_refused_is_transient() -> None:
    with pytest.raises(Transient):
        FacebookConnector(page_id=PAGE, token=TOKEN, base_url=closed_port()).publish(outgoing())


def test_read_timeout_is_unknown_outcome_and_leaks_no_token() -> None:
    with NetServer() as net:
        net.hang("POST", f"/v21.0/{PAGE}/feed")
        with pytest.raises(UnknownOutcome) as caught:
            FacebookConnector(
                page_id=PAGE, token=TOKEN, base_url=net.url, timeout=(2.0, 0.3)
            ).publish(outgoing())
    assert TOKEN not in str(caught.value)


def test_failed_read_keeps_the_token_out_of_the_message() -> None:
    # GETs carry the token in the query string: a refused connection must not echo the URL.
    with pytest.raises(Transient) as caught:
        FacebookConnector(page_id=PAGE, token=TOKEN, base_url=closed_port()).verify()
    assert TOKEN not in str(caught.value)


# --------------------------------------------------------------------------- the shared table

SPEC = NetworkSpec(
    network="facebook",
    publish=("POST", f"/v21.0/{PAGE}/feed"),
    connector=lambda base_url, timeout: FacebookConnector(
        page_id=PAGE, token=TOKEN, base_url=base_url, timeout=timeout
    ),
    rate_limited=TReply.json(
        graph_error(32, "(#32) Page request limit reached"),
        400,
        headers={"x-business-use-case-usage": BUC},
    ),
    reset_at=None,  # now + estimated_time_to_regain_access: checked in the table above
    unauthorized=TReply.json(graph_error(190, "Error validating access token"), 400),
    duplicate=TReply.json(graph_error(506, "(#506) Duplicate status message"), 400),
    duplicate_error=Duplicate,
    secrets=(TOKEN,),
)


@pytest.mark.parametrize("case", FAILURE_CASES, ids=lambda c: c.name)
def test_shared_failure_table(case: Case, fake_server: FakeServer) -> None:
    run_case(SPEC, case, fake_server)
