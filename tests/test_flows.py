"""The flows through real Prefect (one session-scoped test harness)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

pytestmark = pytest.mark.prefect


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


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
    assert set(deps) == {"ingest", "draft", "publish", "cycle"}
    for dep in deps.values():
        assert dep.concurrency_limit == 1
        assert dep.parameters == {"config_dir": str(config_dir.resolve())}
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
