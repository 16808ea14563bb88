"""Cosine learning-rate decay against the schedules it replaced: inverse square root
(the 2017 Transformer's) and linear decay. All three warm up over the same first 10 %."""

from cegbench import Innovation, Recipe, hookimpl
from cegbench.plugins._references import gundlach_ablation

SGDR = "https://arxiv.org/abs/1608.03983"  # Loshchilov & Hutter, cosine annealing


@hookimpl
def cegbench_register_innovations():
    return [
        Innovation(
            name="inverse-sqrt-to-cosine",
            title="inverse-sqrt schedule → warm-up + cosine",
            category="schedule",
            year=2016,
            paper=SGDR,
            description=(
                "After the same linear warm-up, the learning rate follows half a cosine "
                "from its peak down to 0.1 × peak at the end of training, instead of "
                "decaying as 1/√step as in the original Transformer. The cosine knows "
                "the training length and ends low; the inverse square root never does."
            ),
            baseline=Recipe(schedule="inverse-sqrt"),
            modern=Recipe(schedule="cosine"),
            expected="scale-invariant",
            literature=(gundlach_ablation(1.04),),
        ),
        Innovation(
            name="linear-to-cosine",
            title="linear decay → cosine decay",
            category="schedule",
            year=2016,
            paper=SGDR,
            description=(
                "After the same linear warm-up, both arms decay the learning rate from "
                "its peak to 0.1 × peak at the end of training: the baseline along a "
                "straight line, the modern arm along half a cosine, which stays near "
                "the peak longer and then falls faster."
            ),
            baseline=Recipe(schedule="linear"),
            modern=Recipe(schedule="cosine"),
            expected="scale-invariant",
            literature=(gundlach_ablation(1.04),),
        ),
    ]
