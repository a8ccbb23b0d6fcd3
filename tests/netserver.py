"""A fake social network on loopback, for publisher processes to post to (tests only).

Like X or Facebook it has no idempotency keys (unless ``honour_keys``); like any network behind a
proxy it sometimes answers 502 after it stored the post (``fail_after_accept``). Its lookup
(``GET /statuses?post_id=N``) is exact. Hooks let a test stop a publisher at a precise point:

- ``X-Hold: 1`` on a post request: the server has the request and holds it (the call is "in
  flight") until ``release()``; then it stores the post or not (``accept_held``) and answers.
- ``POST /hook`` from the test connector (before sending / after the answer): held likewise.

The test waits for ``waiting()`` to show the holder, kills it, then releases.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class Accepted:
    post_id: int
    key: str
    text: str
    remote_id: str


@dataclass
class NetState:
    honour_keys: bool = False
    fail_after_accept: float = 0.0
    accept_held: float = 0.5
    rng: random.Random = field(default_factory=lambda: random.Random(4))
    accepted: list[Accepted] = field(default_factory=list)
    answered_502: int = 0
    lookups: int = 0
    holders: list[tuple[str, int]] = field(default_factory=list)  # (point, post id)
    generation: int = 0  # bumped by release(): holders of older generations go on
    cond: threading.Condition = field(default_factory=threading.Condition)


class NetServer:
    def __init__(self, **options: Any) -> None:
        self.state = NetState(**options)
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:  # quiet
                pass

            def _json(self, code: int, body: object) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the publisher was killed while we held its request

            def _hold(self, point: str, post_id: int) -> None:
                with state.cond:
                    gen = state.generation
                    state.holders.append((point, post_id))
                    state.cond.notify_all()
                    state.cond.wait_for(lambda: state.generation != gen)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                post_id = int(parse_qs(url.query)["post_id"][0])
                with state.cond:
                    state.lookups += 1
                    found = [a for a in state.accepted if a.post_id == post_id]
                self._json(200, [{"id": a.remote_id, "url": _url(a.remote_id)} for a in found])

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path == "/hook":
                    self._hold(body["point"], body["post_id"])
                    self._json(200, {})
                    return
                post_id, key = int(body["post_id"]), str(body["idempotency_key"])
                held = self.headers.get("X-Hold") == "1"
                if held:
                    self._hold("during", post_id)
                with state.cond:
                    if held and state.rng.random() >= state.accept_held:
                        return  # the proxy dropped it: never stored, no answer
                    if state.honour_keys:
                        for a in state.accepted:
                            if a.key == key:
                                self._json(200, {"id": a.remote_id, "url": _url(a.remote_id)})
                                return
                    remote_id = f"n{len(state.accepted) + 1}"
                    state.accepted.append(Accepted(post_id, key, body.get("text", ""), remote_id))
                    fail = state.rng.random() < state.fail_after_accept
                    if fail:
                        state.answered_502 += 1
                if fail:
                    self._json(502, {"error": "Bad Gateway"})
                else:
                    self._json(200, {"id": remote_id, "url": _url(remote_id)})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> NetServer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.release()
        self.httpd.shutdown()
        self.httpd.server_close()

    def wait_for_holder(self, timeout: float) -> tuple[str, int] | None:
        """The first request or hook being held, once there is one (None after ``timeout``)."""
        with self.state.cond:
            self.state.cond.wait_for(lambda: bool(self.state.holders), timeout)
            return self.state.holders[0] if self.state.holders else None

    def release(self) -> None:
        with self.state.cond:
            self.state.holders.clear()
            self.state.generation += 1
            self.state.cond.notify_all()

    def counts(self) -> Counter[int]:
        with self.state.cond:
            return Counter(a.post_id for a in self.state.accepted)

    def remote_ids(self) -> dict[int, set[str]]:
        with self.state.cond:
            out: dict[int, set[str]] = {}
            for a in self.state.accepted:
                out.setdefault(a.post_id, set()).add(a.remote_id)
            return out


def _url(remote_id: str) -> str:
    return f"https://testnet.example/s/{remote_id}"
