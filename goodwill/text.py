"""Exact post lengths per network, and shortening that never cuts the link or the credit.

Each network counts differently (DESIGN.md, "Exact text limits"):

    x         twitter-text v3 weighted length: NFC; a URL weighs 23; code points in the
              "light" ranges weigh 1, all others 2; a known emoji sequence weighs 2
    mastodon  grapheme clusters; a URL counts 23; ``@user@domain`` counts as ``@user``
    bluesky   grapheme clusters of the whole text; links become facets (UTF-8 offsets)
    linkedin  code points after NFC, of the text before little-text-format escaping
    facebook  code points after NFC (``outbox`` is counted like facebook)

The rule for X (and, as far as we can know it, for the others) is to never count less than the
network does: where two implementations of a network's rules disagree about whether a span is a
link, the span is charged the larger of the two prices.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any, Final

import regex

from goodwill.errors import DraftError

__all__ = [
    "bluesky_facets",
    "escape_linkedin",
    "find_urls",
    "fit",
    "length",
    "limit",
    "shorten",
    "slug",
]

_LIMITS: Final = {
    "x": 280,
    "mastodon": 500,
    "bluesky": 300,
    "linkedin": 3000,
    "facebook": 63206,
    "outbox": 63206,
}

ELLIPSIS: Final = "\u2026"
_URL_WEIGHT: Final = 23  # X's transformedURLLength and Mastodon's URL_PLACEHOLDER length

# twitter-text v3's emoji pattern (TwitterTextEmojiRegex.java, Unicode 12), kept in its Java
# spelling: surrogate pairs are turned into code points at import. Each match weighs 2 on X.
_X_EMOJI_JAVA = (
    # Zero Width Joiners need to be ahead of other Emoji to get priority
    r"(?:\ud83d\udc68\ud83c\udffb\u200d\ud83e\udd1d\u200d\ud83d\udc68[\ud83c\udffc-\ud83c\udfff]"
    r"|\ud83d\udc68\ud83c\udffc\u200d\ud83e\udd1d\u200d\ud83d\udc68[\ud83c\udffb\ud83c\udffd-"
    r"\ud83c\udfff]|\ud83d\udc68\ud83c\udffd\u200d\ud83e\udd1d\u200d\ud83d\udc68[\ud83c\udffb"
    r"\ud83c\udffc\ud83c\udffe\ud83c\udfff]|\ud83d\udc68\ud83c\udffe\u200d\ud83e\udd1d\u200d"
    r"\ud83d\udc68[\ud83c\udffb-\ud83c\udffd\ud83c\udfff]|\ud83d\udc68\ud83c\udfff\u200d\ud83e"
    r"\udd1d\u200d\ud83d\udc68[\ud83c\udffb-\ud83c\udffe]|\ud83d\udc69\ud83c\udffb\u200d\ud83e"
    r"\udd1d\u200d\ud83d\udc68[\ud83c\udffc-\ud83c\udfff]|\ud83d\udc69\ud83c\udffb\u200d\ud83e"
    r"\udd1d\u200d\ud83d\udc69[\ud83c\udffc-\ud83c\udfff]|\ud83d\udc69\ud83c\udffc\u200d\ud83e"
    r"\udd1d\u200d\ud83d\udc68[\ud83c\udffb\ud83c\udffd-\ud83c\udfff]|\ud83d\udc69\ud83c\udffc"
    r"\u200d\ud83e\udd1d\u200d\ud83d\udc69[\ud83c\udffb\ud83c\udffd-\ud83c\udfff]|\ud83d\udc69"
    r"\ud83c\udffd\u200d\ud83e\udd1d\u200d\ud83d\udc68[\ud83c\udffb\ud83c\udffc\ud83c\udffe"
    r"\ud83c\udfff]|\ud83d\udc69\ud83c\udffd\u200d\ud83e\udd1d\u200d\ud83d\udc69[\ud83c\udffb"
    r"\ud83c\udffc\ud83c\udffe\ud83c\udfff]|\ud83d\udc69\ud83c\udffe\u200d\ud83e\udd1d\u200d"
    r"\ud83d\udc68[\ud83c\udffb-\ud83c\udffd\ud83c\udfff]|\ud83d\udc69\ud83c\udffe\u200d\ud83e"
    r"\udd1d\u200d\ud83d\udc69[\ud83c\udffb-\ud83c\udffd\ud83c\udfff]|\ud83d\udc69\ud83c\udfff"
    r"\u200d\ud83e\udd1d\u200d\ud83d\udc68[\ud83c\udffb-\ud83c\udffe]|\ud83d\udc69\ud83c\udfff"
    r"\u200d\ud83e\udd1d\u200d\ud83d\udc69[\ud83c\udffb-\ud83c\udffe]|\ud83e\uddd1\ud83c\udffb"
    r"\u200d\ud83e\udd1d\u200d\ud83e\uddd1[\ud83c\udffb-\ud83c\udfff]|\ud83e\uddd1\ud83c\udffc"
    r"\u200d\ud83e\udd1d\u200d\ud83e\uddd1[\ud83c\udffb-\ud83c\udfff]|\ud83e\uddd1\ud83c\udffd"
    r"\u200d\ud83e\udd1d\u200d\ud83e\uddd1[\ud83c\udffb-\ud83c\udfff]|\ud83e\uddd1\ud83c\udffe"
    r"\u200d\ud83e\udd1d\u200d\ud83e\uddd1[\ud83c\udffb-\ud83c\udfff]|\ud83e\uddd1\ud83c\udfff"
    r"\u200d\ud83e\udd1d\u200d\ud83e\uddd1[\ud83c\udffb-\ud83c\udfff]|\ud83e\uddd1\u200d\ud83e"
    r"\udd1d\u200d\ud83e\uddd1|\ud83d\udc6b[\ud83c\udffb-\ud83c\udfff]|\ud83d\udc6c[\ud83c\udffb"
    r"-\ud83c\udfff]|\ud83d\udc6d[\ud83c\udffb-\ud83c\udfff]|[\ud83d\udc6b-\ud83d\udc6d])"
    r"|"
    # Leading woman/man zwj with optional skin tone
    r"[\ud83d\udc68\ud83d\udc69\ud83e\uddd1][\ud83c\udffb-\ud83c\udfff]?\u200d"
    r"(?:\u2695\ufe0f|\u2696\ufe0f|\u2708\ufe0f|[\ud83c\udf3e\ud83c\udf73\ud83c\udf93\ud83c"
    r"\udfa4\ud83c\udfa8\ud83c\udfeb\ud83c\udfed\ud83d\udcbb\ud83d\udcbc\ud83d\udd27\ud83d\udd2c"
    r"\ud83d\ude80\ud83d\ude92\ud83e\uddaf-\ud83e\uddb3\ud83e\uddbc\ud83e\uddbd])"
    r"|"
    # Variant or skin tone before trailing female/male zwj
    r"[\u26f9\ud83c\udfcb\ud83c\udfcc\ud83d\udd74\ud83d\udd75]"
    r"(?:[\ufe0f\ud83c\udffb-\ud83c\udfff]\u200d[\u2640\u2642]\ufe0f)|"
    # Optional skin tone before trailing female/male zwj
    r"[\ud83c\udfc3\ud83c\udfc4\ud83c\udfca\ud83d\udc6e\ud83d\udc71\ud83d\udc73\ud83d\udc77"
    r"\ud83d\udc81\ud83d\udc82\ud83d\udc86\ud83d\udc87\ud83d\ude45-\ud83d\ude47\ud83d\ude4b"
    r"\ud83d\ude4d\ud83d\ude4e\ud83d\udea3\ud83d\udeb4-\ud83d\udeb6\ud83e\udd26\ud83e\udd35"
    r"\ud83e\udd37-\ud83e\udd39\ud83e\udd3d\ud83e\udd3e\ud83e\uddb8\ud83e\uddb9\ud83e\uddcd-"
    r"\ud83e\uddcf\ud83e\uddd6-\ud83e\udddd]"
    r"[\ud83c\udffb-\ud83c\udfff]?\u200d[\u2640\u2642]\ufe0f|"
    # Other zwj sequences
    r"(?:\ud83d\udc68\u200d\u2764\ufe0f\u200d\ud83d\udc8b\u200d\ud83d\udc68|\ud83d\udc69\u200d"
    r"\u2764\ufe0f\u200d\ud83d\udc8b\u200d[\ud83d\udc68\ud83d\udc69]|\ud83d\udc68\u200d\ud83d"
    r"\udc68\u200d\ud83d\udc66\u200d\ud83d\udc66|\ud83d\udc68\u200d\ud83d\udc68\u200d\ud83d"
    r"\udc67\u200d[\ud83d\udc66\ud83d\udc67]|\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc66"
    r"\u200d\ud83d\udc66|\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67\u200d[\ud83d\udc66"
    r"\ud83d\udc67]|\ud83d\udc69\u200d\ud83d\udc69\u200d\ud83d\udc66\u200d\ud83d\udc66|\ud83d"
    r"\udc69\u200d\ud83d\udc69\u200d\ud83d\udc67\u200d[\ud83d\udc66\ud83d\udc67]|\ud83d\udc68"
    r"\u200d\u2764\ufe0f\u200d\ud83d\udc68|\ud83d\udc69\u200d\u2764\ufe0f\u200d[\ud83d\udc68"
    r"\ud83d\udc69]|\ud83c\udff3\ufe0f\u200d\u26a7\ufe0f|\ud83d\udc68\u200d\ud83d\udc66\u200d"
    r"\ud83d\udc66|\ud83d\udc68\u200d\ud83d\udc67\u200d[\ud83d\udc66\ud83d\udc67]|\ud83d\udc68"
    r"\u200d\ud83d\udc68\u200d[\ud83d\udc66\ud83d\udc67]|\ud83d\udc68\u200d\ud83d\udc69\u200d["
    r"\ud83d\udc66\ud83d\udc67]|\ud83d\udc69\u200d\ud83d\udc66\u200d\ud83d\udc66|\ud83d\udc69"
    r"\u200d\ud83d\udc67\u200d[\ud83d\udc66\ud83d\udc67]|\ud83d\udc69\u200d\ud83d\udc69\u200d["
    r"\ud83d\udc66\ud83d\udc67]|\ud83c\udff3\ufe0f\u200d\ud83c\udf08|\ud83c\udff4\u200d\u2620"
    r"\ufe0f|\ud83d\udc6f\u200d\u2640\ufe0f|\ud83d\udc6f\u200d\u2642\ufe0f|\ud83e\udd3c\u200d"
    r"\u2640\ufe0f|\ud83e\udd3c\u200d\u2642\ufe0f|\ud83e\uddde\u200d\u2640\ufe0f|\ud83e\uddde"
    r"\u200d\u2642\ufe0f|\ud83e\udddf\u200d\u2640\ufe0f|\ud83e\udddf\u200d\u2642\ufe0f|\ud83d"
    r"\udc15\u200d\ud83e\uddba|\ud83d\udc41\u200d\ud83d\udde8|\ud83d\udc68\u200d[\ud83d\udc66"
    r"\ud83d\udc67]|\ud83d\udc69\u200d[\ud83d\udc66\ud83d\udc67])"
    r"|"
    # Emojified symbols #, *, 0-9 + possible variant selector + keycap
    r"[#*0-9]\ufe0f?\u20e3|"
    # Emoji which default to text must be followed by U+fe0f
    r"(?:[\u00a9\u00ae\u2122\u265f]\ufe0f)|"
    # Variants that may be followed by U+fe0f but cannot be followed by U+fe0e
    r"[\u203c\u2049\u2139\u2194-\u2199\u21a9\u21aa\u231a\u231b\u2328\u23cf\u23ed-\u23ef\u23f1"
    r"\u23f2\u23f8-\u23fa\u24c2\u25aa\u25ab\u25b6\u25c0\u25fb-\u25fe\u2600-\u2604\u260e\u2611"
    r"\u2614\u2615\u2618\u2620\u2622\u2623\u2626\u262a\u262e\u262f\u2638-\u263a\u2640\u2642"
    r"\u2648-\u2653\u2660\u2663\u2665\u2666\u2668\u267b\u267f\u2692-\u2697\u2699\u269b\u269c"
    r"\u26a0\u26a1\u26a7\u26aa\u26ab\u26b0\u26b1\u26bd\u26be\u26c4\u26c5\u26c8\u26cf\u26d1\u26d3"
    r"\u26d4\u26e9\u26ea\u26f0-\u26f5\u26f8\u26fa\u26fd\u2702\u2708\u2709\u270f\u2712\u2714"
    r"\u2716\u271d\u2721\u2733\u2734\u2744\u2747\u2757\u2763\u2764\u27a1\u2934\u2935\u2b05-"
    r"\u2b07\u2b1b\u2b1c\u2b50\u2b55\u3030\u303d\u3297\u3299\ud83c\udc04\ud83c\udd70\ud83c\udd71"
    r"\ud83c\udd7e\ud83c\udd7f\ud83c\ude02\ud83c\ude1a\ud83c\ude2f\ud83c\ude37\ud83c\udf21\ud83c"
    r"\udf24-\ud83c\udf2c\ud83c\udf36\ud83c\udf7d\ud83c\udf96\ud83c\udf97\ud83c\udf99-\ud83c"
    r"\udf9b\ud83c\udf9e\ud83c\udf9f\ud83c\udfcd\ud83c\udfce\ud83c\udfd4-\ud83c\udfdf\ud83c"
    r"\udff3\ud83c\udff5\ud83c\udff7\ud83d\udc3f\ud83d\udc41\ud83d\udcfd\ud83d\udd49\ud83d\udd4a"
    r"\ud83d\udd6f\ud83d\udd70\ud83d\udd73\ud83d\udd76-\ud83d\udd79\ud83d\udd87\ud83d\udd8a-"
    r"\ud83d\udd8d\ud83d\udda5\ud83d\udda8\ud83d\uddb1\ud83d\uddb2\ud83d\uddbc\ud83d\uddc2-"
    r"\ud83d\uddc4\ud83d\uddd1-\ud83d\uddd3\ud83d\udddc-\ud83d\uddde\ud83d\udde1\ud83d\udde3"
    r"\ud83d\udde8\ud83d\uddef\ud83d\uddf3\ud83d\uddfa\ud83d\udecb\ud83d\udecd-\ud83d\udecf"
    r"\ud83d\udee0-\ud83d\udee5\ud83d\udee9\ud83d\udef0\ud83d\udef3]"
    r"(?:\ufe0f|(?!\ufe0e))|"
    # Diversity Emoji followed by optional skin tone
    r"(?:"
    # Diversity variants that may be followed by U+fe0f but cannot be followed by U+fe0e
    r"[\u261d\u26f7\u26f9\u270c\u270d\ud83c\udfcb\ud83c\udfcc\ud83d\udd74\ud83d\udd75\ud83d"
    r"\udd90]"
    r"(?:\ufe0f|(?!\ufe0e))|"
    # Diversity non-variants
    r"[\u270a\u270b\ud83c\udf85\ud83c\udfc2-\ud83c\udfc4\ud83c\udfc7\ud83c\udfca\ud83d\udc42"
    r"\ud83d\udc43\ud83d\udc46-\ud83d\udc50\ud83d\udc66-\ud83d\udc69\ud83d\udc6e\ud83d\udc70-"
    r"\ud83d\udc78\ud83d\udc7c\ud83d\udc81-\ud83d\udc83\ud83d\udc85-\ud83d\udc87\ud83d\udcaa"
    r"\ud83d\udd7a\ud83d\udd95\ud83d\udd96\ud83d\ude45-\ud83d\ude47\ud83d\ude4b-\ud83d\ude4f"
    r"\ud83d\udea3\ud83d\udeb4-\ud83d\udeb6\ud83d\udec0\ud83d\udecc\ud83e\udd0f\ud83e\udd18-"
    r"\ud83e\udd1c\ud83e\udd1e\ud83e\udd1f\ud83e\udd26\ud83e\udd30-\ud83e\udd39\ud83e\udd3d"
    r"\ud83e\udd3e\ud83e\uddb5\ud83e\uddb6\ud83e\uddb8\ud83e\uddb9\ud83e\uddbb\ud83e\uddcd-"
    r"\ud83e\uddcf\ud83e\uddd1-\ud83e\udddd]"
    r")[\ud83c\udffb-\ud83c\udfff]?|"
    # Flags, Regional Symbols, and Normal Emoji
    r"(?:\ud83c\udff4\udb40\udc67\udb40\udc62\udb40\udc65\udb40\udc6e\udb40\udc67\udb40\udc7f|"
    r"\ud83c\udff4\udb40\udc67\udb40\udc62\udb40\udc73\udb40\udc63\udb40\udc74\udb40\udc7f|"
    r"\ud83c\udff4\udb40\udc67\udb40\udc62\udb40\udc77\udb40\udc6c\udb40\udc73\udb40\udc7f|"
    r"\ud83c\udde6[\ud83c\udde8-\ud83c\uddec\ud83c\uddee\ud83c\uddf1\ud83c\uddf2\ud83c\uddf4"
    r"\ud83c\uddf6-\ud83c\uddfa\ud83c\uddfc\ud83c\uddfd\ud83c\uddff]|\ud83c\udde7[\ud83c\udde6"
    r"\ud83c\udde7\ud83c\udde9-\ud83c\uddef\ud83c\uddf1-\ud83c\uddf4\ud83c\uddf6-\ud83c\uddf9"
    r"\ud83c\uddfb\ud83c\uddfc\ud83c\uddfe\ud83c\uddff]|\ud83c\udde8[\ud83c\udde6\ud83c\udde8"
    r"\ud83c\udde9\ud83c\uddeb-\ud83c\uddee\ud83c\uddf0-\ud83c\uddf5\ud83c\uddf7\ud83c\uddfa-"
    r"\ud83c\uddff]|\ud83c\udde9[\ud83c\uddea\ud83c\uddec\ud83c\uddef\ud83c\uddf0\ud83c\uddf2"
    r"\ud83c\uddf4\ud83c\uddff]|\ud83c\uddea[\ud83c\udde6\ud83c\udde8\ud83c\uddea\ud83c\uddec"
    r"\ud83c\udded\ud83c\uddf7-\ud83c\uddfa]|\ud83c\uddeb[\ud83c\uddee-\ud83c\uddf0\ud83c\uddf2"
    r"\ud83c\uddf4\ud83c\uddf7]|\ud83c\uddec[\ud83c\udde6\ud83c\udde7\ud83c\udde9-\ud83c\uddee"
    r"\ud83c\uddf1-\ud83c\uddf3\ud83c\uddf5-\ud83c\uddfa\ud83c\uddfc\ud83c\uddfe]|\ud83c\udded["
    r"\ud83c\uddf0\ud83c\uddf2\ud83c\uddf3\ud83c\uddf7\ud83c\uddf9\ud83c\uddfa]|\ud83c\uddee["
    r"\ud83c\udde8-\ud83c\uddea\ud83c\uddf1-\ud83c\uddf4\ud83c\uddf6-\ud83c\uddf9]|\ud83c\uddef["
    r"\ud83c\uddea\ud83c\uddf2\ud83c\uddf4\ud83c\uddf5]|\ud83c\uddf0[\ud83c\uddea\ud83c\uddec-"
    r"\ud83c\uddee\ud83c\uddf2\ud83c\uddf3\ud83c\uddf5\ud83c\uddf7\ud83c\uddfc\ud83c\uddfe\ud83c"
    r"\uddff]|\ud83c\uddf1[\ud83c\udde6-\ud83c\udde8\ud83c\uddee\ud83c\uddf0\ud83c\uddf7-\ud83c"
    r"\uddfb\ud83c\uddfe]|\ud83c\uddf2[\ud83c\udde6\ud83c\udde8-\ud83c\udded\ud83c\uddf0-\ud83c"
    r"\uddff]|\ud83c\uddf3[\ud83c\udde6\ud83c\udde8\ud83c\uddea-\ud83c\uddec\ud83c\uddee\ud83c"
    r"\uddf1\ud83c\uddf4\ud83c\uddf5\ud83c\uddf7\ud83c\uddfa\ud83c\uddff]|\ud83c\uddf4\ud83c"
    r"\uddf2|\ud83c\uddf5[\ud83c\udde6\ud83c\uddea-\ud83c\udded\ud83c\uddf0-\ud83c\uddf3\ud83c"
    r"\uddf7-\ud83c\uddf9\ud83c\uddfc\ud83c\uddfe]|\ud83c\uddf6\ud83c\udde6|\ud83c\uddf7[\ud83c"
    r"\uddea\ud83c\uddf4\ud83c\uddf8\ud83c\uddfa\ud83c\uddfc]|\ud83c\uddf8[\ud83c\udde6-\ud83c"
    r"\uddea\ud83c\uddec-\ud83c\uddf4\ud83c\uddf7-\ud83c\uddf9\ud83c\uddfb\ud83c\uddfd-\ud83c"
    r"\uddff]|\ud83c\uddf9[\ud83c\udde6\ud83c\udde8\ud83c\udde9\ud83c\uddeb-\ud83c\udded\ud83c"
    r"\uddef-\ud83c\uddf4\ud83c\uddf7\ud83c\uddf9\ud83c\uddfb\ud83c\uddfc\ud83c\uddff]|\ud83c"
    r"\uddfa[\ud83c\udde6\ud83c\uddec\ud83c\uddf2\ud83c\uddf3\ud83c\uddf8\ud83c\uddfe\ud83c"
    r"\uddff]|\ud83c\uddfb[\ud83c\udde6\ud83c\udde8\ud83c\uddea\ud83c\uddec\ud83c\uddee\ud83c"
    r"\uddf3\ud83c\uddfa]|\ud83c\uddfc[\ud83c\uddeb\ud83c\uddf8]|\ud83c\uddfd\ud83c\uddf0|\ud83c"
    r"\uddfe[\ud83c\uddea\ud83c\uddf9]|\ud83c\uddff[\ud83c\udde6\ud83c\uddf2\ud83c\uddfc]|["
    r"\u23e9-\u23ec\u23f0\u23f3\u267e\u26ce\u2705\u2728\u274c\u274e\u2753-\u2755\u2795-\u2797"
    r"\u27b0\u27bf\ue50a\ud83c\udccf\ud83c\udd8e\ud83c\udd91-\ud83c\udd9a\ud83c\udde6-\ud83c"
    r"\uddff\ud83c\ude01\ud83c\ude32-\ud83c\ude36\ud83c\ude38-\ud83c\ude3a\ud83c\ude50\ud83c"
    r"\ude51\ud83c\udf00-\ud83c\udf20\ud83c\udf2d-\ud83c\udf35\ud83c\udf37-\ud83c\udf7c\ud83c"
    r"\udf7e-\ud83c\udf84\ud83c\udf86-\ud83c\udf93\ud83c\udfa0-\ud83c\udfc1\ud83c\udfc5\ud83c"
    r"\udfc6\ud83c\udfc8\ud83c\udfc9\ud83c\udfcf-\ud83c\udfd3\ud83c\udfe0-\ud83c\udff0\ud83c"
    r"\udff4\ud83c\udff8-\ud83d\udc3e\ud83d\udc40\ud83d\udc44\ud83d\udc45\ud83d\udc51-\ud83d"
    r"\udc65\ud83d\udc6a\ud83d\udc6f\ud83d\udc79-\ud83d\udc7b\ud83d\udc7d-\ud83d\udc80\ud83d"
    r"\udc84\ud83d\udc88-\ud83d\udca9\ud83d\udcab-\ud83d\udcfc\ud83d\udcff-\ud83d\udd3d\ud83d"
    r"\udd4b-\ud83d\udd4e\ud83d\udd50-\ud83d\udd67\ud83d\udda4\ud83d\uddfb-\ud83d\ude44\ud83d"
    r"\ude48-\ud83d\ude4a\ud83d\ude80-\ud83d\udea2\ud83d\udea4-\ud83d\udeb3\ud83d\udeb7-\ud83d"
    r"\udebf\ud83d\udec1-\ud83d\udec5\ud83d\uded0-\ud83d\uded2\ud83d\uded5\ud83d\udeeb\ud83d"
    r"\udeec\ud83d\udef4-\ud83d\udefa\ud83d\udfe0-\ud83d\udfeb\ud83e\udd0d\ud83e\udd0e\ud83e"
    r"\udd10-\ud83e\udd17\ud83e\udd1d\ud83e\udd20-\ud83e\udd25\ud83e\udd27-\ud83e\udd2f\ud83e"
    r"\udd3a\ud83e\udd3c\ud83e\udd3f-\ud83e\udd45\ud83e\udd47-\ud83e\udd71\ud83e\udd73-\ud83e"
    r"\udd76\ud83e\udd7a-\ud83e\udda2\ud83e\udda5-\ud83e\uddaa\ud83e\uddae-\ud83e\uddb4\ud83e"
    r"\uddb7\ud83e\uddba\ud83e\uddbc-\ud83e\uddca\ud83e\uddd0\ud83e\uddde-\ud83e\uddff\ud83e"
    r"\ude70-\ud83e\ude73\ud83e\ude78-\ud83e\ude7a\ud83e\ude80-\ud83e\ude82\ud83e\ude90-\ud83e"
    r"\ude95])"
    r"|"
    # Stray VS16s can adversely affect preceding non-emoji characters
    r"\ufe0f"
)

# --- twitter-text's TLD lists (tld_lib.yml as shipped with twitter-text v3); internationalised
# TLDs are stored as punycode so this file stays ASCII, and decoded at import.
_GTLDS = (
    "xn--cg4bki xn--mk1bu44c xn--t60b56a xn--5su34j936bgsg xn--imr513n xn--jvr189m "
    "xn--kcrx77d1x4a xn--fzys8d69uvgm xn--3bst00m xn--gk3at1e xn--g2xx48c xn--flw351e "
    "xn--jlq61u9w7b xn--8y0a063a xn--io0a7i xn--5tzm5g xn--hxt814e xn--ses554g xn--nqv7fs00ema "
    "xn--6frz82g xn--pbt977c xn--3pxu8k xn--unup4y xn--b4w605ferd xn--nqv7f xn--rovu88b "
    "xn--9et52u xn--efvy88h xn--mxtq1m xn--zfr164b xn--otu796d xn--kpu716f xn--kput3i "
    "xn--6qq986b3xl xn--30rr7y xn--9krt00a xn--xhq521b xn--estv75g xn--fct429k xn--fjq720a "
    "xn--tiq49xqyj xn--pssy2u xn--3oq18vl8pn36a xn--3ds443g xn--w4r85el8fhu5dnra xn--w4rs40l "
    "xn--czr694b xn--czrs0t xn--czru2d xn--55qw42g xn--55qx5d xn--45q11c xn--nyqy26a "
    "xn--vuq861b xn--1qqw23a xn--vhquv xn--fiq228c5hs xn--fiq64b xn--rhqv96g xn--eckvdtc9d "
    "xn--bck1b9a5dre4c xn--1ck2e1b xn--cck2b3b xn--tckwe xn--qcka1pmc xn--gckr3f0f xn--q9jyb4c "
    "xn--42c2d9a xn--i1b6b1a6a2e xn--c2br7g xn--11b4c3d xn--mgbt3dhd xn--4gbrim xn--mgbb9fbpob "
    "xn--fhbei xn--mgbi4ecexp xn--ngbrx xn--ngbc5azd xn--ngbe9e0a xn--mgbab2bd "
    "xn--mgba7c0bbn0a xn--mgba3a3ejt xn--mgbaakc7dvf xn--mgbca7dzdo xn--9dbq2a xn--80aswg "
    "xn--p1acf xn--c1avg xn--80asehdb xn--80adxhks xn--j1aef xn--80aqecdr1a xn--d1acj3b "
    "zuerich zone zippo zip zero zara zappos yun youtube you yokohama yoga yodobashi yandex "
    "yamaxun yahoo yachts xyz xxx xperia xin xihuan xfinity xerox xbox wtf wtc wow world works "
    "work woodside wolterskluwer wme winners wine windows win williamhill wiki wien whoswho "
    "weir weibo wedding wed website weber webcam weatherchannel weather watches watch warman "
    "wanggou wang walter walmart wales vuelos voyage voto voting vote volvo volkswagen vodka "
    "vlaanderen vivo viva vistaprint vista vision visa virgin vip vin villas viking vig video "
    "viajes vet versicherung xn--vermgensberatung-pwb xn--vermgensberater-ctb verisign "
    "ventures vegas vanguard vana vacations ups uol uno university unicom uconnect ubs ubank "
    "tvs tushu tunes tui tube trv trust travelersinsurance travelers travelchannel travel "
    "training trading trade toys toyota town tours total toshiba toray top tools tokyo today "
    "tmall tkmaxx tjx tjmaxx tirol tires tips tiffany tienda tickets tiaa theatre theater thd "
    "teva tennis temasek telefonica telecity tel technology tech team tdk tci taxi tax tattoo "
    "tatar tatamotors target taobao talk taipei tab systems symantec sydney swiss swiftcover "
    "swatch suzuki surgery surf support supply supplies sucks style study studio stream store "
    "storage stockholm stcgroup stc statoil statefarm statebank starhub star staples stada srt "
    "srl spreadbetting spot sport spiegel space soy sony song solutions solar sohu software "
    "softbank social soccer sncf smile smart sling skype sky skin ski site singles sina silk "
    "shriram showtime show shouji shopping shop shoes shiksha shia shell shaw sharp shangrila "
    "sfr sexy sex sew seven ses services sener select seek security secure seat search scot "
    "scor scjohnson science schwarz schule school scholarships schmidt schaeffler scb sca sbs "
    "sbi saxo save sas sarl sapo sap sanofi sandvikcoromant sandvik samsung samsclub salon "
    "sale sakura safety safe saarland ryukyu rwe run ruhr rugby rsvp room rogers rodeo rocks "
    "rocher rmit rip rio ril rightathome ricoh richardli rich rexroth reviews review "
    "restaurant rest republican report repair rentals rent ren reliance reit reisen reise "
    "rehab redumbrella redstone red recipes realty realtor realestate read raid radio racing "
    "qvc quest quebec qpon pwc pub prudential pru protection property properties promo "
    "progressive prof productions prod pro prime press praxi pramerica post porn politie poker "
    "pohl pnc plus plumbing playstation play place pizza pioneer pink ping pin pid pictures "
    "pictet pics piaget physio photos photography photo phone philips phd pharmacy pfizer pet "
    "pccw pay passagens party parts partners pars paris panerai panasonic pamperedchef page "
    "ovh ott otsuka osaka origins orientexpress organic org orange oracle open ooo onyourside "
    "online onl ong one omega ollo oldnavy olayangroup olayan okinawa office off observer obi "
    "nyc ntt nrw nra nowtv nowruz now norton northwesternmutual nokia nissay nissan ninja "
    "nikon nike nico nhk ngo nfl nexus nextdirect next news newholland new neustar network "
    "netflix netbank net nec nba navy natura nationwide name nagoya nadex nab mutuelle mutual "
    "museum mtr mtpc mtn msd movistar movie mov motorcycles moto moscow mortgage mormon mopar "
    "montblanc monster money monash mom moi moe moda mobily mobile mobi mma mls mlb mitsubishi "
    "mit mint mini mil microsoft miami metlife merckmsd meo menu men memorial meme melbourne "
    "meet media med mckinsey mcdonalds mcd mba mattel maserati marshalls marriott markets "
    "marketing market map mango management man makeup maison maif madrid macys luxury luxe "
    "lupin lundbeck ltda ltd lplfinancial lpl love lotto lotte london lol loft locus locker "
    "loans loan llp llc lixil living live lipsy link linde lincoln limo limited lilly like "
    "lighting lifestyle lifeinsurance life lidl liaison lgbt lexus lego legal lefrak leclerc "
    "lease lds lawyer law latrobe latino lat lasalle lanxess landrover land lancome lancia "
    "lancaster lamer lamborghini ladbrokes lacaixa kyoto kuokgroup kred krd kpn kpmg kosher "
    "komatsu koeln kiwi kitchen kindle kinder kim kia kfh kerryproperties kerrylogistics "
    "kerryhotels kddi kaufen juniper juegos jprs jpmorgan joy jot joburg jobs jnj jmp jll jlc "
    "jio jewelry jetzt jeep jcp jcb java jaguar iwc iveco itv itau istanbul ist ismaili "
    "iselect irish ipiranga investments intuit international intel int insure insurance "
    "institute ink ing info infiniti industries inc immobilien immo imdb imamat ikano iinet "
    "ifm ieee icu ice icbc ibm hyundai hyatt hughes htc hsbc how house hotmail hotels hoteles "
    "hot hosting host hospital horse honeywell honda homesense homes homegoods homedepot "
    "holiday holdings hockey hkt hiv hitachi hisamitsu hiphop hgtv hermes here helsinki help "
    "healthcare health hdfcbank hdfc hbo haus hangout hamburg hair guru guitars guide guge "
    "gucci guardian group grocery gripe green gratis graphics grainger gov got gop google goog "
    "goodyear goodhands goo golf goldpoint gold godaddy gmx gmo gmbh gmail globo global gle "
    "glass glade giving gives gifts gift ggee george genting gent gea gdn gbiz gay garden gap "
    "games game gallup gallo gallery gal fyi futbol furniture fund fun fujixerox fujitsu ftr "
    "frontier frontdoor frogans frl fresenius free fox foundation forum forsale forex ford "
    "football foodnetwork food foo fly flsmidth flowers florist flir flights flickr fitness "
    "fit fishing fish firmdale firestone fire financial finance final film fido fidelity fiat "
    "ferrero ferrari feedback fedex fast fashion farmers farm fans fan family faith fairwinds "
    "fail fage extraspace express exposed expert exchange everbank events eus eurovision "
    "etisalat esurance estate esq erni ericsson equipment epson epost enterprises engineering "
    "engineer energy emerck email education edu edeka eco eat earth dvr dvag durban dupont "
    "duns dunlop duck dubai dtv drive download dot doosan domains doha dog dodge doctor docs "
    "dnp diy dish discover discount directory direct digital diet diamonds dhl dev design desi "
    "dentist dental democrat delta deloitte dell delivery degree deals dealer deal dds dclk "
    "day datsun dating date data dance dad dabur cyou cymru cuisinella csc cruises cruise crs "
    "crown cricket creditunion creditcard credit cpa courses coupons coupon country corsica "
    "coop cool cookingchannel cooking contractors contact consulting construction condos "
    "comsec computer compare company community commbank comcast com cologne college coffee "
    "codes coach clubmed club cloud clothing clinique clinic click cleaning claims cityeats "
    "city citic citi citadel cisco circle cipriani church chrysler chrome christmas chloe "
    "chintai cheap chat chase charity channel chanel cfd cfa cern ceo center ceb cbs cbre cbn "
    "cba catholic catering cat casino cash caseih case casa cartier cars careers career care "
    "cards caravan car capitalone capital capetown canon cancerresearch camp camera cam "
    "calvinklein call cal cafe cab bzh buzz buy business builders build bugatti budapest "
    "brussels brother broker broadway bridgestone bradesco box boutique bot boston bostik "
    "bosch boots booking book boo bond bom bofa boehringer boats bnpparibas bnl bmw bms blue "
    "bloomberg blog blockbuster blanco blackfriday black biz bio bingo bing bike bid bible "
    "bharti bet bestbuy best berlin bentley beer beauty beats bcn bcg bbva bbt bbc bayern "
    "bauhaus basketball baseball bargains barefoot barclays barclaycard barcelona bar bank "
    "band bananarepublic banamex baidu baby azure axa aws avianca autos auto author auspost "
    "audio audible audi auction attorney athleta associates asia asda arte art arpa army archi "
    "aramco arab aquarelle apple app apartments aol anz anquan android analytics amsterdam "
    "amica amfam amex americanfamily americanexpress alstom alsace ally allstate allfinanz "
    "alipay alibaba alfaromeo akdn airtel airforce airbus aigo aig agency agakhan africa afl "
    "afamilycompany aetna aero aeg adult ads adac actor active aco accountants accountant "
    "accenture academy abudhabi abogado able abc abbvie abbott abb abarth aarp aaa onion "
)
_CCTLDS = (
    "xn--3e0b707e xn--j6w193g xn--mix891f xn--yfro4i67o xn--kpry57d xn--kprw13d xn--fiqz9s "
    "xn--fiqs8s xn--node xn--q7ce6a xn--o3cw4h xn--fzc2c9e2c xn--rvc1e0am3e xn--2scrj9c "
    "xn--fpcrj9c3d xn--clchc0ea0b2g2a9gcd xn--xkc2al3hye2a xn--xkc2dl3a5ee0h xn--3hcrj9c "
    "xn--gecrj9c xn--s9brj9c xn--45br5cyl xn--45brj9c xn--54b7fta0cc xn--h2brj9c8c "
    "xn--h2breg3eve xn--h2brj9c xn--mgbgu82a xn--mgbai9azgqp6j xn--mgbah1a3hjkrd "
    "xn--mgbx4cd0ab xn--wgbh1c xn--wgbl6a xn--ygbi2ammx xn--mgb9awbf xn--mgbtx2b xn--ogbpf8fl "
    "xn--mgbpl2fh xn--pgbs0dh xn--mgbbh1a71e xn--mgbbh1a xn--mgba3a4f16a xn--mgbaam7a8h "
    "xn--mgbc0a9azcg xn--mgberp4a5d4ar xn--lgbbat1ad8j xn--mgbcpq6gpa1a xn--mgbayh7gpa "
    "xn--y9a3aq xn--80ao21a xn--j1amh xn--90a3ac xn--p1ai xn--l1acc xn--d1alf xn--e1a4c "
    "xn--90ais xn--90ae xn--qxa6a xn--qxam zw zm za yt ye ws wf vu vn vi vg ve vc va uz uy us "
    "um uk ug ua tz tw tv tt tr tp to tn tm tl tk tj th tg tf td tc sz sy sx sv su st ss sr so "
    "sn sm sl sk sj si sh sg se sd sc sb sa rw ru rs ro re qa py pw pt ps pr pn pm pl pk ph pg "
    "pf pe pa om nz nu nr np no nl ni ng nf ne nc na mz my mx mw mv mu mt ms mr mq mp mo mn mm "
    "ml mk mh mg mf me md mc ma ly lv lu lt ls lr lk li lc lb la kz ky kw kr kp kn km ki kh kg "
    "ke jp jo jm je it is ir iq io in im il ie id hu ht hr hn hm hk gy gw gu gt gs gr gq gp gn "
    "gm gl gi gh gg gf ge gd gb ga fr fo fm fk fj fi eu et es er eh eg ee ec dz do dm dk dj de "
    "cz cy cx cw cv cu cr co cn cm cl ck ci ch cg cf cd cc ca bz by bw bv bt bs br bq bo bn bm "
    "bl bj bi bh bg bf be bd bb ba az ax aw au at as ar aq ao an am al ai ag af ae ad ac "
)


def _tld_alternation(block: str) -> str:
    """One regex alternation of the TLDs, grouped by first letter so a miss fails fast."""
    tlds = {t.encode("ascii").decode("idna") if t.startswith("xn--") else t for t in block.split()}
    groups: dict[str, list[str]] = {}
    # Reverse order, as twitter-text does: a TLD comes before any TLD that is its prefix.
    for tld in sorted(tlds, reverse=True):
        groups.setdefault(tld[0], []).append(re.escape(tld[1:]))
    branches = (f"{re.escape(first)}(?:{'|'.join(rest)})" for first, rest in groups.items())
    return "(?:" + "|".join(branches) + ")"


# --- Building blocks of twitter-text's URL pattern (JS v3 spelling). ---------------------------
_TLD_END = r"(?=[^0-9a-z@+-]|$)"
_GTLD = rf"(?:{_tld_alternation(_GTLDS)}{_TLD_END})"
_CCTLD = rf"(?:{_tld_alternation(_CCTLDS)}{_TLD_END})"
_PUNYCODE = r"(?:xn--[\-0-9a-z]+)"
_INVALID_CHARS = r"\ufffe\ufeff\uffff"
_DIRECTIONAL = r"\u202a-\u202e\u061c\u200e\u200f\u2066\u2067\u2068\u2069"
_SPACES = r"\t-\r \x85\xa0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_PUNCT = r"!'#%&()*+,\\\-./:;<=>?@\[\]^_{|}~$"
_LATIN_ACCENTS = (
    r"\xc0-\xd6\xd8-\xf6\xf8-\xff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259\u025b\u0263"
    r"\u0268\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
_CYRILLIC = r"\u0400-\u04ff"
_DOMAIN_CHAR = rf"[^{_PUNCT}{_SPACES}{_INVALID_CHARS}{_DIRECTIONAL}]"
_SUBDOMAIN = rf"(?:(?:{_DOMAIN_CHAR}(?:[_-]|{_DOMAIN_CHAR})*)?{_DOMAIN_CHAR}\.)"
_DOMAIN_NAME = rf"(?:(?:{_DOMAIN_CHAR}(?:-|{_DOMAIN_CHAR})*)?{_DOMAIN_CHAR}\.)"
_DOMAIN = rf"(?:{_SUBDOMAIN}*{_DOMAIN_NAME}(?:{_GTLD}|{_CCTLD}|{_PUNYCODE}))"
_PRECEDING = rf"(?:[^A-Za-z0-9@\uff20$#\uff03{_INVALID_CHARS}]|[{_DIRECTIONAL}]|^)"
_PATH_CHAR = rf"[a-z{_CYRILLIC}0-9!*';:=+,.$/%#\[\]\-\u2013_~@|&{_LATIN_ACCENTS}]"
_PARENS = rf"\((?:{_PATH_CHAR}+|(?:{_PATH_CHAR}*\({_PATH_CHAR}+\){_PATH_CHAR}*))\)"
_PATH_END = rf"(?:[+\-a-z{_CYRILLIC}0-9=_#/{_LATIN_ACCENTS}]|(?:{_PARENS}))"
_PATH = rf"(?:(?:{_PATH_CHAR}*(?:{_PARENS}{_PATH_CHAR}*)*{_PATH_END})|(?:@{_PATH_CHAR}+/))"
_QUERY_CHAR = r"[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]"
_QUERY_END = r"[a-z0-9\-_&=#/]"

# Groups: 1 preceding character, 2 URL, 3 protocol, 4 domain, 5 path.
_X_URL = re.compile(
    rf"({_PRECEDING})((https?://)?({_DOMAIN})(?::[0-9]+)?(/{_PATH}*)?(?:\?{_QUERY_CHAR}*{_QUERY_END})?)",
    re.IGNORECASE,
)
_TCO_URL = re.compile(
    rf"https?://t\.co/([a-z0-9]+)(?:\?{_QUERY_CHAR}*{_QUERY_END})?", re.IGNORECASE
)
_NO_PROTOCOL_BAD_BEFORE = re.compile(r"[-_./]$")
_ASCII_DOMAIN = re.compile(
    rf"(?:[\-a-z0-9{_LATIN_ACCENTS}]+\.)+(?:{_GTLD}|{_CCTLD}|{_PUNYCODE})", re.IGNORECASE
)
# JS twitter-text refuses a bare "name.cctld" without a path (except .co and .tv); Java does not.
_SHORT_DOMAIN = re.compile(rf"{_DOMAIN_NAME}{_CCTLD}", re.IGNORECASE)
_SPECIAL_SHORT_DOMAIN = re.compile(rf"{_DOMAIN_NAME}(?:co|tv){_TLD_END}", re.IGNORECASE)
_MAX_URL_LENGTH = 4096
_MAX_TCO_SLUG = 40

# --- Mastodon: twitter-text (Ruby) as patched by config/initializers/twitter_regex.rb. --------
_WHITE_SPACE = r"\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_UCHARS = (
    r"\xa0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef\U00010000-\U0001fffd\U00020000-\U0002fffd"
    r"\U00030000-\U0003fffd\U00040000-\U0004fffd\U00050000-\U0005fffd\U00060000-\U0006fffd"
    r"\U00070000-\U0007fffd\U00080000-\U0008fffd\U00090000-\U0009fffd\U000a0000-\U000afffd"
    r"\U000b0000-\U000bfffd\U000c0000-\U000cfffd\U000d0000-\U000dfffd\U000e1000-\U000efffd"
    r"\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd"
)
_M_PATH_CHAR = rf"[^{_WHITE_SPACE}<>()?]"
_M_PARENS = rf"\((?:{_M_PATH_CHAR}+|(?:{_M_PATH_CHAR}*\({_M_PATH_CHAR}+\){_M_PATH_CHAR}*))\)"
# Mastodon redefines the ending characters before the parens, so they keep twitter-text's parens.
_M_PATH_END = rf"(?:[^{_WHITE_SPACE}()?!*\"'\u300c\u300d<>;:=,.$%\[\]~&|@]|(?:{_PARENS}))"
_M_PATH = (
    rf"(?:(?:{_M_PATH_CHAR}*(?:{_M_PARENS}{_M_PATH_CHAR}*)*{_M_PATH_END})|(?:{_M_PATH_CHAR}+/))"
)
_M_QUERY_CHAR = rf"[a-z0-9!?*'();:&=+$/%#\[\]\-_.,~|@^{_UCHARS}]"
_M_QUERY_END = rf"[a-z0-9_&=#/\-{_UCHARS}]"
_M_URL = re.compile(
    rf"({_PRECEDING})(((?:https?|dat|dweb|ipfs|ipns|ssb|gopher|gemini)://)?({_DOMAIN})"
    rf"(?::[0-9]+)?(/{_M_PATH}*)?(?:\?{_M_QUERY_CHAR}*{_M_QUERY_END})?)",
    re.IGNORECASE,
)
# Account::MENTION_RE; the domain part is what Mastodon leaves out of the count.
_M_MENTION = re.compile(
    r"(?<![=/\w])@([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@(\w+(?:[.-]+\w+)*))?", re.IGNORECASE
)
_M_MENTION_BAD_END = re.compile(rf"[@\uff20{_LATIN_ACCENTS}]|://")
_M_MAX_DOMAIN = 253

# --- Any http(s) link, as a reader (and Bluesky) sees it: up to whitespace, minus the
# punctuation that ends the sentence around it. ---------------------------------------------
_LOOSE_URL = re.compile(
    r"(?<![\w@.:/+\-])https?://[^\s<>\"`{}|\\^\u201c\u201d\u2018\u2019\u00ab\u00bb]+",
    re.IGNORECASE,
)
_LOOSE_HOST = re.compile(r"https?://[^/?#]*[^\W_]", re.IGNORECASE)
_URL_TRAILING = frozenset(".,;:!?'*\u2026")
_URL_CLOSERS = {")": "(", "]": "["}


def _java_to_python(pattern: str) -> str:
    def astral(m: re.Match[str]) -> str:
        hi, lo = int(m.group(1), 16), int(m.group(2), 16)
        return f"\\U{0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00):08x}"

    return re.sub(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", astral, pattern)


# The lookahead lists every possible first character, so most positions fail at once.
_X_EMOJI = re.compile(
    r"(?=[#*0-9\u00a9\u00ae\u203c-\U0010ffff])(?:" + _java_to_python(_X_EMOJI_JAVA) + ")"
)
# Every emoji match holds a code point at or above U+203C: a cheap test before the big pattern.
_X_EMOJI_HINT = re.compile(r"[\u203c-\U0010ffff]")
# A link never spans whitespace and always has a dot: only such words are worth matching.
_DOTTED_WORD = re.compile(rf"[^{_SPACES}]*\.[^{_SPACES}]*")
# Code points outside the v3 light ranges weigh 2. So do the copyright and registered signs:
# Java twitter-text makes them emoji only before VS16, twemoji (JS) even without it.
_X_HEAVY = re.compile(r"[^\x00-\xa8\xaa-\xad\xaf-\u10ff\u2000-\u200d\u2010-\u201f\u2032-\u2037]")
_GRAPHEME = regex.compile(r"\X")
# Code points that are always a grapheme cluster of their own (Grapheme_Cluster_Break Other,
# Control, LF, or a Hangul syllable, which joins only with jamo outside this set): a text made
# only of them has as many clusters as code points, without running the slow \X.
_SINGLETON_GRAPHEMES = re.compile(
    r"[\x00-\x0c\x0e-\u02ff\u0370-\u0482\u048a-\u0590\u2000-\u200b\u200e-\u20cf\u2100-\u2bff"
    r"\u3000-\u3029\u3030-\u3098\u309b-\u9fff\uac00-\ud7a3\uff01-\uff9d\U0001f000-\U0001f1e5"
    r"\U0001f300-\U0001f3fa\U0001f400-\U0001faff]*"
)
# What a cut leaves dangling before the ellipsis: spaces, and punctuation that ends a clause.
_TAIL_JUNK = re.compile(r"[\s,;:.\-\u2013\u2014]+\Z")

_Span = tuple[int, int, bool]  # start, end, certain (False: implementations disagree)


def limit(network: str) -> int:
    """The network's post length limit, in its own units (see ``length``)."""
    try:
        return _LIMITS[network]
    except KeyError:
        raise ValueError(
            f"unknown network {network!r}; known networks: {', '.join(sorted(_LIMITS))}"
        ) from None


def length(text: str, network: str) -> int:
    """The length of ``text`` as ``network`` counts it against ``limit(network)``."""
    limit(network)
    text = unicodedata.normalize("NFC", text)
    if network == "x":
        return _x_length(text)
    if network == "mastodon":
        return _graphemes(_mastodon_countable(text))
    if network == "bluesky":
        return _graphemes(text)
    return len(text)


def find_urls(text: str) -> list[tuple[int, int, str]]:
    """Every http(s) link in ``text`` as ``(start, end, url)`` character offsets.

    A link runs to the next whitespace; trailing sentence punctuation and unbalanced closing
    brackets are left out, so ``(see https://example.com/a.)`` yields ``https://example.com/a``.
    """
    urls: list[tuple[int, int, str]] = []
    if "://" not in text:
        return urls
    for m in _LOOSE_URL.finditer(text):
        url = m.group()
        while url:
            last = url[-1]
            unbalanced = last in _URL_CLOSERS and url.count(last) > url.count(_URL_CLOSERS[last])
            if last not in _URL_TRAILING and not unbalanced:
                break
            url = url[:-1]
        if _LOOSE_HOST.match(url):
            urls.append((m.start(), m.start() + len(url), url))
    return urls


def bluesky_facets(text: str) -> list[dict[str, Any]]:
    """Link facets for every http(s) URL in ``text``, with UTF-8 byte offsets into ``text``."""
    facets: list[dict[str, Any]] = []
    byte = char = 0
    for start, end, url in find_urls(text):
        byte += len(text[char:start].encode("utf-8"))
        byte_end = byte + len(url.encode("utf-8"))
        facets.append(
            {
                "index": {"byteStart": byte, "byteEnd": byte_end},
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": url}],
            }
        )
        byte, char = byte_end, end
    return facets


_LINKEDIN_RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")


def escape_linkedin(text: str) -> str:
    r"""Backslash-escape the reserved characters of LinkedIn's "little text format".

    Those are ``\ | { } @ [ ] ( ) < > # * _ ~``; one pass, so a backslash is escaped once.
    """
    return _LINKEDIN_RESERVED.sub(r"\\\1", text)


def shorten(text: str, max_length: int, network: str) -> str:
    """Shorten ``text`` to at most ``max_length`` units of ``network``, ending in an ellipsis.

    Cuts at a word boundary (inside the first word only if it alone is too long), never inside
    a grapheme cluster or a link. Returns ``text`` unchanged if it fits, ``""`` if not even the
    ellipsis fits.
    """
    if length(text, network) <= max_length:
        return text
    if length(ELLIPSIS, network) > max_length:
        return ""
    text = unicodedata.normalize("NFC", text)
    spans = _atomic_spans(text, network)
    ends = {end for _, end in spans}

    def inside_link(i: int) -> bool:
        return any(start < i < end for start, end in spans)

    def cut(i: int) -> str:
        # Trailing junk is dropped, but never a character of a link (a path may end in "-").
        keep = max((end for end in ends if end <= i), default=0)
        head = text[:keep] + _TAIL_JUNK.sub("", text[keep:i])
        # A link directly followed by "…" would take it into its path on some networks.
        return head + (" " if len(head) in ends else "") + ELLIPSIS

    def longest(cuts: list[int]) -> str | None:
        lo, hi = -1, len(cuts)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if length(cut(cuts[mid]), network) <= max_length:
                lo = mid
            else:
                hi = mid
        return cut(cuts[lo]) if lo >= 0 else None

    first = len(text) - len(text.lstrip())
    words = [
        i
        for i in range(first + 1, len(text))
        if text[i].isspace() and not text[i - 1].isspace()  # links hold no whitespace
    ]
    found = longest(words)
    if found is not None:
        return found
    first_word_end = words[0] if words else len(text)
    graphemes = [
        m.end()
        for m in _GRAPHEME.finditer(text, first, first_word_end)
        if m.end() < first_word_end and not inside_link(m.end())
    ]
    return longest(graphemes) or ELLIPSIS


def fit(
    render: Callable[[str, str], str],
    commentary: str,
    title: str,
    network: str,
    max_length: int | None = None,
) -> str:
    """``render(commentary, title)``, with commentary then title shortened until it fits.

    The template around the two parts (link, credit, hashtags) is never cut. Raises
    ``DraftError`` when even the title shortened to an ellipsis does not fit.
    """
    budget = limit(network) if max_length is None else max_length
    post = render(commentary, title)
    if length(post, network) <= budget:
        return post

    def best(part: str, make: Callable[[str], str], floor: int) -> str | None:
        """The longest fitting ``make(shorten(part, n))`` for ``n >= floor``, if any."""
        lo, hi = floor - 1, length(part, network)  # ``hi`` is known not to fit
        found = None
        while hi - lo > 1:
            mid = (lo + hi) // 2
            candidate = make(shorten(part, mid, network))
            if length(candidate, network) <= budget:
                lo, found = mid, candidate
            else:
                hi = mid
        return found

    if commentary:
        found = best(commentary, lambda c: render(c, title), 0)
        if found is not None:
            return found
    if title:
        found = best(title, lambda t: render("", t), length(ELLIPSIS, network))
        if found is not None:
            return found
    bare = length(render("", ""), network)
    raise DraftError(f"cannot fit {network} ({budget}): link and credit alone take {bare}")


# --- Counting helpers. -------------------------------------------------------------------------


def _graphemes(text: str) -> int:
    if text.isascii():
        return len(text) - text.count("\r\n")
    if _SINGLETON_GRAPHEMES.fullmatch(text):
        return len(text)
    return len(_GRAPHEME.findall(text))


def _host_check(domain: str, url_length: int, protocol: str | None) -> bool | None:
    """twitter-text's host and length check: True valid, False invalid, None if unsure."""
    try:
        host = domain.encode("idna").decode("ascii")
    except UnicodeError:
        # Python's IDNA 2003 is stricter than some implementations with non-ASCII names.
        return False if domain.isascii() else None
    if not host:
        return False
    size = url_length + len(host) - len(domain)
    java_ok = size + (0 if protocol else 8) <= _MAX_URL_LENGTH
    js_ok = size + len(protocol or "https://") <= _MAX_URL_LENGTH  # JS counts the scheme twice
    if java_ok and js_ok:
        return True
    return None if java_ok or js_ok else False


def _dotted_matches(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text)`` for a link pattern, trying only words that contain a dot.

    Same matches as the full scan: a match (with the one character before it) cannot cross
    whitespace, and the window keeps that character so the "preceding character" rule holds.
    """
    for word in _DOTTED_WORD.finditer(text):
        yield from pattern.finditer(text, max(word.start() - 1, 0), word.end())


def _x_url_spans(text: str) -> list[_Span]:
    """URLs as twitter-text extracts them (JS ``extractUrlsWithIndices``)."""
    spans: list[_Span] = []
    for m in _dotted_matches(_X_URL, text):
        before, url, protocol, domain, path = m.group(1, 2, 3, 4, 5)
        start, end = m.start(2), m.end(2)
        valid = _host_check(domain, len(url), protocol)
        if valid is False:
            continue
        if protocol:
            tco = _TCO_URL.match(url)
            if tco:
                if len(tco.group(1)) > _MAX_TCO_SLUG:
                    continue
                end = start + tco.end()
            spans.append((start, end, bool(valid)))
            continue
        if _NO_PROTOCOL_BAD_BEFORE.search(before):
            continue
        found = False
        for a in _ASCII_DOMAIN.finditer(domain):
            name = a.group()
            short = (
                not path
                and _SHORT_DOMAIN.fullmatch(name) is not None
                and _SPECIAL_SHORT_DOMAIN.fullmatch(name) is None
            )
            spans.append((start + a.start(), start + a.end(), bool(valid) and not short))
            found = True
        if found and path:
            last_start, _, last_certain = spans[-1]
            spans[-1] = (last_start, end, last_certain)
    return _with_loose_urls(text, spans)


def _with_loose_urls(text: str, spans: list[_Span]) -> list[_Span]:
    """Add, as uncertain, the http(s) links the network's own pattern did not recognise."""
    loose = [
        (s, e, False)
        for s, e, _ in find_urls(text)
        if not any(s < span_end and span_start < e for span_start, span_end, _ in spans)
    ]
    return sorted(spans + loose) if loose else spans


def _x_weight(text: str) -> int:
    if text.isascii():
        return len(text)
    weight = 0
    if _X_EMOJI_HINT.search(text):
        text, emoji = _X_EMOJI.subn("", text)
        weight = 2 * emoji
    return weight + len(text) + len(_X_HEAVY.findall(text))


def _x_length(text: str) -> int:
    total = position = 0
    for start, end, certain in _x_url_spans(text):
        if start < position:
            continue
        total += _x_weight(text[position:start])
        total += _URL_WEIGHT if certain else max(_URL_WEIGHT, _x_weight(text[start:end]))
        position = end
    return total + _x_weight(text[position:])


def _mastodon_entities(text: str) -> list[tuple[int, int, str | None]]:
    """Links and mentions, each with what Mastodon counts in its place (None: the text itself).

    Mirrors StatusLengthValidator#countable_text: protocol URLs become 23 characters and
    ``@user@domain`` becomes ``@user``; overlapping entities keep the one that starts first.
    """
    found: list[tuple[int, int, str | None]] = []
    urls: list[_Span] = []
    for m in _dotted_matches(_M_URL, text) if ":" in text else ():
        url, protocol, domain = m.group(2, 3, 4)
        if not protocol:
            continue
        start, end = m.start(2), m.end(2)
        tco = _TCO_URL.match(url)
        if tco:
            if len(tco.group(1)) > _MAX_TCO_SLUG:
                continue
            end = start + tco.end()
        valid = _host_check(domain, len(url), protocol)
        if valid is not False:
            urls.append((start, end, bool(valid)))
    for start, end, certain in _with_loose_urls(text, urls):
        if certain:
            found.append((start, end, "x" * _URL_WEIGHT))
        else:
            raw = text[start:end]
            found.append((start, end, None if _graphemes(raw) >= _URL_WEIGHT else "x" * 23))
    if "@" in text or "\uff20" in text:
        for m in _M_MENTION.finditer(text):
            if _M_MENTION_BAD_END.match(text, m.end()):
                continue
            domain = m.group(2)
            if domain is not None and len(domain) > _M_MAX_DOMAIN:
                continue
            found.append((m.start(), m.end(), "@" + m.group(1) if domain else None))
    found.sort(key=lambda entity: entity[0])
    kept: list[tuple[int, int, str | None]] = []
    for entity in found:
        if not kept or kept[-1][1] <= entity[0]:
            kept.append(entity)
    return kept


def _mastodon_countable(text: str) -> str:
    pieces = []
    position = 0
    for start, end, replacement in _mastodon_entities(text):
        pieces.append(text[position:start])
        pieces.append(text[start:end] if replacement is None else replacement)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _atomic_spans(text: str, network: str) -> list[tuple[int, int]]:
    """Spans ``shorten`` must keep whole: links, and on Mastodon also mentions."""
    if network == "x":
        spans = [(s, e) for s, e, _ in _x_url_spans(text)]
    elif network == "mastodon":
        spans = [(s, e) for s, e, _ in _mastodon_entities(text)]
    else:
        spans = [(s, e) for s, e, _ in find_urls(text)]
    return spans


def slug(name: str, empty: str = "brand") -> str:
    """``name`` as lowercase ASCII letters, digits and single dashes (artifact keys, block and
    file names); ``empty`` if nothing is left."""
    dashed = "".join(c if c.isalnum() and c.isascii() else "-" for c in name.lower())
    return "-".join(part for part in dashed.split("-") if part) or empty
