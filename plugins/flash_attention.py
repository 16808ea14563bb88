"""Plain attention → fused (flash) attention: same maths, different kernel."""

from cegbench import Innovation, Recipe, hookimpl
from cegbench.plugins._references import sanderson


@hookimpl
def cegbench_register_innovations():
    return [
        Innovation(
            name="plain-to-flash-attention",
            title="Plain attention → fused (flash) attention",
            category="systems",
            year=2022,
            paper="https://arxiv.org/abs/2205.14135",
            description=(
                "Computes the same softmax(q·kᵀ/√d)·v with a fused kernel that never writes "
                "the T × T score matrix to memory, instead of materialising the scores, the "
                "mask and the softmax as separate steps. The model, its parameters and its "
                "FLOPs are identical, so the FLOP-CEG is 1 by construction; the gain is in "
                "wall-clock time and memory, which the wall-clock CEG shows."
            ),
            baseline=Recipe(attention_kernel="plain"),
            modern=Recipe(attention_kernel="fused"),
            expected="scale-invariant",
            literature=sanderson(1.06, 1.00, "same maths, faster kernel"),
        )
    ]
