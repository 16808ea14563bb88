"""What a tier's real runs say about measuring on it: its noise, its valleys, its recipes.

Every function here reads a tier's runs — all innovations at once, as the registry or an
export holds them (columns innovation, arm, recipe, budget, width, n_params, seed,
final_loss, steps, tokens; optionally status, not_learned, run_id, trained_as) — and
computes, never assumes:

* ``training_cells``: one row per trained cell (recipe, budget, width) with its seeds'
  losses: failed runs and runs that did not learn left out, copies of a shared training
  (``trained_as``) counted once, and cells of different recipes with the same final
  losses to the bit (models built alike, e.g. GQA with one key/value head and MQA: the
  site's rule for shared trainings) marked ``built_alike``, so that the noise model
  counts them once (``noise_cells``) while each recipe's valleys keep them;
* ``fit_tier_model``: the ``TierModel`` a robust analysis resamples from — the tier's
  seed-noise model (``noise.fit_noise_model``) and its valleys' asymmetry
  (``valley.fit_valleys``);
* ``calibrate``: everything the calibrated simulator (``simulate_tier``) needs besides
  the tier's design: the tier model, each recipe's truth (its frontier as a pure power
  law through its valleys' optima, its optimal size as a power of the budget, its
  valley curvature) and each innovation's arms (recipes, allocation, how correlated
  their seed noise is, and each arm's frontier as the analysis measured it — the law
  the simulator plants for it, so that the simulated catalogue has the real one's gains
  and drifts).

A recipe is named by its JSON without the allocation rule (``recipe_key``): the
allocation decides which widths are trained, not what a width trains.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .frontier import ARMS
from .noise import NoiseModel, fit_noise_model
from .valley import REFERENCE_BUDGET, ValleyFit, ValleyLadder, fit_valleys

CALIBRATION_COLUMNS = ("innovation", "arm", "recipe", "budget", "width", "n_params", "seed", "final_loss", "steps",
                       "tokens")


class CalibrationError(ValueError):
    """The runs cannot calibrate a model; the message says which column or cell."""


def recipe_key(recipe) -> str:
    """A recipe's name for what it trains: its JSON (sorted keys) without ``allocation``."""
    fields = json.loads(recipe) if isinstance(recipe, str) else dict(recipe)
    fields.pop("allocation", None)
    return json.dumps(fields, sort_keys=True)


def allocation_of(recipe) -> str:
    fields = json.loads(recipe) if isinstance(recipe, str) else dict(recipe)
    return str(fields.get("allocation", "isoflop"))


def _usable(runs: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in CALIBRATION_COLUMNS if c not in runs.columns]
    if missing:
        raise CalibrationError(f"runs lack column(s) {', '.join(missing)} (a tier's runs as the registry "
                               "or an export holds them)")
    runs = runs.copy()
    if "status" in runs.columns:
        runs = runs[runs["status"] == "ok"]
    if "not_learned" in runs.columns:
        runs = runs[runs["not_learned"].isna()]
    if "trained_as" in runs.columns and "run_id" in runs.columns:  # a shared training once
        runs = runs.assign(training=runs["trained_as"].fillna(runs["run_id"])).drop_duplicates("training")
    return runs.assign(recipe=[recipe_key(r) for r in runs["recipe"]])


def training_cells(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per trained cell: recipe (``recipe_key``), budget, width, n_params, steps,
    tokens, losses (a tuple of its seeds' final losses, by seed), n_seeds, estimate (their
    median). See the module doc for what is left out and counted once."""
    # one training per (recipe, budget, width, seed): arms of another allocation train the
    # recipe's own cells (kaplan-to-chinchilla's runs are the default recipe's)
    runs = _usable(runs).drop_duplicates(["recipe", "budget", "width", "seed"])
    rows, seen = [], set()
    for (recipe, budget, width), group in runs.groupby(["recipe", "budget", "width"], sort=True):
        group = group.sort_values("seed")
        losses = tuple(float(x) for x in group["final_loss"])
        alike = (float(budget), int(width), int(group["n_params"].iloc[0]), tuple(sorted(losses)))
        rows.append({"recipe": recipe, "budget": float(budget), "width": int(width),
                     "n_params": float(group["n_params"].iloc[0]), "steps": float(group["steps"].iloc[0]),
                     "tokens": float(group["tokens"].iloc[0]), "losses": losses, "n_seeds": len(losses),
                     "estimate": float(np.median(losses)), "built_alike": alike in seen})
        seen.add(alike)
    return pd.DataFrame(rows, columns=["recipe", "budget", "width", "n_params", "steps", "tokens", "losses",
                                       "n_seeds", "estimate", "built_alike"])


def noise_cells(cells: pd.DataFrame, length: str = "steps"):
    """(length, seed losses) of each training cell, those built alike once: what the
    noise model is fitted on."""
    distinct = cells[~cells["built_alike"].astype(bool)]
    return list(zip(distinct[length], distinct["losses"]))


@dataclass(frozen=True)
class TierModel:
    """What a robust analysis of one innovation needs from its whole tier: how noisy a run
    of a given length is, and how asymmetric the IsoFLOP valleys are."""

    noise: NoiseModel
    asymmetry: float  # valley curvature on the large-model side / on the small-model side

    def as_dict(self) -> dict:
        return {"noise": self.noise.as_dict(), "asymmetry": self.asymmetry}

    def describe(self) -> str:
        return f"{self.noise.describe()}; valleys {self.asymmetry:.2g}× steeper on the large-model side"


def valley_ladders(cells: pd.DataFrame) -> list[ValleyLadder]:
    """The cells as ladders (recipe, budget) of 3 or more sizes, for ``fit_valleys``."""
    ladders = []
    for (recipe, budget), group in cells.groupby(["recipe", "budget"], sort=True):
        if len(group) >= 3:
            group = group.sort_values("n_params")
            ladders.append(ValleyLadder(recipe, float(budget), group["n_params"].to_numpy(float),
                                        group["estimate"].to_numpy(float)))
    return ladders


def fit_tier_model(runs: pd.DataFrame, length: str = "steps") -> TierModel:
    """The ``TierModel`` of a tier's runs (all innovations): the noise model fitted on the
    seed pairs of its trained cells, against their ``length`` (steps or tokens), and the
    valleys' asymmetry fitted on its ladders."""
    cells = training_cells(runs)
    noise = fit_noise_model(noise_cells(cells, length), length=length)
    valley = fit_valleys(valley_ladders(cells))
    return TierModel(noise, valley.asymmetry)


@dataclass(frozen=True)
class RecipeTruth:
    """A recipe as the calibrated simulator plants it: frontier L*(C) = A·C^(−α) (a pure
    power law through its valleys' optima), optimal size ln N*(C) = a + b·ln(C/C_ref), and
    its valley curvature at C_ref (the tier's asymmetry and budget exponent apply)."""

    recipe: str
    log_A: float
    alpha: float
    optimum_intercept: float  # a
    optimum_slope: float  # b
    curvature: float

    def frontier_loss(self, budget) -> np.ndarray:
        return np.exp(self.log_A - self.alpha * np.log(np.asarray(budget, dtype=float)))

    def log_optimum(self, budget) -> np.ndarray:
        return self.optimum_intercept + self.optimum_slope * np.log(np.asarray(budget, dtype=float) / REFERENCE_BUDGET)


@dataclass(frozen=True)
class InnovationArms:
    """One innovation as the simulator plants it: each arm's recipe key and allocation,
    and the correlation of the two arms' seed noise (same seeds, same data order)."""

    name: str
    recipes: tuple[str, str]  # (baseline, modern) recipe keys
    allocations: tuple[str, str]
    correlation: float
    # each arm's frontier as the analysis measured it on the real runs, as a pure power
    # law (ln A, α) through its points; empty: the recipe's (``RecipeTruth``)
    laws: tuple = ()

    def frontier_loss(self, arm_index: int, truth: RecipeTruth, budget) -> np.ndarray:
        """L*(C) of an arm: its measured law where the calibration has one, else its recipe's."""
        if not self.laws:
            return truth.frontier_loss(budget)
        log_A, alpha = self.laws[arm_index]
        return np.exp(log_A - alpha * np.log(np.asarray(budget, dtype=float)))

    def alphas(self, calibration: Calibration) -> tuple[float, float]:
        if self.laws:
            return tuple(alpha for _, alpha in self.laws)
        return tuple(calibration.recipes[r].alpha for r in self.recipes)


@dataclass(frozen=True)
class Calibration:
    """A tier's runs, read for the simulator (``calibrate``)."""

    model: TierModel
    valley: ValleyFit
    recipes: dict = field(default_factory=dict)  # recipe key -> RecipeTruth
    innovations: tuple = ()  # InnovationArms, by name
    n_cells: int = 0

    def innovation(self, name: str) -> InnovationArms:
        return next(i for i in self.innovations if i.name == name)


def _recipe_truths(valley: ValleyFit) -> dict[str, RecipeTruth]:
    truths = {}
    by_recipe: dict[str, list] = {}
    for recipe, budget, loss, log_optimum in valley.optima:
        by_recipe.setdefault(recipe, []).append((budget, loss, log_optimum))
    for recipe, points in by_recipe.items():
        budgets, losses, optima = (np.array(v, dtype=float) for v in zip(*points))
        if len(set(budgets)) < 2:
            continue
        slope, intercept = np.polyfit(np.log(budgets), np.log(losses), 1)
        b, a = np.polyfit(np.log(budgets / REFERENCE_BUDGET), optima, 1)
        truths[recipe] = RecipeTruth(recipe, float(intercept), float(-slope), float(a), float(b),
                                     valley.curvature[recipe])
    return truths


def arm_correlation(runs: pd.DataFrame, innovation: str) -> float:
    """The correlation of an innovation's two arms' seed effects (seed 0 − seed 1 in each
    cell both arms measured with those seeds), as Spearman's ρ turned into a Pearson
    correlation (2·sin(πρ/6): robust to the heavy tails), clipped to [0, 0.95]; 0 with
    fewer than 5 such cells."""
    mine = runs[runs["innovation"] == innovation]
    if "not_learned" in mine.columns:
        mine = mine[mine["not_learned"].isna()]
    table = mine.pivot_table(index=["budget", "width"], columns=["arm", "seed"], values="final_loss")
    seeds = sorted({seed for _, seed in table.columns})
    if len(seeds) < 2 or any((arm, s) not in table.columns for arm in ARMS for s in seeds[:2]):
        return 0.0
    effect = {arm: table[(arm, seeds[0])] - table[(arm, seeds[1])] for arm in ARMS}
    both = effect["baseline"].notna() & effect["modern"].notna()
    if both.sum() < 5:
        return 0.0
    rho = stats.spearmanr(effect["baseline"][both], effect["modern"][both])[0]
    return float(np.clip(2 * math.sin(math.pi * rho / 6), 0.0, 0.95)) if np.isfinite(rho) else 0.0


def measured_laws(runs: pd.DataFrame) -> tuple:
    """Each arm's frontier as ``analyze_innovation`` measures it on ``runs`` (one
    innovation), as a pure power law: (ln A, α) of a line through its points in log-log;
    () where the runs cannot be measured."""
    from .analyze import _measure
    from .frontier import AnalysisError

    try:
        frontier = _measure(runs).frontier
    except AnalysisError:
        return ()
    laws = []
    for arm in ARMS:
        points = [(p.budget, p.loss) for p in frontier if p.arm == arm]
        if len(points) < 2:
            return ()
        slope, intercept = np.polyfit(*np.log(np.array(points)).T, 1)
        laws.append((float(intercept), float(-slope)))
    return tuple(laws)


def calibrate(runs: pd.DataFrame, length: str = "steps") -> Calibration:
    """Read a tier's runs for the calibrated simulator (see module doc)."""
    cells = training_cells(runs)
    noise = fit_noise_model(noise_cells(cells, length), length=length)
    valley = fit_valleys(valley_ladders(cells))
    truths = _recipe_truths(valley)
    innovations = []
    for name, group in runs.groupby("innovation", sort=True):
        arms = {arm: group[group["arm"] == arm]["recipe"].iloc[0] for arm in ARMS if (group["arm"] == arm).any()}
        if len(arms) < 2:
            continue
        keys = tuple(recipe_key(arms[arm]) for arm in ARMS)
        if any(key not in truths for key in keys):
            continue
        innovations.append(InnovationArms(name, keys, tuple(allocation_of(arms[arm]) for arm in ARMS),
                                          arm_correlation(runs, name), measured_laws(group)))
    return Calibration(TierModel(noise, valley.asymmetry), valley, truths, tuple(innovations), len(cells))
