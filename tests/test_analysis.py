"""Tests of cegbench.analysis on synthetic runs drawn from planted scaling laws.

Every dataset comes from a known law: at budget C the compute-optimal loss is
L*(C) = E + A·C^(−α), reached at N*(C) = √(C/120), and a ladder size N loses
L*(C) + k·(log N − log N*)² (an IsoFLOP valley), plus Gaussian seed noise per run.

One module over 400 lines: the tests share the planted datasets and their module-scoped
analyses, which are costly to compute twice.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest

from cegbench.analysis import (
    Analysis,
    AnalysisError,
    FrontierPoint,
    analyze_innovation,
    ceg_at_loss,
    compute_equivalent_gain,
    compute_to_reach,
    label_from_interval,
)
from cegbench.analysis.ceg import equal_loss_cegs, loss_drift_exponent
from cegbench.analysis.fit import PowerLaw, ScalingLawFitter
from cegbench.analysis.frontier import (
    ARMS,
    compute_frontier,
    ladder_optimum,
    ladders_from_runs,
    validate_runs,
)

BUDGETS = (1e13, 1e14, 1e15, 1e16, 1e17)
C_REF = 1e15
E_TRUE = 1.8


def planted_law(alpha: float, excess_at_ref: float = 2.0, E: float = E_TRUE) -> PowerLaw:
    """E + A·C^(−α) with A chosen so that L*(C_REF) − E = excess_at_ref."""
    return PowerLaw(E=E, A=excess_at_ref * C_REF**alpha, alpha=alpha)


def planted_runs(
    rng: np.random.Generator,
    *,
    laws: dict[str, PowerLaw] | None = None,
    budgets=BUDGETS,
    n_seeds: int = 3,
    noise: float = 0.01,
    curvature: float = 0.05,
    ladder: tuple[float, ...] = (0.25, 1.0, 4.0),
) -> pd.DataFrame:
    """Runs of both arms on an IsoFLOP ladder of sizes N*(C)·ladder, n_seeds each."""
    laws = laws or {"baseline": planted_law(0.15, 2.0), "modern": planted_law(0.15, 1.8)}
    rows = []
    for arm in ARMS:
        for budget in budgets:
            optimum = laws[arm].loss(budget)
            n_opt = math.sqrt(budget / 120)
            for factor in ladder:
                loss = optimum + curvature * math.log(factor) ** 2
                for seed in range(n_seeds):
                    rows.append((arm, float(budget), round(n_opt * factor), seed, loss + noise * rng.standard_normal()))
    return pd.DataFrame(rows, columns=["arm", "budget", "n_params", "seed", "final_loss"])


def laws_with(alpha_baseline: float, alpha_modern: float) -> dict[str, PowerLaw]:
    return {"baseline": planted_law(alpha_baseline, 2.0), "modern": planted_law(alpha_modern, 1.8)}


# ---------------------------------------------------------------------------
# Frontier


def test_parabola_recovers_planted_optimum():
    sizes = np.array([1e6, 4e6, 16e6])
    n_star, l_star, k = 5.5e6, 3.2, 0.07
    losses = l_star + k * (np.log(sizes) - np.log(n_star)) ** 2
    loss, n_opt, bracketed = ladder_optimum(sizes, losses)
    assert bool(bracketed)
    assert float(loss) == pytest.approx(l_star, rel=1e-12)
    assert float(n_opt) == pytest.approx(n_star, rel=1e-9)


def test_parabola_is_vectorised_over_replicates():
    sizes = np.array([1e6, 4e6, 16e6])
    columns = np.stack([3.0 + 0.05 * (np.log(sizes) - np.log(s)) ** 2 for s in (2e6, 6e6, 1e9)], axis=1)
    loss, n_opt, bracketed = ladder_optimum(sizes, columns)
    assert bracketed.tolist() == [True, True, False]
    assert loss[:2] == pytest.approx([3.0, 3.0])
    assert n_opt[:2] == pytest.approx([2e6, 6e6])
    assert n_opt[2] == 16e6 and loss[2] == pytest.approx(columns[2, 2])


def test_frontier_of_planted_runs_matches_the_law():
    laws = laws_with(0.15, 0.2)
    runs = planted_runs(np.random.default_rng(0), laws=laws, noise=0.0)
    points, warnings = compute_frontier(ladders_from_runs(validate_runs(runs)))
    assert warnings == [] and len(points) == 2 * len(BUDGETS)
    for p in points:
        assert p.bracketed
        assert p.loss == pytest.approx(laws[p.arm].loss(p.budget), rel=1e-9)
        assert p.n_params_opt == pytest.approx(math.sqrt(p.budget / 120), rel=1e-5)


def test_unbracketed_ladder_is_flagged_with_a_warning_naming_arm_and_budget():
    runs = planted_runs(np.random.default_rng(1), ladder=(0.05, 0.1, 0.2))  # all below N*
    analysis = analyze_innovation(runs, margin=1.85, n_boot=20)
    assert not any(p.bracketed for p in analysis.frontier)
    smallest = next(p for p in analysis.frontier if p.arm == "baseline" and p.budget == 1e13)
    assert smallest.n_params_opt == round(math.sqrt(1e13 / 120) * 0.2)  # the best observed size
    message = next(w for w in analysis.warnings if w.startswith("baseline @ 1e+13 FLOPs"))
    assert "not bracketed" in message and "largest size" in message and "add larger sizes" in message
    assert any(w.startswith("modern @ 1e+17 FLOPs: optimum not bracketed") for w in analysis.warnings)


def test_ladder_above_the_optimum_asks_for_smaller_sizes():
    runs = planted_runs(np.random.default_rng(2), ladder=(5.0, 10.0, 20.0))
    _, warnings = compute_frontier(ladders_from_runs(validate_runs(runs)))
    assert len(warnings) == 10 and all("add smaller sizes" in w for w in warnings)


def test_two_sizes_cannot_bracket():
    runs = planted_runs(np.random.default_rng(3), ladder=(0.5, 2.0))
    points, warnings = compute_frontier(ladders_from_runs(validate_runs(runs)))
    assert not any(p.bracketed for p in points)
    assert "only 2 size(s)" in warnings[0]


# ---------------------------------------------------------------------------
# Fit


def _frontier_fit(laws, shared_E=True, losses=None):
    arms = [arm for arm in ARMS for _ in BUDGETS]
    budgets = [b for _ in ARMS for b in BUDGETS]
    if losses is None:
        losses = [laws[a].loss(b) for a, b in zip(arms, budgets)]
    return ScalingLawFitter(ARMS, arms, budgets, shared_E=shared_E).fit(losses)


@pytest.mark.parametrize("shared_E", [True, False])
def test_fit_recovers_planted_law_from_noiseless_frontier(shared_E):
    laws = laws_with(0.12, 0.3)
    fit = _frontier_fit(laws, shared_E=shared_E)
    assert fit.converged and fit.rss < 1e-16
    for arm in ARMS:
        assert fit.laws[arm].E == pytest.approx(E_TRUE, rel=1e-5)
        assert fit.laws[arm].alpha == pytest.approx(laws[arm].alpha, rel=1e-5)
        assert fit.laws[arm].A == pytest.approx(laws[arm].A, rel=1e-4)


def test_fit_keeps_separate_irreducible_losses_apart():
    laws = {"baseline": planted_law(0.15, 2.0, E=2.0), "modern": planted_law(0.2, 1.8, E=1.6)}
    fit = _frontier_fit(laws, shared_E=False)
    assert fit.laws["baseline"].E == pytest.approx(2.0, rel=1e-5)
    assert fit.laws["modern"].E == pytest.approx(1.6, rel=1e-5)


def test_fit_keeps_E_below_the_smallest_loss():
    # A pure power law (E = 0 would fit) pushed up: the bound must hold on any data.
    budgets = np.array(BUDGETS)
    losses = np.concatenate([5 * budgets**-0.02, 4.8 * budgets**-0.03])
    fit = _frontier_fit(None, losses=losses)
    assert fit.converged
    assert fit.laws["baseline"].E < losses.min()


def test_analysis_recovers_planted_law_from_low_noise_runs():
    laws = laws_with(0.15, 0.2)
    analysis = analyze_innovation(planted_runs(np.random.default_rng(4), laws=laws, noise=0.003, n_seeds=5),
                                  margin=1.85, n_boot=100)
    for arm in ARMS:
        fit = analysis.fit(arm)
        assert fit.alpha == pytest.approx(laws[arm].alpha, abs=0.005)
        assert fit.E == pytest.approx(E_TRUE, abs=0.03)
        assert fit.A == pytest.approx(laws[arm].A, rel=0.2)
        assert fit.alpha_low <= laws[arm].alpha <= fit.alpha_high
        assert fit.E_low <= E_TRUE <= fit.E_high
    assert analysis.delta_alpha == pytest.approx(0.05, abs=0.003)


# ---------------------------------------------------------------------------
# Labels


@pytest.mark.parametrize(
    "lo, hi, expected",
    [
        (0.01, 0.2, ("scale-dependent", "grows with scale")),
        (-0.2, -0.001, ("scale-dependent", "shrinks with scale")),
        (-0.015, 0.019, ("scale-invariant", None)),
        (-0.03, 0.01, ("inconclusive", None)),
        (-0.01, 0.05, ("inconclusive", None)),
        (-1e-15, -1e-15, ("scale-invariant", None)),  # a noiseless fit: no evidence either way
        (math.nan, 0.01, ("inconclusive", None)),
    ],
)
def test_label_from_interval(lo, hi, expected):
    assert label_from_interval(lo, hi, margin=0.02) == expected


def test_equal_exponents_with_plenty_of_seeds_are_scale_invariant():
    runs = planted_runs(np.random.default_rng(5), laws=laws_with(0.15, 0.15), noise=0.01, n_seeds=5)
    analysis = analyze_innovation(runs, margin=1.85, n_boot=100)
    assert analysis.label == "scale-invariant" and analysis.direction is None
    assert -0.02 <= analysis.delta_alpha_low <= 0 <= analysis.delta_alpha_high <= 0.02


def test_faster_modern_exponent_is_scale_dependent_and_grows():
    runs = planted_runs(np.random.default_rng(6), laws=laws_with(0.15, 0.25), noise=0.01)
    analysis = analyze_innovation(runs, margin=1.85, n_boot=100)
    assert (analysis.label, analysis.direction) == ("scale-dependent", "grows with scale")
    assert analysis.delta_alpha_low < 0.1 < analysis.delta_alpha_high
    gains = [p.ceg for p in analysis.ceg]
    assert gains == sorted(gains)  # CEG grows with compute


def test_slower_modern_exponent_shrinks_with_scale():
    runs = planted_runs(np.random.default_rng(7), laws=laws_with(0.25, 0.15), noise=0.01)
    analysis = analyze_innovation(runs, margin=1.85, n_boot=100)
    assert (analysis.label, analysis.direction) == ("scale-dependent", "shrinks with scale")


def test_noisy_pair_with_few_points_is_inconclusive():
    # Equal exponents, but 3 budgets × 2 seeds of noisy runs cannot show it within the margin.
    runs = planted_runs(
        np.random.default_rng(8), laws=laws_with(0.15, 0.15), budgets=(1e13, 1e14, 1e15), n_seeds=2, noise=0.1
    )
    analysis = analyze_innovation(runs, margin=1.36, n_boot=100)
    assert analysis.label == "inconclusive" and analysis.direction is None
    assert analysis.delta_alpha_low < 0 < analysis.delta_alpha_high
    assert analysis.delta_alpha_high - analysis.delta_alpha_low > 2 * 0.01


# ---------------------------------------------------------------------------
# Coverage of the Δα interval


def _coverage(n_datasets: int, n_boot: int, n_seeds: int = 3, noise: float = 0.02) -> float:
    truth = 0.05
    hits = 0
    for i in range(n_datasets):
        runs = planted_runs(np.random.default_rng(10_000 + i), laws=laws_with(0.15, 0.15 + truth),
                            n_seeds=n_seeds, noise=noise)
        analysis = analyze_innovation(runs, margin=1.85, n_boot=n_boot, seed=i, extrapolate_to=(),
                                      check_sensitivity=False)
        hits += analysis.delta_alpha_low <= truth <= analysis.delta_alpha_high
    return hits / n_datasets


def test_delta_alpha_interval_covers_the_truth_quick():
    assert _coverage(n_datasets=50, n_boot=100) >= 0.90


@pytest.mark.slow
def test_delta_alpha_interval_covers_the_truth():
    coverage = _coverage(n_datasets=200, n_boot=100)
    print(f"coverage of the nominal 95 % Δα interval over 200 datasets: {coverage:.3f}")
    assert coverage >= 0.90


# ---------------------------------------------------------------------------
# CEG


def test_compute_equivalent_gain_matches_closed_form():
    baseline, modern = planted_law(0.15, 2.0), planted_law(0.2, 1.8)
    compute = np.array([1e13, 1e15, 1e21])
    # Shared E: L_m(C) − E = A_m·C^(−α_m), so CEG = (A_b/A_m)^(1/α_b) · C^(α_m/α_b − 1).
    expected = (baseline.A / modern.A) ** (1 / baseline.alpha) * compute ** (modern.alpha / baseline.alpha - 1)
    assert compute_equivalent_gain(baseline, modern, compute) == pytest.approx(expected, rel=1e-9)
    assert compute_to_reach(baseline, baseline.loss(3e14)) == pytest.approx(3e14, rel=1e-9)
    assert math.isnan(compute_to_reach(baseline, E_TRUE - 0.1))


def test_ceg_recovered_at_measured_budgets_and_extrapolation_flagged():
    laws = laws_with(0.15, 0.2)
    runs = planted_runs(np.random.default_rng(9), laws=laws, noise=0.003, n_seeds=5)
    analysis = analyze_innovation(runs, margin=1.85, n_boot=100, extrapolate_to=(1e11, 1e18, 1e21))
    assert [p.compute for p in analysis.ceg] == [1e11, *BUDGETS, 1e18, 1e21]
    truth = compute_equivalent_gain(laws["baseline"], laws["modern"], [p.compute for p in analysis.ceg])
    for point, expected in zip(analysis.ceg, truth):
        # measured only where both C and the baseline compute it implies, CEG × C, were run
        implied = point.ceg * point.compute
        assert point.extrapolated == (point.compute not in BUDGETS or not BUDGETS[0] <= implied <= BUDGETS[-1])
        assert point.low <= point.ceg <= point.high
        if not point.extrapolated:
            assert point.ceg == pytest.approx(expected, rel=0.1)
            # one draw: each 95 % interval misses with 5 % chance (coverage itself is
            # checked over many draws in test_acceptance.py), so allow half a width
            slack = 0.5 * (point.high - point.low)
            assert point.low - slack <= expected <= point.high + slack


def test_ceg_is_nan_with_a_warning_where_modern_loss_is_below_baseline_E():
    laws = {"baseline": planted_law(0.15, 2.0, E=2.0), "modern": planted_law(0.15, 1.8, E=1.6)}
    runs = planted_runs(np.random.default_rng(10), laws=laws, noise=0.002)
    analysis = analyze_innovation(runs, margin=1.85, n_boot=50, shared_E=False, extrapolate_to=(1e30,))
    far = analysis.ceg[-1]
    assert far.compute == 1e30 and far.extrapolated and math.isnan(far.ceg)
    assert any(w.startswith("CEG undefined at 1e+30 FLOPs") for w in analysis.warnings)
    assert all(np.isfinite(p.ceg) for p in analysis.ceg[:-1])


KNOWN_FRONTIER = (
    FrontierPoint("baseline", 1e12, 4.0, 1e6, True),
    FrontierPoint("baseline", 1e13, 3.5, 3e6, True),
    FrontierPoint("baseline", 1e14, 3.0, 1e7, True),
    FrontierPoint("modern", 1e12, 3.8, 1e6, True),
    FrontierPoint("modern", 1e13, 3.2, 3e6, True),
    FrontierPoint("modern", 1e14, 2.9, 1e7, True),
)


def test_ceg_at_loss_interpolates_measured_frontiers():
    frontier = KNOWN_FRONTIER
    # Loss 3.3: baseline 40 % of the way from 1e13 to 1e14 in log C, modern 5/6 of the
    # way from 1e12 to 1e13: ratio 10^(13.4 − 12.8333).
    assert ceg_at_loss(frontier, 3.3) == pytest.approx(10 ** (13.4 - (12 + 5 / 6)), rel=1e-9)
    assert ceg_at_loss(frontier, 3.5) == pytest.approx(1e13 / 10 ** (12 + 0.3 / 0.6), rel=1e-9)
    assert math.isnan(ceg_at_loss(frontier, 2.5))  # neither arm gets there
    assert math.isnan(ceg_at_loss(frontier, 3.9))  # modern already below it at the smallest budget


def test_loss_drift_recovers_a_planted_ceg_trend_from_frontiers_alone():
    """Frontiers linear in log C (so interpolation is exact) and CEG(C) = 2·C^r: the
    equal-loss CEGs are 2·C^r exactly, at modern points and at baseline points alike."""
    budgets = np.array([1e12, 1e13, 1e14, 1e15])
    baseline = 10 - 0.5 * np.log10(budgets)
    for r in (0.0, 0.1, -0.05):
        modern = 10 - 0.5 * (np.log10(2) + (1 + r) * np.log10(budgets))
        arms = ["baseline"] * 4 + ["modern"] * 4
        all_budgets, losses = np.concatenate([budgets, budgets]), np.concatenate([baseline, modern])
        computes, cegs = equal_loss_cegs(all_budgets, arms, losses)
        assert len(computes) >= 3
        assert cegs == pytest.approx(2 * computes**r, rel=1e-9)
        assert loss_drift_exponent(all_budgets, arms, losses) == pytest.approx(r, abs=1e-9)


def test_loss_drift_needs_frontiers_that_share_a_loss_range():
    budgets = np.array([1e12, 1e13, 1e14, 1e12, 1e13, 1e14])
    arms = ["baseline"] * 3 + ["modern"] * 3
    apart = np.array([4.0, 3.8, 3.6, 3.0, 2.8, 2.6])  # modern always below the baseline's best
    assert len(equal_loss_cegs(budgets, arms, apart)[0]) == 0
    assert math.isnan(loss_drift_exponent(budgets, arms, apart))
    one_shared = np.array([4.0, 3.5, 3.0, 3.2, 2.8, 2.6])  # only 3.2 and 3.0: two CEGs
    assert math.isnan(loss_drift_exponent(budgets, arms, one_shared))


def test_analysis_loss_drift_is_one_for_an_invariant_pair_and_shown_when_withheld():
    # a power law is curved in log C, and the interpolation is linear: with 10× between
    # budgets the drift comes out 0.978 per 10× here, with 2.5× (the cpu tier's) 0.99–1
    for budgets, tolerance in ((BUDGETS, 0.025), ((1e13, 2.5e13, 6.3e13, 1.6e14, 4e14), 0.005)):
        runs = planted_runs(np.random.default_rng(11), laws=laws_with(0.15, 0.15), noise=0.0, budgets=budgets)
        analysis = analyze_innovation(runs, margin=1.85, n_boot=10)
        assert analysis.loss_drift == pytest.approx(1.0, abs=tolerance)
    assert analysis.loss_drift_low <= analysis.loss_drift <= analysis.loss_drift_high
    frontier = [dataclasses.replace(p, bracketed=False) if p.budget == max(q.budget for q in analysis.frontier)
                and p.arm == "baseline" else p for p in analysis.frontier]
    assert loss_drift_exponent([p.budget for p in frontier], [p.arm for p in frontier],
                               [p.loss for p in frontier]) == pytest.approx(0.0, abs=0.005)


def test_analysis_ceg_at_loss_targets_the_baseline_frontier_the_modern_arm_spans():
    runs = planted_runs(np.random.default_rng(11), laws=laws_with(0.15, 0.2), noise=0.0)
    analysis = analyze_innovation(runs, margin=1.85, n_boot=10)
    modern = [p.loss for p in analysis.frontier if p.arm == "modern"]
    expected = sorted((p.loss for p in analysis.frontier
                       if p.arm == "baseline" and min(modern) <= p.loss <= max(modern)), reverse=True)
    assert [p.target_loss for p in analysis.ceg_at_loss] == expected and len(expected) == 5
    for point in analysis.ceg_at_loss:
        assert point.ceg == ceg_at_loss(analysis.frontier, point.target_loss) > 0
        assert point.low == pytest.approx(point.ceg) and point.high == pytest.approx(point.ceg)  # no noise
    assert analysis.ceg_at_loss[-1].ceg > 1  # the faster modern exponent wins at low loss


# ---------------------------------------------------------------------------
# Bootstrap, reproducibility and the result's form


def test_same_input_and_seed_give_identical_output():
    runs = planted_runs(np.random.default_rng(12), laws=laws_with(0.15, 0.2), noise=0.02)
    first = analyze_innovation(runs, margin=1.85, n_boot=50, seed=3)
    again = analyze_innovation(runs.sample(frac=1, random_state=1), margin=1.85, n_boot=50, seed=3)
    other = analyze_innovation(runs, margin=1.85, n_boot=50, seed=4)
    assert json.dumps(dataclasses.asdict(first)) == json.dumps(dataclasses.asdict(again))
    assert first.delta_alpha == other.delta_alpha
    assert (first.delta_alpha_low, first.delta_alpha_high) != (other.delta_alpha_low, other.delta_alpha_high)


def test_result_is_plain_data_that_serialises_to_json():
    runs = planted_runs(np.random.default_rng(13), laws=laws_with(0.15, 0.2), noise=0.01)
    analysis = analyze_innovation(runs, margin=1.85, n_boot=20, seed=1)
    assert isinstance(analysis, Analysis)
    data = json.loads(json.dumps(dataclasses.asdict(analysis)))
    assert data["label"] == analysis.label and len(data["fits"]) == 2 and len(data["frontier"]) == 10
    assert data["n_runs"] == 90 and data["n_boot"] == 20 and data["n_boot_failed"] == 0
    assert data["method"]["fit"] == "huber-log" and data["method"]["ci"] == 0.95 and data["method"]["seed"] == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        analysis.label = "other"


def test_one_seed_per_cell_reads_its_noise_off_the_isoflop_parabolas():
    # one seed, five sizes per budget: each ladder's parabola leaves 2 residual degrees of
    # freedom, the cells' noise; the frontier points are recomputed from noisy cells, so
    # their noise is not read off a law's (autocorrelated) residuals along the frontier
    laws = laws_with(0.15, 0.2)
    runs = planted_runs(np.random.default_rng(14), laws=laws, n_seeds=1, noise=0.01,
                        ladder=(0.125, 0.35, 1.0, 2.8, 8.0))
    analysis = analyze_innovation(runs, margin=1.85, n_boot=50)
    assert analysis.n_seeds == 1
    assert any(w.startswith("one seed per cell: the intervals rest on the noise of the IsoFLOP parabolas")
               for w in analysis.warnings)
    assert analysis.method["bootstrap"] == "single-seed cells resampled from the IsoFLOP parabolas' residuals"
    assert analysis.delta_alpha_low < analysis.delta_alpha < analysis.delta_alpha_high
    assert analysis.delta_alpha_low < 0.05 < analysis.delta_alpha_high


def test_one_seed_per_cell_without_a_noise_estimate_withholds_the_label():
    runs = planted_runs(np.random.default_rng(14), laws=laws_with(0.15, 0.2), n_seeds=1, noise=0.01)
    analysis = analyze_innovation(runs, margin=1.85, n_boot=50)
    assert analysis.label == "inconclusive" and analysis.label_basis == "none"
    assert any(reason.startswith("one seed per cell and no ladder of 4 or more sizes") for reason in analysis.withheld)
    assert analysis.n_boot_failed == 0 and math.isnan(analysis.delta_alpha_low)


def test_cells_with_a_single_seed_borrow_noise_from_replicated_cells():
    runs = planted_runs(np.random.default_rng(15), laws=laws_with(0.15, 0.2), noise=0.01)
    runs = runs[~((runs["budget"] == 1e15) & (runs["seed"] > 0))]  # one seed left at 1e15
    analysis = analyze_innovation(runs, margin=1.85, n_boot=50)
    assert any(w.startswith("6 (arm, budget, size) cell(s) have a single seed") for w in analysis.warnings)
    assert analysis.delta_alpha_low < analysis.delta_alpha_high


def test_noiseless_data_gives_exact_answers_and_zero_width_intervals():
    runs = planted_runs(np.random.default_rng(16), laws=laws_with(0.15, 0.15), noise=0.0)
    analysis = analyze_innovation(runs, margin=1.85, n_boot=20)
    assert analysis.delta_alpha == pytest.approx(0, abs=1e-9)
    assert analysis.delta_alpha_high - analysis.delta_alpha_low < 1e-9
    assert analysis.label == "scale-invariant"


# ---------------------------------------------------------------------------
# Errors


def _valid_runs():
    return planted_runs(np.random.default_rng(17), noise=0.01, n_seeds=2)


def test_missing_arm_is_named():
    runs = _valid_runs()
    with pytest.raises(AnalysisError, match="no runs for arm 'modern'"):
        analyze_innovation(runs[runs["arm"] == "baseline"], margin=1.85)


def test_too_few_budgets_names_the_arm_and_its_budgets():
    runs = _valid_runs()
    runs = runs[(runs["arm"] == "baseline") | runs["budget"].isin([1e13, 1e14])]
    with pytest.raises(AnalysisError, match=r"arm 'modern' has runs at only 2 budget\(s\) \(1e\+13, 1e\+14 FLOPs\)"):
        analyze_innovation(runs, margin=1.85)


def test_non_finite_loss_names_the_run():
    runs = _valid_runs()
    runs.loc[runs.index[5], "final_loss"] = float("nan")
    row = runs.loc[runs.index[5]]
    with pytest.raises(AnalysisError, match="non-finite") as error:
        analyze_innovation(runs, margin=1.85)
    assert f"{row.arm} @ {row.budget:.3g} FLOPs, {row.n_params:.0f} params, seed {row.seed}" in str(error.value)


def test_missing_column_and_unknown_arm_are_named():
    runs = _valid_runs()
    with pytest.raises(AnalysisError, match="final_loss"):
        analyze_innovation(runs.drop(columns="final_loss"), margin=1.85)
    with pytest.raises(AnalysisError, match="unknown arm"):
        analyze_innovation(runs.replace({"arm": {"modern": "moderne"}}), margin=1.85)


def test_analysis_error_is_a_value_error():
    assert issubclass(AnalysisError, ValueError)
    with pytest.raises(ValueError, match="margin"):
        analyze_innovation(_valid_runs(), margin=0.9)


def test_paired_seed_bootstrap_draws_the_same_seeds_for_both_arms():
    """Joint resampling: the baseline and modern ladders of a budget
    draw the same residual indices, so correlated seed noise stays correlated."""
    from cegbench.analysis.bootstrap import draw_seed_noise, paired_groups, residual_pools
    from cegbench.analysis.frontier import ladders_from_runs
    from cegbench.analysis.simulate import Shape, null_truth, planted_runs

    shape = Shape(budgets=(1e11, 1e12), n_seeds=3)
    runs = planted_runs(shape, null_truth(), 0.01, np.random.default_rng(0), rho=1.0)
    ladders = ladders_from_runs(runs)
    pools = residual_pools(ladders)
    assert paired_groups(ladders, pools) == [[0, 2], [1, 3]]
    # rho = 1: both arms have the same residuals, so joint draws give identical noise
    paired = draw_seed_noise(ladders, pools, np.random.default_rng(1), 50, paired=True)
    np.testing.assert_allclose(paired[0], paired[2])
    unpaired = draw_seed_noise(ladders, pools, np.random.default_rng(1), 50, paired=False)
    assert not np.allclose(unpaired[0], unpaired[2])
    # a ladder with other sizes is drawn on its own
    ladders[2] = dataclasses.replace(ladders[2], n_params=ladders[2].n_params * 2)
    assert paired_groups(ladders, pools) == [[0], [1, 3], [2]]


def test_planted_runs_rho_correlates_the_arms_seed_noise():
    from cegbench.analysis.simulate import Shape, null_truth, planted_runs

    shape = Shape(budgets=(1e11, 1e12), n_seeds=50)
    clean = planted_runs(shape, null_truth(), 0.0, np.random.default_rng(0)).final_loss.to_numpy()

    def arm_noise(rho):
        runs = planted_runs(shape, null_truth(), 0.01, np.random.default_rng(0), rho=rho)
        noise = runs.final_loss.to_numpy() - clean
        return [noise[(runs.arm == arm).to_numpy()] for arm in ("baseline", "modern")]

    assert 0.7 < np.corrcoef(*arm_noise(0.8))[0, 1] < 0.9
    assert abs(np.corrcoef(*arm_noise(0.0))[0, 1]) < 0.2
