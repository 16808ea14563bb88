"""When an extrapolated CEG is too uncertain to print as a number.

A fit extrapolated far beyond the measured budgets can give a CEG of 1.11e+25×
with an interval spanning dozens of orders of magnitude: the number says nothing.
Such a point is shown as "unbounded", with the reason, on the site and in
``cegbench show``; the registry and the downloads keep the numbers.
"""

from __future__ import annotations

import math

from cegbench.present.numbers import as_number, fmt_compute, fmt_ratio, number

MAX_SPAN = 10.0  # an extrapolated interval wider than this factor (high / low) is unbounded
UNBOUNDED = "unbounded"


def largest_point(points: list[dict], *, extrapolated: bool) -> dict | None:
    """The CEG point at the largest measured (or extrapolated) compute with a finite CEG."""
    finite = [p for p in points if bool(p.get("extrapolated")) is extrapolated
              and as_number(p.get("compute")) is not None and as_number(p.get("ceg")) is not None]
    return max(finite, key=lambda p: p["compute"]) if finite else None


def unbounded_reason(point: dict) -> str | None:
    """Why the CEG ``point`` ({"compute", "ceg", "low", "high", "extrapolated"}) is
    unbounded, or None when its number can be shown. Only extrapolated points
    qualify: their interval spans more than ``MAX_SPAN`` (an order of magnitude),
    or it reaches zero or infinity. An interval that is missing (not computed, or
    NaN: the bootstrap failed) is not judged here: the value shows without one."""
    if not point.get("extrapolated"):
        return None
    low, high = number(point.get("low")), number(point.get("high"))
    if low is None or high is None:
        return None
    compute = number(point.get("compute"))
    where = f"extrapolated to {fmt_compute(compute)} FLOPs" if compute else "extrapolated"
    interval = f"[{fmt_ratio(low)}, {'∞' if math.isinf(high) else fmt_ratio(high)}]"
    if low <= 0 or math.isinf(high):
        return (f"{where}, beyond the measured budgets: its 95 % interval {interval} "
                "reaches zero or infinity")
    if high / low <= MAX_SPAN:
        return None
    return (f"{where}, beyond the measured budgets: its 95 % interval {interval} "
            f"spans {math.log10(high / low):.1f} orders of magnitude (more than one)")
