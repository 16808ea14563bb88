"""Compute-equivalent gain: how many times more compute the baseline needs.

From the fitted laws L_arm(C) = E_arm + A_arm·C^(−α_arm):

    C_baseline(L) = (A_b / (L − E_b))^(1/α_b)          compute the baseline needs for loss L
    CEG(C)        = C_baseline(L_modern(C)) / C

CEG is undefined (NaN) where L_modern(C) ≤ E_b: the baseline never gets there. With a
shared E this cannot happen; with E per arm it can at large C.

``ceg_at_loss`` is the model-free variant of the reference works: interpolate each
arm's measured frontier (log C linear in loss between neighbouring budgets) to find
the compute each needs for a target loss, and take baseline / modern.
``loss_drift_exponent`` reads the CEG drift off those equal-loss CEGs alone: the slope
of log CEG against log C. It needs no law, so it still says something where the
frontier is not a power law (a fit at a bound, which withholds the label).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .frontier import ARMS, FrontierPoint


@dataclass(frozen=True)
class CEGPoint:
    """CEG at one compute, with its 95 % bootstrap interval."""

    compute: float
    ceg: float
    low: float
    high: float
    extrapolated: bool  # outside the range of measured budgets


def compute_to_reach(law, loss):
    """C(L) = (A / (L − E))^(1/α): the compute a law needs to reach ``loss``; NaN if L ≤ E.

    ``law`` has attributes E, A, alpha (floats, or arrays that broadcast with ``loss``).
    """
    gap = np.asarray(loss, dtype=float) - law.E
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_compute = (np.log(law.A) - np.log(np.where(gap > 0, gap, np.nan))) / law.alpha
        return np.exp(log_compute)


def compute_equivalent_gain(baseline, modern, compute):
    """CEG(C) = C_baseline(L_modern(C)) / C, NaN where L_modern(C) ≤ E_baseline."""
    compute = np.asarray(compute, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        modern_loss = modern.E + np.exp(np.log(modern.A) - modern.alpha * np.log(compute))
        return compute_to_reach(baseline, modern_loss) / compute


ROUND_OFF = 1e-12  # relative: losses this close are the same loss


def interpolated_computes(budgets: Iterable[float], losses: Iterable[float], targets) -> np.ndarray:
    """Compute at which a measured frontier first reaches each of ``targets`` (losses).

    Walks the frontier in order of budget and interpolates log C linearly in loss on
    the first segment that crosses a target. NaN where a target lies outside the
    measured frontier (never reached, or already beaten at the smallest budget).
    """
    order = np.argsort(np.asarray(budgets, dtype=float))
    log_c = np.log(np.asarray(budgets, dtype=float)[order])
    loss = np.asarray(losses, dtype=float)[order]
    targets = np.atleast_1d(np.asarray(targets, dtype=float))
    out = np.full(len(targets), np.nan)
    if len(loss) == 0:
        return out
    tolerance = ROUND_OFF * np.abs(targets)  # a target at a frontier point, up to round-off
    at_start = np.abs(loss[0] - targets) <= tolerance
    out[at_start] = np.exp(log_c[0])
    if len(loss) > 1:
        crossed = loss[None, 1:] <= (targets + tolerance)[:, None]  # (targets, segments)
        i = np.argmax(crossed, axis=1) + 1  # the first segment's end point
        walk = ~at_start & (loss[0] >= targets) & crossed.any(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):  # rows that do not walk
            slope = (log_c[i - 1] - log_c[i]) / (loss[i - 1] - loss[i])
            fraction = np.clip(targets - loss[i], 0.0, loss[i - 1] - loss[i])
        out[walk] = np.exp((slope * fraction + log_c[i])[walk])
    return out


def interpolated_compute(budgets: Iterable[float], losses: Iterable[float], target_loss: float) -> float:
    """``interpolated_computes`` of one target loss."""
    return float(interpolated_computes(budgets, losses, [target_loss])[0])


def ceg_at_loss(frontier: Iterable[FrontierPoint], target_loss: float) -> float:
    """C_baseline / C_modern to reach ``target_loss``, from the measured frontiers alone.

    NaN if either arm's frontier does not reach the target inside its measured range.
    """
    frontier = list(frontier)
    needed = {}
    for arm in ARMS:
        mine = [p for p in frontier if p.arm == arm]
        needed[arm] = interpolated_compute([p.budget for p in mine], [p.loss for p in mine], target_loss)
    return needed["baseline"] / needed["modern"]


@dataclass(frozen=True)
class LossCEGPoint:
    """CEG at a fixed target loss (reference-work style), with its 95 % bootstrap interval."""

    target_loss: float
    ceg: float
    low: float
    high: float


def loss_targets(frontier: Iterable[FrontierPoint]) -> list[float]:
    """The baseline's frontier losses that the modern arm's frontier spans, largest first."""
    frontier = list(frontier)
    modern = [p.loss for p in frontier if p.arm == "modern"]
    if not modern:
        return []
    return sorted((p.loss for p in frontier if p.arm == "baseline" and min(modern) <= p.loss <= max(modern)),
                  reverse=True)


def ceg_at_losses(frontier: Iterable[FrontierPoint], targets, replicates: np.ndarray, interval,
                  max_missing: float = 0.1):
    """CEG at every target loss from the measured frontier, and its interval over the
    bootstrap ``replicates`` (shape (n_points, n_boot), in ``frontier`` order) with the
    targets held fixed. ``interval(samples)`` gives (low, high) along axis 0.

    A target that more than ``max_missing`` of the replicate frontiers do not reach (a
    loss at a frontier's edge: its replicates fall on either side of it) is left out: an
    interval from the rest would be one-sided — the point could lie outside it."""
    frontier = list(frontier)
    arms = np.array([p.arm for p in frontier])
    budgets = np.array([p.budget for p in frontier])
    base, modern = arms == "baseline", arms == "modern"

    def ratio(losses, target):
        return (interpolated_compute(budgets[base], losses[base], target)
                / interpolated_compute(budgets[modern], losses[modern], target))

    points = []
    for target in targets:
        samples = np.array([ratio(column, target) for column in replicates.T])
        if len(samples) and np.mean(~np.isfinite(samples)) > max_missing:
            continue
        low, high = interval(samples)
        points.append(LossCEGPoint(float(target), float(ceg_at_loss(frontier, target)), float(low), float(high)))
    return tuple(points)


def interpolated_loss(budgets, losses, compute: float) -> float:
    """A measured frontier's loss at ``compute``: linear in log C between its neighbouring
    budgets (exact at a budget), NaN outside its range of budgets."""
    budgets, losses = np.asarray(budgets, dtype=float), np.asarray(losses, dtype=float)
    if not len(budgets) or not budgets.min() <= compute <= budgets.max():
        return np.nan
    order = np.argsort(budgets)
    return float(np.interp(np.log(compute), np.log(budgets[order]), losses[order]))


def frontier_ceg(budgets, arms, losses, compute: float) -> float:
    """CEG(C) = C_baseline(L_modern(C)) / C from the measured frontiers alone: the compute
    the baseline's frontier needs (interpolated) for the modern arm's loss at C (read off
    its frontier, ``interpolated_loss``). NaN where C lies outside the modern arm's budgets
    or the baseline's frontier does not span that loss: a measured CEG never implies a
    baseline compute beyond the baseline's runs."""
    budgets, losses, arms = np.asarray(budgets, dtype=float), np.asarray(losses, dtype=float), np.asarray(arms)
    modern, base = arms == "modern", arms == "baseline"
    target = interpolated_loss(budgets[modern], losses[modern], compute)
    if not np.isfinite(target):
        return np.nan
    return interpolated_compute(budgets[base], losses[base], target) / compute


# the equal-loss CEGs a model-free drift is read off: at least this many, spanning at
# least this factor of compute
LOSS_DRIFT_MIN_POINTS = 3
LOSS_DRIFT_MIN_SPAN = 2.0


def equal_loss_cegs(budgets, arms, losses) -> tuple[np.ndarray, np.ndarray]:
    """(compute, CEG) pairs from the measured frontiers alone, CEG(C) = C_baseline(L)/C
    where the modern arm reaches loss L at C: at each modern point whose loss the
    baseline's frontier spans, and at each baseline point's loss where the modern
    frontier spans it (C then the interpolated modern compute)."""
    budgets, losses = np.asarray(budgets, dtype=float), np.asarray(losses, dtype=float)
    base, modern = np.asarray(arms) == "baseline", np.asarray(arms) == "modern"

    def reached(arm, targets):  # the compute an arm's frontier needs for each target loss
        return interpolated_computes(budgets[arm], losses[arm], targets)

    # every frontier point's loss, reached by both arms: its own budget and the other's
    computes = np.array([*budgets[modern], *reached(modern, losses[base])])
    cegs = np.array([*reached(base, losses[modern]), *budgets[base]]) / computes
    keep = np.isfinite(computes) & np.isfinite(cegs) & (cegs > 0)
    return computes[keep], cegs[keep]


def loss_drift_exponent(budgets, arms, losses) -> float:
    """r with CEG ∝ C^r, the least-squares slope of log CEG on log C over
    ``equal_loss_cegs``; NaN with fewer than ``LOSS_DRIFT_MIN_POINTS`` of them or a span
    of compute under ``LOSS_DRIFT_MIN_SPAN``."""
    computes, cegs = equal_loss_cegs(budgets, arms, losses)
    if len(computes) < LOSS_DRIFT_MIN_POINTS or computes.max() < LOSS_DRIFT_MIN_SPAN * computes.min():
        return np.nan
    return float(np.polyfit(np.log(computes), np.log(cegs), 1)[0])
