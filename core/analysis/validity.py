"""Predictive validity: would the smallest decade of budgets alone have told the same story?

For an external pair whose measured budgets span at least ``MIN_SPAN_DECADES``, the
verdict from its lowest decade alone — the budgets from the smallest at which both arms
have a frontier point up to ``DECADE``× that, as if that were all one had — is compared
with the verdict from the whole range: the label, the CEG drift per 10× compute, and the
CEG at the whole range's headline compute (the geometric centre of its budgets; the
small-scale fitted law extrapolated there, with its interval, against the CEG measured
there). Not at its top budget: a gain above 1× there would need the baseline beyond its
largest run, so no CEG is *measured* at the top (``analyze.implies_extrapolation``). This is
the question the field asks of small-scale ablations, asked of published runs.

The small-scale verdict is ``analyze_innovation`` on the same runs with the fit window
narrowed to the lowest decade, the same options otherwise; the whole-range verdict is the
tier's own. What became of the small-scale label is read off the two stored summaries by
``present.validity_table.outcome``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .analyze import Analysis, analyze_innovation
from .frontier import AnalysisError
from .label import INCONCLUSIVE

MIN_SPAN_DECADES = 1.5
DECADE = 10.0


@dataclass(frozen=True)
class Validity:
    """One pair's check: the two verdicts in brief (``summary``) and the range they span."""

    span_decades: float
    small: dict
    whole: dict


def shared_budgets(runs: pd.DataFrame) -> list[float]:
    """The budgets at which both arms have runs, ascending."""
    per_arm = [set(runs.loc[runs["arm"] == arm, "budget"]) for arm in ("baseline", "modern")]
    return sorted(per_arm[0] & per_arm[1])


def span_decades(runs: pd.DataFrame) -> float:
    """log10 of the largest over the smallest budget both arms measured (0 with fewer than 2)."""
    budgets = shared_budgets(runs)
    return math.log10(budgets[-1] / budgets[0]) if len(budgets) > 1 else 0.0


def _finite(x) -> float | None:
    return float(x) if x is not None and np.isfinite(x) else None


def summary(analysis: Analysis | None, window: tuple[float, float], top: float, error: str | None = None) -> dict:
    """A verdict in brief: label, drift with interval, CEG at ``top`` with interval."""
    if analysis is None:
        return {"window": list(window), "label": INCONCLUSIVE, "direction": None, "label_basis": None,
                "drift": None, "drift_low": None, "drift_high": None, "ceg_top": None,
                "withheld": [], "error": error}
    point = next((p.__dict__ for p in analysis.ceg if math.isclose(p.compute, top, rel_tol=1e-9)), None)
    if point is None and math.isclose(analysis.headline["compute"], top, rel_tol=1e-9):
        point = analysis.headline
    ceg_top = None if point is None or _finite(point["ceg"]) is None else {
        "compute": point["compute"], "ceg": point["ceg"], "low": _finite(point["low"]),
        "high": _finite(point["high"]), "extrapolated": point["extrapolated"]}
    return {"window": list(window), "label": analysis.label, "direction": analysis.direction,
            "label_basis": analysis.label_basis, "drift": _finite(analysis.drift),
            "drift_low": _finite(analysis.drift_low), "drift_high": _finite(analysis.drift_high),
            "ceg_top": ceg_top, "withheld": list(analysis.withheld), "error": None}


def predictive_validity(runs: pd.DataFrame, whole: Analysis, *, margin: float, **options) -> Validity | None:
    """The check for one pair (None when its budgets span less than ``MIN_SPAN_DECADES``).

    ``runs``: what the whole-range verdict ``whole`` was computed from; ``options``: the
    keyword arguments it was computed with (``margin`` aside; a ``fit_window`` is narrowed
    to the lowest decade within it)."""
    window = options.pop("fit_window", None)
    if window is not None:
        runs = runs[(runs["budget"] >= window[0]) & (runs["budget"] <= window[1])]
    budgets = shared_budgets(runs)
    span = span_decades(runs)
    if span < MIN_SPAN_DECADES:
        return None
    top = whole.headline["compute"]  # where the whole range measures a CEG (module docstring)
    low = (budgets[0], budgets[0] * DECADE)
    try:
        small = analyze_innovation(runs, margin=margin, fit_window=low, extrapolate_to=(top,), **options)
        small_summary = summary(small, low, top)
    except AnalysisError as error:
        small_summary = summary(None, low, top, error=str(error))
    return Validity(span, small_summary, summary(whole, (budgets[0], budgets[-1]), top))
