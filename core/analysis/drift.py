"""CEG drift: how much the compute-equivalent gain changes over a span of compute.

With a shared irreducible loss E the two fitted laws give exactly

    CEG(C) = (A_b / A_m)^(1/α_b) · C^(Δα/α_b),   Δα = α_m − α_b

so CEG changes by the factor ``span^(Δα/α_b)`` over any ``span`` of compute (with E
per arm this holds far above both floors). The *drift exponent* r = Δα/α_b is the
quantity a reader cares about — "does the gain I measure here hold 100× further
up?" — and it is what the label tests (``label.label_from_drift``):

* ``scale-invariant``: the whole 95 % bootstrap interval of the drift over
  ``MARGIN_SPAN`` (100×) of compute lies within [1/m, m], m the tier's ``margin``
  (1.25 on the cpu and gpu tiers: over two decades of compute a CEG of 2 stays
  between 1.6 and 2.5);
* ``scale-dependent``: the 99 % interval excludes 1 (r ≠ 0);
* ``inconclusive``: neither.

Reports show the drift per ``SHOW_SPAN`` (10×) of compute, ``10^r``
(``present.numbers.fmt_drift``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MARGIN_SPAN = 100.0  # the span of compute a tier's margin (a drift factor) refers to
SHOW_SPAN = 10.0  # the span of compute reports quote the drift over


@dataclass(frozen=True)
class Drift:
    """CEG drift per ``SHOW_SPAN`` of compute with its 95 % interval, and the exponent."""

    per_10x: float
    low: float
    high: float
    exponent: float  # r = Δα / α_baseline
    exponent_low: float
    exponent_high: float


def drift_exponent(alpha_baseline, alpha_modern):
    """r = (α_m − α_b) / α_b: CEG ∝ C^r. NaN where α_b is not positive."""
    alpha_baseline = np.asarray(alpha_baseline, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(alpha_baseline > 0, (np.asarray(alpha_modern, dtype=float) - alpha_baseline)
                        / alpha_baseline, np.nan)


def drift_factor(exponent, span: float = SHOW_SPAN):
    """span^r: the factor CEG changes by over ``span`` of compute."""
    with np.errstate(over="ignore"):
        return np.power(span, np.asarray(exponent, dtype=float))


def exponent_margin(margin: float, span: float = MARGIN_SPAN) -> float:
    """The bound on |r| equivalent to a drift of at most ``margin``× over ``span``."""
    if not margin >= 1:
        raise ValueError(f"margin is a CEG drift factor ≥ 1 over {span:g}× compute, got {margin}")
    return math.log(margin) / math.log(span)


def drift(exponent: float, low: float, high: float) -> Drift:
    """The ``Drift`` of a point exponent and its interval."""
    return Drift(float(drift_factor(exponent)), float(drift_factor(low)), float(drift_factor(high)),
                 float(exponent), float(low), float(high))
