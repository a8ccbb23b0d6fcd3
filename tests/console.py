"""Helpers for tests against a real local Prefect server (``goodwill serve --with-server``)."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from queue import Empty, Queue
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GOODWILL = [sys.executable, "-m", "goodwill.cli"]


@contextmanager
def webhook_receiver() -> Iterator[tuple[str, Queue[dict[str, Any]]]]:
    """A loopback HTTP server collecting the JSON bodies POSTed to it."""
    received: Queue[dict[str, Any]] = Queue()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            received.put(json.loads(body or b"{}"))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", received
    finally:
        server.shutdown()
        server.server_close()


def next_matching(received: Queue[dict[str, Any]], text: str, timeout: float) -> dict[str, Any]:
    """The first notification whose subject or body contains ``text`` (waits on the queue)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no notification containing {text!r} within {timeout}s")
        try:
            got = received.get(timeout=left)
        except Empty:
            continue
        if text in got.get("subject", "") + got.get("body", ""):
            return got


def env_for(api: str, **extra: str) -> dict[str, str]:
    return dict(os.environ, PREFECT_API_URL=api, PREFECT_LOGGING_LEVEL="WARNING", **extra)


def run_goodwill(args: list[str], env: dict[str, str], timeout: float = 120) -> Any:
    return subprocess.run(
        [*GOODWILL, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def emit(api: str, event: str, brand: str, channel: str | None, payload: dict[str, Any]) -> None:
    """Emit one event from a separate process (its events client talks to ``api`` only)."""
    code = (
        "import json,sys\n"
        "from prefect.events import emit_event\n"
        "from goodwill.events import resource\n"
        "a = json.loads(sys.argv[1])\n"
        "emit_event(event=a['event'], resource=resource(a['brand'], a['channel']),"
        " payload=a['payload'])\n"
    )
    args = json.dumps({"event": event, "brand": brand, "channel": channel, "payload": payload})
    subprocess.run(
        [sys.executable, "-c", code, args], env=env_for(api), cwd=ROOT, check=True, timeout=60
    )


@contextmanager
def serving(config_dir: Path, env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``goodwill serve --with-server`` in a child process; yields (UI address, process)."""
    proc = subprocess.Popen(
        [*GOODWILL, "serve", "--with-server", "--port", "0", "--config", str(config_dir)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    proc.lines = lines  # type: ignore[attr-defined]
    ui = None
    drain: threading.Thread | None = None
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # blocks until the command prints its address
            lines.append(line)
            if line.startswith("Prefect UI: "):
                ui = line.removeprefix("Prefect UI: ").strip()
                break
        if ui is None:
            raise AssertionError("serve exited before printing the UI address:\n" + "".join(lines))
        drain = threading.Thread(target=lambda: lines.extend(proc.stdout or []), daemon=True)
        drain.start()
        yield ui, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if drain is not None:
            drain.join(timeout=30)  # the last lines (e.g. "Stopped.") arrive after the exit
        if proc.stdout is not None:
            proc.stdout.close()
        proc.output = "".join(lines)  # type: ignore[attr-defined]


def wait_for_deployments(api: str, names: set[str], timeout: float = 60) -> dict[str, dict]:
    """The deployments once ``serve`` has registered all of ``names`` (polls the API)."""
    deadline = time.monotonic() + timeout
    while True:
        found = read_deployments(api)
        if names <= set(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def read_deployments(api: str) -> dict[str, dict]:
    """Every deployment the Prefect API at ``api`` knows, by name."""
    import httpx

    with httpx.Client(base_url=api, timeout=30) as client:
        found = client.post("/deployments/filter", json={}).json()
        return {d["name"]: d for d in found}
