"""Reads and writes of learning-rate tuning: ``tuning_runs`` and ``learning_rates``.

Tuning runs are not measurement runs: they live in their own table, keyed by
run id, and each chosen rate records the runs and the protocol it came from.
"""

from __future__ import annotations

import json
import math

from sqlite_utils import Database

from cegbench.innovations import Recipe
from cegbench.plan.specs import TunedRate
from cegbench.plan.tuning import Choice, recipe_key
from cegbench.provenance import utc_now
from cegbench.registry.db import recipe_json, select_in, write_transaction
from cegbench.registry.ingest import trained_row
from cegbench.stored import load_json
from cegbench.tiers import Tier


def tuning_run_row(result, command: str) -> dict:
    """One ``tuning_runs`` row: a trained run's columns, keyed also by its recipe."""
    return {**trained_row(result, command), "recipe_key": recipe_key(result.spec.recipe)}


def save_tuning_run(db: Database, result, command: str) -> bool:
    """Record one finished tuning run (ok or failed); idempotent by run id."""
    with write_transaction(db):
        db["tuning_runs"].upsert(tuning_run_row(result, command), pk="run_id")
    return True


def tuning_losses(db: Database, run_ids, *, include_failed: bool = True) -> dict[str, float | None]:
    """Final held-out loss of each recorded tuning run among ``run_ids`` (None: failed)."""
    status = "" if include_failed else " and status = 'ok'"
    sql = "select run_id, status, final_loss from tuning_runs where run_id in ({marks})" + status
    return {run_id: loss if run_status == "ok" else None
            for run_id, run_status, loss in select_in(db, sql, run_ids)}


def save_learning_rate(db: Database, tier: Tier, choice: Choice) -> None:
    """Store a recipe's chosen rate on ``tier`` (its version), replacing an earlier choice."""
    row = {
        "recipe_key": recipe_key(choice.recipe),
        "tier": tier.name,
        "tier_version": tier.version,
        "recipe": recipe_json(choice.recipe),
        "learning_rate": choice.rate.learning_rate,
        "width": choice.rate.width,
        "multiplier": choice.multiplier,
        "final_loss": choice.final_loss,
        "at_edge": int(choice.at_edge),
        "run_ids": json.dumps(list(choice.run_ids)),
        "protocol": json.dumps(choice.protocol, sort_keys=True),
        "created_at": utc_now(),
    }
    with write_transaction(db):
        db["learning_rates"].upsert(row, pk=("recipe_key", "tier", "tier_version"))


def learning_rates(db: Database, tier_name: str | None = None) -> list[dict]:
    where, params = ("tier = ?", [tier_name]) if tier_name else (None, [])
    return list(db["learning_rates"].rows_where(where, params, order_by="tier, recipe_key"))


def tuned_rates(db: Database, tier: Tier) -> dict[Recipe, TunedRate]:
    """Every recipe's chosen rate on ``tier`` (its version), as ``plan.cells.run_specs`` takes them."""
    return {
        Recipe(**load_json(row["recipe"], f"learning_rates.recipe of {row['recipe_key']!r}", kind=dict)):
        TunedRate(row["learning_rate"], row["width"])
        for row in db["learning_rates"].rows_where("tier = ? and tier_version = ?",
                                                   [tier.name, tier.version])
    }


def stale_runs(db: Database, tier: Tier, rates: dict[Recipe, TunedRate]) -> dict[str, str]:
    """The recorded runs on ``tier`` (any innovation) of a recipe in ``rates`` whose learning
    rate is not the one that rate gives at their width — the recipe was tuned again and
    came out different — each with the reason (run id → why)."""
    rate_of = {recipe_json(recipe): rate for recipe, rate in rates.items()}
    stale = {}
    for row in db["runs"].rows_where("tier = ? and tier_version = ?", [tier.name, tier.version],
                                     select="run_id, recipe, width, learning_rate"):
        rate = rate_of.get(row["recipe"])
        if rate is None:
            continue
        now = tier.learning_rate(rate.learning_rate, rate.width, row["width"])
        if not math.isclose(row["learning_rate"], now, rel_tol=1e-9):
            stale[row["run_id"]] = (f"trained at learning rate {row['learning_rate']:.4g}; its recipe's tuning "
                                    f"now gives {now:.4g} at width {row['width']}")
    return stale
