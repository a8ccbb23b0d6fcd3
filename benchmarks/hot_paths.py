"""The hot paths' choices side by side, what the comments in ``goodwill`` quote:

    .venv/bin/python -m benchmarks.hot_paths

Each line times Goodwill's way and the plainer one it replaced (or lxml's), on the
benchmark's generated feeds, medians of seven interleaved rounds, and prints their ratio.
"""

from __future__ import annotations

import hashlib
import re
import statistics
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _compare(name: str, ours: Callable[[], object], plain: Callable[[], object]) -> None:
    times: dict[str, list[float]] = {"ours": [], "plain": []}
    for _ in range(7):
        for key, run in (("ours", ours), ("plain", plain)):
            t0 = time.perf_counter()
            run()
            times[key].append(time.perf_counter() - t0)
    a, b = statistics.median(times["ours"]), statistics.median(times["plain"])
    print(f"  {name:<44}{a * 1000:>9.1f} ms {b * 1000:>9.1f} ms {b / a:>6.1f}x")


def _title_key_regex(title: str) -> str:
    text = unicodedata.normalize("NFKD", title.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", text).split())[:200]


def main() -> None:
    import lxml.html

    from benchmarks.feedserver import _title, feed_body
    from goodwill.dedupe import title_key
    from goodwill.feeds import parse as feed_parse
    from goodwill.html import _collapse_spaces, _strip_tags, html_to_text

    bodies = [feed_body(i, 50, "") for i in range(100)]
    summaries = [
        feed_parse._fast_summary(e)
        for b in bodies
        for e in feed_parse._run_fastfeedparser(b)[0]["entries"]
    ]
    stripped = [_strip_tags(s) for s in summaries]
    titles = [_title(f, j) for f in range(100) for j in range(50)]

    def lxml_text() -> None:
        for s in summaries:
            lxml.html.fragment_fromstring(s, create_parent="div").text_content()

    print(f"100 generated feeds ({sum(map(len, bodies)) / 1e6:.0f} MB, {len(summaries)} items)")
    print(f"  {'':<44}{'goodwill':>12} {'plain':>12} {'ratio':>6}")
    _compare(
        "body digest: SHA-256 / BLAKE2b",
        lambda: [hashlib.sha256(b).hexdigest() for b in bodies],
        lambda: [hashlib.blake2b(b, digest_size=16).hexdigest() for b in bodies],
    )
    _compare(
        "title_key: bytes table / regex",
        lambda: [title_key(t) for t in titles],
        lambda: [_title_key_regex(t) for t in titles],
    )
    _compare(
        "collapse spaces: replace / split-join",
        lambda: [_collapse_spaces(s) for s in stripped],
        lambda: [" ".join(s.split()) for s in stripped],
    )
    _compare(
        "summary to text: html_to_text / lxml.html",
        lambda: [html_to_text(s) for s in summaries],
        lxml_text,
    )


if __name__ == "__main__":
    main()
