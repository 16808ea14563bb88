"""The seed bootstrap and the statistics of few seeds.

Every replicate redraws the seed noise of each (arm, budget, size) cell from the
seed residuals of its ladder (``residual_pools``, ``draw_seed_noise``), then
recomputes the frontier (``replicate_frontier``); the two arms of a budget draw the
same seeds (``paired_groups``), as they were trained on the same seeds and data order. ``welch_satterthwaite_dof`` and
``t_scale`` widen that noise to Student-t tails when the noise level itself is
read off few seeds.

With one seed per cell everywhere there are no seed residuals: the noise of a cell is
then read off the IsoFLOP parabolas' residuals (``parabola_pool``: every ladder of at
least 4 sizes, each residual scaled by √(n/(n−3))), which also carry any misfit of the
parabola, so the intervals are if anything wide. Cells stay independent, so the frontier
points' noise is recomputed from them: the residuals of a law fitted through the
frontier would be autocorrelated along it (two frontier constructions of one single-seed
data set disagreed by more than such intervals: a drift of 2.2× against 5.4×). Without
such ladders there is no noise to resample and the analysis withholds the label.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .frontier import ARMS, VALLEY_NOISE_SDS, Ladder, ladder_optimum, ladder_parabola


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


PARABOLA_PARAMETERS = 3


def parabola_pool(ladders: list[Ladder]) -> ResidualPool:
    """The residuals of every ladder's IsoFLOP parabola through its cell means (ladders of
    more than ``PARABOLA_PARAMETERS`` sizes), each scaled by √(n/(n−3)) so their variance
    estimates a cell mean's: the noise of single-seed cells."""
    residuals, dof = [], 0
    for ladder in ladders:
        n = len(ladder.n_params)
        if n <= PARABOLA_PARAMETERS:
            continue
        means = ladder.mean_losses()
        c0, c1, c2 = ladder_parabola(ladder.n_params, means)
        x = np.log(ladder.n_params)
        residuals.append((means - (c0 + c1 * x + c2 * x * x)) * np.sqrt(n / (n - PARABOLA_PARAMETERS)))
        dof += n - PARABOLA_PARAMETERS
    return ResidualPool(np.concatenate(residuals) if residuals else np.empty(0), dof)


def residual_pools(ladders: list[Ladder]) -> list[ResidualPool]:
    """Per ladder, the pool of seed residuals its cells are resampled from.

    A ladder pools the adjusted residuals of all its sizes (seed noise is taken to be
    the same across the sizes of one budget, not across budgets or arms). A ladder
    without any replicated cell borrows its arm's pool, then the whole tier's; with no
    replicated cell anywhere, every ladder draws from the ``parabola_pool``.
    """
    tier = _pool_of(ladders)
    if tier.dof == 0:
        return [parabola_pool(ladders)] * len(ladders)
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


def paired_groups(ladders: list[Ladder], pools: list[ResidualPool]) -> list[list[int]]:
    """Indices of ladders whose seeds are resampled jointly: the baseline and modern
    ladders of one budget when both have the same sizes and seeds per size and draw from
    pools of their own of equal length (so the k-th residual of one and of the other come
    from the same size and seed: cells are sorted by seed). Every other ladder is a group
    of its own."""
    groups: dict[float, list[int]] = {}
    for i, ladder in enumerate(ladders):
        groups.setdefault(ladder.budget, []).append(i)
    out = []
    for members in groups.values():
        first = ladders[members[0]]
        same = len(members) > 1 and all(
            np.array_equal(ladders[i].n_params, first.n_params)
            and [len(x) for x in ladders[i].seed_losses] == [len(x) for x in first.seed_losses]
            and len(pools[i].residuals) == len(pools[members[0]].residuals)
            == sum(len(x) for x in first.seed_losses if len(x) > 1)
            for i in members
        )
        out += [members] if same else [[i] for i in members]
    return sorted(out)


def draw_seed_noise(
    ladders: list[Ladder], pools: list[ResidualPool], rng: np.random.Generator, n_boot: int,
    paired: bool = False,
) -> list[np.ndarray]:
    """Per ladder, shape (n_sizes, n_boot): the mean of n residuals drawn with replacement
    from the ladder's pool for every cell of n seeds — the noise of a resampled cell mean.

    Pooling the sizes of a ladder, rather than resampling each cell's own runs, gives the
    noise level 6 degrees of freedom instead of 2 with 3 sizes × 3 seeds, and the
    √(n/(n−1)) scaling undoes the third by which a plain resample of 3 seeds
    underestimates the variance of their mean.

    ``paired``: the arms share seeds and data order, so their seed noise at one budget
    may be correlated. The baseline and modern ladders of a budget (``paired_groups``)
    then draw the same residual indices — the same (size, seed) for both arms in a
    replicate — which keeps that correlation in the replicates; unpaired, it is lost.
    """
    noise: list[np.ndarray] = [np.empty(0)] * len(ladders)
    groups = paired_groups(ladders, pools) if paired else [[i] for i in range(len(ladders))]
    for group in groups:
        first = ladders[group[0]]
        for j, losses in enumerate(first.seed_losses):
            index = rng.integers(0, len(pools[group[0]].residuals), size=(n_boot, len(losses)))
            for i in group:
                if j == 0:
                    noise[i] = np.empty((len(ladders[i].seed_losses), n_boot))
                noise[i][j] = pools[i].residuals[index].mean(axis=1)
    return noise


def replicate_frontier(ladders: list[Ladder], noise: list[np.ndarray], scale=1.0, allowances=None) -> np.ndarray:
    """L*(C) of every ladder, shape (n_ladders, n_boot), from cell means + scale·noise.

    The frontier is recomputed for every replicate, bracketing decision and valley check
    (``allowances``, per ladder) included.
    """
    allowances = [np.inf] * len(ladders) if allowances is None else allowances
    return np.array(
        [
            ladder_optimum(ladder.n_params, ladder.mean_losses()[:, None] + scale * cells, allowance)[0]
            for ladder, cells, allowance in zip(ladders, noise, allowances)
        ]
    )


def valley_allowances(ladders: list[Ladder], pools: list[ResidualPool] | None = None) -> list[float]:
    """Per ladder, how far its parabola's vertex may lie below its best cell mean:
    ``VALLEY_NOISE_SDS`` standard deviations of that mean, its noise read off the
    ladder's residual pool (∞ where there is none: no check)."""
    pools = residual_pools(ladders) if pools is None else pools
    allowances = []
    for ladder, pool in zip(ladders, pools):
        if pool.dof == 0:
            allowances.append(np.inf)
            continue
        seeds = len(ladder.seed_losses[int(np.argmin(ladder.mean_losses()))])
        allowances.append(float(VALLEY_NOISE_SDS * np.sqrt(np.mean(pool.residuals ** 2) / seeds)))
    return allowances


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
