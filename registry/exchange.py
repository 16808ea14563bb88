"""Moving runs between registries: export to JSONL or CSV (either gzip-compressed when
the file name ends in ``.gz``), and a validated import.

An export holds ``runs`` rows exactly as stored (JSON columns such as ``spec``
and ``curve`` stay JSON text), one row a line. An import reads such files and

* validates every row before writing anything: the columns of the ``runs``
  table and no others, their types, their ranges (finite numbers, positive
  budgets and widths, a known tier and arm, a known innovation), and that the
  run id is the hash of the row's spec and the spec agrees with the row. One bad
  row rejects the whole import, with errors naming the file and line;
* is idempotent by run id: a row the registry holds with the same results is
  skipped, so importing twice, or merging two registries that share runs, gives
  their union with no duplicates;
* never overwrites: a row whose run id is recorded with different results
  (another machine's floating point, a failed run against an ok one) is a
  conflict, reported and left out.

Innovations: a row's innovation must be registered in the target registry or
declared by the loaded plugins (the caller passes those rows in); the ones
missing from the registry are registered from the plugins' declarations.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlite_utils import Database

from cegbench.plan import ARMS, spec_id
from cegbench.registry.db import write_transaction
from cegbench.tiers import TIERS

FORMATS = ("jsonl", "csv")
REQUIRED = ("run_id", "innovation", "arm", "tier", "tier_version", "budget", "width", "seed",
            "spec", "status", "declaration_hash")
REQUIRED_WHEN_OK = ("final_loss", "n_params", "flops_per_token", "tokens", "steps")
JSON_COLUMNS = ("spec", "recipe", "curve")
# What a run measured: rows with the same run id must agree on these, or they conflict.
RESULT_COLUMNS = ("status", "final_loss", "n_params", "flops_per_token",
                  "flops_per_token_analytic", "tokens", "steps", "curve", "dataset_hash")
# Columns also found in the spec, which must agree with it.
SPEC_COLUMNS = ("innovation", "arm", "tier", "tier_version", "budget", "width", "seed",
                "learning_rate", "dataset", "declaration_hash")
MAX_TEXT = 1_000_000  # characters in one field
MAX_ERRORS = 50  # listed before the rest are only counted
INT_RANGE = (-(2**63), 2**63 - 1)  # SQLite INTEGER


class ImportRejected(Exception):
    """Some rows failed validation; nothing was written."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        shown = errors[:MAX_ERRORS]
        more = f"\n... and {len(errors) - len(shown)} more" if len(errors) > len(shown) else ""
        super().__init__(f"{len(errors)} invalid row(s), nothing imported:\n"
                         + "\n".join(shown) + more)


@dataclass
class ImportReport:
    imported: int = 0
    unchanged: int = 0  # already recorded with the same results
    conflicts: list[str] = field(default_factory=list)
    registered: list[str] = field(default_factory=list)  # innovations added from the plugins


# -------------------------------------------------------------------------
# export


def run_columns(db: Database) -> dict[str, str]:
    """The ``runs`` columns and their SQLite types (TEXT, INTEGER, FLOAT), in table order."""
    return {column.name: column.type.upper() for column in db["runs"].columns}


def export_runs(db: Database, out, fmt: str = "jsonl", *, tier: str | None = None,
                innovations: Iterable[str] = ()) -> int:
    """Write the selected runs to the text stream ``out``; returns how many."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    where, params = [], []
    if tier:
        where.append("tier = ?")
        params.append(tier)
    innovations = list(innovations)
    if innovations:
        where.append(f"innovation in ({','.join('?' * len(innovations))})")
        params.extend(innovations)
    rows = db["runs"].rows_where(" and ".join(where) or None, params, order_by="run_id")
    columns = list(run_columns(db))
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
    count = 0
    for row in rows:
        if fmt == "csv":
            writer.writerow(row)  # None → empty field
        else:
            out.write(json.dumps(row, allow_nan=False) + "\n")
        count += 1
    return count


# -------------------------------------------------------------------------
# reading and validating


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
    if not (is_gzip(path) if gz is None else gz):
        return open(path, mode, encoding="utf-8", newline="")
    if mode == "r":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
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
                row = json.loads(line, parse_constant=_reject_constant)
            except (ValueError, RecursionError) as error:
                yield number, f"bad JSON: {error}"
                continue
            yield number, row if isinstance(row, dict) else "a line must hold one JSON object"


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number")


def validate_row(raw: dict, columns: dict[str, str], known_innovations: set[str],
                 from_csv: bool) -> tuple[dict | None, list[str]]:
    """A clean ``runs`` row, or the list of what is wrong with ``raw``."""
    errors = []
    unknown = sorted(set(raw) - set(columns), key=str)
    if unknown:
        errors.append(f"unknown column(s) {', '.join(map(repr, unknown[:5]))}")
    row = {}
    for name, kind in columns.items():
        try:
            row[name] = _typed(raw.get(name), kind, from_csv)
        except ValueError as error:
            errors.append(f"{name}: {error}")
    if errors:
        return None, errors
    required = REQUIRED + (REQUIRED_WHEN_OK if row["status"] == "ok" else ())
    errors += [f"{name}: missing" for name in required if row[name] is None]
    if errors:
        return None, errors
    errors += _range_errors(row, known_innovations)
    if not errors:
        errors += _spec_errors(row)
    return (None if errors else row), errors


def _typed(value, kind: str, from_csv: bool):
    if value is None:
        return None
    if kind == "TEXT":
        if not isinstance(value, str):
            raise ValueError(f"expected text, got {_show(value)}")
        if len(value) > MAX_TEXT:
            raise ValueError(f"text longer than {MAX_TEXT} characters")
        return value
    if from_csv:
        try:
            value = int(value) if kind == "INTEGER" else float(value)
        except ValueError:
            raise ValueError(f"expected {kind.lower()}, got {_show(value)}") from None
    if kind == "INTEGER":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected an integer, got {_show(value)}")
        if not INT_RANGE[0] <= value <= INT_RANGE[1]:
            raise ValueError(f"integer out of range: {_show(value)}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {_show(value)}")
    try:
        value = float(value)
    except OverflowError:
        raise ValueError(f"number out of range: {_show(value)}") from None
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {_show(value)}")
    return value


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _range_errors(row: dict, known_innovations: set[str]) -> list[str]:
    checks = [
        ("innovation", row["innovation"] in known_innovations,
         "not a known innovation (not in the registry nor the loaded plugins)"),
        ("tier", row["tier"] in TIERS, f"not a known tier ({', '.join(TIERS)})"),
        ("arm", row["arm"] in ARMS, f"must be one of {', '.join(ARMS)}"),
        ("status", row["status"] in ("ok", "failed"), "must be 'ok' or 'failed'"),
        ("tier_version", row["tier_version"] >= 1, "must be at least 1"),
        ("budget", row["budget"] > 0, "must be positive"),
        ("width", row["width"] >= 1, "must be at least 1"),
        ("seed", row["seed"] >= 0, "must not be negative"),
        ("final_loss", row["final_loss"] is None or row["final_loss"] >= 0, "must not be negative"),
        ("n_params", row["n_params"] is None or row["n_params"] >= 1, "must be at least 1"),
        ("flops_per_token", row["flops_per_token"] is None or row["flops_per_token"] > 0,
         "must be positive"),
        ("tokens", row["tokens"] is None or row["tokens"] >= 0, "must not be negative"),
        ("steps", row["steps"] is None or row["steps"] >= 0, "must not be negative"),
        ("wall_time_s", row["wall_time_s"] is None or row["wall_time_s"] >= 0,
         "must not be negative"),
    ]
    errors = [f"{name}: {_show(row[name])} {message}" for name, ok, message in checks if not ok]
    for name in JSON_COLUMNS:
        if row[name] is not None:
            try:
                json.loads(row[name])
            except (ValueError, RecursionError):
                errors.append(f"{name}: not valid JSON")
    return errors


def _spec_errors(row: dict) -> list[str]:
    spec = json.loads(row["spec"])
    if not isinstance(spec, dict):
        return ["spec: must be a JSON object"]
    if spec_id(spec) != row["run_id"]:
        return [f"run_id: {_show(row['run_id'])} is not the hash of the row's spec"]
    errors = [f"{name}: {_show(row[name])} differs from the spec's {_show(spec.get(name))}"
              for name in SPEC_COLUMNS if row[name] is not None and row[name] != spec.get(name)]
    if row["recipe"] is not None and json.loads(row["recipe"]) != spec.get("recipe"):
        errors.append("recipe: differs from the spec's")
    return errors


def read_and_validate(paths: Iterable[Path], columns: dict[str, str],
                      known_innovations: set[str]) -> list[tuple[str, dict]]:
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
                                             from_csv=is_csv(path))
                errors += [f"{where}: {problem}" for problem in problems]
                if row is not None:
                    rows.append((where, row))
        except (OSError, EOFError, UnicodeDecodeError) as error:  # EOFError: truncated .gz
            errors.append(f"{path}: cannot read: {error}")
    if errors:
        raise ImportRejected(errors)
    return rows


# -------------------------------------------------------------------------
# import


def import_runs(db: Database, paths: Iterable[Path], catalog_innovations: dict[str, dict]
                ) -> ImportReport:
    """Validate then merge the runs in ``paths`` into ``db`` (see the module docstring).

    ``catalog_innovations`` maps the loaded plugins' innovation names to their
    ``innovations`` rows.
    """
    registered = {row["name"] for row in db["innovations"].rows_where(select="name")}
    rows = read_and_validate(paths, run_columns(db), registered | set(catalog_innovations))
    report = ImportReport()
    with write_transaction(db):
        missing = sorted({row["innovation"] for _, row in rows} - registered)
        if missing:
            db["innovations"].insert_all([catalog_innovations[name] for name in missing])
            report.registered = missing
        for where, row in rows:
            existing = db.execute(
                f"select {', '.join(RESULT_COLUMNS)} from runs where run_id = ?", [row["run_id"]]
            ).fetchone()
            if existing is None:
                db["runs"].insert(row)
                report.imported += 1
            elif tuple(existing) == tuple(row[name] for name in RESULT_COLUMNS):
                report.unchanged += 1
            else:
                differ = [name for name, old in zip(RESULT_COLUMNS, existing) if old != row[name]]
                report.conflicts.append(
                    f"{where}: run {row['run_id']} ({row['innovation']} {row['arm']} "
                    f"C={row['budget']:.3g} width={row['width']} seed={row['seed']}) is recorded "
                    f"with different {', '.join(differ)}; kept the recorded one")
    return report

