"""The seed bootstrap and the statistics of few seeds.

Every replicate redraws the seed noise of each (arm, budget, size) cell from the
seed residuals of its ladder (``residual_pools``, ``draw_seed_noise``), then
recomputes the frontier (``replicate_frontier``). ``welch_satterthwaite_dof`` and
``t_scale`` widen that noise to Student-t tails when the noise level itself is
read off few seeds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .frontier import ARMS, Ladder, ladder_optimum


def has_replicated_cells(ladders: list[Ladder]) -> bool:
    """True when at least one (arm, budget, size) cell has two or more seeds."""
    return any(len(losses) > 1 for ladder in ladders for losses in ladder.seed_losses)


def _adjusted_residuals(losses: np.ndarray) -> np.ndarray:
    """Deviations from the cell mean, scaled by √(n/(n−1)) so their variance is σ², unbiased."""
    n = len(losses)
    if n < 2:
        return np.empty(0)
    return (losses - losses.mean()) * np.sqrt(n / (n - 1))


@dataclass
class ResidualPool:
    """Seed residuals a ladder is resampled from, and their degrees of freedom."""

    residuals: np.ndarray
    dof: int  # Σ (n − 1) over the cells the residuals come from


def _pool_of(ladders: list[Ladder]) -> ResidualPool:
    cells = [losses for ladder in ladders for losses in ladder.seed_losses if len(losses) > 1]
    if not cells:
        return ResidualPool(np.empty(0), 0)
    return ResidualPool(
        np.concatenate([_adjusted_residuals(x) for x in cells]), sum(len(x) - 1 for x in cells)
    )


def residual_pools(ladders: list[Ladder]) -> list[ResidualPool]:
    """Per ladder, the pool of seed residuals its cells are resampled from.

    A ladder pools the adjusted residuals of all its sizes (seed noise is taken to be
    the same across the sizes of one budget, not across budgets or arms). A ladder
    without any replicated cell borrows its arm's pool, then the whole tier's.
    """
    tier = _pool_of(ladders)
    by_arm = {arm: _pool_of([l for l in ladders if l.arm == arm]) for arm in ARMS}
    pools = []
    for ladder in ladders:
        candidates = (_pool_of([ladder]), by_arm[ladder.arm], tier)
        pools.append(next((pool for pool in candidates if pool.dof > 0), ResidualPool(np.zeros(1), 0)))
    return pools


def single_seed_warning(ladders: list[Ladder]) -> list[str]:
    """A warning when some, but not all, cells have a single seed."""
    single = sum(len(x) == 1 for ladder in ladders for x in ladder.seed_losses)
    if not single:
        return []
    return [(
        f"{single} (arm, budget, size) cell(s) have a single seed: their bootstrap "
        "noise is borrowed from replicated cells"
    )]


def draw_seed_noise(
    ladders: list[Ladder], pools: list[ResidualPool], rng: np.random.Generator, n_boot: int
) -> list[np.ndarray]:
    """Per ladder, shape (n_sizes, n_boot): the mean of n residuals drawn with replacement
    from the ladder's pool for every cell of n seeds — the noise of a resampled cell mean.

    Pooling the sizes of a ladder, rather than resampling each cell's own runs, gives the
    noise level 6 degrees of freedom instead of 2 with 3 sizes × 3 seeds, and the
    √(n/(n−1)) scaling undoes the third by which a plain resample of 3 seeds
    underestimates the variance of their mean.
    """
    noise = []
    for ladder, pool in zip(ladders, pools):
        cells = np.empty((len(ladder.seed_losses), n_boot))
        for j, losses in enumerate(ladder.seed_losses):
            draws = pool.residuals[rng.integers(0, len(pool.residuals), size=(n_boot, len(losses)))]
            cells[j] = draws.mean(axis=1)
        noise.append(cells)
    return noise


def replicate_frontier(ladders: list[Ladder], noise: list[np.ndarray], scale=1.0) -> np.ndarray:
    """L*(C) of every ladder, shape (n_ladders, n_boot), from cell means + scale·noise.

    The frontier is recomputed for every replicate, bracketing decision included.
    """
    return np.array(
        [
            ladder_optimum(ladder.n_params, ladder.mean_losses()[:, None] + scale * cells)[0]
            for ladder, cells in zip(ladders, noise)
        ]
    )


def welch_satterthwaite_dof(sensitivity: np.ndarray, variances: np.ndarray, dofs: np.ndarray) -> float:
    """Effective degrees of freedom of a statistic θ ≈ Σ g_i·y_i of independent y_i:

        ν_eff = (Σ g_i²·v_i)² / Σ (g_i²·v_i)² / ν_i

    where v_i is the variance of y_i, estimated with ν_i degrees of freedom (ladders
    that borrow one pool count as independent: a slight overestimate of ν_eff).
    """
    terms = np.asarray(sensitivity) ** 2 * np.asarray(variances)
    dofs = np.asarray(dofs, dtype=float)
    keep = dofs > 0
    if not np.any(keep) or terms[keep].sum() == 0:
        return np.inf
    return float(terms[keep].sum() ** 2 / np.sum(terms[keep] ** 2 / dofs[keep]))


def t_scale(dof: float, rng: np.random.Generator, n_boot: int) -> np.ndarray:
    """√(ν/χ²_ν) per replicate: multiplying Gaussian-like noise by it gives Student-t
    tails with ν degrees of freedom, the uncertainty of a noise level read off few seeds."""
    if not np.isfinite(dof):
        return np.ones(n_boot)
    return np.sqrt(dof / rng.chisquare(dof, size=n_boot))
