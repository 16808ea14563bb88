"""No warm-up → linear warm-up, before the same cosine decay.

Registers the schedule the baseline needs, ``cosine-no-warmup``, exactly as a
third-party plugin would add a component.
"""

import math

from cegbench import Component, Innovation, Recipe, hookimpl
from cegbench.optim import FINAL_FRACTION


def cosine_no_warmup(progress: float) -> float:
    """Cosine decay from 1 at the first step to FINAL_FRACTION at the end, no warm-up."""
    return FINAL_FRACTION + (1 - FINAL_FRACTION) * 0.5 * (1 + math.cos(math.pi * progress))


@hookimpl
def cegbench_register_components():
    return [Component("schedule", "cosine-no-warmup", cosine_no_warmup, cosine_no_warmup.__doc__)]


@hookimpl
def cegbench_register_innovations():
    return [
        Innovation(
            name="no-warmup-to-warmup",
            title="no warm-up → linear warm-up",
            category="schedule",
            year=2017,
            paper="https://arxiv.org/abs/1706.02677",
            description=(
                "Starts training at a small learning rate and raises it linearly to its "
                "peak over the first 10 % of steps, instead of starting at the peak. "
                "Both arms then decay along the same cosine to 0.1 × peak, so the only "
                "difference is how the first steps are taken, when the weights and "
                "Adam's statistics are still far from settled."
            ),
            baseline=Recipe(schedule="cosine-no-warmup"),
            modern=Recipe(schedule="cosine"),
            expected="scale-invariant",
        )
    ]
