"""Same-story links checked against the rule written out plainly (what the link tests of a
run, batch by batch or process by process, all assert)."""

from __future__ import annotations

from datetime import datetime, timedelta

from goodwill.dedupe import SAME_STORY, title_key, title_tokens


def _same_story(a: str, b: str) -> bool:
    """The rule, written out plainly: equal keys, or word sets with Jaccard >= SAME_STORY."""
    ka, kb = title_key(a), title_key(b)
    if ka == kb:
        return True
    wa, wb = title_tokens(ka), title_tokens(kb)
    return len(wa) >= 3 and len(wb) >= 3 and len(wa & wb) >= SAME_STORY * len(wa | wb)


def check_links(items: dict[str, tuple[str, str, datetime, str | None]], window: timedelta) -> None:
    """What same-story links must be, however items arrived (url -> title, source, when,
    root url): no chains; a root is the earliest of its story (ties: source name); every
    duplicate tells its story; and of two tellings of one story, never both are roots (only
    roots are drafted: that is what keeps a story from being posted twice)."""
    groups: dict[str, list[str]] = {}
    for url, (_, _, _, root) in items.items():
        groups.setdefault(root or url, []).append(url)
        if root is not None:
            assert items[root][3] is None, f"{url} points at {root}, itself a duplicate"
    for root, members in groups.items():
        key = (items[root][2], items[root][1])
        for url in members:
            title, source, when, _ = items[url]
            assert key <= (when, source), f"{root} is not the earliest telling of its story"
            if url != root:
                assert any(
                    _same_story(title, items[m][0])
                    and items[m][1] != source
                    and abs(items[m][2] - when) <= window
                    for m in members
                    if m != url
                ), f"{url} is linked to a story it does not tell"
    roots = [u for u, v in items.items() if v[3] is None]
    for i, a in enumerate(roots):
        ta, sa, wa, _ = items[a]
        for b in roots[i + 1 :]:
            tb, sb, wb, _ = items[b]
            assert not (sa != sb and abs(wa - wb) <= window and _same_story(ta, tb)), (
                f"{a} and {b} tell one story and are both roots"
            )
