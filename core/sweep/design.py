"""Designing a tier by the calibrated simulator: a ``Tier`` and the catalogue as numbers,
and what the catalogue would cost on it.

``tier_design(tier, catalog)`` turns a tier into the ``analysis.simulate_tier.TierDesign``
the simulator draws on: the ladders the planner gives every arm at every budget
(``plan.plan_cells``, the allocation rules included), each recipe's parameters and
analytic FLOPs per token at every width of the grid, the tokens a step trains, the data
limit. ``catalogue_cost(design, runs)`` estimates the wall time of the whole catalogue on
2 cores from the seconds per step the published runs recorded (``runs``: a tier's runs
with ``train_time_s``), the trainings the sweep would do (runs that train the same model
train once, ``ModelFamily.as_trained``), the learning-rate tuning runs, and a factor for
a quiet machine.

A wiring module (like ``sweep``): it reads the plugin stage and the planner and hands
plain numbers to the analysis.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cegbench.analysis.calibrate import recipe_key
from cegbench.analysis.simulate_tier import TierDesign
from cegbench.data.names import VOCAB_SIZE, training_tokens
from cegbench.plan.cells import plan_cells
from cegbench.tiers import Tier

# The published cpu v3 sweep's run times were recorded under load; 49 of its runs re-timed
# alone on the machine took ×0.84 [0.76, 0.93] of their recorded time, two at a time at 97 %
# use of the 2 cores (leaderboard/README.md, tests/benchmarks/bench_catalogue_cost.py).
QUIET_FACTOR = 0.84
CORE_USE = 0.97
CORES = 2
# v3 tuned 24 recipes in 127 runs: 5 multipliers each and the grid's extension where the
# best rate sat at an edge (docs/tuning.md)
TUNING_RUNS_PER_RECIPE = 127 / 24


def _trained_key(recipe, width: int, components) -> str:
    """What a run of ``recipe`` at ``width`` trains (``ModelFamily.as_trained``), as a key."""
    family = components.get("family", recipe.family)
    return recipe_key(dataclasses.asdict(family.as_trained(recipe, width)))


def tier_design(tier: Tier, catalog, *, available_tokens: int | None = None, name: str | None = None) -> TierDesign:
    """The ``TierDesign`` of ``tier`` for the catalogue's innovations (``available_tokens``:
    the dataset's training tokens, read from the dataset when not given)."""

    components = catalog.components
    innovations = [catalog.innovations.get(n) for n in catalog.innovations]
    cells = plan_cells(innovations, tier, components, check_repetition=False)
    ladders: dict = {}
    recipes = {}
    for cell in cells:
        key = recipe_key(dataclasses.asdict(cell.recipe))
        recipes[key] = cell.recipe
        ladders.setdefault((cell.innovation, cell.arm, key, cell.budget), set()).add(cell.width)
    plans = pd.DataFrame([(i, a, r, b, tuple(sorted(w))) for (i, a, r, b), w in ladders.items()],
                         columns=["innovation", "arm", "recipe", "budget", "widths"])
    sizes = []
    for key, recipe in recipes.items():
        family = components.get("family", recipe.family)
        for width in tier.widths:
            sizes.append((key, width, family.n_params(recipe, width, VOCAB_SIZE, tier.context, components),
                          family.flops_per_token(recipe, width, VOCAB_SIZE, tier.context, components),
                          _trained_key(recipe, width, components)))
    available = available_tokens if available_tokens is not None else training_tokens(tier.dataset)
    return TierDesign(
        name=name or f"{tier.name} v{tier.version}", budgets=tuple(tier.budgets),
        seeds=tuple(len(tier.seeds_at(b)) for b in tier.budgets), tokens_per_step=tier.batch_size * tier.context,
        widths=tuple(tier.widths),
        plans=plans, sizes=pd.DataFrame(sizes, columns=["recipe", "width", "n_params", "flops_per_token", "trained"]),
        ladder_extension=tier.ladder_extension, max_tokens=tier.max_epochs * available, margin=tier.margin,
        headline_compute=tier.headline_compute)


@dataclass(frozen=True)
class Cost:
    """The catalogue's estimated wall time on ``CORES`` quiet cores."""

    hours: float  # trainings + tuning, on 2 quiet cores
    training_hours: float
    tuning_hours: float
    trainings: int  # distinct trainings (runs that train the same model once)
    core_hours_by_budget: dict  # budget -> core-hours of its trainings (quiet)

    def row(self) -> dict:
        return {"hours": round(self.hours, 2), "trainings": self.trainings,
                "tuning h": round(self.tuning_hours, 2),
                **{f"{b:.2g}": round(h, 2) for b, h in self.core_hours_by_budget.items()}}


def seconds_per_step(runs: pd.DataFrame, tokens_per_step: int) -> dict:
    """Per recipe key: (intercept, slope) of ln(seconds per step) against ln(FLOPs per step)
    over the runs' recorded training times (a recipe with runs at one size only gets the
    slope of all recipes), for runs that trained ``tokens_per_step`` tokens a step."""
    runs = runs[(runs["status"] == "ok") & runs["train_time_s"].notna() & (runs["steps"] > 0)].copy()
    if "trained_as" in runs.columns:
        runs = runs[runs["trained_as"].isna()]  # a copy kept the time of the run that trained
    runs = runs[(runs["tokens"] / runs["steps"]).round() == tokens_per_step]
    runs["key"] = [recipe_key(r) for r in runs["recipe"]]
    x = np.log(runs["flops_per_token"] * tokens_per_step)
    y = np.log(runs["train_time_s"] / runs["steps"])
    common_slope = float(np.polyfit(x, y, 1)[0])
    fits = {}
    for key, group in runs.groupby("key"):
        gx, gy = x[group.index], y[group.index]
        if gx.nunique() >= 2:
            slope, intercept = np.polyfit(gx, gy, 1)
        else:
            slope, intercept = common_slope, float(np.mean(gy - common_slope * gx))
        fits[key] = (float(intercept), float(slope))
    fits["*"] = (float(np.mean(y - common_slope * x)), common_slope)
    return fits


def catalogue_cost(design: TierDesign, runs: pd.DataFrame, *, extension_rungs: float = 0.0,
                   lr_runs_per_recipe: float = TUNING_RUNS_PER_RECIPE, quiet: float = QUIET_FACTOR) -> Cost:
    """Wall hours of the whole catalogue on ``design``: every distinct training (recipe as
    trained, budget, width, seed) at the seconds per step the published ``runs`` recorded
    for its recipe and FLOPs per step (``seconds_per_step``), plus ``extension_rungs``
    per ladder trained on average (the simulator's count; each costs a rung of its
    ladder's budget at that ladder's mean rung time), plus tuning runs at the smallest budget, ×
    ``quiet``, run ``CORES`` at a time at ``CORE_USE``."""
    speed = seconds_per_step(runs, design.tokens_per_step)
    sizes = {(r.recipe, int(r.width)): r for r in design.sizes.itertuples()}

    def seconds(recipe: str, width: int, budget: float) -> float:
        row = sizes[(recipe, width)]
        intercept, slope = speed.get(recipe, speed["*"])
        per_step = math.exp(intercept + slope * math.log(row.flops_per_token * design.tokens_per_step))
        return per_step * design.steps(recipe, width, budget)

    trainings, by_budget, rung_seconds = {}, {}, {}
    for plan in design.plans.itertuples():
        for width in plan.widths:
            for seed in range(design.seeds_at(plan.budget)):
                key = (sizes[(plan.recipe, width)].trained, plan.budget, width, seed)
                if key not in trainings:
                    trainings[key] = seconds(plan.recipe, width, plan.budget)
                    by_budget[plan.budget] = by_budget.get(plan.budget, 0.0) + trainings[key]
        # a rung of this ladder, all its seeds: what an extension adds (once per ladder trained)
        ladder = (sizes[(plan.recipe, plan.widths[len(plan.widths) // 2])].trained, plan.budget)
        rung_seconds[ladder] = (np.mean([seconds(plan.recipe, w, plan.budget) for w in plan.widths])
                                * design.seeds_at(plan.budget))
    extension = extension_rungs * sum(rung_seconds.values())
    smallest = min(design.budgets)
    tuning = 0.0
    tuned = {sizes[(p.recipe, p.widths[len(p.widths) // 2])].trained: (p.recipe, p.widths[len(p.widths) // 2])
             for p in design.plans.itertuples() if p.budget == smallest}
    for recipe, width in tuned.values():
        tuning += lr_runs_per_recipe * seconds(recipe, width, smallest)
    wall = quiet / (CORES * CORE_USE) / 3600
    training = (sum(trainings.values()) + extension) * wall
    return Cost(training + tuning * wall, training, tuning * wall, len(trainings),
                {b: h * quiet / 3600 for b, h in sorted(by_budget.items())})

