"""``cegbench import --external``: an external file's validated rows (``registry.external``)
merged into the registry: its tiers registered (``external_tiers``), innovations no plugin
declares registered from the file (title = slug), its rows added to ``external_runs``.
Idempotent; a row recorded with other values is a conflict, never overwritten.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlite_utils import Database

from cegbench.hashing import content_hash
from cegbench.provenance import utc_now
from cegbench.registry.db import write_transaction
from cegbench.registry.exchange import ImportRejected
from cegbench.registry.external import MEASURED, PROVENANCE, read_external, row_key
from cegbench.registry.external_tiers import get_external_tier
from cegbench.tiers import CURVE_READS, DEFAULT_CURVE_READ, FINAL

DEFAULT_MARGIN = 1.25  # CEG drift per 100× compute for "scale-invariant", the gpu tier's
EXTERNAL_CATEGORY = "external"  # category of an innovation registered from a file


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


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def source_url(source: str | None) -> str | None:
    """The URL a ``source`` starts with (e.g. "https://github.com/x/y at COMMIT, FILE"), or None."""
    first = (source or "").split()[:1]
    return first[0].rstrip(",;") if first and first[0].startswith(("https://", "http://")) else None


def file_innovation_row(name: str, rows: list[dict], tier_name: str) -> dict:
    """The ``innovations`` row of an innovation no plugin declares: title = slug, its arms
    described by their ``schedule`` where the file gives one."""
    def arm(which):
        schedules = sorted({r["schedule"] for r in rows if r["arm"] == which and r["schedule"]})
        return json.dumps({"schedule": "; ".join(schedules)} if schedules else {})

    return {
        "name": name, "title": name, "category": EXTERNAL_CATEGORY, "year": None,
        "paper": source_url(next((r["source"] for r in rows if r["source"]), None)),
        "description": (f"Runs trained elsewhere, registered from an external file (tier {tier_name}); "
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
    frontier is read off curves (``tiers.CURVE_READS``; None: the default); final losses
    are always read ``final``. Idempotent: rows already recorded with the same values are
    skipped; one recorded with other values is a conflict, listed and never overwritten.
    A tier already registered with another source, citation or licence is refused (a
    changed tier is a new ``tier_version``). ``dry_run`` writes nothing.
    """
    if read is not None and read not in CURVE_READS:
        raise ValueError(f"read must be one of {', '.join(CURVE_READS)} (how curves are read), got {read!r}")
    paths = list(paths)
    rows = read_external(paths)
    report = ExternalReport(dry_run=dry_run)
    by_tier: dict[tuple[str, int], list[tuple[str, dict]]] = defaultdict(list)
    for where, row in rows:
        by_tier[(row["tier"], row["tier_version"])].append((where, row))
    tier_rows, errors = [], []
    for (name, version), mine in by_tier.items():
        tier_row, problems = _tier_row(db, name, version, mine, paths, read, margin)
        tier_rows.append(tier_row)
        errors += problems
        report.tiers.append(f"{name} v{version}")
    if errors:
        raise ImportRejected(errors, f"{len(errors)} problem(s) with the external tier(s), nothing imported")
    new_innovations = _new_innovations(db, rows, declared)
    report.registered = [row["name"] for row in new_innovations]
    new_rows = _merge(db, rows, report)
    report.imported = len(new_rows)
    report.touched = sorted({(r["tier"], r["tier_version"], r["innovation"]) for _, r in rows})
    if dry_run:
        return report
    with write_transaction(db):
        db["innovations"].insert_all(new_innovations)
        db["external_tiers"].upsert_all(tier_rows, pk=("name", "version"))
        db["external_runs"].insert_all(new_rows)
    return report


def _tier_row(db: Database, name: str, version: int, mine: list[tuple[str, dict]], paths: list[Path],
              read: str | None, margin: float) -> tuple[dict, list[str]]:
    """The ``external_tiers`` row of one tier the files fill (the files it was read from
    added to those of earlier imports), and what refuses it: a read given for final losses,
    or a registered tier with another source, citation, licence or kind of row."""
    where, first = mine[0]
    errors = []
    if read is not None and first["kind"] == "final":
        errors.append(f"{where}: tier {name} holds final losses; --read {read} is for curves")
    known = get_external_tier(db, name, version)
    if known is not None:
        differ = [c for c in PROVENANCE if getattr(known, c) != first[c]]
        if differ:
            errors.append(f"{where}: tier {name} v{version} is registered with another "
                          f"{', '.join(differ)} ({', '.join(repr(getattr(known, c)) for c in differ)}); "
                          "a changed tier is a new tier_version")
        if known.curves != (first["kind"] == "curve"):
            errors.append(f"{where}: tier {name} v{version} holds "
                          f"{'curves' if known.curves else 'final losses'} already, not "
                          f"{'curves' if first['kind'] == 'curve' else 'final losses'}")
    files = {f["name"]: f for f in (known.files if known else ())}
    for path in paths:
        if any(w.startswith(f"{path}:") for w, _ in mine):
            files[Path(path).name] = {"name": Path(path).name, "sha256": _sha256(path),
                                      "rows": sum(w.startswith(f"{path}:") for w, _ in mine)}
    return {"name": name, "version": version, **{c: first[c] for c in PROVENANCE},
            "read": (read or DEFAULT_CURVE_READ) if first["kind"] == "curve" else FINAL,
            "margin": float(margin), "files": json.dumps(list(files.values())),
            "imported_at": utc_now()}, errors


def _new_innovations(db: Database, rows: list[tuple[str, dict]], declared: dict[str, dict]) -> list[dict]:
    """The ``innovations`` rows of the files' innovations the registry lacks: from a loaded
    plugin's declaration where there is one, else from the file."""
    registered = {row["name"] for row in db["innovations"].rows_where(select="name")}
    new = []
    for name in sorted({row["innovation"] for _, row in rows} - registered):
        mine = [row for _, row in rows if row["innovation"] == name]
        new.append(declared.get(name) or file_innovation_row(name, mine, mine[0]["tier"]))
    return new


def _merge(db: Database, rows: list[tuple[str, dict]], report: ExternalReport) -> list[dict]:
    """The ``external_runs`` rows to insert: rows not recorded yet. A row recorded with the
    same values counts as unchanged in ``report``, one with other values as a conflict."""
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
    return new_rows
