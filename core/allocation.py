"""Allocation rules: how a compute budget is split between model size and tokens.

A rule maps (budget, tier, family, recipe, vocab_size, components) to the model widths
trained at that budget: an IsoFLOP ladder of several widths (``isoflop``, here), or
one width per budget when the rule itself is what is measured (see
``power_law_rule``, which ``cegbench.plugins.chinchilla`` uses).
"""

from __future__ import annotations

import math

from cegbench.hookspecs import hookimpl
from cegbench.innovations import Component


def centre_index(budget, tier, family, recipe, vocab_size, components) -> int:
    """Index in ``tier.widths`` of the width whose tokens per parameter at this budget
    is closest (in log) to ``tier.tokens_per_param``."""

    def tokens_per_param(width: int) -> float:
        flops_per_token = family.flops_per_token(recipe, width, vocab_size, tier.context, components)
        n_params = family.n_params(recipe, width, vocab_size, tier.context, components)
        return budget / flops_per_token / n_params

    distance = [abs(math.log(tokens_per_param(w) / tier.tokens_per_param)) for w in tier.widths]
    return distance.index(min(distance))


def isoflop_ladder(budget, tier, family, recipe, vocab_size, components) -> list[int]:
    """An IsoFLOP ladder: ``tier.sizes_per_budget`` consecutive widths of the tier's
    grid, centred on the width whose tokens-per-parameter at this budget is
    closest to ``tier.tokens_per_param`` (Chinchilla's 20), clamped to the grid.
    """
    widths = list(tier.widths)
    centre = centre_index(budget, tier, family, recipe, vocab_size, components)
    k = min(tier.sizes_per_budget, len(widths))
    start = min(max(0, centre - k // 2), len(widths) - k)
    return widths[start : start + k]


def power_law_rule(exponent: float):
    """An allocation rule prescribing one width per budget: parameters N ∝ C^exponent.

    Anchored at the tier's smallest budget C0 on the width ``isoflop`` centres
    there (tokens per parameter closest to ``tier.tokens_per_param``), so rules
    with different exponents agree at C0 and part as the budget grows. At budget
    C the target is N0 · (C / C0)^exponent, snapped (in log) to the width of the
    tier's grid whose parameter count is closest. N counts all parameters,
    embeddings included.
    """

    def allocate(budget, tier, family, recipe, vocab_size, components) -> list[int]:
        def n_params(width):
            return family.n_params(recipe, width, vocab_size, tier.context, components)

        smallest = tier.budgets[0]
        anchor = tier.widths[centre_index(smallest, tier, family, recipe, vocab_size, components)]
        target = n_params(anchor) * (budget / smallest) ** exponent
        return [min(tier.widths, key=lambda w: abs(math.log(n_params(w) / target)))]

    return allocate


@hookimpl
def cegbench_register_components():
    return [Component("allocation", "isoflop", isoflop_ladder, isoflop_ladder.__doc__.split("\n")[0])]
