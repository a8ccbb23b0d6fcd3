"""What every auth flow shares: talking to the owner, saving tokens, the loopback redirect."""

from __future__ import annotations

import secrets
import threading
import webbrowser
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from goodwill.config import SecretRef
from goodwill.credentials import secrets_dir, write_private
from goodwill.errors import AuthFailed, ConfigError

__all__ = [
    "AuthIO",
    "LoopbackRedirect",
    "ask_secret",
    "open_url",
    "save_secret",
    "secrets_dir",
    "write_private",
]


class AuthIO(Protocol):
    """How a flow talks to the owner (the terminal, or a test). ``open_url`` and
    ``ask_secret`` are optional (see ``open_url`` and ``ask_secret`` below)."""

    def say(self, line: str) -> None: ...

    def ask(self, prompt: str) -> str: ...


def open_url(io: Any, url: str) -> None:
    """Send the owner to ``url``: the IO's own way, else print it and try the browser."""
    opener = getattr(io, "open_url", None)
    if opener is not None:
        opener(url)
        return
    io.say(f"Open this address in your browser and allow access:\n  {url}")
    webbrowser.open(url)


def ask_secret(io: Any, prompt: str) -> str:
    """Ask without echo when the IO can."""
    asker = getattr(io, "ask_secret", None)
    return str(asker(prompt) if asker is not None else io.ask(prompt)).strip()


def save_secret(ref: SecretRef, value: str, what: str) -> str:
    """Store ``value`` where ``ref`` points; returns a line for the owner (never the value)."""
    if ref.scheme == "file":
        path = Path(ref.name).expanduser()
        write_private(path, value + "\n")
        return f"{what}: saved to {path} (readable only by you)"
    if ref.scheme == "env":
        path = secrets_dir() / ref.name
        write_private(path, value + "\n")
        return (
            f"{what}: saved to {path} (readable only by you); load it in the service's "
            f'environment with: export {ref.name}="$(cat {path})"'
        )
    raise ConfigError(f"{ref}: Prefect Secret blocks are written from the Prefect UI or flows")


class LoopbackRedirect:
    """Receives the OAuth redirect on 127.0.0.1 (the three-legged flows' local redirect URI)."""

    def __init__(self, redirect_uri: str, *, timeout: float = 300.0) -> None:
        parts = urlsplit(redirect_uri)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost"):
            raise ConfigError(
                f"redirect URI {redirect_uri!r} must be http://127.0.0.1:PORT/PATH "
                "(registered in the app's settings)"
            )
        self.path = parts.path or "/"
        self.timeout = timeout
        self.state = secrets.token_urlsafe(24)
        self.params: dict[str, str] = {}
        self._done = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass  # the query holds the authorization code

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path != receiver.path:
                    self.send_response(404)
                    self.end_headers()
                    return
                receiver.params = {k: v[0] for k, v in parse_qs(url.query).items()}
                body = b"Goodwill: done. You can close this tab and go back to the terminal.\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                receiver._done.set()

        try:
            self._server = HTTPServer((parts.hostname or "127.0.0.1", parts.port or 80), Handler)
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {parts.netloc} for the redirect: {exc.strerror}"
            ) from None
        self.redirect_uri = redirect_uri
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def wait(self) -> str:
        """The authorization code, once the browser comes back (state checked)."""
        try:
            if not self._done.wait(self.timeout):
                raise AuthFailed("no answer from the browser in time; run `goodwill auth` again")
        finally:
            self._server.shutdown()
            self._server.server_close()
        if "error" in self.params:
            reason = self.params.get("error_description") or self.params["error"]
            raise AuthFailed(f"the network refused the authorization: {reason}")
        if self.params.get("state") != self.state:
            raise AuthFailed("the redirect's state does not match (a stale or forged redirect)")
        code = self.params.get("code")
        if not code:
            raise AuthFailed("the redirect carried no authorization code")
        return code
