"""The owner's console on a real local Prefect server: serving, automations, notifications."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from goodwill.config import load_config
from tests.console import (
    emit,
    env_for,
    next_matching,
    read_deployments,
    run_goodwill,
    serving,
    wait_for_deployments,
    webhook_receiver,
)

pytestmark = [pytest.mark.prefect, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prefect server (SQLite), the way ``goodwill serve --with-server`` starts one."""
    from flows.server import local_server

    with local_server(tmp_path_factory.mktemp("prefect-server"), port=0) as api:
        yield api


def test_setup_creates_automations_once_and_a_webhook_receives_the_alerts(
    server: str, config_dir: Path
) -> None:
    brand = load_config(config_dir).brand.name
    env = env_for(server)
    with webhook_receiver() as (url, received):
        args = ["setup", "--config", str(config_dir), "--webhook", url]
        first = run_goodwill(args, env)
        assert first.returncode == 0, first.stderr
        assert first.stdout.count("Created automation") == 5
        again = run_goodwill(args, env)  # idempotent: updates, never duplicates
        assert again.returncode == 0, again.stderr
        assert again.stdout.count("Updated automation") == 5

        import httpx

        automations = httpx.post(f"{server}/automations/filter", json={}, timeout=30).json()
        mine = sorted(a["name"] for a in automations if brand in a["name"])
        assert len(mine) == 5 and len(set(mine)) == 5
        events = {e for a in automations if brand in a["name"] for e in a["trigger"]["expect"]}
        assert events == {
            "goodwill.post.failed",
            "goodwill.post.unknown",
            "goodwill.channel.paused",
            "goodwill.slot.missed",
            "goodwill.config.invalid",
        }

        emit(
            server,
            "goodwill.channel.paused",
            brand,
            "studio-x",
            {"reason": "the access token expired", "until": "2026-11-27T09:00:00+00:00"},
        )
        got = next_matching(received, "channel paused", timeout=60)
        assert "studio-x is paused until 2026-11-27T09:00:00+00:00" in got["body"]
        assert "the access token expired" in got["body"]

        # An invalid edit: the run fails fast with file and line, and the owner is told.
        (config_dir / "channels.yaml").write_text("channels:\n  - name: x\n    network: myspace\n")
        bad = run_goodwill(["publish", "--config", str(config_dir)], env)
        assert bad.returncode == 2
        assert "channels.yaml:3: channels[0].network" in bad.stderr
        assert "Traceback" not in bad.stderr
        got = next_matching(received, "config invalid", timeout=60)
        assert "channels.yaml:3" in got["body"]


def test_setup_without_a_block_says_how(server: str, config_dir: Path) -> None:
    result = run_goodwill(["setup", "--config", str(config_dir)], env_for(server))
    assert result.returncode == 2
    assert "--webhook URL, or --notify TYPE/NAME" in result.stderr


def test_serve_with_server_serves_everything_and_stops_cleanly(config_dir: Path) -> None:
    from flows.server import local_server, state_dir

    env = env_for("")
    env.pop("PREFECT_API_URL")
    with serving(config_dir, env) as (ui, proc):
        assert ui.startswith("http://127.0.0.1:")
        wanted = {"ingest", "draft", "publish", "review", "report", "cycle"}
        assert wanted <= set(wait_for_deployments(f"{ui}/api", wanted))
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert code == 0, proc.output  # type: ignore[attr-defined]
    assert "Stopped." in proc.output  # type: ignore[attr-defined]

    # The schedules stay active for the next start (served deployments are not paused).
    import httpx

    with local_server(state_dir(config_dir) / "prefect", port=0) as api:
        after = read_deployments(api)
        automations = httpx.post(f"{api}/automations/filter", json={}, timeout=30).json()
    for name in ("ingest", "publish", "report"):
        assert after[name]["paused"] is False
        [schedule] = after[name]["schedules"]
        assert schedule["active"] is True
        assert schedule["schedule"]["timezone"] == "Europe/London"
    triggers = {a["name"]: a["trigger"] for a in automations if a["name"].startswith("review__")}
    [review_trigger] = triggers.values()
    assert review_trigger["expect"] == ["goodwill.drafts.created"]
    assert review_trigger["match"]["goodwill.channel"] == ["studio-facebook"]
