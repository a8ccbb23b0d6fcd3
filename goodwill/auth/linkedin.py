"""LinkedIn: the three-legged OAuth 2.0 flow with a local redirect.

The browser goes to ``https://www.linkedin.com/oauth/v2/authorization`` (members: ``openid
profile w_member_social``; organizations: ``w_organization_social r_organization_social``),
LinkedIn redirects to ``http://127.0.0.1:PORT/callback`` (registered in the app), a loopback
server takes the code, and ``/oauth/v2/accessToken`` (client id and secret in the body) gives a
60-day access token. It is saved with its expiry (a ``file:`` reference holds JSON); for an
``env:`` reference the expiry date to put in ``token_expires`` is printed.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import requests
from oauthlib.oauth2 import OAuth2Error
from requests_oauthlib import OAuth2Session

from goodwill.auth.common import AuthIO, LoopbackRedirect, ask_secret, open_url
from goodwill.errors import AuthFailed, Transient

__all__ = ["credentials"]

MEMBER_SCOPES = ["openid", "profile", "w_member_social"]
ORGANIZATION_SCOPES = ["w_organization_social", "r_organization_social"]
TIMEOUT = (10.0, 30.0)


def _space_separated_scope(response: requests.Response) -> requests.Response:
    """LinkedIn answers ``"scope": "openid,profile"``; oauthlib expects spaces and would take the
    commas for a changed scope (and raise)."""
    try:
        body = response.json()
    except ValueError:
        return response
    if isinstance(body, dict) and isinstance(body.get("scope"), str):
        body["scope"] = " ".join(part for part in body["scope"].replace(",", " ").split())
        response._content = json.dumps(body).encode("utf-8")
    return response


def credentials(
    channel: Any, config: Any, io: AuthIO, redirect_uri: str | None = None
) -> dict[str, str]:
    """``{"access_token": ...}``: JSON with the expiry for a ``file:`` reference, else the bare
    token (and the ``token_expires`` line to add is said)."""
    redirect_uri = redirect_uri or channel.redirect_uri
    client_id = channel.client_id or io.ask("LinkedIn app client id: ")
    client_secret = (
        channel.client_secret.resolve().get_secret_value()
        if channel.client_secret
        else ask_secret(io, "LinkedIn app client secret (not shown): ")
    )
    member = channel.author.startswith("urn:li:person:")
    receiver = LoopbackRedirect(redirect_uri)
    session = OAuth2Session(
        client_id,
        redirect_uri=redirect_uri,
        scope=MEMBER_SCOPES if member else ORGANIZATION_SCOPES,
        state=receiver.state,
    )
    session.trust_env = False
    session.register_compliance_hook("access_token_response", _space_separated_scope)
    url, _ = session.authorization_url(f"{channel.auth_base_url}/oauth/v2/authorization")
    open_url(io, url)
    code = receiver.wait()
    try:
        token = session.fetch_token(
            f"{channel.auth_base_url}/oauth/v2/accessToken",
            code=code,
            client_secret=client_secret,
            include_client_id=True,
            timeout=TIMEOUT,
        )
    except (OAuth2Error, ValueError, Warning) as exc:
        raise AuthFailed(
            f"LinkedIn refused the code ({getattr(exc, 'error', type(exc).__name__)})"
        ) from None
    except requests.RequestException as exc:
        raise Transient(f"LinkedIn could not be reached ({type(exc).__name__})") from None
    scope = token.get("scope") or []
    granted = set(scope.split() if isinstance(scope, str) else scope)
    needed = "w_member_social" if member else "w_organization_social"
    if granted and needed not in granted:
        raise AuthFailed(f"LinkedIn did not grant {needed}; allow it on the consent page")
    saved = dict(token)
    saved.setdefault("expires_at", time.time() + float(saved.get("expires_in", 60 * 86400)))
    expires = datetime.fromtimestamp(float(saved["expires_at"]), UTC)
    if channel.access_token.scheme == "file":
        io.say(
            f"{channel.name}: the token expires on {expires:%Y-%m-%d}; Goodwill warns 14 days ahead"
        )
        return {"access_token": json.dumps(saved, sort_keys=True)}
    io.say(
        f"{channel.name}: the token expires on {expires:%Y-%m-%d}: add `token_expires: "
        f"{expires:%Y-%m-%d}` to the channel in channels.yaml so Goodwill warns 14 days ahead"
    )
    return {"access_token": str(saved["access_token"])}
