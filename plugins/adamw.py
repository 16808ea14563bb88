"""Adam → AdamW (decoupled weight decay)."""

from cegbench import Innovation, Recipe, hookimpl
from cegbench.plugins._references import gundlach_ablation


@hookimpl
def cegbench_register_innovations():
    return [
        Innovation(
            name="adam-to-adamw",
            title="Adam → AdamW",
            category="optimizer",
            year=2017,
            paper="https://arxiv.org/abs/1711.05101",
            description=(
                "Adds decoupled weight decay to Adam: each step also shrinks the weight "
                "matrices by a fixed fraction (0.1 × the learning rate), separately from "
                "the gradient step, instead of not regularising at all. Norms, biases "
                "and other vectors are not decayed. Everything else, including the "
                "learning-rate tuning, is the same for both arms."
            ),
            baseline=Recipe(optimizer="adam"),
            modern=Recipe(optimizer="adamw"),
            expected="scale-invariant",
            literature=(gundlach_ablation(1.00),),
        )
    ]
