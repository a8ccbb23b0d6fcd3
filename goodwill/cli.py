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
        if not self.console.is_terminal:
            self.console.width = max(self.console.width, 160)  # pipes and logs: no cramped tables
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
    if not getattr(args, "online", False):
        out.json({"ok": True, "errors": []})
        return EXIT_OK
    channels = _verify_channels(config, out)
    ok = all(c["ok"] for c in channels.values())
    out.json({"ok": ok, "errors": [], "channels": channels})
    return EXIT_OK if ok else EXIT_FAILED


def _verify_channels(config: Any, out: Output) -> dict[str, dict[str, Any]]:
    """One cheap authenticated read per channel (``verify()``), never a post."""
    from connectors import connector_for

    results: dict[str, dict[str, Any]] = {}
    for channel in config.channels:
        if not channel.enabled or channel.network == "outbox":
            continue
        try:
            connector = connector_for(channel, config)
            verify = getattr(connector, "verify", None)
            if verify is None:
                detail, ok = "no online check for this network yet", True
            else:
                detail, ok = f"credentials work: {verify()}", True
        except GoodwillError as exc:
            detail, ok = exc.message, False
        results[channel.name] = {"ok": ok, "network": channel.network, "detail": detail}
        out.line(f"  {'ok' if ok else 'FAILED'} {channel.name} ({channel.network}): {detail}")
    if not results:
        out.line("  no channel publishes to a network yet (all outbox)")
    return results


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
    if getattr(args, "dry_run", False):
        return _dry_run(args, out)
    result = _steps(args).publish(_config_dir(args), channel=args.channel)
    _print_publish(out, result)
    out.json(result.as_json())
    return EXIT_FAILED if result.failed or result.unknown else EXIT_OK


def cmd_reconcile(args: argparse.Namespace, out: Output) -> int:
    result = _steps(args).reconcile(_config_dir(args), channel=args.channel)
    out.line(
        f"Reconciled: published {result.published}, failed {result.failed}, "
        f"unknown {result.unknown} (`goodwill queue --state unknown` shows what was checked)"
    )
    for line in result.lines:
        out.line(f"  {line}")
    out.json(result.as_json())
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
    costs = {p.id: _cost(config, p) for p in posts}
    rows = [_post_json(p) | {"cost": costs[p.id]} for p in posts]
    if getattr(args, "preview", False):
        for post, row in zip(posts, rows, strict=True):
            row["preview"] = _post_preview(config, store, post)
            _print_preview(out, config, post, row["preview"], str(post.state))
        if not posts:
            out.line("The queue is empty.")
        out.json(rows)
        return EXIT_OK
    out.table(
        ["id", "channel", "category", "state", "when", "cost", "text", "reason"],
        [
            [
                p.id,
                p.channel,
                p.category,
                p.state,
                _local(p.published_at or p.scheduled_for, config.brand.tz),
                f"${costs[p.id]:.3f}" if costs[p.id] else "",
                _preview(p.text),
                f"{p.reason} [checked {p.checked}]"
                if p.checked and p.state == "unknown"
                else p.reason,
            ]
            for p in posts
        ],
    )
    credited = [p for p in posts if p.credit]
    if credited:
        out.line("Credits (confirm with `goodwill credit ID --confirm`, or --set TEXT):")
        for p in credited:
            out.line(f"  {p.id} {p.channel}: {p.credit}  <- {p.credit_source or 'unknown'}")
    if not posts:
        out.line("The queue is empty." if not args.state else "No posts in that state.")
    for warning in _channel_warnings(config, args.channel):
        out.err.print(f"! {warning}", style="yellow", markup=False)
    out.json(rows)
    return EXIT_OK


def _dry_run(args: argparse.Namespace, out: Output) -> int:
    """What ``publish`` would send now, exactly as each network would get it; sends nothing."""
    from goodwill.app import now_utc, open_store

    config = _load(args)
    if args.channel:
        config.channel(args.channel)
    store = open_store(config)
    now = now_utc()
    shown: list[dict[str, Any]] = []
    for channel in config.channels_to_run(args.channel):
        queued = store.posts.queued(channel.name)
        due = [p for p in queued if (p.pinned_at or p.scheduled_for or now) <= now]
        for post in due or queued[:1]:
            row = _post_json(post) | {
                "due": post in due,
                "preview": _post_preview(config, store, post),
            }
            shown.append(row)
            _print_preview(out, config, post, row["preview"], "due now" if post in due else "next")
    if not shown:
        out.line("Nothing is queued.")
    out.line("Dry run: nothing was sent.")
    out.json(
        {"published": 0, "held": 0, "failed": 0, "unknown": 0, "dry_run": True, "posts": shown}
    )
    return EXIT_OK


def _post_preview(config: Any, store: Any, post: Any) -> dict[str, Any]:
    from connectors import preview_for
    from goodwill.publishing import build_outgoing

    channel = config.channel(post.channel)
    return preview_for(channel, config, build_outgoing(config, store, channel, post))


def _print_preview(out: Output, config: Any, post: Any, preview: dict[str, Any], when: str) -> None:
    if out.as_json:
        return
    at = _local(post.pinned_at or post.scheduled_for, config.brand.tz)
    out.line(
        f"── post {post.id} · {post.channel} ({preview['network']}) · {post.category} · "
        f"{when}{' ' + at if at else ''}",
        style="bold",
    )
    out.line(preview["text"])
    over = preview["length"] > preview["limit"]
    out.line(
        f"   length {preview['length']}/{preview['limit']}"
        + (f" ({preview['limit_from']})" if preview.get("limit_from") else "")
        + ("  TOO LONG" if over else ""),
        style="red" if over else "dim",
    )
    card = preview.get("card")
    if card:
        title = card.get("title") or ""
        out.line(f"   card: {card.get('uri')}" + (f" — {title}" if title else ""), style="dim")
    for facet in preview.get("facets") or []:
        index = facet["index"]
        uri = facet["features"][0].get("uri", "")
        span = f"{index['byteStart']}-{index['byteEnd']}"
        out.line(f"   link facet: UTF-8 bytes {span} → {uri}", style="dim")


def _cost(config: Any, post: Any) -> float | None:
    """The estimated price of a post on its network (None: its channel is no longer configured)."""
    from goodwill.budget import post_cost

    try:
        channel = config.channel(post.channel)
    except NotFound:
        return None
    return round(post_cost(config, channel, post.text, post.link), 6)


def _channel_warnings(config: Any, only: str | None = None) -> list[str]:
    """Credentials about to expire (LinkedIn's 60-day tokens), said well ahead."""
    from goodwill.app import now_utc

    warnings: list[str] = []
    for channel in config.channels:
        if only and channel.name != only:
            continue
        if channel.network == "linkedin":
            from connectors.linkedin import expiry_warning

            if warning := expiry_warning(channel, now_utc()):
                warnings.append(warning)
    return warnings


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
        "credit_source": p.credit_source,
        "comment": p.comment,
        "scheduled_for": p.scheduled_for,
        "published_at": p.published_at,
        "reason": p.reason,
        "checked": p.checked,
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


def _revise(args: argparse.Namespace, out: Output, **changes: Any) -> int:
    from goodwill.app import now_utc, open_store
    from goodwill.drafting import redraft
    from goodwill.publishing import project_queue

    config = _load(args)
    store = open_store(config)
    now = now_utc()
    post = redraft(config, store, args.id, now, **changes)
    project_queue(config, store, config.channel(post.channel), now)
    out.line(f"Post {post.id} on {post.channel} now reads:")
    out.line(post.text)
    if post.credit:
        out.line(f"credit: {post.credit} (from {post.credit_source or 'unknown'})")
    out.json(_post_json(post))
    return EXIT_OK


def cmd_comment(args: argparse.Namespace, out: Output) -> int:
    return _revise(args, out, comment=" ".join(args.text))


def cmd_credit(args: argparse.Namespace, out: Output) -> int:
    if args.set is None and not args.confirm:
        raise UsageError("say what to do: --confirm (the credit is right) or --set TEXT")
    return _revise(args, out, credit=args.set, confirm_credit=args.confirm)


def cmd_calendar(args: argparse.Namespace, out: Output) -> int:
    from goodwill.app import now_utc, open_store
    from goodwill.calendar import build_calendar, render_html

    config = _load(args)
    if args.weeks < 1 or args.weeks > 26:
        raise UsageError("--weeks must be between 1 and 26")
    store = open_store(config)
    calendar = build_calendar(config, store, now_utc(), weeks=args.weeks)
    path = Path(args.out) if args.out else Path("goodwill-calendar.html")
    path.write_text(render_html(calendar), encoding="utf-8")
    totals = calendar.totals()
    out.line(
        f"Wrote {path}: {args.weeks} week(s), {len(calendar.channels)} channel(s), "
        f"{totals['posts']} posts in {totals['slots']} slots, {totals['held']} held, "
        f"{totals['missed']} missed"
    )
    out.json({"path": str(path.resolve()), "weeks": args.weeks, **totals})
    return EXIT_OK


def cmd_approve(args: argparse.Namespace, out: Output) -> int:
    return _review(args, out, "approved")


def cmd_reject(args: argparse.Namespace, out: Output) -> int:
    return _review(args, out, "rejected")


def cmd_edit(args: argparse.Namespace, out: Output) -> int:
    from goodwill.app import now_utc, open_store
    from goodwill.publishing import project_queue
    from goodwill.review import edit_text

    config = _load(args)
    store = open_store(config)
    now = now_utc()
    post = edit_text(config, store, args.id, args.text, now)
    if post.state != "draft":
        project_queue(config, store, config.channel(post.channel), now)
    out.line(f"Edited post {post.id} ({post.state}) on {post.channel}")
    out.json({"id": post.id, "state": str(post.state), "text": post.text})
    return EXIT_OK


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


class _TerminalIO:
    """How a guided set-up talks to the owner: lines out, answers in (secrets unechoed)."""

    def __init__(self, out: Output, *, browser: bool = True) -> None:
        self.out = out
        self.browser = browser

    def open_url(self, url: str) -> None:
        self.say(f"Open this address in your browser and allow access:\n  {url}")
        if self.browser:
            import webbrowser

            webbrowser.open(url)

    def say(self, text: str) -> None:
        self.out.err.print(text, markup=False, highlight=False, soft_wrap=True)  # URLs unbroken

    def ask(self, prompt: str) -> str:
        return _ask(prompt)

    def ask_secret(self, prompt: str) -> str:
        return _ask_secret(prompt)


def _ask(prompt: str) -> str:
    print(prompt, end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().rstrip("\n")


def _ask_secret(prompt: str) -> str:
    if not sys.stdin.isatty():
        return _ask(prompt)
    import getpass

    return getpass.getpass(prompt, stream=sys.stderr)


def cmd_auth(args: argparse.Namespace, out: Output) -> int:
    """Guided set-up of one channel's credentials, stored where its references point."""
    from goodwill.auth import authorize

    config = _load(args)
    channel = config.channel(args.channel)
    out.err.print(f"Setting up {channel.name} ({channel.network})", markup=False)
    options = {"redirect_uri": args.redirect_uri} if args.redirect_uri else {}
    stored: dict[str, str] = {}

    def save(ref: Any, value: str, field: str) -> str:
        stored[field] = str(ref)
        line = f"{field} ({ref}): {_store_secret(ref, value, field)}"
        out.line(line)
        return line

    authorize(channel, config, _TerminalIO(out, browser=not args.no_browser), save=save, **options)
    out.line(f"{channel.name} is ready: try `goodwill check --online`.")
    out.json({"channel": channel.name, "stored": stored})
    return EXIT_OK


def _store_secret(ref: Any, value: str, field: str) -> str:
    """Write a credential where its reference points; never print its value."""
    if ref.scheme == "secret":
        from flows.secrets import save_secret as save_block

        save_block(ref.name, value)
        return f"saved in the Prefect Secret block {ref.name!r}"
    # The value never goes to the terminal: a 0600 file, and for env: the export line.
    from goodwill.auth.common import save_secret

    return save_secret(ref, value, field)


def cmd_demo(args: argparse.Namespace, out: Output) -> int:
    from goodwill.demo import run_demo

    return run_demo(args, out)


def cmd_serve(args: argparse.Namespace, out: Output) -> int:
    config = _load(args)  # fail fast, with file and line, before starting anything
    _prepare_prefect()
    os.environ["PREFECT_LOGGING_LEVEL"] = os.environ.get("GOODWILL_SERVE_LOG_LEVEL", "INFO")
    config_dir = _config_dir(args)
    if args.with_server and not os.environ.get("PREFECT_API_URL"):
        from flows.server import local_server, state_dir

        home = state_dir(config_dir) / "prefect"
        out.line(f"Starting a local Prefect server (home {home}) ...")
        with _stop_on_sigterm(), local_server(home, port=args.port) as api:
            os.environ["PREFECT_API_URL"] = api
            return _serve(config, config_dir, out, ui=api.removesuffix("/api"))
    if args.with_server:
        out.line(f"Using the Prefect server at {os.environ['PREFECT_API_URL']}")
    elif not os.environ.get("PREFECT_API_URL"):
        from flows.server import configured_api_url

        if not configured_api_url():
            raise UsageError(
                "no Prefect API configured: use `goodwill serve --with-server` for a local one, "
                "or set PREFECT_API_URL"
            )
    with _stop_on_sigterm():
        return _serve(config, config_dir, out, ui=None)


def _stop_on_sigterm() -> Any:
    """SIGTERM ends ``serve`` like Ctrl-C does: the local server is stopped on the way out."""
    import contextlib
    import signal

    @contextlib.contextmanager
    def handler() -> Any:
        def raise_interrupt(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, raise_interrupt)
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, previous)

    return handler()


def _serve(config: Any, config_dir: Path, out: Output, ui: str | None) -> int:
    from flows.serve import serve

    def ready(deps: list[Any]) -> None:
        names = ", ".join(d.name for d in deps)
        out.line(f"Serving {len(deps)} deployments for {config.brand.name}: {names}")
        if ui:
            out.line(f"Prefect UI: {ui}")
        out.line("Stop with Ctrl-C; schedules stay active for the next start.")
        sys.stdout.flush()

    try:
        serve(config_dir, on_ready=ready)
    except KeyboardInterrupt:
        pass
    except SystemExit as exc:
        # Prefect's runner answers a SIGTERM before it has started with sys.exit(0): that is a
        # clean stop too (flows.serve holds SIGTERM until then; this is the safety net).
        if exc.code not in (0, None):
            raise
    out.line("Stopped.")
    return EXIT_OK


def cmd_setup(args: argparse.Namespace, out: Output) -> int:
    config = _load(args)
    _prepare_prefect()
    from flows.automations import create_webhook_block, ensure_automations, notification_block_id
    from flows.server import configured_api_url
    from goodwill.text import slug as slug_of

    if not configured_api_url():
        raise UsageError(
            "no Prefect API configured: start `goodwill serve --with-server` and set "
            "PREFECT_API_URL to the address it prints (plus /api), or point it at your server"
        )
    slug = args.notify or os.environ.get("GOODWILL_NOTIFY_BLOCK")
    if args.webhook:
        name = args.block_name or f"goodwill-{slug_of(config.brand.name)}"
        slug = create_webhook_block(name, args.webhook)
        out.line(f"Saved notification block {slug}")
    if not slug:
        raise UsageError(
            "choose where notifications go: --webhook URL, or --notify TYPE/NAME for a saved "
            "Prefect notification block (e.g. slack-webhook/studio); see README, Notifications"
        )
    try:
        block_id = notification_block_id(slug)
    except ValueError as exc:
        raise UsageError(f"no notification block {slug!r}: {exc}") from None
    done = ensure_automations(config.brand.name, block_id)
    for item in done:
        out.line(f"{'Created' if item['created'] else 'Updated'} automation {item['name']}")
    out.json({"block": slug, "automations": done})
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
    p = add("check", cmd_check, "validate the config")
    p.add_argument(
        "--online",
        action="store_true",
        help="also verify each channel's credentials with one cheap read (posts nothing)",
    )
    p = add("auth", cmd_auth, "set up a channel's credentials (guided; stored by reference)")
    p.add_argument("channel", metavar="CHANNEL")
    p.add_argument(
        "--redirect-uri",
        help="X/LinkedIn: the loopback redirect registered in the app "
        "(default http://127.0.0.1:8765/callback)",
    )
    p.add_argument("--no-browser", action="store_true", help="print the address, open nothing")
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
    p.add_argument(
        "--preview",
        action="store_true",
        help="show each post exactly as its network will get it (length, card, facets)",
    )
    p = add("approve", cmd_approve, "approve drafts")
    p.add_argument("ids", nargs="+", type=int, metavar="ID")
    p = add("reject", cmd_reject, "reject drafts")
    p.add_argument("ids", nargs="+", type=int, metavar="ID")
    p = add(
        "comment",
        cmd_comment,
        "add your own words to a waiting post (they replace the template's opener)",
    )
    p.add_argument("id", type=int, metavar="ID")
    p.add_argument("text", nargs="+", help="your comment ('' removes it)")
    p = add("credit", cmd_credit, "confirm or correct the credit of a waiting post")
    p.add_argument("id", type=int, metavar="ID")
    p.add_argument("--confirm", action="store_true", help="the credit is right")
    p.add_argument("--set", metavar="TEXT", help="credit this instead (a handle or a name)")
    p = add("calendar", cmd_calendar, "write an HTML calendar of the coming weeks per channel")
    p.add_argument("--weeks", type=int, default=2, help="how many weeks (default 2)")
    p.add_argument("--out", metavar="FILE", help="where (default ./goodwill-calendar.html)")
    p = add("edit", cmd_edit, "replace the text of a post not yet published (re-checked)")
    p.add_argument("id", type=int, metavar="ID")
    p.add_argument("--text", required=True)
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
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="show what would be sent now, exactly as each network gets it; send nothing",
    )
    p = add(
        "reconcile",
        cmd_reconcile,
        "settle posts whose outcome is unknown (also done at the start of every publish)",
    )
    p.add_argument("--channel", help="only this channel")
    p = add("serve", cmd_serve, "serve all deployments on their schedules and triggers")
    p.add_argument(
        "--with-server",
        action="store_true",
        help="start a local Prefect server (SQLite, under <config>/.goodwill) if none is set",
    )
    p.add_argument(
        "--port",
        type=int,
        default=None,
        help="the local server's port (default 4200, or a free one)",
    )
    p = add("setup", cmd_setup, "create the automations that notify you (idempotent)")
    p.add_argument("--notify", metavar="TYPE/NAME", help="a saved Prefect notification block")
    p.add_argument("--webhook", metavar="URL", help="save a Custom Webhook block posting here")
    p.add_argument("--block-name", help="name for the --webhook block")
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
