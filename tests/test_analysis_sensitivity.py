"""Tests of what surrounds the main verdict: sensitivity, decision estimate, CEG at target
losses, wall-clock CEG, single-size budgets, failed runs, composition and storage.

Synthetic runs come from the planted laws of ``test_analysis.py``.
"""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from test_analysis import BUDGETS, E_TRUE, KNOWN_FRONTIER, laws_with, planted_runs

from cegbench.analysis import analyze_innovation, compose, parts_first
from cegbench.analysis.ceg import LossCEGPoint, ceg_at_losses, loss_targets
from cegbench.analysis.estimate import monte_carlo_interval, percentile_interval
from cegbench.analysis.fit import ScalingLawFitter
from cegbench.analysis.frontier import ARMS
from cegbench.registry.db import save_verdict, verdicts
from cegbench.registry.opening import open_registry

# ---------------------------------------------------------------------------
# Sensitivity


def test_a_verdict_carried_by_one_budget_rests_on_it():
    # Equal exponents, but the modern arm's largest budget is 4 % better than its law:
    # no law fits that (the label comes from the equal-loss CEGs), which say "grows with
    # scale" only because of that budget: without it the drift is flat or shrinks.
    runs = planted_runs(np.random.default_rng(20), laws=laws_with(0.15, 0.15), noise=0.005, n_seeds=4)
    bump = (runs["arm"] == "modern") & (runs["budget"] == BUDGETS[-1])
    runs.loc[bump, "final_loss"] *= 0.96
    analysis = analyze_innovation(runs, margin=1.85, n_boot=100)
    assert (analysis.label, analysis.direction) == ("scale-dependent", "grows with scale")
    assert analysis.label_basis == "equal-loss CEGs" and any("misfits" in w for w in analysis.withheld)
    assert "the 1e+17 FLOPs budget" in analysis.rests_on
    assert "the modern frontier point at 1e+17 FLOPs" in analysis.rests_on
    assert any(w.startswith("the label rests on one budget or point") for w in analysis.warnings)


def test_a_clear_scale_dependence_is_not_fragile():
    runs = planted_runs(np.random.default_rng(21), laws=laws_with(0.15, 0.3), noise=0.005)
    analysis = analyze_innovation(runs, margin=1.85, n_boot=100)
    assert [v.variant for v in analysis.sensitivity] == [
        "drop smallest budget", "drop largest budget", "E fixed", "E per arm"]
    assert all(v.label == "scale-dependent" and v.direction == "grows with scale" for v in analysis.sensitivity)
    assert not analysis.fragile


def test_e_fixed_variant_holds_the_full_fits_E():
    runs = planted_runs(np.random.default_rng(22), laws=laws_with(0.15, 0.2), noise=0.01)
    analysis = analyze_innovation(runs, margin=1.85, n_boot=100)
    fixed = next(v for v in analysis.sensitivity if v.variant == "E fixed")
    # E held at its fitted value: the same optimum, an interval of its own
    assert fixed.delta_alpha == pytest.approx(analysis.delta_alpha, abs=1e-6)
    assert fixed.low < fixed.delta_alpha < fixed.high
    assert (fixed.low, fixed.high) != (analysis.delta_alpha_low, analysis.delta_alpha_high)
    assert (fixed.label, fixed.direction) == (analysis.label, analysis.direction)


def test_variants_that_leave_too_few_budgets_say_so():
    runs = planted_runs(np.random.default_rng(23), budgets=BUDGETS[:3], noise=0.01)
    analysis = analyze_innovation(runs, margin=1.85, n_boot=20)
    dropped = [v for v in analysis.sensitivity if v.variant.startswith("drop")]
    assert all(v.label is None and "would keep 2 budget(s)" in v.note for v in dropped)


def test_fitter_with_fixed_E_recovers_the_exponents():
    laws = laws_with(0.12, 0.3)
    arms = [arm for arm in ARMS for _ in BUDGETS]
    budgets = [b for _ in ARMS for b in BUDGETS]
    fitter = ScalingLawFitter(ARMS, arms, budgets, fixed_E=E_TRUE)
    fit = fitter.fit([laws[a].loss(b) for a, b in zip(arms, budgets)])
    assert fit.converged and fitter.free.sum() == 4
    for arm in ARMS:
        assert fit.laws[arm].E == E_TRUE
        assert fit.laws[arm].alpha == pytest.approx(laws[arm].alpha, rel=1e-6)
    with pytest.raises(ValueError, match="fixed_E needs shared_E"):
        ScalingLawFitter(ARMS, arms, budgets, shared_E=False, fixed_E=E_TRUE)


# ---------------------------------------------------------------------------
# Decision estimate


def test_few_noisy_points_are_inconclusive_with_a_decision_estimate():
    runs = planted_runs(np.random.default_rng(102), laws=laws_with(0.15, 0.15), n_seeds=2, noise=0.04)
    analysis = analyze_innovation(runs, margin=1.25, n_boot=100)
    assert analysis.label == "inconclusive"
    decision = analysis.decision
    assert decision.more_seeds in (4, 8, 16) and decision.more_seeds % 2 == 0
    assert f"{decision.more_seeds} seeds per cell (now 2)" in decision.text
    decided = {t["scenario"]: t["decided"] for t in decision.tried}
    assert decided[f"{decision.more_seeds} seeds per cell"] >= 0.8
    assert all(share < 0.8 for scenario, share in decided.items()
               if scenario.endswith("seeds per cell") and int(scenario.split()[0]) < decision.more_seeds)
    # and the estimate holds: fresh data with that many seeds mostly decides it
    fresh = [analyze_innovation(planted_runs(np.random.default_rng(500 + i), laws=laws_with(0.15, 0.15),
                                             n_seeds=decision.more_seeds, noise=0.04),
                                margin=1.25, n_boot=100, check_sensitivity=False).label
             for i in range(3)]
    assert sum(label != "inconclusive" for label in fresh) >= 2


def test_hopeless_case_says_nothing_tried_decides_it():
    # equal exponents and a margin of 1 (no drift at all allowed): nothing can decide it
    runs = planted_runs(np.random.default_rng(8), laws=laws_with(0.15, 0.15), budgets=BUDGETS[:3],
                        n_seeds=2, noise=0.03)
    analysis = analyze_innovation(runs, margin=1.0, n_boot=50)
    assert analysis.label == "inconclusive" and not analysis.withheld
    assert analysis.decision.more_seeds is None and analysis.decision.budget_factor is None
    assert analysis.decision.text.startswith("not decided in ≥ 80% of 30 simulations")


def test_decided_verdicts_have_no_decision_estimate():
    runs = planted_runs(np.random.default_rng(24), laws=laws_with(0.15, 0.25), noise=0.01)
    assert analyze_innovation(runs, margin=1.85, n_boot=50).decision is None


# ---------------------------------------------------------------------------
# CEG at target loss


def test_ceg_at_losses_targets_and_intervals_on_known_frontiers():
    frontier = KNOWN_FRONTIER
    assert loss_targets(frontier) == [3.5, 3.0]  # 4.0 lies above the modern frontier
    # two replicates: the measured frontier, and every loss 0.1 lower
    losses = np.array([p.loss for p in frontier])
    replicates = np.stack([losses, losses - 0.1], axis=1)
    [at_35, at_30] = ceg_at_losses(frontier, [3.5, 3.0], replicates, lambda s: (s.min(), s.max()))
    # loss 3.5: baseline at 1e13 exactly; modern half-way (0.3 of 0.6) from 1e12 to 1e13 in log C
    assert at_35.ceg == pytest.approx(1e13 / 10**12.5, rel=1e-9)
    # in the shifted replicate: baseline 4/5 of the way from 1e12 to 1e13, modern 1/3
    shifted = 10**12.8 / 10 ** (12 + 1 / 3)
    assert (at_35.low, at_35.high) == pytest.approx(sorted([at_35.ceg, shifted]), rel=1e-9)
    assert at_30.ceg == pytest.approx(1e14 / 10 ** (13 + 0.2 / 0.3), rel=1e-9)
    assert isinstance(at_30, LossCEGPoint)


def test_a_target_loss_the_replicates_fall_on_both_sides_of_is_left_out():
    """A target at a frontier's edge: replicates that no longer reach it would leave a
    one-sided interval (the point outside it), so the target is dropped."""
    losses = np.array([p.loss for p in KNOWN_FRONTIER])
    # in the third replicate every loss is 0.1 higher: the baseline never reaches 3.0
    replicates = np.stack([losses, losses - 0.1, losses + 0.1, losses], axis=1)

    def interval(s):
        return np.nanmin(s), np.nanmax(s)

    assert [p.target_loss for p in ceg_at_losses(KNOWN_FRONTIER, [3.5, 3.0], replicates, interval,
                                                 max_missing=1.0)] == [3.5, 3.0]
    assert [p.target_loss for p in ceg_at_losses(KNOWN_FRONTIER, [3.5, 3.0], replicates, interval,
                                                 max_missing=0.1)] == [3.5]


# ---------------------------------------------------------------------------
# Wall-clock CEG


def _timed(runs: pd.DataFrame, seconds_per_flop: dict[str, float]) -> pd.DataFrame:
    runs = runs.copy()
    runs["train_time_s"] = runs["budget"] * runs["arm"].map(seconds_per_flop)
    return runs


def test_wall_clock_ceg_scales_the_ceg_by_the_seconds_per_flop_ratio():
    runs = _timed(planted_runs(np.random.default_rng(25), laws=laws_with(0.15, 0.2), noise=0.01),
                  {"baseline": 1e-9, "modern": 4e-9})
    analysis = analyze_innovation(runs, margin=1.85, n_boot=50)
    assert len(analysis.wall_ceg) == len(analysis.ceg)
    for wall, ceg in zip(analysis.wall_ceg, analysis.ceg):
        assert (wall.compute, wall.extrapolated) == (ceg.compute, ceg.extrapolated)
        assert wall.ceg == pytest.approx(ceg.ceg / 4, rel=1e-12)
        assert wall.low == pytest.approx(ceg.low / 4, rel=1e-9)  # timings without noise
    assert analysis.method["wall_ceg"].startswith("CEG × median")


def test_wall_clock_ceg_interval_carries_the_timing_noise():
    runs = _timed(planted_runs(np.random.default_rng(26), laws=laws_with(0.15, 0.2), noise=0.01),
                  {"baseline": 1e-9, "modern": 1e-9})
    runs["train_time_s"] *= np.exp(0.3 * np.random.default_rng(0).standard_normal(len(runs)))
    analysis = analyze_innovation(runs, margin=1.85, n_boot=100)
    measured = [(w, c) for w, c in zip(analysis.wall_ceg, analysis.ceg) if not c.extrapolated]
    assert all(w.high / w.low > c.high / c.low for w, c in measured)


def test_wall_clock_ceg_needs_every_timing():
    runs = planted_runs(np.random.default_rng(27), noise=0.01)
    assert analyze_innovation(runs, margin=1.85, n_boot=10).wall_ceg is None  # no column: nothing said
    runs = _timed(runs, {"baseline": 1e-9, "modern": 1e-9})
    runs.loc[runs.index[:3], "train_time_s"] = 0.0
    analysis = analyze_innovation(runs, margin=1.85, n_boot=10)
    assert analysis.wall_ceg is None
    assert "wall-clock CEG left out: 3 run(s) have no positive train_time_s" in analysis.warnings


# ---------------------------------------------------------------------------
# Single-size budgets, failed runs, frontier parabolas, fit bands


def test_single_size_budgets_use_the_cell_mean_without_bracketing_warnings():
    laws = laws_with(0.15, 0.2)
    runs = planted_runs(np.random.default_rng(28), laws=laws, noise=0.002, n_seeds=4, ladder=(1.0,))
    analysis = analyze_innovation(runs, margin=1.85, n_boot=50)
    assert not any("bracketed" in w for w in analysis.warnings)
    for point in analysis.frontier:
        cell = runs[(runs["arm"] == point.arm) & (runs["budget"] == point.budget)]
        assert point.single_size and point.bracketed is None and point.parabola is None
        assert point.loss == pytest.approx(cell["final_loss"].mean(), rel=1e-12)
        assert point.n_params_opt == cell["n_params"].iloc[0]
    for arm in ARMS:
        assert analysis.fit(arm).alpha == pytest.approx(laws[arm].alpha, abs=0.01)
    assert analysis.delta_alpha_low < analysis.delta_alpha < analysis.delta_alpha_high


def test_a_ladder_cut_to_one_size_among_full_ladders_is_still_flagged():
    runs = planted_runs(np.random.default_rng(29), noise=0.01)
    ladder = (runs["arm"] == "modern") & (runs["budget"] == 1e15)
    cut = ladder & (runs["n_params"] != runs.loc[ladder, "n_params"].max())
    analysis = analyze_innovation(runs[~cut], margin=1.85, n_boot=10)
    assert any(w.startswith("modern @ 1e+15 FLOPs: optimum not bracketed (only 1 size(s)")
               for w in analysis.warnings)


def test_failed_runs_are_left_out_and_counted():
    runs = planted_runs(np.random.default_rng(30), noise=0.01)
    runs["status"] = "ok"
    runs.loc[runs.index[:4], ["status", "final_loss"]] = ["failed", None]
    analysis = analyze_innovation(runs, margin=1.85, n_boot=10)
    assert (analysis.n_runs, analysis.n_failed) == (len(runs) - 4, 4)
    assert "4 failed run(s) left out of the analysis" in analysis.warnings


def test_frontier_carries_its_parabola_in_ln_n():
    runs = planted_runs(np.random.default_rng(31), noise=0.0)
    analysis = analyze_innovation(runs, margin=1.85, n_boot=10)
    for point in analysis.frontier:
        c0, c1, c2 = point.parabola
        x = math.log(point.n_params_opt)
        assert c2 == pytest.approx(0.05, rel=1e-4)  # the planted valley's curvature
        assert c0 + c1 * x + c2 * x * x == pytest.approx(point.loss, rel=1e-9)
        assert -c1 / (2 * c2) == pytest.approx(x, rel=1e-9)


def test_fit_bands_span_measured_and_extrapolated_computes():
    runs = planted_runs(np.random.default_rng(32), laws=laws_with(0.15, 0.2), noise=0.01)
    analysis = analyze_innovation(runs, margin=1.85, n_boot=50)
    for arm in ARMS:
        band = analysis.fit_bands[arm]
        assert band[0]["compute"] == pytest.approx(BUDGETS[0]) and band[-1]["compute"] == pytest.approx(2e23)
        assert all(p["low"] <= p["loss"] <= p["high"] for p in band)
        assert band[-1]["high"] - band[-1]["low"] > band[0]["high"] - band[0]["low"]  # wider far out


# ---------------------------------------------------------------------------
# Composition


def test_composition_compares_the_bundle_with_the_product_of_its_parts():
    measured = {"compute": 1e12, "ceg": 3.0, "low": 2.5, "high": 3.6}
    parts = {
        "a": [{"compute": 1e11, "ceg": 9.0}, {"compute": 1e12, "ceg": 1.5}],
        "b": [{"compute": 1e12, "ceg": 2.5}],
    }
    composition = compose(measured, parts)
    assert composition.parts == ({"name": "a", "ceg": 1.5}, {"name": "b", "ceg": 2.5})
    assert composition.product == pytest.approx(3.75) and composition.ratio == pytest.approx(0.8)
    assert composition.missing == ()


def test_composition_lists_missing_parts_and_leaves_out_the_product():
    measured = {"compute": 1e12, "ceg": 3.0, "low": 2.5, "high": 3.6}
    parts = {"a": [{"compute": 1e12, "ceg": 1.5}], "b": None, "c": [{"compute": 1e12, "ceg": float("nan")}]}
    composition = compose(measured, parts)
    assert composition.missing == ("b", "c") and composition.product is None and composition.ratio is None


def test_parts_are_analysed_before_their_bundles():
    parts_of = {"bundle": ["x", "y", "elsewhere"], "x": [], "y": ["z"], "z": []}
    assert parts_first(["bundle", "y", "x", "z"], parts_of) == ["x", "z", "y", "bundle"]
    assert parts_first(["a", "b"], {"a": ["b"], "b": ["a"]}) == ["b", "a"]  # a cycle ends


# ---------------------------------------------------------------------------
# Storage


def test_verdict_detail_is_stored_as_json_and_null_when_absent(tmp_path):
    db = open_registry(tmp_path / "r.db")
    db["innovations"].insert({"name": "x"})
    common = {"label": "inconclusive", "margin": 0.05, "n_runs": 0, "n_failed": 0}
    decision = {"more_seeds": 12, "budget_factor": None, "text": "t"}
    save_verdict(db, innovation="x", tier=SimpleNamespace(name="cpu", version=1), fits=[],
                 verdict={**common, "fragile": True, "decision": decision, "sensitivity": []})
    [row] = verdicts(db, "cpu", "x")
    assert row["fragile"] == 1 and json.loads(row["decision"]) == decision and row["sensitivity"] == "[]"
    assert row["wall_ceg"] is None and row["composition"] is None and row["fit_bands"] is None
    assert verdicts(db, "cpu", "y") == [] and verdicts(db, "gpu") == []


def test_percentile_interval_of_nothing_is_nan():
    low, high = percentile_interval(np.empty(0))
    assert math.isnan(low) and math.isnan(high)


def test_monte_carlo_interval_moves_each_tail_by_its_binomial_error():
    samples = np.arange(1.0, 2001.0)  # 2,000 replicates spread evenly: quantile q sits at 1 + 1999·q
    tail = 0.01 - 1.96 * math.sqrt(0.01 * 0.99 / 2000)  # 0.00564 of the 98 % interval's 0.01
    low, high = monte_carlo_interval(samples, confidence=0.98)
    assert (low, high) == pytest.approx((1 + 1999 * tail, 1 + 1999 * (1 - tail)))
    assert (low, high) == pytest.approx((12.27, 1988.73), abs=0.01)
    # wider than the plain interval; with 20 replicates no tail is left: the extremes
    plain = percentile_interval(samples, confidence=0.98)
    assert low < plain[0] and high > plain[1]
    assert monte_carlo_interval(samples[:20], confidence=0.98) == (1.0, 20.0)
    assert all(math.isnan(x) for x in monte_carlo_interval(np.full(5, np.nan)))


@pytest.mark.parametrize("edge, within", [(0.985, True), (1.2, False)])
def test_a_label_whose_bound_is_within_monte_carlo_error_weakens(edge, within):
    """Replicates spread evenly over [−a, a]: the 98 % interval is ±0.98·a. With a =
    margin/0.985 it lies inside the margin (invariant), but its Monte-Carlo band reaches
    past it: another bootstrap seed could make the label inconclusive."""
    from cegbench.analysis.analyze import _within_monte_carlo_error
    from cegbench.analysis.drift import exponent_margin
    from cegbench.analysis.label import label_from_drift

    margin = 1.5
    a = exponent_margin(margin) / edge
    samples = np.linspace(-a, a, 2000)
    label, direction = label_from_drift(*percentile_interval(samples), margin,
                                        dependent=percentile_interval(samples, confidence=0.99))
    assert label == "scale-invariant"
    assert _within_monte_carlo_error(samples, label, direction, margin) is within
    assert not _within_monte_carlo_error(samples, "inconclusive", None, margin)


def test_model_free_statistics_read_ten_times_the_replicates():
    """The equal-loss drift needs no fit per replicate: it is read off 10 × n_boot
    bootstrap frontiers, while n_boot of them are fitted."""
    runs = planted_runs(np.random.default_rng(3), laws=laws_with(0.15, 0.15), noise=0.005, n_seeds=2)
    analysis = analyze_innovation(runs, margin=1.25, n_boot=30, check_sensitivity=False)
    assert analysis.method["model_free_replicates"] == 300 and analysis.n_boot == 30
    assert analysis.n_boot_failed <= 30


def test_report_of_a_verdict_that_could_not_be_analysed():
    from cegbench.present.report import verdict_lines

    row = {"tier": "cpu", "tier_version": 1, "label": "inconclusive", "direction": None,
           "delta_alpha": None, "margin": 0.05, "n_runs": 3, "n_failed": 1, "ceg": "[]", "frontier": "[]",
           "warnings": json.dumps(["cannot analyse yet: no runs for arm 'modern'"]),
           "fragile": None, "sensitivity": None, "ceg_at_loss": None, "wall_ceg": None,
           "composition": None, "decision": None}
    assert verdict_lines(row, []) == [
        "tier cpu v1: inconclusive",
        "  runs: 3 ok, 1 failed (left out)",
        "  warning: cannot analyse yet: no runs for arm 'modern'",
    ]
