"""Bundled samples: the starter config (``config/`` of the repository) and the demo's feeds."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["sample_config_dir"]


def sample_config_dir() -> Path:
    """The folder holding the sample ``*.yaml`` files that `goodwill init` and the demo copy."""
    return Path(str(resources.files("goodwill") / "samples" / "config"))
