"""A private local Prefect server (SQLite, own PREFECT_HOME) for ``goodwill serve --with-server``.

Started as a child process (``prefect server start``) so its lifetime is this command's: it is
stopped on exit, SIGINT or SIGTERM, and its database keeps the schedules and history for the
next start.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["configured_api_url", "local_server", "state_dir"]


def configured_api_url() -> str | None:
    """The Prefect API this process would talk to (env or profile), None when unset."""
    from prefect.settings import PREFECT_API_URL

    value = PREFECT_API_URL.value()
    return str(value) if value else None


def state_dir(config_dir: Path) -> Path:
    """Where Goodwill keeps its local state for a config: ``<config>/.goodwill``."""
    return config_dir.resolve() / ".goodwill"


#: Prefect's usual port: the UI address stays the same across restarts when it is free.
DEFAULT_PORT = 4200


def _free_port(preferred: int = DEFAULT_PORT) -> int:
    for candidate in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            port: int = s.getsockname()[1]
            return port
    raise RuntimeError("no free port on 127.0.0.1")


def server_env(home: Path, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PREFECT_API_URL", None)
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{home / 'prefect.db'}",
        PREFECT_SERVER_API_HOST="127.0.0.1",
        PREFECT_SERVER_API_PORT=str(port),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_UI_API_URL=f"http://127.0.0.1:{port}/api",
        DO_NOT_TRACK="1",
    )
    return env


@contextmanager
def local_server(
    home: Path, port: int | None = None, timeout: float = 120.0, log: Path | None = None
) -> Iterator[str]:
    """Run ``prefect server start`` with its own home; yields the API URL once healthy."""
    home.mkdir(parents=True, exist_ok=True)
    port = _free_port(DEFAULT_PORT if port is None else port)  # 0: any free port
    api = f"http://127.0.0.1:{port}/api"
    log_path = log or home / "server.log"
    with open(log_path, "ab") as log_file:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "prefect",
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=server_env(home, port),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # our SIGINT is handled here, not delivered twice
        )
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"the Prefect server exited ({proc.returncode}); see {log_path}"
                    )
                try:
                    with urllib.request.urlopen(f"{api}/health", timeout=2) as resp:
                        if resp.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the Prefect server did not start in {timeout:.0f}s")
                time.sleep(0.25)
            yield api
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
