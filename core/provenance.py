"""When and from which code a result came: ``utc_now``, the stamp of every recorded row,
and the source tree's git commit. A shared leaf: no torch (the hardware and library
versions a run trained with are ``cegbench.train.environment``)."""

from __future__ import annotations

import functools
import subprocess
from datetime import datetime, timezone
from pathlib import Path


def utc_now() -> str:
    """This moment in UTC, to the second, ISO 8601: the stamp of every recorded row."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The commit of the cegbench source tree, when it is a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
            capture_output=True, text=True, timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
