"""Reading what the CLI prints: with ``--json`` its result is the last line of standard
output (progress and tables may come before it)."""

from __future__ import annotations

import json
from typing import Any


def json_out(stdout: str) -> Any:
    """The JSON document on the last line of ``stdout``."""
    lines = stdout.strip().splitlines()
    assert lines, "nothing on standard output"
    return json.loads(lines[-1])
