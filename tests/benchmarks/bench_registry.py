"""Time the registry with 10 000 synthetic runs: ingest, the leaderboard's queries, size on disk.

Runs are real smoke-tier specs (20 innovations × 500 seeds/cells) with made-up
results and a 4-point loss curve, so rows have their true width.

* ingest: ``save_run`` one run at a time, one ``BEGIN IMMEDIATE`` transaction each
  (what the sweep driver does), against a plain ``executemany`` insert of the
  same rows in one transaction (the floor SQLite allows);
* import: ``cegbench import`` of the same runs exported as JSON lines (validation included);
* queries: what the site and ``cegbench status`` read per innovation (registry
  functions, DataFrames included, and their SQL alone), with the indexes and with
  every index of ``runs`` dropped (the reference).

    python tests/benchmarks/bench_registry.py [--runs 10000] [--innovations 20]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from cegbench.catalog.plugin_manager import load_catalog
from cegbench.registry.db import (
    fits,
    innovation_row,
    innovations,
    runs,
    save_innovations,
    save_run,
    verdicts,
)
from cegbench.registry.exchange import export_runs, import_runs
from cegbench.registry.ingest import measurement_row
from cegbench.registry.opening import open_registry
from cegbench.registry.status import recorded_cells
from cegbench.tiers import TIERS
from cegbench.train.trainer import RunResult

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for plan_fixtures
from plan_fixtures import plan_untuned  # noqa: E402

ENVIRONMENT = {"cegbench_version": "0.1.0", "git_commit": "0" * 40, "torch_version": "2.13.0",
               "python_version": "3.11.2", "hardware": "Some CPU (2 threads)", "device": "cpu"}


def synthetic(n_runs: int, n_innovations: int):
    """(innovations rows, runs rows)."""
    catalog = load_catalog()
    base = catalog.innovations.get("gelu-to-swiglu")
    tier = TIERS.get("smoke")
    specs = plan_untuned([base], tier, catalog.components)  # the rate changes nothing measured
    info = catalog.plugin_info(base.plugin)
    innovation_rows, rows = [], []
    per_innovation = n_runs // n_innovations
    for i in range(n_innovations):
        name = f"synthetic-{i:02d}"
        innovation = dataclasses.replace(base, name=name)
        innovation_rows.append(innovation_row(innovation, info))
        for k in range(per_innovation):
            spec = dataclasses.replace(specs[k % len(specs)], innovation=name,
                                       declaration_hash=innovation.declaration_hash(),
                                       seed=specs[k % len(specs)].seed
                                       + len(tier.seeds) * (k // len(specs)))
            loss = 3.0 + (k % 17) / 10
            curve = [{"step": s, "tokens": 512 * s, "flops": 1.7e7 * s, "loss": loss + 1 / s}
                     for s in (1, 2, 3, 4)]
            result = RunResult(
                spec.run_id, spec, status="ok", final_loss=loss, n_params=10_000 + k,
                flops_per_token=3.3e4, flops_per_token_analytic=3.3e4, tokens=2048, steps=4,
                curve=curve, wall_time_s=0.2, dataset_hash="d" * 64, environment=ENVIRONMENT,
                started_at="2026-01-01T00:00:00+00:00", finished_at="2026-01-01T00:00:01+00:00")
            rows.append(measurement_row(result, innovation_rows[-1], "cegbench run --tier smoke"))
    return innovation_rows, rows


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def leaderboard_queries(db, innovation_rows) -> None:
    """What a site build and `cegbench status` read from the registry."""
    innovations(db)
    verdicts(db)
    db.execute("select max(finished_at) from runs").fetchall()
    for row in innovation_rows:
        for tier, version in db.execute("select distinct tier, tier_version from runs "
                                        "where innovation = ?", [row["name"]]).fetchall():
            runs(db, row["name"], tier, version, declaration_hash=row["declaration_hash"])
            fits(db, row["name"], tier, version)
            recorded_cells(db, row["name"], tier, version, row["declaration_hash"])


def leaderboard_sql(db, innovation_rows) -> None:
    """The SQL of ``leaderboard_queries`` alone: rows fetched, no DataFrames."""
    db.execute("select max(finished_at) from runs").fetchall()
    for row in innovation_rows:
        db.execute("select distinct tier, tier_version from runs where innovation = ?",
                   [row["name"]]).fetchall()
        db.execute("select * from runs where innovation = ? and tier = 'smoke' and tier_version = 1 "
                   "and declaration_hash = ? order by arm, budget, width, seed",
                   [row["name"], row["declaration_hash"]]).fetchall()


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--innovations", type=int, default=20)
    args = parser.parse_args()
    innovation_rows, rows = synthetic(args.runs, args.innovations)
    folder = Path(tempfile.mkdtemp(prefix="bench_registry_"))

    path = folder / "registry.db"
    db = open_registry(path)
    save_innovations(db, innovation_rows)
    ingest_s = timed(lambda: [save_run(db, row) for row in rows])
    assert db["runs"].count == len(rows)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    reference = folder / "reference.db"
    plain = sqlite3.connect(reference)
    schema = db.execute("select sql from sqlite_master where name = 'runs'").fetchone()[0]
    plain.execute(schema.replace("REFERENCES [innovations]([name])", ""))
    columns = list(rows[0])
    insert = (f"insert into runs ({', '.join(columns)}) "
              f"values ({', '.join('?' * len(columns))})")
    values = [tuple(row[c] for c in columns) for row in rows]

    def executemany():
        with plain:
            plain.executemany(insert, values)

    reference_s = timed(executemany)

    exported = folder / "runs.jsonl"
    with open(exported, "w") as out:
        export_runs(db, out)
    target = open_registry(folder / "imported.db")
    declared = {row["name"]: row for row in innovation_rows}
    import_s = timed(lambda: import_runs(target, [exported], declared))

    def best_of_5(queries):
        return min(timed(lambda: queries(db, innovation_rows)) for _ in range(5))

    indexed_s, indexed_sql_s = best_of_5(leaderboard_queries), best_of_5(leaderboard_sql)
    for index in [i for i in db["runs"].indexes if i.origin == "c"]:  # not the primary key
        db.execute(f"drop index [{index.name}]")
    unindexed_s, unindexed_sql_s = best_of_5(leaderboard_queries), best_of_5(leaderboard_sql)

    n = len(rows)
    print(f"registry benchmark: {n} runs, {args.innovations} innovations, "
          f"SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs")
    print(f"ingest, save_run per run:  {ingest_s:7.2f} s  ({n / ingest_s:7.0f} runs/s)")
    print(f"reference, executemany:    {reference_s:7.2f} s  ({n / reference_s:7.0f} runs/s)  "
          f"ratio {ingest_s / reference_s:.1f}×")
    print(f"import of a JSONL export:  {import_s:7.2f} s  ({n / import_s:7.0f} runs/s)  "
          f"ratio {import_s / reference_s:.1f}×")
    print(f"leaderboard queries:       {indexed_s * 1e3:7.1f} ms with the indexes, "
          f"{unindexed_s * 1e3:.1f} ms without (ratio {unindexed_s / indexed_s:.1f}×)")
    print(f"  their SQL alone:         {indexed_sql_s * 1e3:7.1f} ms with the indexes, "
          f"{unindexed_sql_s * 1e3:.1f} ms without (ratio {unindexed_sql_s / indexed_sql_s:.1f}×)")
    print(f"size on disk:              {size(path) / 1e6:7.2f} MB  ({size(path) / n:.0f} bytes/run; "
          f"JSONL export {exported.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
