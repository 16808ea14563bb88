"""What a ``runs`` row must pass to be imported (``cegbench import``; docs/import-format.md):
the table's columns and no others, their types, their ranges (finite numbers, positive
budgets and widths, a known tier, tier version, arm and innovation), the spec (its id,
its fields, agreement with the row: ``spec_checks``), training's physical checks, the
tier's facts and, with the loaded model families, the parameter count. A clean row gets
what is judged here, never taken from the file: whether it learned, its training id."""

from __future__ import annotations

import json
import math
from datetime import datetime

from cegbench.data.names import VOCAB_SIZE
from cegbench.innovations import ARMS, Recipe
from cegbench.learning import not_learned_reason
from cegbench.plan.specs import spec_id, training_id
from cegbench.registry.spec_checks import spec_field_errors, spec_tier_errors, strict_json
from cegbench.spreadsheet import restore
from cegbench.tiers import TIERS

REQUIRED = ("run_id", "innovation", "arm", "tier", "tier_version", "budget", "width", "seed",
            "spec", "status", "declaration_hash")
REQUIRED_WHEN_OK = ("final_loss", "n_params", "flops_per_token", "tokens", "steps")
JSON_COLUMNS = ("spec", "recipe", "curve")
# Columns also found in the spec, which must agree with it.
SPEC_COLUMNS = ("innovation", "arm", "tier", "tier_version", "budget", "width", "seed",
                "learning_rate", "dataset", "declaration_hash")
MAX_TEXT = 1_000_000  # characters in one field
INT_RANGE = (-(2**63), 2**63 - 1)  # SQLite INTEGER


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
