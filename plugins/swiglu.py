"""GeLU → SwiGLU in the Transformer's MLP."""

from cegbench import Innovation, Recipe, hookimpl
from cegbench.plugins._references import gundlach_ablation


@hookimpl
def cegbench_register_innovations():
    return [
        Innovation(
            name="gelu-to-swiglu",
            title="GeLU → SwiGLU",
            category="architecture",
            year=2020,
            paper="https://arxiv.org/abs/2002.05202",
            description=(
                "Replaces the MLP's GeLU non-linearity with SwiGLU, a gated unit: one "
                "projection, passed through SiLU, multiplies another. The hidden width "
                "shrinks from 4d to 8d/3 so both arms have the same number of parameters."
            ),
            baseline=Recipe(activation="gelu"),
            modern=Recipe(activation="swiglu"),
            expected="scale-invariant",
            literature=(gundlach_ablation(1.17),),
        )
    ]
