"""HTML fragments from feeds to plain text: titles and summaries for drafting posts.

A few regex passes, not an HTML parser: on the benchmark's summaries it runs at 1.4 to 1.5 times
the speed of ``lxml.html`` text extraction (``benchmarks/hot_paths.py``); it never raises, and it
keeps a ``<`` that opens no tag (``f/1.4 < f/2``, ``<3``) as text.
"""

from __future__ import annotations

import html
import re

__all__ = [
    "ELLIPSIS",
    "SUMMARY_HTML_MAX_CHARS",
    "SUMMARY_MAX_CHARS",
    "html_to_text",
    "looks_like_html",
    "summary_html",
    "summary_text",
    "truncate_words",
]

ELLIPSIS = "…"
#: An item's summary is read as plain text of at most this many characters.
SUMMARY_MAX_CHARS = 1000
#: A feed's summary HTML up to this size is kept as written; a longer one is made text at once.
SUMMARY_HTML_MAX_CHARS = 4000

# Everything between <script>/<style> and their end tag is code, not text; an element left open
# runs to the end of the fragment, as a browser would read it.
_RE_HIDDEN = re.compile(
    r"<(script|style|template|noscript)\b[^<>]*+>.*?(?:</\1\s*>|\Z)", re.IGNORECASE | re.DOTALL
)
_RE_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_RE_CDATA = re.compile(r"<!\[CDATA\[(.*?)(?:\]\]>|\Z)", re.DOTALL)
# A tag is "<" then a letter (or "/" and a letter, or "!"/"?" for declarations). Quoted attribute
# values may hold ">". Possessive quantifiers (Python 3.11) keep every attempt linear: no run of
# characters can be split two ways, so a "<" that never closes costs one scan, not a search.
_RE_TAG = re.compile(
    r"""</?+([a-zA-Z][a-zA-Z0-9:-]*+)"""  # "<", "/" if closing, the name (the one group)
    r"""[^<>"']*+(?:(?:"[^"]*+"|'[^']*+')[^<>"']*+)*+>"""  # attributes, quoted values
    r"""|<[!?][^<>]*+>"""  # <!DOCTYPE ...>, <?php ...?>
)
# A tag left unclosed at the very end ("Read more <a href=") is markup, not text.
_RE_TRAILING_TAG = re.compile(r"</?[a-zA-Z][^<>]*\Z")
# Tags whose boundary separates words when rendered.
_BLOCK_TAGS = frozenset(
    {"address", "article", "aside", "blockquote", "br", "dd", "details", "div", "dl", "dt"}
    | {"figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header"}
    | {"hr", "img", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table"}
    | {"tbody", "td", "tfoot", "th", "thead", "tr", "ul"}
)
_RE_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Whitespace ``str.split`` splits at, other than the space and the three that ASCII text keeps
# once control characters are gone (tab, newline, carriage return).
_RE_RARE_SPACE = re.compile(r"[^\S \t\n\r]")
# What `looks_like_html` accepts as a sign of markup: a closing tag, a void tag or a character
# reference that survived XML decoding (the feed escaped it twice).
_RE_HTML_SIGN = re.compile(
    r"</[a-zA-Z][a-zA-Z0-9]*+\s*>"
    r"|<(?:br|hr|img|wbr)\b[^<>]*+>"
    r"|&(?:[a-zA-Z][a-zA-Z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});"
)


# C0 controls but tab, newline and carriage return, and DEL: bytes that never occur inside a
# UTF-8 multi-byte sequence, so they can be deleted from the encoded text directly.
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])


def _strip_controls(s: str) -> str:
    """``s`` without control characters (``_RE_CONTROL``), at bytes.translate's speed (a tenth
    of the regex's on a typical summary)."""
    encoded = s.encode("utf-8", "surrogatepass")
    kept = encoded.translate(None, _CONTROL_BYTES)
    if len(kept) == len(encoded):
        return s
    return kept.decode("utf-8", "surrogatepass")


class _Separators(dict[str | None, str]):
    """What a tag of each name leaves in the text: a space for a block element, else nothing
    (``None``: a declaration). Learnt per name as met, up to a bound (hostile input can
    invent names without end)."""

    def __missing__(self, name: str | None) -> str:
        separator = " " if name is not None and name.lower() in _BLOCK_TAGS else ""
        if len(self) < 4096:
            self[name] = separator
        return separator


_SEPARATOR = _Separators()


def _strip_tags(s: str) -> str:
    """Tags removed, those of block elements replaced by a space. ``split`` finds each tag as
    ``sub`` would and returns its name between the texts, and a dict lookup mapped over the
    names gives each tag's separator: no Python code runs per tag."""
    parts = _RE_TAG.split(s)  # text, name, text, name, ..., text
    if len(parts) == 1:
        return s
    parts[1::2] = map(_SEPARATOR.__getitem__, parts[1::2])
    return "".join(parts)


def _collapse_spaces(s: str) -> str:
    """``" ".join(s.split())``, for text without control characters. When the only whitespace
    is spaces, tabs and line breaks (94% of the real-world corpus's summaries), runs are
    halved by ``replace`` instead of cutting the text into a string per word: 1.6 to 1.7
    times as fast on the benchmark's summaries (``benchmarks/hot_paths.py``)."""
    if not s.isascii() and _RE_RARE_SPACE.search(s) is not None:
        return " ".join(s.split())
    if "\n" in s:
        s = s.replace("\n", " ")
    if "\t" in s:
        s = s.replace("\t", " ")
    if "\r" in s:
        s = s.replace("\r", " ")
    while "  " in s:
        s = s.replace("  ", " ")
    return s.strip(" ")


def html_to_text(s: str, max_chars: int | None = None) -> str:
    """Plain text of an HTML fragment: tags stripped, script/style dropped, entities unescaped,
    whitespace collapsed to single spaces; cut at a word boundary with "…" past ``max_chars``.

    Never raises for any ``str``. Text that only *looks* like markup after unescaping
    (``&lt;b&gt;``) stays text, because tags are stripped before entities are decoded.
    """
    if not s:
        return ""
    if "<" in s:
        if "<!--" in s:
            s = _RE_COMMENT.sub(" ", s)
        s = _RE_HIDDEN.sub(" ", s)
        if "<![" in s:
            s = _RE_CDATA.sub(r"\1", s)
        s = _strip_tags(s)
        # Only the last "<" can open a tag that runs to the end: match there, not everywhere.
        last = s.rfind("<")
        if last >= 0 and _RE_TRAILING_TAG.match(s, last):
            s = s[:last]
    if "&" in s:
        s = html.unescape(s)
    s = _collapse_spaces(_strip_controls(s))
    if max_chars is not None:
        s = truncate_words(s, max_chars)
    return s


def summary_html(raw: str) -> str:
    """How an item's summary is kept: the feed's HTML fragment as written, made plain text
    only when read (``summary_text``), since most items are never drafted and the text would
    be made for nothing. A fragment longer than ``SUMMARY_HTML_MAX_CHARS`` (a whole article)
    is made text now and kept escaped, so that what is kept stays small. Either way,
    ``summary_text`` of the result is ``html_to_text(raw, SUMMARY_MAX_CHARS)``.
    """
    if len(raw) <= SUMMARY_HTML_MAX_CHARS:
        return raw
    return html.escape(html_to_text(raw, SUMMARY_MAX_CHARS), quote=False)


def summary_text(kept: str) -> str:
    """The plain text of a summary kept by ``summary_html``."""
    return html_to_text(kept, SUMMARY_MAX_CHARS)


def truncate_words(s: str, max_chars: int) -> str:
    """``s`` if it fits in ``max_chars``, else cut at the last word boundary and end with "…".

    A single word longer than the limit is cut mid-word; the result never exceeds ``max_chars``.
    """
    if max_chars <= 0:
        return ""
    if len(s) <= max_chars:
        return s
    if max_chars == 1:
        return ELLIPSIS
    head = s[: max_chars - 1]
    if not s[max_chars - 1].isspace():
        cut = head.rfind(" ")
        if cut > 0:
            head = head[:cut]
    return head.rstrip(" ,;:.-\u2013\u2014") + ELLIPSIS


def looks_like_html(s: str) -> bool:
    """True when ``s`` carries markup to strip: a closing tag, ``<br>``/``<img>``, or an entity.

    Used for titles, which feeds publish as plain text or as HTML without saying which:
    "Use the <picture> element" has no closing tag and stays as written. (feedparser guesses
    the same way in ``_looks_like_html``.)
    """
    return ("<" in s or "&" in s) and _RE_HTML_SIGN.search(s) is not None
