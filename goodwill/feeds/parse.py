"""Feed bodies to entries: RSS 0.9x/2.0, RSS 1.0 (RDF), Atom and JSON Feed.

fastfeedparser reads almost every feed, about twenty times faster than feedparser; feedparser
(slower, more lenient) gets a second try when fastfeedparser raises or finds no usable entry in a
body that looks like a feed. Whatever either returns is normalised here: plain-text titles and
summaries, absolute http(s) links, aware UTC dates (or ``None``), author names without e-mail
addresses. Anything that is not a feed raises ``ParseError`` with a one-line reason.

XML entities: a body whose DOCTYPE declares entities is refused before any parser sees it
(``ParseError("feed declares XML entities")``). feedparser hands documents to expat, which expands
internal entities (the "billion laughs" attack); fastfeedparser's lxml parser does not expand them
but silently drops each reference and the text after it. Real feeds do not declare entities, so
refusing is both the safe and the honest answer. Neither parser loads external DTDs or entities:
lxml runs with ``resolve_entities=False`` and no network, expat with external entities off.
"""

from __future__ import annotations

import calendar
import functools
import html
import io
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import urljoin, urlsplit

import fastfeedparser
from lxml import etree

from goodwill.errors import ParseError
from goodwill.html import html_to_text, looks_like_html, summary_html, summary_text, truncate_words

__all__ = [
    "TITLE_MAX_CHARS",
    "ParsedEntry",
    "ParsedFeed",
    "parse_feed",
]

#: A title longer than this is not a title; it is cut the same way.
TITLE_MAX_CHARS = 1000
AUTHOR_MAX_CHARS = 200
#: Dates before this are typos or epoch placeholders, not news.
EARLIEST_DATE = datetime(1990, 1, 1, tzinfo=UTC)
#: Dates later than now plus this are a wrong clock or a wrong time zone on the publisher's side.
FUTURE_TOLERANCE = timedelta(days=2)


class ParsedEntry(NamedTuple):
    """One entry as Goodwill needs it; text fields are plain text, dates aware UTC. The
    summary is kept as HTML (``goodwill.html.summary_html``) and made text when read
    (``summary``, at most ``goodwill.html.SUMMARY_MAX_CHARS`` characters, cut at a word).

    A named tuple, not a frozen dataclass: a parse worker makes fifty thousand of them in a
    large run, and a frozen dataclass sets each field through ``object.__setattr__``."""

    link: str | None
    title: str
    author: str | None
    summary_html: str
    published: datetime | None
    guid: str | None

    @property
    def summary(self) -> str:
        return summary_text(self.summary_html)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None
    link: str | None
    entries: list[ParsedEntry]


# --- sniffing ----------------------------------------------------------------------------------

_SNIFF_BYTES = 65536
_FEED_ROOTS = frozenset({"rss", "feed", "rdf", "channel"})
_HTML_ROOTS = frozenset(
    {"html", "head", "body", "div", "p", "span", "br", "a", "script", "style", "meta", "link"}
    | {"title", "table", "form", "iframe", "img", "h1", "h2", "center", "font", "noscript"}
)
_NOT_FEED_ROOTS = {
    "opml": "not a feed: looks like an OPML outline",
    "urlset": "not a feed: looks like a sitemap",
    "sitemapindex": "not a feed: looks like a sitemap",
}
_RE_ELEMENT_START = re.compile(r"<([A-Za-z_][\w.\-]*(?::[\w.\-]+)?)")
_RE_FEED_MARKER = re.compile(r"<(?:\?xml\b|rss\b|feed\b|rdf:rdf\b)", re.IGNORECASE)
_RE_XML_BASE = re.compile(r"""\bxml:base\s*=\s*(["'])(.*?)\1""", re.DOTALL)
_RE_XML_DECL_ENCODING = re.compile(r"""^<\?xml[^>]*\bencoding\s*=\s*["']""")
_RE_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:\-]+)""", re.IGNORECASE)
_RE_TAB_NEWLINE = re.compile(r"[\t\n\r]")
_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)
# How the first "<" looks in each wide encoding when there is no byte-order mark.
_WIDE_PATTERNS = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<", "utf-16-be"),
    (b"<\x00", "utf-16-le"),
)


@dataclass(frozen=True, slots=True)
class _Sniff:
    kind: str  # "xml", "json", "html", "text"
    root: str = ""  # local name of the first element, lowercased
    declares_entities: bool = False
    declares_encoding: bool = False  # a byte-order mark or an XML declaration with encoding=
    xml_base: str | None = None


def _head_text(body: bytes) -> tuple[str, bool]:
    """The first bytes of ``body`` as text good enough to read markup, and whether a BOM said
    what the encoding is."""
    head = body[:_SNIFF_BYTES]
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return head[len(bom) :].decode(codec, errors="replace"), True
    for pattern, codec in _WIDE_PATTERNS:
        if head.startswith(pattern):
            return head.decode(codec, errors="replace").lstrip("\ufeff"), True
    # Markup is ASCII in every other encoding a feed uses; latin-1 never fails to decode.
    return head.decode("latin-1"), False


def _doctype_end(text: str, start: int) -> int:
    """Index of the ">" that closes the DOCTYPE opened at ``start``, or -1; quote- and
    internal-subset-aware."""
    i = start + 9
    n = len(text)
    in_subset = False
    while i < n:
        c = text[i]
        if c in "\"'":
            close = text.find(c, i + 1)
            if close < 0:
                return -1
            i = close + 1
            continue
        if in_subset:
            if text.startswith("<!--", i):
                close = text.find("-->", i + 4)
                if close < 0:
                    return -1
                i = close + 3
                continue
            if c == "]":
                in_subset = False
        elif c == "[":
            in_subset = True
        elif c == ">":
            return i
        i += 1
    return -1


def _scan_prolog(text: str, pos: int) -> tuple[str, int, bool, bool]:
    """Walk declarations, comments and instructions from ``pos`` to the first element.

    Returns the element's local name (lowercased, "" if none found), its position, whether a
    DOCTYPE declares entities, and whether the DOCTYPE says html.
    """
    declares_entities = False
    doctype_html = False
    while True:
        start = text.find("<", pos)
        if start < 0:
            return "", -1, declares_entities, doctype_html
        if text.startswith("<?", start):
            end, width = text.find("?>", start + 2), 2
        elif text.startswith("<!--", start):
            end, width = text.find("-->", start + 4), 3
        elif text[start + 1 : start + 9].upper() == "!DOCTYPE":
            end, width = _doctype_end(text, start), 1
            declaration = text[start : end if end >= 0 else len(text)]
            if "<!ENTITY" in declaration:
                declares_entities = True
            words = declaration[9:].split(None, 1)
            if words and words[0].lower() == "html":
                doctype_html = True
        elif text.startswith("<!", start):
            end, width = text.find(">", start + 2), 1
        else:
            match = _RE_ELEMENT_START.match(text, start)
            if match is None:  # a stray "<" in text before the document: skip it
                pos = start + 1
                continue
            return match.group(1).rsplit(":", 1)[-1].lower(), start, declares_entities, doctype_html
        if end < 0:
            return "", -1, declares_entities, doctype_html
        pos = end + width


def _sniff(body: bytes) -> _Sniff:
    text, has_bom = _head_text(body)
    text = text.lstrip()
    if not text:
        return _Sniff("text")
    if text[0] in "{[":
        return _Sniff("json", declares_encoding=has_bom)
    first = text.find("<")
    if first < 0:
        return _Sniff("text")
    if first > 0:  # text before any markup: only a feed further on (behind a warning) counts
        marker = _RE_FEED_MARKER.search(text, first)
        if marker is None:
            return _Sniff("text")
        first = marker.start()
    root, at, entities, doctype_html = _scan_prolog(text, first)
    if root in _HTML_ROOTS or (doctype_html and root not in _FEED_ROOTS):
        # A feed behind junk (PHP warnings are HTML) is still a feed: fastfeedparser skips to
        # the XML; look at what it will see.
        marker = _RE_FEED_MARKER.search(text, max(at, first) + 1)
        if marker is None:
            return _Sniff("html", root=root)
        root, at, more_entities, _ = _scan_prolog(text, marker.start())
        entities = entities or more_entities
    xml_base = None
    if at >= 0:
        tag_end = text.find(">", at)
        start_tag = text[at : tag_end if tag_end >= 0 else len(text)]
        match = _RE_XML_BASE.search(start_tag)
        if match:
            xml_base = match.group(2).strip()
    declares_encoding = has_bom or _RE_XML_DECL_ENCODING.match(text[first:]) is not None
    return _Sniff("xml", root, entities, declares_encoding, xml_base)


def _transcode_to_http_charset(body: bytes, content_type: str | None) -> tuple[bytes, bool]:
    """Re-encode ``body`` as UTF-8 from the HTTP charset when the body itself says nothing about
    its encoding and is not valid UTF-8. Returns the body and whether it was re-encoded."""
    if not content_type:
        return body, False
    match = _RE_CHARSET.search(content_type)
    if match is None:
        return body, False
    charset = match.group(1).lower()
    if charset in ("utf-8", "utf8", "us-ascii", "ascii"):
        return body, False
    try:
        body.decode("utf-8")
        return body, False
    except UnicodeDecodeError:
        pass
    try:
        return body.decode(charset).encode("utf-8"), True
    except (LookupError, UnicodeDecodeError):
        return body, False


# --- field normalisation -----------------------------------------------------------------------


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _title_text(raw: str) -> str:
    """Titles are plain text or HTML, unlabelled: strip markup only when it looks like markup."""
    if looks_like_html(raw):
        return html_to_text(raw, TITLE_MAX_CHARS)
    return truncate_words(" ".join(raw.split()), TITLE_MAX_CHARS)


_RE_ABSOLUTE_HTTP = re.compile(r"https?://[^/\s]", re.IGNORECASE)


def _http_link(raw: Any, base: str) -> str | None:
    link = _str(raw)
    if "\t" in link or "\n" in link or "\r" in link:
        link = _RE_TAB_NEWLINE.sub("", link)
    link = link.strip()
    if not link:
        return None
    if _RE_ABSOLUTE_HTTP.match(link):  # the common case, without two urlsplit calls
        return link
    try:
        absolute = urljoin(base, link)
        parts = urlsplit(absolute)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return absolute


_RE_EMAIL = re.compile(r"[^\s@()<>]+@[^\s@()<>]+\.[^\s@()<>]+")
_RE_AUTHOR_BY = re.compile(r"^by\s+", re.IGNORECASE)
_RE_PARENTHESISED = re.compile(r"(.*?)\s*\((.*)\)")


def _author_name(raw: Any) -> str | None:
    """A display name: "jane@example.com (Jane Doe)" and "Jane Doe (jane@…)" give "Jane Doe";
    a bare e-mail address gives ``None`` (it is not a credit, and it is personal data)."""
    raw = _str(raw)
    text = html_to_text(raw) if "<" in raw or "&" in raw else raw
    text = " ".join(text.split())
    if not text:
        return None
    if "@" in text:  # an e-mail address to drop (most names have none: skip the regexes)
        parenthesised = _RE_PARENTHESISED.fullmatch(text)
        if parenthesised:
            outside, inside = parenthesised.group(1).strip(), parenthesised.group(2).strip()
            if _RE_EMAIL.fullmatch(outside):
                text = inside
            elif _RE_EMAIL.fullmatch(inside):
                text = outside
        text = _RE_EMAIL.sub("", text)
    text = text.strip(" ,;<>()")
    text = _RE_AUTHOR_BY.sub("", text).strip()
    if not text:
        return None
    return truncate_words(text, AUTHOR_MAX_CHARS)


def _sane_date(value: datetime | None, now: datetime) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        value = value.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    if value < EARLIEST_DATE or value > now + FUTURE_TOLERANCE:
        return None
    return value


def _iso_date(raw: Any) -> datetime | None:
    text = _str(raw).strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _struct_date(raw: Any) -> datetime | None:
    if not isinstance(raw, time.struct_time):
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(raw), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _entry(
    *,
    link: str | None,
    raw_title: str,
    author: str | None,
    raw_summary: str,
    published: datetime | None,
    guid: Any,
    now: datetime,
) -> ParsedEntry | None:
    title = _title_text(raw_title)
    kept = summary_html(raw_summary)
    if not (link or title or summary_text(kept)):
        return None
    guid_text = _str(guid).strip() or None
    return ParsedEntry(
        link=link,
        title=title,
        author=author,
        summary_html=kept,
        published=_sane_date(published, now),
        guid=guid_text,
    )


def _first_content_value(entry: Any) -> str:
    content = entry.get("content")
    if isinstance(content, list):
        for part in content:
            value = _str(part.get("value")) if isinstance(part, dict) else ""
            if value:
                return value
    return ""


_RE_ANY_TAG = re.compile(r"<[^>]+>")


def _fast_summary(raw: Any) -> str:
    """The entry's summary HTML. fastfeedparser makes up a description from the content when
    the entry has none, keeping <style> text; the content itself is the better source then."""
    description = _str(raw.get("description"))
    content = _first_content_value(raw)
    if not content:
        return description
    if not description or (
        len(description) <= 512
        and "<" not in description
        and " ".join(html.unescape(_RE_ANY_TAG.sub(" ", content[:2048])).split()).startswith(
            " ".join(description.split())[:200]
        )
    ):
        return content
    return description


class _Authors(dict[str, str | None]):
    """One feed's author names, each worked out once: its entries name the same few people."""

    def __missing__(self, raw: str) -> str | None:
        self[raw] = name = _author_name(raw)
        return name


def _from_fastfeedparser(result: Any, base: str, now: datetime) -> ParsedFeed:
    info = result.get("feed") or {}
    entries = []
    authors = _Authors()
    for raw in result.get("entries") or []:
        entry = _entry(
            link=_http_link(raw.get("link"), base),
            raw_title=_str(raw.get("title")),
            author=authors[_str(raw.get("author"))],
            raw_summary=_fast_summary(raw),
            published=_iso_date(raw.get("published")) or _iso_date(raw.get("updated")),
            guid=raw.get("id"),
            now=now,
        )
        if entry is not None:
            entries.append(entry)
    return ParsedFeed(
        title=_title_text(_str(info.get("title"))) or None,
        link=_http_link(info.get("link"), base),
        entries=entries,
    )


def _from_feedparser(result: Any, base: str, now: datetime) -> ParsedFeed:
    info = result.get("feed") or {}
    entries = []
    authors = _Authors()
    for raw in result.get("entries") or []:
        entry = _entry(
            link=_http_link(raw.get("link"), base),
            raw_title=_str(raw.get("title")),
            author=authors[_str(raw.get("author"))],
            raw_summary=_str(raw.get("summary")) or _first_content_value(raw),
            # dict.get: FeedParserDict.get("updated_parsed") warns and aliases the published date.
            published=_struct_date(dict.get(raw, "published_parsed"))
            or _struct_date(dict.get(raw, "updated_parsed")),
            guid=raw.get("id"),
            now=now,
        )
        if entry is not None:
            entries.append(entry)
    return ParsedFeed(
        title=_title_text(_str(info.get("title"))) or None,
        link=_http_link(info.get("link"), base),
        entries=entries,
    )


def _usable(feed: ParsedFeed | None) -> int:
    """How many entries could become items (they have a link or at least a title)."""
    if feed is None:
        return 0
    return sum(1 for e in feed.entries if e.link or e.title)


class _Discard:
    """A parser target that builds nothing: the parse only checks well-formedness."""

    def close(self) -> None:
        return None


def _is_well_formed(body: bytes) -> bool:
    """Whether ``body`` is well-formed XML (libxml2, strict, no tree built: ~450 MB/s).

    No DTD is loaded, no entity resolved, nothing fetched; entity declarations were refused
    before this point.
    """
    parser = etree.XMLParser(
        recover=False,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        target=_Discard(),
    )
    try:
        etree.fromstring(body, parser)
    except (etree.XMLSyntaxError, ValueError):
        return False
    return True


# fastfeedparser's platform wheels carry a native extractor that reads well-formed UTF-8 RSS and
# Atom and declines anything else, which then goes to lxml in recover mode. Only that second
# path can drop text from a broken document, so only its results need the well-formedness
# check (about a tenth of a worker's parse time, profiled, when done for every feed).
# fastfeedparser does not say which path it took: its private ``_parse_with_core`` is wrapped
# to find out. With a version that lacks it, nothing is wrapped and every result is checked.
_core_read = threading.local()


def _probe_core() -> None:
    module = getattr(fastfeedparser, "main", None)
    original = getattr(module, "_parse_with_core", None)
    if original is None or getattr(module, "_core", None) is None:
        return
    if getattr(original, "_goodwill_probe", False):  # already wrapped (module reloaded)
        return

    @functools.wraps(original)
    def probe(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        _core_read.done = result is not None
        return result

    probe._goodwill_probe = True  # type: ignore[attr-defined]
    module._parse_with_core = probe  # type: ignore[union-attr]


_probe_core()


def _run_fastfeedparser(body: bytes) -> tuple[Any | None, bool]:
    """fastfeedparser's result (``None`` if it failed) and whether its native extractor read
    the document (then it was read strictly, not recovered)."""
    _core_read.done = False
    try:
        # Tags, media and enclosures are never used: a third of the parse, skipped.
        result = fastfeedparser.parse(
            body, include_tags=False, include_media=False, include_enclosures=False
        )
    except Exception:  # third-party parser: any failure means "try the other one"
        return None, False
    return result, _core_read.done


def _run_feedparser(body: bytes, content_type: str | None) -> Any | None:
    import feedparser  # only for the few feeds fastfeedparser cannot read: imported then

    headers = {"content-type": content_type} if content_type else {}
    try:
        # A stream, never bytes or str: feedparser opens a bytes/str argument as a file name or
        # URL first, so a body reading "/etc/passwd" would be read from the local disk.
        result = feedparser.parse(
            io.BytesIO(body),
            response_headers=headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception:  # third-party parser: any failure means "not readable"
        return None
    if not result.get("version") and not result.get("entries"):
        return None
    return result


def parse_feed(
    body: bytes, *, url: str, content_type: str | None = None, now: datetime | None = None
) -> ParsedFeed:
    """Parse a feed body fetched from ``url`` (the final URL, after redirects).

    ``content_type`` is the HTTP header, used for its charset when the body declares none.
    ``now`` (default: the current time) bounds dates: later than ``now`` plus two days, or before
    1990, becomes ``None``. Raises ``ParseError`` with a one-line reason and nothing else.
    """
    now = now or datetime.now(UTC)
    if not body or not body.strip():
        raise ParseError("empty body")
    sniff = _sniff(body)
    if sniff.kind == "html":
        raise ParseError("not a feed: looks like an HTML page")
    if sniff.kind == "text":
        raise ParseError("not a feed: no XML or JSON in the body")
    if sniff.declares_entities:
        raise ParseError("feed declares XML entities")
    if sniff.root in _NOT_FEED_ROOTS:
        raise ParseError(_NOT_FEED_ROOTS[sniff.root])

    if sniff.kind == "json":
        result, _ = _run_fastfeedparser(body.lstrip().removeprefix(b"\xef\xbb\xbf"))
        if result is None:
            raise ParseError("not a feed: JSON but not a JSON Feed")
        return _from_fastfeedparser(result, url, now)

    effective_type = content_type
    if not sniff.declares_encoding:
        body, transcoded = _transcode_to_http_charset(body, content_type)
        if transcoded and content_type:
            effective_type = content_type.split(";", 1)[0] + "; charset=utf-8"

    base = urljoin(url, sniff.xml_base) if sniff.xml_base else url
    fast_result, read_strictly = _run_fastfeedparser(body)
    fast = _from_fastfeedparser(fast_result, base, now) if fast_result is not None else None
    if fast is not None and _usable(fast) and (read_strictly or _is_well_formed(body)):
        return fast

    # fastfeedparser gave up, found nothing, or read a broken document in recovery mode, which
    # drops text at each stray "&" or undefined entity ("a?x=1&y=2" becomes "a?x=1=2"), and
    # whole items after an unclosed tag. feedparser's loose parser keeps them.
    slow_result = _run_feedparser(body, effective_type)
    slow = _from_feedparser(slow_result, url, now) if slow_result is not None else None
    if slow is not None and (fast is None or _usable(slow) >= max(_usable(fast), 1)):
        if fast is not None and slow.title is None:
            return ParsedFeed(title=fast.title, link=slow.link or fast.link, entries=slow.entries)
        return slow
    if fast is not None:
        return fast
    if slow is not None:
        return slow
    if sniff.root and sniff.root not in _FEED_ROOTS:
        raise ParseError(f"not a feed: an XML document of type <{sniff.root}>")
    raise ParseError("malformed feed: neither RSS, Atom nor RDF could be read from it")
