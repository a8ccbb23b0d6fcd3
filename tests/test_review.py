"""Reviewing drafts: the core (edit re-checks, decisions, log), the CLI, and the Prefect form."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from goodwill.app import open_store
from goodwill.config import load_config
from goodwill.errors import GoodwillError
from goodwill.events import RecordingSink
from goodwill.review import Decision, apply_decisions, check_edit, drafts_for_review, edit_text
from tests.helpers_cli import json_out
from tests.helpers_review import LINK, make_drafts, states

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_edit_is_rechecked_for_length_link_and_credit(config_dir: Path, use_database: str) -> None:
    [pid] = make_drafts(config_dir, 1, channel="studio-x")  # previews as X: 280
    config = load_config(config_dir)
    store = open_store(config)
    post = store.posts.get(pid)
    assert check_edit(config, post, f"Shorter. {post.link} via PetaPixel") is None
    assert "link" in (check_edit(config, post, "no link via PetaPixel") or "")
    assert "credit" in (check_edit(config, post, f"no credit {post.link}") or "")
    too_long = "word " * 80 + f"{post.link} via PetaPixel"
    problem = check_edit(config, post, too_long) or ""
    assert "over the x limit of 280" in problem
    with pytest.raises(GoodwillError, match=r"not edited: .*link"):
        edit_text(config, store, pid, "gone", NOW)
    edited = edit_text(config, store, pid, f"Better. {post.link} via PetaPixel", NOW)
    assert store.posts.get(pid).text == edited.text == f"Better. {post.link} via PetaPixel"
    notes = [row["note"] for row in store.posts.log(pid)]
    assert any(n.startswith("edited; was: Worth a read 0") for n in notes)
    store.close()


def test_decisions_go_through_the_store_and_a_bad_edit_waits(
    config_dir: Path, use_database: str
) -> None:
    a, b, c, d = make_drafts(config_dir, 4)
    config = load_config(config_dir)
    store = open_store(config)
    assert [v.id for v in drafts_for_review(config, store)] == [a, b, c, d]
    sink = RecordingSink()
    result = apply_decisions(
        config,
        store,
        [
            Decision(a, "approve"),
            Decision(b, "reject"),
            Decision(c, "approve", text="lost the link and the credit"),
            Decision(d, "approve", text=f"Edited! {LINK}3\nvia PetaPixel"),
        ],
        NOW,
        sink,
    )
    assert result.approved == [a, d] and result.rejected == [b] and result.edited == [d]
    assert set(result.problems) == {c} and "link" in result.problems[c]
    assert states(config_dir, [a, b, c, d]) == {
        a: "approved",
        b: "rejected",
        c: "draft",
        d: "approved",
    }
    assert store.posts.get(d).text.startswith("Edited!")
    assert sink.names().count("goodwill.post.approved") == 2
    assert [r["to_state"] for r in store.posts.log(b)] == ["draft", "rejected"]
    store.close()


def test_cli_edit_approve_reject(config_dir: Path, use_database: str, capsys: Any) -> None:
    from goodwill.cli import main

    a, b = make_drafts(config_dir, 2)
    cfg = ["--config", str(config_dir)]
    assert main(["edit", str(a), "--text", "bad", *cfg]) == 1
    assert "not edited" in capsys.readouterr().err
    good = f"Fixed {LINK}0\nvia PetaPixel"
    assert main(["edit", str(a), "--text", good, "--json", *cfg]) == 0
    assert json_out(capsys.readouterr().out)["text"] == good
    assert main(["approve", str(a), *cfg]) == 0
    assert main(["reject", str(b), *cfg]) == 0
    assert states(config_dir, [a, b]) == {a: "approved", b: "rejected"}


# --------------------------------------------------------------------------- through Prefect


def _paused_run(flow_thread: threading.Thread, name: str = "goodwill-review") -> Any:
    """The review run once it is paused with its form saved (polls the API, not the clock)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState

    deadline = time.monotonic() + 60
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            runs = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(type={"any_": ["PAUSED"]})  # type: ignore[arg-type]
                )
            )
            for run in runs:
                keyset = run.state.state_details.run_input_keyset if run.state else None
                if keyset:
                    try:
                        client.read_flow_run_input(run.id, keyset["schema"])
                    except Exception:
                        continue  # paused, form not saved yet
                    return run
            assert flow_thread.is_alive(), "the review flow ended without pausing"
            time.sleep(0.2)
    raise AssertionError("the review flow never paused")


def _run_in_thread(target: Any, *args: Any, **kwargs: Any) -> tuple[threading.Thread, dict]:
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = target(*args, **kwargs)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


@pytest.mark.prefect
def test_review_form_resume_applies_decisions_and_repauses_on_a_bad_edit(
    prefect_harness: None, config_dir: Path, use_database: str
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.flow_runs import resume_flow_run

    from flows.review import review_flow

    a, b, c = make_drafts(config_dir, 3)
    thread, box = _run_in_thread(review_flow, str(config_dir), poll_interval=1)
    run = _paused_run(thread)
    with get_client(sync_client=True) as client:
        keyset = run.state.state_details.run_input_keyset
        schema = json.loads(client.read_flow_run_input(run.id, keyset["schema"]))
        description = json.loads(client.read_flow_run_input(run.id, keyset["description"]))
    assert {f"decision_{a}", f"text_{a}", f"decision_{c}"} <= set(schema["properties"])
    assert schema["properties"][f"decision_{a}"]["default"] == "wait"
    assert f"| {a} | studio-facebook (curated) |" in description
    assert "/63206 facebook" in description  # length against the limit, in the channel's style

    resume_flow_run(
        run.id,
        run_input={
            f"decision_{a}": "approve",
            f"text_{a}": f"Edited in the UI {LINK}0\nvia PetaPixel",
            f"decision_{b}": "reject",
            f"text_{b}": "this one has no link",
            f"decision_{c}": "approve",
            f"text_{c}": f"Worth a read 2: a story\n\n{LINK}2\n",  # credit removed
        },
    )
    rerun = _wait_for_second_pause(thread, run.id)
    with get_client(sync_client=True) as client:
        keyset = rerun.state.state_details.run_input_keyset
        schema = json.loads(client.read_flow_run_input(rerun.id, keyset["schema"]))
        description = json.loads(client.read_flow_run_input(rerun.id, keyset["description"]))
    assert set(schema["properties"]) == {f"decision_{c}", f"text_{c}"}
    assert f"post {c}: the credit 'PetaPixel' is missing" in description
    # the rejected post's text was changed in the form, but it was rejected: no edit needed
    assert states(config_dir, [a, b, c]) == {a: "approved", b: "rejected", c: "draft"}

    resume_flow_run(
        rerun.id,
        run_input={f"decision_{c}": "approve", f"text_{c}": f"Fixed {LINK}2 via PetaPixel"},
    )
    thread.join(60)
    assert "error" not in box, box.get("error")
    assert box["result"]["approved"] == [a, c]
    assert states(config_dir, [a, b, c]) == {a: "approved", b: "rejected", c: "approved"}
    store = open_store(load_config(config_dir))
    assert store.posts.get(a).text.startswith("Edited in the UI")
    store.close()


def _wait_for_second_pause(thread: threading.Thread, run_id: Any) -> Any:
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + 60
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            run = client.read_flow_run(run_id)
            keyset = run.state.state_details.run_input_keyset if run.state else None
            if run.state and run.state.is_paused() and keyset and keyset["schema"].find("-1-") >= 0:
                try:
                    client.read_flow_run_input(run.id, keyset["schema"])
                    return run
                except Exception:
                    pass
            assert thread.is_alive(), "the review flow ended instead of pausing again"
            time.sleep(0.2)
    raise AssertionError("the review never paused again")


@pytest.mark.prefect
def test_a_review_that_times_out_leaves_the_drafts_waiting(
    prefect_harness: None, config_dir: Path, use_database: str
) -> None:
    from flows.review import review_flow

    ids = make_drafts(config_dir, 2)
    state = review_flow(str(config_dir), timeout_seconds=2, poll_interval=1, return_state=True)
    assert state.is_failed()  # Prefect's message: "The flow was failed and never resumed."
    assert set(states(config_dir, ids).values()) == {"draft"}


@pytest.mark.prefect
def test_no_drafts_no_pause(prefect_harness: None, config_dir: Path, use_database: str) -> None:
    from flows.review import review_flow

    make_drafts(config_dir, 1, channel="studio-x")  # review: auto: not for the form
    result = review_flow(str(config_dir))
    assert result["timed_out"] is False and result["approved"] == []


def test_the_form_shows_the_estimated_cost_when_the_network_has_one(
    config_dir: Path, use_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from decimal import Decimal

    from flows.review import review_form
    from goodwill import review

    [pid] = make_drafts(config_dir, 1)
    monkeypatch.setitem(review.COST_ESTIMATORS, "outbox", lambda post: Decimal("0.015"))
    config = load_config(config_dir)
    store = open_store(config)
    [draft] = drafts_for_review(config, store)
    store.close()
    assert draft.cost == Decimal("0.015")
    form = review_form(config, [draft])
    assert f"| {pid} | studio-facebook (curated) | 81/63206 facebook |" in form._description
    assert form._description.rstrip().count("$0.015") == 1
    assert "est. $0.015" in form.model_json_schema()["properties"][f"decision_{pid}"]["description"]


def test_a_credit_in_french_typography_is_not_missing(
    tmp_path: Path, brand: str, database_url: str
) -> None:
    from goodwill.drafting import draft
    from goodwill.store import Store
    from tests.helpers_voice import add_items, write_config

    config = write_config(
        tmp_path / "config",
        brand,
        sources="sources:\n  - {name: 'Yahoo! News', url: 'https://news.example/feed'}\n",
        channels=(
            "channels:\n  - {name: fr-m, network: outbox, preview_as: mastodon, language: fr,"
            " review: required, slots: {daily: ['09:00']}}\n"
        ),
        voice_fr="language: fr\nopeners: {curated: ['À lire :']}\n",
        policy="ratio: 2\nmax_queued: 20\nmax_item_age: 30d\ndiscover_credits: false\n",
    )
    store = Store.open(config.brand.name, url=database_url)
    try:
        add_items(store, "Yahoo! News", [("https://news.example/a", "Une histoire")], NOW)
        draft(config, store, NOW, RecordingSink())
        [post] = store.posts.find(channel="fr-m")
        assert post.credit == "Yahoo! News" and "Yahoo\u202f! News" in post.text
        assert check_edit(config, post, post.text) is None  # the draft as it was written
        assert check_edit(config, post, f"Lu. {post.link} via Yahoo! News") is None
        assert check_edit(config, post, f"Lu. {post.link} via Yahoo ! News") is None
        assert "credit" in (check_edit(config, post, f"Lu. {post.link} via Yahoo") or "")
    finally:
        store.close()
