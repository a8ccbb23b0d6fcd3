"""Mastodon and Bluesky channels configured as the README says, driven through the CLI against
loopback servers: publishing, the dry run and queue preview, ``check --online`` and
``goodwill auth``. No token may appear in output, logs or errors."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from goodwill import cli
from tests.connector_tester import FakeServer, Recorded, Reply
from tests.fakemastodon import TOKEN
from tests.fakemastodon import routes as mastodon_routes
from tests.fakepds import APP_PASSWORD, HANDLE, FakePDS
from tests.helpers_cli import json_out

OAUTH_CODE = "qDFUEaYrRK5c-HNmTCJbAzazwLRInJ7VHFat0wcMgCU"
CLIENT_SECRET = "ZEaFUFmF0umgBX1qKJDjaU99Q31lDkOU8NutzTOoliw"
SECRETS = (TOKEN, APP_PASSWORD, OAUTH_CODE, CLIENT_SECRET)


@pytest.fixture
def mastodon(fake_server: FakeServer) -> FakeServer:
    mastodon_routes(fake_server)
    return fake_server


@pytest.fixture
def pds_server() -> Any:
    with FakeServer() as server:
        yield server


@pytest.fixture
def pds(pds_server: FakeServer) -> FakePDS:
    return FakePDS(pds_server).install()


def network_config(
    config_dir: Path, mastodon_url: str, bluesky_url: str, mastodon_token: str = "env"
) -> Path:
    token_ref = (
        "env:GOODWILL_MASTODON_TOKEN" if mastodon_token == "env" else f"file:{mastodon_token}"
    )
    (config_dir / "channels.yaml").write_text(
        f"""channels:
  - name: studio-mastodon
    network: mastodon
    base_url: {mastodon_url}
    access_token: {token_ref}
    slots: {{daily: ["09:00", "19:00"]}}

  - name: studio-bluesky
    network: bluesky
    handle: {HANDLE}
    app_password: env:GOODWILL_BLUESKY_APP_PASSWORD
    base_url: {bluesky_url}
    slots: {{weekdays: ["07:45", "13:15", "20:30"]}}
""",
        encoding="utf-8",
    )
    (config_dir / "posts.yaml").write_text("posts: []\n", encoding="utf-8")
    return config_dir


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOODWILL_MASTODON_TOKEN", TOKEN)
    monkeypatch.setenv("GOODWILL_BLUESKY_APP_PASSWORD", APP_PASSWORD)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_no_secrets(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def queue_own_posts(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    for channel in ("studio-mastodon", "studio-bluesky"):
        code, _, err = run(
            capsys,
            "post",
            "--config",
            str(config),
            "--no-prefect",
            "--channel",
            channel,
            "--category",
            "tip",
            "--text",
            "Golden hour tip: meter for the highlights, café light included",
            "--link",
            "https://example.com/gh",
            "--at",
            "now",
        )
        assert code == 0, err


def test_channels_configured_per_readme_publish_through_their_servers(
    config_dir: Path,
    use_database: str,
    mastodon: FakeServer,
    pds: FakePDS,
    pds_server: FakeServer,
    env: None,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    config = network_config(config_dir, mastodon.url, pds_server.url)
    queue_own_posts(capsys, config)

    code, out, err = run(capsys, "publish", "--config", str(config), "--no-prefect", "--json", "-v")
    assert code == 0, err
    assert json_out(out) == {
        "published": 2,
        "held": 0,
        "failed": 0,
        "unknown": 0,
    }
    [status] = mastodon.calls("POST", "/api/v1/statuses")
    assert status.json["status"].startswith("Golden hour tip")
    assert status.headers["authorization"] == f"Bearer {TOKEN}"
    assert status.headers["idempotency-key"].startswith("goodwill-")
    [record] = list(pds.records.values())
    assert record["facets"][0]["features"][0]["uri"] == "https://example.com/gh"
    assert record["embed"]["external"]["uri"] == "https://example.com/gh"

    code, out, err = run(capsys, "queue", "--config", str(config), "--state", "published", "--json")
    rows = json_out(out)
    assert {r["channel"] for r in rows} == {"studio-mastodon", "studio-bluesky"}
    assert_no_secrets(out, err, caplog.text)


def test_dry_run_and_queue_preview_show_posts_as_sent_and_send_nothing(
    config_dir: Path,
    use_database: str,
    mastodon: FakeServer,
    pds: FakePDS,
    pds_server: FakeServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # No credentials exported: a preview needs none.
    config = network_config(config_dir, mastodon.url, pds_server.url)
    queue_own_posts(capsys, config)

    code, out, err = run(
        capsys, "publish", "--config", str(config), "--no-prefect", "--dry-run", "--json"
    )
    assert code == 0, err
    result = json_out(out)
    assert result["dry_run"] is True and result["published"] == 0
    previews = {p["channel"]: p["preview"] for p in result["posts"]}
    masto, sky = previews["studio-mastodon"], previews["studio-bluesky"]
    assert masto["limit"] == 1000 and masto["limit_from"] == "the instance"
    assert masto["request"]["json"]["status"] == masto["text"]
    text = sky["text"]
    [facet] = sky["facets"]
    span = text.encode()[facet["index"]["byteStart"] : facet["index"]["byteEnd"]]
    assert span == b"https://example.com/gh"
    assert sky["length"] == len(text) and sky["limit"] == 300
    assert sky["card"]["uri"] == "https://example.com/gh"
    assert not mastodon.calls("POST") and not pds_server.calls("POST")

    code, out, _ = run(capsys, "publish", "--config", str(config), "--no-prefect", "--dry-run")
    assert "link facet: UTF-8 bytes" in out and "length" in out and "nothing was sent" in out

    code, out, _ = run(capsys, "queue", "--config", str(config), "--preview", "--json")
    rows = json_out(out)
    assert all("preview" in r for r in rows) and len(rows) == 2
    assert not mastodon.calls("POST") and not pds_server.calls("POST")


def test_check_online_verifies_each_channel_with_one_read(
    config_dir: Path,
    mastodon: FakeServer,
    pds: FakePDS,
    pds_server: FakeServer,
    env: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = network_config(config_dir, mastodon.url, pds_server.url)
    code, out, err = run(capsys, "check", "--config", str(config), "--online", "--json")
    assert code == 0, out + err
    channels = json_out(out)["channels"]
    assert (
        channels["studio-mastodon"]["ok"] and "@hazelpine" in channels["studio-mastodon"]["detail"]
    )
    assert channels["studio-bluesky"]["ok"] and HANDLE in channels["studio-bluesky"]["detail"]
    assert mastodon.calls("GET", "/api/v1/accounts/verify_credentials")
    assert pds_server.calls("GET", "/xrpc/com.atproto.server.getSession")
    assert not mastodon.calls("POST")

    mastodon.route(
        "GET",
        "/api/v1/accounts/verify_credentials",
        Reply.json({"error": "The access token is invalid"}, 401),
    )
    monkeypatch.delenv("GOODWILL_BLUESKY_APP_PASSWORD")
    code, out, err = run(capsys, "check", "--config", str(config), "--online")
    assert code == 1
    assert "FAILED studio-mastodon" in out and "The access token is invalid" in out
    assert "export GOODWILL_BLUESKY_APP_PASSWORD" in out
    assert_no_secrets(out, err)


def mastodon_oauth(server: FakeServer, *, accept: bool = True) -> None:
    """The instance's app registration and OAuth token endpoints (authorization server)."""

    def apps(req: Recorded) -> Reply:
        return Reply.json(
            {
                "id": "563419",
                "name": req.form["client_name"],
                "website": req.form.get("website"),
                "scopes": req.form["scopes"].split(),
                "redirect_uri": req.form["redirect_uris"],
                "redirect_uris": [req.form["redirect_uris"]],
                "client_id": "TWhM-tNSuncnqN7DBJmoyeLnk6K3iJJ71KKXxgL1hPM",
                "client_secret": CLIENT_SECRET,
                "vapid_key": "BCk-QqERU0q-CfYZjcuB6lnyyOYfJ2AifKqfeGIm7Z-HiTU5T9eTG5GxVA0_OH5mM",
            }
        )

    def token(req: Recorded) -> Reply:
        form = req.form
        if (
            not accept
            or form.get("code") != OAUTH_CODE
            or form.get("client_secret") != CLIENT_SECRET
        ):
            return Reply.json(
                {
                    "error": "invalid_grant",
                    "error_description": "The provided authorization grant is invalid, expired, "
                    "revoked, does not match the redirection URI used in the authorization "
                    "request, or was issued to another client.",
                },
                400,
            )
        return Reply.json(
            {
                "access_token": TOKEN,
                "token_type": "Bearer",
                "scope": form["scope"],
                "created_at": 1573979017,
            }
        )

    server.route("POST", "/api/v1/apps", apps)
    server.route("POST", "/oauth/token", token)


def test_auth_mastodon_registers_an_app_and_writes_the_token_to_a_0600_file(
    config_dir: Path,
    mastodon: FakeServer,
    pds_server: FakeServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mastodon_oauth(mastodon)
    token_file = tmp_path / "outside-repo" / "mastodon-token"
    config = network_config(config_dir, mastodon.url, pds_server.url, str(token_file))
    monkeypatch.setattr(cli, "_ask_secret", lambda prompt: OAUTH_CODE)

    code, out, err = run(capsys, "auth", "studio-mastodon", "--config", str(config))
    assert code == 0, err
    [app] = mastodon.calls("POST", "/api/v1/apps")
    assert app.form["redirect_uris"] == "urn:ietf:wg:oauth:2.0:oob"
    assert app.form["scopes"] == "read:accounts read:statuses write:statuses"
    authorize = next(line for line in err.splitlines() if "/oauth/authorize?" in line).strip()
    query = parse_qs(urlsplit(authorize).query)
    assert query["client_id"] == ["TWhM-tNSuncnqN7DBJmoyeLnk6K3iJJ71KKXxgL1hPM"]
    assert query["response_type"] == ["code"]
    [exchange] = mastodon.calls("POST", "/oauth/token")
    assert exchange.form["grant_type"] == "authorization_code"
    assert exchange.form["code"] == OAUTH_CODE
    assert token_file.read_text().strip() == TOKEN
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    assert "Verified: @hazelpine" in err
    assert_no_secrets(out, err)

    # The stored reference works: check --online reads the file.
    code, out, _ = run(capsys, "check", "--config", str(config), "--online", "--json")
    assert json_out(out)["channels"]["studio-mastodon"]["ok"]


def test_auth_mastodon_with_an_env_reference_prints_an_export_line_without_the_token(
    config_dir: Path,
    mastodon: FakeServer,
    pds_server: FakeServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mastodon_oauth(mastodon)
    config = network_config(config_dir, mastodon.url, pds_server.url)
    monkeypatch.setattr(cli, "_ask_secret", lambda prompt: OAUTH_CODE)
    code, out, err = run(capsys, "auth", "studio-mastodon", "--config", str(config))
    assert code == 0, err
    line = next(line for line in out.splitlines() if "export GOODWILL_MASTODON_TOKEN" in line)
    path = Path(line.split('"$(cat ')[1].split(')"')[0])
    assert path.read_text().strip() == TOKEN
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert_no_secrets(out, err)


def test_auth_mastodon_a_refused_code_fails_with_the_instance_words(
    config_dir: Path,
    mastodon: FakeServer,
    pds_server: FakeServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mastodon_oauth(mastodon, accept=False)
    config = network_config(config_dir, mastodon.url, pds_server.url)
    monkeypatch.setattr(cli, "_ask_secret", lambda prompt: OAUTH_CODE)
    code, out, err = run(capsys, "auth", "studio-mastodon", "--config", str(config))
    assert code == 1
    assert "authorization grant is invalid" in err
    assert "Traceback" not in err
    assert_no_secrets(out, err)


def test_auth_bluesky_verifies_the_app_password_with_one_session(
    config_dir: Path,
    mastodon: FakeServer,
    pds: FakePDS,
    pds_server: FakeServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    env: None,
) -> None:
    config = network_config(config_dir, mastodon.url, pds_server.url)
    monkeypatch.setattr(cli, "_ask_secret", lambda prompt: APP_PASSWORD)
    code, out, err = run(capsys, "auth", "studio-bluesky", "--config", str(config))
    assert code == 0, err
    assert pds.sessions_created == 1 and f"Verified: @{HANDLE}" in err
    assert "export GOODWILL_BLUESKY_APP_PASSWORD" in out
    assert_no_secrets(out, err)
    # Publishing afterwards reuses that session.
    code, out, err = run(capsys, "check", "--config", str(config), "--online")
    assert code == 0 and pds.sessions_created == 1

    monkeypatch.setattr(cli, "_ask_secret", lambda prompt: "wron-gpas-swor-d123")
    code, out, err = run(capsys, "auth", "studio-bluesky", "--config", str(config))
    assert code == 1 and "Invalid identifier or password" in err
    monkeypatch.setattr(cli, "_ask_secret", lambda prompt: "my main password")
    code, out, err = run(capsys, "auth", "studio-bluesky", "--config", str(config))
    assert code == 1 and "not an app password" in err
    assert "my main password" not in out + err
    assert_no_secrets(out, err)


def test_networks_that_refuse_leave_every_post_accounted_for_without_tokens(
    config_dir: Path,
    use_database: str,
    mastodon: FakeServer,
    pds: FakePDS,
    pds_server: FakeServer,
    env: None,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    config = network_config(config_dir, mastodon.url, pds_server.url)
    queue_own_posts(capsys, config)
    mastodon.route(
        "POST", "/api/v1/statuses", Reply.json({"error": "The access token was revoked"}, 401)
    )
    pds_server.route(
        "POST",
        "/xrpc/com.atproto.repo.createRecord",
        Reply.json(
            {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
            429,
            {"ratelimit-reset": "1795654800", "ratelimit-remaining": "0"},
        ),
    )
    _, out, err = run(capsys, "publish", "--config", str(config), "--no-prefect", "-v")
    assert "studio-mastodon: paused: credentials: mastodon: The access token was revoked" in out
    assert "studio-bluesky: paused: rate limited" in out

    _, out, err = run(capsys, "queue", "--config", str(config), "--json")
    rows = {r["channel"]: r for r in json_out(out)}
    assert rows["studio-mastodon"]["state"] == "approved"
    assert "The access token was revoked" in rows["studio-mastodon"]["reason"]
    assert rows["studio-bluesky"]["state"] == "approved"
    assert "rate limited until" in rows["studio-bluesky"]["reason"]
    assert_no_secrets(out, err, caplog.text)
    for record in caplog.records:
        assert_no_secrets(record.getMessage(), str(record.args), str(record.exc_info))
