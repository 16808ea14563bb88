"""The IsoFLOP valley's shape: steeper on the large-model side, and an optimum that knows it.

At a fixed budget, loss against x = ln N is a valley, but not a parabola: on the cpu v3
runs it rises ~2–4× faster on the large-model side (fewer steps) than on the small-model
side. A symmetric parabola through three rungs of such a valley puts its vertex too low
(the default recipe's at 2.5e11: 0.06 nats, 5.7 noise sds, below its best run). The
valley here is two half-parabolas joined at the optimum x*:

    L(x) = L* + c·(x − x*)²          for x ≤ x*
    L(x) = L* + k·c·(x − x*)²        for x > x*      (k: the asymmetry, one per tier)

``fit_valleys`` fits it to a whole tier's ladders at once — per ladder its L* and x*,
per group (a recipe) its curvature c at the reference budget, and for the tier the
asymmetry k and how the curvature changes with the budget, c(C) = c·(C/C_ref)^γ —
with a robust (soft-L1) loss, since far rungs are noisy. ``shaped_optimum`` is the
shape-aware optimum of one ladder given k: the three-parameter valley (L*, x*, c)
fitted to each column of cell estimates by a grid search over x* (for each x*, L* and c
are a linear least-squares fit), refined once on a finer grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares
from scipy.sparse import lil_matrix

REFERENCE_BUDGET = 1e12  # c is quoted at this budget (c(C) = c·(C/1e12)^γ)
GRID = 61  # candidate optima across a ladder's span, first pass
REFINE = 21  # and within one first-pass step of the best, second pass
ROBUST_SCALE = 0.02  # nats: soft-L1 loss scale of ``fit_valleys`` (far rungs are noisy)


@dataclass(frozen=True)
class ValleyLadder:
    """One ladder's cell estimates, for ``fit_valleys``."""

    group: str  # what shares a curvature (a recipe)
    budget: float
    n_params: np.ndarray
    losses: np.ndarray  # cell estimates (seed medians), one per size


@dataclass(frozen=True)
class ValleyFit:
    """A tier's valleys: the asymmetry, the curvature per group and its budget exponent,
    and each ladder's optimum (L*, ln N*)."""

    asymmetry: float  # k: curvature on the large-model side / on the small-model side
    gamma: float  # c(C) = c_group·(C/REFERENCE_BUDGET)^γ
    curvature: dict  # group -> c at REFERENCE_BUDGET (loss per (ln N)²)
    optima: tuple = field(default_factory=tuple)  # per ladder (group, budget, L*, ln N*)
    n_ladders: int = 0

    def curvature_at(self, group: str, budget: float) -> float:
        return float(self.curvature[group] * (budget / REFERENCE_BUDGET) ** self.gamma)

    def loss(self, group: str, budget: float, optimum_loss: float, log_optimum: float, n_params) -> np.ndarray:
        """The valley's loss at ``n_params``, given the optimum (L*, ln N*)."""
        return valley_loss(np.log(np.asarray(n_params, dtype=float)), optimum_loss, log_optimum,
                           self.curvature_at(group, budget), self.asymmetry)


def valley_loss(x, optimum_loss, log_optimum, curvature, asymmetry):
    """L* + c·(x − x*)², times k on the large-model side (x > x*)."""
    dx = np.asarray(x, dtype=float) - log_optimum
    return optimum_loss + curvature * np.where(dx > 0, asymmetry, 1.0) * dx * dx


def fit_valleys(ladders: list[ValleyLadder]) -> ValleyFit:
    """The tier's valley shape (see module doc), from ladders of at least 3 sizes."""
    ladders = [lad for lad in ladders if len(lad.n_params) >= 3]
    if not ladders:
        raise ValueError("no ladder of 3 or more sizes to fit a valley to")
    groups = sorted({lad.group for lad in ladders})
    index = {g: i for i, g in enumerate(groups)}
    n, m = len(ladders), len(groups)
    x = np.concatenate([np.log(lad.n_params) for lad in ladders])
    y = np.concatenate([lad.losses for lad in ladders])
    which = np.concatenate([np.full(len(lad.n_params), i) for i, lad in enumerate(ladders)])
    group_of = np.array([index[lad.group] for lad in ladders])[which]
    log_budget = np.log(np.array([lad.budget for lad in ladders]) / REFERENCE_BUDGET)[which]

    def residuals(theta):
        optimum_loss, log_optimum = theta[:n][which], theta[n:2 * n][which]
        log_c, log_k, gamma = theta[2 * n:2 * n + m][group_of], theta[-2], theta[-1]
        return valley_loss(x, optimum_loss, log_optimum, np.exp(log_c + gamma * log_budget), np.exp(log_k)) - y

    start = np.concatenate([
        [lad.losses.min() for lad in ladders],
        [np.log(lad.n_params[np.argmin(lad.losses)]) for lad in ladders],
        np.full(m, np.log(0.05)), [np.log(2.0), 0.0],
    ])
    # each residual depends on its ladder's L* and x*, its group's c, and the tier's k and γ
    sparsity = lil_matrix((len(y), len(start)), dtype=int)
    rows = np.arange(len(y))
    sparsity[rows, which] = 1
    sparsity[rows, n + which] = 1
    sparsity[rows, 2 * n + group_of] = 1
    sparsity[:, -2:] = 1
    fit = least_squares(residuals, start, loss="soft_l1", f_scale=ROBUST_SCALE, x_scale="jac",
                        jac_sparsity=sparsity)
    theta = fit.x
    optima = tuple((lad.group, lad.budget, float(theta[i]), float(theta[n + i])) for i, lad in enumerate(ladders))
    return ValleyFit(float(np.exp(theta[-2])), float(theta[-1]),
                     {g: float(np.exp(theta[2 * n + index[g]])) for g in groups}, optima, n)


def _best_on(candidates: np.ndarray, x: np.ndarray, y: np.ndarray, asymmetry: float):
    """The best optimum among ``candidates`` (n_cand, n_cols) for each column of ``y``
    (n_sizes, n_cols): for each candidate x*, L* and c (c ≥ 0) are a linear least-squares
    fit; returns the (x*, L*, c) of the candidate with the smallest residual sum of squares."""
    dx = x[:, None, None] - candidates[None, :, :]  # (n_sizes, n_cand, n_cols)
    g = np.where(dx > 0, asymmetry, 1.0) * dx * dx
    n = len(x)
    sg, sgg = g.sum(axis=0), (g * g).sum(axis=0)  # (n_cand, n_cols)
    sy = y.sum(axis=0)  # (n_cols,)
    sgy = (g * y[:, None, :]).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = (n * sgy - sg * sy[None, :]) / (n * sgg - sg * sg)
    c = np.where(np.isfinite(c), np.maximum(c, 0.0), 0.0)
    level = (sy[None, :] - c * sg) / n
    rss = ((y[:, None, :] - level[None] - c[None] * g) ** 2).sum(axis=0)
    best = np.argmin(rss, axis=0)
    cols = np.arange(y.shape[1])
    return candidates[best, cols], level[best, cols], c[best, cols]


def shaped_optimum(n_params: np.ndarray, losses: np.ndarray, asymmetry: float):
    """The shape-aware optimum of one ladder: (L*, N*, inside, c) per column of ``losses``
    ((n_sizes,) or (n_sizes, n_cols)), the valley L* + c·(x − x*)² (×k above x*) fitted
    with x* anywhere within the ladder. ``inside``: c > 0 and x* strictly within the
    ladder (not at an end of it): a bracketed optimum."""
    y = np.asarray(losses, dtype=float)
    columns = y.reshape(len(n_params), -1)
    x = np.log(np.asarray(n_params, dtype=float))
    first = np.linspace(x.min(), x.max(), GRID)
    x_star, _, _ = _best_on(np.repeat(first[:, None], columns.shape[1], axis=1), x, columns, asymmetry)
    step = first[1] - first[0]
    fine = np.clip(x_star[None, :] + np.linspace(-step, step, REFINE)[:, None], x.min(), x.max())
    x_star, level, c = _best_on(fine, x, columns, asymmetry)
    tolerance = 1e-6 * (x.max() - x.min())
    inside = (c > 0) & (x_star > x.min() + tolerance) & (x_star < x.max() - tolerance)
    shape = y.shape[1:]
    return level.reshape(shape), np.exp(x_star).reshape(shape), inside.reshape(shape), c.reshape(shape)
