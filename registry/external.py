"""Runs trained elsewhere: the external-runs format, its validated import, and the
registry's external tiers (``cegbench import --external``; docs/external-runs.md).

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

About 450 lines: the format's checks are one contract, kept beside the tables they fill.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlite_utils import Database

from cegbench import literature
from cegbench.hashing import content_hash
from cegbench.innovations import ARMS, SLUG
from cegbench.provenance import utc_now
from cegbench.registry.db import write_transaction
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
DEFAULT_MARGIN = 1.25  # CEG drift per 100× compute for "scale-invariant", the gpu tier's
EXTERNAL_CATEGORY = "external"  # category of an innovation registered from a file
MEASURED = ("seed", "params", "flops", "tokens", "loss", "schedule")  # rows with one key must agree on these


@dataclass(frozen=True)
class ExternalTier:
    """An external tier as the registry holds it (``external_tiers``)."""

    name: str
    version: int
    source: str | None
    citation: str | None
    licence: str | None
    read: str  # cegbench.analysis.curves.READS
    margin: float
    files: tuple[dict, ...] = ()

    @property
    def curves(self) -> bool:
        return self.read != "final"


@dataclass
class ExternalReport:
    """What ``import_external`` did (or, dry, would do)."""

    tiers: list[str] = field(default_factory=list)  # "name vN", each tier the files fill
    imported: int = 0
    unchanged: int = 0  # rows already recorded with the same values
    conflicts: list[str] = field(default_factory=list)
    registered: list[str] = field(default_factory=list)  # innovations added (file or plugin)
    touched: list[tuple[str, int, str]] = field(default_factory=list)  # (tier, version, innovation)
    dry_run: bool = False


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
    from cegbench.registry.exchange import read_rows  # imports the planner (torch): only here
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
    from cegbench.registry.exchange import ImportRejected, is_csv, read_rows
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


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# -------------------------------------------------------------------------
# import


def source_url(source: str | None) -> str | None:
    """The URL a ``source`` starts with (e.g. "https://github.com/x/y at COMMIT, FILE"), or None."""
    first = (source or "").split()[:1]
    return first[0].rstrip(",;") if first and first[0].startswith(("https://", "http://")) else None


def file_innovation_row(name: str, rows: list[dict], tier: str) -> dict:
    """The ``innovations`` row of an innovation no plugin declares: title = slug, its arms
    described by their ``schedule`` where the file gives one."""
    def arm(which):
        schedules = sorted({r["schedule"] for r in rows if r["arm"] == which and r["schedule"]})
        return json.dumps({"schedule": "; ".join(schedules)} if schedules else {})

    return {
        "name": name, "title": name, "category": EXTERNAL_CATEGORY, "year": None,
        "paper": source_url(next((r["source"] for r in rows if r["source"]), None)),
        "description": (f"Runs trained elsewhere, registered from an external file (tier {tier}); "
                        "no plugin declares this innovation."),
        "expected": None, "parts": "[]",
        "literature": next((r["literature"] for r in rows if r["literature"]), None) or "[]",
        "baseline": arm("baseline"), "modern": arm("modern"),
        "plugin": None, "distribution": None, "plugin_version": None,
        "declaration_hash": content_hash({"external innovation": name}, 16),
        "updated_at": utc_now(),
    }


def import_external(db: Database, paths: Iterable[Path], declared: dict[str, dict], *,
                    read: str | None = None, margin: float = DEFAULT_MARGIN,
                    dry_run: bool = False) -> ExternalReport:
    """Validate the external files ``paths`` and merge their rows into ``db``.

    ``declared``: the loaded plugins' innovations rows by name (an innovation they declare
    is registered from its declaration, any other from the file). ``read``: how the
    frontier is read off curves (``curves.CURVE_READS``; None: the default); final losses
    are always read ``final``. Idempotent: rows already recorded with the same values are
    skipped; one recorded with other values is a conflict, listed and never overwritten.
    A tier already registered with another source, citation or licence is refused (a
    changed tier is a new ``tier_version``). ``dry_run`` writes nothing.
    """
    from cegbench.analysis.curves import CURVE_READS, DEFAULT_CURVE_READ, FINAL
    from cegbench.registry.exchange import ImportRejected

    paths = list(paths)
    rows = read_external(paths)
    report = ExternalReport(dry_run=dry_run)
    by_tier: dict[tuple[str, int], list[tuple[str, dict]]] = defaultdict(list)
    for where, row in rows:
        by_tier[(row["tier"], row["tier_version"])].append((where, row))
    if read is not None and read not in CURVE_READS:
        raise ValueError(f"read must be one of {', '.join(CURVE_READS)} (how curves are read), got {read!r}")
    errors, tier_rows = [], []
    for (name, version), mine in by_tier.items():
        first = mine[0][1]
        kind_read = (read or DEFAULT_CURVE_READ) if first["kind"] == "curve" else FINAL
        if read is not None and first["kind"] == "final":
            errors.append(f"{mine[0][0]}: tier {name} holds final losses; --read {read} is for curves")
        known = get_external_tier(db, name, version)
        if known is not None:
            differ = [c for c in PROVENANCE if getattr(known, c) != first[c]]
            if differ:
                errors.append(f"{mine[0][0]}: tier {name} v{version} is registered with another "
                              f"{', '.join(differ)} ({', '.join(repr(getattr(known, c)) for c in differ)}); "
                              "a changed tier is a new tier_version")
            if known.curves != (first["kind"] == "curve"):
                errors.append(f"{mine[0][0]}: tier {name} v{version} holds "
                              f"{'curves' if known.curves else 'final losses'} already, not "
                              f"{'curves' if first['kind'] == 'curve' else 'final losses'}")
        files = {f["name"]: f for f in (known.files if known else ())}
        for path in paths:
            if any(where.startswith(f"{path}:") for where, _ in mine):
                files[Path(path).name] = {"name": Path(path).name, "sha256": _sha256(path),
                                          "rows": sum(where.startswith(f"{path}:") for where, _ in mine)}
        tier_rows.append({"name": name, "version": version, **{c: first[c] for c in PROVENANCE},
                          "read": kind_read, "margin": float(margin),
                          "files": json.dumps(list(files.values())), "imported_at": utc_now()})
        report.tiers.append(f"{name} v{version}")
    if errors:
        raise ImportRejected(errors, f"{len(errors)} problem(s) with the external tier(s), nothing imported")

    registered = {row["name"] for row in db["innovations"].rows_where(select="name")}
    names = sorted({row["innovation"] for _, row in rows})
    new_innovations = []
    for name in names:
        if name in registered:
            continue
        mine = [row for _, row in rows if row["innovation"] == name]
        new_innovations.append(declared.get(name) or file_innovation_row(name, mine, mine[0]["tier"]))
        report.registered.append(name)

    new_rows = []
    for where, row in rows:
        key = row_key(row)
        existing = db.execute(f"select {', '.join(MEASURED)} from external_runs where row_key = ?",
                              [key]).fetchone()
        if existing is None:
            file, line = where.rsplit(":", 1)
            new_rows.append({"row_key": key, **{c: row[c] for c in (
                "tier", "tier_version", "innovation", "arm", "run", "step", *MEASURED)},
                "file": Path(file).name, "line": int(line)})
        elif tuple(existing) == tuple(row[c] for c in MEASURED):
            report.unchanged += 1
        else:
            differ = [c for c, old in zip(MEASURED, existing) if old != row[c]]
            report.conflicts.append(f"{where}: {row['innovation']} {row['arm']} on {row['tier']} is "
                                    f"recorded with different {', '.join(differ)}; kept the recorded one")
    report.imported = len(new_rows)
    report.touched = sorted({(r["tier"], r["tier_version"], r["innovation"]) for _, r in rows})
    if dry_run:
        return report
    with write_transaction(db):
        db["innovations"].insert_all(new_innovations)
        db["external_tiers"].upsert_all(tier_rows, pk=("name", "version"))
        db["external_runs"].insert_all(new_rows)
    return report


# -------------------------------------------------------------------------
# reading the registry


def _tier(row: dict) -> ExternalTier:
    return ExternalTier(row["name"], row["version"], row["source"], row["citation"], row["licence"],
                        row["read"], row["margin"], tuple(json.loads(row["files"] or "[]")))


def external_tiers(db: Database) -> list[ExternalTier]:
    """Every external tier, by name and version."""
    if "external_tiers" not in db.table_names():  # a registry opened read-only before m016
        return []
    return [_tier(row) for row in db["external_tiers"].rows_where(order_by="name, version")]


def get_external_tier(db: Database, name: str, version: int | None = None) -> ExternalTier | None:
    """The external tier ``name`` (its latest version unless ``version``), or None."""
    tiers = [t for t in external_tiers(db) if t.name == name and version in (None, t.version)]
    return tiers[-1] if tiers else None


def tier_innovations(db: Database, tier: str, version: int) -> list[str]:
    """The innovations with rows on an external tier version, by name."""
    rows = db.execute("select distinct innovation from external_runs where tier = ? and tier_version = ? "
                      "order by innovation", [tier, version]).fetchall()
    return [row[0] for row in rows]


ROW_COLUMNS = ("arm", "run", "step", "seed", "params", "flops", "tokens", "loss", "schedule")


def external_rows(db: Database, innovation: str, tier: str, version: int) -> pd.DataFrame:
    """One innovation's rows on an external tier version (columns ``ROW_COLUMNS``)."""
    rows = db["external_runs"].rows_where(
        "innovation = ? and tier = ? and tier_version = ?", [innovation, tier, version],
        select=", ".join(ROW_COLUMNS), order_by="arm, run, step, params, flops, seed")
    return pd.DataFrame(list(rows), columns=list(ROW_COLUMNS))


def site_runs(db: Database, innovation: str, tier: str, version: int) -> pd.DataFrame:
    """An external tier's runs in the shape of ``db.runs`` for the site's run table and
    plots: one row per final loss, or per run of a curve (its last checkpoint)."""
    rows = external_rows(db, innovation, tier, version)
    if rows["run"].notna().any():
        rows = rows.sort_values("step").groupby(["arm", "run"], as_index=False).last()
    return pd.DataFrame({
        "arm": rows["arm"], "budget": rows["flops"], "width": None, "n_params": rows["params"],
        "seed": rows["seed"].fillna(0), "final_loss": rows["loss"], "tokens": rows["tokens"],
        "epochs": None, "status": "ok", "error": None, "wall_time_s": None, "hardware": None,
        "command": None})


def status_lines(db: Database, tier: ExternalTier) -> list[str]:
    """``cegbench status`` for an external tier: per innovation and arm, its rows, runs,
    budgets, sizes and seeds."""
    lines = [(f"tier {tier.name} v{tier.version} (external: runs trained elsewhere, read as "
              f"{tier.read}; margin {tier.margin:g}× per 100× compute)"),
             f"  source: {tier.source or '—'}; citation: {tier.citation or '—'}; licence: {tier.licence or '—'}"]
    for name in tier_innovations(db, tier.name, tier.version):
        rows = external_rows(db, name, tier.name, tier.version)
        for arm, mine in rows.groupby("arm", sort=True):
            runs = mine["run"].nunique() if tier.curves else len(mine)
            lines.append(
                f"  {name} {arm}: {len(mine)} rows, {runs} runs, FLOPs {mine['flops'].min():.3g}–"
                f"{mine['flops'].max():.3g}, {mine['params'].nunique()} sizes "
                f"{mine['params'].min():.3g}–{mine['params'].max():.3g}, "
                f"{max(mine['seed'].nunique(), 1)} seed(s)")
    return lines


def write_external(db: Database, out, fmt: str, tier: ExternalTier) -> int:
    """The rows of an external tier in the external format (what ``import --external``
    reads back): CSV or JSON lines to the text stream ``out``; returns how many."""
    import csv

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
    import sys

    from cegbench.registry.exchange import open_text

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


# -------------------------------------------------------------------------
# predictive validity


def save_validity(db: Database, *, innovation: str, tier: str, tier_version: int,
                  span_decades: float, small: dict, whole: dict) -> None:
    """Store (replace) one external pair's predictive-validity check."""
    with write_transaction(db):
        db["validity"].upsert({"innovation": innovation, "tier": tier, "tier_version": tier_version,
                               "span_decades": span_decades, "small": json.dumps(small),
                               "whole": json.dumps(whole), "created_at": utc_now()},
                              pk=("innovation", "tier", "tier_version"))


def clear_validity(db: Database, *, innovation: str, tier: str, tier_version: int) -> None:
    """Forget a pair's check (its range no longer spans enough decades)."""
    with write_transaction(db):
        db["validity"].delete_where("innovation = ? and tier = ? and tier_version = ?",
                                    [innovation, tier, tier_version])


def validity_rows(db: Database, tier: str, tier_version: int) -> list[dict]:
    """Each pair's stored check on a tier version (``small``/``whole`` decoded), by innovation."""
    if "validity" not in db.table_names():
        return []
    rows = db["validity"].rows_where("tier = ? and tier_version = ?", [tier, tier_version],
                                     order_by="innovation")
    return [{**row, "small": json.loads(row["small"]), "whole": json.loads(row["whole"])} for row in rows]
