"""Opening the registry and every named read and write of it.

Only the driver process writes (workers return results). WAL mode and a busy
timeout let readers and a second driver wait instead of failing; every write
is one ``BEGIN IMMEDIATE`` transaction, which takes the write lock up front, so
two writers queue on the busy timeout instead of one of them failing with
"database is locked" when it upgrades a read to a write.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
from sqlite_utils import Database

from cegbench.provenance import utc_now
from cegbench.registry import DEFAULT_REGISTRY
from cegbench.registry.migrations import migrations

BUSY_TIMEOUT_MS = 60_000
IN_CHUNK = 500  # values bound in one ``in (…)`` query, well below SQLite's limit on parameters


def open_registry(path: str | Path = DEFAULT_REGISTRY) -> Database:
    """Open (creating if needed) a registry, in WAL mode, migrated to the latest schema."""
    db = Database(path)
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA foreign_keys = ON")
    if str(path) != ":memory:":
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
    """Delete a registry file with its ``-wal`` and ``-shm`` companions (close it first)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@contextmanager
def write_transaction(db: Database):
    """One write transaction holding the write lock from its start; nests."""
    if db.conn.in_transaction:
        with db.atomic():
            yield
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.conn.rollback()
        raise
    db.conn.commit()


def select_in(db: Database, sql: str, values) -> list[tuple]:
    """The rows of ``sql`` for all of ``values``, where ``sql`` holds ``in ({marks})``:
    run ``IN_CHUNK`` values at a time."""
    values = list(values)
    rows = []
    for start in range(0, len(values), IN_CHUNK):
        chunk = values[start : start + IN_CHUNK]
        rows += db.execute(sql.format(marks=",".join("?" * len(chunk))), chunk).fetchall()
    return rows


# -------------------------------------------------------------------------
# innovations


def innovation_row(innovation, plugin_info) -> dict:
    return {
        "name": innovation.name,
        "title": innovation.title,
        "category": innovation.category,
        "year": innovation.year,
        "paper": innovation.paper,
        "description": innovation.description,
        "expected": innovation.expected,
        "parts": json.dumps(list(innovation.parts)),
        "baseline": json.dumps(dataclasses.asdict(innovation.baseline)),
        "modern": json.dumps(dataclasses.asdict(innovation.modern)),
        "plugin": innovation.plugin,
        "distribution": plugin_info.distribution,
        "plugin_version": plugin_info.version,
        "declaration_hash": innovation.declaration_hash(),
        "updated_at": utc_now(),
    }


def save_innovations(db: Database, rows: list[dict]) -> None:
    with write_transaction(db):
        db["innovations"].upsert_all(rows, pk="name")


def innovations(db: Database) -> list[dict]:
    return list(db["innovations"].rows_where(order_by="name"))


def get_innovation(db: Database, name: str) -> dict | None:
    rows = list(db["innovations"].rows_where("name = ?", [name]))
    return rows[0] if rows else None


# -------------------------------------------------------------------------
# runs


def save_run(db: Database, row: dict) -> bool:
    """Record one finished run (ok or failed) in one transaction; idempotent by run id.

    A run already recorded as ok is kept (another process recorded it first, or
    a rerun found it done); a failed one is replaced. Returns whether ``row`` was
    written.
    """
    with write_transaction(db):
        if db.execute("select 1 from runs where run_id = ? and status = 'ok'",
                      [row["run_id"]]).fetchone():
            return False
        db["runs"].insert(row, replace=True)
        return True


def recorded_run_ids(db: Database, run_ids, *, include_failed: bool = True) -> set[str]:
    """Which of ``run_ids`` the registry already holds (failed ones too, unless asked)."""
    status = "" if include_failed else " and status = 'ok'"
    return {row[0] for row in select_in(db, "select run_id from runs where run_id in ({marks})"
                                        + status, run_ids)}


def unrecorded(db: Database, specs, *, include_failed: bool = True):
    """Yield the specs not recorded yet, checking each one just before it is yielded.

    A driver that pulls specs lazily from here skips runs that another process
    sharing the registry recorded since the sweep started.
    """
    for spec in specs:
        if not recorded_run_ids(db, [spec.run_id], include_failed=include_failed):
            yield spec


def runs(db: Database, innovation: str, tier: str, tier_version: int, *,
         declaration_hash: str | None = None) -> pd.DataFrame:
    """All recorded runs of one innovation in one tier version, as a DataFrame."""
    where = "innovation = ? and tier = ? and tier_version = ?"
    params: list = [innovation, tier, tier_version]
    if declaration_hash is not None:
        where += " and declaration_hash = ?"
        params.append(declaration_hash)
    rows = list(db["runs"].rows_where(where, params, order_by="arm, budget, width, seed"))
    columns = [c.name for c in db["runs"].columns]
    return pd.DataFrame(rows, columns=columns)


def all_runs(db: Database, *, leave_out=()) -> tuple[list[str], list[dict]]:
    """Every recorded run, as (column names, rows), without the columns ``leave_out``."""
    columns = [c.name for c in db["runs"].columns if c.name not in leave_out]
    rows = db["runs"].rows_where(select=", ".join(f"[{c}]" for c in columns),
                                 order_by="innovation, tier, tier_version, arm, budget, width, seed")
    return columns, list(rows)


def run_tiers(db: Database, innovation: str) -> list[tuple[str, int]]:
    """(tier, tier_version) pairs that hold runs of ``innovation``."""
    rows = db["runs"].rows_where("innovation = ?", [innovation],
                                 select="distinct tier, tier_version", order_by="tier, tier_version")
    return [(r["tier"], r["tier_version"]) for r in rows]


def data_as_of(db: Database) -> str | None:
    """The latest time anything was recorded (a verdict, a run, an innovation), or None."""
    stamps = [row[0] for table, column in (("verdicts", "created_at"), ("runs", "finished_at"),
                                           ("innovations", "updated_at"))
              for row in db.execute(f"select max([{column}]) from [{table}]").fetchall() if row[0]]
    return max(stamps) if stamps else None


def copy_registry(db: Database, path: Path) -> Path:
    """A consistent single-file copy of ``db`` at ``path`` (SQLite's backup API, so the copy
    is whole even while a driver writes; left in rollback-journal mode, one plain file)."""
    path.unlink(missing_ok=True)
    target = sqlite3.connect(path)
    try:
        db.conn.backup(target)
        target.execute("PRAGMA journal_mode = DELETE")
    finally:
        target.close()
    return path


# -------------------------------------------------------------------------
# fits and verdicts


# JSON columns added by m002_analysis_detail; NULL when not applicable
VERDICT_DETAIL_COLUMNS = ("sensitivity", "ceg_at_loss", "wall_ceg", "composition", "decision", "fit_bands")


def save_verdict(db: Database, *, innovation: str, tier: str, tier_version: int,
                 verdict: dict, fits: list[dict]) -> None:
    """Store one innovation's verdict and per-arm fits, replacing the previous ones.

    ``verdict`` holds the verdicts columns other than the key (JSON columns as
    Python lists/dicts; the detail columns stay NULL when None or absent); ``fits``
    one dict of fits columns per arm.
    """
    created = utc_now()
    key = {"innovation": innovation, "tier": tier, "tier_version": tier_version}
    verdict = {**key, **verdict, "created_at": created}
    for column in ("ceg", "frontier", "warnings", "method"):
        verdict[column] = json.dumps(verdict.get(column) or ([] if column != "method" else {}))
    for column in VERDICT_DETAIL_COLUMNS:
        value = verdict.get(column)
        verdict[column] = None if value is None else json.dumps(value)
    if verdict.get("fragile") is not None:
        verdict["fragile"] = int(verdict["fragile"])
    fit_rows = [{**key, **fit, "created_at": created} for fit in fits]
    with write_transaction(db):
        db["fits"].delete_where(
            "innovation = ? and tier = ? and tier_version = ?", [innovation, tier, tier_version]
        )
        db["fits"].insert_all(fit_rows, pk=("innovation", "tier", "tier_version", "arm"))
        db["verdicts"].upsert(verdict, pk=("innovation", "tier", "tier_version"))


def verdicts(db: Database, tier: str | None = None, innovation: str | None = None) -> list[dict]:
    """Stored verdicts (JSON columns left as text), optionally of one tier or innovation."""
    conditions = [(column, value) for column, value in (("tier", tier), ("innovation", innovation)) if value]
    where = " and ".join(f"{column} = ?" for column, _ in conditions) or None
    params = [value for _, value in conditions]
    return list(db["verdicts"].rows_where(where, params, order_by="innovation, tier"))


def current_verdict(db: Database, innovation: str, tier: str, tier_version: int) -> dict | None:
    """The stored verdict of ``innovation`` on a tier version, if it was made from the
    innovation's current declaration; None otherwise."""
    declared = get_innovation(db, innovation)
    rows = [v for v in verdicts(db, tier, innovation) if v["tier_version"] == tier_version]
    if rows and declared and rows[0]["declaration_hash"] == declared["declaration_hash"]:
        return rows[0]
    return None


def fits(db: Database, innovation: str, tier: str, tier_version: int) -> list[dict]:
    return list(db["fits"].rows_where(
        "innovation = ? and tier = ? and tier_version = ?",
        [innovation, tier, tier_version], order_by="arm",
    ))
