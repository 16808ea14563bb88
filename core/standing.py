"""Where a stored verdict stands: the one classification that the site and ``cegbench table``
count and mark by.

    standing(verdict_row) -> "decided" | "borderline" | "rests on one budget"
                             | "inconclusive" | "withheld"

* **withheld**: no label could be read at all (``label_basis`` "none": a frontier not
  bracketed or within noise of its floor; or a verdict stored before the analysis could
  run, "cannot analyse yet"; or, in verdicts from before ``label_basis``, a non-empty
  ``withheld`` list under an inconclusive label);
* **inconclusive**: the label is inconclusive, from the fitted law or the equal-loss CEGs;
* **rests on one budget**: a decided label (scale-invariant or scale-dependent) whose point
  estimate crosses to the other side when one budget (or frontier point) is left out
  (``rests_on`` non-empty);
* **borderline**: a decided label whose bound lies within the bootstrap's Monte-Carlo
  error of its threshold (``weakened`` holds ``ANOTHER_BOOTSTRAP_SEED``): another bootstrap
  seed could make it inconclusive;
* **decided**: a decided label that is none of these. Only these count as decided.

Works on registry rows as plain dicts, JSON columns as text (or already decoded); a
column an older registry lacks reads as empty. Pure Python: a leaf any module may import.
"""

from __future__ import annotations

from cegbench.stored import load_json, verdict_value

DECIDED = "decided"
BORDERLINE = "borderline"
RESTS_ON_ONE_BUDGET = "rests on one budget"
INCONCLUSIVE = "inconclusive"
WITHHELD = "withheld"
STANDINGS = (DECIDED, BORDERLINE, RESTS_ON_ONE_BUDGET, INCONCLUSIVE, WITHHELD)  # surest first

# The analysis's stored words (cegbench.analysis.label and .analyze), repeated here so this
# module needs no numpy or scipy; tests/test_standing.py checks they still match.
DECIDED_LABELS = ("scale-invariant", "scale-dependent")
NO_BASIS = "none"
NOT_ANALYSED = "cannot analyse yet"
ANOTHER_BOOTSTRAP_SEED = "another bootstrap seed (its bound is within Monte-Carlo error of the threshold)"


def stored_list(verdict: dict, column: str) -> list:
    """A verdict's JSON list column, decoded; [] where it is NULL, empty or absent; a value
    that is not JSON is a ``StoredValueError`` naming the verdict's row."""
    value = verdict.get(column)
    if isinstance(value, str):
        value = load_json(value if value.strip() else None, verdict_value(verdict, column))
    return list(value) if isinstance(value, (list, tuple)) else []


def not_analysed(verdict: dict) -> list[str]:
    """Why the verdict was stored without an analysis (too few runs yet), or []."""
    return [w for w in stored_list(verdict, "warnings") if str(w).startswith(NOT_ANALYSED)]


def rests_on(verdict: dict) -> list[str]:
    """The budgets (or frontier points) the decided label rests on, e.g. ["the 4e+12 FLOPs budget"]."""
    return [str(x) for x in stored_list(verdict, "rests_on")]


def is_borderline(verdict: dict) -> bool:
    return ANOTHER_BOOTSTRAP_SEED in stored_list(verdict, "weakened")


def is_withheld(verdict: dict) -> bool:
    basis = verdict.get("label_basis")
    if basis == NO_BASIS or not_analysed(verdict):
        return True
    return not basis and verdict.get("label") not in DECIDED_LABELS and bool(stored_list(verdict, "withheld"))


def standing(verdict: dict) -> str:
    """One of ``STANDINGS`` for a stored verdict row (see the module docstring)."""
    if is_withheld(verdict):
        return WITHHELD
    if verdict.get("label") not in DECIDED_LABELS:
        return INCONCLUSIVE
    if rests_on(verdict):
        return RESTS_ON_ONE_BUDGET
    if is_borderline(verdict):
        return BORDERLINE
    return DECIDED


def count_standings(verdicts) -> dict[str, int]:
    """How many of ``verdicts`` stand where, in ``STANDINGS`` order (zeros included)."""
    counts = dict.fromkeys(STANDINGS, 0)
    for verdict in verdicts:
        counts[standing(verdict)] += 1
    return counts
