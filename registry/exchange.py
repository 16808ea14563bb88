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

About 540 lines: the import's checks (columns, types, physics, the tier's facts, the
parameter count) are one contract, kept beside the format they check; the spec's own
checks (strict JSON, its fields, the tier's settings, the declared recipe) are in
``spec_checks``.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import sys
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlite_utils import Database

from cegbench.data.names import VOCAB_SIZE
from cegbench.innovations import ARMS, Recipe
from cegbench.learning import not_learned_reason
from cegbench.plan.specs import spec_id, training_id
from cegbench.registry.db import write_transaction
from cegbench.registry.spec_checks import (
    reject_constant,
    spec_field_errors,
    spec_tier_errors,
    strict_json,
    unique_keys,
)
from cegbench.spreadsheet import restore, write_csv
from cegbench.tiers import TIERS

FORMATS = ("jsonl", "csv")
REQUIRED = ("run_id", "innovation", "arm", "tier", "tier_version", "budget", "width", "seed",
            "spec", "status", "declaration_hash")
REQUIRED_WHEN_OK = ("final_loss", "n_params", "flops_per_token", "tokens", "steps")
JSON_COLUMNS = ("spec", "recipe", "curve")
# What a run measured: rows with the same run id must agree on these, or they conflict.
MEASURED_COLUMNS = ("status", "final_loss", "n_params", "flops_per_token",
                  "flops_per_token_analytic", "tokens", "steps", "curve", "dataset_hash")
# Columns also found in the spec, which must agree with it.
SPEC_COLUMNS = ("innovation", "arm", "tier", "tier_version", "budget", "width", "seed",
                "learning_rate", "dataset", "declaration_hash")
# What makes two runs measurements of one cell: one run per cell under a declaration
CELL_COLUMNS = ("innovation", "arm", "tier", "tier_version", "declaration_hash", "budget",
                "width", "seed")
MAX_TEXT = 1_000_000  # characters in one field
MAX_ERRORS = 50  # listed before the rest are only counted
INT_RANGE = (-(2**63), 2**63 - 1)  # SQLite INTEGER


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


def validate_row(raw: dict, columns: dict[str, str], known_innovations: dict[str, dict],
                 from_csv: bool, components=None) -> tuple[dict | None, list[str]]:
    """A clean ``runs`` row, or the list of what is wrong with ``raw``.
    ``known_innovations``: name → the innovation's current ``innovations`` row (its
    declaration hash and arms' recipes)."""
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
        errors += _spec_errors(row, known_innovations[row["innovation"]])
    if not errors:
        errors += _physical_errors(row) + _tier_errors(row, components)
    if not errors and row["status"] == "ok":  # judged here, never taken from the file
        row["not_learned"] = not_learned_reason(row["final_loss"], json.loads(row["curve"] or "[]"),
                                                row["unigram_loss"])
    if not errors:  # computed here where the model families are loaded, never taken from the file
        row["training_id"] = (training_id(json.loads(row["spec"]), components)
                              if components is not None else None)
    return (None if errors else row), errors


def _typed(value, kind: str, from_csv: bool):
    if value is None:
        return None
    if kind == "TEXT":
        if not isinstance(value, str):
            raise ValueError(f"expected text, got {_show(value)}")
        if len(value) > MAX_TEXT:
            raise ValueError(f"text longer than {MAX_TEXT} characters")
        return restore(value) if from_csv else value  # the export's formula guard undone
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


def _range_errors(row: dict, known_innovations) -> list[str]:
    tier = TIERS.get(row["tier"]) if row["tier"] in TIERS else None
    checks = [
        ("innovation", row["innovation"] in known_innovations,
         "not a known innovation (not in the registry nor the loaded plugins)"),
        ("tier", row["tier"] in TIERS, f"not a known tier ({', '.join(TIERS)})"),
        ("arm", row["arm"] in ARMS, f"must be one of {', '.join(ARMS)}"),
        ("status", row["status"] in ("ok", "failed"), "must be 'ok' or 'failed'"),
        ("tier_version", row["tier_version"] >= 1, "must be at least 1"),
        ("tier_version", tier is None or row["tier_version"] <= tier.version,
         f"is not a version of tier {row['tier']} (its current version is "
         f"{tier.version if tier else '?'}; later ones do not exist yet)"),
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
        ("unigram_loss", row["unigram_loss"] is None or row["unigram_loss"] > 0, "must be positive"),
        ("train_time_s", row["train_time_s"] is None or row["train_time_s"] >= 0,
         "must not be negative"),
    ]
    errors = [f"{name}: {_show(row[name])} {message}" for name, ok, message in checks if not ok]
    for name in JSON_COLUMNS:
        if row[name] is not None:
            try:
                strict_json(row[name])
            except RecursionError:
                errors.append(f"{name}: not valid JSON (nested too deeply)")
            except json.JSONDecodeError as error:
                errors.append(f"{name}: not valid JSON: {error}")
            except ValueError as error:  # NaN, infinity, a key given twice
                errors.append(f"{name}: {error}")
    return errors


def _spec_errors(row: dict, innovation: dict) -> list[str]:
    """The spec against itself (every field, typed), the row, the tier and the declaration."""
    spec = strict_json(row["spec"])
    if not isinstance(spec, dict):
        return ["spec: must be a JSON object"]
    errors = spec_field_errors(spec)
    if errors:
        return errors
    if spec_id(spec) != row["run_id"]:
        return [f"run_id: {_show(row['run_id'])} is not the hash of the row's spec"]
    errors = [f"{name}: {_show(row[name])} differs from the spec's {_show(spec.get(name))}"
              for name in SPEC_COLUMNS if row[name] is not None and row[name] != spec.get(name)]
    if row["recipe"] is not None and strict_json(row["recipe"]) != spec.get("recipe"):
        errors.append("recipe: differs from the spec's")
    return errors or spec_tier_errors(spec, innovation)


def _physical_errors(row: dict) -> list[str]:
    """What training itself would never record: a loss above the spec's divergence bound,
    a non-finite point in the loss curve, a timestamp that is not ISO 8601."""
    spec = strict_json(row["spec"])
    errors = []
    max_loss = spec.get("max_loss")
    if (row["status"] == "ok" and row["final_loss"] is not None
            and isinstance(max_loss, int | float) and row["final_loss"] > max_loss):
        errors.append(f"final_loss: {_show(row['final_loss'])} is above the spec's max_loss "
                      f"{max_loss}; training records such a run as failed (diverged)")
    if row["curve"] is not None:
        try:
            curve = strict_json(row["curve"])
        except ValueError as error:
            errors.append(f"curve: {error}")
        else:
            if not isinstance(curve, list) or not all(isinstance(p, dict) for p in curve):
                errors.append("curve: must be a JSON list of objects "
                              '({"step", "tokens", "flops", "loss"})')
            else:
                for k, point in enumerate(curve):
                    bad = [key for key in ("step", "tokens", "flops", "loss") if key in point and (
                        isinstance(point[key], bool) or not isinstance(point[key], int | float))]
                    if "loss" not in point or bad:
                        errors.append(f"curve: point {k} needs a number 'loss' (and numbers for "
                                      f"step, tokens, flops), got {_show(point)}")
                        break
                    if isinstance(max_loss, int | float) and point["loss"] > max_loss and (
                            row["status"] == "ok"):
                        errors.append(f"curve: point {k} has loss {_show(point['loss'])}, above "
                                      f"the spec's max_loss {max_loss}")
                        break
    stamps = {}
    for name in ("started_at", "finished_at"):
        if row.get(name) is not None:
            try:
                stamps[name] = datetime.fromisoformat(row[name])
            except ValueError:
                errors.append(f"{name}: {_show(row[name])} is not an ISO 8601 timestamp "
                              "(e.g. 2026-01-01T00:00:00+00:00)")
    if len(stamps) == 2:
        try:
            if stamps["finished_at"] < stamps["started_at"]:
                errors.append("finished_at: before started_at")
        except TypeError:
            errors.append("started_at, finished_at: give both with a time zone, or neither")
    return errors


def _tier_errors(row: dict, components) -> list[str]:
    """The tier's own facts: its budgets and widths (for its current version) and, when the
    components are known, the parameter count the family gives for the width and recipe."""
    tier = TIERS.get(row["tier"])
    errors = []
    if row["tier_version"] == tier.version:
        if row["budget"] not in tier.budgets:
            budgets = ", ".join(f"{b:g}" for b in tier.budgets)
            errors.append(f"budget: {row['budget']:g} is not one of tier {tier.name} "
                          f"v{tier.version}'s budgets ({budgets})")
        if row["width"] not in tier.widths:
            errors.append(f"width: {row['width']} is not one of tier {tier.name} v{tier.version}'s "
                          f"widths ({', '.join(map(str, tier.widths))})")
    if components is not None and row["n_params"] is not None and not errors:
        expected = expected_n_params(strict_json(row["spec"]), components)
        if expected is not None and expected != row["n_params"]:
            errors.append(f"n_params: {row['n_params']} is not the {expected} parameters the "
                          f"family gives at width {row['width']} for this recipe "
                          "(see `cegbench plan`)")
    return errors


def expected_n_params(spec: dict, components) -> int | None:
    """The family's parameter count for a spec's recipe and width; None when a component
    the recipe names is not loaded."""
    try:
        recipe = Recipe(**spec["recipe"])
        family = components.get("family", recipe.family)
        return int(family.n_params(recipe, spec["width"], VOCAB_SIZE, spec["context"], components))
    except (KeyError, TypeError, ValueError):
        return None


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
