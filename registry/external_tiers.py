"""The registry's external tiers (runs trained elsewhere, ``cegbench import --external``):
each tier as ``ExternalTier``, its innovations and rows, what ``cegbench status`` says of
it, and its pairs' predictive-validity checks. The format and its import are
``registry.external``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd
from sqlite_utils import Database

from cegbench.provenance import utc_now
from cegbench.registry.db import write_transaction
from cegbench.tiers import FINAL

ROW_COLUMNS = ("arm", "run", "step", "seed", "params", "flops", "tokens", "loss", "schedule")


@dataclass(frozen=True)
class ExternalTier:
    """An external tier as the registry holds it (``external_tiers``)."""

    name: str
    version: int
    source: str | None
    citation: str | None
    licence: str | None
    read: str  # how the frontier is read off its rows: cegbench.tiers.FRONTIER_READS
    margin: float
    files: tuple[dict, ...] = ()

    @property
    def curves(self) -> bool:
        return self.read != FINAL


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


def tier_innovations(db: Database, tier) -> list[str]:
    """The innovations with rows on an external tier (its version), by name."""
    rows = db.execute("select distinct innovation from external_runs where tier = ? and tier_version = ? "
                      "order by innovation", [tier.name, tier.version]).fetchall()
    return [row[0] for row in rows]


def external_rows(db: Database, innovation: str, tier) -> pd.DataFrame:
    """One innovation's rows on an external tier (its version; columns ``ROW_COLUMNS``)."""
    rows = db["external_runs"].rows_where(
        "innovation = ? and tier = ? and tier_version = ?", [innovation, tier.name, tier.version],
        select=", ".join(ROW_COLUMNS), order_by="arm, run, step, params, flops, seed")
    return pd.DataFrame(list(rows), columns=list(ROW_COLUMNS))


def site_runs(db: Database, innovation: str, tier) -> pd.DataFrame:
    """An external tier's runs in the shape of ``db.runs`` for the site's run table and
    plots: one row per final loss, or per run of a curve (its last checkpoint)."""
    rows = external_rows(db, innovation, tier)
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
    for name in tier_innovations(db, tier):
        rows = external_rows(db, name, tier)
        for arm, mine in rows.groupby("arm", sort=True):
            runs = mine["run"].nunique() if tier.curves else len(mine)
            lines.append(
                f"  {name} {arm}: {len(mine)} rows, {runs} runs, FLOPs {mine['flops'].min():.3g}–"
                f"{mine['flops'].max():.3g}, {mine['params'].nunique()} sizes "
                f"{mine['params'].min():.3g}–{mine['params'].max():.3g}, "
                f"{max(mine['seed'].nunique(), 1)} seed(s)")
    return lines


# -------------------------------------------------------------------------
# predictive validity


def save_validity(db: Database, *, innovation: str, tier, span_decades: float, small: dict,
                  whole: dict) -> None:
    """Store (replace) one external pair's predictive-validity check on ``tier`` (its version)."""
    with write_transaction(db):
        db["validity"].upsert({"innovation": innovation, "tier": tier.name, "tier_version": tier.version,
                               "span_decades": span_decades, "small": json.dumps(small),
                               "whole": json.dumps(whole), "created_at": utc_now()},
                              pk=("innovation", "tier", "tier_version"))


def clear_validity(db: Database, *, innovation: str, tier) -> None:
    """Forget a pair's check on ``tier`` (its range no longer spans enough decades)."""
    with write_transaction(db):
        db["validity"].delete_where("innovation = ? and tier = ? and tier_version = ?",
                                    [innovation, tier.name, tier.version])


def validity_rows(db: Database, tier) -> list[dict]:
    """Each pair's stored check on ``tier`` (its version; ``small``/``whole`` decoded), by innovation."""
    if "validity" not in db.table_names():
        return []
    rows = db["validity"].rows_where("tier = ? and tier_version = ?", [tier.name, tier.version],
                                     order_by="innovation")
    return [{**row, "small": json.loads(row["small"]), "whole": json.loads(row["whole"])} for row in rows]
