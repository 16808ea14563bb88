"""``analyze_innovation``: from the runs of one innovation in one tier to its ``Analysis``.

    runs ─▶ frontier L*(C) per arm ─▶ joint fit L* = E + A·C^(−α) ─▶ bootstrap
         ─▶ Δα = α_modern − α_baseline with a 95 % interval ─▶ label, CEG(C)
         ─▶ sensitivity refits (fragile?), decision estimate (if inconclusive),
            CEG at target losses, wall-clock CEG, fit bands

Everything it returns is a frozen dataclass of plain types, so
``dataclasses.asdict(analysis)`` serialises to JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .bootstrap import has_replicated_cells
from .ceg import CEGPoint, LossCEGPoint, ceg_at_losses, compute_equivalent_gain, loss_targets
from .decision import (
    BUDGET_FACTORS,
    DECIDED_SHARE,
    N_SIMS,
    SEED_FACTORS,
    Decision,
    decision_estimate,
)
from .estimate import CONFIDENCE, estimate, percentile_interval, stacked
from .fit import DEFAULT_F_SCALE, JointFit, PowerLaw, ScalingFit
from .frontier import (
    ARMS,
    AnalysisError,
    FrontierPoint,
    compute_frontier,
    drop_failed,
    ladders_from_runs,
    validate_runs,
)
from .label import INCONCLUSIVE
from .sensitivity import SensitivityResult, changed_variants, sensitivity
from .wall import wall_time_ratio

FIT_BAND_POINTS = 40  # log-spaced computes per arm in ``fit_bands``


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
    ceg_at_loss: tuple[LossCEGPoint, ...]  # reference-work style, model-free
    wall_ceg: tuple[CEGPoint, ...] | None  # None without run timings
    fragile: bool  # some sensitivity variant reaches another label
    sensitivity: tuple[SensitivityResult, ...]
    decision: Decision | None  # only for an inconclusive label
    fit_bands: dict  # arm -> [{"compute", "loss", "low", "high"}]
    n_runs: int
    n_failed: int
    n_boot: int
    n_boot_failed: int
    warnings: tuple[str, ...]
    method: dict

    def fit(self, arm: str) -> ScalingFit:
        """The fitted law of ``arm``."""
        return next(f for f in self.fits if f.arm == arm)


def _scaling_fits(point: JointFit, boot: list[JointFit]) -> tuple[ScalingFit, ...]:
    fits = []
    for arm in ARMS:
        law = point.laws[arm]
        alpha_low, alpha_high = map(float, percentile_interval(stacked(boot, arm, "alpha")))
        e_low, e_high = map(float, percentile_interval(stacked(boot, arm, "E")))
        fits.append(ScalingFit(arm, law.E, law.A, law.alpha, alpha_low, alpha_high, e_low, e_high))
    return tuple(fits)


def _replicate_laws(boot: list[JointFit]) -> dict[str, PowerLaw]:
    """Each arm's bootstrap laws as one PowerLaw of column vectors (n_boot, 1)."""
    return {arm: PowerLaw(*(stacked(boot, arm, field)[:, None] for field in ("E", "A", "alpha"))) for arm in ARMS}


def _ceg_points(point: JointFit, boot: list[JointFit], computes: np.ndarray, measured: tuple[float, float]):
    """CEG at each compute with its bootstrap interval, its replicates (n_boot, n_computes),
    and warnings where undefined."""
    ceg = compute_equivalent_gain(point.laws["baseline"], point.laws["modern"], computes)
    laws = _replicate_laws(boot)
    replicate_ceg = compute_equivalent_gain(laws["baseline"], laws["modern"], computes[None, :])
    low, high = percentile_interval(replicate_ceg)
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
    return points, replicate_ceg.reshape(len(boot), len(computes)), warnings


def _wall_ceg(ceg: tuple[CEGPoint, ...], replicate_ceg: np.ndarray, ratio: float, ratio_replicates: np.ndarray):
    """CEG(C) × the baseline/modern wall-time ratio, intervals from paired replicates."""
    paired = replicate_ceg * ratio_replicates[: len(replicate_ceg), None]
    low, high = percentile_interval(paired)
    return tuple(
        CEGPoint(p.compute, p.ceg * ratio, float(lo), float(hi), p.extrapolated) for p, lo, hi in zip(ceg, low, high)
    )


def _fit_bands(point: JointFit, boot: list[JointFit], computes: Sequence[float]) -> dict:
    """Each arm's fitted loss with its 95 % band on a log grid spanning ``computes``."""
    grid = np.geomspace(min(computes), max(computes), FIT_BAND_POINTS)
    laws = _replicate_laws(boot)
    bands = {}
    for arm in ARMS:
        low, high = percentile_interval(laws[arm].loss(grid[None, :]).reshape(len(boot), len(grid)))
        bands[arm] = [
            {"compute": float(c), "loss": float(point.laws[arm].loss(c)), "low": float(lo), "high": float(hi)}
            for c, lo, hi in zip(grid, low, high)
        ]
    return bands


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
    check_sensitivity: bool = True,
) -> Analysis:
    """Frontier, scaling fits, Δα interval, label, CEG(C) and the checks around them
    for one innovation in one tier.

    ``runs``: columns arm ("baseline" | "modern"), budget (FLOPs), n_params, seed,
    final_loss; optionally status (runs not "ok" are left out and counted) and
    train_time_s (for the wall-clock CEG). ``margin``: the equivalence margin on Δα for
    a ``scale-invariant`` verdict. Intervals are 95 % bootstrap percentiles from
    ``n_boot`` replicates drawn with ``numpy.random.default_rng(seed)``; the same input
    and seed give the same result. ``shared_E=False`` fits an irreducible loss per arm;
    ``f_scale`` is the Huber threshold on log residuals. ``check_sensitivity=False``
    skips the sensitivity refits (``fragile`` is then False, ``sensitivity`` empty).
    """
    if not margin >= 0:
        raise ValueError(f"margin must be a non-negative number, got {margin}")
    if n_boot < 0:
        raise ValueError(f"n_boot must be non-negative, got {n_boot}")
    if any(not c > 0 for c in extrapolate_to):
        raise ValueError(f"extrapolate_to must hold positive computes, got {list(extrapolate_to)}")
    runs, n_failed = drop_failed(runs)
    warnings = [f"{n_failed} failed run(s) left out of the analysis"] if n_failed else []
    runs = validate_runs(runs)
    ladders = ladders_from_runs(runs)
    frontier, frontier_warnings = compute_frontier(ladders)
    warnings += frontier_warnings
    losses = np.array([p.loss for p in frontier])
    if not np.all(np.isfinite(losses) & (losses > 0)):
        bad = [f"{p.arm} @ {p.budget:.3g} FLOPs" for p in frontier if not p.loss > 0]
        raise AnalysisError(f"compute-optimal loss is not positive at {', '.join(bad)}")

    main = estimate(ladders, frontier, margin=margin, n_boot=n_boot, seed=seed, shared_E=shared_E, f_scale=f_scale)
    point, boot = main.point, main.boot
    warnings += _fit_warnings(point, frontier) + main.warnings
    if main.n_failed:
        warnings.append(f"{main.n_failed} of {n_boot} bootstrap fits failed and were dropped")

    variants = sensitivity(frontier, main, margin=margin) if check_sensitivity else ()
    changed = changed_variants(main, variants)
    if changed:
        warnings.append(f"fragile: the label changes with {', '.join(changed)}")
    decision = (decision_estimate(ladders, frontier, main, margin=margin, seed=seed)
                if main.label == INCONCLUSIVE else None)

    budgets = sorted({p.budget for p in frontier})
    computes = np.array(sorted(set(budgets) | {float(c) for c in extrapolate_to}))
    ceg_points, replicate_ceg, ceg_warnings = _ceg_points(point, boot, computes, (budgets[0], budgets[-1]))
    warnings += ceg_warnings
    loss_points = ceg_at_losses(frontier, loss_targets(frontier), main.replicates, percentile_interval)
    ratio, ratio_replicates, wall_warning = wall_time_ratio(runs, np.random.default_rng([seed, 1]), n_boot)
    warnings += [wall_warning] if wall_warning else []
    wall_ceg = _wall_ceg(ceg_points, replicate_ceg, ratio, ratio_replicates) if ratio is not None else None

    return Analysis(
        label=main.label,
        direction=main.direction,
        delta_alpha=main.delta_alpha,
        delta_alpha_low=main.low,
        delta_alpha_high=main.high,
        margin=float(margin),
        shared_E=shared_E,
        fits=_scaling_fits(point, boot),
        frontier=tuple(frontier),
        ceg=ceg_points,
        ceg_at_loss=loss_points,
        wall_ceg=wall_ceg,
        fragile=bool(changed),
        sensitivity=variants,
        decision=decision,
        fit_bands=_fit_bands(point, boot, computes),
        n_runs=len(runs),
        n_failed=n_failed,
        n_boot=n_boot,
        n_boot_failed=main.n_failed,
        warnings=tuple(warnings),
        method={
            "fit": "huber-log",
            "f_scale": f_scale,
            "n_boot": n_boot,
            "seed": seed,
            "ci": CONFIDENCE,
            "shared_E": shared_E,
            "margin": margin,
            "extrapolate_to": [float(c) for c in extrapolate_to],
            "bootstrap": (
                "seed residuals pooled per ladder" if has_replicated_cells(ladders) else "fit residuals"
            ),
            "t_dof": main.dof if np.isfinite(main.dof) else None,
            "sensitivity": [v.variant for v in variants],
            "decision": {"seed_factors": list(SEED_FACTORS), "budget_factors": list(BUDGET_FACTORS),
                         "decided_share": DECIDED_SHARE, "n_sims": N_SIMS},
            "ceg_at_loss_targets": "baseline frontier losses within the modern frontier's range",
            "wall_ceg": "CEG × median over budgets of (median baseline / median modern train_time_s)",
        },
    )
