"""Where a stored verdict stands (``cegbench.standing``): the one rule the site and
``cegbench table`` count by."""

import json
import subprocess
import sys

import pytest

from cegbench import standing
from cegbench.standing import (
    BORDERLINE,
    DECIDED,
    INCONCLUSIVE,
    RESTS_ON_ONE_BUDGET,
    WITHHELD,
    count_standings,
)

SEED = standing.ANOTHER_BOOTSTRAP_SEED


def verdict(label="scale-invariant", basis="fitted law", **columns):
    """A registry row as the site reads it: JSON columns as text."""
    row = {"label": label, "label_basis": basis}
    row.update({k: json.dumps(v) if isinstance(v, list) else v for k, v in columns.items()})
    return row


@pytest.mark.parametrize("row, expected", [
    (verdict(), DECIDED),
    (verdict("scale-dependent", "equal-loss CEGs", weakened=["drop smallest budget"]), DECIDED),
    (verdict(weakened=[SEED]), BORDERLINE),
    (verdict("scale-dependent", rests_on=["the 4e+12 FLOPs budget"]), RESTS_ON_ONE_BUDGET),
    # resting on one budget is the stronger caveat: it wins over borderline
    (verdict(rests_on=["the 4e+12 FLOPs budget"], weakened=[SEED]), RESTS_ON_ONE_BUDGET),
    (verdict("inconclusive"), INCONCLUSIVE),
    (verdict("inconclusive", "equal-loss CEGs", withheld=["fit at a bound: E at 0"]), INCONCLUSIVE),
    (verdict("inconclusive", "none", withheld=["frontier not bracketed at 4e+12 FLOPs (baseline)"]), WITHHELD),
    # a verdict stored before the analysis could run
    (verdict("inconclusive", None, warnings=["cannot analyse yet: arm 'baseline' has runs at only 2 budget(s)"]),
     WITHHELD),
    # a registry from before label_basis: a non-empty withheld list under "inconclusive"
    (verdict("inconclusive", None, withheld=["frontier not bracketed"]), WITHHELD),
    (verdict("inconclusive", None), INCONCLUSIVE),
    # older registries: columns absent or NULL
    ({"label": "scale-dependent"}, DECIDED),
    ({"label": "scale-dependent", "rests_on": None, "weakened": None, "withheld": ""}, DECIDED),
    ({"label": None}, INCONCLUSIVE),
])
def test_standing_of_a_stored_verdict(row, expected):
    assert standing.standing(row) == expected


def test_decoded_lists_are_read_as_well_as_json_text():
    assert standing.standing({"label": "scale-invariant", "weakened": [SEED]}) == BORDERLINE
    assert standing.rests_on({"rests_on": ["the 2.5e+11 FLOPs budget"]}) == ["the 2.5e+11 FLOPs budget"]


def test_counts_cover_every_standing_in_order():
    rows = [verdict(), verdict(weakened=[SEED]), verdict("inconclusive"), verdict("inconclusive")]
    assert count_standings(rows) == {DECIDED: 1, BORDERLINE: 1, RESTS_ON_ONE_BUDGET: 0,
                                     INCONCLUSIVE: 2, WITHHELD: 0}


def test_the_words_match_the_analysis():
    """standing repeats the analysis's stored words (to stay free of numpy and scipy)."""
    from cegbench.analysis import analyze, label

    assert standing.ANOTHER_BOOTSTRAP_SEED == analyze.ANOTHER_BOOTSTRAP_SEED
    assert standing.NO_BASIS == label.NO_BASIS and standing.NOT_ANALYSED == label.NOT_ANALYSED
    assert standing.DECIDED_LABELS == (label.SCALE_INVARIANT, label.SCALE_DEPENDENT)
    assert standing.INCONCLUSIVE == label.INCONCLUSIVE


def test_standing_is_a_leaf_without_numerical_libraries():
    code = ("import sys, cegbench.standing; "
            "bad = [m for m in ('numpy', 'pandas', 'scipy', 'torch') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
