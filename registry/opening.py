"""Opening a registry file: what the file holds (``check_registry``), a one-line
``RegistryError`` for anything that is not a registry this cegbench may open as asked,
and the open itself: WAL mode, the busy timeout, the schema migrated
(``registry.migrations``). Reading commands open read-only and write nothing.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
from pathlib import Path

from sqlite_utils import Database

from cegbench import __version__
from cegbench.provenance import utc_now
from cegbench.registry import DEFAULT_REGISTRY, connect
from cegbench.registry.db import write_transaction
from cegbench.registry.faults import registry_fault
from cegbench.registry.migrations import migrations

SQLITE_HEADER = b"SQLite format 3\x00"
FILE_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
              (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


class RegistryError(Exception):
    """A file that cannot be used as a registry; one line naming it and what to do."""


def open_registry(path: str | Path = DEFAULT_REGISTRY, *, readonly: bool = False,
                  create: bool | None = None) -> Database:
    """Open a registry, in WAL mode, migrated to the latest schema; create it if needed.

    The file is checked first (``check_registry``): a folder, a text file, a
    truncated or corrupt database, another application's SQLite file, a
    read-only file to write to, or a registry of a newer cegbench raise
    ``RegistryError``. With ``readonly=True`` the registry must exist and
    nothing is written to it, except the schema upgrade of a registry made by an
    older cegbench. ``create=False`` (the default when reading) refuses to make a
    registry where there is none: a missing or empty file.
    """
    if str(path) == ":memory:":
        return _prepare(Database(memory=True), memory=True)
    path = Path(path)
    create = not readonly if create is None else create
    state = check_registry(path, readonly=readonly, create=create)
    if readonly and state in ("current", "newer"):
        try:
            db = Database(connect.read_only_connection(path))
            db.execute(f"PRAGMA busy_timeout = {connect.BUSY_TIMEOUT_MS}")
            db.execute("select count(*) from sqlite_master").fetchone()
        except sqlite3.DatabaseError as error:
            raise RegistryError(registry_fault(path, error)) from None
        return db
    try:
        db = _prepare(Database(path), memory=False)
        if not readonly:
            with write_transaction(db):
                db["cegbench_versions"].insert(
                    {"version": __version__, "first_written_at": utc_now()}, ignore=True)
    except (sqlite3.DatabaseError, OSError) as error:
        raise RegistryError(registry_fault(path, error, writing=True)) from None
    return db


def _prepare(db: Database, memory: bool) -> Database:
    db.execute(f"PRAGMA busy_timeout = {connect.BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA foreign_keys = ON")
    if not memory:
        db.enable_wal()
        # WAL + NORMAL: a killed process loses no committed run and the file never
        # corrupts; a power cut may roll back the last commits (those runs are redone).
        # FULL would fsync every run: ~5× slower ingest for nothing a sweep needs.
        db.execute("PRAGMA synchronous = NORMAL")
    if migrations.pending(db):
        with write_transaction(db):  # two processes opening a new file migrate once
            migrations.apply(db)
    return db


def remove_registry(path: str | Path) -> None:
    """Delete a registry file with its ``-wal`` and ``-shm`` companions (close it first).
    Through a symbolic link, the file it points to goes, and the link stays."""
    path = os.path.realpath(path)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def registry_exists(path: str | Path) -> bool:
    """Whether something is at ``path`` (through symbolic links); a dangling link is
    nothing. Raises ``RegistryError`` where that cannot be told: a symbolic link loop, a
    folder on the way that cannot be searched."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as error:
        where = f"registry {str(path)!r}"
        if error.errno == errno.ELOOP:
            raise RegistryError(f"{where} is a symbolic link loop ({error.strerror}); pass "
                                "--registry with the registry file itself") from None
        raise RegistryError(f"{where} cannot be reached ({error.strerror}): check the "
                            "permissions of the folders on its path") from None
    return True


def check_registry(path: Path, *, readonly: bool, create: bool = False) -> str:
    """What ``path`` holds, without writing to it: "new" (nothing yet, or an empty
    SQLite file), "current", "older" (migrations pending) or "newer" (readable, but
    written by a newer cegbench). Raises ``RegistryError`` for anything that is not a
    registry this cegbench may open as asked."""
    where = f"registry {str(path)!r}"
    if not _check_place(path, where, create):
        return "new"
    header = _read_header(path, where, readonly)
    if not header:
        if not create:
            raise RegistryError(f"{where} is an empty file (0 bytes), not a registry; delete "
                                "it, or run `cegbench run` or `cegbench import` to make one there")
        return "new"
    if not header.startswith(SQLITE_HEADER):
        raise RegistryError(f"{where} is not a cegbench registry (not an SQLite database: a "
                            "text or other file?); pass the right --registry")
    problem = _truncated(path, header)
    if problem:
        raise RegistryError(f"{where} is damaged ({problem}); restore it from a backup, or "
                            "rebuild one with `cegbench import` from an export")
    tables, applied, writers = _schema(path)
    if not tables:
        if not create:
            raise RegistryError(f"{where} is an empty SQLite database, not a registry yet; run "
                                "`cegbench run` or `cegbench import` to make one there")
        return "new"
    return _schema_state(path, where, readonly, tables, applied, writers)


def _check_place(path: Path, where: str, create: bool) -> bool:
    """Whether a file is at ``path``; raises ``RegistryError`` for a folder, a FIFO, a
    socket or a device (never opened: a FIFO blocks until a writer comes), and, where
    nothing is, when a registry may not or cannot be made there."""
    if registry_exists(path):
        if path.is_dir():
            raise RegistryError(f"{where} is a folder, not a file; pass --registry FILE.db")
        mode = os.stat(path).st_mode
        kind = next((name for test, name in FILE_KINDS if test(mode)), None)
        if kind:
            raise RegistryError(f"{where} is not a regular file but {kind}; pass --registry "
                                "with a registry file (FILE.db)")
        return True
    if path.is_symlink() and not create:
        raise RegistryError(f"{where} is a symbolic link to {os.readlink(path)!r}, which "
                            "does not exist; pass --registry with an existing registry")
    if not create:
        raise RegistryError(f"{where} does not exist; run `cegbench run --tier smoke` to "
                            "create one, or pass --registry with an existing file")
    path = Path(os.path.realpath(path))  # a dangling link: the registry is made at its target
    if not path.parent.is_dir():
        raise RegistryError(f"{where}: folder {str(path.parent)!r} does not exist; create "
                            "it or pass another --registry")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise RegistryError(f"{where} cannot be created: folder {str(path.parent)!r} is not "
                            "writable; pass another --registry")
    return False


def _read_header(path: Path, where: str, readonly: bool) -> bytes:
    """The file's first 100 bytes; ``RegistryError`` when it cannot be read, or written
    where writing is asked."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(100)
    except OSError as error:
        raise RegistryError(f"{where} cannot be read: {error.strerror}; check its "
                            "permissions") from None
    if not readonly and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
        raise RegistryError(f"{where} is read-only (the file or its folder); writing to it "
                            "needs write access to both: fix the permissions or pass another "
                            "--registry")
    return header


def _schema(path: Path) -> tuple[set[str], list[str], list[str]]:
    """The file's tables, the cegbench migrations applied to it and the cegbench versions
    that wrote it, read without writing anything."""
    try:
        connection = connect.read_only_connection(path)
        try:
            tables = {row[0] for row in connection.execute(
                "select name from sqlite_master where type = 'table'")}
            applied = [row[0] for row in connection.execute(
                "select name from _sqlite_migrations where migration_set = ? order by rowid",
                [migrations.name])] if "_sqlite_migrations" in tables else []
            writers = [row[0] for row in connection.execute(
                "select version from cegbench_versions order by rowid")
            ] if "cegbench_versions" in tables else []
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise RegistryError(registry_fault(path, error)) from None
    return tables, applied, writers


def _schema_state(path: Path, where: str, readonly: bool, tables: set[str], applied: list[str],
                  writers: list[str]) -> str:
    """"current", "older" or "newer" for a cegbench registry; ``RegistryError`` for another
    application's database, a newer cegbench's registry to write to, or an older one that
    needs an upgrade but is read-only."""
    if not applied:
        shown = ", ".join(sorted(tables)[:6]) + (", …" if len(tables) > 6 else "")
        raise RegistryError(f"{where} is an SQLite database of another application (tables: "
                            f"{shown}), not a cegbench registry; pass another --registry")
    known = [m.name for m in migrations.pending(Database(memory=True))]
    unknown = [name for name in applied if name not in known]
    if unknown:
        if readonly:
            return "newer"
        newer = next((v for v in reversed(writers) if v != __version__), None)
        by = f"cegbench {newer}" if newer else "a newer cegbench"
        raise RegistryError(
            f"{where} was written by {by}: its schema has migration(s) "
            f"{', '.join(unknown)} that this cegbench {__version__} does not know; upgrade "
            f"cegbench to write to it (`pip install -U cegbench`), or pass another --registry")
    if len(applied) < len(known):
        if readonly and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
            raise RegistryError(f"{where} was made by an older cegbench and needs a schema "
                                "upgrade, but it is read-only; make it writable once, or use "
                                "the cegbench that wrote it")
        return "older"
    return "current"


def _truncated(path: Path, header: bytes) -> str | None:
    """Why the file is shorter than its header says, or None (SQLite file format §1.3)."""
    if len(header) < 100:
        return f"{len(header)} bytes, shorter than an SQLite header"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    valid = header[24:28] == header[92:96]  # the in-header size is trusted only then
    wal = Path(f"{path}-wal")
    if valid and pages and not (wal.exists() and wal.stat().st_size):
        size = path.stat().st_size
        if size < page_size * pages:
            return f"truncated: {size} bytes, its header says {page_size * pages}"
    return None
