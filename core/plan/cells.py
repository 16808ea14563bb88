"""The planner: innovations × arms × budgets × sizes × seeds → cells, and cells → ``RunSpec``s.

``plan_cells`` is the tier's plan; ``planned_cells`` adds the ladder rungs the results so
far call for and checks how often the largest run repeats the data; ``run_specs`` gives
each cell its tuned learning rate. The sweep plans through ``planned_cells`` alone (and
``cegbench status`` asks the sweep), so what is counted is what is run.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cegbench.components import Components
from cegbench.data.names import VOCAB_SIZE, training_tokens
from cegbench.innovations import ARMS, Innovation, Recipe
from cegbench.plan.specs import RunSpec, TunedRate
from cegbench.tiers import Tier


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
    round (``cegbench.sweep.run``). Ladders of fewer than 3 widths (an allocation rule that
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
    most = tier.max_epochs * (available if available is not None else training_tokens(tier.dataset))
    return lambda cell: run_tokens(cell, tier, components) <= most


def planned_cells(innovations: list[Innovation], tier: Tier, components: Components,
                  mean_loss: Mapping[tuple, float] | None = None, *, available: int | None = None,
                  check_repetition: bool = True) -> list[Cell]:
    """What a sweep trains now: the tier's plan (``plan_cells``) and the ladder rungs the
    results so far call for (``extend_ladders``; ``mean_loss`` by (innovation, arm, budget,
    width)), none that would repeat the data more than the tier allows (``available``: the
    dataset's training tokens, read when not given). Raises ``RepetitionError`` when the
    plan's largest run repeats it anyway, unless ``check_repetition`` is False (``cegbench
    status`` shows such a plan rather than refusing it)."""
    cells = plan_cells(innovations, tier, components, check_repetition=check_repetition)
    if mean_loss:
        cells = extend_ladders(cells, tier, mean_loss, allowed=within_epochs(tier, components, available))
        if check_repetition:
            guard_repetition(cells, tier, components, available)
    return cells


def run_specs(cells: list[Cell], tier: Tier, rates: Mapping[Recipe, TunedRate]) -> list[RunSpec]:
    """A ``RunSpec`` per cell, in order: ``rates`` holds each recipe's tuned learning rate
    (``cegbench.plan.tuning``); a run's rate is it, moved to the run's width by the tier's
    width rule."""
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


def plan_runs(innovations: list[Innovation], tier: Tier, components: Components,
              rates: Mapping[Recipe, TunedRate],
              mean_loss: Mapping[tuple, float] | None = None) -> list[RunSpec]:
    """Every run of a tier for these innovations, smallest budgets first, with the ladder
    rungs the results so far call for: ``run_specs(planned_cells(...), tier, rates)``."""
    return run_specs(planned_cells(innovations, tier, components, mean_loss), tier, rates)


def tokens_by_budget(cells: list[Cell], tier: Tier, components: Components) -> list[Repetition]:
    """Per budget, smallest first: the run needing the most training tokens."""
    by_budget: dict[float, list[Cell]] = {}
    for cell in cells:
        by_budget.setdefault(cell.budget, []).append(cell)
    largest = [largest_run(group, tier, components) for _, group in sorted(by_budget.items())]
    return largest
