"""Seed noise of one run, as one model for a whole tier: a scale that depends on how long
a run trains, and Student-t tails that are heavier for short runs.

    loss of a run = its cell's true loss + scale(n)·T_ν(n),   n = the run's training length

    ln scale(n) = log_scale + slope_short·min(ln n/n₀, 0) + slope_long·max(ln n/n₀, 0)
    ν(n)        = nu_short below n₀, nu_long from n₀ on

n is measured in optimiser steps (``length = "steps"``) or training tokens
(``"tokens"``); n₀ is ``break_length``. On the published cpu v3 runs (292 seed pairs)
this model says: a run near 3,000 steps has a noise scale of ~0.005 nats, short runs more
(×2.9 at 700 steps), and below ~2,000 steps the tails are Cauchy-like (ν ≈ 0.8) — the
mean of such draws does not shrink with more seeds, their median does.

``fit_noise_model(cells)`` fits it by composite maximum likelihood on the seed
differences within each cell (a cell's true loss cancels in a difference; the density of
the difference of two t draws is a numerical convolution, ``difference_logpdf``); a cell
of k seeds contributes its k(k−1)/2 pairs, each weighted 2/k, so it counts k − 1 times,
like its degrees of freedom. The break is chosen on a grid of the cells' lengths.

``NoiseModel.cell_noise(length, n_seeds, rng, n_boot)`` draws the noise of a cell's
*median* over its seeds: what a bootstrap that resamples from the tier's noise model
adds to a cell (``analysis.robust``), and what the calibrated simulator adds to a run.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import cache

import numpy as np
from scipy import optimize, stats

LENGTHS = ("steps", "tokens")
# the convolution grid of ``difference_logpdf``, in units of the scale
_GRID_HALF_WIDTH = 300.0
_GRID_POINTS = 2 ** 17
_TABLE_REACH = 200.0  # beyond this the tail formula 2·f_t(z) is used (heavy tails: exact enough)
NU_BOUNDS = (0.3, 200.0)
MIN_PAIRS = 30  # fewer seed pairs than this: too few to fit a tail and a break


class NoiseModelError(ValueError):
    """The noise model cannot be fitted from these cells; the message says why."""


@cache
def _difference_table(nu: float) -> tuple[np.ndarray, np.ndarray]:
    """ln density of T₁ − T₂ (independent t_ν) on a grid of z ≥ 0, by FFT convolution."""
    grid = np.linspace(-_GRID_HALF_WIDTH, _GRID_HALF_WIDTH, _GRID_POINTS)
    step = grid[1] - grid[0]
    density = stats.t.pdf(grid, nu)
    size = 2 * len(grid)
    convolved = np.fft.irfft(np.fft.rfft(density, size) ** 2, size)[: 2 * len(grid) - 1] * step
    z = np.arange(2 * len(grid) - 1) * step + 2 * grid[0]
    keep = (z >= 0) & (z <= _TABLE_REACH)
    return z[keep], np.log(np.maximum(convolved[keep], 1e-300))


NU_GRID = np.geomspace(0.3, 200.0, 97)  # tables at these ν; ln density interpolated in ln ν between them


def difference_logpdf(z, nu: float) -> np.ndarray:
    """ln density of the difference of two independent standard t_ν draws at ``z``:
    numerical convolutions tabled at the ``NU_GRID`` values either side of ν,
    interpolated linearly in ln ν (adjacent tables are 7 % apart in ν)."""
    nu = float(np.clip(nu, NU_GRID[0], NU_GRID[-1]))
    upper = int(np.clip(np.searchsorted(NU_GRID, nu), 1, len(NU_GRID) - 1))
    weight = (math.log(nu) - math.log(NU_GRID[upper - 1])) / (math.log(NU_GRID[upper]) - math.log(NU_GRID[upper - 1]))
    z = np.abs(np.asarray(z, dtype=float))
    inside = z < _TABLE_REACH
    out = np.empty_like(z)
    for table_nu, share in ((NU_GRID[upper - 1], 1 - weight), (NU_GRID[upper], weight)):
        grid, table = _difference_table(float(table_nu))
        part = np.empty_like(z)
        part[inside] = np.interp(z[inside], grid, table)
        part[~inside] = math.log(2.0) + stats.t.logpdf(z[~inside], table_nu)  # one draw carries the tail
        out = part * share if table_nu == NU_GRID[upper - 1] else out + part * share
    return out


@dataclass(frozen=True)
class NoiseModel:
    """A tier's seed noise: scale and tail as functions of a run's training length."""

    break_length: float  # n₀: where the scale's slope and the tail change
    log_scale: float  # ln scale at n₀ (nats)
    slope_short: float  # d ln scale / d ln n below n₀
    slope_long: float  # ... and above
    nu_short: float  # t degrees of freedom below n₀
    nu_long: float  # ... and from n₀ on
    length: str = "steps"  # what n counts: optimiser steps or training tokens
    n_pairs: int = 0  # seed pairs it was fitted on (0: given, not fitted)
    # the largest seed difference among those pairs: a run's noise is drawn within ± this
    # (a t with ν ≈ 1 would otherwise put a run nats away, or below 0, once in a few
    # hundred draws; real runs that far off diverge, and are failed runs)
    max_deviation: float = np.inf

    def __post_init__(self):
        if self.length not in LENGTHS:
            raise ValueError(f"length must be one of {LENGTHS}, got {self.length!r}")

    def scale(self, length) -> np.ndarray:
        """The noise scale (nats) of a run that trains ``length`` steps (or tokens)."""
        x = np.log(np.asarray(length, dtype=float) / self.break_length)
        return np.exp(self.log_scale + self.slope_short * np.minimum(x, 0) + self.slope_long * np.maximum(x, 0))

    def nu(self, length) -> np.ndarray:
        """The t degrees of freedom of a run's noise at ``length``."""
        return np.where(np.asarray(length, dtype=float) < self.break_length, self.nu_short, self.nu_long)

    def draw(self, length, rng: np.random.Generator, size=None) -> np.ndarray:
        """Noise of single runs at ``length`` (broadcast against ``size``)."""
        length = np.asarray(length, dtype=float)
        shape = np.broadcast_shapes(length.shape, () if size is None else tuple(np.atleast_1d(size)))
        draws = self.scale(length) * rng.standard_t(np.broadcast_to(self.nu(length), shape))
        return np.clip(draws, -self.max_deviation, self.max_deviation)

    def from_normal(self, length, z) -> np.ndarray:
        """Noise of runs at ``length`` whose standard-normal scores are ``z``: the t
        quantile of z's tail probability, times the scale (a Gaussian copula: runs whose
        scores correlate keep their t marginals)."""
        z = np.asarray(z, dtype=float)
        with np.errstate(over="ignore"):
            t = np.sign(z) * stats.t.isf(stats.norm.sf(np.abs(z)), self.nu(length))
        return np.clip(self.scale(length) * t, -self.max_deviation, self.max_deviation)

    def cell_noise(self, length: float, n_seeds: int, rng: np.random.Generator, n_boot: int) -> np.ndarray:
        """``n_boot`` draws of the noise of the median of ``n_seeds`` runs at ``length``."""
        draws = self.draw(length, rng, size=(n_boot, n_seeds))
        return np.median(draws, axis=1)

    def cell_sd(self, length: float, n_seeds: int, n_draws: int = 4000) -> float:
        """A robust standard deviation (IQR / 1.349) of a cell median's noise at ``length``:
        finite even where the tail has no variance (ν ≤ 2). Deterministic."""
        draws = self.cell_noise(length, n_seeds, np.random.default_rng(0), n_draws)
        q1, q3 = np.percentile(draws, [25, 75])
        return float((q3 - q1) / 1.349)

    def as_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        """One line for a verdict's method and the docs."""
        return (f"seed noise t-distributed, scale {math.exp(self.log_scale):.3g} nats at "
                f"{self.break_length:,.0f} {self.length} (× n^{self.slope_short:+.2f} below, "
                f"n^{self.slope_long:+.2f} above), ν = {self.nu_short:.2g} below and {self.nu_long:.2g} "
                f"from there, within ±{self.max_deviation:.2g}; fitted on {self.n_pairs} seed pairs")


def seed_pairs(cells) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(length, difference, weight) of every pair of seeds within each cell; ``cells`` is
    an iterable of (length, losses) with losses an array of one cell's seed losses. A cell
    of k seeds gives k(k−1)/2 pairs of weight 2/k each."""
    lengths, differences, weights = [], [], []
    for length, losses in cells:
        losses = np.asarray(losses, dtype=float)
        k = len(losses)
        if k < 2:
            continue
        i, j = np.triu_indices(k, 1)
        differences.append(losses[i] - losses[j])
        lengths.append(np.full(len(i), float(length)))
        weights.append(np.full(len(i), 2.0 / k))
    if not differences:
        return np.empty(0), np.empty(0), np.empty(0)
    return np.concatenate(lengths), np.concatenate(differences), np.concatenate(weights)


def log_likelihood(model: NoiseModel, cells) -> float:
    """The composite log-likelihood of ``cells`` ((length, seed losses), length in the
    model's unit) under ``model``: every within-cell seed pair, weighted 2/k."""
    lengths, d, w = seed_pairs(cells)
    ln_scale = np.log(model.scale(lengths))
    nus = model.nu(lengths)
    total = 0.0
    for nu in np.unique(nus):
        mask = nus == nu
        total += np.sum(w[mask] * (difference_logpdf(d[mask] / np.exp(ln_scale[mask]), nu) - ln_scale[mask]))
    return float(total)


def goodness_of_fit(model: NoiseModel, cells, n_draws: int = 500, seed: int = 0) -> tuple[float, float]:
    """(log-likelihood of ``cells``, its p-value): the share of ``n_draws`` sets of cells
    drawn from ``model`` itself (same lengths, same seeds per cell) whose log-likelihood is
    at most the cells' — small when the cells are noisier, or quieter, than the model
    says (two-sided: twice the smaller tail)."""
    cells = [(float(length), np.asarray(losses, dtype=float)) for length, losses in cells]
    observed = log_likelihood(model, cells)
    rng = np.random.default_rng(seed)
    simulated = np.array([log_likelihood(model, [(n, model.draw(np.full(len(x), n), rng)) for n, x in cells])
                          for _ in range(n_draws)])
    tail = min(np.mean(simulated <= observed), np.mean(simulated >= observed))
    return observed, float(min(1.0, 2 * tail))


def _negative_log_likelihood(theta, x, d, w, short):
    log_scale, slope_short, slope_long, log_nu_short, log_nu_long = theta
    nu_short, nu_long = np.exp(log_nu_short), np.exp(log_nu_long)
    if not (NU_BOUNDS[0] <= nu_short <= NU_BOUNDS[1] and NU_BOUNDS[0] <= nu_long <= NU_BOUNDS[1]):
        return np.inf
    ln_scale = log_scale + slope_short * np.minimum(x, 0) + slope_long * np.maximum(x, 0)
    z = d / np.exp(ln_scale)
    total = 0.0
    for mask, nu in ((short, nu_short), (~short, nu_long)):
        if mask.any():
            total += np.sum(w[mask] * (difference_logpdf(z[mask], nu) - ln_scale[mask]))
    return -total


def _fit_at(break_length: float, lengths, d, w):
    x = np.log(lengths / break_length)
    short = lengths < break_length
    start = np.array([np.log(np.median(np.abs(d)) + 1e-9), 0.0, 0.0, np.log(2.0), np.log(2.0)])
    # Nelder-Mead's default simplex barely moves parameters that start at 0: give each
    # a step of its natural size (a factor e in scale, a slope of 0.5, a factor 2 in ν)
    simplex = np.vstack([start, start + np.diag([1.0, 0.5, 0.5, 0.7, 0.7])])
    result = optimize.minimize(_negative_log_likelihood, start, args=(x, d, w, short), method="Nelder-Mead",
                               options={"maxiter": 4000, "xatol": 1e-4, "fatol": 1e-6, "initial_simplex": simplex})
    return result.fun, result.x


def fit_noise_model(cells, length: str = "steps", breaks: int = 9) -> NoiseModel:
    """The tier's noise model, fitted on the seed pairs of ``cells`` (iterable of
    (length, seed losses)); the break n₀ is the best of ``breaks`` lengths spaced evenly
    in log between the 10th and 90th percentiles of the pairs' lengths. Raises
    ``NoiseModelError`` with fewer than ``MIN_PAIRS`` pairs. Deterministic."""
    lengths, d, w = seed_pairs(cells)
    if len(d) < MIN_PAIRS:
        raise NoiseModelError(f"{len(d)} seed pair(s): a tier-wide noise model needs at least {MIN_PAIRS} "
                              "(cells with two or more seeds)")
    if not np.all(lengths > 0):
        raise NoiseModelError(f"every cell needs a positive training length ({length})")
    low, high = np.percentile(lengths, [10, 90])
    candidates = np.unique(np.geomspace(low, high, breaks)) if high > low else np.array([low])
    fits = [(*_fit_at(b, lengths, d, w), b) for b in candidates]
    _, theta, best = min(fits, key=lambda fit: fit[0])
    log_scale, slope_short, slope_long, log_nu_short, log_nu_long = theta
    return NoiseModel(float(best), float(log_scale), float(slope_short), float(slope_long),
                      float(np.exp(log_nu_short)), float(np.exp(log_nu_long)), length, len(d),
                      float(np.abs(d).max()))
