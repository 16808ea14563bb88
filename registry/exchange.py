"""Moving runs between registries: export to JSONL or CSV (either gzip-compressed when
the file name ends in ``.gz``), and a validated import.

An export holds ``runs`` rows exactly as stored (JSON columns such as ``spec``
and ``curve`` stay JSON text), one row a line. An import reads such files and

* validates every row before writing anything: the columns of the ``runs``
  table and no others, their types, their ranges (finite numbers, positive
  budgets and widths, a known tier, tier version and arm, a known innovation),
  and that the run id is the hash of the row's spec and the spec agrees with the
  row. The spec is parsed strictly (every ``RunSpec`` field and no other, typed, no
  NaN, infinity or repeated key); on the tier's current version its settings must
  be the tier's, and under the innovation's current declaration its recipe must be
  the declared arm's. One bad row rejects the whole import, with errors naming the
  file and line;
* is idempotent by run id: a row the registry holds with the same results is
  skipped, so importing twice, or merging two registries that share runs, gives
  their union with no duplicates;
* never overwrites: a row whose run id is recorded with different results
  (another machine's floating point, a failed run against an ok one), or a second
  run of a cell (innovation, arm, tier version, declaration, budget, width, seed)
  recorded under another run id, is a conflict, reported and left out. The
  comparison and the write are one transaction, so a ``cegbench run`` recording
  into the same registry meanwhile is never mistaken for damage.

Innovations: a row's innovation must be registered in the target registry or
declared by the loaded plugins (the caller passes those rows in); the ones
missing from the registry are registered from the plugins' declarations.

The row's checks (columns, types, ranges, physics, the tier's facts, the parameter
count) are ``row_checks``; the spec's own (strict JSON, its fields, the tier's settings,
the declared recipe) are ``spec_checks``.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import sys
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlite_utils import Database

from cegbench.registry.db import write_transaction
from cegbench.registry.row_checks import MAX_TEXT, validate_row
from cegbench.registry.spec_checks import reject_constant, unique_keys
from cegbench.spreadsheet import write_csv

FORMATS = ("jsonl", "csv")
# What a run measured: rows with the same run id must agree on these, or they conflict.
MEASURED_COLUMNS = ("status", "final_loss", "n_params", "flops_per_token",
                  "flops_per_token_analytic", "tokens", "steps", "curve", "dataset_hash")
# What makes two runs measurements of one cell: one run per cell under a declaration
CELL_COLUMNS = ("innovation", "arm", "tier", "tier_version", "declaration_hash", "budget",
                "width", "seed")
MAX_ERRORS = 50  # listed before the rest are only counted


class ImportRejected(Exception):
    """Some rows failed validation; nothing was written."""

    def __init__(self, errors: list[str], summary: str | None = None):
        self.errors = errors
        shown = errors[:MAX_ERRORS]
        more = f"\n... and {len(errors) - len(shown)} more" if len(errors) > len(shown) else ""
        summary = summary or f"{len(errors)} invalid row(s), nothing imported"
        super().__init__(f"{summary}:\n" + "\n".join(shown) + more)


@dataclass
class ImportReport:
    imported: int = 0
    unchanged: int = 0  # already recorded with the same results
    conflicts: list[str] = field(default_factory=list)
    registered: list[str] = field(default_factory=list)  # innovations added from the plugins
    # runs of a declaration other than the innovation's current one: kept, never fitted
    other_declarations: list[str] = field(default_factory=list)
    dry_run: bool = False  # nothing was written


# -------------------------------------------------------------------------
# export


def run_columns(db: Database) -> dict[str, str]:
    """The ``runs`` columns and their SQLite types (TEXT, INTEGER, FLOAT), in table order."""
    return {column.name: column.type.upper() for column in db["runs"].columns}


def export_runs(db: Database, out, fmt: str = "jsonl", *, tier_name: str | None = None,
                innovations: Iterable[str] = ()) -> int:
    """Write the selected runs to the text stream ``out``; returns how many."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    where, params = [], []
    if tier_name:
        where.append("tier = ?")
        params.append(tier_name)
    innovations = list(innovations)
    if innovations:
        where.append(f"innovation in ({','.join('?' * len(innovations))})")
        params.extend(innovations)
    rows = db["runs"].rows_where(" and ".join(where) or None, params, order_by="run_id")
    if fmt == "csv":  # text a spreadsheet would run as a formula is defused
        return write_csv(out, list(run_columns(db)), rows)
    count = 0
    for row in rows:
        out.write(json.dumps(row, allow_nan=False) + "\n")
        count += 1
    return count


# -------------------------------------------------------------------------
# reading and validating


def write_export(db: Database, out_path: str, fmt: str = "jsonl", *, tier_name: str | None = None,
                 innovations: Iterable[str] = ()) -> int:
    """``export_runs`` into the file ``out_path`` ("-": standard output), gzip-compressed
    when it ends in ``.gz``; written beside and renamed, so never half a file. Returns
    how many runs."""
    if out_path == "-":
        return export_runs(db, sys.stdout, fmt, tier_name=tier_name, innovations=innovations)
    partial = Path(f"{out_path}.partial")
    try:
        with open_text(partial, "w", gz=is_gzip(out_path)) as out:
            count = export_runs(db, out, fmt, tier_name=tier_name, innovations=innovations)
        partial.replace(out_path)
    finally:
        partial.unlink(missing_ok=True)
    return count


def is_gzip(path) -> bool:
    """A ``.gz`` name: the file is gzip-compressed (e.g. ``leaderboard/runs.jsonl.gz``)."""
    return Path(path).suffix.lower() == ".gz"


def is_csv(path) -> bool:
    """``.csv`` or ``.csv.gz``: CSV; anything else is JSON lines."""
    path = Path(path)
    return (Path(path.stem) if is_gzip(path) else path).suffix.lower() == ".csv"


def open_text(path, mode: str = "r", *, gz: bool | None = None):
    """Open an export for text, through gzip when ``gz`` (default: the name ends in
    ``.gz``). Written gzip files carry no name or time stamp, so the same rows give
    the same bytes."""
    # reading, "utf-8-sig" drops a byte-order mark (Excel's "CSV UTF-8" begins with one)
    encoding = "utf-8-sig" if mode == "r" else "utf-8"
    if not (is_gzip(path) if gz is None else gz):
        return open(path, mode, encoding=encoding, newline="")
    if mode == "r":
        return gzip.open(path, "rt", encoding=encoding, newline="")
    raw = gzip.GzipFile(filename="", mode="wb", fileobj=open(path, "wb"), mtime=0)
    return _ClosingText(raw)


class _ClosingText(io.TextIOWrapper):
    """A text stream over a ``GzipFile`` that also closes the file under it."""

    def __init__(self, raw: gzip.GzipFile):
        super().__init__(raw, encoding="utf-8", newline="")
        self._file = raw.fileobj

    def close(self):
        super().close()
        self._file.close()


def read_rows(path: Path) -> Iterator[tuple[int, dict | str]]:
    """(line number, raw row) of a ``.csv`` file or else JSON lines, either of them
    possibly gzip-compressed (``.gz``); a str is a parse error."""
    with open_text(path) as handle:
        if is_csv(path):
            csv.field_size_limit(MAX_TEXT * 4)  # an over-long field is reported, not a crash
            reader = csv.DictReader(handle, strict=True)
            try:
                for row in reader:
                    if None in row or None in row.values():
                        yield reader.line_num, "the number of fields differs from the header"
                    else:
                        yield reader.line_num, {k: (v if v != "" else None) for k, v in row.items()}
            except csv.Error as error:
                yield reader.line_num, f"bad CSV: {error}"
            return
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line, parse_constant=reject_constant,
                                 object_pairs_hook=unique_keys)
            except (ValueError, RecursionError) as error:
                yield number, f"bad JSON: {error}"
                continue
            yield number, row if isinstance(row, dict) else "a line must hold one JSON object"


def read_and_validate(paths: Iterable[Path], columns: dict[str, str],
                      known_innovations: dict[str, dict], components=None
                      ) -> list[tuple[str, dict]]:
    """(where, row) for every row of every file; raises ``ImportRejected`` listing every error."""
    rows, errors = [], []
    for path in map(Path, paths):
        try:
            for number, raw in read_rows(path):
                where = f"{path}:{number}"
                if isinstance(raw, str):
                    errors.append(f"{where}: {raw}")
                    continue
                row, problems = validate_row(raw, columns, known_innovations,
                                             from_csv=is_csv(path),
                                             components=components)
                errors += [f"{where}: {problem}" for problem in problems]
                if row is not None:
                    rows.append((where, row))
        # EOFError: a truncated .gz; zlib.error: a damaged deflate block in one
        except (OSError, EOFError, UnicodeDecodeError, zlib.error) as error:
            errors.append(f"{path}: cannot read: {error}")
    if errors:
        raise ImportRejected(errors)
    if not rows:
        raise ImportRejected([f"{path}: no runs in it" for path in map(Path, paths)],
                             "nothing to import (empty input)")
    return rows


# -------------------------------------------------------------------------
# import


def import_runs(db: Database, paths: Iterable[Path], catalog_innovations: dict[str, dict],
                components=None, *, dry_run: bool = False) -> ImportReport:
    """Validate then merge the runs in ``paths`` into ``db`` (see the module docstring).

    ``catalog_innovations`` maps the loaded plugins' innovation names to their
    ``innovations`` rows; ``components`` (the loaded ones), when given, lets each
    row's ``n_params`` be checked against its family. ``dry_run`` validates and
    reports what would happen, writing nothing (``db`` may be read-only).
    """
    paths = list(paths)
    registered = {row["name"]: row for row in db["innovations"].rows_where(
        select="name, declaration_hash, baseline, modern")}
    known = {**catalog_innovations, **registered}
    rows = read_and_validate(paths, run_columns(db), known, components)
    if dry_run:
        return _merge(db, rows, registered, catalog_innovations, ImportReport(dry_run=True))[0]
    # compared and written in one transaction: a run recorded meanwhile (a `cegbench run`
    # sharing the registry) is compared like any other, never a UNIQUE-constraint failure
    with write_transaction(db):
        report, new_rows = _merge(db, rows, registered, catalog_innovations, ImportReport())
        if report.registered:
            db["innovations"].insert_all([catalog_innovations[name] for name in report.registered])
        db["runs"].insert_all(new_rows)
    return report


def _merge(db: Database, rows: list[tuple[str, dict]], registered: dict, catalog_innovations: dict,
           report: ImportReport) -> tuple[ImportReport, list[dict]]:
    """What importing ``rows`` into ``db`` does: the report, and the rows to insert."""
    missing = sorted({row["innovation"] for _, row in rows} - set(registered))
    report.registered = missing
    current = {**{name: catalog_innovations[name]["declaration_hash"] for name in missing},
               **{name: row["declaration_hash"] for name, row in registered.items()}}
    other: dict[tuple[str, str], int] = {}
    new_rows: dict[str, dict] = {}
    new_cells: dict[tuple, str] = {}
    for where, row in rows:
        if row["declaration_hash"] != current[row["innovation"]]:
            key = (row["innovation"], row["declaration_hash"])
            other[key] = other.get(key, 0) + 1
        existing = db.execute(
            f"select {', '.join(MEASURED_COLUMNS)} from runs where run_id = ?", [row["run_id"]]
        ).fetchone()
        if existing is None and row["run_id"] in new_rows:  # twice in this import
            existing = tuple(new_rows[row["run_id"]][name] for name in MEASURED_COLUMNS)
        what = (f"run {row['run_id']} ({row['innovation']} {row['arm']} C={row['budget']:.3g} "
                f"width={row['width']} seed={row['seed']})")
        if existing is None:
            cell = tuple(row[name] for name in CELL_COLUMNS)
            other_run = new_cells.get(cell) or _recorded_cell(db, cell)
            if other_run is None:
                new_rows[row["run_id"]] = row
                new_cells[cell] = row["run_id"]
            else:
                report.conflicts.append(
                    f"{where}: {what} measures a cell already measured by run {other_run} "
                    f"(same innovation, arm, tier version, declaration, budget, width and "
                    f"seed; another learning rate?): one run per cell, kept run {other_run}")
        elif tuple(existing) == tuple(row[name] for name in MEASURED_COLUMNS):
            report.unchanged += 1
        else:
            differ = [name for name, old in zip(MEASURED_COLUMNS, existing) if old != row[name]]
            report.conflicts.append(f"{where}: {what} is recorded with different "
                                    f"{', '.join(differ)}; kept the recorded one")
    report.other_declarations = [
        f"{count} run(s) of {name} have declaration hash {hash_!r}, not its current "
        f"{current[name]!r}: imported, but never fitted (`cegbench status` counts them apart)"
        for (name, hash_), count in sorted(other.items())]
    report.imported = len(new_rows)
    return report, list(new_rows.values())


def _recorded_cell(db: Database, cell: tuple) -> str | None:
    """The run id the registry records for a cell (``CELL_COLUMNS``), or None."""
    found = db.execute(f"select run_id from runs where {' and '.join(f'{c} = ?' for c in CELL_COLUMNS)} "
                       "limit 1", list(cell)).fetchone()
    return found[0] if found else None
