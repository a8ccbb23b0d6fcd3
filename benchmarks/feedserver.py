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


def _sentence(rng: random.Random) -> str:
    words = rng.choices(_VOCAB, cum_weights=_CUMULATIVE, k=rng.randint(8, 22))
    return " ".join(words).capitalize() + "."


def _paragraph(rng: random.Random, site: str, sentences: int) -> str:
    """A paragraph as blogs write them: sentences, an inline link, some emphasis."""
    parts = [_sentence(rng) for _ in range(sentences)]
    k = rng.randrange(len(parts))
    parts[k] = f'<a href="{site}/tag/{rng.choice(_VOCAB)}">{parts[k]}</a>'
    parts[0] = f"<em>{parts[0]}</em>" if rng.random() < 0.3 else parts[0]
    return "<p>" + " ".join(parts) + "</p>"


def _figure(rng: random.Random, site: str, j: int) -> str:
    src = f"{site}/wp-content/uploads/2026/11/photo-{j}"
    return (
        f'<figure class="wp-block-image size-large"><img loading="lazy" width="1024" '
        f'height="683" src="{src}-1024x683.jpg" alt="{_sentence(rng)}" '
        f'srcset="{src}-1024x683.jpg 1024w, {src}-300x200.jpg 300w, {src}-768x512.jpg 768w" '
        f'sizes="(max-width: 1024px) 100vw, 1024px" /><figcaption>{_sentence(rng)}'
        "</figcaption></figure>"
    )


def _shape(feed: int) -> tuple[int, bool]:
    """How much a feed says per item: summary paragraphs, and whether it carries full content.
    Tuned so the generated feeds match the sizes of ``../shared/corpora/realworld-feeds``
    (median feed ~1.7 KB per item, mean ~2.5 KB; two feeds in five carry full content)."""
    return 1 + feed % 3, feed % 5 in (0, 3)


def feed_body(
    feed: int, items: int, base: str, *, now: datetime = _EPOCH, shape: str = "realistic"
) -> bytes:
    """One generated feed (RSS 2.0 for even numbers, Atom for odd ones).

    ``shape="realistic"`` writes items the size real feeds have (HTML summaries with links and
    images, categories, full content in two feeds of five); ``"full-content"`` gives every feed
    the whole article, as photography blogs' WordPress feeds do; ``"minimal"`` writes a
    one-sentence summary and nothing else (session 1's benchmark shape).
    """
    atom = feed % 2 == 1
    parts: list[str] = []
    site = f"https://site{feed}.example"
    rich = shape in ("realistic", "full-content")
    paragraphs, with_content = _shape(feed)
    if shape == "full-content":  # every feed a blog's WordPress feed: the whole article
        with_content = True
    if atom:
        parts.append(
            '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>Site {feed}</title><id>{site}/</id>"
            f'<link href="{site}/"/><updated>{now.isoformat()}</updated>'
        )
    else:
        parts.append(
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
            f"<title>Site {feed}</title><link>{site}/</link><description>Feed {feed}</description>"
        )
    for j in range(items):
        when = now - timedelta(hours=j, minutes=feed % 60)
        link = f"{site}/posts/{j}?utm_source=rss"
        title = escape(_title(feed, j))
        categories = ""
        content = ""
        if rich:
            rng = random.Random(feed * 7_919 + j)
            html = "".join(_paragraph(rng, site, rng.randint(2, 5)) for _ in range(paragraphs))
            html += (
                f'<p>The post <a href="{site}/posts/{j}">{title}</a> appeared first on '
                f"Site {feed}.</p>"
            )
            summary = escape(html)
            tags = rng.sample(_VOCAB[:200], 3)
            if with_content:
                body = _figure(rng, site, j) + "".join(
                    _paragraph(rng, site, rng.randint(3, 5)) for _ in range(5)
                )
                content = body.replace("]]>", "]]]]><![CDATA[>")
            if atom:
                categories = "".join(f'<category term="{t}"/>' for t in tags)
                content = f'<content type="html">{escape(content)}</content>' if content else ""
            else:
                categories = "".join(f"<category><![CDATA[{t}]]></category>" for t in tags)
                if content:
                    content = f"<content:encoded><![CDATA[{content}]]></content:encoded>"
        else:
            summary = escape(
                f"<p>{title}. A few sentences about the story, as most feeds give: "
                "what happened, who did it, and why a photographer would care.</p>"
            )
        if atom:
            parts.append(
                f'<entry><title>{title}</title><link href="{link}"/><id>{site}/{j}</id>'
                f"<updated>{when.isoformat()}</updated><author><name>Author {feed}</name></author>"
                f'{categories}<summary type="html">{summary}</summary>{content}</entry>'
            )
        else:
            creator = (
                f"<dc:creator><![CDATA[Author {feed}]]></dc:creator>"
                if rich
                else (f"<author>Author {feed}</author>")
            )
            parts.append(
                f"<item><title>{title}</title><link>{link}</link><guid>{site}/{j}</guid>"
                f"<pubDate>{format_datetime(when)}</pubDate>{creator}{categories}"
                f"<description>{summary}</description>{content}</item>"
            )
    parts.append("</feed>" if atom else "</channel></rss>")
    return "".join(parts).encode()


def host_of(feed: int, hosts: int) -> str:
    n = feed % hosts + 1
    return f"127.0.{n // 250}.{n % 250 + 1}" if n >= 250 else f"127.0.0.{n}"


def _serve(
    n: int,
    items: int,
    latency: float,
    hosts: int,
    shape: str,
    validators: bool,
    port_q: mp.Queue,  # type: ignore[type-arg]
) -> None:
    from aiohttp import web

    bodies = [feed_body(i, items, "", shape=shape) for i in range(n)]
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
        if not validators:  # a server that never answers 304: every request gets the body
            ctype = "application/atom+xml" if i % 2 else "application/rss+xml"
            return web.Response(body=body, content_type=ctype, charset="utf-8")
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
        port_q.put((port, sum(map(len, bodies))))
        await asyncio.Event().wait()

    asyncio.run(main())


class FeedServerProcess:
    """``with FeedServerProcess(n, items, latency) as server: server.urls``"""

    def __init__(
        self,
        n: int,
        items: int,
        latency: float,
        hosts: int = 64,
        shape: str = "realistic",
        validators: bool = True,
    ) -> None:
        self.n, self.items, self.latency, self.hosts = n, items, latency, hosts
        ctx = mp.get_context("spawn")
        self._q: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
        self._proc = ctx.Process(
            target=_serve,
            args=(n, items, latency, hosts, shape, validators, self._q),
            daemon=True,
        )
        self.port = 0
        self.total_bytes = 0

    def __enter__(self) -> FeedServerProcess:
        self._proc.start()
        self.port, self.total_bytes = self._q.get(timeout=300)
        return self

    def __exit__(self, *exc: object) -> None:
        self._proc.terminate()
        self._proc.join(10)

    @property
    def urls(self) -> list[str]:
        return [f"http://{host_of(i, self.hosts)}:{self.port}/feed/{i}.xml" for i in range(self.n)]
