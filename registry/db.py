"""Every named read and write of the registry (opening it is ``registry.opening``).

Only the driver process writes (workers return results). Every write is one ``BEGIN
IMMEDIATE`` transaction (``write_transaction``), which takes the write lock up front, so
two writers queue on the busy timeout instead of one of them failing with "database is
locked" when it upgrades a read to a write. Every SQL statement of the project lives in
this package: other packages call these functions.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
from sqlite_utils import Database

from cegbench import literature
from cegbench.learning import not_learned_reason
from cegbench.provenance import utc_now
from cegbench.stored import load_json

IN_CHUNK = 500  # values bound in one ``in (…)`` query, well below SQLite's limit on parameters


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


def unjudged_data(db: Database, tier) -> list[tuple[str, str, int, int]]:
    """(dataset, dataset_hash, eval_tokens, context) of the ``tier``'s ok runs (its version)
    whose unigram loss is unknown (recorded before the trainer measured it, or imported)."""
    return [tuple(row) for row in db.execute(
        "select distinct dataset, dataset_hash, json_extract(spec, '$.eval_tokens'), "
        "json_extract(spec, '$.context') from runs where tier = ? and tier_version = ? and "
        "status = 'ok' and unigram_loss is null and dataset_hash is not null and json_valid(spec)",
        [tier.name, tier.version]).fetchall()]


def set_unigram_loss(db: Database, tier, data: tuple, unigram_loss: float) -> int:
    """Record the unigram loss of the runs ``unjudged_data`` named by ``data`` and judge
    again whether each learned (``cegbench.learning``); returns how many were updated."""
    dataset, dataset_hash, eval_tokens, context = data
    where = ("tier = ? and tier_version = ? and status = 'ok' and unigram_loss is null and dataset = ? "
             "and dataset_hash = ? and json_valid(spec) and json_extract(spec, '$.eval_tokens') = ? "
             "and json_extract(spec, '$.context') = ?")
    params = [tier.name, tier.version, dataset, dataset_hash, eval_tokens, context]
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


def trainings(db: Database, training_ids) -> dict[str, str]:
    """{training id: the run id of an ok measurement run with that training}
    (``runs.training_id``, ``cegbench.plan.specs.training_id``) for the ``training_ids``
    the registry has trained, preferring the run that trained itself over a copy of it."""
    found: dict[str, str] = {}
    for training, run_id, _ in sorted(select_in(
            db, "select training_id, run_id, trained_as is not null from runs where status = 'ok' "
                "and training_id in ({marks})", training_ids), key=lambda row: (row[2], row[1])):
        found.setdefault(training, run_id)
    return found


def runs_without_training_id(db: Database) -> list[tuple[str, str]]:
    """(run id, spec) of the runs whose training id is not stored: recorded before
    ``m017_training_ids``, imported without the model families, or of a family that was
    not loaded when they were recorded."""
    return [tuple(row) for row in db.execute("select run_id, spec from runs where training_id is null")]


def set_training_ids(db: Database, training_ids: dict[str, str]) -> None:
    """Store each run's training id ({run id: training id})."""
    with write_transaction(db):
        db.conn.executemany("update runs set training_id = ? where run_id = ?",
                            [(training, run_id) for run_id, training in training_ids.items()])


def mean_losses(db: Database, tier, declarations: dict[str, str]) -> dict[tuple, float]:
    """{(innovation, arm, budget, width): mean final loss of its ok runs} on ``tier`` (its
    version), for the innovations of ``declarations`` ({name: declaration hash}) as they
    are declared now."""
    rows = db.execute(
        "select innovation, declaration_hash, arm, budget, width, avg(final_loss) from runs "
        "where status = 'ok' and tier = ? and tier_version = ? "
        "group by innovation, declaration_hash, arm, budget, width", [tier.name, tier.version])
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


def runs(db: Database, innovation: str, tier_name: str, tier_version: int, *,
         declaration_hash: str | None = None) -> pd.DataFrame:
    """All recorded runs of one innovation in one tier version, as a DataFrame."""
    where = "innovation = ? and tier = ? and tier_version = ?"
    params: list = [innovation, tier_name, tier_version]
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


def run_innovations(db: Database) -> list[str]:
    """The innovations the registry holds runs of, by name."""
    return [row[0] for row in db.execute("select distinct innovation from runs order by innovation")]


def tier_runs(db: Database, tier_name: str, tier_version: int) -> list[dict]:
    """The ok runs of every innovation in one tier version, with the columns that say what
    the tier measured (sizes, budgets, data, epochs) and which trainings they were."""
    columns = ("innovation", "arm", "budget", "width", "n_params", "seed", "final_loss", "tokens",
               "epochs", "dataset", "finished_at")
    present = [c for c in columns if c in db["runs"].columns_dict]  # epochs: m005_run_epochs
    rows = db["runs"].rows_where("tier = ? and tier_version = ? and status = 'ok'", [tier_name, tier_version],
                                 select=", ".join(f"[{c}]" for c in present),
                                 order_by="innovation, arm, budget, width, seed")
    return [{**dict.fromkeys(columns), **row} for row in rows]


def tier_noise_runs(db: Database, tier_name: str, tier_version: int) -> pd.DataFrame:
    """Every run of one tier version, all innovations, with the columns a tier-wide noise
    model is fitted on (``analysis.calibrate.fit_tier_model``): what each run trained
    (recipe, budget, width, seed, steps, tokens), its loss, whether it failed or did not
    learn, and which training it was (``trained_as``)."""
    columns = ("run_id", "innovation", "arm", "recipe", "budget", "width", "n_params", "seed", "final_loss",
               "steps", "tokens", "status", "not_learned", "trained_as")
    present = [c for c in columns if c in db["runs"].columns_dict]
    rows = db["runs"].rows_where("tier = ? and tier_version = ?", [tier_name, tier_version],
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


def save_verdict(db: Database, *, innovation: str, tier, verdict: dict, fits: list[dict]) -> None:
    """Store one innovation's verdict on ``tier`` (its version) and its per-arm fits,
    replacing the previous ones.

    ``verdict`` holds the verdicts columns other than the key (JSON columns as
    Python lists/dicts; the detail columns stay NULL when None or absent); ``fits``
    one dict of fits columns per arm.
    """
    created = utc_now()
    key = {"innovation": innovation, "tier": tier.name, "tier_version": tier.version}
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
            "innovation = ? and tier = ? and tier_version = ?", [innovation, tier.name, tier.version]
        )
        db["fits"].insert_all(fit_rows, pk=("innovation", "tier", "tier_version", "arm"))
        db["verdicts"].upsert(verdict, pk=("innovation", "tier", "tier_version"))


STORED_JSON = {"verdicts": ("ceg", "frontier", "warnings", "method", *VERDICT_DETAIL_COLUMNS),
               "innovations": ("parts", "literature", "baseline", "modern")}


def check_stored_json(db: Database) -> None:
    """Raise ``StoredValueError`` naming the first verdict or innovation value that is not
    JSON: what the site reads, checked before it writes anything."""
    keys = {"verdicts": "innovation, tier, tier_version", "innovations": "name"}
    for table, columns in STORED_JSON.items():
        present = [c for c in columns if c in {col.name for col in db[table].columns}]
        for row in db.execute(f"select {keys[table]}, {', '.join(present)} from [{table}]"):
            key = row[: len(keys[table].split(", "))]
            what = (f"of {key[0]!r} on tier {key[1]} v{key[2]}" if table == "verdicts"
                    else f"of {key[0]!r}")
            for column, text in zip(present, row[len(key):]):
                load_json(text, f"{table}.{column} {what}")


def verdicts(db: Database, tier_name: str | None = None, innovation: str | None = None) -> list[dict]:
    """Stored verdicts (JSON columns left as text), optionally of one tier (every version)
    or innovation."""
    conditions = [(column, value) for column, value in (("tier", tier_name), ("innovation", innovation))
                  if value]
    where = " and ".join(f"{column} = ?" for column, _ in conditions) or None
    params = [value for _, value in conditions]
    return list(db["verdicts"].rows_where(where, params, order_by="innovation, tier"))


def current_verdict(db: Database, innovation: str, tier) -> dict | None:
    """The stored verdict of ``innovation`` on ``tier`` (its version), if it was made from
    the innovation's current declaration; None otherwise."""
    declared = get_innovation(db, innovation)
    rows = [v for v in verdicts(db, tier.name, innovation) if v["tier_version"] == tier.version]
    if rows and declared and rows[0]["declaration_hash"] == declared["declaration_hash"]:
        return rows[0]
    return None


def fits(db: Database, innovation: str, tier_name: str, tier_version: int) -> list[dict]:
    return list(db["fits"].rows_where(
        "innovation = ? and tier = ? and tier_version = ?",
        [innovation, tier_name, tier_version], order_by="arm",
    ))
