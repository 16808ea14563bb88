"""The verdict on an innovation, from the interval of its CEG drift (``drift.py``).

The tier's margin is a CEG drift factor over ``drift.MARGIN_SPAN`` (100×) of compute;
``label_from_drift`` turns it into a margin on the drift exponent r = Δα/α_b and
applies the rules below to the interval of r. ``label_from_interval`` is the rule on
any interval with a margin in the same unit:

* ``scale-dependent``: the 95 % interval excludes 0 (by more than round-off). Δα > 0 means the modern arm's
  loss falls faster with compute, so CEG(C) ∝ C^(α_m/α_b − 1) "grows with scale";
  Δα < 0: it "shrinks with scale".
* ``scale-invariant``: the whole interval lies inside [−margin, +margin] (an
  equivalence test with a margin declared in advance — an interval that merely
  includes 0 is not evidence that the exponents are equal).
* ``inconclusive``: neither; more budgets or seeds are needed to tell.

The tests are checked in that order, so a difference that is detectably non-zero yet
smaller than the margin is reported as scale-dependent.
"""

from __future__ import annotations

import math

from cegbench.standing import NO_BASIS, NOT_ANALYSED  # noqa: F401 (re-exported: the analysis's words)

from .drift import MARGIN_SPAN, exponent_margin

SCALE_DEPENDENT = "scale-dependent"
SCALE_INVARIANT = "scale-invariant"
INCONCLUSIVE = "inconclusive"
GROWS = "grows with scale"
SHRINKS = "shrinks with scale"
# what a label was read from (``Analysis.label_basis``): the fitted laws' drift; where the
# law sits at a bound, the drift of the measured frontiers' equal-loss CEGs; none (withheld)
FITTED_LAW = "fitted law"
EQUAL_LOSS = "equal-loss CEGs"
# NO_BASIS ("none": withheld) and NOT_ANALYSED (the warning of a verdict stored without an
# analysis, too few runs) live in the leaf ``cegbench.standing``, which counts by them
# Exponents closer than this are equal to floating-point precision: an interval that
# misses 0 by less (e.g. a noiseless fit, whose bootstrap has zero width) is no evidence.
NUMERICAL_TOLERANCE = 1e-9


def label_from_interval(lo: float, hi: float, margin: float) -> tuple[str, str | None]:
    """(label, direction) for a Δα interval [lo, hi] and an equivalence margin.

    Direction is ``"grows with scale"`` / ``"shrinks with scale"`` for a
    scale-dependent verdict, else None. A NaN bound gives ``inconclusive``.
    """
    if margin < 0:
        raise ValueError(f"margin must be non-negative, got {margin}")
    if math.isnan(lo) or math.isnan(hi):
        return INCONCLUSIVE, None
    if lo > NUMERICAL_TOLERANCE:
        return SCALE_DEPENDENT, GROWS
    if hi < -NUMERICAL_TOLERANCE:
        return SCALE_DEPENDENT, SHRINKS
    if -margin <= lo and hi <= margin:
        return SCALE_INVARIANT, None
    return INCONCLUSIVE, None


def label_from_drift(lo: float, hi: float, margin: float, span: float = MARGIN_SPAN,
                     dependent: tuple[float, float] | None = None) -> tuple[str, str | None]:
    """(label, direction) for an interval [lo, hi] of the drift exponent r = Δα/α_b
    (CEG ∝ C^r) and a margin that is a CEG drift factor over ``span`` of compute:
    scale-invariant when span^r stays within [1/margin, margin] over the interval,
    scale-dependent when the ``dependent`` interval (the wider, 99 % one; default
    [lo, hi]) excludes r = 0 (a drift of 1).

    The dependent test uses a 99 % interval because a reader takes "scale-dependent" as a
    finding: with the 95 % interval an invariant pair was called dependent in ~5–10 % of
    planted draws; the equivalence test keeps the 95 % interval (already
    conservative: two one-sided tests at 97.5 %)."""
    d_lo, d_hi = dependent if dependent is not None else (lo, hi)
    if not (math.isnan(d_lo) or math.isnan(d_hi)) and (d_lo > NUMERICAL_TOLERANCE or d_hi < -NUMERICAL_TOLERANCE):
        return label_from_interval(d_lo, d_hi, 0.0)
    label, direction = label_from_interval(lo, hi, exponent_margin(margin, span))
    if label == SCALE_DEPENDENT:  # the 95 % interval excludes 0, the 99 % one does not
        return INCONCLUSIVE, None
    return label, direction


def is_flip(main: tuple[str, str | None], other: tuple[str, str | None]) -> bool:
    """True when ``other`` contradicts ``main``: scale-dependent ↔ scale-invariant, or
    the direction reverses. A move to or from inconclusive is not a flip."""
    decided = {SCALE_DEPENDENT, SCALE_INVARIANT}
    return main[0] in decided and other[0] in decided and tuple(main) != tuple(other)
