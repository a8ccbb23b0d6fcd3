"""Canonical URLs: one spelling per article, so the same story linked twice is stored once.

Items are keyed by ``canonical_url(link)``: scheme and host lowercased, IDN hosts in punycode,
default ports, fragments, credentials and tracking parameters dropped, the other query
parameters kept in their order and spelling.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import idna

__all__ = ["TRACKING_PARAMS", "TRACKING_PREFIXES", "canonical_url", "is_tracking_param"]

#: Query parameters that only say where a click came from (compared lowercased).
TRACKING_PARAMS = frozenset(
    {
        "fbclid",  # Facebook
        "gclid",  # Google Ads
        "dclid",  # Google Display
        "gbraid",  # Google Ads (iOS)
        "wbraid",  # Google Ads (web to app)
        "srsltid",  # Google Merchant
        "_ga",  # Google Analytics cross-domain
        "_gl",  # Google Analytics cross-domain
        "msclkid",  # Microsoft Ads
        "yclid",  # Yandex
        "twclid",  # X/Twitter Ads
        "ttclid",  # TikTok
        "li_fat_id",  # LinkedIn
        "igshid",  # Instagram share
        "igsh",  # Instagram share
        "mc_cid",  # Mailchimp campaign
        "mc_eid",  # Mailchimp subscriber
        "_hsenc",  # HubSpot
        "_hsmi",  # HubSpot
        "__hstc",  # HubSpot
        "__hssc",  # HubSpot
        "__hsfp",  # HubSpot
        "hsctatracking",  # HubSpot
        "mkt_tok",  # Marketo
        "oly_anon_id",  # Omeda
        "oly_enc_id",  # Omeda
        "vero_id",  # Vero
        "wickedid",  # Wicked Reports
        "ref_src",  # X/Twitter embeds
        "ref_url",  # X/Twitter embeds
        "spm",  # Alibaba
        "cmpid",  # campaign id (news sites)
        "ncid",  # campaign id (Yahoo, NBC, feeds)
        "s_cid",  # Adobe campaign
        "at_medium",  # AT Internet
        "at_campaign",  # AT Internet
    }
)
#: Parameter name prefixes that mark tracking (``utm_source``, ``utm_medium``, ...).
TRACKING_PREFIXES = ("utm_",)

_DEFAULT_PORTS = {"http": 80, "https": 443}
# WHATWG URL parsing drops ASCII tab and newline anywhere in the input.
_RE_TAB_NEWLINE = re.compile(r"[\t\n\r]")
# An absolute http(s) URL needs no base: urljoin would return it as it is.
_RE_ABSOLUTE_HTTP = re.compile(r"https?://[^/\\]", re.IGNORECASE)
_RE_ASCII_HOST = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")
# Characters left as they are when percent-encoding a path or query: the reserved and
# unreserved sets, plus "%" so that existing escapes are not encoded twice.
_SAFE_PATH = "/:@!$&'()*+,;=~-._%"
_SAFE_QUERY = _SAFE_PATH + "?"
# A URL already in canonical form but for its fragment and tracking parameters, as nearly every
# feed link is: lowercase http(s), a lowercase ASCII host, no port or credentials, and a path and
# query made only of characters ``quote`` keeps. ``canonical_url`` builds the same answer from
# the pieces without urlsplit (a quarter of the cost); anything else takes the general path.
_RE_SIMPLE_URL = re.compile(
    r"(https?)://([a-z0-9_-]+(?:\.[a-z0-9_-]+)*)"
    r"(/[A-Za-z0-9_.~/:@!$&'()*+,;=%-]*)?"
    r"(?:\?([A-Za-z0-9_.~/:@!$&'()*+,;=%?-]*))?"
    r"(?:#.*)?",
    re.DOTALL,
)


def is_tracking_param(name: str) -> bool:
    """True if the query parameter ``name`` only tracks the click (see ``TRACKING_PARAMS``)."""
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def _canonical_host(host: str) -> str | None:
    host = host.rstrip(".").lower()
    if not host:
        return None
    if ":" in host:  # an IPv6 literal (urlsplit has removed the brackets)
        try:
            return f"[{ipaddress.IPv6Address(host).compressed}]"
        except ValueError:
            return None
    if host.isascii():
        return host if _RE_ASCII_HOST.fullmatch(host) else None
    try:
        encoded = idna.encode(host, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        try:
            encoded = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    encoded = encoded.lower()
    return encoded if _RE_ASCII_HOST.fullmatch(encoded) else None


def _canonical_query(query: str) -> str:
    return quote(_without_tracking(query), safe=_SAFE_QUERY)


def _without_tracking(query: str) -> str:
    kept = []
    for part in query.split("&"):
        if not part:
            continue
        name = part.split("=", 1)[0]
        if is_tracking_param(name):
            continue
        kept.append(part)
    return "&".join(kept)


def _canonical_url_general(url: str, base: str | None) -> str | None:
    """The general path of ``canonical_url``, for any input (kept apart so that tests can
    check the fast path against it)."""
    try:
        if base is not None and not _RE_ABSOLUTE_HTTP.match(url):
            url = urljoin(_RE_TAB_NEWLINE.sub("", base).strip(), url)
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            return None
        hostname = parts.hostname
        port = parts.port
    except ValueError:  # an invalid IPv6 literal or port
        return None
    if not hostname:
        return None
    host = _canonical_host(hostname)
    if host is None:
        return None
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = quote(parts.path, safe=_SAFE_PATH) or "/"
    query = _canonical_query(parts.query)
    return urlunsplit((scheme, netloc, path, query, ""))


def canonical_url(url: str, base: str | None = None) -> str | None:
    """The canonical spelling of ``url`` (resolved against ``base`` if relative), or ``None``.

    ``None`` unless the result is http(s) with a valid host: ``javascript:``, ``data:``,
    ``mailto:``, relative links without a base and unparseable URLs all give ``None``.
    """
    url = _RE_TAB_NEWLINE.sub("", url).strip()
    if not url:
        return None
    simple = _RE_SIMPLE_URL.fullmatch(url)
    if simple is not None:
        scheme, host, path, query = simple.groups()
        url = f"{scheme}://{host}{path or '/'}"
        if query:
            query = _without_tracking(query)  # only characters quote() keeps: no quoting
            if query:
                url = f"{url}?{query}"
        return url
    return _canonical_url_general(url, base)
