"""A run's spec, checked as strictly as the row that carries it (``cegbench import``).

The run id is the hash of the spec, so a forged spec hashes as well as a true one: the
hash proves only that row and spec agree. So the spec is parsed strictly (no NaN,
infinity or repeated key, which the hash would hide), must hold every ``RunSpec`` field
and no other, each of its JSON type, and is the tier's spec: on the tier's current
version every setting the tier fixes is the tier's, and under the innovation's current
declaration the recipe is the declared arm's, as a trained run's is. docs/import-format.md
("The spec") is the reference.
"""

from __future__ import annotations

import dataclasses
import json
import math

from cegbench.innovations import DeclarationError, Recipe, validate_recipe
from cegbench.plan.specs import RunSpec
from cegbench.tiers import TIERS

# Every field of a run's spec and its JSON type (a float field must be written as one:
# the run id hashes the spec as written, and 250000000 is not 250000000.0 there)
SPEC_TYPES = {f.name: {"str": str, "int": int, "float": float, "Recipe": dict}[f.type]
              for f in dataclasses.fields(RunSpec)}
RECIPE_TYPES = {f.name: {"str": str, "bool": bool}[f.type] for f in dataclasses.fields(Recipe)}
# The spec fields a tier fixes: on its current version they must be the tier's own
TIER_FIXED = ("dataset", "context", "batch_size", "eval_points", "eval_tokens", "max_loss")


def reject_constant(name: str):
    raise ValueError(f"{name} is not a number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is not a finite number")
    return value


def unique_keys(pairs: list[tuple]) -> dict:
    keys = [key for key, _ in pairs]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise ValueError(f"key(s) {', '.join(map(repr, repeated))} given twice")
    return dict(pairs)


def strict_json(text: str):
    """A JSON column of an imported row, parsed strictly: no NaN or infinity (nor a
    number too large for a float), no key given twice in one object."""
    return json.loads(text, parse_constant=reject_constant, parse_float=_finite_float,
                      object_pairs_hook=unique_keys)


def spec_field_errors(spec: dict) -> list[str]:
    """Every ``RunSpec`` field present with its JSON type, no other; the recipe likewise."""
    errors = [f"spec: missing field(s) {', '.join(sorted(set(SPEC_TYPES) - set(spec)))}"
              ] if set(SPEC_TYPES) - set(spec) else []
    if unknown := sorted(set(spec) - set(SPEC_TYPES), key=str):
        errors.append(f"spec: unknown field(s) {', '.join(map(repr, unknown[:5]))}")
    for name, kind in SPEC_TYPES.items():
        if name in spec and not _is(spec[name], kind):
            errors.append(f"spec.{name}: must be a JSON {_json_type(kind)}, got {_show(spec[name])}")
    recipe = spec.get("recipe")
    if errors or not isinstance(recipe, dict):
        return errors
    if missing := sorted(set(RECIPE_TYPES) - set(recipe)):
        errors.append(f"spec.recipe: missing field(s) {', '.join(missing)}")
    if unknown := sorted(set(recipe) - set(RECIPE_TYPES), key=str):
        errors.append(f"spec.recipe: unknown field(s) {', '.join(map(repr, unknown[:5]))}")
    if not errors:
        try:
            validate_recipe("spec.recipe", Recipe(**recipe))
        except DeclarationError as error:
            errors.append(str(error))
    return errors


def _is(value, kind: type) -> bool:
    if kind is float:
        return isinstance(value, float)
    return isinstance(value, kind) and (kind is bool or not isinstance(value, bool))


def _json_type(kind: type) -> str:
    return {str: "string", int: "integer", float: "number with a decimal point or exponent "
            "(e.g. 250000000.0)", dict: "object"}[kind]


def spec_tier_errors(spec: dict, innovation: dict) -> list[str]:
    """A well-formed spec (``spec_field_errors`` found nothing) against its tier's settings,
    on the tier's current version, and, under the innovation's current declaration
    (``innovation``: its ``innovations`` row), against the declared arm's recipe."""
    errors = []
    tier = TIERS.get(spec["tier"])
    if spec["tier_version"] == tier.version:
        errors += [f"spec.{name}: {_show(spec[name])} is not tier {tier.name} v{tier.version}'s "
                   f"{name} {_show(getattr(tier, name))}; a run of the tier trains with its settings"
                   for name in TIER_FIXED if spec[name] != getattr(tier, name)]
    if spec["declaration_hash"] == innovation["declaration_hash"]:
        declared = json.loads(innovation[spec["arm"]])
        if spec["recipe"] != declared:
            fields = sorted(k for k in declared if spec["recipe"].get(k) != declared[k])
            errors.append(f"spec.recipe: differs from the {spec['arm']} recipe that "
                          f"{spec['innovation']}'s current declaration {spec['declaration_hash']!r} "
                          f"declares (field(s) {', '.join(fields)})")
    return errors


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
