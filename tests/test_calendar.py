"""``goodwill calendar``: one self-contained HTML page, checked in a real headless browser."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from goodwill.calendar import build_calendar, render_html
from goodwill.cli import main
from goodwill.config import Config
from goodwill.events import RecordingSink
from goodwill.publishing import publish_due
from goodwill.store import Store
from tests.fakes import FakeNetwork
from tests.helpers_cli import json_out
from tests.helpers_publishing import approved_tip
from tests.helpers_voice import write_config

MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CHANNELS = """channels:
  - {name: news-x, network: outbox, preview_as: x, slots: {weekdays: ['09:00', '17:00']}}
  - {name: paris, network: outbox, preview_as: mastodon, timezone: Europe/Paris,
     language: fr, slots: {daily: ['12:00']}}
"""
POSTS = """posts:
  - {key: spring, category: promotion, text: "Spring weddings: booking is open <now>!",
     start: 2026-03-01}
  - {key: old, category: promotion, text: "Winter offer", end: 2026-03-01}
"""


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


@pytest.fixture
def config(tmp_path: Path, brand: str) -> Config:
    return write_config(
        tmp_path / "config",
        brand,
        channels=CHANNELS,
        posts=POSTS,
        policy="ratio: 5\ngrace: 30m\nmax_per_day: 5\ndiscover_credits: false\n",
    )


def _fill(config: Config, store: Store, now: datetime) -> None:
    from goodwill.drafting import sync_own_posts

    values = [
        approved_tip(ch, f"Tip {i} for {ch} & friends")
        for ch in ("news-x", "paris")
        for i in range(3)
    ]
    for post in values:
        store.posts.add([post], now - timedelta(hours=30))
    # Monday 09:00 was missed (Goodwill not running), then 17:00 went out.
    net = FakeNetwork()
    for when in (now - timedelta(hours=16, minutes=-5), now - timedelta(hours=8, minutes=-5)):
        publish_due(config, store, when, RecordingSink(), net.factory)
    sync_own_posts(config, store, now, [])
    publish_due(config, store, now, RecordingSink(), net.factory)


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_calendar_content(config: Config, store: Store) -> None:
    now = MONDAY_9 + timedelta(days=1)  # Tuesday 09:00 UTC
    _fill(config, store, now)
    cal = build_calendar(config, store, now, weeks=2)
    x, paris = cal.channels
    assert [c.name for c in cal.channels] == ["news-x", "paris"]
    assert len(x.days) == 14 and x.days[0].isoformat() == "2026-03-03"
    # Slots: weekdays twice a day on X (10 weekdays), daily noon in Paris.
    assert sum(len(v) for v in x.entries.values()) == 20
    assert [e.at.hour for e in paris.entries[paris.days[0]]] == [11]  # 12:00 Paris = 11:00 UTC
    kinds = [e.kind for day in x.entries.values() for e in day]
    assert kinds[:2] == ["published", "post"]  # Tuesday 09:00 went out; 17:00 is planned
    assert x.missed == [MONDAY_9]
    [held] = x.held
    assert held.category == "promotion" and (held.reason or "").startswith("promotion held")
    assert [p.reason for p in x.dropped] == []  # the expired one never entered the queue
    page = render_html(cal)
    assert "Spring weddings: booking is open &lt;now&gt;!" in page  # escaped
    assert "Tip 1 for news-x &amp; friends" in page  # sent on Tuesday 09:00
    parser = _Collect()
    parser.feed(page)
    # Self-contained: no scripts, no external stylesheets, images or links.
    assert not [t for t, _ in parser.tags if t in ("script", "link", "img", "iframe")]
    assert not [a for _, a in parser.tags for k, v in a.items() if k in ("src", "href") and v]


def test_calendar_in_a_real_browser(
    config: Config,
    store: Store,
    tmp_path: Path,
    use_database: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    browser = chromium()
    if browser is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required in CI (apt-get install chromium)")
        pytest.skip("chromium not installed (apt-get install chromium)")
    now = datetime.now(UTC).replace(microsecond=0)
    _fill(config, store, now)
    out = tmp_path / "calendar.html"
    cfg = ["--config", str(config.dir), "--no-prefect", "--json"]
    assert main(["calendar", *cfg, "--weeks", "3", "--out", str(out)]) == 0
    summary = json_out(capsys.readouterr().out)
    assert summary["path"] == str(out.resolve()) and summary["weeks"] == 3
    assert summary["channels"] == 2 and summary["held"] >= 1

    shot = tmp_path / "calendar.png"
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    common += [f"--user-data-dir={tmp_path / 'chromium-profile'}"]
    dom = subprocess.run(
        [*common, "--dump-dom", out.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    parser = _Collect()
    parser.feed(dom.stdout)
    sections = [a.get("data-channel") for t, a in parser.tags if t == "section"]
    assert sections == ["news-x", "paris"]
    days = [a for t, a in parser.tags if t == "div" and "day" in (a.get("class") or "").split()]
    assert len(days) == 2 * 21
    assert "promotion held: needs" in dom.stdout  # the held promotion says why
    assert "Spring weddings: booking is open &lt;now&gt;!" in dom.stdout

    shot_run = subprocess.run(
        [*common, "--window-size=1280,2000", f"--screenshot={shot}", out.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot_run.returncode == 0, shot_run.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000  # a real, non-blank render
