"""The flows through real Prefect (the session's test harness, from conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

pytestmark = pytest.mark.prefect


@pytest.fixture
def served_config(config_dir: Path) -> Iterator[Path]:
    from goodwill.demo import _point_sources_at
    from goodwill.feeds.sampleserver import serve_samples

    with serve_samples(datetime.now(UTC)) as base:
        _point_sources_at(config_dir, base)
        yield config_dir


def test_cycle_flow_runs_the_whole_loop_and_leaves_artifacts(
    prefect_harness: None, served_config: Path, use_database: str
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.pipeline import cycle_flow
    from goodwill.config import load_config

    state = cycle_flow(str(served_config), return_state=True)
    assert state.is_completed()
    result = state.result()
    assert result.ingest.new_items > 30 and result.draft.drafted > 0
    assert result.as_json()["ratio"] == 4

    import anyio

    async def artifact_keys() -> set[str]:
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(like_="test-studio-"))
            )
            return {a.key for a in found if a.key}

    keys = anyio.run(artifact_keys)
    brand = load_config(served_config).brand.name  # "Test Studio 1a2b3c4d"
    slug = brand.lower().replace(" ", "-")
    assert {f"{slug}-new-items", f"{slug}-queue", f"{slug}-source-health"} <= keys


def test_invalid_config_fails_the_run_fast_with_the_file_and_line(
    prefect_harness: None, config_dir: Path, use_database: str
) -> None:
    from flows.pipeline import publish_flow
    from goodwill.errors import ConfigError

    (config_dir / "channels.yaml").write_text("channels:\n  - name: x\n    network: myspace\n")
    state = publish_flow(str(config_dir), return_state=True)
    assert state.is_failed()
    with pytest.raises(ConfigError, match=r"channels\.yaml:3: channels\[0\]\.network"):
        state.result()


def test_deployments_have_schedules_triggers_and_limits(config_dir: Path) -> None:
    from flows.serve import deployments

    deps = {d.name: d for d in deployments(config_dir)}
    assert set(deps) == {"ingest", "draft", "publish", "cycle", "review", "report"}
    for dep in deps.values():
        # Reviews of different channels may wait for the owner side by side.
        assert dep.concurrency_limit == (None if dep.name == "review" else 1)
        assert dep.parameters == {"config_dir": str(config_dir.resolve())}
    [review_trigger] = deps["review"].triggers
    assert review_trigger.expect == {"goodwill.drafts.created"}
    assert review_trigger.match["goodwill.channel"] == ["studio-facebook"]  # review: required
    assert review_trigger.parameters["channel"] == "{{ event.resource['goodwill.channel'] }}"
    [report_schedule] = deps["report"].schedules
    assert report_schedule.schedule.timezone == "Europe/London"
    [ingest_schedule] = deps["ingest"].schedules
    assert ingest_schedule.schedule.timezone == "Europe/London"
    [trigger] = deps["draft"].triggers
    assert trigger.expect == {"goodwill.items.ingested"}
    assert deps["publish"].schedules and not deps["draft"].schedules


def test_core_never_imports_prefect() -> None:
    """goodwill/ is plain Python: flows call it, never the other way round."""
    root = Path(__file__).resolve().parents[1] / "goodwill"
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if "import prefect" in p.read_text() or "from prefect" in p.read_text()
    ]
    assert offenders == []


def test_reconcile_flow_leaves_every_unknown_post_with_what_was_checked(
    prefect_harness: None, config_dir: Path, use_database: str
) -> None:
    import anyio
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.pipeline import reconcile_flow
    from goodwill.config import load_config
    from goodwill.models import Kind, Post, PostState
    from goodwill.store import Store

    config = load_config(config_dir)
    store = Store.open(config.brand.name, url=use_database)
    [post_id] = store.posts.add(
        [
            Post(
                channel="studio-x",
                network="outbox",
                category="tip",
                kind=Kind.VALUE,
                text="a post whose answer was lost",
                state=PostState.UNKNOWN,
                origin="own",
            )
        ],
        datetime.now(UTC),
    )
    store.close()
    # The outbox cannot be read (a folder where the file should be): nothing can be checked.
    (config_dir / "outbox.jsonl").mkdir()
    result = reconcile_flow(str(config_dir))
    assert result.unknown == 1

    async def unknown_table() -> list[dict[str, object]]:
        slug = config.brand.name.lower().replace(" ", "-")
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[f"{slug}-unknown"]))
            )
        import json

        data = found[0].data
        return json.loads(data) if isinstance(data, str) else data  # type: ignore[return-value]

    [row] = anyio.run(unknown_table)
    assert row["id"] == post_id
    assert "could not look on outbox: cannot read outbox" in str(row["checked"])
