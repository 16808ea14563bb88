"""Allocation rules: how a compute budget is split between model size and tokens.

A rule maps (budget, tier, family, recipe, vocab_size, components) to the model widths
trained at that budget.
"""

from __future__ import annotations

import math

from cegbench.hookspecs import hookimpl
from cegbench.innovations import Component


def isoflop_ladder(budget, tier, family, recipe, vocab_size, components) -> list[int]:
    """An IsoFLOP ladder: ``tier.sizes_per_budget`` consecutive widths of the tier's
    grid, centred on the width whose tokens-per-parameter at this budget is
    closest to ``tier.tokens_per_param`` (Chinchilla's 20), clamped to the grid.
    """

    def tokens_per_param(width: int) -> float:
        flops_per_token = family.flops_per_token(recipe, width, vocab_size, tier.context, components)
        n_params = family.n_params(recipe, width, vocab_size, tier.context, components)
        return budget / flops_per_token / n_params

    widths = list(tier.widths)
    distance = [abs(math.log(tokens_per_param(w) / tier.tokens_per_param)) for w in widths]
    centre = distance.index(min(distance))
    k = min(tier.sizes_per_budget, len(widths))
    start = min(max(0, centre - k // 2), len(widths) - k)
    return widths[start : start + k]


@hookimpl
def cegbench_register_components():
    return [Component("allocation", "isoflop", isoflop_ladder, isoflop_ladder.__doc__.split("\n")[0])]
