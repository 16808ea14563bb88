"""Labels that survive one point: the drift's point estimate with each budget left out.

A label a single budget carries is not a finding. On the cpu v3 runs dense-to-moe read
"grows with scale, 2.27× per 10×" beside a CEG(C) plot going 1.95 → 2.07: the slope rested
on one equal-loss CEG at a frontier's edge. So a decided label's drift — the fitted law's
Δα/α_b, or the slope of the equal-loss CEGs — is estimated again without each budget in
turn (both arms' points at it) and, for the equal-loss drift, without each frontier point.
The label *rests on* a budget (or point) when, without it, the point estimate crosses to
the other side:

* scale-dependent, growing: the drift exponent is no longer positive (and vice versa
  for shrinking);
* scale-invariant: the drift leaves the tier's margin.

A shorter span that merely widens the interval is expected and is not checked (only
point estimates are), nor is an estimate that cannot be made without the budget (too few
points left). A label that rests on something is reported so and not counted as decided.
"""

from __future__ import annotations

import numpy as np

from .ceg import loss_drift_exponent
from .drift import exponent_margin
from .estimate import Estimate
from .fit import ScalingLawFitter
from .frontier import ARMS, MIN_BUDGETS, FrontierPoint
from .label import EQUAL_LOSS, FITTED_LAW, GROWS, SCALE_DEPENDENT, SCALE_INVARIANT


def crosses(exponent: float, label: str, direction: str | None, margin: float) -> bool:
    """Whether a drift exponent r (CEG ∝ C^r) lies on the other side of ``label``: a
    dependent label's sign reversed or gone, an invariant one's drift outside the margin."""
    if not np.isfinite(exponent):
        return False
    if label == SCALE_DEPENDENT:
        return exponent <= 0 if direction == GROWS else exponent >= 0
    if label == SCALE_INVARIANT:
        return abs(exponent) > exponent_margin(margin)
    return False


def _fitted_exponent(points: list[FrontierPoint], main: Estimate) -> float:
    """The drift exponent of the main analysis's law refitted to ``points``."""
    if any(len({p.budget for p in points if p.arm == arm}) < MIN_BUDGETS for arm in ARMS):
        return np.nan
    fitter = ScalingLawFitter(ARMS, [p.arm for p in points], [p.budget for p in points],
                              shared_E=main.fitter.shared_E, fixed_E=main.fitter.fixed_E,
                              f_scale=main.fitter.f_scale)
    fit = fitter.fit([p.loss for p in points], start=fitter.params_from_laws(main.point.laws))
    if not fit.converged:
        return np.nan
    alpha_b, alpha_m = fit.laws["baseline"].alpha, fit.laws["modern"].alpha
    return (alpha_m - alpha_b) / alpha_b


def _loss_exponent(points: list[FrontierPoint]) -> float:
    return loss_drift_exponent([p.budget for p in points], [p.arm for p in points], [p.loss for p in points])


def rests_on(frontier: list[FrontierPoint], main: Estimate, basis: str, label: str, direction: str | None,
             margin: float) -> list[str]:
    """What a decided label rests on: each budget (and, on the equal-loss basis, each
    frontier point) without which its drift's point estimate crosses to the other side."""
    if label not in (SCALE_DEPENDENT, SCALE_INVARIANT) or basis not in (FITTED_LAW, EQUAL_LOSS):
        return []
    if basis == EQUAL_LOSS:  # the equal-loss drift reads bracketed points only
        frontier = [p for p in frontier if p.bracketed is not False]
    exponent = (lambda points: _fitted_exponent(points, main)) if basis == FITTED_LAW else _loss_exponent
    found = []
    for budget in sorted({p.budget for p in frontier}):
        if crosses(exponent([p for p in frontier if p.budget != budget]), label, direction, margin):
            found.append(f"the {budget:.3g} FLOPs budget")
    if basis == EQUAL_LOSS:
        for point in frontier:
            if crosses(exponent([p for p in frontier if p is not point]), label, direction, margin):
                found.append(f"the {point.arm} frontier point at {point.budget:.3g} FLOPs")
    return found
