"""A benchmark feed server: N generated feeds over aiohttp, in its own process.

Each feed is served with an ETag and a Last-Modified and answers 304 to a matching conditional
GET, after ``latency`` seconds either way (a remote server's round trip). Feeds alternate RSS 2.0
and Atom; one title in ten is told again by another feed (same-story duplicates for dedupe).
The feeds are spread over ``hosts`` loopback addresses (127.0.0.1, 127.0.0.2, ...), so per-host
connection limits behave as they would against many sites.

The server runs in a separate process so that it never shares the client's event loop or GIL.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing as mp
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

__all__ = ["FeedServerProcess", "feed_body"]

_EPOCH = datetime(2026, 11, 1, tzinfo=UTC)
_SYLLABLES = ["ka", "lo", "mi", "ne", "su", "ra", "te", "vi", "po", "da"]
_SYLLABLES += ["ge", "lu", "fo", "ri", "sa", "no", "be", "ta", "mo", "ze"]
#: A Zipf-like vocabulary of 4,000 made-up words: a few very common, most rare, as in real titles.
_VOCAB = [
    _SYLLABLES[i % 20] + _SYLLABLES[i // 20 % 20] + (_SYLLABLES[i // 400] if i >= 400 else "")
    for i in range(4000)
]
_CUMULATIVE = list(itertools.accumulate(1 / (rank + 1) ** 1.05 for rank in range(len(_VOCAB))))


def _title(feed: int, item: int) -> str:
    # One item in ten repeats a story another feed tells (same words, another case).
    if item % 10 == 0:
        rng = random.Random((feed // 2) * 1_000_003 + item)
        suffix = ""
    else:
        rng = random.Random(feed * 1_000_003 + item)
        # Most titles name something of their own (a product, a person, a place).
        suffix = f" {_SYLLABLES[feed % 20]}{feed}x{item}"
    words = rng.choices(_VOCAB, cum_weights=_CUMULATIVE, k=rng.randint(5, 11))
    return " ".join(words).capitalize() + suffix


def feed_body(feed: int, items: int, base: str, *, now: datetime = _EPOCH) -> bytes:
    """One generated feed (RSS 2.0 for even numbers, Atom for odd ones)."""
    atom = feed % 2 == 1
    parts: list[str] = []
    site = f"https://site{feed}.example"
    if atom:
        parts.append(
            '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>Site {feed}</title><id>{site}/</id>"
            f'<link href="{site}/"/><updated>{now.isoformat()}</updated>'
        )
    else:
        parts.append(
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>Site {feed}</title><link>{site}/</link><description>Feed {feed}</description>"
        )
    for j in range(items):
        when = now - timedelta(hours=j, minutes=feed % 60)
        link = f"{site}/posts/{j}?utm_source=rss"
        title = escape(_title(feed, j))
        summary = escape(
            f"<p>{title}. A few sentences about the story, as most feeds give: "
            "what happened, who did it, and why a photographer would care.</p>"
        )
        if atom:
            parts.append(
                f'<entry><title>{title}</title><link href="{link}"/><id>{site}/{j}</id>'
                f"<updated>{when.isoformat()}</updated><author><name>Author {feed}</name></author>"
                f'<summary type="html">{summary}</summary></entry>'
            )
        else:
            parts.append(
                f"<item><title>{title}</title><link>{link}</link><guid>{site}/{j}</guid>"
                f"<pubDate>{format_datetime(when)}</pubDate><author>Author {feed}</author>"
                f"<description>{summary}</description></item>"
            )
    parts.append("</feed>" if atom else "</channel></rss>")
    return "".join(parts).encode()


def host_of(feed: int, hosts: int) -> str:
    n = feed % hosts + 1
    return f"127.0.{n // 250}.{n % 250 + 1}" if n >= 250 else f"127.0.0.{n}"


def _serve(n: int, items: int, latency: float, hosts: int, port_q: mp.Queue) -> None:  # type: ignore[type-arg]
    from aiohttp import web

    bodies = [feed_body(i, items, "") for i in range(n)]
    etags = [f'"v1-{i}"' for i in range(n)]
    last_modified = format_datetime(_EPOCH, usegmt=True)

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            i = int(request.match_info["n"])
            body = bodies[i]
        except (ValueError, IndexError):
            raise web.HTTPNotFound() from None
        if latency:
            await asyncio.sleep(latency)
        headers = {"ETag": etags[i], "Last-Modified": last_modified}
        if request.headers.get("If-None-Match") == etags[i] or (
            "If-None-Match" not in request.headers
            and request.headers.get("If-Modified-Since") == last_modified
        ):
            return web.Response(status=304, headers=headers)
        ctype = "application/atom+xml" if i % 2 else "application/rss+xml"
        return web.Response(body=body, headers=headers, content_type=ctype, charset="utf-8")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feed/{n}.xml", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        first = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await first.start()
        port = first._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        for h in range(2, hosts + 1):
            await web.TCPSite(runner, host_of(h - 1, hosts), port, backlog=1024).start()
        port_q.put(port)
        await asyncio.Event().wait()

    asyncio.run(main())


class FeedServerProcess:
    """``with FeedServerProcess(n, items, latency) as server: server.urls``"""

    def __init__(self, n: int, items: int, latency: float, hosts: int = 64) -> None:
        self.n, self.items, self.latency, self.hosts = n, items, latency, hosts
        ctx = mp.get_context("spawn")
        self._q: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
        self._proc = ctx.Process(
            target=_serve, args=(n, items, latency, hosts, self._q), daemon=True
        )
        self.port = 0

    def __enter__(self) -> FeedServerProcess:
        self._proc.start()
        self.port = self._q.get(timeout=120)
        return self

    def __exit__(self, *exc: object) -> None:
        self._proc.terminate()
        self._proc.join(10)

    @property
    def urls(self) -> list[str]:
        return [f"http://{host_of(i, self.hosts)}:{self.port}/feed/{i}.xml" for i in range(self.n)]
