import json

from cegbench.registry.db import (
    get_innovation,
    open_registry,
    recorded_run_ids,
    runs,
    save_innovations,
    save_run,
    save_verdict,
    verdicts,
)
from cegbench.registry.migrations import migrations


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
    applied = [m.name for m in migrations.applied(db)]
    assert applied[0] == "m001_initial_schema" and migrations.pending(db) == []
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
    key = dict(innovation="demo", tier="smoke", tier_version=1)
    fit = {"arm": "baseline", "E": 1.0, "A": 2.0, "alpha": 0.1}
    save_verdict(db, **key, verdict={"label": "inconclusive", "warnings": ["w"]},
                 fits=[fit, {**fit, "arm": "modern"}])
    save_verdict(db, **key, verdict={"label": "scale-dependent", "ceg": [{"compute": 1e9}]},
                 fits=[fit])
    [row] = verdicts(db)
    assert row["label"] == "scale-dependent" and json.loads(row["ceg"]) == [{"compute": 1e9}]
    assert json.loads(row["warnings"]) == []
    assert db["fits"].count == 1
