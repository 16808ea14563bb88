"""The planner: innovations × arms × budgets × sizes × seeds → ``RunSpec``s.

A run is a pure function of its spec, and its id is a hash of the whole spec,
so a rerun of a sweep skips every run the registry already holds.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

from cegbench.components import Components
from cegbench.data import VOCAB_SIZE
from cegbench.innovations import Innovation, Recipe
from cegbench.tiers import Tier

ARMS = ("baseline", "modern")


@dataclass(frozen=True)
class RunSpec:
    """Everything that decides one training run's result."""

    innovation: str
    arm: str  # "baseline" or "modern"
    recipe: Recipe
    declaration_hash: str  # of the innovation declaration this run measures
    tier: str
    tier_version: int
    dataset: str
    budget: float  # training FLOPs
    width: int
    seed: int
    context: int
    batch_size: int
    learning_rate: float
    eval_points: int
    eval_tokens: int
    max_loss: float

    @property
    def run_id(self) -> str:
        blob = json.dumps(dataclasses.asdict(self), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:20]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RunSpec:
        return cls(**{**data, "recipe": Recipe(**data["recipe"])})


def plan_runs(innovations: list[Innovation], tier: Tier, components: Components) -> list[RunSpec]:
    """Every run of a tier for these innovations, smallest budgets first."""
    specs = []
    for budget in tier.budgets:
        for innovation in innovations:
            for arm in ARMS:
                recipe = innovation.recipe(arm)
                family = components.get("family", recipe.family)
                allocate = components.get("allocation", recipe.allocation)
                base_lr = components.get("optimizer", recipe.optimizer).base_lr
                for width in allocate(budget, tier, family, recipe, VOCAB_SIZE, components):
                    for seed in tier.seeds:
                        specs.append(RunSpec(
                            innovation=innovation.name,
                            arm=arm,
                            recipe=recipe,
                            declaration_hash=innovation.declaration_hash(),
                            tier=tier.name,
                            tier_version=tier.version,
                            dataset=tier.dataset,
                            budget=budget,
                            width=width,
                            seed=seed,
                            context=tier.context,
                            batch_size=tier.batch_size,
                            learning_rate=tier.learning_rate(base_lr, width),
                            eval_points=tier.eval_points,
                            eval_tokens=tier.eval_tokens,
                            max_loss=tier.max_loss,
                        ))
    return specs
