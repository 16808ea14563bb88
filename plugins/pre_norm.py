"""Post-norm → pre-norm residual blocks."""

from cegbench import Innovation, Recipe, hookimpl
from cegbench.plugins._references import gundlach_ablation


@hookimpl
def cegbench_register_innovations():
    return [
        Innovation(
            name="post-norm-to-pre-norm",
            title="Post-norm → pre-norm",
            category="architecture",
            year=2020,
            paper="https://arxiv.org/abs/2002.04745",
            description=(
                "Moves the LayerNorm from after each residual addition, norm(x + f(x)) as in "
                "the 2017 Transformer, to the input of each sub-layer, x + f(norm(x)), with "
                "one more norm before the head. The residual stream is then never "
                "normalised, so gradients reach the first layers undamped and deep models "
                "train stably. Only the final norm's weights are added."
            ),
            baseline=Recipe(norm_placement="post"),
            modern=Recipe(norm_placement="pre"),
            expected="scale-dependent",
            literature=(gundlach_ablation(1.87),),
        )
    ]
