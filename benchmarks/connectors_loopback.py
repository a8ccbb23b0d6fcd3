"""Per-post cost of the Mastodon and Bluesky connectors against loopback fake servers.

Measures the client side (building the request, HTTP round trip on 127.0.0.1, parsing the
answer): an upper bound on Goodwill's own overhead per post, not the networks' latency.
Run: ``python benchmarks/connectors_loopback.py [N]`` (default 200 posts per network).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connectors import _http  # noqa: E402
from connectors.bluesky import BlueskyConnector, SessionFile  # noqa: E402
from connectors.mastodon import MastodonConnector  # noqa: E402
from goodwill.models import OutgoingPost  # noqa: E402
from tests.connector_tester import FakeServer, sample_post  # noqa: E402
from tests.fakepds import APP_PASSWORD, HANDLE, FakePDS  # noqa: E402
from tests.test_mastodon import TOKEN, routes  # noqa: E402


def timed(label: str, n: int, network: str, publish: Callable[[OutgoingPost], object]) -> None:
    samples = []
    for i in range(n):
        post = sample_post(network, post_id=i, idempotency_key=f"bench-{i}")
        start = time.perf_counter()
        publish(post)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    print(
        f"{label:9} n={n}  median {statistics.median(samples):.2f} ms  "
        f"p90 {samples[int(n * 0.9)]:.2f} ms  max {samples[-1]:.2f} ms"
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    _http.THROTTLE.enabled = False  # the throttle is a deliberate 1 s spacing: not measured
    with tempfile.TemporaryDirectory() as state:
        os.environ["GOODWILL_STATE_DIR"] = state
        with FakeServer() as masto, FakeServer() as sky:
            routes(masto)
            pds = FakePDS(sky).install()
            m = MastodonConnector(masto.url, TOKEN)
            b = BlueskyConnector(
                sky.url, HANDLE, APP_PASSWORD, sessions=SessionFile(sky.url, HANDLE, Path(state))
            )
            m.limit()
            b.verify()
            timed("mastodon", n, "mastodon", m.publish)
            timed("bluesky", n, "bluesky", b.publish)
            print(f"bluesky sessions created: {pds.sessions_created} for {n} posts")


if __name__ == "__main__":
    main()
