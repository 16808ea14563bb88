"""An external tier's predictive-validity table as Markdown (what ``cegbench validity``
prints, and what README and the site publish): per pair whose budgets span at least 1.5
decades, the verdict from its lowest decade alone beside the verdict from the whole
range, what became of the small-scale label, and whether its CEG extrapolated to the top
budget covered the CEG measured there; then the counts.

Works on the registry's ``validity`` rows (``registry.external.validity_rows``), like
``leaderboard_table`` on verdicts. What became of the small-scale label is ``outcome``, here. An
extrapolated CEG whose interval spans more than an order of magnitude
(``bounds.unbounded_reason``) is no prediction: it is marked unbounded and not counted.
"""

from __future__ import annotations

from cegbench.analysis.label import INCONCLUSIVE
from cegbench.bounds import UNBOUNDED, unbounded_reason
from cegbench.present.numbers import MISSING, fmt_ceg, fmt_compute
from cegbench.present.report import describe_verdict

CONFIRMED, CONTRADICTED, NOT_BORNE_OUT, NO_CALL = "confirmed", "contradicted", "not borne out", "no call"
OUTCOMES = (CONFIRMED, CONTRADICTED, NOT_BORNE_OUT, NO_CALL)
COLUMNS = ("innovation", "budgets (decades)", "lowest decade: label", "lowest decade: CEG drift per 10×",
           "lowest decade: CEG at the headline compute (extrapolated)", "whole range: label",
           "whole range: CEG drift per 10×", "whole range: CEG at the headline compute",
           "small-scale label", "CEG covered?")


def _label(side: dict) -> str:
    if side.get("error"):
        return f"not analysed ({side['error']})"
    text = describe_verdict(side["label"], side.get("direction"))
    if side.get("label_basis") == "equal-loss CEGs":
        text += " (equal-loss CEGs)"
    elif side.get("label_basis") == "none":
        text += " (withheld)"
    return text


def _drift(side: dict) -> str:
    return fmt_ceg(side.get("drift"), side.get("drift_low"), side.get("drift_high"))


def _unbounded(side: dict) -> bool:
    return bool(side.get("ceg_top") and unbounded_reason(side["ceg_top"]))


def _ceg(side: dict) -> str:
    p = side.get("ceg_top")
    if not p:
        return MISSING
    return fmt_ceg(p["ceg"], p.get("low"), p.get("high")) + (
        f" ({UNBOUNDED})" if _unbounded(side) else "")


def outcome(small: dict, whole: dict) -> str:
    """What became of the small-scale label over the whole range (``OUTCOMES``)."""
    if small["label"] == INCONCLUSIVE:
        return NO_CALL
    if whole["label"] == INCONCLUSIVE:
        return NOT_BORNE_OUT
    same = (small["label"], small["direction"]) == (whole["label"], whole["direction"])
    return CONFIRMED if same else CONTRADICTED


def ceg_covered(small: dict, whole: dict) -> bool | None:
    """Does the small scale's (extrapolated) CEG interval at the whole range's headline
    compute hold the whole range's measured CEG there? None where either is missing."""
    s, w = small.get("ceg_top"), whole.get("ceg_top")
    if not s or not w or s.get("low") is None or s.get("high") is None or w.get("ceg") is None:
        return None
    return s["low"] <= w["ceg"] <= s["high"]


def covered(row: dict) -> bool | None:
    """Did the small scale's CEG at the headline compute cover the measured one? None: no
    prediction (none made, or unbounded)."""
    return None if _unbounded(row["small"]) else ceg_covered(row["small"], row["whole"])


def _covered(row: dict) -> str:
    if _unbounded(row["small"]):
        return f"no prediction ({UNBOUNDED})"
    answer = covered(row)
    return "no prediction" if answer is None else "yes" if answer else "no"


def row_cells(row: dict) -> list[str]:
    small, whole = row["small"], row["whole"]
    low, high = whole["window"]
    return [row["innovation"], f"{fmt_compute(low)}–{fmt_compute(high)} FLOPs ({row['span_decades']:.2g})",
            _label(small), _drift(small), _ceg(small), _label(whole), _drift(whole), _ceg(whole),
            outcome(small, whole), _covered(row)]


def markdown_table(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row_cells(row)) + " |")
    return "\n".join(lines) + "\n"


def summary_line(tier_text: str, rows: list[dict], n_pairs: int) -> str:
    """'porian2024 v1: 6 of its 6 pairs span ≥ 1.5 decades; the lowest decade's label was
    confirmed over the whole range in 2, … ; its CEG at the headline compute covered the measured one in 1 of 3.'"""
    counts = {name: sum(outcome(r["small"], r["whole"]) == name for r in rows) for name in OUTCOMES}
    predictions = [c for c in map(covered, rows) if c is not None]
    return (f"{tier_text}: {len(rows)} of its {n_pairs} pairs span ≥ 1.5 decades; the lowest decade's "
            f"label was {', '.join(f'{name} in {n}' for name, n in counts.items())}; its CEG "
            f"extrapolated to the headline compute covered the CEG measured there in {sum(predictions)} of "
            f"{len(predictions)} predictions.")
