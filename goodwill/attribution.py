"""Attribution discovery: who wrote an article, and their account on each network.

When ``sources.yaml`` names no handle for a network, the article's own page is read once
(bounded in size and time, cached in the store's ``pages`` table) for the marks publishers put
there: ``twitter:creator`` / ``twitter:site``, ``fediverse:creator``, ``article:author``,
JSON-LD ``author`` / ``publisher``, and ``rel="me"`` profile links. A handle is only ever one the
page states; otherwise the credit is a name, as text. Every credit says where it came from.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import aiohttp

if TYPE_CHECKING:
    from goodwill.config import Source
    from goodwill.models import Item
    from goodwill.store import Store

__all__ = [
    "Credit",
    "PageCredits",
    "credit_for",
    "discover",
    "fetch_pages",
    "parse_page",
]

#: Hosts whose ``/@name`` profile URLs are not fediverse accounts.
_NOT_FEDIVERSE = frozenset(
    {
        "medium.com",
        "youtube.com",
        "m.youtube.com",
        "tiktok.com",
        "threads.net",
        "threads.com",
        "instagram.com",
        "substack.com",
        "vimeo.com",
        "flickr.com",
        "linktr.ee",
        "twitch.tv",
        "x.com",
        "twitter.com",
    }
)
_X_HOSTS = frozenset({"twitter.com", "x.com", "mobile.twitter.com"})
_X_HANDLE = re.compile(r"^@?([A-Za-z0-9_]{1,15})$")
_FEDI_HANDLE = re.compile(r"^@?([A-Za-z0-9_.-]+)@([A-Za-z0-9.-]+\.[A-Za-z]{2,})$")
_BSKY_HANDLE = re.compile(r"^@?([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)$")
_X_RESERVED = frozenset({"home", "share", "intent", "search", "i", "hashtag", "login"})


@dataclass(frozen=True, slots=True)
class PageCredits:
    """What an article page says about who made it (only what it states, normalised)."""

    x_creator: str | None = None
    x_site: str | None = None
    x_profile: str | None = None  # rel=me link to an X profile
    fediverse: str | None = None  # @user@host
    fediverse_from: str | None = None  # "fediverse:creator" or the rel=me URL
    bluesky: str | None = None  # @handle
    author: str | None = None
    author_from: str | None = None
    publisher: str | None = None

    def to_json(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None})

    @classmethod
    def from_json(cls, text: str) -> PageCredits:
        data = json.loads(text or "{}")
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True, slots=True)
class Credit:
    """The credit shown on one network, and where it came from (for the owner's review)."""

    text: str
    source: str
    is_handle: bool = False


# --------------------------------------------------------------------------- parsing


class _HeadParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, list[str]] = {}
        self.rel_me: list[str] = []
        self.json_ld: list[str] = []
        self._in_ld = False
        self._ld: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "meta":
            key = (a.get("name") or a.get("property") or "").strip().lower()
            if key and a.get("content", "").strip():
                self.meta.setdefault(key, []).append(a["content"].strip())
        elif tag in ("a", "link"):
            rels = a.get("rel", "").lower().split()
            if "me" in rels and a.get("href"):
                self.rel_me.append(a["href"].strip())
        elif tag == "script" and a.get("type", "").lower() == "application/ld+json":
            self._in_ld = True
            self._ld = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._in_ld:
            self._in_ld = False
            self.json_ld.append("".join(self._ld))

    def handle_data(self, data: str) -> None:
        if self._in_ld:
            self._ld.append(data)


def _first(meta: dict[str, list[str]], key: str) -> str | None:
    values = meta.get(key)
    return values[0] if values else None


def _x_handle(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    if value.startswith("http"):
        parts = urlsplit(value)
        if parts.hostname not in _X_HOSTS:
            return None
        value = parts.path.strip("/").split("/")[0]
    m = _X_HANDLE.match(value)
    if not m or m.group(1).lower() in _X_RESERVED:
        return None
    return f"@{m.group(1)}"


def _fediverse_from_url(url: str) -> str | None:
    """``https://host/@user`` (a Mastodon-style profile) → ``@user@host``; else None."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host or "." not in host:
        return None
    bare = host.removeprefix("www.")
    if bare in _NOT_FEDIVERSE or any(bare.endswith("." + h) for h in _NOT_FEDIVERSE):
        return None
    if bare == "bsky.app":
        return None
    m = re.fullmatch(r"/@([A-Za-z0-9_.-]+)/?", parts.path)
    if not m:
        return None
    return f"@{m.group(1)}@{host}"


def _bluesky_from_url(url: str) -> str | None:
    parts = urlsplit(url)
    if (parts.hostname or "").lower() != "bsky.app":
        return None
    m = re.fullmatch(r"/profile/([^/]+)/?", parts.path)
    if not m:
        return None
    handle = m.group(1)
    if handle.startswith("did:"):
        return None  # a DID is not something a reader can recognise as a mention
    hm = _BSKY_HANDLE.match(handle)
    return f"@{hm.group(1)}" if hm else None


def _ld_nodes(raw: str) -> Iterable[dict[str, Any]]:
    try:
        data = json.loads(raw)
    except ValueError:
        return
    stack: list[Any] = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            yield node
            if "@graph" in node:
                stack.append(node["@graph"])


def _ld_name(value: Any) -> str | None:
    if isinstance(value, list):
        names = [n for n in (_ld_name(v) for v in value) if n]
        return " and ".join(names[:2]) if names else None
    if isinstance(value, dict):
        name = value.get("name")
        return name.strip() if isinstance(name, str) and name.strip() else None
    if isinstance(value, str) and value.strip() and not value.startswith("http"):
        return value.strip()
    return None


def _ld_same_as(value: Any) -> list[str]:
    out: list[str] = []
    for v in value if isinstance(value, list) else [value]:
        if isinstance(v, dict):
            same = v.get("sameAs") or []
            out.extend(
                s for s in (same if isinstance(same, list) else [same]) if isinstance(s, str)
            )
    return out


def parse_page(html: str, base_url: str) -> PageCredits:
    """Read the attribution marks of one article page (never raises on bad HTML)."""
    parser = _HeadParser()
    try:
        parser.feed(html)
        parser.close()
    except Exception:
        pass
    meta = parser.meta
    ld_author: str | None = None
    ld_publisher: str | None = None
    profiles: list[str] = [urljoin(base_url, href) for href in parser.rel_me]
    for raw in parser.json_ld:
        for node in _ld_nodes(raw):
            if ld_author is None and "author" in node:
                ld_author = _ld_name(node["author"])
                profiles.extend(_ld_same_as(node["author"]))
            if ld_publisher is None and "publisher" in node:
                ld_publisher = _ld_name(node["publisher"])

    x_profile = next((h for h in map(_x_handle, profiles) if h), None)
    fediverse: str | None = None
    fediverse_from: str | None = None
    creator = _first(meta, "fediverse:creator")
    if creator and (m := _FEDI_HANDLE.match(creator.strip())):
        fediverse, fediverse_from = f"@{m.group(1)}@{m.group(2)}", "fediverse:creator"
    else:
        for url in profiles:
            if handle := _fediverse_from_url(url):
                fediverse, fediverse_from = handle, f"rel=me {url}"
                break
    bluesky = next((h for h in map(_bluesky_from_url, profiles) if h), None)

    author_from: str | None = None
    author = _first(meta, "article:author")
    if author and author.startswith("http"):
        author = None  # a profile URL (Facebook's convention), not a name
    if author:
        author_from = "article:author"
    elif ld_author:
        author, author_from = ld_author, "JSON-LD author"
    elif name := _first(meta, "author"):
        author, author_from = name, "meta author"
    publisher = ld_publisher or _first(meta, "og:site_name")
    return PageCredits(
        x_creator=_x_handle(_first(meta, "twitter:creator")),
        x_site=_x_handle(_first(meta, "twitter:site")),
        x_profile=x_profile,
        fediverse=fediverse,
        fediverse_from=fediverse_from,
        bluesky=bluesky,
        author=author,
        author_from=author_from,
        publisher=publisher,
    )


# --------------------------------------------------------------------------- choosing


def credit_for(source: Source, item: Item, network: str, page: PageCredits | None = None) -> Credit:
    """The credit for one network: sources.yaml's handle, else one the page states, else a name.

    Order: the handle configured for the source; the article's author's handle on that network;
    the publisher's handle; the feed's author; the page's author; the site's name.
    """
    handle = source.credit.get(network)  # type: ignore[call-overload]
    if handle:
        return Credit(str(handle), "sources.yaml", is_handle=True)
    if page is not None:
        if network == "x":
            if page.x_creator:
                return Credit(page.x_creator, "page: twitter:creator", True)
            if page.x_profile:
                return Credit(page.x_profile, "page: rel=me X profile", True)
            if page.x_site:
                return Credit(page.x_site, "page: twitter:site (publisher)", True)
        elif network == "mastodon" and page.fediverse:
            return Credit(page.fediverse, f"page: {page.fediverse_from}", True)
        elif network == "bluesky" and page.bluesky:
            return Credit(page.bluesky, "page: rel=me bsky.app profile", True)
    if author := useful_author(item.author, source.name):
        return Credit(author, "feed author" if author == item.author else "feed author + source")
    if page is not None and page.author:
        return Credit(page.author, f"page: {page.author_from}")
    if source.site:
        return Credit(source.site, "sources.yaml site")
    if page is not None and page.publisher:
        return Credit(page.publisher, "page: publisher")
    return Credit(source.name, "source name")


_NOT_A_PERSON = frozenset(
    {
        "admin",
        "administrator",
        "staff",
        "editor",
        "editors",
        "team",
        "webmaster",
        "guest",
        "the editors",
        "newsroom",
        "redaction",
        "rédaction",
        "unknown",
        "anonymous",
    }
)


def useful_author(author: str | None, source: str) -> str | None:
    """The feed's author as a credit a reader recognises, or None.

    "admin" or an e-mail address is no credit; a lone first name that the source's own name
    contains ("David" on David duChemin's blog) becomes the source's name; another lone name
    gets the source beside it ("Mark, Example Blog").
    """
    if not author:
        return None
    name = " ".join(author.split())
    if "@" in name or name.casefold() in _NOT_A_PERSON or len(name) > 80:
        return None
    if " " not in name:
        words = {w.casefold() for w in re.findall(r"\w+", source)}
        if name.casefold() in words:
            return source
        return f"{name}, {source}"
    return name


def needs_page(source: Source, networks: Iterable[str]) -> bool:
    """Whether some network lacks a configured handle (only x, mastodon, bluesky have them)."""
    return any(n in ("x", "mastodon", "bluesky") and not source.credit.get(n) for n in networks)  # type: ignore[call-overload]


# --------------------------------------------------------------------------- fetching


@dataclass
class PageResult:
    url: str
    credits: PageCredits | None
    error: str | None = None


@dataclass
class DiscoverStats:
    fetched: int = 0
    cached: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


_HTML_TYPES = ("text/html", "application/xhtml+xml")
_USER_AGENT = "Goodwill/0.1 (attribution; reads one article page once)"


_PER_HOST = 4  # several articles of one site are usually on one host: at most 4 at a time


async def _fetch_page(
    session: aiohttp.ClientSession,
    url: str,
    max_bytes: int,
    timeout: float,
    sem: asyncio.Semaphore,
    per_host: dict[str, asyncio.Semaphore],
) -> PageResult:
    host_limit = per_host.setdefault(urlsplit(url).hostname or "", asyncio.Semaphore(_PER_HOST))
    # Host first, then the overall slot; the deadline starts once the request has its turn, so
    # waiting behind other pages of the same host never uses it up (as in feeds.fetch).
    async with host_limit, sem:
        try:
            async with (
                asyncio.timeout(timeout),
                session.get(url, allow_redirects=True, max_redirects=5) as response,
            ):
                if response.status != 200:
                    return PageResult(url, None, f"HTTP {response.status}")
                ctype = response.headers.get("Content-Type", "text/html").lower()
                if not any(t in ctype for t in _HTML_TYPES):
                    return PageResult(url, None, f"not a web page ({ctype.split(';')[0]})")
                # Attribution lives in <head> and the article header: the first bytes suffice.
                body = bytearray()
                async for chunk in response.content.iter_chunked(65536):
                    body.extend(chunk)
                    if len(body) >= max_bytes:
                        break
                charset = response.charset or "utf-8"
                try:
                    html = bytes(body[:max_bytes]).decode(charset, errors="replace")
                except LookupError:
                    html = bytes(body[:max_bytes]).decode("utf-8", errors="replace")
                return PageResult(url, parse_page(html, str(response.url)))
        except TimeoutError:
            return PageResult(url, None, "timed out")
        except aiohttp.ClientError as exc:
            return PageResult(url, None, f"network error ({type(exc).__name__})")
        except (OSError, ValueError) as exc:
            return PageResult(url, None, f"error ({type(exc).__name__})")


async def _fetch_all(
    urls: Sequence[str], *, timeout: float, max_bytes: int, concurrency: int
) -> list[PageResult]:
    sem = asyncio.Semaphore(concurrency)
    per_host: dict[str, asyncio.Semaphore] = {}
    # The per-page deadline is asyncio.timeout in _fetch_page: aiohttp's own total would also
    # count the wait for a pooled connection.
    client_timeout = aiohttp.ClientTimeout(
        total=None, sock_connect=min(timeout, 5.0), sock_read=timeout
    )
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=_PER_HOST)
    async with aiohttp.ClientSession(
        timeout=client_timeout, headers={"User-Agent": _USER_AGENT}, connector=connector
    ) as session:
        return list(
            await asyncio.gather(
                *(_fetch_page(session, u, max_bytes, timeout, sem, per_host) for u in urls)
            )
        )


def fetch_pages(
    urls: Sequence[str], *, timeout: float = 8.0, max_bytes: int = 1_000_000, concurrency: int = 8
) -> list[PageResult]:
    """Read article pages concurrently (bounded); each result has credits or an error."""
    if not urls:
        return []
    return asyncio.run(
        _fetch_all(urls, timeout=timeout, max_bytes=max_bytes, concurrency=concurrency)
    )


def discover(
    store: Store,
    urls: Sequence[str],
    now: datetime,
    *,
    timeout: float,
    max_bytes: int,
    concurrency: int,
) -> tuple[dict[str, PageCredits], DiscoverStats]:
    """Credits for each URL: from the ``pages`` cache, else read once now and cached (a page
    that could not be read is tried again once its failure is a few hours old)."""
    from goodwill.store.pages import get_pages, save_pages

    stats = DiscoverStats()
    wanted = list(dict.fromkeys(urls))
    known = get_pages(store, wanted, now)
    stats.cached = len(known)
    missing = [u for u in wanted if u not in known]
    results = fetch_pages(
        missing, timeout=timeout, max_bytes=max_bytes, concurrency=min(concurrency, 16)
    )
    save_pages(store, results, now)
    for r in results:
        if r.credits is None:
            stats.failed += 1
            stats.errors.append(f"{r.url}: {r.error}")
        else:
            stats.fetched += 1
        known[r.url] = r.credits
    return {u: c for u, c in known.items() if c is not None}, stats
