"""LayerNorm → RMSNorm."""

from cegbench import Innovation, Recipe, hookimpl
from cegbench.plugins._references import gundlach_ablation


@hookimpl
def cegbench_register_innovations():
    return [
        Innovation(
            name="layernorm-to-rmsnorm",
            title="LayerNorm → RMSNorm",
            category="architecture",
            year=2019,
            paper="https://arxiv.org/abs/1910.07467",
            description=(
                "Replaces LayerNorm, which centres and rescales each activation vector, "
                "with RMSNorm, which only rescales it by its root mean square: cheaper, "
                "and in practice as good or better."
            ),
            baseline=Recipe(norm="layernorm"),
            modern=Recipe(norm="rmsnorm"),
            expected="scale-invariant",
            literature=(gundlach_ablation(1.09),),
        )
    ]
