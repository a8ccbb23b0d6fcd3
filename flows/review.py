"""The review flow: drafts of ``review: required`` channels wait for the owner in a Prefect form.

Triggered by ``goodwill.drafts.created``. The run pauses with one decision and one text field per
draft; the owner approves, rejects or edits each from the UI (Resume). An edit is re-checked
(length, link, credit): a bad one re-pauses the run with the reason on top of the form. A review
nobody answers times out and leaves the drafts waiting as drafts, never approved.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

import pydantic
from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput

from flows.events import PrefectSink
from flows.pipeline import _config
from goodwill import app
from goodwill.config import Config
from goodwill.review import Decision, DraftView, apply_decisions, drafts_for_review, view
from goodwill.text import slug

__all__ = ["ReviewTimedOut", "review_flow", "review_form"]


class ReviewTimedOut(RuntimeError):
    """The owner did not answer in time; the drafts are left waiting."""


#: How long a review waits for the owner before leaving the drafts as they are.
DEFAULT_TIMEOUT = timedelta(hours=24)

Action = Literal["wait", "approve", "reject"]


def _md(text: str) -> str:
    """Text inside a markdown table cell or quote: no pipes or newlines breaking the layout."""
    return text.replace("|", "\\|").replace("\n", " ⏎ ")


def describe(
    config: Config, drafts: list[DraftView], problems: dict[int, str] | None = None
) -> str:
    """The markdown shown above the form: every draft with its length, credit, link and cost."""
    lines = [f"## {len(drafts)} draft(s) for {config.brand.name} to review", ""]
    if problems:
        lines += ["**Some edits were not saved — fix them and resume again:**", ""]
        lines += [f"- post {pid}: {reason}" for pid, reason in problems.items()]
        lines.append("")
    lines += [
        "For each draft choose **approve**, **reject** or **wait** (stays a draft). Change the "
        "text to edit it: the link and the credit must stay, and it must fit the limit.",
        "",
        "| post | channel | length | credit | link | cost |",
        "|---|---|---|---|---|---|",
    ]
    for d in drafts:
        over = " **over**" if d.length > d.limit else ""
        cost = "—" if d.cost is None else f"${d.cost}"
        lines.append(
            f"| {d.id} | {d.post.channel} ({d.post.category}) | {d.length}/{d.limit} "
            f"{d.style}{over} | {_md(d.post.credit or '—')} | {_md(d.post.link or '—')} | {cost} |"
        )
    lines.append("")
    for d in drafts:
        lines += [f"**{d.id}** · {d.post.channel}", "", "> " + _md(d.post.text), ""]
    return "\n".join(lines)


def review_form(
    config: Config,
    drafts: list[DraftView],
    problems: dict[int, str] | None = None,
    texts: dict[int, str] | None = None,
    actions: dict[int, str] | None = None,
) -> type[RunInput]:
    """A RunInput with ``decision_<id>`` and ``text_<id>`` for each draft, in queue order."""
    fields: dict[str, Any] = {}
    for d in drafts:
        where = f"{d.id} · {d.post.channel}"
        detail = f"{d.length}/{d.limit} ({d.style})"
        if d.post.credit:
            detail += f", credit {d.post.credit}"
        if d.cost is not None:
            detail += f", est. ${d.cost}"
        fields[f"decision_{d.id}"] = (
            Action,
            pydantic.Field(
                default=(actions or {}).get(d.id, "wait"),
                title=f"Post {where}: decision",
                description=detail,
            ),
        )
        fields[f"text_{d.id}"] = (
            str,
            pydantic.Field(
                default=(texts or {}).get(d.id, d.post.text),
                title=f"Post {where}: text",
                description=(problems or {}).get(d.id, "edit to change the post"),
            ),
        )
    model: type[RunInput] = pydantic.create_model("GoodwillReview", __base__=RunInput, **fields)
    model._description = describe(config, drafts, problems)
    return model


def decisions_from(answer: RunInput, drafts: list[DraftView]) -> list[Decision]:
    values = answer.model_dump()
    return [
        Decision(
            post_id=d.id,
            action=values.get(f"decision_{d.id}", "wait"),
            text=values.get(f"text_{d.id}"),
        )
        for d in drafts
    ]


@flow(name="goodwill-review")
def review_flow(
    config_dir: str = "config",
    channel: str | None = None,
    timeout_seconds: int = int(DEFAULT_TIMEOUT.total_seconds()),
    poll_interval: int = 5,
) -> dict[str, Any]:
    """Pause for the owner to approve, reject or edit the drafts of review-required channels."""
    logger = get_run_logger()
    config = _config(config_dir)
    sink = PrefectSink()
    store = app.open_store(config)
    summary: dict[str, Any] = {"approved": [], "rejected": [], "edited": [], "waiting": []}
    try:
        drafts = drafts_for_review(config, store, channel or None)
        if not drafts:
            logger.info("No drafts waiting for review.")
            return summary | {"timed_out": False}
        problems: dict[int, str] = {}
        texts: dict[int, str] = {}
        actions: dict[int, str] = {}
        for round_ in range(20):  # each round is one person resuming: far more than enough
            form = review_form(config, drafts, problems, texts, actions)
            try:
                answer = pause_flow_run(
                    wait_for_input=form,
                    timeout=timeout_seconds,
                    poll_interval=poll_interval,
                    key=f"review-{round_}",
                )
            except FlowPauseTimeout:
                # Prefect never lets a paused run that was not resumed complete: the run fails,
                # with this message; the drafts stay drafts, nothing is approved.
                # Prefect names the state itself ("never resumed"): the reason is in the log.
                ids = [d.id for d in drafts]
                message = (
                    f"nobody answered the review in {timeout_seconds}s: {len(ids)} draft(s) "
                    f"left waiting ({', '.join(map(str, ids))}); run the review again or use "
                    "`goodwill approve/reject/edit`"
                )
                logger.error(message)
                raise ReviewTimedOut(message) from None
            decided = decisions_from(answer, drafts)
            result = apply_decisions(config, store, decided, app.now_utc(), sink)
            for key in ("approved", "rejected", "edited"):
                summary[key] += getattr(result, key)
            logger.info(
                "Approved %s, rejected %s, edited %s",
                result.approved,
                result.rejected,
                result.edited,
            )
            if not result.problems:
                summary["waiting"] = result.waiting
                break
            for pid, reason in result.problems.items():
                logger.warning("Post %d: edit not saved: %s", pid, reason)
            problems = result.problems
            texts = {d.post_id: d.text for d in decided if d.post_id in problems and d.text}
            actions = {d.post_id: d.action for d in decided if d.post_id in problems}
            drafts = [view(config, store.posts.get(pid)) for pid in problems]
            drafts = [d for d in drafts if str(d.post.state) == "draft"]
            if not drafts:
                break
        _decisions_artifact(config, summary)
        return summary | {"timed_out": False}
    finally:
        store.close()


def _decisions_artifact(config: Config, summary: dict[str, Any]) -> None:
    lines = [f"# Review decisions for {config.brand.name}", ""]
    for key in ("approved", "rejected", "edited", "waiting"):
        ids = ", ".join(str(i) for i in summary[key]) or "—"
        lines.append(f"- **{key}**: {ids}")
    create_markdown_artifact(
        key=f"{slug(config.brand.name)}-review",
        markdown="\n".join(lines),
        description="The last review's decisions",
    )
