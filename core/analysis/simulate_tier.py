"""The calibrated simulator: a whole tier's catalogue drawn as its real runs would come out.

``simulate.py`` plants one pair of laws on an idealised shape with Gaussian noise; it
promised cpu v3 drift intervals 0.22 wide (ln of high/low per 10×) where the real ones
were 1.02. This simulator draws instead from what a tier's real runs say
(``calibrate.calibrate``) on the tier's real design (``TierDesign``: its budgets, size
grid, each recipe's parameters and FLOPs per token at each width, the ladders the
planner gives each arm, seeds per budget, ladder extension and data limit):

* each recipe's truth is its frontier as a pure power law through its valleys' optima,
  its optimal size as a power of the budget, and its valley (two half-parabolas, the
  tier's asymmetry, a curvature that shrinks with the budget) — so a rung's loss
  depends on where the planner put it;
* each run's noise comes from the tier's noise model at that run's training length
  (steps = budget / (FLOPs per token × tokens per step)): heavy-tailed where runs are
  short; the two arms' noise is correlated as the innovation's real seed effects were
  (a Gaussian copula: each arm's noise keeps its t marginal);
* ladders are extended as the sweep does (``plan.extend_ladders``): while a ladder's
  lowest mean loss is at an edge, the next width of the grid beyond it, up to
  ``ladder_extension`` per side, within the grid and the data limit;
* each innovation's draw is analysed by ``analyze`` (default: ``analyze_innovation``
  as ``cegbench analyze`` runs it) and counted as the leaderboard counts it
  (``cegbench.standing``).

``simulate_tier(design, calibration, n_draws)`` returns one ``Outcome`` per
(innovation, draw): its standing, label, basis and the width of the drift interval the
label was read from; ``summarise`` gives the median width and the decided share.
"""

from __future__ import annotations

import dataclasses
import math
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cegbench.standing import DECIDED, standing

from .calibrate import Calibration, InnovationArms
from .frontier import ARMS
from .label import NO_BASIS
from .valley import REFERENCE_BUDGET as REFERENCE


@dataclass(frozen=True)
class TierDesign:
    """A tier as the simulator needs it: numbers only (``cegbench.sweep.design`` builds it from
    a ``Tier`` and the catalogue)."""

    name: str
    budgets: tuple[float, ...]
    seeds: tuple[int, ...]  # seeds at each budget (counts, in the order of ``budgets``)
    tokens_per_step: int  # batch × context
    widths: tuple[int, ...]  # the size grid
    # (innovation, arm, recipe key, budget, widths): each ladder as the planner gives it
    plans: pd.DataFrame = field(repr=False)
    # (recipe key, width, n_params, flops_per_token): every recipe at every width of the grid
    sizes: pd.DataFrame = field(repr=False)
    ladder_extension: int = 0
    max_tokens: float = math.inf  # the data limit: max epochs × the dataset's training tokens
    margin: float = 1.5
    headline_compute: float | None = None

    def seeds_at(self, budget: float) -> int:
        return self.seeds[list(self.budgets).index(budget)]

    def size(self, recipe: str, width: int) -> tuple[float, float]:
        """(n_params, flops_per_token) of ``recipe`` at ``width``."""
        if "_size_table" not in self.__dict__:  # built once: a frozen dataclass's cache
            table = {(r.recipe, int(r.width)): (float(r.n_params), float(r.flops_per_token))
                     for r in self.sizes.itertuples()}
            object.__setattr__(self, "_size_table", table)
        return self.__dict__["_size_table"][(recipe, int(width))]

    def steps(self, recipe: str, width: int, budget: float) -> int:
        return max(1, round(budget / (self.size(recipe, width)[1] * self.tokens_per_step)))


@dataclass(frozen=True)
class Outcome:
    """One innovation's analysis in one simulated draw."""

    innovation: str
    draw: int
    standing: str
    label: str
    direction: str | None
    basis: str
    drift: float  # per 10×, the label's
    drift_low: float
    drift_high: float
    true_drift: float  # per 10×, from the planted laws (NaN where no law gives it: allocation arms)
    n_runs: int
    n_extended: int  # rungs the ladder extension added
    cpu_seconds: float

    @property
    def width(self) -> float:
        """ln(high / low) of the drift interval per 10× (NaN without one; ∞ for an open one)."""
        if not (self.drift_low > 0 and self.drift_high > 0):
            return math.nan
        return math.log(self.drift_high / self.drift_low)


def _valley_loss(calibration: Calibration, arms: InnovationArms, arm_index: int, budget: float,
                 n_params: float) -> float:
    """The planted loss of a run: the arm's frontier at the budget, up its recipe's valley."""
    recipe = arms.recipes[arm_index]
    truth = calibration.recipes[recipe]
    return float(calibration.valley.loss(recipe, budget, float(arms.frontier_loss(arm_index, truth, budget)),
                                         float(truth.log_optimum(budget)), n_params))


def true_drift(calibration: Calibration, arms: InnovationArms) -> float:
    """CEG drift per 10× of the planted laws (two pure power laws: CEG ∝ C^(α_m/α_b − 1));
    NaN where an arm does not follow its recipe's ladder optimum (an allocation rule)."""
    if any(a != "isoflop" for a in arms.allocations):
        return math.nan
    alpha_b, alpha_m = arms.alphas(calibration)
    return 10 ** ((alpha_m - alpha_b) / alpha_b)


def draw_innovation(design: TierDesign, calibration: Calibration, arms: InnovationArms,
                    rng: np.random.Generator) -> tuple[pd.DataFrame, int]:
    """One draw of an innovation's runs on ``design`` (columns arm, budget, width,
    n_params, seed, steps, tokens, final_loss), ladders extended as the sweep extends
    them, and how many rungs that added."""
    noise = calibration.model.noise
    shared: dict = {}  # (budget, width, seed) -> the standard normal both arms' copulas share
    rho = arms.correlation

    def run_losses(arm_index: int, recipe: str, budget: float, width: int) -> list[tuple]:
        n_params, _ = design.size(recipe, width)
        steps = design.steps(recipe, width, budget)
        length = steps if noise.length == "steps" else steps * design.tokens_per_step
        truth = _valley_loss(calibration, arms, arm_index, budget, n_params)
        rows = []
        for seed in range(design.seeds_at(budget)):
            z_shared = shared.setdefault((budget, width, seed), rng.standard_normal())
            z = math.sqrt(rho) * z_shared + math.sqrt(1 - rho) * rng.standard_normal()
            # a Gaussian copula: each arm's noise keeps its t marginal, the arms correlate
            rows.append((ARMS[arm_index], budget, width, n_params, seed, steps, steps * design.tokens_per_step,
                         truth + float(noise.from_normal(length, z))))
        return rows

    rows, extended = [], 0
    grid = sorted(design.widths)
    for budget in design.budgets:
        for arm_index, arm in enumerate(ARMS):
            plan = design.plans[(design.plans["innovation"] == arms.name) & (design.plans["arm"] == arm)
                                & (design.plans["budget"] == budget)]
            if plan.empty:
                continue
            recipe = arms.recipes[arm_index]
            planned = sorted(plan["widths"].iloc[0])
            ladder = {w: run_losses(arm_index, recipe, budget, w) for w in planned}
            while len(planned) >= 3:  # the sweep's ladder rounds (plan.extend_ladders)
                widths = sorted(ladder)
                means = [np.mean([r[-1] for r in ladder[w]]) for w in widths]
                lowest = widths[int(np.argmin(means))]
                side = -1 if lowest == widths[0] else 1 if lowest == widths[-1] else 0
                beyond = sum(w < planned[0] if side < 0 else w > planned[-1] for w in widths)
                if side == 0 or beyond >= design.ladder_extension:
                    break
                candidates = [w for w in grid if (w < widths[0] if side < 0 else w > widths[-1])]
                if not candidates:
                    break
                width = candidates[-1] if side < 0 else candidates[0]
                if design.steps(recipe, width, budget) * design.tokens_per_step > design.max_tokens:
                    break
                ladder[width] = run_losses(arm_index, recipe, budget, width)
                extended += 1
            rows += [r for w in sorted(ladder) for r in ladder[w]]
    columns = ["arm", "budget", "width", "n_params", "seed", "steps", "tokens", "final_loss"]
    return pd.DataFrame(rows, columns=columns), extended


def plant(calibration: Calibration, design: TierDesign, name: str, recipe: str, *, ceg: float = 1.0,
          growth: float = 1.0, correlation: float = 0.0) -> tuple[Calibration, TierDesign]:
    """A planted pair on the tier, for coverage: its baseline is ``recipe`` as calibrated,
    its modern arm the same recipe (sizes, valley, optimal sizes) with a frontier whose
    CEG against it is ``ceg`` at the reference budget and grows ``growth``× per 10× of
    compute (1: scale-invariant; ``ceg`` = 1 too: the null pair). Returns the calibration
    and design with the pair added (innovation ``name``, modern recipe ``recipe#name``)."""
    base = calibration.recipes[recipe]
    r = math.log10(growth)  # CEG ∝ C^r: α_m = α_b·(1 + r)
    alpha = base.alpha * (1 + r)
    # CEG(C_ref) = ceg: the baseline reaches L_m(C_ref) at ceg·C_ref
    log_loss = base.log_A - base.alpha * math.log(ceg * REFERENCE)
    modern = dataclasses.replace(base, recipe=f"{recipe}#{name}", log_A=log_loss + alpha * math.log(REFERENCE),
                                 alpha=alpha)
    valley = dataclasses.replace(calibration.valley,
                                 curvature={**calibration.valley.curvature, modern.recipe: base.curvature})
    arms = InnovationArms(name, (recipe, modern.recipe), ("isoflop", "isoflop"), correlation)
    calibration = dataclasses.replace(calibration, valley=valley,
                                      recipes={**calibration.recipes, modern.recipe: modern},
                                      innovations=(*calibration.innovations, arms))
    sizes = design.sizes[design.sizes["recipe"] == recipe].assign(recipe=modern.recipe)
    plans = design.plans[design.plans["recipe"] == recipe].drop_duplicates("budget")
    plans = pd.concat([plans.assign(innovation=name, arm=arm, recipe=key) for arm, key in zip(ARMS, arms.recipes)])
    design = dataclasses.replace(design, plans=pd.concat([design.plans, plans], ignore_index=True),
                                 sizes=pd.concat([design.sizes, sizes], ignore_index=True))
    return calibration, design


def _default_analyze(runs: pd.DataFrame, design: TierDesign, seed: int, **options):
    from . import analyze_innovation

    return analyze_innovation(runs, margin=design.margin, headline_compute=design.headline_compute, seed=seed,
                              check_sensitivity=False, **options)


def simulate_tier(design: TierDesign, calibration: Calibration, n_draws: int, *, seed: int = 0,
                  innovations: tuple[str, ...] | None = None, analyze: Callable | None = None,
                  tier_model=None, **options) -> list[Outcome]:
    """``n_draws`` simulated sweeps of the catalogue (or of ``innovations``) on ``design``,
    each innovation analysed as ``cegbench analyze`` does (``analyze(runs, design, seed,
    **options)``; ``tier_model``: hand the analysis a ``TierModel``, fitted on the
    tier's real runs, as the sweep hands it the one fitted on the registry). Draws
    are deterministic in (seed, draw, innovation)."""
    analyze = analyze or _default_analyze
    names = [arms.name for arms in calibration.innovations
             if innovations is None or arms.name in innovations]
    planned = set(design.plans["innovation"])
    outcomes = []
    for draw in range(n_draws):
        for name in names:
            if name not in planned:
                continue
            arms = calibration.innovation(name)
            rng = np.random.default_rng([seed, draw, zlib.crc32(name.encode())])
            runs, extended = draw_innovation(design, calibration, arms, rng)
            start = time.process_time()
            extra = {"tier_model": tier_model} if tier_model is not None else {}
            analysis = analyze(runs, design, draw, **extra, **options)
            seconds = time.process_time() - start
            verdict = {"label": analysis.label, "label_basis": analysis.label_basis,
                       "rests_on": list(analysis.rests_on), "weakened": list(analysis.weakened),
                       "warnings": list(analysis.warnings)}
            outcomes.append(Outcome(name, draw, standing(verdict), analysis.label, analysis.direction,
                                    analysis.label_basis, analysis.drift, analysis.drift_low, analysis.drift_high,
                                    true_drift(calibration, arms), len(runs), extended, seconds))
    return outcomes


@dataclass(frozen=True)
class Summary:
    """What a set of outcomes says about a tier: the median width of its labels' drift
    intervals, the share decided (``cegbench.standing``), and the rest."""

    n: int
    median_width: float  # over outcomes with a drift interval (∞ counts: an open one)
    decided_share: float
    standings: dict
    cpu_seconds: float

    def row(self) -> dict:
        return {"n": self.n, "median width": round(self.median_width, 3), "decided share": round(self.decided_share, 3),
                **self.standings, "cpu s": round(self.cpu_seconds, 1)}


def summarise(outcomes: list[Outcome]) -> Summary:
    widths = np.array([o.width for o in outcomes])
    widths = widths[~np.isnan(widths)]
    counts: dict = {}
    for o in outcomes:
        counts[o.standing] = counts.get(o.standing, 0) + 1
    decided = counts.get(DECIDED, 0) / len(outcomes) if outcomes else math.nan
    return Summary(len(outcomes), float(np.median(widths)) if len(widths) else math.nan, decided, counts,
                   float(sum(o.cpu_seconds for o in outcomes)))


def coverage(outcomes: list[Outcome]) -> tuple[int, int]:
    """(covered, counted): among outcomes with a label basis, a finite planted drift and a
    drift interval, how many intervals hold the planted drift."""
    counted = [o for o in outcomes if o.basis != NO_BASIS and np.isfinite(o.true_drift)
               and o.drift_low > 0 and np.isfinite(o.drift_low)]
    return sum(o.drift_low <= o.true_drift <= o.drift_high for o in counted), len(counted)


def called_dependent(outcomes: list[Outcome]) -> tuple[int, int]:
    """(called scale-dependent, all): how often a label was "scale-dependent"."""
    return sum(o.label == "scale-dependent" for o in outcomes), len(outcomes)
