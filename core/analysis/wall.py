"""Wall-clock CEG: the gain in seconds rather than FLOPs.

A run's ``train_time_s`` is measured by the trainer around its training steps only
(not loading data, the FLOP check, building the model or the held-out evaluations,
whose cost differs between runs for reasons that are not the innovation's, e.g. the
per-process FLOP cache). Both arms of a budget train the same compute on comparable
sizes, so the ratio of their training times is the ratio of their seconds per FLOP
there:

    r(C)    = median training time of the baseline's runs at C / the modern arm's
    r       = median of r(C) over the budgets both arms measured
    wall CEG(C) = CEG(C) · r

— the baseline needs CEG(C)·C FLOPs at s_b seconds each to match what the modern arm
gets from C FLOPs at s_m, so it needs CEG(C)·s_b/s_m times the time. A modern arm that
is slower per FLOP (e.g. a wider MLP) gives back some of its gain; a faster kernel with
no FLOP change (CEG = 1) gains only here. r's interval comes from resampling the runs
of each (arm, budget), paired with the CEG bootstrap replicates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .frontier import ARMS

TIME_COLUMN = "train_time_s"
MISSING_TIMES = f"wall-clock CEG left out: {{n}} run(s) have no positive {TIME_COLUMN}"


def _ratio(times: dict, budgets) -> float:
    return float(np.median([np.median(times["baseline", c]) / np.median(times["modern", c]) for c in budgets]))


def wall_time_ratio(runs: pd.DataFrame, rng: np.random.Generator, n_boot: int):
    """(r, bootstrap replicates of r, warning or None); r is None without usable timings.

    ``runs``: validated runs; timings are read from the optional ``train_time_s`` column.
    """
    if TIME_COLUMN not in runs.columns:
        return None, np.empty(0), None
    seconds = pd.to_numeric(runs[TIME_COLUMN], errors="coerce")
    bad = int((~(seconds > 0)).sum())
    if bad:
        return None, np.empty(0), MISSING_TIMES.format(n=bad)
    arms = runs["arm"].to_numpy()
    budgets_of = runs["budget"].to_numpy()
    budgets = sorted(set(budgets_of[arms == "baseline"]) & set(budgets_of[arms == "modern"]))
    if not budgets:
        return None, np.empty(0), "wall-clock CEG left out: the arms share no budget"
    times = {(arm, c): seconds.to_numpy()[(arms == arm) & (budgets_of == c)]
             for arm in ARMS for c in budgets}
    replicates = np.array([
        _ratio({key: rng.choice(values, size=len(values)) for key, values in times.items()}, budgets)
        for _ in range(n_boot)
    ])
    return _ratio(times, budgets), replicates, None
