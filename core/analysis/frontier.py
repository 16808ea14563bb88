"""Compute-optimal frontier: the best loss each arm reaches at each budget.

At a fixed budget C an IsoFLOP ladder trains several model sizes N. Seed-averaged
loss against x = log N is a valley; the parabola

    L(x) = c2·x² + c1·x + c0

through the ladder gives the compute-optimal size x* = −c1 / (2·c2) and loss

    L*(C) = c0 − c1² / (4·c2)

when it opens upward (c2 > 0) and x* lies inside the ladder. Otherwise the ladder
does not bracket the optimum: L*(C) falls back to the best observed mean loss and the
point is flagged ``bracketed=False`` (IsoFLOP parabolas are biased off the ladder).

The frontier stays with the data: a vertex more than an allowance (``allowances``: a
few standard deviations of the best cell's mean, the measured noise) below the best
measured mean is no valid valley — a stuck rung, or a valley steeper on one side than
the other, which a parabola's symmetric shape turns into an optimum below every run
(cpu v3: 0.06 nats, 5.7 noise sds, below the default recipe's best run at 2.5e11) —
and the point falls back to the best measured mean, flagged ``measured_minimum``.

An allocation rule may prescribe one size per budget (e.g. Kaplan's or Chinchilla's
rule): when every budget of an arm has a single size, that cell's seed-mean loss is
the arm's frontier point, with ``single_size=True`` and ``bracketed=None`` (there is
no ladder to bracket anything), and its seed noise is its uncertainty.

This module also owns the input contract (``validate_runs``, ``ladders_from_runs``);
the seed bootstrap that redraws the frontier is in ``bootstrap``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cegbench.innovations import ARMS

REQUIRED_COLUMNS = ("arm", "budget", "n_params", "seed", "final_loss")
# a vertex further than this many standard deviations of the best cell's mean below it is
# no valid valley (``ladder_optimum``)
VALLEY_NOISE_SDS = 2.0
# kept when present: for the wall-clock CEG, and each run's training length for a tier's
# noise model (``robust``)
OPTIONAL_COLUMNS = ("train_time_s", "steps", "tokens", "width")
MIN_BUDGETS = 3
MIN_SIZES_FOR_PARABOLA = 3


class AnalysisError(ValueError):
    """The runs cannot be analysed; the message names what is missing or wrong."""


@dataclass(frozen=True)
class FrontierPoint:
    """Compute-optimal loss L*(C) of one arm at one budget."""

    arm: str
    budget: float
    loss: float
    n_params_opt: float
    bracketed: bool | None  # None for a single prescribed size (nothing to bracket)
    single_size: bool = False
    # loss = c0 + c1·x + c2·x², x = ln n_params, where a parabola was fitted (≥ 3 sizes)
    parabola: tuple[float, float, float] | None = None
    # the parabola's vertex lay further below the best measured mean than its allowance:
    # the point is that mean (``loss``), not the vertex
    measured_minimum: bool = False


@dataclass
class Ladder:
    """The runs of one arm at one budget: final losses per size, seeds kept apart."""

    arm: str
    budget: float
    n_params: np.ndarray  # sorted sizes, shape (n_sizes,)
    seed_losses: tuple[np.ndarray, ...]  # one array of seed losses per size
    steps: np.ndarray | None = None  # optimiser steps of each size's runs (where the runs say)
    tokens: np.ndarray | None = None  # training tokens of each size's runs
    widths: np.ndarray | None = None  # each size's width (where the runs say): pairs the arms' cells

    def mean_losses(self) -> np.ndarray:
        """Loss of each size averaged over its seeds, shape (n_sizes,)."""
        return np.array([losses.mean() for losses in self.seed_losses])


# ---------------------------------------------------------------------------
# Input contract


def _describe_cell(row) -> str:
    return f"{row.arm} @ {row.budget:.3g} FLOPs, {row.n_params:.0f} params, seed {row.seed}"


def drop_failed(runs: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The runs whose ``status`` is "ok" (all of them without a status column), and
    how many failed runs were left out."""
    if "status" not in runs.columns:
        return runs, 0
    ok = runs["status"] == "ok"
    return runs[ok], int((~ok).sum())


def drop_not_learned(runs: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The runs that learned (``cegbench.learning``: a ``not_learned`` reason marks the
    others; all of them without that column), and the cells of those left out."""
    if "not_learned" not in runs.columns:
        return runs, []
    stuck = runs["not_learned"].notna()
    return runs[~stuck], [_describe_cell(row) for row in runs[stuck].itertuples()]


def validate_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Check the runs of one innovation in one tier; return them cleaned and typed.

    Raises ``AnalysisError`` naming the missing column, arm or budget, or the runs
    whose loss is not a finite positive number.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in runs.columns]
    if missing:
        raise AnalysisError(f"runs lack required column(s): {', '.join(missing)}")
    runs = runs.loc[:, [*REQUIRED_COLUMNS, *(c for c in OPTIONAL_COLUMNS if c in runs.columns)]].copy()
    runs["arm"] = runs["arm"].astype(str)
    unknown = sorted(set(runs["arm"]) - set(ARMS))
    if unknown:
        raise AnalysisError(f"unknown arm(s) {unknown}; expected {list(ARMS)}")
    for arm in ARMS:
        if not (runs["arm"] == arm).any():
            raise AnalysisError(f"no runs for arm '{arm}'")
    for column in ("budget", "n_params", "final_loss", *(c for c in ("steps", "tokens", "width") if c in runs.columns)):
        runs[column] = pd.to_numeric(runs[column], errors="coerce").astype(float)
    bad = runs[~np.isfinite(runs["final_loss"]) | (runs["final_loss"] <= 0)]
    if len(bad):
        cells = "; ".join(_describe_cell(row) for row in bad.head(5).itertuples())
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise AnalysisError(
            f"{len(bad)} run(s) have a non-finite or non-positive final_loss: {cells}{more}"
        )
    bad = runs[~(runs["budget"] > 0) | ~(runs["n_params"] > 0)]
    if len(bad):
        cells = "; ".join(_describe_cell(row) for row in bad.head(5).itertuples())
        raise AnalysisError(f"{len(bad)} run(s) have a non-positive budget or n_params: {cells}")
    for arm in ARMS:
        budgets = sorted(runs.loc[runs["arm"] == arm, "budget"].unique())
        if len(budgets) < MIN_BUDGETS:
            listed = ", ".join(f"{b:.3g}" for b in budgets)
            raise AnalysisError(
                f"arm '{arm}' has runs at only {len(budgets)} budget(s) ({listed} FLOPs); "
                f"a scaling-law fit needs at least {MIN_BUDGETS}"
            )
    return runs


def ladders_from_runs(runs: pd.DataFrame) -> list[Ladder]:
    """Group validated runs into one ``Ladder`` per (arm, budget), in a fixed order."""
    ladders = []
    for (arm, budget), group in runs.groupby(["arm", "budget"], sort=True):
        by_size = group.sort_values(["n_params", "seed"]).groupby("n_params", sort=True)
        lengths = {column: np.array([g[column].median() for _, g in by_size], dtype=float)
                   for column in ("steps", "tokens", "width")
                   if column in group.columns and group[column].notna().all()}
        ladders.append(
            Ladder(
                arm=str(arm),
                budget=float(budget),
                n_params=np.array([n for n, _ in by_size], dtype=float),
                seed_losses=tuple(g["final_loss"].to_numpy(float) for _, g in by_size),
                steps=lengths.get("steps"),
                tokens=lengths.get("tokens"),
                widths=lengths.get("width"),
            )
        )
    return ladders


# ---------------------------------------------------------------------------
# The optimum of one ladder


def _parabola(n_params: np.ndarray, columns: np.ndarray):
    """Least-squares (c2, c1, c0) of L = c2·x² + c1·x + c0 per column, x = ln N − centre;
    and the centre (the mean of ln N, for conditioning)."""
    log_n = np.log(n_params)
    center = log_n.mean()
    x = log_n - center
    design = np.stack([x**2, x, np.ones_like(x)], axis=1)
    coefficients, *_ = np.linalg.lstsq(design, columns, rcond=None)
    return coefficients, x, center


def ladder_parabola(n_params: np.ndarray, mean_losses: np.ndarray) -> tuple[float, float, float] | None:
    """(c0, c1, c2) of the ladder's parabola L = c0 + c1·x + c2·x² in x = ln N, or None
    with fewer than ``MIN_SIZES_FOR_PARABOLA`` sizes."""
    if len(n_params) < MIN_SIZES_FOR_PARABOLA:
        return None
    (c2, c1, c0), _, m = _parabola(np.asarray(n_params, dtype=float), np.asarray(mean_losses, dtype=float))
    # undo the centring x' = x − m
    return (float(c0 - c1 * m + c2 * m * m), float(c1 - 2 * c2 * m), float(c2))


def ladder_optimum(n_params: np.ndarray, mean_losses: np.ndarray, allowance: float = np.inf):
    """Compute-optimal (loss, n_params, bracketed) of one ladder.

    ``mean_losses`` has shape (n_sizes,) or (n_sizes, n_replicates); the parabola
    L(x) = c2·x² + c1·x + c0 in x = log N is fitted to every column at once. Where
    c2 > 0 and the vertex x* = −c1/(2·c2) lies within the ladder, L* = c0 − c1²/(4·c2)
    and N* = exp(x*), unless L* lies more than ``allowance`` below the best observed
    mean (no valid valley: ``valid_valley``); elsewhere L* and N* are those of the best
    observed size, bracketed when it is not at an end of the ladder.
    """
    y = np.asarray(mean_losses, dtype=float)
    columns = y.reshape(len(n_params), -1)
    best = np.argmin(columns, axis=0)
    loss = columns[best, np.arange(columns.shape[1])]
    n_opt = np.asarray(n_params, dtype=float)[best]
    bracketed = np.zeros(columns.shape[1], dtype=bool)
    if len(n_params) >= MIN_SIZES_FOR_PARABOLA:
        (c2, c1, c0), x, center = _parabola(n_params, columns)
        with np.errstate(divide="ignore", invalid="ignore"):
            vertex = -c1 / (2 * c2)
            vertex_loss = c0 - c1**2 / (4 * c2)
        bracketed = (c2 > 0) & (vertex >= x.min()) & (vertex <= x.max())
        valley = bracketed & valid_valley(vertex_loss, loss, allowance)
        bracketed = valley | (bracketed & (best > 0) & (best < len(n_params) - 1))
        loss = np.where(valley, vertex_loss, loss)
        n_opt = np.where(valley, np.exp(np.where(valley, vertex, 0.0) + center), n_opt)
    shape = y.shape[1:]
    return loss.reshape(shape), n_opt.reshape(shape), bracketed.reshape(shape)


VALLEY_ROUND_OFF = 1e-9  # relative: a vertex this close to the best mean is at it


def valid_valley(vertex_loss, best_loss, allowance: float):
    """True where a parabola's vertex lies no more than ``allowance`` (and round-off)
    below the best observed mean loss: the frontier stays with the data."""
    with np.errstate(invalid="ignore"):
        return vertex_loss >= best_loss * (1 - VALLEY_ROUND_OFF) - allowance


def _unbracketed_warning(ladder: Ladder, n_opt: float) -> str:
    where = f"{ladder.arm} @ {ladder.budget:.3g} FLOPs: optimum not bracketed"
    sizes = ladder.n_params
    if len(sizes) < MIN_SIZES_FOR_PARABOLA:
        return (
            f"{where} (only {len(sizes)} size(s) in the ladder; a parabola needs "
            f"{MIN_SIZES_FOR_PARABOLA}); add sizes"
        )
    if n_opt == sizes.max():
        return f"{where} (best at the largest size {n_opt:.3g} params); add larger sizes"
    if n_opt == sizes.min():
        return f"{where} (best at the smallest size {n_opt:.3g} params); add smaller sizes"
    return f"{where} (loss is not convex in log size; best at {n_opt:.3g} params); add seeds"


def single_size_arms(ladders: list[Ladder]) -> set[str]:
    """Arms whose allocation rule prescribed one size at every budget."""
    return {arm for arm in ARMS if all(len(l.n_params) == 1 for l in ladders if l.arm == arm)}


def compute_frontier(ladders: list[Ladder], allowances=None) -> tuple[list[FrontierPoint], list[str]]:
    """The frontier point of every ladder, and a warning for each unbracketed one and
    each that fell back to its measured minimum. ``allowances``: per ladder, how far its
    parabola's vertex may lie below its best mean (``ladder_optimum``; default: any)."""
    points, warnings = [], []
    single = single_size_arms(ladders)
    allowances = [np.inf] * len(ladders) if allowances is None else allowances
    for ladder, allowance in zip(ladders, allowances):
        means = ladder.mean_losses()
        if ladder.arm in single:
            points.append(FrontierPoint(ladder.arm, ladder.budget, float(means[0]),
                                        float(ladder.n_params[0]), None, single_size=True))
            continue
        loss, n_opt, bracketed = ladder_optimum(ladder.n_params, means, allowance)
        parabola = ladder_parabola(ladder.n_params, means)
        vertex_loss = _vertex_loss(parabola, ladder)
        fallback = bool(np.isfinite(vertex_loss) and not valid_valley(vertex_loss, means.min(), allowance))
        point = FrontierPoint(ladder.arm, ladder.budget, float(loss), float(n_opt), bool(bracketed),
                              parabola=parabola, measured_minimum=fallback)
        points.append(point)
        if fallback:
            warnings.append(f"{ladder.arm} @ {ladder.budget:.3g} FLOPs: the parabola's optimum "
                            f"{vertex_loss:.4g} lies {means.min() - vertex_loss:.3g} below the best run's mean "
                            f"{means.min():.4g}, more than the measured noise allows ({allowance:.3g}): "
                            "no valid valley, the measured minimum is used")
        elif not point.bracketed:
            warnings.append(_unbracketed_warning(ladder, point.n_params_opt))
    return points, warnings


def _vertex_loss(parabola: tuple[float, float, float] | None, ladder: Ladder) -> float:
    """The loss at the vertex of a parabola (c0, c1, c2) in x = ln N that opens upward
    with its vertex inside the ladder; NaN otherwise."""
    if parabola is None or not parabola[2] > 0:
        return np.nan
    c0, c1, c2 = parabola
    if not np.log(ladder.n_params.min()) <= -c1 / (2 * c2) <= np.log(ladder.n_params.max()):
        return np.nan
    return c0 - c1 ** 2 / (4 * c2)
