"""Sensitivity of the verdict: refit under reasonable changes of method and data.

The reference work saw its key exponent move from 0.063 to 0.080 with the fit window.
Here every verdict is refitted

* without the smallest budget, and without the largest (the fit window);
* with the irreducible loss E held at the full fit's value instead of fitted;
* with E per arm instead of shared (or shared instead of per arm).

A full bootstrap per variant would cost four times the analysis, so a variant's
interval is the main bootstrap interval moved to the variant's estimate and scaled
by the ratio of their delta-method standard errors (same per-point noise, the
bootstrap variance of each frontier point):

    [Δα_v − (Δα − low)·s_v/s,  Δα_v + (high − Δα)·s_v/s]

It keeps the bootstrap's t-tails and asymmetry, and a variant that changes nothing
gets the main interval back exactly. The drift exponent r = Δα/α_b the label tests
gets the same treatment. A verdict is *fragile* when a variant flips it
(scale-dependent ↔ scale-invariant, or the direction reverses); a variant that only
weakens it to inconclusive is reported (``weakened_variants``) but is no badge: with
realistic noise almost every decided verdict weakens under some variant, and a badge
on nearly all verdicts says nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .drift import drift_exponent
from .estimate import Estimate, delta_alpha_se
from .fit import ScalingLawFitter
from .frontier import ARMS, MIN_BUDGETS, FrontierPoint
from .label import INCONCLUSIVE, is_flip, label_from_drift

DROP_SMALLEST = "drop smallest budget"
DROP_LARGEST = "drop largest budget"
E_FIXED = "E fixed"
E_PER_ARM = "E per arm"
E_SHARED = "E shared"


@dataclass(frozen=True)
class SensitivityResult:
    """The verdict of one variant; label None (and a note) when it could not be fitted."""

    variant: str
    label: str | None
    direction: str | None
    delta_alpha: float | None
    low: float | None
    high: float | None
    note: str | None = None


def _too_few_budgets(frontier: list[FrontierPoint]) -> str | None:
    for arm in ARMS:
        n = len({p.budget for p in frontier if p.arm == arm})
        if n < MIN_BUDGETS:
            return f"arm '{arm}' would keep {n} budget(s); a fit needs {MIN_BUDGETS}"
    return None


def _refit(name, frontier, keep, main: Estimate, variance, main_se, margin, **options) -> SensitivityResult:
    points = [p for p, k in zip(frontier, keep) if k]
    problem = _too_few_budgets(points)
    if problem is not None:
        return SensitivityResult(name, None, None, None, None, None, problem)
    fitter = ScalingLawFitter(ARMS, [p.arm for p in points], [p.budget for p in points],
                              f_scale=main.fitter.f_scale, **options)
    fit = fitter.fit([p.loss for p in points], start=fitter.params_from_laws(main.point.laws))
    if not fit.converged:
        return SensitivityResult(name, None, None, None, None, None, "the fit did not converge")
    delta = fit.laws["modern"].alpha - fit.laws["baseline"].alpha
    scale = delta_alpha_se(fitter, fit, variance[keep]) / main_se if main_se > 0 else 1.0
    low = delta - (main.delta_alpha - main.low) * scale
    high = delta + (main.high - main.delta_alpha) * scale
    r = float(drift_exponent(fit.laws["baseline"].alpha, fit.laws["modern"].alpha))
    r_scale = scale * (main.point.laws["baseline"].alpha / fit.laws["baseline"].alpha)
    label, direction = label_from_drift(
        r - (main.drift - main.drift_low) * r_scale, r + (main.drift_high - main.drift) * r_scale, margin,
        dependent=(r - (main.drift - main.drift_low99) * r_scale, r + (main.drift_high99 - main.drift) * r_scale))
    return SensitivityResult(name, label, direction, float(delta), float(low), float(high))


def sensitivity(frontier: list[FrontierPoint], main: Estimate, *, margin: float) -> tuple[SensitivityResult, ...]:
    """Every variant's verdict; ``main`` is the full analysis's estimate on ``frontier``."""
    budgets = np.array([p.budget for p in frontier])
    everything = np.ones(len(frontier), dtype=bool)
    variance = main.log_variances()
    main_se = delta_alpha_se(main.fitter, main.point, variance)
    shared_E, fixed_E = main.fitter.shared_E, main.fitter.fixed_E
    common = {"main": main, "variance": variance, "main_se": main_se, "margin": margin}
    results = [
        _refit(DROP_SMALLEST, frontier, budgets != budgets.min(), shared_E=shared_E, fixed_E=fixed_E, **common),
        _refit(DROP_LARGEST, frontier, budgets != budgets.max(), shared_E=shared_E, fixed_E=fixed_E, **common),
    ]
    if fixed_E is not None:  # E fixed already (E = 0, or given): the other E is fitted, per arm
        results.append(SensitivityResult(E_FIXED, None, None, None, None, None,
                                         f"E is fixed by the law already (E = {fixed_E:g})"))
        results.append(_refit(E_PER_ARM, frontier, everything, shared_E=False, **common))
    elif shared_E:
        results.append(_refit(E_FIXED, frontier, everything, shared_E=True,
                              fixed_E=main.point.laws["baseline"].E, **common))
        results.append(_refit(E_PER_ARM, frontier, everything, shared_E=False, **common))
    else:
        results.append(SensitivityResult(E_FIXED, None, None, None, None, None,
                                         "E is fitted per arm: no single E to hold fixed"))
        results.append(_refit(E_SHARED, frontier, everything, shared_E=True, **common))
    return tuple(results)


def changed_variants(main: Estimate, results: tuple[SensitivityResult, ...]) -> list[str]:
    """The variants that flip ``main``'s verdict (dependent ↔ invariant, or the direction
    reverses): the ones that make it fragile."""
    return [r.variant for r in results
            if r.label is not None and is_flip((main.label, main.direction), (r.label, r.direction))]


def weakened_variants(main: Estimate, results: tuple[SensitivityResult, ...]) -> list[str]:
    """The variants under which ``main``'s decided verdict weakens to inconclusive."""
    return [r.variant for r in results
            if r.label == INCONCLUSIVE and main.label != INCONCLUSIVE]
