"""The single writer: turns executors' ``RunResult``s into registry rows."""

from __future__ import annotations

import json

from sqlite_utils import Database

from cegbench.registry.db import get_innovation, save_run


def run_row(result, innovation: dict, command: str) -> dict:
    """One ``runs`` row: the result, its spec and its full provenance."""
    spec = result.spec
    return {
        "run_id": result.run_id,
        "innovation": spec.innovation,
        "arm": spec.arm,
        "tier": spec.tier,
        "tier_version": spec.tier_version,
        "budget": spec.budget,
        "width": spec.width,
        "n_params": result.n_params,
        "seed": spec.seed,
        "learning_rate": spec.learning_rate,
        "recipe": json.dumps(spec.to_dict()["recipe"]),
        "spec": json.dumps(spec.to_dict(), sort_keys=True),
        "status": result.status,
        "error": result.error,
        "final_loss": result.final_loss,
        "flops_per_token": result.flops_per_token,
        "flops_per_token_analytic": result.flops_per_token_analytic,
        "tokens": result.tokens,
        "steps": result.steps,
        "curve": json.dumps(result.curve),
        "wall_time_s": result.wall_time_s,
        "train_time_s": result.train_time_s,
        "dataset": spec.dataset,
        "dataset_hash": result.dataset_hash,
        "declaration_hash": spec.declaration_hash,
        "plugin": innovation["plugin"],
        "distribution": innovation["distribution"],
        "plugin_version": innovation["plugin_version"],
        **result.environment,
        "command": command,
        "started_at": result.started_at,
        "finished_at": result.finished_at,
    }


def ingest(db: Database, result, command: str) -> bool:
    """Record one result; the innovation must already be registered.

    Returns False when the run was already recorded ok (by another process), which is kept.
    """
    innovation = get_innovation(db, result.spec.innovation)
    if innovation is None:
        raise ValueError(f"innovation {result.spec.innovation!r} is not in the registry")
    return save_run(db, run_row(result, innovation, command))
