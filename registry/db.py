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
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
from sqlite_utils import Database

from cegbench.registry.migrations import migrations

DEFAULT_REGISTRY = "cegbench.db"
BUSY_TIMEOUT_MS = 60_000


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


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
        "updated_at": now(),
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
    run_ids = list(run_ids)
    found: set[str] = set()
    status = "" if include_failed else "and status = 'ok'"
    for start in range(0, len(run_ids), 500):
        chunk = run_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        sql = f"select run_id from runs where run_id in ({marks}) {status}"
        found.update(row[0] for row in db.execute(sql, chunk).fetchall())
    return found


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


# -------------------------------------------------------------------------
# fits and verdicts


# JSON columns added by m002_analysis_detail; NULL when not applicable
VERDICT_DETAIL_COLUMNS = ("sensitivity", "ceg_at_loss", "wall_ceg", "composition", "decision", "fit_bands",
                          "withheld", "weakened")


def save_verdict(db: Database, *, innovation: str, tier: str, tier_version: int,
                 verdict: dict, fits: list[dict]) -> None:
    """Store one innovation's verdict and per-arm fits, replacing the previous ones.

    ``verdict`` holds the verdicts columns other than the key (JSON columns as
    Python lists/dicts; the detail columns stay NULL when None or absent); ``fits``
    one dict of fits columns per arm.
    """
    created = now()
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


def fits(db: Database, innovation: str, tier: str, tier_version: int) -> list[dict]:
    return list(db["fits"].rows_where(
        "innovation = ? and tier = ? and tier_version = ?",
        [innovation, tier, tier_version], order_by="arm",
    ))
