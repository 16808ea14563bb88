"""Runs trained elsewhere: the external-runs format, read and checked (``read_external``)
and written back (``write_external``); docs/external-runs.md. Its import is
``registry.external_import``, the registry's external tiers ``registry.external_tiers``.

An external file (CSV or JSON lines, either possibly ``.gz``) holds one row per run's
final held-out loss, or one row per checkpoint of each run's curve (with ``run`` and
``step``). The tier it names becomes an **external tier**: its budgets and sizes are the
file's own and are never checked against a built-in tier, and a file naming a built-in
tier is refused. Every physical check still applies (``check_row``): finite, positive
numbers, a loss in nats within ``MAX_LOSS``, FLOPs within ``FLOPS_FACTOR`` of 6·N·D where
tokens are given, one kind of row per tier, steps and FLOPs increasing along a curve.
Every bad row is named with its file and line, one line each, and then nothing is
written. Innovations no plugin declares are registered from the file (title = slug).

External runs live in ``external_runs``, apart from ``runs`` (no spec, no run id, no
training to share): nothing that plans or trains ever sees them. Their verdicts and
fits are stored in ``verdicts`` and ``fits`` like any other, under the tier's name.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from sqlite_utils import Database

from cegbench import literature
from cegbench.hashing import content_hash
from cegbench.innovations import ARMS, SLUG
from cegbench.registry.exchange import ImportRejected, is_csv, open_text, read_rows
from cegbench.registry.external_tiers import ExternalTier
from cegbench.tiers import TIERS

REQUIRED = ("innovation", "arm", "tier", "params", "flops", "loss")
OPTIONAL = ("run", "step", "seed", "tokens", "schedule", "tier_version", "source", "citation",
            "licence", "literature")
COLUMNS = REQUIRED + OPTIONAL
PROVENANCE = ("source", "citation", "licence")
# A held-out cross-entropy in nats per token: no tokenizer's uniform guess comes near 20
# (ln of a 4.9e8-token vocabulary); a perplexity, or a loss summed over a sequence, would.
MAX_LOSS = 20.0
# FLOPs against 6·N·D (Kaplan et al.'s forward+backward estimate): counting conventions
# move the ratio by less than this factor (embeddings in N or not, attention FLOPs, MoE
# active parameters, 2·N·D forward only); units do not (millions, billions, PF-days).
FLOPS_FACTOR = 10.0
MAX_TEXT = 10_000  # characters in one text field
MEASURED = ("seed", "params", "flops", "tokens", "loss", "schedule")  # rows with one key must agree on these


# -------------------------------------------------------------------------
# one row


def _text(value, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name}: expected text, got {value!r:.40}")  # noqa: TRY004 (a bad row, not a bug)
    if len(value) > MAX_TEXT:
        raise ValueError(f"{name}: text longer than {MAX_TEXT} characters")
    return value.strip() or None


def _number(value, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ValueError(f"{name}: expected a number, got {value!r:.40}") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name}: expected a number, got {value!r:.40}")  # noqa: TRY004 (a bad row)
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name}: {value} is not a finite number")
    return value


def _integer(value, name: str) -> int | None:
    number = _number(value, name)
    if number is None:
        return None
    if number != int(number):
        raise ValueError(f"{name}: expected a whole number, got {value!r:.40}")
    return int(number)


def _findings(value) -> str | None:
    """The ``literature`` column: a JSON list of ``cegbench.Finding`` fields, as the
    registry's ``innovations.literature`` text."""
    if value is None:
        return None
    try:
        items = json.loads(value) if isinstance(value, str) else value
    except ValueError as error:
        raise ValueError(f"literature: not valid JSON ({error})") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ValueError("literature: must be a JSON list of objects (cegbench.Finding fields)")
    findings = []
    for k, item in enumerate(items):
        item = {key: tuple(v) if isinstance(v, list) else v for key, v in item.items()}
        try:
            finding = literature.Finding(**item)
            literature.validate_finding(finding)
        except TypeError as error:
            raise ValueError(f"literature: finding {k}: {error}") from None
        except literature.LiteratureError as error:
            raise ValueError(f"literature: finding {k}: {error}") from None
        findings.append(finding)
    return literature.to_json(findings)


def check_row(raw: dict) -> tuple[dict | None, list[str]]:
    """A clean external row, or what is wrong with ``raw`` (each problem in words)."""
    errors = []
    unknown = sorted(set(raw) - set(COLUMNS), key=str)
    if unknown:
        errors.append(f"unknown column(s) {', '.join(map(repr, unknown[:5]))} "
                      f"(the format's columns: {', '.join(COLUMNS)})")
    row = {}
    parsers = {"params": _number, "flops": _number, "loss": _number, "tokens": _number,
               "step": _integer, "seed": _integer, "tier_version": _integer}
    for name in COLUMNS:
        try:
            if name == "literature":
                row[name] = _findings(raw.get(name))
            else:
                row[name] = parsers.get(name, _text)(raw.get(name), name)
        except ValueError as error:
            errors.append(str(error))
    if errors:
        return None, errors
    errors += [f"{name}: missing" for name in REQUIRED if row[name] is None]
    if errors:
        return None, errors
    row["tier_version"] = 1 if row["tier_version"] is None else row["tier_version"]
    checks = [
        ("innovation", SLUG.match(row["innovation"]), "is not a slug (a-z, 0-9 and '-', 2–63 characters)"),
        ("arm", row["arm"] in ARMS, f"must be one of {', '.join(ARMS)}"),
        ("tier", SLUG.match(row["tier"]), "is not a slug (a-z, 0-9 and '-', 2–63 characters)"),
        ("tier", row["tier"] not in TIERS,
         ("is a built-in tier: an external file names its own tier (e.g. 'cpu-mine'), never a "
          f"built-in one ({', '.join(TIERS)})")),
        ("tier_version", row["tier_version"] >= 1, "must be at least 1"),
        ("params", row["params"] > 0, "must be positive"),
        ("flops", row["flops"] > 0, "must be positive"),
        ("loss", row["loss"] > 0, "must be positive (a held-out cross-entropy in nats)"),
        ("loss", row["loss"] <= MAX_LOSS, (f"is above {MAX_LOSS:g} nats: not a per-token "
                                           "cross-entropy (a perplexity, or a loss in other units?)")),
        ("tokens", row["tokens"] is None or row["tokens"] > 0, "must be positive"),
        ("seed", row["seed"] is None or row["seed"] >= 0, "must not be negative"),
        ("step", row["step"] is None or row["step"] >= 0, "must not be negative"),
    ]
    errors += [f"{name}: {row[name]!r} {message}" for name, ok, message in checks if not ok]
    if (row["run"] is None) != (row["step"] is None):
        errors.append("run, step: a checkpoint row gives both (a curve), a final-loss row neither")
    if not errors and row["tokens"] is not None:
        ratio = row["flops"] / (6 * row["params"] * row["tokens"])
        if not 1 / FLOPS_FACTOR <= ratio <= FLOPS_FACTOR:
            errors.append(
                f"flops: {row['flops']:.4g} is {ratio:.3g}× 6·params·tokens (6 × {row['params']:.4g} × "
                f"{row['tokens']:.4g} = {6 * row['params'] * row['tokens']:.4g}); FLOPs must be within "
                f"{FLOPS_FACTOR:g}× of 6·N·D (are params, tokens or flops in other units?)")
    return (None if errors else row), errors


def row_key(row: dict) -> str:
    """The identity of a row: a checkpoint by (tier, version, innovation, arm, run, step),
    a final loss by (tier, version, innovation, arm, params, flops, seed)."""
    base = [row["tier"], row["tier_version"], row["innovation"], row["arm"]]
    rest = ([row["run"], row["step"]] if row["run"] is not None
            else [row["params"], row["flops"], row["seed"]])
    return content_hash(base + rest, 20)


# -------------------------------------------------------------------------
# files


def is_external_file(path) -> bool:
    """Does ``path`` hold the external format (its first row has ``params`` and ``loss``
    and no ``run_id``), rather than a ``cegbench export``?"""
    for _, raw in read_rows(Path(path)):
        return isinstance(raw, dict) and {"params", "loss"} <= set(raw) and "run_id" not in raw
    return False


def _same_across(rows, key, columns, what) -> list[str]:
    """Errors where rows sharing ``key(row)`` disagree on ``columns`` (first row wins)."""
    first, errors = {}, []
    for where, row in rows:
        seen = first.setdefault(key(row), (where, row))
        for column in columns:
            if row[column] != seen[1][column]:
                errors.append(f"{where}: {column} {row[column]!r:.60} differs from {seen[0]}'s "
                              f"{seen[1][column]!r:.60} ({what})")
                break
    return errors


def _consistency_errors(rows: list[tuple[str, dict]]) -> list[str]:
    """What no single row shows: a tier's provenance and kind, a run's size, seed and
    increasing steps, duplicate rows."""
    errors = _same_across(rows, lambda r: (r["tier"], r["tier_version"]), PROVENANCE,
                          "one tier has one source, citation and licence")
    errors += _same_across(rows, lambda r: (r["tier"], r["tier_version"]), ("kind",),
                           "a tier holds final losses or curves, not both")
    errors += _same_across(rows, lambda r: (r["tier"], r["tier_version"], r["innovation"]),
                           ("literature",), "one innovation has one literature list")
    curves = [(w, r) for w, r in rows if r["run"] is not None]
    errors += _same_across(curves, lambda r: (r["tier"], r["tier_version"], r["innovation"], r["arm"], r["run"]),
                           ("params", "seed"), "a run has one size and one seed")
    seen: dict[str, str] = {}
    by_run = defaultdict(list)
    for where, row in rows:
        key = row_key(row)
        if key in seen:
            what = (f"run {row['run']!r} step {row['step']}" if row["run"] is not None else
                    f"params {row['params']:g}, flops {row['flops']:g}, seed {row['seed']}")
            errors.append(f"{where}: the same row as {seen[key]} ({row['innovation']} {row['arm']}, "
                          f"{what}); give each run its own seed or run name")
        seen.setdefault(key, where)
        if row["run"] is not None:
            by_run[(row["tier"], row["tier_version"], row["innovation"], row["arm"], row["run"])].append((where, row))
    for points in by_run.values():
        points.sort(key=lambda p: p[1]["step"])
        for (w0, a), (w1, b) in itertools.pairwise(points):
            if a["step"] != b["step"] and not b["flops"] > a["flops"]:
                errors.append(f"{w1}: flops {b['flops']:.4g} at step {b['step']} is not above "
                              f"{a['flops']:.4g} at step {a['step']} ({w0}): a run's FLOPs grow with its steps")
    return errors


def _header_problem(raw: dict) -> str | None:
    """What is wrong with a CSV file's columns (read off its first row), or None."""
    missing = [c for c in REQUIRED if c not in raw]
    unknown = [c for c in raw if c not in COLUMNS]
    problems = [f"the header lacks required column(s) {', '.join(missing)}"] if missing else []
    if unknown:
        problems.append(f"unknown column(s) {', '.join(map(repr, unknown[:5]))} "
                        f"(the format's columns: {', '.join(COLUMNS)})")
    return "; ".join(problems) or None


def read_external(paths: Iterable[Path]) -> list[tuple[str, dict]]:
    """(where, clean row) for every row of every file; ``ImportRejected`` listing every bad
    row, one line each ("file:line: problem; problem")."""
    rows, errors = [], []
    for path in map(Path, paths):
        try:
            for k, (number, raw) in enumerate(read_rows(path)):
                where = f"{path}:{number}"
                if isinstance(raw, str):
                    errors.append(f"{where}: {raw}")
                    continue
                if is_csv(path) and k == 0 and (problem := _header_problem(raw)):
                    errors.append(f"{path}:1: {problem}")  # once, not on every row
                    break
                row, problems = check_row(raw)
                if problems:
                    errors.append(f"{where}: " + "; ".join(problems))
                else:
                    row["kind"] = "curve" if row["run"] is not None else "final"
                    rows.append((where, row))
        except (OSError, EOFError, UnicodeDecodeError) as error:
            errors.append(f"{path}: cannot read: {error}")
    errors += _consistency_errors(rows) if not errors else []
    if errors:
        raise ImportRejected(errors, f"{len(errors)} invalid external row(s), nothing imported")
    if not rows:
        raise ImportRejected([f"{path}: no rows in it" for path in map(Path, paths)],
                             "nothing to import (empty input)")
    return rows


# -------------------------------------------------------------------------
# writing the format


def write_external(db: Database, out, fmt: str, tier: ExternalTier) -> int:
    """The rows of an external tier in the external format (what ``import --external``
    reads back): CSV or JSON lines to the text stream ``out``; returns how many."""
    innovations = {row["name"]: row for row in db["innovations"].rows_where()}
    rows = db["external_runs"].rows_where("tier = ? and tier_version = ?", [tier.name, tier.version],
                                          order_by="innovation, arm, run, step, params, flops, seed")
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
    count = 0
    for row in rows:
        findings = innovations[row["innovation"]].get("literature")
        record = {"innovation": row["innovation"], "arm": row["arm"], "tier": tier.name,
                  "params": row["params"], "flops": row["flops"], "loss": row["loss"],
                  "run": row["run"], "step": row["step"], "seed": row["seed"], "tokens": row["tokens"],
                  "schedule": row["schedule"], "tier_version": tier.version, "source": tier.source,
                  "citation": tier.citation, "licence": tier.licence,
                  "literature": findings if findings and findings != "[]" else None}
        if fmt == "csv":
            writer.writerow(record)
        else:
            out.write(json.dumps({k: v for k, v in record.items() if v is not None}) + "\n")
        count += 1
    return count


def write_external_file(db: Database, out_path: str, fmt: str, tier: ExternalTier) -> int:
    """``write_external`` into ``out_path`` ("-": standard output; ``.gz``: compressed)."""
    if out_path == "-":
        return write_external(db, sys.stdout, fmt, tier)
    partial = Path(f"{out_path}.partial")
    try:
        with open_text(partial, "w", gz=Path(out_path).suffix.lower() == ".gz") as out:
            count = write_external(db, out, fmt, tier)
        partial.replace(out_path)
    finally:
        partial.unlink(missing_ok=True)
    return count


