"""Facebook: a short-lived User token becomes a long-lived one, then the Page's own token.

1. The owner gets a User access token (Graph API Explorer, or their app's login) with
   ``pages_show_list``, ``pages_read_engagement`` and ``pages_manage_posts`` and pastes it
   (read without echo).
2. ``GET /{version}/oauth/access_token?grant_type=fb_exchange_token`` (the app id and secret)
   turns it into a long-lived User token (about 60 days).
3. ``GET /{version}/me/accounts`` lists the Pages it manages with their Page tokens; a Page
   token obtained from a long-lived User token does not expire. The channel's Page token is saved
   where ``page_access_token`` points.
"""

from __future__ import annotations

from typing import Any

import facebook
import requests

from goodwill.auth.common import AuthIO, ask_secret
from goodwill.errors import AuthFailed, Transient

__all__ = ["credentials"]

SDK_ORIGIN = "https://graph.facebook.com"


def _graph(token: str, channel: Any) -> facebook.GraphAPI:
    from connectors._session import RebasedSession

    graph = facebook.GraphAPI(
        access_token=token, session=RebasedSession(SDK_ORIGIN, channel.base_url)
    )
    graph.version = channel.graph_version  # past the SDK's 3.1 ceiling
    return graph


def credentials(channel: Any, config: Any, io: AuthIO, **_: Any) -> dict[str, str]:
    """``{"page_access_token": ...}`` for the channel's Page (saved by the caller)."""
    app_id = channel.app_id or io.ask("Facebook app id: ")
    app_secret = (
        channel.app_secret.resolve().get_secret_value()
        if channel.app_secret
        else ask_secret(io, "Facebook app secret (not shown): ")
    )
    io.say(
        "Get a User access token for your app with pages_show_list, pages_read_engagement and "
        "pages_manage_posts (https://developers.facebook.com/tools/explorer/), then paste it."
    )
    short = ask_secret(io, "User access token (not shown): ")
    secrets = [short, app_secret]
    try:
        long_lived = _graph(short, channel).extend_access_token(app_id, app_secret)["access_token"]
        secrets.append(long_lived)
        pages = _graph(long_lived, channel).get_connections(
            "me", "accounts", fields="id,name,access_token,tasks", limit=100
        )
    except facebook.GraphAPIError as exc:
        words = str(exc.message) if isinstance(exc.message, str) else "refused"
        for secret in secrets:
            words = words.replace(secret, "***")
        raise AuthFailed(f"Facebook refused the token exchange: {words[:200]}") from None
    except (requests.RequestException, KeyError, TypeError) as exc:
        raise Transient(f"Facebook could not be asked ({type(exc).__name__})") from None
    for page in pages.get("data") or []:
        if str(page.get("id")) == channel.page_id and page.get("access_token"):
            io.say(f"{channel.name}: Page {page.get('name', channel.page_id)} connected")
            return {"page_access_token": str(page["access_token"])}
    managed = ", ".join(f"{p.get('name')} ({p.get('id')})" for p in pages.get("data") or [])
    raise AuthFailed(
        f"page_id {channel.page_id} is not among the Pages this user manages: {managed or 'none'}"
    )
