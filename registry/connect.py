"""How cegbench connects to a registry file: the busy timeout every connection waits on
for another writer, and a read-only connection that writes nothing beside the file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

BUSY_TIMEOUT_MS = 60_000


def read_only_connection(path: Path) -> sqlite3.Connection:
    """A connection that writes nothing, not even a ``-wal`` or ``-shm`` file beside the
    registry: ``immutable`` while no process has the registry open for writing (no
    ``-wal`` file), else read-only through the writer's WAL."""
    wal = Path(f"{path}-wal").exists()
    return sqlite3.connect(f"{path.resolve().as_uri()}?{'mode=ro' if wal else 'immutable=1'}",
                           uri=True)
