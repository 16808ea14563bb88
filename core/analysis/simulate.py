"""Planted-truth simulation: how often does the analysis give which label on a tier shape?

``simulate(shape, truth, noise, n_draws)`` draws ``n_draws`` sets of runs from planted
laws on a tier's shape — its budgets, seeds and an IsoFLOP ladder around each
budget's optimum — with Gaussian seed noise of ``noise`` nats per run, analyses
each draw exactly as ``cegbench analyze`` does, and returns the label rates, the
coverage of Δα and of CEG at the largest budget, how often the label was withheld,
whether a withheld analysis still showed an extrapolated number, and the time per
analysis. It is how the labels were checked (tests/test_acceptance.py) and how a
tier design is chosen:

    from cegbench.analysis.simulate import Shape, Truth, simulate, dependent_truth
    shape = Shape.of(TIERS.get("cpu"))                      # or Shape(budgets=…, n_seeds=…)
    rates = simulate(shape, dependent_truth(shape, growth=1.4), noise=0.01, n_draws=100,
                     margin=1.25)
    rates.share("scale-dependent"), rates.delta_alpha_coverage

The truth is a pair of laws L*(C) = E + A·C^(−α) (``Truth``), each arm's excess
L* − E given at the geometric middle budget; a ladder size N at budget C loses
L*(C) + curvature·(ln N/N*)², N*(C) = √(C/120)·offset(C), so ``optimum_offset``
puts the optimum off the ladder (unbracketed) at chosen budgets. ``floor`` puts a
loss floor under both arms: L* = max(L*, floor) (a frontier that stops improving).
"""

from __future__ import annotations

import math
import time
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .ceg import compute_equivalent_gain
from .fit import PowerLaw
from .frontier import ARMS
from .label import NO_BASIS

LADDER = (0.25, 1.0, 4.0)  # ladder sizes relative to N*(C), as tests/analysis_fixtures.py


@dataclass(frozen=True)
class Shape:
    """What a tier measures: budgets (FLOPs), seeds per cell, ladder sizes relative to N*."""

    budgets: tuple[float, ...]
    n_seeds: int
    ladder: tuple[float, ...] = LADDER
    curvature: float = 0.05  # loss per (ln N/N*)² along the ladder

    @classmethod
    def of(cls, tier, **overrides) -> Shape:
        """The shape of a ``cegbench.tiers.Tier``."""
        return cls(budgets=tuple(tier.budgets), n_seeds=len(tier.seeds), **overrides)

    @property
    def span(self) -> float:
        """Largest over smallest budget."""
        return max(self.budgets) / min(self.budgets)

    @property
    def middle(self) -> float:
        """Geometric middle budget."""
        return math.exp(np.mean(np.log(self.budgets)))


@dataclass(frozen=True)
class Truth:
    """Planted laws: exponents and excess loss L* − E at the middle budget, (baseline, modern)."""

    name: str
    alphas: tuple[float, float] = (0.15, 0.15)
    excess: tuple[float, float] = (2.0, 1.8)
    E: float = 1.8
    floor: float | None = None  # a loss neither arm gets below (None: no floor)
    # N*(C) × this at the budgets given: the ladder misses the optimum (e.g. {1.5e12: 3.0})
    optimum_offset: dict = field(default_factory=dict)

    def laws(self, shape: Shape) -> dict[str, PowerLaw]:
        return {arm: PowerLaw(self.E, excess * shape.middle**alpha, alpha)
                for arm, alpha, excess in zip(ARMS, self.alphas, self.excess)}

    def frontier_loss(self, shape: Shape, arm: str, budget: float) -> float:
        loss = float(self.laws(shape)[arm].loss(budget))
        return loss if self.floor is None else max(loss, self.floor)

    def drift_exponent(self) -> float:
        """Δα/α_b: CEG ∝ C^r (exact without a floor)."""
        return (self.alphas[1] - self.alphas[0]) / self.alphas[0]

    def ceg(self, shape: Shape, compute: float) -> float:
        laws = self.laws(shape)
        return float(compute_equivalent_gain(laws["baseline"], laws["modern"], compute))

    @property
    def delta_alpha(self) -> float:
        return self.alphas[1] - self.alphas[0]

    @property
    def is_clean(self) -> bool:
        """No floor and a bracketed ladder: the analysis should report a label."""
        return self.floor is None and not self.optimum_offset


def invariant_truth(name: str = "invariant") -> Truth:
    """Equal exponents, a constant CEG ≈ 2."""
    return Truth(name)


def null_truth(name: str = "null") -> Truth:
    """Identical arms: CEG = 1 everywhere."""
    return Truth(name, excess=(2.0, 2.0))


def dependent_truth(shape: Shape, growth: float = 1.4, name: str = "dependent") -> Truth:
    """A modern arm whose CEG grows by ``growth``× across the shape's span of budgets."""
    r = math.log(growth) / math.log(shape.span)
    return Truth(name, alphas=(0.15, 0.15 * (1 + r)))


def planted_runs(shape: Shape, truth: Truth, noise: float, rng: np.random.Generator,
                 rho: float = 0.0) -> pd.DataFrame:
    """One draw of runs (columns arm, budget, n_params, seed, final_loss).

    ``rho``: correlation between the two arms' noise in the same (budget, size, seed)
    cell — the share of the seed noise's variance that comes from what the arms share
    (initialisation seed, data order). Each run's noise is
    ``noise·(√rho·z_shared + √(1−rho)·z_own)``; ``rho=0`` draws exactly as before.
    """
    if not 0 <= rho <= 1:
        raise ValueError(f"rho must lie in [0, 1], got {rho}")
    shared = (rng.standard_normal((len(shape.budgets), len(shape.ladder), shape.n_seeds))
              if rho > 0 else None)
    rows = []
    for arm in ARMS:
        for b, budget in enumerate(shape.budgets):
            optimum = truth.frontier_loss(shape, arm, budget)
            n_star = math.sqrt(budget / 120)
            offset = truth.optimum_offset.get(budget, 1.0)
            for k, factor in enumerate(shape.ladder):
                n_params = round(n_star * factor)
                loss = optimum + shape.curvature * math.log(factor / offset) ** 2
                for seed in range(shape.n_seeds):
                    z = rng.standard_normal()
                    if shared is not None:
                        z = math.sqrt(rho) * shared[b, k, seed] + math.sqrt(1 - rho) * z
                    rows.append((arm, float(budget), n_params, seed, loss + noise * z))
    return pd.DataFrame(rows, columns=["arm", "budget", "n_params", "seed", "final_loss"])


@dataclass
class Rates:
    """Outcome of ``simulate``: counts of (label, direction) and checks over the draws."""

    truth: Truth
    noise: float
    n_draws: int
    labels: Counter  # "scale-dependent, grows with scale" / "scale-invariant" / "inconclusive" / "withheld"
    delta_alpha_covered: int  # among draws with a finite interval
    delta_alpha_intervals: int
    ceg_covered: int  # CEG at the largest budget, among draws with a finite interval
    ceg_intervals: int
    shown_when_withheld: int  # draws whose fit is not a result yet showed an extrapolated CEG (or,
    # withheld, a drift)
    seconds: list[float]  # wall-clock seconds per analysis (grows with the machine's load)
    cpu_seconds: list[float] = field(default_factory=list)  # CPU seconds of this process per analysis
    drift_covered: int = 0  # the drift interval the label tested covers the truth, among labelled draws
    drift_intervals: int = 0
    equal_loss: int = 0  # labelled draws whose label came from the equal-loss CEGs (a fit at a bound)

    def share(self, label: str) -> float:
        """Share of draws whose label starts with ``label`` ("scale-dependent" counts both
        directions; "inconclusive" excludes withheld labels)."""
        return sum(n for key, n in self.labels.items() if key.startswith(label)) / self.n_draws

    @property
    def delta_alpha_coverage(self) -> float:
        return self.delta_alpha_covered / self.delta_alpha_intervals if self.delta_alpha_intervals else math.nan

    @property
    def ceg_coverage(self) -> float:
        return self.ceg_covered / self.ceg_intervals if self.ceg_intervals else math.nan

    @property
    def drift_coverage(self) -> float:
        return self.drift_covered / self.drift_intervals if self.drift_intervals else math.nan

    @property
    def max_seconds(self) -> float:
        return max(self.seconds, default=0.0)

    @property
    def max_cpu_seconds(self) -> float:
        """The time bound's measure: CPU time does not grow with other processes' load."""
        return max(self.cpu_seconds, default=0.0)

    def row(self) -> dict:
        """A row of a confusion table."""
        return {
            "truth": self.truth.name, "noise": self.noise, "n": self.n_draws,
            "dependent↑": self.labels["scale-dependent, grows with scale"],
            "dependent↓": self.labels["scale-dependent, shrinks with scale"],
            "invariant": self.labels["scale-invariant"],
            "inconclusive": self.labels["inconclusive"],
            "withheld": self.labels["withheld"],
            "equal-loss": self.equal_loss,
            "Δα cover": round(self.delta_alpha_coverage, 3),
            "CEG cover": round(self.ceg_coverage, 3),
            "drift cover": round(self.drift_coverage, 3),
            "max s": round(self.max_seconds, 2),
            "max cpu s": round(self.max_cpu_seconds, 2),
        }


def _label_key(analysis) -> str:
    basis = getattr(analysis, "label_basis", None)
    if basis == NO_BASIS or (basis is None and getattr(analysis, "withheld", ())):
        return "withheld"
    return analysis.label + (f", {analysis.direction}" if analysis.direction else "")


def simulate(shape: Shape, truth: Truth, noise: float, n_draws: int, *, margin: float = 1.25,
             n_boot: int = 200, seed: int = 0, analyze: Callable | None = None,
             rho: float = 0.0, **options) -> Rates:
    """Analyse ``n_draws`` planted draws (see module doc); deterministic in ``seed``, the
    noise level and the truth's name (each truth draws its own noise).
    ``rho``: the arms' seed-noise correlation (``planted_runs``); ``options`` go to
    ``analyze`` (e.g. ``paired_seeds=False``).

    ``analyze(runs, margin=…, n_boot=…, seed=…)`` defaults to ``analyze_innovation``
    without the sensitivity refits (they do not change the label); pass another to
    compare analyses (e.g. an older version, with its own kind of margin).
    """
    if analyze is None:
        from . import analyze_innovation

        def analyze(runs, **options):
            return analyze_innovation(runs, check_sensitivity=False, extrapolate_to=(1e18,), **options)

    top = max(shape.budgets)
    true_ceg = truth.ceg(shape, top)
    labels: Counter = Counter()
    counts = dict(da_in=0, da_n=0, ceg_in=0, ceg_n=0, shown=0, drift_in=0, drift_n=0, equal_loss=0)
    true_drift = 10 ** truth.drift_exponent()
    seconds, cpu_seconds = [], []
    for draw in range(n_draws):
        # each truth its own stream: pairs simulated side by side get independent noise
        rng = np.random.default_rng([seed, draw, round(noise * 1e6), zlib.crc32(truth.name.encode())])
        runs = planted_runs(shape, truth, noise, rng, rho=rho)
        start, cpu_start = time.perf_counter(), time.process_time()
        analysis = analyze(runs, margin=margin, n_boot=n_boot, seed=draw, **options)
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(time.process_time() - cpu_start)
        key = _label_key(analysis)
        labels[key] += 1
        drift_low, drift_high = getattr(analysis, "drift_low", math.nan), getattr(analysis, "drift_high", math.nan)
        if key != "withheld" and np.isfinite(drift_low) and np.isfinite(drift_high):
            counts["drift_n"] += 1
            counts["drift_in"] += drift_low <= true_drift <= drift_high
        if getattr(analysis, "withheld", ()):  # the fit is not a result: nothing extrapolated from it,
            # and a label, if any, read off the equal-loss CEGs (no Δα or fitted CEG to cover)
            extrapolated = [p.ceg for p in analysis.ceg if p.extrapolated]
            drift_shown = key == "withheld" and bool(np.isfinite(getattr(analysis, "drift", math.nan)))
            counts["shown"] += any(np.isfinite(extrapolated)) or drift_shown
            counts["equal_loss"] += key != "withheld"
            continue
        low, high = analysis.delta_alpha_low, analysis.delta_alpha_high
        if np.isfinite(low) and np.isfinite(high):
            counts["da_n"] += 1
            counts["da_in"] += low <= truth.delta_alpha <= high
        point = next(p for p in analysis.ceg if p.compute == top)
        if np.isfinite(point.low) and np.isfinite(point.high):
            counts["ceg_n"] += 1
            counts["ceg_in"] += point.low <= true_ceg <= point.high
    return Rates(truth, noise, n_draws, labels, counts["da_in"], counts["da_n"], counts["ceg_in"],
                 counts["ceg_n"], counts["shown"], seconds, cpu_seconds, counts["drift_in"], counts["drift_n"],
                 counts["equal_loss"])


def scenarios(shape: Shape, noise: float = 0.01) -> list[Truth]:
    """The acceptance scenarios on ``shape``: dependent (CEG ×1.4 across the span),
    invariant, null; an unbracketed top budget (optimum 3× the largest size), a
    frontier near its floor (within ``noise``, the runs' seed noise, of it at the top
    budget), both arms on a common floor from the second budget on."""
    budgets = sorted(shape.budgets)
    invariant = invariant_truth()
    # near its floor: L* − E at the top budget is one run's noise (the excess at the
    # middle scaled down accordingly), steep exponents. A fixed 0.01 nats is ~5 frontier
    # sds at 0.003 nats with 3 seeds: no longer "within noise", and rightly labelled.
    alpha = 0.6
    excess_top = noise * (shape.middle / budgets[-1]) ** (-alpha)
    return [
        dependent_truth(shape),
        invariant,
        null_truth(),
        Truth("unbracketed-top", optimum_offset={budgets[-1]: 3.0 * max(shape.ladder)}),
        Truth("near-floor", alphas=(alpha, alpha), excess=(excess_top * 1.1, excess_top)),
        Truth("common-floor", floor=float(invariant.frontier_loss(shape, "baseline", budgets[1]))),
    ]


def confusion_table(rows: Sequence[Rates]) -> str:
    """A markdown table of ``Rates.row()``."""
    dicts = [r.row() for r in rows]
    header = list(dicts[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(d[h]) for h in header) + " |" for d in dicts]
    return "\n".join(lines)
