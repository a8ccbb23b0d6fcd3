"""How often Goodwill's items agree with feedparser's: titles, links and dates.

    .venv/bin/python -m benchmarks.agreement [CORPORA_DIR]      # default ../shared/corpora

Every file of ``feedparser-tests`` and ``realworld-feeds`` goes through ``parse_feed`` and through
``feedparser.parse`` (6.0.x, defaults as a user would call it). Entries are paired by position
when both found the same number, else by link. A title agrees when both read the same plain
text (feedparser's title with its markup removed the way Goodwill removes it), a link when both
give the same absolute URL, a date when both give the same instant to the second (or neither
has one). Every disagreement is put in one named class; ``explain`` says why each class exists.
"""

from __future__ import annotations

import calendar
import io
import sys
import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import feedparser

from goodwill.errors import ParseError
from goodwill.feeds import parse_feed
from goodwill.feeds.parse import EARLIEST_DATE, FUTURE_TOLERANCE
from goodwill.html import html_to_text, looks_like_html

BASE = "https://corpus.example.com/feed"
CORPUS_DIRS = ("feedparser-tests", "realworld-feeds")
NOW = datetime.now(UTC)

EXPLAIN = {
    "refused: declares XML entities": "Goodwill refuses any DOCTYPE that declares entities "
    "(billion laughs, quadratic blowup, external entities); feedparser expands them.",
    "not a feed for Goodwill": "Goodwill reports a ParseError (HTML page, no entries and no "
    "feed root, unreadable); feedparser returns a best-effort result.",
    "entry dropped (no link, title or summary)": "an entry with nothing to share is skipped: "
    "in these test files the entry has no link and no title, and its summary is only markup "
    "without text (an <img>, an empty <a>), so it is empty as plain text.",
    "entry kept by Goodwill only": "feedparser lost entries of a broken document that "
    "fastfeedparser's recovering parser kept.",
    "title: markup removed": "Goodwill stores titles as plain text; feedparser keeps the HTML "
    "of a title declared type=html/xhtml, or entities left escaped.",
    "title: other": "both in the feedparser test suite's ill-formed files: a Shift-JIS feed "
    "that declares no encoding (each side decodes a different mojibake; neither reads "
    "Japanese) and an unterminated CDATA section (feedparser gives an empty title, "
    "fastfeedparser's recovering parser keeps the fragment '![CD').",
    "link: not http(s)": "Goodwill keeps only http(s) links (javascript:, mailto:, data:, "
    "relative without a base are dropped; never a link in a post).",
    "link: other": "an Atom entry whose only link is rel=enclosure: Goodwill shares that "
    "link, feedparser gives the entry no link.",
    "date: out of range": "Goodwill drops dates before 1990 or more than two days in the "
    "future (placeholders, wrong clocks) so they cannot jump the queue.",
    "date: only feedparser": "feedparser read a date Goodwill's parser did not (rare formats "
    "or a date in a field fastfeedparser does not map).",
    "date: only Goodwill": "Goodwill read a date feedparser did not.",
    "date: differs": "the two read a different instant. The one case in the corpora: "
    "netnewswire/kc0011.rss writes '2020/1/10 14:33:00'; Goodwill reads 10 January 14:33, "
    "feedparser 1 November 00:00 (wrong).",
}


@dataclass
class Report:
    files: int = 0
    entries: int = 0  # paired: both found the entry (the denominator of the rates)
    unpaired: int = 0  # feedparser's entries Goodwill refused or dropped (see the classes)
    title_agree: int = 0
    link_agree: int = 0
    date_agree: int = 0
    classes: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def note(self, cls: str, where: str) -> None:
        self.classes[cls] += 1
        self.examples.setdefault(cls, [])
        if len(self.examples[cls]) < 3:
            self.examples[cls].append(where)

    def rate(self, n: int) -> float:
        return n / self.entries if self.entries else 1.0


def _fp_date(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        value = dict.get(entry, key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
            except (OverflowError, ValueError, OSError):
                return None
    return None


def _plain(title: str) -> str:
    if looks_like_html(title):
        return html_to_text(title)
    return " ".join(title.split())


def _fp_link(entry: Any) -> str | None:
    link = (entry.get("link") or "").strip()
    return urljoin(BASE, link) if link else None


def compare_file(path: Path, report: Report, label: str) -> None:
    body = path.read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fp = feedparser.parse(io.BytesIO(body), response_headers={"content-location": BASE})
    fp_entries = list(fp.get("entries") or [])
    if not fp_entries:
        return  # nothing to compare
    report.files += 1
    try:
        ours = parse_feed(body, url=BASE, now=NOW).entries
    except ParseError as exc:
        cls = (
            "refused: declares XML entities"
            if "entities" in exc.message
            else "not a feed for Goodwill"
        )
        for _ in fp_entries:
            report.unpaired += 1
            report.note(cls, f"{label}: {exc.message}")
        return
    if len(ours) == len(fp_entries):
        pairs = list(zip(fp_entries, ours, strict=True))
    else:
        by_link = {e.link: e for e in ours if e.link}
        pairs = []
        for fe in fp_entries:
            match = by_link.pop(_fp_link(fe) or "", None)
            pairs.append((fe, match))
        extra = len(ours) - sum(1 for _, m in pairs if m is not None)
        for _ in range(max(extra, 0)):
            report.note("entry kept by Goodwill only", label)
    for fe, ge in pairs:
        if ge is None:
            report.unpaired += 1
            report.note("entry dropped (no link, title or summary)", label)
            continue
        report.entries += 1
        fp_title = _plain(fe.get("title") or "")
        if fp_title == ge.title:
            report.title_agree += 1
        else:
            raw = fe.get("title") or ""
            cls = "title: markup removed" if ("<" in raw or "&" in raw) else "title: other"
            report.note(cls, f"{label}: {raw[:60]!r} vs {ge.title[:60]!r}")
        fl = _fp_link(fe)
        if fl == ge.link or (fl and ge.link and fl.rstrip("/") == ge.link.rstrip("/")):
            report.link_agree += 1
        else:
            cls = (
                "link: not http(s)"
                if fl and not fl.lower().startswith(("http://", "https://"))
                else "link: other"
            )
            report.note(cls, f"{label}: {fl!r} vs {ge.link!r}")
        fd, gd = _fp_date(fe), ge.published
        if fd == gd or (fd and gd and abs((fd - gd).total_seconds()) < 1):
            report.date_agree += 1
        elif fd and gd is None and (fd < EARLIEST_DATE or fd > NOW + FUTURE_TOLERANCE):
            report.note("date: out of range", f"{label}: {fd}")
        elif fd and gd is None:
            report.note(
                "date: only feedparser", f"{label}: {fe.get('published') or fe.get('updated')!r}"
            )
        elif gd and fd is None:
            report.note("date: only Goodwill", f"{label}: {gd}")
        else:
            report.note("date: differs", f"{label}: {fd} vs {gd}")


def measure(root: Path) -> dict[str, Report]:
    reports = {}
    for name in CORPUS_DIRS:
        report = Report()
        for path in sorted((root / name).rglob("*")):
            if path.is_file() and path.suffix.lower() in (
                ".xml",
                ".rss",
                ".atom",
                ".rdf",
                ".json",
                "",
            ):
                compare_file(path, report, str(path.relative_to(root)))
        reports[name] = report
    return reports


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else Path(__file__).resolve().parents[2] / "shared" / "corpora"
    reports = measure(root)
    print(
        f"{'corpus':<18}{'files':>6}{'paired':>8}{'unpaired':>10}"
        f"{'titles':>9}{'links':>9}{'dates':>9}"
    )
    for name, r in reports.items():
        print(
            f"{name:<18}{r.files:>6}{r.entries:>8}{r.unpaired:>10}{r.rate(r.title_agree):>9.1%}"
            f"{r.rate(r.link_agree):>9.1%}{r.rate(r.date_agree):>9.1%}"
        )
    for name, r in reports.items():
        print(f"\n{name}: disagreements by class")
        for cls, n in r.classes.most_common():
            print(f"  {n:>5}  {cls}: {EXPLAIN.get(cls, '')}")
            for example in r.examples[cls]:
                print(f"           e.g. {example}")


if __name__ == "__main__":
    main()
