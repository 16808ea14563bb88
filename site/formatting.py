"""Numbers and values as the site shows them to people: every helper turns None/NaN into "—"."""

from __future__ import annotations

import math
from datetime import datetime, timezone

from cegbench.bounds import as_number  # re-exported: the site's number reader
from cegbench.stored import load_json

MISSING = "—"


def fmt_ratio(x) -> str:
    """1.2345 → '1.23', 25.04 → '25.0', 1234.5 → '1,234', 123456 → '1.23e+05'."""
    x = as_number(x)
    if x is None:
        return MISSING
    for limit, spec in ((10, ".2f"), (100, ".1f"), (1e4, ",.0f")):
        if abs(x) < limit:
            return format(x, spec)
    return f"{x:.3g}"


def fmt_ceg(value, low, high) -> str:
    """'1.23× [1.10, 1.40]'; the interval is left out when unknown."""
    if as_number(value) is None:
        return MISSING
    interval = f" [{fmt_ratio(low)}, {fmt_ratio(high)}]"
    return f"{fmt_ratio(value)}×" + ("" if interval == f" [{MISSING}, {MISSING}]" else interval)


def fmt_signed(x) -> str:
    x = as_number(x)
    return MISSING if x is None else f"{x:+.3f}".replace("-", "−")


def fmt_delta(value, low, high) -> str:
    """'+0.031 [+0.012, +0.050]'."""
    if as_number(value) is None:
        return MISSING
    return f"{fmt_signed(value)} [{fmt_signed(low)}, {fmt_signed(high)}]"


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
    x = as_number(x)
    return MISSING if x is None else f"{x:.4g}"


def fmt_epochs(x) -> str:
    """Epochs of training data a run consumed: 0.793 → '0.79'; above 1 it saw data again."""
    x = as_number(x)
    return MISSING if x is None else f"{x:.2f}"


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


def as_text(x) -> str:
    """A plain value for display: None/NaN → '—'."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return MISSING
    return str(x)


def sort_key(x) -> str:
    x = as_number(x)
    return "" if x is None else repr(x)


def parse_json(raw, default):
    """Parse a JSON column (NaN allowed); ``default`` when empty; ``StoredValueError``
    (one line, quoting its start) when it is not JSON."""
    return load_json(raw, f"a verdict or innovation value ({str(raw)[:40]!r}…)", default)


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
