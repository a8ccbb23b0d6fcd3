"""``goodwill demo``: the whole loop on bundled sample feeds, offline, into an outbox file.

The sample config is copied to a temporary folder, its sources point at a loopback server that
serves the bundled feeds (dated relative to now), one full cycle runs, then the next days of
posting slots are played on a simulated clock so the queue and the ratio rule can be seen.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from argparse import Namespace
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from goodwill.samples import sample_config_dir

__all__ = ["run_demo"]


def _program() -> str:
    """How the user called us (``.venv/bin/goodwill`` after the Quick start)."""
    import sys

    argv0 = sys.argv[0] if sys.argv else ""
    return argv0 if argv0.endswith("goodwill") else "goodwill"


def _point_sources_at(config_dir: Path, base_url: str) -> None:
    """Rewrite each source URL to the bundled feed of the same name (comments kept)."""
    from goodwill.config import load_config
    from goodwill.text import slug

    path = config_dir / "sources.yaml"
    text = path.read_text(encoding="utf-8")
    for source in load_config(config_dir).sources:
        text = text.replace(
            f"url: {source.url}",
            f"url: {base_url.rstrip('/')}/{slug(source.name, empty='feed')}.xml",
            1,
        )
    path.write_text(text, encoding="utf-8")
    # Offline: the sample items link to real sites, whose pages the demo must not read.
    policy = config_dir / "policy.yaml"
    if "discover_credits:" not in policy.read_text(encoding="utf-8"):
        with policy.open("a", encoding="utf-8") as f:
            f.write("\ndiscover_credits: false\n")


def run_demo(args: Namespace, out: Any) -> int:
    from goodwill.feeds.sampleserver import serve_samples

    started = time.perf_counter()
    work = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="goodwill-demo-"))
    config_dir = work / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    for src in sample_config_dir().glob("*.yaml"):
        (config_dir / src.name).write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    # The demo never touches the user's database or Prefect home: its store is the default
    # SQLite file beside its own config, so `goodwill queue --config DIR` finds it afterwards.
    user_db = os.environ.pop("GOODWILL_DATABASE_URL", None)
    os.environ.setdefault("PREFECT_HOME", str(work / "prefect"))
    args.config = str(config_dir)

    from goodwill.app import now_utc

    now = now_utc()
    with serve_samples(now) as base_url:
        _point_sources_at(config_dir, base_url)
        out.line(f"Demo folder: {work}")
        out.line(
            "1. One full cycle (ingest, draft, publish what is due)"
            + (" as Prefect flows" if not args.no_prefect else " in-process")
            + " ..."
        )
        from goodwill.cli import _steps

        result = _steps(args).cycle(config_dir)

    from goodwill.app import load, open_store
    from goodwill.events import RecordingSink
    from goodwill.publishing import publish_due
    from goodwill.slots import slot_times

    config = load(config_dir)
    ing = result.ingest
    out.line(
        f"   ingested {ing.new_items} new items from {ing.sources} sources "
        f"({ing.duplicates} same-story duplicates linked, {ing.failed} failed)"
    )
    out.line(f"   drafted {result.draft.drafted} posts, queued {result.draft.own} of your own")
    published = result.publish.published
    held_ids: set[int] = set()
    failed = result.publish.failed

    # Play the coming days on a simulated clock: every slot of every channel, in order.
    out.line(f"2. Playing the next {args.days} days of posting slots (simulated clock) ...")
    store = open_store(config)
    sink = RecordingSink()
    from connectors import connector_for

    times = sorted(
        {
            s
            for ch in config.channels
            for s in slot_times(
                ch.weekly_slots, config.channel_tz(ch), now, now + timedelta(days=args.days)
            )
        }
    )
    for when in times:
        res = publish_due(config, store, when + timedelta(seconds=1), sink, connector_for)
        published += res.published
        failed += res.failed
    for name, resource, _payload in sink.events:
        if name == "goodwill.post.held":
            held_ids.add(int(resource["goodwill.post"]))

    outbox = config.resolve_path(config.channels[0].path)
    lines = (
        [json.loads(x) for x in outbox.read_text(encoding="utf-8").splitlines()]
        if outbox.exists()
        else []
    )
    _show(out, config, store, lines)
    waiting = store.posts.find(states=("draft",))
    elapsed = time.perf_counter() - started
    out.line("")
    out.line(
        f"Published {published} posts on {len({x['channel'] for x in lines})} channels; "
        f"{len(held_ids)} promotion(s) held until enough value posts went out; "
        f"{len(waiting)} draft(s) wait for your review; {failed} failed."
    )
    out.line(f"Outbox: {outbox}")
    prefix = "GOODWILL_DATABASE_URL= " if user_db else ""
    out.line(
        f"Demo took {elapsed:.1f} s. Look around: {prefix}{_program()} queue --config {config_dir}"
    )
    out.json(
        {
            "outbox": str(outbox),
            "ratio": config.policy.ratio,
            "ingested": ing.new_items,
            "drafted": result.draft.drafted,
            "published": published,
            "held": len(held_ids),
            "failed": failed,
        }
    )
    store.close()
    return 0 if not failed else 1


def _show(out: Any, config: Any, store: Any, lines: list[dict[str, Any]]) -> None:
    """A few posts exactly as written, and each channel's value/promotion sequence."""
    from goodwill import text as textlib

    out.line("")
    out.line("What went out (the first shared news per channel, exactly as written):")
    shown: set[str] = set()
    for record in lines:
        if record["channel"] in shown or record["category"] != "curated":
            continue
        shown.add(record["channel"])
        channel = config.channel(record["channel"])
        used = textlib.length(record["text"], channel.style)
        out.line(
            f"--- {record['channel']} ({channel.style}, {used}/{textlib.limit(channel.style)}) "
            f"[{record['category']}]"
        )
        out.line(record["text"])
    out.line("")
    out.line("Sequence per channel (v = value, P = promotion):")
    for channel in config.channels:
        seq = "".join(
            "P" if r["kind"] == "promotion" else "v" for r in lines if r["channel"] == channel.name
        )
        kinds = Counter(r["category"] for r in lines if r["channel"] == channel.name)
        detail = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
        out.line(f"  {channel.name:<16} {seq or '(nothing yet)'}  {detail}")
    for post in store.posts.find(states=("held",)):
        out.line(f"  held {post.channel} #{post.id}: {post.reason}")
