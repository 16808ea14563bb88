"""The planner: innovations × arms × budgets × sizes × seeds → ``RunSpec``s.

A run is a pure function of its spec, and its id is a hash of the whole spec,
so a rerun of a sweep skips every run the registry already holds.

``TrainSpec`` is what the trainer needs; ``RunSpec`` adds which innovation and
arm a measurement run belongs to. Learning-rate tuning runs (``cegbench.tuning``)
are bare ``TrainSpec``s: they belong to a recipe, shared by every innovation
that uses it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from cegbench.components import Components
from cegbench.data import VOCAB_SIZE
from cegbench.innovations import Innovation, Recipe
from cegbench.tiers import Tier

ARMS = ("baseline", "modern")


def spec_id(spec: dict) -> str:
    """The run id of a spec given as a dict (``TrainSpec.to_dict()``): a hash of all of it."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:20]


@dataclass(frozen=True)
class TrainSpec:
    """Everything that decides one training run's result."""

    recipe: Recipe
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
        return spec_id(self.to_dict())

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict):
        return cls(**{**data, "recipe": Recipe(**data["recipe"])})

    @classmethod
    def for_tier(cls, tier: Tier, **fields):
        """A spec with the tier's fixed settings; ``fields`` give the rest."""
        return cls(tier=tier.name, tier_version=tier.version, dataset=tier.dataset,
                   context=tier.context, batch_size=tier.batch_size, eval_points=tier.eval_points,
                   eval_tokens=tier.eval_tokens, max_loss=tier.max_loss, **fields)


@dataclass(frozen=True)
class RunSpec(TrainSpec):
    """A measurement run: one cell (budget, width, seed) of one arm of one innovation."""

    innovation: str
    arm: str  # "baseline" or "modern"
    declaration_hash: str  # of the innovation declaration this run measures


@dataclass(frozen=True)
class TunedRate:
    """A recipe's learning rate on a tier: ``learning_rate`` was chosen at ``width``."""

    learning_rate: float
    width: int


def widths_at(budget: float, tier: Tier, recipe: Recipe, components: Components) -> list[int]:
    """The widths the recipe's allocation rule trains at this budget."""
    family = components.get("family", recipe.family)
    allocate = components.get("allocation", recipe.allocation)
    return allocate(budget, tier, family, recipe, VOCAB_SIZE, components)


@dataclass(frozen=True)
class Cell:
    """One planned measurement of one arm, before its learning rate is known."""

    innovation: str
    arm: str
    recipe: Recipe
    declaration_hash: str
    tier: str
    tier_version: int
    budget: float
    width: int
    seed: int


def plan_cells(innovations: list[Innovation], tier: Tier, components: Components) -> list[Cell]:
    """Every (innovation, arm, budget, width, seed) of a tier, smallest budgets first."""
    return [
        Cell(innovation.name, arm, innovation.recipe(arm), innovation.declaration_hash(),
             tier.name, tier.version, budget, width, seed)
        for budget in tier.budgets
        for innovation in innovations
        for arm in ARMS
        for width in widths_at(budget, tier, innovation.recipe(arm), components)
        for seed in tier.seeds
    ]


def plan_runs(innovations: list[Innovation], tier: Tier, components: Components,
              rates: Mapping[Recipe, TunedRate]) -> list[RunSpec]:
    """Every run of a tier for these innovations, smallest budgets first.

    ``rates`` holds each recipe's tuned learning rate (``cegbench.tuning``);
    a run's rate is it, moved to the run's width by the tier's width rule.
    """
    specs = []
    for cell in plan_cells(innovations, tier, components):
        if cell.recipe not in rates:
            raise KeyError(f"innovation {cell.innovation!r}, arm {cell.arm!r}: its recipe has "
                           f"no tuned learning rate on tier {tier.name} v{tier.version}")
        rate = rates[cell.recipe]
        specs.append(RunSpec.for_tier(
            tier,
            innovation=cell.innovation,
            arm=cell.arm,
            recipe=cell.recipe,
            declaration_hash=cell.declaration_hash,
            budget=cell.budget,
            width=cell.width,
            seed=cell.seed,
            learning_rate=tier.learning_rate(rate.learning_rate, rate.width, cell.width),
        ))
    return specs


PACK_MAX_MEMBERS = 16  # runs in one pack at most
_PACK_FREE = ("seed", "learning_rate", "max_loss", "innovation", "arm", "declaration_hash")


def pack_key(spec: TrainSpec) -> str:
    """What runs must share to train as one pack (``cegbench.pack``): every spec field but
    the seed, the learning rate, the loss limit and which innovation and arm it measures."""
    shared = {k: v for k, v in spec.to_dict().items() if k not in _PACK_FREE}
    return json.dumps(shared, sort_keys=True)


def pack_groups(specs, max_members: int = PACK_MAX_MEMBERS) -> list[list[TrainSpec]]:
    """Specs grouped into packs of one shape, at most ``max_members`` each, in the order of
    each pack's first spec (so smallest budgets still come first). Pure: no training."""
    if max_members < 1:
        raise ValueError("max_members must be at least 1")
    groups: dict[str, list[TrainSpec]] = {}
    for spec in specs:
        groups.setdefault(pack_key(spec), []).append(spec)
    return [group[i:i + max_members] for group in groups.values()
            for i in range(0, len(group), max_members)]
