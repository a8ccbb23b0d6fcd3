"""X bills each post: prices, the monthly budget check, and the queue's cost column."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from goodwill.budget import budget_hold, month_start, post_cost, spent_this_month
from goodwill.cli import main
from goodwill.config import Config, load_config
from goodwill.events import RecordingSink
from goodwill.publishing import publish_due
from goodwill.store import Store
from tests.fakes import FakeNetwork
from tests.helpers_cli import json_out
from tests.helpers_publishing import approved_tip

X_CHANNEL = """channels:
  - name: studio-x
    network: x
    api_key: env:GW_UNSET_1
    api_secret: env:GW_UNSET_2
    access_token: env:GW_UNSET_3
    access_token_secret: env:GW_UNSET_4
    monthly_budget: {budget}
    slots: {{daily: ['09:00', '13:00', '18:00']}}
  - name: preview
    network: outbox
"""


def write_config(root: Path, brand: str, budget: str = "0.25", policy: str = "") -> Config:
    root.mkdir(parents=True, exist_ok=True)
    (root / "brand.yaml").write_text(f"name: {brand}\ntimezone: UTC\n")
    (root / "sources.yaml").write_text("sources: []\n")
    (root / "channels.yaml").write_text(X_CHANNEL.format(budget=budget))
    (root / "policy.yaml").write_text("ratio: 0\ngrace: 30m\nmax_per_day: 10\n" + policy)
    return load_config(root)


def test_post_cost_tells_urls_apart(tmp_path: Path, brand: str) -> None:
    config = write_config(tmp_path / "c", brand)
    x, preview = config.channels
    assert post_cost(config, x, "Golden hour tip", None) == pytest.approx(0.015)
    assert post_cost(config, x, "Read https://example.com/a", None) == pytest.approx(0.20)
    assert post_cost(config, x, "Read this", "https://example.com/a") == pytest.approx(0.20)
    assert post_cost(config, preview, "Read https://example.com/a", None) == 0.0


def test_policy_table_and_channel_override(tmp_path: Path, brand: str) -> None:
    config = write_config(
        tmp_path / "c", brand, policy="prices:\n  x: {per_post: 0.01, per_post_with_url: 0.1}\n"
    )
    x = config.channels[0]
    assert post_cost(config, x, "tip", None) == pytest.approx(0.01)
    assert post_cost(config, x, "https://a.example", None) == pytest.approx(0.1)
    cheaper = x.model_copy(update={"price_per_post_with_url": 0.05})
    assert post_cost(config, cheaper, "https://a.example", None) == pytest.approx(0.05)


def test_budget_hold_is_pure_and_exact() -> None:
    assert budget_hold(0.2, 0.0, None) is None
    assert budget_hold(0.2, 0.0, 0.2) is None  # exactly at the budget is allowed
    over = budget_hold(0.015, 0.2, 0.2)  # $0.20 spent of $0.20: even a cent and a half waits
    assert over is not None and "$0.200 of $0.20" in over and "$0.015" in over
    reason = budget_hold(0.2, 0.1, 0.25)
    assert reason is not None and "$0.100 of $0.25" in reason and "$0.200" in reason
    assert budget_hold(0.0, 5.0, 1.0) is None  # free posts never wait


def test_spent_counts_this_calendar_month_only() -> None:
    now = datetime(2026, 3, 15, tzinfo=UTC)
    assert month_start(now) == datetime(2026, 3, 1, tzinfo=UTC)
    costs = [
        (0.2, datetime(2026, 2, 28, 23, 59, tzinfo=UTC)),
        (0.2, datetime(2026, 3, 1, tzinfo=UTC)),
        (0.015, None),  # in flight: counted
    ]
    assert spent_this_month(costs, now) == pytest.approx(0.215)


def queue_x_post(
    store: Store, text: str, link: str | None, at: datetime, pinned_at: datetime | None = None
) -> None:
    """An approved tip for the studio-x channel."""
    store.posts.add([approved_tip("studio-x", text, link, network="x", pinned_at=pinned_at)], at)


def test_publisher_holds_posts_over_the_monthly_budget(
    tmp_path: Path, brand: str, database_url: str
) -> None:
    config = write_config(tmp_path / "c", brand, budget="0.25")
    store = Store.open(config.brand.name, url=database_url)
    try:
        march = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
        for i, link in enumerate(["https://a.example/1", None, "https://a.example/2"]):
            queue_x_post(store, f"post {i}" + (f" {link}" if link else ""), link, march)
        net = FakeNetwork()
        sink = RecordingSink()
        results = [
            publish_due(config, store, datetime(2026, 3, 2, h, 5, tzinfo=UTC), sink, net.factory)
            for h in (9, 13, 18)
        ]
        # $0.20 + $0.015 went out; the third ($0.20) would make $0.415 > $0.25.
        assert net.texts("studio-x") == ["post 0 https://a.example/1", "post 1"]
        [held] = store.posts.find(states=["held"], channel="studio-x")
        assert held.text == "post 2 https://a.example/2"
        assert held.reason is not None and "monthly budget" in held.reason
        assert "$0.215 of $0.25" in held.reason
        assert results[2].held == 1
        assert any(name == "goodwill.post.held" for name, *_ in sink.events)
        # A new month, a new budget: it goes out at the first slot.
        publish_due(config, store, datetime(2026, 4, 1, 9, 5, tzinfo=UTC), sink, net.factory)
        assert net.texts("studio-x")[-1] == "post 2 https://a.example/2"
    finally:
        store.close()


def test_two_posts_in_one_run_are_held_to_the_budget_together(
    tmp_path: Path, brand: str, database_url: str
) -> None:
    """A pinned post and the slot's post go out in the same run: the second is checked
    against what the first cost, not against what was spent before the run."""
    config = write_config(tmp_path / "c", brand, budget="0.25")
    store = Store.open(config.brand.name, url=database_url)
    try:
        march = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
        for text, pinned in (("pinned", datetime(2026, 3, 2, 9, 0, tzinfo=UTC)), ("slot", None)):
            link = f"https://a.example/{text}"
            queue_x_post(store, f"{text} {link}", link, march, pinned_at=pinned)
        net = FakeNetwork()
        result = publish_due(
            config, store, datetime(2026, 3, 2, 9, 5, tzinfo=UTC), RecordingSink(), net.factory
        )
        # $0.20 went out pinned; the slot's $0.20 would make $0.40 > $0.25.
        assert net.texts("studio-x") == ["pinned https://a.example/pinned"]
        [held] = store.posts.find(states=["held"], channel="studio-x")
        assert held.text.startswith("slot") and "$0.200 of $0.25" in (held.reason or "")
        assert result.held == 1
    finally:
        store.close()


def test_queue_shows_the_cost_of_each_post(
    tmp_path: Path, brand: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "c"
    write_config(root, brand, budget="5")
    monkeypatch.setenv("GOODWILL_DATABASE_URL", f"sqlite:///{tmp_path / 'gw.db'}")
    common = ["--config", str(root), "--no-prefect"]
    for text, link in (("Golden hour tip", None), ("New guide", "https://a.example/g")):
        extra = ["--link", link] if link else []
        assert (
            main(
                [
                    "post",
                    "--channel",
                    "studio-x",
                    "--category",
                    "tip",
                    "--text",
                    text,
                    *extra,
                    *common,
                ]
            )
            == 0
        )
    assert (
        main(["post", "--channel", "preview", "--category", "tip", "--text", "free", *common]) == 0
    )
    capsys.readouterr()
    assert main(["queue", "--json", *common]) == 0
    rows = json_out(capsys.readouterr().out)
    costs = {r["text"].split("\n")[0]: r["cost"] for r in rows}
    assert costs == {"Golden hour tip": 0.015, "New guide": 0.2, "free": 0.0}
    assert main(["queue", *common]) == 0
    table = capsys.readouterr().out
    assert "cost" in table and "$0.200" in table and "$0.015" in table
