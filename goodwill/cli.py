"""The ``goodwill`` command (see CLI.md for the contract).

Exit status: 0 ok, 1 the work failed, 2 bad usage or invalid config. With ``--json`` the last
line of stdout is one JSON value. User errors are one readable line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from goodwill.errors import ConfigError, GoodwillError, NotFound

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(GoodwillError):
    """Bad arguments (exit 2)."""


# --------------------------------------------------------------------------- output helpers


class Output:
    """Human output on a terminal (rich), or one JSON value as the last line of stdout."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        from rich.console import Console

        self.console = Console(highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, highlight=False)

    def line(self, text: str = "", style: str | None = None) -> None:
        if not self.as_json:
            self.console.print(text, style=style, markup=False)

    def json(self, value: Any) -> None:
        if self.as_json:
            sys.stdout.write(json.dumps(value, default=_json_default, ensure_ascii=False) + "\n")

    def table(
        self, columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None
    ) -> None:
        if self.as_json:
            return
        from rich.table import Table

        table = Table(title=title, show_lines=False, header_style="bold")
        for col in columns:
            table.add_column(col, overflow="fold")
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        self.console.print(table)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return str(value)


def _local(dt: datetime | None, tz: Any) -> str:
    return dt.astimezone(tz).strftime("%a %d %b %H:%M") if dt else ""


# --------------------------------------------------------------------------- plumbing


def _config_dir(args: argparse.Namespace) -> Path:
    return Path(args.config or os.environ.get("GOODWILL_CONFIG") or "config")


def _load(args: argparse.Namespace) -> Any:
    from goodwill.config import load_config

    return load_config(_config_dir(args))


def _use_prefect(args: argparse.Namespace) -> bool:
    return not getattr(args, "no_prefect", False)


def _prepare_prefect() -> None:
    """Quiet, private Prefect for command-line runs: no telemetry, warnings only on the console."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")


def _progress(
    out: Output, total: int, label: str
) -> tuple[Callable[[str], None] | None, Callable[[], None]]:
    """A progress bar on stderr for long work (only on a terminal, never with --json)."""
    if out.as_json or not out.err.is_terminal or total < 2:
        return None, lambda: None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    progress = Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), console=out.err, transient=True
    )
    task = progress.add_task(label, total=total)
    progress.start()
    return (lambda _name: progress.advance(task)), progress.stop


# --------------------------------------------------------------------------- commands


def cmd_init(args: argparse.Namespace, out: Output) -> int:
    from goodwill.samples import sample_config_dir

    target = Path(args.dir or args.config or "config")
    target.mkdir(parents=True, exist_ok=True)
    written, kept = [], []
    for src in sorted(sample_config_dir().glob("*.yaml")):
        dest = target / src.name
        if dest.exists() and not args.force:
            kept.append(dest.name)
            continue
        dest.write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
        written.append(dest.name)
    out.line(f"Wrote {', '.join(written) or 'nothing'} in {target}")
    if kept:
        out.line(f"Kept your {', '.join(kept)} (use --force to overwrite)")
    out.line("Next: edit the files, then `goodwill check` and `goodwill run`.")
    out.json({"dir": str(target), "written": written, "kept": kept})
    return EXIT_OK


def cmd_check(args: argparse.Namespace, out: Output) -> int:
    try:
        config = _load(args)
    except ConfigError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        out.line(f"{len(exc.errors)} problem(s) found; nothing was changed.")
        out.json({"ok": False, "errors": exc.errors})
        return EXIT_USAGE
    out.line(
        f"OK: {config.brand.name} ({config.brand.timezone}), {len(config.sources)} sources, "
        f"{len(config.channels)} channels, ratio 1:{config.policy.ratio}"
    )
    out.json({"ok": True, "errors": []})
    return EXIT_OK


def _steps(args: argparse.Namespace) -> Any:
    """The module whose functions run the steps: Prefect flows, or the core in-process."""
    if _use_prefect(args):
        _prepare_prefect()
        import flows.steps

        return flows.steps
    from goodwill import local

    return local


def cmd_ingest(args: argparse.Namespace, out: Output) -> int:
    config = _load(args)
    advance, stop = _progress(out, len(config.sources), "Fetching feeds")
    try:
        result = _steps(args).ingest(_config_dir(args), on_fetched=advance)
    finally:
        stop()
    _print_ingest(out, result)
    out.json(result.as_json())
    return EXIT_OK


def _print_ingest(out: Output, result: Any) -> None:
    out.line(
        f"Ingested {result.sources} sources: {result.fetched} fetched, "
        f"{result.not_modified} unchanged, {result.failed} failed, {result.new_items} new items"
        + (f" ({result.duplicates} same-story duplicates)" if result.duplicates else "")
        + (
            f"; {result.skipped} not due yet (backing off: see `goodwill sources`)"
            if getattr(result, "skipped", 0)
            else ""
        )
    )
    for name, reason in result.failures.items():
        out.line(f"  ! {name}: {reason}", style="yellow")


def cmd_sources(args: argparse.Namespace, out: Output) -> int:
    from goodwill.app import now_utc, open_store
    from goodwill.ingest import source_health

    config = _load(args)
    store = open_store(config)
    try:
        rows = source_health(config, store, now_utc())
    finally:
        store.close()
    if args.health:
        rows = [r for r in rows if r["health"] in args.health]
    tz = config.brand.tz

    def when(value: datetime | None) -> str:
        return value.astimezone(tz).strftime("%a %d %b %H:%M") if value else "-"

    out.table(
        ["source", "health", "last success", "failures", "reason", "next fetch"],
        [
            [
                r["name"],
                r["health"],
                when(r["last_success_at"]),
                str(r["failures"]),
                (r["reason"] or "")
                + (f" (moved permanently to {r['moved_to']})" if r["moved_to"] else ""),
                "now" if r["due"] else when(r["next_fetch_at"]),
            ]
            for r in rows
        ],
    )
    out.json(rows)
    return EXIT_OK


def cmd_items(args: argparse.Namespace, out: Output) -> int:
    from goodwill.app import open_store

    config = _load(args)
    store = open_store(config)
    items = store.items.latest(args.limit)
    rows: list[dict[str, Any]] = [
        {
            "id": i.id,
            "source": i.source,
            "title": i.title,
            "url": i.url,
            "author": i.author,
            "published_at": i.published_at,
        }
        for i in items
    ]
    out.table(
        ["id", "source", "published", "title"],
        [
            [r["id"], r["source"], _local(r["published_at"], config.brand.tz), r["title"]]
            for r in rows
        ],
    )
    out.json(rows)
    return EXIT_OK


def cmd_draft(args: argparse.Namespace, out: Output) -> int:
    result = _steps(args).draft(_config_dir(args))
    _print_draft(out, result)
    out.json({"drafted": result.drafted})
    return EXIT_OK


def _print_draft(out: Output, result: Any) -> None:
    per = ", ".join(f"{k} {v}" for k, v in result.per_channel.items() if v)
    out.line(
        f"Drafted {result.drafted} posts"
        + (f" ({per})" if per else "")
        + (f"; {result.own} own posts queued" if result.own else "")
    )
    for line in result.skipped[:10]:
        out.line(f"  ! {line}", style="yellow")


def cmd_publish(args: argparse.Namespace, out: Output) -> int:
    result = _steps(args).publish(_config_dir(args), channel=args.channel)
    _print_publish(out, result)
    out.json(result.as_json() | {"unknown": result.unknown})
    return EXIT_FAILED if result.failed or result.unknown else EXIT_OK


def _print_publish(out: Output, result: Any) -> None:
    out.line(
        f"Published {result.published}, held {result.held}, failed {result.failed}, "
        f"unknown {result.unknown}"
    )
    for line in result.lines:
        out.line(f"  {line}")


def cmd_run(args: argparse.Namespace, out: Output) -> int:
    config = _load(args)
    advance, stop = _progress(out, len(config.sources), "Fetching feeds")
    try:
        result = _steps(args).cycle(_config_dir(args), on_fetched=advance)
    finally:
        stop()
    _print_ingest(out, result.ingest)
    _print_draft(out, result.draft)
    _print_publish(out, result.publish)
    out.json(result.as_json())
    return EXIT_OK


def cmd_queue(args: argparse.Namespace, out: Output) -> int:
    from goodwill.app import open_store

    config = _load(args)
    if args.channel:
        config.channel(args.channel)
    store = open_store(config)
    states = args.state or ["draft", "approved", "held", "publishing", "unknown"]
    posts = store.posts.find(states=states, channel=args.channel, limit=args.limit)
    rows = [_post_json(p) for p in posts]
    out.table(
        ["id", "channel", "category", "state", "when", "text", "reason"],
        [
            [
                p.id,
                p.channel,
                p.category,
                p.state,
                _local(p.published_at or p.scheduled_for, config.brand.tz),
                _preview(p.text),
                p.reason,
            ]
            for p in posts
        ],
    )
    if not posts:
        out.line("The queue is empty." if not args.state else "No posts in that state.")
    out.json(rows)
    return EXIT_OK


def _preview(text: str, width: int = 70) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _post_json(p: Any) -> dict[str, Any]:
    return {
        "id": p.id,
        "channel": p.channel,
        "category": p.category,
        "kind": str(p.kind),
        "state": str(p.state),
        "text": p.text,
        "link": p.link,
        "credit": p.credit,
        "scheduled_for": p.scheduled_for,
        "published_at": p.published_at,
        "reason": p.reason,
    }


def _review(args: argparse.Namespace, out: Output, decision: str) -> int:
    from goodwill.app import now_utc, open_store
    from goodwill.events import LoggingSink, resource
    from goodwill.models import PostState
    from goodwill.publishing import project_queue

    config = _load(args)
    store = open_store(config)
    now = now_utc()
    changed = store.posts.review(args.ids, PostState(decision), now)
    for post in changed:
        if decision == "approved":
            LoggingSink().emit(
                "goodwill.post.approved", resource(config.brand.name, post.channel, post.id), {}
            )
    for channel in {p.channel for p in changed}:
        project_queue(config, store, config.channel(channel), now)
    ids = ", ".join(str(p.id) for p in changed) or "-"
    out.line(f"{decision.capitalize()} {len(changed)} post(s): {ids}")
    out.json({"ids": [p.id for p in changed], "state": decision})
    return EXIT_OK


def cmd_approve(args: argparse.Namespace, out: Output) -> int:
    return _review(args, out, "approved")


def cmd_reject(args: argparse.Namespace, out: Output) -> int:
    return _review(args, out, "rejected")


def cmd_post(args: argparse.Namespace, out: Output) -> int:
    from goodwill.app import now_utc, open_store
    from goodwill.drafting import own_post_text
    from goodwill.models import Post, PostState
    from goodwill.publishing import project_queue

    config = _load(args)
    channel = config.channel(args.channel)
    if args.category not in config.policy.categories:
        known = ", ".join(config.policy.categories)
        raise UsageError(f"unknown category {args.category!r}; categories: {known}")
    now = now_utc()
    pinned = _parse_at(args.at, config.channel_tz(channel), now) if args.at else None
    kind = config.policy.kind_of(args.category)
    if args.override and not (args.at and kind == "promotion"):
        raise UsageError("--override is for posting a promotion by hand: use it with --at")
    text = own_post_text(
        config, channel, None, text=args.text, link=args.link, category=args.category
    )
    store = open_store(config)
    post = Post(
        channel=channel.name,
        network=channel.network,
        category=args.category,
        kind=kind,
        text=text,
        link=args.link,
        state=PostState.APPROVED,
        origin="own",
        pinned_at=pinned,
        override=args.override,
    )
    [post_id] = store.posts.add([post], now)
    project_queue(config, store, channel, now)
    saved = store.posts.get(post_id)
    when = _local(saved.scheduled_for, config.channel_tz(channel)) or "when a slot frees up"
    out.line(f"{post_id}")
    if not out.as_json:
        out.err.print(
            f"Queued post {post_id} on {channel.name} for {when}"
            + (f" ({saved.reason})" if saved.reason else ""),
            markup=False,
        )
    out.json({"id": post_id})
    return EXIT_OK


def _parse_at(value: str, tz: Any, now: datetime) -> datetime:
    if value == "now":
        return now
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"--at {value!r} is not ISO 8601 (e.g. 2026-12-01T09:30) or 'now'"
        ) from None
    return when.replace(tzinfo=tz) if when.tzinfo is None else when


def cmd_demo(args: argparse.Namespace, out: Output) -> int:
    from goodwill.demo import run_demo

    return run_demo(args, out)


def cmd_serve(args: argparse.Namespace, out: Output) -> int:
    _load(args)  # fail fast, with file and line, before starting anything
    _prepare_prefect()
    os.environ["PREFECT_LOGGING_LEVEL"] = os.environ.get("GOODWILL_SERVE_LOG_LEVEL", "INFO")
    from flows.serve import serve

    serve(_config_dir(args))
    return EXIT_OK


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="config folder (default ./config or $GOODWILL_CONFIG)",
    )
    common.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print one JSON value as the last line of stdout",
    )
    common.add_argument(
        "--no-prefect",
        action="store_true",
        default=argparse.SUPPRESS,
        help="run the steps in-process, without Prefect",
    )
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="log what happens (debug)",
    )

    parser = argparse.ArgumentParser(
        prog="goodwill",
        parents=[common],
        description="Be worth following: share credited industry news, promote yourself rarely.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def add(
        name: str, func: Callable[[argparse.Namespace, Output], int], help: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help, description=help)
        p.set_defaults(func=func)
        return p

    p = add("init", cmd_init, "write a commented starter config")
    p.add_argument("dir", nargs="?", help="folder to write (default ./config)")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    add("check", cmd_check, "validate the config")
    p = add("demo", cmd_demo, "run one full cycle on bundled sample feeds, offline, into an outbox")
    p.add_argument(
        "--days", type=int, default=7, help="play this many days of posting slots (default 7)"
    )
    p.add_argument("--dir", help="work in this folder instead of a new temporary one")
    add("run", cmd_run, "one full cycle: ingest, draft, publish what is due")
    add("ingest", cmd_ingest, "fetch and store new items from all sources")
    p = add("sources", cmd_sources, "show each source's health, last success, failure, next fetch")
    p.add_argument(
        "--health",
        action="append",
        choices=["new", "ok", "failing", "dead", "disabled"],
        help="only sources in this health (repeatable)",
    )
    p = add("items", cmd_items, "list stored items, newest first")
    p.add_argument("--limit", type=int, default=20)
    add("draft", cmd_draft, "draft posts from new items")
    p = add("queue", cmd_queue, "list posts")
    p.add_argument(
        "--state",
        action="append",
        choices=[
            "draft",
            "approved",
            "held",
            "publishing",
            "published",
            "rejected",
            "failed",
            "unknown",
        ],
        help="only posts in this state (repeatable)",
    )
    p.add_argument("--channel", help="only this channel")
    p.add_argument("--limit", type=int, default=None)
    p = add("approve", cmd_approve, "approve drafts")
    p.add_argument("ids", nargs="+", type=int, metavar="ID")
    p = add("reject", cmd_reject, "reject drafts")
    p.add_argument("ids", nargs="+", type=int, metavar="ID")
    p = add("post", cmd_post, "add your own post; prints its id")
    p.add_argument("--channel", required=True)
    p.add_argument("--category", required=True)
    p.add_argument("--text", required=True)
    p.add_argument("--link")
    p.add_argument("--at", help="ISO 8601 time or 'now' (default: the next free slot)")
    p.add_argument(
        "--override",
        metavar="REASON",
        help="post a promotion at --at even if the ratio rule says not yet (recorded)",
    )
    p = add("publish", cmd_publish, "publish every post that is due")
    p.add_argument("--channel", help="only this channel")
    add("serve", cmd_serve, "serve all deployments on their schedules and triggers")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for name, default in (
        ("config", None),
        ("json", False),
        ("no_prefect", False),
        ("verbose", False),
    ):
        if not hasattr(args, name):
            setattr(args, name, default)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    out = Output(args.json)
    try:
        code: int = args.func(args, out)
        return code
    except ConfigError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        return EXIT_USAGE
    except (UsageError, NotFound) as exc:
        print(f"goodwill: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except GoodwillError as exc:
        print(f"goodwill: {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(
            "goodwill: interrupted; nothing half-done is lost (posts in flight are reconciled)",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
