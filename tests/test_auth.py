"""`goodwill auth` flows against local fake authorization servers (X, Facebook, LinkedIn)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import stat
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from connectors import connector_for
from goodwill.auth import authorize
from goodwill.cli import main
from goodwill.config import load_config
from goodwill.errors import AuthFailed
from goodwill.models import Kind, OutgoingPost
from tests.apiserver import NetServer, Reply, Request
from tests.helpers_cli import json_out

PAGE = "104589361234567"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the fake servers are plain http
    monkeypatch.setenv("GOODWILL_SECRETS_DIR", str(tmp_path / "secrets"))


@dataclass
class Browser:
    """Plays the owner: opens the authorize URL (following redirects) and types answers."""

    answers: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)

    def say(self, line: str) -> None:
        self.said.append(line)

    def ask(self, prompt: str, *, secret: bool = False) -> str:
        self.said.append(prompt)
        return self.answers.pop(0)

    def open_url(self, url: str) -> None:
        self.opened.append(url)
        thread = threading.Thread(target=requests.get, args=(url,), kwargs={"timeout": 10})
        thread.start()
        self.threads.append(thread)


def free_redirect() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/callback"


def add_channel(config_dir: Path, block: str) -> Any:
    path = config_dir / "channels.yaml"
    path.write_text(path.read_text(encoding="utf-8") + block, encoding="utf-8")
    return load_config(config_dir)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def authorize_redirect(state: str | None = None, **extra: str) -> Any:
    """An authorization server's consent page that approves at once: 302 to the redirect URI."""

    def respond(req: Request) -> Reply:
        q = {k: v[0] for k, v in req.query.items()}
        params = {"code": "the-auth-code", "state": state or q["state"], **extra}
        if "error" in extra:
            params.pop("code")
        return Reply(302, b"", {"Location": f"{q['redirect_uri']}?{urlencode(params)}"})

    return respond


# --------------------------------------------------------------------------- X


def test_x_pin_flow_saves_the_access_token_by_reference(
    config_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GW_X_KEY", "consumer-key-1")
    monkeypatch.setenv("GW_X_SECRET", "consumer-secret-2")
    with NetServer() as net:
        net.reply(
            "POST",
            "/oauth/request_token",
            200,
            b"oauth_token=req-token-3&oauth_token_secret=req-secret-4&oauth_callback_confirmed=true",
            {"content-type": "text/html; charset=utf-8"},
        )
        net.reply(
            "POST",
            "/oauth/access_token",
            200,
            b"oauth_token=1072250532645998596-access-5&oauth_token_secret=access-secret-6"
            b"&user_id=1072250532645998596&screen_name=hazelpine",
            {"content-type": "text/html; charset=utf-8"},
        )
        config = add_channel(
            config_dir,
            f"""
  - name: studio-x-live
    network: x
    api_key: env:GW_X_KEY
    api_secret: env:GW_X_SECRET
    access_token: file:{tmp_path}/keys/x-access-token
    access_token_secret: env:GW_X_ACCESS_SECRET
    base_url: {net.url}
""",
        )
        io = Browser(answers=["7654321"])
        io.open_url = io.opened.append  # type: ignore[method-assign]  # PIN flow: just shown
        lines = authorize(config.channel("studio-x-live"), config, io)
        request_token, access = net.requests
    assert 'oauth_callback="oob"' in request_token.headers["authorization"]
    assert 'oauth_consumer_key="consumer-key-1"' in request_token.headers["authorization"]
    assert io.opened == [f"{net.url}/oauth/authorize?oauth_token=req-token-3"]
    assert 'oauth_verifier="7654321"' in access.headers["authorization"]
    assert 'oauth_token="req-token-3"' in access.headers["authorization"]
    token_file = tmp_path / "keys" / "x-access-token"
    assert token_file.read_text().strip() == "1072250532645998596-access-5"
    assert mode(token_file) == 0o600
    secret_file = tmp_path / "secrets" / "GW_X_ACCESS_SECRET"
    assert secret_file.read_text().strip() == "access-secret-6" and mode(secret_file) == 0o600
    assert any('export GW_X_ACCESS_SECRET="$(cat' in line for line in lines)
    assert any("@hazelpine" in line for line in io.said)
    for value in ("access-5", "access-secret-6", "consumer-secret-2", "req-secret-4"):
        assert not any(value in line for line in lines + io.said)


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def test_x_pkce_flow_then_publish_with_the_saved_token(config_dir: Path, tmp_path: Path) -> None:
    redirect = free_redirect()
    challenges: list[str] = []

    def authorize_page(req: Request) -> Reply:
        challenges.append(req.query["code_challenge"][0])
        assert req.query["code_challenge_method"] == ["S256"]
        return authorize_redirect()(req)

    def token(req: Request) -> Reply:
        form = {k: v[0] for k, v in req.form().items()}
        ok = (
            form.get("grant_type") == "authorization_code"
            and form.get("code") == "the-auth-code"
            and form.get("redirect_uri") == redirect
            and form.get("client_id") == "x-client-id"
            and _s256(form.get("code_verifier", "")) == challenges[-1]
        )
        if not ok:
            return Reply(400, {"error": "invalid_request", "error_description": "bad"})
        return Reply(
            200,
            {
                "token_type": "bearer",
                "expires_in": 7200,
                "access_token": "pkce-access-7",
                "scope": "tweet.write users.read tweet.read offline.access",
                "refresh_token": "pkce-refresh-8",
            },
        )

    with NetServer() as net:
        net.handler("GET", "/i/oauth2/authorize", authorize_page)
        net.handler("POST", "/2/oauth2/token", token)
        net.reply("POST", "/2/tweets", 201, {"data": {"id": "1861", "text": "hi"}})
        token_path = tmp_path / "keys" / "x-oauth2.json"
        config = add_channel(
            config_dir,
            f"""
  - name: studio-x-live
    network: x
    client_id: x-client-id
    oauth2_token: file:{token_path}
    base_url: {net.url}
    auth_base_url: {net.url}
""",
        )
        io = Browser()
        lines = authorize(config.channel("studio-x-live"), config, io, redirect_uri=redirect)
        scope = parse_qs(urlsplit(io.opened[0]).query)["scope"][0]
        saved = json.loads(token_path.read_text())
        receipt = connector_for(config.channel("studio-x-live"), config).publish(
            OutgoingPost(1, "studio-x-live", "x", "tip", Kind.VALUE, "hi", None, None, "k")
        )
        post = net.sent("POST", "/2/tweets")[0]
    assert scope.split() == ["tweet.read", "tweet.write", "users.read", "offline.access"]
    assert saved["access_token"] == "pkce-access-7" and saved["refresh_token"] == "pkce-refresh-8"
    assert saved["expires_at"] > time.time() + 7000
    assert mode(token_path) == 0o600
    assert receipt.remote_id == "1861"
    assert post.headers["authorization"] == "Bearer pkce-access-7"
    assert not any("pkce-" in line for line in lines)


def test_x_pkce_forged_state_is_refused(config_dir: Path, tmp_path: Path) -> None:
    redirect = free_redirect()
    with NetServer() as net:
        net.handler("GET", "/i/oauth2/authorize", authorize_redirect(state="forged"))
        token_path = tmp_path / "x.json"
        config = add_channel(
            config_dir,
            f"""
  - name: studio-x-live
    network: x
    client_id: x-client-id
    oauth2_token: file:{token_path}
    base_url: {net.url}
    auth_base_url: {net.url}
""",
        )
        with pytest.raises(AuthFailed, match="state"):
            authorize(config.channel("studio-x-live"), config, Browser(), redirect_uri=redirect)
        assert net.sent("POST", "/2/oauth2/token") == []
    assert not token_path.exists()


# --------------------------------------------------------------------------- Facebook


def fb_config(config_dir: Path, base_url: str, tmp_path: Path) -> Any:
    return add_channel(
        config_dir,
        f"""
  - name: studio-facebook-live
    network: facebook
    page_id: "{PAGE}"
    page_access_token: file:{tmp_path}/keys/facebook-page
    app_id: "1234567890123"
    app_secret: env:GW_FB_APP_SECRET
    base_url: {base_url}
""",
    )


def test_facebook_long_lived_page_token_exchange(
    config_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GW_FB_APP_SECRET", "app-secret-9")
    with NetServer() as net:
        net.reply(
            "GET",
            "/v21.0/oauth/access_token",
            200,
            {"access_token": "long-user-10", "token_type": "bearer", "expires_in": 5183944},
        )
        net.reply(
            "GET",
            "/v21.0/me/accounts",
            200,
            {
                "data": [
                    {"access_token": "other-page-11", "name": "Other", "id": "1", "tasks": []},
                    {
                        "access_token": "page-token-12",
                        "category": "Photographer",
                        "name": "Hazel & Pine",
                        "id": PAGE,
                        "tasks": ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"],
                    },
                ],
                "paging": {"cursors": {"before": "QVFI", "after": "QVFJ"}},
            },
        )
        config = fb_config(config_dir, net.url, tmp_path)
        io = Browser(answers=["short-user-13"])
        lines = authorize(config.channel("studio-facebook-live"), config, io)
        exchange, accounts = net.requests
    assert {k: v[0] for k, v in exchange.query.items()} == {
        "client_id": "1234567890123",
        "client_secret": "app-secret-9",
        "grant_type": "fb_exchange_token",
        "fb_exchange_token": "short-user-13",
        "access_token": "short-user-13",  # facebook-sdk also sends its own token
    }
    assert accounts.query["access_token"] == ["long-user-10"]
    saved = tmp_path / "keys" / "facebook-page"
    assert saved.read_text().strip() == "page-token-12" and mode(saved) == 0o600
    assert any("Hazel & Pine" in line for line in io.said)
    assert not any(t in " ".join(lines + io.said) for t in ("page-token-12", "long-user-10"))


def test_facebook_page_not_managed_and_refused_exchange(
    config_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GW_FB_APP_SECRET", "app-secret-9")
    with NetServer() as net:
        net.script(
            "GET",
            "/v21.0/oauth/access_token",
            [
                Reply(200, {"access_token": "long-user-10", "token_type": "bearer"}),
                Reply(
                    400,
                    {
                        "error": {
                            "message": "Error validating access token: Session has expired",
                            "type": "OAuthException",
                            "code": 190,
                            "error_subcode": 463,
                        }
                    },
                ),
            ],
        )
        net.reply(
            "GET",
            "/v21.0/me/accounts",
            200,
            {"data": [{"id": "1", "name": "Other", "access_token": "x-14"}]},
        )
        config = fb_config(config_dir, net.url, tmp_path)
        channel = config.channel("studio-facebook-live")
        with pytest.raises(AuthFailed, match=r"not among the Pages .*Other \(1\)"):
            authorize(channel, config, Browser(answers=["short-user-13"]))
        with pytest.raises(AuthFailed, match="Session has expired") as caught:
            authorize(channel, config, Browser(answers=["short-user-13"]))
    assert "short-user-13" not in str(caught.value)
    assert not (tmp_path / "keys" / "facebook-page").exists()


# --------------------------------------------------------------------------- LinkedIn


def li_config(config_dir: Path, base_url: str, token: str) -> Any:
    return add_channel(
        config_dir,
        f"""
  - name: studio-linkedin
    network: linkedin
    author: urn:li:person:8675309ab
    access_token: {token}
    client_id: 86abcdefgh
    client_secret: env:GW_LI_CLIENT_SECRET
    base_url: {base_url}
    auth_base_url: {base_url}
""",
    )


def li_token_endpoint(redirect: str) -> Any:
    def token(req: Request) -> Reply:
        form = {k: v[0] for k, v in req.form().items()}
        expected = {
            "grant_type": "authorization_code",
            "code": "the-auth-code",
            "redirect_uri": redirect,
            "client_id": "86abcdefgh",
            "client_secret": "li-secret-15",
        }
        if any(form.get(k) != v for k, v in expected.items()):
            return Reply(400, {"error": "invalid_request", "error_description": "bad form"})
        # LinkedIn's documented token response (3-legged flow).
        return Reply(
            200,
            {
                "access_token": "AQV-li-access-16",
                "expires_in": 5184000,
                "scope": "openid,profile,w_member_social",
                "token_type": "Bearer",
                "id_token": "eyJ.header.sig",
            },
        )

    return token


def test_linkedin_three_legged_flow_through_the_cli_then_publish(
    config_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GW_LI_CLIENT_SECRET", "li-secret-15")
    monkeypatch.setenv("GOODWILL_DATABASE_URL", f"sqlite:///{tmp_path / 'gw.db'}")
    redirect = free_redirect()
    browser = Browser()
    # The one thing that cannot run in a test: a person's web browser.
    monkeypatch.setattr("webbrowser.open", browser.open_url)
    token_path = tmp_path / "keys" / "linkedin.json"
    with NetServer() as net:
        net.handler("GET", "/oauth/v2/authorization", authorize_redirect())
        net.handler("POST", "/oauth/v2/accessToken", li_token_endpoint(redirect))
        net.reply("POST", "/rest/posts", 201, b"", {"x-restli-id": "urn:li:share:77"})
        config = li_config(config_dir, net.url, f"file:{token_path}")
        code = main(
            [
                "auth",
                "studio-linkedin",
                "--redirect-uri",
                redirect,
                "--config",
                str(config_dir),
                "--json",
            ]
        )
        captured = capsys.readouterr()
        receipt = connector_for(config.channel("studio-linkedin"), config).publish(
            OutgoingPost(1, "studio-linkedin", "linkedin", "tip", Kind.VALUE, "hi", None, None, "k")
        )
        post = net.sent("POST", "/rest/posts")[0]
    assert code == 0, captured.err
    scope = parse_qs(urlsplit(browser.opened[0]).query)["scope"][0]
    assert scope.split() == ["openid", "profile", "w_member_social"]
    result = json_out(captured.out)
    assert result["channel"] == "studio-linkedin"
    saved = json.loads(token_path.read_text())
    assert saved["access_token"] == "AQV-li-access-16" and mode(token_path) == 0o600
    # oauthlib stores expires_at as round(now) + expires_in: up to half a second ahead.
    assert 59 * 86400 < saved["expires_at"] - time.time() <= 60 * 86400 + 1
    assert receipt.remote_id == "urn:li:share:77"
    assert post.headers["authorization"] == "Bearer AQV-li-access-16"
    for secret in ("AQV-li-access-16", "li-secret-15", "the-auth-code"):
        assert secret not in captured.out and secret not in captured.err


def test_linkedin_env_reference_and_a_refused_consent(
    config_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GW_LI_CLIENT_SECRET", "li-secret-15")
    redirect = free_redirect()
    with NetServer() as net:
        net.handler("POST", "/oauth/v2/accessToken", li_token_endpoint(redirect))
        net.handler("GET", "/oauth/v2/authorization", authorize_redirect())
        config = li_config(config_dir, net.url, "env:GW_LI_TOKEN")
        channel = config.channel("studio-linkedin")
        io = Browser()
        lines = authorize(channel, config, io, redirect_uri=redirect)
        saved = tmp_path / "secrets" / "GW_LI_TOKEN"
        assert saved.read_text().strip() == "AQV-li-access-16" and mode(saved) == 0o600
        assert any("token_expires:" in line for line in io.said)
        assert any('export GW_LI_TOKEN="$(cat' in line for line in lines)
        net.handler(
            "GET",
            "/oauth/v2/authorization",
            authorize_redirect(
                error="user_cancelled_authorize", error_description="The user cancelled"
            ),
        )
        with pytest.raises(AuthFailed, match="The user cancelled"):
            authorize(channel, config, Browser(), redirect_uri=free_redirect())


def test_linkedin_token_exchange_refused(
    config_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GW_LI_CLIENT_SECRET", "wrong-secret")
    redirect = free_redirect()
    with NetServer() as net:
        net.handler("GET", "/oauth/v2/authorization", authorize_redirect())
        net.handler("POST", "/oauth/v2/accessToken", li_token_endpoint(redirect))
        config = li_config(config_dir, net.url, f"file:{tmp_path / 'li.json'}")
        with pytest.raises(AuthFailed, match="invalid_request"):
            authorize(config.channel("studio-linkedin"), config, Browser(), redirect_uri=redirect)
    assert not (tmp_path / "li.json").exists()


class PlainIO:
    """The shared `goodwill auth` IO: say, ask and ask_secret (no open_url)."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.said: list[str] = []
        self.secret_prompts: list[str] = []

    def say(self, line: str) -> None:
        self.said.append(line)

    def ask(self, prompt: str) -> str:
        return self.answers.pop(0)

    def ask_secret(self, prompt: str) -> str:
        self.secret_prompts.append(prompt)
        return self.answers.pop(0)


def test_connector_setup_returns_values_and_saves_nothing(
    config_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from connectors.facebook import setup

    monkeypatch.setenv("GW_FB_APP_SECRET", "app-secret-9")
    with NetServer() as net:
        net.reply("GET", "/v21.0/oauth/access_token", 200, {"access_token": "long-user-10"})
        net.reply(
            "GET", "/v21.0/me/accounts", 200,
            {"data": [{"id": PAGE, "name": "Hazel & Pine", "access_token": "page-token-12"}]},
        )  # fmt: skip
        config = fb_config(config_dir, net.url, tmp_path)
        io = PlainIO("short-user-13")
        values = setup(config.channel("studio-facebook-live"), config, io)
    assert values == {"page_access_token": "page-token-12"}
    assert io.secret_prompts == ["User access token (not shown): "]  # asked without echo
    assert not (tmp_path / "keys" / "facebook-page").exists()


def test_a_channel_with_nothing_to_set_up_says_so_in_one_line(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The sample's channels preview into the outbox: nothing to authorize there."""
    code = main(["auth", "studio-x", "--config", str(config_dir)])
    err = capsys.readouterr().err
    assert code == 2
    assert "studio-x: `goodwill auth` does not set up outbox yet" in err
    assert "Traceback" not in err
