"""What went wrong with a registry, told apart, in one line.

An SQLite or OS error met opening or using the registry is one of: the disk is full, the
registry is read-only, busy (another writer kept the lock past the busy timeout),
locked (its lock cannot be taken at all) or damaged. They need different things from
the user (free space, permissions, patience, a local disk, a backup), so each has its
own line. Damage is never guessed from an error: ``PRAGMA integrity_check`` decides it.
"""

from __future__ import annotations

import errno
import shutil
import sqlite3
from pathlib import Path

from cegbench.registry import connect

# SQLite's primary result codes (the low byte of an extended code), sqlite.org/rescode.html
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR = 5, 6, 8, 10
SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOTADB = 11, 13, 14, 26
SQLITE_IOERR_LOCK = SQLITE_IOERR | (15 << 8)
FULL_BELOW_BYTES = 1 << 20  # a disk with less free space than this is full to SQLite


def registry_fault(path, error: BaseException, *, writing: bool = False) -> str:
    """One line saying what went wrong using the registry at ``path``, told apart: the
    disk is full, the registry is read-only, busy (another writer held the lock past the
    busy timeout), locked (its lock cannot be taken) or damaged. Damage is never guessed
    from an error: ``PRAGMA integrity_check`` decides it (``integrity_problems``)."""
    where = f"registry {str(path)!r}"
    code = getattr(error, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    number = getattr(error, "errno", None)
    if isinstance(error, OSError):
        said = f"{type(error).__name__}: {error.strerror or error}"
    else:
        said = f"SQLite: {error}"
    folder = Path(path).parent
    disk_full = (primary == SQLITE_FULL or number == errno.ENOSPC
                 or "database or disk is full" in str(error)
                 or (primary in (SQLITE_IOERR, SQLITE_CANTOPEN)
                     and _free_bytes(folder) < FULL_BELOW_BYTES))
    if disk_full:
        return (f"{where}: the disk is full ({said}); no run is lost (every write is one "
                f"transaction, rolled back whole): free some space on the disk of "
                f"{str(folder)!r} and run the command again")
    if (primary == SQLITE_READONLY or number in (errno.EROFS, errno.EACCES, errno.EPERM)
            or "readonly database" in str(error)):
        return (f"{where} is read-only ({said}); writing to it needs write access to the file "
                "and its folder (and a disk mounted read-write): fix that, or pass another "
                "--registry")
    if primary == SQLITE_BUSY or (primary is None and "database is locked" in str(error)):
        return (f"{where} is busy: another process (a `cegbench run`?) kept it locked for longer "
                f"than the {busy_timeout_ms() // 1000} s this command waits ({said}); run the "
                "command again when that process is done")
    if code == SQLITE_IOERR_LOCK or primary == SQLITE_LOCKED or "is locked" in str(error):
        return (f"{where} is locked: its lock cannot be taken ({said}); SQLite's locks need a "
                "local disk (not NFS or a synced folder), and no other program holding the file")
    problems = integrity_problems(path)
    if problems:
        shown = "; ".join(problems[:2]) + (f"; and {len(problems) - 2} more" if len(problems) > 2 else "")
        return (f"{where} is damaged (PRAGMA integrity_check: {shown}); restore it from a backup, "
                "or rebuild one with `cegbench import` from an export")
    if problems is None:
        return (f"{where} cannot be {'written' if writing else 'read'} ({said}), and SQLite "
                "cannot check its integrity either; check the file and its folder")
    return (f"{where}: {said}; PRAGMA integrity_check finds the registry intact, so it is not "
            "damaged: run the command again, and if it fails the same way report it")


def integrity_problems(path) -> list[str] | None:
    """What ``PRAGMA integrity_check`` reports wrong with the registry at ``path`` ([] when
    intact), read-only; a file SQLite cannot read as a database at all is one problem;
    None when the check cannot run (the file cannot be opened)."""
    path = Path(path)
    try:
        connection = connect.read_only_connection(path)
    except (sqlite3.Error, OSError):
        return None
    try:
        rows = connection.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError as error:
        code = getattr(error, "sqlite_errorcode", None)
        if isinstance(code, int) and code & 0xFF in (SQLITE_CORRUPT, SQLITE_NOTADB):
            return [f"SQLite cannot read it: {error}"]
        return None
    finally:
        connection.close()
    return [row[0] for row in rows if row[0] != "ok"]


def _free_bytes(folder: Path) -> float:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return float("inf")


def busy_timeout_ms() -> int:
    """How long a command waits for another writer (``connect.BUSY_TIMEOUT_MS``, read when asked)."""
    return connect.BUSY_TIMEOUT_MS
