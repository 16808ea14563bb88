"""Every number a person reads, formatted one way wherever it is shown: in the terminal
(``cegbench show``, a sweep's progress, ``status``), in the Markdown tables (``cegbench
table``, ``validity``, README) and on the site. A missing number (None, NaN, infinity)
is "—" everywhere.

* ratios (a CEG, a CEG drift factor, a margin): ``fmt_ratio`` — 1.23, 25.0, 1,234, 1.23e+05;
  with an interval ``fmt_ceg`` — "1.23× [1.10, 1.40]"; a drift ``fmt_drift`` —
  "1.08× [0.95, 1.23] per 10× compute";
* exponents (α): ``fmt_exponent`` — 0.1234; their differences (Δα): ``fmt_delta`` —
  "+0.0310 [−0.0020, +0.0640]";
* FLOPs: ``fmt_compute`` — 1e12, 6.3e11; counts (parameters, tokens): ``fmt_count`` — 7.23k,
  5.47M; losses: ``fmt_loss`` — 2.024;
* epochs, whole numbers, seconds, file sizes and timestamps likewise.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

MISSING = "—"
DRIFT_SPAN = "per 10× compute"  # the span of compute a drift is quoted over (analysis.drift.SHOW_SPAN)


def number(x) -> float | None:
    """``x`` as a float; None when missing, not a number or NaN (infinity stays)."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def as_number(x) -> float | None:
    """``x`` as a finite float; None when missing, not a number, NaN or infinite: what every
    formatter here shows as '—'."""
    x = number(x)
    return x if x is not None and math.isfinite(x) else None


def _formatted(x, spec: str) -> str:
    """``x`` formatted by ``spec``, or '—' when it is missing."""
    x = as_number(x)
    return MISSING if x is None else format(x, spec)


def fmt_ratio(x) -> str:
    """A ratio (a CEG, a drift factor): 1.2345 → '1.23', 25.04 → '25.0', 1234.5 → '1,234',
    123456 → '1.23e+05'."""
    x = as_number(x)
    if x is None:
        return MISSING
    for limit, spec in ((10, ".2f"), (100, ".1f"), (1e4, ",.0f")):
        if abs(x) < limit:
            return format(x, spec)
    return f"{x:.3g}"


def fmt_ceg(value, low, high) -> str:
    """A ratio with its interval: '1.23× [1.10, 1.40]'; the interval is left out when both
    bounds are unknown, and an unknown bound is '—'."""
    if as_number(value) is None:
        return MISSING
    interval = f" [{fmt_ratio(low)}, {fmt_ratio(high)}]"
    return f"{fmt_ratio(value)}×" + ("" if interval == f" [{MISSING}, {MISSING}]" else interval)


def fmt_drift(per_10x, low, high) -> str:
    """A CEG drift per 10× compute with its interval: '1.08× [0.95, 1.23] per 10× compute',
    or '—' when unknown."""
    text = fmt_ceg(per_10x, low, high)
    return text if text == MISSING else f"{text} {DRIFT_SPAN}"


def fmt_signed(x) -> str:
    """A difference of exponents: '+0.0310', '−0.0020' (a typographic minus; never '−0.0000')."""
    x = as_number(x)
    if x is None:
        return MISSING
    return f"{round(x, 4) + 0.0:+.4f}".replace("-", "−")


def fmt_delta(value, low, high) -> str:
    """Δα with its interval: '+0.0310 [−0.0020, +0.0640]'."""
    if as_number(value) is None:
        return MISSING
    return f"{fmt_signed(value)} [{fmt_signed(low)}, {fmt_signed(high)}]"


def fmt_exponent(x) -> str:
    """A fitted exponent (α): four decimals, 0.1234."""
    return _formatted(x, ".4f")


def fmt_compute(x) -> str:
    """FLOPs as people write them: 1e12 → '1e12', 3.16e12 → '3.16e12', 2.5e-3 → '0.0025'."""
    x = as_number(x)
    if x is None:
        return MISSING
    text = f"{x:.3g}"
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    return f"{mantissa}e{int(exponent)}"


def fmt_count(x) -> str:
    """A count for people, to 3 digits: 7232 → '7.23k', 591872 → '592k', 5465255 → '5.47M'."""
    x = as_number(x)
    if x is None:
        return MISSING
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= scale:
            return f"{x / scale:.3g}{unit}"
    return f"{x:.0f}"


def fmt_loss(x) -> str:
    """Four significant digits: 3.45678 → '3.457'."""
    return _formatted(x, ".4g")


def fmt_epochs(x) -> str:
    """Epochs of training data a run consumed, 3 significant digits: 0.793 → '0.793',
    0.00459 → '0.00459', 5.3 → '5.3'; above 1 it saw data again."""
    return _formatted(x, ".3g")


def fmt_int(x) -> str:
    x = as_number(x)
    return MISSING if x is None else f"{int(x):,}"


def fmt_seconds(x) -> str:
    x = as_number(x)
    if x is None:
        return MISSING
    return f"{x:.1f} s" if x < 120 else f"{x / 60:.1f} min" if x < 7200 else f"{x / 3600:.1f} h"


def fmt_bytes(n: int) -> str:
    """2048 → '2.0 kB', 1234567 → '1.2 MB'."""
    for unit in ("B", "kB", "MB"):
        if n < 1000 or unit == "MB":
            return f"{n} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def fmt_timestamp(x) -> str:
    """An ISO timestamp for people, in UTC: '2026-12-02T02:52:16+00:00' → '2026-12-02 02:52 UTC'."""
    if not isinstance(x, str) or not x:
        return MISSING
    try:
        moment = datetime.fromisoformat(x)
    except ValueError:
        return x
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M") + (" UTC" if moment.tzinfo is not None else "")


def as_text(x) -> str:
    """A plain value for display: None/NaN → '—'."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return MISSING
    return str(x)
