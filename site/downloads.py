"""The site's downloads: the registry itself, and the leaderboard and runs as JSON and CSV.

    write_downloads(db, records, out_dir) ─▶ downloads/cegbench.db, leaderboard.{json,csv},
                                             runs.{json,csv}

The database is copied with SQLite's backup API, so the copy is consistent even while
a driver writes the registry, and is left in rollback-journal mode (one plain file).
The runs files hold every column of the ``runs`` table except the per-step loss
``curve`` and the full ``spec`` (both JSON, and both in the database copy). A CSV text
cell that a spreadsheet would run as a formula begins with an apostrophe
(``cegbench.spreadsheet``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import sqlite_utils

from cegbench.registry.db import all_runs, copy_registry
from cegbench.spreadsheet import write_csv

FOLDER = "downloads"
DATABASE = "cegbench.db"
RUNS_LEFT_OUT = ("curve", "spec")


def _plain(value):
    """NaN and infinities become None: JSON null, an empty CSV cell."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def write_table(rows: list[dict], columns: list[str], stem: Path) -> tuple[Path, Path]:
    """``stem``.json (a list of objects) and ``stem``.csv (a header row, then one row each)."""
    rows = [{c: _plain(row.get(c)) for c in columns} for row in rows]
    json_path, csv_path = stem.with_suffix(".json"), stem.with_suffix(".csv")
    json_path.write_text(json.dumps(rows, indent=1, ensure_ascii=False, allow_nan=False) + "\n",
                         encoding="utf-8")
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        write_csv(f, columns, rows)  # formulas defused (cegbench.spreadsheet)
    return json_path, csv_path


def write_downloads(db: sqlite_utils.Database, records: list[dict],
                    out_dir: Path) -> list[tuple[Path, str]]:
    """Write the downloads under ``out_dir/downloads``; (path, what it holds) each."""
    folder = Path(out_dir) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    columns = list(records[0]) if records else ["innovation"]
    board_json, board_csv = write_table(records, columns, folder / "leaderboard")
    run_columns, runs = all_runs(db, leave_out=RUNS_LEFT_OUT)
    runs_json, runs_csv = write_table(runs, run_columns, folder / "runs")
    return [
        (copy_registry(db, folder / DATABASE), "The registry: every run, fit and verdict (SQLite)"),
        (board_json, "Leaderboard (JSON)"), (board_csv, "Leaderboard (CSV)"),
        (runs_json, "Runs with provenance, without loss curves (JSON)"),
        (runs_csv, "Runs with provenance, without loss curves (CSV)"),
    ]
