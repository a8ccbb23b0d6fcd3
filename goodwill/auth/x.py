"""X: the OAuth 1.0a PIN flow (out-of-band) or the OAuth 2.0 PKCE flow with a local redirect.

PIN: the app's ``api_key``/``api_secret`` sign a request token; the owner opens X's authorize
page, allows the app and types the PIN X shows; the access token and secret are saved where
``access_token`` / ``access_token_secret`` point.

PKCE: the browser goes to ``https://x.com/i/oauth2/authorize`` (scopes ``tweet.read tweet.write
users.read offline.access``); X redirects to ``http://127.0.0.1:PORT/callback`` (registered in
the app), where a loopback server takes the code; the token (with the refresh token) is saved as
JSON in the ``oauth2_token`` file.
"""

from __future__ import annotations

import json
import time
from typing import Any

import requests
from oauthlib.oauth1 import OAuth1Error
from oauthlib.oauth2 import OAuth2Error
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth1Session, OAuth2Session
from requests_oauthlib.oauth1_session import TokenRequestDenied

from goodwill.auth.common import AuthIO, LoopbackRedirect, open_url
from goodwill.errors import AuthFailed, Transient

__all__ = ["SCOPES", "credentials"]

SCOPES = ["tweet.read", "tweet.write", "users.read", "offline.access"]
TIMEOUT = (10.0, 30.0)


def credentials(
    channel: Any, config: Any, io: AuthIO, redirect_uri: str | None = None
) -> dict[str, str]:
    """The values for the channel's credential fields (saved by the caller)."""
    if channel.oauth2_token is not None:
        return _pkce(channel, io, redirect_uri or channel.redirect_uri)
    return _pin(channel, io)


def _pin(channel: Any, io: AuthIO) -> dict[str, str]:
    key = channel.api_key.resolve().get_secret_value()
    secret = channel.api_secret.resolve().get_secret_value()
    base = channel.base_url
    try:
        oauth = OAuth1Session(key, client_secret=secret, callback_uri="oob")
        oauth.trust_env = False
        request_token = oauth.fetch_request_token(f"{base}/oauth/request_token", timeout=TIMEOUT)
        open_url(io, oauth.authorization_url(f"{base}/oauth/authorize"))
        pin = io.ask("The PIN X shows after you allow access: ")
        oauth = OAuth1Session(
            key,
            client_secret=secret,
            resource_owner_key=request_token["oauth_token"],
            resource_owner_secret=request_token["oauth_token_secret"],
            verifier=pin,
        )
        oauth.trust_env = False
        access = oauth.fetch_access_token(f"{base}/oauth/access_token", timeout=TIMEOUT)
    except (TokenRequestDenied, OAuth1Error, ValueError, KeyError) as exc:
        raise AuthFailed(
            f"X refused the sign-in ({type(exc).__name__}); check the keys and PIN"
        ) from None
    except requests.RequestException as exc:
        raise Transient(f"X could not be reached ({type(exc).__name__})") from None
    if access.get("screen_name"):
        io.say(f"{channel.name}: signed in as @{access['screen_name']}")
    return {
        "access_token": str(access["oauth_token"]),
        "access_token_secret": str(access["oauth_token_secret"]),
    }


def _pkce(channel: Any, io: AuthIO, redirect_uri: str) -> dict[str, str]:
    secret = channel.client_secret.resolve().get_secret_value() if channel.client_secret else None
    receiver = LoopbackRedirect(redirect_uri)
    session = OAuth2Session(
        channel.client_id,
        redirect_uri=redirect_uri,
        scope=SCOPES,
        state=receiver.state,
        pkce="S256",
    )
    session.trust_env = False
    url, _ = session.authorization_url(f"{channel.auth_base_url}/i/oauth2/authorize")
    open_url(io, url)
    code = receiver.wait()
    try:
        token = session.fetch_token(
            f"{channel.base_url}/2/oauth2/token",
            code=code,
            auth=HTTPBasicAuth(channel.client_id, secret) if secret else None,
            include_client_id=secret is None,
            timeout=TIMEOUT,
        )
    except (OAuth2Error, ValueError, Warning) as exc:
        raise AuthFailed(
            f"X refused the code ({getattr(exc, 'error', type(exc).__name__)})"
        ) from None
    except requests.RequestException as exc:
        raise Transient(f"X could not be reached ({type(exc).__name__})") from None
    saved = dict(token)
    saved.setdefault("expires_at", time.time() + float(saved.get("expires_in", 7200)))
    if "refresh_token" not in saved:
        raise AuthFailed("X gave no refresh token: the app must request the offline.access scope")
    return {"oauth2_token": json.dumps(saved, sort_keys=True)}
