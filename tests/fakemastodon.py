"""A Mastodon server's answers for tests: an instance, an account, statuses, shaped as in
docs.joinmastodon.org (Instance v2, Account, Status), trimmed to what Goodwill reads plus a
few other fields. ``routes`` installs them on a ``FakeServer``."""

from __future__ import annotations

from typing import Any

from tests.connector_tester import FakeServer, Recorded, Reply

TOKEN = "ZA-Yj3aBD8U8Cm7lKUp-lm9O9BmDgdhHzDeqsY8tlL0"

INSTANCE = {
    "domain": "photog.social",
    "title": "Photog Social",
    "version": "4.3.2",
    "source_url": "https://github.com/mastodon/mastodon",
    "configuration": {
        "urls": {"streaming": "wss://photog.social"},
        "accounts": {"max_featured_tags": 10},
        "statuses": {
            "max_characters": 1000,
            "max_media_attachments": 4,
            "characters_reserved_per_url": 23,
        },
    },
    "registrations": {"enabled": False, "approval_required": False, "message": None},
}

ACCOUNT = {
    "id": "109302341261870520",
    "username": "hazelpine",
    "acct": "hazelpine",
    "display_name": "Hazel & Pine Studio",
    "locked": False,
    "bot": False,
    "created_at": "2022-11-07T00:00:00.000Z",
    "url": "https://photog.social/@hazelpine",
    "followers_count": 312,
    "statuses_count": 88,
}


def status(post_text: str, status_id: str = "113527654180254321") -> dict[str, Any]:
    """A Status entity as Mastodon renders one: HTML content, links split into spans."""
    words = []
    for word in post_text.split():
        if word.startswith("https://"):
            rest = word.removeprefix("https://")
            words.append(
                f'<a href="{word}" target="_blank" rel="nofollow noopener noreferrer" '
                f'translate="no"><span class="invisible">https://</span>'
                f'<span class="ellipsis">{rest[:20]}</span>'
                f'<span class="invisible">{rest[20:]}</span></a>'
            )
        else:
            words.append(word.replace("&", "&amp;"))
    return {
        "id": status_id,
        "created_at": "2026-11-26T09:00:01.123Z",
        "in_reply_to_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": "en",
        "uri": f"https://photog.social/users/hazelpine/statuses/{status_id}",
        "url": f"https://photog.social/@hazelpine/{status_id}",
        "replies_count": 0,
        "reblogs_count": 0,
        "favourites_count": 0,
        "content": "<p>" + " ".join(words) + "</p>",
        "reblog": None,
        "account": ACCOUNT,
        "media_attachments": [],
        "mentions": [],
        "tags": [],
        "card": None,
        "poll": None,
    }


def routes(server: FakeServer) -> None:
    server.route("GET", "/api/v2/instance", Reply.json(INSTANCE))
    server.route("GET", "/api/v1/accounts/verify_credentials", Reply.json(ACCOUNT))

    def create(req: Recorded) -> Reply:
        return Reply.json(status(req.json["status"]))

    server.route("POST", "/api/v1/statuses", create)
