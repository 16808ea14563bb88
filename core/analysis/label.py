"""The verdict on an innovation, from the interval of Δα = α_modern − α_baseline.

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

SCALE_DEPENDENT = "scale-dependent"
SCALE_INVARIANT = "scale-invariant"
INCONCLUSIVE = "inconclusive"
GROWS = "grows with scale"
SHRINKS = "shrinks with scale"
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
