"""``goodwill serve`` and SIGTERM during start-up: held until the runner has started, then a
graceful stop. A stand-in runner behaves as Prefect's does: its SIGTERM handler, set when it
begins to start, exits at once until it has started, and stops gracefully afterwards."""

from __future__ import annotations

import asyncio
import os
import signal
from types import FrameType

import pytest

from flows.serve import _HeldSigterm, _run


class _StandInRunner:
    def __init__(self, sigterm_while_starting: bool) -> None:
        self.started = False
        self.stops: list[str] = []
        self._sigterm_while_starting = sigterm_while_starting
        self._stopped: asyncio.Event | None = None

    def handle_sigterm(self, *args: object) -> None:
        if not self.started:
            raise SystemExit(0)  # Prefect's runner, before it has started
        self.stops.append("graceful")
        assert self._stopped is not None
        self._stopped.set()

    async def start(self) -> None:
        self._stopped = asyncio.Event()
        signal.signal(signal.SIGTERM, self.handle_sigterm)
        await asyncio.sleep(0)
        if self._sigterm_while_starting:
            os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(3):  # the rest of its start-up
            await asyncio.sleep(0)
        self.started = True
        await self._stopped.wait()


def _noop(signum: int, frame: FrameType | None) -> None:
    pass


@pytest.fixture
def sigterm_restored() -> object:
    previous = signal.signal(signal.SIGTERM, _noop)
    yield
    signal.signal(signal.SIGTERM, previous)


@pytest.mark.usefixtures("sigterm_restored")
def test_a_sigterm_while_the_runner_starts_stops_it_gracefully_once_started() -> None:
    runner = _StandInRunner(sigterm_while_starting=True)
    with _HeldSigterm() as held:
        asyncio.run(_run(runner, held))  # type: ignore[arg-type]
        assert held.requested
    assert runner.stops == ["graceful"]
    assert signal.getsignal(signal.SIGTERM) is _noop  # the handler before is back


@pytest.mark.usefixtures("sigterm_restored")
def test_a_sigterm_before_the_runner_starts_is_held() -> None:
    with _HeldSigterm() as held:
        os.kill(os.getpid(), signal.SIGTERM)
        assert held.requested  # recorded, not acted on: serve() then serves nothing
    assert signal.getsignal(signal.SIGTERM) is _noop


@pytest.mark.usefixtures("sigterm_restored")
def test_a_sigterm_once_started_goes_to_the_runner() -> None:
    runner = _StandInRunner(sigterm_while_starting=False)

    async def serve_then_stop() -> None:
        served = asyncio.ensure_future(_run(runner, held))  # type: ignore[arg-type]
        while signal.getsignal(signal.SIGTERM) != runner.handle_sigterm:
            await asyncio.sleep(0.01)  # until _run has seen it start and handed SIGTERM back
        os.kill(os.getpid(), signal.SIGTERM)
        await served

    with _HeldSigterm() as held:
        asyncio.run(serve_then_stop())
        assert not held.requested
    assert runner.stops == ["graceful"]
