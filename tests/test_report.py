"""The owner's reports: the week's queue, the ratio with held promotions, problems, sources,
and the weekly chart (a hand-written SVG)."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from goodwill import report
from goodwill.app import open_store
from goodwill.config import load_config
from goodwill.models import Kind, Post, PostState
from goodwill.store.sources import SourceState

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # a Thursday
DAY = timedelta(days=1)


def _post(n: int, **kw: object) -> Post:
    values: dict = dict(
        channel="studio-x",
        network="outbox",
        category="curated",
        kind=Kind.VALUE,
        text=f"post {n}",
        state=PostState.PUBLISHED,
        own_key=f"k{n}",
        origin="own",
    )
    values.update(kw)
    return Post(**values)


def test_reports_from_the_store(config_dir: Path, use_database: str) -> None:
    config = load_config(config_dir)
    store = open_store(config)
    store.posts.add(
        [
            _post(1, published_at=NOW - timedelta(days=1)),
            _post(2, published_at=NOW - timedelta(days=1, hours=2)),
            _post(
                3, published_at=NOW - timedelta(days=3), kind=Kind.PROMOTION, category="promotion"
            ),
            _post(4, published_at=NOW - timedelta(days=40)),  # outside both windows
            _post(
                5,
                state=PostState.HELD,
                kind=Kind.PROMOTION,
                category="promotion",
                reason="needs 2 more value posts first (ratio 1:4)",
            ),
            _post(6, state=PostState.APPROVED, scheduled_for=NOW + timedelta(days=2)),
            _post(7, state=PostState.APPROVED, scheduled_for=NOW + timedelta(days=20)),
            _post(8, state=PostState.FAILED, reason="rejected by x: duplicate"),
            _post(9, state=PostState.UNKNOWN, reason="timed out after sending"),
        ],
        NOW,
    )
    store.sources.save(
        [
            SourceState(
                name="PetaPixel",
                url="https://petapixel.com/feed/",
                failures=3,
                last_status="error",
                last_error="HTTP 503",
            )
        ]
    )

    queue = report.week_queue_rows(config, store, NOW)
    # planned first, then what waits without a slot; 7 is beyond the week
    assert [r["text"] for r in queue["studio-x"]] == ["post 6", "post 5"]
    assert queue["studio-x"][1]["why waiting"].startswith("needs 2 more value posts")
    assert queue["studio-mastodon"] == []

    [x] = [r for r in report.ratio_rows(config, store, NOW) if r["channel"] == "studio-x"]
    assert (x["value"], x["promotion"], x["held"]) == (3, 1, 1)  # 2 sent + unknown; 1 promotion
    assert "needs 2 more value posts first" in x["why held"]

    problems = report.problems_rows(config, store)
    assert {(p["state"], p["reason"]) for p in problems} == {
        ("failed", "rejected by x: duplicate"),
        ("unknown", "timed out after sending"),
    }

    sources = {s["source"]: s for s in report.source_rows(config, store)}
    assert sources["PetaPixel"]["health"] == "failing" and sources["PetaPixel"]["failures"] == 3
    assert all(s["health"] == "never fetched" for n, s in sources.items() if n != "PetaPixel")

    bars = report.week_bars(config, store, NOW)
    assert len(bars) == 14 and bars[6].day.strftime("%a") == "Thu"
    assert [(b.value, b.promotion) for b in bars[:7]] == [
        (0, 0),
        (0, 0),
        (0, 0),
        (0, 1),
        (0, 0),
        (2, 0),
        (0, 0),
    ]
    assert sum(b.planned for b in bars[7:]) == 1

    markdown = report.weekly_markdown(config, store, NOW)
    assert "![posts per day](data:image/svg+xml;base64," in markdown
    assert "**3** posts went out in the last 7 days (1 promotion)" in markdown
    store.close()


def test_the_weekly_report_shows_the_newest_problems_and_reads_published_posts_once(
    config_dir: Path, use_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(config_dir)
    store = open_store(config)
    store.posts.add(
        [
            _post(n, state=PostState.FAILED, reason=f"failure {n}", scheduled_for=NOW - n * DAY)
            for n in range(1, 26)
        ]
        + [_post(99, published_at=NOW - timedelta(days=1))],
        NOW,
    )
    problems = report.problems_rows(config, store, limit=3)
    assert [p["reason"] for p in problems] == ["failure 1", "failure 2", "failure 3"]

    finds: list[tuple[str, ...]] = []
    find = store.posts.find

    def counting_find(**kw: object) -> list[Post]:
        finds.append(tuple(kw.get("states") or ()))  # type: ignore[arg-type]
        return find(**kw)  # type: ignore[arg-type]

    monkeypatch.setattr(store.posts, "find", counting_find)
    markdown = report.weekly_markdown(config, store, NOW)
    assert finds.count(("published", "unknown")) == 1
    assert "**25 post(s) need a look** (failed or unknown); the newest 20:" in markdown
    assert "failure 1\n" in markdown and "failure 20" in markdown
    assert "failure 21" not in markdown
    assert "**1** posts went out in the last 7 days" in markdown
    store.close()


def test_weekly_svg_is_well_formed_and_scales_to_the_busiest_day() -> None:
    day = datetime(2026, 11, 20, tzinfo=UTC)
    bars = [
        report.DayBar(day + timedelta(days=i), value=i % 3, promotion=int(i == 4), planned=0)
        for i in range(14)
    ]
    svg = report.weekly_svg(bars, "Tom & Jerry <Studio>")
    root = ET.fromstring(svg)  # escaped title, valid XML
    rects = [
        r
        for r in root.iter("{http://www.w3.org/2000/svg}rect")
        if r.find("{http://www.w3.org/2000/svg}title") is not None
    ]
    assert len(rects) == sum(1 for b in bars if b.value) + 1
    tallest = max(float(r.get("height", 0)) for r in rects)
    assert abs(tallest - (260 - 40 - 50) * 2 / 2) < 0.2  # the peak (2) fills the plot
    uri = report.svg_data_uri(svg)
    assert base64.b64decode(uri.split(",", 1)[1]).decode() == svg


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_harness")
def test_report_flow_leaves_keyed_artifacts(config_dir: Path, use_database: str) -> None:
    import anyio
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.report import report_flow

    keys = report_flow(str(config_dir))
    brand = load_config(config_dir).brand.name.lower().replace(" ", "-")
    assert set(keys.values()) == {
        f"{brand}-week-studio-x",
        f"{brand}-week-studio-mastodon",
        f"{brand}-week-studio-bluesky",
        f"{brand}-week-studio-facebook",
        f"{brand}-ratio",
        f"{brand}-problems",
        f"{brand}-sources",
        f"{brand}-weekly-report",
    }

    async def stored() -> dict[str, str]:
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(like_=brand))
            )
            return {a.key: a.type for a in found if a.key}

    types = anyio.run(stored)
    assert types[f"{brand}-weekly-report"] == "markdown"
    assert types[f"{brand}-ratio"] == "table"
