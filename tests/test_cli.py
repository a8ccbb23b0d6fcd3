"""The ``goodwill`` command end to end, as a user runs it (real processes, real files)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from goodwill import text as textlib
from goodwill.feeds.sampleserver import serve_samples
from goodwill.models import Kind
from goodwill.ratio import Published, violations
from tests.helpers_cli import json_out

OUTBOX_FIELDS = {
    "post_id",
    "channel",
    "network",
    "category",
    "kind",
    "text",
    "link",
    "credit",
    "published_at",
}


def goodwill(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "goodwill.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=300,
    )


def last_json(proc: subprocess.CompletedProcess[str]) -> object:
    assert proc.stdout.strip(), proc.stderr
    return json_out(proc.stdout)


def assert_clean(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "ERROR" not in proc.stderr, proc.stderr


@pytest.fixture
def served_config(config_dir: Path) -> Iterator[Path]:
    from goodwill.demo import _point_sources_at

    with serve_samples(datetime.now(UTC)) as base:
        _point_sources_at(config_dir, base)
        yield config_dir


@pytest.fixture
def env(use_database: str) -> dict[str, str]:
    return {"GOODWILL_DATABASE_URL": use_database}


def test_demo_outbox_is_attributed_fitted_and_keeps_the_ratio(tmp_path: Path) -> None:
    proc = goodwill("demo", "--no-prefect", "--json", "--dir", str(tmp_path / "demo"))
    assert proc.returncode == 0, proc.stderr
    assert_clean(proc)
    result = last_json(proc)
    assert isinstance(result, dict)
    assert set(result) == {"outbox", "ratio", "ingested", "drafted", "published", "held", "failed"}
    assert result["published"] > 10 and result["failed"] == 0 and result["held"] >= 1
    records = [json.loads(line) for line in Path(result["outbox"]).read_text().splitlines()]
    assert len(records) == result["published"]
    assert {r["channel"] for r in records} >= {"studio-x", "studio-mastodon", "studio-bluesky"}
    styles = {
        "studio-x": "x",
        "studio-mastodon": "mastodon",
        "studio-bluesky": "bluesky",
        "studio-facebook": "facebook",
    }
    for record in records:
        assert set(record) >= OUTBOX_FIELDS
        assert datetime.fromisoformat(record["published_at"]).tzinfo is not None
        style = styles[record["channel"]]
        assert textlib.length(record["text"], style) <= textlib.limit(style)
        if record["category"] == "curated":
            assert record["link"] in record["text"] and record["credit"] in record["text"]
    for channel in styles:
        history = [Published(Kind(r["kind"])) for r in records if r["channel"] == channel]
        assert violations(history, result["ratio"]) == [], channel
    # The X preview credits by handle, as sources.yaml says.
    assert any("via @" in r["text"] for r in records if r["channel"] == "studio-x")


def test_the_daily_loop_from_the_command_line(served_config: Path, env: dict[str, str]) -> None:
    cfg = ["--config", str(served_config), "--no-prefect", "--json"]
    ingest = last_json(goodwill("ingest", *cfg, env=env))
    assert ingest == {
        "sources": 8,
        "fetched": 8,
        "not_modified": 0,
        "failed": 0,
        "new_items": ingest["new_items"],
        "skipped": 0,
    }  # type: ignore[index]
    items = last_json(goodwill("items", *cfg, "--limit", "5", env=env))
    assert isinstance(items, list) and len(items) == 5
    assert set(items[0]) == {"id", "source", "title", "url", "author", "published_at"}
    # Drafts are only made for news a slot can carry before it is max_item_age old; give the
    # review channel (4 slots a week) a long enough age that this does not depend on the weekday.
    policy = served_config / "policy.yaml"
    policy.write_text(policy.read_text().replace("max_item_age: 3d", "max_item_age: 14d"))
    drafted = last_json(goodwill("draft", *cfg, env=env))
    assert drafted["drafted"] > 0  # type: ignore[index]
    queue = last_json(goodwill("queue", *cfg, "--state", "draft", env=env))
    assert isinstance(queue, list) and queue
    assert {q["channel"] for q in queue} == {"studio-facebook"}  # the channel with review: required
    assert set(queue[0]) >= {  # CLI.md's keys; more may be added (credit_source, comment)
        "id",
        "channel",
        "category",
        "kind",
        "state",
        "text",
        "link",
        "credit",
        "scheduled_for",
        "published_at",
        "reason",
        "checked",  # what reconciliation checked, for unknown posts (issue 4)
        "cost",  # estimated price of the post on its network (X bills each post)
    }
    first, second = queue[0]["id"], queue[1]["id"]
    assert goodwill("approve", str(first), *cfg, env=env).returncode == 0
    assert goodwill("reject", str(second), *cfg, env=env).returncode == 0
    states = {
        q["id"]: q["state"]
        for q in last_json(
            goodwill("queue", *cfg, "--state", "approved", "--state", "rejected", env=env)
        )
    }  # type: ignore[union-attr]
    assert states[first] == "approved" and states[second] == "rejected"
    again = last_json(goodwill("ingest", *cfg, env=env))
    assert again["not_modified"] == 8 and again["new_items"] == 0  # type: ignore[index]


def test_own_post_and_promotion_by_hand(served_config: Path, env: dict[str, str]) -> None:
    cfg = ["--config", str(served_config), "--no-prefect", "--json"]
    tip = goodwill(
        "post",
        "--channel",
        "studio-x",
        "--category",
        "tip",
        "--text",
        "Clean your lens.",
        *cfg,
        env=env,
    )
    assert tip.returncode == 0, tip.stderr
    tip_id = last_json(tip)["id"]  # type: ignore[index]
    [row] = [q for q in last_json(goodwill("queue", *cfg, env=env)) if q["id"] == tip_id]  # type: ignore[union-attr]
    assert row["scheduled_for"]  # it fills the next free slot
    promo = goodwill(
        "post",
        "--channel",
        "studio-x",
        "--category",
        "promotion",
        "--text",
        "Book us!",
        "--at",
        "now",
        *cfg,
        env=env,
    )
    promo_id = last_json(promo)["id"]  # type: ignore[index]
    goodwill("publish", *cfg, env=env)
    [held] = [
        q
        for q in last_json(goodwill("queue", *cfg, "--state", "held", env=env))
        if q["id"] == promo_id
    ]  # type: ignore[union-attr]
    assert "needs 4 more value posts" in held["reason"]
    forced = goodwill(
        "post",
        "--channel",
        "studio-mastodon",
        "--category",
        "promotion",
        "--text",
        "Book us!",
        "--at",
        "now",
        "--override",
        "launch day",
        *cfg,
        env=env,
    )
    forced_id = last_json(forced)["id"]  # type: ignore[index]
    published = last_json(goodwill("publish", *cfg, env=env))
    assert published["published"] >= 1  # type: ignore[index]
    done = {q["id"]: q for q in last_json(goodwill("queue", *cfg, "--state", "published", env=env))}  # type: ignore[union-attr]
    assert forced_id in done


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["approve", "99999"], 2, "no post with id 99999"),
        (["queue", "--channel", "studio-myspace"], 2, "unknown channel 'studio-myspace'"),
        (
            ["post", "--channel", "studio-x", "--category", "ad", "--text", "x"],
            2,
            "unknown category 'ad'",
        ),
        (
            [
                "post",
                "--channel",
                "studio-x",
                "--category",
                "tip",
                "--text",
                "x",
                "--at",
                "tomorrow",
            ],
            2,
            "ISO 8601",
        ),
        (["frobnicate"], 2, "invalid choice"),
    ],
)
def test_bad_input_is_one_readable_line(
    config_dir: Path, env: dict[str, str], args: list[str], code: int, needle: str
) -> None:
    proc = goodwill(*args, "--config", str(config_dir), "--no-prefect", env=env)
    assert proc.returncode == code
    assert needle in proc.stderr
    assert_clean(proc)


def test_invalid_config_exits_2_and_changes_nothing(
    served_config: Path, env: dict[str, str]
) -> None:
    cfg = ["--config", str(served_config), "--no-prefect", "--json"]
    (served_config / "policy.yaml").write_text("ratio: four\n")
    proc = goodwill("run", *cfg, env=env)
    assert proc.returncode == 2
    assert "policy.yaml:1: ratio:" in proc.stderr
    assert_clean(proc)
    db = env["GOODWILL_DATABASE_URL"]
    if db.startswith("sqlite:///"):
        assert not Path(db.removeprefix("sqlite:///")).exists()  # not even created


def test_unwritable_database_is_one_line(config_dir: Path) -> None:
    proc = goodwill(
        "items",
        "--config",
        str(config_dir),
        env={"GOODWILL_DATABASE_URL": "sqlite:////nonexistent-dir/goodwill.db"},
    )
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "cannot open the database" in proc.stderr
    assert_clean(proc)


def test_channel_without_connector_or_credential_is_reported(
    config_dir: Path, env: dict[str, str]
) -> None:
    channels = config_dir / "channels.yaml"
    channels.write_text(
        channels.read_text()
        + (
            "  - name: live-mastodon\n    network: mastodon\n    base_url: https://mastodon.example\n"
            "    access_token: env:GOODWILL_TEST_UNSET_TOKEN\n    slots: {daily: ['00:00']}\n"
        )
    )
    cfg = ["--config", str(config_dir), "--no-prefect"]
    post = goodwill(
        "post",
        "--channel",
        "live-mastodon",
        "--category",
        "tip",
        "--text",
        "hi",
        "--at",
        "now",
        *cfg,
        env=env,
    )
    assert post.returncode == 0, post.stderr
    proc = goodwill("publish", *cfg, env=env)
    assert_clean(proc)
    assert "live-mastodon: not published:" in proc.stdout


def test_init_writes_a_valid_starter_and_keeps_existing_files(tmp_path: Path) -> None:
    target = tmp_path / "studio"
    assert goodwill("init", str(target)).returncode == 0
    assert goodwill("check", "--config", str(target)).returncode == 0
    (target / "brand.yaml").write_text("name: Mine\n")
    goodwill("init", str(target))
    assert (target / "brand.yaml").read_text() == "name: Mine\n"
