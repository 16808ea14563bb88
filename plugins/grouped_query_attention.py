"""Multi-head attention → grouped-query and multi-query attention."""

from cegbench import Innovation, Recipe, hookimpl
from cegbench.plugins._references import sanderson


@hookimpl
def cegbench_register_innovations():
    return [
        Innovation(
            name="mha-to-gqa",
            title="Multi-head → grouped-query attention",
            category="architecture",
            year=2023,
            paper="https://arxiv.org/abs/2305.13245",
            description=(
                "Lets pairs of query heads share one key head and one value head instead of "
                "each query head having its own. The key and value projections shrink by "
                "half, and so do the keys and values cached at inference, which is what the "
                "idea is for; the model has slightly fewer parameters and training FLOPs."
            ),
            baseline=Recipe(attention="mha"),
            modern=Recipe(attention="gqa"),
            expected="scale-invariant",
        ),
        Innovation(
            name="mha-to-mqa",
            title="Multi-head → multi-query attention",
            category="architecture",
            year=2019,
            paper="https://arxiv.org/abs/1911.02150",
            description=(
                "Lets all query heads share a single key head and a single value head. The "
                "key and value projections become one head wide, which makes decoding much "
                "cheaper in memory; in training, the model has fewer parameters and FLOPs "
                "and usually a slightly worse loss."
            ),
            baseline=Recipe(attention="mha"),
            modern=Recipe(attention="mqa"),
            expected="scale-invariant",
            literature=sanderson(0.67, 0.93, "multi-query attention"),
        ),
    ]
