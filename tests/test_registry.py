import json
from types import SimpleNamespace

from sqlite_utils import Database

from cegbench.registry.db import (
    get_innovation,
    recorded_run_ids,
    runs,
    save_innovations,
    save_run,
    save_verdict,
    verdicts,
)
from cegbench.registry.migrations import migrations
from cegbench.registry.opening import open_registry


def innovation(name="demo"):
    return {"name": name, "title": "Demo", "category": "architecture", "year": 2020,
            "paper": "https://example.org", "description": "d", "expected": None,
            "parts": "[]", "baseline": "{}", "modern": "{}", "plugin": "p",
            "distribution": None, "plugin_version": None, "declaration_hash": "h1",
            "updated_at": "now"}


def run_row(run_id, status="ok", **changes):
    row = {"run_id": run_id, "innovation": "demo", "arm": "baseline", "tier": "smoke",
           "tier_version": 1, "budget": 1e9, "width": 16, "n_params": 100, "seed": 0,
           "status": status, "final_loss": 2.5, "declaration_hash": "h1"}
    row.update(changes)
    return row


def test_open_registry_migrates_once_and_uses_wal(tmp_path):
    path = tmp_path / "r.db"
    db = open_registry(path)
    assert {"innovations", "runs", "fits", "verdicts"} <= set(db.table_names())
    every = [m.name for m in migrations.pending(Database(memory=True))]
    assert every[0] == "m001_initial_schema" and "m003_registry_indexes" in every
    assert [m.name for m in migrations.applied(db)] == every
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    db = open_registry(path)  # reopening applies nothing new
    assert migrations.pending(db) == []


def test_runs_roundtrip_and_resume_bookkeeping(tmp_path):
    db = open_registry(tmp_path / "r.db")
    save_innovations(db, [innovation()])
    save_run(db, run_row("a"))
    save_run(db, run_row("b", status="failed", final_loss=None))
    save_run(db, run_row("a"))  # idempotent
    assert db["runs"].count == 2
    assert recorded_run_ids(db, ["a", "b", "c"]) == {"a", "b"}
    assert recorded_run_ids(db, ["a", "b", "c"], include_failed=False) == {"a"}
    frame = runs(db, "demo", "smoke", 1)
    assert sorted(frame["run_id"]) == ["a", "b"]
    assert runs(db, "demo", "smoke", 2).empty  # other tier versions never mix
    assert runs(db, "demo", "smoke", 1, declaration_hash="h2").empty
    assert get_innovation(db, "demo")["title"] == "Demo"


def test_runs_need_a_registered_innovation(tmp_path):
    import sqlite3

    import pytest

    db = open_registry(tmp_path / "r.db")
    with pytest.raises(sqlite3.IntegrityError):
        save_run(db, run_row("a", innovation="nobody"))


def test_save_verdict_replaces_previous(tmp_path):
    db = open_registry(tmp_path / "r.db")
    save_innovations(db, [innovation()])
    key = dict(innovation="demo", tier=SimpleNamespace(name="smoke", version=1))
    fit = {"arm": "baseline", "E": 1.0, "A": 2.0, "alpha": 0.1}
    save_verdict(db, **key, verdict={"label": "inconclusive", "warnings": ["w"]},
                 fits=[fit, {**fit, "arm": "modern"}])
    save_verdict(db, **key, verdict={"label": "scale-dependent", "ceg": [{"compute": 1e9}]},
                 fits=[fit])
    [row] = verdicts(db)
    assert row["label"] == "scale-dependent" and json.loads(row["ceg"]) == [{"compute": 1e9}]
    assert json.loads(row["warnings"]) == []
    assert db["fits"].count == 1


def test_a_run_recorded_ok_is_kept_and_a_failed_one_replaced(tmp_path):
    db = open_registry(tmp_path / "r.db")
    save_innovations(db, [innovation()])
    assert save_run(db, run_row("a", status="failed", final_loss=None, error="diverged"))
    assert save_run(db, run_row("a", final_loss=2.0))  # a retry replaces the failure
    assert not save_run(db, run_row("a", final_loss=3.0))  # another process's copy: kept first
    assert not save_run(db, run_row("a", status="failed", final_loss=None))
    [row] = db["runs"].rows
    assert (row["status"], row["final_loss"], row["error"]) == ("ok", 2.0, None)


def test_unrecorded_leaves_out_recorded_runs(tmp_path):
    from types import SimpleNamespace

    from cegbench.registry.db import unrecorded

    db = open_registry(tmp_path / "r.db")
    save_innovations(db, [innovation()])
    save_run(db, run_row("a"))
    save_run(db, run_row("f", status="failed"))
    specs = [SimpleNamespace(run_id=i) for i in ("a", "b", "c", "f")]
    assert [spec.run_id for spec in unrecorded(db, specs)] == ["b", "c"]
    save_run(db, run_row("c"))  # recorded meanwhile by another process
    assert [spec.run_id for spec in unrecorded(db, specs)] == ["b"]
    assert [spec.run_id for spec in unrecorded(db, specs, include_failed=False)] == ["b", "f"]


def test_leaderboard_queries_use_the_indexes(tmp_path):
    db = open_registry(tmp_path / "r.db")
    plans = {
        "select * from runs where innovation = ? and tier = ? and tier_version = ? "
        "and declaration_hash = ? order by arm, budget, width, seed": "idx_runs_cell",
        # either index serves it (SQLite picks the covering one since runs grew a column)
        "select distinct tier, tier_version from runs where innovation = ?":
            "idx_runs_cell|idx_runs_innovation_tier_tier_version_status",
        "select max(finished_at) from runs": "idx_runs_finished_at",
    }
    for sql, indexes in plans.items():
        plan = " ".join(row[3] for row in db.execute(f"explain query plan {sql}",
                                                     ["x"] * sql.count("?")))
        assert any(f"INDEX {index}" in plan for index in indexes.split("|")), plan
        assert "TEMP B-TREE" not in plan, plan


def test_two_connections_opening_a_new_registry_migrate_it_once(tmp_path):
    first, second = open_registry(tmp_path / "r.db"), open_registry(tmp_path / "r.db")
    assert migrations.pending(first) == migrations.pending(second) == []
    assert first.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_select_in_reads_more_values_than_one_query_binds(tmp_path):
    from cegbench.registry.db import IN_CHUNK, select_in

    db = open_registry(tmp_path / "r.db")
    save_innovations(db, [innovation()])
    ids = [f"run-{i}" for i in range(2 * IN_CHUNK + 7)]
    for run_id in ids[::3]:
        save_run(db, run_row(run_id))
    found = select_in(db, "select run_id from runs where run_id in ({marks})", ids)
    assert sorted(r[0] for r in found) == sorted(ids[::3])
    assert recorded_run_ids(db, ids) == set(ids[::3])
def test_m005_adds_run_epochs_to_an_existing_registry(tmp_path):
    db = Database(tmp_path / "old.db")
    migrations.apply(db, stop_before="m005_run_epochs")  # a registry from before epochs were recorded
    db["innovations"].insert(innovation())
    db["runs"].insert(run_row("old"))
    assert "epochs" not in db["runs"].columns_dict
    db.close()
    db = open_registry(tmp_path / "old.db")
    assert "epochs" in db["runs"].columns_dict and "epochs" in db["tuning_runs"].columns_dict
    assert db["runs"].get("old")["epochs"] is None  # unknown for runs recorded before
