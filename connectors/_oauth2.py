"""OAuth 2.0 tokens kept in a ``file:`` reference and refreshed through requests-oauthlib.

The file holds one JSON object: ``access_token``, ``refresh_token``, ``expires_at`` (Unix time),
and whatever else the token endpoint returned. A file holding a bare string is read as a refresh
token (the access token is fetched on first use). Refreshed tokens are written back atomically
with mode 0600, under an exclusive lock, because X rotates refresh tokens: two publishers
refreshing with the same one would leave one of them holding a dead token.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests
from oauthlib.oauth2 import OAuth2Error
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from goodwill.config import SecretRef
from goodwill.credentials import write_private
from goodwill.errors import AuthFailed, ConfigError, Transient

from ._http import DEFAULT_TIMEOUT, scrub, translate

__all__ = ["TokenFile"]

#: Refresh this long before the access token expires.
MARGIN = 300.0


class TokenFile:
    """The OAuth 2.0 token of one account, in a file, refreshed when (nearly) expired."""

    def __init__(
        self,
        ref: SecretRef,
        *,
        token_url: str,
        client_id: str,
        client_secret: str | None = None,
        what: str = "token",
    ) -> None:
        if ref.scheme != "file":
            raise ConfigError(f"{ref}: OAuth 2.0 tokens must live in a file: reference")
        self.path = Path(ref.name).expanduser()
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.what = what

    # ------------------------------------------------------------------ reading and writing

    def load(self) -> dict[str, Any]:
        try:
            raw = self.path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"{self.what} file {self.path} cannot be read: {exc.strerror}"
            ) from None
        try:
            token = json.loads(raw)
        except ValueError:
            token = {"refresh_token": raw} if raw else {}
        if not isinstance(token, dict) or not (
            token.get("access_token") or token.get("refresh_token")
        ):
            raise ConfigError(
                f"{self.what} file {self.path} holds no token; run `goodwill auth` again"
            )
        return token

    def save(self, token: dict[str, Any]) -> None:
        keep = {k: v for k, v in token.items() if v is not None}
        write_private(self.path, json.dumps(keep, indent=1, sort_keys=True) + "\n")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    # ------------------------------------------------------------------ the access token

    def access_token(self, *, force_refresh: bool = False, now: float | None = None) -> str:
        """A valid access token, refreshing (and writing back) first if it is (nearly) expired."""
        token = self.load()
        if not force_refresh and not self._stale(token, now):
            return str(token["access_token"])
        with self._locked():
            fresh = self.load()  # another process may have refreshed while we waited
            if fresh.get("access_token") != token.get("access_token") and not self._stale(
                fresh, now
            ):
                return str(fresh["access_token"])
            refreshed = self.refresh(fresh)
            self.save(refreshed)
            return str(refreshed["access_token"])

    @staticmethod
    def _stale(token: dict[str, Any], now: float | None) -> bool:
        if not token.get("access_token"):
            return True
        expires_at = token.get("expires_at")
        if expires_at is None:
            return False  # unknown: use it until the network says 401
        return float(expires_at) - MARGIN <= (now if now is not None else time.time())

    def refresh(self, token: dict[str, Any]) -> dict[str, Any]:
        """Exchange the refresh token for a new token. Raises AuthFailed or Transient."""
        refresh_token = token.get("refresh_token")
        if not refresh_token:
            raise AuthFailed(
                f"the {self.what} expired and there is no refresh token; run `goodwill auth` again"
            )
        session = OAuth2Session(self.client_id, token=token)
        session.trust_env = False
        seen: list[requests.Response] = []
        session.hooks["response"].append(lambda r, *a, **k: seen.append(r))
        auth = HTTPBasicAuth(self.client_id, self.client_secret) if self.client_secret else None
        extra = {} if self.client_secret else {"client_id": self.client_id}
        secrets = [refresh_token, token.get("access_token"), self.client_secret]
        try:
            new = session.refresh_token(
                self.token_url,
                refresh_token=refresh_token,
                auth=auth,
                timeout=DEFAULT_TIMEOUT,
                **extra,
            )
        except requests.RequestException as exc:
            # Refreshing posts nothing: every transport failure is safe to retry.
            err = translate(
                exc, network=f"refreshing the {self.what}", write=False, secrets=secrets
            )
            raise Transient(err.message) from None
        except (OAuth2Error, ValueError) as exc:
            status = seen[-1].status_code if seen else 0
            if status >= 500 or status == 429:
                raise Transient(
                    f"refreshing the {self.what} failed: the server answered {status}"
                ) from None
            code = getattr(exc, "error", None) or type(exc).__name__
            raise AuthFailed(
                f"the {self.what} could not be refreshed ({scrub(str(code), secrets)}, "
                f"HTTP {status}); run `goodwill auth` again"
            ) from None
        out = dict(new)
        if "expires_at" not in out and "expires_in" in out:
            out["expires_at"] = time.time() + float(out["expires_in"])
        return out
