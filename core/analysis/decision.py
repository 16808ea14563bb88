"""For an inconclusive verdict: how much more data would decide it?

Simulated from the fit itself. The truth is the fitted pair of laws; the noise of each
frontier point is its bootstrap variance in log loss. A scenario changes the data:

* **more seeds**: k× the seeds per cell, for k in ``SEED_FACTORS``: with seed residuals
  pooled per ladder, every point's variance divided by k (a cell mean of k·n seeds);
  with a tier-wide noise model (``robust``), frontiers redrawn from it with k·n seeds
  per cell — the median of heavy-tailed draws does not shrink as 1/k — and each
  simulated frontier's noise drawn from those replicates, not from a normal;
* **wider budget range**: the ladder of budgets continues by ×4 steps up to f× the
  largest budget, for f in ``BUDGET_FACTORS``, each new point with its arm's median
  noise.

Each scenario draws ``n_sims`` frontiers, refits them, and forms the Δα interval by
the delta method (the linearised fit), widened by the ratio of the analysis's own
bootstrap interval to the delta-method interval on the measured data (which carries
the t-tails of few seeds and the fit's non-linearity; conservative, since more seeds
would shrink the t-tails). The smallest k (and f) whose interval decides the label —
excludes 0 or lies inside the margin — in at least ``DECIDED_SHARE`` of simulations is
reported; None when none of the tried ones does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .estimate import Estimate, delta_alpha_se
from .fit import ScalingLawFitter
from .frontier import ARMS, FrontierPoint, Ladder
from .label import INCONCLUSIVE, label_from_drift
from .robust import replicate_frontiers, robust_variance

SEED_FACTORS = (2, 4, 8)
BUDGET_FACTORS = (4.0, 16.0)
BUDGET_STEP = 4.0
DECIDED_SHARE = 0.8
N_SIMS = 30
Z_95 = 1.959963984540054
Z_99 = 2.5758293035489004  # the dependent test's 99 % interval (label.label_from_drift)
MODEL_DRAWS = 400  # frontiers redrawn from a tier's noise model per seed scenario


@dataclass(frozen=True)
class Decision:
    """What would decide an inconclusive verdict (None: nothing tried would)."""

    more_seeds: int | None  # seeds per cell that decide it
    budget_factor: float | None  # the largest budget × this decides it
    text: str
    tried: tuple[dict, ...]  # {"scenario", "decided"}: share of simulations decided


def _decided_share(arms, budgets, log_variance, noise, main: Estimate, *, margin, widen, n_sims, rng) -> float:
    """Share of ``n_sims`` simulated frontiers at (arms, budgets) whose Δα interval decides;
    ``noise(rng)`` draws one frontier's log noise (its spread is ``log_variance``)."""
    fitter = ScalingLawFitter(ARMS, arms, budgets, shared_E=main.fitter.shared_E, fixed_E=main.fitter.fixed_E,
                              f_scale=main.fitter.f_scale)
    truth = np.array([main.point.laws[arm].loss(budget) for arm, budget in zip(arms, budgets)])
    start = fitter.params_from_laws(main.point.laws)
    decided = 0
    for _ in range(n_sims):
        losses = truth * np.exp(noise(rng))
        fit = fitter.fit(losses, start=start)
        if not fit.converged:
            continue
        delta = fit.laws["modern"].alpha - fit.laws["baseline"].alpha
        half = Z_95 * widen * delta_alpha_se(fitter, fit, log_variance)
        wide = half * Z_99 / Z_95
        alpha_b = fit.laws["baseline"].alpha  # drift exponent Δα/α_b, α_b held at the fit
        label = label_from_drift((delta - half) / alpha_b, (delta + half) / alpha_b, margin,
                                 dependent=((delta - wide) / alpha_b, (delta + wide) / alpha_b))[0]
        decided += label != INCONCLUSIVE
    return decided / n_sims


def _normal_noise(log_variance):
    """One frontier's log noise: independent normals with ``log_variance``."""
    sd = np.sqrt(log_variance)
    return lambda rng: sd * rng.standard_normal(len(sd))


def _replicate_noise(deviations: np.ndarray):
    """One frontier's log noise: each point's deviation drawn from its own bootstrap
    deviations (n_points, n), independently per point."""
    def draw(rng):
        picks = rng.integers(0, deviations.shape[1], size=deviations.shape[0])
        return deviations[np.arange(deviations.shape[0]), picks]
    return draw


def _model_deviations(ladders, main: Estimate, seed_factor: int, rng) -> np.ndarray:
    """Log deviations of frontiers redrawn from the tier's noise model with ``seed_factor``×
    the seeds, around the noise-free frontier of the same draws (n_points, n)."""
    n = MODEL_DRAWS
    replicates = replicate_frontiers(ladders, main.tier_model, rng, n, main.allowances, seed_factor=seed_factor)
    with np.errstate(invalid="ignore", divide="ignore"):
        logs = np.log(replicates)
    return logs - np.nanmedian(logs, axis=1, keepdims=True)


def decision_estimate(
    ladders: list[Ladder],
    frontier: list[FrontierPoint],
    main: Estimate,
    *,
    margin: float,
    seed: int,
    n_sims: int = N_SIMS,
) -> Decision | None:
    """How many seeds, or how wide a budget range, would decide ``main``; None when
    there is no bootstrap to read the noise from."""
    if main.replicates.shape[1] < 2:
        return None
    rng = np.random.default_rng(seed)
    arms = [p.arm for p in frontier]
    budgets = np.array([p.budget for p in frontier])
    log_variance = main.log_variances()
    robust = main.tier_model is not None
    measured_se = delta_alpha_se(main.fitter, main.point, log_variance)
    widen = max((main.high - main.low) / (2 * Z_95 * measured_se), 1.0) if measured_se > 0 else 1.0
    seeds_now = int(np.median([len(x) for ladder in ladders for x in ladder.seed_losses]))
    common = {"margin": margin, "widen": widen, "n_sims": n_sims, "rng": rng}

    tried, more_seeds, budget_factor = [], None, None
    for k in SEED_FACTORS:
        if robust:  # the tails decide how fast more seeds help: draw them from the model
            deviations = _model_deviations(ladders, main, k, rng)
            variance_k, noise = robust_variance(deviations, axis=1), _replicate_noise(deviations)
        else:
            variance_k = log_variance / k
            noise = _normal_noise(variance_k)
        share = _decided_share(arms, budgets, variance_k, noise, main, **common)
        tried.append({"scenario": f"{k * seeds_now} seeds per cell", "decided": share})
        if share >= DECIDED_SHARE:
            more_seeds = k * seeds_now
            break
    for factor in BUDGET_FACTORS:
        extra_arms, extra_budgets, extra_variance = [], [], []
        for arm in ARMS:
            mine = np.array([a == arm for a in arms])
            steps = round(np.log(factor) / np.log(BUDGET_STEP))
            for i in range(1, steps + 1):
                extra_arms.append(arm)
                extra_budgets.append(budgets[mine].max() * BUDGET_STEP**i)
                extra_variance.append(np.median(log_variance[mine]))
        variance = np.concatenate([log_variance, extra_variance])
        if robust:  # a new budget's noise: its arm's largest budget's bootstrap deviations
            with np.errstate(invalid="ignore", divide="ignore"):
                logs = np.log(main.replicates)
            deviations = logs - np.nanmedian(logs, axis=1, keepdims=True)
            top = [max((i for i, a in enumerate(arms) if a == arm), key=lambda i: budgets[i]) for arm in extra_arms]
            noise = _replicate_noise(np.vstack([deviations, deviations[top]]))
        else:
            noise = _normal_noise(variance)
        share = _decided_share(arms + extra_arms, np.concatenate([budgets, extra_budgets]), variance, noise,
                               main, **common)
        tried.append({"scenario": f"budgets up to {factor:g}× the largest", "decided": share})
        if share >= DECIDED_SHARE:
            budget_factor = factor
            break

    options = []
    if more_seeds is not None:
        options.append(f"{more_seeds} seeds per cell (now {seeds_now})")
    if budget_factor is not None:
        options.append(f"budgets extended to {budget_factor:g}× the largest ({budgets.max() * budget_factor:.3g} FLOPs)")
    where = f"in ≥ {DECIDED_SHARE:.0%} of {n_sims} simulations from the fitted laws and noise"
    if options:
        text = f"would be decided {where} with " + ", or with ".join(options)
    else:
        text = (f"not decided {where} by up to {SEED_FACTORS[-1] * seeds_now} seeds per cell or "
                f"budgets up to {BUDGET_FACTORS[-1]:g}× the largest: needs more than that")
    return Decision(more_seeds, budget_factor, text, tuple(tried))
