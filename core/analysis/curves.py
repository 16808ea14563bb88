"""Frontiers from what people log: external runs → the runs DataFrame ``analyze_innovation``
takes (arm, budget, n_params, seed, final_loss).

An external file (``cegbench import --external``) holds either one row per run, its final
held-out loss at its budget, or one row per checkpoint of each run (a curve). How its
frontier is read is the tier's ``read``, one of ``READS``, recorded in every verdict:

* ``final`` (the only read of final losses): IsoFLOP ladders as the built-in tiers,
  the rows' own FLOPs their budgets. Rows whose FLOPs agree within ``BUDGET_TOLERANCE``
  are one budget (a file that writes each run's exact 6·N·D would otherwise give every
  run a budget of its own).
* ``isoflop`` (the default for curves): every run's curve is read at a grid of budgets
  (``GRID_PER_DECADE`` a decade, log-log interpolation between the checkpoints either
  side, never beyond a run's first or last checkpoint); a budget enters the frontier
  where at least ``MIN_SIZES`` sizes of each arm reach it, so that its ladder can bracket
  the optimum.
* ``envelope``: the lower envelope of all curves (Kaplan et al. 2020, Gundlach et al.
  2025): at each grid budget, the lowest loss any run's curve reaches there (per seed),
  one point per budget with no ladder to bracket.

Both curve reads take losses at checkpoints before a run's end. Such a checkpoint is
not annealed (``CHECKPOINT_BIAS``), so these frontiers are biased upward, most where
the runs' schedules decay over a horizon far beyond the budget read.

A ladder longer than ``2·KEEP_EACH_SIDE + 1`` sizes is cut to the sizes around its
lowest seed-mean loss before its parabola is fitted (``trim_ladders``): published
IsoFLOP ladders span two decades of size with losses up to several nats above the
optimum, where a parabola in log N no longer describes the valley. A ladder that does
not bracket its optimum is then left out with a warning (``drop_unbracketed``): nobody
can widen an external file's ladders, and on a built-in tier such a point would
withhold the whole label (the source's own analysis leaves such budgets out too).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cegbench.tiers import CURVE_READS, DEFAULT_CURVE_READ, ENVELOPE, FINAL, ISOFLOP  # noqa: F401 (re-exported)

from .frontier import ladder_optimum

READS = {
    FINAL: "final held-out losses at their budgets: IsoFLOP ladders",
    ISOFLOP: "checkpoint curves read at a grid of budgets: IsoFLOP ladders",
    ENVELOPE: "checkpoint curves: the lower envelope of all runs' curves",
}
BUDGET_TOLERANCE = 0.02  # relative: FLOPs this close are one budget (final losses)
GRID_PER_DECADE = 4  # budgets a decade at which curves are read (10^(k/4): 1.78× apart)
MIN_SIZES = 3  # sizes of each arm that must reach a grid budget for it to enter the frontier
KEEP_EACH_SIDE = 2  # a long ladder keeps its best size and this many either side
CHECKPOINT_BIAS = (
    "frontier read off checkpoint curves: a checkpoint before its run's end is not annealed "
    "(a decaying learning rate has not yet decayed there), so its loss is above what a run "
    "whose schedule ends at that budget would reach, by more the further the checkpoint is "
    "from the run's end; the frontier is biased upward, most at budgets far below the runs' "
    "ends (Porian et al. 2024; Hägele et al. 2024)")
ONE_SEED_CAVEAT = (
    "one seed per run: seed noise is not measured, so the intervals rest on the scatter of "
    "the frontier about the fitted law and say nothing of how much another seed would move "
    "a point; a gain smaller than typical seed noise (0.01–0.05 nats at small scale) cannot "
    "be told from it")
RUN_COLUMNS = ("arm", "budget", "n_params", "seed", "final_loss")


class CurveError(ValueError):
    """External runs that no read can turn into a frontier; the message says why."""


def read_runs(rows: pd.DataFrame, read: str) -> pd.DataFrame:
    """The runs DataFrame of one innovation's external rows (columns arm, run, step, seed,
    params, flops, loss; ``run`` and ``step`` empty for final losses) read as ``read``."""
    if read not in READS:
        raise ValueError(f"unknown frontier read {read!r}; use one of {', '.join(READS)}")
    rows = rows.copy()
    rows["seed"] = rows["seed"].fillna(0).astype(int) if "seed" in rows else 0
    if read == FINAL:
        runs = pd.DataFrame({"arm": rows["arm"], "budget": snap_budgets(rows["flops"]),
                             "n_params": rows["params"].astype(float), "seed": rows["seed"],
                             "final_loss": rows["loss"].astype(float)})
        return trim_ladders(runs)
    curves = _curves(rows)
    grid = budget_grid([c["flops"][0] for c in curves], [c["flops"][-1] for c in curves])
    runs = _read_curves(curves, grid, envelope=read == ENVELOPE)
    if runs.empty:
        raise CurveError(f"no budget of the grid ({GRID_PER_DECADE} a decade) is reached by "
                         f"{MIN_SIZES} sizes of each arm: the curves cannot give a frontier")
    return runs if read == ENVELOPE else trim_ladders(runs)


def snap_budgets(flops: pd.Series) -> pd.Series:
    """Each value replaced by the smallest of its group: sorted values within
    ``BUDGET_TOLERANCE`` of their neighbour are one budget."""
    values = np.sort(np.unique(flops.to_numpy(float)))
    first = {}
    start = values[0] if len(values) else None
    for previous, value in zip(np.r_[values[:1], values[:-1]], values):
        if value > previous * (1 + BUDGET_TOLERANCE):
            start = value
        first[value] = start
    return flops.astype(float).map(first)


def budget_grid(starts, ends) -> np.ndarray:
    """Budgets 10^(k/``GRID_PER_DECADE``) from the earliest first checkpoint to the latest
    last one."""
    low = np.ceil(np.log10(min(starts)) * GRID_PER_DECADE - 1e-9)
    high = np.floor(np.log10(max(ends)) * GRID_PER_DECADE + 1e-9)
    return 10.0 ** (np.arange(low, high + 1) / GRID_PER_DECADE)


def _curves(rows: pd.DataFrame) -> list[dict]:
    """One dict per (arm, run): size, seed, and flops/loss sorted by step."""
    curves = []
    for (arm, run), group in rows.groupby(["arm", "run"], sort=True):
        group = group.sort_values("step")
        curves.append({"arm": arm, "run": run, "n_params": float(group["params"].iloc[0]),
                       "seed": int(group["seed"].iloc[0]),
                       "flops": group["flops"].to_numpy(float),
                       "loss": group["loss"].to_numpy(float)})
    return curves


def loss_at(flops: np.ndarray, loss: np.ndarray, budget: float) -> float:
    """The curve's loss at ``budget``, log-log interpolated between the checkpoints either
    side; NaN outside [first, last] checkpoint."""
    if not flops[0] * (1 - 1e-9) <= budget <= flops[-1] * (1 + 1e-9):
        return np.nan
    return float(np.exp(np.interp(np.log(budget), np.log(flops), np.log(loss))))


def _read_curves(curves: list[dict], grid: np.ndarray, envelope: bool) -> pd.DataFrame:
    records = []
    arms = sorted({c["arm"] for c in curves})
    for budget in grid:
        points = [(c, loss_at(c["flops"], c["loss"], budget)) for c in curves]
        points = [(c, loss) for c, loss in points if np.isfinite(loss)]
        if any(len({c["n_params"] for c, _ in points if c["arm"] == arm}) < MIN_SIZES for arm in arms):
            continue
        if not envelope:
            records += [{"arm": c["arm"], "budget": float(budget), "n_params": c["n_params"],
                         "seed": c["seed"], "final_loss": loss} for c, loss in points]
            continue
        for arm in arms:
            mine = pd.DataFrame([{"n_params": c["n_params"], "seed": c["seed"], "loss": loss}
                                 for c, loss in points if c["arm"] == arm])
            best_size = mine.groupby("n_params")["loss"].mean().idxmin()  # shown as N*, no ladder
            for seed, losses in mine.groupby("seed")["loss"]:
                records.append({"arm": arm, "budget": float(budget), "n_params": float(best_size),
                                "seed": int(seed), "final_loss": float(losses.min())})
    return pd.DataFrame(records, columns=list(RUN_COLUMNS))


def trim_ladders(runs: pd.DataFrame, keep_each_side: int = KEEP_EACH_SIDE) -> pd.DataFrame:
    """Each (arm, budget) ladder cut to its lowest seed-mean loss's size and
    ``keep_each_side`` sizes either side of it (a best size at an edge stays at the
    edge, so the analysis still sees an unbracketed ladder)."""
    kept = []
    for _, ladder in runs.groupby(["arm", "budget"], sort=True):
        sizes = np.sort(ladder["n_params"].unique())
        if len(sizes) > 2 * keep_each_side + 1:
            best = int(np.argmin(ladder.groupby("n_params")["final_loss"].mean().reindex(sizes)))
            window = sizes[max(best - keep_each_side, 0):best + keep_each_side + 1]
            ladder = ladder[ladder["n_params"].isin(window)]
        kept.append(ladder)
    return pd.concat(kept, ignore_index=True) if kept else runs


def drop_unbracketed(runs: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The runs without the ladders whose parabola does not bracket their optimum (as
    ``frontier.ladder_optimum`` judges it on seed-mean losses), and a warning for each."""
    kept, dropped = [], {}
    for (arm, budget), ladder in runs.groupby(["arm", "budget"], sort=True):
        means = ladder.groupby("n_params")["final_loss"].mean()
        _, _, bracketed = ladder_optimum(means.index.to_numpy(float), means.to_numpy(float))
        if len(means) > 1 and not bool(bracketed):
            dropped.setdefault(arm, []).append(f"{budget:.3g}")
            continue
        kept.append(ladder)
    warnings = [f"{arm}: the ladders at {', '.join(budgets)} FLOPs do not bracket their optimum and "
                "are left out (an external file's ladders cannot be widened)" for arm, budgets in dropped.items()]
    return (pd.concat(kept, ignore_index=True) if kept else runs.iloc[:0]), warnings


def read_warnings(rows: pd.DataFrame, read: str) -> list[str]:
    """What a verdict read this way must say: the checkpoint bias of a curve read, the
    caveat of runs with one seed."""
    warnings = [CHECKPOINT_BIAS] if read in CURVE_READS else []
    seeds = rows["seed"].nunique(dropna=False) if "seed" in rows else 1
    if seeds <= 1:
        warnings.append(ONE_SEED_CAVEAT)
    return warnings


def frontier_runs(rows: pd.DataFrame, read: str) -> tuple[pd.DataFrame, list[str]]:
    """What an external tier's verdict is computed from: ``rows`` read as ``read``, the
    unbracketed ladders left out, and the warnings the verdict must carry (the read's
    biases and caveats first, then each ladder left out)."""
    runs = read_runs(rows, read)
    warnings = read_warnings(rows, read)
    if read != ENVELOPE:
        runs, dropped = drop_unbracketed(runs)
        warnings += dropped
    return runs, warnings
