"""X, Facebook and LinkedIn channels, configured as the README says, publishing end to end
through `goodwill publish` (a real process, -v debug logging) to local fake servers; no token
appears in any output, and a refusing network leaves every post accounted for with a reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.apiserver import NetServer, Reply, Request
from tests.helpers_cli import json_out

PAGE = "104589361234567"
SECRETS = {
    "GW_X_API_KEY": "xkey-live-0001",
    "GW_X_API_SECRET": "xsecret-live-0002",
    "GW_X_ACCESS_TOKEN": "1072250532645998596-xtok-0003",
    "GW_X_ACCESS_TOKEN_SECRET": "xtoksecret-live-0004",
    "GW_FACEBOOK_PAGE_TOKEN": "EAAGfbpage-live-0005",
}
LINKEDIN_TOKEN = "AQV-linkedin-live-0006"
ALL_SECRETS = [*SECRETS.values(), LINKEDIN_TOKEN]


def goodwill(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "goodwill.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
    )


def configure(config_dir: Path, base_url: str, tmp_path: Path) -> None:
    token = tmp_path / "keys" / "linkedin.json"
    token.parent.mkdir(mode=0o700)
    token.write_text(
        json.dumps({"access_token": LINKEDIN_TOKEN, "expires_at": time.time() + 50 * 86400})
    )
    token.chmod(0o600)
    channels = config_dir / "channels.yaml"
    channels.write_text(
        channels.read_text(encoding="utf-8")
        + f"""
  - name: studio-x-live
    network: x
    api_key: env:GW_X_API_KEY
    api_secret: env:GW_X_API_SECRET
    access_token: env:GW_X_ACCESS_TOKEN
    access_token_secret: env:GW_X_ACCESS_TOKEN_SECRET
    monthly_budget: 10
    base_url: {base_url}

  - name: studio-facebook-live
    network: facebook
    page_id: "{PAGE}"
    page_access_token: env:GW_FACEBOOK_PAGE_TOKEN
    base_url: {base_url}

  - name: studio-linkedin-live
    network: linkedin
    author: urn:li:organization:2414183
    access_token: file:{token}
    base_url: {base_url}
""",
        encoding="utf-8",
    )


LIVE = ("studio-x-live", "studio-facebook-live", "studio-linkedin-live")


def queue_one_each(config_dir: Path, env: dict[str, str]) -> None:
    for channel in LIVE:
        proc = goodwill(
            "post", "--channel", channel, "--category", "tip",
            "--text", f"Golden hour (tip) for {channel}: shoot #backlit",
            "--link", "https://example.com/golden-hour",
            "--at", "now", "--config", str(config_dir), "--no-prefect", env=env,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in ALL_SECRETS:
            assert secret not in text, f"a token leaked: {secret[:8]}…"


@pytest.fixture
def env(use_database: str) -> dict[str, str]:
    return {**SECRETS, "GOODWILL_DATABASE_URL": use_database, "OAUTHLIB_INSECURE_TRANSPORT": "1"}


def test_each_network_publishes_through_its_fake_server(
    config_dir: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    with NetServer() as net:
        net.reply("POST", "/2/tweets", 201, {"data": {"id": "1861000000000000001", "text": "t"}})
        net.reply("POST", f"/v21.0/{PAGE}/feed", 200, {"id": f"{PAGE}_122100000000000001"})
        net.reply(
            "POST", "/rest/posts", 201, b"", {"x-restli-id": "urn:li:share:7260000000000000001"}
        )
        configure(config_dir, net.url, tmp_path)
        queue_one_each(config_dir, env)
        cfg = ["--config", str(config_dir), "--no-prefect"]
        queued = goodwill("queue", "--json", *cfg, env=env)
        proc = goodwill("publish", "--json", "-v", *cfg, env=env)
        done = goodwill("queue", "--json", "--state", "published", *cfg, env=env)
        paths = sorted(r.path for r in net.requests)
    assert proc.returncode == 0, proc.stderr
    assert json_out(proc.stdout)["published"] == 3
    assert paths == ["/2/tweets", "/rest/posts", f"/v21.0/{PAGE}/feed"]
    costs = {r["channel"]: r["cost"] for r in json_out(queued.stdout)}
    assert costs["studio-x-live"] == 0.2 and costs["studio-facebook-live"] == 0.0
    published = {r["channel"] for r in json_out(done.stdout)}
    assert set(LIVE) <= published
    assert_no_secret(queued.stdout, queued.stderr, proc.stdout, proc.stderr, done.stdout)
    linkedin = next(r for r in net.requests if r.path == "/rest/posts")
    assert linkedin.json()["commentary"].startswith(r"Golden hour \(tip\) for studio-linkedin-live")


def _refuse(req: Request) -> Reply:
    if req.path == "/2/tweets":
        return Reply(401, {"title": "Unauthorized", "status": 401, "detail": "Unauthorized"})
    if req.path.endswith("/feed"):
        return Reply(400, {"error": {"message": "(#506) Duplicate status message", "code": 506}})
    return Reply(500, "<html><body>Internal Server Error</body></html>")


def test_refusing_networks_leave_every_post_accounted_for(
    config_dir: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    with NetServer() as net:
        for method, path in (
            ("POST", "/2/tweets"),
            ("POST", f"/v21.0/{PAGE}/feed"),
            ("POST", "/rest/posts"),
        ):
            net.handler(method, path, _refuse)
        configure(config_dir, net.url, tmp_path)
        queue_one_each(config_dir, env)
        cfg = ["--config", str(config_dir), "--no-prefect"]
        proc = goodwill("publish", "--json", "-v", *cfg, env=env)
        rows: list[dict[str, Any]] = json.loads(
            goodwill("queue", "--json", "--state", "approved", "--state", "failed",
                     "--state", "unknown", *cfg, env=env).stdout.strip().splitlines()[-1]
        )  # fmt: skip
    assert "Traceback" not in proc.stderr
    by_channel = {r["channel"]: r for r in rows if r["channel"] in LIVE}
    assert by_channel["studio-x-live"]["state"] == "approved"  # kept; the channel is paused
    assert "Unauthorized" in by_channel["studio-x-live"]["reason"]
    assert by_channel["studio-facebook-live"]["state"] == "failed"
    assert "Duplicate status message" in by_channel["studio-facebook-live"]["reason"]
    assert by_channel["studio-linkedin-live"]["state"] == "unknown"
    assert (
        "reconcile" in by_channel["studio-linkedin-live"]["reason"]
        or "check" in by_channel["studio-linkedin-live"]["reason"]
    )
    assert_no_secret(proc.stdout, proc.stderr, json.dumps(rows))


def test_readme_channel_examples_are_valid(config_dir: Path) -> None:
    """The X, Facebook and LinkedIn blocks the README tells owners to write load as written."""
    import re
    import textwrap

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = [
        b
        for b in re.findall(r"```yaml\n(.*?)\s*```", readme, re.DOTALL)
        if re.search(r"network: (x|facebook|linkedin)\b", b)
    ]
    assert len(blocks) == 3
    channels = config_dir / "channels.yaml"
    body = channels.read_text(encoding="utf-8")
    for block in blocks:
        body += "\n" + textwrap.indent(textwrap.dedent(block), "  ") + "\n"
    channels.write_text(body, encoding="utf-8")
    from goodwill.config import load_config

    config = load_config(config_dir)
    networks = {c.network for c in config.channels}
    assert {"x", "facebook", "linkedin"} <= networks


def test_previews_show_the_post_as_each_network_gets_it(config_dir: Path, tmp_path: Path) -> None:
    """What `publish --dry-run` shows (the shared preview hook): no credentials, nothing sent."""
    from connectors.facebook import FacebookConnector
    from connectors.linkedin import LinkedInConnector
    from connectors.x import XConnector
    from goodwill.config import load_config
    from goodwill.models import Kind, OutgoingPost

    configure(config_dir, "https://127.0.0.1:9", tmp_path)  # nothing listens: nothing may be sent
    config = load_config(config_dir)
    post = OutgoingPost(
        1, "c", "x", "curated", Kind.VALUE, "Light (and shade) https://example.com/a",
        "https://example.com/a", None, "k", card_title="Light", card_description="A guide",
    )  # fmt: skip
    x = XConnector.preview(config.channel("studio-x-live"), config, post)
    assert x["length"] == 41 and x["limit"] == 280 and x["cost"] == 0.2
    fb = FacebookConnector.preview(config.channel("studio-facebook-live"), config, post)
    assert fb["request"]["url"].endswith(f"/v21.0/{PAGE}/feed")
    assert fb["request"]["form"] == {"message": post.text, "link": "https://example.com/a"}
    li = LinkedInConnector.preview(config.channel("studio-linkedin-live"), config, post)
    assert li["request"]["json"]["commentary"] == r"Light \(and shade\) https://example.com/a"
    assert li["card"] == {
        "uri": "https://example.com/a",
        "title": "Light",
        "description": "A guide",
    }
    assert_no_secret(json.dumps([x, fb, li]))
