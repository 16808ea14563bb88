"""Kaplan allocation → Chinchilla allocation of a compute budget.

The pair changes no model and no optimizer: only how each budget is split
between parameters and tokens. Each rule prescribes one model size per budget
(N ∝ C^0.73 for Kaplan et al. 2020, N ∝ C^0.5 for Hoffmann et al. 2022), both
anchored to agree at the tier's smallest budget, so the gap opens with scale.
It registers the two allocation rules it needs, as any plugin may.
"""

from cegbench import Component, Finding, Innovation, Recipe, hookimpl
from cegbench.allocation import power_law_rule
from cegbench.plugins._references import GUNDLACH, GUNDLACH_URL

KAPLAN_EXPONENT = 0.73
CHINCHILLA_EXPONENT = 0.5


@hookimpl
def cegbench_register_components():
    return [
        Component("allocation", "kaplan", power_law_rule(KAPLAN_EXPONENT),
                  "one width per budget, parameters ∝ C^0.73 (Kaplan et al. 2020)"),
        Component("allocation", "chinchilla", power_law_rule(CHINCHILLA_EXPONENT),
                  "one width per budget, parameters ∝ C^0.5 (Hoffmann et al. 2022)"),
    ]


@hookimpl
def cegbench_register_innovations():
    return [
        Innovation(
            name="kaplan-to-chinchilla-allocation",
            title="Kaplan allocation → Chinchilla allocation",
            category="allocation",
            year=2022,
            paper="https://arxiv.org/abs/2203.15556",
            description=(
                "Splits each compute budget between model size and training tokens by "
                "Chinchilla's rule (parameters grow as the square root of compute, "
                "tokens likewise) instead of Kaplan's (parameters grow as compute to "
                "the 0.73, so bigger budgets buy mostly bigger models trained on "
                "relatively fewer tokens). Both rules pick the same model at the "
                "smallest budget; the same Transformer is trained at one size per "
                "budget and arm."
            ),
            baseline=Recipe(allocation="kaplan"),
            modern=Recipe(allocation="chinchilla"),
            expected="scale-dependent",
            literature=(
                Finding(
                    source=f"{GUNDLACH} (analytic)", url=GUNDLACH_URL, ceg=(1.0, 9.8),
                    flops=(3e18, 2.3e23), label="scale-dependent",
                    scale=("analytic, from Chinchilla's loss law L = 1.69 + 406.4/N^0.34 + "
                           "410.7/D^0.28 with Kaplan's allocation N ∝ C^0.73 against "
                           "Chinchilla's N ∝ C^0.46"),
                    note="about 1× near 3e18 FLOPs, 1.22× at 1e20, 3.7× at 1.3e22, 9.8× at 2.3e23",
                ),
            ),
        )
    ]
