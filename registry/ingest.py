"""The single writer: turns executors' ``RunResult``s into registry rows."""

from __future__ import annotations

import json

from sqlite_utils import Database

from cegbench.learning import not_learned_reason
from cegbench.registry.db import get_innovation, recipe_json, save_run

# what a trained run reports, copied as is into its row
RESULT_COLUMNS = ("n_params", "status", "error", "final_loss", "flops_per_token",
                  "flops_per_token_analytic", "tokens", "steps", "epochs", "wall_time_s",
                  "train_time_s", "dataset_hash", "started_at", "finished_at")


def trained_row(result, command: str) -> dict:
    """The columns every trained run has, a measurement or a tuning run: its spec, its
    result and its provenance."""
    spec = result.spec
    return {
        "run_id": result.run_id,
        **{name: getattr(spec, name) for name in ("tier", "tier_version", "budget", "width",
                                                   "seed", "learning_rate", "dataset")},
        "recipe": recipe_json(spec.recipe),
        "spec": json.dumps(spec.to_dict(), sort_keys=True),
        **{name: getattr(result, name) for name in RESULT_COLUMNS},
        "curve": json.dumps(result.curve),
        **result.environment,
        "command": command,
    }


def measurement_row(result, innovation: dict, command: str, training_id: str | None = None) -> dict:
    """One ``runs`` row from a measurement run's result: the result, its spec, its full
    provenance (``learning_rates.tuning_run_row`` is its tuning-run twin) and its training
    id (``cegbench.plan.specs.training_id``, computed by the caller, which holds the model
    families)."""
    spec = result.spec
    return {
        **trained_row(result, command),
        "innovation": spec.innovation,
        "arm": spec.arm,
        "declaration_hash": spec.declaration_hash,
        "training_id": training_id,
        "plugin": innovation["plugin"],
        "distribution": innovation["distribution"],
        "plugin_version": innovation["plugin_version"],
        "unigram_loss": result.unigram_loss,
        "not_learned": not_learned_reason(result.final_loss, result.curve, result.unigram_loss)
        if result.status == "ok" else None,
    }


def ingest(db: Database, result, command: str, training_id: str | None = None) -> bool:
    """Record one result with its training id; the innovation must already be registered.

    Returns False when the run was already recorded ok (by another process), which is kept.
    """
    innovation = get_innovation(db, result.spec.innovation)
    if innovation is None:
        raise ValueError(f"innovation {result.spec.innovation!r} is not in the registry")
    return save_run(db, measurement_row(result, innovation, command, training_id))


def ingest_copy(db: Database, source_run_id: str, spec, training_id: str, command: str) -> bool:
    """Record the measurement run ``spec``, whose training id is ``training_id``, as a copy
    of the recorded run ``source_run_id``, which did the same training for another
    innovation or arm (its stored training id is the same): its result and where it
    trained, with ``spec``'s innovation, arm, recipe and declaration, and ``trained_as``
    naming the run that trained. Returns whether it was written."""
    source = db["runs"].get(source_run_id)
    if source.get("training_id") != training_id:
        raise ValueError(f"run {spec.run_id} does not train as run {source_run_id}")
    innovation = get_innovation(db, spec.innovation)
    if innovation is None:
        raise ValueError(f"innovation {spec.innovation!r} is not in the registry")
    return save_run(db, {
        **source,
        "run_id": spec.run_id,
        "recipe": recipe_json(spec.recipe),
        "spec": json.dumps(spec.to_dict(), sort_keys=True),
        "innovation": spec.innovation,
        "arm": spec.arm,
        "declaration_hash": spec.declaration_hash,
        **{name: innovation[name] for name in ("plugin", "distribution", "plugin_version")},
        "command": command,
        "trained_as": source["trained_as"] or source_run_id,
    })
