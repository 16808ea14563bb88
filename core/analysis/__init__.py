"""Analysis: from the runs of one innovation in one tier to a verdict.

    runs ─▶ frontier L*(C) per arm ─▶ joint fit L* = E + A·C^(−α) ─▶ bootstrap
         ─▶ Δα = α_modern − α_baseline with a 95 % interval ─▶ label, CEG(C)

``analyze_innovation`` is the one entry point; everything it returns is a frozen
dataclass of plain types, so ``dataclasses.asdict(analysis)`` serialises to JSON.
"""

from __future__ import annotations

import warnings as pywarnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .ceg import CEGPoint, ceg_at_loss, compute_equivalent_gain, compute_to_reach
from .fit import DEFAULT_F_SCALE, JointFit, PowerLaw, ScalingFit, ScalingLawFitter
from .frontier import (
    ARMS,
    AnalysisError,
    FrontierPoint,
    compute_frontier,
    draw_seed_noise,
    has_replicated_cells,
    ladders_from_runs,
    replicate_frontier,
    residual_pools,
    single_seed_warning,
    t_scale,
    validate_runs,
    welch_satterthwaite_dof,
)
from .label import label_from_interval

__all__ = [
    "Analysis",
    "AnalysisError",
    "CEGPoint",
    "FrontierPoint",
    "ScalingFit",
    "analyze_innovation",
    "ceg_at_loss",
    "compute_equivalent_gain",
    "compute_to_reach",
    "label_from_interval",
]

CONFIDENCE = 0.95
ONE_SEED_WARNING = "one seed per cell: intervals from a residual bootstrap, not independent seeds"


@dataclass(frozen=True)
class Analysis:
    """Everything measured about one innovation in one tier."""

    label: str
    direction: str | None
    delta_alpha: float
    delta_alpha_low: float
    delta_alpha_high: float
    margin: float
    shared_E: bool
    fits: tuple[ScalingFit, ...]
    frontier: tuple[FrontierPoint, ...]
    ceg: tuple[CEGPoint, ...]
    n_runs: int
    n_boot: int
    n_boot_failed: int
    warnings: tuple[str, ...]
    method: dict

    def fit(self, arm: str) -> ScalingFit:
        """The fitted law of ``arm``."""
        return next(f for f in self.fits if f.arm == arm)

    def ceg_at_loss(self, target_loss: float) -> float:
        """Model-free CEG at ``target_loss`` from the measured frontiers (see ``ceg.ceg_at_loss``)."""
        return ceg_at_loss(self.frontier, target_loss)


def _percentile_interval(samples: np.ndarray, axis: int = 0):
    """Central ``CONFIDENCE`` percentile interval, ignoring NaN; NaN if no samples."""
    samples = np.asarray(samples, dtype=float)
    if samples.shape[axis] == 0:
        shape = np.delete(samples.shape, axis)
        return np.full(shape, np.nan), np.full(shape, np.nan)
    tail = 100 * (1 - CONFIDENCE) / 2
    with pywarnings.catch_warnings():
        pywarnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column gives NaN
        low, high = np.nanpercentile(samples, [tail, 100 - tail], axis=axis)
    return low, high


def _bootstrap_frontiers(
    ladders, losses: np.ndarray, fitter: ScalingLawFitter, point: JointFit, rng, n_boot: int
):
    """Replicates of the frontier, shape (n_points, n_boot), their t degrees of freedom,
    and warnings.

    With replicated seeds: cells resampled from their ladder's seed residuals, all
    noise of one replicate scaled by √(ν/χ²_ν), ν the Welch–Satterthwaite degrees of
    freedom of Δα over the ladders' noise estimates — the bootstrap counterpart of a
    Welch t-interval (without it, 3 seeds per cell gave ~92 % coverage for a nominal
    95 %). With one seed per cell: a residual bootstrap of the fit.
    """
    if n_boot == 0:
        return np.empty((len(ladders), 0)), np.inf, []
    if not has_replicated_cells(ladders):
        replicates, dof = fitter.residual_bootstrap_losses(point, rng, n_boot)
        return replicates, dof, [ONE_SEED_WARNING]
    pools = residual_pools(ladders)
    noise = draw_seed_noise(ladders, pools, rng, n_boot)
    log_variance = np.var(replicate_frontier(ladders, noise), axis=1) / losses**2
    dof = welch_satterthwaite_dof(
        fitter.alpha_difference_sensitivity(point), log_variance, [pool.dof for pool in pools]
    )
    replicates = replicate_frontier(ladders, noise, t_scale(dof, rng, n_boot))
    return replicates, dof, single_seed_warning(ladders)


def _bootstrap_fits(fitter: ScalingLawFitter, point: JointFit, replicates: np.ndarray) -> list[JointFit]:
    """Refit every replicate frontier from the point estimate; keep those that converge."""
    fits = []
    for losses in replicates.T:
        if np.all(np.isfinite(losses)) and np.all(losses > 0):
            fit = fitter.fit(losses, start=point.params)
            if fit.converged:
                fits.append(fit)
    return fits


def _stacked(fits: list[JointFit], arm: str, field: str) -> np.ndarray:
    return np.array([getattr(f.laws[arm], field) for f in fits], dtype=float)


def _scaling_fits(point: JointFit, boot: list[JointFit]) -> tuple[ScalingFit, ...]:
    fits = []
    for arm in ARMS:
        law = point.laws[arm]
        alpha_low, alpha_high = map(float, _percentile_interval(_stacked(boot, arm, "alpha")))
        e_low, e_high = map(float, _percentile_interval(_stacked(boot, arm, "E")))
        fits.append(ScalingFit(arm, law.E, law.A, law.alpha, alpha_low, alpha_high, e_low, e_high))
    return tuple(fits)


def _ceg_points(point: JointFit, boot: list[JointFit], computes: np.ndarray, measured: tuple[float, float]):
    """CEG at each compute with its bootstrap interval, and warnings where undefined."""
    ceg = compute_equivalent_gain(point.laws["baseline"], point.laws["modern"], computes)
    replicate_laws = {
        arm: PowerLaw(*(_stacked(boot, arm, field)[:, None] for field in ("E", "A", "alpha"))) for arm in ARMS
    }
    replicate_ceg = compute_equivalent_gain(
        replicate_laws["baseline"], replicate_laws["modern"], computes[None, :]
    )
    low, high = _percentile_interval(replicate_ceg)
    warnings = []
    for i, compute in enumerate(computes):
        if np.isnan(ceg[i]):
            warnings.append(
                f"CEG undefined at {compute:.3g} FLOPs: modern loss "
                f"{point.laws['modern'].loss(compute):.4g} is at or below the baseline's "
                f"irreducible loss E = {point.laws['baseline'].E:.4g}"
            )
        undefined = int(np.isnan(replicate_ceg[:, i]).sum()) if len(boot) else 0
        if undefined and not np.isnan(ceg[i]):
            warnings.append(
                f"CEG at {compute:.3g} FLOPs undefined in {undefined} of {len(boot)} bootstrap "
                "replicates (modern loss below the baseline's E); interval from the rest"
            )
    points = tuple(
        CEGPoint(float(c), float(g), float(lo), float(hi), bool(c < measured[0] or c > measured[1]))
        for c, g, lo, hi in zip(computes, ceg, low, high)
    )
    return points, warnings


def _fit_warnings(point: JointFit, frontier: list[FrontierPoint]) -> list[str]:
    """Warn where E sits on its upper bound, the smallest loss it must stay below."""
    groups = {"shared E": ARMS} if point.shared_E else {f"E of arm '{arm}'": (arm,) for arm in ARMS}
    warnings = []
    for who, arms in groups.items():
        smallest = min(p.loss for p in frontier if p.arm in arms)
        if point.laws[arms[0]].E > smallest * (1 - 1e-6):
            warnings.append(
                f"{who} reached its bound (the smallest frontier loss {smallest:.4g}): the "
                "frontier shows no flattening towards an irreducible loss; α is poorly determined"
            )
    return warnings


def analyze_innovation(
    runs: pd.DataFrame,
    *,
    margin: float,
    n_boot: int = 200,
    seed: int = 0,
    extrapolate_to: Sequence[float] = (1e18, 1e21, 2e23),
    shared_E: bool = True,
    f_scale: float = DEFAULT_F_SCALE,
) -> Analysis:
    """Frontier, scaling fits, Δα interval, label and CEG(C) for one innovation in one tier.

    ``runs``: successful runs with columns arm ("baseline" | "modern"), budget (FLOPs),
    n_params, seed, final_loss. ``margin``: the equivalence margin on Δα for a
    ``scale-invariant`` verdict. Intervals are 95 % bootstrap percentiles from
    ``n_boot`` replicates drawn with ``numpy.random.default_rng(seed)``; the same input
    and seed give the same result. ``shared_E=False`` fits an irreducible loss per arm;
    ``f_scale`` is the Huber threshold on log residuals.
    """
    if not margin >= 0:
        raise ValueError(f"margin must be a non-negative number, got {margin}")
    if n_boot < 0:
        raise ValueError(f"n_boot must be non-negative, got {n_boot}")
    if any(not c > 0 for c in extrapolate_to):
        raise ValueError(f"extrapolate_to must hold positive computes, got {list(extrapolate_to)}")
    runs = validate_runs(runs)
    ladders = ladders_from_runs(runs)
    frontier, warnings = compute_frontier(ladders)
    losses = np.array([p.loss for p in frontier])
    if not np.all(np.isfinite(losses) & (losses > 0)):
        bad = [f"{p.arm} @ {p.budget:.3g} FLOPs" for p in frontier if not p.loss > 0]
        raise AnalysisError(f"compute-optimal loss is not positive at {', '.join(bad)}")

    fitter = ScalingLawFitter(
        ARMS, [p.arm for p in frontier], [p.budget for p in frontier], shared_E=shared_E, f_scale=f_scale
    )
    point = fitter.fit(losses)
    if not point.converged:
        raise AnalysisError(
            "the scaling-law fit did not converge from any of its "
            f"{len(fitter.starts(losses))} starting points"
        )
    warnings += _fit_warnings(point, frontier)

    rng = np.random.default_rng(seed)
    replicates, dof, boot_warnings = _bootstrap_frontiers(ladders, losses, fitter, point, rng, n_boot)
    warnings += boot_warnings
    boot = _bootstrap_fits(fitter, point, replicates)
    n_failed = n_boot - len(boot)
    if n_failed:
        warnings.append(f"{n_failed} of {n_boot} bootstrap fits failed and were dropped")

    delta_alpha = point.laws["modern"].alpha - point.laws["baseline"].alpha
    boot_delta = _stacked(boot, "modern", "alpha") - _stacked(boot, "baseline", "alpha")
    delta_low, delta_high = _percentile_interval(boot_delta)
    label, direction = label_from_interval(float(delta_low), float(delta_high), margin)

    budgets = sorted({p.budget for p in frontier})
    computes = np.array(sorted(set(budgets) | {float(c) for c in extrapolate_to}))
    ceg_points, ceg_warnings = _ceg_points(point, boot, computes, (budgets[0], budgets[-1]))
    warnings += ceg_warnings

    return Analysis(
        label=label,
        direction=direction,
        delta_alpha=float(delta_alpha),
        delta_alpha_low=float(delta_low),
        delta_alpha_high=float(delta_high),
        margin=float(margin),
        shared_E=shared_E,
        fits=_scaling_fits(point, boot),
        frontier=tuple(frontier),
        ceg=ceg_points,
        n_runs=len(runs),
        n_boot=n_boot,
        n_boot_failed=n_failed,
        warnings=tuple(warnings),
        method={
            "fit": "huber-log",
            "f_scale": f_scale,
            "n_boot": n_boot,
            "seed": seed,
            "ci": CONFIDENCE,
            "shared_E": shared_E,
            "bootstrap": (
                "seed residuals pooled per ladder" if has_replicated_cells(ladders) else "fit residuals"
            ),
            "t_dof": dof if np.isfinite(dof) else None,
        },
    )
