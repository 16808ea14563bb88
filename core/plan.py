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
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cegbench.components import Components
from cegbench.data import VOCAB_SIZE
from cegbench.hashing import content_hash
from cegbench.innovations import ARMS, Innovation, Recipe
from cegbench.tiers import Tier


def spec_id(spec: dict) -> str:
    """The run id of a spec given as a dict (``TrainSpec.to_dict()``): a hash of all of it."""
    return content_hash(spec, 20)


def training_id(spec: dict, components: Components) -> str:
    """What a run trains, whichever innovation and arm it measures: a hash of the bare
    ``TrainSpec`` inside the spec (given as a dict), its recipe as trained — as its
    family builds the model of the run's width (``ModelFamily.as_trained``: GQA with one
    key/value head is MQA), without the allocation (it picks the widths, and the width is
    in the spec). Measurement runs with one training id (same model, tier, budget, seed,
    learning rate…) train identically, so one training serves them all
    (``cegbench.sweep``). A run of a family not loaded now keeps its recipe as it is."""
    recipe, families = Recipe(**spec["recipe"]), components["family"]
    if recipe.family in families:
        recipe = families.get(recipe.family).as_trained(recipe, spec["width"])
    trained = dataclasses.replace(recipe, allocation="")
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


def plan_cells(innovations: list[Innovation], tier: Tier, components: Components,
               check_repetition: bool = True) -> list[Cell]:
    """Every (innovation, arm, budget, width, seed) of a tier, smallest budgets first.

    Raises ``RepetitionError`` when a run would train on more than ``tier.max_epochs``
    epochs of the tier's dataset (unless ``check_repetition`` is False).
    """
    cells = [
        Cell(innovation.name, arm, innovation.recipe(arm), innovation.declaration_hash(),
             tier.name, tier.version, budget, width, seed)
        for budget in tier.budgets
        for innovation in innovations
        for arm in ARMS
        for width in widths_at(budget, tier, innovation.recipe(arm), components)
        for seed in tier.seeds_at(budget)
    ]
    if check_repetition and cells:
        guard_repetition(cells, tier, components)
    return cells


def extend_ladders(cells: list[Cell], tier: Tier, mean_loss: Mapping[tuple, float],
                   allowed: Callable[[Cell], bool] = lambda cell: True) -> list[Cell]:
    """``cells`` and the rungs the results so far call for: where a ladder's (innovation,
    arm, budget) lowest mean final loss (``mean_loss`` by (innovation, arm, budget,
    width), over its recorded ok runs) sits at its smallest or largest width, the next
    width of the tier's grid beyond that edge, for every seed, up to
    ``tier.ladder_extension`` widths beyond the planned ladder on each side. A ladder
    extends only once each of its widths has a result, so a sweep adds rungs round by
    round (``cegbench.sweep``). Ladders of fewer than 3 widths (an allocation rule that
    prescribes one size) never extend, and none extends to a cell ``allowed`` refuses
    (``plan_runs``: one that would repeat the data more than the tier allows)."""
    ladders: dict[tuple, list[Cell]] = {}
    for cell in cells:
        ladders.setdefault((cell.innovation, cell.arm, cell.budget), []).append(cell)
    grid = sorted(tier.widths)
    added = []
    for (innovation, arm, budget), group in ladders.items():
        planned = sorted({cell.width for cell in group})
        if len(planned) < 3:
            continue
        widths = list(planned)
        while True:
            losses = [mean_loss.get((innovation, arm, budget, w)) for w in widths]
            if any(loss is None for loss in losses):
                break
            lowest = widths[losses.index(min(losses))]
            side = -1 if lowest == widths[0] else 1 if lowest == widths[-1] else 0
            added_on_side = sum(w < planned[0] if side < 0 else w > planned[-1] for w in widths)
            if side == 0 or added_on_side >= tier.ladder_extension:
                break
            candidates = [w for w in grid if (w < widths[0] if side < 0 else w > widths[-1])]
            if not candidates:
                break
            width = candidates[-1] if side < 0 else candidates[0]
            rung = [dataclasses.replace(group[0], width=width, seed=seed) for seed in tier.seeds_at(budget)]
            if not allowed(rung[0]):
                break
            widths = sorted(widths + [width])
            added += rung
    return cells + added


# -------------------------------------------------------------------------
# repetition: how many times a run goes over its training data


class RepetitionError(ValueError):
    """A tier's runs would repeat its dataset more often than the tier allows."""


def run_tokens(cell, tier: Tier, components: Components) -> int:
    """Training tokens of a cell's run: the trainer's step count, from the analytic FLOPs
    per token (the measured count, which the trainer uses, is within 10 % of it)."""
    family = components.get("family", cell.recipe.family)
    per_token = family.flops_per_token(cell.recipe, cell.width, VOCAB_SIZE, tier.context,
                                       components)
    tokens_per_step = tier.batch_size * tier.context
    return max(1, round(cell.budget / (per_token * tokens_per_step))) * tokens_per_step


@dataclass(frozen=True)
class Repetition:
    """The largest run of a plan and how often it sees the training data."""

    cell: Cell
    tokens: int  # it trains on
    available: int  # training tokens of the tier's dataset

    @property
    def epochs(self) -> float:
        return self.tokens / self.available


def largest_run(cells: list[Cell], tier: Tier, components: Components,
                available: int | None = None) -> Repetition:
    """The run of ``cells`` with the most training tokens, against the dataset's."""
    from cegbench.data import training_tokens

    tokens = {}
    for cell in cells:
        key = (cell.recipe, cell.width, cell.budget)
        if key not in tokens:
            tokens[key] = (run_tokens(cell, tier, components), cell)
    most, cell = max(tokens.values(), key=lambda pair: pair[0])
    return Repetition(cell, most, available if available is not None
                      else training_tokens(tier.dataset))


def guard_repetition(cells: list[Cell], tier: Tier, components: Components,
                     available: int | None = None) -> Repetition:
    """Raise ``RepetitionError`` when the largest run exceeds the tier's ``max_epochs``."""
    largest = largest_run(cells, tier, components, available)
    if largest.epochs > tier.max_epochs:
        cell = largest.cell
        needed = math.ceil(largest.tokens / tier.max_epochs)
        raise RepetitionError(
            f"tier {tier.name} v{tier.version}: its largest run ({cell.innovation} {cell.arm}, "
            f"budget {cell.budget:.3g} FLOPs, width {cell.width}) needs {largest.tokens:,} "
            f"training tokens, {largest.epochs:.2f} epochs of dataset {tier.dataset!r} "
            f"({largest.available:,} training tokens), and the tier allows at most "
            f"{tier.max_epochs:g}: use a dataset of at least {needed:,} training tokens")
    return largest


def within_epochs(tier: Tier, components: Components,
                  available: int | None = None) -> Callable[[Cell], bool]:
    """Whether a cell's run trains on at most the tier's ``max_epochs`` of its dataset
    (``available`` training tokens, read from the dataset when not given)."""
    from cegbench.data import training_tokens

    most = tier.max_epochs * (available if available is not None else training_tokens(tier.dataset))
    return lambda cell: run_tokens(cell, tier, components) <= most


def plan_runs(innovations: list[Innovation], tier: Tier, components: Components,
              rates: Mapping[Recipe, TunedRate],
              mean_loss: Mapping[tuple, float] | None = None) -> list[RunSpec]:
    """Every run of a tier for these innovations, smallest budgets first, with the ladder
    rungs the results so far call for (``extend_ladders``; ``mean_loss`` by (innovation,
    arm, budget, width)).

    ``rates`` holds each recipe's tuned learning rate (``cegbench.tuning``);
    a run's rate is it, moved to the run's width by the tier's width rule.
    """
    cells = plan_cells(innovations, tier, components)
    if mean_loss:
        cells = extend_ladders(cells, tier, mean_loss, allowed=within_epochs(tier, components))
        guard_repetition(cells, tier, components)
    specs = []
    for cell in cells:
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


def tokens_by_budget(cells: list[Cell], tier: Tier, components: Components) -> list[Repetition]:
    """Per budget, smallest first: the run needing the most training tokens."""
    by_budget: dict[float, list[Cell]] = {}
    for cell in cells:
        by_budget.setdefault(cell.budget, []).append(cell)
    largest = [largest_run(group, tier, components) for _, group in sorted(by_budget.items())]
    return largest


PACK_MAX_MEMBERS = 16  # runs in one pack at most
_PACK_FREE = ("seed", "learning_rate", "max_loss", "innovation", "arm", "declaration_hash")


def pack_key(spec: TrainSpec) -> str:
    """What runs must share to train as one pack (``cegbench.pack``): every spec field but
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
