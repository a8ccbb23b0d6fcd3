"""Hostile and broken feeds, all in one ingest run against a loopback server.

Every case ends as a parsed feed or a failing source with a one-line reason, the good feed in
the same run is stored as usual, nothing is read from disk or fetched for a DTD, and the
process's peak memory stays bounded. The run happens in a child process so that its peak RSS
(``resource.getrusage``) is its own, not the test session's.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
import textwrap
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from goodwill.feeds import parse_feed
from goodwill.store.schema import items
from tests.feedserver import FeedServer, Route
from tests.helpers_cli import json_out

#: The child's peak RSS must stay under this. Expanding the quadratic-blowup feed below would
#: take well over a gigabyte; the 20,000-entry feed alone is about 9 MB of XML.
MAX_RSS_MB = 250
NOW = datetime.now(UTC).replace(microsecond=0)


def rss(items_xml: str, *, head: str = '<?xml version="1.0" encoding="utf-8"?>') -> bytes:
    return (
        f'{head}<rss version="2.0"><channel><title>T</title><link>https://t.example/</link>'
        f"{items_xml}</channel></rss>"
    ).encode()


def item(title: str, link: str, extra: str = "") -> str:
    return f"<item><title>{title}</title><link>{link}</link>{extra}</item>"


GOOD = rss(
    item("A good story about light", "https://good.example/1")
    + item("Another good story", "https://good.example/2")
)

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b']><rss version="2.0"><channel><title>&lol9;</title></channel></rss>'
)
# One 100 kB entity referenced 20,000 times: 2 GB if expanded.
QUADRATIC = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "'
    + b"A" * 100_000
    + b'">]><rss version="2.0"><channel><title>q</title><item><title>'
    + b"&a;" * 20_000
    + b"</title><link>https://q.example/1</link></item></channel></rss>"
)


def gzip_bomb(decoded_size: int) -> bytes:
    """A gzip body of ~200 kB that inflates to ``decoded_size`` bytes, built in small steps."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip container
    block = b" " * 1_000_000
    parts = [packer.compress(b"<rss>")]
    for _ in range(decoded_size // len(block)):
        parts.append(packer.compress(block))
    parts.append(packer.flush())
    return b"".join(parts)


def cases(server: FeedServer) -> dict[str, str]:
    """Source name -> URL, each serving one hostile or broken answer."""
    dtd = server.url("/evil.dtd")
    server.feed("/evil.dtd", b'<!ENTITY secret SYSTEM "file:///etc/passwd">')
    big = "".join(
        item(f"Entry number {i} of many", f"https://many.example/{i}") for i in range(20_000)
    )
    urls = {
        "Good": server.feed("/good.xml", GOOD),
        "BillionLaughs": server.feed("/laughs.xml", BILLION_LAUGHS),
        "Quadratic": server.feed("/quadratic.xml", QUADRATIC),
        "ExternalEntity": server.feed(
            "/xxe.xml",
            b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            + rss(item("&x;", "https://xxe.example/1"), head=""),
        ),
        "ParameterEntity": server.feed(
            "/pe.xml",
            f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY % p SYSTEM "{dtd}"> %p;]>'.encode()
            + rss(item("&secret;", "https://pe.example/1"), head=""),
        ),
        "ExternalDTD": server.feed(
            "/dtd.xml",
            f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "{dtd}">'.encode()
            + rss(item("Plain &amp; simple", "https://dtd.example/1"), head=""),
        ),
        "GzipBomb": server.route(
            "/bomb.xml",
            Route(
                body=gzip_bomb(200_000_000),
                headers={"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"},
            ),
        ),
        "Huge": server.huge("/huge.xml", 60_000_000),
        "Drip": server.drip("/drip.xml", GOOD, interval=1.0),
        "RedirectLoop": (
            server.redirect("/loop-a", "/loop-b"),
            server.redirect("/loop-b", "/loop-a"),
        )[0],
        "WrongEncoding": server.feed(
            "/latin1-as-utf8.xml",
            rss(item("Caf\xe9 cr\xe8me", "https://enc.example/1")).decode().encode("latin-1"),
        ),
        "HeaderEncoding": server.feed(
            "/latin1-header.xml",
            rss(item("Caf\xe9 cr\xe8me", "https://enc.example/2"), head="")
            .decode()
            .encode("latin-1"),
            content_type="application/rss+xml; charset=iso-8859-1",
        ),
        "NoEncodingAnywhere": server.feed(
            "/latin1-nothing.xml",
            rss(item("Na\xefve caf\xe9", "https://enc.example/3"), head="")
            .decode()
            .encode("latin-1"),
            content_type="application/rss+xml",
        ),
        "Utf16Bom": server.feed(
            "/utf16-bom.xml",
            rss(
                item("Wide \u00fcml\u00e4ut", "https://wide.example/1"),
                head='<?xml version="1.0" encoding="utf-16"?>',
            )
            .decode()
            .encode("utf-16"),
        ),
        "Utf16NoBom": server.feed(
            "/utf16-nobom.xml",
            rss(
                item("Wide without mark", "https://wide.example/2"),
                head='<?xml version="1.0" encoding="utf-16le"?>',
            )
            .decode()
            .encode("utf-16-le"),
        ),
        "Binary": server.feed("/binary.xml", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40),
        "Html": server.feed(
            "/page.xml",
            b"<!DOCTYPE html><html><head><title>Home</title></head><body>Hi</body></html>",
            content_type="text/html",
        ),
        "Empty": server.feed("/empty.xml", b""),
        "AbsurdDates": server.feed(
            "/dates.xml",
            rss(
                item(
                    "Far future",
                    "https://dates.example/1",
                    "<pubDate>Sat, 01 Jan 9999 00:00:00 GMT</pubDate>",
                )
                + item(
                    "Year zero",
                    "https://dates.example/2",
                    "<pubDate>Mon, 01 Jan 0001 00:00:00 GMT</pubDate>",
                )
                + item(
                    "Nonsense", "https://dates.example/3", "<pubDate>yesterday-ish 99:99</pubDate>"
                )
                + item(
                    "Epoch",
                    "https://dates.example/4",
                    "<pubDate>Thu, 01 Jan 1970 00:00:00 GMT</pubDate>",
                )
            ),
        ),
        "ManyEntries": server.feed("/many.xml", rss(big), gzip=True),
        "ScriptTitles": server.feed(
            "/script.xml",
            rss(
                item(
                    '&lt;a href="javascript:alert(1)"&gt;Click&lt;/a&gt; '
                    "&lt;script&gt;alert(2)&lt;/script&gt;me",
                    "https://script.example/1",
                )
                + item(
                    "<![CDATA[<img src=x onerror=alert(3)>Bold <b>move</b>]]>",
                    "https://script.example/2",
                )
                + item("A javascript link", "javascript:alert(4)")
                + item("A data link", "data:text/html,<script>alert(5)</script>")
            ),
        ),
    }
    return urls


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as s:
        yield s


@pytest.mark.slow
def test_hostile_feeds_are_contained_in_one_run(
    server: FeedServer, config_dir: Path, tmp_path: Path
) -> None:
    urls = cases(server)
    (config_dir / "sources.yaml").write_text(
        "sources:\n" + "".join(f"  - name: {n}\n    url: {u}\n" for n, u in urls.items()),
        encoding="utf-8",
    )
    policy = config_dir / "policy.yaml"
    policy.write_text(
        policy.read_text(encoding="utf-8") + "\nfetch_timeout: 3\nmax_feed_bytes: 10000000\n",
        encoding="utf-8",
    )
    db = tmp_path / "hostile.db"
    script = textwrap.dedent(
        f"""
        import json, resource
        from datetime import datetime

        def peak_rss_mb():
            # VmHWM is this process's own peak; ru_maxrss would carry the parent's across exec.
            for line in open("/proc/self/status"):
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        from goodwill.config import load_config
        from goodwill.events import RecordingSink
        from goodwill.ingest import ingest
        from goodwill.store import Store
        config = load_config({str(config_dir)!r})
        store = Store.open(config.brand.name, url={f"sqlite:///{db}"!r})
        result = ingest(config, store, datetime.fromisoformat({NOW.isoformat()!r}), RecordingSink())
        print(json.dumps({{
            "failures": result.failures, "fetched": result.fetched, "failed": result.failed,
            "new_items": result.new_items,
            "rss_mb": peak_rss_mb(),
        }}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json_out(done.stdout)
    failures: dict[str, str] = out["failures"]

    # Every source ends parsed or failing with a short, one-line reason.
    assert out["fetched"] + out["failed"] == len(urls)
    for name, reason in failures.items():
        assert reason and "\n" not in reason and len(reason) < 200, (name, reason)
    expected_failures = {
        "BillionLaughs": "feed declares XML entities",
        "Quadratic": "feed declares XML entities",
        "ExternalEntity": "feed declares XML entities",
        "ParameterEntity": "feed declares XML entities",
        "GzipBomb": "response larger than 10 MB",
        "Huge": "response larger than 10 MB",
        "Drip": "timed out after 3 s",
        "RedirectLoop": "redirect loop",
        "Binary": "not a feed",
        "Html": "not a feed: looks like an HTML page",
        "Empty": "empty body",
    }
    for name, reason in expected_failures.items():
        assert reason in failures.get(name, ""), (name, failures.get(name))
    assert set(failures) == set(expected_failures), failures
    print(f"hostile run: peak RSS {out['rss_mb']:.0f} MB, {out['new_items']} items")
    assert out["rss_mb"] < MAX_RSS_MB, out

    # No DTD was fetched, nothing from the local disk was stored.
    assert server.requests_to("/evil.dtd") == []
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        rows = conn.execute(
            select(items.c.source, items.c.url, items.c.title, items.c.published_at)
        )
        stored = [tuple(r) for r in rows]
    engine.dispose()
    by_source: dict[str, list[tuple[str, str, object]]] = {}
    for source, url, title, published in stored:
        by_source.setdefault(source, []).append((url, title, published))
    assert not any("root:" in title for _, _, title, _ in stored)

    # The good feed, the external-DTD feed (DTD ignored) and the encodings all parsed.
    assert {u for u, _, _ in by_source["Good"]} == {
        "https://good.example/1",
        "https://good.example/2",
    }
    assert [t for _, t, _ in by_source["ExternalDTD"]] == ["Plain & simple"]
    assert [t for _, t, _ in by_source["HeaderEncoding"]] == ["Caf\xe9 cr\xe8me"]
    assert [t for _, t, _ in by_source["NoEncodingAnywhere"]] == ["Na\xefve caf\xe9"]
    assert len(by_source["WrongEncoding"]) == 1  # readable, whatever the mojibake
    assert [t for _, t, _ in by_source["Utf16Bom"]] == ["Wide \u00fcml\u00e4ut"]
    assert [t for _, t, _ in by_source["Utf16NoBom"]] == ["Wide without mark"]
    # Absurd dates become "no date", the items are kept.
    dates = {u: p for u, _, p in by_source["AbsurdDates"]}
    assert len(dates) == 4 and all(p is None for p in dates.values())
    # Tens of thousands of entries: all stored.
    assert len(by_source["ManyEntries"]) == 20_000
    # Markup in titles is plain text; javascript: and data: links never become items.
    scripts = sorted(by_source["ScriptTitles"])
    assert [u for u, _, _ in scripts] == ["https://script.example/1", "https://script.example/2"]
    for _, title, _ in scripts:
        assert "<" not in title and ">" not in title, title
    assert scripts[0][1] == "Click me"
    assert scripts[1][1] == "Bold move"


def test_quadratic_blowup_is_refused_before_any_parser_sees_it() -> None:
    import tracemalloc

    from goodwill.errors import ParseError

    tracemalloc.start()
    try:
        with pytest.raises(ParseError, match="feed declares XML entities"):
            parse_feed(QUADRATIC, url="https://q.example/feed")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 * len(QUADRATIC)  # a few copies of the body at most, never the expansion


def test_gzip_bomb_fixture_really_is_one() -> None:
    payload = gzip_bomb(50_000_000)
    assert len(payload) < 100_000
    assert len(gzip.decompress(payload)) == 50_000_005
