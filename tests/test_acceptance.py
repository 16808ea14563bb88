"""Planted-truth acceptance suite for the labels.

Runs drawn from known laws on the tiers' real shapes (budgets, seeds, a 3-size
IsoFLOP ladder) are analysed as ``cegbench analyze`` does
(``cegbench.analysis.simulate``), and the labels are held to:

* invariant or null pairs labelled scale-dependent in ≤ 5 % of draws;
* a dependent pair whose CEG grows 1.4× across the tier labelled scale-invariant in
  ≤ 5 %, and scale-dependent in ≥ 80 % at noise ≤ 0.01 nats where the tier has the
  power for it (``POWERED``);
* Δα and CEG (at the largest budget) intervals covering the truth in ≥ 93 % of the
  draws that report them;
* no label and no extrapolated number from an unbracketed or floor fit, and no
  extrapolated number from a fit at a bound (its label is read off the equal-loss CEGs,
  held to the same thresholds on straight frontiers, E = 0, as the cpu tier's real runs);
* ``analyze`` ≤ 10 s per innovation on every scenario, in CPU seconds of the test's
  own process (wall-clock time grows with whatever else the machine runs: on the cpu
  tier at 0.03 nats an analysis took up to 7 CPU s and 14 s of wall clock on two cores
  shared with two other test processes).

The fast version (default CI) checks the hard guarantees on a few draws; the full
version (``pytest -m slow``) draws ``N_SLOW`` per cell and checks the rates (coverage
and the false-dependent rate pooled over the noises: see its test).
"""

from __future__ import annotations

import pytest

from cegbench.analysis.simulate import Shape, confusion_table, scenarios, simulate
from cegbench.tiers import TIERS

NOISES = (0.003, 0.01, 0.03)
N_SLOW = 40
MAX_SECONDS = 10.0
LABELLED = ("scale-dependent", "scale-invariant")
# (tier, noise) where a 1.4× CEG growth across the tier is detected in ≥ 80 % of draws
# (measured with this suite; the cpu tier at 0.03 nats has no such power: a tier-shape limit)
POWERED = {("cpu", 0.003), ("cpu", 0.01), ("gpu", 0.003), ("gpu", 0.01)}
ABNORMAL = ("unbracketed-top", "near-floor", "common-floor")


def _shape(tier: str) -> Shape:
    return Shape.of(TIERS.get(tier))


def _check_abnormal(rates) -> None:
    """No label, no extrapolated number, bounded time."""
    assert rates.share("scale-dependent") == 0 and rates.share("scale-invariant") == 0, rates.row()
    assert rates.shown_when_withheld == 0, rates.row()
    assert rates.max_cpu_seconds <= MAX_SECONDS, rates.row()


@pytest.mark.parametrize("name", ABNORMAL)
def test_no_label_from_unbracketed_at_bound_or_floor_fits(name):
    shape = _shape("cpu")
    truth = next(t for t in scenarios(shape) if t.name == name)
    rates = simulate(shape, truth, 0.01, n_draws=2, n_boot=100)
    _check_abnormal(rates)
    assert rates.labels["withheld"] == rates.n_draws, rates.row()


def test_unbracketed_withholds_with_the_budget_named():
    import numpy as np

    from cegbench.analysis import analyze_innovation
    from cegbench.analysis.simulate import planted_runs

    shape = _shape("cpu")
    truth = next(t for t in scenarios(shape) if t.name == "unbracketed-top")
    analysis = analyze_innovation(planted_runs(shape, truth, 0.01, np.random.default_rng(0)),
                                  margin=1.25, n_boot=50, check_sensitivity=False)
    assert analysis.label == "inconclusive" and analysis.direction is None
    assert f"frontier not bracketed at {max(shape.budgets):.3g} FLOPs (baseline)" in analysis.withheld
    assert all(np.isnan(p.ceg) for p in analysis.ceg if p.extrapolated)
    assert np.isnan(analysis.drift)


def test_withheld_label_shows_no_extrapolated_wall_clock_ceg_either():
    import numpy as np

    from cegbench.analysis import analyze_innovation
    from cegbench.analysis.simulate import planted_runs

    shape = _shape("cpu")
    truth = next(t for t in scenarios(shape) if t.name == "unbracketed-top")
    runs = planted_runs(shape, truth, 0.01, np.random.default_rng(0))
    runs["train_time_s"] = np.where(runs["arm"] == "modern", 1.5, 1.0) * runs["budget"] / 1e11
    analysis = analyze_innovation(runs, margin=1.25, n_boot=50, check_sensitivity=False)
    assert analysis.withheld and analysis.wall_ceg is not None
    extrapolated = [p for p in analysis.wall_ceg if p.extrapolated]
    assert extrapolated and all(np.isnan([p.ceg, p.low, p.high]).all() for p in extrapolated)
    # measured: the frontiers' own CEG (no fitted law) × the wall-time ratio; none at the
    # unbracketed top budget
    measured = {p.compute: p.ceg for p in analysis.ceg if not p.extrapolated}
    assert np.isnan(measured[max(shape.budgets)]) and np.isfinite(list(measured.values())).sum() >= 2
    for p in analysis.wall_ceg:
        if not p.extrapolated:
            assert p.ceg == pytest.approx(measured[p.compute] / 1.5, rel=0.05, nan_ok=True)
        if np.isnan(p.ceg):  # no interval without a point
            assert np.isnan([p.low, p.high]).all()


def test_a_fit_that_is_no_result_shows_the_measured_frontiers_ceg():
    """Where the fitted law is not a result, CEG at the measured budgets is read off the
    measured frontiers (C_baseline(L_modern(C))/C), with its bootstrap interval."""
    import numpy as np

    from cegbench.analysis import analyze_innovation
    from cegbench.analysis.ceg import frontier_ceg
    from cegbench.analysis.simulate import planted_runs

    shape = _shape("cpu")
    truth = _straight(shape, "grows", growth=1.4, gain=1.5)
    runs = planted_runs(shape, truth, 0.003, np.random.default_rng(0))
    # the baseline's largest budget 3 % worse than its law: no law fits the kink
    kink = (runs["arm"] == "baseline") & (runs["budget"] == shape.budgets[-1])
    runs.loc[kink, "final_loss"] *= 1.03
    analysis = analyze_innovation(runs, margin=1.25, n_boot=100, check_sensitivity=False)
    assert any("misfits the frontier" in reason for reason in analysis.withheld)
    frontier = analysis.frontier
    shown = [p for p in analysis.ceg if np.isfinite(p.ceg)]
    assert shown and not any(p.extrapolated for p in shown)
    for p in shown:
        assert p.ceg == frontier_ceg([q.budget for q in frontier], [q.arm for q in frontier],
                                     [q.loss for q in frontier], p.compute)
        assert p.low <= p.ceg <= p.high
        assert p.ceg == pytest.approx(truth.ceg(shape, p.compute), rel=0.1)


def _straight(shape, name: str, growth: float = 1.0, gain: float = 1.0):
    """A pair of pure power laws (E = 0: frontiers straight in log C, as every cpu v3
    innovation measured so far), the modern arm's CEG ``gain`` at the middle budget and
    growing ``growth``× across the shape's span; exponents like the real runs' (≈ 0.064)."""
    import math

    from cegbench.analysis.simulate import Truth

    alpha = 0.064
    alpha_modern = alpha * (1 + math.log(growth) / math.log(shape.span))
    return Truth(name, alphas=(alpha, alpha_modern), excess=(3.0, 3.0 * gain ** -alpha), E=0.0)


def test_straight_frontiers_are_labelled_from_a_pure_power_law():
    """Straight frontiers in log-log put a fitted shared E at 0 (here in many bootstrap
    fits): no irreducible loss the range can pin down. The law is then the pure power law,
    E = 0, whose Δα is a result: the label comes from it, and agrees with the equal-loss
    CEGs' drift."""
    import numpy as np

    from cegbench.analysis import analyze_innovation
    from cegbench.analysis.analyze import NO_E_LAW
    from cegbench.analysis.label import FITTED_LAW
    from cegbench.analysis.simulate import planted_runs

    shape = _shape("cpu")
    truth = _straight(shape, "grows", growth=1.4, gain=1.5)
    analysis = analyze_innovation(planted_runs(shape, truth, 0.003, np.random.default_rng(0)),
                                  margin=1.25, n_boot=100, check_sensitivity=False)
    assert not analysis.withheld and analysis.law == NO_E_LAW and analysis.label_basis == FITTED_LAW
    assert (analysis.label, analysis.direction) == ("scale-dependent", "grows with scale")
    assert analysis.drift_low < 10 ** truth.drift_exponent() < analysis.drift_high
    assert analysis.loss_drift_low < 10 ** truth.drift_exponent() < analysis.loss_drift_high
    assert all(fit.E == 0 for fit in analysis.fits)


def test_straight_pairs_fast():
    """A few draws of straight (E = 0) pairs on the cpu shape: the growing pair is found,
    the invariant and null ones are not called dependent."""
    from cegbench.analysis.simulate import simulate

    shape = _shape("cpu")
    grows = simulate(shape, _straight(shape, "grows", growth=1.4, gain=1.5), 0.003, n_draws=2, n_boot=100)
    assert grows.labels["scale-dependent, grows with scale"] == 2, grows.row()
    for truth in (_straight(shape, "invariant", gain=1.5), _straight(shape, "null")):
        rates = simulate(shape, truth, 0.003, n_draws=3, n_boot=100)
        assert rates.share("scale-dependent") == 0 and rates.labels["withheld"] == 0, rates.row()
        assert rates.max_cpu_seconds <= MAX_SECONDS, rates.row()


@pytest.mark.parametrize("tier", ["cpu", "gpu"])
def test_clean_pairs_fast(tier):
    """A few draws of the clean pairs: right labels at low noise, bounded time. A false
    "scale-dependent" happens in a few % of draws (the slow suite measures the rate),
    so one of the 8 invariant and null draws may have it; two would be a ~1 % event."""
    shape = _shape(tier)
    by_name = {t.name: t for t in scenarios(shape)}
    dependent = simulate(shape, by_name["dependent"], 0.003, n_draws=2, n_boot=100)
    assert dependent.labels["scale-dependent, grows with scale"] == 2, dependent.row()
    false_dependent = 0
    for name in ("invariant", "null"):
        rates = simulate(shape, by_name[name], 0.003, n_draws=4, n_boot=100)
        false_dependent += round(rates.share("scale-dependent") * rates.n_draws)
        assert rates.max_cpu_seconds <= MAX_SECONDS
    assert false_dependent <= 1


@pytest.mark.slow
@pytest.mark.parametrize("tier", ["cpu", "gpu"])
def test_label_rates_on_planted_truth(tier, capsys):
    """Rates over N_SLOW draws per cell. Coverage and the false-dependent rate are pooled
    over the noises (and over the invariant and null pairs): per noise, 120 draws give
    coverage a standard error of 2 points, so a method covering 95 % fails "≥ 93 %" in
    ~15 % of cells (seen: cpu at 0.003 nats covered 108/120 on one set of draws and
    118/120 on another), and "≤ 2 of 40" fails ~8 % of the time at a true 2.5 %."""
    shape = _shape(tier)
    rows, clean, false_dependent, n_null = [], [], 0, 0
    for noise in NOISES:
        cells = {t.name: simulate(shape, t, noise, n_draws=N_SLOW) for t in scenarios(shape, noise)}
        rows += cells.values()
        with capsys.disabled():  # the table so far, before any threshold can stop the test
            print(f"\n{tier} @ {noise} nats:\n{confusion_table(list(cells.values()))}", flush=True)
        for name in ("invariant", "null"):
            false_dependent += round(cells[name].share("scale-dependent") * N_SLOW)
            n_null += N_SLOW
        dependent = cells["dependent"]
        assert dependent.share("scale-invariant") <= 0.05, dependent.row()
        if (tier, noise) in POWERED:
            assert dependent.labels["scale-dependent, grows with scale"] >= 0.8 * N_SLOW, dependent.row()
        clean += [cells[n] for n in ("dependent", "invariant", "null")]
        for name in ABNORMAL:
            _check_abnormal(cells[name])
        for rates in clean:
            assert rates.max_cpu_seconds <= MAX_SECONDS, rates.row()
    covered = sum(r.delta_alpha_covered for r in clean) / max(sum(r.delta_alpha_intervals for r in clean), 1)
    ceg_covered = sum(r.ceg_covered for r in clean) / max(sum(r.ceg_intervals for r in clean), 1)
    with capsys.disabled():
        print(f"\n{tier}: Δα coverage {covered:.3f}, CEG coverage {ceg_covered:.3f}, "
              f"invariant/null called dependent {false_dependent}/{n_null}", flush=True)
    assert false_dependent <= 0.05 * n_null
    assert covered >= 0.93 and ceg_covered >= 0.93, [r.row() for r in clean]


@pytest.mark.slow
def test_equal_loss_label_rates_on_straight_pairs(capsys):
    """Straight frontiers (E = 0), as the cpu tier's real runs are, at its measured median
    seed spread (0.006 nats) and its margin (1.5): the labels then come from the equal-loss
    CEGs (a fit at a bound) and are held to the design's targets (#15) — a pair whose CEG
    grows 1.4× across the tier found in ≥ 80 %, an invariant pair (CEG 1.2) labelled
    invariant in ≥ 80 %, invariant and null called dependent in ≤ 5 %, the drift's
    interval covering the truth in ≥ 93 % of the labelled draws."""
    from cegbench.analysis.simulate import simulate
    from cegbench.tiers import TIERS

    shape, margin = _shape("cpu"), TIERS.get("cpu").margin
    truths = (_straight(shape, "grows", growth=1.4, gain=1.5), _straight(shape, "invariant", gain=1.2),
              _straight(shape, "null"))
    grows, invariant, null = cells = [simulate(shape, truth, 0.006, n_draws=N_SLOW, margin=margin)
                                      for truth in truths]
    with capsys.disabled():
        print(f"\ncpu, straight pairs @ 0.006 nats, margin {margin}:\n{confusion_table(cells)}", flush=True)
    assert grows.labels["scale-dependent, grows with scale"] >= 0.8 * N_SLOW, grows.row()
    assert invariant.labels["scale-invariant"] >= 0.8 * N_SLOW, invariant.row()
    assert invariant.share("scale-dependent") + null.share("scale-dependent") <= 2 * 0.05, [invariant.row(), null.row()]
    assert sum(c.equal_loss for c in cells) >= 0.8 * 3 * N_SLOW, [c.row() for c in cells]
    covered = sum(c.drift_covered for c in cells) / sum(c.drift_intervals for c in cells)
    assert covered >= 0.93, [c.row() for c in cells]
    assert max(c.max_cpu_seconds for c in cells) <= MAX_SECONDS
