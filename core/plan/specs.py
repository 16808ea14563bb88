"""What a run is: ``TrainSpec`` (everything that decides one training run's result),
``RunSpec`` (a measurement run: a ``TrainSpec`` of one arm of one innovation), their ids,
and what runs share (a training, a pack).

A run is a pure function of its spec, and its id is a hash of the whole spec,
so a rerun of a sweep skips every run the registry already holds. Learning-rate
tuning runs (``cegbench.plan.tuning``) are bare ``TrainSpec``s: they belong to a
recipe, shared by every innovation that uses it. What a tier plans is
``cegbench.plan.cells``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from cegbench.components import Components
from cegbench.hashing import content_hash
from cegbench.innovations import Recipe
from cegbench.tiers import Tier


def spec_id(spec: dict) -> str:
    """The run id of a spec given as a dict (``TrainSpec.to_dict()``): a hash of all of it."""
    return content_hash(spec, 20)


def training_id(spec: dict, components: Components) -> str | None:
    """What a run trains, whichever innovation and arm it measures: a hash of the bare
    ``TrainSpec`` inside the spec (given as a dict), its recipe as trained — as its
    family builds the model of the run's width (``ModelFamily.as_trained``: GQA with one
    key/value head is MQA), without the allocation (it picks the widths, and the width is
    in the spec). Measurement runs with one training id (same model, tier, budget, seed,
    learning rate…) train identically, so one training serves them all
    (``cegbench.sweep``). None for a run of a family not loaded now: which of its recipes
    build the same model is the family's to say. Stored with each run when it is recorded
    (``runs.training_id``)."""
    recipe, families = Recipe(**spec["recipe"]), components["family"]
    if recipe.family not in families:
        return None
    trained = dataclasses.replace(families.get(recipe.family).as_trained(recipe, spec["width"]),
                                  allocation="")
    return spec_id({**{name: spec[name] for name in TRAIN_FIELDS}, "recipe": dataclasses.asdict(trained)})


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


TRAIN_FIELDS = tuple(f.name for f in dataclasses.fields(TrainSpec))


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


PACK_MAX_MEMBERS = 16  # runs in one pack at most
_PACK_FREE = ("seed", "learning_rate", "max_loss", "innovation", "arm", "declaration_hash")


def pack_key(spec: TrainSpec) -> str:
    """What runs must share to train as one pack (``cegbench.train.pack``): every spec field but
    the seed, the learning rate, the loss limit and which innovation and arm it measures."""
    shared = {k: v for k, v in spec.to_dict().items() if k not in _PACK_FREE}
    return content_hash(shared, 64)


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
