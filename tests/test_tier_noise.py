"""The tier-wide noise model, the valley's shape and the robust intervals built on them
(``analysis.noise``, ``analysis.valley``, ``analysis.robust``), on planted data."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from cegbench.analysis import analyze_innovation
from cegbench.analysis.calibrate import TierModel
from cegbench.analysis.frontier import ARMS, ladders_from_runs, validate_runs
from cegbench.analysis.noise import (
    MIN_PAIRS,
    NoiseModel,
    NoiseModelError,
    difference_logpdf,
    fit_noise_model,
)
from cegbench.analysis.robust import (
    arm_correlation,
    replicate_frontiers,
    robust_frontier,
    robust_variance,
)
from cegbench.analysis.valley import ValleyLadder, fit_valleys, shaped_optimum, valley_loss

PLANTED = NoiseModel(break_length=2500.0, log_scale=math.log(0.005), slope_short=-1.0, slope_long=0.15,
                     nu_short=1.2, nu_long=2.5)


@pytest.mark.parametrize("nu", [1.0, 2.5, 30.0])
def test_the_difference_of_two_t_draws_has_a_proper_density(nu):
    total, _ = integrate.quad(lambda z: math.exp(difference_logpdf(np.array([z]), nu)[0]), -np.inf, np.inf,
                              limit=200)
    assert total == pytest.approx(1.0, abs=2e-3)


def test_the_difference_of_two_normals_is_normal_with_twice_the_variance():
    z = np.linspace(-3, 3, 13)  # further out, t₂₀₀'s tails are still heavier than a normal's
    assert np.allclose(difference_logpdf(z, 200.0), stats.norm.logpdf(z, scale=math.sqrt(2)), atol=0.02)


def _planted_cells(model: NoiseModel, n_cells: int, seeds: int, rng) -> list:
    lengths = np.exp(rng.uniform(np.log(500), np.log(60_000), n_cells))
    return [(n, 2.0 + model.draw(np.full(seeds, n), rng)) for n in lengths]


def test_the_fit_recovers_a_planted_noise_model():
    cells = _planted_cells(PLANTED, 600, 2, np.random.default_rng(0))
    fitted = fit_noise_model(cells)
    for length in (700, 2500, 20_000):
        assert fitted.scale(length) == pytest.approx(PLANTED.scale(length), rel=0.3)
    assert fitted.nu_short < 2.0 < fitted.nu_long  # heavier tails for short runs
    assert fitted.n_pairs == 600


def test_gaussian_noise_is_fitted_with_light_tails_and_a_flat_scale():
    rng = np.random.default_rng(1)
    cells = [(n, 2.0 + 0.01 * rng.standard_normal(3)) for n in np.exp(rng.uniform(6, 11, 300))]
    fitted = fit_noise_model(cells)
    assert fitted.nu_long > 15 and fitted.nu_short > 5
    assert fitted.scale(3000) == pytest.approx(0.01, rel=0.15)
    assert fitted.n_pairs == 900  # a cell of 3 seeds gives 3 pairs (each weighted 2/3)


def test_too_few_seed_pairs_are_refused_with_their_count():
    cells = _planted_cells(PLANTED, MIN_PAIRS - 1, 2, np.random.default_rng(2))
    with pytest.raises(NoiseModelError, match=f"{MIN_PAIRS - 1} seed pair"):
        fit_noise_model(cells)


def test_the_median_of_heavy_tailed_seeds_settles_where_their_mean_does_not():
    model = dataclasses.replace(PLANTED, nu_short=1.0)  # Cauchy below the break
    rng = np.random.default_rng(3)
    draws = model.draw(np.full((20_000, 6), 700.0), rng)
    def iqr(x):
        return np.subtract(*np.percentile(x, [75, 25]))

    assert iqr(np.median(draws, axis=1)) < 0.5 * iqr(draws.mean(axis=1))
    assert model.cell_sd(700.0, 6) < model.cell_sd(700.0, 2) < model.cell_sd(700.0, 1)


def test_draws_stay_within_the_largest_seed_difference_seen():
    model = dataclasses.replace(PLANTED, nu_short=0.5, max_deviation=0.3)
    draws = model.draw(np.full(50_000, 500.0), np.random.default_rng(4))
    assert np.abs(draws).max() <= 0.3 and np.abs(draws).max() > 0.2
    assert np.abs(model.from_normal(500.0, np.array([-30.0, 30.0]))).max() <= 0.3


# -- the valley ---------------------------------------------------------------


def test_the_shape_aware_optimum_finds_an_asymmetric_valleys_bottom_where_a_parabola_does_not():
    n_params = np.array([8e3, 3.5e4, 1e5])
    losses = valley_loss(np.log(n_params), 2.30, math.log(2.5e4), 0.1, 3.0)
    loss, n_opt, inside, curvature = shaped_optimum(n_params, losses, 3.0)
    assert loss == pytest.approx(2.30, abs=5e-4) and n_opt == pytest.approx(2.5e4, rel=0.02)
    assert inside and curvature == pytest.approx(0.1, rel=0.01)
    symmetric, _, _, _ = shaped_optimum(n_params, losses, 1.0)  # a parabola: below the truth
    assert symmetric < 2.29


def test_an_optimum_at_the_ladders_edge_is_not_inside():
    n_params = np.array([1e4, 2e4, 4e4])
    losses = np.array([2.3, 2.4, 2.6])  # falls towards smaller models
    _, _, inside, _ = shaped_optimum(n_params, losses, 2.0)
    assert not inside


def test_the_tiers_valley_shape_is_recovered_from_its_ladders():
    rng = np.random.default_rng(5)
    ladders = []
    for group, c in (("a", 0.08), ("b", 0.12)):
        for budget in (2.5e11, 1e12, 4e12):
            n_star = 5e4 * (budget / 1e12) ** 0.5
            sizes = n_star * np.exp(rng.uniform(-0.4, 0.4) + np.array([-1.2, 0.0, 1.0, 2.0]))
            curvature = c * (budget / 1e12) ** -0.2
            losses = valley_loss(np.log(sizes), 2.0, math.log(n_star), curvature, 2.5)
            ladders.append(ValleyLadder(group, budget, sizes, losses + 0.002 * rng.standard_normal(4)))
    fit = fit_valleys(ladders)
    assert fit.asymmetry == pytest.approx(2.5, rel=0.15)
    assert fit.gamma == pytest.approx(-0.2, abs=0.1)
    assert fit.curvature["b"] > fit.curvature["a"]


# -- robust intervals ----------------------------------------------------------


def _pair_runs(rng, *, model=PLANTED, seeds=3, rho=0.0, drift=1.0):
    """A planted pair on a 3-budget tier with an asymmetric valley and ``model``'s noise."""
    rows = []
    for budget in (2.5e11, 1e12, 4e12):
        n_star = 5e4 * (budget / 1e12) ** 0.6
        for width, factor in ((16, 0.35), (32, 1.1), (48, 3.0)):
            steps = budget / (6 * n_star * factor * 4096)  # short runs: below the break at 2.5e11
            shared = rng.standard_normal(seeds)
            for arm, alpha in zip(ARMS, (0.07, 0.07 * (1 + math.log10(drift)))):
                frontier = 15 * budget ** -alpha * (1.0 if arm == "baseline" else 1.3 ** -0.07)
                loss = valley_loss(math.log(factor), frontier, 0.0, 0.1, 2.0)
                z = math.sqrt(rho) * shared + math.sqrt(1 - rho) * rng.standard_normal(seeds)
                for seed, noise in enumerate(model.from_normal(steps, z)):
                    rows.append((arm, budget, width, n_star * factor, seed, steps, steps * 4096, loss + noise))
    return pd.DataFrame(rows, columns=["arm", "budget", "width", "n_params", "seed", "steps", "tokens", "final_loss"])


def test_the_arms_correlation_is_read_off_their_seed_contrasts_conservatively():
    rng = np.random.default_rng(6)
    together = ladders_from_runs(validate_runs(_pair_runs(rng, rho=0.9, seeds=4)))
    apart = ladders_from_runs(validate_runs(_pair_runs(rng, rho=0.0, seeds=4)))
    assert 0.3 < arm_correlation(together) <= 0.9
    assert arm_correlation(apart) < 0.3


def test_replicates_redraw_each_cell_from_the_tier_model_at_its_length():
    rng = np.random.default_rng(7)
    ladders = ladders_from_runs(validate_runs(_pair_runs(rng)))
    model = TierModel(PLANTED, 2.0)
    _, allowances, _ = robust_frontier(ladders, model)
    replicates = replicate_frontiers(ladders, model, np.random.default_rng(0), 2000, allowances)
    assert replicates.shape == (len(ladders), 2000)
    spread = np.sqrt(robust_variance(replicates, axis=1))
    by_budget = {ladder.budget: s for ladder, s in zip(ladders, spread)}
    assert by_budget[2.5e11] > by_budget[4e12]  # short runs at the smallest budget: noisier
    with_more_seeds = replicate_frontiers(ladders, model, np.random.default_rng(0), 2000, allowances, seed_factor=4)
    assert np.all(np.sqrt(robust_variance(with_more_seeds, axis=1)) < spread)


def test_runs_without_their_training_length_are_refused_by_a_tier_model():
    runs = _pair_runs(np.random.default_rng(8)).drop(columns=["steps"])
    with pytest.raises(ValueError, match="'steps'"):
        analyze_innovation(runs, margin=1.5, n_boot=20, tier_model=TierModel(PLANTED, 2.0), check_sensitivity=False)


def test_an_analysis_with_a_tier_model_says_so_and_keeps_the_planted_drift_in_its_interval():
    model = TierModel(PLANTED, 2.0)
    analysis = analyze_innovation(_pair_runs(np.random.default_rng(9), drift=1.4), margin=1.5, n_boot=100,
                                  tier_model=model, check_sensitivity=False)
    assert analysis.method["tier_model"]["noise"]["nu_short"] == PLANTED.nu_short
    assert "tier's noise model" in analysis.method["bootstrap"]
    assert analysis.method["t_dof"] is None  # no t multiplier
    assert analysis.drift_low <= 1.4 <= analysis.drift_high


def test_only_a_tier_that_asks_for_it_reads_its_intervals_off_a_tier_model(tmp_path):
    from cegbench.registry.opening import open_registry
    from cegbench.sweep.verdicts import fit_tier_noise
    from cegbench.tiers import CPU_V4, TIERS

    db = open_registry(tmp_path / "empty.db")
    assert fit_tier_noise(db, TIERS.get("cpu")) is None  # v3: per-ladder residual pools
    assert fit_tier_noise(db, CPU_V4) is None  # v4, but no seed pairs yet: pools until there are


@pytest.mark.parametrize("nu, shrinks", [(1.0, (0.02, 0.18)), (30.0, (0.25, 0.45))])
def test_more_seeds_shrink_a_cell_as_its_tails_say_not_as_one_over_k(nu, shrinks):
    """What "more seeds" buys, as ``decision`` reads it off the tier model: 4× the seeds of a
    2-seed cell shrink its variance to a little over 1/4 under light tails (a median of 8
    against a mean of 2: (π/2)/8 against 1/2), but far more under Cauchy tails (the mean
    of 2 Cauchy draws is as wide as one; the median of 8 is not). Never simply 1/k."""
    model = TierModel(dataclasses.replace(PLANTED, nu_short=nu, nu_long=nu), 2.0)
    rows = [(arm, budget, 32, 3e4, seed, 500.0, 500.0 * 4096, 2.0 + 0.01 * seed)
            for arm in ARMS for budget in (1e11, 1e12, 1e13) for seed in range(2)]
    runs = pd.DataFrame(rows, columns=["arm", "budget", "width", "n_params", "seed", "steps", "tokens", "final_loss"])
    ladders = ladders_from_runs(validate_runs(runs))  # one size per budget: the frontier is the cell
    allowances = [np.inf] * len(ladders)
    two = replicate_frontiers(ladders, model, np.random.default_rng(0), 20_000, allowances, correlation=0.0)
    eight = replicate_frontiers(ladders, model, np.random.default_rng(1), 20_000, allowances, seed_factor=4,
                                correlation=0.0)
    ratio = np.median(robust_variance(eight, axis=1) / robust_variance(two, axis=1))
    assert shrinks[0] < ratio < shrinks[1]
