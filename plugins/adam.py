"""SGD with momentum → Adam."""

from cegbench import Innovation, Recipe, hookimpl
from cegbench.plugins._references import gundlach_ablation


@hookimpl
def cegbench_register_innovations():
    return [
        Innovation(
            name="sgd-to-adam",
            title="SGD with momentum → Adam",
            category="optimizer",
            year=2014,
            paper="https://arxiv.org/abs/1412.6980",
            description=(
                "Trains the same Transformer with Adam instead of SGD with momentum 0.9. "
                "Adam keeps running averages of each parameter's gradient and squared "
                "gradient, and divides the step by the root of the second, so every "
                "parameter gets its own step size. Neither arm has weight decay; each "
                "arm's learning rate comes from the same tuning sweep around its "
                "optimizer's base rate."
            ),
            baseline=Recipe(optimizer="sgd"),
            modern=Recipe(optimizer="adam"),
            expected="scale-invariant",
            literature=(gundlach_ablation(1.67, "Adam vs SGD at batch 64 (raw curves gave 3.45); "
                                                "single-scale ablation: the table assigns no class"),),
        )
    ]
