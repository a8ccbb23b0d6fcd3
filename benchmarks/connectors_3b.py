"""Per-post cost of the X, Facebook and LinkedIn connectors against a loopback server, and of the
monthly budget check as a channel's history grows.

    .venv/bin/python -m benchmarks.connectors_3b [--posts 200]

Prints medians and 90th percentiles (milliseconds). The loopback server answers at once, so the
figures are the client side: SDK, signing, session set-up. The machine is shared: figures are
noisy; compare ratios, not absolutes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")

from connectors import _http
from connectors._oauth2 import TokenFile
from connectors.facebook import FacebookConnector
from connectors.linkedin import LinkedInConnector
from connectors.x import XConnector
from goodwill.config import SecretRef, load_config
from goodwill.models import Kind, OutgoingPost, Post, PostState
from goodwill.publishing import budget_check
from goodwill.store import Store
from tests.apiserver import NetServer, Reply

PAGE = "104589361234567"


def timed(fn: Callable[[], object], n: int) -> tuple[float, float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9) - 1]


def post(i: int) -> OutgoingPost:
    return OutgoingPost(
        i, "c", "x", "curated", Kind.VALUE,
        f"Worth a read ({i}): golden hour https://example.com/{i}", f"https://example.com/{i}",
        None, f"k{i}", card_title="Golden hour",
    )  # fmt: skip


def connectors(n: int) -> None:
    _http.THROTTLE.enabled = False
    with NetServer() as net, tempfile.TemporaryDirectory() as tmp:
        net.reply("POST", "/2/tweets", 201, {"data": {"id": "1", "text": "t"}})
        net.reply("POST", f"/v21.0/{PAGE}/feed", 200, {"id": f"{PAGE}_1"})
        net.handler(
            "POST", "/rest/posts", lambda r: Reply(201, b"", {"x-restli-id": "urn:li:share:1"})
        )
        token = Path(tmp) / "x.json"
        token.write_text(
            json.dumps(
                {"access_token": "a", "refresh_token": "r", "expires_at": time.time() + 7200}
            )
        )
        cases = {
            "x oauth1 (tweepy, HMAC-SHA1)": XConnector(
                base_url=net.url, oauth1=("k", "s", "t", "ts")
            ),
            "x oauth2 (tweepy, bearer + token file)": XConnector(
                base_url=net.url,
                oauth2=TokenFile(
                    SecretRef("file", str(token)), token_url=f"{net.url}/t", client_id="c"
                ),
            ),
            "facebook (facebook-sdk)": FacebookConnector(page_id=PAGE, token="t", base_url=net.url),
            "linkedin (OAuth2Session)": LinkedInConnector(
                author="urn:li:person:a", token="t", base_url=net.url
            ),
        }
        print(f"publish, {n} posts each, loopback server (ms):")
        for name, connector in cases.items():
            counter = iter(range(10**9))

            def send(c: Any = connector, numbers: Any = counter) -> object:
                return c.publish(post(next(numbers)))

            med, p90 = timed(send, n)
            print(f"  {name:42s} median {med:6.2f}  p90 {p90:6.2f}")


def budget(sizes: list[int]) -> None:
    print("budget check before a claim (SQLite file), by posts already published on the channel")
    print("(4 a day, so about 100 of them fall in the current month):")
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "c"
            root.mkdir()
            (root / "brand.yaml").write_text("name: bench\n")
            (root / "sources.yaml").write_text("sources: []\n")
            (root / "channels.yaml").write_text(
                "channels:\n  - name: x\n    network: x\n"
                "    api_key: env:A\n    api_secret: env:B\n"
                "    access_token: env:C\n    access_token_secret: env:D\n"
                "    monthly_budget: 1000\n"
            )
            config = load_config(root)
            store = Store.open("bench", url=f"sqlite:///{tmp}/gw.db")
            now = datetime(2026, 11, 26, tzinfo=UTC)
            store.posts.add(
                [
                    Post("x", "tip", Kind.VALUE, f"p{i} https://e.com/{i}", PostState.PUBLISHED,
                         link=f"https://e.com/{i}", network="x", origin="own",
                         published_at=now - timedelta(hours=6 * i), own_key=f"k{i}")
                    for i in range(size)
                ],
                now,
            )  # fmt: skip

            def check(config: Any = config, store: Store = store, now: datetime = now) -> object:
                return budget_check(config, store, config.channels[0], now)

            med, p90 = timed(check, 20)
            print(f"  {size:6d} published posts: median {med:7.2f} ms  p90 {p90:7.2f} ms")
            store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=200)
    args = parser.parse_args()
    connectors(args.posts)
    budget([100, 1_000, 10_000])
