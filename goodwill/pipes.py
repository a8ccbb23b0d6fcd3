"""Wider pipes between a run and its worker processes (Linux).

A ``ProcessPoolExecutor`` sends each call and each result through a pipe, which Linux sizes at
64 KiB. A feed's body is larger (the benchmark's average 120 KB): the writer filled the pipe,
slept until the worker had read it, wrote the rest, and both sides took turns a few times per
feed, on a machine whose two cores the run keeps busy. A pipe of ``PIPE_BYTES`` takes a body in
one write and gives it in one read (the before-and-after runs are in issue 5's notes).
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ProcessPoolExecutor

try:
    import fcntl
except ImportError:  # Windows: no pipes of this kind
    fcntl = None  # type: ignore[assignment]

__all__ = ["PIPE_BYTES", "widen_pipes"]

#: Linux's default ceiling for an unprivileged process (``/proc/sys/fs/pipe-max-size``).
PIPE_BYTES = 1 << 20


def widen_pipes(executor: ProcessPoolExecutor) -> None:
    """Let the pipes of ``executor``'s call and result queues hold ``PIPE_BYTES`` each.

    Best effort: where the platform cannot (no ``F_SETPIPE_SZ``), the user's pipe quota is
    spent, or a Python version keeps its queues elsewhere, the pipes stay as they are and only
    the speed differs.
    """
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
    if set_size is None:
        return
    queues = (getattr(executor, "_call_queue", None), getattr(executor, "_result_queue", None))
    for queue in queues:
        for end in (getattr(queue, "_reader", None), getattr(queue, "_writer", None)):
            fileno = getattr(end, "fileno", None)
            if fileno is None:
                continue
            with contextlib.suppress(OSError, ValueError):
                fcntl.fcntl(fileno(), set_size, PIPE_BYTES)
