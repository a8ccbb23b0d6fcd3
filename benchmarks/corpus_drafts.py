"""Drafts from the real-world feed corpus, exactly as they would be posted, in two voices.

    python benchmarks/corpus_drafts.py [--corpora ../shared/corpora] [--show 10]

Two studios (an English one on X, Mastodon, Bluesky and LinkedIn; a French one on X, Mastodon
and Facebook) draft from real feeds of the corpus (items re-dated to "just now" so they are fresh),
then play two weeks of slots into a private outbox, and print:

* a selection of drafts across networks and languages, exactly as they would be posted, with each
  credit and where it came from;
* each channel's publish sequence (v value, P promotion) and whether the ratio held;
* timings: drafting per post, and attribution discovery against a loopback server (pages/s, and
  the cached second pass). The machine is shared: figures are noisy; medians of 3 runs.

Offline: article pages of the corpus are never fetched (discover_credits: false); discovery is
timed against pages served on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from goodwill.config import load_config  # noqa: E402
from goodwill.dedupe import title_key  # noqa: E402
from goodwill.drafting import draft  # noqa: E402
from goodwill.events import RecordingSink  # noqa: E402
from goodwill.feeds.parse import parse_feed  # noqa: E402
from goodwill.store import NewItem, Store  # noqa: E402
from goodwill.urls import canonical_url  # noqa: E402

#: (corpus file, source name, original URL, handles the owner configured in sources.yaml, weight)
FEEDS = [
    (
        "fastfeedparser_benchmark_data/davidduchemin.com_feed__25f0d733068a3446.xml",
        "David duChemin",
        "https://davidduchemin.com/feed/",
        {},
        1.0,
    ),
    (
        "fastfeedparser_benchmark_data/markgreville.ie_feed__9835a36b67764259.xml",
        "Mark Greville",
        "https://markgreville.ie/feed/",
        {},
        1.0,
    ),
    (
        "fastfeedparser_benchmark_data/spoon-tamago.com_feed__81e155e29fdd0d1b.xml",
        "Spoon & Tamago",
        "https://spoon-tamago.com/feed/",
        {},
        1.0,
    ),
    (
        "fastfeedparser_benchmark_data/feeds.kottke.org_main__e44e7aea7e34bb52.xml",
        "kottke.org",
        "https://feeds.kottke.org/main",
        {},
        1.0,
    ),
    (
        "fastfeedparser_benchmark_data/www.404media.co_rss__a44f75939f245a7e.xml",
        "404 Media",
        "https://www.404media.co/rss/",
        {"bluesky": "@404media.co"},
        1.3,
    ),
    (
        "fastfeedparser_benchmark_data/feeds.bbci.co.uk_news_world_rss.xml__1796df62c4a287cc.xml",
        "BBC News",
        "https://feeds.bbci.co.uk/news/world/rss.xml",
        {"x": "@BBCWorld"},
        1.2,
    ),
]

CHANNELS_EN = """channels:
  - {name: en-x, network: outbox, preview_as: x, path: outbox.jsonl,
     slots: {weekdays: ['08:30', '12:30', '18:00'], weekend: ['10:00']}}
  - {name: en-mastodon, network: outbox, preview_as: mastodon, path: outbox.jsonl,
     slots: {daily: ['09:00', '19:00']}}
  - {name: en-bluesky, network: outbox, preview_as: bluesky, path: outbox.jsonl,
     slots: {weekdays: ['07:45', '13:15', '20:30']}}
  - {name: en-linkedin, network: outbox, preview_as: linkedin, path: outbox.jsonl,
     slots: {weekdays: ['09:00', '17:00']}}
"""
CHANNELS_FR = """channels:
  - {name: fr-x, network: outbox, preview_as: x, path: outbox.jsonl,
     slots: {weekdays: ['08:30', '12:30', '18:00']}}
  - {name: fr-mastodon, network: outbox, preview_as: mastodon, path: outbox.jsonl,
     slots: {daily: ['09:00', '19:00']}}
  - {name: fr-facebook, network: outbox, preview_as: facebook, path: outbox.jsonl,
     slots: {weekdays: ['11:00'], sat: ['09:30']}}
"""


def _host(url: str | None) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url or "").hostname or ""


#: Own posts to show, per studio: (channel, category).
OWN_PICKS = {
    "en": [("en-x", "promotion")],
    "fr": [("fr-mastodon", "tip"), ("fr-facebook", "personal")],
}


def pick(config: Any, store: Store, brand: str, lang: str) -> list[tuple[str, str, Any]]:
    """One curated draft per channel, each from a different source (handle credits first),
    then the owner's own posts named in OWN_PICKS."""
    posts = store.posts.find()
    out: list[tuple[str, str, Any]] = []
    seen: set[str] = set()
    for channel in config.channels:
        curated = [p for p in posts if p.channel == channel.name and p.category == "curated"]
        # A handle credit first, then a source not shown yet, then the first drafted.
        curated.sort(
            key=lambda p: (not (p.credit or "").startswith("@"), _host(p.link) in seen, p.id)
        )
        if curated:
            seen.add(_host(curated[0].link))
            out.append((brand, channel.style, curated[0]))
    for channel_name, category in OWN_PICKS[lang]:
        own = [p for p in posts if p.channel == channel_name and p.category == category]
        out += [(brand, config.channel(channel_name).style, p) for p in own[:1]]
    return out


def sources_yaml() -> str:
    lines = ["sources:"]
    for _, name, url, credit, weight in FEEDS:
        lines.append(f"  - name: {name!r}")
        lines.append(f"    url: {url}")
        lines.append(f"    weight: {weight}")
        if credit:
            pairs = ", ".join(f"{k}: {v!r}" for k, v in credit.items())
            lines.append("    credit: {" + pairs + "}")
    # What a studio would not share with a cheerful opener.
    lines.append("filters:")
    lines.append(
        "  exclude: [dies aged, killed, shooter, shooting, on trial, guinea pigs, unmasks,"
        " peace talks]"
    )
    return "\n".join(lines) + "\n"


def make_config(root: Path, brand: str, language: str, channels: str) -> Any:
    root.mkdir(parents=True, exist_ok=True)
    for name in ("voice.yaml", "voice.fr.yaml", "posts.yaml"):
        (root / name).write_text((ROOT / "config" / name).read_text(encoding="utf-8"))
    (root / "brand.yaml").write_text(
        f"name: {brand}\ntimezone: Europe/London\nlanguage: {language}\n"
        "website: https://hazelandpine.example\n"
    )
    (root / "sources.yaml").write_text(sources_yaml(), encoding="utf-8")
    (root / "channels.yaml").write_text(channels)
    (root / "policy.yaml").write_text(
        "ratio: 4\nmax_item_age: 3d\nmax_queued: 6\nmax_per_day: 4\ndiscover_credits: false\n"
    )
    return load_config(root)


def load_items(corpora: Path, now: datetime) -> list[NewItem]:
    """The corpus's entries, newest first per feed, re-dated to the last few hours."""
    items: list[NewItem] = []
    for f, (path, name, url, _, _) in enumerate(FEEDS):
        feed = parse_feed((corpora / "realworld-feeds" / path).read_bytes(), url=url, now=now)
        for i, entry in enumerate(feed.entries[:6]):
            link = canonical_url(entry.link, base=url) if entry.link else None
            if not link or not entry.title:
                continue
            items.append(
                NewItem(
                    url=link,
                    title=entry.title,
                    title_key=title_key(entry.title),
                    source=name,
                    author=entry.author,
                    summary_html=entry.summary_html,
                    # Round robin: each feed's newest first, the feeds interleaved.
                    published_at=now - timedelta(minutes=10 * (i * len(FEEDS) + f) + 1),
                )
            )
    return items


def play(config: Any, store: Store, start: datetime, days: int) -> None:
    from connectors import connector_for
    from goodwill.publishing import publish_due
    from goodwill.slots import slot_times

    sink = RecordingSink()
    end = start + timedelta(days=days)
    instants = sorted(
        {
            t
            for ch in config.channels
            for t in slot_times(ch.weekly_slots, config.channel_tz(ch), start, end)
        }
    )
    for at in instants:
        publish_due(config, store, at + timedelta(minutes=1), sink, connector_for)
        draft(config, store, at + timedelta(minutes=2), sink)  # recycles evergreen posts


def bench_discovery(n: int = 200) -> tuple[float, float]:
    """Seconds to read n article pages from one loopback host (4 at a time), then from cache."""
    from goodwill import attribution

    page = (
        b'<html><head><meta name="twitter:creator" content="@someone">'
        b'<meta name="fediverse:creator" content="@someone@photog.social">'
        + b"<!-- padding -->" * 2000
        + b"</head><body>article</body></html>"
    )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(0.02)  # a modest server think time, like a real CMS
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open("bench", url=f"sqlite:///{tmp}/pages.db")
        urls = [f"{base}/a/{i}" for i in range(n)]
        now = datetime.now(UTC)
        t0 = time.perf_counter()
        found, stats = attribution.discover(
            store, urls, now, timeout=10, max_bytes=1_000_000, concurrency=8
        )
        first = time.perf_counter() - t0
        assert stats.fetched == n and len(found) == n, stats
        t0 = time.perf_counter()
        _, again = attribution.discover(
            store, urls, now, timeout=10, max_bytes=1_000_000, concurrency=8
        )
        cached = time.perf_counter() - t0
        assert again.cached == n and again.fetched == 0
        store.close()
    server.shutdown()
    return first, cached


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpora", default=str(ROOT.parent / "shared" / "corpora"))
    parser.add_argument("--show", type=int, default=10)
    args = parser.parse_args()
    corpora = Path(args.corpora)
    if not (corpora / "realworld-feeds").is_dir():
        print(f"corpus not found at {corpora}; pass --corpora", file=sys.stderr)
        return 2
    now = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # a Monday morning
    shown: list[tuple[str, str, Any]] = []
    draft_times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["GOODWILL_DATABASE_URL"] = f"sqlite:///{tmp}/goodwill.db"
        for brand, lang, channels in (
            ("Hazel & Pine Studio", "en", CHANNELS_EN),
            ("Atelier Noisette", "fr", CHANNELS_FR),
        ):
            config = make_config(Path(tmp) / lang, brand, lang, channels)
            store = Store.open(brand, url=os.environ["GOODWILL_DATABASE_URL"])
            store.items.add(load_items(corpora, now), now)
            t0 = time.perf_counter()
            result = draft(config, store, now, RecordingSink())
            draft_times.append((time.perf_counter() - t0) / max(1, result.drafted + result.own))
            play(config, store, now, 14)
            shown += pick(config, store, brand, lang)
            print(f"\n== {brand} ({lang}): publish sequence over two weeks, ratio 1:4")
            from goodwill.ratio import violations

            for channel in config.channels:
                kinds = [k for k, _ in store.posts.history(channel.name)]
                seq = "".join("P" if k == "promotion" else "v" for k in kinds)
                ok = "ratio held" if not violations(kinds, 4) else "RATIO BROKEN"
                print(f"  {channel.name:12} {seq}  ({ok})")
            dropped = store.posts.find(states=("rejected",))
            for p in dropped[:3]:
                print(f"  left the queue: post {p.id} on {p.channel}: {p.reason}")
            store.close()

    print(f"\n== {min(args.show, len(shown))} drafts, exactly as they would be posted")
    for i, (brand, style, post) in enumerate(shown[: args.show], 1):
        credit = f"credit {post.credit!r} from {post.credit_source}" if post.credit else "own post"
        print(f"\n--- {i}. {brand} on {style} ({post.category}; {credit})")
        print(post.text)
        if "\u00a0" in post.text or "\u202f" in post.text:
            print(
                f"(French spacing in this text: {post.text.count(chr(0xA0))} x U+00A0 no-break "
                f"space, {post.text.count(chr(0x202F))} x U+202F narrow no-break space)"
            )

    print("\n== timings (shared 2-core machine: noisy)")
    per_post = statistics.median(draft_times) * 1000
    print(f"  drafting: {per_post:.2f} ms per post (median of 2 brands)")
    runs = [bench_discovery() for _ in range(3)]
    first = statistics.median(r[0] for r in runs)
    cached = statistics.median(r[1] for r in runs)
    print(
        f"  attribution, 200 loopback pages on one host (20 ms think time; 4 at a time per host): "
        f"{first:.2f} s first read ({200 / first:.0f} pages/s), {cached * 1000:.0f} ms from cache "
        f"(median of 3; ratio {first / cached:.0f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
