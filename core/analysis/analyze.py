"""``analyze_innovation``: from the runs of one innovation in one tier to its ``Analysis``.

    runs (less failed runs and runs that did not learn) ─▶ frontier L*(C) per arm
         ─▶ joint fit L* = E + A·C^(−α) (E shared; where it sits at a bound, the pure
            power law E = 0; or a given E) ─▶ bootstrap
         ─▶ Δα = α_modern − α_baseline and the CEG drift Δα/α_b with 95 % intervals
         ─▶ label from the drift; where the law is no result (a parameter at a bound,
            or a misfit beyond the noise), from the drift of the measured frontiers'
            equal-loss CEGs instead; withheld where the frontier is not bracketed, is
            within noise of its floor, or has no noise to resample ─▶ CEG(C)
         ─▶ what a decided label rests on (one budget or point left out), sensitivity
            refits (fragile: the label flips), decision estimate (if inconclusive), the
            headline CEG, CEG at target losses, wall-clock CEG, fit bands

Everything it returns is a frozen dataclass of plain types, so
``dataclasses.asdict(analysis)`` serialises to JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

# the "variant" a label that rests on the bootstrap's Monte-Carlo error weakens with: its
# words live in the leaf ``cegbench.standing``, which counts borderline labels by them
from cegbench.standing import ANOTHER_BOOTSTRAP_SEED

from .bootstrap import has_replicated_cells, residual_pools, valley_allowances
from .ceg import (
    CEGPoint,
    LossCEGPoint,
    ceg_at_losses,
    compute_equivalent_gain,
    equal_loss_cegs,
    frontier_ceg,
    loss_drift_exponent,
    loss_targets,
)
from .decision import (
    BUDGET_FACTORS,
    DECIDED_SHARE,
    N_SIMS,
    SEED_FACTORS,
    Decision,
    decision_estimate,
)
from .drift import MARGIN_SPAN, Drift, drift, exponent_margin
from .estimate import (
    BOOT_FAIL_SHARE,
    CONFIDENCE,
    DEPENDENT_CONFIDENCE,
    MODEL_FREE_BOOT_FACTOR,
    MONTE_CARLO_Z,
    NO_NOISE,
    PAIRED_SEEDS,
    PERCENTILE_LEVEL,
    Estimate,
    estimate,
    monte_carlo_interval,
    percentile_interval,
    stacked,
)
from .fit import DEFAULT_F_SCALE, MAX_CONTINUATIONS, MAX_NFEV, JointFit, PowerLaw, ScalingFit
from .frontier import (
    ARMS,
    AnalysisError,
    FrontierPoint,
    compute_frontier,
    drop_failed,
    drop_not_learned,
    ladders_from_runs,
    validate_runs,
)
from .label import EQUAL_LOSS, FITTED_LAW, INCONCLUSIVE, NO_BASIS, label_from_drift
from .one_out import rests_on
from .options import (
    check_fixed_E,
    check_options,
    options_method,
    target_loss_warning,
    within_window,
)
from .robust import robust_frontier
from .sensitivity import SensitivityResult, changed_variants, sensitivity, weakened_variants
from .wall import wall_time_ratio

FIT_BAND_POINTS = 40
MAX_EVALUATIONS = MAX_NFEV * (1 + MAX_CONTINUATIONS)  # of one solve, continuations included  # log-spaced computes per arm in ``fit_bands``
# A label is withheld when more than this share of the bootstrap fits sit at a bound or
# fail to converge: the interval is then shaped by the bounds, not by the data.
BOOT_AT_BOUND_SHARE = BOOT_FAIL_SHARE
# A frontier whose smallest loss is within this many standard deviations (its bootstrap
# noise) of the fitted irreducible loss is "within noise of its floor". 4, not 2: the gap
# carries E's error as well as the point's; at 2 the gpu tier's near-floor scenario (top
# budget one run's noise above E) was labelled in 2 of 40 planted draws at 0.01 nats, at 4
# in none of 80 (0.01 and 0.03 nats), and no clean draw of either tier changed.
FLOOR_SDS = 4.0
# ... or whose E's bootstrap interval reaches (within this fraction of) that loss
FLOOR_E_TOLERANCE = 1e-3
# A law is no result where it misfits the frontier beyond its noise: the χ² of its log
# residuals against the frontier points' bootstrap variances, per degree of freedom, has
# a p-value below this. The variances are themselves estimated from few seeds, so the
# ratio is referred to the F distribution with the bootstrap's t degrees of freedom
# (``Estimate.dof``) in its denominator, not to χ²: against χ² a true law (planted,
# 2 seeds per cell, 3 residual degrees of freedom per ladder) was rejected at p = 0.0005.
# On cpu v3 the straight-line (E = 0) laws misfit by χ²/dof of 13–1000 where the equal-loss
# CEGs stay level (inverse-sqrt-to-cosine: the law's drift 1.9× per 10×, the equal-loss
# CEGs 1.9–2.2× at every budget): a law that misses the points says nothing about Δα.
LACK_OF_FIT_P = 0.01
# the laws, by how E is set (``Analysis.law``)
SHARED_E_LAW = "shared E"
NO_E_LAW = "E = 0 (a pure power law over the measured range)"


@dataclass(frozen=True)
class Analysis:
    """Everything measured about one innovation in one tier."""

    label: str
    direction: str | None
    law: str  # which law was fitted: SHARED_E_LAW, NO_E_LAW or a given E ("E = 1.9 (given)")
    delta_alpha: float
    delta_alpha_low: float
    delta_alpha_high: float
    margin: float  # CEG drift factor over 100× of compute allowed for "scale-invariant"
    # the CEG drift per 10× of compute the label tests: 10^(Δα/α_b) from the fitted law,
    # or the equal-loss drift below (``label_basis``); NaN with a withheld label
    drift: float
    drift_low: float
    drift_high: float
    # the same drift read off the equal-loss CEGs of the measured frontiers (no law:
    # ``ceg.loss_drift_exponent``), shown even where the label is withheld; NaN with too
    # few equal-loss CEGs
    loss_drift: float
    loss_drift_low: float
    loss_drift_high: float
    # why the fitted law is not a result (no drift and no extrapolation from it); the
    # label then comes from the equal-loss drift, or is withheld (``label_basis``)
    withheld: tuple[str, ...]
    label_basis: str  # FITTED_LAW, EQUAL_LOSS or NO_BASIS (withheld: inconclusive)
    # what a decided label rests on: budgets (or frontier points) without which its drift's
    # point estimate crosses to the other side (``one_out``); such a label is not decided
    rests_on: tuple[str, ...]
    # the one CEG each innovation of a tier is quoted at: {"compute", "ceg", "low",
    # "high", "extrapolated", "basis", "note"} at the tier's headline compute
    headline: dict
    shared_E: bool
    fits: tuple[ScalingFit, ...]
    frontier: tuple[FrontierPoint, ...]
    ceg: tuple[CEGPoint, ...]
    ceg_at_loss: tuple[LossCEGPoint, ...]  # reference-work style, model-free
    equal_loss_cegs: tuple[dict, ...]  # {"compute", "ceg"}: the points the equal-loss drift is read off
    wall_ceg: tuple[CEGPoint, ...] | None  # None without run timings
    fragile: bool  # some sensitivity variant flips the label (dependent ↔ invariant, direction)
    weakened: tuple[str, ...]  # variants under which the decided label weakens to inconclusive
    sensitivity: tuple[SensitivityResult, ...]
    decision: Decision | None  # only for an inconclusive label
    fit_bands: dict  # arm -> [{"compute", "loss", "low", "high"}]
    n_runs: int
    n_failed: int
    n_not_learned: int  # runs left out because they did not learn (``cegbench.learning``)
    n_seeds: int  # seeds per (arm, budget, size) cell (the median over cells): what the intervals rest on
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


def implies_extrapolation(compute: float, ceg: float, ranges: dict[str, tuple[float, float]]) -> bool:
    """Whether CEG(C) = ``ceg`` at ``compute`` reaches beyond the measured runs: C outside
    the modern arm's budgets, or the baseline compute it implies, CEG × C, outside the
    baseline's (a 38× CEG at 1e17 implies ~4e18 baseline FLOPs, far past a largest run of
    3.2e16). ``ranges``: each arm's (smallest, largest) budget."""
    def within(value, arm):
        low, high = ranges[arm]
        return low * (1 - 1e-9) <= value <= high * (1 + 1e-9)
    return not (within(compute, "modern") and np.isfinite(ceg) and within(ceg * compute, "baseline"))


def _ceg_points(point: JointFit, boot: list[JointFit], computes: np.ndarray, ranges: dict):
    """CEG at each compute with its bootstrap interval (extrapolated where the compute it
    implies is, ``implies_extrapolation``), its replicates (n_boot, n_computes), and
    warnings where undefined."""
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
        CEGPoint(float(c), float(g), float(lo), float(hi), implies_extrapolation(c, g, ranges))
        for c, g, lo, hi in zip(computes, ceg, low, high)
    )
    return points, replicate_ceg.reshape(len(boot), len(computes)), warnings


def _bracketed(frontier: list[FrontierPoint]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Budgets, arms and losses of the bracketed frontier points, and which those are."""
    keep = np.array([p.bracketed is not False for p in frontier])
    budgets, arms, losses = (np.array([getattr(p, field) for p in frontier])[keep]
                             for field in ("budget", "arm", "loss"))
    return budgets, arms, losses, keep


def _frontier_ceg_points(frontier: list[FrontierPoint], replicates: np.ndarray, computes: np.ndarray,
                         measured: tuple[float, float]):
    """CEG at each compute within the modern arm's budgets (``measured``) read off the
    bracketed measured frontiers (``ceg.frontier_ceg``; NaN where the baseline's frontier
    does not reach the modern arm's loss, and at every extrapolated compute), its interval
    over the bootstrap frontiers (NaN when more than ``BOOT_FAIL_SHARE`` of them cannot
    give it), and its replicates (n_boot, n_computes): the CEG where the fitted law is not
    a result."""
    budgets, arms, losses, keep = _bracketed(frontier)
    replicate_ceg = np.array([[frontier_ceg(budgets, arms, column, c) for c in computes]
                              for column in replicates[keep].T]).reshape(replicates.shape[1], len(computes))
    low, high = percentile_interval(replicate_ceg)
    points = []
    for i, compute in enumerate(computes):
        extrapolated = bool(compute < measured[0] or compute > measured[1])
        ceg = np.nan if extrapolated else frontier_ceg(budgets, arms, losses, compute)
        missing = np.mean(~np.isfinite(replicate_ceg[:, i])) if len(replicate_ceg) else 0.0
        if not np.isfinite(ceg) or missing > BOOT_FAIL_SHARE:  # none: nor in seconds (``_wall_ceg``)
            ceg, low[i], high[i] = np.nan, np.nan, np.nan
            replicate_ceg[:, i] = np.nan
        points.append(CEGPoint(float(compute), float(ceg), float(low[i]), float(high[i]), extrapolated))
    return tuple(points), replicate_ceg


def _wall_ceg(ceg: tuple[CEGPoint, ...], replicate_ceg: np.ndarray, ratio: float, ratio_replicates: np.ndarray):
    """CEG(C) × the baseline/modern wall-time ratio, intervals from paired replicates."""
    paired = replicate_ceg * ratio_replicates[:, None]
    low, high = percentile_interval(paired)
    return tuple(
        CEGPoint(p.compute, p.ceg * ratio, float(lo), float(hi), p.extrapolated) for p, lo, hi in zip(ceg, low, high)
    )


def _loss_drift(frontier: list[FrontierPoint], replicates: np.ndarray):
    """The model-free CEG drift of the bracketed frontier points, with its interval over
    the bootstrap frontiers (NaN when more than ``BOOT_FAIL_SHARE`` of them have too few
    equal-loss CEGs), the ``DEPENDENT_CONFIDENCE`` interval of its exponent, and the
    exponent's replicates (empty with no interval)."""
    budgets, arms, losses, keep = _bracketed(frontier)
    point = loss_drift_exponent(budgets, arms, losses)
    samples = np.array([loss_drift_exponent(budgets, arms, column) for column in replicates[keep].T])
    if not np.isfinite(point) or not len(samples) or np.mean(~np.isfinite(samples)) > BOOT_FAIL_SHARE:
        return drift(point, np.nan, np.nan), (np.nan, np.nan), np.empty(0)
    return (drift(point, *percentile_interval(samples)),
            tuple(percentile_interval(samples, confidence=DEPENDENT_CONFIDENCE)), samples)


def _within_monte_carlo_error(samples: np.ndarray, label: str, direction: str | None, margin: float) -> bool:
    """True when a decided label does not hold on the intervals widened by their
    Monte-Carlo error (``monte_carlo_interval``): another bootstrap seed could make it
    inconclusive. ``samples``: the replicates of the drift exponent the label tested."""
    if label == INCONCLUSIVE or not len(samples):
        return False
    wide = monte_carlo_interval(samples)
    wide99 = monte_carlo_interval(samples, DEPENDENT_CONFIDENCE)
    return label_from_drift(*wide, margin, dependent=wide99) != (label, direction)


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


def _not_measured(frontier: list[FrontierPoint], main: Estimate, shared: Estimate) -> list[str]:
    """Why the frontiers cannot be compared at all: unbracketed points, no noise to
    resample, a frontier within noise of its floor (by the law with a fitted E,
    ``shared``: no label from any method)."""
    reasons = [f"frontier not bracketed at {p.budget:.3g} FLOPs ({p.arm})" for p in frontier if p.bracketed is False]
    reasons += [warning for warning in main.warnings if warning == NO_NOISE]
    return reasons + _near_floor(frontier, shared)


def _near_floor(frontier: list[FrontierPoint], main: Estimate) -> list[str]:
    """Where a frontier is within noise of the floor its fitted E puts under it."""
    point, replicates, boot = main.point, main.replicates, main.boot
    reasons = []
    losses = np.array([p.loss for p in frontier])
    sd = np.sqrt(main.log_variances()) * losses if replicates.shape[1] > 1 else np.zeros(len(losses))
    for arm in ARMS:
        mine = [i for i, p in enumerate(frontier) if p.arm == arm]
        lowest = min(mine, key=lambda i: losses[i])
        gap = losses[lowest] - point.laws[arm].E
        e_high = percentile_interval(stacked(boot, arm, "E"))[1] if boot else np.nan
        if gap < FLOOR_SDS * sd[lowest]:
            reasons.append(
                f"frontier within noise of its floor ({arm} @ {frontier[lowest].budget:.3g} FLOPs: "
                f"{gap:.3g} above the fitted E, noise {sd[lowest]:.3g})"
            )
        elif e_high >= losses[lowest] * (1 - FLOOR_E_TOLERANCE):
            reasons.append(
                f"frontier within noise of its floor ({arm} @ {frontier[lowest].budget:.3g} FLOPs: "
                f"the 95 % interval of E reaches its loss {losses[lowest]:.4g})"
            )
    return reasons


def lack_of_fit(main: Estimate) -> tuple[float, int, float]:
    """(χ², degrees of freedom, p-value) of the law's log residuals against the frontier
    points' bootstrap variances: how far the law misses the points, in units of their
    noise (NaN without a bootstrap or without degrees of freedom); the p-value of χ²/dof
    under F(dof, ν), ν the bootstrap's noise degrees of freedom (χ² where ν is infinite)."""
    variance = main.log_variances() if main.replicates.shape[1] > 1 else np.zeros(0)
    dof = len(main.point.residuals) - int(main.fitter.free.sum())
    if not len(variance) or dof < 1 or not np.all(variance > 0):
        return np.nan, dof, np.nan
    chi2 = float(np.sum(main.point.residuals ** 2 / variance))
    if main.tier_model is not None:
        # heavy tails: no F or χ² law applies; the p-value is the share of bootstrap noise
        # alone (each replicate's deviation from the measured frontier, through the
        # linearised fit's residual maker) whose χ² is at least the law's
        observed = main.fitter.log_predicted(main.point.params) - main.point.residuals
        with np.errstate(invalid="ignore", divide="ignore"):
            noise = np.log(main.replicates) - observed[:, None]
        null = np.sum((main.fitter.residual_maker(main.point) @ noise) ** 2 / variance[:, None], axis=0)
        null = null[np.isfinite(null)]
        return chi2, dof, float((1 + np.sum(null >= chi2)) / (1 + len(null)))
    if np.isfinite(main.dof):
        return chi2, dof, float(stats.f.sf(chi2 / dof, dof, main.dof))
    return chi2, dof, float(stats.chi2.sf(chi2, dof))


def _not_a_result(main: Estimate, losses: np.ndarray) -> list[str]:
    """Why the fitted law is not a result: the fit (or too many bootstrap fits) at a
    bound, too many bootstrap fits that stalled, a misfit beyond the frontier's noise."""
    fitter, point, boot = main.fitter, main.point, main.boot
    reasons = [f"fit at a bound: {problem}" for problem in fitter.at_bounds(point, losses)]
    if main.n_failed > BOOT_AT_BOUND_SHARE * main.n_boot:
        reasons.append(f"bootstrap fits stalled (their predictions still moving after {MAX_EVALUATIONS} "
                       f"evaluations) in {main.n_failed} of {main.n_boot} replicates")
    if boot:
        at_bound = sum(bool(fitter.at_bounds(fit)) for fit in boot)
        if at_bound > BOOT_AT_BOUND_SHARE * len(boot):
            reasons.append(f"fit at a bound in {at_bound} of {len(boot)} bootstrap replicates")
    chi2, dof, p_value = lack_of_fit(main)
    if p_value < LACK_OF_FIT_P:
        noise = float(np.sqrt(np.median(main.log_variances())))
        reasons.append(f"the law misfits the frontier: χ² = {chi2:.3g} on {dof} degrees of freedom "
                       f"(p = {p_value:.2g}); log residuals up to {np.max(np.abs(point.residuals)):.3g} "
                       f"against a noise of {noise:.3g}")
    return reasons


def headline(compute: float, basis: str, frontier: list[FrontierPoint], replicates: np.ndarray, ranges: dict,
             point: JointFit, boot: list[JointFit], withheld: list[str]) -> dict:
    """The CEG at the tier's headline ``compute``: from the fitted laws where they label
    (extrapolated where the compute it implies is), else off the measured frontiers (NaN,
    with a note, where the baseline's frontier does not reach the modern arm's loss)."""
    at = np.array([compute])
    if basis == FITTED_LAW:
        (value,), _, _ = _ceg_points(point, boot, at, ranges)
    else:
        (value,), _ = _frontier_ceg_points(frontier, replicates, at, ranges["modern"])
    note = None
    if not np.isfinite(value.ceg):
        note = ("outside the modern arm's measured budgets" if not ranges["modern"][0] <= compute <= ranges["modern"][1]
                else "the baseline's bracketed frontier does not reach the modern arm's loss there")
        if basis == NO_BASIS:
            more = f" and {len(withheld) - 1} more reason(s)" if len(withheld) > 1 else ""
            note = f"label withheld ({withheld[0]}{more}); {note}"
    return {"compute": float(compute), "ceg": value.ceg, "low": value.low, "high": value.high,
            "extrapolated": value.extrapolated, "basis": basis if basis == FITTED_LAW else "measured frontiers",
            "note": note}


@dataclass
class _Measured:
    """The runs an analysis reads, their ladders, frontier and what was left out."""

    runs: pd.DataFrame
    ladders: list
    frontier: list[FrontierPoint]
    allowances: list[float]
    n_failed: int
    n_not_learned: int
    warnings: list[str]
    tier_model: object = None  # calibrate.TierModel: the robust frontier and bootstrap


def _measure(runs: pd.DataFrame, fit_window=None, tier_model=None) -> _Measured:
    """Failed runs, runs that did not learn and runs outside ``fit_window`` left out, the
    rest validated and grouped into ladders, and each ladder's frontier point (its
    parabola's vertex within the measured noise of its best run: ``frontier.valid_valley``;
    with a ``tier_model``, the shape-aware optimum of its cell medians: ``robust``)."""
    runs, n_failed = drop_failed(runs)
    warnings = [f"{n_failed} failed run(s) left out of the analysis"] if n_failed else []
    runs, outside = within_window(runs, fit_window)
    warnings += [outside] if outside else []
    runs, stuck = drop_not_learned(runs)
    if stuck:
        warnings.append(f"{len(stuck)} run(s) did not learn (loss not below the unigram loss, or a curve that "
                        f"never fell) and are left out of the frontiers: {'; '.join(stuck[:5])}"
                        + (f" and {len(stuck) - 5} more" if len(stuck) > 5 else ""))
    runs = validate_runs(runs)
    ladders = ladders_from_runs(runs)
    if tier_model is not None:
        frontier, allowances, frontier_warnings = robust_frontier(ladders, tier_model)
    else:
        allowances = valley_allowances(ladders, residual_pools(ladders))
        frontier, frontier_warnings = compute_frontier(ladders, allowances)
    losses = np.array([p.loss for p in frontier])
    if not np.all(np.isfinite(losses) & (losses > 0)):
        bad = [f"{p.arm} @ {p.budget:.3g} FLOPs" for p in frontier if not p.loss > 0]
        raise AnalysisError(f"compute-optimal loss is not positive at {', '.join(bad)}")
    return _Measured(runs, ladders, frontier, allowances, n_failed, len(stuck), warnings + frontier_warnings,
                     tier_model)


def _fit_law(measured: _Measured, *, fixed_E: float | None, **options) -> tuple[Estimate, str, Estimate]:
    """The law and its bootstrap, and which law it is. E is shared (or per arm, or
    ``fixed_E`` when given); where the shared E sits at its lower bound, 0 — in the point
    fit or in more than ``BOOT_AT_BOUND_SHARE`` of the bootstrap fits — the frontiers are
    straight in log-log over the measured range and show no irreducible loss it can pin
    down: the law is then the pure power law, E = 0, refitted as such, and its Δα is a
    result if it describes the frontier within its noise (``lack_of_fit``). (E at its
    top, or a frontier within noise of the floor it fits — keeps the shared E.) Also
    returns the first fit, whose E the floor checks read (``_near_floor``)."""
    frontier = measured.frontier
    check_fixed_E(fixed_E, frontier)
    main = estimate(measured.ladders, frontier, fixed_E=fixed_E, allowances=measured.allowances,
                    tier_model=measured.tier_model, **options)
    if fixed_E is not None:
        return main, f"E = {fixed_E:g} (given)", main
    if not options["shared_E"]:
        return main, "E per arm", main
    losses = np.array([p.loss for p in frontier])

    def e_at_zero(fit, fitted=None) -> bool:
        return any(problem.startswith("shared E at its lower bound") for problem in main.fitter.at_bounds(fit, fitted))

    straight = e_at_zero(main.point, losses) or sum(map(e_at_zero, main.boot)) > BOOT_AT_BOUND_SHARE * max(len(main.boot), 1)
    if straight and not _near_floor(frontier, main):
        no_e = estimate(measured.ladders, frontier, fixed_E=0.0, allowances=measured.allowances,
                        tier_model=measured.tier_model, **options)
        return no_e, NO_E_LAW, main
    return main, SHARED_E_LAW, main


def analyze_innovation(
    runs: pd.DataFrame,
    *,
    margin: float,
    n_boot: int = 200,
    seed: int = 0,
    extrapolate_to: Sequence[float] = (1e18, 1e21, 2e23),
    shared_E: bool = True,
    fixed_E: float | None = None,
    headline_compute: float | None = None,
    f_scale: float = DEFAULT_F_SCALE,
    check_sensitivity: bool = True,
    paired_seeds: bool = PAIRED_SEEDS,
    target_loss: float | None = None,
    fit_window: tuple[float, float] | None = None,
    tier_model=None,
) -> Analysis:
    """Frontier, scaling fits, Δα interval, label, CEG(C) and the checks around them
    for one innovation in one tier.

    ``runs``: columns arm ("baseline" | "modern"), budget (FLOPs), n_params, seed,
    final_loss; optionally status (runs not "ok" are left out and counted), not_learned
    (runs with a reason are left out and counted) and train_time_s (for the wall-clock
    CEG). ``margin``: the CEG drift factor over 100× of compute within which a
    ``scale-invariant`` verdict must lie (≥ 1; see ``drift.py``). The law has a shared
    E, or E = 0 where the shared E sits at a bound (``_fit_law``), or ``fixed_E``. Where
    the law is no result (reasons in ``withheld``: a parameter at a bound, stalled
    bootstrap fits, a misfit beyond the noise) the label and drift come from the
    equal-loss CEGs, CEG at the measured budgets from the measured frontiers, and
    nothing is extrapolated (``label_basis``). The label is withheld (``inconclusive``,
    no drift) where a frontier point is not bracketed, the frontier is within noise of
    its floor, or there is no noise to resample. A decided label lists in ``rests_on``
    the budgets or points that carry it (``one_out``). ``headline`` is the CEG at
    ``headline_compute`` (default: the geometric centre of the measured budgets; a tier
    passes its own, the same for all its innovations). Intervals are "95 %" bootstrap
    percentile intervals (at the calibrated ``PERCENTILE_LEVEL``) from ``n_boot``
    replicates drawn with ``numpy.random.default_rng(seed)``; the same input and seed
    give the same result. ``shared_E=False`` fits an irreducible loss per arm;
    ``f_scale`` is the Huber threshold on log residuals. ``check_sensitivity=False``
    skips the sensitivity refits (``fragile`` is then False, ``sensitivity`` empty).
    ``paired_seeds``: resample seeds jointly across the arms of a budget (the same
    residual indices for both; ``bootstrap.draw_seed_noise``), as the arms share seeds
    and data order; False draws each arm's independently.

    Options a paper needs (each recorded in ``method``; ``options.py`` checks them):
    ``fixed_E`` holds the shared irreducible loss at that value (positive, below every
    frontier loss) instead of fitting it; ``target_loss`` reads the CEG at that loss off
    the measured frontiers (instead of at the baseline's frontier losses);
    ``fit_window`` = (min, max) FLOPs keeps only the runs whose budget lies within it.

    ``tier_model`` (a ``calibrate.TierModel`` fitted on the whole tier's runs): intervals
    that respect heavy tails (``robust``): cells are seed medians, each ladder's optimum
    knows the valley's asymmetry, and every bootstrap replicate redraws each cell from
    the tier's noise model at the cell's training length (the runs need a ``steps`` or
    ``tokens`` column) instead of from its ladder's pooled residuals, with no t
    multiplier; "what would decide it" draws its extra seeds from the same model.
    """
    if not margin >= 1:
        raise ValueError(f"margin must be a CEG drift factor ≥ 1 (over 100× compute), got {margin}")
    if n_boot < 0:
        raise ValueError(f"n_boot must be non-negative, got {n_boot}")
    if any(not c > 0 for c in extrapolate_to):
        raise ValueError(f"extrapolate_to must hold positive computes, got {list(extrapolate_to)}")
    check_options(fixed_E=fixed_E, target_loss=target_loss, fit_window=fit_window, shared_E=shared_E)
    measured = _measure(runs, fit_window, tier_model)
    frontier, ladders, warnings = measured.frontier, measured.ladders, list(measured.warnings)
    losses = np.array([p.loss for p in frontier])
    main, law, first = _fit_law(measured, fixed_E=fixed_E, margin=margin, n_boot=n_boot, seed=seed, shared_E=shared_E,
                                f_scale=f_scale, paired=paired_seeds, n_replicates=MODEL_FREE_BOOT_FACTOR * n_boot)
    point, boot = main.point, main.boot
    warnings += _fit_warnings(point, frontier) + main.warnings
    if main.n_failed:
        warnings.append(f"{main.n_failed} of {n_boot} bootstrap fits stalled and were dropped")

    not_measured = _not_measured(frontier, main, first)
    withheld = not_measured + _not_a_result(main, losses)
    loss_trend, loss_exponent99, loss_samples = _loss_drift(frontier, main.replicates)
    if not withheld:
        basis, trend = FITTED_LAW, drift(main.drift, main.drift_low, main.drift_high)
        samples = main.drift_replicates
    elif not not_measured:  # the law does not describe the frontier; the frontiers still compare
        basis, trend, samples = EQUAL_LOSS, loss_trend, loss_samples
        main.label, main.direction = label_from_drift(trend.exponent_low, trend.exponent_high, margin,
                                                      dependent=loss_exponent99)
        warnings.append("fitted law not a result (" + "; ".join(withheld) + "): the label comes from the "
                        "drift of the measured frontiers' equal-loss CEGs")
    else:
        basis, trend, samples = NO_BASIS, Drift(np.nan, np.nan, np.nan, np.nan, np.nan, np.nan), np.empty(0)
        main.label, main.direction = INCONCLUSIVE, None
        warnings.append("label withheld: " + "; ".join(withheld))

    carriers = rests_on(frontier, main, basis, main.label, main.direction, margin)
    if carriers:
        warnings.append(f"the label rests on one budget or point: without {' or without '.join(carriers)} "
                        "its drift crosses to the other side (not counted as decided)")
    # a fit that is not a result has no sensitivity or decision to offer (and its refits
    # are the slow ones: a fit at a bound)
    variants = sensitivity(frontier, main, margin=margin) if check_sensitivity and basis == FITTED_LAW else ()
    changed = changed_variants(main, variants)
    weakened = weakened_variants(main, variants)
    if _within_monte_carlo_error(samples, main.label, main.direction, margin):
        weakened.append(ANOTHER_BOOTSTRAP_SEED)
    if changed:
        warnings.append(f"fragile: the label flips with {', '.join(changed)}")
    if weakened:
        warnings.append(f"the label weakens to inconclusive with {', '.join(weakened)}")
    decision = (decision_estimate(ladders, frontier, main, margin=margin, seed=seed)
                if main.label == INCONCLUSIVE and basis == FITTED_LAW else None)

    budgets = sorted({p.budget for p in frontier})
    ranges = {arm: (min(p.budget for p in frontier if p.arm == arm), max(p.budget for p in frontier if p.arm == arm))
              for arm in ARMS}
    computes = np.array(sorted(set(budgets) | {float(c) for c in extrapolate_to}))
    if withheld:  # no CEG from a fit that is not a result: the measured frontiers', nothing extrapolated
        ceg_points, replicate_ceg = _frontier_ceg_points(frontier, main.replicates, computes, ranges["modern"])
    else:
        ceg_points, replicate_ceg, ceg_warnings = _ceg_points(point, boot, computes, ranges)
        warnings += ceg_warnings
    targets = loss_targets(frontier) if target_loss is None else [target_loss]
    loss_points = ceg_at_losses(frontier, targets, main.replicates, percentile_interval,
                                max_missing=BOOT_FAIL_SHARE)
    if target_loss is not None and not loss_points:
        warnings.append(target_loss_warning(target_loss, frontier))
    ratio, ratio_replicates, wall_warning = wall_time_ratio(measured.runs, np.random.default_rng([seed, 1]),
                                                            len(replicate_ceg))
    warnings += [wall_warning] if wall_warning else []
    wall_ceg = _wall_ceg(ceg_points, replicate_ceg, ratio, ratio_replicates) if ratio is not None else None
    n_seeds = np.median([len(x) for ladder in ladders for x in ladder.seed_losses])
    headline_compute = headline_compute or float(np.sqrt(budgets[0] * budgets[-1]))

    return Analysis(
        label=main.label,
        direction=main.direction,
        law=law,
        delta_alpha=main.delta_alpha,
        delta_alpha_low=main.low,
        delta_alpha_high=main.high,
        margin=float(margin),
        drift=trend.per_10x,
        drift_low=trend.low,
        drift_high=trend.high,
        loss_drift=loss_trend.per_10x,
        loss_drift_low=loss_trend.low,
        loss_drift_high=loss_trend.high,
        withheld=tuple(withheld),
        label_basis=basis,
        rests_on=tuple(carriers),
        headline=headline(headline_compute, basis, frontier, main.replicates, ranges, point, boot, withheld),
        shared_E=shared_E,
        fits=_scaling_fits(point, boot),
        frontier=tuple(frontier),
        ceg=ceg_points,
        ceg_at_loss=loss_points,
        equal_loss_cegs=_equal_loss_points(frontier),
        wall_ceg=wall_ceg,
        fragile=bool(changed),
        weakened=tuple(weakened),
        sensitivity=variants,
        decision=decision,
        fit_bands=_fit_bands(point, boot, budgets if withheld else computes),
        n_runs=len(measured.runs),
        n_failed=measured.n_failed,
        n_not_learned=measured.n_not_learned,
        n_seeds=int(n_seeds),
        n_boot=n_boot,
        n_boot_failed=main.n_failed,
        warnings=tuple(warnings),
        method=_method(margin, basis, law, main, ladders, variants, f_scale=f_scale, n_boot=n_boot, seed=seed,
                       shared_E=shared_E, paired_seeds=paired_seeds, extrapolate_to=extrapolate_to,
                       headline_compute=headline_compute)
        | options_method(fixed_E=fixed_E, target_loss=target_loss, fit_window=fit_window),
    )


def _equal_loss_points(frontier: list[FrontierPoint]) -> tuple[dict, ...]:
    """The equal-loss CEGs of the bracketed frontier points (what ``loss_drift`` is read off)."""
    budgets, arms, losses, _ = _bracketed(frontier)
    computes, cegs = equal_loss_cegs(budgets, arms, losses)
    return tuple({"compute": float(c), "ceg": float(g)} for c, g in sorted(zip(computes, cegs)))


def _method(margin, basis, law, main: Estimate, ladders, variants, *, f_scale, n_boot, seed, shared_E,
            paired_seeds, extrapolate_to, headline_compute) -> dict:
    """How the verdict was reached, for the record (the page folds it away)."""
    if main.tier_model is not None:
        bootstrap = ("cells are seed medians, the optimum shape-aware, each replicate redrawn from the tier's "
                     f"noise model ({main.tier_model.describe()})")
    elif not has_replicated_cells(ladders):
        bootstrap = "single-seed cells resampled from the IsoFLOP parabolas' residuals"
    else:
        bootstrap = "seed residuals pooled per ladder" + (", drawn jointly for both arms of a budget"
                                                          if paired_seeds else "")
    chi2, dof, p_value = lack_of_fit(main)
    return {
        "fit": "huber-log",
        "law": law,
        "f_scale": f_scale,
        "n_boot": n_boot,
        "model_free_replicates": int(main.replicates.shape[1]),
        "seed": seed,
        "ci": CONFIDENCE,
        "percentile_level": PERCENTILE_LEVEL,
        "shared_E": shared_E,
        "margin": margin,
        "margin_span": MARGIN_SPAN,
        "label": (f"CEG drift Δα/α_b: scale-invariant when its 95 % interval keeps the drift over "
                  f"{MARGIN_SPAN:g}× compute within [1/{margin:g}, {margin:g}] (|Δα/α_b| ≤ "
                  f"{exponent_margin(margin):.4f}); scale-dependent when its 99 % interval excludes 1"),
        "label_basis": basis,
        "label_monte_carlo": (f"a decided label that does not hold on its intervals with each tail share p moved to "
                              f"p − {MONTE_CARLO_Z:g}·√(p(1−p)/n) (n replicates) weakens with another bootstrap seed"),
        "law_when": ("E shared by both arms; where the fitted E sits at a bound, E = 0 (a pure power law); "
                     "a given E when the user fixes one"),
        "lack_of_fit": {"chi2": chi2 if np.isfinite(chi2) else None, "dof": dof,
                        "p": p_value if np.isfinite(p_value) else None, "threshold": LACK_OF_FIT_P},
        "equal_loss_when": ["fitted parameter at a bound",
                            f"more than {BOOT_AT_BOUND_SHARE:.0%} of bootstrap fits at a bound or stalled",
                            f"the law misfits the frontier (χ² p-value below {LACK_OF_FIT_P:g})"],
        "withheld_when": ["frontier not bracketed",
                          f"smallest frontier loss within {FLOOR_SDS:g} sd of the fitted E",
                          "one seed per cell and no ladder of 4 or more sizes (no noise to resample)"],
        "rests_on": "a decided label whose drift's point estimate crosses to the other side without one budget "
                    "(or, on the equal-loss basis, one frontier point) is not counted as decided",
        "headline_compute": headline_compute,
        "extrapolate_to": [float(c) for c in extrapolate_to],
        "bootstrap": bootstrap,
        "t_dof": main.dof if np.isfinite(main.dof) else None,
        "sensitivity": [v.variant for v in variants],
        "decision": {"seed_factors": list(SEED_FACTORS), "budget_factors": list(BUDGET_FACTORS),
                     "decided_share": DECIDED_SHARE, "n_sims": N_SIMS},
        "ceg_at_loss_targets": ("baseline frontier losses within the modern frontier's range that "
                                f"at most {BOOT_FAIL_SHARE:.0%} of the bootstrap frontiers fail to reach"),
        "loss_drift": ("slope of log CEG on log C over the CEGs at each frontier point's loss "
                       "that the other arm's measured frontier spans (bracketed points only)"),
        "wall_ceg": "CEG × median over budgets of (median baseline / median modern train_time_s)",
    } | ({"tier_model": main.tier_model.as_dict()} if main.tier_model is not None else {})
