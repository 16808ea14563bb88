"""Opening the registry and every named read and write of it.

Only the driver process writes (workers return results). WAL mode and a busy
timeout let readers and a second driver wait instead of failing; every write
is one ``BEGIN IMMEDIATE`` transaction, which takes the write lock up front, so
two writers queue on the busy timeout instead of one of them failing with
"database is locked" when it upgrades a read to a write.

Just over 400 lines: every SQL statement of the project lives in this package, and the
named reads and writes of one database are easier to find in one module.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
from sqlite_utils import Database

from cegbench import __version__, literature
from cegbench.learning import not_learned_reason
from cegbench.provenance import utc_now
from cegbench.registry import DEFAULT_REGISTRY
from cegbench.registry.migrations import migrations

BUSY_TIMEOUT_MS = 60_000
IN_CHUNK = 500  # values bound in one ``in (…)`` query, well below SQLite's limit on parameters


class RegistryError(Exception):
    """A file that cannot be used as a registry; one line naming it and what to do."""


SQLITE_HEADER = b"SQLite format 3\x00"


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
            db = Database(_read_only_connection(path))
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            db.execute("select count(*) from sqlite_master").fetchone()
        except sqlite3.DatabaseError as error:
            raise RegistryError(f"registry {str(path)!r} cannot be read: {error}") from None
        return db
    try:
        db = _prepare(Database(path), memory=False)
    except sqlite3.DatabaseError as error:
        raise RegistryError(f"registry {str(path)!r} cannot be opened for writing: {error}; "
                            "check that the file and its folder are writable") from None
    if not readonly:
        with write_transaction(db):
            db["cegbench_versions"].insert(
                {"version": __version__, "first_written_at": utc_now()}, ignore=True)
    return db


def _prepare(db: Database, memory: bool) -> Database:
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
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
    """Delete a registry file with its ``-wal`` and ``-shm`` companions (close it first)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
def check_registry(path: Path, *, readonly: bool, create: bool = False) -> str:
    """What ``path`` holds, without writing to it: "new" (nothing yet, or an empty
    SQLite file), "current", "older" (migrations pending) or "newer" (readable, but
    written by a newer cegbench). Raises ``RegistryError`` for anything that is not a
    registry this cegbench may open as asked."""
    where = f"registry {str(path)!r}"
    if path.is_dir():
        raise RegistryError(f"{where} is a folder, not a file; pass --registry FILE.db")
    if not path.exists():
        if not create:
            raise RegistryError(f"{where} does not exist; run `cegbench run --tier smoke` to "
                                "create one, or pass --registry with an existing file")
        if not path.parent.is_dir():
            raise RegistryError(f"{where}: folder {str(path.parent)!r} does not exist; create "
                                "it or pass another --registry")
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise RegistryError(f"{where} cannot be created: folder {str(path.parent)!r} is not "
                                "writable; pass another --registry")
        return "new"
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
    try:
        connection = _read_only_connection(path)
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
        raise RegistryError(f"{where} is damaged or unreadable (SQLite: {error}); restore it "
                            "from a backup, or rebuild one with `cegbench import` from an "
                            "export") from None
    if not tables:
        if not create:
            raise RegistryError(f"{where} is an empty SQLite database, not a registry yet; run "
                                "`cegbench run` or `cegbench import` to make one there")
        return "new"
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


def _read_only_connection(path: Path) -> sqlite3.Connection:
    """A connection that writes nothing, not even a ``-wal`` or ``-shm`` file beside the
    registry: ``immutable`` while no process has the registry open for writing (no
    ``-wal`` file), else read-only through the writer's WAL."""
    wal = Path(f"{path}-wal").exists()
    return sqlite3.connect(f"{path.resolve().as_uri()}?{'mode=ro' if wal else 'immutable=1'}",
                           uri=True)


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


def recipe_json(recipe) -> str:
    """A recipe as the registry stores it (``runs.recipe``, ``learning_rates.recipe``, an
    innovation's arms): equal recipes give equal text, so rows can be matched on it."""
    return json.dumps(dataclasses.asdict(recipe))


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
        "literature": literature.to_json(innovation.literature),
        "baseline": recipe_json(innovation.baseline),
        "modern": recipe_json(innovation.modern),
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


def unjudged_data(db: Database, tier: str, tier_version: int) -> list[tuple[str, str, int, int]]:
    """(dataset, dataset_hash, eval_tokens, context) of the tier version's ok runs whose
    unigram loss is unknown (recorded before the trainer measured it, or imported)."""
    return [tuple(row) for row in db.execute(
        "select distinct dataset, dataset_hash, json_extract(spec, '$.eval_tokens'), "
        "json_extract(spec, '$.context') from runs where tier = ? and tier_version = ? and "
        "status = 'ok' and unigram_loss is null and dataset_hash is not null and json_valid(spec)",
        [tier, tier_version]).fetchall()]


def set_unigram_loss(db: Database, tier: str, tier_version: int, data: tuple, unigram_loss: float) -> int:
    """Record the unigram loss of the runs ``unjudged_data`` named by ``data`` and judge
    again whether each learned (``cegbench.learning``); returns how many were updated."""
    dataset, dataset_hash, eval_tokens, context = data
    where = ("tier = ? and tier_version = ? and status = 'ok' and unigram_loss is null and dataset = ? "
             "and dataset_hash = ? and json_valid(spec) and json_extract(spec, '$.eval_tokens') = ? "
             "and json_extract(spec, '$.context') = ?")
    params = [tier, tier_version, dataset, dataset_hash, eval_tokens, context]
    with write_transaction(db):
        rows = db.execute(f"select run_id, final_loss, curve from runs where {where}", params).fetchall()
        for run_id, final_loss, curve in rows:
            try:
                curve = json.loads(curve or "[]")
            except ValueError:
                curve = []
            reason = not_learned_reason(final_loss, curve if isinstance(curve, list) else [], unigram_loss)
            db.execute("update runs set unigram_loss = ?, not_learned = ? where run_id = ?",
                       [unigram_loss, reason, run_id])
    return len(rows)


def recorded_run_ids(db: Database, run_ids, *, include_failed: bool = True) -> set[str]:
    """Which of ``run_ids`` the registry already holds (failed ones too, unless asked)."""
    status = "" if include_failed else " and status = 'ok'"
    return {row[0] for row in select_in(db, "select run_id from runs where run_id in ({marks})"
                                        + status, run_ids)}


def trainings(db: Database, training_ids, components) -> dict[str, str]:
    """{training id: the run id of an ok measurement run with that training}
    (``cegbench.plan.training_id``) for the ``training_ids`` the registry has trained,
    preferring the run that trained itself over a copy of it."""
    from cegbench.plan import training_id  # not at the top: it imports torch

    wanted, found = set(training_ids), {}
    rows = db.execute("select run_id, spec from runs where status = 'ok' "
                      "order by trained_as is not null, run_id").fetchall()
    for run_id, spec in rows:
        key = training_id(json.loads(spec), components)
        if key in wanted and key not in found:
            found[key] = run_id
    return found


def mean_losses(db: Database, tier: str, tier_version: int,
                declarations: dict[str, str]) -> dict[tuple, float]:
    """{(innovation, arm, budget, width): mean final loss of its ok runs} on one tier
    version, for the innovations of ``declarations`` ({name: declaration hash}) as they
    are declared now."""
    rows = db.execute(
        "select innovation, declaration_hash, arm, budget, width, avg(final_loss) from runs "
        "where status = 'ok' and tier = ? and tier_version = ? "
        "group by innovation, declaration_hash, arm, budget, width", [tier, tier_version])
    return {(name, arm, budget, width): loss for name, declared, arm, budget, width, loss in rows
            if declarations.get(name) == declared}


def unrecorded(db: Database, specs, *, include_failed: bool = True) -> list:
    """The specs of ``specs`` the registry does not hold yet (failed ones count as held,
    unless ``include_failed`` is False). The sweep asks just before each task starts, so
    that it skips runs another process sharing the registry recorded since it began."""
    specs = list(specs)
    done = recorded_run_ids(db, [spec.run_id for spec in specs], include_failed=include_failed)
    return [spec for spec in specs if spec.run_id not in done]


def supersede_runs(db: Database, reasons: dict[str, str]) -> int:
    """Move the runs ``reasons`` names (run id → why) from ``runs`` to ``superseded_runs``,
    each with its reason and the time; return how many moved."""
    moved = [{**row, "superseded_at": utc_now(), "reason": reason}
             for run_id, reason in reasons.items() for row in db["runs"].rows_where("run_id = ?", [run_id])]
    with write_transaction(db):
        db["superseded_runs"].upsert_all(moved, pk="run_id", alter=True)
        for row in moved:
            db["runs"].delete(row["run_id"])
    return len(moved)


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


def tier_runs(db: Database, tier: str, tier_version: int) -> list[dict]:
    """The ok runs of every innovation in one tier version, with the columns that say what
    the tier measured (sizes, budgets, data, epochs) and which trainings they were."""
    columns = ("innovation", "arm", "budget", "width", "n_params", "seed", "final_loss", "tokens",
               "epochs", "dataset", "finished_at")
    present = [c for c in columns if c in db["runs"].columns_dict]  # epochs: m005_run_epochs
    rows = db["runs"].rows_where("tier = ? and tier_version = ? and status = 'ok'", [tier, tier_version],
                                 select=", ".join(f"[{c}]" for c in present),
                                 order_by="innovation, arm, budget, width, seed")
    return [{**dict.fromkeys(columns), **row} for row in rows]


def tier_noise_runs(db: Database, tier: str, tier_version: int) -> pd.DataFrame:
    """Every run of one tier version, all innovations, with the columns a tier-wide noise
    model is fitted on (``analysis.calibrate.fit_tier_model``): what each run trained
    (recipe, budget, width, seed, steps, tokens), its loss, whether it failed or did not
    learn, and which training it was (``trained_as``)."""
    columns = ("run_id", "innovation", "arm", "recipe", "budget", "width", "n_params", "seed", "final_loss",
               "steps", "tokens", "status", "not_learned", "trained_as")
    present = [c for c in columns if c in db["runs"].columns_dict]
    rows = db["runs"].rows_where("tier = ? and tier_version = ?", [tier, tier_version],
                                 select=", ".join(f"[{c}]" for c in present),
                                 order_by="innovation, arm, budget, width, seed")
    return pd.DataFrame(list(rows), columns=present)


def last_run_finished(db: Database) -> str | None:
    """When the latest recorded run finished (its ``finished_at``), or None."""
    return db.execute("select max(finished_at) from runs").fetchone()[0]


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
VERDICT_DETAIL_COLUMNS = ("sensitivity", "ceg_at_loss", "wall_ceg", "composition", "decision", "fit_bands",
                          "withheld", "weakened", "headline", "rests_on", "equal_loss_cegs")


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
