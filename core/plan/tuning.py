"""Fair learning-rate tuning: one protocol and one search budget for every recipe.

A CEG against an under-tuned baseline measures nothing, so no rate is picked by
hand. For each distinct recipe on a tier version (tier fields in brackets):

1. train at the tier's smallest budget, at the middle width of the widths the
   recipe's allocation rule trains there, on the tuning seed [``tuning_seed``],
   which is never a measurement seed, once per rate
   ``optimizer.base_lr × m`` for ``m`` in [``lr_multipliers``];
2. choose the rate with the lowest final held-out loss (failed runs, e.g.
   diverged ones, are out; a tie goes to the multiplier nearest 1), and flag a
   choice at the edge of the grid, where the best rate may lie outside it;
3. while the choice is at an edge of the grid, add the next rate beyond it (one grid
   step further) and choose again, at most [``lr_extension``] times: the best rate is
   then inside the grid, or the edge is flagged;
4. every run of the recipe on the tier then uses
   ``lr(width) = lr* × (tuned width / width) ** [lr_width_exponent]``.

A tuning is keyed by recipe + tier + tier version, not by innovation: the
innovations sharing a recipe (the default Transformer is many baselines) share
one tuning, and a new plugin's recipes are tuned the first time they are run.
The driver (``cegbench run``) runs the tuning specs through the same executor
as measurement runs and stores them, and the choice, in the registry.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cegbench.components import Components
from cegbench.hashing import content_hash
from cegbench.innovations import Recipe
from cegbench.plan.cells import widths_at
from cegbench.plan.specs import TrainSpec, TunedRate
from cegbench.tiers import Tier

SELECTION = "lowest final held-out loss; failed runs excluded; ties to the multiplier nearest 1"


class TuningError(RuntimeError):
    """No rate of a recipe's sweep trained successfully."""


def recipe_key(recipe: Recipe) -> str:
    """A stable hash of a recipe, the registry's key for its tuning."""
    return content_hash(dataclasses.asdict(recipe), 16)


def recipe_label(recipe: Recipe) -> str:
    """A recipe by how it differs from the default one, e.g. "activation=swiglu"."""
    changes = Recipe().differences(recipe)
    return ", ".join(f"{name}={value}" for name, (_, value) in changes.items()) or "default recipe"


@dataclass(frozen=True)
class Sweep:
    """The tuning runs of one recipe on one tier version."""

    recipe: Recipe
    multipliers: tuple[float, ...]
    specs: tuple[TrainSpec, ...]  # one per multiplier, in the same order
    protocol: dict  # every parameter of the protocol, stored with the choice


@dataclass(frozen=True)
class Choice:
    """The learning rate a sweep chose, and the evidence."""

    recipe: Recipe
    rate: TunedRate
    multiplier: float
    final_loss: float
    at_edge: bool  # the best rate is the smallest or largest tried
    run_ids: tuple[str, ...]  # every run of the sweep
    protocol: dict


def _tuning_spec(recipe: Recipe, tier: Tier, width: int, learning_rate: float) -> TrainSpec:
    return TrainSpec.for_tier(tier, recipe=recipe, budget=tier.budgets[0], width=width,
                              seed=tier.tuning_seed, learning_rate=learning_rate)


def plan_sweep(recipe: Recipe, tier: Tier, components: Components) -> Sweep:
    budget = tier.budgets[0]
    widths = widths_at(budget, tier, recipe, components)
    width = widths[len(widths) // 2]
    base_lr = components.get("optimizer", recipe.optimizer).base_lr
    specs = tuple(_tuning_spec(recipe, tier, width, base_lr * m) for m in tier.lr_multipliers)
    protocol = {"budget": budget, "width": width, "seed": tier.tuning_seed, "base_lr": base_lr,
                "multipliers": list(tier.lr_multipliers), "extension": tier.lr_extension,
                "width_exponent": tier.lr_width_exponent, "selection": SELECTION}
    return Sweep(recipe, tuple(tier.lr_multipliers), specs, protocol)


def extended(sweep: Sweep, choice: Choice, tier: Tier) -> Sweep | None:
    """``sweep`` with one more rate beyond the edge of its grid that ``choice`` sits at, a
    grid step (the ratio of the two outermost rates there) further; None when the choice
    is inside the grid or the sweep already holds ``tier.lr_extension`` added rates."""
    multipliers = sorted(sweep.multipliers)
    if not choice.at_edge or len(multipliers) - len(tier.lr_multipliers) >= tier.lr_extension:
        return None
    if choice.multiplier == multipliers[-1]:
        multiplier = multipliers[-1] ** 2 / multipliers[-2]
    else:
        multiplier = multipliers[0] ** 2 / multipliers[1]
    spec = _tuning_spec(sweep.recipe, tier, sweep.protocol["width"], sweep.protocol["base_lr"] * multiplier)
    protocol = {**sweep.protocol, "multipliers": [*sweep.protocol["multipliers"], multiplier]}
    return Sweep(sweep.recipe, (*sweep.multipliers, multiplier), (*sweep.specs, spec), protocol)


def plan_sweeps(recipes: Iterable[Recipe], tier: Tier, components: Components) -> list[Sweep]:
    """One sweep per distinct recipe, in first-seen order."""
    return [plan_sweep(recipe, tier, components) for recipe in dict.fromkeys(recipes)]


def choose(sweep: Sweep, losses: Mapping[str, float | None]) -> Choice:
    """Pick the sweep's rate from its runs' final held-out losses (``None``: failed).

    Raises ``TuningError`` when no run succeeded, and ``KeyError`` when a run
    has no result yet.
    """
    tried = [(losses[spec.run_id], m, spec) for m, spec in zip(sweep.multipliers, sweep.specs)]
    ok = [t for t in tried if t[0] is not None and math.isfinite(t[0])]
    if not ok:
        raise TuningError(f"every learning rate of the sweep failed for recipe "
                          f"[{recipe_label(sweep.recipe)}] "
                          f"(multipliers {list(sweep.multipliers)} × {sweep.protocol['base_lr']:g})")
    loss, multiplier, spec = min(ok, key=lambda t: (t[0], abs(math.log(t[1]))))
    return Choice(
        recipe=sweep.recipe,
        rate=TunedRate(learning_rate=spec.learning_rate, width=spec.width),
        multiplier=multiplier,
        final_loss=loss,
        at_edge=len(sweep.multipliers) > 1 and multiplier in (min(sweep.multipliers),
                                                                max(sweep.multipliers)),
        run_ids=tuple(spec.run_id for spec in sweep.specs),
        protocol=sweep.protocol,
    )
