"""The one formatter module (``cegbench.present.numbers``): every number a person reads,
the same in the terminal, the Markdown tables and the site."""

import pytest

from cegbench.present import numbers
from cegbench.present.numbers import (
    fmt_bytes,
    fmt_ceg,
    fmt_compute,
    fmt_count,
    fmt_delta,
    fmt_drift,
    fmt_epochs,
    fmt_exponent,
    fmt_int,
    fmt_loss,
    fmt_ratio,
    fmt_seconds,
    fmt_signed,
    fmt_timestamp,
)


@pytest.mark.parametrize("fmt, value, expected", [
    (fmt_ratio, (1.2345,), "1.23"),
    (fmt_ratio, (25.04,), "25.0"),
    (fmt_ratio, (1234.5,), "1,234"),
    (fmt_ratio, (123456,), "1.23e+05"),
    (fmt_ratio, (float("inf"),), "—"),
    (fmt_ceg, (1.2345, 1.1, 1.4), "1.23× [1.10, 1.40]"),
    (fmt_ceg, (25.04, 20.0, 31.26), "25.0× [20.0, 31.3]"),
    (fmt_ceg, (1.5, float("nan"), None), "1.50×"),
    (fmt_ceg, (1.19, 0.547, None), "1.19× [0.55, —]"),
    (fmt_ceg, (float("nan"), 1, 2), "—"),
    (fmt_drift, (1.08, 0.954, 1.23), "1.08× [0.95, 1.23] per 10× compute"),
    (fmt_drift, (1.08, None, None), "1.08× per 10× compute"),
    (fmt_drift, (None, 1, 2), "—"),
    (fmt_delta, (0.031, -0.002, 0.064), "+0.0310 [−0.0020, +0.0640]"),
    (fmt_signed, (-3e-9,), "+0.0000"),  # never a minus zero
    (fmt_signed, (-0.03674,), "−0.0367"),
    (fmt_exponent, (0.123456,), "0.1235"),
    (fmt_compute, (1e12,), "1e12"),
    (fmt_compute, (3.16e15,), "3.16e15"),
    (fmt_compute, (2.5e-3,), "0.0025"),
    (fmt_count, (7232,), "7.23k"),
    (fmt_count, (591872,), "592k"),
    (fmt_count, (5465255,), "5.47M"),
    (fmt_count, (512,), "512"),
    (fmt_epochs, (0.00459329,), "0.00459"),
    (fmt_epochs, (5.3,), "5.3"),
    (fmt_timestamp, ("2026-12-02T02:52:16+00:00",), "2026-12-02 02:52 UTC"),
    (fmt_timestamp, ("2026-12-02T04:52:16+02:00",), "2026-12-02 02:52 UTC"),
    (fmt_timestamp, (None,), "—"),
    (fmt_loss, (3.456789,), "3.457"),
    (fmt_loss, (None,), "—"),
    (fmt_int, (12713984.0,), "12,713,984"),
    (fmt_int, (float("nan"),), "—"),
    (fmt_seconds, (3725,), "62.1 min"),
    (fmt_bytes, (999,), "999 B"),
    (fmt_bytes, (1_234_567,), "1.2 MB"),
])
def test_numbers_are_formatted_for_people(fmt, value, expected):
    assert fmt(*value) == expected


def test_a_missing_number_is_a_dash_everywhere():
    for missing in (None, float("nan"), float("inf"), "text"):
        assert numbers.as_number(missing) is None
        assert fmt_ratio(missing) == fmt_compute(missing) == fmt_loss(missing) == numbers.MISSING
    assert numbers.number(float("inf")) == float("inf") and numbers.number("x") is None


def test_the_terminal_the_tables_and_the_site_format_a_verdict_alike():
    """The same stored CEG reads the same in `cegbench show`, `cegbench table` and on the
    site: each surface formats it through this module."""
    import json

    from cegbench.present.leaderboard_table import headline_cell
    from cegbench.present.report import headline_line
    from cegbench.site.verdict_text import headline

    verdict = {"headline": json.dumps({"compute": 1e12, "ceg": 1.2345, "low": 1.1, "high": 1.4,
                                       "extrapolated": False, "basis": "fitted law"}),
               "ceg": "[]", "label": "scale-invariant"}
    shown = fmt_ceg(1.2345, 1.1, 1.4)
    assert shown in headline_line(verdict) and shown in headline_cell(verdict)
    site = headline(verdict)
    assert f"{site.value} {site.interval}" == shown and "1e12" in headline_cell(verdict)
