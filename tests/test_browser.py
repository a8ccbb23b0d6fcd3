"""The review path in a real browser: headless Chromium on the Prefect UI of a real server.

``goodwill serve --with-server`` runs the deployments; a ``goodwill.drafts.created`` event
triggers the review, which pauses; Chromium opens the UI, finds the deployments, opens the
paused run, fills the form and resumes; the store shows the decisions. Screenshots go to
``test-artifacts/browser/``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from goodwill.config import load_config
from tests.console import ROOT, emit, env_for, serving, wait_for_deployments
from tests.helpers_review import LINK, make_drafts, states

pytestmark = [pytest.mark.browser, pytest.mark.prefect, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = ROOT / "test-artifacts" / "browser"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (required in CI: .ci/run installs it)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        _unavailable(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed: pip install -e '.[dev]'")
    with sync_playwright() as p:
        # Debian's Chromium: playwright never downloads a browser of its own.
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _paused_review(api: str, not_key: str | None = None, timeout: float = 90) -> dict[str, Any]:
    """The review run once it is paused with its form saved (polls the API)."""
    import httpx

    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=api, timeout=30) as client:
        while time.monotonic() < deadline:
            runs = client.post(
                "/flow_runs/filter", json={"flow_runs": {"state": {"type": {"any_": ["PAUSED"]}}}}
            ).json()
            for run in runs:
                keyset = run["state"]["state_details"].get("run_input_keyset")
                if (
                    keyset
                    and client.get(f"/flow_runs/{run['id']}/input/{keyset['schema']}").is_success
                ):
                    return dict(run)
            time.sleep(0.5)
    raise AssertionError("the review never paused")


def _wait_for_states(
    config_dir: Path, ids: list[int], wanted: dict[int, str], timeout: float = 90
) -> dict[int, str]:
    deadline = time.monotonic() + timeout
    while True:
        now = states(config_dir, ids)
        if now == wanted or time.monotonic() > deadline:
            return now
        time.sleep(0.5)


def test_review_in_the_prefect_ui_with_chromium(browser: Any, config_dir: Path) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    brand = load_config(config_dir).brand.name
    ids = make_drafts(config_dir, 4)
    env = env_for("")
    env.pop("PREFECT_API_URL")
    with serving(config_dir, env) as (ui, proc):
        try:
            _review_in_the_browser(browser, ui, config_dir, brand, ids)
        except BaseException:
            print("--- goodwill serve output ---\n" + _drain(proc))
            raise
    assert _post_text(config_dir, ids[0]).startswith("Edited in the browser")


def _drain(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    proc.wait(timeout=60)
    return getattr(proc, "output", "") or "".join(getattr(proc, "lines", []))


def _review_in_the_browser(
    browser: Any, ui: str, config_dir: Path, brand: str, ids: list[int]
) -> None:
    a, b, c, d = ids
    api = f"{ui}/api"
    wanted = {"ingest", "draft", "publish", "review", "report", "cycle"}
    assert wanted <= set(wait_for_deployments(api, wanted))
    page = browser.new_page(viewport={"width": 1400, "height": 1000})

    page.goto(f"{ui}/deployments")
    for name in ("review", "publish", "report"):
        page.get_by_text(name, exact=True).first.wait_for(timeout=30_000)
    page.screenshot(path=str(SHOTS / "01-deployments.png"), full_page=True)

    emit(api, "goodwill.drafts.created", brand, "studio-facebook", {"post_ids": [a, b, c, d]})
    run = _paused_review(api)
    page.goto(f"{ui}/runs/flow-run/{run['id']}")
    page.get_by_text("Paused").first.wait_for(timeout=30_000)
    page.get_by_role("button", name="Resume").click()
    modal = page.locator(".p-modal")
    modal.get_by_text(f"Post {a} · studio-facebook: decision").wait_for(timeout=30_000)
    assert "4 draft(s) for" in modal.inner_text()
    assert "/63206 facebook" in modal.inner_text()  # length against the limit
    page.screenshot(path=str(SHOTS / "02-review-form.png"))

    def choose(i: int, value: str) -> None:
        select = modal.locator(".p-select-button__control").nth(i)
        select.focus()
        page.keyboard.press(" ")  # opens the option list
        page.get_by_role("option", name=value, exact=True).click()

    choose(0, "approve")
    choose(1, "reject")
    choose(2, "approve")  # with an edit that drops the credit: refused, the run pauses again
    edited = f"Edited in the browser: a story\n\n{LINK}0\nvia PetaPixel"
    modal.locator("textarea").nth(0).fill(edited)
    modal.locator("textarea").nth(2).fill(f"Lost the credit {LINK}2")
    page.screenshot(path=str(SHOTS / "03-review-filled.png"))
    _submit(page, modal)

    again = _paused_review(api, not_key=run["state"]["state_details"]["run_input_keyset"]["schema"])
    assert again["id"] == run["id"]
    # d was left on "wait": it stays a draft; a approved with the edit, b rejected.
    assert states(config_dir, [a, b, c, d]) == {
        a: "approved",
        b: "rejected",
        c: "draft",
        d: "draft",
    }
    page.reload()
    page.get_by_role("button", name="Resume").click()
    modal.get_by_text(f"post {c}: the credit 'PetaPixel' is missing").wait_for(timeout=30_000)
    assert f"Post {a} · studio-facebook" not in modal.inner_text()  # only the refused edit
    page.screenshot(path=str(SHOTS / "04-review-repaused.png"))
    from playwright.sync_api import expect

    fixed = f"Credit restored {LINK}2 via PetaPixel"
    modal.locator("textarea").nth(0).fill(fixed)
    expect(modal.locator("textarea").nth(0)).to_have_value(fixed)
    _submit(page, modal)  # the decision stayed "approve"

    wanted_states = {a: "approved", b: "rejected", c: "approved", d: "draft"}
    assert _wait_for_states(config_dir, [a, b, c, d], wanted_states) == wanted_states
    page.goto(f"{ui}/runs/flow-run/{run['id']}")
    page.get_by_text("Completed").first.wait_for(timeout=60_000)
    page.get_by_text(f"Approved [{c}], rejected [], edited [{c}]").wait_for(timeout=60_000)
    page.screenshot(path=str(SHOTS / "05-review-completed.png"), full_page=True)

    # The weekly report's chart is an SVG data URI: the UI must actually render it.
    _published_last_week(config_dir)
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from flows.report import report_flow; report_flow(sys.argv[1])",
            str(config_dir),
        ],
        env=env_for(api),
        cwd=ROOT,
        check=True,
        timeout=120,
    )
    key = next(
        k for k in _artifact_keys(api) if k.endswith("-weekly-report") and "test-studio" in k
    )
    page.goto(f"{ui}/artifacts/key/{key}")
    page.locator("a[href*='/artifacts/artifact/']").first.click()
    chart = page.locator("img[src^='data:image/svg+xml']")
    chart.wait_for(timeout=30_000)
    width = chart.evaluate("img => img.complete ? img.naturalWidth : 0")
    assert width == 720, "the UI did not render the report's chart"
    page.screenshot(path=str(SHOTS / "06-weekly-report.png"), full_page=True)
    page.close()
    assert _post_text(config_dir, a) == edited


def _submit(page: Any, modal: Any) -> None:
    """Submit the resume form and wait until the UI has accepted it (the modal closes).

    The re-rendered form of a re-paused run sometimes swallows the first click (seen about once
    in five CI runs: the modal stays open and no resume reaches the API). A person clicks
    again; so does the test, once, with a screenshot of the state it found.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    modal.get_by_role("button", name="Submit").click()
    try:
        modal.wait_for(state="hidden", timeout=15_000)
    except PlaywrightTimeout:
        page.screenshot(path=str(SHOTS / "submit-not-taken.png"))
        modal.get_by_role("button", name="Submit").click()
        modal.wait_for(state="hidden", timeout=30_000)


def _artifact_keys(api: str) -> list[str]:
    import httpx

    found = httpx.post(f"{api}/artifacts/filter", json={}, timeout=30).json()
    return [x["key"] for x in found if x.get("key")]


def _post_text(config_dir: Path, post_id: int) -> str:
    from goodwill.app import open_store

    store = open_store(load_config(config_dir))
    try:
        return store.posts.get(post_id).text
    finally:
        store.close()


def _published_last_week(config_dir: Path) -> None:
    """A week of posts that went out (value most days, one promotion), for the chart."""
    from datetime import UTC, datetime, timedelta

    from goodwill.app import open_store
    from goodwill.models import Kind, Post, PostState

    now = datetime.now(UTC)
    posts = [
        Post(
            channel="studio-x",
            network="outbox",
            category="promotion" if day == 2 and n == 0 else "curated",
            kind=Kind.PROMOTION if day == 2 and n == 0 else Kind.VALUE,
            text=f"Sent {day}-{n}",
            state=PostState.PUBLISHED,
            published_at=now - timedelta(days=day, hours=n),
            own_key=f"sent-{day}-{n}",
            origin="own",
        )
        for day in range(1, 7)
        for n in range(1 + day % 3)
    ]
    store = open_store(load_config(config_dir))
    try:
        store.posts.add(posts, now)
    finally:
        store.close()
