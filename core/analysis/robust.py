"""Intervals that respect heavy tails: the frontier and its bootstrap from a tier-wide model.

With a ``TierModel`` (``calibrate.fit_tier_model``: the tier's seed noise as a function of
a run's training length, with its t tails, and its valleys' asymmetry), an innovation's
frontier and its bootstrap change in three ways (``analyze_innovation(tier_model=…)``):

* **a cell is the median of its seeds**, not their mean: the mean of Cauchy-like draws
  (cpu v3's runs below ~2,000 steps: ν ≈ 1) does not settle with more seeds, the median
  does (with 2 seeds the two are the same);
* **the optimum knows the valley's shape** (``valley.shaped_optimum``: two half-parabolas,
  the large-model side k× steeper, fitted to the 3 cells around the best), so a ladder
  whose valley is asymmetric no longer puts its optimum below every run; one further
  below its best cell than ``VALLEY_NOISE_SDS`` of that cell's noise plus the gap the
  fitted valley allows between two rungs falls back to the measured minimum;
* **each bootstrap replicate redraws every cell from the tier's noise model** — the
  median of as many draws as the cell has seeds, at the cell's own length — instead of
  from residuals pooled over its ladder. One noisy cell no longer spreads its noise over
  its ladder, and no t multiplier read off one ladder's few residuals widens every
  replicate: the noise level is read off the whole tier (hundreds of seed pairs), its
  tails are in the draws themselves. The two arms' draws at one (budget, width, seed)
  are correlated as the innovation's own seed contrasts say (``arm_correlation``: a
  conservative lower bound), since both arms trained on the same seeds and data order.

The spread of replicates whose draws have no variance (ν ≤ 2) is measured robustly:
``robust_variance`` is (IQR / 1.349)², the variance of a normal with that spread.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from .frontier import ARMS, VALLEY_NOISE_SDS, FrontierPoint, Ladder, single_size_arms, valid_valley
from .valley import shaped_optimum

if TYPE_CHECKING:  # only a type here: calibrate reads frontiers through analyze, which uses this module
    from .calibrate import TierModel

IQR_TO_SD = 1.349  # interquartile range of a standard normal
WINDOW = 3  # cells around the best one the valley is fitted to
MIN_CONTRASTS = 5  # seed contrasts both arms measured, to read their correlation off
CORRELATION_Z = 1.2816  # one-sided 90 %: the lower bound of the arms' correlation the bootstrap uses


def cell_estimates(ladder: Ladder) -> np.ndarray:
    """Each size's median over its seeds."""
    return np.array([np.median(losses) for losses in ladder.seed_losses])


def cell_lengths(ladder: Ladder, model: TierModel) -> np.ndarray:
    """Each size's training length in the unit of the model's noise (steps or tokens)."""
    lengths = ladder.steps if model.noise.length == "steps" else ladder.tokens
    if lengths is None:
        raise ValueError(f"{ladder.arm} @ {ladder.budget:.3g} FLOPs: the runs lack a '{model.noise.length}' column, "
                         "which the tier's noise model needs")
    return lengths


def allowance(ladder: Ladder, model: TierModel) -> float:
    """The noise part of how far a ladder's optimum may lie below its best cell:
    ``VALLEY_NOISE_SDS`` robust sds of that cell's median, from the tier's noise model."""
    estimates = cell_estimates(ladder)
    best = int(np.argmin(estimates))
    lengths = cell_lengths(ladder, model)
    return VALLEY_NOISE_SDS * model.noise.cell_sd(float(lengths[best]), len(ladder.seed_losses[best]))


def _window(best: np.ndarray, n_sizes: int) -> np.ndarray:
    """First index of the ``WINDOW`` sizes around each column's best cell."""
    return np.clip(best - WINDOW // 2, 0, n_sizes - WINDOW)


def ladder_optimum(ladder: Ladder, estimates: np.ndarray, model: TierModel, allowance_: float):
    """(L*, N*, bracketed, measured_minimum) per column of ``estimates`` (n_sizes[, n]).

    The valley is fitted to the ``WINDOW`` (3) cells around the best one — far from its
    bottom a valley is no parabola, half-parabolas included — with the tier's asymmetry
    (``valley.shaped_optimum``). Its optimum is the frontier point where it lies inside
    that window and no further below the best estimate than ``allowance_`` (the noise)
    plus what the fitted valley itself allows between two rungs, c·max(1, k)·(h/2)², h
    the wider spacing beside the best rung; otherwise the best estimate, bracketed when
    it is not at an end of the ladder."""
    y = np.asarray(estimates, dtype=float)
    columns = y.reshape(len(ladder.n_params), -1)
    n_sizes, n_cols = columns.shape
    cols = np.arange(n_cols)
    best = np.argmin(columns, axis=0)
    best_loss = columns[best, cols]
    n_best = ladder.n_params[best]
    at_edge = (best == 0) | (best == n_sizes - 1)
    if n_sizes < WINDOW:
        nothing = np.zeros(n_cols, dtype=bool)
        return best_loss, n_best, nothing, nothing
    loss, n_opt = np.array(best_loss, dtype=float), np.array(n_best, dtype=float)
    valley = np.zeros(n_cols, dtype=bool)
    fallback = np.zeros(n_cols, dtype=bool)
    log_n = np.log(ladder.n_params)
    starts = _window(best, n_sizes)
    for start in np.unique(starts):
        mine = starts == start
        window = slice(start, start + WINDOW)
        fitted, n_fit, inside, c = shaped_optimum(ladder.n_params[window], columns[window][:, mine], model.asymmetry)
        spacing = np.diff(log_n[window]).max()
        room = allowance_ + c * max(1.0, model.asymmetry) * (spacing / 2) ** 2
        ok = inside & valid_valley(fitted, best_loss[mine], room)
        valley[mine], fallback[mine] = ok, inside & ~ok
        loss[mine] = np.where(ok, fitted, best_loss[mine])
        n_opt[mine] = np.where(ok, n_fit, n_best[mine])
    bracketed = valley | (fallback & ~at_edge)
    shape = y.shape[1:]
    return loss.reshape(shape), n_opt.reshape(shape), bracketed.reshape(shape), fallback.reshape(shape)


def robust_frontier(ladders: list[Ladder], model: TierModel) -> tuple[list[FrontierPoint], list[float], list[str]]:
    """The frontier point of every ladder (cell medians, shape-aware optimum), each
    ladder's allowance, and warnings for unbracketed ladders and measured minima."""
    points, allowances, warnings = [], [], []
    single = single_size_arms(ladders)
    for ladder in ladders:
        estimates = cell_estimates(ladder)
        if ladder.arm in single:
            points.append(FrontierPoint(ladder.arm, ladder.budget, float(estimates[0]), float(ladder.n_params[0]),
                                        None, single_size=True))
            allowances.append(np.inf)
            continue
        room = allowance(ladder, model)
        allowances.append(room)
        optimum = ladder_optimum(ladder, estimates, model, room)
        loss, n_opt, bracketed, fallback = (np.asarray(v).item() for v in optimum)
        points.append(FrontierPoint(ladder.arm, ladder.budget, float(loss), float(n_opt), bool(bracketed),
                                    measured_minimum=bool(fallback)))
        where = f"{ladder.arm} @ {ladder.budget:.3g} FLOPs"
        if fallback:
            warnings.append(f"{where}: the valley's optimum lies more than the measured noise ({room:.3g}) "
                            f"below the best cell's median {estimates.min():.4g}: no valid valley, the "
                            "measured minimum is used")
        elif not bracketed:
            edge = "largest" if np.argmin(estimates) == len(estimates) - 1 else "smallest"
            warnings.append(f"{where}: optimum not bracketed (best at the {edge} size "
                            f"{ladder.n_params[np.argmin(estimates)]:.3g} params); add {edge[:-3]}er sizes")
    return points, allowances, warnings


def arm_correlation(ladders: list[Ladder]) -> float:
    """How much the two arms' seed noise moves together (same seeds, same data order): over
    the cells both arms measured at one (budget, width) with the same seeds, the contrasts
    of each seed with the first; Spearman's ρ turned into a Pearson correlation
    (2·sin(πρ/6), robust to the tails), then its one-sided 90 % lower bound (Fisher z), so
    that a correlation read off a dozen cells does not narrow the intervals by more than
    it may; clipped to [0, 0.95]. 0 without widths or with fewer than 5 contrasts."""
    cells: dict = {}
    for ladder in ladders:
        if ladder.widths is None:
            return 0.0
        for width, losses in zip(ladder.widths, ladder.seed_losses):
            cells.setdefault((ladder.budget, float(width)), {})[ladder.arm] = losses
    pairs = [(cell[ARMS[0]][1:] - cell[ARMS[0]][0], cell[ARMS[1]][1:] - cell[ARMS[1]][0])
             for cell in cells.values()
             if len(cell) == 2 and len(cell[ARMS[0]]) == len(cell[ARMS[1]]) > 1]
    if sum(len(b) for b, _ in pairs) < MIN_CONTRASTS:
        return 0.0
    baseline, modern = (np.concatenate(side) for side in zip(*pairs))
    rho = stats.spearmanr(baseline, modern)[0]
    if not np.isfinite(rho):
        return 0.0
    pearson = min(2 * math.sin(math.pi * rho / 6), 0.999)
    lower = math.tanh(math.atanh(pearson) - CORRELATION_Z / math.sqrt(max(len(baseline) - 3, 1)))
    return float(np.clip(lower, 0.0, 0.95))


def replicate_frontiers(ladders: list[Ladder], model: TierModel, rng: np.random.Generator, n_boot: int,
                        allowances: list[float], seed_factor: int = 1, correlation: float | None = None
                        ) -> np.ndarray:
    """Bootstrap frontiers, shape (n_ladders, n_boot): every cell's median plus the noise
    of a median of (its seeds × ``seed_factor``) draws from the tier's noise model at the
    cell's length, the optimum recomputed per replicate. The two arms' draws at one
    (budget, width, seed) share a normal score to the extent ``correlation`` (default:
    ``arm_correlation``) says, so their noise keeps the pairing the real runs have.
    ``seed_factor`` > 1: the frontier's noise with that many times the seeds (``decision``)."""
    rho = arm_correlation(ladders) if correlation is None else correlation
    single = single_size_arms(ladders)
    shared: dict = {}
    out = np.empty((len(ladders), n_boot))
    for i, (ladder, room) in enumerate(zip(ladders, allowances)):
        estimates = cell_estimates(ladder)
        lengths = cell_lengths(ladder, model)
        keys = ladder.widths if ladder.widths is not None else np.full(len(lengths), np.nan)
        noise = []
        for length, width, losses in zip(lengths, keys, ladder.seed_losses):
            k = len(losses) * seed_factor
            z = rng.standard_normal((n_boot, k))
            if rho > 0 and np.isfinite(width):
                common = shared.setdefault((ladder.budget, float(width), k), rng.standard_normal((n_boot, k)))
                z = math.sqrt(rho) * common + math.sqrt(1 - rho) * z
            noise.append(np.median(model.noise.from_normal(float(length), z), axis=1))
        columns = estimates[:, None] + np.array(noise)
        if ladder.arm in single:
            out[i] = columns[0]
        else:
            out[i] = ladder_optimum(ladder, columns, model, room)[0]
    return out


def robust_variance(samples: np.ndarray, axis: int = -1) -> np.ndarray:
    """(IQR / 1.349)² along ``axis``, ignoring NaN: the variance of a normal with the same
    spread, finite where the samples' own variance is not."""
    with np.errstate(invalid="ignore"):
        q1, q3 = np.nanpercentile(samples, [25, 75], axis=axis)
    return ((q3 - q1) / IQR_TO_SD) ** 2
