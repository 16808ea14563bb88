"""Planning without a tuning phase, for tests that need real specs but not tuned rates."""

from cegbench.innovations import ARMS
from cegbench.plan.cells import plan_runs
from cegbench.plan.specs import TunedRate

FIXED_RATE = TunedRate(learning_rate=4e-3, width=32)


def fixed_rates(*innovations, rate=FIXED_RATE):
    """Every arm's recipe of ``innovations`` mapped to one untuned ``rate``."""
    return {i.recipe(arm): rate for i in innovations for arm in ARMS}


def plan_untuned(innovations, tier, components, rate=FIXED_RATE):
    """``plan_runs`` with ``fixed_rates``: real specs whose learning rate was not tuned."""
    return plan_runs(innovations, tier, components, fixed_rates(*innovations, rate=rate))
