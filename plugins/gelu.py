"""ReLU → GeLU in the Transformer's MLP."""

from cegbench import Innovation, Recipe, hookimpl
from cegbench.plugins._references import gundlach_ablation


@hookimpl
def cegbench_register_innovations():
    return [
        Innovation(
            name="relu-to-gelu",
            title="ReLU → GeLU",
            category="architecture",
            year=2016,
            paper="https://arxiv.org/abs/1606.08415",
            description=(
                "Replaces the MLP's ReLU, which zeroes every negative input, with GeLU, which "
                "weights each input by the probability that a standard normal variable is "
                "below it: a smooth curve that lets small negative values through. BERT and "
                "GPT-2 made it the default. Parameters and FLOPs are unchanged."
            ),
            baseline=Recipe(activation="relu"),
            modern=Recipe(activation="gelu"),
            expected="scale-invariant",
            literature=(gundlach_ablation(0.96),),
        )
    ]
